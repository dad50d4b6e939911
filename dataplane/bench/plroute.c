/* plroute: the route table through the dataplane's own interface, no
 * API, no packets. For each table size: dp_route_add of N /24 routes (in
 * 16.0.0.0/4) in one batch (dp_route_batch, as route.replace_all and a
 * kernel table's changes come), then the workers' bulk lookup over those
 * routes in order and at random (cycles per lookup, 32 per call as a
 * worker does), then 10000 more added and deleted one at a time, each
 * visible to workers before the next (a grace period each: no worker
 * runs here, so that is the cost of the tables alone), then dp_route_del
 * of them all in one batch. With --ipv6, the same with N /64s (in
 * fd00:16::/32; up to 6000: rte_fib6's trie spends 5 of its 32767 groups
 * a /64) and 1000 one at a time, in the IPv6 tables.
 *
 *   plroute [N ...]          (default 10 10000 100000 1000000)
 *   plroute --ipv6 [N ...]   (default 10 1000 5000)
 *
 * Prints one JSON object per size, one per line. Uses --no-huge memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "bench_rng.h"
#include "dp_ip4.h"
#include "dp_ip6.h"

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

/* Route i of the IPv6 runs: fd00:16:0:i::/64 (base 0), or one of a
 * second range (base 1, fd00:17::/32) for the one-at-a-time changes. */
static void pfx6(uint32_t i, unsigned base, uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = 0xfd;
	out[3] = (uint8_t)(0x16 + base);
	out[4] = (uint8_t)(i >> 24);
	out[5] = (uint8_t)(i >> 16);
	out[6] = (uint8_t)(i >> 8);
	out[7] = (uint8_t)i;
}

static double lookup6_cycles(uint32_t n, bool random, uint8_t (*dst)[16])
{
	uint32_t hop[32];

	for (uint32_t i = 0; i < LOOKUPS; i++) {
		pfx6(random ? xorshift() % n : i % n, 0, dst[i]);
		dst[i][15] = 9;
	}
	uint64_t t = rte_rdtsc_precise();
	for (uint32_t i = 0; i < LOOKUPS; i += 32) {
		dp_ip6_hops(dst + i, hop, 32);
		for (int k = 0; k < 32; k++)
			if (hop[k] == DP_HOP_NONE) {
				fprintf(stderr, "plroute: IPv6 lookup of route %u missed\n", i + k);
				exit(1);
			}
	}
	return (double)(rte_rdtsc_precise() - t) / LOOKUPS;
}

/* The IPv6 runs: as main's, with /64s. */
static int run6(const uint32_t *sizes, uint32_t n_sizes)
{
	uint8_t (*dst)[16] = malloc(LOOKUPS * sizeof(*dst)), p[16];
	struct dp_nh_spec nh = {.kind = DP_NH_DROP};
	double hz = (double)rte_get_tsc_hz();
	const uint32_t one = 1000;

	if (dst == NULL) {
		fprintf(stderr, "plroute: no memory for %u destinations\n", LOOKUPS);
		return 1;
	}
	for (uint32_t s = 0; s < n_sizes; s++) {
		uint32_t n = sizes[s];
		uint64_t t = rte_rdtsc_precise();
		dp_route_batch();
		for (uint32_t i = 0; i < n; i++) {
			pfx6(i, 0, p);
			if (dp_route6_add(p, 64, &nh) != 0) {
				fprintf(stderr, "plroute: IPv6 route %u of %u not added\n", i, n);
				return 1;
			}
		}
		dp_commit();
		double add_s = (double)(rte_rdtsc_precise() - t) / hz;
		double seq = lookup6_cycles(n, false, dst), rnd = lookup6_cycles(n, true, dst);
		t = rte_rdtsc_precise();
		for (uint32_t i = 0; i < one; i++) {
			pfx6(i, 1, p);
			dp_route6_add(p, 64, &nh);
		}
		for (uint32_t i = 0; i < one; i++) {
			pfx6(i, 1, p);
			dp_route6_del(p, 64);
		}
		dp_commit();
		double one_s = (double)(rte_rdtsc_precise() - t) / hz;
		t = rte_rdtsc_precise();
		dp_route_batch();
		for (uint32_t i = 0; i < n; i++) {
			pfx6(i, 0, p);
			dp_route6_del(p, 64);
		}
		dp_commit();
		double del_s = (double)(rte_rdtsc_precise() - t) / hz;
		printf("{\"family\": 6, \"routes\": %u, \"add_per_s\": %.0f, \"del_per_s\": %.0f, "
		       "\"one_by_one_per_s\": %.0f, "
		       "\"lookup_cycles_sequential\": %.2f, \"lookup_cycles_random\": %.2f}\n",
		       n, n / add_s, n / del_s, 2 * one / one_s, seq, rnd);
		fflush(stdout);
	}
	free(dst);
	return 0;
}

int main(int argc, char **argv)
{
	char *eal[] = {"plroute", "--no-huge", "-m", "1536", "--no-pci", "--no-shconf",
		       "--no-telemetry", "-l", "0", "--log-level", "lib.eal:error", NULL};
	static const uint32_t def[] = {10, 10000, 100000, 1000000}, def6[] = {10, 1000, 5000};
	bool ipv6 = argc > 1 && strcmp(argv[1], "--ipv6") == 0;
	uint32_t sizes[16], n_sizes = 0, max = ipv6 ? 6000 : DP_MAX_ROUTES;
	char err[256];

	for (int i = 1 + ipv6; i < argc && n_sizes < 16; i++)
		sizes[n_sizes++] = (uint32_t)strtoul(argv[i], NULL, 10);
	if (n_sizes == 0)
		for (; n_sizes < (ipv6 ? RTE_DIM(def6) : RTE_DIM(def)); n_sizes++)
			sizes[n_sizes] = ipv6 ? def6[n_sizes] : def[n_sizes];
	for (uint32_t i = 0; i < n_sizes; i++)
		if (sizes[i] == 0 || sizes[i] > max) {
			fprintf(stderr, "plroute: sizes are 1..%u %s routes\n", max, ipv6 ? "IPv6" : "IPv4");
			return 2;
		}
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	struct dp_config c = {.n_workers = 1, .max_routes = DP_MAX_ROUTES, .max_flows = 1024,
			      .max_services = 1, .ipv6 = ipv6};
	if (dp_init_tables(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "plroute: %s\n", err);
		return 1;
	}
	rte_rcu_qsbr_thread_register(dp.qsbr, 0); /* a reader that is never late */
	if (ipv6) {
		int rc = run6(sizes, n_sizes);
		rte_eal_cleanup();
		return rc;
	}
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
