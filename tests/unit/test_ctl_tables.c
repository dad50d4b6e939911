/* The control side's tables hold what their limits promise: max_services
 * services and max_routes routes, however their keys hash, through adds
 * and deletes (an index that filled a bucket early once left a service
 * the API could not find: the RPC fuzzer's crash); a service.replace_all
 * they cannot hold changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "ctl_harness.h"
#include "ctl_node.h"
#include "podlane_api.h"

static const char config[] = "{\"node_ip\": \"172.31.102.105/24\", \"pod_cidr\": "
			     "\"100.96.243.0/24\", \"uplink\": \"net_null0\", \"max_services\": 64, "
			     "\"max_routes\": 1024}";

static json_t *service(unsigned i)
{
	char ip[32];
	snprintf(ip, sizeof(ip), "59.%u.%u.10", 96 + i / 200, i % 200);
	return json_pack("{s:s, s:i, s:s, s:[{s:s, s:i}]}", "ip", ip, "port", 53 + i % 7, "protocol",
			 i % 2 ? "udp" : "tcp", "backends", "ip", "100.96.243.9", "port", 8080);
}

static size_t listed(const char *method)
{
	json_t *l = ctl_call_ok(method, NULL);
	size_t n = json_array_size(l);
	json_decref(l);
	return n;
}

static void test_every_service_fits(void **state)
{
	char msg[256];
	int code;

	(void)state;
	for (unsigned round = 0; round < 40; round++) {
		for (unsigned i = 0; i < 64; i++)
			json_decref(ctl_call_ok(PL_M_SERVICE_ADD, service(round * 64 + i)));
		assert_int_equal(listed(PL_M_SERVICE_LIST), 64);
		assert_null(ctl_call(PL_M_SERVICE_ADD, service(9999), &code, msg, sizeof(msg)));
		assert_int_equal(code, PL_E_RESOURCE);
		assert_string_equal(msg, "59.145.199.10:56/udp: max_services (64) reached");
		for (unsigned i = 0; i < 64; i++) {
			json_t *s = service(round * 64 + i);
			json_object_del(s, "backends");
			json_decref(ctl_call_ok(PL_M_SERVICE_DEL, s));
		}
		assert_int_equal(listed(PL_M_SERVICE_LIST), 0);
	}
}

static json_t *agent_set(json_t *services)
{
	return json_pack("{s:s, s:o}", "origin", "agent", "services", services);
}

/* agent's set {100 with its backend's port changed, the others as they
 * are} refused with msg, and nothing changed: the service it removed
 * (101) back in its slot, the one it changed as it was, those it added
 * gone (service.list walks the slots). */
static void expect_set_refused(const unsigned *others, size_t n, const char *msg)
{
	char got[256];
	int code;
	json_t *before = ctl_call_ok(PL_M_SERVICE_LIST, NULL), *set = json_array();

	json_t *changed = service(100);
	json_integer_set(json_object_get(json_array_get(json_object_get(changed, "backends"), 0), "port"), 9090);
	json_array_append_new(set, changed);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(set, service(others[i]));
	assert_null(ctl_call(PL_M_SERVICE_REPLACE_ALL, agent_set(set), &code, got, sizeof(got)));
	assert_int_equal(code, PL_E_RESOURCE);
	assert_string_equal(got, msg);
	json_t *after = ctl_call_ok(PL_M_SERVICE_LIST, NULL);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	json_t *r = ctl_call_ok(PL_M_SERVICE_REPLACE_ALL, agent_set(json_pack("[oo]", service(100), service(101))));
	assert_int_equal(json_integer_value(json_object_get(r, "unchanged")), 2);
	json_decref(r);
}

/* A set the tables cannot hold, found out midway, is taken back whole. */
static void test_service_set_all_or_nothing(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 40; i++)
		json_decref(ctl_call_ok(PL_M_SERVICE_ADD, service(i)));
	json_decref(ctl_call_ok(PL_M_SERVICE_REPLACE_ALL, agent_set(json_pack("[oo]", service(100), service(101)))));
	/* Routes for 101's address and one more: 102 and 103 fit, 104 does
	 * not; 101's slot went to the back of the free ones meanwhile. */
	uint32_t max = node.cfg.max_routes;
	node.cfg.max_routes = node.n_routes + 1;
	expect_set_refused((const unsigned[]){102, 103, 104}, 3,
			   "59.96.104.10:59/tcp: route table full: nothing changed");
	node.cfg.max_routes = max;
	/* 64 services: 101 goes, 102 takes its slot, 103 finds none. */
	for (unsigned i = 40; i < 62; i++)
		json_decref(ctl_call_ok(PL_M_SERVICE_ADD, service(i)));
	expect_set_refused((const unsigned[]){102, 103}, 2,
			   "59.96.103.10:58/udp: max_services (64) reached: nothing changed");
	json_decref(ctl_call_ok(PL_M_SERVICE_REPLACE_ALL, agent_set(json_array())));
	for (unsigned i = 0; i < 62; i++) {
		json_t *s = service(i);
		json_object_del(s, "backends");
		json_decref(ctl_call_ok(PL_M_SERVICE_DEL, s));
	}
}

static void test_every_route_fits(void **state)
{
	json_t *routes = json_array();
	char p[32];
	char msg[256];
	int code;

	(void)state;
	for (unsigned i = 0; i < 1024; i++) {
		snprintf(p, sizeof(p), "10.%u.%u.0/24", i / 256, i % 256);
		json_array_append_new(routes, json_pack("{s:s, s:s}", "prefix", p, "via", "172.31.102.1"));
	}
	json_decref(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				json_pack("{s:s, s:O}", "origin", "agent", "routes", routes)));
	json_t *l = ctl_call_ok(PL_M_ROUTE_LIST, json_pack("{s:s}", "origin", "agent"));
	assert_int_equal(json_array_size(l), 1024);
	json_decref(l);
	json_array_append_new(routes, json_pack("{s:s, s:s}", "prefix", "11.0.0.0/24", "via", "172.31.102.1"));
	assert_null(ctl_call(PL_M_ROUTE_REPLACE_ALL,
			     json_pack("{s:s, s:o}", "origin", "agent", "routes", routes), &code, msg,
			     sizeof(msg)));
	assert_int_equal(code, PL_E_RESOURCE);
	assert_string_equal(msg, "routes: 1025 routes exceed max_routes 1024");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_service_fits),
		cmocka_unit_test(test_service_set_all_or_nothing),
		cmocka_unit_test(test_every_route_fits),
	};
	ctl_harness_init(config);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
