/* podlanectl: operator CLI over podlaned's socket API. Aligned tables for
 * people, -o json (the method's result) for scripts. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_client.h"
#include "podlanectl.h"
#include "podlane_api.h"

static const char *const usage_text =
	"usage: podlanectl [--socket PATH] [-o json] COMMAND\n"
	"\n"
	"commands:\n"
	"  node                          node address, pod CIDR, counts\n"
	"  version                       podlaned and DPDK versions\n"
	"  pod list\n"
	"  pod add ID NETNS IFNAME [tap|vhost-user]\n"
	"                                attach a pod (netns path, e.g. /run/netns/x)\n"
	"                                with a TAP (default) or a vhost-user port\n"
	"  pod del ID IFNAME\n"
	"  route list\n"
	"  route add PREFIX via IP[,IP...]\n"
	"                                next hop on the node network; several:\n"
	"                                ECMP, each flow hashed to one of them\n"
	"  route add PREFIX dev PORT     a port from 'port list' (or uplink, host)\n"
	"  route del PREFIX\n"
	"  service list                  services: frontends, backends, counters\n"
	"  service add IP:PORT[/tcp|udp] [BACKEND_IP:PORT...] [--node-port N]\n"
	"        [--external-ip IP]... [--local] [--affinity SECONDS] [--name NAME]\n"
	"                                balance connections to IP:PORT over the backends\n"
	"                                (--local: externalTrafficPolicy Local); an IPv6\n"
	"                                service and its backends are [IPv6]:PORT\n"
	"  service del IP:PORT[/tcp|udp]\n"
	"  conntrack list [--service IP:PORT[/tcp|udp]] [--pod CONTAINER_ID] [--limit N]\n"
	"                                tracked connections, all or a service's or a\n"
	"                                pod's: both directions, packets and bytes each\n"
	"  conntrack flush [--service IP:PORT[/tcp|udp]]\n"
	"  policy list                   NetworkPolicies: pods, rules, connections\n"
	"  policy add FILE               a policy as JSON (docs/policy.md; - : stdin)\n"
	"  policy del NAME\n"
	"  trace ADDRESS[:PORT[/tcp|udp]] [from SOURCE[:PORT]]\n"
	"                                how a packet to ADDRESS is forwarded: the\n"
	"                                service and backend it gets, with a SOURCE\n"
	"                                the policy verdict and the rules behind it\n"
	"                                (no PORT: a ping), route, action, port,\n"
	"                                next hop, MAC, pod; an IPv6 ADDRESS with a\n"
	"                                port is [IPv6]:PORT (no policy verdict yet)\n"
	"  drops [--reason REASON] [--pod CONTAINER_ID] [--limit N] [-w FILE]\n"
	"                                the last dropped packets podlaned recorded:\n"
	"                                time, reason, port, pod, headers; -w writes\n"
	"                                them as pcapng (tcpdump -r FILE)\n"
	"  capture TARGET [-c COUNT] [-s SNAPLEN] [-w FILE] [-Q in|out|inout] [FILTER]\n"
	"                                the frames TARGET (a pod's container id or\n"
	"                                NAMESPACE/NAME, a port from 'port list',\n"
	"                                uplink or host) receives and sends, through a\n"
	"                                tcpdump filter: one line each, or -w pcapng\n"
	"                                (\"-\": stdout); until COUNT or interrupted\n"
	"  port list                     kind, MAC, MTU, peer, worker, link of each port\n"
	"  stats                         per-port counters and drops by reason\n"
	"  stats --watch [SECONDS [COUNT]]\n"
	"                                rates per port (packets and bits per second),\n"
	"                                drops, worker load and the busiest tracked\n"
	"                                connections every SECONDS (default 1), COUNT\n"
	"                                times (default: until interrupted)\n"
	"\n"
	"options:\n"
	"  -s, --socket PATH   podlaned socket (default " PL_DEFAULT_SOCKET ")\n"
	"  -o, --output json   print the API result as JSON\n"
	"  -h, --help          this help\n"
	"exit codes: 0 ok, 1 podlaned reported an error or is unreachable, 2 bad usage\n";

const char *cli_str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	static char buf[4][32];
	static int i;

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		i = (i + 1) % 4;
		snprintf(buf[i], sizeof(buf[i]), "%lld", (long long)json_integer_value(v));
		return buf[i];
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	return "-";
}

static void print_node(json_t *r)
{
	const char *keys[] = {"node_ip", "node_ip6", "node_mac", "gateway", "gateway6", "pod_cidr",
			      "pod_cidr6", "cluster_cidr", "cluster_cidr6", "service_cidr",
			      "service_cidr6", "masquerade", "nat_outgoing", "uplink", "uplink_mtu",
			      "host_port", "gateway_for_pods", "gateway_for_pods6", "workers", "pods",
			      "routes", "routes6", "free_ips", "ready", NULL};
	for (int i = 0; keys[i]; i++)
		if (json_object_get(r, keys[i]))
			printf("%-17s %s\n", keys[i], cli_str(r, keys[i]));
}

void cli_table(json_t *rows, const char *const cols[], const char *const heads[])
{
	size_t w[16] = {0}, i;
	int n = 0;
	json_t *r;

	while (cols[n])
		n++;
	for (int c = 0; c < n; c++)
		w[c] = strlen(heads[c]);
	json_array_foreach(rows, i, r)
		for (int c = 0; c < n; c++)
			if (strlen(cli_str(r, cols[c])) > w[c])
				w[c] = strlen(cli_str(r, cols[c]));
	/* The last column is not padded: no trailing spaces. */
	for (int c = 0; c < n; c++)
		printf("%-*s%s", c + 1 < n ? (int)w[c] : 0, heads[c], c + 1 < n ? "  " : "\n");
	json_array_foreach(rows, i, r)
		for (int c = 0; c < n; c++)
			printf("%-*s%s", c + 1 < n ? (int)w[c] : 0, cli_str(r, cols[c]), c + 1 < n ? "  " : "\n");
}

/* One "next hop" text for a route: via IP (IP,IP... for ECMP), dev PORT
 * or the route type. */
static const char *nexthop(json_t *o, char nh[192])
{
	json_t *via = json_object_get(o, "via"), *g;
	size_t i, n = 0;

	if (json_is_array(via)) {
		n = (size_t)snprintf(nh, 192, "via ");
		json_array_foreach(via, i, g)
			n += (size_t)snprintf(nh + n, n < 192 ? 192 - n : 0, "%s%s", i ? "," : "",
					      json_string_value(g));
	} else if (via)
		snprintf(nh, 192, "via %s", cli_str(o, "via"));
	else if (json_object_get(o, "dev"))
		snprintf(nh, 192, "dev %s", cli_str(o, "dev"));
	else
		snprintf(nh, 192, "%s", cli_str(o, "type"));
	return nh;
}

static void print_routes(json_t *r)
{
	size_t i;
	json_t *o;
	char nh[192];

	json_array_foreach(r, i, o)
		json_object_set_new(o, "nexthop", json_string(nexthop(o, nh)));
	cli_table(r, (const char *const[]){"prefix", "nexthop", "origin", NULL},
	      (const char *const[]){"PREFIX", "NEXTHOP", "ORIGIN"});
}

static void print_stats(json_t *r)
{
	const char *key;
	json_t *v;

	cli_table(json_object_get(r, "ports"),
	      (const char *const[]){"id", "name", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
				    "rx_missed", "policy_denied", NULL},
	      (const char *const[]){"ID", "PORT", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES",
				    "RX_MISSED", "POLICY_DENIED"});
	printf("\ndrops:\n");
	json_object_foreach(json_object_get(r, "drops"), key, v)
		printf("  %-16s %lld\n", key, (long long)json_integer_value(v));
	printf("icmp errors sent %s (rate limited %s), arp replies %s, arp requests %s, "
	       "ipv6 packets %s, ndp replies %s, ndp requests %s, fragmented %s, waited for a guest %s\n",
	       cli_str(r, "icmp_errors_sent"), cli_str(r, "icmp_errors_ratelimited"), cli_str(r, "arp_replies"),
	       cli_str(r, "arp_requests"), cli_str(r, "ipv6_packets"), cli_str(r, "ndp_replies"), cli_str(r, "ndp_requests"),
	       cli_str(r, "fragmented"), cli_str(r, "tx_waited"));
}

/* An array of strings as "a, b, c" (cut to fit). */
static const char *names(json_t *a, char *buf, size_t len)
{
	size_t i, at = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(a, i, v)
		if (at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "", json_string_value(v));
	return buf;
}

static void print_trace(json_t *r)
{
	json_t *route = json_object_get(r, "route"), *pod = json_object_get(r, "pod");
	char nh[192];

	printf("%-9s %s\n", "address", cli_str(r, "address"));
	if (json_is_object(json_object_get(r, "service"))) {
		json_t *sv = json_object_get(r, "service");
		bool named = json_object_get(sv, "name") != NULL;
		printf("%-9s %s%s%s%s\n", "service", cli_str(sv, "service"), named ? " (" : "",
		       named ? cli_str(sv, "name") : "", named ? ")" : "");
		if (json_object_get(r, "backend"))
			printf("%-9s %s\n", "backend", cli_str(r, "backend"));
	}
	json_t *pol = json_object_get(r, "policy");
	if (json_is_object(pol)) {
		char side[2][400], who[340];
		for (int d = 0; d < 2; d++) {
			json_t *s = json_object_get(pol, d ? "egress" : "ingress");
			json_t *by = json_object_get(s, "allowed_by");
			if (!json_is_true(json_object_get(s, "isolated")))
				snprintf(side[d], sizeof(side[d]), "not isolated");
			else if (json_is_object(by))
				snprintf(side[d], sizeof(side[d]), "%s rule %s", cli_str(by, "policy"),
					 cli_str(by, "rule"));
			else
				snprintf(side[d], sizeof(side[d]), "no rule of %s allows it",
					 names(json_object_get(s, "isolated_by"), who, sizeof(who)));
		}
		printf("%-9s %s (egress: %s; ingress: %s)\n", "policy", cli_str(pol, "verdict"),
		       side[1], side[0]);
	}
	if (json_object_get(r, "route") == NULL) { /* refused: no endpoint, or by policy */
		printf("%-9s %s\n", "action", cli_str(r, "action"));
		return;
	}
	if (json_is_object(route)) {
		printf("%-9s %s %s (%s)\n", "route", cli_str(route, "prefix"), nexthop(route, nh),
		       cli_str(route, "origin"));
	} else {
		printf("%-9s none\n", "route");
	}
	printf("%-9s %s\n", "action", cli_str(r, "action"));
	const char *keys[] = {"port", "next_hop", "mac", NULL};
	for (int i = 0; keys[i]; i++)
		if (json_object_get(r, keys[i]))
			printf("%-9s %s\n", keys[i],
			       json_is_null(json_object_get(r, keys[i])) ? "unresolved" : cli_str(r, keys[i]));
	json_t *m;
	size_t i;
	json_array_foreach(json_object_get(r, "members"), i, m) /* ECMP: every gateway */
		printf("%-9s %s%s\n", i ? "" : "members", cli_str(m, "ip"),
		       json_is_true(json_object_get(m, "resolved")) ? "" : " (unresolved: left out)");
	if (json_is_object(pod))
		printf("%-9s %s/%s\n", "pod", cli_str(pod, "container_id"), cli_str(pod, "ifname"));
}

static int bad_usage(const char *why)
{
	fprintf(stderr, "podlanectl: %s\n%s", why, usage_text);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = PL_DEFAULT_SOCKET, *method = NULL;
	bool json_out = false;
	json_t *params = NULL;
	void (*print)(json_t *) = NULL;
	bool watch = false;
	const char *capture_to = NULL; /* capture -w FILE */
	double interval = 1;
	long count = 0;
	int o;

	while ((o = getopt_long(argc, argv, "+s:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			sock = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") != 0)
				return bad_usage("-o takes only json");
			json_out = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return bad_usage("unknown option");
		}
	}
	char **a = argv + optind;
	int n = argc - optind;
#define IS(i, s) (n > (i) && strcmp(a[i], s) == 0)
	if (IS(0, "node") && n == 1) {
		method = PL_M_NODE_INFO;
		print = print_node;
	} else if (IS(0, "version") && n == 1) {
		method = PL_M_VERSION;
	} else if (IS(0, "pod") && IS(1, "list") && n == 2) {
		method = PL_M_POD_LIST;
	} else if (IS(0, "pod") && IS(1, "add") && (n == 5 || n == 6)) {
		method = PL_M_POD_ADD;
		params = json_pack("{s:s, s:s, s:s}", "container_id", a[2], "netns", a[3], "ifname", a[4]);
		if (n == 6)
			json_object_set_new(params, "kind", json_string(a[5]));
	} else if (IS(0, "pod") && IS(1, "del") && n == 4) {
		method = PL_M_POD_DEL;
		params = json_pack("{s:s, s:s}", "container_id", a[2], "ifname", a[3]);
	} else if (IS(0, "route") && IS(1, "list") && n == 2) {
		method = PL_M_ROUTE_LIST;
		print = print_routes;
	} else if (IS(0, "route") && IS(1, "add") && n == 5 && (IS(3, "via") || IS(3, "dev"))) {
		method = PL_M_ROUTE_ADD;
		params = json_pack("{s:s, s:s}", "prefix", a[2], a[3], a[4]);
		if (IS(3, "via") && strchr(a[4], ',')) { /* ECMP: via IP,IP... */
			json_t *via = json_array();
			for (char *g = strtok(a[4], ","); g; g = strtok(NULL, ","))
				json_array_append_new(via, json_string(g));
			json_object_set_new(params, "via", via);
		}
	} else if (IS(0, "route") && IS(1, "del") && n == 3) {
		method = PL_M_ROUTE_DEL;
		params = json_pack("{s:s}", "prefix", a[2]);
	} else if (IS(0, "port") && IS(1, "list") && n == 2) {
		method = PL_M_PORT_LIST;
	} else if (IS(0, "trace") && (n == 2 || (n == 4 && IS(2, "from")))) {
		method = PL_M_ROUTE_LOOKUP;
		if ((params = cli_trace_params(a[1], n == 4 ? a[3] : NULL)) == NULL)
			return bad_usage("trace: ADDRESS[:PORT[/tcp|udp]] [from SOURCE[:PORT]]");
		print = print_trace;
	} else if (IS(0, "drops")) {
		const char *why = NULL;
		if (cli_drops_command(n, a, &method, &params, &print, &why) != 0)
			return bad_usage(why);
	} else if (IS(0, "policy")) {
		const char *why = NULL;
		if (cli_policy_command(n, a, &method, &params, &print, &why) != 0)
			return bad_usage(why);
	} else if (IS(0, "service") || IS(0, "conntrack")) {
		const char *why = NULL;
		if (cli_svc_command(n, a, &method, &params, &print, &why) != 0)
			return bad_usage(why);
	} else if (IS(0, "capture")) {
		if ((params = cli_capture_params(n, a, &capture_to)) == NULL)
			return bad_usage(cli_capture_usage);
		method = PL_M_CAPTURE_START;
	} else if (IS(0, "stats") && IS(1, "--watch") && n <= 4) {
		char *end = NULL;
		interval = n > 2 ? strtod(a[2], &end) : 1;
		if ((end && *end) || !(interval >= 0.1 && interval <= 3600))
			return bad_usage("stats --watch: SECONDS must be a number from 0.1 to 3600");
		count = n > 3 ? strtol(a[3], &end, 10) : 0;
		if ((n > 3 && *end) || count < 0)
			return bad_usage("stats --watch: COUNT must be a whole number");
		method = PL_M_STATS_GET;
		watch = true;
	} else if (IS(0, "stats") && n == 1) {
		method = PL_M_STATS_GET;
		print = print_stats;
	} else {
		return bad_usage(n == 0 ? "missing command" : "unknown command or wrong arguments");
	}

	struct pl_client c;
	char msg[1024];
	int code;
	if (pl_client_open(&c, sock, 30000, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "podlanectl: %s\n", msg);
		json_decref(params);
		return 1;
	}
	if (watch || strcmp(method, PL_M_CAPTURE_START) == 0) {
		int rc = watch ? cli_watch_stats(&c, sock, interval, count) : cli_capture(&c, params, capture_to);
		pl_client_close(&c);
		return rc;
	}
	json_t *r = pl_client_call(&c, method, params, &code, msg, sizeof(msg));
	pl_client_close(&c);
	if (r == NULL) {
		fprintf(stderr, "podlanectl: %s\n", msg);
		return 1;
	}
	if (json_out) {
		json_dumpf(r, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (print) {
		print(r);
	} else if (strcmp(method, PL_M_POD_LIST) == 0) {
		size_t i;
		json_t *p;
		json_array_foreach(r, i, p)
			if (json_object_get(p, "k8s_name"))
				json_object_set_new(p, "k8s_pod", json_sprintf("%s/%s", cli_str(p, "k8s_namespace"),
									      cli_str(p, "k8s_name")));
		cli_table(r, (const char *const[]){"container_id", "k8s_pod", "ifname", "ip", "mac", "port",
						   "netns", NULL},
			  (const char *const[]){"CONTAINER", "POD", "IFNAME", "IP", "MAC", "PORT", "NETNS"});
	} else if (strcmp(method, PL_M_PORT_LIST) == 0) {
		cli_table(r, (const char *const[]){"id", "name", "kind", "mac", "mtu", "peer_ip", "peer_mac",
					       "worker", "link_up", NULL},
		      (const char *const[]){"ID", "NAME", "KIND", "MAC", "MTU", "PEER_IP", "PEER_MAC",
					    "WORKER", "LINK"});
	} else if (strcmp(method, PL_M_POD_ADD) == 0) {
		printf("pod %s/%s: ip %s mac %s gateway %s port %s%s%s\n", cli_str(r, "container_id"),
		       cli_str(r, "ifname"), cli_str(r, "ip"), cli_str(r, "mac"), cli_str(r, "gateway"), cli_str(r, "port"),
		       json_object_get(r, "socket") ? " socket " : "",
		       json_object_get(r, "socket") ? cli_str(r, "socket") : "");
	} else if (strcmp(method, PL_M_POD_DEL) == 0) {
		printf(json_is_true(json_object_get(r, "deleted")) ? "pod %s/%s deleted (released %s)\n"
								  : "pod %s/%s was not attached%s\n",
		       a[2], a[3], json_object_get(r, "ip") ? cli_str(r, "ip") : "");
	} else if (strcmp(method, PL_M_VERSION) == 0) {
		printf("podlaned %s (DPDK %s)\n", cli_str(r, "version"), cli_str(r, "dpdk"));
	} else if (strcmp(method, PL_M_ROUTE_DEL) == 0) {
		printf("route %s deleted\n", a[2]);
	} else {
		json_t *one = json_pack("[O]", r);
		print_routes(one);
		json_decref(one);
	}
	json_decref(r);
	return 0;
}
