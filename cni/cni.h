/* The podlane CNI plugin: translates CNI (spec 0.4.0, 1.0.0, 1.1.0) to
 * podlaned's JSON-RPC. Links jansson and the socket client only. */
#ifndef CNI_H
#define CNI_H

#include <jansson.h>

#include "pl_validate.h"

/* The spec's error codes, then ours (documented in cni/README.md). */
enum cni_code {
	CNI_E_VERSION = 1,
	CNI_E_ENV = 4,
	CNI_E_DECODE = 6,
	CNI_E_CONFIG = 7,
	CNI_E_TRY_LATER = 11,
	CNI_E_NOT_AVAILABLE = 50, /* STATUS: cannot add pods now */
	CNI_E_DAEMON = 100,       /* podlaned refused; details carry its code */
	CNI_E_IPAM = 101,         /* the delegated IPAM plugin failed */
	CNI_E_CHECK = 102,        /* CHECK found the attachment broken */
};

enum cni_kind { CNI_ADD, CNI_DEL, CNI_CHECK, CNI_VERSION, CNI_STATUS, CNI_GC };

/* Largest network config read from stdin. */
#define CNI_MAX_STDIN (1 << 20)

struct cni_req {
	enum cni_kind kind;
	const char *command, *container_id, *netns, *ifname, *args, *path;
	json_t *conf;            /* the network config from stdin */
	const char *version;     /* its cniVersion */
	const char *socket;      /* podlaned socket */
	json_t *ipam;            /* the "ipam" section, or NULL */
	json_t *prev;            /* prevResult, or NULL */
	const char *interface;   /* "tap" or "vhost-user" */
	char arg_buf[64];        /* a value taken from CNI_ARGS */
	/* The pod's Kubernetes namespace and name (CNI_ARGS K8S_POD_NAMESPACE,
	 * K8S_POD_NAME, as kubelet sets them); empty when not given. One byte
	 * more than the longest valid: a longer value is refused, not cut. */
	char k8s_namespace[PL_K8S_NAMESPACE_MAX + 2];
	char k8s_name[PL_K8S_NAME_MAX + 2];
};

extern const char *const cni_versions[]; /* supported, NULL-terminated */

/* Fill r from the CNI_* variables (read through get, e.g. getenv) and the
 * network config text; on any error print the spec's error object and
 * end through cni_fail. */
void cni_request_parse(struct cni_req *r, char *(*get)(const char *), const char *conf,
		       size_t len);

/* How cni_fail ends: exit() in the plugin; the fuzz target jumps back. */
extern void (*cni_exit)(int status) __attribute__((noreturn));

/* Print the spec's error object on stdout and end with status 1. */
_Noreturn void cni_fail(const struct cni_req *r, int code, const char *details, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Run the IPAM plugin named in r->ipam with r->command; returns its result. */
json_t *cni_ipam_exec(const struct cni_req *r, const char *command);

int cni_add(struct cni_req *r);
int cni_del(struct cni_req *r);
int cni_check(struct cni_req *r);
int cni_status(struct cni_req *r);
int cni_gc(struct cni_req *r);

#endif
