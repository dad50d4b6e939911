/* The Service NAT stage for IPv6, the sibling of dp_nat4.c, between the
 * route lookup and the pods' policy guard (dp_rx.c). It looks at a packet
 * when its destination is a Service IP (next hop DP_NH_SERVICE), the
 * node's IPv6 address while it has NodePorts, or the port its answer goes
 * to has translated connections (a client pod, the node), or when it
 * comes from a port whose answers to off-node clients must be translated
 * back (a backend of a NodePort without SNAT); a translated packet is
 * routed again by its new destination.
 *
 * A connection's first packet picks a backend (Maglev, dp_svc.c) and
 * makes a flow (dp_ct6.c) whose keys say how both directions are
 * translated. The client keeps its address (the backend sees the client
 * pod's own IPv6 address) except where the answer would otherwise not
 * come back through this node, as in dp_nat4.c: an off-node client of a
 * NodePort or external IP whose backend is on another node is SNATed to
 * the node's IPv6 address (externalTrafficPolicy Local keeps it, with
 * local backends only), and a pod reaching itself through a Service
 * (hairpin) to the address it reached, each on a port of the SNAT range.
 * A client port whose answers would look like another flow's (the same
 * backend through two service IPs) gets such a port too, its address
 * kept.
 *
 * Only a TCP or UDP header right after the IPv6 header is translated: a
 * packet to a Service IP with extension headers first, or of another
 * protocol, is refused. ICMPv6 errors about a translated connection are
 * translated, quote included (dp_nat6_hdr.c). */
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_ip6.h"
#include "dp_nat.h"

enum { NAT_PASS, NAT_DONE, NAT_GONE, LOOKUP };

#define fold dp_csum_fold
#define get16 dp_get16
#define put16 dp_put16

/* The L4 fields of a TCP or UDP packet and its key (false: none the NAT
 * can use). */
static inline bool l4_parse(struct rte_ipv6_hdr *ip, uint32_t avail, struct dp_l4 *l,
			    struct dp_ct6_key *k)
{
	uint8_t *p = (uint8_t *)(ip + 1);

	memset(l, 0, sizeof(*l));
	if (ip->proto == IPPROTO_TCP && avail >= sizeof(struct rte_tcp_hdr)) {
		l->csum = p + offsetof(struct rte_tcp_hdr, cksum);
		l->tcp_flags = p[offsetof(struct rte_tcp_hdr, tcp_flags)];
	} else if (ip->proto == IPPROTO_UDP && avail >= sizeof(struct rte_udp_hdr)) {
		/* A zero UDP checksum is no checksum (RFC 6935 tunnels): left so. */
		if (get16(p + offsetof(struct rte_udp_hdr, dgram_cksum)) != 0)
			l->csum = p + offsetof(struct rte_udp_hdr, dgram_cksum);
	} else {
		return false;
	}
	/* TCP and UDP both begin with the source and destination ports. */
	l->sport = p;
	l->dport = p + 2;
	l->pseudo = true;
	memcpy(k->src, ip->src_addr, 16);
	memcpy(k->dst, ip->dst_addr, 16);
	k->sport = get16(l->sport);
	k->dport = get16(l->dport);
	k->proto = ip->proto;
	memset(k->pad, 0, sizeof(k->pad));
	return true;
}

/* A packet of flow f in direction dir leaves as the other key, reversed;
 * its checksum changes by the flow's sums for that direction. */
static void translate(struct dp_worker *w, struct rte_mbuf *m, struct rte_ipv6_hdr *ip,
		      const struct dp_l4 *l, struct dp_flow6 *f, unsigned dir)
{
	const struct dp_ct6_key *to = &f->key[!dir];
	uint16_t da = f->dsum_addr[dir], dports = f->dsum_port[dir];
	uint32_t len = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
	uint32_t svc = f->st.svc;

	memcpy(ip->src_addr, to->dst, 16);
	memcpy(ip->dst_addr, to->src, 16);
	put16(l->sport, to->dport);
	put16(l->dport, to->sport);
	if (l->csum != NULL) {
		uint16_t c = get16(l->csum);
		if (unlikely(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)))
			c = fold((uint32_t)c + da); /* partial: the ports are summed later */
		else
			c = (uint16_t)~fold((uint16_t)~c + (uint32_t)da + dports);
		if (c == 0 && ip->proto == IPPROTO_UDP)
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

/* Refused as kube-proxy refuses: port unreachable, which a TCP connect
 * sees as "connection refused" at once. */
static int reject(struct dp_worker *w, struct rte_mbuf *m, uint32_t svc_id)
{
	dp_icmp6_error(w, m, DP_ICMP6_DEST_UNREACH, DP_ICMP6_PORT_UNREACH, 0);
	dp_svc_refused(w, m, svc_id);
	return NAT_GONE;
}

/* The flow with its replies to addr (the service IP, or the client's
 * own) on a port of the SNAT range free for this backend. */
static int64_t snat_create(const struct dp_ct6_key *k, struct dp_ct6_key *r, uint32_t svc,
			   const uint8_t addr[16])
{
	static rte_spinlock_t lock = RTE_SPINLOCK_INITIALIZER;
	uint32_t seed = rte_be_to_cpu_16(k->sport) + dp_svc_word(k->src);
	int64_t id = -EEXIST;

	memcpy(r->dst, addr, 16);
	/* Two workers must not pick the same port for the same backend. */
	rte_spinlock_lock(&lock);
	for (unsigned t = 0; t < DP_SNAT_TRIES && id == -EEXIST; t++) {
		r->dport = dp_snat_port(seed, t);
		id = dp_ct6_create(k, r, svc);
	}
	rte_spinlock_unlock(&lock);
	return id;
}

static inline const struct dp_nh *nh_of(const uint8_t ip[16])
{
	uint32_t hop = dp_ip6_lookup1(ip);
	return hop == DP_HOP_NONE ? NULL : &dp.nh[hop];
}

/* Where a flow's answers come from or go to, as dp_nat4_watch: to the
 * node (SNAT, or a client on the node itself) the host port; to a pod
 * client its port; from a local backend of an off-node client, the
 * backend's port (or the kernel's). Answers to a service IP (hairpin)
 * are looked at anyway. */
void dp_nat6_watch(const struct dp_flow6 *f)
{
	const struct dp_ct6_key *r = &f->key[DP_CT_REPLY];

	if (dp.host >= DP_MAX_PORTS)
		return; /* no host port (none made yet: tests without ports) */
	const struct dp_nh *nh = nh_of(r->dst);
	if (nh != NULL && nh->kind == DP_NH_PORT && dp.ports[nh->port].kind == DP_PORT_POD) {
		dp_nat_flag(&dp.ports[nh->port].ct_reply_to);
		return;
	}
	if (nh != NULL && nh->kind == DP_NH_LOCAL) {
		dp_nat_flag(&dp.ports[dp.host].ct_reply_to);
		return;
	}
	if (nh != NULL && nh->kind == DP_NH_SERVICE)
		return;
	nh = nh_of(r->src);
	if (nh != NULL && nh->kind == DP_NH_PORT)
		dp_nat_flag(&dp.ports[nh->port].ct_reply_from);
	else if (nh != NULL && nh->kind == DP_NH_LOCAL)
		dp_nat_flag(&dp.ports[dp.host].ct_reply_from);
}

/* A connection's first packet to a frontend (a Service IP; the node's
 * address, which may be a NodePort's: to_svc false): its backend, its
 * flow (*fd, as dp_pkts6.flow holds it). */
static int new_flow(struct dp_worker *w, struct rte_mbuf *m, const struct dp_port *in,
		    struct rte_ipv6_hdr *ip, const struct dp_l4 *l, const struct dp_ct6_key *k,
		    bool to_svc, uint32_t *fd)
{
	bool ext = false;
	const struct dp_svc *s = dp_svc_find6(k->dst, k->dport, k->proto, &ext);

	if (s == NULL)
		return to_svc ? reject(w, m, UINT32_MAX) : NAT_PASS;
	bool off_node = in->kind == DP_PORT_UPLINK, external = off_node && ext;
	const struct dp_backend *b = dp_svc_pick(s, dp_svc_word(k->src),
						 dp_hash_words(k, sizeof(*k), 0), external);
	if (b == NULL) {
		if (external && s->ext_local && s->n_backends) {
			/* externalTrafficPolicy Local without a local endpoint:
			 * dropped, as kube-proxy drops it. */
			dp_svc_refused(w, m, s->id);
			return NAT_GONE;
		}
		return reject(w, m, s->id);
	}
	struct dp_ct6_key r = {.sport = b->port, .dport = k->sport, .proto = k->proto};
	memcpy(r.src, b->ip6, 16);
	memcpy(r.dst, k->src, 16);
	/* SNAT: to the node for an off-node client of another node's
	 * backend; to the address it reached for a pod reaching itself. */
	const uint8_t *snat = off_node && !b->local ? dp.cfg.node_ip6
			      : dp_ip6_eq(b->ip6, k->src) ? k->dst : NULL;
	int64_t id = snat ? snat_create(k, &r, s->id + 1, snat) : dp_ct6_create(k, &r, s->id + 1);
	if (id == -EEXIST && !snat) /* as in dp_nat4.c: another port, the address kept */
		id = snat_create(k, &r, s->id + 1, k->src);
	if (id < 0) {
		dp_drop(w, m, DP_DROP_CONNTRACK_FULL);
		return NAT_GONE;
	}
	struct dp_flow6 *f = &dp.nat->flows6[id];
	dp_nat6_watch(f);
	w->stats.flows_created++;
	dp.nat->svc_stats[w->id][s->id].flows++;
	translate(w, m, ip, l, f, DP_CT_ORIG);
	*fd = (uint32_t)id << 1 | DP_CT_ORIG;
	return NAT_DONE;
}

/* In the pickup window, a backend's answer no flow knows, as in
 * dp_nat4.c: its flow made again when the service would give the
 * connection it answers to that backend, and translated. */
static int answer(struct dp_worker *w, struct rte_mbuf *m, struct rte_ipv6_hdr *ip,
		  const struct dp_l4 *l, const struct dp_ct6_key *k, uint32_t *fd)
{
	struct dp_ct6_key o;
	const struct dp_svc *s;
	struct dp_flow6 *f;
	uint32_t d;

	if (!dp_ct_may_answer(k->proto, l->tcp_flags) || (s = dp_svc_answered6(k, &o)) == NULL)
		return NAT_PASS;
	int64_t id = dp_ct6_create(&o, k, s->id + 1);
	if (id >= 0) {
		f = &dp.nat->flows6[id];
		d = (uint32_t)id << 1 | DP_CT_REPLY;
		dp_nat6_watch(f);
		w->stats.flows_created++;
		dp.nat->svc_stats[w->id][s->id].flows++;
	} else if (id != -EEXIST || (f = dp_ct6_find_one(k, &d)) == NULL) {
		dp_drop(w, m, DP_DROP_CONNTRACK_FULL); /* untranslated, it would reset the connection */
		return NAT_GONE;
	}
	translate(w, m, ip, l, f, d & 1);
	*fd = d;
	return NAT_DONE;
}

/* NAT_PASS, NAT_DONE (an ICMPv6 error translated) or NAT_GONE when m is
 * settled without the table; LOOKUP with *l and *k filled. */
static int classify(struct dp_worker *w, struct rte_mbuf *m, bool to_svc, struct dp_l4 *l,
		    struct dp_ct6_key *k)
{
	struct rte_ipv6_hdr *ip = dp_ip6_hdr(m);

	/* dp_ip6_check vouched for the IPv6 header in the first segment. */
	if (likely(l4_parse(ip, m->data_len - RTE_ETHER_HDR_LEN - sizeof(*ip), l, k)))
		return LOOKUP;
	if (ip->proto == IPPROTO_ICMPV6 && dp_nat6_icmp_error(m, ip))
		return NAT_DONE;
	return to_svc ? reject(w, m, UINT32_MAX) : NAT_PASS;
}

/* Three passes, as dp_nat4: the packets to look at and their keys; one
 * bulk lookup; each translated, or settled otherwise. */
void dp_nat6(struct dp_worker *w, uint16_t port, struct dp_pkts6 *v)
{
	struct dp_nat *nat = dp.nat;

	if (likely(!__atomic_load_n(&nat->active, __ATOMIC_RELAXED)) || nat->ct6.h == NULL)
		return;
	const struct dp_port *in = &dp.ports[port];
	bool pickup = dp_ct_picking_up(), every = in->ct_reply_from || pickup;
	bool node_ports = __atomic_load_n(&nat->n_node_ports6, __ATOMIC_RELAXED) != 0;
	bool local = (dp.host < DP_MAX_PORTS && dp.ports[dp.host].ct_reply_to) || node_ports;
	uint8_t fate[DP_BURST];
	uint16_t at[DP_BURST], nk = 0;
	uint32_t fd[DP_BURST]; /* the flow of each translated packet, by position */
	struct dp_l4 l[DP_BURST];
	struct dp_ct6_key keys[DP_BURST];
	const void *kp[DP_BURST];
	void *data[DP_BURST];
	uint64_t hits = 0;
	uint64_t made = w->stats.flows_created; /* flows this burst makes */

	for (uint16_t i = 0; i < v->n; i++) {
		const struct dp_nh *nh = v->hop[i] == DP_HOP_NONE ? NULL : &dp.nh[v->hop[i]];
		fate[i] = NAT_PASS;
		fd[i] = UINT32_MAX; /* none: not translated, or an ICMPv6 error */
		if (!dp_nat_watched(nh, every, local))
			continue;
		fate[i] = (uint8_t)classify(w, v->m[i], nh != NULL && nh->kind == DP_NH_SERVICE,
					    &l[nk], &keys[nk]);
		if (fate[i] != LOOKUP)
			continue;
		at[nk] = i;
		kp[nk] = &keys[nk];
		nk++;
	}
	if (nk)
		rte_hash_lookup_bulk_data(nat->ct6.h, kp, nk, &hits, data);
	for (uint16_t j = 0; j < nk; j++) {
		uint16_t i = at[j];
		struct rte_ipv6_hdr *ip = dp_ip6_hdr(v->m[i]);
		uint32_t d = (uint32_t)(uintptr_t)data[j];
		struct dp_flow6 *f = (hits >> j & 1) ? dp_ct6_live(d) : NULL;
		/* Not found as of the bulk lookup: an earlier packet of the
		 * burst may have made its flow since (only then asked again). */
		if (f == NULL && w->stats.flows_created != made)
			f = dp_ct6_find_one(&keys[j], &d);
		const struct dp_nh *nh = v->hop[i] == DP_HOP_NONE ? NULL : &dp.nh[v->hop[i]];
		bool to_svc = nh != NULL && nh->kind == DP_NH_SERVICE;
		if (f != NULL) {
			translate(w, v->m[i], ip, &l[j], f, d & 1);
			fate[i] = NAT_DONE;
			fd[i] = d;
		} else if (to_svc || (nh != NULL && nh->kind == DP_NH_LOCAL && node_ports)) {
			fate[i] = (uint8_t)new_flow(w, v->m[i], in, ip, &l[j], &keys[j], to_svc, &fd[i]);
		} else {
			fate[i] = pickup ? (uint8_t)answer(w, v->m[i], ip, &l[j], &keys[j], &fd[i]) : NAT_PASS;
		}
	}
	/* The survivors, in order; the translated ones routed again by their
	 * new destinations, in one bulk lookup. */
	uint16_t k = 0, nd = 0, done[DP_BURST];
	uint8_t dst[DP_BURST][16];
	uint32_t hop[DP_BURST];
	for (uint16_t i = 0; i < v->n; i++) {
		if (fate[i] == NAT_GONE)
			continue;
		if (fate[i] == NAT_DONE) {
			done[nd] = k;
			memcpy(dst[nd++], dp_ip6_hdr(v->m[i])->dst_addr, 16);
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
	dp_ip6_hops(dst, hop, nd);
	for (uint16_t j = 0; j < nd; j++)
		v->hop[done[j]] = hop[j];
}
