/* Buffered per-worker transmit, drops with a reason, punt to control. */
#include <unistd.h>

#include "dp_priv.h"

const char *const dp_drop_names[DP_DROP_MAX] = {
	[DP_DROP_NOT_IPV4] = "not_ipv4",
	[DP_DROP_BAD_IP_HEADER] = "bad_ip_header",
	[DP_DROP_BAD_CHECKSUM] = "bad_checksum",
	[DP_DROP_TTL_EXCEEDED] = "ttl_exceeded",
	[DP_DROP_NO_ROUTE] = "no_route",
	[DP_DROP_BLACKHOLE] = "blackhole",
	[DP_DROP_NOT_FOR_US] = "not_for_us",
	[DP_DROP_ARP_INVALID] = "arp_invalid",
	[DP_DROP_ARP_QUEUE_FULL] = "arp_queue_full",
	[DP_DROP_ARP_FAILED] = "arp_failed",
	[DP_DROP_TX_FULL] = "tx_full",
	[DP_DROP_SLOWPATH_FULL] = "slowpath_full",
	[DP_DROP_NO_MBUF] = "no_mbuf",
	[DP_DROP_SPOOFED] = "spoofed",
	[DP_DROP_TX_ERROR] = "tx_error",
	[DP_DROP_MTU_EXCEEDED] = "mtu_exceeded",
	[DP_DROP_CONNTRACK_FULL] = "conntrack_full",
	[DP_DROP_NO_BACKEND] = "no_backend",
	[DP_DROP_NAT_FRAGMENT] = "nat_fragment",
	[DP_DROP_POLICY] = "policy",
	[DP_DROP_NDP_INVALID] = "ndp_invalid",
	[DP_DROP_NO_IPV4] = "no_ipv4",
};

/* rte_eth_tx_burst, after rte_eth_tx_prepare on a device given offloads
 * (pseudo-header sums as its driver wants them, limits checked). A frame
 * it will not take is refused (*r), the rest go on. */
static uint16_t eth_tx(const struct dp_port *p, uint16_t port, uint16_t q, struct rte_mbuf **pkts,
		       uint16_t n, struct dp_refused *r)
{
	uint16_t done = 0;

	if (likely(p->hw_tx == 0))
		return rte_eth_tx_burst(port, q, pkts, n);
	while (done < n) {
		uint16_t ready = rte_eth_tx_prepare(port, q, pkts + done, (uint16_t)(n - done));
		uint16_t sent = rte_eth_tx_burst(port, q, pkts + done, ready);
		done = (uint16_t)(done + sent);
		if (sent < ready || done == n)
			break;
		r->pkts++;
		r->bytes += pkts[done]->pkt_len;
		rte_pktmbuf_free(pkts[done++]);
	}
	return done;
}

uint16_t dp_port_tx(uint16_t port, unsigned sender, struct rte_mbuf **pkts, uint16_t n,
		    struct dp_refused *r)
{
	struct dp_port *p = &dp.ports[port];

	if (p->kport)
		return dp_kport_tx(port, sender, pkts, n, r);
	if (likely(!p->shared_txq))
		return eth_tx(p, port, (uint16_t)sender, pkts, n, r);
	if (p->vhost)
		return dp_vhost_tx(port, sender, pkts, n);
	uint8_t q = __atomic_load_n(&p->txq_of[sender], __ATOMIC_RELAXED);
	rte_spinlock_lock(&p->txq_lock[q]);
	uint16_t sent = eth_tx(p, port, q, pkts, n, r);
	rte_spinlock_unlock(&p->txq_lock[q]);
	return sent;
}

/* A device that takes no mbuf chains gets each chain copied into its
 * first segment; one that does not fit there (a chain longer than a
 * buffer) is dropped as tx_error. Chains are fragments and segments of
 * GSO frames, at most an MTU long. */
static void linearize(struct dp_worker *w, struct dp_txbuf *b)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *m = b->pkts[i];
		if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0)
			dp_drop(w, m, DP_DROP_TX_ERROR);
		else
			b->pkts[k++] = m;
	}
	b->n = k;
}

/* A guest's full rx ring (vhost-user) means its vCPU has not caught up
 * yet: what it refused (from sent on) waits at the head of the buffer and
 * is offered again at each round of the worker, which keeps polling
 * meanwhile (dp_worker.c), rather than dropped at once, as a kernel TAP's
 * queue lets QEMU catch up. Bounded: the buffer holds DP_TXBUF frames
 * (more are dropped as they come: tx_full), and a guest that takes
 * nothing for DP_TX_WAIT_US has all its waiting frames dropped, so a
 * stuck guest holds neither mbufs nor its worker for long. False: drop
 * them. */
static bool wait_for_guest(struct dp_worker *w, uint16_t port, struct dp_txbuf *b, uint16_t sent)
{
	uint64_t now = rte_rdtsc();
	uint16_t left = (uint16_t)(b->n - sent);

	if (!dp.ports[port].vhost || !dp.ports[port].active)
		return false;
	if (sent || b->waiting == 0)
		b->stuck = now;
	else if (now - b->stuck > DP_TX_WAIT_US * (rte_get_tsc_hz() / 1000000))
		return false;
	/* Each frame counted once, when first refused. */
	uint16_t before = b->waiting > sent ? (uint16_t)(b->waiting - sent) : 0;
	w->stats.tx_waited += left - before;
	memmove(b->pkts, b->pkts + sent, left * sizeof(b->pkts[0]));
	b->n = left;
	b->waiting = left;
	return true;
}

void dp_tx_flush_port(struct dp_worker *w, uint16_t port)
{
	struct dp_txbuf *b = &w->tx[port];
	struct dp_refused r = {0};
	uint64_t bytes = 0;

	if (unlikely(dp.ports[port].single_seg))
		linearize(w, b);
	else if (dp.ports[port].gro && b->n > 1)
		dp_gro(b);

	/* As handed to the port, once: not again when offered again. */
	dp_capture(w->id, port, DP_CAPTURE_OUT, b->pkts + b->waiting, (uint16_t)(b->n - b->waiting));
	/* Counted before sending: a sent mbuf may already be reused. */
	for (uint16_t i = 0; i < b->n; i++)
		bytes += b->pkts[i]->pkt_len;
	uint16_t sent = dp_port_tx(port, w->id, b->pkts, b->n, &r);
	for (uint16_t i = sent; i < b->n; i++)
		bytes -= b->pkts[i]->pkt_len;
	w->stats.tx_bytes[port] += bytes - r.bytes;
	w->stats.tx_pkts[port] += sent - r.pkts;
	w->stats.drops[DP_DROP_TX_ERROR] += r.pkts;
	if (likely(sent == b->n) || !wait_for_guest(w, port, b, sent)) {
		if (unlikely(sent < b->n)) {
			w->stats.drops[DP_DROP_TX_FULL] += b->n - sent;
			rte_pktmbuf_free_bulk(&b->pkts[sent], b->n - sent);
		}
		b->n = 0;
		b->waiting = 0;
	}
}

void dp_tx_flush(struct dp_worker *w)
{
	uint16_t k = 0;

	if (w->hold_tx)
		return;
	for (uint16_t i = 0; i < w->n_pending; i++) {
		uint16_t port = w->pending[i];
		struct dp_txbuf *b = &w->tx[port];
		if (b->n)
			dp_tx_flush_port(w, port);
		if (unlikely(b->n)) /* waiting for a guest: tried again next round */
			w->pending[k++] = port;
		else
			b->listed = false;
	}
	w->n_pending = k;
}

void dp_drop(struct dp_worker *w, struct rte_mbuf *m, enum dp_drop why)
{
	w->stats.drops[why]++;
	if (dp.drops_per_writer)
		dp_drops_record(w->id, m, why);
	rte_pktmbuf_free(m);
}

/* Hand a packet to the control thread (ARP learning, resolution). The
 * eventfd write is a syscall, acceptable because this path is rare: once
 * per unresolved neighbour, not per packet of a flow. */
void dp_punt(struct dp_worker *w, struct rte_mbuf *m)
{
	uint64_t one = 1;

	if (rte_ring_mp_enqueue(dp.slowpath, m) != 0) {
		dp_drop(w, m, DP_DROP_SLOWPATH_FULL);
		return;
	}
	if (dp.slowpath_efd >= 0 && write(dp.slowpath_efd, &one, sizeof(one)) < 0)
		return; /* counter already non-zero: the reader will wake anyway */
}
