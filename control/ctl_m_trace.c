/* route.lookup: how the dataplane forwards a packet to one address, for
 * `podlanectl trace`. The next hop, port and MAC come from the workers'
 * own tables (dp_route_trace); the matching route from the control copy.
 * Given a port (and protocol, source), a Service's address is answered
 * with the service and the backend the connection gets, then the route
 * to that backend; given a source, with the NetworkPolicy verdict and the
 * rules that allowed it. Either family. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

static const char *const actions[] = {
	[DP_NH_DROP] = "blackhole", [DP_NH_LOCAL] = "local", [DP_NH_PORT] = "forward",
	[DP_NH_UNREACHABLE] = "unreachable",
	[DP_NH_GATEWAY] = "forward", [DP_NH_CONNECTED] = "forward",
	[DP_NH_SERVICE] = "service", [DP_NH_ECMP] = "forward",
};

/* The connection a trace names: its port (0: none named), source port
 * (40000 unless named) and protocol (tcp unless udp), network order; -1
 * (*e) when named wrong. */
static int trace_ports(json_t *params, uint16_t *port, uint16_t *sport, uint8_t *proto,
		       struct ctl_err *e)
{
	json_t *pv = json_object_get(params, "port"), *sv = json_object_get(params, "source_port");
	const char *p = ctl_param_str(params, "protocol", false, e);

	*port = 0;
	if (e->code)
		return -1;
	if (pv == NULL)
		return 0;
	if (!json_is_integer(pv) || json_integer_value(pv) < 1 || json_integer_value(pv) > 65535 ||
	    (sv != NULL && (!json_is_integer(sv) || json_integer_value(sv) < 1 ||
			    json_integer_value(sv) > 65535)))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "port, source_port: must be port numbers "
				"1-65535");
	if (p != NULL && strcmp(p, "tcp") != 0 && strcmp(p, "udp") != 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "protocol: '%.16s' is not tcp or udp", p);
	*proto = p && strcmp(p, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	*port = rte_cpu_to_be_16((uint16_t)json_integer_value(pv));
	*sport = rte_cpu_to_be_16((uint16_t)(sv ? json_integer_value(sv) : 40000));
	return 0;
}

/* dp_svc_trace's answer (rc) into o: the service, and the backend (bip,
 * either family's string) when it has one. Returns as trace_service. */
static int service_json(json_t *o, int rc, uint32_t id, const char *bip, uint16_t bport)
{
	char name[CTL_SVC_STRLEN];

	if (rc == -ENOENT)
		return 0;
	const struct ctl_svc *s = &node.svcs[id];
	json_t *so = json_pack("{s:s}", "service", ctl_svc_str(s, name));
	if (s->name[0])
		json_object_set_new(so, "name", json_string(s->name));
	json_object_set_new(o, "service", so);
	if (rc != 0)
		return 2;
	snprintf(name, sizeof(name), "%s%s%s:%u", s->v6 ? "[" : "", bip, s->v6 ? "]" : "",
		 rte_be_to_cpu_16(bport));
	json_object_set_new(o, "backend", json_string(name));
	return 1;
}

/* The service a connection to dst:port reaches, and its backend: into
 * o, with *dst becoming the backend's address. 1: a service with a
 * backend; 0: not a service; -1 (*e) bad parameters; 2: a service that
 * refuses it (no endpoints). *f: the flow as it leaves (for ECMP). */
static int trace_service(json_t *params, json_t *o, uint32_t *dst, struct dp_flow_tuple *f,
			 struct ctl_err *e)
{
	const char *src = ctl_param_str(params, "source", false, e);
	uint32_t id, bip;
	uint16_t port, sport, bport;
	uint8_t proto;
	char a[16];

	if (e->code)
		return -1;
	if (src != NULL && ctl_parse_ip(src, &f->src) != 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "source: '%.64s' is not an IPv4 address",
				src);
	if (trace_ports(params, &port, &sport, &proto, e) != 0)
		return -1;
	if (port == 0)
		return 0;
	*f = (struct dp_flow_tuple){.src = f->src, .proto = proto, .sport = sport, .dport = port};
	int rc = dp_svc_trace(f->src, sport, *dst, port, proto,
			      json_is_true(json_object_get(params, "external")), &id, &bip, &bport);
	int got = service_json(o, rc, id, ctl_ip_str(bip, a), bport);
	if (got == 1) {
		*dst = bip;
		f->dport = bport;
	}
	return got;
}

/* An IPv6 trace's connection: its source (if named), the server's port
 * (0: none named) and protocol, as the backend gets it. */
struct conn6 {
	bool has_src;
	uint8_t src[16];
	uint16_t sport, dport;
	uint8_t proto;
};

/* trace_service for an IPv6 destination (an IPv6 source, if any). */
static int trace_service6(json_t *params, json_t *o, uint8_t dst[16], struct conn6 *c,
			  struct ctl_err *e)
{
	const char *src = ctl_param_str(params, "source", false, e);
	uint8_t bip[16];
	uint32_t id;
	uint16_t bport;
	char a[CTL_IP6_STRLEN];

	if (e->code)
		return -1;
	c->has_src = src != NULL;
	if (src != NULL && inet_pton(AF_INET6, src, c->src) != 1)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "source: '%.64s' is not an IPv6 address "
				"(the address is)", src);
	if (trace_ports(params, &c->dport, &c->sport, &c->proto, e) != 0)
		return -1;
	if (c->dport == 0)
		return 0;
	int rc = dp_svc_trace6(c->src, c->sport, dst, c->dport, c->proto,
			       json_is_true(json_object_get(params, "external")), &id, bip, &bport);
	int got = service_json(o, rc, id, ctl_ip6_str(bip, a), bport);
	if (got == 1) {
		memcpy(dst, bip, 16);
		c->dport = bport;
	}
	return got;
}

/* A verdict (v) on a connection from client to server as JSON: who
 * isolates each side, which rule allowed it. */
static json_t *policy_json(const struct dp_pol_verdict *v, const struct ctl_pfx *client,
			   const struct ctl_pfx *server)
{
	json_t *o = json_pack("{s:s}", "verdict", v->allowed ? "allow" : "deny");

	for (unsigned d = 0; d < 2; d++) {
		json_t *side = json_pack("{s:b}", "isolated", v->isolated[d]);
		if (v->isolated[d]) {
			json_object_set_new(side, "allowed_by", ctl_policy_rule_json(v->rule[d]));
			json_object_set_new(side, "isolated_by", ctl_policy_isolating(
						d == DP_POL_INGRESS ? server : client, d));
		}
		json_object_set_new(o, d == DP_POL_INGRESS ? "ingress" : "egress", side);
	}
	return o;
}

/* With a source: what NetworkPolicy says of the connection (to the
 * backend, after a Service's DNAT; without a port, as a ping). */
static json_t *trace_policy(const struct dp_flow_tuple *f, uint32_t dst)
{
	struct dp_pol_verdict v;
	struct ctl_pfx client = ctl_pfx4(f->src, 32), server = ctl_pfx4(dst, 32);

	dp_policy_trace(f->src, dst, f->dport ? f->proto : IPPROTO_ICMP, f->dport, &v);
	return policy_json(&v, &client, &server);
}

static json_t *trace_policy6(const struct conn6 *c, const uint8_t dst[16])
{
	struct dp_pol_verdict v;
	struct ctl_pfx client = {.v6 = 1, .plen = 128}, server = client;

	memcpy(client.a, c->src, 16);
	memcpy(server.a, dst, 16);
	dp_policy_trace6(c->src, dst, c->dport ? c->proto : IPPROTO_ICMPV6, c->dport, &v);
	return policy_json(&v, &client, &server);
}

/* The policy verdict into o when the trace names a source; true when it
 * denies (o's action then says so). */
static bool policy_denies(json_t *o, json_t *pol)
{
	bool denied = strcmp(json_string_value(json_object_get(pol, "verdict")), "deny") == 0;

	json_object_set_new(o, "policy", pol);
	if (denied)
		json_object_set_new(o, "action", json_string("deny"));
	return denied;
}

static const struct ctl_route *longest_match(uint32_t ip)
{
	for (int plen = 32; plen >= 0; plen--) {
		const struct ctl_route *r = ctl_route_find(ip & ctl_mask((uint8_t)plen), (uint8_t)plen);
		if (r != NULL)
			return r;
	}
	return NULL;
}

/* The route, action, port, next hop (next_hop: its address, NULL for
 * none), MAC and pod of a lookup into o. */
static json_t *trace_route(json_t *o, const struct ctl_route *r, int rc, const struct dp_trace *t,
			   const char *next_hop)
{
	char name[64], mac[18];

	if (rc != 0) {
		json_object_set_new(o, "route", json_null());
		json_object_set_new(o, "action", json_string("unreachable"));
		return o;
	}
	json_object_set_new(o, "route", r ? ctl_route_json(r) : json_null());
	json_object_set_new(o, "action", json_string(actions[t->kind]));
	if (t->kind == DP_NH_DROP || t->kind == DP_NH_UNREACHABLE || t->kind == DP_NH_SERVICE)
		return o; /* a service's address without a port: no backend to name */
	json_object_set_new(o, "port", json_string(ctl_port_name(t->port, name, sizeof(name))));
	if (next_hop)
		json_object_set_new(o, "next_hop", json_string(next_hop));
	json_object_set_new(o, "mac", t->mac_known ? json_string(ctl_mac_str(&t->mac, mac)) : json_null());
	for (unsigned i = 0; t->kind == DP_NH_PORT && i < CTL_MAX_PODS; i++)
		if (node.pods[i].used && node.pods[i].port == t->port)
			json_object_set_new(o, "pod", json_pack("{s:s, s:s}", "container_id",
								node.pods[i].container_id, "ifname",
								node.pods[i].ifname));
	return o;
}

/* ECMP: every gateway of the route into o (next_hop is this flow's). */
static void trace_members(json_t *o, int rc, const struct dp_trace *t, bool v6)
{
	char ip[CTL_IP6_STRLEN];

	if (rc != 0 || t->n_members == 0)
		return;
	json_t *ms = json_array();
	for (unsigned i = 0; i < t->n_members; i++)
		json_array_append_new(ms, json_pack("{s:s, s:b}", "ip",
						    v6 ? ctl_ip6_str(t->members[i].ip6, ip)
						       : ctl_ip_str(t->members[i].ip, ip),
						    "resolved", t->members[i].mac_known));
	json_object_set_new(o, "members", ms);
}

static json_t *route_lookup6(json_t *params, const char *a, struct ctl_err *e)
{
	struct ctl_pfx p = {.v6 = 1};
	uint8_t dst[16];
	char next[CTL_IP6_STRLEN];
	struct dp_trace t;
	const struct ctl_route *r = NULL;

	if (inet_pton(AF_INET6, a, dst) != 1) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "address: '%.64s' is not an IPv4 or IPv6 address", a);
		return NULL;
	}
	json_t *o = json_pack("{s:s}", "address", a);
	struct conn6 c = {0};
	int svc = trace_service6(params, o, dst, &c, e);
	if (svc < 0) {
		json_decref(o);
		return NULL;
	}
	if (svc == 2) {
		json_object_set_new(o, "action", json_string("reject"));
		return o;
	}
	if (c.has_src && policy_denies(o, trace_policy6(&c, dst)))
		return o;
	for (int plen = 128; plen >= 0 && r == NULL; plen--) {
		p.plen = (uint8_t)plen;
		ctl_net6(dst, p.plen, p.a);
		r = ctl_route_find_pfx(&p);
	}
	struct dp_flow_tuple f = {.proto = c.proto, .sport = c.sport, .dport = c.dport};
	int rc = dp_route6_trace(dst, c.has_src ? c.src : NULL, &f, &t);
	bool via = rc == 0 && (t.kind == DP_NH_GATEWAY || t.kind == DP_NH_CONNECTED);
	trace_route(o, r, rc, &t, via ? ctl_ip6_str(t.next_ip6, next) : NULL);
	trace_members(o, rc, &t, true);
	return o;
}

static json_t *m_route_lookup(json_t *params, struct ctl_err *e)
{
	const char *a = ctl_param_str(params, "address", true, e);
	char ip[16];
	struct dp_trace t;
	struct dp_flow_tuple f = {0};
	uint32_t dst;

	if (a == NULL)
		return NULL;
	if (strchr(a, ':') != NULL)
		return route_lookup6(params, a, e);
	if (ctl_parse_ip(a, &dst) != 0) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "address: '%.64s' is not an IPv4 or IPv6 address", a);
		return NULL;
	}
	json_t *o = json_pack("{s:s}", "address", a);
	int svc = trace_service(params, o, &dst, &f, e);
	if (svc < 0) {
		json_decref(o);
		return NULL;
	}
	if (svc == 2) {
		json_object_set_new(o, "action", json_string("reject"));
		return o;
	}
	if (f.src != 0 && policy_denies(o, trace_policy(&f, dst)))
		return o;
	const struct ctl_route *r = longest_match(dst);
	int rc = dp_route_trace(dst, &f, &t);
	trace_route(o, r, rc, &t, rc == 0 && t.next_ip ? ctl_ip_str(t.next_ip, ip) : NULL);
	trace_members(o, rc, &t, false);
	return o;
}
CTL_METHOD(PL_M_ROUTE_LOOKUP, m_route_lookup)
