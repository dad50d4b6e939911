/* The route set: the control copy (for listing and the state file) kept
 * in step with the dataplane's tables, IPv4 and IPv6 routes in one set
 * keyed by struct ctl_pfx. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "ctl_node.h"

struct ctl_pfx ctl_pfx4(uint32_t prefix, uint8_t plen)
{
	struct ctl_pfx p = {.plen = plen};

	memcpy(p.a, &prefix, sizeof(prefix));
	return p;
}

static uint32_t pfx_ip4(const struct ctl_pfx *p)
{
	uint32_t ip;

	memcpy(&ip, p->a, sizeof(ip));
	return ip;
}

const char *ctl_pfx_str(const struct ctl_pfx *p, char buf[CTL_PFX_STRLEN])
{
	char a[CTL_IP6_STRLEN];

	inet_ntop(p->v6 ? AF_INET6 : AF_INET, p->a, a, sizeof(a));
	snprintf(buf, CTL_PFX_STRLEN, "%s/%u", a, p->plen);
	return buf;
}

struct ctl_route *ctl_route_find_pfx(const struct ctl_pfx *p)
{
	int32_t i = rte_hash_lookup(node.route_idx, p);
	return i < 0 ? NULL : &node.routes[i];
}

struct ctl_route *ctl_route_find(uint32_t prefix, uint8_t plen)
{
	struct ctl_pfx p = ctl_pfx4(prefix, plen);
	return ctl_route_find_pfx(&p);
}

static int dp_set(const struct ctl_pfx *p, const struct dp_nh_spec *nh)
{
	return p->v6 ? dp_route6_add(p->a, p->plen, nh) : dp_route_add(pfx_ip4(p), p->plen, nh);
}

static void dp_unset(const struct ctl_pfx *p)
{
	if (p->v6)
		dp_route6_del(p->a, p->plen);
	else
		dp_route_del(pfx_ip4(p), p->plen);
}

bool ctl_nh_same(const struct dp_nh_spec *a, const struct dp_nh_spec *b)
{
	return a->kind == b->kind && a->port == b->port && a->gw == b->gw &&
	       memcmp(a->gw6, b->gw6, sizeof(a->gw6)) == 0 &&
	       rte_is_same_ether_addr(&a->mac, &b->mac) && a->n_gw == b->n_gw &&
	       memcmp(a->gws, b->gws, a->n_gw * sizeof(a->gws[0])) == 0 &&
	       memcmp(a->gws6, b->gws6, a->n_gw * sizeof(a->gws6[0])) == 0;
}

int ctl_route_set_pfx(const struct ctl_pfx *p, const struct dp_nh_spec *nh, const char *origin)
{
	struct ctl_route *r = ctl_route_find_pfx(p);
	int rc;

	if (r != NULL && ctl_nh_same(&r->nh, nh)) {
		snprintf(r->origin, sizeof(r->origin), "%s", origin);
		return 0;
	}
	if (r == NULL && node.n_routes >= node.cfg.max_routes)
		return -ENOSPC;
	if ((rc = dp_set(p, nh)) != 0)
		return rc;
	if (r == NULL) {
		int32_t i = rte_hash_add_key(node.route_idx, p);
		if (i < 0) {
			dp_unset(p);
			return -ENOSPC;
		}
		r = &node.routes[i];
		node.n_routes++;
		node.n_routes6 += p->v6;
	}
	if (r->used && r->nh.kind == DP_NH_PORT)
		node.port_routes[r->nh.port]--;
	if (nh->kind == DP_NH_PORT)
		node.port_routes[nh->port]++;
	r->used = true;
	r->dst = *p;
	r->prefix = p->v6 ? 0 : pfx_ip4(p);
	r->plen = p->plen;
	r->nh = *nh;
	snprintf(r->origin, sizeof(r->origin), "%s", origin);
	node.routes_gen++;
	return 0;
}

int ctl_route_set(uint32_t prefix, uint8_t plen, const struct dp_nh_spec *nh, const char *origin)
{
	struct ctl_pfx p = ctl_pfx4(prefix, plen);
	return ctl_route_set_pfx(&p, nh, origin);
}

void ctl_routes_follow_mac(uint16_t port, const struct rte_ether_addr *mac)
{
	for (uint32_t i = 0; i < node.route_cap && node.port_routes[port]; i++) {
		struct ctl_route *r = &node.routes[i];
		if (!r->used || r->nh.kind != DP_NH_PORT || r->nh.port != port)
			continue;
		struct dp_nh_spec nh = r->nh;
		nh.mac = *mac;
		if (ctl_route_set_pfx(&r->dst, &nh, r->origin) != 0)
			ctl_warn("route to port %u: cannot take its new MAC", port);
	}
	dp_commit();
}

int ctl_route_remove_pfx(const struct ctl_pfx *p)
{
	struct ctl_pfx k = *p; /* p may be the entry's own, cleared below */
	int32_t i = rte_hash_lookup(node.route_idx, &k);

	if (i < 0)
		return -ENOENT;
	dp_unset(&k);
	rte_hash_del_key(node.route_idx, &k);
	if (node.routes[i].nh.kind == DP_NH_PORT)
		node.port_routes[node.routes[i].nh.port]--;
	memset(&node.routes[i], 0, sizeof(node.routes[i]));
	node.n_routes--;
	node.n_routes6 -= k.v6;
	node.routes_gen++;
	return 0;
}

int ctl_route_remove(uint32_t prefix, uint8_t plen)
{
	struct ctl_pfx p = ctl_pfx4(prefix, plen);
	return ctl_route_remove_pfx(&p);
}

const char *ctl_port_name(uint16_t pid, char *buf, size_t len)
{
	if (pid == dp_uplink_port())
		return "uplink";
	if (pid == dp_host_port())
		return "host";
	struct dp_port_info pi;
	if (dp_port_info(pid, &pi) == 0)
		snprintf(buf, len, "%s", pi.name);
	else
		snprintf(buf, len, "port%u", pid);
	return buf;
}

json_t *ctl_route_json(const struct ctl_route *r)
{
	char ip[CTL_IP6_STRLEN], pfx[CTL_PFX_STRLEN], name[64];
	json_t *o;

	o = json_pack("{s:s, s:s}", "prefix", ctl_pfx_str(&r->dst, pfx), "origin", r->origin);
	switch (r->nh.kind) {
	case DP_NH_GATEWAY:
		json_object_set_new(o, "via", json_string(r->dst.v6 ? ctl_ip6_str(r->nh.gw6, ip)
								 : ctl_ip_str(r->nh.gw, ip)));
		break;
	case DP_NH_ECMP: {
		json_t *via = json_array();
		for (unsigned i = 0; i < r->nh.n_gw; i++)
			json_array_append_new(via, json_string(r->dst.v6 ? ctl_ip6_str(r->nh.gws6[i], ip)
								     : ctl_ip_str(r->nh.gws[i], ip)));
		json_object_set_new(o, "via", via);
		break;
	}
	case DP_NH_PORT:
		json_object_set_new(o, "dev", json_string(ctl_port_name(r->nh.port, name, sizeof(name))));
		break;
	case DP_NH_CONNECTED:
		json_object_set_new(o, "dev", json_string("uplink"));
		break;
	case DP_NH_LOCAL:
		json_object_set_new(o, "type", json_string("local"));
		break;
	case DP_NH_UNREACHABLE:
		json_object_set_new(o, "type", json_string("unreachable"));
		break;
	case DP_NH_SERVICE:
		json_object_set_new(o, "type", json_string("service"));
		break;
	default:
		json_object_set_new(o, "type", json_string("blackhole"));
	}
	return o;
}

static int dev_nh(const char *dev, struct dp_nh_spec *nh, struct ctl_err *e)
{
	uint16_t pid;
	struct dp_port_info pi;

	if (strcmp(dev, "uplink") == 0) {
		nh->kind = DP_NH_CONNECTED;
		return 0;
	}
	if (strcmp(dev, "host") == 0)
		pid = dp_host_port();
	else if (dp_port_by_name(dev, &pid) != 0)
		return ctl_fail(e, PL_E_NOT_FOUND, "dev: no port named '%s' (see port.list)", dev);
	if (dp_port_info(pid, &pi) != 0)
		return ctl_fail(e, PL_E_NOT_FOUND, "dev: port '%s' is not active", dev);
	if (pi.kind == DP_PORT_UPLINK) {
		nh->kind = DP_NH_CONNECTED;
		return 0;
	}
	nh->kind = DP_NH_PORT;
	nh->port = pid;
	nh->mac = pi.peer_mac;
	return 0;
}

static int gw_cmp(const void *a, const void *b)
{
	uint32_t x = ntohl(*(const uint32_t *)a), y = ntohl(*(const uint32_t *)b);
	return x < y ? -1 : x > y;
}

int ctl_nh_gateways(struct dp_nh_spec *nh, const uint32_t *gws, unsigned n, struct ctl_err *e)
{
	char a[16];

	memset(nh, 0, sizeof(*nh));
	if (n == 0 || n > DP_ECMP_MAX)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "via: a list of 1 to %d gateways", DP_ECMP_MAX);
	for (unsigned i = 0; i < n; i++) {
		if (((gws[i] ^ node.cfg.node_ip) & ctl_mask(node.cfg.node_plen)) != 0 ||
		    gws[i] == node.cfg.node_ip)
			return ctl_fail(e, PL_E_INVALID_PARAMS,
					"via: %s is not a neighbour on the node network",
					ctl_ip_str(gws[i], a));
		for (unsigned j = 0; j < i; j++)
			if (gws[j] == gws[i])
				return ctl_fail(e, PL_E_INVALID_PARAMS, "via: %s twice",
						ctl_ip_str(gws[i], a));
	}
	if (n == 1) {
		nh->kind = DP_NH_GATEWAY;
		nh->gw = gws[0];
		return 0;
	}
	memcpy(nh->gws, gws, n * sizeof(gws[0]));
	qsort(nh->gws, n, sizeof(nh->gws[0]), gw_cmp);
	nh->kind = DP_NH_ECMP;
	nh->n_gw = (uint8_t)n;
	return 0;
}

/* One IPv6 gateway's check, as ctl_nh_gateways6 says. */
static int gateway6_ok(const uint8_t gw6[16], struct ctl_err *e)
{
	char a[CTL_IP6_STRLEN];

	if (ctl_pods_gateway6(gw6))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "via: %s is the address podlaned answers "
				"itself as pods' and the node's gateway, not a router's", PL_POD_GATEWAY6);
	/* A link-local gateway is the node network's (the uplink's link: NDP
	 * from the node's IPv6 address resolves it), as BGP peers over
	 * link-local addresses give their routes. */
	if (!ctl_neighbour6(&node.cfg, gw6))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "via: %s is not a neighbour on the node's "
				"IPv6 network%s", ctl_ip6_str(gw6, a),
				node.cfg.has_node6 ? "" : " (node_ip has no IPv6 address)");
	return 0;
}

static int gw6_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

int ctl_nh_gateways6(struct dp_nh_spec *nh, const uint8_t (*gws6)[16], unsigned n,
		     struct ctl_err *e)
{
	char a[CTL_IP6_STRLEN];

	memset(nh, 0, sizeof(*nh));
	if (n == 0 || n > DP_ECMP_MAX)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "via: a list of 1 to %d gateways", DP_ECMP_MAX);
	for (unsigned i = 0; i < n; i++) {
		if (gateway6_ok(gws6[i], e) != 0)
			return -1;
		for (unsigned j = 0; j < i; j++)
			if (memcmp(gws6[j], gws6[i], 16) == 0)
				return ctl_fail(e, PL_E_INVALID_PARAMS, "via: %s twice",
						ctl_ip6_str(gws6[i], a));
	}
	if (n == 1) {
		nh->kind = DP_NH_GATEWAY;
		memcpy(nh->gw6, gws6[0], 16);
		return 0;
	}
	memcpy(nh->gws6, gws6, n * sizeof(gws6[0]));
	qsort(nh->gws6, n, sizeof(nh->gws6[0]), gw6_cmp);
	nh->kind = DP_NH_ECMP;
	nh->n_gw = (uint8_t)n;
	return 0;
}

/* via: one gateway's address, or a list of them (ECMP), of the prefix's
 * family. */
static int via_nh(json_t *via, bool v6, struct dp_nh_spec *nh, struct ctl_err *e)
{
	size_t n = json_is_array(via) ? json_array_size(via) : 1;
	uint32_t gws[DP_ECMP_MAX];
	uint8_t gws6[DP_ECMP_MAX][16];

	if (n == 0 || n > DP_ECMP_MAX)
		return ctl_nh_gateways(nh, gws, 0, e);
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_is_array(via) ? json_array_get(via, i) : via);
		if (v6 && (v == NULL || inet_pton(AF_INET6, v, gws6[i]) != 1))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "via: '%.64s' is not an IPv6 address "
					"(the prefix is IPv6)", v ? v : "(not a string)");
		if (!v6 && (v == NULL || ctl_parse_ip(v, &gws[i]) != 0))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "via: '%s' is not an IPv4 address",
					v ? v : "(not a string)");
	}
	return v6 ? ctl_nh_gateways6(nh, (const uint8_t(*)[16])gws6, (unsigned)n, e)
		  : ctl_nh_gateways(nh, gws, (unsigned)n, e);
}

int ctl_pfx_parse(const char *s, struct ctl_pfx *p)
{
	uint32_t ip4 = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (s == NULL)
		return -1;
	p->v6 = strchr(s, ':') != NULL;
	rc = p->v6 ? ctl_parse_prefix6(s, p->a, &p->plen, false)
		   : ctl_parse_prefix(s, &ip4, &p->plen, false);
	if (!p->v6)
		memcpy(p->a, &ip4, sizeof(ip4));
	return rc;
}

int ctl_route_prefix(const char *s, struct ctl_pfx *p, struct ctl_err *e)
{
	int rc = ctl_pfx_parse(s, p);

	if (rc == -2)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: %.64s has host bits set", s);
	if (rc != 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: '%.64s' is not an %s", s,
				p->v6 ? "IPv6 prefix like fd00:10:96:f4::/64"
				      : "IPv4 prefix like 100.96.244.0/24");
	if (p->v6 && !node.cfg.has_pod6)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: %.64s is IPv6 and this node has no "
				"IPv6 (pod_cidr has no IPv6 prefix)", s);
	if (!p->v6 && !node.cfg.has_ipv4)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: %.64s is IPv4 and this node is "
				"IPv6-only (pod_cidr has no IPv4 prefix)", s);
	return 0;
}

/* This node's pods have their addresses from pod.add: a route there would
 * take a free address's (or, after a restart, a pod's) place. */
static int inside_pods(const struct ctl_pfx *p, const char *s, struct ctl_err *e)
{
	const struct ctl_config *c = &node.cfg;
	char pc[CTL_PFX_STRLEN];

	if (p->v6 ? p->plen >= c->pod6_plen && ctl_in_prefix6(p->a, c->pod6_net, c->pod6_plen)
		  : p->plen >= c->pod_plen && ((pfx_ip4(p) ^ c->pod_net) & ctl_mask(c->pod_plen)) == 0) {
		struct ctl_pfx pods = p->v6 ? (struct ctl_pfx){.v6 = 1, .plen = c->pod6_plen}
					    : ctl_pfx4(c->pod_net, c->pod_plen);
		if (p->v6)
			memcpy(pods.a, c->pod6_net, 16);
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: %s is inside pod_cidr %s (this "
				"node's pods, routed by pod.add)", s, ctl_pfx_str(&pods, pc));
	}
	return 0;
}

int ctl_route_parse(json_t *o, struct ctl_pfx *pfx, struct dp_nh_spec *nh, struct ctl_err *e)
{
	const char *p = json_string_value(json_object_get(o, "prefix"));
	json_t *via = json_object_get(o, "via"), *dev = json_object_get(o, "dev");

	memset(nh, 0, sizeof(*nh));
	if (!json_is_object(o))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "a route must be an object with prefix and via or dev");
	if (p == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: missing or not a string");
	if (ctl_route_prefix(p, pfx, e) != 0 || inside_pods(pfx, p, e) != 0)
		return -1;
	if ((via == NULL) == (dev == NULL))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "give exactly one of via or dev for %s", p);
	if (dev != NULL) {
		if (!json_is_string(dev))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "dev: not a string");
		if (dev_nh(json_string_value(dev), nh, e) != 0)
			return -1;
		if (pfx->v6 && nh->kind == DP_NH_CONNECTED && !node.cfg.has_node6)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "dev: an IPv6 route on the uplink "
					"needs node_ip's IPv6 address");
		return 0;
	}
	return via_nh(via, pfx->v6, nh, e);
}
