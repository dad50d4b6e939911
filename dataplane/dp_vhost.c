/* vhost-user ports (pods' DPDK applications, and VMs: QEMU guests): what
 * the guest negotiated and enabled, followed on the vhost events thread,
 * and sending to it. A guest enables as many queue pairs as it likes (up
 * to the n_rxq podlaned configured): flows are spread over those by hash,
 * so a guest with several vCPUs receives on all of them. A guest's full
 * rx ring means its vCPU has not caught up yet, not that the packet is
 * unwanted: what it refuses waits in the worker's buffer (dp_tx.c). */
#include <rte_eth_vhost.h>
#include <rte_vhost.h>

#include "dp_ip4.h"

/* Virtio-net feature bits (the spec's; linux/virtio_net.h has them too). */
#define F(bit) (1ull << (bit))

/* Spread the senders (workers, then control) over the enabled tx queues,
 * and keep the enabled ones for flow spreading; none enabled yet: queue
 * 0, whose sends fail (the guest is not there). */
void dp_txq_remap(struct dp_port *p)
{
	uint8_t on[RTE_DIM(p->txq_lock)];
	unsigned n = 0;

	for (unsigned q = 0; q < p->n_txq; q++)
		if (p->txq_enabled & (1u << q))
			on[n++] = (uint8_t)q;
	for (unsigned s = 0; s <= dp.cfg.n_workers; s++)
		__atomic_store_n(&p->txq_of[s], n ? on[s % n] : 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++)
		__atomic_store_n(&p->txq_on[i], on[i], __ATOMIC_RELAXED);
	__atomic_store_n(&p->n_txq_on, (uint8_t)n, __ATOMIC_RELEASE);
}

/* A vhost-user guest (re)connecting, or enabling queues, turns its kicks
 * off (polling mode): workers blocked waiting for them re-arm. */
static void kick_workers(void)
{
	for (unsigned w = 0; w < dp.cfg.n_workers; w++)
		dp_worker_kick(&dp.workers[w]);
}

/* The offloads a guest takes, from the features it negotiated: partial
 * TCP/UDP checksums with GUEST_CSUM, and TCP frames of up to 64 KiB with
 * GUEST_TSO4 too (the vhost library writes the virtio-net header from
 * the mbuf's flags, whatever the guest negotiated: asking is ours).
 * IPv4 header checksums are summed by the library when asked. *v6: the
 * same for IPv6 (partial sums, and TSO with GUEST_TSO6 as well). */
static uint64_t guest_offloads(uint64_t features, bool *v6)
{
	uint64_t o = 0;

	*v6 = false;
	if (features & F(VIRTIO_NET_F_GUEST_CSUM)) {
		o = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
		    RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		if (features & F(VIRTIO_NET_F_GUEST_TSO4))
			o |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
		/* Either TSO flag alone would leave the other family's TCP
		 * frames nowhere to go whole: IPv6 rides along only with both. */
		*v6 = !(o & RTE_ETH_TX_OFFLOAD_TCP_TSO) || (features & F(VIRTIO_NET_F_GUEST_TSO6));
	}
	return o;
}

/* Link up (a guest connected: features negotiated) or down. A frame a
 * worker readied for the guest before would have gone: the guest that
 * left has nowhere to receive it. */
static int link_change(uint16_t pid, enum rte_eth_event_type type, void *arg, void *out)
{
	struct dp_port *p = &dp.ports[pid];
	int vid = rte_eth_vhost_get_vid_from_port_id(pid);
	uint64_t features = 0;
	(void)type, (void)arg, (void)out;

	if (vid >= 0 && rte_vhost_get_negotiated_features(vid, &features) == 0) {
		bool v6;
		uint64_t o = guest_offloads(features, &v6);
		__atomic_store_n(&p->hw_tx6, v6, __ATOMIC_RELAXED);
		__atomic_store_n(&p->hw_tx, o, __ATOMIC_RELAXED);
		dp_log(RTE_LOG_INFO, "port %s: guest connected; takes %s%s, sends %s", p->name,
		       o & RTE_ETH_TX_OFFLOAD_TCP_TSO ? "TCP frames whole (TSO) and partial sums"
		       : o			     ? "partial sums, TCP segmented here"
						     : "complete frames only",
		       o && v6 ? ", IPv6's too" : o ? " (IPv4's)" : "",
		       features & F(VIRTIO_NET_F_HOST_TSO4) ? "TCP frames whole (TSO)" : "segments");
	}
	kick_workers();
	return 0;
}

/* Queue (de)activation by the guest. The PMD keeps the pending changes, so
 * draining them also catches those from before the callback was
 * registered. A guest may enable more queue pairs than podlaned
 * configured (n_rxq, as many tx queues): those it never gets. */
static int queue_state(uint16_t pid, enum rte_eth_event_type type, void *arg, void *out)
{
	struct rte_eth_vhost_queue_event ev;
	struct dp_port *p = &dp.ports[pid];
	(void)type, (void)arg, (void)out;

	while (rte_eth_vhost_get_queue_event(pid, &ev) == 0) {
		if (ev.queue_id >= p->n_rxq && ev.enable && !ev.rx)
			dp_log(RTE_LOG_WARNING, "port %s: the guest enabled queue pair %u, podlaned "
			       "serves %u (one per worker): what it sends there is never read; give "
			       "it at most %u", p->name, ev.queue_id, p->n_rxq, p->n_rxq);
		if (ev.rx || ev.queue_id >= p->n_rxq)
			continue;
		if (ev.enable)
			p->txq_enabled |= 1u << ev.queue_id;
		else
			p->txq_enabled &= ~(1u << ev.queue_id);
	}
	dp_txq_remap(p);
	kick_workers();
	dp_log(RTE_LOG_INFO, "port %s: guest has %u tx queue(s) enabled (mask 0x%x)", p->name,
	       (unsigned)__builtin_popcount(p->txq_enabled), p->txq_enabled);
	return 0;
}

void dp_vhost_attach(uint16_t pid)
{
	struct dp_port *p = &dp.ports[pid];

	p->vhost = true;
	p->txq_enabled = 0;
	rte_eth_dev_callback_register(pid, RTE_ETH_EVENT_QUEUE_STATE, queue_state, NULL);
	rte_eth_dev_callback_register(pid, RTE_ETH_EVENT_INTR_LSC, link_change, NULL);
	queue_state(pid, RTE_ETH_EVENT_QUEUE_STATE, NULL, NULL);
	link_change(pid, RTE_ETH_EVENT_INTR_LSC, NULL, NULL);
}

void dp_vhost_detach(uint16_t pid)
{
	rte_eth_dev_callback_unregister(pid, RTE_ETH_EVENT_QUEUE_STATE, queue_state, NULL);
	rte_eth_dev_callback_unregister(pid, RTE_ETH_EVENT_INTR_LSC, link_change, NULL);
}

/* The guest's rx queue for m: by its flow's hash over the enabled queues
 * (not IPv4, one queue: the sender's). */
static uint8_t queue_of(const struct dp_port *p, unsigned sender, unsigned n_on,
			const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (n_on < 2 || eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    m->data_len < sizeof(*eth) + sizeof(struct rte_ipv4_hdr) + 4)
		return __atomic_load_n(&p->txq_of[sender], __ATOMIC_RELAXED);
	uint32_t h = dp_ip4_flow_hash(dp_ip4_hdr(m));
	return __atomic_load_n(&p->txq_on[(h ^ (h >> 16)) % n_on], __ATOMIC_RELAXED);
}

static uint16_t send_locked(struct dp_port *p, uint16_t port, uint8_t q, struct rte_mbuf **pkts,
			    uint16_t n)
{
	rte_spinlock_lock(&p->txq_lock[q]);
	uint16_t sent = rte_eth_tx_burst(port, q, pkts, n);
	rte_spinlock_unlock(&p->txq_lock[q]);
	return sent;
}

uint16_t dp_vhost_tx(uint16_t port, unsigned sender, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_port *p = &dp.ports[port];
	unsigned n_on = __atomic_load_n(&p->n_txq_on, __ATOMIC_ACQUIRE);

	if (n_on < 2 || n > DP_TXBUF) /* more: the control thread's GSO segments */
		return send_locked(p, port, queue_of(p, sender, n_on, pkts[0]), pkts, n);
	/* Each queue's packets in order, then those it refused moved behind
	 * all that were sent (the caller keeps them): a flow keeps its order. */
	struct rte_mbuf *byq[DP_MAX_WORKERS][DP_TXBUF];
	uint16_t cnt[DP_MAX_WORKERS] = {0}, sent = 0, left = 0;
	struct rte_mbuf *rest[DP_TXBUF];
	uint8_t qs[DP_MAX_WORKERS];
	unsigned nq = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint8_t q = queue_of(p, sender, n_on, pkts[i]);
		if (cnt[q] == 0)
			qs[nq++] = q;
		byq[q][cnt[q]++] = pkts[i];
	}
	for (unsigned j = 0; j < nq; j++) {
		uint8_t q = qs[j];
		uint16_t k = send_locked(p, port, q, byq[q], cnt[q]);
		sent = (uint16_t)(sent + k);
		for (uint16_t i = k; i < cnt[q]; i++)
			rest[left++] = byq[q][i];
	}
	memcpy(pkts + sent, rest, left * sizeof(rest[0]));
	return sent;
}
