/* Services as the API gives them: an object parsed and checked into a
 * struct ctl_svc (ctl_services.c keeps the table), every refusal naming
 * the field and the value. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"

/* An address a service may be reached on: not the node's own, not a pod's,
 * not one no packet is routed to. */
static int check_frontend_ip(const char *what, const char *text, uint32_t ip, struct ctl_err *e)
{
	uint32_t h = rte_be_to_cpu_32(ip);

	if (h == 0 || h >= 0xe0000000 || (h >> 24) == 127 || (h >> 16) == 0xa9fe)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is not a unicast address a "
				"service can have", what, text);
	if (ip == node.cfg.node_ip)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is the node's own address "
				"(use node_port)", what, text);
	if (((ip ^ node.cfg.cluster_net) & ctl_mask(node.cfg.cluster_plen)) == 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is in cluster_cidr (pods' "
				"addresses)", what, text);
	return 0;
}

/* Not an address a service or backend may have: unspecified, loopback,
 * link-local, multicast. */
static bool bad_ip6(const uint8_t a[16])
{
	static const uint8_t unspecified[16], loopback[16] = {[15] = 1};
	return memcmp(a, unspecified, 16) == 0 || memcmp(a, loopback, 16) == 0 ||
	       a[0] == 0xff || ctl_link_local6(a);
}

static int check_frontend_ip6(const char *what, const char *text, const uint8_t ip[16],
			      struct ctl_err *e)
{
	if (bad_ip6(ip))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is not a unicast address a "
				"service can have", what, text);
	if (node.cfg.has_node6 && memcmp(ip, node.cfg.node6_ip, 16) == 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is the node's own address "
				"(use node_port)", what, text);
	if (node.cfg.has_cluster6 &&
	    ctl_in_prefix6(ip, node.cfg.cluster6_net, node.cfg.cluster6_plen))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is in cluster_cidr (pods' "
				"addresses)", what, text);
	if (ctl_in_prefix6(ip, node.cfg.pod6_net, node.cfg.pod6_plen))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is in pod_cidr (pods' addresses)",
				what, text);
	return 0;
}

static int get_port(json_t *o, const char *key, bool required, uint16_t *port, const char *ctx,
		    struct ctl_err *e)
{
	json_t *v = json_object_get(o, key);

	*port = 0;
	if (v == NULL)
		return required ? ctl_fail(e, PL_E_INVALID_PARAMS, "%s%s: missing", ctx, key) : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s%s: must be a port number 1-65535", ctx,
				key);
	*port = rte_cpu_to_be_16((uint16_t)json_integer_value(v));
	return 0;
}

/* o's key as an IPv4 address into *ip or, when v6 (NULL: IPv4 only), an
 * IPv6 one into ip6 (*v6 set). */
static int get_ip(json_t *o, const char *key, uint32_t *ip, bool *v6, uint8_t ip6[16],
		  const char *ctx, struct ctl_err *e)
{
	json_t *v = json_object_get(o, key);
	const char *t = json_string_value(v);

	if (v == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s%s: missing", ctx, key);
	if (t != NULL && ctl_parse_ip(t, ip) == 0) {
		if (v6 != NULL)
			*v6 = false;
		return 0;
	}
	if (t != NULL && v6 != NULL && inet_pton(AF_INET6, t, ip6) == 1) {
		*v6 = true;
		*ip = 0;
		return 0;
	}
	return ctl_fail(e, PL_E_INVALID_PARAMS, "%s%s: %s is not an IPv4%s address", ctx, key,
			t ? t : "(not a string)", v6 ? " or IPv6" : "");
}

int ctl_svc_key_parse(json_t *o, struct ctl_svc *k, struct ctl_err *e)
{
	const char *p = json_string_value(json_object_get(o, "protocol"));

	memset(k, 0, sizeof(*k));
	if (!json_is_object(o))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "a service must be an object with ip, port "
				"and protocol");
	if (get_ip(o, "ip", &k->ip, &k->v6, k->ip6, "", e) != 0 ||
	    get_port(o, "port", true, &k->port, "", e) != 0)
		return -1;
	if (json_object_get(o, "protocol") == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "protocol: missing");
	if (p != NULL && strcmp(p, "tcp") == 0)
		k->proto = IPPROTO_TCP;
	else if (p != NULL && strcmp(p, "udp") == 0)
		k->proto = IPPROTO_UDP;
	else
		return ctl_fail(e, PL_E_INVALID_PARAMS, "protocol: '%.16s' is not supported (tcp, "
				"udp)", p ? p : "(not a string)");
	return 0;
}

static int cmp_backend(const void *a, const void *b)
{
	const struct dp_backend_spec *x = a, *y = b;
	uint64_t kx = (uint64_t)rte_be_to_cpu_32(x->ip) << 16 | rte_be_to_cpu_16(x->port);
	uint64_t ky = (uint64_t)rte_be_to_cpu_32(y->ip) << 16 | rte_be_to_cpu_16(y->port);
	int c = memcmp(x->ip6, y->ip6, 16);
	return c ? c : kx < ky ? -1 : kx > ky;
}

/* A backend's address, of the service's family; local: on this node (one
 * of its pods, or the node itself). */
static int backend_ip(json_t *o, const struct ctl_svc *s, struct dp_backend_spec *b,
		      const char *ctx, struct ctl_err *e)
{
	const char *t = json_string_value(json_object_get(o, "ip"));
	bool v6 = false;

	if (get_ip(o, "ip", &b->ip, &v6, b->ip6, ctx, e) != 0)
		return -1;
	if (v6 != s->v6)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%sip: %s is not an %s address (the "
				"service's ip is)", ctx, t, s->v6 ? "IPv6" : "IPv4");
	if (v6) {
		if (bad_ip6(b->ip6))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%sip: %s is not a unicast address",
					ctx, t);
		b->local = (node.cfg.has_node6 && memcmp(b->ip6, node.cfg.node6_ip, 16) == 0) ||
			   (node.cfg.has_pod6 &&
			    ctl_in_prefix6(b->ip6, node.cfg.pod6_net, node.cfg.pod6_plen));
		return 0;
	}
	uint32_t h = rte_be_to_cpu_32(b->ip);
	if (h == 0 || h >= 0xe0000000 || (h >> 24) == 127)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%sip: %s is not a unicast address", ctx, t);
	b->local = b->ip == node.cfg.node_ip ||
		   ((b->ip ^ node.cfg.pod_net) & ctl_mask(node.cfg.pod_plen)) == 0;
	return 0;
}

static int parse_backends(json_t *a, struct ctl_svc *s, struct ctl_err *e)
{
	size_t i;
	json_t *o;
	char ctx[40];

	if (a == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "backends: missing (an empty list for none)");
	if (!json_is_array(a) || json_array_size(a) > DP_SVC_MAX_BACKENDS)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "backends: must be a list of at most %u "
				"{ip, port}", DP_SVC_MAX_BACKENDS);
	s->n_backends = (unsigned)json_array_size(a);
	s->backends = calloc(s->n_backends ? s->n_backends : 1, sizeof(*s->backends));
	if (s->backends == NULL)
		return ctl_fail(e, PL_E_RESOURCE, "out of memory");
	json_array_foreach(a, i, o) {
		struct dp_backend_spec *b = &s->backends[i];
		snprintf(ctx, sizeof(ctx), "backends[%zu].", i);
		if (!json_is_object(o))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "backends[%zu]: must be an object with "
					"ip and port", i);
		if (backend_ip(o, s, b, ctx, e) != 0 ||
		    get_port(o, "port", true, &b->port, ctx, e) != 0)
			return -1;
	}
	qsort(s->backends, s->n_backends, sizeof(*s->backends), cmp_backend);
	for (i = 1; i < s->n_backends; i++)
		if (cmp_backend(&s->backends[i - 1], &s->backends[i]) == 0) {
			char ip[CTL_IP6_STRLEN];
			return ctl_fail(e, PL_E_INVALID_PARAMS, "backends: %s%s%s:%u appears twice",
					s->v6 ? "[" : "",
					s->v6 ? ctl_ip6_str(s->backends[i].ip6, ip)
					      : ctl_ip_str(s->backends[i].ip, ip),
					s->v6 ? "]" : "", rte_be_to_cpu_16(s->backends[i].port));
		}
	return 0;
}

static int parse_external(json_t *a, struct ctl_svc *s, struct ctl_err *e)
{
	size_t i;
	json_t *v;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > DP_SVC_MAX_EXT)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "external_ips: must be a list of at most %u "
				"addresses", DP_SVC_MAX_EXT);
	json_array_foreach(a, i, v) {
		char ctx[40];
		uint32_t ip = 0;
		uint8_t ip6[16] = {0};
		const char *t = json_string_value(v);
		snprintf(ctx, sizeof(ctx), "external_ips[%zu]", i);
		if (t == NULL || (s->v6 ? inet_pton(AF_INET6, t, ip6) != 1 : ctl_parse_ip(t, &ip) != 0))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is not an %s address (the "
					"service's ip is)", ctx, t ? t : "(not a string)",
					s->v6 ? "IPv6" : "IPv4");
		if (s->v6 ? check_frontend_ip6(ctx, t, ip6, e) != 0 : check_frontend_ip(ctx, t, ip, e) != 0)
			return -1;
		for (unsigned k = 0; k < s->n_ext; k++)
			if (s->ext[k] == ip && memcmp(s->ext6[k], ip6, 16) == 0)
				return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s appears twice", ctx, t);
		if (ip == s->ip && memcmp(ip6, s->ip6, 16) == 0)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is the service's own ip", ctx, t);
		s->ext[s->n_ext] = ip;
		memcpy(s->ext6[s->n_ext++], ip6, 16);
	}
	return 0;
}

static const char *const known_keys[] = {
	"ip", "port", "protocol", "backends", "name", "node_port", "external_ips",
	"external_traffic_policy", "affinity_timeout", "origin", NULL,
};

int ctl_svc_parse(json_t *o, struct ctl_svc *s, struct ctl_err *e)
{
	const char *key;
	json_t *v;

	if (ctl_svc_key_parse(o, s, e) != 0)
		return -1;
	json_object_foreach(o, key, v) {
		unsigned k = 0;
		while (known_keys[k] && strcmp(known_keys[k], key) != 0)
			k++;
		if (known_keys[k] == NULL)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%.32s: unknown key of a service", key);
	}
	const char *ip = json_string_value(json_object_get(o, "ip"));
	if (s->v6 && !node.cfg.has_pod6)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "ip: %s is IPv6 and this node has no IPv6 "
				"pods (pod_cidr)", ip);
	if (!s->v6 && !node.cfg.has_ipv4)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "ip: %s is IPv4 and this node is IPv6-only",
				ip);
	if (s->v6 ? check_frontend_ip6("ip", ip, s->ip6, e) != 0
		  : check_frontend_ip("ip", ip, s->ip, e) != 0)
		return -1;

	if ((v = json_object_get(o, "name")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= sizeof(s->name) ||
		    strpbrk(json_string_value(v), "\"\\\n") != NULL)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "name: must be a string of 1-%zu "
					"characters without quotes, backslashes or newlines",
					sizeof(s->name) - 1);
		snprintf(s->name, sizeof(s->name), "%s", json_string_value(v));
	}
	if (get_port(o, "node_port", false, &s->node_port, "", e) != 0)
		return -1;
	if (s->v6 && s->node_port && !node.cfg.has_node6)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "node_port: an IPv6 service's NodePort is on "
				"the node's IPv6 address, and node_ip has none");
	if ((v = json_object_get(o, "external_traffic_policy")) != NULL) {
		const char *p = json_string_value(v);
		if (p == NULL || (strcmp(p, "Cluster") != 0 && strcmp(p, "Local") != 0))
			return ctl_fail(e, PL_E_INVALID_PARAMS, "external_traffic_policy: must be "
					"Cluster or Local");
		s->ext_local = strcmp(p, "Local") == 0;
	}
	if ((v = json_object_get(o, "affinity_timeout")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 86400)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "affinity_timeout: must be 0 (none) to "
					"86400 seconds");
		s->affinity_s = (uint32_t)json_integer_value(v);
	}
	if (parse_external(json_object_get(o, "external_ips"), s, e) != 0)
		return -1;
	return parse_backends(json_object_get(o, "backends"), s, e);
}

void ctl_svc_free(struct ctl_svc *s)
{
	free(s->backends);
	s->backends = NULL;
}

int ctl_svc_dup(const struct ctl_svc *s, struct ctl_svc *out)
{
	*out = *s;
	out->backends = NULL;
	if (s->n_backends == 0)
		return 0;
	out->backends = malloc(s->n_backends * sizeof(*s->backends));
	if (out->backends == NULL)
		return -1;
	memcpy(out->backends, s->backends, s->n_backends * sizeof(*s->backends));
	return 0;
}

bool ctl_svc_key_eq(const struct ctl_svc *a, const struct ctl_svc *b)
{
	return a->v6 == b->v6 && a->ip == b->ip && memcmp(a->ip6, b->ip6, 16) == 0 &&
	       a->port == b->port && a->proto == b->proto;
}

bool ctl_svc_same(const struct ctl_svc *a, const struct ctl_svc *b)
{
	return ctl_svc_key_eq(a, b) &&
	       strcmp(a->name, b->name) == 0 && a->node_port == b->node_port &&
	       a->ext_local == b->ext_local && a->affinity_s == b->affinity_s &&
	       a->n_ext == b->n_ext && memcmp(a->ext, b->ext, a->n_ext * sizeof(a->ext[0])) == 0 &&
	       memcmp(a->ext6, b->ext6, a->n_ext * sizeof(a->ext6[0])) == 0 &&
	       a->n_backends == b->n_backends &&
	       memcmp(a->backends, b->backends, a->n_backends * sizeof(a->backends[0])) == 0;
}

