/* ADD, DEL, CHECK, STATUS, GC: each one or two calls to podlaned. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cni.h"
#include "pl_client.h"
#include "podlane_api.h"

#define TIMEOUT_MS 30000

static void connect_or_retry_later(const struct cni_req *r, struct pl_client *c, int code)
{
	char msg[512];

	if (pl_client_open(c, r->socket, TIMEOUT_MS, msg, sizeof(msg)) != 0)
		cni_fail(r, code, msg, "podlaned is not reachable; try again later");
}

/* One call; a daemon error becomes our code 100 with its message. */
static json_t *call(const struct cni_req *r, struct pl_client *c, const char *method,
		    json_t *params, int fail_code)
{
	char msg[1024], details[64];
	int code;
	json_t *res = pl_client_call(c, method, params, &code, msg, sizeof(msg));

	if (res == NULL) {
		if (code == 0)
			cni_fail(r, CNI_E_TRY_LATER, msg, "podlaned did not answer; try again later");
		snprintf(details, sizeof(details), "podlaned error %d", code);
		cni_fail(r, fail_code, details, "%s", msg);
	}
	return res;
}

/* The first address of one family ('.': IPv4, ':': IPv6) the IPAM plugin
 * gave, without length, or NULL: a range of the other family (an IPv6
 * range alone on an IPv6-only node, an IPv4 one on an IPv4 node). */
static const char *ipam_ip(json_t *res, char family, char *buf, size_t len)
{
	size_t i;
	json_t *ip;

	json_array_foreach(json_object_get(res, "ips"), i, ip) {
		const char *a = json_string_value(json_object_get(ip, "address"));
		if (a && strchr(a, family) && strchr(a, '/')) {
			snprintf(buf, len, "%.*s", (int)strcspn(a, "/"), a);
			return buf;
		}
	}
	return NULL;
}

static json_t *result(const struct cni_req *r, json_t *pod)
{
	bool v04 = strcmp(r->version, "0.4.0") == 0;
	json_t *res = r->prev ? json_deep_copy(r->prev) : json_object();
	json_t *ifs = json_object_get(res, "interfaces"), *ips = json_object_get(res, "ips");
	json_t *routes = json_object_get(res, "routes");

	if (!json_is_array(ifs))
		json_object_set_new(res, "interfaces", ifs = json_array());
	if (!json_is_array(ips))
		json_object_set_new(res, "ips", ips = json_array());
	if (!json_is_array(routes))
		json_object_set_new(res, "routes", routes = json_array());
	size_t idx = json_array_size(ifs);
	json_t *itf = json_pack("{s:s, s:O, s:s}", "name", r->ifname, "mac", json_object_get(pod, "mac"),
				"sandbox", r->netns);
	/* vhost-user: CNI 1.1's socketPath (older readers ignore it). */
	if (json_object_get(pod, "socket"))
		json_object_set(itf, "socketPath", json_object_get(pod, "socket"));
	/* The interface's MTU: a field of CNI 1.1's results only. */
	if (strcmp(r->version, "1.1.0") == 0 && json_object_get(pod, "mtu"))
		json_object_set(itf, "mtu", json_object_get(pod, "mtu"));
	json_array_append_new(ifs, itf);
	json_t *ip;
	if (json_is_string(json_object_get(pod, "ip"))) { /* none on an IPv6-only node */
		ip = json_pack("{s:O, s:s, s:i}", "address", json_object_get(pod, "ip"), "gateway",
			       PL_POD_GATEWAY, "interface", (int)idx);
		if (v04)
			json_object_set_new(ip, "version", json_string("4"));
		json_array_append_new(ips, ip);
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", "0.0.0.0/0", "gw",
							PL_POD_GATEWAY));
	}
	/* Dual-stack or IPv6-only: the pod's IPv6 address, its gateway fe80::1. */
	if (json_is_string(json_object_get(pod, "ip6"))) {
		ip = json_pack("{s:O, s:s, s:i}", "address", json_object_get(pod, "ip6"), "gateway",
			       PL_POD_GATEWAY6, "interface", (int)idx);
		if (v04)
			json_object_set_new(ip, "version", json_string("6"));
		json_array_append_new(ips, ip);
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", "::/0", "gw", PL_POD_GATEWAY6));
	}
	json_t *dns = json_object_get(r->conf, "dns");
	if (dns && !json_object_get(res, "dns"))
		json_object_set(res, "dns", dns);
	json_object_set_new(res, "cniVersion", json_string(r->version));
	return res;
}

int cni_add(struct cni_req *r)
{
	struct pl_client c;
	json_t *params = json_pack("{s:s, s:s, s:s}", "container_id", r->container_id, "netns",
				   r->netns, "ifname", r->ifname);
	char ipbuf[32], ip6buf[64];
	json_t *ipam_res = NULL;

	json_t *mtu = json_object_get(r->conf, "mtu");
	if (mtu)
		json_object_set(params, "mtu", mtu);
	json_object_set_new(params, "kind", json_string(r->interface));
	if (r->k8s_name[0]) {
		json_object_set_new(params, "k8s_namespace", json_string(r->k8s_namespace));
		json_object_set_new(params, "k8s_name", json_string(r->k8s_name));
	}
	connect_or_retry_later(r, &c, CNI_E_TRY_LATER);
	if (r->ipam) {
		ipam_res = cni_ipam_exec(r, "ADD");
		const char *ip = ipam_ip(ipam_res, '.', ipbuf, sizeof(ipbuf));
		const char *ip6 = ipam_ip(ipam_res, ':', ip6buf, sizeof(ip6buf));
		if (ip == NULL && ip6 == NULL) {
			json_decref(cni_ipam_exec(r, "DEL"));
			cni_fail(r, CNI_E_IPAM, NULL, "IPAM plugin %s returned no address",
				 json_string_value(json_object_get(r->ipam, "type")));
		}
		if (ip != NULL)
			json_object_set_new(params, "ip", json_string(ip));
		if (ip6 != NULL)
			json_object_set_new(params, "ip6", json_string(ip6));
	}
	char msg[1024], details[64];
	int code;
	json_t *pod = pl_client_call(&c, PL_M_POD_ADD, params, &code, msg, sizeof(msg));
	if (pod == NULL) {
		if (r->ipam) /* give the address back: nothing leaks */
			json_decref(cni_ipam_exec(r, "DEL"));
		json_decref(ipam_res);
		if (code == 0)
			cni_fail(r, CNI_E_TRY_LATER, msg, "podlaned did not answer; try again later");
		snprintf(details, sizeof(details), "podlaned error %d", code);
		cni_fail(r, CNI_E_DAEMON, details, "%s", msg);
	}
	json_t *res = result(r, pod);
	if (ipam_res && json_object_get(ipam_res, "dns") && !json_object_get(res, "dns"))
		json_object_set(res, "dns", json_object_get(ipam_res, "dns"));
	json_dumpf(res, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(res);
	json_decref(pod);
	json_decref(ipam_res);
	pl_client_close(&c);
	return 0;
}

int cni_del(struct cni_req *r)
{
	struct pl_client c;

	/* Unreachable daemon: say so, the runtime retries; answering success
	 * would leave the attachment and its address behind. */
	connect_or_retry_later(r, &c, CNI_E_TRY_LATER);
	json_decref(call(r, &c, PL_M_POD_DEL,
			 json_pack("{s:s, s:s}", "container_id", r->container_id, "ifname", r->ifname),
			 CNI_E_DAEMON));
	pl_client_close(&c);
	if (r->ipam)
		json_decref(cni_ipam_exec(r, "DEL"));
	return 0;
}

int cni_check(struct cni_req *r)
{
	struct pl_client c;
	size_t i;
	json_t *ip;
	bool found = false;

	connect_or_retry_later(r, &c, CNI_E_TRY_LATER);
	json_t *pod = call(r, &c, PL_M_POD_CHECK,
			   json_pack("{s:s, s:s}", "container_id", r->container_id, "ifname", r->ifname),
			   CNI_E_CHECK);
	pl_client_close(&c);
	/* Its IPv4 address, an IPv6-only node's pod's IPv6 one. */
	const char *key = json_object_get(pod, "ip") ? "ip" : "ip6";
	const char *addr = json_string_value(json_object_get(pod, key));
	if (strcmp(json_string_value(json_object_get(pod, "netns")), r->netns) != 0)
		cni_fail(r, CNI_E_CHECK, NULL, "attachment %s/%s is in netns %s, not %s", r->container_id,
			 r->ifname, json_string_value(json_object_get(pod, "netns")), r->netns);
	json_array_foreach(json_object_get(r->prev, "ips"), i, ip)
		found |= addr && json_equal(json_object_get(ip, "address"), json_object_get(pod, key));
	if (r->prev && !found)
		cni_fail(r, CNI_E_CHECK, NULL, "prevResult does not hold the pod's address %s", addr);
	json_decref(pod);
	return 0;
}

int cni_status(struct cni_req *r)
{
	struct pl_client c;

	connect_or_retry_later(r, &c, CNI_E_NOT_AVAILABLE);
	json_t *n = call(r, &c, PL_M_NODE_INFO, NULL, CNI_E_NOT_AVAILABLE);
	pl_client_close(&c);
	if (!json_is_true(json_object_get(n, "ready")))
		cni_fail(r, CNI_E_NOT_AVAILABLE, NULL, "podlaned is starting, not ready for pods yet");
	if (json_integer_value(json_object_get(n, "free_ips")) == 0)
		cni_fail(r, CNI_E_NOT_AVAILABLE, NULL, "the node's pod CIDR has no free address");
	json_decref(n);
	return 0;
}

static bool still_valid(json_t *valid, const char *id, const char *ifname)
{
	size_t i;
	json_t *a;

	json_array_foreach(valid, i, a) {
		const char *vid = json_string_value(json_object_get(a, "containerID"));
		const char *vif = json_string_value(json_object_get(a, "ifname"));
		if (vid && vif && !strcmp(vid, id) && !strcmp(vif, ifname))
			return true;
	}
	return false;
}

int cni_gc(struct cni_req *r)
{
	struct pl_client c;
	json_t *valid = json_object_get(r->conf, "cni.dev/valid-attachments"), *pod;
	size_t i;

	if (!json_is_array(valid))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: cni.dev/valid-attachments must be an array");
	connect_or_retry_later(r, &c, CNI_E_TRY_LATER);
	json_t *pods = call(r, &c, PL_M_POD_LIST, NULL, CNI_E_DAEMON);
	json_array_foreach(pods, i, pod) {
		const char *id = json_string_value(json_object_get(pod, "container_id"));
		const char *ifn = json_string_value(json_object_get(pod, "ifname"));
		if (!still_valid(valid, id, ifn))
			json_decref(call(r, &c, PL_M_POD_DEL,
					 json_pack("{s:s, s:s}", "container_id", id, "ifname", ifn),
					 CNI_E_DAEMON));
	}
	json_decref(pods);
	pl_client_close(&c);
	return 0;
}
