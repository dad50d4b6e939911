/* Forwarding path on frames built here: what goes out, where, with which
 * addresses, TTL and checksum; ICMP errors; ARP; drops and their counters. */
#include <rte_icmp.h>
#include <rte_ip.h>

#include "fwd_harness.h"

#define W (&dp.workers[0])

static void add_pod_routes(void)
{
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	struct dp_nh_spec local = {.kind = DP_NH_LOCAL};
	assert_int_equal(dp_route_add(ip4("100.96.243.2"), 32, &a), 0);
	assert_int_equal(dp_route_add(ip4("100.96.243.3"), 32, &b), 0);
	assert_int_equal(dp_route_add(ip4("172.31.102.105"), 32, &local), 0);
}

static void rx1(uint16_t port, struct rte_mbuf *m)
{
	dp_rx_burst(W, port, &m, 1);
}

static void assert_cksum_ok(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = t_ip(m);
	assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
}

static void test_pod_to_pod(void **state)
{
	(void)state;
	add_pod_routes();
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64));
	struct rte_mbuf *m = t_take(W, T_POD_B);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &dp.ports[T_POD_B].peer_mac));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &dp.ports[T_POD_B].mac));
	assert_int_equal(t_ip(m)->time_to_live, 63);
	assert_int_equal(t_ip(m)->src_addr, ip4("100.96.243.2"));
	assert_int_equal(t_ip(m)->dst_addr, ip4("100.96.243.3"));
	assert_cksum_ok(m);
	t_assert_no_output(W);
	rte_pktmbuf_free(m);
}

static void test_checksum_across_ttl_values(void **state)
{
	(void)state;
	add_pod_routes();
	for (unsigned ttl = 2; ttl <= 255; ttl++) {
		rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), (uint8_t)ttl));
		struct rte_mbuf *m = t_take(W, T_POD_B);
		assert_int_equal(t_ip(m)->time_to_live, ttl - 1);
		assert_cksum_ok(m);
		rte_pktmbuf_free(m);
	}
}

static void assert_icmp_error(struct rte_mbuf *m, uint8_t type, uint8_t code, uint32_t to)
{
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
	assert_int_equal(ip->src_addr, dp.cfg.node_ip);
	assert_int_equal(ip->dst_addr, to);
	assert_int_equal(icmp->icmp_type, type);
	assert_int_equal(icmp->icmp_code, code);
	assert_cksum_ok(m);
	uint16_t l4 = rte_be_to_cpu_16(ip->total_length) - sizeof(*ip);
	/* The whole datagram quoted: these are short (test_mtu: long ones). */
	const struct rte_ipv4_hdr *q = (const struct rte_ipv4_hdr *)(icmp + 1);
	assert_int_equal(l4, sizeof(*icmp) + rte_be_to_cpu_16(q->total_length));
	assert_int_equal(rte_raw_cksum(icmp, l4), 0xffff);
}

/* A packet from pod a to dst with ttl: answered with ICMP type/code from
 * the node, dropped as why, nothing else sent. */
static void expect_icmp(uint32_t dst, uint8_t ttl, uint8_t type, uint8_t code, enum dp_drop why)
{
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), dst, ttl));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	assert_icmp_error(m, type, code, ip4("100.96.243.2"));
	assert_int_equal(W->stats.drops[why], 1);
	t_assert_no_output(W);
	rte_pktmbuf_free(m);
}

static void test_ttl_exceeded(void **state)
{
	(void)state;
	add_pod_routes();
	expect_icmp(ip4("100.96.243.3"), 1, 11, 0, DP_DROP_TTL_EXCEEDED);
}

static void test_no_route_unreachable(void **state)
{
	(void)state;
	add_pod_routes();
	expect_icmp(ip4("10.9.9.9"), 64, 3, 0, DP_DROP_NO_ROUTE);
}

/* An unreachable route under a wider one (nat_outgoing's cluster_cidr
 * under a default route to the kernel): the sender hears at once. */
static void test_unreachable_route(void **state)
{
	struct dp_nh_spec local = {.kind = DP_NH_LOCAL}, unreach = {.kind = DP_NH_UNREACHABLE};
	(void)state;
	add_pod_routes();
	assert_int_equal(dp_route_add(0, 0, &local), 0);
	assert_int_equal(dp_route_add(ip4("100.96.0.0"), 11, &unreach), 0);
	expect_icmp(ip4("100.97.0.9"), 64, 3, 0, DP_DROP_NO_ROUTE);
	assert_int_equal(dp_route_del(0, 0), 0);
	assert_int_equal(dp_route_del(ip4("100.96.0.0"), 11), 0);
}

/* 3 tokens left: 3 errors go out, and one more per millisecond the loop
 * takes (1000 a second refill; a loaded machine may take several). */
static void test_icmp_rate_limited(void **state)
{
	(void)state;
	add_pod_routes();
	W->icmp_tokens = 3;
	uint64_t t0 = W->icmp_last = rte_get_tsc_cycles();
	for (int i = 0; i < 10; i++)
		rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("10.9.9.9"), 64));
	uint64_t refills = (rte_get_tsc_cycles() - t0) * 1000 / rte_get_tsc_hz();
	assert_in_range(W->tx[T_POD_A].n, 3, RTE_MIN(3 + refills, 10u));
	assert_int_equal(W->stats.drops[DP_DROP_NO_ROUTE], 10);
	assert_int_equal(W->stats.icmp_ratelimited, 10 - W->tx[T_POD_A].n);
}

static void test_bad_headers_dropped(void **state)
{
	(void)state;
	add_pod_routes();
	struct rte_mbuf *m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	t_ip(m)->hdr_checksum ^= 0x1234;
	rx1(T_POD_A, m);
	assert_int_equal(W->stats.drops[DP_DROP_BAD_CHECKSUM], 1);

	m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	t_ip(m)->version_ihl = 0x44;
	rx1(T_POD_A, m);
	m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	t_ip(m)->total_length = rte_cpu_to_be_16(1400); /* longer than the frame */
	rx1(T_POD_A, m);
	m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	rte_pktmbuf_trim(m, m->pkt_len - 20); /* runt */
	rx1(T_POD_A, m);
	assert_int_equal(W->stats.drops[DP_DROP_BAD_IP_HEADER], 3);
	t_assert_no_output(W);
}

/* What a router does with odd but valid packets: options and fragments
 * are forwarded as they are; TTL 0 gets time-exceeded; a broadcast or
 * multicast destination from a pod is not routed; a frame longer than its
 * IP length (Ethernet padding) goes through, one shorter is dropped. */
static void test_odd_packets(void **state)
{
	(void)state;
	add_pod_routes();
	struct rte_mbuf *m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	t_ip(m)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | 10);
	t_ip(m)->hdr_checksum = 0;
	t_ip(m)->hdr_checksum = rte_ipv4_cksum(t_ip(m));
	rx1(T_POD_A, m);
	m = t_take(W, T_POD_B);
	assert_int_equal(rte_be_to_cpu_16(t_ip(m)->fragment_offset), RTE_IPV4_HDR_MF_FLAG | 10);
	assert_cksum_ok(m);
	rte_pktmbuf_free(m);

	/* IHL 6: one word of options (NOP x4), forwarded with them. */
	m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	struct rte_ipv4_hdr *ip = t_ip(m);
	ip->version_ihl = 0x46;
	memset(ip + 1, 1, 4);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = ~rte_raw_cksum(ip, 24);
	rx1(T_POD_A, m);
	m = t_take(W, T_POD_B);
	assert_int_equal(t_ip(m)->version_ihl, 0x46);
	assert_int_equal(t_ip(m)->time_to_live, 63);
	assert_int_equal(rte_raw_cksum(t_ip(m), 24), 0xffff);
	rte_pktmbuf_free(m);

	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 0));
	m = t_take(W, T_POD_A);
	assert_icmp_error(m, 11, 0, ip4("100.96.243.2"));
	rte_pktmbuf_free(m);

	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("255.255.255.255"), 64));
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("224.0.0.1"), 64));
	assert_int_equal(W->stats.drops[DP_DROP_NO_ROUTE], 2);
	t_assert_no_output(W); /* and no ICMP error about them (RFC 1812) */

	m = t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64);
	memset(rte_pktmbuf_append(m, 20), 0, 20); /* padding beyond total_length */
	rx1(T_POD_A, m);
	rte_pktmbuf_free(t_take(W, T_POD_B));
}

static void test_pod_cannot_spoof(void **state)
{
	(void)state;
	add_pod_routes();
	/* Pod A (100.96.243.2) sends as pod B, then as the node. */
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.3"), ip4("100.96.243.3"), 64));
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("172.31.102.105"), ip4("100.96.243.3"), 64));
	rx1(T_POD_A, t_arp(T_POD_A, RTE_ARP_OP_REQUEST, ip4("100.96.243.3"), ip4("169.254.1.1"),
			   dp.ports[T_POD_A].peer_mac));
	t_assert_no_output(W);
	assert_int_equal(W->stats.drops[DP_DROP_SPOOFED], 3);
	/* Its own address still goes through. */
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.243.3"), 64));
	rte_pktmbuf_free(t_take(W, T_POD_B));
}

static void test_pod_to_node_is_punted_to_kernel(void **state)
{
	(void)state;
	add_pod_routes();
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("172.31.102.105"), 64));
	struct rte_mbuf *m = t_take(W, T_HOST);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &dp.ports[T_HOST].peer_mac));
	assert_int_equal(t_ip(m)->time_to_live, 64); /* delivered, not routed on */
	rte_pktmbuf_free(m);
}

static void test_arp_for_node_ip_on_uplink(void **state)
{
	(void)state;
	struct rte_ether_addr peer = mac_n(0x99);
	rx1(T_UPLINK, t_arp(T_UPLINK, RTE_ARP_OP_REQUEST, ip4("172.31.102.1"),
			    ip4("172.31.102.105"), peer));
	struct rte_mbuf *m = t_take(W, T_UPLINK);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	assert_int_equal(arp->arp_opcode, RTE_BE16(RTE_ARP_OP_REPLY));
	assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &dp.ports[T_UPLINK].mac));
	assert_int_equal(arp->arp_data.arp_sip, ip4("172.31.102.105"));
	assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_tha, &peer));
	assert_int_equal(arp->arp_data.arp_tip, ip4("172.31.102.1"));
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &peer));
	rte_pktmbuf_free(m);

	/* Someone else's address: no answer. */
	rx1(T_UPLINK, t_arp(T_UPLINK, RTE_ARP_OP_REQUEST, ip4("172.31.102.1"),
			    ip4("172.31.102.106"), peer));
	t_assert_no_output(W);
	assert_int_equal(W->stats.drops[DP_DROP_NOT_FOR_US], 1);
}

static void test_proxy_arp_on_pod_port(void **state)
{
	(void)state;
	struct rte_ether_addr pod = dp.ports[T_POD_A].peer_mac;
	rx1(T_POD_A, t_arp(T_POD_A, RTE_ARP_OP_REQUEST, ip4("100.96.243.2"), ip4("169.254.1.1"), pod));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, 14);
	assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &dp.ports[T_POD_A].mac));
	assert_int_equal(arp->arp_data.arp_sip, ip4("169.254.1.1"));
	rte_pktmbuf_free(m);

	/* Duplicate address detection for its own IP: never answered. */
	rx1(T_POD_A, t_arp(T_POD_A, RTE_ARP_OP_REQUEST, 0, ip4("100.96.243.2"), pod));
	t_assert_no_output(W);
}

static void test_host_port_arp(void **state)
{
	(void)state;
	struct rte_ether_addr k = dp.ports[T_HOST].peer_mac;
	/* Kernel asks for a pod: proxied. */
	rx1(T_HOST, t_arp(T_HOST, RTE_ARP_OP_REQUEST, ip4("172.31.102.105"), ip4("100.96.243.3"), k));
	rte_pktmbuf_free(t_take(W, T_HOST));
	/* Kernel asks for a node-network neighbour: goes out the uplink as is. */
	rx1(T_HOST, t_arp(T_HOST, RTE_ARP_OP_REQUEST, ip4("172.31.102.105"), ip4("172.31.102.1"), k));
	rte_pktmbuf_free(t_take(W, T_UPLINK));
}

static void test_gateway_resolution(void **state)
{
	(void)state;
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.106")};
	assert_int_equal(dp_route_add(ip4("100.96.244.0"), 24, &gw), 0);
	add_pod_routes();

	/* Unresolved: handed to the control thread, which asks by ARP. */
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.244.9"), 64));
	t_assert_no_output(W);
	assert_int_equal(rte_ring_count(dp.slowpath), 1);
	dp_slowpath_run();
	struct rte_mbuf *req = NULL;
	assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&req), 0);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(req, struct rte_arp_hdr *, 14);
	assert_int_equal(arp->arp_opcode, RTE_BE16(RTE_ARP_OP_REQUEST));
	assert_int_equal(arp->arp_data.arp_tip, ip4("172.31.102.106"));
	assert_int_equal(arp->arp_data.arp_sip, ip4("172.31.102.105"));
	rte_pktmbuf_free(req);

	/* The reply releases the queued packet with the learnt MAC. */
	struct rte_ether_addr nb = mac_n(0x66);
	rx1(T_UPLINK, t_arp(T_UPLINK, RTE_ARP_OP_REPLY, ip4("172.31.102.106"), ip4("172.31.102.105"), nb));
	dp_slowpath_run();
	struct rte_mbuf *m = NULL;
	assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m), 0);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &nb));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &dp.ports[T_UPLINK].mac));
	assert_int_equal(t_ip(m)->time_to_live, 63);
	assert_cksum_ok(m);
	rte_pktmbuf_free(m);
	/* ...and the kernel gets the reply too, since it shares the node IP. */
	assert_int_equal(rte_ring_dequeue(t_txr[T_HOST][1], (void **)&m), 0);
	rte_pktmbuf_free(m);

	/* An unsolicited reply creates nothing. */
	rx1(T_UPLINK, t_arp(T_UPLINK, RTE_ARP_OP_REPLY, ip4("172.31.102.77"), ip4("172.31.102.105"), nb));
	dp_slowpath_run();
	assert_int_equal(dp_neigh_mac_word(ip4("172.31.102.77")), 0);
	assert_int_equal(rte_ring_dequeue(t_txr[T_HOST][1], (void **)&m), 0); /* still the kernel's */
	rte_pktmbuf_free(m);

	/* Now resolved: the worker forwards directly. */
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.244.9"), 64));
	m = t_take(W, T_UPLINK);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &nb));
	rte_pktmbuf_free(m);
}

/* A neighbour not confirmed for 60 s is re-probed while still used, and
 * forgotten after 3 unanswered probes; a queued packet waits at most 3
 * probes, then is dropped and counted. */
static void test_neighbour_aging(void **state)
{
	(void)state;
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.106")};
	struct rte_mbuf *m = NULL;
	uint64_t hz = rte_get_tsc_hz();
	assert_int_equal(dp_route_add(ip4("100.96.244.0"), 24, &gw), 0);
	add_pod_routes();
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.244.9"), 64));
	dp_slowpath_run();
	assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m), 0); /* request 1 */
	rte_pktmbuf_free(m);
	int32_t i = rte_hash_lookup(dp.neigh_hash, &(uint32_t){ip4("172.31.102.106")});
	assert_true(i >= 0);
	struct dp_neigh *n = &dp.neigh[i];
	for (int probe = 2; probe <= 3; probe++) {
		n->last_req -= 2 * hz;
		dp_timer();
		assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m), 0);
		rte_pktmbuf_free(m);
	}
	n->last_req -= 2 * hz;
	dp_timer(); /* third probe unanswered: the queued packet goes */
	assert_int_equal(dp.slowpath_stats[DP_DROP_ARP_FAILED], 1);
	assert_int_equal(n->n_queued, 0);

	/* Learn it, then let it go stale. */
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.244.9"), 64));
	rx1(T_UPLINK, t_arp(T_UPLINK, RTE_ARP_OP_REPLY, ip4("172.31.102.106"), ip4("172.31.102.105"), mac_n(0x66)));
	dp_slowpath_run();
	while (rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m) == 0)
		rte_pktmbuf_free(m);
	assert_true(dp_neigh_mac_word(ip4("172.31.102.106")) & DP_NEIGH_VALID);
	n->confirmed -= 61 * hz;
	n->last_req -= 61 * hz;
	for (int probe = 1; probe <= 3; probe++) {
		dp_timer();
		assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m), 0);
		rte_pktmbuf_free(m);
		assert_true(dp_neigh_mac_word(ip4("172.31.102.106")) & DP_NEIGH_VALID); /* still used */
		n->last_req -= 2 * hz;
	}
	dp_timer();
	assert_int_equal(dp_neigh_mac_word(ip4("172.31.102.106")), 0);
}

static void count_neigh(const struct dp_neigh_addr *a, const struct rte_ether_addr *mac, void *arg)
{
	struct rte_ether_addr want = mac_n(0x66);

	if (!a->v6 && a->ip == ip4("172.31.102.106") && rte_is_same_ether_addr(mac, &want))
		(*(int *)arg)++;
}

/* A neighbour carried over from the podlaned before: used at once (no
 * ARP, nothing queued), asked again at the next tick, and a new MAC in
 * the answer replaces it. */
static void test_neighbour_import(void **state)
{
	(void)state;
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.106")};
	struct rte_ether_addr old = mac_n(0x66), new = mac_n(0x67);
	struct rte_mbuf *m = NULL;
	int seen = 0;
	assert_int_equal(dp_route_add(ip4("100.96.244.0"), 24, &gw), 0);
	add_pod_routes();
	assert_int_equal(dp_neigh_import(&(struct dp_neigh_addr){.ip = ip4("172.31.102.106")}, &old), 0);
	dp_neigh_walk(count_neigh, &seen);
	assert_int_equal(seen, 1);

	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.244.9"), 64));
	m = t_take(W, T_UPLINK);
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &old));
	rte_pktmbuf_free(m);
	assert_int_equal(rte_ring_count(dp.slowpath), 0);

	dp_timer(); /* stale: asked again */
	assert_int_equal(rte_ring_dequeue(t_txr[T_UPLINK][1], (void **)&m), 0);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, 14);
	assert_int_equal(arp->arp_opcode, RTE_BE16(RTE_ARP_OP_REQUEST));
	assert_int_equal(arp->arp_data.arp_tip, ip4("172.31.102.106"));
	rte_pktmbuf_free(m);
	rx1(T_UPLINK, t_arp(T_UPLINK, RTE_ARP_OP_REPLY, ip4("172.31.102.106"), ip4("172.31.102.105"), new));
	dp_slowpath_run();
	while (rte_ring_dequeue(t_txr[T_HOST][1], (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("100.96.244.9"), 64));
	m = t_take(W, T_UPLINK);
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &new));
	rte_pktmbuf_free(m);
}

static void test_uplink_frame_for_other_mac_dropped(void **state)
{
	(void)state;
	add_pod_routes();
	struct rte_mbuf *m = t_ipv4(T_UPLINK, ip4("172.31.102.1"), ip4("100.96.243.2"), 64);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = mac_n(0x77);
	rx1(T_UPLINK, m);
	t_assert_no_output(W);
	assert_int_equal(W->stats.drops[DP_DROP_NOT_FOR_US], 1);
}

static void test_route_delete_frees_and_reuses_next_hop(void **state)
{
	(void)state;
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.106")};
	uint32_t before = dp.n_nh_free;
	assert_int_equal(dp_route_add(ip4("100.96.244.0"), 24, &gw), 0);
	assert_int_equal(dp_route_add(ip4("100.96.245.0"), 24, &gw), 0);
	assert_int_equal(dp.n_nh_free, before - 1); /* shared */
	assert_int_equal(dp_route_del(ip4("100.96.244.0"), 24), 0);
	assert_int_equal(dp_route_del(ip4("100.96.245.0"), 24), 0);
	assert_int_equal(dp_route_del(ip4("100.96.245.0"), 24), -ENOENT);
	dp_commit();
	assert_int_equal(dp.n_nh_free, before);
}

static void test_default_route(void **state)
{
	(void)state;
	add_pod_routes();
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.1")};
	assert_int_equal(dp_route_add(0, 0, &gw), 0);
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("8.8.8.8"), 64));
	assert_int_equal(rte_ring_count(dp.slowpath), 1); /* via the gateway, to resolve */
	struct rte_mbuf *m = NULL;
	assert_int_equal(rte_ring_dequeue(dp.slowpath, (void **)&m), 0);
	/* It names its next hop, the gateway to resolve. */
	assert_int_equal(dp.nh[m->hash.usr].kind, DP_NH_GATEWAY);
	assert_int_equal(dp.nh[m->hash.usr].gw, ip4("172.31.102.1"));
	rte_pktmbuf_free(m);

	assert_int_equal(dp_route_del(0, 0), 0);
	assert_int_equal(dp_route_del(0, 0), -ENOENT);
	dp_commit();
	rx1(T_POD_A, t_ipv4(T_POD_A, ip4("100.96.243.2"), ip4("8.8.8.8"), 64));
	m = t_take(W, T_POD_A);
	assert_icmp_error(m, 3, 0, ip4("100.96.243.2"));
	rte_pktmbuf_free(m);
}

/* 64k routes over 4096 next hops (MAC = low 12 bits of the route): every
 * lookup finds its own. */
static void test_64k_routes(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 65536; i++) {
		struct dp_nh_spec nh = {.kind = DP_NH_PORT, .port = T_POD_B,
					.mac = {{0x02, 0, 0, 0, (uint8_t)((i >> 8) & 0xf), (uint8_t)i}}};
		assert_int_equal(dp_route_add(htonl(0x64000000u | i << 8), 24, &nh), 0);
	}
	for (uint32_t i = 0; i < 65536; i += 257) {
		uint32_t hop = dp_ip4_lookup1(0x64000000u | i << 8 | 77);
		assert_int_not_equal(hop, DP_HOP_NONE);
		assert_int_equal(dp.nh[hop].mac.addr_bytes[4], (uint8_t)((i >> 8) & 0xf));
		assert_int_equal(dp.nh[hop].mac.addr_bytes[5], (uint8_t)i);
	}
	rx1(T_HOST, t_ipv4(T_HOST, ip4("172.31.102.105"), htonl(0x64000000u | 0xabcd00 | 9), 64));
	struct rte_mbuf *m = t_take(W, T_POD_B);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_int_equal(eth->dst_addr.addr_bytes[4], 0xb);
	assert_int_equal(eth->dst_addr.addr_bytes[5], 0xcd);
	rte_pktmbuf_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
		T(test_pod_to_pod),
		T(test_checksum_across_ttl_values),
		T(test_ttl_exceeded),
		T(test_no_route_unreachable),
		T(test_unreachable_route),
		T(test_icmp_rate_limited),
		T(test_bad_headers_dropped),
		T(test_odd_packets),
		T(test_pod_cannot_spoof),
		T(test_pod_to_node_is_punted_to_kernel),
		T(test_arp_for_node_ip_on_uplink),
		T(test_proxy_arp_on_pod_port),
		T(test_host_port_arp),
		T(test_gateway_resolution),
		T(test_neighbour_aging),
		T(test_neighbour_import),
		T(test_uplink_frame_for_other_mac_dropped),
		T(test_route_delete_frees_and_reuses_next_hop),
		T(test_default_route),
		T(test_64k_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
