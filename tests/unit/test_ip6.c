/* The IPv6 path on frames built here: what goes out, where, with which
 * addresses and hop limit; ICMPv6 errors from the pods' gateway; NDP for
 * the gateway on pod ports; spoofed sources and advertisements dropped
 * and counted; an IPv6-only node's IPv4 dropped; routes: the pods' found
 * by index, gateways resolved by NDP, ECMP. */
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp_ip6.h"
#include "dp_nat.h"
#include "fwd_harness.h"

#define W (&dp.workers[0])
#define A6 "fd00:10:96:f3::2"
#define B6 "fd00:10:96:f3::3"

struct icmp6 {
	uint8_t type, code;
	uint16_t cksum;
	uint32_t param;
	uint8_t target[16]; /* NDP */
	uint8_t opt[8];     /* NDP: a link-layer address option */
} __rte_packed;

static struct rte_ipv6_hdr *ip6_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, sizeof(struct rte_ether_hdr));
}

/* An IPv6 frame from the pod behind port: payload bytes of proto after
 * the header (a UDP datagram with its checksum when proto is UDP). */
static struct rte_mbuf *frame6(uint16_t port, const char *src, const char *dst, uint8_t proto,
			       uint16_t payload, uint8_t hop)
{
	struct rte_mbuf *m = t_frame6(port, src, dst, proto, payload, hop);
	struct rte_ipv6_hdr *ip = ip6_of(m);

	if (proto == IPPROTO_UDP) {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
		uh->src_port = RTE_BE16(4000);
		uh->dst_port = RTE_BE16(53);
		uh->dgram_len = rte_cpu_to_be_16(payload);
		uh->dgram_cksum = rte_ipv6_udptcp_cksum(ip, uh);
	}
	return m;
}

/* An ICMPv6 message of len bytes from the pod behind port, sum right. */
static struct rte_mbuf *icmp6_frame(uint16_t port, const char *src, const char *dst, uint8_t type,
				    uint16_t len, uint8_t hop, const char *target)
{
	struct rte_mbuf *m = frame6(port, src, dst, IPPROTO_ICMPV6, len, hop);
	struct rte_ipv6_hdr *ip = ip6_of(m);
	struct icmp6 *c = (struct icmp6 *)(ip + 1);

	c->type = type;
	if (target)
		t_ip6(target, c->target);
	if (len >= sizeof(*c)) { /* source link-layer address */
		c->opt[0] = 1;
		c->opt[1] = 1;
		memcpy(&c->opt[2], dp.ports[port].peer_mac.addr_bytes, 6);
	}
	c->cksum = rte_ipv6_udptcp_cksum(ip, c);
	return m;
}

static void rx1(uint16_t port, struct rte_mbuf *m)
{
	dp_rx_burst(W, port, &m, 1);
}

static void assert_addr(const uint8_t *got, const char *want)
{
	uint8_t w[16];

	t_ip6(want, w);
	assert_memory_equal(got, w, 16);
}

/* m: an ICMPv6 message from fe80::1 to `to`, of this type and code, its
 * checksum right. Returns it. */
static struct icmp6 *assert_icmp6(struct rte_mbuf *m, const char *to, uint8_t type, uint8_t code)
{
	struct rte_ipv6_hdr *ip = ip6_of(m);
	struct icmp6 *c = (struct icmp6 *)(ip + 1);

	assert_int_equal(ip->proto, IPPROTO_ICMPV6);
	assert_addr(ip->src_addr, "fe80::1");
	assert_addr(ip->dst_addr, to);
	assert_int_equal(c->type, type);
	assert_int_equal(c->code, code);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, c), 0);
	return c;
}

static uint64_t drops(enum dp_drop why)
{
	return W->stats.drops[why];
}

static void test_pod_to_pod(void **state)
{
	(void)state;
	t_pod_routes6();
	uint64_t before = W->stats.ipv6_pkts;
	rx1(T_POD_A, frame6(T_POD_A, A6, B6, IPPROTO_UDP, 40, 64));
	struct rte_mbuf *m = t_take(W, T_POD_B);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = ip6_of(m);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &dp.ports[T_POD_B].peer_mac));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &dp.ports[T_POD_B].mac));
	assert_int_equal(ip->hop_limits, 63);
	assert_addr(ip->src_addr, A6);
	assert_addr(ip->dst_addr, B6);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, ip + 1), 0);
	assert_int_equal(W->stats.ipv6_pkts, before + 1);
	t_assert_no_output(W);
	rte_pktmbuf_free(m);
}

/* An IPv6-only node: IPv6 routed as ever; IPv4 and ARP, from a pod or
 * the uplink, dropped and counted as no_ipv4. */
static void test_ipv6_only(void **state)
{
	(void)state;
	t_pod_routes6();
	dp.cfg.ipv6_only = true;
	uint64_t before = drops(DP_DROP_NO_IPV4);
	rx1(T_POD_A, t_ipv4(T_POD_A, dp.ports[T_POD_A].peer_ip, dp.ports[T_POD_B].peer_ip, 64));
	rx1(T_UPLINK, t_ipv4(T_UPLINK, ip4("172.31.102.1"), dp.ports[T_POD_B].peer_ip, 64));
	rx1(T_POD_A, t_arp(T_POD_A, RTE_ARP_OP_REQUEST, dp.ports[T_POD_A].peer_ip,
			   ip4("169.254.1.1"), dp.ports[T_POD_A].peer_mac));
	t_assert_no_output(W);
	assert_int_equal(drops(DP_DROP_NO_IPV4), before + 3);
	rx1(T_POD_A, frame6(T_POD_A, A6, B6, IPPROTO_UDP, 40, 64));
	rte_pktmbuf_free(t_take(W, T_POD_B));
	dp.cfg.ipv6_only = false;
}

static void test_spoofed_source(void **state)
{
	(void)state;
	t_pod_routes6();
	uint64_t before = drops(DP_DROP_SPOOFED);
	rx1(T_POD_A, frame6(T_POD_A, B6, B6, IPPROTO_UDP, 40, 64));
	rx1(T_POD_A, frame6(T_POD_A, "fd00:10:96:f3::99", B6, IPPROTO_UDP, 40, 64));
	t_assert_no_output(W);
	assert_int_equal(drops(DP_DROP_SPOOFED), before + 2);
}

static void test_bad_header(void **state)
{
	(void)state;
	t_pod_routes6();
	uint64_t before = drops(DP_DROP_BAD_IP_HEADER);
	struct rte_mbuf *m = frame6(T_POD_A, A6, B6, IPPROTO_UDP, 40, 64);
	ip6_of(m)->payload_len = RTE_BE16(41); /* longer than the frame */
	rx1(T_POD_A, m);
	m = frame6(T_POD_A, A6, B6, IPPROTO_UDP, 40, 64);
	ip6_of(m)->vtc_flow = RTE_BE32(4u << 28);
	rx1(T_POD_A, m);
	t_assert_no_output(W);
	assert_int_equal(drops(DP_DROP_BAD_IP_HEADER), before + 2);
}

static void test_hop_limit(void **state)
{
	(void)state;
	t_pod_routes6();
	uint64_t before = drops(DP_DROP_TTL_EXCEEDED);
	rx1(T_POD_A, frame6(T_POD_A, A6, B6, IPPROTO_UDP, 40, 1));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	struct icmp6 *c = assert_icmp6(m, A6, DP_ICMP6_TIME_EXCEEDED, 0);
	/* The whole packet quoted, as it came (hop limit 1). */
	struct rte_ipv6_hdr *q = (struct rte_ipv6_hdr *)&c->target;
	assert_int_equal(rte_be_to_cpu_16(ip6_of(m)->payload_len), 8 + 40 + 40);
	assert_int_equal(q->hop_limits, 1);
	assert_addr(q->dst_addr, B6);
	assert_int_equal(drops(DP_DROP_TTL_EXCEEDED), before + 1);
	t_assert_no_output(W);
	rte_pktmbuf_free(m);
}

static void test_no_route(void **state)
{
	(void)state;
	t_pod_routes6();
	rx1(T_POD_A, frame6(T_POD_A, A6, "fd00:99::1", IPPROTO_UDP, 40, 64));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	assert_icmp6(m, A6, DP_ICMP6_DEST_UNREACH, 0);
	rte_pktmbuf_free(m);
	/* No error about an error. */
	struct rte_mbuf *e = icmp6_frame(T_POD_A, A6, "fd00:99::1", DP_ICMP6_DEST_UNREACH, 48, 64,
					 NULL);
	rx1(T_POD_A, e);
	t_assert_no_output(W);
}

static void test_packet_too_big(void **state)
{
	(void)state;
	t_pod_routes6();
	dp.ports[T_POD_B].mtu = 1280;
	uint64_t before = drops(DP_DROP_MTU_EXCEEDED);
	rx1(T_POD_A, frame6(T_POD_A, A6, B6, IPPROTO_UDP, 1400, 64));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	struct icmp6 *c = assert_icmp6(m, A6, DP_ICMP6_PACKET_TOO_BIG, 0);
	assert_int_equal(rte_be_to_cpu_32(c->param), 1280);
	/* The error fits the minimum MTU: the quote is cut there. */
	assert_int_equal(sizeof(struct rte_ipv6_hdr) + rte_be_to_cpu_16(ip6_of(m)->payload_len), 1280);
	assert_int_equal(drops(DP_DROP_MTU_EXCEEDED), before + 1);
	rte_pktmbuf_free(m);
	/* 1280 bytes of IP fit. */
	rx1(T_POD_A, frame6(T_POD_A, A6, B6, IPPROTO_UDP, 1240, 64));
	rte_pktmbuf_free(t_take(W, T_POD_B));
	dp.ports[T_POD_B].mtu = RTE_ETHER_MTU;
}

/* A solicitation for fe80::1 to its solicited-node address, as Linux sends
 * it: answered from the port's MAC with R, S and O set. */
static void test_neighbour_solicitation(void **state)
{
	(void)state;
	uint64_t before = W->stats.ndp_replies;
	struct rte_mbuf *m = icmp6_frame(T_POD_A, A6, "ff02::1:ff00:1", DP_ICMP6_NS,
					 sizeof(struct icmp6), 255, "fe80::1");
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	eth->dst_addr = (struct rte_ether_addr){{0x33, 0x33, 0xff, 0, 0, 1}};
	rx1(T_POD_A, m);
	m = t_take(W, T_POD_A);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &dp.ports[T_POD_A].peer_mac));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &dp.ports[T_POD_A].mac));
	struct icmp6 *c = assert_icmp6(m, A6, DP_ICMP6_NA, 0);
	assert_int_equal(ip6_of(m)->hop_limits, 255);
	assert_int_equal(rte_be_to_cpu_32(c->param), 0xe0000000); /* router, solicited, override */
	assert_addr(c->target, "fe80::1");
	assert_int_equal(c->opt[0], 2); /* target link-layer address */
	assert_memory_equal(&c->opt[2], dp.ports[T_POD_A].mac.addr_bytes, 6);
	assert_int_equal(m->pkt_len, sizeof(*eth) + sizeof(struct rte_ipv6_hdr) + sizeof(*c));
	assert_int_equal(W->stats.ndp_replies, before + 1);
	rte_pktmbuf_free(m);
}

/* RFC 4861 7.1.1: a solicitation not at hop limit 255 or with a bad sum
 * is refused; one for another address is not ours to answer. */
static void test_bad_solicitations(void **state)
{
	(void)state;
	uint64_t invalid = drops(DP_DROP_NDP_INVALID), other = drops(DP_DROP_NOT_FOR_US);
	rx1(T_POD_A, icmp6_frame(T_POD_A, A6, "fe80::1", DP_ICMP6_NS, sizeof(struct icmp6), 64,
				 "fe80::1"));
	struct rte_mbuf *m = icmp6_frame(T_POD_A, A6, "fe80::1", DP_ICMP6_NS, sizeof(struct icmp6),
					 255, "fe80::1");
	((struct icmp6 *)(ip6_of(m) + 1))->cksum ^= 1;
	rx1(T_POD_A, m);
	rx1(T_POD_A, icmp6_frame(T_POD_A, A6, "ff02::1:ff00:3", DP_ICMP6_NS, sizeof(struct icmp6),
				 255, B6));
	t_assert_no_output(W);
	assert_int_equal(drops(DP_DROP_NDP_INVALID), invalid + 2);
	assert_int_equal(drops(DP_DROP_NOT_FOR_US), other + 1);
}

/* A pod advertising an address not its own (its neighbour's, or the
 * gateway's) is a spoof; its own is only not for us. */
static void test_spoofed_advertisement(void **state)
{
	(void)state;
	uint64_t spoofed = drops(DP_DROP_SPOOFED), other = drops(DP_DROP_NOT_FOR_US);
	rx1(T_POD_A, icmp6_frame(T_POD_A, A6, "ff02::1", DP_ICMP6_NA, sizeof(struct icmp6), 255, B6));
	rx1(T_POD_A, icmp6_frame(T_POD_A, A6, "ff02::1", DP_ICMP6_NA, sizeof(struct icmp6), 255,
				 "fe80::1"));
	rx1(T_POD_A, icmp6_frame(T_POD_A, A6, "ff02::1", DP_ICMP6_NA, sizeof(struct icmp6), 255, A6));
	t_assert_no_output(W);
	assert_int_equal(drops(DP_DROP_SPOOFED), spoofed + 2);
	assert_int_equal(drops(DP_DROP_NOT_FOR_US), other + 1);
}

static void test_ping_gateway(void **state)
{
	(void)state;
	rx1(T_POD_A, icmp6_frame(T_POD_A, A6, "fe80::1", DP_ICMP6_ECHO_REQUEST, 16, 64, NULL));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	assert_icmp6(m, A6, DP_ICMP6_ECHO_REPLY, 0);
	rte_pktmbuf_free(m);
}

/* IPv6 has no policy stage yet: an isolated pod sends and receives none. */
/* The node kernel (host port) reaches pods from any address of its own;
 * pods reach the node's address (a LOCAL route) with the hop limit kept. */
static void test_node_and_pods(void **state)
{
	(void)state;
	struct dp_nh_spec local = {.kind = DP_NH_LOCAL};
	uint8_t node6[16];

	t_pod_routes6();
	t_ip6("fd00:172:31:102::105", node6);
	assert_int_equal(dp_route6_add(node6, 128, &local), 0);
	rx1(T_HOST, frame6(T_HOST, "fd00:172:31:102::105", A6, IPPROTO_UDP, 40, 64));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	assert_int_equal(ip6_of(m)->hop_limits, 63);
	assert_addr(ip6_of(m)->src_addr, "fd00:172:31:102::105");
	rte_pktmbuf_free(m);
	rx1(T_POD_A, frame6(T_POD_A, A6, "fd00:172:31:102::105", IPPROTO_UDP, 40, 64));
	m = t_take(W, T_HOST);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &dp.ports[T_HOST].peer_mac));
	assert_int_equal(ip6_of(m)->hop_limits, 64);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip6_of(m), ip6_of(m) + 1), 0);
	rte_pktmbuf_free(m);
	t_assert_no_output(W);
}

/* The node kernel's solicitation for fe80::1 is answered; one for its
 * neighbour on the node network (same multicast group) goes out the
 * uplink as it is. */
static void test_host_solicitations(void **state)
{
	(void)state;
	static const struct rte_ether_addr group = {{0x33, 0x33, 0xff, 0, 0, 1}};
	struct rte_mbuf *m = icmp6_frame(T_HOST, "fe80::2", "ff02::1:ff00:1", DP_ICMP6_NS,
					 sizeof(struct icmp6), 255, "fe80::1");
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = group;
	rx1(T_HOST, m);
	m = t_take(W, T_HOST);
	struct icmp6 *c = assert_icmp6(m, "fe80::2", DP_ICMP6_NA, 0);
	assert_memory_equal(&c->opt[2], dp.ports[T_HOST].mac.addr_bytes, 6);
	rte_pktmbuf_free(m);
	m = icmp6_frame(T_HOST, "fd00:172:31:102::105", "ff02::1:ff00:1", DP_ICMP6_NS,
			sizeof(struct icmp6), 255, "fd00:172:31:102::1");
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = group;
	rx1(T_HOST, m);
	m = t_take(W, T_UPLINK);
	assert_addr(((struct icmp6 *)(ip6_of(m) + 1))->target, "fd00:172:31:102::1");
	rte_pktmbuf_free(m);
	t_assert_no_output(W);
}

#define N6 "fd00:172:31:102::105"
#define GW6 "fd00:172:31:102::106"

/* A frame on the uplink from a neighbour (mac_n(0x66)) to the node's MAC. */
static struct rte_mbuf *from_uplink(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr = mac_n(0x66);
	return m;
}

/* From the node network to a pod: routed, as from any port. */
static void test_uplink_to_pod(void **state)
{
	(void)state;
	t_pod_routes6();
	rx1(T_UPLINK, from_uplink(frame6(T_UPLINK, "fd00:10:96:f4::1", A6, IPPROTO_UDP, 40, 64)));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	assert_int_equal(ip6_of(m)->hop_limits, 63);
	assert_addr(ip6_of(m)->src_addr, "fd00:10:96:f4::1");
	rte_pktmbuf_free(m);
	t_assert_no_output(W);
}

static struct rte_mbuf *ctl_sent(uint16_t port)
{
	struct rte_mbuf *m = NULL;
	assert_int_equal(rte_ring_dequeue(t_txr[port][1], (void **)&m), 0);
	return m;
}

/* A solicitation the control thread sent on the uplink for target. */
static void assert_solicitation(struct rte_mbuf *m, const char *target, const char *group)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint8_t t[16];

	t_ip6(target, t);
	struct rte_ether_addr g = {{0x33, 0x33, 0xff, t[13], t[14], t[15]}};
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &g));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &dp.ports[T_UPLINK].mac));
	struct rte_ipv6_hdr *ip = ip6_of(m);
	struct icmp6 *c = (struct icmp6 *)(ip + 1);
	assert_addr(ip->src_addr, N6);
	assert_addr(ip->dst_addr, group);
	assert_int_equal(ip->hop_limits, 255);
	assert_int_equal(c->type, DP_ICMP6_NS);
	assert_addr(c->target, target);
	assert_int_equal(c->opt[0], 1); /* source link-layer address */
	assert_memory_equal(&c->opt[2], dp.ports[T_UPLINK].mac.addr_bytes, 6);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, c), 0);
	rte_pktmbuf_free(m);
}

/* The advertisement a neighbour sends back: to the node's MAC and
 * address, solicited and override, its MAC in the option. */
static struct rte_mbuf *advertisement(const char *from, struct rte_ether_addr mac)
{
	struct rte_mbuf *m = icmp6_frame(T_UPLINK, from, N6, DP_ICMP6_NA, sizeof(struct icmp6), 255,
					 from);
	struct icmp6 *c = (struct icmp6 *)(ip6_of(m) + 1);

	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr = mac;
	c->param = RTE_BE32(0x60000000);
	c->opt[0] = 2;
	memcpy(&c->opt[2], mac.addr_bytes, 6);
	c->cksum = 0;
	c->cksum = rte_ipv6_udptcp_cksum(ip6_of(m), c);
	return m;
}

/* A pod's packet to another node's pod: its gateway resolved by NDP
 * (the packet waits), the advertisement learnt and handed to the node
 * kernel too, then the worker sends straight to the learnt MAC. */
static void test_gateway_resolved_by_ndp(void **state)
{
	(void)state;
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY};
	uint8_t p[16];
	struct rte_ether_addr nb = mac_n(0x66);
	uint64_t asked = dp.ndp_requests;

	t_pod_routes6();
	t_ip6(GW6, gw.gw6);
	t_ip6("fd00:10:96:f4::", p);
	assert_int_equal(dp_route6_add(p, 64, &gw), 0);
	rx1(T_POD_A, frame6(T_POD_A, A6, "fd00:10:96:f4::1", IPPROTO_UDP, 40, 64));
	t_assert_no_output(W); /* punted */
	dp_slowpath_run();
	assert_solicitation(ctl_sent(T_UPLINK), GW6, "ff02::1:ff00:106");
	assert_int_equal(dp.ndp_requests, asked + 1);

	rx1(T_UPLINK, advertisement(GW6, nb));
	dp_slowpath_run();
	struct rte_mbuf *m = ctl_sent(T_UPLINK);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &nb));
	assert_int_equal(ip6_of(m)->hop_limits, 63);
	assert_addr(ip6_of(m)->dst_addr, "fd00:10:96:f4::1");
	rte_pktmbuf_free(m);
	m = ctl_sent(T_HOST); /* the node kernel's too */
	assert_int_equal(((struct icmp6 *)(ip6_of(m) + 1))->type, DP_ICMP6_NA);
	rte_pktmbuf_free(m);

	/* An unsolicited advertisement creates nothing (and is the kernel's). */
	rx1(T_UPLINK, advertisement("fd00:172:31:102::77", nb));
	dp_slowpath_run();
	uint8_t other[16];
	t_ip6("fd00:172:31:102::77", other);
	assert_int_equal(dp_neigh6_mac_word(other), 0);
	rte_pktmbuf_free(ctl_sent(T_HOST));

	rx1(T_POD_A, frame6(T_POD_A, A6, "fd00:10:96:f4::1", IPPROTO_UDP, 40, 64));
	m = t_take(W, T_UPLINK);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &nb));
	rte_pktmbuf_free(m);
}

/* What dp_neigh_walk gave: IPv6 neighbours with mac_n(0x66). */
static void walked6(const struct dp_neigh_addr *a, const struct rte_ether_addr *mac, void *arg)
{
	struct rte_ether_addr want = mac_n(0x66);
	uint8_t gw[16];

	t_ip6(GW6, gw);
	if (a->v6 && dp_ip6_eq(a->ip6, gw) && rte_is_same_ether_addr(mac, &want))
		(*(int *)arg)++;
}

/* An IPv6 neighbour handed over by the podlaned before (a planned
 * restart): walked, used at once, and solicited again at the next tick. */
static void test_neighbour_import(void **state)
{
	(void)state;
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY};
	struct dp_neigh_addr a = {.v6 = true};
	struct rte_ether_addr mac = mac_n(0x66);
	uint8_t p[16];
	int seen = 0;

	t_pod_routes6();
	t_ip6(GW6, gw.gw6);
	t_ip6("fd00:10:96:f4::", p);
	assert_int_equal(dp_route6_add(p, 64, &gw), 0);
	memcpy(a.ip6, gw.gw6, 16);
	assert_int_equal(dp_neigh_import(&a, &mac), 0);
	dp_neigh_walk(walked6, &seen);
	assert_int_equal(seen, 1);
	rx1(T_POD_A, frame6(T_POD_A, A6, "fd00:10:96:f4::1", IPPROTO_UDP, 40, 64));
	struct rte_mbuf *m = t_take(W, T_UPLINK); /* at once, not punted */
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &mac));
	rte_pktmbuf_free(m);
	assert_int_equal(rte_ring_count(dp.slowpath), 0);
	dp_timer(); /* stale: asked again */
	assert_solicitation(ctl_sent(T_UPLINK), GW6, "ff02::1:ff00:106");
}

#define GW6B "fd00:172:31:102::107"

/* Pod A's UDP flow i (from port 1000 + i) to another node's pod: the last
 * byte of the MAC it left to, 0 if it did not leave. */
static uint8_t send_flow6(unsigned i)
{
	rx1(T_POD_A, t_l4_frame6(T_POD_A, A6, (uint16_t)(1000 + i), "fd00:10:96:f4::1", 53,
				 IPPROTO_UDP, 0, 8));
	if (W->tx[T_UPLINK].n == 0)
		return 0;
	struct rte_mbuf *m = t_take(W, T_UPLINK);
	uint8_t to = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr.addr_bytes[5];
	rte_pktmbuf_free(m);
	return to;
}

/* ECMP over IPv6 gateways: both solicited before any flow; flows spread
 * and each keeps its gateway (trace picks as the worker does); one whose
 * entry is forgotten leaves the set and its flows move to the other; the
 * members' next hops and watches are given back with the route. (Aging
 * itself is ARP's code: test_ecmp.c.) */
static void test_ecmp(void **state)
{
	(void)state;
	struct dp_nh_spec s = {.kind = DP_NH_ECMP, .n_gw = 2};
	uint8_t p[16], dst[16], src[16], g2[16];
	uint8_t first[256];
	unsigned to_g1 = 0;

	t_pod_routes6();
	uint32_t before = dp.n_nh_free;
	t_ip6(GW6, s.gws6[0]);
	t_ip6(GW6B, s.gws6[1]);
	t_ip6("fd00:10:96:f4::", p);
	assert_int_equal(dp_route6_add(p, 64, &s), 0);
	assert_solicitation(ctl_sent(T_UPLINK), GW6, "ff02::1:ff00:106");
	assert_solicitation(ctl_sent(T_UPLINK), GW6B, "ff02::1:ff00:107");
	rx1(T_UPLINK, advertisement(GW6, mac_n(0xa1)));
	rx1(T_UPLINK, advertisement(GW6B, mac_n(0xa2)));
	dp_slowpath_run();
	rte_pktmbuf_free(ctl_sent(T_HOST));
	rte_pktmbuf_free(ctl_sent(T_HOST));

	for (unsigned i = 0; i < RTE_DIM(first); i++) {
		first[i] = send_flow6(i);
		assert_true(first[i] == 0xa1 || first[i] == 0xa2);
		to_g1 += first[i] == 0xa1;
	}
	assert_in_range(to_g1, 128 - 40, 128 + 40); /* a fair share each (binomial) */
	t_ip6("fd00:10:96:f4::1", dst);
	t_ip6(A6, src);
	for (unsigned i = 0; i < RTE_DIM(first); i++) {
		assert_int_equal(send_flow6(i), first[i]); /* a flow keeps its gateway */
		struct dp_flow_tuple f = {.proto = IPPROTO_UDP, .dport = RTE_BE16(53),
					  .sport = rte_cpu_to_be_16((uint16_t)(1000 + i))};
		struct dp_trace t;
		assert_int_equal(dp_route6_trace(dst, src, &f, &t), 0);
		assert_int_equal(t.kind, DP_NH_GATEWAY);
		assert_addr(t.next_ip6, first[i] == 0xa1 ? GW6 : GW6B);
		assert_int_equal(t.n_members, 2);
		assert_addr(t.members[1].ip6, GW6B);
		assert_true(t.members[0].mac_known && t.members[1].mac_known);
	}

	/* GW6B forgotten (no answer to its re-probes): its flows go to GW6. */
	t_ip6(GW6B, g2);
	uint32_t key[4];
	memcpy(key, g2, 16);
	struct dp_neigh *n = &dp.neigh6[rte_hash_lookup(dp.neigh6_hash, key)];
	assert_int_equal(n->ecmp_refs, 1);
	__atomic_store_n(&n->mac_word, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < RTE_DIM(first); i++)
		assert_int_equal(send_flow6(i), 0xa1);

	assert_int_equal(dp_route6_del(p, 64), 0);
	dp_commit();
	assert_int_equal(dp.n_nh_free, before);
	assert_int_equal(n->ecmp_refs, 0);
	t_assert_no_output(W);
}

/* On the node network's prefix (connected) the destination itself is
 * resolved; the node network's other IPv6 (a solicitation of the node's
 * address, to it) is the node kernel's. */
static void test_connected_and_kernel(void **state)
{
	(void)state;
	struct dp_nh_spec conn = {.kind = DP_NH_CONNECTED}, local = {.kind = DP_NH_LOCAL};
	uint8_t p[16];

	t_pod_routes6();
	t_ip6("fd00:172:31:102::", p);
	assert_int_equal(dp_route6_add(p, 64, &conn), 0);
	t_ip6(N6, p);
	assert_int_equal(dp_route6_add(p, 128, &local), 0);
	rx1(T_POD_A, frame6(T_POD_A, A6, "fd00:172:31:102::7", IPPROTO_UDP, 40, 64));
	dp_slowpath_run();
	assert_solicitation(ctl_sent(T_UPLINK), "fd00:172:31:102::7", "ff02::1:ff00:7");

	struct rte_mbuf *m = icmp6_frame(T_UPLINK, GW6, "ff02::1:ff00:105", DP_ICMP6_NS,
					 sizeof(struct icmp6), 255, N6);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr =
		(struct rte_ether_addr){{0x33, 0x33, 0xff, 0, 1, 5}};
	rx1(T_UPLINK, m);
	rte_pktmbuf_free(t_take(W, T_HOST));
	rx1(T_UPLINK, from_uplink(frame6(T_UPLINK, GW6, N6, IPPROTO_UDP, 40, 64)));
	m = t_take(W, T_HOST);
	assert_int_equal(ip6_of(m)->hop_limits, 64); /* delivered, not forwarded */
	rte_pktmbuf_free(m);
	t_assert_no_output(W);
}

/* Routes: replaced, removed, the default beside; other kinds refused. */
static void test_routes(void **state)
{
	(void)state;
	uint8_t p[16], b[16];
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = ip4("172.31.102.1")};

	t_ip6("fd00:20::", p);
	t_ip6("fd00:20::5", b);
	assert_int_equal(dp_ip6_lookup1(b), DP_HOP_NONE);
	assert_int_equal(dp_route6_add(p, 64, &a), 0);
	assert_int_equal(dp.nh[dp_ip6_lookup1(b)].port, T_POD_A);
	assert_int_equal(dp_route6_add(p, 64, &gw), -EAFNOSUPPORT); /* an IPv4 gateway */
	assert_int_equal(dp_route6_del(p, 64), 0);
	assert_int_equal(dp_route6_del(p, 64), -ENOENT);
	assert_int_equal(dp_ip6_lookup1(b), DP_HOP_NONE);
	memset(p, 0, 16);
	assert_int_equal(dp_route6_add(p, 0, &a), 0);
	assert_int_equal(dp.nh[dp_ip6_lookup1(b)].port, T_POD_A);
	assert_int_equal(dp_route6_del(p, 0), 0);
	assert_int_equal(dp_ip6_lookup1(b), DP_HOP_NONE);
	dp_commit();
}

/* The pods' /128s (in the block the pod prefix starts with) are found by
 * index, as the table would find them: added, replaced, removed (the
 * covering route again), a batch at its commit; a /128 beyond the block
 * and the block's addresses without one by the table. */
static void test_pod_routes_indexed(void **state)
{
	(void)state;
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	struct dp_nh_spec unreach = {.kind = DP_NH_UNREACHABLE};
	uint8_t pfx[16], pod[16], next[16], far[16];

	t_ip6("fd00:10:96:f3::", pfx);
	t_ip6("fd00:10:96:f3::7", pod);    /* the block's entry 7 ... */
	t_ip6("fd00:10:96:f3::107", next); /* ... 0x107, no route of its own */
	t_ip6("fd00:10:96:f3::1:7", far);  /* entry 7 of another block */
	assert_int_equal(dp_route6_add(pfx, 64, &unreach), 0);
	assert_int_equal(dp_route6_add(pod, 128, &a), 0);
	assert_int_equal(dp.nh[dp_ip6_lookup1(pod)].port, T_POD_A);
	assert_int_equal(dp.nh[dp_ip6_lookup1(next)].kind, DP_NH_UNREACHABLE);
	assert_int_equal(dp.nh[dp_ip6_lookup1(far)].kind, DP_NH_UNREACHABLE);
	assert_int_equal(dp_route6_add(far, 128, &b), 0);
	assert_int_equal(dp.nh[dp_ip6_lookup1(far)].port, T_POD_B);
	assert_int_equal(dp.nh[dp_ip6_lookup1(pod)].port, T_POD_A);
	assert_int_equal(dp_route6_add(pod, 128, &b), 0); /* replaced */
	assert_int_equal(dp.nh[dp_ip6_lookup1(pod)].port, T_POD_B);
	assert_int_equal(dp_route6_del(pod, 128), 0);
	assert_int_equal(dp.nh[dp_ip6_lookup1(pod)].kind, DP_NH_UNREACHABLE);
	dp_commit();
	dp_route_batch();
	assert_int_equal(dp_route6_add(pod, 128, &a), 0);
	assert_int_equal(dp.nh[dp_ip6_lookup1(pod)].kind, DP_NH_UNREACHABLE); /* not yet */
	dp_commit();
	assert_int_equal(dp.nh[dp_ip6_lookup1(pod)].port, T_POD_A);
	/* A frame to it goes out on A's port, its hop limit one less. */
	rx1(T_POD_B, frame6(T_POD_B, B6, "fd00:10:96:f3::7", IPPROTO_UDP, 40, 64));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	assert_int_equal(ip6_of(m)->hop_limits, 63);
	rte_pktmbuf_free(m);
	t_assert_no_output(W);
}

/* Routes come and go for as long as a node runs: 3000 /64s added and
 * deleted ten times over (30000 adds, several times what the tables'
 * groups hold, were deleted routes' groups not given back) all fit and route. */
static void test_route_churn(void **state)
{
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	uint8_t p[16];
	(void)state;

	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 3000; i++) {
			t_ip6("fd00:30::", p);
			p[4] = (uint8_t)round;
			p[6] = (uint8_t)(i >> 8);
			p[7] = (uint8_t)i;
			if (dp_route6_add(p, 64, &a) != 0)
				fail_msg("round %u: route %u refused", round, i);
		}
		dp_commit();
		p[15] = 9; /* an address in the last one */
		assert_int_equal(dp.nh[dp_ip6_lookup1(p)].port, T_POD_A);
		p[15] = 0;
		for (unsigned i = 0; i < 3000; i++) {
			p[6] = (uint8_t)(i >> 8);
			p[7] = (uint8_t)i;
			assert_int_equal(dp_route6_del(p, 64), 0);
		}
		dp_commit();
	}
	t_ip6("fd00:30:900:bb7::9", p); /* round 9's route 2999, deleted */
	assert_int_equal(dp_ip6_lookup1(p), DP_HOP_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pod_to_pod, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_pod_routes_indexed, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_ecmp, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_neighbour_import, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_spoofed_source, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_bad_header, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_hop_limit, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_only, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_no_route, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_packet_too_big, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_neighbour_solicitation, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_bad_solicitations, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_spoofed_advertisement, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_ping_gateway, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_node_and_pods, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_host_solicitations, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_uplink_to_pod, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_gateway_resolved_by_ndp, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_connected_and_kernel, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_route_churn, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_routes, t_dp_setup, t_dp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
