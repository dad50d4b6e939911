/* pod.add, pod.del, pod.check, pod.list */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include "ctl_netlink.h"
#include "ctl_netns.h"
#include "ctl_node.h"
#include "ctl_rpc.h"
#include "pl_validate.h"

/* container_id and ifname, checked; NULL on error with *e filled. */
static struct ctl_pod *pod_key(json_t *params, const char **id, const char **ifname,
			       struct ctl_err *e)
{
	*id = ctl_param_str(params, "container_id", true, e);
	if (*id == NULL)
		return NULL;
	if (!pl_valid_container_id(*id)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "container_id: '%.64s' is not valid (letters, digits, "
			 "_ . - ; at most 255)", *id);
		*id = NULL;
		return NULL;
	}
	*ifname = ctl_param_str(params, "ifname", true, e);
	if (*ifname == NULL) {
		*id = NULL;
		return NULL;
	}
	if (!pl_valid_ifname(*ifname)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "ifname: '%.32s' is not a valid interface name "
			 "(1-15 characters, no / : or spaces)", *ifname);
		*id = NULL;
		return NULL;
	}
	return ctl_pod_find(*id, *ifname);
}

/* An IPv6 address, or one as a /128 (as pod.list shows it). */
static int parse_ip6(const char *s, uint8_t out[16])
{
	uint8_t plen;

	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	return ctl_parse_prefix6(s, out, &plen, true) == 0 && plen == 128 ? 0 : -1;
}

static json_t *m_pod_add(json_t *params, struct ctl_err *e)
{
	const char *id, *ifname, *netns, *kind, *ip;
	struct ctl_pod *p = pod_key(params, &id, &ifname, e);
	uint32_t want = 0;
	uint8_t plen = 32;

	if (id == NULL)
		return NULL;
	if ((netns = ctl_param_str(params, "netns", true, e)) == NULL)
		return NULL;
	if (netns[0] != '/') {
		ctl_fail(e, PL_E_NETNS, "netns: '%.200s' is not an absolute path", netns);
		return NULL;
	}
	kind = ctl_param_str(params, "kind", false, e);
	if (kind == NULL && e->code)
		return NULL;
	if (kind != NULL && strcmp(kind, "tap") != 0 && strcmp(kind, "vhost-user") != 0) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "kind: '%.32s' is not supported (tap, vhost-user)", kind);
		return NULL;
	}
	bool vhost = kind != NULL && strcmp(kind, "vhost-user") == 0;
	ip = ctl_param_str(params, "ip", false, e);
	if (ip == NULL && e->code)
		return NULL;
	if (ip != NULL && ctl_parse_ip(ip, &want) != 0 &&
	    (ctl_parse_prefix(ip, &want, &plen, true) != 0 || plen != 32)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "ip: '%.32s' is not an IPv4 address", ip);
		return NULL;
	}
	if (ip != NULL && want == 0) { /* 0 asks ctl_pod_add to allocate one */
		ctl_fail(e, PL_E_INVALID_PARAMS, "ip: %.32s is not a usable address of pod_cidr", ip);
		return NULL;
	}
	/* A delegated IPAM plugin's IPv6 address (the CNI plugin passes it). */
	uint8_t want6[16];
	const char *ip6 = ctl_param_str(params, "ip6", false, e);
	if (ip6 == NULL && e->code)
		return NULL;
	if (ip6 != NULL && parse_ip6(ip6, want6) != 0) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "ip6: '%.64s' is not an IPv6 address", ip6);
		return NULL;
	}
	json_t *jm = json_object_get(params, "mtu");
	if (jm && (!json_is_integer(jm) || json_integer_value(jm) < 68 || json_integer_value(jm) > 65535)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "mtu: must be an integer from 68 to 65535");
		return NULL;
	}
	uint16_t mtu = jm ? (uint16_t)json_integer_value(jm) : 0;
	char k8s_ns[PL_K8S_NAMESPACE_MAX + 1], k8s_name[PL_K8S_NAME_MAX + 1];
	if (ctl_pod_k8s_names(params, k8s_ns, k8s_name, e) != 0)
		return NULL;
	if (p != NULL) {
		/* A retried ADD for the same attachment gets the same answer. */
		if (strcmp(p->netns, netns) == 0 && (want == 0 || want == p->ip) && p->vhost == vhost &&
		    (ip6 == NULL || memcmp(want6, p->ip6, 16) == 0))
			return ctl_pod_json(p);
		ctl_fail(e, PL_E_EXISTS, "pod %s/%s already exists in netns %s", id, ifname, p->netns);
		return NULL;
	}
	if (ctl_pod_add(id, netns, ifname, want, ip6 ? want6 : NULL, mtu, vhost, false, &p, e) != 0)
		return NULL;
	ctl_pod_set_k8s_names(p, k8s_ns, k8s_name);
	dp_commit();
	int rc = ctl_state_save_pods();
	if (rc != 0) { /* a pod a restart would not bring back: not added */
		ctl_pod_del(p);
		ctl_state_save_pods();
		ctl_state_refused(e, rc, true);
		return NULL;
	}
	return ctl_pod_json(p);
}
CTL_METHOD(PL_M_POD_ADD, m_pod_add)

static json_t *m_pod_del(json_t *params, struct ctl_err *e)
{
	const char *id, *ifname;
	struct ctl_pod *p = pod_key(params, &id, &ifname, e);
	char ip[CTL_IP6_STRLEN];

	if (id == NULL)
		return NULL;
	if (p == NULL) { /* already gone: DEL is idempotent, once it is on disk */
		return ctl_state_kept(ctl_state_dirty() ? ctl_state_save_pods() : 0,
				      json_pack("{s:b}", "deleted", 0), e);
	}
	json_t *r = json_pack("{s:b}", "deleted", 1);
	if (p->ip)
		json_object_set_new(r, "ip", json_string(ctl_ip_str(p->ip, ip)));
	if (node.cfg.has_pod6)
		json_object_set_new(r, "ip6", json_string(ctl_ip6_str(p->ip6, ip)));
	ctl_pod_del(p);
	return ctl_state_kept(ctl_state_save_pods(), r, e);
}
CTL_METHOD(PL_M_POD_DEL, m_pod_del)

static json_t *m_pod_check(json_t *params, struct ctl_err *e)
{
	const char *id, *ifname;
	struct ctl_pod *p = pod_key(params, &id, &ifname, e);
	struct ctl_netns home;
	int idx, present = 1, routes = 2, present6 = 1, routes6 = 1, rc;

	if (id == NULL)
		return NULL;
	if (p == NULL) {
		ctl_fail(e, PL_E_NOT_FOUND, "no pod %s/%s", id, ifname);
		return NULL;
	}
	if (p->vhost) /* nothing of it lives in the netns */
		return ctl_pod_json(p);
	if ((rc = ctl_netns_enter(p->netns, &home)) != 0) {
		ctl_fail(e, PL_E_NETNS, "netns %s: %s", p->netns, strerror(-rc));
		return NULL;
	}
	idx = (int)if_nametoindex(p->ifname);
	uint32_t gw;
	uint8_t gw6[16];
	static const uint8_t any6[16];
	ctl_parse_ip(PL_POD_GATEWAY, &gw);
	inet_pton(AF_INET6, PL_POD_GATEWAY6, gw6);
	if (idx != 0 && p->ip) { /* an IPv6-only node's pods have no IPv4 */
		present = ctl_nl_addr_present(idx, p->ip, 32);
		/* Its routes as pod.add made them: the gateway on the link, and
		 * the default route through it. */
		routes = (ctl_nl_route_present(idx, gw, 32, 0) == 1) +
			 (ctl_nl_route_present(idx, 0, 0, gw) == 1);
	}
	if (idx != 0 && node.cfg.has_pod6) {
		present6 = ctl_nl_addr6_present(idx, p->ip6, 128);
		routes6 = ctl_nl_route6_present(idx, any6, 0, gw6);
	}
	ctl_netns_leave(&home);
	if (idx == 0) {
		ctl_fail(e, PL_E_NOT_FOUND, "interface %s is missing from netns %s", p->ifname, p->netns);
		return NULL;
	}
	if (present != 1) {
		char ip[16];
		ctl_fail(e, PL_E_NOT_FOUND, "interface %s lacks its address %s/32", p->ifname,
			 ctl_ip_str(p->ip, ip));
		return NULL;
	}
	if (routes != 2) {
		ctl_fail(e, PL_E_NOT_FOUND, "interface %s lacks its routes (%s/32 on the link, "
			 "default via %s)", p->ifname, PL_POD_GATEWAY, PL_POD_GATEWAY);
		return NULL;
	}
	if (present6 != 1) {
		char a6[CTL_IP6_STRLEN];
		ctl_fail(e, PL_E_NOT_FOUND, "interface %s lacks its address %s/128", p->ifname,
			 ctl_ip6_str(p->ip6, a6));
		return NULL;
	}
	if (routes6 != 1) {
		ctl_fail(e, PL_E_NOT_FOUND, "interface %s lacks its IPv6 default route via %s",
			 p->ifname, PL_POD_GATEWAY6);
		return NULL;
	}
	return ctl_pod_json(p);
}
CTL_METHOD(PL_M_POD_CHECK, m_pod_check)

static json_t *m_pod_list(json_t *params, struct ctl_err *e)
{
	json_t *a = json_array();

	(void)params;
	(void)e;
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		if (node.pods[i].used)
			json_array_append_new(a, ctl_pod_json(&node.pods[i]));
	return a;
}
CTL_METHOD(PL_M_POD_LIST, m_pod_list)
