/* The benchmarks' random destinations: xorshift64, fixed seed, so every run
 * draws the same sequence. */
#ifndef PODLANE_BENCH_RNG_H
#define PODLANE_BENCH_RNG_H

#include <stdint.h>

static uint64_t bench_rng = 88172645463325252ull;

static inline uint32_t xorshift(void)
{
	bench_rng ^= bench_rng << 13;
	bench_rng ^= bench_rng >> 7;
	bench_rng ^= bench_rng << 17;
	return (uint32_t)(bench_rng >> 11);
}

#endif
