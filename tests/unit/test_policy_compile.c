/* NetworkPolicy's control side (control/ctl_policy.c, ctl_m_policy.c):
 * policies given through the API compiled into what the dataplane judges
 * (read back with dp_policy_trace, cell by cell), ipBlock except at its
 * edges, port ranges, the union of policies, replace_all as a diff, the
 * state file, a set too large to compile changing nothing, and IPv6 pods
 * and peers judged by IPv6 rules alone. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_harness.h"
#include "ctl_node.h"
#include "podlane_api.h"

static const char config[] = "{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], "
			     "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"], "
			     "\"uplink\": \"net_null0\"}";

#define POD "100.96.243.9"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* The verdict on a connection from client to server:port/proto. */
static bool allowed(const char *client, const char *server, uint8_t proto, uint16_t port)
{
	struct dp_pol_verdict v;
	dp_policy_trace(ip(client), ip(server), proto, htons(port), &v);
	return v.allowed;
}

static void add(const char *json)
{
	json_t *p = json_loads(json, 0, NULL);
	assert_non_null(p);
	json_decref(ctl_call_ok(PL_M_POLICY_ADD, p));
}

static void clear(void)
{
	json_decref(ctl_call_ok(PL_M_POLICY_REPLACE_ALL, json_pack("{s:s, s:[]}", "origin", "static",
								     "policies")));
	json_decref(ctl_call_ok(PL_M_POLICY_REPLACE_ALL, json_pack("{s:s, s:[]}", "origin", "k8s",
								     "policies")));
}

static void test_except_edges(void **state)
{
	(void)state;
	add("{\"name\": \"ns/db\", \"pods\": [\"" POD "\"], \"ingress\": [{\"from\": [{\"cidr\": "
	    "\"10.0.0.0/8\", \"except\": [\"10.1.0.0/16\", \"10.2.3.0/24\", \"10.255.255.255/32\"]}]}]}");
	static const struct {
		const char *client;
		bool ok;
	} cells[] = {
		{"10.0.0.0", true},       {"10.0.255.255", true}, {"10.1.0.0", false},
		{"10.1.255.255", false},  {"10.2.0.0", true},     {"10.2.2.255", true},
		{"10.2.3.0", false},      {"10.2.3.255", false},  {"10.2.4.0", true},
		{"10.255.255.254", true}, {"10.255.255.255", false}, {"9.255.255.255", false},
		{"11.0.0.0", false},
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		if (allowed(cells[i].client, POD, IPPROTO_TCP, 80) != cells[i].ok)
			fail_msg("%s -> " POD ": %s", cells[i].client, cells[i].ok ? "denied" : "allowed");
		assert_int_equal(allowed(cells[i].client, POD, IPPROTO_ICMP, 0), cells[i].ok);
	}
	/* The node, always. */
	assert_true(allowed("172.31.102.105", POD, IPPROTO_TCP, 22));
	clear();
}

static void test_ports_and_union(void **state)
{
	(void)state;
	add("{\"name\": \"ns/a\", \"pods\": [\"" POD "\"], \"ingress\": [{\"ports\": [{\"port\": 80}, "
	    "{\"protocol\": \"udp\", \"port\": 5000, \"end_port\": 5010}]}]}");
	add("{\"name\": \"ns/b\", \"pods\": [\"" POD "\"], \"ingress\": [{\"from\": [{\"cidr\": "
	    "\"100.96.0.0/11\"}], \"ports\": [{\"protocol\": \"tcp\"}]}], \"egress\": []}");
	static const struct {
		const char *client;
		uint8_t proto;
		uint16_t port;
		bool ok;
	} cells[] = {
		{"198.51.100.1", IPPROTO_TCP, 80, true},    /* a: TCP 80 (the default protocol) */
		{"198.51.100.1", IPPROTO_UDP, 80, false},
		{"198.51.100.1", IPPROTO_TCP, 81, false},
		{"198.51.100.1", IPPROTO_UDP, 4999, false}, /* a: UDP 5000-5010 */
		{"198.51.100.1", IPPROTO_UDP, 5000, true},
		{"198.51.100.1", IPPROTO_UDP, 5010, true},
		{"198.51.100.1", IPPROTO_UDP, 5011, false},
		{"100.96.1.1", IPPROTO_TCP, 81, true},      /* b: any TCP port from pods */
		{"100.96.1.1", IPPROTO_TCP, 65535, true},
		{"100.96.1.1", IPPROTO_UDP, 81, false},
		{"100.96.1.1", IPPROTO_ICMP, 0, false},     /* rules with ports take no ping */
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++)
		if (allowed(cells[i].client, POD, cells[i].proto, cells[i].port) != cells[i].ok)
			fail_msg("cell %zu: %s -> " POD ":%u/%u %s", i, cells[i].client, cells[i].port,
				 cells[i].proto, cells[i].ok ? "denied" : "allowed");
	/* b isolates egress with no rule: nothing out but to the node. */
	assert_false(allowed(POD, "100.96.1.1", IPPROTO_TCP, 80));
	assert_true(allowed(POD, "172.31.102.105", IPPROTO_TCP, 80));
	/* The verdict names the rule: policy.list's connections and trace's
	 * allowed_by come from it. */
	struct dp_pol_verdict v;
	dp_policy_trace(ip("100.96.1.1"), ip(POD), IPPROTO_TCP, htons(81), &v);
	json_t *by = ctl_policy_rule_json(v.rule[DP_POL_INGRESS]);
	assert_string_equal(json_string_value(json_object_get(by, "policy")), "ns/b");
	assert_string_equal(json_string_value(json_object_get(by, "direction")), "ingress");
	assert_int_equal(json_integer_value(json_object_get(by, "rule")), 0);
	json_decref(by);
	clear();
}

static void test_replace_all_and_state(void **state)
{
	(void)state;
	json_t *p = json_loads("{\"origin\": \"k8s\", \"policies\": ["
			       "{\"name\": \"ns/x\", \"pods\": [\"" POD "\"], \"ingress\": []},"
			       "{\"name\": \"ns/y\", \"pods\": [\"100.96.243.10\"], \"egress\": []}]}",
			       0, NULL);
	json_t *r = ctl_call_ok(PL_M_POLICY_REPLACE_ALL, p);
	assert_int_equal(json_integer_value(json_object_get(r, "added")), 2);
	json_decref(r);
	assert_false(allowed("100.96.1.1", POD, IPPROTO_TCP, 80));
	/* The same again with y changed and x gone: a diff. */
	p = json_loads("{\"origin\": \"k8s\", \"policies\": [{\"name\": \"ns/y\", \"pods\": "
		       "[\"100.96.243.10\"], \"egress\": [{}]}]}", 0, NULL);
	r = ctl_call_ok(PL_M_POLICY_REPLACE_ALL, p);
	assert_int_equal(json_integer_value(json_object_get(r, "changed")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "removed")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "added")), 0);
	json_decref(r);
	assert_true(allowed("100.96.1.1", POD, IPPROTO_TCP, 80));
	assert_true(allowed("100.96.243.10", "100.96.1.1", IPPROTO_TCP, 80));
	/* What policies.json holds: y, its origin, its rules. */
	char path[512];
	ctl_harness_path(path, sizeof(path), "policies.json");
	json_t *doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	json_t *pols = json_object_get(doc, "policies");
	assert_int_equal(json_array_size(pols), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pols, 0), "name")), "ns/y");
	assert_string_equal(json_string_value(json_object_get(json_array_get(pols, 0), "origin")), "k8s");
	json_decref(doc);
	clear();
}

/* A set that compiles to too many rules is refused whole: the rules in
 * force stay, nothing is saved. */
static void test_too_large(void **state)
{
	char msg[256];
	int code;

	(void)state;
	add("{\"name\": \"ns/keep\", \"pods\": [\"" POD "\"], \"ingress\": []}");
	/* 65 pods x 128 peers x 128 ports: more than 1M rules. */
	json_t *pods = json_array(), *peers = json_array(), *ports = json_array();
	char a[32];
	for (int i = 0; i < 65; i++) {
		snprintf(a, sizeof(a), "100.96.243.%d", 100 + i);
		json_array_append_new(pods, json_string(a));
	}
	for (int i = 0; i < 128; i++) {
		snprintf(a, sizeof(a), "198.51.%d.0/24", i);
		json_array_append_new(peers, json_pack("{s:s}", "cidr", a));
		json_array_append_new(ports, json_pack("{s:i}", "port", 1000 + i));
	}
	json_t *big = json_pack("{s:s, s:o, s:[{s:o, s:o}]}", "name", "ns/big", "pods", pods, "ingress",
				"from", peers, "ports", ports);
	assert_null(ctl_call(PL_M_POLICY_ADD, big, &code, msg, sizeof(msg)));
	assert_int_equal(code, PL_E_RESOURCE);
	assert_string_equal(msg, "the policies compile to more than 1048576 rules (pods x peers x "
				 "ports)");
	json_t *list = ctl_call_ok(PL_M_POLICY_LIST, json_object());
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	assert_false(allowed("100.96.1.1", POD, IPPROTO_TCP, 80));
	clear();
}

#define POD6 "fd00:10:96:f3::9"

static bool allowed6(const char *client, const char *server, uint8_t proto, uint16_t port)
{
	struct dp_pol_verdict v;
	uint8_t c[16], s[16];
	assert_int_equal(inet_pton(AF_INET6, client, c), 1);
	assert_int_equal(inet_pton(AF_INET6, server, s), 1);
	dp_policy_trace6(c, s, proto, htons(port), &v);
	return v.allowed;
}

/* IPv6: a pod named by its IPv6 address, IPv6 peers with excepts at their
 * edges, an IPv4 peer that says nothing of IPv6; a rule of ports alone
 * takes every peer of both families. */
static void test_ipv6(void **state)
{
	(void)state;
	add("{\"name\": \"ns/six\", \"pods\": [\"" POD6 "\"], \"ingress\": [{\"from\": [{\"cidr\": "
	    "\"fd00:10::/32\", \"except\": [\"fd00:10:96:f4::/64\", \"fd00:10:ffff:ffff:ffff:ffff:"
	    "ffff:ffff/128\"]}, {\"cidr\": \"10.0.0.0/8\"}], \"ports\": [{\"port\": 80}]}]}");
	static const struct {
		const char *client;
		bool ok;
	} cells[] = {
		{"fd00:10::", true},
		{"fd00:10:96:f3::1", true},
		{"fd00:10:96:f4::", false},
		{"fd00:10:96:f4:ffff:ffff:ffff:ffff", false},
		{"fd00:10:96:f5::", true},
		{"fd00:10:ffff:ffff:ffff:ffff:ffff:fffe", true},
		{"fd00:10:ffff:ffff:ffff:ffff:ffff:ffff", false},
		{"fd00:f::1", false},
		{"fd00:11::", false},
		{"::ffff:10.0.0.1", false}, /* the IPv4 peer is not an IPv6 one */
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		if (allowed6(cells[i].client, POD6, IPPROTO_TCP, 80) != cells[i].ok)
			fail_msg("%s -> " POD6 ": %s", cells[i].client, cells[i].ok ? "denied" : "allowed");
		assert_false(allowed6(cells[i].client, POD6, IPPROTO_TCP, 81));
	}
	assert_true(allowed6("fd00:172:31:102::105", POD6, IPPROTO_TCP, 22)); /* the node */
	/* A pod of no pod.add named by its IPv6 address isolates no IPv4. */
	assert_true(allowed("10.1.1.1", POD, IPPROTO_TCP, 81));
	add("{\"name\": \"ns/ports\", \"pods\": [\"" POD6 "\", \"" POD "\"], \"ingress\": "
	    "[{\"ports\": [{\"port\": 81}]}]}");
	assert_true(allowed6("2001:db8::1", POD6, IPPROTO_TCP, 81));
	assert_true(allowed("192.0.2.1", POD, IPPROTO_TCP, 81));
	assert_false(allowed("192.0.2.1", POD, IPPROTO_TCP, 82));
	clear();
	assert_true(allowed6("2001:db8::1", POD6, IPPROTO_TCP, 82));
}

/* Bad IPv6 policies get the exact error and change nothing. */
static void test_ipv6_refused(void **state)
{
	static const struct {
		const char *policy, *msg;
	} cases[] = {
		{"{\"name\": \"x\", \"pods\": [\"fd00::zz\"]}",
		 "pods[0]: fd00::zz is not an IPv4 or IPv6 address"},
		{"{\"name\": \"x\", \"pods\": [\"" POD6 "\"], \"ingress\": [{\"from\": [{\"cidr\": "
		 "\"fd00:10::1/32\"}]}]}",
		 "ingress[0].from[0].cidr: fd00:10::1/32 has host bits set"},
		{"{\"name\": \"x\", \"pods\": [\"" POD6 "\"], \"ingress\": [{\"from\": [{\"cidr\": "
		 "\"fd00:10::/32\", \"except\": [\"10.0.0.0/8\"]}]}]}",
		 "ingress[0].from[0].except[0]: 10.0.0.0/8 is not inside fd00:10::/32"},
		{"{\"name\": \"x\", \"pods\": [\"" POD6 "\"], \"egress\": [{\"to\": [{\"cidr\": "
		 "\"fd00:10::/32\", \"except\": [\"fd00::/16\"]}]}]}",
		 "egress[0].to[0].except[0]: fd00::/16 is not inside fd00:10::/32"},
		{"{\"name\": \"x\", \"pods\": [\"" POD6 "\"], \"egress\": [{\"to\": [{\"cidr\": "
		 "\"fd00:10::/129\"}]}]}",
		 "egress[0].to[0].cidr: fd00:10::/129 is not an IPv4 or IPv6 prefix (a.b.c.d/len, "
		 "x:y::/len)"},
	};
	char msg[256];
	int code;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(ctl_call(PL_M_POLICY_ADD, json_loads(cases[i].policy, 0, NULL), &code, msg,
				     sizeof(msg)));
		assert_int_equal(code, PL_E_INVALID_PARAMS);
		assert_string_equal(msg, cases[i].msg);
	}
	json_t *list = ctl_call_ok(PL_M_POLICY_LIST, json_object());
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_except_edges),
		cmocka_unit_test(test_ports_and_union),
		cmocka_unit_test(test_replace_all_and_state),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ipv6_refused),
	};
	ctl_harness_init(config);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
