/* The NetworkPolicy stage for IPv6, the sibling of dp_policy4.c, after
 * the IPv6 Service NAT and before output: the same judgement on each
 * connection's first packet (dp_policy_allows6 over the IPv6 rules), the
 * verdict kept in its flow (dp_ct6.c), replies passing on it, a change of
 * the rules judging each flow again on its next packet. TCP and UDP are
 * tracked by their ports and ICMPv6 echo by its id; ICMPv6 errors about a
 * tracked connection pass with it; the rest (other protocols, extension
 * headers before TCP or UDP) is judged packet by packet by rules without
 * ports. After a crash, TCP answers of allowed connections are picked up
 * as IPv4's are (dp_ct_pickup). */
#include <rte_ip.h>

#include "dp_ip6.h"
#include "dp_nat.h"

static void refuse(struct dp_worker *w, struct rte_mbuf *m, const struct dp_pol_verdict *v,
		   const uint8_t client[16], const uint8_t server[16])
{
	dp_policy_refused(w, m, dp_ip6_lookup1(dp_policy_egress_refused(v) ? client : server));
}

/* A packet of a tracked flow (data: id << 1 | direction) under rules it
 * was not judged by: judged again as it was opened, as in dp_policy4.c. */
static __rte_noinline bool judge_again(struct dp_worker *w, const struct dp_pol *p,
				       struct rte_mbuf *m, struct dp_flow6 *f, uint32_t pol)
{
	const struct dp_ct6_key *o = &f->key[DP_CT_ORIG], *r = &f->key[DP_CT_REPLY];
	struct dp_pol_verdict v;
	bool ok = dp_policy_allows6(p, o->src, r->dst, r->src, o->proto, r->sport, &v);

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

static inline bool judge_flow(struct dp_worker *w, const struct dp_pol *p, struct rte_mbuf *m,
			      uint32_t data)
{
	struct dp_flow6 *f = &dp.nat->flows6[data >> 1];
	uint32_t pol = __atomic_load_n(&f->st.pol, __ATOMIC_RELAXED);

	return likely(pol == p->gen << 1) || judge_again(w, p, m, f, pol);
}

static struct dp_ct6_key reversed(const struct dp_ct6_key *k)
{
	struct dp_ct6_key r = {.sport = k->dport, .dport = k->sport, .proto = k->proto};

	memcpy(r.src, k->dst, 16);
	memcpy(r.dst, k->src, 16);
	return r;
}

/* In the pickup window after a crash: a TCP segment without SYN that
 * answers a connection the rules allow. */
static bool picked_up(const struct dp_pol *p, const struct dp_ct6_key *k, uint8_t tcp_flags,
		      struct dp_pol_verdict *v)
{
	return k->proto == IPPROTO_TCP && !(tcp_flags & RTE_TCP_SYN_FLAG) && dp_ct_picking_up() &&
	       dp_policy_allows6(p, k->dst, k->dst, k->src, k->proto, k->sport, v);
}

/* A connection's first packet (key k): judged; allowed, it gets a flow
 * (k its reply direction when picked up as an answer). */
static bool judge_new(struct dp_worker *w, const struct dp_pol *p, struct rte_mbuf *m,
		      const struct dp_ct6_key *k, uint8_t tcp_flags)
{
	struct dp_pol_verdict v;
	struct dp_ct6_key r = reversed(k);
	unsigned dir = DP_CT_ORIG;

	if (!dp_policy_allows6(p, k->src, k->src, k->dst, k->proto, k->dport, &v)) {
		struct dp_pol_verdict as_answer;
		if (!picked_up(p, k, tcp_flags, &as_answer)) {
			refuse(w, m, &v, k->src, k->dst);
			return false;
		}
		v = as_answer;
		dir = DP_CT_REPLY;
	}
	int64_t id = dir == DP_CT_ORIG ? dp_ct6_create(k, &r, 0) : dp_ct6_create(&r, k, 0);
	if (id == -ENOSPC) {
		dp_drop(w, m, DP_DROP_CONNTRACK_FULL); /* its replies could not pass */
		return false;
	}
	dp_policy_count(w, &v);
	if (id >= 0) { /* -EEXIST: the other side opened the same pair at once */
		struct dp_flow6 *f = &dp.nat->flows6[id];
		__atomic_store_n(&f->st.pol, p->gen << 1, __ATOMIC_RELAXED);
		dp_ct_seen(&f->st, dir, m->pkt_len - RTE_ETHER_HDR_LEN, tcp_flags);
		w->stats.flows_created++;
	}
	return true;
}

/* What the table cannot track, judged alone: ICMPv6 errors pass with the
 * connection they are about, others by rules without ports. */
static bool judge_untracked(struct dp_worker *w, const struct dp_pol *p, struct rte_mbuf *m,
			    const struct rte_ipv6_hdr *ip)
{
	struct dp_pol_verdict v;

	if (dp_ct6_icmp_related(m, ip))
		return true;
	if (dp_policy_allows6(p, ip->src_addr, ip->src_addr, ip->dst_addr, ip->proto, 0, &v))
		return true;
	refuse(w, m, &v, ip->src_addr, ip->dst_addr);
	return false;
}

/* The key of a packet the table tracks (false: none), its TCP flags. */
static bool key_of(const struct rte_mbuf *m, const struct rte_ipv6_hdr *ip, struct dp_ct6_key *k,
		   uint8_t *tcp_flags)
{
	const uint8_t *p = (const uint8_t *)(ip + 1);
	uint32_t avail = m->data_len - RTE_ETHER_HDR_LEN - sizeof(*ip);

	memset(k, 0, sizeof(*k));
	*tcp_flags = 0;
	switch (ip->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP: /* both begin with the ports */
		if (avail < (ip->proto == IPPROTO_TCP ? offsetof(struct rte_tcp_hdr, rx_win) : 4u))
			return false;
		if (ip->proto == IPPROTO_TCP)
			*tcp_flags = p[offsetof(struct rte_tcp_hdr, tcp_flags)];
		k->sport = dp_get16(p);
		k->dport = dp_get16(p + 2);
		break;
	case IPPROTO_ICMPV6: /* echo, by its id (bytes 4-5) */
		if (avail < 8 || (p[0] != DP_ICMP6_ECHO_REQUEST && p[0] != DP_ICMP6_ECHO_REPLY))
			return false;
		if (p[0] == DP_ICMP6_ECHO_REQUEST)
			k->sport = dp_get16(p + 4);
		else
			k->dport = dp_get16(p + 4);
		break;
	default:
		return false;
	}
	memcpy(k->src, ip->src_addr, 16);
	memcpy(k->dst, ip->dst_addr, 16);
	k->proto = ip->proto;
	return true;
}

/* Three passes, as dp_policy4: the packets to look at and their keys
 * (those the NAT stage tracked come with their flow); one bulk lookup;
 * each judged. */
void dp_policy6(struct dp_worker *w, uint16_t port, struct dp_pkts6 *v)
{
	const struct dp_pol *p = __atomic_load_n(&dp.pol, __ATOMIC_ACQUIRE);

	if (likely(p == NULL))
		return;
	bool from_isolated = __atomic_load_n(&dp.ports[port].pol_iso, __ATOMIC_RELAXED) != 0;
	bool keep[DP_BURST];
	uint8_t flags[DP_BURST];
	uint16_t at[DP_BURST], nk = 0;
	struct dp_ct6_key keys[DP_BURST];
	const void *kp[DP_BURST];
	void *data[DP_BURST];
	uint64_t hits = 0;

	for (uint16_t i = 0; i < v->n; i++) {
		keep[i] = true;
		if (!dp_policy_looks_at(v->hop[i], from_isolated))
			continue;
		if (v->flowed >> i & 1) {
			keep[i] = judge_flow(w, p, v->m[i], v->flow[i]);
			continue;
		}
		const struct rte_ipv6_hdr *ip = dp_ip6_hdr(v->m[i]);
		if (!key_of(v->m[i], ip, &keys[nk], &flags[nk])) {
			keep[i] = judge_untracked(w, p, v->m[i], ip);
			continue;
		}
		at[nk] = i;
		kp[nk] = &keys[nk];
		nk++;
	}
	if (nk)
		rte_hash_lookup_bulk_data(dp.nat->ct6.h, kp, nk, &hits, data);
	uint64_t made = w->stats.flows_created; /* flows this burst makes */
	for (uint16_t j = 0; j < nk; j++) {
		uint16_t i = at[j];
		uint32_t d = (uint32_t)(uintptr_t)data[j];
		struct dp_flow6 *f = (hits >> j & 1) ? dp_ct6_live(d) : NULL;
		/* An earlier packet of the burst may have made its flow. */
		if (f == NULL && w->stats.flows_created != made)
			f = dp_ct6_find_one(&keys[j], &d);
		if (f != NULL) {
			dp_ct_seen(&f->st, d & 1, v->m[i]->pkt_len - RTE_ETHER_HDR_LEN, flags[j]);
			keep[i] = judge_flow(w, p, v->m[i], d);
		} else {
			keep[i] = judge_new(w, p, v->m[i], &keys[j], flags[j]);
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
