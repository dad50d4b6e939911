/* conntrack.list and conntrack.flush: the dataplane's tracked connections
 * (dp_ct.c), all of them, one service's or (list) one pod's. */
#include <string.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

#define LIST_DEFAULT 10000

/* The service named by params' ip, port and protocol, or none asked
 * (*id -1); -1 with *e filled when it is named wrong or unknown. */
static int service_param(json_t *params, int64_t *id, struct ctl_err *e)
{
	struct ctl_svc k;
	char name[CTL_SVC_STRLEN];

	*id = -1;
	if (json_object_get(params, "ip") == NULL && json_object_get(params, "port") == NULL &&
	    json_object_get(params, "protocol") == NULL)
		return 0;
	if (ctl_svc_key_parse(params, &k, e) != 0)
		return -1;
	const struct ctl_svc *s = ctl_svc_find(&k);
	if (s == NULL)
		return ctl_fail(e, PL_E_NOT_FOUND, "no service %s", ctl_svc_str(&k, name));
	*id = s - node.svcs;
	return 0;
}

struct list {
	int64_t svc;
	const struct ctl_pod *pod; /* NULL: any; else flows with the pod at either end */
	json_int_t limit, total;
	json_t *flows;
};

/* Where one end of direction d is: its source (src) or destination. */
static json_t *end(const struct dp_flow_view *f, unsigned d, bool src)
{
	char a[CTL_IP6_STRLEN];
	const char *ip = f->v6 ? ctl_ip6_str(src ? f->src6[d] : f->dst6[d], a)
			       : ctl_ip_str(src ? f->src[d] : f->dst[d], a);
	return json_pack("{s:s, s:i}", "ip", ip, "port",
			 rte_be_to_cpu_16(src ? f->sport[d] : f->dport[d]));
}

/* The pod at one end of either direction of f. */
static bool has_pod(const struct dp_flow_view *f, const struct ctl_pod *p)
{
	for (unsigned d = 0; d < 2; d++) {
		if (!f->v6 && (f->src[d] == p->ip || f->dst[d] == p->ip))
			return true;
		if (f->v6 && (memcmp(f->src6[d], p->ip6, 16) == 0 || memcmp(f->dst6[d], p->ip6, 16) == 0))
			return true;
	}
	return false;
}

static void one(const struct dp_flow_view *f, void *arg)
{
	struct list *l = arg;
	char name[CTL_SVC_STRLEN];

	if (l->svc >= 0 && f->svc != (uint64_t)l->svc + 1)
		return;
	if (l->pod != NULL && !has_pod(f, l->pod))
		return;
	if (l->total++ >= l->limit)
		return;
	json_t *o = json_pack("{s:s, s:s, s:{s:o, s:o}, s:{s:o, s:o}, s:[I, I], s:[I, I], s:i, s:i}",
			      "protocol", ctl_proto_name(f->proto),
			      "state", f->state, "original", "source", end(f, 0, true),
			      "destination", end(f, 0, false), "reply", "source", end(f, 1, true),
			      "destination", end(f, 1, false),
			      "packets", (json_int_t)f->pkts[0], (json_int_t)f->pkts[1], "bytes",
			      (json_int_t)f->bytes[0], (json_int_t)f->bytes[1], "idle", f->idle_s,
			      "timeout", f->timeout_s);
	const struct ctl_svc *s = f->svc ? &node.svcs[f->svc - 1] : NULL;
	json_object_set_new(o, "service", s && s->used ? json_string(ctl_svc_str(s, name)) : json_null());
	json_array_append_new(l->flows, o);
}

static json_t *m_conntrack_list(json_t *params, struct ctl_err *e)
{
	struct list l = {.limit = LIST_DEFAULT};
	json_t *v = json_object_get(params, "limit");
	uint64_t in_use, max;

	if (service_param(params, &l.svc, e) != 0)
		return NULL;
	const char *pod = ctl_param_str(params, "pod", false, e);
	if (pod == NULL && e->code)
		return NULL;
	const struct ctl_pod *p = pod ? ctl_pod_by_id(pod) : NULL;
	if (pod != NULL && p == NULL) {
		ctl_fail(e, PL_E_NOT_FOUND, "pod: no pod '%.64s'", pod);
		return NULL;
	}
	l.pod = p;
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "limit: must be a whole number");
		return NULL;
	}
	if (v != NULL)
		l.limit = json_integer_value(v);
	l.flows = json_array();
	dp_ct_walk(one, &l);
	dp_ct_count(&in_use, &max);
	return json_pack("{s:o, s:I, s:I, s:I}", "flows", l.flows, "matched", l.total, "in_use",
			 (json_int_t)in_use, "max", (json_int_t)max);
}
CTL_METHOD(PL_M_CONNTRACK_LIST, m_conntrack_list)

static json_t *m_conntrack_flush(json_t *params, struct ctl_err *e)
{
	int64_t svc;

	if (service_param(params, &svc, e) != 0)
		return NULL;
	unsigned n = dp_ct_flush(svc);
	ctl_log("conntrack flush%s: %u connection(s) forgotten", svc >= 0 ? " of a service" : "", n);
	return json_pack("{s:i}", "flushed", n);
}
CTL_METHOD(PL_M_CONNTRACK_FLUSH, m_conntrack_flush)
