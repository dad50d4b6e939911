/* Dataplane start-up and shutdown: EAL, mbufs, tables, workers. */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pdump.h>

#include "dp_nat.h"

struct dp dp;

int dp_init_tables(const struct dp_config *c, char *err, size_t errlen)
{
	memset(&dp, 0, sizeof(dp));
	dp.cfg = *c;
	dp.node_mask = c->node_plen ? rte_cpu_to_be_32(~0u << (32 - c->node_plen)) : 0;
	dp.uplink = dp.host = DP_MAX_PORTS;
	dp.slowpath_efd = -1;
	dp.closer_pipe[0] = dp.closer_pipe[1] = -1;
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++) {
		dp.workers[i].id = i;
		dp.workers[i].epfd = dp.workers[i].kickfd = -1;
	}
	for (unsigned i = 0; i < c->n_workers; i++) {
		struct dp_worker *w = &dp.workers[i];
		struct epoll_event kick = {.events = EPOLLIN, .data.u32 = DP_KICK_EV};
		if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    (w->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->kickfd, &kick) != 0) {
			snprintf(err, errlen, "worker %u: epoll and eventfd: %s", i, strerror(errno));
			return -1;
		}
	}

	/* Enough for every port's rx ring plus packets in flight. */
	dp.pool = rte_pktmbuf_pool_create("podlane_mbufs", 16383, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (dp.pool == NULL) {
		snprintf(err, errlen, "cannot allocate packet buffers: %s (give EAL more memory, "
			 "e.g. \"-m\", \"512\")", rte_strerror(rte_errno));
		return -1;
	}
	/* Kernel port reads: one whole GSO frame per buffer (buf_len is 16 bits).
	 * Each worker holds one spare plus a burst in flight; the rest
	 * covers frames waiting in queues (ARP, a NIC's tx ring). */
	dp.big_pool = rte_pktmbuf_pool_create("podlane_big", 511, 16, 0,
					      UINT16_MAX - RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	dp.indirect_pool = rte_pktmbuf_pool_create("podlane_indirect", 8191, 256, 0, 0,
						   SOCKET_ID_ANY);
	if (dp.big_pool == NULL || dp.indirect_pool == NULL) {
		snprintf(err, errlen, "cannot allocate GSO frame buffers: %s (give EAL more "
			 "memory, e.g. \"-m\", \"512\")", rte_strerror(rte_errno));
		return -1;
	}
	dp_clock_init();
	if (dp_route_init(c->max_routes, c->ipv6, err, errlen) != 0)
		return -1;
	dp.nat = rte_zmalloc("podlane_nat", sizeof(*dp.nat), RTE_CACHE_LINE_SIZE);
	if (dp.nat == NULL) {
		snprintf(err, errlen, "cannot allocate the NAT state");
		return -1;
	}
	if (dp_ct_init(c->max_flows, err, errlen) != 0 || dp_svc_init(c->max_services, err, errlen) != 0 ||
	    dp_drops_init(c->drop_records, err, errlen) != 0)
		return -1;
	struct rte_hash_parameters hp = {
		.name = "podlane_neigh",
		.entries = DP_MAX_NEIGH,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
		/* Workers read while the control thread (only writer) adds. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	dp.neigh_hash = rte_hash_create(&hp);
	dp.neigh6_hash = NULL;
	memset(dp.neigh6, 0, sizeof(dp.neigh6));
	if (c->ipv6) {
		hp.name = "podlane_neigh6";
		hp.entries = DP_MAX_NEIGH6;
		hp.key_len = 16;
		if ((dp.neigh6_hash = rte_hash_create(&hp)) == NULL) {
			snprintf(err, errlen, "cannot create the IPv6 neighbour table");
			return -1;
		}
	}
	dp.neigh_queued = 0;
	dp.slowpath = rte_ring_create("podlane_slowpath", DP_SLOWPATH_RING, SOCKET_ID_ANY,
				      RING_F_SC_DEQ);
	dp.slowpath_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dp.neigh_hash == NULL || dp.slowpath == NULL || dp.slowpath_efd < 0) {
		snprintf(err, errlen, "cannot create neighbour table or slow-path queue");
		return -1;
	}
	return 0;
}

int dp_init(int argc, char **argv, const struct dp_config *c, char *err, size_t errlen)
{
	if (c->n_workers < 1 || c->n_workers > DP_MAX_WORKERS) {
		snprintf(err, errlen, "workers must be 1..%u, not %u", DP_MAX_WORKERS, c->n_workers);
		return -1;
	}
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(err, errlen, "DPDK EAL init failed: %s", rte_strerror(rte_errno));
		return -1;
	}
	/* dpdk-dumpcap (a secondary process) captures through this; it
	 * needs shared memory, so with --no-huge or --in-memory it cannot
	 * attach and capture is simply unavailable. */
	if (rte_eal_process_type() == RTE_PROC_PRIMARY && rte_pdump_init() != 0)
		dp_log(RTE_LOG_WARNING, "packet capture unavailable: %s", rte_strerror(rte_errno));
	if (rte_lcore_count() < c->n_workers + 1) {
		snprintf(err, errlen, "workers is %u but EAL has %u lcores (need workers + 1)",
			 c->n_workers, rte_lcore_count());
		goto fail;
	}
	if (dp_init_tables(c, err, errlen) == 0 && dp_kport_closers_start(err, errlen) == 0)
		return 0;
fail:
	rte_pdump_uninit();
	rte_eal_cleanup();
	return -1;
}

/* Runs on a worker's lcore (its thread) before the worker: 0 or errno. */
static int set_nice(void *arg)
{
	return setpriority(PRIO_PROCESS, (id_t)gettid(), *(const int *)arg) == 0 ? 0 : errno;
}

int dp_start_workers(void)
{
	unsigned lcore, i = 0;
	int rc;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (i == dp.cfg.n_workers)
			break;
		dp.workers[i].lcore = lcore;
		/* A worker sharing its core with pods is preempted by each pod
		 * it wakes (a write to a TAP runs the pod's receive path and
		 * wakes its reader), and the pods' frames wait meanwhile; the
		 * kernel's own packet work (softirq) goes before
		 * applications. Not fatal: it runs, at the default priority. */
		if (rte_eal_remote_launch(set_nice, &dp.cfg.worker_nice, lcore) != 0)
			return -1;
		if ((rc = rte_eal_wait_lcore(lcore)) != 0)
			dp_log(RTE_LOG_WARNING, "worker %u: cannot set its nice to %d: %s", i,
			       dp.cfg.worker_nice, strerror(rc));
		if (rte_eal_remote_launch(dp_worker_main, &dp.workers[i], lcore) != 0)
			return -1;
		i++;
	}
	return 0;
}

void dp_stop_workers(void)
{
	if (dp.stop)
		return;
	dp.stop = true;
	for (unsigned i = 0; i < dp.cfg.n_workers; i++)
		dp_worker_kick(&dp.workers[i]);
	rte_eal_mp_wait_lcore();
	/* What workers punted before they stopped (ARP, ICMP to the node):
	 * handled, not dropped, while the ports are still open. */
	dp_slowpath_run();
}

void dp_stop(void)
{
	uint16_t pid;

	dp_stop_workers();
	RTE_ETH_FOREACH_DEV(pid) {
		rte_eth_dev_stop(pid);
		rte_eth_dev_close(pid);
	}
	for (pid = RTE_MAX_ETHPORTS; pid < DP_MAX_PORTS; pid++)
		if (dp.ports[pid].active)
			dp_kport_close(pid, false); /* TAPs stay for the next podlaned */
	dp_kport_closers_stop();
	for (unsigned i = 0; i < dp.cfg.n_workers; i++) {
		close(dp.workers[i].epfd);
		close(dp.workers[i].kickfd);
	}
	rte_pdump_uninit();
	rte_eal_cleanup();
}
