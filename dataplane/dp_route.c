/* Route table: prefix -> next-hop index in rte_fib (DIR-24-8 over a RIB),
 * which adds a route in time independent of how many there are (rte_lpm
 * searches every rule of the same length: 1M routes took hours), but has
 * no RCU in DPDK 22.11: its writes are not safe under readers. So there
 * are two tables with the same routes. The control thread changes the
 * one workers do not read (the standby), then makes it the active one (a
 * pointer workers load once per burst); the changes are replayed into
 * the other only after an RCU grace period, when no worker can still be
 * reading it. A change is visible at once (one grace period before the
 * next), or, after dp_route_batch(), all of them at dp_commit() (one grace
 * period for the batch). Next hops are shared by the routes that use
 * them and reclaimed only after every worker passed a quiescent state.
 * IPv6 routes (dp_config.ipv6) live the same way in two rte_fib6 (no RCU
 * either), each paired with an IPv4 table and published with it; the
 * pods' /128s also in dp.host6, written as they are published. */
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_fib6.h>
#include <rte_rib.h>
#include <rte_rib6.h>
#include <rte_vect.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "dp_ip6.h"
#include "dp_nat.h"

struct nh_key {
	uint8_t kind;
	uint8_t n_gw;
	uint16_t port;
	uint32_t gw;
	struct rte_ether_addr mac;
	uint16_t pad2;
	uint32_t gws[DP_ECMP_MAX];
	uint8_t gw6[16];
	uint8_t gws6[DP_ECMP_MAX][16];
};

/* Changes the standby tables have and the others lack, to replay into
 * them. IPv4 and IPv6 tables go in pairs (fib[i], fib6[i]): one log, one
 * grace period for both. */
struct route_op {
	union {
		uint32_t ip;     /* IPv4, host order */
		uint8_t ip6[16]; /* IPv6 */
	};
	uint8_t plen;
	bool add;
	bool v6;
	uint32_t nh;
};
static struct {
	struct route_op *ops;
	uint32_t n, cap;
	bool published; /* the standby became active: the other lags by ops */
	bool batch;     /* dp_route_batch(): publish at dp_commit() */
} rl;

static int standby(void)
{
	return dp.fib_active == dp.fib[0] ? 1 : 0;
}

static int fib6_rebuild(int t);

static int fib_apply(int t, const struct route_op *o)
{
	if (o->v6 && !o->add)
		return rte_fib6_delete(dp.fib6[t], o->ip6, o->plen);
	if (o->v6) {
		int rc = rte_fib6_add(dp.fib6[t], o->ip6, o->plen, o->nh);
		if (rc == -ENOSPC && fib6_rebuild(t) == 0) /* its groups back, then again */
			rc = rte_fib6_add(dp.fib6[t], o->ip6, o->plen, o->nh);
		return rc;
	}
	return o->add ? rte_fib_add(dp.fib[t], o->ip, o->plen, o->nh)
		      : rte_fib_delete(dp.fib[t], o->ip, o->plen);
}

/* The standby table brought level with the active one: once no worker
 * can be reading it, the changes it lacks. */
static void level(void)
{
	if (!rl.published)
		return;
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	for (uint32_t i = 0; i < rl.n; i++)
		if (fib_apply(standby(), &rl.ops[i]) < 0) /* took in the other: cannot fail here */
			DP_LOG_LIMITED(ERR, "route table replay failed: the two tables differ");
	rl.n = 0;
	rl.published = false;
}

/* The /128s among the changes about to be published, into dp.host6. A
 * burst may read an entry of the next generation and the table of this
 * one: they differ only in the route that is changing. */
static void host6_publish(void)
{
	for (uint32_t i = 0; i < rl.n && dp.host6; i++) {
		const struct route_op *o = &rl.ops[i];
		int slot = o->v6 && o->plen == 128 ? dp_ip6_host_slot(o->ip6) : -1;
		if (slot >= 0)
			__atomic_store_n(&dp.host6[slot], o->add ? (uint16_t)(o->nh + 1) : 0,
					 __ATOMIC_RELEASE);
	}
}

static void publish(void)
{
	if (rl.n == 0 || rl.published)
		return;
	int t = standby();

	host6_publish();

	/* Workers load each pointer once per burst: a burst may see the
	 * IPv4 table of one generation and the IPv6 one of the next, which
	 * is harmless (their routes are apart). */
	if (dp.fib6[t])
		__atomic_store_n(&dp.fib6_active, dp.fib6[t], __ATOMIC_RELEASE);
	__atomic_store_n(&dp.fib_active, dp.fib[t], __ATOMIC_RELEASE);
	rl.published = true;
}

/* One change into the standby table (level first), logged for the other. */
static int route_op(struct route_op o)
{
	level();
	if (rl.n == rl.cap) {
		uint32_t cap = rl.cap ? rl.cap * 2 : 1024;
		struct route_op *p = realloc(rl.ops, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		rl.ops = p;
		rl.cap = cap;
	}
	int rc = fib_apply(standby(), &o);
	if (rc < 0)
		return rc;
	rl.ops[rl.n++] = o;
	if (!rl.batch)
		publish();
	return 0;
}

/* The next hop of exactly o's prefix in the standby table (level). */
static bool route_present(const struct route_op *o, uint32_t *nh)
{
	uint64_t v;

	if (o->v6) {
		struct rte_rib6_node *n =
			rte_rib6_lookup_exact(rte_fib6_get_rib(dp.fib6[standby()]), o->ip6, o->plen);
		if (n == NULL || rte_rib6_get_nh(n, &v) != 0)
			return false;
	} else {
		struct rte_rib_node *n =
			rte_rib_lookup_exact(rte_fib_get_rib(dp.fib[standby()]), o->ip, o->plen);
		if (n == NULL || rte_rib_get_nh(n, &v) != 0)
			return false;
	}
	*nh = (uint32_t)v;
	return true;
}

/* rte_fib's and rte_fib6's AVX-512 lookups where the CPU has them (f or
 * f6): 2.6-2.8 cycles an address in plroute against 4.6 for the scalar
 * one (rte_lpm's was 3-5); for 1000 IPv6 /64s at random 13 against 24-29
 * (the trie's levels walked for 16 addresses at once). DPDK offers them
 * only while the EAL's SIMD width allows 512 bits (256 by default, for
 * every library): raised for this choice alone. */
static void fast_lookup(struct rte_fib *f, struct rte_fib6 *f6)
{
	uint16_t was = rte_vect_get_max_simd_bitwidth();

	if (rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512) != 0)
		return; /* the user set it (--force-max-simd-bitwidth) */
	if (f != NULL && rte_fib_select_lookup(f, RTE_FIB_LOOKUP_DIR24_8_VECTOR_AVX512) != 0)
		rte_fib_select_lookup(f, RTE_FIB_LOOKUP_DEFAULT);
	if (f6 != NULL && rte_fib6_select_lookup(f6, RTE_FIB6_LOOKUP_TRIE_VECTOR_AVX512) != 0)
		rte_fib6_select_lookup(f6, RTE_FIB6_LOOKUP_DEFAULT);
	rte_vect_set_max_simd_bitwidth(was);
}

/* IPv6 tables: a TRIE (24-bit first level, then 8-bit levels) of 2-byte
 * next hops, room for this many routes (pods' /128s and prefixes); the
 * 8-bit levels bound what fits first (DP_ROUTE6_TBL8). */
#define ROUTES6_MAX 16384

static struct rte_fib6 *fib6_create(int t)
{
	static unsigned gen; /* a new table's name must differ from the old one's */
	struct rte_fib6_conf fc = {
		.type = RTE_FIB6_TRIE,
		.default_nh = DP_MAX_NH,
		.max_routes = ROUTES6_MAX,
		.trie = {.nh_sz = RTE_FIB6_TRIE_2B, .num_tbl8 = DP_ROUTE6_TBL8},
	};
	char name[RTE_MEMZONE_NAMESIZE];

	snprintf(name, sizeof(name), "podlane_routes6_%d_%u", t, gen++);
	struct rte_fib6 *f = rte_fib6_create(name, SOCKET_ID_ANY, &fc);
	if (f != NULL)
		fast_lookup(NULL, f);
	return f;
}

/* DPDK 22.11's trie does not give back all the 8-bit level groups of the
 * routes it deletes (measured: after 2000 /64s were added and deleted,
 * not one more fitted in 8192 groups), so route churn would fill a table
 * for good. When an add finds no group left, table t (the standby one,
 * which no worker reads) is made anew from its own routes, which takes
 * only the groups they use. The new table is made before the old one is
 * freed where memory allows, else after. */
static int fib6_rebuild(int t)
{
	struct route6 {
		uint8_t ip[16];
		uint8_t plen;
		uint64_t nh;
	} *r = malloc(ROUTES6_MAX * sizeof(*r));
	struct rte_rib6 *rib = rte_fib6_get_rib(dp.fib6[t]);
	struct rte_rib6_node *n = NULL;
	uint8_t any[16] = {0};
	uint32_t count = 0;

	if (r == NULL)
		return -ENOMEM;
	while (count < ROUTES6_MAX &&
	       (n = rte_rib6_get_nxt(rib, any, 0, n, RTE_RIB6_GET_NXT_ALL)) != NULL) {
		rte_rib6_get_ip(n, r[count].ip);
		rte_rib6_get_depth(n, &r[count].plen);
		rte_rib6_get_nh(n, &r[count].nh);
		count++;
	}
	struct rte_fib6 *fresh = fib6_create(t);
	if (fresh == NULL) {
		rte_fib6_free(dp.fib6[t]);
		dp.fib6[t] = NULL;
		fresh = fib6_create(t);
	} else {
		rte_fib6_free(dp.fib6[t]);
	}
	if (fresh == NULL) /* the memory just freed: cannot happen, but then no IPv6 */
		rte_panic("IPv6 route table: cannot make it anew: %s\n", rte_strerror(rte_errno));
	dp.fib6[t] = fresh;
	for (uint32_t i = 0; i < count; i++)
		if (rte_fib6_add(fresh, r[i].ip, r[i].plen, r[i].nh) != 0)
			DP_LOG_LIMITED(ERR, "IPv6 route table made anew without a route it had");
	free(r);
	DP_LOG_LIMITED(INFO, "IPv6 route table %d made anew with its %u routes (groups given back)",
		       t, count);
	return 0;
}

static int route6_init(char *err, size_t errlen)
{
	for (int t = 0; t < 2; t++) {
		dp.fib6[t] = fib6_create(t);
		if (dp.fib6[t] == NULL) {
			snprintf(err, errlen, "cannot create the IPv6 route table: %s (the two tables "
				 "take about %u MiB: give EAL more memory)", rte_strerror(rte_errno),
				 DP_ROUTE6_MIB);
			return -1;
		}
	}
	dp.fib6_active = dp.fib6[0];
	/* The pods' block: the pod prefix's first 112 bits (its first 64 Ki
	 * addresses, or the whole of a longer prefix). */
	static const uint8_t mask[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	memcpy(&dp.host6_mask, mask, 8);
	memcpy(&dp.host6_block[0], dp.cfg.pod6, 8);
	memcpy(&dp.host6_block[1], dp.cfg.pod6 + 8, 8);
	dp.host6_block[1] &= dp.host6_mask;
	dp.host6 = rte_zmalloc("podlane_host6", (1u << 16) * sizeof(*dp.host6), RTE_CACHE_LINE_SIZE);
	if (dp.host6 == NULL) {
		snprintf(err, errlen, "cannot allocate the IPv6 pods' route index (128 KiB)");
		return -1;
	}
	return 0;
}

int dp_route_init(uint32_t max_routes, bool ipv6, char *err, size_t errlen)
{
	struct rte_fib_conf fc = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = DP_MAX_NH, /* no route */
		.max_routes = (int)max_routes, /* its RIB gets twice as many nodes */
		.dir24_8 = {.nh_sz = RTE_FIB_DIR24_8_2B, .num_tbl8 = 1u << 13},
	};
	char name[32];

	for (int t = 0; t < 2; t++) {
		snprintf(name, sizeof(name), "podlane_routes%d", t);
		dp.fib[t] = rte_fib_create(name, SOCKET_ID_ANY, &fc);
		if (dp.fib[t] == NULL) {
			snprintf(err, errlen, "cannot create route table for %u routes: %s (the two "
				 "tables take about %u MiB: give EAL more memory)", max_routes,
				 rte_strerror(rte_errno), DP_ROUTE_MIB(max_routes));
			return -1;
		}
		fast_lookup(dp.fib[t], NULL);
	}
	dp.fib_active = dp.fib[0];
	dp.fib6[0] = dp.fib6[1] = dp.fib6_active = NULL;
	rte_free(dp.host6);
	dp.host6 = NULL;
	if (ipv6 && route6_init(err, errlen) != 0)
		return -1;
	rl.n = 0;
	rl.published = rl.batch = false;
	size_t sz = rte_rcu_qsbr_get_memsize(DP_MAX_WORKERS);
	dp.qsbr = rte_zmalloc("podlane_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp.qsbr == NULL || rte_rcu_qsbr_init(dp.qsbr, DP_MAX_WORKERS) != 0) {
		snprintf(err, errlen, "cannot create RCU state");
		return -1;
	}
	struct rte_hash_parameters hp = {
		.name = "podlane_nh",
		.entries = DP_MAX_NH,
		.key_len = sizeof(struct nh_key),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
	};
	dp.nh_by_key = rte_hash_create(&hp);
	if (dp.nh_by_key == NULL) {
		snprintf(err, errlen, "cannot create next-hop index");
		return -1;
	}
	/* Index 0 stays unused so a zeroed entry is never a valid next hop. */
	dp.n_nh_free = 0;
	for (uint32_t i = DP_MAX_NH - 1; i > 0; i--)
		dp.nh_free[dp.n_nh_free++] = i;
	return 0;
}

static struct nh_key key_of(const struct dp_nh_spec *s)
{
	struct nh_key k;

	memset(&k, 0, sizeof(k));
	k.kind = (uint8_t)s->kind;
	if (s->kind == DP_NH_PORT) {
		k.port = s->port;
		k.mac = s->mac;
	} else if (s->kind == DP_NH_GATEWAY) {
		k.gw = s->gw;
		memcpy(k.gw6, s->gw6, sizeof(k.gw6));
	} else if (s->kind == DP_NH_ECMP) {
		k.n_gw = (uint8_t)RTE_MIN(s->n_gw, DP_ECMP_MAX);
		memcpy(k.gws, s->gws, k.n_gw * sizeof(k.gws[0]));
		memcpy(k.gws6, s->gws6, k.n_gw * sizeof(k.gws6[0]));
	}
	return k;
}

static void nh_put(uint32_t i);
static int nh_get(const struct dp_nh_spec *s);

/* An ECMP member's neighbour, one more (on) or one fewer ECMP next hop
 * has it. */
static int watch(const struct dp_nh *g, bool on)
{
	return g->gw ? dp_neigh_ecmp_watch(g->gw, on) : dp_neigh6_ecmp_watch(g->gw6, on);
}

/* What a next hop going away holds: an ECMP one's members. (Workers may
 * still read them until dp_commit: the members' own next hops are freed
 * after the same grace period.) */
static void nh_release(struct dp_nh *nh)
{
	if (nh->kind != DP_NH_ECMP)
		return;
	for (unsigned j = 0; j < nh->n_members; j++) {
		watch(&dp.nh[nh->members[j]], false);
		nh_put(nh->members[j]);
	}
}

/* An ECMP next hop's members: a gateway next hop each (IPv4, or IPv6
 * when the first IPv4 one is 0), its neighbour watched. 0, or -errno
 * with none taken. */
static int members_get(struct dp_nh *nh, const struct nh_key *k)
{
	if (k->n_gw < 2)
		return -EINVAL;
	for (unsigned j = 0; j < k->n_gw; j++) {
		struct dp_nh_spec g = {.kind = DP_NH_GATEWAY, .gw = k->gws[j]};
		memcpy(g.gw6, k->gws[0] ? dp_ip6_unspecified : k->gws6[j], 16);
		int m = nh_get(&g);
		if (m < 0 || watch(&dp.nh[m], true) != 0) {
			if (m >= 0)
				nh_put((uint32_t)m);
			while (j-- > 0) {
				watch(&dp.nh[nh->members[j]], false);
				nh_put(nh->members[j]);
			}
			return m < 0 ? m : -ENOSPC;
		}
		nh->members[j] = (uint16_t)m;
	}
	nh->n_members = k->n_gw;
	return 0;
}

static int nh_get(const struct dp_nh_spec *s)
{
	struct nh_key k = key_of(s);
	void *data;

	if (rte_hash_lookup_data(dp.nh_by_key, &k, &data) >= 0) {
		uint32_t i = (uint32_t)(uintptr_t)data;
		dp.nh[i].refcnt++;
		return (int)i;
	}
	if (dp.n_nh_free == 0)
		return -ENOSPC;
	uint32_t i = dp.nh_free[--dp.n_nh_free];
	struct dp_nh *nh = &dp.nh[i];
	if (k.kind == DP_NH_ECMP) {
		int rc = members_get(nh, &k);
		if (rc != 0) {
			dp.nh_free[dp.n_nh_free++] = i;
			return rc;
		}
	}
	nh->kind = k.kind;
	nh->port = k.port;
	nh->gw = k.gw;
	memcpy(nh->gw6, k.gw6, sizeof(nh->gw6));
	nh->mac = k.mac;
	nh->refcnt = 1;
	if (rte_hash_add_key_data(dp.nh_by_key, &k, (void *)(uintptr_t)i) < 0) {
		nh->refcnt = 0;
		nh_release(nh);
		dp.nh_free[dp.n_nh_free++] = i;
		return -ENOSPC;
	}
	return (int)i;
}

static void nh_put(uint32_t i)
{
	struct dp_nh *nh = &dp.nh[i];

	if (--nh->refcnt > 0)
		return;
	struct dp_nh_spec s = {.kind = nh->kind, .port = nh->port, .gw = nh->gw, .mac = nh->mac,
			       .n_gw = nh->kind == DP_NH_ECMP ? nh->n_members : 0};
	memcpy(s.gw6, nh->gw6, sizeof(s.gw6));
	for (unsigned j = 0; j < s.n_gw; j++) {
		s.gws[j] = dp.nh[nh->members[j]].gw;
		memcpy(s.gws6[j], dp.nh[nh->members[j]].gw6, 16);
	}
	struct nh_key k = key_of(&s);
	rte_hash_del_key(dp.nh_by_key, &k);
	nh_release(nh);
	dp.nh_deferred[dp.n_nh_deferred++] = i;
}

/* The default route lives beside the tables: a /0 would rewrite all 16M
 * entries of their first level. hop: dp.default_hop or default_hop6. */
static int default_set(uint32_t *hop, const struct dp_nh_spec *spec)
{
	uint32_t old = *hop;
	int i = spec ? nh_get(spec) : 0;

	if (i < 0)
		return i;
	__atomic_store_n(hop, spec ? (uint32_t)i + 1 : 0, __ATOMIC_RELEASE);
	if (old)
		nh_put(old - 1);
	return spec || old ? 0 : -ENOENT;
}

/* o's prefix to spec's next hop, or (spec NULL) removed. */
static int route_set(struct route_op o, const struct dp_nh_spec *spec)
{
	uint32_t old;

	if (o.plen == 0)
		return default_set(o.v6 ? &dp.default_hop6 : &dp.default_hop, spec);
	level();
	bool present = route_present(&o, &old);
	if (spec == NULL) {
		if (!present)
			return -ENOENT;
		int rc = route_op(o);
		if (rc == 0)
			nh_put(old);
		return rc;
	}
	int i = nh_get(spec);
	if (i < 0)
		return i;
	o.add = true;
	o.nh = (uint32_t)i;
	int rc = route_op(o);
	if (rc < 0) {
		nh_put((uint32_t)i);
		return rc;
	}
	if (present)
		nh_put(old);
	return 0;
}

int dp_route_add(uint32_t prefix, uint8_t plen, const struct dp_nh_spec *spec)
{
	return route_set((struct route_op){.ip = rte_be_to_cpu_32(prefix), .plen = plen}, spec);
}

int dp_route_del(uint32_t prefix, uint8_t plen)
{
	return route_set((struct route_op){.ip = rte_be_to_cpu_32(prefix), .plen = plen}, NULL);
}

/* The kinds of next hop an IPv6 route takes: on the uplink (a gateway,
 * the on-link prefix) only where the node has an IPv6 address to ask
 * its neighbours from. */
static bool route6_kind_ok(const struct dp_nh_spec *s)
{
	switch (s->kind) {
	case DP_NH_PORT:
	case DP_NH_LOCAL:
	case DP_NH_DROP:
	case DP_NH_UNREACHABLE:
	case DP_NH_SERVICE:
		return true;
	case DP_NH_GATEWAY:
		return dp.cfg.has_node6 && s->gw == 0 && !dp_ip6_eq(s->gw6, dp_ip6_unspecified);
	case DP_NH_ECMP:
		return dp.cfg.has_node6 && s->n_gw >= 2 && s->gws[0] == 0;
	case DP_NH_CONNECTED:
		return dp.cfg.has_node6;
	default:
		return false;
	}
}

static int route6_set(const uint8_t prefix[16], uint8_t plen, const struct dp_nh_spec *spec)
{
	struct route_op o = {.plen = plen, .v6 = true};

	if (dp.fib6[0] == NULL)
		return -EAFNOSUPPORT;
	if (plen > 128)
		return -EINVAL;
	if (spec && !route6_kind_ok(spec))
		return -EAFNOSUPPORT;
	memcpy(o.ip6, prefix, 16);
	return route_set(o, spec);
}

int dp_route6_add(const uint8_t prefix[16], uint8_t plen, const struct dp_nh_spec *spec)
{
	return route6_set(prefix, plen, spec);
}

int dp_route6_del(const uint8_t prefix[16], uint8_t plen)
{
	return route6_set(prefix, plen, NULL);
}

void dp_route_batch(void)
{
	rl.batch = true;
}

void dp_commit(void)
{
	/* Routes: the batch published, both tables level again. */
	rl.batch = false;
	publish();
	level();
	if (dp.n_nh_deferred == 0 && dp.nat->n_svc_deferred == 0)
		return;
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	/* Packets punted name their next hop: resolve those waiting before
	 * a freed one can be reused. No worker punts with one any more. */
	dp_slowpath_run();
	while (dp.n_nh_deferred)
		dp.nh_free[dp.n_nh_free++] = dp.nh_deferred[--dp.n_nh_deferred];
	dp_svc_commit();
}

/* What a trace says of next hop nh, both families: kind and port, the
 * MAC of a port's pod or the node kernel's; a next hop on the uplink
 * (gateway, on-link) gets the uplink, its address and MAC left to the
 * caller's neighbour table. */
static void trace_nh(const struct dp_nh *nh, struct dp_trace *t)
{
	t->kind = nh->kind;
	t->port = nh->port;
	switch (nh->kind) {
	case DP_NH_PORT:
		t->mac = nh->mac;
		t->mac_known = true;
		break;
	case DP_NH_LOCAL:
		t->port = dp.host;
		t->mac = dp.ports[dp.host].peer_mac;
		t->mac_known = dp.host < DP_MAX_PORTS;
		break;
	case DP_NH_GATEWAY:
	case DP_NH_CONNECTED:
		t->port = dp.uplink;
		break;
	default:
		break;
	}
}

/* The neighbour's MAC word w, as a trace shows it. */
static void trace_mac(uint64_t w, struct dp_trace *t)
{
	t->mac_known = (w & DP_NEIGH_VALID) != 0;
	if (t->mac_known)
		dp_mac_from_word(w, &t->mac);
}

/* The members of ECMP next hop nh, into t. */
static void trace_members(const struct dp_nh *nh, struct dp_trace *t)
{
	for (unsigned j = 0; j < nh->n_members; j++) {
		const struct dp_nh *g = &dp.nh[nh->members[j]];
		t->members[j].ip = g->gw;
		memcpy(t->members[j].ip6, g->gw6, 16);
		t->members[j].mac_known = (dp_gw_mac_word(g) & DP_NEIGH_VALID) != 0;
	}
	t->n_members = nh->n_members;
}

int dp_route6_trace(const uint8_t dst[16], const uint8_t *src, const struct dp_flow_tuple *f,
		    struct dp_trace *t)
{
	uint32_t hop = dp.fib6_active ? dp_ip6_lookup1(dst) : DP_HOP_NONE;

	memset(t, 0, sizeof(*t));
	if (hop == DP_HOP_NONE)
		return -ENOENT;
	const struct dp_nh *nh = &dp.nh[hop];
	if (nh->kind == DP_NH_ECMP) {
		uint64_t w;
		trace_members(nh, t);
		nh = &dp.nh[dp_ecmp_pick(nh, dp_ip6_flow_hash_of(src ? src : dp_ip6_unspecified, dst,
								f ? f->proto : 0,
								f ? (uint32_t)f->sport | (uint32_t)f->dport << 16
								  : 0), &w)];
	}
	trace_nh(nh, t);
	if (nh->kind == DP_NH_GATEWAY || nh->kind == DP_NH_CONNECTED) {
		memcpy(t->next_ip6, nh->kind == DP_NH_GATEWAY ? nh->gw6 : dst, 16);
		trace_mac(dp_neigh6_mac_word(t->next_ip6), t);
	}
	return 0;
}

int dp_route_trace(uint32_t dst, const struct dp_flow_tuple *f, struct dp_trace *t)
{
	uint32_t hop = dp_ip4_lookup1(rte_be_to_cpu_32(dst));

	memset(t, 0, sizeof(*t));
	if (hop == DP_HOP_NONE)
		return -ENOENT;
	const struct dp_nh *nh = &dp.nh[hop];
	if (nh->kind == DP_NH_ECMP) {
		uint64_t w;
		trace_members(nh, t);
		uint32_t ports = f ? (uint32_t)f->sport | (uint32_t)f->dport << 16 : 0;
		nh = &dp.nh[dp_ecmp_pick(nh, dp_flow_hash(f ? f->src : 0, dst, f ? f->proto : 0, ports),
					 &w)];
	}
	trace_nh(nh, t);
	if (nh->kind == DP_NH_GATEWAY || nh->kind == DP_NH_CONNECTED) {
		t->next_ip = nh->kind == DP_NH_GATEWAY ? nh->gw : dst;
		trace_mac(dp_neigh_mac_word(t->next_ip), t);
	}
	return 0;
}
