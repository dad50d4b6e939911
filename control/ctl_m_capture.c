/* capture.start: the frames a port receives and sends (dataplane/
 * dp_capture.c), through a pcap filter, streamed on the requesting
 * connection after the reply as "capture.packets" notifications, then one
 * "capture.end". The capture lasts as long as its connection: a client
 * that goes away (podlanectl killed) ends it. capture.stop, on the same
 * connection, ends it once the frames captured so far are sent
 * (podlanectl interrupted: nothing the port saw before is missing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"
#include "ctl_rpc.h"
#include "ctl_server.h"

/* Per pump, a line of at most so many frames or (about) bytes of them:
 * a busy capture shares the control thread, and a line stays small. */
#define PER_ROUND 256
#define BATCH_BYTES (256u << 10)

struct capture {
	struct ctl_stream stream;
	int id;
	json_int_t count, sent; /* count 0: until the client goes */
	uint64_t lost_sent;     /* frames lost, as last told */
	json_t *batch;
	size_t batch_bytes;
	bool behind;            /* a line could not be queued */
	bool stopping;          /* capture.stop: end once the queue is empty */
};

static const char *dir_name(uint8_t dir)
{
	return dir == DP_CAPTURE_IN ? "in" : "out";
}

static void add_frame(void *ctx, const struct dp_captured *f)
{
	struct capture *c = ctx;
	char *hex = malloc(2 * (size_t)f->caplen + 1);

	if (hex == NULL) {
		c->behind = true;
		return;
	}
	ctl_hex(f->data, f->caplen, hex);
	c->batch_bytes += 2 * (size_t)f->caplen + 64;
	json_array_append_new(c->batch, json_pack("{s:I, s:s, s:I, s:s}", "time_ns",
						  (json_int_t)f->time_ns, "dir", dir_name(f->dir),
						  "length", (json_int_t)f->len, "data", hex));
	free(hex);
}

static bool notify(struct capture *c, const char *method, json_t *params)
{
	char *line = ctl_rpc_notification(method, params);
	bool ok = line != NULL && ctl_stream_send(&c->stream, line);

	free(line);
	return ok;
}

static bool pump(struct ctl_stream *s)
{
	struct capture *c = (struct capture *)s;
	json_int_t left = c->count ? c->count - c->sent : PER_ROUND;
	unsigned max = (unsigned)(left < PER_ROUND ? left : PER_ROUND), n = 0;
	bool empty = false; /* every frame queued so far is sent */

	c->batch = json_array();
	c->batch_bytes = 0;
	while (n < max && c->batch_bytes < BATCH_BYTES) {
		if (dp_capture_read(c->id, 1, add_frame, c) == 0) {
			empty = true;
			break;
		}
		n++;
	}
	uint64_t lost = dp_capture_lost(c->id);
	if (n > 0 || lost != c->lost_sent) {
		json_int_t got = (json_int_t)json_array_size(c->batch);
		if (!notify(c, PL_N_CAPTURE_PACKETS,
			    json_pack("{s:o, s:I}", "packets", c->batch, "lost", (json_int_t)lost)))
			c->behind = true;
		else
			c->sent += got;
		c->lost_sent = lost;
	} else {
		json_decref(c->batch);
	}
	c->batch = NULL;
	const char *why = c->behind ? "client_behind"
			  : c->count && c->sent >= c->count ? "count"
			  : !dp_capture_alive(c->id) && empty ? "port_removed"
			  : c->stopping && empty ? "stopped"
			  : NULL;
	if (why == NULL)
		return true;
	notify(c, PL_N_CAPTURE_END, json_pack("{s:s, s:I, s:I}", "reason", why, "captured", c->sent,
					      "lost", (json_int_t)dp_capture_lost(c->id)));
	return false;
}

static void end(struct ctl_stream *s)
{
	struct capture *c = (struct capture *)s;

	dp_capture_stop(c->id);
	free(c);
}

/* A whole number in [min, max], def when absent. */
static int int_param(json_t *params, const char *key, json_int_t min, json_int_t max,
		     json_int_t def, json_int_t *out, struct ctl_err *e)
{
	json_t *v = json_object_get(params, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: must be a whole number from %lld to %lld",
				key, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

/* A pod by its Kubernetes name: NAMESPACE/NAME, or NAME in one namespace. */
static const struct ctl_pod *pod_by_name(const char *t, struct ctl_err *e)
{
	const struct ctl_pod *found = NULL;
	const char *slash = strchr(t, '/');

	for (unsigned i = 0; i < CTL_MAX_PODS; i++) {
		const struct ctl_pod *p = &node.pods[i];
		if (!p->used || p->k8s_name[0] == '\0')
			continue;
		bool match = slash ? strncmp(t, p->k8s_namespace, (size_t)(slash - t)) == 0 &&
					     p->k8s_namespace[slash - t] == '\0' &&
					     strcmp(slash + 1, p->k8s_name) == 0
				   : strcmp(t, p->k8s_name) == 0;
		if (!match || (found && strcmp(found->container_id, p->container_id) == 0))
			continue; /* a pod's second interface: its first is taken */
		if (found) {
			ctl_fail(e, PL_E_INVALID_PARAMS, "target: pods named '%.64s' in namespaces "
				 "%.64s and %.64s: give NAMESPACE/NAME", t, found->k8s_namespace,
				 p->k8s_namespace);
			return NULL;
		}
		found = p;
	}
	return found;
}

/* TARGET: uplink, host, a port's name, a pod's container id or name. */
static int target_port(const char *t, uint16_t *port, struct ctl_err *e)
{
	const struct ctl_pod *p;

	if (strcmp(t, "uplink") == 0) {
		*port = dp_uplink_port();
		return 0;
	}
	if (strcmp(t, "host") == 0) {
		*port = dp_host_port();
		if (*port >= DP_MAX_PORTS)
			return ctl_fail(e, PL_E_NOT_FOUND, "target: this node has no host port");
		return 0;
	}
	if (dp_port_by_name(t, port) == 0)
		return 0;
	if ((p = ctl_pod_by_id(t)) != NULL || (p = pod_by_name(t, e)) != NULL) {
		*port = p->port;
		return 0;
	}
	if (e->code)
		return -1;
	return ctl_fail(e, PL_E_NOT_FOUND, "target: no pod, port, 'uplink' or 'host' named '%.64s'", t);
}

static json_t *m_capture_start(json_t *params, struct ctl_err *e)
{
	const char *target = ctl_param_str(params, "target", true, e), *filter = NULL, *dir = NULL;
	struct dp_capture_spec spec = {.dirs = DP_CAPTURE_IN | DP_CAPTURE_OUT};
	json_int_t snaplen, count;
	char err[512];

	if (target == NULL || ((filter = ctl_param_str(params, "filter", false, e)) == NULL && e->code) ||
	    ((dir = ctl_param_str(params, "direction", false, e)) == NULL && e->code) ||
	    int_param(params, "snaplen", 0, DP_CAPTURE_SNAP_MAX, 0, &snaplen, e) != 0 ||
	    int_param(params, "count", 0, INT64_MAX, 0, &count, e) != 0 ||
	    target_port(target, &spec.port, e) != 0)
		return NULL;
	if (dir != NULL && strcmp(dir, "in") == 0)
		spec.dirs = DP_CAPTURE_IN;
	else if (dir != NULL && strcmp(dir, "out") == 0)
		spec.dirs = DP_CAPTURE_OUT;
	else if (dir != NULL && strcmp(dir, "inout") != 0) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "direction: '%.16s' is not in, out or inout", dir);
		return NULL;
	}
	spec.filter = filter;
	spec.snaplen = snaplen ? (uint32_t)snaplen : DP_CAPTURE_SNAP_MAX; /* 0: as tcpdump -s 0 */
	struct capture *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		ctl_fail(e, PL_E_RESOURCE, "out of memory");
		return NULL;
	}
	c->count = count;
	c->stream.pump = pump;
	c->stream.end = end;
	c->id = dp_capture_start(&spec, err, sizeof(err));
	if (c->id < 0) {
		free(c);
		ctl_fail(e, strncmp(err, "filter", 6) == 0 ? PL_E_INVALID_PARAMS : PL_E_RESOURCE, "%s",
			 err);
		return NULL;
	}
	if (ctl_server_stream(&c->stream) != 0) {
		end(&c->stream);
		ctl_fail(e, PL_E_INVALID_REQUEST, "capture.start needs a connection of its own to "
			 "stream on");
		return NULL;
	}
	struct dp_port_info pi;
	dp_port_info(spec.port, &pi);
	const struct ctl_pod *pod = ctl_pod_on_port(spec.port);
	return json_pack("{s:i, s:s, s:o, s:I, s:s, s:s, s:I}", "capture", c->id, "port", pi.name,
			 "pod", pod ? json_string(pod->container_id) : json_null(), "snaplen",
			 (json_int_t)spec.snaplen, "filter", filter ? filter : "", "direction",
			 spec.dirs == DP_CAPTURE_IN ? "in" : spec.dirs == DP_CAPTURE_OUT ? "out" : "inout",
			 "count", count);
}
CTL_METHOD(PL_M_CAPTURE_START, m_capture_start)

static json_t *m_capture_stop(json_t *params, struct ctl_err *e)
{
	struct ctl_stream *s = ctl_server_current_stream();

	(void)params;
	if (s == NULL || s->pump != pump) {
		ctl_fail(e, PL_E_NOT_FOUND, "no capture on this connection");
		return NULL;
	}
	((struct capture *)s)->stopping = true;
	return json_pack("{s:i}", "capture", ((struct capture *)s)->id);
}
CTL_METHOD(PL_M_CAPTURE_STOP, m_capture_stop)
