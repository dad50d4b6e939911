/* The state files: state.json (pods and their addresses), routes.json
 * (routes added through the API), services.json and policies.json, each
 * rewritten after every change to what it holds, and read at start so a
 * restarted daemon brings back its pods, addresses, routes, services and
 * policies. Apart, so a pod
 * change never rewrites 100k agent routes.
 *
 * A write goes into FILE.prev (which holds the copy before last), then
 * renameat2(RENAME_EXCHANGE) swaps the two names: FILE is the new copy and
 * FILE.prev the one it replaced, and FILE is never missing or partial. At
 * start FILE.prev is used when FILE is damaged. No inode is created or
 * freed per write: ext4 made a create + rename-over cost 150 us, an
 * exchange costs 17.
 *
 * routes.json, services.json and policies.json are fsynced (file, then
 * directory): an operator's routes, services and policies must outlive a
 * power cut. state.json is not: what it protects against is the
 * daemon stopping, and the page cache outlives any process; a pod can
 * never outlive the kernel (its netns and TAP die with it), and at start
 * pods whose netns is gone are released anyway. The two fsyncs were 0.9 ms
 * of a 2.3 ms CNI ADD. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_node.h"

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* FILE.prev opened for rewriting in place; a hard link to FILE (the
 * layout earlier versions left) is broken first, or the write would
 * change both. */
static int open_prev(const char *prev)
{
	struct stat st;
	int fd = open(prev, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink > 1) {
		close(fd);
		unlink(prev);
		fd = open(prev, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	}
	return fd;
}

/* The layout of the state files this podlaned writes and reads. */
#define STATE_VERSION 1

static int save_doc(const char *path, const char *key, json_t *items, bool durable)
{
	json_t *root = json_pack("{s:i, s:o}", "version", STATE_VERSION, key, items);
	char prev[330];
	int fd, rc = 0;

	snprintf(prev, sizeof(prev), "%s.prev", path);
	/* One buffer, one write: json_dumpfd writes token by token, a syscall
	 * each, which made 100k routes take seconds. */
	char *text = json_dumps(root, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	fd = open_prev(prev);
	if (text == NULL) {
		rc = -ENOMEM;
	} else if (fd < 0 || write_all(fd, text, len) != 0 || ftruncate(fd, (off_t)len) != 0 ||
		   (durable && fdatasync(fd) != 0)) {
		rc = -errno;
	} else if (renameat2(AT_FDCWD, prev, AT_FDCWD, path, RENAME_EXCHANGE) != 0 &&
		   /* ENOENT: the first write; EINVAL: a filesystem without
		    * exchange, which then keeps no previous copy. */
		   ((errno != ENOENT && errno != EINVAL) || rename(prev, path) != 0)) {
		rc = -errno;
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0 && fd >= 0 && unlink(prev) != 0)
		ctl_warn("cannot remove the half-written %s: %s", prev, strerror(errno));
	free(text);
	json_decref(root);
	if (durable && rc == 0 &&
	    (fd = open(node.cfg.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rc != 0)
		ctl_error("cannot write state file %s: %s", path, strerror(-rc));
	return rc;
}

/* Files whose last write failed: written again at every change and once a
 * second (ctl_state_retry) until one succeeds. */
enum { DIRTY_PODS = 1, DIRTY_ROUTES = 2, DIRTY_SERVICES = 4, DIRTY_POLICIES = 8 };
static unsigned dirty;

static int mark(unsigned which, int rc)
{
	if (rc == 0)
		dirty &= ~which;
	else
		dirty |= which;
	return rc;
}

int ctl_state_save_pods(void)
{
	json_t *pods = json_array();

	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		if (node.pods[i].used)
			json_array_append_new(pods, ctl_pod_json(&node.pods[i]));
	return mark(DIRTY_PODS, save_doc(node.state_path, "pods", pods, false));
}

int ctl_state_save_routes(void)
{
	json_t *routes = json_array();

	for (uint32_t i = 0; i < node.route_cap; i++) {
		const struct ctl_route *r = &node.routes[i];
		/* Kernel-mirrored routes come back from the kernel, service
		 * ones with their services. */
		if (r->used && strcmp(r->origin, "system") != 0 && strcmp(r->origin, "pod") != 0 &&
		    strcmp(r->origin, "kernel") != 0 && strcmp(r->origin, "service") != 0)
			json_array_append_new(routes, ctl_route_json(r));
	}
	return mark(DIRTY_ROUTES, save_doc(node.routes_path, "routes", routes, true));
}

int ctl_state_save_services(void)
{
	json_t *svcs = json_array();

	for (uint32_t i = 0; i < node.cfg.max_services; i++)
		if (node.svcs[i].used)
			json_array_append_new(svcs, ctl_svc_json(&node.svcs[i], false));
	return mark(DIRTY_SERVICES, save_doc(node.services_path, "services", svcs, true));
}

int ctl_state_save_policies(void)
{
	json_t *pols = json_array();

	for (uint32_t i = 0; i < CTL_MAX_POLICIES; i++)
		if (node.policies[i].used)
			json_array_append_new(pols, ctl_policy_json(&node.policies[i], false));
	return mark(DIRTY_POLICIES, save_doc(node.policies_path, "policies", pols, true));
}

int ctl_state_refused(struct ctl_err *e, int rc, bool undone)
{
	return ctl_fail(e, PL_E_RESOURCE, "cannot save the state in %s: %s%s", node.cfg.state_dir,
			strerror(-rc), undone ? "; nothing was changed"
					      : "; the change is made and is saved again every second");
}

json_t *ctl_state_kept(int rc, json_t *result, struct ctl_err *e)
{
	if (rc == 0)
		return result;
	json_decref(result);
	ctl_state_refused(e, rc, false);
	return NULL;
}

void ctl_state_retry(void)
{
	if (dirty & DIRTY_PODS)
		ctl_state_save_pods();
	if (dirty & DIRTY_ROUTES)
		ctl_state_save_routes();
	if (dirty & DIRTY_SERVICES)
		ctl_state_save_services();
	if (dirty & DIRTY_POLICIES)
		ctl_state_save_policies();
}

bool ctl_state_dirty(void)
{
	return dirty != 0;
}

static void restore_pods(json_t *pods)
{
	size_t i;
	json_t *o;

	json_array_foreach(pods, i, o) {
		const char *id = json_string_value(json_object_get(o, "container_id"));
		const char *ifn = json_string_value(json_object_get(o, "ifname"));
		const char *ns = json_string_value(json_object_get(o, "netns"));
		const char *ip = json_string_value(json_object_get(o, "ip"));
		const char *ip6 = json_string_value(json_object_get(o, "ip6"));
		uint32_t addr = 0;
		uint8_t plen;
		struct ctl_pod *p;
		struct ctl_err e = {0};

		/* An IPv6-only node's pods have no "ip". */
		if (!id || !ifn || !ns || (!ip && !ip6) ||
		    (ip && ctl_parse_prefix(ip, &addr, &plen, true) != 0)) {
			ctl_warn("state: skipping malformed pod entry %zu", i);
			continue;
		}
		if (access(ns, F_OK) != 0) {
			ctl_warn("state: pod %s/%s: netns %s is gone, releasing %s", id, ifn, ns,
				 ip ? ip : ip6);
			continue;
		}
		if (!node.cfg.has_ipv4) /* the node became IPv6-only: its IPv6 address alone */
			addr = 0;
		uint16_t mtu = (uint16_t)json_integer_value(json_object_get(o, "mtu"));
		const char *kind = json_string_value(json_object_get(o, "interface"));
		bool vhost = kind != NULL && strcmp(kind, "vhost-user") == 0;
		char k8s_ns[PL_K8S_NAMESPACE_MAX + 1], k8s_name[PL_K8S_NAME_MAX + 1];
		if (ctl_pod_k8s_names(o, k8s_ns, k8s_name, &e) != 0)
			ctl_warn("state: pod %s/%s: %s (kept without its Kubernetes name)", id, ifn, e.msg);
		e = (struct ctl_err){0};
		/* Its IPv6 address as it had it (from a delegated IPAM plugin, or
		 * derived: the same again); derived anew when there is none (older
		 * state files) or the node's IPv6 pod prefix no longer holds it. */
		uint8_t a6[16], plen6;
		bool has6 = ip6 != NULL && ctl_parse_prefix6(ip6, a6, &plen6, true) == 0 &&
			    plen6 == 128 && node.cfg.has_pod6 &&
			    ctl_in_prefix6(a6, node.cfg.pod6_net, node.cfg.pod6_plen);
		if (ctl_pod_add(id, ns, ifn, addr, has6 ? a6 : NULL, mtu, vhost, true, &p, &e) != 0) {
			ctl_warn("state: pod %s/%s not restored: %s", id, ifn, e.msg);
			continue;
		}
		ctl_pod_set_k8s_names(p, k8s_ns, k8s_name);
	}
}

static void restore_routes(json_t *routes)
{
	size_t i;
	json_t *o;

	dp_route_batch();
	json_array_foreach(routes, i, o) {
		struct ctl_pfx pfx;
		struct dp_nh_spec nh;
		struct ctl_err e = {.msg = "route table full"};
		const char *origin = json_string_value(json_object_get(o, "origin"));

		if (ctl_route_parse(o, &pfx, &nh, &e) != 0 ||
		    ctl_route_set_pfx(&pfx, &nh, origin ? origin : "static") != 0)
			ctl_warn("state: route entry %zu not restored: %s", i, e.msg);
	}
	dp_commit();
}

static void restore_services(json_t *svcs)
{
	size_t i;
	json_t *o;

	json_array_foreach(svcs, i, o) {
		struct ctl_svc s;
		struct ctl_err e = {0};
		const char *origin = json_string_value(json_object_get(o, "origin"));

		if (ctl_svc_parse(o, &s, &e) != 0 || ctl_svc_route_conflict(&s, &e) != 0 ||
		    ctl_svc_set(&s, origin ? origin : "static", &e) != 0)
			ctl_warn("state: service entry %zu not restored: %s", i, e.msg);
		ctl_svc_free(&s);
	}
}

/* Each policy checked as the API would; then the set compiled at once. */
static void restore_policies(json_t *pols)
{
	size_t i;
	json_t *o;

	json_array_foreach(pols, i, o) {
		struct ctl_err e = {0};
		const char *origin = json_string_value(json_object_get(o, "origin"));
		int slot = ctl_policy_free_slot(NULL);
		if (ctl_policy_check(o, &e) != 0 || ctl_policy_find(json_string_value(
							   json_object_get(o, "name"))) != NULL || slot < 0) {
			ctl_warn("state: policy entry %zu not restored: %s", i,
				 e.code ? e.msg : "a duplicate name, or no room");
			continue;
		}
		json_t *c = json_deep_copy(o);
		json_object_del(c, "origin");
		ctl_policy_put((uint32_t)slot, c, origin ? origin : "static");
		json_decref(c);
	}
	struct ctl_err e = {0};
	if (ctl_policy_apply_all(&e) != 0) {
		/* Pods isolated by nothing rather than podlaned not starting:
		 * said loudly, and the file keeps them for a fixed config. */
		ctl_error("state: the restored policies cannot be compiled (%s): none enforced", e.msg);
		for (i = 0; i < CTL_MAX_POLICIES; i++)
			if (node.policies[i].used)
				ctl_policy_drop(&node.policies[i]);
	}
}

/* A state document holding array key, or NULL (logged) when missing,
 * truncated or not ours. */
static json_t *load(const char *path, const char *key)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);

	if (root == NULL) {
		if (access(path, F_OK) == 0)
			ctl_error("state file %s is corrupt: %s (line %d)", path, je.text, je.line);
		return NULL;
	}
	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != STATE_VERSION ||
	    !json_is_array(json_object_get(root, key))) {
		ctl_error("state file %s is not a podlane state (version %d with %s)", path,
			  STATE_VERSION, key);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* path, else path.prev when path is damaged (said so); NULL on first start. */
static json_t *load_or_prev(const char *path, const char *key)
{
	char prev[330];
	json_t *root;

	snprintf(prev, sizeof(prev), "%s.prev", path);
	if (access(path, F_OK) != 0 && access(prev, F_OK) != 0)
		return NULL;
	if ((root = load(path, key)) != NULL) {
		ctl_log("state restored from %s", path);
		return root;
	}
	if ((root = load(prev, key)) == NULL) {
		ctl_warn("no usable state in %s or %s; starting without it", path, prev);
		return NULL;
	}
	/* The damaged copy goes aside and the good one takes its name: the
	 * rewrite that follows makes a second good copy in FILE.prev, so a
	 * second damage still leaves one. (Left in place, the damaged copy
	 * would have become FILE.prev, and a second damage left nothing.) */
	char aside[340];
	snprintf(aside, sizeof(aside), "%s.damaged", path);
	if ((rename(path, aside) != 0 && errno != ENOENT) || rename(prev, path) != 0)
		ctl_warn("cannot put the damaged %s aside: %s", path, strerror(errno));
	ctl_warn("using the previous good state %s (the damaged one is now %s)", prev, aside);
	return root;
}

int ctl_state_version_check(const char *dir, char *err, size_t errlen)
{
	static const char *const files[] = {"state.json", "routes.json", "services.json",
					    "policies.json"};

	for (unsigned i = 0; i < 2 * RTE_DIM(files); i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s%s", dir, files[i / 2], i % 2 ? ".prev" : "");
		json_t *root = json_load_file(path, 0, NULL);
		json_int_t v = json_integer_value(json_object_get(root, "version"));
		json_decref(root);
		if (v > STATE_VERSION) {
			snprintf(err, errlen, "state file %s was written by a newer podlaned (state "
				 "version %lld; this one reads %d): refusing to start rather than lose "
				 "what it holds (run the newer podlaned again)",
				 path, (long long)v, STATE_VERSION);
			return -1;
		}
	}
	return 0;
}

int ctl_state_dir_check(const char *dir, char *err, size_t errlen)
{
	int rc = ctl_mkdir_p(dir);
	struct stat st;

	/* A state_dir podlaned cannot write is a bad config, not a moment to
	 * run without saving what it is told. */
	if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		rc = -ENOTDIR;
	if (rc == 0 && access(dir, W_OK | X_OK) != 0)
		rc = -errno;
	if (rc != 0)
		snprintf(err, errlen, "state_dir %s is not a directory podlaned can write (%s)", dir,
			 strerror(-rc));
	return rc;
}

void ctl_state_restore(void)
{
	json_t *pods = load_or_prev(node.state_path, "pods");
	json_t *routes = load_or_prev(node.routes_path, "routes");
	json_t *svcs = load_or_prev(node.services_path, "services");
	json_t *pols = load_or_prev(node.policies_path, "policies");
	if (pods != NULL)
		restore_pods(json_object_get(pods, "pods"));
	if (routes != NULL)
		restore_routes(json_object_get(routes, "routes"));
	else if (pods != NULL && json_is_array(json_object_get(pods, "routes")))
		restore_routes(json_object_get(pods, "routes")); /* 0.1 kept them in state.json */
	if (svcs != NULL)
		restore_services(json_object_get(svcs, "services"));
	if (pols != NULL)
		restore_policies(json_object_get(pols, "policies"));
	dp_commit();
	json_decref(pods);
	json_decref(routes);
	json_decref(svcs);
	json_decref(pols);
	/* Rewrite them: what could not be restored is gone for good. A write
	 * that fails now (a full disk) is tried again every second. */
	ctl_state_save_pods();
	ctl_state_save_routes();
	ctl_state_save_services();
	ctl_state_save_policies();
}
