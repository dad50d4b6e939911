/* NetworkPolicy rules as the workers read them: for each direction one
 * rte_acl context over (protocol, pod, peer, port), whose every rule is
 * one (pod, peer prefix, protocol, port range) a policy allows, and the
 * sorted addresses of the pods isolated in it. A pod in neither list is
 * not judged in that direction. rte_acl because the cost of a judgement
 * then grows with the depth of its trie, not with the number of rules,
 * and a classify needs no lock: the whole set is built anew on the control
 * thread at each change and published under RCU, so workers see the old
 * set or the new one, never half of one. Judgements happen once per
 * connection (dp_policy4.c), so the build's cost is paid on changes and
 * the classify's on new connections only. IPv6 has contexts of its own,
 * its addresses as four 32-bit fields each (rte_acl's widest). */
#include <stdlib.h>

#include <rte_acl.h>
#include <rte_malloc.h>

#include "dp_nat.h"

/* What a judgement classifies, in network order as rte_acl wants input;
 * rules give their values in host order. */
struct acl_in {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t pod, peer;
	uint16_t port, zero;
};

enum { F_PROTO, F_POD, F_PEER, F_PORT, F_ZERO, N_FIELDS };
RTE_ACL_RULE_DEF(acl_rule, N_FIELDS);

/* Input groups of 4 bytes, as rte_acl reads them: the port shares its
 * group with a field that is always 0. */
static const struct rte_acl_field_def acl_defs[N_FIELDS] = {
	{.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = F_PROTO, .input_index = 0,
	 .offset = offsetof(struct acl_in, proto)},
	{.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_POD, .input_index = 1,
	 .offset = offsetof(struct acl_in, pod)},
	{.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F_PEER, .input_index = 2,
	 .offset = offsetof(struct acl_in, peer)},
	{.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_PORT, .input_index = 3,
	 .offset = offsetof(struct acl_in, port)},
	{.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F_ZERO, .input_index = 3,
	 .offset = offsetof(struct acl_in, zero)},
};

/* IPv6: the same, the addresses as four fields each. */
struct acl6_in {
	uint8_t proto;
	uint8_t pad[3];
	uint8_t pod[16], peer[16];
	uint16_t port, zero;
};

enum { G_PROTO, G_POD, G_PEER = G_POD + 4, G_PORT = G_PEER + 4, G_ZERO, N_FIELDS6 };
RTE_ACL_RULE_DEF(acl6_rule, N_FIELDS6);

static const struct rte_acl_field_def *acl6_defs(void)
{
	static struct rte_acl_field_def d[N_FIELDS6];

	d[G_PROTO] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1,
						.field_index = G_PROTO, .input_index = 0,
						.offset = offsetof(struct acl6_in, proto)};
	for (unsigned i = 0; i < 4; i++) {
		d[G_POD + i] = (struct rte_acl_field_def){
			.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = (uint8_t)(G_POD + i),
			.input_index = (uint8_t)(1 + i),
			.offset = (uint32_t)(offsetof(struct acl6_in, pod) + 4 * i)};
		d[G_PEER + i] = (struct rte_acl_field_def){
			.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = (uint8_t)(G_PEER + i),
			.input_index = (uint8_t)(5 + i),
			.offset = (uint32_t)(offsetof(struct acl6_in, peer) + 4 * i)};
	}
	d[G_PORT] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
					       .field_index = G_PORT, .input_index = 9,
					       .offset = offsetof(struct acl6_in, port)};
	d[G_ZERO] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
					       .field_index = G_ZERO, .input_index = 9,
					       .offset = offsetof(struct acl6_in, zero)};
	return d;
}

static uint32_t last_gen;

static void pol_free(struct dp_pol *p)
{
	if (p == NULL)
		return;
	for (unsigned d = 0; d < 2; d++) {
		rte_acl_free(p->acl[d]);
		rte_free(p->isolated[d]);
		rte_acl_free(p->acl6[d]);
		rte_free(p->isolated6[d]);
	}
	rte_free(p);
}

/* A context of the n rules (rte_acl's layout over defs) in rules. */
static int compile(const char *name, const struct rte_acl_field_def *defs, unsigned n_fields,
		   const void *rules, unsigned n, struct rte_acl_ctx **out)
{
	struct rte_acl_param ap = {.name = name, .socket_id = SOCKET_ID_ANY,
				   .rule_size = RTE_ACL_RULE_SZ(n_fields), .max_rule_num = n};
	struct rte_acl_config cfg = {.num_categories = 1, .num_fields = n_fields};
	/* rte_acl_create hands back an existing context of the same name. */
	struct rte_acl_ctx *ctx = rte_acl_create(&ap);
	int rc;

	if (ctx == NULL)
		return -ENOMEM;
	memcpy(cfg.defs, defs, n_fields * sizeof(*defs));
	if ((rc = rte_acl_add_rules(ctx, rules, n)) != 0 || (rc = rte_acl_build(ctx, &cfg)) != 0) {
		rte_acl_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

static void rule_data(struct rte_acl_rule_data *d, uint32_t id)
{
	*d = (struct rte_acl_rule_data){.category_mask = 1, .priority = 1, .userdata = id + 1};
}

/* A rule's protocol and the server's port: any protocol matches port 0
 * only as any port (ports are a TCP and UDP matter). */
static void rule_ports(struct rte_acl_field *proto, struct rte_acl_field *port,
		       struct rte_acl_field *zero, uint8_t pr, uint16_t lo, uint16_t hi)
{
	proto->value.u8 = pr;
	proto->mask_range.u8 = pr ? 0xff : 0;
	port->value.u16 = pr ? lo : 0;
	port->mask_range.u16 = pr ? hi : UINT16_MAX;
	zero->mask_range.u16 = UINT16_MAX;
}

/* One direction's rules as a context (NULL when there are none). */
static int build(unsigned dir, uint32_t gen, const struct dp_pol_rule *r, unsigned n,
		 struct rte_acl_ctx **out)
{
	char name[RTE_ACL_NAMESIZE];

	*out = NULL;
	if (n == 0)
		return 0;
	struct acl_rule *rules = calloc(n, sizeof(*rules));
	if (rules == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct acl_rule *a = &rules[i];
		rule_data(&a->data, r[i].id);
		rule_ports(&a->field[F_PROTO], &a->field[F_PORT], &a->field[F_ZERO], r[i].proto,
			   r[i].port_lo, r[i].port_hi);
		a->field[F_POD].value.u32 = rte_be_to_cpu_32(r[i].pod);
		a->field[F_POD].mask_range.u32 = 32;
		a->field[F_PEER].value.u32 = rte_be_to_cpu_32(r[i].peer);
		a->field[F_PEER].mask_range.u32 = r[i].peer_len;
	}
	snprintf(name, sizeof(name), "pl_pol%u_%u", gen, dir);
	int rc = compile(name, acl_defs, N_FIELDS, rules, n, out);
	free(rules);
	return rc;
}

/* An IPv6 address (or prefix of len bits) as four words of a rule. */
static void words6(struct rte_acl_field *f, const uint8_t a[16], unsigned len)
{
	for (unsigned i = 0; i < 4; i++) {
		uint32_t w;
		memcpy(&w, a + 4 * i, 4);
		f[i].value.u32 = rte_be_to_cpu_32(w);
		f[i].mask_range.u32 = len > 32 * i ? RTE_MIN(32u, len - 32 * i) : 0;
	}
}

static int build6(unsigned dir, uint32_t gen, const struct dp_pol_rule6 *r, unsigned n,
		  struct rte_acl_ctx **out)
{
	char name[RTE_ACL_NAMESIZE];

	*out = NULL;
	if (n == 0)
		return 0;
	struct acl6_rule *rules = calloc(n, sizeof(*rules));
	if (rules == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct acl6_rule *a = &rules[i];
		rule_data(&a->data, r[i].id);
		rule_ports(&a->field[G_PROTO], &a->field[G_PORT], &a->field[G_ZERO], r[i].proto,
			   r[i].port_lo, r[i].port_hi);
		words6(&a->field[G_POD], r[i].pod, 128);
		words6(&a->field[G_PEER], r[i].peer, r[i].peer_len);
	}
	snprintf(name, sizeof(name), "pl_pol6_%u_%u", gen, dir);
	int rc = compile(name, acl6_defs(), N_FIELDS6, rules, n, out);
	free(rules);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_ip6(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static bool isolated(const struct dp_pol *p, unsigned dir, uint32_t ip)
{
	return p->n_isolated[dir] &&
	       bsearch(&ip, p->isolated[dir], p->n_isolated[dir], sizeof(ip), cmp_u32) != NULL;
}

static bool isolated6(const struct dp_pol *p, unsigned dir, const uint8_t ip[16])
{
	return p->n_isolated6[dir] &&
	       bsearch(ip, p->isolated6[dir], p->n_isolated6[dir], 16, cmp_ip6) != NULL;
}

void dp_policy_ports(void)
{
	const struct dp_pol *p = dp.pol;

	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		struct dp_port *port = &dp.ports[i];
		uint8_t iso = 0;
		if (p != NULL && port->active && port->kind == DP_PORT_POD)
			for (unsigned d = 0; d < 2; d++)
				if (isolated(p, d, port->peer_ip) || isolated6(p, d, port->peer_ip6))
					iso |= (uint8_t)(1u << d);
		__atomic_store_n(&port->pol_iso, iso, __ATOMIC_RELAXED);
	}
}

/* A sorted copy of n items of size bytes (one at least allocated: the
 * array is never NULL), or NULL when out of memory. */
static void *sorted(const void *a, unsigned n, size_t size, int (*cmp)(const void *, const void *))
{
	void *b = rte_malloc("podlane_pol_iso", (n ? n : 1) * size, 0);

	if (b != NULL && n > 0) { /* a may be NULL then */
		memcpy(b, a, n * size);
		qsort(b, n, size, cmp);
	}
	return b;
}

static int check(const struct dp_pol_spec *s, char *err, size_t errlen)
{
	for (unsigned d = 0; d < 2; d++) {
		for (unsigned i = 0; i < s->n_rules[d]; i++)
			if (s->rules[d][i].id >= DP_POL_MAX_IDS || s->rules[d][i].peer_len > 32) {
				snprintf(err, errlen, "policy rule id %u or prefix length %u out of range",
					 s->rules[d][i].id, s->rules[d][i].peer_len);
				return -EINVAL;
			}
		for (unsigned i = 0; i < s->n_rules6[d]; i++)
			if (s->rules6[d][i].id >= DP_POL_MAX_IDS || s->rules6[d][i].peer_len > 128) {
				snprintf(err, errlen, "policy rule id %u or prefix length %u out of range",
					 s->rules6[d][i].id, s->rules6[d][i].peer_len);
				return -EINVAL;
			}
	}
	return 0;
}

int dp_policy_set(const struct dp_pol_spec *s, char *err, size_t errlen)
{
	struct dp_pol *p = NULL, *old = dp.pol;
	int rc = check(s, err, errlen);

	if (rc != 0)
		return rc;
	if (s->n_isolated[0] + s->n_isolated[1] + s->n_isolated6[0] + s->n_isolated6[1] > 0) {
		for (unsigned w = 0; w < dp.cfg.n_workers; w++)
			if (dp.pol_flows[w] == NULL &&
			    (dp.pol_flows[w] = rte_zmalloc("podlane_pol_flows",
							   DP_POL_MAX_IDS * sizeof(uint64_t), 0)) == NULL)
				goto nomem;
		if ((p = rte_zmalloc("podlane_pol", sizeof(*p), 0)) == NULL)
			goto nomem;
		p->gen = last_gen = last_gen % ((1u << 31) - 1) + 1;
		for (unsigned d = 0; d < 2; d++) {
			p->isolated[d] = sorted(s->isolated[d], s->n_isolated[d], sizeof(uint32_t), cmp_u32);
			p->isolated6[d] = sorted(s->isolated6[d], s->n_isolated6[d], 16, cmp_ip6);
			if (p->isolated[d] == NULL || p->isolated6[d] == NULL)
				goto nomem;
			p->n_isolated[d] = s->n_isolated[d];
			p->n_isolated6[d] = s->n_isolated6[d];
			bool v6 = false;
			rc = build(d, p->gen, s->rules[d], s->n_rules[d], &p->acl[d]);
			if (rc == 0) {
				v6 = true;
				rc = build6(d, p->gen, s->rules6[d], s->n_rules6[d], &p->acl6[d]);
			}
			if (rc != 0) {
				snprintf(err, errlen, "cannot compile %u %s %s policy rules: %s",
					 v6 ? s->n_rules6[d] : s->n_rules[d], v6 ? "IPv6" : "IPv4",
					 d == DP_POL_INGRESS ? "ingress" : "egress",
					 strerror(rc < 0 ? -rc : rc));
				pol_free(p);
				return rc == -ENOMEM ? -ENOMEM : -EINVAL;
			}
		}
	}
	/* No pod isolated: NULL, and the stage costs a load per burst. */
	__atomic_store_n(&dp.pol, p, __ATOMIC_RELEASE);
	dp_policy_ports();
	if (old != NULL) {
		rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
		pol_free(old);
	}
	return 0;
nomem:
	pol_free(p);
	snprintf(err, errlen, "out of memory for the policy rules (give EAL more memory)");
	return -ENOMEM;
}

/* The rule id + 1 that allows the connection input in (a struct acl_in
 * or acl6_in) describes in dir, 0: none. */
static uint32_t classify(const struct rte_acl_ctx *ctx, const void *in)
{
	const uint8_t *data = in;
	uint32_t res = 0;

	if (ctx != NULL)
		rte_acl_classify(ctx, &data, &res, 1, 1);
	return res;
}

/* Ports are a TCP and UDP matter: other protocols match rules without
 * ports only (classified with port 0, which no rule with ports covers:
 * the API refuses port 0). */
static uint16_t port_of(uint8_t proto, uint16_t dport)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ? dport : 0;
}

/* The verdict from what each side's rules said (r: rule id + 1, 0 none). */
static bool verdict(const bool iso[2], const uint32_t r[2], struct dp_pol_verdict *v)
{
	bool ok = (!iso[0] || r[0]) && (!iso[1] || r[1]);

	if (v != NULL) {
		for (unsigned d = 0; d < 2; d++) {
			v->isolated[d] = iso[d];
			v->rule[d] = r[d] ? (int64_t)r[d] - 1 : -1;
		}
		v->allowed = ok;
	}
	return ok;
}

bool dp_policy_allows(const struct dp_pol *p, uint32_t client, uint32_t seen, uint32_t server,
		      uint8_t proto, uint16_t dport, struct dp_pol_verdict *v)
{
	uint32_t r[2] = {0, 0};
	bool iso[2] = {
		/* The node reaches its pods, and they it, whatever the rules. */
		[DP_POL_INGRESS] = seen != dp.cfg.node_ip && isolated(p, DP_POL_INGRESS, server),
		[DP_POL_EGRESS] = server != dp.cfg.node_ip && isolated(p, DP_POL_EGRESS, client),
	};
	struct acl_in in = {.proto = proto, .port = port_of(proto, dport)};

	if (iso[DP_POL_EGRESS]) {
		in.pod = client;
		in.peer = server;
		r[DP_POL_EGRESS] = classify(p->acl[DP_POL_EGRESS], &in);
	}
	if (iso[DP_POL_INGRESS]) {
		in.pod = server;
		in.peer = seen;
		r[DP_POL_INGRESS] = classify(p->acl[DP_POL_INGRESS], &in);
	}
	return verdict(iso, r, v);
}

/* The node's own IPv6 address (always allowed, as its IPv4 one). */
static bool node6(const uint8_t ip[16])
{
	return dp.cfg.has_node6 && memcmp(ip, dp.cfg.node_ip6, 16) == 0;
}

bool dp_policy_allows6(const struct dp_pol *p, const uint8_t client[16], const uint8_t seen[16],
		       const uint8_t server[16], uint8_t proto, uint16_t dport,
		       struct dp_pol_verdict *v)
{
	uint32_t r[2] = {0, 0};
	bool iso[2] = {
		[DP_POL_INGRESS] = !node6(seen) && isolated6(p, DP_POL_INGRESS, server),
		[DP_POL_EGRESS] = !node6(server) && isolated6(p, DP_POL_EGRESS, client),
	};
	struct acl6_in in = {.proto = proto, .port = port_of(proto, dport)};

	if (iso[DP_POL_EGRESS]) {
		memcpy(in.pod, client, 16);
		memcpy(in.peer, server, 16);
		r[DP_POL_EGRESS] = classify(p->acl6[DP_POL_EGRESS], &in);
	}
	if (iso[DP_POL_INGRESS]) {
		memcpy(in.pod, server, 16);
		memcpy(in.peer, seen, 16);
		r[DP_POL_INGRESS] = classify(p->acl6[DP_POL_INGRESS], &in);
	}
	return verdict(iso, r, v);
}

void dp_policy_trace(uint32_t client, uint32_t server, uint8_t proto, uint16_t dport,
		     struct dp_pol_verdict *v)
{
	const struct dp_pol *p = __atomic_load_n(&dp.pol, __ATOMIC_ACQUIRE);

	*v = (struct dp_pol_verdict){.allowed = true, .rule = {-1, -1}};
	if (p != NULL)
		dp_policy_allows(p, client, client, server, proto, dport, v);
}

void dp_policy_trace6(const uint8_t client[16], const uint8_t server[16], uint8_t proto,
		      uint16_t dport, struct dp_pol_verdict *v)
{
	const struct dp_pol *p = __atomic_load_n(&dp.pol, __ATOMIC_ACQUIRE);

	*v = (struct dp_pol_verdict){.allowed = true, .rule = {-1, -1}};
	if (p != NULL)
		dp_policy_allows6(p, client, client, server, proto, dport, v);
}

uint64_t dp_policy_rule_flows(uint32_t id)
{
	uint64_t n = 0;

	for (unsigned w = 0; w < DP_MAX_WORKERS && id < DP_POL_MAX_IDS; w++)
		if (dp.pol_flows[w] != NULL)
			n += __atomic_load_n(&dp.pol_flows[w][id], __ATOMIC_RELAXED);
	return n;
}

void dp_policy_fini(void)
{
	pol_free(dp.pol);
	dp.pol = NULL;
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++) {
		rte_free(dp.pol_flows[w]);
		dp.pol_flows[w] = NULL;
	}
}
