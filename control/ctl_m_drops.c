/* drops.list: the drop recorder's packets (dataplane/dp_drops.c), oldest
 * first, with the reason, the port and pod they came from, and their
 * headers decoded and raw (hex, for podlanectl drops -w). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ip.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

static int reason_param(json_t *params, int *why, struct ctl_err *e)
{
	const char *r = ctl_param_str(params, "reason", false, e);

	*why = -1;
	if (r == NULL)
		return e->code ? -1 : 0;
	for (int i = 0; i < DP_DROP_MAX; i++)
		if (strcmp(r, dp_drop_names[i]) == 0) {
			*why = i;
			return 0;
		}
	char names[1024] = "";
	size_t n = 0;
	for (int i = 0; i < DP_DROP_MAX && n < sizeof(names); i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", dp_drop_names[i]);
	return ctl_fail(e, PL_E_INVALID_PARAMS, "reason: '%.32s' is not a drop reason (%s)", r, names);
}

/* What the headers say: addresses, protocol, ports or ICMP type, TTL. */
static void decode(json_t *o, const uint8_t *p, uint16_t len)
{
	const struct rte_ether_hdr *eth = (const void *)p;
	char a[INET_ADDRSTRLEN];

	if (len < sizeof(*eth))
		return;
	json_object_set_new(o, "ethertype", json_integer(rte_be_to_cpu_16(eth->ether_type)));
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    len < sizeof(*eth) + sizeof(struct rte_ipv4_hdr))
		return;
	struct rte_ipv4_hdr ip;
	memcpy(&ip, p + sizeof(*eth), sizeof(ip));
	json_object_set_new(o, "src", json_string(ctl_ip_str(ip.src_addr, a)));
	json_object_set_new(o, "dst", json_string(ctl_ip_str(ip.dst_addr, a)));
	json_object_set_new(o, "protocol", json_string(ctl_proto_name(ip.next_proto_id)));
	json_object_set_new(o, "ttl", json_integer(ip.time_to_live));
	uint32_t l4 = (uint32_t)sizeof(*eth) + (ip.version_ihl & 0xf) * 4u;
	if (l4 + 4 > len || (ip.fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)))
		return;
	const uint8_t *q = p + l4;
	if (ip.next_proto_id == IPPROTO_TCP || ip.next_proto_id == IPPROTO_UDP ||
	    ip.next_proto_id == IPPROTO_SCTP) {
		json_object_set_new(o, "sport", json_integer(q[0] << 8 | q[1]));
		json_object_set_new(o, "dport", json_integer(q[2] << 8 | q[3]));
	} else if (ip.next_proto_id == IPPROTO_ICMP) {
		json_object_set_new(o, "icmp_type", json_integer(q[0]));
		json_object_set_new(o, "icmp_code", json_integer(q[1]));
	}
}

static json_t *record(const struct dp_drop_info *d)
{
	struct dp_port_info pi;
	char when[64], hex[2 * DP_DROP_SNAP + 1];
	time_t s = (time_t)(d->time_ns / 1000000000u);
	struct tm tm;
	const struct ctl_pod *pod = ctl_pod_on_port(d->port);

	gmtime_r(&s, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%06uZ", (unsigned)(d->time_ns % 1000000000u / 1000));
	ctl_hex(d->data, d->caplen, hex);
	json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o, s:i, s:s}", "time", when, "time_ns",
			      (json_int_t)d->time_ns, "reason",
			      dp_drop_names[d->why], "port",
			      dp_port_info(d->port, &pi) == 0 ? json_string(pi.name) : json_null(), "pod",
			      pod ? json_string(pod->container_id) : json_null(), "length", d->len,
			      "data", hex);
	if (pod != NULL && pod->k8s_name[0])
		json_object_set_new(o, "k8s_pod", json_sprintf("%s/%s", pod->k8s_namespace, pod->k8s_name));
	decode(o, d->data, d->caplen);
	return o;
}

static json_t *m_drops_list(json_t *params, struct ctl_err *e)
{
	const char *pod_id = ctl_param_str(params, "pod", false, e);
	json_t *v = json_object_get(params, "limit");
	int why, pod_port = -1;

	if ((pod_id == NULL && e->code) || reason_param(params, &why, e) != 0)
		return NULL;
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "limit: must be a whole number");
		return NULL;
	}
	if (pod_id != NULL) {
		const struct ctl_pod *p = ctl_pod_by_id(pod_id);
		if (p == NULL) {
			ctl_fail(e, PL_E_NOT_FOUND, "pod: no pod '%.64s'", pod_id);
			return NULL;
		}
		pod_port = p->port;
	}
	unsigned cap = node.cfg.drop_records + DP_MAX_WORKERS + 1; /* rounded up per writer */
	struct dp_drop_info *d = malloc(cap * sizeof(*d));
	if (d == NULL) {
		ctl_fail(e, PL_E_RESOURCE, "out of memory for %u drop records", cap);
		return NULL;
	}
	unsigned n = dp_drops_read(d, cap), matched = 0;
	json_int_t limit = v ? json_integer_value(v) : (json_int_t)cap;
#define MATCH(r) ((why < 0 || (int)(r).why == why) && (pod_port < 0 || (r).port == pod_port))
	for (unsigned i = 0; i < n; i++)
		matched += MATCH(d[i]);
	/* The latest limit of them, oldest first. */
	json_int_t skip = matched > limit ? matched - limit : 0;
	json_t *a = json_array();
	for (unsigned i = 0; i < n; i++)
		if (MATCH(d[i]) && skip-- <= 0)
			json_array_append_new(a, record(&d[i]));
#undef MATCH
	free(d);
	return json_pack("{s:o, s:i}", "drops", a, "recording", node.cfg.drop_records);
}
CTL_METHOD(PL_M_DROPS_LIST, m_drops_list)
