/* JSON-RPC 2.0, the protocol: one request line in, one response line out,
 * dispatched to the methods that registered themselves. The socket and its
 * clients are ctl_server.c's. */
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

static struct {
	struct ctl_method *methods;
	uint64_t invalid; /* requests that reached no method */
} rpc;

void ctl_method_register(struct ctl_method *m)
{
	m->next = rpc.methods;
	rpc.methods = m;
}

const struct ctl_method *ctl_rpc_methods(void)
{
	return rpc.methods;
}

uint64_t ctl_rpc_invalid_count(void)
{
	return __atomic_load_n(&rpc.invalid, __ATOMIC_RELAXED);
}

const char *ctl_param_str(json_t *params, const char *key, bool required, struct ctl_err *e)
{
	json_t *v = json_object_get(params, key);

	if (v == NULL) {
		if (required)
			ctl_fail(e, PL_E_INVALID_PARAMS, "%s: missing", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "%s: must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

const char *ctl_param_origin(json_t *params, const char *def, struct ctl_err *e)
{
	const char *o = ctl_param_str(params, "origin", false, e);

	if (o == NULL)
		return e->code ? NULL : def;
	if (o[0] == '\0' || strlen(o) >= CTL_ORIGIN_LEN)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "origin: '%.32s' is not allowed (1-%d "
				"characters)", o, CTL_ORIGIN_LEN - 1),
		       NULL;
	return o;
}

/* A message as one line on the wire (r is consumed). */
static char *line_of(json_t *r)
{
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL, *line;

	json_decref(r);
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	line = realloc(s, n + 2);
	if (line == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

static char *reply(json_t *id, json_t *result, int code, const char *msg)
{
	json_t *r = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", id ? id : json_null());

	if (result != NULL)
		json_object_set_new(r, "result", result);
	else
		json_object_set_new(r, "error", json_pack("{s:i, s:s}", "code", code, "message", msg));
	return line_of(r);
}

char *ctl_rpc_notification(const char *method, json_t *params)
{
	return line_of(json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method, "params",
				 params));
}

char *ctl_rpc_handle(const char *line, size_t len)
{
	json_error_t je;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je), *id, *params, *result;
	struct ctl_err e = {0};
	const char *method;
	char msg[CTL_ERR_LEN + 64];
	bool ran = false, valid = false;
	char *out;

	if (req == NULL) {
		__atomic_fetch_add(&rpc.invalid, 1, __ATOMIC_RELAXED);
		snprintf(msg, sizeof(msg), "parse error: %s at column %d", je.text, je.column);
		return reply(NULL, NULL, PL_E_PARSE, msg);
	}
	if (!json_is_object(req)) {
		__atomic_fetch_add(&rpc.invalid, 1, __ATOMIC_RELAXED);
		json_decref(req);
		return reply(NULL, NULL, PL_E_INVALID_REQUEST,
			     "invalid request: expected one JSON object per line (no batches)");
	}
	id = json_object_get(req, "id");
	method = json_string_value(json_object_get(req, "method"));
	params = json_object_get(req, "params");
	if (id != NULL && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) {
		out = reply(NULL, NULL, PL_E_INVALID_REQUEST, "invalid request: id must be a string or integer");
	} else if (!json_is_string(json_object_get(req, "jsonrpc")) ||
		   strcmp(json_string_value(json_object_get(req, "jsonrpc")), "2.0") != 0) {
		out = reply(id, NULL, PL_E_INVALID_REQUEST, "invalid request: jsonrpc must be \"2.0\"");
	} else if (method == NULL) {
		out = reply(id, NULL, PL_E_INVALID_REQUEST, "invalid request: method must be a string");
	} else if (params != NULL && !json_is_object(params)) {
		out = reply(id, NULL, PL_E_INVALID_PARAMS, "params must be an object");
	} else {
		struct ctl_method *m = rpc.methods;
		valid = true;
		while (m && strcmp(m->name, method) != 0)
			m = m->next;
		if (m == NULL) {
			snprintf(msg, sizeof(msg), "unknown method '%s'", method);
			out = reply(id, NULL, PL_E_METHOD_NOT_FOUND, msg);
		} else {
			json_t *empty = params ? NULL : json_object();
			result = m->fn(params ? params : empty, &e);
			json_decref(empty);
			__atomic_fetch_add(result ? &m->n_ok : &m->n_failed, 1, __ATOMIC_RELAXED);
			ran = true;
			out = result ? reply(id, result, 0, NULL)
				     : reply(id, NULL, e.code ? e.code : PL_E_INTERNAL,
					     e.msg[0] ? e.msg : "internal error");
		}
	}
	if (!ran)
		__atomic_fetch_add(&rpc.invalid, 1, __ATOMIC_RELAXED);
	/* A notification (a valid request without id) gets no answer; an
	 * invalid request gets one with id null (JSON-RPC 2.0, 5). */
	if (id == NULL && valid) {
		free(out);
		out = NULL;
	}
	json_decref(req);
	return out;
}


char *ctl_rpc_error(int code, const char *msg)
{
	return reply(NULL, NULL, code, msg);
}
