/* The pod address pool (control/ctl_ipam.c): which address a pod gets,
 * what is never given, what release and reserve do, exhaustion. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ctl_node.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* A fresh pool over cidr/plen, as ctl_node_tables makes it. */
static void pool(const char *cidr, uint8_t plen)
{
	free(node.ipam);
	node.cfg.pod_net = ip(cidr);
	node.cfg.pod_plen = plen;
	node.ipam_size = 1u << (32 - plen);
	node.ipam = calloc((node.ipam_size + 63) / 64, sizeof(uint64_t));
	assert_non_null(node.ipam);
}

static void expect_alloc(const char *want)
{
	uint32_t got;
	assert_int_equal(ctl_ipam_alloc(&got), 0);
	assert_int_equal(got, ip(want));
}

/* Lowest free first; the network and broadcast addresses never. */
static void test_lowest_first_skips_network_and_broadcast(void **state)
{
	(void)state;
	pool("100.96.1.0", 29);
	assert_int_equal(ctl_ipam_free_count(), 6);
	for (const char *const *a = (const char *const[]){"100.96.1.1", "100.96.1.2", "100.96.1.3",
							   "100.96.1.4", "100.96.1.5", "100.96.1.6",
							   NULL};
	     *a; a++)
		expect_alloc(*a);
	uint32_t got = 0;
	assert_int_equal(ctl_ipam_alloc(&got), -ENOSPC);
	assert_int_equal(ctl_ipam_free_count(), 0);
}

/* A released address is the next one given, and only once. */
static void test_release_then_reuse(void **state)
{
	(void)state;
	pool("100.96.2.0", 24);
	for (int i = 0; i < 10; i++) {
		uint32_t a;
		assert_int_equal(ctl_ipam_alloc(&a), 0);
	}
	ctl_ipam_release(ip("100.96.2.4"));
	ctl_ipam_release(ip("100.96.2.7"));
	assert_int_equal(ctl_ipam_free_count(), 254 - 8);
	expect_alloc("100.96.2.4");
	expect_alloc("100.96.2.7");
	expect_alloc("100.96.2.11");
	/* Releasing twice, or what was never given, changes nothing. */
	ctl_ipam_release(ip("100.96.2.11"));
	ctl_ipam_release(ip("100.96.2.11"));
	ctl_ipam_release(ip("100.96.2.200"));
	assert_int_equal(ctl_ipam_free_count(), 254 - 10);
}

/* reserve: a pod asking for its address (CNI "ip" arg, restored state). */
static void test_reserve(void **state)
{
	(void)state;
	pool("100.96.3.0", 24);
	assert_int_equal(ctl_ipam_reserve(ip("100.96.3.1")), 0);
	assert_int_equal(ctl_ipam_reserve(ip("100.96.3.1")), -EEXIST);
	assert_int_equal(ctl_ipam_reserve(ip("100.96.3.0")), -EINVAL);   /* network */
	assert_int_equal(ctl_ipam_reserve(ip("100.96.3.255")), -EINVAL); /* broadcast */
	assert_int_equal(ctl_ipam_reserve(ip("100.96.4.1")), -EINVAL);   /* outside pod_cidr */
	expect_alloc("100.96.3.2"); /* the reserved one is skipped */
	ctl_ipam_release(ip("100.96.4.1")); /* outside: ignored, no crash */
	assert_int_equal(ctl_ipam_free_count(), 252);
}

/* Across the bitmap's 64-bit words, and to the last usable address of a
 * large pool. */
static void test_words_and_large_pool(void **state)
{
	(void)state;
	pool("100.100.0.0", 16);
	assert_int_equal(ctl_ipam_free_count(), 65534);
	for (uint32_t i = 1; i <= 64; i++) {
		uint32_t a;
		assert_int_equal(ctl_ipam_alloc(&a), 0);
		assert_int_equal(ntohl(a), ntohl(ip("100.100.0.0")) + i);
	}
	assert_int_equal(ctl_ipam_reserve(ip("100.100.255.254")), 0);
	ctl_ipam_release(ip("100.100.0.63"));
	expect_alloc("100.100.0.63");
	expect_alloc("100.100.0.65");
	assert_int_equal(ctl_ipam_free_count(), 65534 - 66);
}

static void ip6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static void expect_alloc6(const char *want)
{
	uint8_t got[16], w[16];
	ip6(want, w);
	assert_int_equal(ctl_ipam_alloc6(got), 0);
	assert_memory_equal(got, w, 16);
}

/* An IPv6-only node: its pool is the prefix's first 64 Ki addresses (all
 * of a /120's 256), lowest first, ::0 never; an address beyond the pool
 * (a delegated IPAM plugin's) is reserved without taking room. */
static void test_ipv6_only(void **state)
{
	uint8_t a[16];

	(void)state;
	free(node.ipam);
	node.cfg.has_ipv4 = false;
	ip6("fd00:10:96:f3::", node.cfg.pod6_net);
	node.cfg.pod6_plen = 64;
	node.ipam_size = 1u << 16;
	node.ipam = calloc((node.ipam_size + 63) / 64, sizeof(uint64_t));
	assert_non_null(node.ipam);
	assert_int_equal(ctl_ipam_free_count(), 65534);
	expect_alloc6("fd00:10:96:f3::1");
	expect_alloc6("fd00:10:96:f3::2");
	ip6("fd00:10:96:f3::3", a);
	assert_int_equal(ctl_ipam_reserve6(a), 0);
	assert_int_equal(ctl_ipam_reserve6(a), -EEXIST);
	expect_alloc6("fd00:10:96:f3::4");
	ip6("fd00:10:96:f3::", a);
	assert_int_equal(ctl_ipam_reserve6(a), -EINVAL); /* the prefix's own address */
	ip6("fd00:10:96:f4::5", a);
	assert_int_equal(ctl_ipam_reserve6(a), -EINVAL); /* outside pod_cidr */
	ip6("fd00:10:96:f3::1:0:5", a);
	assert_int_equal(ctl_ipam_reserve6(a), 0); /* beyond the pool */
	assert_int_equal(ctl_ipam_free_count(), 65534 - 4);
	ctl_ipam_release6(a); /* beyond: nothing to give back */
	ip6("fd00:10:96:f3::2", a);
	ctl_ipam_release6(a);
	assert_int_equal(ctl_ipam_free_count(), 65534 - 3);
	expect_alloc6("fd00:10:96:f3::2");
	ip6("fd00:10:96:f3::ffff", a);
	assert_int_equal(ctl_ipam_reserve6(a), -EINVAL); /* the pool's last: never given */
	node.cfg.has_ipv4 = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_first_skips_network_and_broadcast),
		cmocka_unit_test(test_release_then_reuse),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_words_and_large_pool),
		cmocka_unit_test(test_ipv6_only),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(node.ipam);
	return rc;
}
