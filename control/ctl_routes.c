/* The route set: the control copy (for listing and the state file) kept
 * in step with the dataplane's LPM. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "ctl_node.h"

static uint64_t key_of(uint32_t prefix, uint8_t plen)
{
	return (uint64_t)prefix << 8 | plen;
}

struct ctl_route *ctl_route_find(uint32_t prefix, uint8_t plen)
{
	uint64_t k = key_of(prefix, plen);
	int32_t i = rte_hash_lookup(node.route_idx, &k);
	return i < 0 ? NULL : &node.routes[i];
}

bool ctl_nh_same(const struct dp_nh_spec *a, const struct dp_nh_spec *b)
{
	return a->kind == b->kind && a->port == b->port && a->gw == b->gw &&
	       rte_is_same_ether_addr(&a->mac, &b->mac) && a->n_gw == b->n_gw &&
	       memcmp(a->gws, b->gws, a->n_gw * sizeof(a->gws[0])) == 0;
}

int ctl_route_set(uint32_t prefix, uint8_t plen, const struct dp_nh_spec *nh, const char *origin)
{
	struct ctl_route *r = ctl_route_find(prefix, plen);
	int rc;

	if (r != NULL && ctl_nh_same(&r->nh, nh)) {
		snprintf(r->origin, sizeof(r->origin), "%s", origin);
		return 0;
	}
	if (r == NULL && node.n_routes >= node.cfg.max_routes)
		return -ENOSPC;
	if ((rc = dp_route_add(prefix, plen, nh)) != 0)
		return rc;
	if (r == NULL) {
		uint64_t k = key_of(prefix, plen);
		int32_t i = rte_hash_add_key(node.route_idx, &k);
		if (i < 0) {
			dp_route_del(prefix, plen);
			return -ENOSPC;
		}
		r = &node.routes[i];
		node.n_routes++;
	}
	if (r->used && r->nh.kind == DP_NH_PORT)
		node.port_routes[r->nh.port]--;
	if (nh->kind == DP_NH_PORT)
		node.port_routes[nh->port]++;
	r->used = true;
	r->prefix = prefix;
	r->plen = plen;
	r->nh = *nh;
	snprintf(r->origin, sizeof(r->origin), "%s", origin);
	node.routes_gen++;
	return 0;
}

void ctl_routes_follow_mac(uint16_t port, const struct rte_ether_addr *mac)
{
	for (uint32_t i = 0; i < node.route_cap && node.port_routes[port]; i++) {
		struct ctl_route *r = &node.routes[i];
		if (!r->used || r->nh.kind != DP_NH_PORT || r->nh.port != port)
			continue;
		struct dp_nh_spec nh = r->nh;
		nh.mac = *mac;
		if (ctl_route_set(r->prefix, r->plen, &nh, r->origin) != 0)
			ctl_warn("route to port %u: cannot take its new MAC", port);
	}
	dp_commit();
}

int ctl_route_remove(uint32_t prefix, uint8_t plen)
{
	uint64_t k = key_of(prefix, plen);
	int32_t i = rte_hash_lookup(node.route_idx, &k);

	if (i < 0)
		return -ENOENT;
	dp_route_del(prefix, plen);
	rte_hash_del_key(node.route_idx, &k);
	if (node.routes[i].nh.kind == DP_NH_PORT)
		node.port_routes[node.routes[i].nh.port]--;
	memset(&node.routes[i], 0, sizeof(node.routes[i]));
	node.n_routes--;
	node.routes_gen++;
	return 0;
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
	char ip[16], pfx[CTL_PREFIX_STRLEN], name[64];
	json_t *o;

	ctl_prefix_str(r->prefix, r->plen, pfx);
	o = json_pack("{s:s, s:s}", "prefix", pfx, "origin", r->origin);
	switch (r->nh.kind) {
	case DP_NH_GATEWAY:
		json_object_set_new(o, "via", json_string(ctl_ip_str(r->nh.gw, ip)));
		break;
	case DP_NH_ECMP: {
		json_t *via = json_array();
		for (unsigned i = 0; i < r->nh.n_gw; i++)
			json_array_append_new(via, json_string(ctl_ip_str(r->nh.gws[i], ip)));
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

/* via: one gateway's address, or a list of them (ECMP). */
static int via_nh(json_t *via, struct dp_nh_spec *nh, struct ctl_err *e)
{
	size_t n = json_is_array(via) ? json_array_size(via) : 1;
	uint32_t gws[DP_ECMP_MAX];

	if (n == 0 || n > DP_ECMP_MAX)
		return ctl_nh_gateways(nh, gws, 0, e);
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_is_array(via) ? json_array_get(via, i) : via);
		if (v == NULL || ctl_parse_ip(v, &gws[i]) != 0)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "via: '%s' is not an IPv4 address",
					v ? v : "(not a string)");
	}
	return ctl_nh_gateways(nh, gws, (unsigned)n, e);
}

int ctl_route_prefix(const char *p, uint32_t *prefix, uint8_t *plen, struct ctl_err *e)
{
	int rc = ctl_parse_prefix(p, prefix, plen, false);

	if (rc == -2)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: %.32s has host bits set", p);
	if (rc != 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS,
				"prefix: '%.32s' is not an IPv4 prefix like 100.96.244.0/24", p);
	return 0;
}

int ctl_route_parse(json_t *o, uint32_t *prefix, uint8_t *plen, struct dp_nh_spec *nh,
		    struct ctl_err *e)
{
	const char *p = json_string_value(json_object_get(o, "prefix"));
	json_t *via = json_object_get(o, "via"), *dev = json_object_get(o, "dev");

	memset(nh, 0, sizeof(*nh));
	if (!json_is_object(o))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "a route must be an object with prefix and via or dev");
	if (p == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: missing or not a string");
	if (ctl_route_prefix(p, prefix, plen, e) != 0)
		return -1;
	/* This node's pods have their /32s from pod.add: a route there would
	 * take a free address's (or, after a restart, a pod's) place. */
	if (*plen >= node.cfg.pod_plen &&
	    ((*prefix ^ node.cfg.pod_net) & ctl_mask(node.cfg.pod_plen)) == 0) {
		char pc[CTL_PREFIX_STRLEN];
		return ctl_fail(e, PL_E_INVALID_PARAMS, "prefix: %s is inside pod_cidr %s (this "
				"node's pods, routed by pod.add)", p,
				ctl_prefix_str(node.cfg.pod_net, node.cfg.pod_plen, pc));
	}
	if ((via == NULL) == (dev == NULL))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "give exactly one of via or dev for %s", p);
	if (dev != NULL) {
		if (!json_is_string(dev))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "dev: not a string");
		return dev_nh(json_string_value(dev), nh, e);
	}
	return via_nh(via, nh, e);
}
