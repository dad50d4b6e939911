/* The Service NAT stage, between the route lookup and output (dp_rx.c).
 * The lookup comes first only as a filter: a packet is looked at here when
 * its destination is a Service IP (next hop DP_NH_SERVICE), the node with
 * NodePorts or translated flows, or a port whose peer has translated
 * connections (a client pod, the node), or when it comes from a port whose
 * answers to off-node clients must be translated back (a backend of a
 * NodePort without SNAT); a translated packet is routed again by its new
 * destination. Plain routing with no Service in the picture pays one
 * branch per burst.
 *
 * A connection's first packet picks a backend (Maglev, dp_svc.c) and
 * makes a flow (dp_ct.c) whose keys say how both directions are
 * translated. The client keeps its address (the backend sees the client
 * pod's own IP) except where the answer would otherwise not come back
 * through this node: an off-node client of a backend on another node,
 * and a pod reaching itself through a Service (hairpin); those are
 * SNATed to the node IP, from ports above the kernel's ephemeral range so
 * the kernel's own connections (kubelet probes) never collide. A client
 * port whose answers would look like another flow's (the same backend
 * through two service IPs) gets such a port too, its address kept. ICMP errors
 * about a translated connection are translated too, quote included.
 *
 * After a crash, which lost the flows, the connections of clients that
 * speak first find their backend again (Maglev picks the same one while
 * the backends are the same); in the pickup window (dp_ct_pickup) every
 * packet is looked at, so that a backend that answers first gets its
 * connection's flow back too. */
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_nat.h"

enum { NAT_PASS, NAT_DONE, NAT_GONE };

#define fold dp_csum_fold
#define get16 dp_get16
#define put16 dp_put16

/* A packet of flow f in direction dir leaves as the other key, reversed;
 * its checksums change by the flow's sums for that direction. */
static inline void translate(struct dp_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
			     const struct dp_l4 *l, struct dp_flow *f, unsigned dir)
{
	const struct dp_ct_key *to = &f->key[!dir];
	uint16_t da = f->dsum_addr[dir], dports = f->dsum_port[dir];
	uint32_t len = rte_be_to_cpu_16(ip->total_length);
	uint32_t svc = f->st.svc;

	ip->src_addr = to->dst;
	ip->dst_addr = to->src;
	ip->hdr_checksum = (uint16_t)~fold((uint16_t)~ip->hdr_checksum + (uint32_t)da);
	if (l->sport)
		put16(l->sport, to->dport);
	if (l->dport)
		put16(l->dport, to->sport);
	if (l->csum != NULL) {
		uint16_t c = get16(l->csum);
		if (unlikely(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)))
			c = l->pseudo ? fold((uint32_t)c + da) : c; /* partial: the ports are summed later */
		else
			c = (uint16_t)~fold((uint16_t)~c + (l->pseudo ? (uint32_t)da : 0) + dports);
		if (l->pseudo && c == 0 && ip->next_proto_id == IPPROTO_UDP)
			c = 0xffff; /* 0 would mean "no checksum" */
		put16(l->csum, c);
	}
	dp_ct_seen(&f->st, dir, len, l->tcp_flags);
	if (dir == DP_CT_ORIG && svc != 0) {
		struct dp_svc_wstats *st = &dp.nat->svc_stats[w->id][svc - 1];
		st->pkts++;
		st->bytes += len;
	}
}

/* Refused as kube-proxy refuses: ICMP unreachable (port, or protocol for
 * what is not TCP or UDP), which a TCP connect sees as "connection
 * refused" at once. */
static int reject(struct dp_worker *w, struct rte_mbuf *m, uint32_t svc_id, uint8_t code)
{
	dp_icmp_error(w, m, DP_ICMP_DEST_UNREACH, code, 0);
	dp_svc_refused(w, m, svc_id);
	return NAT_GONE;
}

/* The flow with the reply to addr (the node IP, or the client's own), on
 * a port of the SNAT range free for this backend. */
static int64_t snat_create(const struct dp_ct_key *k, struct dp_ct_key *r, uint32_t svc,
			   uint32_t addr)
{
	static rte_spinlock_t lock = RTE_SPINLOCK_INITIALIZER;
	uint32_t seed = rte_be_to_cpu_16(k->sport) + rte_be_to_cpu_32(k->src);
	int64_t id = -EEXIST;

	r->dst = addr;
	/* Two workers must not pick the same port for the same backend. */
	rte_spinlock_lock(&lock);
	for (unsigned t = 0; t < DP_SNAT_TRIES && id == -EEXIST; t++) {
		r->dport = dp_snat_port(seed, t);
		id = dp_ct_create(k, r, svc);
	}
	rte_spinlock_unlock(&lock);
	return id;
}

/* Where a flow's answers come from or go to, by its addresses: to the
 * node IP (SNAT, or a client on the node itself) the host port; to a pod
 * client its port; from a local backend of an off-node client, the
 * backend's port (or the kernel's). */
void dp_nat4_watch(const struct dp_flow *f)
{
	const struct dp_ct_key *o = &f->key[DP_CT_ORIG], *r = &f->key[DP_CT_REPLY];
	struct dp_ct_key plain = dp_ct_key_reversed(o);

	if (dp.host >= DP_MAX_PORTS || memcmp(r, &plain, sizeof(plain)) == 0)
		return; /* no host port (the unit tests'), or nothing translated */
	if (r->dst == dp.cfg.node_ip) {
		dp_nat_flag(&dp.ports[dp.host].ct_reply_to);
		return;
	}
	uint32_t hop = dp_ip4_lookup1(rte_be_to_cpu_32(o->src));
	const struct dp_nh *nh = hop == DP_HOP_NONE ? NULL : &dp.nh[hop];
	if (nh != NULL && nh->kind == DP_NH_PORT && dp.ports[nh->port].kind == DP_PORT_POD) {
		dp_nat_flag(&dp.ports[nh->port].ct_reply_to);
		return;
	}
	if (nh != NULL && nh->kind == DP_NH_LOCAL) {
		dp_nat_flag(&dp.ports[dp.host].ct_reply_to);
		return;
	}
	hop = dp_ip4_lookup1(rte_be_to_cpu_32(r->src));
	nh = hop == DP_HOP_NONE ? NULL : &dp.nh[hop];
	if (nh != NULL && nh->kind == DP_NH_PORT)
		dp_nat_flag(&dp.ports[nh->port].ct_reply_from);
	else if (nh != NULL && nh->kind == DP_NH_LOCAL)
		dp_nat_flag(&dp.ports[dp.host].ct_reply_from);
}

/* A connection's first packet to a frontend: its backend, its flow. */
static int new_flow(struct dp_worker *w, struct rte_mbuf *m, struct dp_port *in,
		    struct rte_ipv4_hdr *ip, const struct dp_l4 *l, const struct dp_ct_key *k,
		    uint32_t sig, bool to_svc, uint32_t *fd)
{
	struct dp_nat *nat = dp.nat;
	struct dp_svc_fe_key fk = {.ip = k->dst, .port = k->dport, .proto = k->proto};
	void *data;
	const struct dp_svc *s = NULL;

	if (k->proto != IPPROTO_ICMP && rte_hash_lookup_data(nat->fe, &fk, &data) >= 0)
		s = __atomic_load_n(&nat->svcs[(uintptr_t)data & ~(uintptr_t)DP_FE_EXTERNAL],
				    __ATOMIC_ACQUIRE);
	if (s == NULL)
		return to_svc ? reject(w, m, UINT32_MAX,
				       k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP ? 3 : 2)
			      : NAT_PASS;
	bool off_node = in->kind == DP_PORT_UPLINK;
	bool external = off_node && ((uintptr_t)data & DP_FE_EXTERNAL);
	const struct dp_backend *b = dp_svc_pick(s, k->src, sig, external);
	if (b == NULL) {
		if (external && s->ext_local && s->n_backends) {
			/* externalTrafficPolicy Local without a local endpoint:
			 * dropped, as kube-proxy drops it. */
			dp_svc_refused(w, m, s->id);
			return NAT_GONE;
		}
		return reject(w, m, s->id, 3);
	}
	struct dp_ct_key r = {.src = b->ip, .dst = k->src, .sport = b->port, .dport = k->sport,
			      .proto = k->proto};
	bool snat = (off_node && !b->local) || b->ip == k->src;
	int64_t id = snat ? snat_create(k, &r, s->id + 1, dp.cfg.node_ip)
			  : dp_ct_create(k, &r, s->id + 1);
	if (id == -EEXIST && !snat) {
		/* The client's port already talks to this backend (through
		 * another service IP, or a closed connection not yet
		 * forgotten): the answers could not be told apart. Another
		 * source port, the client's address kept, as the kernel's NAT
		 * does. */
		id = snat_create(k, &r, s->id + 1, k->src);
	}
	if (id < 0) {
		dp_drop(w, m, DP_DROP_CONNTRACK_FULL);
		return NAT_GONE;
	}
	dp_nat4_watch(&nat->flows[id]);
	w->stats.flows_created++;
	nat->svc_stats[w->id][s->id].flows++;
	translate(w, m, ip, l, &nat->flows[id], DP_CT_ORIG);
	*fd = (uint32_t)id << 1 | DP_CT_ORIG;
	return NAT_DONE;
}

/* In the pickup window, a backend's answer no flow knows: its flow made
 * again when the service would give the connection it answers to that
 * backend (dp_svc_answered), and translated. */
static int answer(struct dp_worker *w, struct rte_mbuf *m, const struct dp_l4 *l,
		  const struct dp_ct_key *k, uint32_t sig, uint32_t *fd)
{
	struct dp_ct_key o;
	const struct dp_svc *s;
	struct dp_flow *f;
	uint32_t d;

	if (!dp_ct_may_answer(k->proto, l->tcp_flags) || (s = dp_svc_answered(k, &o)) == NULL)
		return NAT_PASS;
	int64_t id = dp_ct_create(&o, k, s->id + 1);
	if (id >= 0) {
		f = &dp.nat->flows[id];
		d = (uint32_t)id << 1 | DP_CT_REPLY;
		dp_nat4_watch(f);
		w->stats.flows_created++;
		dp.nat->svc_stats[w->id][s->id].flows++;
	} else if (id != -EEXIST || (f = dp_ct_find_one(w, k, sig, &d)) == NULL) {
		/* Untranslated, the client would reset its connection. */
		dp_drop(w, m, DP_DROP_CONNTRACK_FULL);
		return NAT_GONE;
	}
	translate(w, m, dp_ip4_hdr(m), l, f, d & 1);
	*fd = d;
	return NAT_DONE;
}

/* What a packet the stage looks at is, before the table is asked. */
enum { LOOKUP = NAT_GONE + 1 };

/* NAT_PASS/DONE/GONE when m is settled without the table (a later
 * fragment, an ICMP error, a refusal); LOOKUP with *l and *k filled. */
static int classify(struct dp_worker *w, struct rte_mbuf *m, bool to_svc, struct dp_l4 *l,
		    struct dp_ct_key *k)
{
	struct rte_ipv4_hdr *ip = dp_ip4_hdr(m);
	uint32_t hlen = (ip->version_ihl & 0xf) * 4u;

	if (unlikely(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))) {
		if (!to_svc)
			return NAT_PASS;
		dp_drop(w, m, DP_DROP_NAT_FRAGMENT);
		return NAT_GONE;
	}
	/* ip_check vouched for the IP header within the first segment. */
	if (likely(dp_l4_parse(ip, (uint8_t *)ip + hlen, m->data_len - RTE_ETHER_HDR_LEN - hlen, l, k)))
		return LOOKUP;
	if (ip->next_proto_id == IPPROTO_ICMP && dp_nat4_icmp_error(m, ip))
		return NAT_DONE;
	return to_svc ? reject(w, m, UINT32_MAX, 2) : NAT_PASS;
}

/* A packet the table did not know (as of the bulk lookup: an earlier one
 * of the burst may have made its flow since). NAT_DONE with *fd its flow. */
static int unknown(struct dp_worker *w, struct rte_mbuf *m, struct dp_port *in,
		   const struct dp_nh *nh, const struct dp_l4 *l, const struct dp_ct_key *k, uint32_t sig,
		   uint32_t *fd)
{
	bool to_svc = nh != NULL && nh->kind == DP_NH_SERVICE;
	uint32_t data;
	struct dp_flow *f = dp_ct_find_one(w, k, sig, &data);

	if (f != NULL) {
		translate(w, m, dp_ip4_hdr(m), l, f, data & 1);
		*fd = data;
		return NAT_DONE;
	}
	if (to_svc || (nh != NULL && nh->kind == DP_NH_LOCAL &&
		       __atomic_load_n(&dp.nat->n_node_ports, __ATOMIC_RELAXED)))
		return new_flow(w, m, in, dp_ip4_hdr(m), l, k, sig, to_svc, fd);
	return dp_ct_picking_up() ? answer(w, m, l, k, sig, fd) : NAT_PASS;
}

/* Three passes over the burst: the packets to look at and their keys;
 * one bulk lookup of the connection table (its bucket reads overlap);
 * then each translated, or settled otherwise. */
void dp_nat4(struct dp_worker *w, uint16_t port, struct dp_pkts *v)
{
	struct dp_nat *nat = dp.nat;

	if (likely(!__atomic_load_n(&nat->active, __ATOMIC_RELAXED)))
		return;
	struct dp_port *in = &dp.ports[port];
	bool every = in->ct_reply_from || dp_ct_picking_up();
	bool local = (dp.host < DP_MAX_PORTS && dp.ports[dp.host].ct_reply_to) ||
		     __atomic_load_n(&nat->n_node_ports, __ATOMIC_RELAXED);
	uint8_t fate[DP_BURST];
	uint16_t at[DP_BURST], nk = 0;
	uint32_t fd[DP_BURST]; /* the flow of each translated packet, by position */
	struct dp_l4 l[DP_BURST];
	struct dp_ct_key keys[DP_BURST];
	hash_sig_t sig[DP_BURST];
	void *data[DP_BURST];

	for (uint16_t i = 0; i < v->n; i++) {
		const struct dp_nh *nh = v->hop[i] == DP_HOP_NONE ? NULL : &dp.nh[v->hop[i]];
		fate[i] = NAT_PASS;
		fd[i] = UINT32_MAX; /* none: not translated, or an ICMP error */
		if (!dp_nat_watched(nh, every, local))
			continue;
		fate[i] = (uint8_t)classify(w, v->m[i], nh != NULL && nh->kind == DP_NH_SERVICE,
					    &l[nk], &keys[nk]);
		if (fate[i] != LOOKUP)
			continue;
		at[nk] = i;
		sig[nk] = dp_ct_hash(&keys[nk], sizeof(keys[nk]), 0);
		nk++;
	}
	uint64_t hits = nk ? dp_ct_find(w, keys, sig, nk, data) : 0;
	for (uint16_t j = 0; j < nk; j++) {
		uint16_t i = at[j];
		unsigned dir = (uintptr_t)data[j] & 1;
		struct dp_flow *f = (hits >> j & 1) ? dp_ct_live((int64_t)(uintptr_t)data[j]) : NULL;
		if (likely(f != NULL && memcmp(&f->key[dir], &keys[j], sizeof(keys[j])) == 0)) {
			translate(w, v->m[i], dp_ip4_hdr(v->m[i]), &l[j], f, dir);
			fate[i] = NAT_DONE;
			fd[i] = (uint32_t)(uintptr_t)data[j];
		} else {
			fate[i] = (uint8_t)unknown(w, v->m[i], in,
						   v->hop[i] == DP_HOP_NONE ? NULL : &dp.nh[v->hop[i]],
						   &l[j], &keys[j], sig[j], &fd[i]);
		}
	}
	/* The survivors, in order; the translated ones routed again, by
	 * their new destinations, in one bulk lookup. */
	uint16_t k = 0, nd = 0, done[DP_BURST];
	uint32_t dst[DP_BURST], hop[DP_BURST];
	for (uint16_t i = 0; i < v->n; i++) {
		if (fate[i] == NAT_GONE)
			continue;
		if (fate[i] == NAT_DONE) {
			done[nd] = k;
			dst[nd++] = rte_be_to_cpu_32(dp_ip4_hdr(v->m[i])->dst_addr);
			if (fd[i] != UINT32_MAX) {
				v->flow[k] = fd[i];
				v->flowed |= 1ull << k;
			}
		}
		v->m[k] = v->m[i];
		v->hop[k++] = v->hop[i];
	}
	v->n = k;
	if (nd == 0)
		return;
	dp_ip4_hops(dst, hop, nd);
	for (uint16_t j = 0; j < nd; j++)
		v->hop[done[j]] = hop[j];
}
