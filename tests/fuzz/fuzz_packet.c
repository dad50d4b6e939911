/* Arbitrary bytes as frames received on the uplink, the host port or a
 * pod port, through parse, ARP, routing, the Service NAT (a TCP and a UDP
 * service on 10.96.0.10 with a NodePort, an external IP, affinity and a
 * backend on each side, and their IPv6 siblings on fd00:96::10; flows
 * aged as time passes, one second an input),
 * NetworkPolicy (pod b isolated for ingress, taking TCP 80-8080 from pod
 * a and anything from the other node's pods; pod a isolated for egress
 * with UDP to anywhere), ICMP, the slow path and the transmit side: GRO towards the pods (TAPs'
 * ports merge TCP) and the uplink's device offloads (it does TSO and
 * checksums, with net_tap's MTU quirk). */
#include <arpa/inet.h>
#include <stdint.h>

#include <rte_eth_ring.h>

#include "dp_nat.h"
#include "fuzz_env.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_ring *txr[4][2];

static uint32_t ip4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dp_config c = {.n_workers = 1, .node_ip = ip4("172.31.102.105"), .node_plen = 24,
			      .ipv6 = true, .has_node6 = true, .max_routes = 1024, .max_flows = 1024, .max_services = 16};
	char err[256], name[32];

	(void)argc;
	(void)argv;
	inet_pton(AF_INET6, "fd00:172:31:102::105", c.node_ip6);
	inet_pton(AF_INET6, "fd00:10:96:f3::", c.pod6);
	fuzz_eal_init();
	if (dp_init_tables(&c, err, sizeof(err)) != 0)
		abort();
	for (uint16_t p = 0; p < 4; p++) {
		struct rte_ring *rx;
		struct rte_eth_conf conf = {0};
		snprintf(name, sizeof(name), "frx%u", p);
		rx = rte_ring_create(name, 64, 0, 0);
		for (int q = 0; q < 2; q++) {
			snprintf(name, sizeof(name), "ftx%u_%d", p, q);
			txr[p][q] = rte_ring_create(name, 256, 0, 0);
		}
		snprintf(name, sizeof(name), "fport%u", p);
		if (rte_eth_from_rings(name, &rx, 1, txr[p], 2, 0) != p ||
		    rte_eth_dev_configure(p, 1, 2, &conf) != 0 ||
		    rte_eth_rx_queue_setup(p, 0, 64, 0, NULL, dp.pool) != 0 ||
		    rte_eth_tx_queue_setup(p, 0, 64, 0, NULL) != 0 ||
		    rte_eth_tx_queue_setup(p, 1, 64, 0, NULL) != 0 || rte_eth_dev_start(p) != 0)
			abort();
		dp.ports[p].active = 1;
		dp.ports[p].kind = p == 0 ? DP_PORT_UPLINK : p == 1 ? DP_PORT_HOST : DP_PORT_POD;
		dp.ports[p].mac = (struct rte_ether_addr){{2, 0, 0, 0, 0, (uint8_t)(0x10 + p)}};
		dp.ports[p].peer_mac = (struct rte_ether_addr){{2, 0, 0, 0, 0, (uint8_t)(0x20 + p)}};
		dp.ports[p].mtu = p == 3 ? 576 : RTE_ETHER_MTU; /* pod b's: fragments, ICMP */
	}
	dp.uplink = 0;
	dp.host = 1;
	dp.ports[0].hw_tx = DP_HW_TX_OFFLOADS;
	dp.ports[0].tso_l2_in_mtu = true;
	dp.ports[2].peer_ip = ip4("100.96.243.2");
	dp.ports[3].peer_ip = ip4("100.96.243.3");
	dp.ports[2].gro = dp.ports[3].gro = true;
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = 2, .mac = dp.ports[2].peer_mac};
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = 3, .mac = dp.ports[3].peer_mac};
	struct dp_nh_spec local = {.kind = DP_NH_LOCAL}, conn = {.kind = DP_NH_CONNECTED};
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.1")};
	dp_route_add(ip4("100.96.243.2"), 32, &a);
	dp_route_add(ip4("100.96.243.3"), 32, &b);
	/* Pods' IPv6 addresses: fd00:10:96:f3::2 and ::3. */
	for (uint16_t p = 2; p < 4; p++) {
		uint8_t *ip6 = dp.ports[p].peer_ip6;
		inet_pton(AF_INET6, "fd00:10:96:f3::", ip6);
		ip6[15] = (uint8_t)p;
		if (dp_route6_add(ip6, 128, p == 2 ? &a : &b) != 0)
			abort();
	}
	/* Other nodes' pods via their IPv6 addresses (NDP), the node network
	 * on-link, the rest to the node kernel. */
	uint8_t p6[16] = {0};
	struct dp_nh_spec gw6 = {.kind = DP_NH_GATEWAY};
	inet_pton(AF_INET6, "fd00:172:31:102::106", gw6.gw6);
	inet_pton(AF_INET6, "fd00:10:96:f4::", p6);
	if (dp_route6_add(p6, 64, &gw6) != 0)
		abort();
	struct dp_nh_spec ecmp6 = {.kind = DP_NH_ECMP, .n_gw = 2}; /* a third node's, ECMP */
	inet_pton(AF_INET6, "fd00:172:31:102::106", ecmp6.gws6[0]);
	inet_pton(AF_INET6, "fd00:172:31:102::107", ecmp6.gws6[1]);
	inet_pton(AF_INET6, "fd00:10:96:f5::", p6);
	if (dp_route6_add(p6, 64, &ecmp6) != 0)
		abort();
	inet_pton(AF_INET6, "fd00:172:31:102::", p6);
	if (dp_route6_add(p6, 64, &conn) != 0)
		abort();
	memset(p6, 0, sizeof(p6));
	if (dp_route6_add(p6, 0, &local) != 0)
		abort();
	dp_route_add(ip4("172.31.102.105"), 32, &local);
	dp_route_add(ip4("172.31.102.0"), 24, &conn);
	dp_route_add(0, 0, &gw);
	struct dp_backend_spec be[2] = {
		{.ip = ip4("100.96.243.3"), .port = RTE_BE16(8080), .local = true},
		{.ip = ip4("100.96.244.9"), .port = RTE_BE16(8080)},
	};
	struct dp_svc_spec tcp = {.ip = ip4("10.96.0.10"), .port = RTE_BE16(80), .proto = IPPROTO_TCP,
				  .node_port = RTE_BE16(30080), .n_ext = 1,
				  .ext = {ip4("198.51.100.10")}, .n_backends = 2, .backends = be};
	struct dp_svc_spec udp = {.ip = ip4("10.96.0.10"), .port = RTE_BE16(53), .proto = IPPROTO_UDP,
				  .affinity_s = 30, .ext_local = true, .node_port = RTE_BE16(30053),
				  .n_backends = 2, .backends = be};
	struct dp_nh_spec svc = {.kind = DP_NH_SERVICE};
	if (dp_svc_set(0, &tcp) != 0 || dp_svc_set(1, &udp) != 0 ||
	    dp_route_add(ip4("10.96.0.10"), 32, &svc) != 0 ||
	    dp_route_add(ip4("198.51.100.10"), 32, &svc) != 0)
		abort();
	struct dp_backend_spec be6[2] = {{.port = RTE_BE16(8080), .local = true},
					 {.port = RTE_BE16(8080)}};
	inet_pton(AF_INET6, "fd00:10:96:f3::3", be6[0].ip6);
	inet_pton(AF_INET6, "fd00:10:96:f4::9", be6[1].ip6);
	struct dp_svc_spec tcp6 = {.v6 = true, .port = RTE_BE16(80), .proto = IPPROTO_TCP,
				   .n_backends = 2, .backends = be6};
	struct dp_svc_spec udp6 = {.v6 = true, .port = RTE_BE16(53), .proto = IPPROTO_UDP,
				   .affinity_s = 30, .n_backends = 2, .backends = be6};
	inet_pton(AF_INET6, "fd00:96::10", tcp6.ip6);
	memcpy(udp6.ip6, tcp6.ip6, 16);
	if (dp_svc_set(2, &tcp6) != 0 || dp_svc_set(3, &udp6) != 0 ||
	    dp_route6_add(tcp6.ip6, 128, &svc) != 0)
		abort();
	struct dp_pol_rule in[2] = {
		{.pod = ip4("100.96.243.3"), .peer = ip4("100.96.243.2"), .peer_len = 32,
		 .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 8080, .id = 0},
		{.pod = ip4("100.96.243.3"), .peer = ip4("100.96.244.0"), .peer_len = 24, .id = 1},
	};
	struct dp_pol_rule out = {.pod = ip4("100.96.243.2"), .proto = IPPROTO_UDP, .port_lo = 1,
				  .port_hi = 65535, .id = 2};
	uint32_t iso_in = ip4("100.96.243.3"), iso_out = ip4("100.96.243.2");
	/* The same pods' IPv6 sides: ingress from pod a's /128 on TCP, egress
	 * to the other node's /64. */
	struct dp_pol_rule6 in6 = {.peer_len = 128, .proto = IPPROTO_TCP, .port_lo = 80,
				   .port_hi = 8080, .id = 3};
	struct dp_pol_rule6 out6 = {.peer_len = 64, .id = 4};
	memcpy(in6.pod, dp.ports[3].peer_ip6, 16);
	memcpy(in6.peer, dp.ports[2].peer_ip6, 16);
	memcpy(out6.pod, dp.ports[2].peer_ip6, 16);
	inet_pton(AF_INET6, "fd00:10:96:f4::", out6.peer);
	struct dp_pol_spec pol = {.n_isolated = {1, 1}, .isolated = {&iso_in, &iso_out},
				  .n_rules = {2, 1}, .rules = {in, &out},
				  .n_isolated6 = {1, 1},
				  .isolated6 = {(const uint8_t(*)[16])dp.ports[3].peer_ip6,
						(const uint8_t(*)[16])dp.ports[2].peer_ip6},
				  .n_rules6 = {1, 1}, .rules6 = {&in6, &out6}};
	if (dp_policy_set(&pol, err, sizeof(err)) != 0)
		abort();
	return 0;
}

/* One frame of len bytes at data as an mbuf, a virtio-net header first
 * if vnet; NULL if it is not one a port could have received. */
static struct rte_mbuf *frame_of(const uint8_t *data, size_t len, bool vnet)
{
	struct virtio_net_hdr h;
	size_t hl = vnet ? sizeof(h) : 0;
	struct rte_mbuf *m;

	if (len < hl)
		return NULL;
	memcpy(&h, data, hl);
	if ((m = rte_pktmbuf_alloc(vnet ? dp.big_pool : dp.pool)) == NULL)
		abort();
	char *frame = rte_pktmbuf_append(m, (uint16_t)(len - hl));
	if (frame == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(frame, data + hl, len - hl);
	if (vnet && !dp_vnet_to_mbuf(&h, m)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_worker *w = &dp.workers[0];
	struct rte_mbuf *pkts[DP_BURST], *m; /* a worker's rx burst */
	uint16_t n = 0;

	/* data[0]: input port (low 2 bits); bit 7: frames come from a native
	 * TAP, a virtio-net header first (offloads, GSO); bit 6: a burst,
	 * each frame a 2-byte big-endian length and its bytes (else the rest
	 * is one frame); bit 5: in the pickup window after a crash
	 * (dp_ct_pickup: answers no flow knows are picked up). */
	if (size < 1 || size > 20000)
		return 0;
	bool vnet = data[0] & 0x80, burst = data[0] & 0x40;
	dp_ct_pickup(data[0] & 0x20 ? 1 : 0);
	for (size_t at = 1; at < size && n < RTE_DIM(pkts);) {
		size_t len = size - at;
		if (burst) {
			if (len < 2)
				break;
			len = RTE_MIN((size_t)(data[at] << 8 | data[at + 1]), len - 2);
			at += 2;
		}
		if ((m = frame_of(data + at, len, vnet)) != NULL)
			pkts[n++] = m;
		at += len;
	}
	if (n)
		dp_rx_burst(w, data[0] % 4, pkts, n);
	dp_tx_flush(w);
	dp_slowpath_run();
	dp.now_s++;
	dp_nat_timer();
	for (int p = 0; p < 4; p++)
		for (int q = 0; q < 2; q++)
			while (rte_ring_dequeue(txr[p][q], (void **)&m) == 0)
				rte_pktmbuf_free(m);
	return 0;
}
