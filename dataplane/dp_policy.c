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
 * the classify's on new connections only. */
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

static uint32_t last_gen;

static void pol_free(struct dp_pol *p)
{
	if (p == NULL)
		return;
	for (unsigned d = 0; d < 2; d++) {
		rte_acl_free(p->acl[d]);
		rte_free(p->isolated[d]);
	}
	rte_free(p);
}

/* One direction's rules as a context (NULL when there are none). */
static int build(unsigned dir, uint32_t gen, const struct dp_pol_rule *r, unsigned n,
		 struct rte_acl_ctx **out, char *err, size_t errlen)
{
	char name[RTE_ACL_NAMESIZE];

	*out = NULL;
	if (n == 0)
		return 0;
	/* rte_acl_create hands back an existing context of the same name. */
	snprintf(name, sizeof(name), "pl_pol%u_%u", gen, dir);
	struct rte_acl_param ap = {.name = name, .socket_id = SOCKET_ID_ANY,
				   .rule_size = RTE_ACL_RULE_SZ(N_FIELDS), .max_rule_num = n};
	struct rte_acl_ctx *ctx = rte_acl_create(&ap);
	struct acl_rule *rules = calloc(n, sizeof(*rules));
	int rc = -ENOMEM;

	if (ctx == NULL || rules == NULL)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct acl_rule *a = &rules[i];
		a->data = (struct rte_acl_rule_data){.category_mask = 1, .priority = 1,
						     .userdata = r[i].id + 1};
		a->field[F_PROTO].value.u8 = r[i].proto;
		a->field[F_PROTO].mask_range.u8 = r[i].proto ? 0xff : 0;
		a->field[F_POD].value.u32 = rte_be_to_cpu_32(r[i].pod);
		a->field[F_POD].mask_range.u32 = 32;
		a->field[F_PEER].value.u32 = rte_be_to_cpu_32(r[i].peer);
		a->field[F_PEER].mask_range.u32 = r[i].peer_len;
		a->field[F_PORT].value.u16 = r[i].proto ? r[i].port_lo : 0;
		a->field[F_PORT].mask_range.u16 = r[i].proto ? r[i].port_hi : UINT16_MAX;
		a->field[F_ZERO].mask_range.u16 = UINT16_MAX;
	}
	struct rte_acl_config cfg = {.num_categories = 1, .num_fields = N_FIELDS};
	memcpy(cfg.defs, acl_defs, sizeof(acl_defs));
	if ((rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)rules, n)) != 0 ||
	    (rc = rte_acl_build(ctx, &cfg)) != 0)
		goto out;
	*out = ctx;
	ctx = NULL;
out:
	if (rc != 0)
		snprintf(err, errlen, "cannot compile %u %s policy rules: %s", n,
			 dir == DP_POL_INGRESS ? "ingress" : "egress", strerror(rc < 0 ? -rc : rc));
	rte_acl_free(ctx);
	free(rules);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool isolated(const struct dp_pol *p, unsigned dir, uint32_t ip)
{
	return p->n_isolated[dir] &&
	       bsearch(&ip, p->isolated[dir], p->n_isolated[dir], sizeof(ip), cmp_u32) != NULL;
}

void dp_policy_ports(void)
{
	const struct dp_pol *p = dp.pol;

	for (unsigned i = 0; i < DP_MAX_PORTS; i++) {
		struct dp_port *port = &dp.ports[i];
		uint8_t iso = 0;
		if (p != NULL && port->active && port->kind == DP_PORT_POD)
			for (unsigned d = 0; d < 2; d++)
				if (isolated(p, d, port->peer_ip))
					iso |= (uint8_t)(1u << d);
		__atomic_store_n(&port->pol_iso, iso, __ATOMIC_RELAXED);
	}
}

int dp_policy_set(const struct dp_pol_spec *s, char *err, size_t errlen)
{
	struct dp_pol *p = NULL, *old = dp.pol;

	for (unsigned d = 0; d < 2; d++)
		for (unsigned i = 0; i < s->n_rules[d]; i++)
			if (s->rules[d][i].id >= DP_POL_MAX_IDS || s->rules[d][i].peer_len > 32) {
				snprintf(err, errlen, "policy rule id %u or prefix length %u out of range",
					 s->rules[d][i].id, s->rules[d][i].peer_len);
				return -EINVAL;
			}
	if (s->n_isolated[0] + s->n_isolated[1] > 0) {
		for (unsigned w = 0; w < dp.cfg.n_workers; w++)
			if (dp.pol_flows[w] == NULL &&
			    (dp.pol_flows[w] = rte_zmalloc("podlane_pol_flows",
							   DP_POL_MAX_IDS * sizeof(uint64_t), 0)) == NULL)
				goto nomem;
		if ((p = rte_zmalloc("podlane_pol", sizeof(*p), 0)) == NULL)
			goto nomem;
		p->gen = last_gen = last_gen % ((1u << 31) - 1) + 1;
		for (unsigned d = 0; d < 2; d++) {
			size_t bytes = (s->n_isolated[d] ? s->n_isolated[d] : 1) * sizeof(uint32_t);
			if ((p->isolated[d] = rte_malloc("podlane_pol_iso", bytes, 0)) == NULL)
				goto nomem;
			if (s->n_isolated[d] > 0) { /* isolated[d] may be NULL then */
				memcpy(p->isolated[d], s->isolated[d], s->n_isolated[d] * sizeof(uint32_t));
				qsort(p->isolated[d], s->n_isolated[d], sizeof(uint32_t), cmp_u32);
			}
			p->n_isolated[d] = s->n_isolated[d];
			int rc = build(d, p->gen, s->rules[d], s->n_rules[d], &p->acl[d], err, errlen);
			if (rc != 0) {
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

/* The rule id + 1 that allows pod's connection with peer in dir, 0: none. */
static uint32_t classify(const struct dp_pol *p, unsigned dir, uint32_t pod, uint32_t peer,
			 uint8_t proto, uint16_t port)
{
	struct acl_in in = {.proto = proto, .pod = pod, .peer = peer, .port = port};
	const uint8_t *data = (const uint8_t *)&in;
	uint32_t res = 0;

	if (p->acl[dir] != NULL)
		rte_acl_classify(p->acl[dir], &data, &res, 1, 1);
	return res;
}

bool dp_policy_allows(const struct dp_pol *p, uint32_t client, uint32_t seen, uint32_t server,
		      uint8_t proto, uint16_t dport, struct dp_pol_verdict *v)
{
	/* Ports are a TCP and UDP matter: other protocols match rules
	 * without ports only (classified with port 0, which no rule with
	 * ports covers: the API refuses port 0). */
	uint16_t port = proto == IPPROTO_TCP || proto == IPPROTO_UDP ? dport : 0;
	uint32_t r[2] = {0, 0};
	bool iso[2] = {
		/* The node reaches its pods, and they it, whatever the rules. */
		[DP_POL_INGRESS] = seen != dp.cfg.node_ip && isolated(p, DP_POL_INGRESS, server),
		[DP_POL_EGRESS] = server != dp.cfg.node_ip && isolated(p, DP_POL_EGRESS, client),
	};

	if (iso[DP_POL_EGRESS])
		r[DP_POL_EGRESS] = classify(p, DP_POL_EGRESS, client, server, proto, port);
	if (iso[DP_POL_INGRESS])
		r[DP_POL_INGRESS] = classify(p, DP_POL_INGRESS, server, seen, proto, port);
	if (v != NULL)
		for (unsigned d = 0; d < 2; d++) {
			v->isolated[d] = iso[d];
			v->rule[d] = r[d] ? (int64_t)r[d] - 1 : -1;
		}
	bool ok = (!iso[0] || r[0]) && (!iso[1] || r[1]);
	if (v != NULL)
		v->allowed = ok;
	return ok;
}

void dp_policy_trace(uint32_t client, uint32_t server, uint8_t proto, uint16_t dport,
		     struct dp_pol_verdict *v)
{
	const struct dp_pol *p = __atomic_load_n(&dp.pol, __ATOMIC_ACQUIRE);

	*v = (struct dp_pol_verdict){.allowed = true, .rule = {-1, -1}};
	if (p != NULL)
		dp_policy_allows(p, client, client, server, proto, dport, v);
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
