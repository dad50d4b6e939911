/* Delegated IPAM, as the spec says: find the plugin named by ipam.type in
 * CNI_PATH, run it with the same environment (CNI_COMMAND set) and the
 * same network config on stdin, read its result from stdout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni.h"

extern char **environ;

static void find_plugin(const struct cni_req *r, const char *type, char *out, size_t len)
{
	const char *p = r->path;

	if (strchr(type, '/') || type[0] == '.')
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: ipam.type '%.64s' is not a plugin name", type);
	while (p && *p) {
		size_t n = strcspn(p, ":");
		snprintf(out, len, "%.*s/%s", (int)n, p, type);
		if (access(out, X_OK) == 0)
			return;
		p += n + (p[n] == ':');
	}
	cni_fail(r, CNI_E_CONFIG, r->path, "IPAM plugin '%.64s' not found in CNI_PATH", type);
}

json_t *cni_ipam_exec(const struct cni_req *r, const char *command)
{
	const char *type = json_string_value(json_object_get(r->ipam, "type"));
	char path[PATH_MAX];
	int in[2], out[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;

	find_plugin(r, type, path, sizeof(path));
	setenv("CNI_COMMAND", command, 1);
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		cni_fail(r, CNI_E_IPAM, strerror(errno), "cannot run IPAM plugin %s", type);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char *argv[] = {path, NULL};
	int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0)
		cni_fail(r, CNI_E_IPAM, strerror(rc), "cannot run IPAM plugin %s", path);
	char *conf = json_dumps(r->conf, JSON_COMPACT);
	size_t n = strlen(conf), off = 0;
	while (off < n) {
		ssize_t w = write(in[1], conf + off, n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(conf);
	close(in[1]);
	json_error_t je;
	FILE *f = fdopen(out[0], "r");
	json_t *res = json_loadf(f, JSON_DISABLE_EOF_CHECK, &je);
	fclose(f);
	int status = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *m = json_string_value(json_object_get(res, "msg"));
		cni_fail(r, CNI_E_IPAM, json_string_value(json_object_get(res, "details")),
			 "IPAM plugin %s %s failed: %s", type, command, m ? m : "no error message");
	}
	if (res == NULL && strcmp(command, "DEL") != 0)
		cni_fail(r, CNI_E_IPAM, je.text, "IPAM plugin %s printed no valid result", type);
	return res;
}
