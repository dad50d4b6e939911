/* The state file: pods and non-system routes, rewritten atomically (temp
 * file, fsync, rename, fsync dir) after every change, read at start so a
 * restarted daemon brings back its pods, addresses and routes. The copy it
 * replaces stays as state.json.prev (a hard link, so there is never a
 * moment without a complete file), used when state.json is damaged. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_node.h"

static int mkdir_p(const char *dir)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -errno : 0;
}

int ctl_state_save(void)
{
	json_t *root = json_object(), *pods = json_array(), *routes = json_array();
	char tmp[320], dir[300];
	int fd, rc = 0;

	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		if (node.pods[i].used)
			json_array_append_new(pods, ctl_pod_json(&node.pods[i]));
	for (uint32_t i = 0; i < node.route_cap; i++) {
		const struct ctl_route *r = &node.routes[i];
		/* Kernel-mirrored routes come back from the kernel, not from here. */
		if (r->used && strcmp(r->origin, "system") != 0 && strcmp(r->origin, "pod") != 0 &&
		    strcmp(r->origin, "kernel") != 0)
			json_array_append_new(routes, ctl_route_json(r));
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "pods", pods);
	json_object_set_new(root, "routes", routes);

	char prev[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", node.state_path);
	snprintf(prev, sizeof(prev), "%s.prev", node.state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || json_dumpfd(root, fd, JSON_COMPACT) != 0 || fsync(fd) != 0) {
		rc = -errno;
	} else {
		unlink(prev);
		if (link(node.state_path, prev) != 0 && errno != ENOENT)
			ctl_warn("cannot keep the previous state as %s: %s", prev, strerror(errno));
		if (rename(tmp, node.state_path) != 0)
			rc = -errno;
	}
	if (fd >= 0)
		close(fd);
	json_decref(root);
	snprintf(dir, sizeof(dir), "%s", node.cfg.state_dir);
	if (rc == 0 && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rc != 0)
		ctl_error("cannot write state file %s: %s", node.state_path, strerror(-rc));
	return rc;
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
		uint32_t addr;
		uint8_t plen;
		struct ctl_pod *p;
		struct ctl_err e;

		if (!id || !ifn || !ns || !ip || ctl_parse_prefix(ip, &addr, &plen, true) != 0) {
			ctl_warn("state: skipping malformed pod entry %zu", i);
			continue;
		}
		if (access(ns, F_OK) != 0) {
			ctl_warn("state: pod %s/%s: netns %s is gone, releasing %s", id, ifn, ns, ip);
			continue;
		}
		uint16_t mtu = (uint16_t)json_integer_value(json_object_get(o, "mtu"));
		if (ctl_pod_add(id, ns, ifn, addr, mtu, &p, &e) != 0)
			ctl_warn("state: pod %s/%s not restored: %s", id, ifn, e.msg);
	}
}

static void restore_routes(json_t *routes)
{
	size_t i;
	json_t *o;

	json_array_foreach(routes, i, o) {
		uint32_t prefix;
		uint8_t plen;
		struct dp_nh_spec nh;
		struct ctl_err e = {.msg = "route table full"};
		const char *origin = json_string_value(json_object_get(o, "origin"));

		if (ctl_route_parse(o, &prefix, &plen, &nh, &e) != 0 ||
		    ctl_route_set(prefix, plen, &nh, origin ? origin : "static") != 0)
			ctl_warn("state: route entry %zu not restored: %s", i, e.msg);
	}
}

/* A state document, or NULL (logged) when missing, truncated or not ours. */
static json_t *load(const char *path)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);

	if (root == NULL) {
		if (access(path, F_OK) == 0)
			ctl_error("state file %s is corrupt: %s (line %d)", path, je.text, je.line);
		return NULL;
	}
	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1 ||
	    !json_is_array(json_object_get(root, "pods")) ||
	    !json_is_array(json_object_get(root, "routes"))) {
		ctl_error("state file %s is not a podlane state (version 1 with pods and routes)", path);
		json_decref(root);
		return NULL;
	}
	return root;
}

int ctl_state_restore(void)
{
	json_t *root;
	int rc = mkdir_p(node.cfg.state_dir);

	if (rc != 0) {
		ctl_error("cannot create state_dir %s: %s", node.cfg.state_dir, strerror(-rc));
		return rc;
	}
	char prev[320];
	const char *used = node.state_path;
	snprintf(prev, sizeof(prev), "%s.prev", node.state_path);
	if (access(node.state_path, F_OK) != 0 && access(prev, F_OK) != 0)
		return 0; /* first start */
	root = load(node.state_path);
	if (root == NULL) {
		used = prev;
		root = load(prev);
		if (root == NULL) {
			ctl_warn("no usable state in %s or %s; starting empty", node.state_path, prev);
			return 0;
		}
		ctl_warn("using the previous good state %s", prev);
	}
	restore_pods(json_object_get(root, "pods"));
	restore_routes(json_object_get(root, "routes"));
	dp_commit();
	json_decref(root);
	ctl_log("state restored from %s", used);
	return ctl_state_save();
}
