/* route.replace_all (control/ctl_m_route.c): an agent's whole set applied
 * as a diff against what that origin had, validated in full first (a bad
 * entry changes nothing, nor does a set the table cannot hold), other
 * origins' routes untouched; and what the dataplane then does with a
 * packet. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_harness.h"
#include "ctl_node.h"
#include "dp.h"
#include "podlane_api.h"

static const char config[] =
	"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], \"pod_cidr\": "
	"[\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"], \"uplink\": \"net_null0\"}";

/* {"prefix": p, "via": v}, ... from "p>v p>v ..." */
static json_t *routes(const char *spec)
{
	json_t *a = json_array();
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *gt = strchr(t, '>');
		*gt = '\0';
		json_array_append_new(a, json_pack("{s:s, s:s}", "prefix", t, "via", gt + 1));
	}
	return a;
}

static json_t *replace_all(const char *origin, const char *spec)
{
	return json_pack("{s:s, s:o}", "origin", origin, "routes", routes(spec));
}

/* origin's routes as "p>v p>v ...", in route.list's order (by prefix). */
static void expect_routes(const char *origin, const char *want)
{
	json_t *l = ctl_call_ok(PL_M_ROUTE_LIST, json_pack("{s:s}", "origin", origin)), *r;
	char got[512] = "";
	size_t i, n = 0;

	json_array_foreach(l, i, r)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s>%s", n ? " " : "",
				      json_string_value(json_object_get(r, "prefix")),
				      json_string_value(json_object_get(r, "via")));
	json_decref(l);
	assert_string_equal(got, want);
}

static void expect_counts(json_t *r, int added, int changed, int removed, int unchanged)
{
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "added")), added);
	assert_int_equal(json_integer_value(json_object_get(r, "changed")), changed);
	assert_int_equal(json_integer_value(json_object_get(r, "removed")), removed);
	assert_int_equal(json_integer_value(json_object_get(r, "unchanged")), unchanged);
	json_decref(r);
}

static void expect_error(json_t *params, int want_code, const char *want_msg)
{
	char msg[512];
	int code;
	json_t *r = ctl_call(PL_M_ROUTE_REPLACE_ALL, params, &code, msg, sizeof(msg));

	assert_null(r);
	assert_int_equal(code, want_code);
	assert_string_equal(msg, want_msg);
}

/* The next hop the dataplane gives a packet to dst: its gateway, or
 * "none" without a route. */
static void expect_next_hop(const char *dst, const char *want)
{
	struct dp_trace t;
	struct in_addr a;
	char got[INET_ADDRSTRLEN] = "none";

	assert_int_equal(inet_pton(AF_INET, dst, &a), 1);
	if (dp_route_trace(a.s_addr, NULL, &t) == 0)
		inet_ntop(AF_INET, &t.next_ip, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_diff(void **state)
{
	(void)state;
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-a", "100.96.1.0/24>172.31.102.1 "
							 "100.96.2.0/24>172.31.102.2 "
							 "100.96.3.0/24>172.31.102.3")),
		      3, 0, 0, 0);
	expect_routes("agent-a", "100.96.1.0/24>172.31.102.1 100.96.2.0/24>172.31.102.2 "
				 "100.96.3.0/24>172.31.102.3");
	expect_next_hop("100.96.2.9", "172.31.102.2");
	/* The same set again changes nothing. */
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-a", "100.96.3.0/24>172.31.102.3 "
							 "100.96.1.0/24>172.31.102.1 "
							 "100.96.2.0/24>172.31.102.2")),
		      0, 0, 0, 3);
	/* One kept, one moved, one gone, one new. */
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-a", "100.96.1.0/24>172.31.102.1 "
							 "100.96.2.0/24>172.31.102.9 "
							 "100.96.4.0/24>172.31.102.4")),
		      1, 1, 1, 1);
	expect_routes("agent-a", "100.96.1.0/24>172.31.102.1 100.96.2.0/24>172.31.102.9 "
				 "100.96.4.0/24>172.31.102.4");
	expect_next_hop("100.96.2.9", "172.31.102.9");
	expect_next_hop("100.96.3.9", "none");
	expect_next_hop("100.96.4.9", "172.31.102.4");
}

/* Another origin's and route.add's routes are not the agent's to change. */
static void test_origins_apart(void **state)
{
	(void)state;
	json_decref(ctl_call_ok(PL_M_ROUTE_ADD, json_pack("{s:s, s:s}", "prefix", "100.96.9.0/24",
							  "via", "172.31.102.50")));
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-b", "100.96.10.0/24>172.31.102.10")),
		      1, 0, 0, 0);
	expect_error(replace_all("agent-b", "100.96.10.0/24>172.31.102.10 100.96.1.0/24>172.31.102.1"),
		     PL_E_EXISTS, "routes[1]: 100.96.1.0/24 is already a route of origin agent-a");
	expect_error(replace_all("agent-b", "100.96.9.0/24>172.31.102.50"), PL_E_EXISTS,
		     "routes[0]: 100.96.9.0/24 is already a route of origin static");
	/* An empty set removes that origin's routes only. */
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL, replace_all("agent-b", "")), 0, 0, 1, 0);
	expect_routes("agent-b", "");
	expect_routes("static", "100.96.9.0/24>172.31.102.50");
	expect_routes("agent-a", "100.96.1.0/24>172.31.102.1 100.96.2.0/24>172.31.102.9 "
				 "100.96.4.0/24>172.31.102.4");
}

/* A bad set is refused whole, with the entry named: nothing changes. */
static void test_refused_whole(void **state)
{
	(void)state;
	expect_error(replace_all("agent-a", "100.96.1.0/24>172.31.102.1 100.96.5.0/33>172.31.102.5"),
		     PL_E_INVALID_PARAMS,
		     "routes[1]: prefix: '100.96.5.0/33' is not an IPv4 prefix like 100.96.244.0/24");
	expect_error(replace_all("agent-a", "100.96.5.0/24>172.31.102.5 100.96.5.0/24>172.31.102.6"),
		     PL_E_INVALID_PARAMS, "routes: 100.96.5.0/24 appears twice");
	expect_error(replace_all("system", "100.96.5.0/24>172.31.102.5"), PL_E_INVALID_PARAMS,
		     "origin: 'system' is not allowed (1-15 characters, not system, pod, service or "
		     "kernel)");
	expect_error(json_pack("{s:s, s:s}", "origin", "agent-a", "routes", "all"),
		     PL_E_INVALID_PARAMS, "routes: missing or not an array");
	expect_routes("agent-a", "100.96.1.0/24>172.31.102.1 100.96.2.0/24>172.31.102.9 "
				 "100.96.4.0/24>172.31.102.4");
	expect_next_hop("100.96.5.1", "none");
}

/* The via of origin's route to prefix, "" when it has none. */
static const char *via_of(const char *origin, const char *prefix, char out[64])
{
	json_t *l = ctl_call_ok(PL_M_ROUTE_LIST, json_pack("{s:s}", "origin", origin)), *r;
	size_t i;

	out[0] = '\0';
	json_array_foreach(l, i, r)
		if (strcmp(json_string_value(json_object_get(r, "prefix")), prefix) == 0)
			snprintf(out, 64, "%s", json_string_value(json_object_get(r, "via")));
	json_decref(l);
	return out;
}

/* IPv6 routes are one set with the IPv4 ones: diffed, listed, added and
 * deleted alike; a wrong one gets its exact error and changes nothing. */
static void test_ipv6(void **state)
{
	char via[64];
	(void)state;
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-6", "100.96.20.0/24>172.31.102.20 "
							 "fd00:10:96:f4::/64>fd00:172:31:102::106")),
		      2, 0, 0, 0);
	assert_string_equal(via_of("agent-6", "fd00:10:96:f4::/64", via), "fd00:172:31:102::106");
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-6", "100.96.20.0/24>172.31.102.20 "
							 "fd00:10:96:f4::/64>fd00:172:31:102::107")),
		      0, 1, 0, 1);
	assert_string_equal(via_of("agent-6", "fd00:10:96:f4::/64", via), "fd00:172:31:102::107");
	expect_error(replace_all("agent-6", "fd00:10:96:f5::/64>172.31.102.1"), PL_E_INVALID_PARAMS,
		     "routes[0]: via: '172.31.102.1' is not an IPv6 address (the prefix is IPv6)");
	expect_error(replace_all("agent-6", "fd00:10:96:f5::/64>fd00:99::1"), PL_E_INVALID_PARAMS,
		     "routes[0]: via: fd00:99::1 is not a neighbour on the node's IPv6 network");
	expect_error(replace_all("agent-6", "fd00:10:96:f3::/80>fd00:172:31:102::106"),
		     PL_E_INVALID_PARAMS, "routes[0]: prefix: fd00:10:96:f3::/80 is inside pod_cidr "
		     "fd00:10:96:f3::/64 (this node's pods, routed by pod.add)");
	expect_error(replace_all("agent-6", "fd00::/064>fd00:172:31:102::106"), PL_E_INVALID_PARAMS,
		     "routes[0]: prefix: 'fd00::/064' is not an IPv6 prefix like fd00:10:96:f4::/64");
	expect_error(replace_all("agent-6", "fd00:10:96:f5::/64>fd00:172:31:102::1 "
					    "fd00:10:96:f5::/64>fd00:172:31:102::2"),
		     PL_E_INVALID_PARAMS, "routes: fd00:10:96:f5::/64 appears twice");
	assert_string_equal(via_of("agent-6", "fd00:10:96:f4::/64", via), "fd00:172:31:102::107");
	/* The IPv6 route dropped from the set goes; the IPv4 one stays. */
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-6", "100.96.20.0/24>172.31.102.20")),
		      0, 0, 1, 1);
	assert_string_equal(via_of("agent-6", "fd00:10:96:f4::/64", via), "");
	json_decref(ctl_call_ok(PL_M_ROUTE_ADD, json_pack("{s:s, s:s}", "prefix", "fd00:10:96:f6::/64",
							  "via", "fd00:172:31:102::6")));
	assert_string_equal(via_of("static", "fd00:10:96:f6::/64", via), "fd00:172:31:102::6");
	json_decref(ctl_call_ok(PL_M_ROUTE_DEL, json_pack("{s:s}", "prefix", "fd00:10:96:f6::/64")));
	assert_string_equal(via_of("static", "fd00:10:96:f6::/64", via), "");

	/* ECMP over IPv6 gateways: listed in address order, the same set in
	 * another order the same route; a gateway twice refused. */
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  json_pack("{s:s, s:[{s:s, s:[s, s]}]}", "origin", "agent-6", "routes",
					    "prefix", "fd00:10:96:f7::/64", "via",
					    "fd00:172:31:102::9", "fd00:172:31:102::8")),
		      1, 0, 1, 0);
	json_t *l = ctl_call_ok(PL_M_ROUTE_LIST, json_pack("{s:s}", "origin", "agent-6"));
	json_t *v = json_object_get(json_array_get(l, 0), "via");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "fd00:172:31:102::8");
	assert_string_equal(json_string_value(json_array_get(v, 1)), "fd00:172:31:102::9");
	json_decref(l);
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  json_pack("{s:s, s:[{s:s, s:[s, s]}]}", "origin", "agent-6", "routes",
					    "prefix", "fd00:10:96:f7::/64", "via",
					    "fd00:172:31:102::8", "fd00:172:31:102::9")),
		      0, 0, 0, 1);
	expect_error(json_pack("{s:s, s:[{s:s, s:[s, s]}]}", "origin", "agent-6", "routes", "prefix",
			       "fd00:10:96:f7::/64", "via", "fd00:172:31:102::8",
			       "fd00:172:31:102::8"),
		     PL_E_INVALID_PARAMS, "routes[0]: via: fd00:172:31:102::8 twice");
}

/* A set the table cannot hold changes nothing: what the origin had before
 * (removed, changed and kept ones alike) is in place after the error. */
static void test_full_changes_nothing(void **state)
{
	(void)state;
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  replace_all("agent-f", "100.96.30.0/24>172.31.102.30 "
							 "100.96.31.0/24>172.31.102.31")),
		      2, 0, 0, 0);
	uint32_t had = node.n_routes, max = node.cfg.max_routes;
	char want[128];
	/* Room for one more route: the set drops .30, changes .31 and adds
	 * three, so its last add finds the table full. */
	node.cfg.max_routes = had + 1;
	snprintf(want, sizeof(want), "route table full at 100.96.34.0/24 (max_routes %u): nothing changed",
		 had + 1);
	expect_error(replace_all("agent-f", "100.96.31.0/24>172.31.102.32 100.96.32.0/24>172.31.102.32 "
					    "100.96.33.0/24>172.31.102.32 100.96.34.0/24>172.31.102.32"),
		     PL_E_RESOURCE, want);
	node.cfg.max_routes = max;
	assert_int_equal(node.n_routes, had);
	/* Listed as before, though .30 went and came back to another slot. */
	expect_routes("agent-f", "100.96.30.0/24>172.31.102.30 100.96.31.0/24>172.31.102.31");
	expect_next_hop("100.96.30.1", "172.31.102.30"); /* the dataplane's too */
	expect_next_hop("100.96.31.1", "172.31.102.31");
	expect_next_hop("100.96.33.1", "none");
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL, replace_all("agent-f", "")), 0, 0, 2, 0);
}

/* A /64 to each node of a 5000-node cluster fits beside 254 /128s (as
 * many as a node's pods have): the IPv6 tables' 8-bit levels, not their
 * room, bound it (dp.h). */
static void test_ipv6_capacity(void **state)
{
	json_t *routes = json_array();
	char pfx[48];
	(void)state;

	for (unsigned i = 1; i <= 254; i++) {
		snprintf(pfx, sizeof(pfx), "fd00:12::%x/128", i);
		json_array_append_new(routes, json_pack("{s:s, s:s}", "prefix", pfx, "via",
							"fd00:172:31:102::106"));
	}
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(pfx, sizeof(pfx), "fd00:11:%x:%x::/64", i >> 8, i & 255);
		json_array_append_new(routes, json_pack("{s:s, s:s}", "prefix", pfx, "via",
							"fd00:172:31:102::106"));
	}
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  json_pack("{s:s, s:o}", "origin", "agent-cap", "routes", routes)),
		      5254, 0, 0, 0);
	expect_counts(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				  json_pack("{s:s, s:[]}", "origin", "agent-cap", "routes")),
		      0, 0, 5254, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_origins_apart),
		cmocka_unit_test(test_refused_whole),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ipv6_capacity),
		cmocka_unit_test(test_full_changes_nothing),
	};
	ctl_harness_init(config);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
