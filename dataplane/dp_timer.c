/* The dataplane's clocks and its once-a-second work on the control
 * thread: the clock flows age by, workers' load, flow aging, neighbour
 * probes and aging. */
#include <time.h>

#include <rte_cycles.h>

#include "dp_nat.h"

void dp_clock_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	dp.clock_tsc0 = rte_get_tsc_cycles();
	dp.clock_ns0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t dp_tsc_to_ns(uint64_t tsc)
{
	uint64_t hz = rte_get_tsc_hz(), since = tsc - dp.clock_tsc0;

	return dp.clock_ns0 + since / hz * 1000000000u + since % hz * 1000000000u / hz;
}

/* Each worker's busy share since the last second, for stats and metrics. */
static void workers_sample(uint64_t now)
{
	for (unsigned i = 0; i < dp.cfg.n_workers; i++) {
		struct dp_worker *w = &dp.workers[i];
		uint64_t busy = __atomic_load_n(&w->stats.busy_cycles, __ATOMIC_RELAXED);
		if (w->load_tsc != 0 && now > w->load_tsc)
			__atomic_store_n(&w->load_ppm,
					 (uint32_t)RTE_MIN((busy - w->load_busy) * 1000000 /
							   (now - w->load_tsc), UINT64_C(1000000)),
					 __ATOMIC_RELAXED);
		w->load_busy = busy;
		w->load_tsc = now;
	}
}

void dp_timer(void)
{
	uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();

	__atomic_store_n(&dp.now_s, dp.now_s + 1, __ATOMIC_RELAXED);
	dp_slowpath_run();
	workers_sample(now);
	dp_nat_timer();
	dp_neigh_age(now, hz);
}
