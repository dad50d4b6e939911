/* The state files (control/ctl_state.c): what a restarted podlaned brings
 * back from them, and what it does with damaged ones. One process stands
 * for both lives: the in-memory tables are emptied through the API, the
 * files put back as the first life left them, then restored. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_harness.h"
#include "ctl_node.h"
#include "podlane_api.h"

static const char config[] = "{\"node_ip\": \"172.31.102.105/24\", \"pod_cidr\": "
			     "\"100.96.243.0/24\", \"uplink\": \"net_null0\"}";

static char *slurp(const char *file)
{
	char path[512];
	ctl_harness_path(path, sizeof(path), file);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void put(const char *file, const char *text)
{
	char path[512];
	ctl_harness_path(path, sizeof(path), file);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

/* A state file as JSON (the test fails if it is not). */
static json_t *parse(const char *file)
{
	char *text = slurp(file);
	json_t *doc = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(doc);
	return doc;
}

static bool exists(const char *file)
{
	char path[512];
	ctl_harness_path(path, sizeof(path), file);
	return access(path, F_OK) == 0;
}

/* Routes podlaned makes itself (the node's, a service's): not in the files. */
static bool ours(const char *origin)
{
	return strcmp(origin, "system") == 0 || strcmp(origin, "service") == 0;
}

/* The routes a user added and the services, as "prefix>via(origin) ..." and
 * "ip:port/proto>backend,backend ...". */
static void listing(char *routes, size_t rlen, char *svcs, size_t slen)
{
	json_t *l = ctl_call_ok(PL_M_ROUTE_LIST, NULL), *o, *b;
	size_t i, j, n = 0;

	routes[0] = svcs[0] = '\0';
	json_array_foreach(l, i, o) {
		const char *origin = json_string_value(json_object_get(o, "origin"));
		if (ours(origin))
			continue;
		json_t *via = json_object_get(o, "via"), *g;
		n += (size_t)snprintf(routes + n, rlen - n, "%s%s>", n ? " " : "",
				      json_string_value(json_object_get(o, "prefix")));
		json_array_foreach(via, j, g) /* ECMP: its gateways */
			n += (size_t)snprintf(routes + n, rlen - n, "%s%s", j ? "," : "",
					      json_string_value(g));
		n += (size_t)snprintf(routes + n, rlen - n, "%s(%s)",
				      json_is_string(via) ? json_string_value(via) : "", origin);
	}
	json_decref(l);
	l = ctl_call_ok(PL_M_SERVICE_LIST, NULL);
	n = 0;
	json_array_foreach(l, i, o) {
		n += (size_t)snprintf(svcs + n, slen - n, "%s%s:%lld/%s>", n ? " " : "",
				      json_string_value(json_object_get(o, "ip")),
				      json_integer_value(json_object_get(o, "port")),
				      json_string_value(json_object_get(o, "protocol")));
		json_array_foreach(json_object_get(o, "backends"), j, b)
			n += (size_t)snprintf(svcs + n, slen - n, "%s%s:%lld", j ? "," : "",
					      json_string_value(json_object_get(b, "ip")),
					      json_integer_value(json_object_get(b, "port")));
	}
	json_decref(l);
}

static void expect(const char *want_routes, const char *want_svcs)
{
	char r[1024], s[1024];
	listing(r, sizeof(r), s, sizeof(s));
	assert_string_equal(r, want_routes);
	assert_string_equal(s, want_svcs);
}

/* The end of the first life: every route and service gone from memory
 * (each deletion rewrites the files: the caller put them back after). */
static void forget_all(void)
{
	json_t *l = ctl_call_ok(PL_M_ROUTE_LIST, NULL), *o;
	size_t i;

	json_array_foreach(l, i, o)
		if (!ours(json_string_value(json_object_get(o, "origin"))))
			json_decref(ctl_call_ok(PL_M_ROUTE_DEL,
						json_pack("{s:O}", "prefix", json_object_get(o, "prefix"))));
	json_decref(l);
	l = ctl_call_ok(PL_M_SERVICE_LIST, NULL);
	json_array_foreach(l, i, o)
		json_decref(ctl_call_ok(PL_M_SERVICE_DEL,
					json_pack("{s:O, s:O, s:O}", "ip", json_object_get(o, "ip"),
						  "port", json_object_get(o, "port"), "protocol",
						  json_object_get(o, "protocol"))));
	json_decref(l);
	expect("", "");
}

#define ROUTES "100.96.1.0/24>172.31.102.1(static) 100.96.2.0/24>172.31.102.2(agent-a) " \
	       "100.96.3.0/24>172.31.102.3(agent-a) 100.96.5.0/24>172.31.102.4,172.31.102.5(static)"
#define SVCS "10.96.0.10:53/udp>100.96.1.5:5353,100.96.243.9:53"

/* What the API was told comes back, with each route's origin. */
static void test_roundtrip(void **state)
{
	(void)state;
	json_decref(ctl_call_ok(PL_M_ROUTE_ADD, json_pack("{s:s, s:s}", "prefix", "100.96.1.0/24",
							  "via", "172.31.102.1")));
	json_decref(ctl_call_ok(PL_M_ROUTE_ADD, json_pack("{s:s, s:[s, s]}", "prefix", "100.96.5.0/24",
							  "via", "172.31.102.5", "172.31.102.4")));
	json_decref(ctl_call_ok(PL_M_ROUTE_REPLACE_ALL,
				json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "origin", "agent-a",
					  "routes", "prefix", "100.96.2.0/24", "via", "172.31.102.2",
					  "prefix", "100.96.3.0/24", "via", "172.31.102.3")));
	json_decref(ctl_call_ok(PL_M_SERVICE_ADD,
				json_pack("{s:s, s:i, s:s, s:[{s:s, s:i}, {s:s, s:i}]}", "ip",
					  "10.96.0.10", "port", 53, "protocol", "udp", "backends",
					  "ip", "100.96.243.9", "port", 53, "ip", "100.96.1.5",
					  "port", 5353)));
	expect(ROUTES, SVCS);
	char *routes = slurp("routes.json"), *svcs = slurp("services.json");
	forget_all();
	put("routes.json", routes);
	put("services.json", svcs);
	ctl_state_restore();
	expect(ROUTES, SVCS);
	/* The dataplane has them too, not only the control side's tables. */
	struct dp_trace t;
	struct in_addr a, via;
	inet_pton(AF_INET, "100.96.3.77", &a);
	inet_pton(AF_INET, "172.31.102.3", &via);
	assert_int_equal(dp_route_trace(a.s_addr, NULL, &t), 0);
	assert_int_equal(t.next_ip, via.s_addr);
	inet_pton(AF_INET, "100.96.5.77", &a);
	inet_pton(AF_INET, "172.31.102.5", &via);
	assert_int_equal(dp_route_trace(a.s_addr, NULL, &t), 0);
	assert_int_equal(t.n_members, 2); /* ECMP, in the dataplane too */
	assert_int_equal(t.members[1].ip, via.s_addr);
	free(routes);
	free(svcs);
}

/* A damaged routes.json: the copy before it (routes.json.prev) is used,
 * the damaged one kept aside as routes.json.damaged. */
static void test_damaged_uses_previous(void **state)
{
	(void)state;
	json_decref(ctl_call_ok(PL_M_ROUTE_ADD, json_pack("{s:s, s:s}", "prefix", "100.96.4.0/24",
							  "via", "172.31.102.4")));
	char *now = slurp("routes.json"), *prev = slurp("routes.json.prev");
	char *svcs = slurp("services.json");
	assert_non_null(strstr(now, "100.96.4.0/24"));
	assert_null(strstr(prev, "100.96.4.0/24"));
	forget_all();
	now[strlen(now) / 2] = '\0'; /* cut short, as by a full disk */
	put("routes.json", now);
	put("routes.json.prev", prev);
	put("services.json", svcs);
	ctl_state_restore();
	expect(ROUTES, SVCS);
	assert_true(exists("routes.json.damaged"));
	char *damaged = slurp("routes.json.damaged");
	assert_string_equal(damaged, now);
	json_t *doc = parse("routes.json"); /* rewritten whole */
	assert_int_equal(json_array_size(json_object_get(doc, "routes")), 4);
	json_decref(doc);
	free(now);
	free(prev);
	free(svcs);
	free(damaged);
}

/* Both copies unusable (garbage; another program's JSON): podlaned starts
 * without them and says so, and writes good files again. */
static void test_both_damaged(void **state)
{
	(void)state;
	forget_all();
	put("routes.json", "\x01\x02 not json");
	put("routes.json.prev", "{\"version\": 2, \"routes\": []}");
	put("services.json", "{\"version\": 1, \"services\": {}}");
	put("services.json.prev", "");
	ctl_state_restore();
	expect("", "");
	json_t *doc = parse("routes.json");
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "routes")), 0);
	json_decref(doc);
}

/* Entries podlaned cannot take are skipped, the others restored; a pod
 * whose netns is gone is not restored and its address is free again. */
static void test_bad_entries_skipped(void **state)
{
	(void)state;
	uint32_t free_before = ctl_ipam_free_count();
	put("routes.json", "{\"version\": 1, \"routes\": ["
			   "{\"prefix\": \"100.96.5.0/24\", \"via\": \"172.31.102.5\", \"origin\": \"agent-b\"},"
			   "{\"prefix\": \"100.96.6.0/33\", \"via\": \"172.31.102.6\"},"
			   "{\"prefix\": \"100.96.7.0/24\"},"
			   "{\"prefix\": \"100.96.8.0/24\", \"via\": \"172.31.102.8\"}]}");
	put("services.json", "{\"version\": 1, \"services\": ["
			     "{\"ip\": \"10.96.0.11\", \"port\": 80, \"protocol\": \"tcp\", \"backends\": "
			     "[{\"ip\": \"100.96.1.6\", \"port\": 8080}]},"
			     "{\"ip\": \"10.96.0.12\", \"port\": 0, \"protocol\": \"tcp\", \"backends\": []},"
			     "{\"ip\": \"10.96.0.13\", \"port\": 80, \"protocol\": \"icmp\", \"backends\": []}]}");
	put("state.json", "{\"version\": 1, \"pods\": [{\"container_id\": \"gone\", \"ifname\": "
			  "\"eth0\", \"netns\": \"/proc/0/ns/net\", \"ip\": \"100.96.243.7/32\"}]}");
	ctl_state_restore();
	expect("100.96.5.0/24>172.31.102.5(agent-b) 100.96.8.0/24>172.31.102.8(static)",
	       "10.96.0.11:80/tcp>100.96.1.6:8080");
	json_t *pods = ctl_call_ok(PL_M_POD_LIST, NULL);
	assert_int_equal(json_array_size(pods), 0);
	json_decref(pods);
	assert_int_equal(ctl_ipam_free_count(), free_before);
	/* What was skipped is gone from the files too. */
	json_t *doc = parse("routes.json");
	assert_int_equal(json_array_size(json_object_get(doc, "routes")), 2);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_damaged_uses_previous),
		cmocka_unit_test(test_both_damaged),
		cmocka_unit_test(test_bad_entries_skipped),
	};
	ctl_harness_init(config);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
