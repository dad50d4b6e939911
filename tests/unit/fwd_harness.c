#include <unistd.h>
#include <rte_malloc.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_nat.h"
#include "fwd_harness.h"

struct rte_ring *t_txr[T_NPORTS][2];
static struct rte_ring *rxr[T_NPORTS];

int t_eal_init(void)
{
	char *argv[] = {"test", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			"--no-telemetry", "-l", "0", "--log-level", "lib.eal:error", NULL};
	return rte_eal_init(11, argv) < 0 ? -1 : 0;
}

int t_dp_setup(void **state)
{
	static int eal_done;
	char err[256], name[32];
	struct dp_config c = {.n_workers = 1, .node_ip = ip4("172.31.102.105"),
			      .node_plen = 24, .ipv6 = true, .has_node6 = true,
			      .max_routes = 1 << 16, .max_flows = 4096,
			      .max_services = 64};

	(void)state;
	t_ip6("fd00:172:31:102::105", c.node_ip6);
	t_ip6("fd00:10:96:f3::", c.pod6);
	if (!eal_done) {
		if (t_eal_init() != 0)
			return -1;
	} else {
		/* Tables are re-created per test; the ports stay. */
		dp_nat_fini();
		rte_fib_free(dp.fib[0]);
		rte_fib_free(dp.fib[1]);
		rte_fib6_free(dp.fib6[0]);
		rte_fib6_free(dp.fib6[1]);
		rte_hash_free(dp.nh_by_key);
		rte_hash_free(dp.neigh_hash);
		rte_hash_free(dp.neigh6_hash);
		rte_ring_free(dp.slowpath);
		rte_free(dp.qsbr);
		close(dp.slowpath_efd);
		close(dp.workers[0].epfd);
		close(dp.workers[0].kickfd);
		rte_mempool_free(dp.pool);
		rte_mempool_free(dp.big_pool);
		rte_mempool_free(dp.indirect_pool);
	}
	if (dp_init_tables(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "dp_init_tables: %s\n", err);
		return -1;
	}
	for (int p = 0; p < T_NPORTS && !eal_done; p++) {
		snprintf(name, sizeof(name), "t_rx%d", p);
		rxr[p] = rte_ring_create(name, 64, 0, 0);
		for (int q = 0; q < 2; q++) {
			snprintf(name, sizeof(name), "t_tx%d_%d", p, q);
			t_txr[p][q] = rte_ring_create(name, 64, 0, 0);
		}
		snprintf(name, sizeof(name), "t_port%d", p);
		assert_int_equal(rte_eth_from_rings(name, &rxr[p], 1, t_txr[p], 2, 0), p);
		struct rte_eth_conf conf = {0};
		assert_int_equal(rte_eth_dev_configure((uint16_t)p, 1, 2, &conf), 0);
		assert_int_equal(rte_eth_rx_queue_setup((uint16_t)p, 0, 64, 0, NULL, dp.pool), 0);
		for (uint16_t q = 0; q < 2; q++)
			assert_int_equal(rte_eth_tx_queue_setup((uint16_t)p, q, 64, 0, NULL), 0);
		assert_int_equal(rte_eth_dev_start((uint16_t)p), 0);
	}
	eal_done = 1;
	for (int p = 0; p < T_NPORTS; p++) {
		struct dp_port *dpp = &dp.ports[p];
		dpp->active = 1;
		dpp->kind = p == T_UPLINK ? DP_PORT_UPLINK : p == T_HOST ? DP_PORT_HOST : DP_PORT_POD;
		dpp->mac = mac_n((uint8_t)(0x10 + p));
		dpp->peer_mac = mac_n((uint8_t)(0x20 + p));
		dpp->mtu = RTE_ETHER_MTU;
		dpp->single_seg = false;
	}
	dp.uplink = T_UPLINK;
	dp.host = T_HOST;
	dp.ports[T_POD_A].peer_ip = ip4("100.96.243.2");
	dp.ports[T_POD_B].peer_ip = ip4("100.96.243.3");
	t_ip6("fd00:10:96:f3::2", dp.ports[T_POD_A].peer_ip6);
	t_ip6("fd00:10:96:f3::3", dp.ports[T_POD_B].peer_ip6);
	dp.workers[0].hold_tx = true;
	dp.workers[0].icmp_tokens = 100;
	return 0;
}

int t_dp_teardown(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	for (int p = 0; p < T_NPORTS; p++)
		for (int q = 0; q < 2; q++)
			while (rte_ring_dequeue(t_txr[p][q], (void **)&m) == 0)
				rte_pktmbuf_free(m);
	for (int p = 0; p < DP_MAX_PORTS; p++) {
		struct dp_txbuf *b = &dp.workers[0].tx[p];
		rte_pktmbuf_free_bulk(b->pkts, b->n);
		b->n = 0;
	}
	return 0;
}

struct rte_ipv4_hdr *t_ip(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
}

struct rte_mbuf *t_frame(struct rte_mempool *pool, uint16_t port, uint32_t src, uint32_t dst,
			 uint8_t proto, uint16_t l3, uint8_t ttl)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	assert_non_null(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + l3);
	assert_non_null(eth);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	eth->dst_addr = dp.ports[port].mac;
	eth->src_addr = dp.ports[port].peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, l3);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(l3);
	ip->packet_id = RTE_BE16(100);
	ip->time_to_live = ttl;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	m->port = port;
	return m;
}

struct rte_mbuf *t_ipv4(uint16_t port, uint32_t src, uint32_t dst, uint8_t ttl)
{
	return t_frame(dp.pool, port, src, dst, IPPROTO_UDP, sizeof(struct rte_ipv4_hdr) + 8 + 32, ttl);
}

/* An l4-byte TCP or UDP segment (checksums complete) in an IPv4 frame. */
struct rte_mbuf *t_l4_frame(uint16_t port, const char *src, uint16_t sport, const char *dst,
			     uint16_t dport, uint8_t proto, uint8_t ttl)
{
	uint16_t l4 = proto == IPPROTO_TCP ? 20 + 12 : 8 + 12;
	struct rte_mbuf *m = t_frame(dp.pool, port, ip4(src), ip4(dst), proto,
				     (uint16_t)(sizeof(struct rte_ipv4_hdr) + l4), ttl);
	struct rte_ipv4_hdr *ip = t_ip(m);
	uint8_t *p = (uint8_t *)(ip + 1);

	memcpy(p + l4 - 12, "hello, world", 12);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)p;
		th->src_port = rte_cpu_to_be_16(sport);
		th->dst_port = rte_cpu_to_be_16(dport);
		th->data_off = 5 << 4;
		th->tcp_flags = RTE_TCP_ACK_FLAG;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	} else {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)p;
		uh->src_port = rte_cpu_to_be_16(sport);
		uh->dst_port = rte_cpu_to_be_16(dport);
		uh->dgram_len = rte_cpu_to_be_16(l4);
		uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
	}
	return m;
}

struct rte_mbuf *t_arp(uint16_t port, uint16_t op, uint32_t sip, uint32_t tip,
		       struct rte_ether_addr sha)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	assert_non_null(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	memset(&eth->dst_addr, op == RTE_ARP_OP_REQUEST ? 0xff : 0, sizeof(eth->dst_addr));
	if (op == RTE_ARP_OP_REPLY)
		eth->dst_addr = dp.ports[port].mac;
	eth->src_addr = sha;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = sha;
	arp->arp_data.arp_sip = sip;
	memset(&arp->arp_data.arp_tha, 0, 6);
	arp->arp_data.arp_tip = tip;
	m->port = port;
	return m;
}

struct rte_mbuf *t_take(struct dp_worker *w, uint16_t port)
{
	struct dp_txbuf *b = &w->tx[port];
	assert_int_equal(b->n, 1);
	b->n = 0;
	return b->pkts[0];
}

void t_assert_no_output(struct dp_worker *w)
{
	for (int p = 0; p < DP_MAX_PORTS; p++)
		assert_int_equal(w->tx[p].n, 0);
}

void t_udp_partial(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				   .csum_start = RTE_ETHER_HDR_LEN + sizeof(*ip),
				   .csum_offset = offsetof(struct rte_udp_hdr, dgram_cksum)};

	uh->dgram_cksum = rte_ipv4_phdr_cksum(ip, 0);
	assert_true(dp_vnet_to_mbuf(&h, m));
}

void t_pod_routes6(void)
{
	for (uint16_t p = T_POD_A; p <= T_POD_B; p++) {
		struct dp_nh_spec nh = {.kind = DP_NH_PORT, .port = p, .mac = dp.ports[p].peer_mac};
		assert_int_equal(dp_route6_add(dp.ports[p].peer_ip6, 128, &nh), 0);
	}
}

/* A TCP segment (flags) or UDP datagram over IPv6 from the peer of port
 * with n bytes of data, its checksum right. */
struct rte_mbuf *t_frame6(uint16_t port, const char *src, const char *dst, uint8_t proto,
			  uint16_t payload, uint8_t hop)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	assert_non_null(m);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, (uint16_t)(sizeof(*eth) + sizeof(struct rte_ipv6_hdr) + payload));
	assert_non_null(eth);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

	eth->dst_addr = dp.ports[port].mac;
	eth->src_addr = dp.ports[port].peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	memset(ip, 0, sizeof(*ip) + payload);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(payload);
	ip->proto = proto;
	ip->hop_limits = hop;
	t_ip6(src, ip->src_addr);
	t_ip6(dst, ip->dst_addr);
	m->port = port;
	return m;
}

struct rte_mbuf *t_l4_frame6(uint16_t port, const char *src, uint16_t sport, const char *dst,
			     uint16_t dport, uint8_t proto, uint8_t flags, uint16_t n)
{
	uint16_t l4 = proto == IPPROTO_TCP ? sizeof(struct rte_tcp_hdr) : sizeof(struct rte_udp_hdr);
	uint16_t payload = l4 + n;
	struct rte_mbuf *m = t_frame6(port, src, dst, proto, payload, 64);
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
	uint8_t *p = (uint8_t *)(ip + 1);

	for (unsigned i = l4; i < payload; i++)
		p[i] = (uint8_t)(i * 7);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)p;
		*th = (struct rte_tcp_hdr){.src_port = rte_cpu_to_be_16(sport),
					   .dst_port = rte_cpu_to_be_16(dport), .data_off = 5 << 4,
					   .tcp_flags = flags, .rx_win = rte_cpu_to_be_16(1000)};
		th->cksum = rte_ipv6_udptcp_cksum(ip, th);
	} else {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)p;
		*uh = (struct rte_udp_hdr){.src_port = rte_cpu_to_be_16(sport),
					   .dst_port = rte_cpu_to_be_16(dport),
					   .dgram_len = rte_cpu_to_be_16(payload)};
		uh->dgram_cksum = rte_ipv6_udptcp_cksum(ip, uh);
	}
	return m;
}
