/* Arbitrary bytes as one JSON-RPC request line: parse, dispatch to every
 * method, reply. Must never crash, leak or hang. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"
#include "dp.h"
#include "ctl_rpc.h"
#include "fuzz_env.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char state_dir[] = "/tmp/plfuzz.XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* libFuzzer ends with exit(): the state files the RPCs wrote go with it. */
static void remove_state_dir(void)
{
	nftw(state_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Dual-stack: the route methods take IPv6 too. */
	static const char cfg[] =
		"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], \"pod_cidr\": "
		"[\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"], \"uplink\": \"net_null0\"}";
	struct ctl_config c;
	char err[CTL_ERR_LEN];
	struct dp_config dc = {.n_workers = 1, .max_routes = 1 << 12, .max_flows = 1024,
			       .max_services = 64};

	(void)argc;
	(void)argv;
	fuzz_eal_init();
	if (ctl_config_parse(cfg, sizeof(cfg) - 1, &c, err, sizeof(err)) != 0 ||
	    !mkdtemp(state_dir))
		abort();
	atexit(remove_state_dir);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s", state_dir);
	c.max_routes = 1 << 12;
	c.max_services = dc.max_services;
	dc.node_ip = c.node_ip;
	dc.node_plen = c.node_plen;
	dc.ipv6 = c.has_pod6;
	dc.has_node6 = c.has_node6;
	memcpy(dc.node_ip6, c.node6_ip, sizeof(dc.node_ip6));
	if (dp_init_tables(&dc, err, sizeof(err)) != 0 || ctl_node_tables(&c, err, sizeof(err)) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	free(ctl_rpc_handle((const char *)data, size));
	return 0;
}
