/* podlaned: the node appliance. The EAL main lcore runs the control loop
 * (socket API, neighbour slow path, timers); worker lcores forward. */
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_node.h"
#include "ctl_server.h"
#include "dp.h"

static volatile sig_atomic_t stopping;

#define EAL_USER_MAX 64

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: podlaned --config FILE [-- EAL-ARGS...]\n"
		"       podlaned --keeper STATE_DIR\n"
		"\n"
		"Runs podlane's pod router for one node: DPDK workers forward between the\n"
		"uplink, the host exception TAP and every pod's port; the control thread\n"
		"serves the JSON-RPC API on a Unix socket.\n"
		"\n"
		"  -c, --config FILE  daemon configuration (JSON; see config/podlaned.json)\n"
		"  -n, --check        validate the configuration, print \"FILE: ok\" and exit\n"
		"  -t, --take-over    when a podlaned serves the socket, start beside it and\n"
		"                     take its place: DPDK and the tables first, then it is\n"
		"                     stopped (SIGTERM) and its ports, state and connections\n"
		"                     taken over (a DaemonSet's surge update)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n"
		"  --keeper STATE_DIR run only the fd keeper of the podlaned whose state_dir\n"
		"                     it is, standing: it holds the pods' interfaces while no\n"
		"                     podlaned runs and never ends by itself (for where\n"
		"                     podlaned's end takes all it started: a Kubernetes pod)\n"
		"\n"
		"EAL arguments after -- (and the config's \"eal\" list) go to DPDK. podlaned\n"
		"adds --no-pci (af_packet: or vdev uplink, which it probes itself) or -a ADDR\n"
		"(PCI uplink), --lcores (main + workers) and --file-prefix podlane unless\n"
		"given (in a take-over, PREFIX-b when PREFIX is the running podlaned's).\n"
		"Exit codes: 0 stopped by signal, 1 start-up failure, 2 bad usage or config.\n");
}

static bool has_arg(char **v, int n, const char *const names[])
{
	for (int i = 0; i < n; i++)
		for (int k = 0; names[k]; k++)
			if (strncmp(v[i], names[k], strlen(names[k])) == 0)
				return true;
	return false;
}

/* In a take-over, EAL's file prefix in out[n] is another than the
 * running podlaned's: the one asked for, or it with "-b" when that one is
 * in use (a take-over of a take-over gets the first one back). */
static int other_prefix(char **out, int n, char *err, size_t errlen)
{
	static char alt[256];
	int at = -1;
	const char *p = "";

	for (int i = 0; i < n; i++) {
		if (strcmp(out[i], "--in-memory") == 0)
			return 0; /* no runtime files to share */
		if (strcmp(out[i], "--file-prefix") == 0 && i + 1 < n)
			p = out[(at = i + 1)];
		else if (strncmp(out[i], "--file-prefix=", 14) == 0)
			p = out[at = i] + 14;
	}
	if (at < 0 || !ctl_takeover_prefix_busy(p))
		return 0;
	snprintf(alt, sizeof(alt), "%s%s-b", out[at] == p ? "" : "--file-prefix=", p);
	if (ctl_takeover_prefix_busy(out[at] == p ? alt : alt + 14)) {
		snprintf(err, errlen, "take-over: EAL file prefixes %s and %s-b are both in use", p, p);
		return -1;
	}
	out[at] = alt;
	return 0;
}

/* The EAL command line: ours first, then the config's, then the user's.
 * A vdev uplink is not on it: ctl_node_init probes it, as a take-over
 * must, whose EAL starts while the podlaned before has the device. */
static int eal_argv(const struct ctl_config *c, int extra_n, char **extra, bool take_over,
		    char **out, char *err, size_t errlen)
{
	static char uplink[320], lcores[256];
	static const char *const lc_opts[] = {"-l", "--lcores", "-c", NULL};
	static const char *const fp_opts[] = {"--file-prefix", "--in-memory", NULL};
	int n = 0;

	out[n++] = "podlaned";
	snprintf(uplink, sizeof(uplink), "%s", c->uplink);
	if (c->uplink_is_pci) {
		out[n++] = "-a";
		out[n++] = uplink;
	} else {
		out[n++] = "--no-pci"; /* a vdev or podlaned's own packet sockets */
	}
	if (!has_arg((char **)c->eal, c->n_eal, lc_opts) && !has_arg(extra, extra_n, lc_opts)) {
		cpu_set_t set;
		int cpus[CPU_SETSIZE], nc = 0;
		sched_getaffinity(0, sizeof(set), &set);
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				cpus[nc++] = i;
		int len = snprintf(lcores, sizeof(lcores), "--lcores=0@%d", cpus[0]);
		for (unsigned w = 1; w <= c->workers; w++)
			len += snprintf(lcores + len, sizeof(lcores) - (size_t)len, ",%u@%d", w,
					cpus[w % (unsigned)nc]);
		out[n++] = lcores;
	}
	if (!has_arg((char **)c->eal, c->n_eal, fp_opts) && !has_arg(extra, extra_n, fp_opts)) {
		out[n++] = "--file-prefix";
		out[n++] = "podlane";
	}
	for (int i = 0; i < c->n_eal; i++)
		out[n++] = c->eal[i];
	for (int i = 0; i < extra_n; i++)
		out[n++] = extra[i];
	out[n] = NULL;
	return take_over && other_prefix(out, n, err, errlen) != 0 ? -1 : n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'n'},
		{"take-over", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	bool check = false, take_over = false;
	struct ctl_config c;
	char err[CTL_ERR_LEN];
	int o;

	/* The fd keeper (ctl_keeper.c): podlaned's binary, started by it. */
	if (argc == 4 && strcmp(argv[1], "--fd-keeper") == 0)
		return ctl_keeper_main(atoi(argv[2]), argv[3], false);
	if (argc == 3 && strcmp(argv[1], "--keeper") == 0)
		return ctl_keeper_standing(argv[2]);
	while ((o = getopt_long(argc, argv, "c:nthV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 't':
			take_over = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("podlaned %s\n", PODLANE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "podlaned: --config FILE is required\n");
		return 2;
	}
	if (ctl_config_load(config, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "podlaned: %s\n", err);
		return 2;
	}
	if (check) {
		printf("%s: ok\n", config);
		ctl_config_free(&c);
		return 0;
	}
	/* Ours (at most 9), the config's (at most 32), the user's. */
	if (argc - optind > EAL_USER_MAX) {
		fprintf(stderr, "podlaned: at most %d EAL arguments after --, not %d\n", EAL_USER_MAX,
			argc - optind);
		ctl_config_free(&c);
		return 2;
	}
	dp_log_init(c.log_level);
	/* Paths first: a bad one must stop the start before ports exist. The
	 * socket served: another podlaned, whose place a take-over takes. */
	pid_t old = take_over ? ctl_takeover_peer(c.socket) : 0, taken = old;
	struct timespec asked = {0};
	char *eal[128];
	int n_eal = 0;
	/* EAL probes a PCI uplink at its start, which it cannot while the
	 * podlaned before has the device: that one is stopped first, as a
	 * restart would. */
	if (old > 0 && c.uplink_is_pci) {
		ctl_log("take-over: the uplink is a PCI device: stopping podlaned %d first", (int)old);
		if (ctl_takeover_stop(old, &asked, err, sizeof(err)) != 0) {
			ctl_error("start-up failed: %s", err);
			ctl_config_free(&c);
			return 1;
		}
		old = 0;
	}
	if (ctl_state_dir_check(c.state_dir, err, sizeof(err)) != 0 ||
	    ctl_state_version_check(c.state_dir, err, sizeof(err)) != 0 ||
	    (old == 0 && ctl_server_path_check(c.socket, err, sizeof(err)) != 0) ||
	    (n_eal = eal_argv(&c, argc - optind, argv + optind, old > 0, eal, err, sizeof(err))) < 0) {
		ctl_error("start-up failed: %s", err);
		ctl_config_free(&c);
		return 1;
	}
	/* Before DPDK: the keeper, started now if there is none, holds none
	 * of its memory. In a take-over, once the podlaned before is gone
	 * (the keeper is its, and gives its fds to one podlaned at a time). */
	if (old == 0)
		ctl_keeper_connect(c.state_dir);
	struct dp_config dc = {.n_workers = c.workers, .worker_nice = c.worker_nice,
			       .node_ip = c.node_ip, .node_plen = c.node_plen, .ipv6 = c.has_pod6,
			       .ipv6_only = !c.has_ipv4, .has_node6 = c.has_node6,
			       .max_routes = c.max_routes + 64, .max_flows = c.max_flows,
			       .max_services = c.max_services, .drop_records = c.drop_records};
	memcpy(dc.node_ip6, c.node6_ip, sizeof(dc.node_ip6));
	memcpy(dc.pod6, c.pod6_net, sizeof(dc.pod6));

	int rc = 1;
	if (dp_init(n_eal, eal, &dc, err, sizeof(err)) != 0) {
		ctl_error("start-up failed: %s", err);
		goto out_config;
	}
	if (old > 0) {
		ctl_log("take-over: DPDK is up; stopping podlaned %d", (int)old);
		if (ctl_takeover_stop(old, &asked, err, sizeof(err)) != 0 ||
		    ctl_server_path_check(c.socket, err, sizeof(err)) != 0) {
			ctl_error("start-up failed: %s", err);
			goto out;
		}
		ctl_keeper_connect(c.state_dir);
	}
	if (ctl_node_init(&c, err, sizeof(err)) != 0 ||
	    ctl_nat_start(&c, err, sizeof(err)) != 0) {
		ctl_error("start-up failed: %s", err);
		goto out;
	}
	ctl_state_restore();
	/* After the services its flows name. Pods but no connections: the
	 * podlaned before was killed, and the connections its pods had open
	 * meet isolating policies and Service NAT as new ones; their answers
	 * are picked up. */
	if (!ctl_conntrack_restore() && ctl_pods_count() > 0)
		dp_ct_pickup(CTL_PICKUP_S);
	ctl_neigh_restore();
	ctl_keeper_taken(); /* the keeper holds ours now; fds of pods not restored closed */
	ctl_nat_sync();
	if (dp_start_workers() != 0 || ctl_server_listen(c.socket, c.socket_gid, c.max_request_mb, err, sizeof(err)) != 0) {
		ctl_error("start-up failed: %s", err[0] ? err : "cannot launch workers");
		goto out;
	}
	ctl_server_watch_fd(dp_slowpath_fd(), dp_slowpath_run);
	if (c.import_table) {
		if (ctl_kroutes_start(c.import_table) != 0) {
			ctl_error("start-up failed: cannot mirror kernel table %u", c.import_table);
			goto out;
		}
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ctl_telemetry_register();
	if (c.metrics_port && ctl_metrics_start(c.metrics_ip, c.metrics_port, err, sizeof(err)) != 0) {
		ctl_error("start-up failed: %s", err);
		goto out;
	}
	node.ready = true;
	ctl_log("ready: node %s, %u worker(s), socket %s", c.uplink, c.workers, c.socket);
	if (taken > 0)
		ctl_takeover_done(taken, &asked);

	struct timespec last, now;
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!stopping) {
		if (ctl_server_poll(200) != 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec != last.tv_sec) {
			dp_timer();
			ctl_node_watch_uplink();
			ctl_ports_watch();
			ctl_keeper_watch();
			ctl_nat_sync();
			ctl_state_retry();
			last = now;
		}
	}
	ctl_log("stopping");
	dp_stop_workers();
	ctl_conntrack_save(); /* the table is final now */
	ctl_neigh_save();
	rc = 0;
out:
	ctl_nat_stop();
	ctl_metrics_stop();
	ctl_server_close();
	dp_stop();
out_config:
	ctl_config_free(&c);
	return rc;
}
