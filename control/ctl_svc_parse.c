/* Services as the API gives them: an object parsed and checked into a
 * struct ctl_svc (ctl_services.c keeps the table), every refusal naming
 * the field and the value. */
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

static int get_ip(json_t *o, const char *key, uint32_t *ip, const char *ctx, struct ctl_err *e)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s%s: missing", ctx, key);
	if (!json_is_string(v) || ctl_parse_ip(json_string_value(v), ip) != 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s%s: %s is not an IPv4 address", ctx, key,
				json_is_string(v) ? json_string_value(v) : "(not a string)");
	return 0;
}

int ctl_svc_key_parse(json_t *o, uint32_t *ip, uint16_t *port, uint8_t *proto, struct ctl_err *e)
{
	const char *p = json_string_value(json_object_get(o, "protocol"));

	if (!json_is_object(o))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "a service must be an object with ip, port "
				"and protocol");
	if (get_ip(o, "ip", ip, "", e) != 0 || get_port(o, "port", true, port, "", e) != 0)
		return -1;
	if (json_object_get(o, "protocol") == NULL)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "protocol: missing");
	if (p != NULL && strcmp(p, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (p != NULL && strcmp(p, "udp") == 0)
		*proto = IPPROTO_UDP;
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
	return kx < ky ? -1 : kx > ky;
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
		if (get_ip(o, "ip", &b->ip, ctx, e) != 0 ||
		    get_port(o, "port", true, &b->port, ctx, e) != 0)
			return -1;
		uint32_t h = rte_be_to_cpu_32(b->ip);
		if (h == 0 || h >= 0xe0000000 || (h >> 24) == 127)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%sip: %s is not a unicast address",
					ctx, json_string_value(json_object_get(o, "ip")));
		/* On this node: one of its pods, or the node itself. */
		b->local = b->ip == node.cfg.node_ip ||
			   ((b->ip ^ node.cfg.pod_net) & ctl_mask(node.cfg.pod_plen)) == 0;
	}
	qsort(s->backends, s->n_backends, sizeof(*s->backends), cmp_backend);
	for (i = 1; i < s->n_backends; i++)
		if (cmp_backend(&s->backends[i - 1], &s->backends[i]) == 0) {
			char ip[16];
			return ctl_fail(e, PL_E_INVALID_PARAMS, "backends: %s:%u appears twice",
					ctl_ip_str(s->backends[i].ip, ip),
					rte_be_to_cpu_16(s->backends[i].port));
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
		uint32_t ip;
		snprintf(ctx, sizeof(ctx), "external_ips[%zu]", i);
		if (!json_is_string(v) || ctl_parse_ip(json_string_value(v), &ip) != 0)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is not an IPv4 address", ctx,
					json_is_string(v) ? json_string_value(v) : "(not a string)");
		if (check_frontend_ip(ctx, json_string_value(v), ip, e) != 0)
			return -1;
		for (unsigned k = 0; k < s->n_ext; k++)
			if (s->ext[k] == ip)
				return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s appears twice", ctx,
						json_string_value(v));
		if (ip == s->ip)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: %s is the service's own ip", ctx,
					json_string_value(v));
		s->ext[s->n_ext++] = ip;
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

	memset(s, 0, sizeof(*s));
	if (ctl_svc_key_parse(o, &s->ip, &s->port, &s->proto, e) != 0)
		return -1;
	json_object_foreach(o, key, v) {
		unsigned k = 0;
		while (known_keys[k] && strcmp(known_keys[k], key) != 0)
			k++;
		if (known_keys[k] == NULL)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "%.32s: unknown key of a service", key);
	}
	if (check_frontend_ip("ip", json_string_value(json_object_get(o, "ip")), s->ip, e) != 0)
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

bool ctl_svc_same(const struct ctl_svc *a, const struct ctl_svc *b)
{
	return a->ip == b->ip && a->port == b->port && a->proto == b->proto &&
	       strcmp(a->name, b->name) == 0 && a->node_port == b->node_port &&
	       a->ext_local == b->ext_local && a->affinity_s == b->affinity_s &&
	       a->n_ext == b->n_ext && memcmp(a->ext, b->ext, a->n_ext * sizeof(a->ext[0])) == 0 &&
	       a->n_backends == b->n_backends &&
	       memcmp(a->backends, b->backends, a->n_backends * sizeof(a->backends[0])) == 0;
}

