/* The netlink batch (control/ctl_netlink.c) against the kernel, in a
 * private network namespace: every request applied, the first refusal
 * reported with its position, optional requests allowed to fail. Needs
 * CAP_SYS_ADMIN for unshare; skipped without it. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "ctl_netlink.h"

static int lo;

static uint32_t ip(const char *s)
{
	uint32_t a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET) != 0)
		return 0; /* each test skips */
	lo = (int)if_nametoindex("lo");
	return 0;
}

static void need_netns(void)
{
	if (lo == 0)
		skip();
}

struct find_route {
	uint32_t dst;
	uint8_t plen;
	int oif;
	bool found;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct find_route *f = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	uint32_t dst = 0;
	int oif = 0;

	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_DST)
			dst = mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) == RTA_OIF)
			oif = (int)mnl_attr_get_u32(a);
	}
	if (rtm->rtm_dst_len == f->plen && dst == f->dst && oif == f->oif)
		f->found = true;
	return MNL_CB_OK;
}

static bool route_present(const char *dst, uint8_t plen, int oif)
{
	struct find_route f = {.dst = ip(dst), .plen = plen, .oif = oif};
	assert_int_equal(ctl_nl_route_dump(AF_INET, route_cb, &f), 0);
	return f.found;
}

static void test_batch_applies_every_request(void **state)
{
	(void)state;
	need_netns();
	struct ctl_nl_batch b;
	unsigned failed = 99;

	ctl_nl_batch_init(&b);
	ctl_nl_link_set(&b, lo, NULL, true);
	ctl_nl_addr_add(&b, lo, ip("10.9.8.7"), 32);
	ctl_nl_route_add(&b, ip("10.1.0.0"), 16, 0, lo);
	ctl_nl_route_add(&b, ip("10.2.0.0"), 16, ip("10.9.8.7"), lo);
	assert_int_equal(ctl_nl_batch_send(&b, &failed), 0);
	assert_int_equal(failed, 0);
	assert_int_equal(ctl_nl_addr_present(lo, ip("10.9.8.7"), 32), 1);
	assert_true(route_present("10.1.0.0", 16, lo));
	assert_true(route_present("10.2.0.0", 16, lo));
}

/* The kernel answers every refusal (and the last request); the first
 * refusal is the one reported, and the requests after it still ran. */
static void test_first_refusal_reported(void **state)
{
	(void)state;
	need_netns();
	struct ctl_nl_batch b;
	unsigned failed = 99;

	ctl_nl_batch_init(&b);
	ctl_nl_link_set(&b, lo, NULL, true);
	ctl_nl_route_add(&b, ip("10.3.0.0"), 16, 0, 9999); /* no such link */
	ctl_nl_link_sizes(&b, lo, UINT32_MAX, 0);           /* no device takes it */
	ctl_nl_addr_add(&b, lo, ip("10.9.8.9"), 32);
	assert_int_equal(ctl_nl_batch_send(&b, &failed), -ENODEV);
	assert_int_equal(failed, 1);
	assert_int_equal(ctl_nl_addr_present(lo, ip("10.9.8.9"), 32), 1);

	ctl_nl_batch_init(&b);
	ctl_nl_link_sizes(&b, lo, UINT32_MAX, 0);
	assert_int_equal(ctl_nl_batch_send(&b, &failed), -EINVAL);
	assert_int_equal(failed, 0);

	/* Only the last request asks for an answer: its refusal still counts. */
	ctl_nl_batch_init(&b);
	ctl_nl_addr_add(&b, lo, ip("10.9.8.11"), 32);
	ctl_nl_route_add(&b, ip("10.4.0.0"), 16, 0, 9999);
	assert_int_equal(ctl_nl_batch_send(&b, &failed), -ENODEV);
	assert_int_equal(failed, 1);
	assert_int_equal(ctl_nl_addr_present(lo, ip("10.9.8.11"), 32), 1);
}

/* pod.del's rename: down first (the kernel renames only links that are
 * down), then the new name; the link keeps its index. */
static void test_rename(void **state)
{
	(void)state;
	need_netns();
	struct ctl_nl_batch b;
	unsigned failed = 99;

	ctl_nl_batch_init(&b);
	ctl_nl_link_set(&b, lo, NULL, true);
	ctl_nl_link_rename(&b, lo, "pldel7");
	assert_int_equal(ctl_nl_batch_send(&b, &failed), 0);
	assert_int_equal((int)if_nametoindex("pldel7"), lo);
	assert_int_equal(if_nametoindex("lo"), 0);
	ctl_nl_batch_init(&b);
	ctl_nl_link_rename(&b, lo, "lo");
	ctl_nl_link_set(&b, lo, NULL, true);
	assert_int_equal(ctl_nl_batch_send(&b, &failed), 0);
	assert_int_equal((int)if_nametoindex("lo"), lo);
}

static void test_optional_refusal_ignored(void **state)
{
	(void)state;
	need_netns();
	struct ctl_nl_batch b;
	unsigned failed = 99;

	ctl_nl_batch_init(&b);
	ctl_nl_link_no_ipv6_ll(&b, 9999); /* refused: no such link */
	ctl_nl_addr_add(&b, lo, ip("10.9.8.10"), 32);
	assert_int_equal(ctl_nl_batch_send(&b, &failed), 0);
	assert_int_equal(ctl_nl_addr_present(lo, ip("10.9.8.10"), 32), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_applies_every_request),
		cmocka_unit_test(test_first_refusal_reported),
		cmocka_unit_test(test_optional_refusal_ignored),
		cmocka_unit_test(test_rename),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
