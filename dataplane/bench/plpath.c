/* plpath: the receive path alone, in one process, no NIC and no kernel:
 * bursts of 32 frames from pod A's port through dp_rx_burst and the
 * transmit flush to ring-backed ports, TSC cycles per packet over the
 * calls only: the best of 16 rounds, and their median. Deterministic under `valgrind --tool=callgrind
 * --toggle-collect=dp_rx_burst` (instructions per packet), which these
 * VMs' drifting clocks are not.
 *
 *   plpath [--flows N] [--packets N] [--max-flows N] [--ipv6] route | service | beside | policy | memory
 *
 * route:   UDP pod A -> pod B (a /32 to B's port), N source ports;
 *          --ipv6: IPv6 UDP on a dual-stack node (a /128 to B's port).
 * policy:  as route, with pod B isolated for ingress and a rule allowing
 *          A (N connections tracked, each judged once); --ipv6 too.
 * service: UDP pod A -> a ClusterIP:53 with 4 backends (pods B and C,
 *          two ports each), N connections tracked (the first pass makes
 *          them, the measured ones find them).
 * beside:  as route, with that service present and A one of its clients
 *          (A's replies are looked up in the connection table).
 * memory:  the hugepage heap the dataplane's tables take with room for
 *          --max-flows connections (default 65536), in bytes; --ipv6: a
 *          dual-stack node's (its IPv6 tables too).
 * service and beside are IPv4's.
 * Prints one JSON object. Uses --no-huge memory. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_malloc.h>
#include <rte_udp.h>

#include <arpa/inet.h>

#include "dp_nat.h"

#define NPORTS 4
#define POD_A 2
#define POD_B 3
#define RING 4096
#define ROUNDS 16

static struct rte_ring *txr[NPORTS];

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return rte_cpu_to_be_32((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

/* Pod p's IPv6 address: fd00:10:96:f3::p. */
static void pod_ip6(uint8_t p, uint8_t out[16])
{
	inet_pton(AF_INET6, "fd00:10:96:f3::", out);
	out[15] = p;
}

static void ports(void)
{
	struct rte_ring *rxr[NPORTS];
	char name[32];

	for (int p = 0; p < NPORTS; p++) {
		snprintf(name, sizeof(name), "pp_rx%d", p);
		rxr[p] = rte_ring_create(name, 64, 0, 0);
		snprintf(name, sizeof(name), "pp_tx%d", p);
		txr[p] = rte_ring_create(name, RING, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		struct rte_ring *tx[2] = {txr[p], txr[p]};
		snprintf(name, sizeof(name), "pp_port%d", p);
		struct rte_eth_conf conf = {0};
		if (rte_eth_from_rings(name, &rxr[p], 1, tx, 2, 0) != p ||
		    rte_eth_dev_configure((uint16_t)p, 1, 2, &conf) != 0 ||
		    rte_eth_rx_queue_setup((uint16_t)p, 0, 64, 0, NULL, dp.pool) != 0 ||
		    rte_eth_tx_queue_setup((uint16_t)p, 0, 64, 0, NULL) != 0 ||
		    rte_eth_tx_queue_setup((uint16_t)p, 1, 64, 0, NULL) != 0 ||
		    rte_eth_dev_start((uint16_t)p) != 0) {
			fprintf(stderr, "plpath: cannot make ring port %d\n", p);
			exit(1);
		}
		struct dp_port *d = &dp.ports[p];
		d->active = 1;
		d->kind = p == 0 ? DP_PORT_UPLINK : p == 1 ? DP_PORT_HOST : DP_PORT_POD;
		d->mac = (struct rte_ether_addr){{0x02, 0, 0, 0, 0, (uint8_t)(0x10 + p)}};
		d->peer_mac = (struct rte_ether_addr){{0x02, 0, 0, 0, 0, (uint8_t)(0x20 + p)}};
		d->mtu = RTE_ETHER_MTU;
		d->peer_ip = ip4(100, 96, 243, (uint8_t)p);
		uint8_t ip6[16];
		pod_ip6((uint8_t)p, ip6);
		memcpy(d->peer_ip6, ip6, 16);
	}
	dp.uplink = 0;
	dp.host = 1;
}

/* Routes to the pod behind port: its /32, and its /128 on a dual-stack node. */
static void route(uint16_t port, bool ipv6)
{
	struct dp_nh_spec nh = {.kind = DP_NH_PORT, .port = port, .mac = dp.ports[port].peer_mac};
	if (dp_route_add(dp.ports[port].peer_ip, 32, &nh) != 0 ||
	    (ipv6 && dp_route6_add(dp.ports[port].peer_ip6, 128, &nh) != 0))
		exit(1);
}

static void service(void)
{
	struct dp_backend_spec b[4] = {
		{.ip = ip4(100, 96, 243, POD_B), .port = rte_cpu_to_be_16(5353), .local = true},
		{.ip = ip4(100, 96, 243, POD_B), .port = rte_cpu_to_be_16(5354), .local = true},
		{.ip = ip4(100, 96, 243, 9), .port = rte_cpu_to_be_16(5353), .local = true},
		{.ip = ip4(100, 96, 243, 9), .port = rte_cpu_to_be_16(5354), .local = true},
	};
	struct dp_svc_spec s = {.ip = ip4(10, 96, 0, 10), .port = rte_cpu_to_be_16(53),
				.proto = IPPROTO_UDP, .n_backends = 4, .backends = b};
	struct dp_nh_spec nh = {.kind = DP_NH_SERVICE};
	struct dp_nh_spec pod9 = {.kind = DP_NH_PORT, .port = POD_B, .mac = dp.ports[POD_B].peer_mac};
	/* a second backend pod, behind the same port */
	if (dp_route_add(ip4(100, 96, 243, 9), 32, &pod9) != 0 ||
	    dp_svc_set(0, &s) != 0 || dp_route_add(s.ip, 32, &nh) != 0)
		exit(1);
}

/* Pod B takes UDP 5353 from pod A only (in both families on a
 * dual-stack node). */
static void policy(bool ipv6)
{
	struct dp_pol_rule r = {.pod = dp.ports[POD_B].peer_ip, .peer = dp.ports[POD_A].peer_ip,
				.peer_len = 32, .proto = IPPROTO_UDP, .port_lo = 5353, .port_hi = 5353};
	struct dp_pol_rule6 r6 = {.peer_len = 128, .proto = IPPROTO_UDP, .port_lo = 5353,
				  .port_hi = 5353};
	memcpy(r6.pod, dp.ports[POD_B].peer_ip6, 16);
	memcpy(r6.peer, dp.ports[POD_A].peer_ip6, 16);
	struct dp_pol_spec s = {.n_isolated = {[DP_POL_INGRESS] = 1},
				.isolated = {[DP_POL_INGRESS] = &r.pod},
				.n_rules = {[DP_POL_INGRESS] = 1}, .rules = {[DP_POL_INGRESS] = &r},
				.n_isolated6 = {[DP_POL_INGRESS] = ipv6},
				.isolated6 = {[DP_POL_INGRESS] = (const uint8_t(*)[16])&r6.pod},
				.n_rules6 = {[DP_POL_INGRESS] = ipv6},
				.rules6 = {[DP_POL_INGRESS] = &r6}};
	char err[128];
	if (dp_policy_set(&s, err, sizeof(err)) != 0) {
		fprintf(stderr, "plpath: %s\n", err);
		exit(1);
	}
}

/* A 64-byte UDP frame from pod A to dst:dport from source port sport. */
static void frame(struct rte_mbuf *m, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, 60);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	memset(eth, 0, 60);
	eth->dst_addr = dp.ports[POD_A].mac;
	eth->src_addr = dp.ports[POD_A].peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = RTE_BE16(46);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = dp.ports[POD_A].peer_ip;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	uh->src_port = rte_cpu_to_be_16(sport);
	uh->dst_port = rte_cpu_to_be_16(dport);
	uh->dgram_len = RTE_BE16(26);
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
}

/* The same in IPv6 (a 66-byte frame): pod A to pod B. */
static void frame6(struct rte_mbuf *m, uint16_t sport, uint16_t dport)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, 66);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	memset(eth, 0, 66);
	eth->dst_addr = dp.ports[POD_A].mac;
	eth->src_addr = dp.ports[POD_A].peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = RTE_BE16(12);
	ip->proto = IPPROTO_UDP;
	ip->hop_limits = 64;
	memcpy(ip->src_addr, dp.ports[POD_A].peer_ip6, 16);
	memcpy(ip->dst_addr, dp.ports[POD_B].peer_ip6, 16);
	uh->src_port = rte_cpu_to_be_16(sport);
	uh->dst_port = rte_cpu_to_be_16(dport);
	uh->dgram_len = RTE_BE16(12);
	uh->dgram_cksum = rte_ipv6_udptcp_cksum(ip, uh);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void drain(void)
{
	struct rte_mbuf *out[64];
	unsigned n;

	for (int p = 0; p < NPORTS; p++)
		while ((n = rte_ring_dequeue_burst(txr[p], (void **)out, RTE_DIM(out), NULL)) > 0)
			rte_pktmbuf_free_bulk(out, n);
}

int main(int argc, char **argv)
{
	char *eal[] = {"plpath", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		       "--no-telemetry", "-l", "0", "--log-level", "lib.eal:error", NULL};
	static const struct option opts[] = {{"flows", required_argument, NULL, 'f'},
					     {"packets", required_argument, NULL, 'p'},
					     {"max-flows", required_argument, NULL, 'm'},
					     {"ipv6", no_argument, NULL, '6'},
					     {NULL, 0, NULL, 0}};
	unsigned flows = 1024, packets = 1u << 20, max_flows = 65536;
	bool ipv6 = false;
	char err[256];
	int o;

	while ((o = getopt_long(argc, argv, "f:p:", opts, NULL)) != -1) {
		if (o == 'f')
			flows = (unsigned)strtoul(optarg, NULL, 10);
		else if (o == 'p')
			packets = (unsigned)strtoul(optarg, NULL, 10);
		else if (o == 'm')
			max_flows = (unsigned)strtoul(optarg, NULL, 10);
		else if (o == '6')
			ipv6 = true;
		else
			return 2;
	}
	const char *what = optind < argc ? argv[optind] : "";
	bool svc = strcmp(what, "service") == 0, beside = strcmp(what, "beside") == 0;
	bool memory = strcmp(what, "memory") == 0, pol = strcmp(what, "policy") == 0;
	if ((!svc && !beside && !memory && !pol && strcmp(what, "route") != 0) || flows == 0 ||
	    (ipv6 && (svc || beside)) ||
	    flows > 60000 || max_flows < 1024 || max_flows > (1u << 24)) {
		fprintf(stderr, "usage: plpath [--flows 1..60000] [--packets N] [--max-flows "
			"1024..16777216] [--ipv6] route|service|beside|policy|memory\n");
		return 2;
	}
	if (memory)
		eal[3] = "3072";
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	struct dp_config c = {.n_workers = 1, .node_ip = ip4(172, 31, 102, 105), .node_plen = 24,
			      .max_routes = 1024, .max_flows = max_flows, .max_services = 16,
			      .ipv6 = ipv6};
	pod_ip6(0, c.pod6);
	if (dp_init_tables(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "plpath: %s\n", err);
		return 1;
	}
	if (memory) {
		struct rte_malloc_socket_stats ms;
		rte_malloc_get_socket_stats(rte_socket_id(), &ms);
		printf("{\"case\": \"memory\", \"max_flows\": %u, \"heap_bytes\": %zu}\n", max_flows,
		       ms.heap_allocsz_bytes);
		return 0;
	}
	ports();
	route(POD_A, ipv6);
	route(POD_B, ipv6);
	if (svc || beside)
		service();
	if (pol)
		policy(ipv6);
	uint32_t dst = svc ? ip4(10, 96, 0, 10) : dp.ports[POD_B].peer_ip;
	uint16_t dport = svc ? 53 : 5353;
	struct dp_worker *w = &dp.workers[0];
	struct rte_mbuf *pkts[DP_BURST];
	/* The measured packets in ROUNDS rounds: the best round says what the
	 * path costs, the others what the machine took from it meanwhile. */
	uint64_t cycles[ROUNDS] = {0}, sent = 0;

	/* A client of the service: one connection, so A's port is watched. */
	for (unsigned pass = beside ? 0 : 1; pass < 3; pass++) {
		/* Pass 0 makes A a client, pass 1 warms up (makes the
		 * connections), pass 2 is measured. */
		unsigned total = pass == 0 ? 1 : pass == 1 ? flows : packets;
		for (unsigned done = 0; done < total; done += DP_BURST) {
			unsigned n = RTE_MIN((unsigned)DP_BURST, total - done);
			if (rte_pktmbuf_alloc_bulk(dp.pool, pkts, n) != 0)
				return 1;
			for (unsigned i = 0; i < n && ipv6; i++)
				frame6(pkts[i], (uint16_t)(10000 + (done + i) % flows), dport);
			for (unsigned i = 0; i < n && !ipv6; i++)
				frame(pkts[i], pass == 0 ? ip4(10, 96, 0, 10) : dst,
				      (uint16_t)(10000 + (done + i) % flows), pass == 0 ? 53 : dport);
			uint64_t t = rte_rdtsc();
			dp_rx_burst(w, POD_A, pkts, (uint16_t)n);
			dp_tx_flush(w);
			if (pass == 2) {
				cycles[(uint64_t)done * ROUNDS / total] += rte_rdtsc() - t;
				sent += n;
			}
			drain();
		}
	}
	struct dp_stats st;
	dp_stats_read(&st);
	uint64_t out = st.port[POD_B].tx_pkts;
	qsort(cycles, ROUNDS, sizeof(cycles[0]), cmp_u64);
	double per_round = (double)sent / ROUNDS;
	printf("{\"case\": \"%s\", \"flows\": %u, \"packets\": %" PRIu64 ", \"cycles_per_packet\": %.1f, "
	       "\"median\": %.1f, \"to_pod_b\": %" PRIu64 ", \"flows_tracked\": %" PRIu64 "}\n",
	       what, flows, sent, (double)cycles[0] / per_round,
	       (double)cycles[ROUNDS / 2] / per_round, out, st.flows_in_use);
	return 0;
}
