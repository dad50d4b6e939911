/* route.lookup: how the dataplane forwards a packet to one address, for
 * `podlanectl trace`. The next hop, port and MAC come from the workers'
 * own tables (dp_route_trace); the matching route from the control copy. */

#include "ctl_node.h"
#include "ctl_rpc.h"

static const char *const actions[] = {
	[DP_NH_DROP] = "blackhole", [DP_NH_LOCAL] = "local", [DP_NH_PORT] = "forward",
	[DP_NH_UNREACHABLE] = "unreachable",
	[DP_NH_GATEWAY] = "forward", [DP_NH_CONNECTED] = "forward",
};

static const struct ctl_route *longest_match(uint32_t ip)
{
	for (int plen = 32; plen >= 0; plen--) {
		const struct ctl_route *r = ctl_route_find(ip & ctl_mask((uint8_t)plen), (uint8_t)plen);
		if (r != NULL)
			return r;
	}
	return NULL;
}

static json_t *m_route_lookup(json_t *params, struct ctl_err *e)
{
	const char *a = ctl_param_str(params, "address", true, e);
	char name[64], ip[16], mac[18];
	struct dp_trace t;
	uint32_t dst;

	if (a == NULL)
		return NULL;
	if (ctl_parse_ip(a, &dst) != 0) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "address: '%.64s' is not an IPv4 address", a);
		return NULL;
	}
	const struct ctl_route *r = longest_match(dst);
	if (dp_route_trace(dst, &t) != 0)
		return json_pack("{s:s, s:n, s:s}", "address", a, "route", "action", "unreachable");
	json_t *o = json_pack("{s:s, s:o, s:s}", "address", a, "route",
			      r ? ctl_route_json(r) : json_null(), "action", actions[t.kind]);
	if (t.kind == DP_NH_DROP || t.kind == DP_NH_UNREACHABLE)
		return o;
	json_object_set_new(o, "port", json_string(ctl_port_name(t.port, name, sizeof(name))));
	if (t.next_ip)
		json_object_set_new(o, "next_hop", json_string(ctl_ip_str(t.next_ip, ip)));
	json_object_set_new(o, "mac", t.mac_known ? json_string(ctl_mac_str(&t.mac, mac)) : json_null());
	for (unsigned i = 0; t.kind == DP_NH_PORT && i < CTL_MAX_PODS; i++)
		if (node.pods[i].used && node.pods[i].port == t.port)
			json_object_set_new(o, "pod", json_pack("{s:s, s:s}", "container_id",
								node.pods[i].container_id, "ifname",
								node.pods[i].ifname));
	return o;
}
CTL_METHOD(PL_M_ROUTE_LOOKUP, m_route_lookup)
