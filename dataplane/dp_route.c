/* Route table: rte_lpm (DIR-24-8) prefix -> next-hop index, with RCU QSBR
 * so workers read without locks. Next hops are shared by the routes that
 * use them and reclaimed only after every worker passed a quiescent state. */
#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "dp_nat.h"

struct nh_key {
	uint8_t kind;
	uint8_t n_gw;
	uint16_t port;
	uint32_t gw;
	struct rte_ether_addr mac;
	uint16_t pad2;
	uint32_t gws[DP_ECMP_MAX];
};

int dp_route_init(uint32_t max_routes, char *err, size_t errlen)
{
	struct rte_lpm_config lc = {
		.max_rules = max_routes,
		/* tbl8 groups hold prefixes longer than /24: 1 KiB each. */
		.number_tbl8s = 1u << 13,
	};
	dp.lpm = rte_lpm_create("podlane_routes", SOCKET_ID_ANY, &lc);
	if (dp.lpm == NULL) {
		snprintf(err, errlen, "cannot create route table for %u routes: %s", max_routes,
			 rte_strerror(rte_errno));
		return -1;
	}
	size_t sz = rte_rcu_qsbr_get_memsize(DP_MAX_WORKERS);
	dp.qsbr = rte_zmalloc("podlane_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp.qsbr == NULL || rte_rcu_qsbr_init(dp.qsbr, DP_MAX_WORKERS) != 0) {
		snprintf(err, errlen, "cannot create RCU state");
		return -1;
	}
	struct rte_lpm_rcu_config rc = {.v = dp.qsbr, .mode = RTE_LPM_QSBR_MODE_DQ};
	if (rte_lpm_rcu_qsbr_add(dp.lpm, &rc) != 0) {
		snprintf(err, errlen, "cannot attach RCU to the route table: %s",
			 rte_strerror(rte_errno));
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
	} else if (s->kind == DP_NH_ECMP) {
		k.n_gw = (uint8_t)RTE_MIN(s->n_gw, DP_ECMP_MAX);
		memcpy(k.gws, s->gws, k.n_gw * sizeof(k.gws[0]));
	}
	return k;
}

static void nh_put(uint32_t i);
static int nh_get(const struct dp_nh_spec *s);

/* What a next hop going away holds: an ECMP one's members. (Workers may
 * still read them until dp_commit: the members' own next hops are freed
 * after the same grace period.) */
static void nh_release(struct dp_nh *nh)
{
	if (nh->kind != DP_NH_ECMP)
		return;
	for (unsigned j = 0; j < nh->n_members; j++) {
		dp_neigh_ecmp_watch(dp.nh[nh->members[j]].gw, false);
		nh_put(nh->members[j]);
	}
}

/* An ECMP next hop's members: a gateway next hop each, its neighbour
 * watched. 0, or -errno with none taken. */
static int members_get(struct dp_nh *nh, const struct nh_key *k)
{
	if (k->n_gw < 2)
		return -EINVAL;
	for (unsigned j = 0; j < k->n_gw; j++) {
		struct dp_nh_spec g = {.kind = DP_NH_GATEWAY, .gw = k->gws[j]};
		int m = nh_get(&g);
		if (m < 0 || dp_neigh_ecmp_watch(k->gws[j], true) != 0) {
			if (m >= 0)
				nh_put((uint32_t)m);
			while (j-- > 0) {
				dp_neigh_ecmp_watch(k->gws[j], false);
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
	for (unsigned j = 0; j < s.n_gw; j++)
		s.gws[j] = dp.nh[nh->members[j]].gw;
	struct nh_key k = key_of(&s);
	rte_hash_del_key(dp.nh_by_key, &k);
	nh_release(nh);
	dp.nh_deferred[dp.n_nh_deferred++] = i;
}

/* The default route lives beside the LPM, which takes depths 1..32 only. */
static int default_set(const struct dp_nh_spec *spec)
{
	uint32_t old = dp.default_hop;
	int i = spec ? nh_get(spec) : 0;

	if (i < 0)
		return i;
	__atomic_store_n(&dp.default_hop, spec ? (uint32_t)i + 1 : 0, __ATOMIC_RELEASE);
	if (old)
		nh_put(old - 1);
	return spec || old ? 0 : -ENOENT;
}

int dp_route_add(uint32_t prefix, uint8_t plen, const struct dp_nh_spec *spec)
{
	uint32_t ip = rte_be_to_cpu_32(prefix), old;

	if (plen == 0)
		return default_set(spec);
	int present = rte_lpm_is_rule_present(dp.lpm, ip, plen, &old);
	int i = nh_get(spec);

	if (i < 0)
		return i;
	int rc = rte_lpm_add(dp.lpm, ip, plen, (uint32_t)i);
	if (rc < 0) {
		nh_put((uint32_t)i);
		return rc;
	}
	if (present == 1)
		nh_put(old);
	return 0;
}

int dp_route_del(uint32_t prefix, uint8_t plen)
{
	uint32_t ip = rte_be_to_cpu_32(prefix), old;

	if (plen == 0)
		return default_set(NULL);
	if (rte_lpm_is_rule_present(dp.lpm, ip, plen, &old) != 1)
		return -ENOENT;
	int rc = rte_lpm_delete(dp.lpm, ip, plen);
	if (rc < 0)
		return rc;
	nh_put(old);
	return 0;
}

void dp_commit(void)
{
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

int dp_route_trace(uint32_t dst, const struct dp_flow_tuple *f, struct dp_trace *t)
{
	uint32_t hop = dp_ip4_lookup1(rte_be_to_cpu_32(dst));

	memset(t, 0, sizeof(*t));
	if (hop == DP_HOP_NONE)
		return -ENOENT;
	const struct dp_nh *nh = &dp.nh[hop];
	if (nh->kind == DP_NH_ECMP) {
		uint64_t w;
		for (unsigned j = 0; j < nh->n_members; j++) {
			t->members[j].ip = dp.nh[nh->members[j]].gw;
			w = dp_neigh_mac_word(t->members[j].ip);
			t->members[j].mac_known = (w & DP_NEIGH_VALID) != 0;
		}
		t->n_members = nh->n_members;
		uint32_t ports = f ? (uint32_t)f->sport | (uint32_t)f->dport << 16 : 0;
		nh = &dp.nh[dp_ecmp_pick(nh, dp_flow_hash(f ? f->src : 0, dst, f ? f->proto : 0, ports),
					 &w)];
	}
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
		t->next_ip = nh->kind == DP_NH_GATEWAY ? nh->gw : dst;
		uint64_t w = dp_neigh_mac_word(t->next_ip);
		t->mac_known = (w & DP_NEIGH_VALID) != 0;
		if (t->mac_known)
			dp_mac_from_word(w, &t->mac);
		break;
	default:
		break;
	}
	return 0;
}
