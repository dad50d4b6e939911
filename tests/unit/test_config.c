/* Config parsing (control/ctl_config.c), edge by edge: each bad document
 * gets its exact message; good ones get the documented defaults. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "dp.h"

/* An IPv6-only node. */
#define V6ONLY "\"node_ip\": \"fd00:172:31:102::105/64\", \"uplink\": \"net_tap0\", " \
	       "\"pod_cidr\": \"fd00:10:96:f3::/64\""
#define BASE "\"node_ip\": \"172.31.102.105/24\", \"pod_cidr\": \"100.96.243.0/24\", " \
	     "\"uplink\": \"net_tap0,iface=up0\""
#define NO_POD "\"node_ip\": \"172.31.102.105/24\", \"uplink\": \"net_tap0,iface=up0\""

static const struct {
	const char *doc;
	const char *err; /* NULL: accepted */
} cases[] = {
	{"{" BASE "}", NULL},
	{"[]", "config: the top level must be a JSON object"},
	{"{" BASE ", \"node_ip\": \"172.31.102.106/24\"}",
	 "config: line 1: duplicate object key near '\"node_ip\"'"},
	{"{" BASE ",}", "config: line 1: string or '}' expected near '}'"},
	{"{" BASE ", \"wokers\": 2}", "config: unknown key 'wokers'"},
	{"{\"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"net_tap0\"}",
	 "config: missing required key 'node_ip'"},
	{"{\"node_ip\": \"172.31.102.105\", \"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"net_tap0\"}",
	 "config: 'node_ip' is \"172.31.102.105\", expected an IPv4 prefix like 10.0.0.0/24"},
	{"{\"node_ip\": \"172.31.102.105/31\", \"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"net_tap0\"}",
	 "config: 'node_ip' needs the node network's prefix length (1..30), e.g. 172.31.102.105/24"},
	{"{\"node_ip\": \"172.31.102.0/24\", \"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"net_tap0\"}",
	 "config: 'node_ip' 172.31.102.0/24 is not a host address of its network (not the network "
	 "or broadcast address, loopback, multicast or 0.0.0.0)"},
	{"{\"node_ip\": \"127.0.0.1/8\", \"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"net_tap0\"}",
	 "config: 'node_ip' 127.0.0.1/8 is not a host address of its network (not the network "
	 "or broadcast address, loopback, multicast or 0.0.0.0)"},
	{"{\"node_ip\": \"172.31.102.105/33\", \"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"net_tap0\"}",
	 "config: 'node_ip' is \"172.31.102.105/33\", expected an IPv4 prefix like 10.0.0.0/24"},
	{"{" BASE ", \"gateway\": \"172.31.103.1\"}",
	 "config: 'gateway' 172.31.103.1 is not on the node network of 'node_ip'"},
	{"{" BASE ", \"gateway\": \"172.31.102.105\"}",
	 "config: 'gateway' 172.31.102.105 is the node's own, the network's or the broadcast address"},
	{"{" BASE ", \"gateway\": \"fe80::1\"}",
	 "config: 'gateway' fe80::1 is IPv6 and 'node_ip' has no IPv6 address"},
	{"{" BASE ", \"gateway\": \"172.31.102.300\"}",
	 "config: 'gateway' is \"172.31.102.300\", expected an IPv4 address"},
	{"{" BASE ", \"cluster_cidr\": \"0.0.0.0/0\"}",
	 "config: 'cluster_cidr' overlaps the node network of 'node_ip' (the kernel routes "
	 "cluster_cidr to podlaned)"},
	{"{" NO_POD ", \"cluster_cidr\": \"100.96.0.0/12\", \"pod_cidr\": \"100.112.0.0/24\"}",
	 "config: 'pod_cidr' is not inside 'cluster_cidr'"},
	{"{" NO_POD ", \"pod_cidr\": \"100.96.0.0/15\"}", "config: 'pod_cidr' must be a /16 to /30"},
	{"{" NO_POD ", \"pod_cidr\": \"100.96.243.1/24\"}",
	 "config: 'pod_cidr' is \"100.96.243.1/24\", which has host bits set"},
	/* Dual-stack: a list of one IPv4 and one IPv6 prefix. */
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"]}", NULL},
	{"{" NO_POD ", \"pod_cidr\": [\"fd00:10:96:f3::/64\", \"100.96.243.0/24\"], "
	 "\"cluster_cidr\": [\"100.96.0.0/11\", \"fd00:10:96::/48\"]}", NULL},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\"]}", NULL},
	{"{" NO_POD ", \"pod_cidr\": [\"fd00:10:96:f3::/64\"]}",
	 "config: 'pod_cidr' has no IPv4 prefix and 'node_ip' an IPv4 address (an IPv6-only node "
	 "gives IPv6 alone in node_ip, pod_cidr, cluster_cidr and service_cidr)"},
	/* IPv6-only: every prefix key IPv6 alone; cluster_cidr optional. */
	{"{" V6ONLY "}", NULL},
	{"{" V6ONLY ", \"cluster_cidr\": \"fd00:10:96::/48\", \"service_cidr\": "
	 "[\"fd00:96::/108\"], \"gateway\": \"fd00:172:31:102::1\"}", NULL},
	{"{" V6ONLY ", \"cluster_cidr\": \"100.96.0.0/11\"}",
	 "config: 'cluster_cidr' has an IPv4 prefix and 'node_ip' no IPv4 address (an IPv6-only "
	 "node gives IPv6 alone in node_ip, pod_cidr, cluster_cidr and service_cidr)"},
	{"{\"node_ip\": \"fd00:172:31:102::105/64\", \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"]}",
	 "config: 'pod_cidr' has an IPv4 prefix and 'node_ip' no IPv4 address (an IPv6-only node "
	 "gives IPv6 alone in node_ip, pod_cidr, cluster_cidr and service_cidr)"},
	{"{" V6ONLY ", \"service_cidr\": \"10.96.0.0/12\"}",
	 "config: 'service_cidr' has an IPv4 prefix and 'node_ip' no IPv4 address (an IPv6-only "
	 "node gives IPv6 alone in node_ip, pod_cidr, cluster_cidr and service_cidr)"},
	{"{" V6ONLY ", \"gateway\": \"172.31.102.1\"}",
	 "config: 'gateway' 172.31.102.1 is IPv4 and 'node_ip' has no IPv4 address"},
	{"{" V6ONLY ", \"nat_outgoing\": true}",
	 "config: 'nat_outgoing' masquerades IPv4 and this node is IPv6-only (its pods' IPv6 "
	 "leaves through the node kernel's routes without a 'gateway')"},
	{"{\"node_ip\": \"fd00:172:31:102::105/64\", \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": \"fd00:10:96:f3::/121\"}",
	 "config: 'pod_cidr' must be an IPv6 /48 to /120 on an IPv6-only node"},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", \"100.96.244.0/24\"]}",
	 "config: 'pod_cidr' lists two IPv4 prefixes (give one IPv4 and one IPv6)"},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", \"fd00::1/64\"]}",
	 "config: 'pod_cidr' has \"fd00::1/64\", which has host bits set"},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", \"fd00::/129\"]}",
	 "config: 'pod_cidr' has \"fd00::/129\", expected an IPv6 prefix like fd00:10:96::/64"},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", \"fe80::/64\"]}",
	 "config: 'pod_cidr' has \"fe80::/64\", which is not a unicast IPv6 prefix (not in ::/8, "
	 "fe80::/10 or ff00::/8)"},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", \"fd00::/124\"]}",
	 "config: 'pod_cidr' IPv6 prefix must be a /48 or longer with at least as many addresses "
	 "as its IPv4 one (a /24: at most /120; a pod's IPv6 address has the host part of its "
	 "IPv4 one)"},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", 6]}",
	 "config: 'pod_cidr' must be a prefix or a list of one IPv4 and one IPv6 prefix"},
	{"{" NO_POD ", \"pod_cidr\": []}",
	 "config: 'pod_cidr' must be a prefix or a list of one IPv4 and one IPv6 prefix"},
	{"{" BASE ", \"cluster_cidr\": [\"100.96.0.0/11\", \"fd00:10:96::/48\"]}",
	 "config: 'cluster_cidr' has an IPv6 prefix, 'pod_cidr' none"},
	{"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"]}", NULL},
	{"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"], "
	 "\"gateway\": [\"fd00:172:31:102::1\", \"172.31.102.1\"]}", NULL},
	{"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"], \"gateway\": \"fd00:99::1\"}",
	 "config: 'gateway' fd00:99::1 is not a neighbour on the node's IPv6 network of 'node_ip' "
	 "(nor a link-local address)"},
	/* A router's link-local address, but never the pods' own gateway. */
	{"{" V6ONLY ", \"gateway\": \"fe80::a\"}", NULL},
	{"{" V6ONLY ", \"gateway\": \"fe80::1\"}",
	 "config: 'gateway' fe80::1 is the address podlaned answers itself as pods' gateway, not a "
	 "router's"},
	{"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"], "
	 "\"gateway\": [\"fd00:172:31:102::1\", \"fd00:172:31:102::2\"]}",
	 "config: 'gateway' lists two IPv6 addresses"},
	{"{" BASE ", \"gateway\": [\"172.31.102.1\", 5]}",
	 "config: 'gateway' must be an address or a list of one IPv4 and one IPv6 address"},
	{"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::105/64\"], \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": \"100.96.243.0/24\"}",
	 "config: 'node_ip' has an IPv6 address, 'pod_cidr' no IPv6 prefix"},
	{"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:172:31:102::/64\"], \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"]}",
	 "config: 'node_ip' IPv6 address needs the node network's prefix length (1..127) and a host "
	 "part, e.g. fd00:172:31:102::105/64"},
	{"{\"node_ip\": [\"172.31.102.105/24\", \"fd00:10:96:f3::5/64\"], \"uplink\": \"net_tap0\", "
	 "\"pod_cidr\": [\"100.96.243.0/24\", \"fd00:10:96:f3::/64\"]}",
	 "config: 'node_ip' IPv6 address is inside the pods' IPv6 prefix"},
	{"{" NO_POD ", \"pod_cidr\": [\"100.96.243.0/24\", \"fd00:11::/64\"], "
	 "\"cluster_cidr\": [\"100.96.0.0/11\", \"fd00:10:96::/48\"]}",
	 "config: 'pod_cidr' IPv6 prefix is not inside 'cluster_cidr' IPv6 prefix"},
	{"{" BASE ", \"service_cidr\": \"100.96.0.0/16\"}",
	 "config: 'service_cidr' overlaps 'cluster_cidr'"},
	{"{" BASE ", \"nat_outgoing\": true, \"gateway\": \"172.31.102.1\"}",
	 "config: 'nat_outgoing' and 'gateway' exclude each other (with nat_outgoing the node "
	 "kernel's routes take pods' traffic out)"},
	{"{" BASE ", \"masquerade\": \"yes\"}", "config: 'masquerade' must be true or false"},
	{"{\"node_ip\": \"172.31.102.105/24\", \"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"eth0\"}",
	 "config: 'uplink' is \"eth0\", expected a PCI address (0000:01:00.0), af_packet:IFACE or "
	 "vdev arguments (net_af_packet0,iface=eth0)"},
	{"{\"node_ip\": \"172.31.102.105/24\", \"pod_cidr\": \"100.96.243.0/24\", "
	 "\"uplink\": \"af_packet:a/b\"}",
	 "config: 'uplink' \"af_packet:a/b\" does not name a valid interface after 'af_packet:'"},
	{"{\"node_ip\": \"172.31.102.105/24\", \"pod_cidr\": \"100.96.243.0/24\", "
	 "\"uplink\": \"af_packet:eth1\", \"uplink_mtu\": 9000}",
	 "config: 'uplink_mtu' is for a DPDK uplink; an af_packet: uplink has its interface's MTU "
	 "(ip link set eth1 mtu 9000)"},
	{"{\"node_ip\": \"172.31.102.105/24\", \"pod_cidr\": \"100.96.243.0/24\", \"uplink\": \"\"}", "config: 'uplink' must be a non-empty string"},
	{"{" BASE ", \"workers\": 0}", "config: 'workers' must be an integer from 1 to 8"},
	{"{" BASE ", \"workers\": 2.5}", "config: 'workers' must be an integer from 1 to 8"},
	{"{" BASE ", \"worker_nice\": -21}", "config: 'worker_nice' must be an integer from -20 to 19"},
	{"{" BASE ", \"max_routes\": 100}",
	 "config: 'max_routes' must be an integer from 1024 to 1048576"},
	{"{" BASE ", \"socket\": \"podlane.sock\"}", "config: 'socket' must be an absolute path"},
	{"{" BASE ", \"state_dir\": \"var/lib/podlane\"}",
	 "config: 'state_dir' must be an absolute path"},
	{"{" BASE ", \"vhost_dir\": \"/run/a,b\"}",
	 "config: 'vhost_dir' must be an absolute path without ',' or '='"},
	{"{" BASE ", \"log_level\": \"loud\"}",
	 "config: 'log_level' is \"loud\", expected error, warning, notice, info or debug"},
	{"{" BASE ", \"metrics_listen\": \"127.0.0.1:0\"}",
	 "config: 'metrics_listen' is \"127.0.0.1:0\", expected ADDRESS:PORT like 127.0.0.1:9464"},
	{"{" BASE ", \"import_table\": 254}",
	 "config: 'import_table' must not be the kernel's main (254) or local (255) table"},
	{"{" BASE ", \"socket_group\": \"no-such-group-podlane\"}",
	 "config: 'socket_group' \"no-such-group-podlane\" is not a group on this machine"},
	{"{" BASE ", \"eal\": [\"--no-huge\", 1]}", "config: 'eal' item 1 is not a string"},
	{"{" BASE ", \"eal\": \"--no-huge\"}", "config: 'eal' must be an array of at most 32 strings"},
	{"{" BASE ", \"drop_records\": 0}", NULL},
	{"{" BASE ", \"drop_records\": 65537}",
	 "config: 'drop_records' must be an integer from 0 to 65536"},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_config c;
		char err[CTL_ERR_LEN] = "";
		int rc = ctl_config_parse(cases[i].doc, strlen(cases[i].doc), &c, err, sizeof(err));
		if (cases[i].err == NULL) {
			if (rc != 0)
				fail_msg("case %zu refused: %s", i, err);
			ctl_config_free(&c);
		} else if (rc == 0 || strcmp(err, cases[i].err) != 0) {
			fail_msg("case %zu (%s):\n  got  %s\n  want %s", i, cases[i].doc,
				 rc == 0 ? "(accepted)" : err, cases[i].err);
		}
	}
}

static uint32_t ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* What the documentation (README, config table) promises when a key is absent. */
static void test_defaults(void **state)
{
	static const char doc[] = "{" BASE "}";
	struct ctl_config c;
	char err[CTL_ERR_LEN];

	(void)state;
	assert_int_equal(ctl_config_parse(doc, sizeof(doc) - 1, &c, err, sizeof(err)), 0);
	assert_int_equal(c.cluster_net, ip("100.96.0.0"));
	assert_int_equal(c.cluster_plen, 11);
	assert_false(c.has_gateway);
	assert_false(c.has_service);
	assert_true(c.masquerade);
	assert_false(c.nat_outgoing);
	assert_string_equal(c.socket, "/run/podlane/podlane.sock");
	assert_string_equal(c.state_dir, "/var/lib/podlane");
	assert_string_equal(c.host_port, "podlane0");
	assert_string_equal(c.vhost_dir, "/run/podlane/vhost");
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.workers, 1);
	assert_int_equal(c.worker_nice, -10);
	assert_int_equal(c.max_routes, 65536);
	assert_int_equal(c.max_request_mb, 1);
	assert_int_equal(c.drop_records, 256);
	assert_int_equal(c.socket_gid, -1);
	assert_int_equal(c.metrics_port, 0);
	assert_int_equal(c.import_table, 0);
	assert_int_equal(c.uplink_mtu, 0);
	assert_false(c.uplink_is_pci);
	assert_false(c.uplink_is_packet);
	ctl_config_free(&c);
}

/* The uplink's three forms, and the EAL arguments kept in order. */
static void test_uplink_kinds_and_eal(void **state)
{
	static const char pci[] = "{\"node_ip\": \"10.0.0.2/24\", \"pod_cidr\": \"100.96.1.0/24\", "
				  "\"uplink\": \"0000:01:00.0\", \"eal\": [\"-a\", \"0000:01:00.0\"]}";
	static const char pkt[] = "{\"node_ip\": \"10.0.0.2/24\", \"pod_cidr\": \"100.96.1.0/24\", "
				  "\"uplink\": \"af_packet:eth1\", \"gateway\": \"10.0.0.1\"}";
	struct ctl_config c;
	char err[CTL_ERR_LEN];

	(void)state;
	assert_int_equal(ctl_config_parse(pci, sizeof(pci) - 1, &c, err, sizeof(err)), 0);
	assert_true(c.uplink_is_pci);
	assert_int_equal(c.n_eal, 2);
	assert_string_equal(c.eal[0], "-a");
	assert_string_equal(c.eal[1], "0000:01:00.0");
	ctl_config_free(&c);
	assert_int_equal(ctl_config_parse(pkt, sizeof(pkt) - 1, &c, err, sizeof(err)), 0);
	assert_true(c.uplink_is_packet);
	assert_true(c.has_gateway);
	assert_int_equal(c.gateway, ip("10.0.0.1"));
	ctl_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_uplink_kinds_and_eal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
