#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>

#include "ctl_harness.h"
#include "ctl_node.h"
#include "ctl_rpc.h"

static char state_dir[] = "/tmp/plctltest.XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void remove_state_dir(void)
{
	nftw(state_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void ctl_harness_init(const char *config)
{
	char prefix[64], err[CTL_ERR_LEN];
	struct ctl_config c;

	snprintf(prefix, sizeof(prefix), "--file-prefix=plctl%d", (int)getpid());
	char *argv[] = {"test", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			"-l", "0", "--log-level", "*:error", prefix, NULL};
	/* Nothing here makes interfaces, but nothing must ever reach the host's. */
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET) (run as root)");
		exit(1);
	}
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0 || !mkdtemp(state_dir))
		exit(1);
	atexit(remove_state_dir);
	if (ctl_config_parse(config, strlen(config), &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "harness config: %s\n", err);
		exit(1);
	}
	snprintf(c.state_dir, sizeof(c.state_dir), "%s", state_dir);
	struct dp_config dc = {.n_workers = 1, .node_ip = c.node_ip, .node_plen = c.node_plen,
			       .ipv6 = c.has_pod6, .has_node6 = c.has_node6,
			       .max_routes = c.max_routes + 64, .max_flows = 1024,
			       .max_services = c.max_services};
	memcpy(dc.node_ip6, c.node6_ip, sizeof(dc.node_ip6));
	if (dp_init_tables(&dc, err, sizeof(err)) != 0 || ctl_node_tables(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "harness tables: %s\n", err);
		exit(1);
	}
}

const char *ctl_harness_state_dir(void)
{
	return state_dir;
}

void ctl_harness_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", state_dir, file);
}

json_t *ctl_call(const char *method, json_t *params, int *code, char *msg, size_t msglen)
{
	json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method", method,
				"params", params ? params : json_object());
	char *line = json_dumps(req, JSON_COMPACT);
	char *out = ctl_rpc_handle(line, strlen(line));
	json_t *resp = json_loads(out, 0, NULL), *result = json_object_get(resp, "result");
	json_t *error = json_object_get(resp, "error");

	assert_non_null(resp);
	if (code)
		*code = (int)json_integer_value(json_object_get(error, "code"));
	if (msg)
		snprintf(msg, msglen, "%s", error ? json_string_value(json_object_get(error, "message")) : "");
	json_incref(result);
	json_decref(resp);
	json_decref(req);
	free(line);
	free(out);
	return result;
}

json_t *ctl_call_ok(const char *method, json_t *params)
{
	char msg[512];
	json_t *r = ctl_call(method, params, NULL, msg, sizeof(msg));

	if (r == NULL)
		fail_msg("%s: %s", method, msg);
	return r;
}
