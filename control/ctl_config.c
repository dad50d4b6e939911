/* podlaned's JSON configuration. Every bad or missing key gets one line
 * naming the key; unknown keys are refused so typos never pass silently. */
#include <arpa/inet.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "dp.h"
#include "pl_validate.h"

static const char *const known_keys[] = {
	"node_ip", "gateway", "pod_cidr", "cluster_cidr", "service_cidr", "uplink", "host_port",
	"socket", "state_dir", "workers", "eal", "max_routes", "import_table", "socket_group",
	"max_request_mb", "log_level", "metrics_listen", "vhost_dir", "vhost_group", "masquerade",
	"nat_outgoing", "uplink_mtu", "worker_nice", "max_flows", "max_services",
	"drop_records", NULL,
};

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* PCI addresses as EAL takes them: [domain:]bus:dev.fn */
static bool is_pci(const char *s)
{
	unsigned d, b, dv, f;
	char tail;

	return sscanf(s, "%x:%x:%x.%x%c", &d, &b, &dv, &f, &tail) == 4 ||
	       sscanf(s, "%x:%x.%x%c", &b, &dv, &f, &tail) == 3;
}

static int get_str(json_t *root, const char *key, const char *def, char *out, size_t outlen,
		   char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);

	if (v == NULL) {
		if (def == NULL)
			return BAD("config: missing required key '%s'", key);
		snprintf(out, outlen, "%s", def);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return BAD("config: '%s' must be a non-empty string", key);
	if (json_string_length(v) >= outlen)
		return BAD("config: '%s' is longer than %zu characters", key, outlen - 1);
	snprintf(out, outlen, "%s", json_string_value(v));
	return 0;
}

/* An optional group name: its gid, or -1 when the key is absent. */
static int get_group(json_t *root, const char *key, int *gid, char *err, size_t errlen)
{
	char grp[64];
	struct group *g;

	*gid = -1;
	if (json_object_get(root, key) == NULL)
		return 0;
	if (get_str(root, key, NULL, grp, sizeof(grp), err, errlen))
		return -1;
	if ((g = getgrnam(grp)) == NULL)
		return BAD("config: '%s' \"%s\" is not a group on this machine", key, grp);
	*gid = (int)g->gr_gid;
	return 0;
}

/* One prefix of a dual-stack key (get_dual): IPv4 into ip/plen, IPv6 into
 * ip6/plen6. */
static int dual_one(const char *key, const char *is, const char *s, bool host_bits_ok, bool *has4,
		    uint32_t *ip, uint8_t *plen, bool *has6, uint8_t ip6[16], uint8_t *plen6, char *err,
		    size_t errlen)
{
	bool v6 = strchr(s, ':') != NULL;
	int rc;

	if (v6 ? *has6 : *has4)
		return BAD("config: '%s' lists two %s prefixes (give one IPv4 and one IPv6)", key,
			   v6 ? "IPv6" : "IPv4");
	rc = v6 ? ctl_parse_prefix6(s, ip6, plen6, host_bits_ok)
		: ctl_parse_prefix(s, ip, plen, host_bits_ok);
	if (rc == -2)
		return BAD("config: '%s' %s \"%s\", which has host bits set", key, is, s);
	if (rc != 0)
		return BAD("config: '%s' %s \"%s\", expected %s", key, is, s,
			   v6 ? "an IPv6 prefix like fd00:10:96::/64" : "an IPv4 prefix like 10.0.0.0/24");
	if (v6 && (ip6[0] == 0 || ip6[0] == 0xff || ctl_link_local6(ip6)))
		return BAD("config: '%s' %s \"%s\", which is not a unicast IPv6 prefix (not in "
			   "::/8, fe80::/10 or ff00::/8)", key, is, s);
	*(v6 ? has6 : has4) = true;
	return 0;
}

/* A dual-stack key: a prefix, or a list of one IPv4 and at most one IPv6
 * prefix, as Kubernetes gives a dual-stack node its podCIDRs; *has4 says
 * whether it held an IPv4 one (same_families checks it against node_ip's). */
static int get_dual(json_t *root, const char *key, const char *def, bool host_bits_ok, bool *has4,
		    uint32_t *ip, uint8_t *plen, bool *has6, uint8_t ip6[16], uint8_t *plen6,
		    char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key), *e;
	size_t i;

	*has4 = *has6 = false;
	if (!json_is_array(v)) {
		char buf[64];
		if (get_str(root, key, def, buf, sizeof(buf), err, errlen) != 0)
			return -1;
		return dual_one(key, "is", buf, host_bits_ok, has4, ip, plen, has6, ip6, plen6, err,
				errlen);
	}
	if (json_array_size(v) < 1 || json_array_size(v) > 2)
		return BAD("config: '%s' must be a prefix or a list of one IPv4 and one IPv6 prefix",
			   key);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return BAD("config: '%s' must be a prefix or a list of one IPv4 and one IPv6 "
				   "prefix", key);
		if (dual_one(key, "has", json_string_value(e), host_bits_ok, has4, ip, plen, has6, ip6,
			     plen6, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* node_ip says whether the node has IPv4 (else it is IPv6-only); the
 * other prefix keys must say the same. */
static int same_families(const char *key, bool has4, const struct ctl_config *c, char *err,
			 size_t errlen)
{
	if (has4 == c->has_ipv4)
		return 0;
	return BAD("config: '%s' has %s IPv4 prefix and 'node_ip' %s IPv4 address (an IPv6-only "
		   "node gives IPv6 alone in node_ip, pod_cidr, cluster_cidr and service_cidr)",
		   key, has4 ? "an" : "no", c->has_ipv4 ? "an" : "no");
}

static int get_bool(json_t *root, const char *key, bool def, bool *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(root, key);

	if (v != NULL && !json_is_boolean(v))
		return BAD("config: '%s' must be true or false", key);
	*out = v ? json_is_true(v) : def;
	return 0;
}

/* An optional integer from lo to hi, def when absent. */
static int get_integer(json_t *root, const char *key, json_int_t def, json_int_t lo, json_int_t hi,
		       json_int_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return BAD("config: '%s' must be an integer from %" JSON_INTEGER_FORMAT
			   " to %" JSON_INTEGER_FORMAT, key, lo, hi);
	*out = json_integer_value(v);
	return 0;
}

static int get_uint(json_t *root, const char *key, unsigned def, unsigned lo, unsigned hi,
		    unsigned *out, char *err, size_t errlen)
{
	json_int_t v;

	if (get_integer(root, key, def, lo, hi, &v, err, errlen) != 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static bool overlap(uint32_t a, uint8_t alen, uint32_t b, uint8_t blen)
{
	return ((a ^ b) & ctl_mask(RTE_MIN(alen, blen))) == 0;
}

bool ctl_pods_gateway6(const uint8_t a[16])
{
	uint8_t gw[16];

	inet_pton(AF_INET6, PL_POD_GATEWAY6, gw);
	return memcmp(a, gw, 16) == 0;
}

bool ctl_neighbour6(const struct ctl_config *c, const uint8_t a[16])
{
	return c->has_node6 &&
	       (ctl_link_local6(a) ||
		(ctl_in_prefix6(a, c->node6_ip, c->node6_plen) && memcmp(a, c->node6_ip, 16) != 0));
}

/* One address of 'gateway': the next hop of pods' default route of its
 * family, a neighbour on the node's network of that family (node_ip is
 * parsed already). */
static int gateway_one(struct ctl_config *c, const char *s, char *err, size_t errlen)
{
	if (strchr(s, ':') != NULL) {
		if (c->has_gateway6)
			return BAD("config: 'gateway' lists two IPv6 addresses");
		if (inet_pton(AF_INET6, s, c->gateway6) != 1)
			return BAD("config: 'gateway' has \"%s\", expected an IPv6 address", s);
		if (!c->has_node6)
			return BAD("config: 'gateway' %s is IPv6 and 'node_ip' has no IPv6 address", s);
		if (ctl_pods_gateway6(c->gateway6))
			return BAD("config: 'gateway' %s is the address podlaned answers itself as pods' "
				   "gateway, not a router's", s);
		/* A router's link-local address does too (on the uplink's link). */
		if (!ctl_neighbour6(c, c->gateway6))
			return BAD("config: 'gateway' %s is not a neighbour on the node's IPv6 network "
				   "of 'node_ip' (nor a link-local address)", s);
		c->has_gateway6 = true;
		return 0;
	}
	uint32_t node_net = c->node_ip & ctl_mask(c->node_plen);
	uint32_t node_bcast = node_net | ~ctl_mask(c->node_plen);
	if (c->has_gateway)
		return BAD("config: 'gateway' lists two IPv4 addresses");
	if (ctl_parse_ip(s, &c->gateway) != 0)
		return BAD("config: 'gateway' is \"%s\", expected an IPv4 address", s);
	if (!c->has_ipv4)
		return BAD("config: 'gateway' %s is IPv4 and 'node_ip' has no IPv4 address", s);
	if (((c->gateway ^ c->node_ip) & ctl_mask(c->node_plen)) != 0)
		return BAD("config: 'gateway' %s is not on the node network of 'node_ip'", s);
	if (c->gateway == c->node_ip || c->gateway == node_net || c->gateway == node_bcast)
		return BAD("config: 'gateway' %s is the node's own, the network's or the "
			   "broadcast address", s);
	c->has_gateway = true;
	return 0;
}

static int validate(json_t *root, struct ctl_config *c, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_int_t nice;
	char buf[32];

	if (!json_is_object(root))
		return BAD("config: the top level must be a JSON object");
	json_object_foreach(root, key, v) {
		int i = 0;
		while (known_keys[i] && strcmp(known_keys[i], key) != 0)
			i++;
		if (known_keys[i] == NULL)
			return BAD("config: unknown key '%s'", key);
	}
	if (get_dual(root, "node_ip", NULL, true, &c->has_ipv4, &c->node_ip, &c->node_plen,
		     &c->has_node6, c->node6_ip, &c->node6_plen, err, errlen))
		return -1;
	if (c->has_ipv4 && (c->node_plen == 0 || c->node_plen > 30))
		return BAD("config: 'node_ip' needs the node network's prefix length (1..30), e.g. "
			   "172.31.102.105/24");
	uint32_t node_net = c->node_ip & ctl_mask(c->node_plen);
	uint32_t node_bcast = node_net | ~ctl_mask(c->node_plen);
	uint32_t h = rte_be_to_cpu_32(c->node_ip);
	if (c->has_ipv4 && (h == 0 || (h >> 24) == 127 || h >= 0xe0000000 || c->node_ip == node_net ||
			    c->node_ip == node_bcast))
		return BAD("config: 'node_ip' %s is not a host address of its network (not the "
			   "network or broadcast address, loopback, multicast or 0.0.0.0)",
			   ctl_prefix_str(c->node_ip, c->node_plen, buf));
	if (c->has_node6) {
		uint8_t net6[16];
		ctl_net6(c->node6_ip, c->node6_plen, net6);
		if (c->node6_plen == 0 || c->node6_plen > 127 || memcmp(net6, c->node6_ip, 16) == 0)
			return BAD("config: 'node_ip' IPv6 address needs the node network's prefix "
				   "length (1..127) and a host part, e.g. fd00:172:31:102::105/64");
	}
	json_t *gw = json_object_get(root, "gateway"), *g;
	size_t gi;
	if (json_is_array(gw)) {
		if (json_array_size(gw) < 1 || json_array_size(gw) > 2)
			return BAD("config: 'gateway' must be an address or a list of one IPv4 and one "
				   "IPv6 address");
		json_array_foreach(gw, gi, g)
			if (!json_is_string(g) || gateway_one(c, json_string_value(g), err, errlen) != 0)
				return json_is_string(g) ? -1 : BAD("config: 'gateway' must be an address "
								    "or a list of one IPv4 and one IPv6 address");
	} else if (gw != NULL) {
		if (get_str(root, "gateway", NULL, buf, sizeof(buf), err, errlen) ||
		    gateway_one(c, buf, err, errlen) != 0)
			return -1;
	}
	/* cluster_cidr's default is IPv4's; an IPv6-only node has none unless
	 * given (then the node kernel routes pod_cidr alone to podlaned). */
	bool has4 = false;
	if ((c->has_ipv4 || json_object_get(root, "cluster_cidr")) &&
	    (get_dual(root, "cluster_cidr", PL_DEFAULT_CLUSTER_CIDR, false, &has4, &c->cluster_net,
		      &c->cluster_plen, &c->has_cluster6, c->cluster6_net, &c->cluster6_plen, err,
		      errlen) ||
	     same_families("cluster_cidr", has4, c, err, errlen)))
		return -1;
	if (c->has_ipv4 && overlap(c->cluster_net, c->cluster_plen, c->node_ip, c->node_plen))
		return BAD("config: 'cluster_cidr' overlaps the node network of 'node_ip' (the "
			   "kernel routes cluster_cidr to podlaned)");
	if (get_dual(root, "pod_cidr", NULL, false, &has4, &c->pod_net, &c->pod_plen, &c->has_pod6,
		     c->pod6_net, &c->pod6_plen, err, errlen) ||
	    same_families("pod_cidr", has4, c, err, errlen))
		return -1;
	if (c->has_ipv4 && (c->pod_plen < 16 || c->pod_plen > 30))
		return BAD("config: 'pod_cidr' must be a /16 to /30");
	if (c->has_ipv4 && (c->pod_plen < c->cluster_plen ||
			    ((c->pod_net ^ c->cluster_net) & ctl_mask(c->cluster_plen)) != 0))
		return BAD("config: 'pod_cidr' is not inside 'cluster_cidr'");
	if (c->has_ipv4 && c->has_pod6 &&
	    (c->pod6_plen < 48 || 128 - c->pod6_plen < 32 - c->pod_plen))
		return BAD("config: 'pod_cidr' IPv6 prefix must be a /48 or longer with at least as "
			   "many addresses as its IPv4 one (a /%u: at most /%u; a pod's IPv6 address "
			   "has the host part of its IPv4 one)", c->pod_plen, 96 + c->pod_plen);
	if (!c->has_ipv4 && (c->pod6_plen < 48 || c->pod6_plen > 120))
		return BAD("config: 'pod_cidr' must be an IPv6 /48 to /120 on an IPv6-only node");
	if (c->has_cluster6 && !c->has_pod6)
		return BAD("config: 'cluster_cidr' has an IPv6 prefix, 'pod_cidr' none");
	if (c->has_node6 && !c->has_pod6)
		return BAD("config: 'node_ip' has an IPv6 address, 'pod_cidr' no IPv6 prefix");
	if (c->has_node6 &&
	    (ctl_in_prefix6(c->node6_ip, c->pod6_net, c->pod6_plen) ||
	     (c->has_cluster6 && ctl_in_prefix6(c->node6_ip, c->cluster6_net, c->cluster6_plen))))
		return BAD("config: 'node_ip' IPv6 address is inside the pods' IPv6 prefix");
	if (c->has_cluster6 && (c->pod6_plen < c->cluster6_plen ||
				!ctl_in_prefix6(c->pod6_net, c->cluster6_net, c->cluster6_plen)))
		return BAD("config: 'pod_cidr' IPv6 prefix is not inside 'cluster_cidr' IPv6 prefix");
	if (json_object_get(root, "service_cidr")) {
		if (get_dual(root, "service_cidr", NULL, false, &has4, &c->service_net,
			     &c->service_plen, &c->has_service6, c->service6_net, &c->service6_plen,
			     err, errlen) ||
		    same_families("service_cidr", has4, c, err, errlen))
			return -1;
		if (c->has_service6 && !c->has_pod6)
			return BAD("config: 'service_cidr' has an IPv6 prefix, 'pod_cidr' none");
		if (c->has_service6 &&
		    (ctl_in_prefix6(c->service6_net, c->pod6_net, RTE_MIN(c->pod6_plen, c->service6_plen)) ||
		     (c->has_cluster6 &&
		      ctl_in_prefix6(c->service6_net, c->cluster6_net,
				     RTE_MIN(c->cluster6_plen, c->service6_plen)))))
			return BAD("config: 'service_cidr' IPv6 prefix overlaps 'cluster_cidr'");
		if (c->has_service6 && c->has_node6 &&
		    ctl_in_prefix6(c->service6_net, c->node6_ip, RTE_MIN(c->node6_plen, c->service6_plen)))
			return BAD("config: 'service_cidr' IPv6 prefix overlaps the node network of "
				   "'node_ip'");
		if (c->has_ipv4 && overlap(c->service_net, c->service_plen, c->cluster_net, c->cluster_plen))
			return BAD("config: 'service_cidr' overlaps 'cluster_cidr'");
		if (c->has_ipv4 && overlap(c->service_net, c->service_plen, c->node_ip, c->node_plen))
			return BAD("config: 'service_cidr' overlaps the node network of 'node_ip'");
		c->has_service = c->has_ipv4;
	}
	if (get_bool(root, "masquerade", true, &c->masquerade, err, errlen) ||
	    get_bool(root, "nat_outgoing", false, &c->nat_outgoing, err, errlen))
		return -1;
	if (c->nat_outgoing && !c->has_ipv4)
		return BAD("config: 'nat_outgoing' masquerades IPv4 and this node is IPv6-only (its "
			   "pods' IPv6 leaves through the node kernel's routes without a 'gateway')");
	if (c->nat_outgoing && c->has_gateway)
		return BAD("config: 'nat_outgoing' and 'gateway' exclude each other (with "
			   "nat_outgoing the node kernel's routes take pods' traffic out)");
	if (get_str(root, "uplink", NULL, c->uplink, sizeof(c->uplink), err, errlen))
		return -1;
	c->uplink_is_pci = is_pci(c->uplink);
	c->uplink_is_packet = strncmp(c->uplink, CTL_UPLINK_PACKET, strlen(CTL_UPLINK_PACKET)) == 0;
	if (c->uplink_is_packet && !pl_valid_ifname(c->uplink + strlen(CTL_UPLINK_PACKET)))
		return BAD("config: 'uplink' \"%s\" does not name a valid interface after '%s'",
			   c->uplink, CTL_UPLINK_PACKET);
	if (!c->uplink_is_pci && !c->uplink_is_packet && strncmp(c->uplink, "net_", 4) != 0)
		return BAD("config: 'uplink' is \"%s\", expected a PCI address (0000:01:00.0), "
			   "af_packet:IFACE or vdev arguments (net_af_packet0,iface=eth0)", c->uplink);
	if (get_uint(root, "uplink_mtu", 0, RTE_ETHER_MIN_MTU, UINT16_MAX, &c->uplink_mtu, err,
		     errlen))
		return -1;
	if (c->uplink_mtu && c->uplink_is_packet)
		return BAD("config: 'uplink_mtu' is for a DPDK uplink; an af_packet: uplink has its "
			   "interface's MTU (ip link set %s mtu %u)",
			   c->uplink + strlen(CTL_UPLINK_PACKET), c->uplink_mtu);
	if (get_str(root, "host_port", PL_DEFAULT_HOST_PORT, c->host_port, sizeof(c->host_port),
		    err, errlen))
		return -1;
	if (!pl_valid_ifname(c->host_port))
		return BAD("config: 'host_port' \"%s\" is not a valid interface name", c->host_port);
	if (get_str(root, "socket", PL_DEFAULT_SOCKET, c->socket, sizeof(c->socket), err, errlen))
		return -1;
	if (c->socket[0] != '/')
		return BAD("config: 'socket' must be an absolute path");
	if (get_group(root, "socket_group", &c->socket_gid, err, errlen))
		return -1;
	if (get_str(root, "state_dir", PL_DEFAULT_STATE_DIR, c->state_dir, sizeof(c->state_dir),
		    err, errlen))
		return -1;
	if (c->state_dir[0] != '/')
		return BAD("config: 'state_dir' must be an absolute path");
	if (get_uint(root, "workers", 1, 1, DP_MAX_WORKERS, &c->workers, err, errlen))
		return -1;
	if (get_integer(root, "worker_nice", -10, -20, 19, &nice, err, errlen))
		return -1;
	c->worker_nice = (int)nice;
	if (get_uint(root, "max_routes", 1u << 16, 1024, DP_MAX_ROUTES, &c->max_routes, err,
		     errlen))
		return -1;
	if (get_uint(root, "max_flows", CTL_DEFAULT_MAX_FLOWS, 1024, 1u << 24, &c->max_flows, err,
		     errlen) ||
	    get_uint(root, "max_services", CTL_DEFAULT_MAX_SERVICES, 1, 65535, &c->max_services,
		     err, errlen) ||
	    get_uint(root, "drop_records", CTL_DEFAULT_DROP_RECORDS, 0, 65536, &c->drop_records,
		     err, errlen))
		return -1;
	if (get_uint(root, "max_request_mb", PL_DEFAULT_MAX_REQUEST_MB, 1, 256, &c->max_request_mb,
		     err, errlen))
		return -1;
	if (get_str(root, "log_level", "info", c->log_level, sizeof(c->log_level), err, errlen))
		return -1;
	if (dp_log_level_parse(c->log_level) < 0)
		return BAD("config: 'log_level' is \"%s\", expected error, warning, notice, info or debug",
			   c->log_level);
	if (get_str(root, "vhost_dir", PL_DEFAULT_VHOST_DIR, c->vhost_dir, sizeof(c->vhost_dir), err,
		    errlen))
		return -1;
	if (c->vhost_dir[0] != '/' || strpbrk(c->vhost_dir, ",=") != NULL)
		return BAD("config: 'vhost_dir' must be an absolute path without ',' or '='");
	if (get_group(root, "vhost_group", &c->vhost_gid, err, errlen))
		return -1;
	if (json_object_get(root, "metrics_listen")) {
		char ip[32];
		unsigned port;
		char tail;
		if (get_str(root, "metrics_listen", NULL, buf, sizeof(buf), err, errlen))
			return -1;
		if (sscanf(buf, "%31[0-9.]:%u%c", ip, &port, &tail) != 2 || port == 0 ||
		    port > 65535 || ctl_parse_ip(ip, &c->metrics_ip) != 0)
			return BAD("config: 'metrics_listen' is \"%s\", expected ADDRESS:PORT like "
				   "127.0.0.1:9464", buf);
		c->metrics_port = (uint16_t)port;
	}
	if (get_uint(root, "import_table", 0, 1, 0x7fffffff, &c->import_table, err, errlen))
		return -1;
	if (c->import_table == 254 || c->import_table == 255)
		return BAD("config: 'import_table' must not be the kernel's main (254) or local (255) table");
	v = json_object_get(root, "eal");
	if (v != NULL) {
		size_t i;
		json_t *a;
		if (!json_is_array(v) || json_array_size(v) > 32)
			return BAD("config: 'eal' must be an array of at most 32 strings");
		json_array_foreach(v, i, a) {
			if (!json_is_string(a))
				return BAD("config: 'eal' item %zu is not a string", i);
			c->eal[c->n_eal++] = strdup(json_string_value(a));
		}
	}
	return 0;
}

static int config_from(json_t *root, struct ctl_config *c, char *err, size_t errlen)
{
	int rc = validate(root, c, err, errlen);
	json_decref(root);
	if (rc != 0)
		ctl_config_free(c);
	return rc;
}

int ctl_config_load(const char *path, struct ctl_config *c, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	memset(c, 0, sizeof(*c));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (je.line < 0)
			return BAD("config: cannot read %s: %s", path, je.text);
		return BAD("config: %s line %d: %s", path, je.line, je.text);
	}
	return config_from(root, c, err, errlen);
}

int ctl_config_parse(const char *buf, size_t len, struct ctl_config *c, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	memset(c, 0, sizeof(*c));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return BAD("config: line %d: %s", je.line, je.text);
	return config_from(root, c, err, errlen);
}

void ctl_config_free(struct ctl_config *c)
{
	for (int i = 0; i < c->n_eal; i++)
		free(c->eal[i]);
	c->n_eal = 0;
}
