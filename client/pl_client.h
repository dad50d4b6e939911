/* The small client of podlaned's socket API, shared by podlanectl and the
 * CNI plugin. Links jansson only (never DPDK). */
#ifndef PL_CLIENT_H
#define PL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

struct pl_client {
	int fd;
	int next_id;
	char buf[65536];
	size_t len;
};

/* 0, or -errno with msg filled ("cannot connect to ...: ..."). */
int pl_client_open(struct pl_client *c, const char *path, int timeout_ms, char *msg, size_t msglen);
void pl_client_close(struct pl_client *c);
/* Calls method with params (stolen; may be NULL). Returns the result (new
 * reference) or NULL with *code (JSON-RPC code, or 0 for a transport
 * failure) and msg set. */
json_t *pl_client_call(struct pl_client *c, const char *method, json_t *params, int *code,
		       char *msg, size_t msglen);

/* Sends method with params (stolen; may be NULL) as a notification: no
 * reply comes. 0, or -1 with msg set. */
int pl_client_notify(struct pl_client *c, const char *method, json_t *params, char *msg,
		     size_t msglen);
/* The next line podlaned sends on its own (a notification, e.g. a
 * capture's packets), waiting as long as it takes (a signal ends the wait:
 * NULL with errno EINTR). NULL with msg set when the connection ends or
 * the line is not JSON. */
json_t *pl_client_next(struct pl_client *c, char *msg, size_t msglen);

#endif
