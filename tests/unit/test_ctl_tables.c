/* The control side's tables hold what their limits promise: max_services
 * services and max_routes routes, however their keys hash, through adds
 * and deletes (an index that filled a bucket early once left a service
 * the API could not find: the RPC fuzzer's crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "ctl_harness.h"
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
		cmocka_unit_test(test_every_route_fits),
	};
	ctl_harness_init(config);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
