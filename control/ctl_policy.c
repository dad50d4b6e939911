/* NetworkPolicy, the control copy: policies as the API gives them (by
 * name, each owned by an origin), checked, kept as JSON (what policy.list
 * and policies.json show), and compiled whole into the dataplane's rule
 * set (dp_policy_set) at every change. A policy is what one Kubernetes
 * NetworkPolicy says of this node's pods with its selectors resolved:
 *
 *   {"name": "ns/web", "pods": ["100.96.1.5"],
 *    "ingress": [{"from": [{"cidr": "100.96.0.0/11", "except": [...]}],
 *                 "ports": [{"protocol": "tcp", "port": 80, "end_port": 90}]}],
 *    "egress": [...]}
 *
 * "ingress" or "egress" present (even []) isolates the pods in that
 * direction (policyTypes); a rule without "from"/"to" (or with []) takes
 * every peer, one without "ports" every port and protocol. A rule's id in
 * the dataplane is (slot, direction, index): stable while the policy
 * lives, so its counter is too.
 *
 * Both families: pods and peers are IPv4 or IPv6 addresses and prefixes;
 * a pod of this node named by either of its addresses has both judged
 * (the set is compiled again when pods come and go), its IPv4 by the IPv4
 * peers, its IPv6 by the IPv6 ones. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"

static const char *const dir_key[2] = {[DP_POL_INGRESS] = "ingress", [DP_POL_EGRESS] = "egress"};
static const char *const peer_key[2] = {[DP_POL_INGRESS] = "from", [DP_POL_EGRESS] = "to"};

/* The metrics thread reads names and counters while the control thread
 * changes policies: it takes this, the control thread takes it to write. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void ctl_policy_lock(void)
{
	pthread_mutex_lock(&lock);
}

static void ctl_policy_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

int ctl_policy_tables(void)
{
	node.policies = calloc(CTL_MAX_POLICIES, sizeof(*node.policies));
	return node.policies == NULL ? -1 : 0;
}

struct ctl_policy *ctl_policy_find(const char *name)
{
	for (unsigned i = 0; i < CTL_MAX_POLICIES; i++)
		if (node.policies[i].used && strcmp(node.policies[i].name, name) == 0)
			return &node.policies[i];
	return NULL;
}

uint32_t ctl_policy_rule_id(uint32_t slot, unsigned dir, unsigned rule)
{
	return slot * 2 * CTL_POL_RULES + dir * CTL_POL_RULES + rule;
}

/* Refusals name the field: "ingress[0].from[1].cidr: ...". */
static int check_prefix(json_t *v, const char *at, struct ctl_pfx *p, struct ctl_err *e)
{
	const char *s = json_string_value(v);
	int rc = ctl_pfx_parse(s, p);

	if (v == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: missing", at);
	if (rc == -2)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s has host bits set", at, s);
	if (rc != 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %.64s is not an IPv4 or IPv6 prefix "
				"(a.b.c.d/len, x:y::/len)", at, s ? s : "(not a string)");
	return 0;
}

/* Is b (of len bits) inside a (its own length)? Both of one family. */
static bool pfx_inside(const struct ctl_pfx *b, const struct ctl_pfx *a)
{
	return b->v6 == a->v6 && b->plen > a->plen &&
	       ctl_in_prefix6(b->a, a->a, a->plen); /* the first 4 bytes for IPv4 */
}

static int check_keys(json_t *o, const char *at, const char *const *keys, unsigned n,
		      struct ctl_err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: not an object", at);
	json_object_foreach(o, k, v) {
		unsigned i = 0;
		while (i < n && strcmp(k, keys[i]) != 0)
			i++;
		if (i == n)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: unknown key '%.32s'", at, k);
	}
	return 0;
}

static int check_peer(json_t *p, const char *at, struct ctl_err *e)
{
	static const char *const keys[] = {"cidr", "except"};
	char sub[256];
	struct ctl_pfx cidr, xp;
	json_t *ex = json_object_get(p, "except"), *x;
	size_t i;

	snprintf(sub, sizeof(sub), "%s.cidr", at);
	if (check_keys(p, at, keys, 2, e) != 0 ||
	    check_prefix(json_object_get(p, "cidr"), sub, &cidr, e) != 0)
		return -1;
	if (ex != NULL && (!json_is_array(ex) || json_array_size(ex) > CTL_POL_EXCEPT_MAX))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s.except: not an array of at most %d prefixes",
				at, CTL_POL_EXCEPT_MAX);
	json_array_foreach(ex, i, x) {
		snprintf(sub, sizeof(sub), "%s.except[%zu]", at, i);
		if (check_prefix(x, sub, &xp, e) != 0)
			return -1;
		/* As Kubernetes: except values must lie within the cidr. */
		if (!pfx_inside(&xp, &cidr))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is not inside %s", sub,
					json_string_value(x), json_string_value(json_object_get(p, "cidr")));
	}
	return 0;
}

static int check_port(json_t *p, const char *at, struct ctl_err *e)
{
	static const char *const keys[] = {"protocol", "port", "end_port"};
	json_t *pr = json_object_get(p, "protocol"), *pv = json_object_get(p, "port"),
	       *ev = json_object_get(p, "end_port");

	if (check_keys(p, at, keys, 3, e) != 0)
		return -1;
	if (pr != NULL && (!json_is_string(pr) || (strcmp(json_string_value(pr), "tcp") != 0 &&
						   strcmp(json_string_value(pr), "udp") != 0)))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s.protocol: '%.16s' is not supported (tcp, "
				"udp; podlane does not carry SCTP)", at,
				json_is_string(pr) ? json_string_value(pr) : "(not a string)");
	if (pv != NULL && (!json_is_integer(pv) || json_integer_value(pv) < 1 ||
			   json_integer_value(pv) > 65535))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s.port: must be a port number 1-65535 "
				"(names are resolved by the agent)", at);
	if (ev != NULL && pv == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s.end_port: needs port", at);
	if (ev != NULL && (!json_is_integer(ev) || json_integer_value(ev) < json_integer_value(pv) ||
			   json_integer_value(ev) > 65535))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s.end_port: must be a port number from port "
				"(%lld) to 65535", at, (long long)json_integer_value(pv));
	return 0;
}

static int check_rule(json_t *r, unsigned dir, const char *at, struct ctl_err *e)
{
	const char *keys[] = {peer_key[dir], "ports"};
	json_t *peers = json_object_get(r, peer_key[dir]), *ports = json_object_get(r, "ports"), *x;
	char sub[192];
	size_t i;

	if (check_keys(r, at, keys, 2, e) != 0)
		return -1;
	if ((peers != NULL && !json_is_array(peers)) || (ports != NULL && !json_is_array(ports)))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s and ports must be arrays", at,
				peer_key[dir]);
	json_array_foreach(peers, i, x) {
		snprintf(sub, sizeof(sub), "%s.%s[%zu]", at, peer_key[dir], i);
		if (check_peer(x, sub, e) != 0)
			return -1;
	}
	json_array_foreach(ports, i, x) {
		snprintf(sub, sizeof(sub), "%s.ports[%zu]", at, i);
		if (check_port(x, sub, e) != 0)
			return -1;
	}
	return 0;
}

int ctl_policy_check(json_t *o, struct ctl_err *e)
{
	static const char *const keys[] = {"name", "pods", "ingress", "egress", "origin"};
	const char *name = json_string_value(json_object_get(o, "name"));
	json_t *pods = json_object_get(o, "pods"), *x;
	char at[48];
	size_t i;
	uint32_t ip;
	uint8_t ip6[16];

	if (!json_is_object(o))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "a policy must be an object with name and pods");
	if (name == NULL || name[0] == '\0' || strlen(name) > CTL_POL_NAME_MAX)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "name: missing or not a string of 1-%d characters",
				CTL_POL_NAME_MAX);
	/* Metrics labels carry it as it is. */
	for (const char *c = name; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "name: '%.64s' has a quote, backslash or "
					"control character", name);
	if (check_keys(o, "policy", keys, RTE_DIM(keys), e) != 0)
		return -1;
	if (!json_is_array(pods))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "pods: missing or not an array of addresses");
	json_array_foreach(pods, i, x)
		if (!json_is_string(x) || (ctl_parse_ip(json_string_value(x), &ip) != 0 &&
					   inet_pton(AF_INET6, json_string_value(x), ip6) != 1))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "pods[%zu]: %.64s is not an IPv4 or "
					"IPv6 address", i,
					json_is_string(x) ? json_string_value(x) : "(not a string)");
	for (unsigned d = 0; d < 2; d++) {
		json_t *rules = json_object_get(o, dir_key[d]);
		if (rules == NULL)
			continue;
		if (!json_is_array(rules))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: not an array of rules", dir_key[d]);
		if (json_array_size(rules) > CTL_POL_RULES)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %zu rules, at most %d in a policy",
					dir_key[d], json_array_size(rules), CTL_POL_RULES);
		json_array_foreach(rules, i, x) {
			snprintf(at, sizeof(at), "%s[%zu]", dir_key[d], i);
			if (check_rule(x, d, at, e) != 0)
				return -1;
		}
	}
	return 0;
}

/* The compiled set growing: a direction's rules and isolated pods, of
 * each family. Past CTL_POL_COMPILED_MAX rules it stops (the set is
 * refused whole), so a request naming millions of combinations costs no
 * more than that. */
struct set {
	struct dp_pol_rule *rules[2];
	size_t n_rules[2], cap_rules[2];
	struct dp_pol_rule6 *rules6[2];
	size_t n_rules6[2], cap_rules6[2];
	bool over;
	uint32_t *iso[2];
	size_t n_iso[2], cap_iso[2];
	uint8_t (*iso6[2])[16];
	size_t n_iso6[2], cap_iso6[2];
	bool oom;
};

static void *grow(void *a, size_t *cap, size_t n, size_t size, bool *oom)
{
	if (n < *cap)
		return a;
	size_t c = *cap ? *cap * 2 : 64;
	void *b = realloc(a, c * size);
	if (b == NULL) {
		*oom = true;
		return a;
	}
	*cap = c;
	return b;
}

/* Appends size bytes of item to *a (n items, cap room); false when out of
 * memory (s->oom set). */
static bool append(struct set *s, void **a, size_t *n, size_t *cap, const void *item, size_t size)
{
	*a = grow(*a, cap, *n, size, &s->oom);
	if (*n >= *cap)
		return false;
	memcpy((uint8_t *)*a + *n * size, item, size);
	(*n)++;
	return true;
}

static bool room(struct set *s)
{
	if (s->n_rules[0] + s->n_rules[1] + s->n_rules6[0] + s->n_rules6[1] >= CTL_POL_COMPILED_MAX)
		s->over = true;
	return !s->over && !s->oom;
}

/* A pod a policy names, by either of its addresses: both of them when it
 * is this node's pod (a dual-stack pod's families are judged alike), else
 * the one named. */
struct pod_addrs {
	bool has4, has6;
	uint32_t ip;
	uint8_t ip6[16];
};

static struct pod_addrs pod_addrs(const char *s)
{
	struct pod_addrs a = {0};

	if (ctl_parse_ip(s, &a.ip) == 0)
		a.has4 = true;
	else
		a.has6 = inet_pton(AF_INET6, s, a.ip6) == 1;
	for (unsigned i = 0; i < CTL_MAX_PODS; i++) {
		const struct ctl_pod *p = &node.pods[i];
		if (!p->used || !(a.has4 ? p->ip == a.ip
					 : node.cfg.has_pod6 && memcmp(p->ip6, a.ip6, 16) == 0))
			continue;
		a.has4 = p->ip != 0;
		a.ip = p->ip;
		a.has6 = node.cfg.has_pod6;
		memcpy(a.ip6, p->ip6, 16);
		break;
	}
	return a;
}

/* Peer prefix pfx less the excepts inside it (x[nx], of either family:
 * those of pfx's apply), as the prefixes that cover the rest, each a rule
 * like r (IPv4) or r6 (IPv6). */
static void add_peer(struct set *s, unsigned d, struct dp_pol_rule r, struct dp_pol_rule6 r6,
		     const struct ctl_pfx *pfx, const struct ctl_pfx *x, size_t nx)
{
	bool split = false;

	if (!room(s))
		return;
	for (size_t i = 0; i < nx; i++) {
		if (x[i].v6 != pfx->v6)
			continue;
		if (x[i].plen <= pfx->plen && ctl_in_prefix6(pfx->a, x[i].a, x[i].plen))
			return; /* all of it excepted */
		if (pfx_inside(&x[i], pfx))
			split = true;
	}
	if (!split && pfx->v6) {
		memcpy(r6.peer, pfx->a, 16);
		r6.peer_len = pfx->plen;
		append(s, (void **)&s->rules6[d], &s->n_rules6[d], &s->cap_rules6[d], &r6, sizeof(r6));
		return;
	}
	if (!split) {
		memcpy(&r.peer, pfx->a, 4);
		r.peer_len = pfx->plen;
		append(s, (void **)&s->rules[d], &s->n_rules[d], &s->cap_rules[d], &r, sizeof(r));
		return;
	}
	struct ctl_pfx lo = *pfx, hi = *pfx;
	lo.plen = hi.plen = (uint8_t)(pfx->plen + 1);
	hi.a[pfx->plen / 8] |= (uint8_t)(0x80 >> (pfx->plen % 8));
	add_peer(s, d, r, r6, &lo, x, nx);
	add_peer(s, d, r, r6, &hi, x, nx);
}

/* One rule of a policy, for each of its pods (pa[np]), port and peer of
 * the pod's families, into s. */
static void compile_rule(struct set *s, unsigned d, json_t *rule, const struct pod_addrs *pa,
			 size_t np, uint32_t id)
{
	json_t *peers = json_object_get(rule, peer_key[d]), *ports = json_object_get(rule, "ports");
	json_t *any_peer = json_pack("[{s:s}, {s:s}]", "cidr", "0.0.0.0/0", "cidr", "::/0");
	json_t *any_port = json_pack("[{}]");
	json_t *peer, *port;
	size_t j, k;

	if (json_array_size(peers) == 0)
		peers = any_peer;
	if (json_array_size(ports) == 0)
		ports = any_port;
	for (size_t i = 0; i < np; i++) {
		struct dp_pol_rule r = {.id = id, .pod = pa[i].ip};
		struct dp_pol_rule6 r6 = {.id = id};
		memcpy(r6.pod, pa[i].ip6, 16);
		json_array_foreach(ports, j, port) {
			const char *pr = json_string_value(json_object_get(port, "protocol"));
			json_t *pv = json_object_get(port, "port"), *ev = json_object_get(port, "end_port");
			bool any = json_object_size(port) == 0;
			r.proto = any ? 0 : pr != NULL && strcmp(pr, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
			r.port_lo = pv ? (uint16_t)json_integer_value(pv) : 1;
			r.port_hi = ev ? (uint16_t)json_integer_value(ev) : pv ? r.port_lo : 65535;
			r6.proto = r.proto;
			r6.port_lo = r.port_lo;
			r6.port_hi = r.port_hi;
			json_array_foreach(peers, k, peer) {
				json_t *ex = json_object_get(peer, "except"), *x;
				size_t nx = json_array_size(ex), m;
				struct ctl_pfx xp[nx ? nx : 1], cidr;
				json_array_foreach(ex, m, x)
					ctl_pfx_parse(json_string_value(x), &xp[m]);
				ctl_pfx_parse(json_string_value(json_object_get(peer, "cidr")), &cidr);
				if (cidr.v6 ? pa[i].has6 : pa[i].has4)
					add_peer(s, d, r, r6, &cidr, xp, nx);
			}
		}
	}
	json_decref(any_peer);
	json_decref(any_port);
}

int ctl_policy_apply(json_t *const *objs, const uint32_t *slots, size_t n, struct ctl_err *e)
{
	struct set s = {0};
	char err[160];
	int rc = -1;

	for (size_t i = 0; i < n && room(&s); i++) {
		json_t *pods = json_object_get(objs[i], "pods"), *pod, *rule;
		size_t j, np = json_array_size(pods);
		/* Each pod's addresses once for all the policy's rules. */
		struct pod_addrs *pa = malloc((np ? np : 1) * sizeof(*pa));
		if (pa == NULL) {
			s.oom = true;
			break;
		}
		json_array_foreach(pods, j, pod)
			pa[j] = pod_addrs(json_string_value(pod));
		for (unsigned d = 0; d < 2; d++) {
			json_t *rules = json_object_get(objs[i], dir_key[d]);
			if (rules == NULL)
				continue;
			for (j = 0; j < np; j++) {
				if (pa[j].has4)
					append(&s, (void **)&s.iso[d], &s.n_iso[d], &s.cap_iso[d],
					       &pa[j].ip, sizeof(pa[j].ip));
				if (pa[j].has6)
					append(&s, (void **)&s.iso6[d], &s.n_iso6[d], &s.cap_iso6[d],
					       pa[j].ip6, 16);
			}
			json_array_foreach(rules, j, rule)
				compile_rule(&s, d, rule, pa, np,
					     ctl_policy_rule_id(slots[i], d, (unsigned)j));
		}
		free(pa);
	}
	if (s.oom) {
		ctl_fail(e, PL_E_RESOURCE, "out of memory compiling the policies");
	} else if (s.over) {
		ctl_fail(e, PL_E_RESOURCE, "the policies compile to more than %u rules (pods x peers x "
			 "ports)", CTL_POL_COMPILED_MAX);
	} else {
		struct dp_pol_spec spec = {
			.n_isolated = {(unsigned)s.n_iso[0], (unsigned)s.n_iso[1]},
			.isolated = {s.iso[0], s.iso[1]},
			.n_rules = {(unsigned)s.n_rules[0], (unsigned)s.n_rules[1]},
			.rules = {s.rules[0], s.rules[1]},
			.n_isolated6 = {(unsigned)s.n_iso6[0], (unsigned)s.n_iso6[1]},
			.isolated6 = {(const uint8_t(*)[16])s.iso6[0], (const uint8_t(*)[16])s.iso6[1]},
			.n_rules6 = {(unsigned)s.n_rules6[0], (unsigned)s.n_rules6[1]},
			.rules6 = {s.rules6[0], s.rules6[1]},
		};
		rc = dp_policy_set(&spec, err, sizeof(err));
		if (rc != 0)
			ctl_fail(e, PL_E_RESOURCE, "%s", err);
	}
	for (unsigned d = 0; d < 2; d++) {
		free(s.rules[d]);
		free(s.iso[d]);
		free(s.rules6[d]);
		free(s.iso6[d]);
	}
	return rc == 0 ? 0 : -1;
}

int ctl_policy_apply_all(struct ctl_err *e)
{
	json_t *objs[CTL_MAX_POLICIES];
	uint32_t slots[CTL_MAX_POLICIES];
	size_t n = 0;

	for (uint32_t i = 0; i < CTL_MAX_POLICIES; i++)
		if (node.policies[i].used) {
			objs[n] = node.policies[i].obj;
			slots[n++] = i;
		}
	return ctl_policy_apply(objs, slots, n, e);
}

void ctl_policy_pods_changed(void)
{
	struct ctl_err e = {0};
	unsigned i = 0;

	/* Only a dual-stack pod has addresses a policy may not name. */
	while (node.cfg.has_pod6 && i < CTL_MAX_POLICIES && !node.policies[i].used)
		i++;
	if (!node.cfg.has_pod6 || i == CTL_MAX_POLICIES)
		return;
	if (ctl_policy_apply_all(&e) != 0)
		ctl_warn("policies not compiled again for a pod's addresses: %s (the rules before "
			 "stay in force)", e.msg);
}

int ctl_policy_free_slot(const bool *taken)
{
	for (int i = 0; i < CTL_MAX_POLICIES; i++)
		if (!node.policies[i].used && (taken == NULL || !taken[i]))
			return i;
	return -1;
}

void ctl_policy_put(uint32_t slot, json_t *obj, const char *origin)
{
	struct ctl_policy *p = &node.policies[slot];

	ctl_policy_lock();
	json_decref(p->obj);
	if (!p->used) /* the counters start from here for this policy */
		for (unsigned d = 0; d < 2; d++)
			for (unsigned r = 0; r < CTL_POL_RULES; r++)
				p->base[d][r] = dp_policy_rule_flows(ctl_policy_rule_id(slot, d, r));
	p->used = true;
	p->obj = json_incref(obj);
	snprintf(p->name, sizeof(p->name), "%s", json_string_value(json_object_get(obj, "name")));
	snprintf(p->origin, sizeof(p->origin), "%s", origin);
	ctl_policy_unlock();
}

void ctl_policy_drop(struct ctl_policy *p)
{
	ctl_policy_lock();
	json_decref(p->obj);
	p->obj = NULL;
	p->used = false;
	ctl_policy_unlock();
}

void ctl_policy_metrics(FILE *f)
{
	ctl_policy_lock();
	for (uint32_t k = 0; k < CTL_MAX_POLICIES; k++) {
		const struct ctl_policy *p = &node.policies[k];
		for (unsigned d = 0; p->used && d < 2; d++)
			for (unsigned r = 0; r < json_array_size(json_object_get(p->obj, dir_key[d])); r++)
				fprintf(f, "podlane_policy_rule_connections_total{policy=\"%s\",direction=\"%s\","
					"rule=\"%u\"} %" PRIu64 "\n", p->name, dir_key[d], r,
					dp_policy_rule_flows(ctl_policy_rule_id(k, d, r)) - p->base[d][r]);
	}
	ctl_policy_unlock();
}

json_t *ctl_policy_json(const struct ctl_policy *p, bool stats)
{
	json_t *o = json_deep_copy(p->obj), *rule;
	size_t i;

	json_object_set_new(o, "origin", json_string(p->origin));
	for (unsigned d = 0; stats && d < 2; d++)
		json_array_foreach(json_object_get(o, dir_key[d]), i, rule) {
			uint32_t id = ctl_policy_rule_id((uint32_t)(p - node.policies), d, (unsigned)i);
			json_object_set_new(rule, "connections",
					    json_integer((json_int_t)(dp_policy_rule_flows(id) -
								     p->base[d][i])));
		}
	return o;
}

json_t *ctl_policy_rule_json(int64_t id)
{
	uint32_t slot = (uint32_t)(id / (2 * CTL_POL_RULES));
	unsigned d = (unsigned)(id / CTL_POL_RULES % 2), r = (unsigned)(id % CTL_POL_RULES);

	if (id < 0 || slot >= CTL_MAX_POLICIES || !node.policies[slot].used)
		return json_null();
	return json_pack("{s:s, s:s, s:i}", "policy", node.policies[slot].name, "direction",
			 dir_key[d], "rule", r);
}

json_t *ctl_policy_isolating(const struct ctl_pfx *addr, unsigned dir)
{
	json_t *names = json_array(), *pod;
	size_t i;

	for (unsigned k = 0; k < CTL_MAX_POLICIES; k++) {
		const struct ctl_policy *p = &node.policies[k];
		if (!p->used || json_object_get(p->obj, dir_key[dir]) == NULL)
			continue;
		json_array_foreach(json_object_get(p->obj, "pods"), i, pod) {
			struct pod_addrs a = pod_addrs(json_string_value(pod));
			if (addr->v6 ? a.has6 && memcmp(a.ip6, addr->a, 16) == 0
				     : a.has4 && memcmp(&a.ip, addr->a, 4) == 0) {
				json_array_append_new(names, json_string(p->name));
				break;
			}
		}
	}
	return names;
}
