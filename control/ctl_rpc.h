/* JSON-RPC 2.0 over a Unix socket, newline-delimited. Methods register
 * themselves with CTL_METHOD, so adding one touches only its own file. */
#ifndef CTL_RPC_H
#define CTL_RPC_H

#include "ctl.h"

/* Returns the result (new reference) or NULL with *e filled. */
typedef json_t *(*ctl_method_fn)(json_t *params, struct ctl_err *e);

struct ctl_method {
	const char *name;
	ctl_method_fn fn;
	uint64_t n_ok, n_failed; /* calls by result; read by metrics (relaxed) */
	struct ctl_method *next;
};

void ctl_method_register(struct ctl_method *m);
/* For metrics: every method with its counters, and requests that reached
 * none (parse errors, invalid requests, unknown methods). */
const struct ctl_method *ctl_rpc_methods(void);
uint64_t ctl_rpc_invalid_count(void);

#define CTL_METHOD(mname, fn_)                                                                     \
	static struct ctl_method method_##fn_ = {.name = mname, .fn = fn_};                         \
	__attribute__((constructor)) static void register_##fn_(void)                               \
	{                                                                                          \
		ctl_method_register(&method_##fn_);                                                 \
	}

/* Handle one request line; returns the response line (malloc'd, with
 * trailing newline), or NULL for a notification (no id). */
char *ctl_rpc_handle(const char *line, size_t len);

/* The same for an error with no request to answer (id null), for the
 * server's own refusals. */
char *ctl_rpc_error(int code, const char *msg);

/* A notification line (params stolen) that podlaned sends on its own, as
 * a capture's packets. */
char *ctl_rpc_notification(const char *method, json_t *params);

/* Params helpers: fetch a string member or fail naming it. */
const char *ctl_param_str(json_t *params, const char *key, bool required, struct ctl_err *e);
/* The optional "origin": who owns what a call sets (def when not given);
 * 1 to CTL_ORIGIN_LEN - 1 characters. */
const char *ctl_param_origin(json_t *params, const char *def, struct ctl_err *e);

#endif
