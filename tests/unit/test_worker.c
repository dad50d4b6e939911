/* A worker thread for real: idle with no DPDK queue it blocks (no wake-ups
 * at all), a kick ends the block, so it stops at once and starts polling
 * DPDK queues given to it while it slept. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fwd_harness.h"

#define W (&dp.workers[0])

static pid_t worker_tid;

static void *run(void *arg)
{
	worker_tid = (pid_t)syscall(SYS_gettid);
	dp_worker_main(arg);
	return NULL;
}

/* Context switches of the worker thread so far: each wake-up is one. */
static long switches(void)
{
	char path[64], line[128];
	long n = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)worker_tid);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
			n += v;
	fclose(f);
	return n;
}

static void start(pthread_t *t)
{
	dp.stop = false;
	W->hold_tx = false;
	worker_tid = 0;
	assert_int_equal(pthread_create(t, NULL, run, W), 0);
	while (__atomic_load_n(&worker_tid, __ATOMIC_ACQUIRE) == 0)
		usleep(1000);
	usleep(100 * 1000); /* its few spins are over: it blocks */
}

/* Stops the worker as dp_stop does; it must be gone within a second. */
static void stop(pthread_t t)
{
	struct timespec by;

	dp.stop = true;
	dp_worker_kick(W);
	clock_gettime(CLOCK_REALTIME, &by);
	by.tv_sec += 1;
	assert_int_equal(pthread_timedjoin_np(t, NULL, &by), 0);
}

static void test_idle_worker_sleeps_until_kicked(void **state)
{
	pthread_t t;
	(void)state;

	start(&t);
	long before = switches();
	usleep(300 * 1000);
	/* It used to wake every 1-3 ms: 100 or more in this time. */
	assert_true(switches() - before <= 2);
	stop(t);
}

/* A DPDK queue given to a blocked worker is polled at once: the frame
 * waiting in it is forwarded. */
static void test_queue_given_while_blocked_is_polled(void **state)
{
	pthread_t t;
	struct rte_mbuf *m;
	(void)state;

	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	assert_int_equal(dp_route_add(ip4("100.96.243.3"), 32, &b), 0);
	start(&t);
	/* The pod's ring port: a frame waits in its rx ring. */
	m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	struct rte_ring *rx = rte_ring_lookup("t_rx2");
	assert_non_null(rx);
	assert_int_equal(rte_ring_enqueue(rx, m), 0);
	usleep(100 * 1000);
	assert_int_equal(rte_ring_count(t_txr[T_POD_B][0]), 0); /* nobody polls it yet */
	assert_int_equal(dp_workers_assign(T_POD_A, 1), 0);
	for (int i = 0; i < 1000 && rte_ring_count(t_txr[T_POD_B][0]) == 0; i++)
		usleep(1000);
	assert_int_equal(rte_ring_count(t_txr[T_POD_B][0]), 1);
	stop(t);
	assert_int_equal(rte_ring_dequeue(t_txr[T_POD_B][0], (void **)&m), 0);
	assert_int_equal(t_ip(m)->time_to_live, 63);
	rte_pktmbuf_free(m);
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_idle_worker_sleeps_until_kicked),
		T(test_queue_given_while_blocked_is_polled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
