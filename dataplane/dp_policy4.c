/* The NetworkPolicy stage, after the Service NAT (it judges what the
 * backend really receives, from the client's real address) and before
 * output. It looks at a packet only when it comes from or goes to a pod
 * isolated in some direction (dp_port.pol_iso), so a node without
 * policies pays one load per burst.
 *
 * Stateful, as Kubernetes wants: a connection is judged on its first
 * packet, and only an allowed one gets a tracked flow (dp_ct.c) with the
 * verdict in it; its later packets and its replies pass on the verdict.
 * When the rules change, each flow is judged again on its next packet, so
 * a connection a new policy refuses stops there (docs/policy.md). ICMP
 * errors about a tracked connection pass with it. Protocols without ports
 * the table tracks (SCTP, GRE, ...) and later fragments are judged packet
 * by packet, by rules without ports. For a while after a crash, which
 * loses the flows, TCP answers of allowed connections are picked up
 * (dp_ct_pickup). */
#include <rte_ip.h>

#include "dp_nat.h"

static void refuse(struct dp_worker *w, struct rte_mbuf *m, const struct dp_pol_verdict *v,
		   uint32_t client, uint32_t server)
{
	uint32_t pod = dp_policy_egress_refused(v) ? client : server;
	dp_policy_refused(w, m, dp_ip4_lookup1(rte_be_to_cpu_32(pod)));
}

/* A packet of a tracked flow (data: id << 1 | direction): its verdict,
 * judged again when the rules changed since. A refused connection is
 * marked closed, so the table forgets it soon (TCP's close timeout). */
static __rte_noinline bool judge_again(struct dp_worker *w, const struct dp_pol *p,
				       struct rte_mbuf *m, struct dp_flow *f, uint32_t pol)
{
	/* The connection as it was opened: the client as it sent and as the
	 * server sees it (after SNAT), the server's port. Judged again also
	 * to know whom to count a refusal on. */
	const struct dp_ct_key *o = &f->key[DP_CT_ORIG], *r = &f->key[DP_CT_REPLY];
	struct dp_pol_verdict v;
	bool ok = dp_policy_allows(p, o->src, r->dst, r->src, o->proto, r->sport, &v);
	if (pol >> 1 != p->gen) {
		__atomic_store_n(&f->st.pol, p->gen << 1 | !ok, __ATOMIC_RELAXED);
		if (ok)
			dp_policy_count(w, &v);
		else
			__atomic_fetch_or(&f->st.flags, DP_CT_RST, __ATOMIC_RELAXED);
	}
	if (!ok)
		refuse(w, m, &v, o->src, r->src);
	return ok;
}

/* The common case inline: a flow allowed by the rules in force. */
static inline bool judge_flow(struct dp_worker *w, const struct dp_pol *p, struct rte_mbuf *m,
			      uint32_t data)
{
	struct dp_flow *f = &dp.nat->flows[data >> 1];
	uint32_t pol = __atomic_load_n(&f->st.pol, __ATOMIC_RELAXED);

	return likely(pol == p->gen << 1) || judge_again(w, p, m, f, pol);
}

/* In the pickup window after a crash (dp_ct_pickup): a TCP segment
 * without SYN that answers a connection the rules allow. */
static bool picked_up(const struct dp_pol *p, const struct dp_ct_key *k, uint8_t tcp_flags,
		      struct dp_pol_verdict *v)
{
	return k->proto == IPPROTO_TCP && !(tcp_flags & RTE_TCP_SYN_FLAG) && dp_ct_picking_up() &&
	       dp_policy_allows(p, k->dst, k->dst, k->src, k->proto, k->sport, v);
}

/* A connection's first packet (key k): judged; allowed, it gets a flow
 * (k its reply direction when picked up as an answer). */
static bool judge_new(struct dp_worker *w, const struct dp_pol *p, struct rte_mbuf *m,
		      const struct dp_ct_key *k, uint8_t tcp_flags)
{
	struct dp_pol_verdict v;
	struct dp_ct_key r = dp_ct_key_reversed(k);
	unsigned dir = DP_CT_ORIG;

	if (!dp_policy_allows(p, k->src, k->src, k->dst, k->proto, k->dport, &v)) {
		struct dp_pol_verdict as_answer;
		if (!picked_up(p, k, tcp_flags, &as_answer)) {
			refuse(w, m, &v, k->src, k->dst);
			return false;
		}
		v = as_answer;
		dir = DP_CT_REPLY;
	}
	int64_t id = dir == DP_CT_ORIG ? dp_ct_create(k, &r, 0) : dp_ct_create(&r, k, 0);
	if (id == -ENOSPC) {
		dp_drop(w, m, DP_DROP_CONNTRACK_FULL); /* its replies could not pass */
		return false;
	}
	dp_policy_count(w, &v);
	if (id >= 0) { /* -EEXIST: the other side opened the same pair at once */
		struct dp_flow *f = &dp.nat->flows[id];
		__atomic_store_n(&f->st.pol, p->gen << 1, __ATOMIC_RELAXED);
		dp_ct_seen(&f->st, dir, rte_be_to_cpu_16(dp_ip4_hdr(m)->total_length), tcp_flags);
		w->stats.flows_created++;
	}
	return true;
}

/* What the table cannot track, judged alone: ICMP errors pass with the
 * connection they are about, others by rules without ports. */
static bool judge_untracked(struct dp_worker *w, const struct dp_pol *p, struct rte_mbuf *m,
			    struct rte_ipv4_hdr *ip)
{
	struct dp_pol_verdict v;

	if (ip->next_proto_id == IPPROTO_ICMP && dp_ct_icmp_related(m, ip))
		return true;
	if (dp_policy_allows(p, ip->src_addr, ip->src_addr, ip->dst_addr, ip->next_proto_id, 0, &v))
		return true;
	refuse(w, m, &v, ip->src_addr, ip->dst_addr);
	return false;
}

/* Three passes, as the NAT stage: the packets to look at and their keys
 * (those the NAT stage already tracked come with their flow); one bulk
 * lookup of the table; each judged. */
void dp_policy4(struct dp_worker *w, uint16_t port, struct dp_pkts *v)
{
	const struct dp_pol *p = __atomic_load_n(&dp.pol, __ATOMIC_ACQUIRE);

	if (likely(p == NULL))
		return;
	bool from_isolated = __atomic_load_n(&dp.ports[port].pol_iso, __ATOMIC_RELAXED) != 0;
	bool keep[DP_BURST];
	uint16_t at[DP_BURST], nk = 0;
	struct dp_l4 l[DP_BURST];
	struct dp_ct_key keys[DP_BURST];
	hash_sig_t sig[DP_BURST];
	void *data[DP_BURST];

	for (uint16_t i = 0; i < v->n; i++) {
		keep[i] = true;
		if (!dp_policy_looks_at(v->hop[i], from_isolated))
			continue;
		if (v->flowed >> i & 1) {
			keep[i] = judge_flow(w, p, v->m[i], v->flow[i]);
			continue;
		}
		struct rte_ipv4_hdr *ip = dp_ip4_hdr(v->m[i]);
		uint32_t hlen = (ip->version_ihl & 0xf) * 4u;
		if (unlikely(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) ||
		    !dp_l4_parse(ip, (uint8_t *)ip + hlen, v->m[i]->data_len - RTE_ETHER_HDR_LEN - hlen,
				 &l[nk], &keys[nk])) {
			keep[i] = judge_untracked(w, p, v->m[i], ip);
			continue;
		}
		at[nk] = i;
		sig[nk] = dp_ct_hash(&keys[nk], sizeof(keys[nk]), 0);
		nk++;
	}
	uint64_t hits = nk ? dp_ct_find(w, keys, sig, nk, data) : 0;
	for (uint16_t j = 0; j < nk; j++) {
		uint16_t i = at[j];
		uint32_t d = (uint32_t)(uintptr_t)data[j];
		struct dp_flow *f = (hits >> j & 1) ? dp_ct_live(d) : NULL;
		if (unlikely(f == NULL || memcmp(&f->key[d & 1], &keys[j], sizeof(keys[j])) != 0))
			f = dp_ct_find_one(w, &keys[j], sig[j], &d);
		if (f != NULL) {
			dp_ct_seen(&f->st, d & 1, rte_be_to_cpu_16(dp_ip4_hdr(v->m[i])->total_length),
				   l[j].tcp_flags);
			keep[i] = judge_flow(w, p, v->m[i], d);
		} else {
			keep[i] = judge_new(w, p, v->m[i], &keys[j], l[j].tcp_flags);
		}
	}
	uint16_t k = 0;
	for (uint16_t i = 0; i < v->n; i++) {
		if (!keep[i])
			continue;
		v->m[k] = v->m[i];
		v->hop[k++] = v->hop[i];
	}
	v->n = k;
}
