/* Neighbour tables of the uplink, owned by the control thread: workers look
 * MACs up lock-free and hand over what they cannot resolve; here we send
 * ARP requests (IPv4) and neighbour solicitations (IPv6: dp.neigh6[],
 * NDP), hold a few packets per neighbour, learn replies and age entries,
 * the same way for both. */
#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ip.h>

#include "dp_ip6.h"
#include "dp_nat.h"

#define NEIGH_REACHABLE_S 60 /* then re-probed while still used */
/* An ECMP gateway is re-confirmed every second: a dead one leaves its
 * sets after NEIGH_MAX_PROBES more, not a minute later. */
#define NEIGH_ECMP_REACHABLE_S 1
#define NEIGH_MAX_PROBES 3

static void slowpath_tx(uint16_t port, struct rte_mbuf *m)
{
	struct rte_mbuf *segs[DP_GSO_MAX_SEGS];
	int n = 1;

	segs[0] = m;
	if (port >= DP_MAX_PORTS) {
		rte_pktmbuf_free(m);
		return;
	}
	if (dp_needs_soft_offload(port, m) &&
	    (n = dp_offload_resolve(m, segs, RTE_DIM(segs))) < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	struct dp_refused r = {0};
	dp_capture(DP_CTL_TXQ(dp.cfg.n_workers), port, DP_CAPTURE_OUT, segs, (uint16_t)n);
	uint16_t sent = dp_port_tx(port, DP_CTL_TXQ(dp.cfg.n_workers), segs, (uint16_t)n, &r);
	dp.slowpath_stats[DP_DROP_TX_ERROR] += r.pkts;
	rte_pktmbuf_free_bulk(&segs[sent], (unsigned)n - sent);
}

static void slowpath_drop(struct rte_mbuf *m, enum dp_drop why)
{
	dp.slowpath_stats[why]++;
	if (dp.drops_per_writer)
		dp_drops_record(DP_DROPS_CTL, m, why);
	rte_pktmbuf_free(m);
}

static struct dp_neigh *neigh_get(uint32_t ip, bool create)
{
	int32_t i = rte_hash_lookup(dp.neigh_hash, &ip);

	if (i >= 0)
		return &dp.neigh[i];
	if (!create)
		return NULL;
	i = rte_hash_add_key(dp.neigh_hash, &ip);
	if (i < 0)
		return NULL;
	memset(&dp.neigh[i], 0, sizeof(dp.neigh[i]));
	dp.neigh[i].ip = ip;
	return &dp.neigh[i];
}

static struct dp_neigh *neigh6_get(const uint8_t *ip6, bool create)
{
	uint32_t key[4]; /* aligned: ip6 may be a packet's, rte_jhash reads words */

	if (dp.neigh6_hash == NULL)
		return NULL;
	memcpy(key, ip6, sizeof(key));
	int32_t i = rte_hash_lookup(dp.neigh6_hash, key);

	if (i >= 0)
		return &dp.neigh6[i];
	if (!create)
		return NULL;
	i = rte_hash_add_key(dp.neigh6_hash, key);
	if (i < 0)
		return NULL;
	memset(&dp.neigh6[i], 0, sizeof(dp.neigh6[i]));
	memcpy(dp.neigh6[i].ip6, ip6, 16);
	dp.neigh6[i].v6 = true;
	return &dp.neigh6[i];
}

static const char *neigh_str(const struct dp_neigh *n, char b[INET6_ADDRSTRLEN])
{
	return n->v6 ? inet_ntop(AF_INET6, n->ip6, b, INET6_ADDRSTRLEN)
		     : inet_ntop(AF_INET, &n->ip, b, INET6_ADDRSTRLEN);
}

static void neigh_request(struct dp_neigh *n)
{
	struct rte_mbuf *m = n->v6 ? dp_ndp_solicit(dp.uplink, n->ip6)
				   : dp_arp_request(dp.uplink, n->ip);

	n->last_req = rte_get_tsc_cycles();
	n->probes++;
	if (m == NULL)
		return;
	if (n->v6)
		dp.ndp_requests++;
	else
		dp.arp_requests++;
	slowpath_tx(dp.uplink, m);
}

static void neigh_send(uint64_t word, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	dp_mac_from_word(word, &eth->dst_addr);
	rte_ether_addr_copy(&dp.ports[dp.uplink].mac, &eth->src_addr);
	slowpath_tx(dp.uplink, m);
}

/* n answered (ARP or NDP) with mac: valid, and what waited sent. Only
 * neighbours we asked about get here: a flood of unsolicited replies must
 * not fill the table or redirect traffic. */
static void neigh_confirm(struct dp_neigh *n, const uint8_t mac[RTE_ETHER_ADDR_LEN])
{
	uint64_t word = DP_NEIGH_VALID;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		word |= (uint64_t)mac[i] << (8 * i);
	__atomic_store_n(&n->mac_word, word, __ATOMIC_RELEASE);
	n->confirmed = rte_get_tsc_cycles();
	n->probes = 0;
	for (uint8_t i = 0; i < n->n_queued; i++)
		neigh_send(word, n->queue[i]);
	dp.neigh_queued -= n->n_queued;
	n->n_queued = 0;
}

static void neigh_learn(struct rte_mbuf *m)
{
	struct rte_arp_hdr *arp =
		rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	struct dp_neigh *n = neigh_get(arp->arp_data.arp_sip, false);

	if (n != NULL)
		neigh_confirm(n, arp->arp_data.arp_sha.addr_bytes);
	/* The kernel may have asked too (it shares the node IP and MAC). */
	if (arp->arp_data.arp_tip == dp.cfg.node_ip)
		slowpath_tx(dp.host, m);
	else
		rte_pktmbuf_free(m);
}

/* A neighbour advertisement from the node network (dp_ndp.c checked its
 * length and sum): its target's MAC from the target link-layer address
 * option. The node kernel gets it too: it shares the node's address. */
static void neigh6_learn(struct rte_mbuf *m)
{
	const uint8_t *p = (const uint8_t *)(dp_ip6_hdr(m) + 1), *mac = NULL;
	uint32_t len = rte_be_to_cpu_16(dp_ip6_hdr(m)->payload_len);

	/* type, code, sum, flags (8 bytes), the target (16), then options
	 * of len units of 8 bytes */
	for (uint32_t at = 24; at + 8 <= len && p[at + 1] != 0; at += p[at + 1] * 8u)
		if (p[at] == 2 && p[at + 1] == 1)
			mac = p + at + 2;
	struct dp_neigh *n = neigh6_get(p + 8, false);
	if (n != NULL && mac != NULL)
		neigh_confirm(n, mac);
	slowpath_tx(dp.host, m);
}

/* The neighbour to resolve for a punted packet: its next hop's gateway,
 * or its destination on the node network. */
static struct dp_neigh *punted_neigh(const struct rte_mbuf *m)
{
	const struct dp_nh *nh = &dp.nh[m->hash.usr];
	bool gw = nh->kind == DP_NH_GATEWAY;

	if (rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6))
		return neigh6_get(gw ? nh->gw6 : dp_ip6_hdr(m)->dst_addr, true);
	return neigh_get(gw ? nh->gw : dp_ip4_hdr(m)->dst_addr, true);
}

static void neigh_resolve(struct rte_mbuf *m)
{
	struct dp_neigh *n = punted_neigh(m);

	if (n == NULL) {
		DP_LOG_LIMITED(WARNING, "neighbour table full: dropping packets to unresolved next hops");
		slowpath_drop(m, DP_DROP_ARP_FAILED);
		return;
	}
	uint64_t word = __atomic_load_n(&n->mac_word, __ATOMIC_RELAXED);
	if (word & DP_NEIGH_VALID) {
		neigh_send(word, m);
		return;
	}
	if (n->n_queued < DP_NEIGH_QUEUE && dp.neigh_queued < DP_NEIGH_QUEUED_MAX) {
		n->queue[n->n_queued++] = m;
		dp.neigh_queued++;
	} else
		slowpath_drop(m, DP_DROP_ARP_QUEUE_FULL);
	if (rte_get_tsc_cycles() - n->last_req >= rte_get_tsc_hz())
		neigh_request(n);
}

void dp_arp_announce(void)
{
	struct rte_mbuf *m = dp_arp_request(dp.uplink, dp.cfg.node_ip);

	if (m == NULL)
		return;
	/* A reply, not a request: peers that only learn from replies (we
	 * are one) update their entry too; target MAC = sender's, as Linux
	 * wants of a gratuitous reply. */
	struct rte_arp_hdr *arp =
		rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	slowpath_tx(dp.uplink, m);
}

int dp_slowpath_fd(void)
{
	return dp.slowpath_efd;
}

void dp_slowpath_run(void)
{
	struct rte_mbuf *pkts[DP_BURST];
	uint64_t cnt;
	unsigned n;

	if (read(dp.slowpath_efd, &cnt, sizeof(cnt)) < 0)
		cnt = 0; /* EAGAIN: nothing signalled, the ring may still hold packets */
	while ((n = rte_ring_sc_dequeue_burst(dp.slowpath, (void **)pkts, DP_BURST, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
			if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
				neigh_learn(pkts[i]);
			else if (pkts[i]->hash.usr == DP_PUNT_NA)
				neigh6_learn(pkts[i]);
			else
				neigh_resolve(pkts[i]);
		}
	}
}

static int ecmp_watch(struct dp_neigh *n, bool on)
{
	if (n == NULL)
		return on ? -ENOSPC : 0;
	if (on && n->ecmp_refs++ == 0 && !(n->mac_word & DP_NEIGH_VALID))
		neigh_request(n); /* resolved before its first flow, not by it */
	else if (!on && n->ecmp_refs > 0)
		n->ecmp_refs--;
	return 0;
}

int dp_neigh_ecmp_watch(uint32_t ip, bool on)
{
	return ecmp_watch(neigh_get(ip, on), on);
}

int dp_neigh6_ecmp_watch(const uint8_t ip6[16], bool on)
{
	return ecmp_watch(neigh6_get(ip6, on), on);
}

/* Entries of table t (n of them) that are ECMP gateways, into out. */
static unsigned ecmp_gateways(const struct dp_neigh *t, uint32_t n, struct dp_gw_state *out,
			      unsigned max)
{
	unsigned k = 0;

	for (uint32_t i = 0; i < n && k < max; i++) {
		const struct dp_neigh *e = &t[i];
		if (__atomic_load_n(&e->ecmp_refs, __ATOMIC_RELAXED) == 0)
			continue;
		out[k].ip = __atomic_load_n(&e->ip, __ATOMIC_RELAXED);
		memcpy(out[k].ip6, e->ip6, 16);
		out[k++].resolved = __atomic_load_n(&e->mac_word, __ATOMIC_RELAXED) & DP_NEIGH_VALID;
	}
	return k;
}

unsigned dp_ecmp_gateways(struct dp_gw_state *out, unsigned max)
{
	unsigned n = ecmp_gateways(dp.neigh, DP_MAX_NEIGH, out, max);

	return n + ecmp_gateways(dp.neigh6, DP_MAX_NEIGH6, out + n, max - n);
}

/* The resolved entries of table t (n of them), each given to cb. */
static void walk(const struct dp_neigh *t, uint32_t n,
		 void (*cb)(const struct dp_neigh_addr *a, const struct rte_ether_addr *mac, void *arg),
		 void *arg)
{
	struct rte_ether_addr mac;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t word = __atomic_load_n(&t[i].mac_word, __ATOMIC_ACQUIRE);
		if ((t[i].ip == 0 && !t[i].v6) || !(word & DP_NEIGH_VALID))
			continue;
		struct dp_neigh_addr a = {.v6 = t[i].v6, .ip = t[i].ip};
		memcpy(a.ip6, t[i].ip6, 16);
		dp_mac_from_word(word, &mac);
		cb(&a, &mac, arg);
	}
}

void dp_neigh_walk(void (*cb)(const struct dp_neigh_addr *a, const struct rte_ether_addr *mac,
			      void *arg),
		   void *arg)
{
	walk(dp.neigh, DP_MAX_NEIGH, cb, arg);
	walk(dp.neigh6, DP_MAX_NEIGH6, cb, arg);
}

int dp_neigh_import(const struct dp_neigh_addr *a, const struct rte_ether_addr *mac)
{
	if (a->v6 && dp.neigh6_hash == NULL)
		return -EAFNOSUPPORT;
	struct dp_neigh *n = a->v6 ? neigh6_get(a->ip6, true) : neigh_get(a->ip, true);
	uint64_t hz = rte_get_tsc_hz(), now = rte_get_tsc_cycles();

	if (n == NULL)
		return -ENOSPC;
	uint64_t word = DP_NEIGH_VALID;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		word |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	__atomic_store_n(&n->mac_word, word, __ATOMIC_RELEASE);
	/* Stale at once: used, and asked again at the next tick. */
	n->confirmed = now > NEIGH_REACHABLE_S * hz ? now - NEIGH_REACHABLE_S * hz : 0;
	n->last_req = now > hz ? now - hz : 0;
	n->probes = 0;
	return 0;
}

static void neigh_age(struct dp_neigh *n, uint64_t now, uint64_t hz)
{
	uint64_t word = n->mac_word;
	const char *by = n->v6 ? "NDP" : "ARP";
	char b[INET6_ADDRSTRLEN];

	if (now - n->last_req < hz)
		return;
	if (!(word & DP_NEIGH_VALID)) {
		/* An ECMP gateway's flows go to the others meanwhile: ask on,
		 * once a second, so it rejoins when it answers. */
		if (n->n_queued == 0 && n->ecmp_refs == 0)
			return;
		if (n->probes < NEIGH_MAX_PROBES || n->n_queued == 0) {
			neigh_request(n);
			return;
		}
		DP_LOG_LIMITED(WARNING, "neighbour %s: no %s reply after %u requests, "
			       "%u queued packet(s) dropped", neigh_str(n, b), by,
			       NEIGH_MAX_PROBES, n->n_queued);
		for (uint8_t i = 0; i < n->n_queued; i++)
			slowpath_drop(n->queue[i], DP_DROP_ARP_FAILED);
		dp.neigh_queued -= n->n_queued;
		n->n_queued = 0;
		n->probes = 0;
		return;
	}
	if (now - n->confirmed < (n->ecmp_refs ? NEIGH_ECMP_REACHABLE_S : NEIGH_REACHABLE_S) * hz)
		return;
	if (n->probes < NEIGH_MAX_PROBES)
		neigh_request(n); /* still used meanwhile, as the kernel's STALE */
	else {
		if (n->ecmp_refs)
			DP_LOG_LIMITED(WARNING, "ECMP gateway %s: stopped answering %s, its flows "
				       "move to the other gateways", neigh_str(n, b), by);
		else
			DP_LOG_LIMITED(INFO, "neighbour %s: stopped answering %s, forgotten",
				       neigh_str(n, b), by);
		__atomic_store_n(&n->mac_word, 0, __ATOMIC_RELEASE);
		n->probes = 0;
	}
}

void dp_neigh_age(uint64_t now, uint64_t hz)
{
	for (uint32_t i = 0; i < DP_MAX_NEIGH; i++)
		if (dp.neigh[i].ip != 0)
			neigh_age(&dp.neigh[i], now, hz);
	for (uint32_t i = 0; i < DP_MAX_NEIGH6; i++)
		if (dp.neigh6[i].v6)
			neigh_age(&dp.neigh6[i], now, hz);
}
