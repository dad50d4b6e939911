/* plroute: the route table through the dataplane's own interface, no
 * API, no packets. For each table size: dp_route_add of N /24 routes (in
 * 16.0.0.0/4) in one batch (dp_route_batch, as route.replace_all and a
 * kernel table's changes come), then the workers' bulk lookup over those
 * routes in order and at random (cycles per lookup, 32 per call as a
 * worker does), then 10000 more added and deleted one at a time, each
 * visible to workers before the next (a grace period each: no worker
 * runs here, so that is the cost of the tables alone), then dp_route_del
 * of them all in one batch.
 *
 *   plroute [N ...]        (default 10 10000 100000 1000000)
 *
 * Prints one JSON object per size, one per line. Uses --no-huge memory. */
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "bench_rng.h"
#include "dp_ip4.h"

#define LOOKUPS (1u << 22)
#define BASE 0x10000000u /* 16.0.0.0 */

/* Cycles per lookup over LOOKUPS destinations, one in each route in turn
 * or drawn at random; fails if any lookup misses. */
static double lookup_cycles(uint32_t n, bool random, uint32_t *dst)
{
	uint32_t hop[32];

	for (uint32_t i = 0; i < LOOKUPS; i++)
		dst[i] = BASE + ((random ? xorshift() % n : i % n) << 8) + 9;
	uint64_t t = rte_rdtsc_precise();
	for (uint32_t i = 0; i < LOOKUPS; i += 32) {
		dp_ip4_hops(dst + i, hop, 32);
		for (int k = 0; k < 32; k++)
			if (hop[k] == DP_HOP_NONE) {
				fprintf(stderr, "plroute: lookup of route %u missed\n", i + k);
				exit(1);
			}
	}
	return (double)(rte_rdtsc_precise() - t) / LOOKUPS;
}

int main(int argc, char **argv)
{
	char *eal[] = {"plroute", "--no-huge", "-m", "1536", "--no-pci", "--no-shconf",
		       "--no-telemetry", "-l", "0", "--log-level", "lib.eal:error", NULL};
	static const uint32_t def[] = {10, 10000, 100000, 1000000};
	uint32_t sizes[16], n_sizes = 0;
	char err[256];

	for (int i = 1; i < argc && n_sizes < 16; i++)
		sizes[n_sizes++] = (uint32_t)strtoul(argv[i], NULL, 10);
	if (n_sizes == 0)
		for (; n_sizes < RTE_DIM(def); n_sizes++)
			sizes[n_sizes] = def[n_sizes];
	for (uint32_t i = 0; i < n_sizes; i++)
		if (sizes[i] == 0 || sizes[i] > DP_MAX_ROUTES) {
			fprintf(stderr, "plroute: sizes are 1..%u routes\n", DP_MAX_ROUTES);
			return 2;
		}
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	struct dp_config c = {.n_workers = 1, .max_routes = DP_MAX_ROUTES, .max_flows = 1024,
			      .max_services = 1};
	if (dp_init_tables(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "plroute: %s\n", err);
		return 1;
	}
	rte_rcu_qsbr_thread_register(dp.qsbr, 0); /* a reader that is never late */
	uint32_t *dst = malloc(LOOKUPS * sizeof(*dst));
	if (dst == NULL) {
		fprintf(stderr, "plroute: no memory for %u destinations\n", LOOKUPS);
		return 1;
	}
	struct dp_nh_spec nh = {.kind = DP_NH_DROP};
	double hz = (double)rte_get_tsc_hz();

	for (uint32_t s = 0; s < n_sizes; s++) {
		uint32_t n = sizes[s];
		uint64_t t = rte_rdtsc_precise();
		dp_route_batch();
		for (uint32_t i = 0; i < n; i++)
			if (dp_route_add(rte_cpu_to_be_32(BASE + (i << 8)), 24, &nh) != 0) {
				fprintf(stderr, "plroute: route %u of %u not added\n", i, n);
				return 1;
			}
		dp_commit();
		double add_s = (double)(rte_rdtsc_precise() - t) / hz;
		double seq = lookup_cycles(n, false, dst), rnd = lookup_cycles(n, true, dst);
		/* One at a time, each visible before the next, beside the n. */
		uint32_t one = 10000;
		t = rte_rdtsc_precise();
		for (uint32_t i = 0; i < one; i++)
			dp_route_add(rte_cpu_to_be_32(0x20000000u + (i << 8)), 24, &nh);
		for (uint32_t i = 0; i < one; i++)
			dp_route_del(rte_cpu_to_be_32(0x20000000u + (i << 8)), 24);
		dp_commit();
		double one_s = (double)(rte_rdtsc_precise() - t) / hz;
		t = rte_rdtsc_precise();
		dp_route_batch();
		for (uint32_t i = 0; i < n; i++)
			dp_route_del(rte_cpu_to_be_32(BASE + (i << 8)), 24);
		dp_commit();
		double del_s = (double)(rte_rdtsc_precise() - t) / hz;
		printf("{\"routes\": %u, \"add_per_s\": %.0f, \"del_per_s\": %.0f, "
		       "\"one_by_one_per_s\": %.0f, "
		       "\"lookup_cycles_sequential\": %.2f, \"lookup_cycles_random\": %.2f}\n",
		       n, n / add_s, n / del_s, 2 * one / one_s, seq, rnd);
		fflush(stdout);
	}
	free(dst);
	rte_eal_cleanup();
	return 0;
}
