/* IPv6 Services in the fast path on frames built here: DNAT of a
 * ClusterIP and its replies with the checksums right, from a pod and from
 * the node; hairpin; refusals (no endpoints, no such port, extension
 * headers); stale UDP flows; affinity; the flows as dp_ct_walk shows
 * them, flushed and imported again; what an IPv6 service cannot have;
 * backends' answers picked up after a crash. */
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_ip6.h"
#include "dp_nat.h"
#include "fwd_harness.h"

#define W (&dp.workers[0])
#define A6 "fd00:10:96:f3::2" /* pod A, port T_POD_A */
#define B6 "fd00:10:96:f3::3" /* pod B, port T_POD_B */
#define C6 "fd00:10:96:f3::4" /* pod C, also behind T_POD_B */
#define VIP6 "fd00:96::a"
#define N6 "fd00:172:31:102::105" /* the node */
#define FAR6 "fd00:10:96:f4::9" /* a pod of another node (behind T_POD_B here) */
#define CL6 "fd00:172:31:102::50" /* an off-node client (answered via T_POD_A here) */
#define EXT6 "fd00:99::10" /* an external IP */

static uint16_t be16(uint16_t v)
{
	return rte_cpu_to_be_16(v);
}

static struct rte_ipv6_hdr *ip6_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, sizeof(struct rte_ether_hdr));
}

static void routes(void)
{
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	struct dp_nh_spec svc = {.kind = DP_NH_SERVICE}, local = {.kind = DP_NH_LOCAL};
	uint8_t a[16];

	t_pod_routes6();
	t_ip6(C6, a);
	assert_int_equal(dp_route6_add(a, 128, &b), 0);
	t_ip6(VIP6, a);
	assert_int_equal(dp_route6_add(a, 128, &svc), 0);
	t_ip6(N6, a);
	assert_int_equal(dp_route6_add(a, 128, &local), 0);
}

/* For the NodePort cases: another node's pod and an off-node client at
 * ports of their own (no neighbour to resolve), an external IP. */
static void routes_ext(void)
{
	struct dp_nh_spec a = {.kind = DP_NH_PORT, .port = T_POD_A, .mac = dp.ports[T_POD_A].peer_mac};
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	struct dp_nh_spec svc = {.kind = DP_NH_SERVICE};
	uint8_t x[16];

	routes();
	t_ip6(FAR6, x);
	assert_int_equal(dp_route6_add(x, 128, &b), 0);
	t_ip6(CL6, x);
	assert_int_equal(dp_route6_add(x, 128, &a), 0);
	t_ip6(EXT6, x);
	assert_int_equal(dp_route6_add(x, 128, &svc), 0);
}

/* Service 0: VIP6:80/tcp, NodePort 30080 and EXT6, over backends (ip,
 * 8080); local: which are this node's. */
static void service_ext(bool ext_local, const char *const *ips, const bool *local, unsigned n)
{
	struct dp_backend_spec b[4];
	struct dp_svc_spec s = {.v6 = true, .proto = IPPROTO_TCP, .port = be16(80),
				.node_port = be16(30080), .ext_local = ext_local, .n_ext = 1,
				.n_backends = n, .backends = b};

	for (unsigned i = 0; i < n; i++) {
		b[i] = (struct dp_backend_spec){.port = be16(8080), .local = local[i]};
		t_ip6(ips[i], b[i].ip6);
	}
	t_ip6(VIP6, s.ip6);
	t_ip6(EXT6, s.ext6[0]);
	assert_int_equal(dp_svc_set(0, &s), 0);
}

/* Service id: VIP6, port 80 (TCP) or 53 (UDP), over backends (ip, 8080). */
static void service(uint32_t id, uint8_t proto, const char *const *ips, unsigned n,
		    uint32_t affinity_s)
{
	struct dp_backend_spec b[8];
	struct dp_svc_spec s = {.v6 = true, .proto = proto, .n_backends = n, .backends = b,
				.port = be16(proto == IPPROTO_UDP ? 53 : 80),
				.affinity_s = affinity_s};

	for (unsigned i = 0; i < n; i++) {
		b[i] = (struct dp_backend_spec){.port = be16(8080), .local = true};
		t_ip6(ips[i], b[i].ip6);
	}
	t_ip6(VIP6, s.ip6);
	assert_int_equal(dp_svc_set(id, &s), 0);
}

static struct rte_mbuf *l4_frame6(uint16_t port, const char *src, uint16_t sport,
				  const char *dst, uint16_t dport, uint8_t proto, uint8_t flags)
{
	return t_l4_frame6(port, src, sport, dst, dport, proto, flags, 20);
}

static void rx1(uint16_t port, struct rte_mbuf *m)
{
	dp_rx_burst(W, port, &m, 1);
}

/* m: from src:sport to dst:dport, hop limit 63 (64 to the node: its
 * kernel's), its L4 checksum right; freed. */
static void assert_packet(struct rte_mbuf *m, const char *src, uint16_t sport, const char *dst,
			  uint16_t dport)
{
	struct rte_ipv6_hdr *ip = ip6_of(m);
	uint16_t *ports = (uint16_t *)(ip + 1);
	uint8_t a[16];

	t_ip6(src, a);
	assert_memory_equal(ip->src_addr, a, 16);
	t_ip6(dst, a);
	assert_memory_equal(ip->dst_addr, a, 16);
	assert_int_equal(ports[0], be16(sport));
	assert_int_equal(ports[1], be16(dport));
	assert_int_equal(ip->hop_limits, strcmp(dst, N6) == 0 ? 64 : 63);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, ip + 1), 0);
	rte_pktmbuf_free(m);
}

/* A pod's connection to a ClusterIP: DNAT to the backend, which sees the
 * client's own address; its answers come back from the ClusterIP. */
static void test_clusterip(void **state)
{
	(void)state;
	routes();
	service(0, IPPROTO_TCP, (const char *const[]){B6}, 1, 0);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	assert_packet(t_take(W, T_POD_B), A6, 40000, B6, 8080);
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, A6, 40000, IPPROTO_TCP,
			       RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
	assert_packet(t_take(W, T_POD_A), VIP6, 80, A6, 40000);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_ACK_FLAG));
	assert_packet(t_take(W, T_POD_B), A6, 40000, B6, 8080);
	t_assert_no_output(W);
	struct dp_svc_stats st;
	dp_svc_stats_read(0, &st);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.pkts, 2);
	assert_int_equal(st.bytes, 2 * (40 + 40));
	/* A pod talking to the backend directly is not translated. */
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40001, B6, 8080, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	assert_packet(t_take(W, T_POD_B), A6, 40001, B6, 8080);
}

/* The node (host port) as a client, over UDP. */
static void test_from_node(void **state)
{
	(void)state;
	routes();
	service(0, IPPROTO_UDP, (const char *const[]){B6}, 1, 0);
	rx1(T_HOST, l4_frame6(T_HOST, N6, 5353, VIP6, 53, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_POD_B), N6, 5353, B6, 8080);
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, N6, 5353, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_HOST), VIP6, 53, N6, 5353);
	t_assert_no_output(W);
}

/* A pod reaching itself through a Service: from the ClusterIP, on a port
 * of the SNAT range, so that its answer comes back to be translated. */
static void test_hairpin(void **state)
{
	(void)state;
	routes();
	service(0, IPPROTO_TCP, (const char *const[]){A6}, 1, 0);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	struct rte_mbuf *m = t_take(W, T_POD_A);
	uint16_t snat = rte_be_to_cpu_16(((uint16_t *)(ip6_of(m) + 1))[0]);
	assert_true(snat >= 61000);
	assert_packet(m, VIP6, snat, A6, 8080);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 8080, VIP6, snat, IPPROTO_TCP,
			       RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
	assert_packet(t_take(W, T_POD_A), VIP6, 80, A6, 40000);
	t_assert_no_output(W);
}

/* What kube-proxy refuses is refused at once, with the ICMPv6 error a
 * TCP connect reports as "connection refused": a service without
 * endpoints, a port no service has on a ClusterIP, a header the NAT
 * cannot read. */
static void test_refused(void **state)
{
	(void)state;
	routes();
	service(0, IPPROTO_TCP, NULL, 0, 0);
	struct rte_mbuf *in[3] = {
		l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_SYN_FLAG),
		l4_frame6(T_POD_A, A6, 40000, VIP6, 81, IPPROTO_TCP, RTE_TCP_SYN_FLAG),
		l4_frame6(T_POD_A, A6, 40000, VIP6, 53, IPPROTO_UDP, 0),
	};
	ip6_of(in[2])->proto = 0; /* a hop-by-hop options header first */
	dp_rx_burst(W, T_POD_A, in, 3);
	assert_int_equal(W->tx[T_POD_A].n, 3);
	W->tx[T_POD_A].n = 0;
	for (int i = 0; i < 3; i++) {
		struct rte_mbuf *m = W->tx[T_POD_A].pkts[i];
		struct rte_ipv6_hdr *ip = ip6_of(m);
		uint8_t *icmp = (uint8_t *)(ip + 1), a[16];
		assert_int_equal(ip->proto, IPPROTO_ICMPV6);
		t_ip6(A6, a);
		assert_memory_equal(ip->dst_addr, a, 16);
		assert_int_equal(icmp[0], DP_ICMP6_DEST_UNREACH);
		assert_int_equal(icmp[1], DP_ICMP6_PORT_UNREACH);
		assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, icmp), 0);
		rte_pktmbuf_free(m);
	}
	t_assert_no_output(W);
	assert_int_equal(W->stats.drops[DP_DROP_NO_BACKEND], 3);
	struct dp_svc_stats st;
	dp_svc_stats_read(0, &st);
	assert_int_equal(st.rejected, 1);
}

/* A backend leaves: UDP flows to it are forgotten (the next datagram
 * picks again), TCP flows keep it. */
static void test_stale_udp(void **state)
{
	uint64_t in_use, max;

	(void)state;
	routes();
	service(0, IPPROTO_UDP, (const char *const[]){B6}, 1, 0);
	service(1, IPPROTO_TCP, (const char *const[]){B6}, 1, 0);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 53, IPPROTO_UDP, 0));
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	assert_int_equal(W->tx[T_POD_B].n, 2);
	rte_pktmbuf_free_bulk(W->tx[T_POD_B].pkts, 2);
	W->tx[T_POD_B].n = 0;
	service(0, IPPROTO_UDP, (const char *const[]){C6}, 1, 0);
	service(1, IPPROTO_TCP, (const char *const[]){C6}, 1, 0);
	dp_commit();
	dp_ct_count(&in_use, &max);
	assert_int_equal(in_use, 1);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 53, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_POD_B), A6, 40000, C6, 8080);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_ACK_FLAG));
	assert_packet(t_take(W, T_POD_B), A6, 40000, B6, 8080);
}

/* Connections spread over the backends, but with sessionAffinity
 * ClientIP a client's all go to one. */
static void test_affinity(void **state)
{
	uint8_t b6[16], seen[2] = {0};

	(void)state;
	routes();
	t_ip6(B6, b6);
	service(0, IPPROTO_TCP, (const char *const[]){B6, C6}, 2, 0);
	for (uint16_t i = 0; i < 32; i++) {
		rx1(T_POD_A, l4_frame6(T_POD_A, A6, (uint16_t)(40000 + i), VIP6, 80, IPPROTO_TCP,
				       RTE_TCP_SYN_FLAG));
		struct rte_mbuf *m = t_take(W, T_POD_B);
		seen[memcmp(ip6_of(m)->dst_addr, b6, 16) == 0]++;
		rte_pktmbuf_free(m);
	}
	assert_true(seen[0] > 0 && seen[1] > 0);
	service(1, IPPROTO_UDP, (const char *const[]){B6, C6}, 2, 60);
	seen[0] = seen[1] = 0;
	for (uint16_t i = 0; i < 32; i++) {
		rx1(T_POD_A, l4_frame6(T_POD_A, A6, (uint16_t)(40000 + i), VIP6, 53, IPPROTO_UDP, 0));
		struct rte_mbuf *m = t_take(W, T_POD_B);
		seen[memcmp(ip6_of(m)->dst_addr, b6, 16) == 0]++;
		rte_pktmbuf_free(m);
	}
	assert_true(seen[0] == 32 || seen[1] == 32);
}

static struct dp_flow_view kept[4];
static unsigned n_kept;

static void keep(const struct dp_flow_view *v, void *arg)
{
	(void)arg;
	if (n_kept < 4)
		kept[n_kept++] = *v;
}

/* A restart's handover: an IPv6 flow as dp_ct_walk shows it, flushed,
 * imported again: its answers are translated as before. */
static void test_walk_and_import(void **state)
{
	uint8_t a[16];

	(void)state;
	routes();
	service(0, IPPROTO_TCP, (const char *const[]){B6}, 1, 0);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	rte_pktmbuf_free(t_take(W, T_POD_B));
	n_kept = 0;
	dp_ct_walk(keep, NULL);
	assert_int_equal(n_kept, 1);
	assert_true(kept[0].v6);
	assert_int_equal(kept[0].proto, IPPROTO_TCP);
	assert_int_equal(kept[0].svc, 1);
	assert_string_equal(kept[0].state, "syn_sent");
	t_ip6(VIP6, a);
	assert_memory_equal(kept[0].dst6[0], a, 16);
	t_ip6(B6, a);
	assert_memory_equal(kept[0].src6[1], a, 16);
	assert_int_equal(kept[0].dport[0], be16(80));
	assert_int_equal(kept[0].sport[1], be16(8080));
	assert_int_equal(dp_ct_flush(-1), 1);
	assert_int_equal(dp_ct_import(&kept[0]), 0);
	assert_int_equal(dp_ct_import(&kept[0]), -EEXIST);
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, A6, 40000, IPPROTO_TCP,
			       RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
	assert_packet(t_take(W, T_POD_A), VIP6, 80, A6, 40000);
	/* Flushing one service's flows leaves others. */
	assert_int_equal(dp_ct_flush(1), 0);
	assert_int_equal(dp_ct_flush(0), 1);
}

/* An ICMPv6 message at m: its type and code, the quote's addresses and
 * ports, the checksum right. */
static void assert_error(struct rte_mbuf *m, const char *from, const char *to, uint8_t type,
			 const char *qsrc, uint16_t qsport, const char *qdst, uint16_t qdport)
{
	struct rte_ipv6_hdr *ip = ip6_of(m), *q;
	uint8_t *icmp = (uint8_t *)(ip + 1), a[16];

	assert_int_equal(ip->proto, IPPROTO_ICMPV6);
	assert_int_equal(icmp[0], type);
	t_ip6(from, a);
	assert_memory_equal(ip->src_addr, a, 16);
	t_ip6(to, a);
	assert_memory_equal(ip->dst_addr, a, 16);
	assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, icmp), 0);
	q = (struct rte_ipv6_hdr *)(icmp + 8);
	t_ip6(qsrc, a);
	assert_memory_equal(q->src_addr, a, 16);
	t_ip6(qdst, a);
	assert_memory_equal(q->dst_addr, a, 16);
	assert_int_equal(((uint16_t *)(q + 1))[0], be16(qsport));
	assert_int_equal(((uint16_t *)(q + 1))[1], be16(qdport));
	rte_pktmbuf_free(m);
}

/* Path MTU discovery through a Service: "packet too big" for a packet
 * podlaned translated quotes it as the client sent it; an error the
 * backend sends about the connection reaches the client from the service
 * IP, its quote as the client sent it. */
static void test_icmp6_errors(void **state)
{
	(void)state;
	routes();
	service(0, IPPROTO_TCP, (const char *const[]){B6}, 1, 0);
	dp.ports[T_POD_B].mtu = 1280;
	rx1(T_POD_A, t_l4_frame6(T_POD_A, A6, 40000, VIP6, 80, IPPROTO_TCP, RTE_TCP_ACK_FLAG, 1300));
	assert_error(t_take(W, T_POD_A), "fe80::1", A6, DP_ICMP6_PACKET_TOO_BIG, A6, 40000, VIP6,
		     80);
	t_assert_no_output(W);
	/* B's port unreachable about A's segment, as B received it. */
	struct rte_mbuf *seg =
		t_l4_frame6(T_POD_B, A6, 40000, B6, 8080, IPPROTO_TCP, RTE_TCP_ACK_FLAG, 20);
	struct rte_mbuf *m = t_l4_frame6(T_POD_B, B6, 0, A6, 0, IPPROTO_UDP, 0, 48 + 40 + 20 - 8);
	struct rte_ipv6_hdr *ip = ip6_of(m);
	uint8_t *icmp = (uint8_t *)(ip + 1);
	ip->proto = IPPROTO_ICMPV6;
	memset(icmp, 0, 8);
	icmp[0] = DP_ICMP6_DEST_UNREACH;
	icmp[1] = DP_ICMP6_PORT_UNREACH;
	memcpy(icmp + 8, ip6_of(seg), 40 + 40);
	rte_pktmbuf_free(seg);
	uint16_t sum = rte_ipv6_udptcp_cksum(ip, icmp);
	memcpy(icmp + 2, &sum, 2);
	rx1(T_POD_B, m);
	assert_error(t_take(W, T_POD_A), VIP6, A6, DP_ICMP6_DEST_UNREACH, A6, 40000, VIP6, 80);
	t_assert_no_output(W);
}

/* A NodePort from off the node to a backend that is not this node's
 * (B6, marked so): SNATed to the node's address (the answer must come
 * back here), translated back. */
static void test_node_port(void **state)
{
	(void)state;
	routes_ext();
	service_ext(false, (const char *const[]){B6}, (const bool[]){false}, 1);
	rx1(T_UPLINK, l4_frame6(T_UPLINK, CL6, 40000, N6, 30080, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	struct rte_mbuf *m = t_take(W, T_POD_B);
	uint16_t snat = rte_be_to_cpu_16(((uint16_t *)(ip6_of(m) + 1))[0]);
	assert_true(snat >= 61000);
	assert_packet(m, N6, snat, B6, 8080);
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, N6, snat, IPPROTO_TCP,
			       RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
	assert_packet(t_take(W, T_POD_A), N6, 30080, CL6, 40000);
	/* The same from a pod: its own address kept. */
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, 40001, N6, 30080, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	assert_packet(t_take(W, T_POD_B), A6, 40001, B6, 8080);
	/* Not a NodePort: the node's own. */
	rx1(T_UPLINK, l4_frame6(T_UPLINK, CL6, 40000, N6, 22, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	struct rte_mbuf *k = t_take(W, T_HOST);
	assert_int_equal(((uint16_t *)(ip6_of(k) + 1))[1], be16(22));
	rte_pktmbuf_free(k);
	t_assert_no_output(W);
}

/* externalTrafficPolicy Local: from off the node, local backends only,
 * the client's address kept; none local: dropped, as kube-proxy drops
 * it. An external IP is a frontend like the NodePort. */
static void test_node_port_local(void **state)
{
	(void)state;
	routes_ext();
	service_ext(true, (const char *const[]){B6, FAR6}, (const bool[]){true, false}, 2);
	for (uint16_t i = 0; i < 8; i++) {
		rx1(T_UPLINK, l4_frame6(T_UPLINK, CL6, (uint16_t)(40000 + i), i % 2 ? EXT6 : N6,
					i % 2 ? 80 : 30080, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
		assert_packet(t_take(W, T_POD_B), CL6, (uint16_t)(40000 + i), B6, 8080);
	}
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, CL6, 40001, IPPROTO_TCP,
			       RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
	assert_packet(t_take(W, T_POD_A), EXT6, 80, CL6, 40001);
	service_ext(true, (const char *const[]){FAR6}, (const bool[]){false}, 1);
	rx1(T_UPLINK, l4_frame6(T_UPLINK, CL6, 41000, N6, 30080, IPPROTO_TCP, RTE_TCP_SYN_FLAG));
	t_assert_no_output(W);
	assert_int_equal(W->stats.drops[DP_DROP_NO_BACKEND], 1);
}

/* A frontend is one service's; a NodePort needs the node's IPv6 address. */
static void test_spec_refused(void **state)
{
	struct dp_backend_spec b = {.port = be16(8080)};
	struct dp_svc_spec s = {.v6 = true, .port = be16(80), .proto = IPPROTO_TCP,
				.n_backends = 1, .backends = &b};

	(void)state;
	t_ip6(B6, b.ip6);
	t_ip6(VIP6, s.ip6);
	s.node_port = be16(30080);
	dp.cfg.has_node6 = false;
	assert_int_equal(dp_svc_set(0, &s), -EINVAL);
	dp.cfg.has_node6 = true;
	s.node_port = 0;
	assert_int_equal(dp_svc_set(0, &s), 0);
	assert_int_equal(dp_svc_set(1, &s), -EEXIST);
	dp_svc_del(0);
	assert_int_equal(dp_svc_set(1, &s), 0);
}

/* A port of pod A whose UDP to VIP6:53 goes to backend ip. */
static uint16_t port_to(const char *ip)
{
	uint8_t a[16], vip[16], want[16], b[16];
	uint32_t svc;
	uint16_t bport;

	t_ip6(A6, a);
	t_ip6(VIP6, vip);
	t_ip6(ip, want);
	for (uint16_t p = 40000;; p++) {
		assert_int_equal(dp_svc_trace6(a, be16(p), vip, be16(53), IPPROTO_UDP, false, &svc,
					       b, &bport), 0);
		if (memcmp(b, want, 16) == 0)
			return p;
	}
}

/* After a crash, as test_nat.c's test_answer_picked_up: the answer of
 * the backend the service gives the connection to is translated and its
 * flow made again, in the pickup window only; an answer to a connection
 * another backend gets is not. */
static void test_answer_picked_up(void **state)
{
	(void)state;
	routes();
	service(0, IPPROTO_UDP, (const char *const[]){B6, C6}, 2, 0);
	uint16_t mine = port_to(B6), other = port_to(C6);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, mine, VIP6, 53, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_POD_B), A6, mine, B6, 8080);
	assert_int_equal(dp_ct_flush(-1), 1); /* the crash */
	dp.ports[T_POD_A].ct_reply_to = 0;
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, A6, mine, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_POD_A), B6, 8080, A6, mine);
	dp_ct_pickup(300);
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, A6, other, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_POD_A), B6, 8080, A6, other);
	rx1(T_POD_B, l4_frame6(T_POD_B, B6, 8080, A6, mine, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_POD_A), VIP6, 53, A6, mine);
	rx1(T_POD_A, l4_frame6(T_POD_A, A6, mine, VIP6, 53, IPPROTO_UDP, 0));
	assert_packet(t_take(W, T_POD_B), A6, mine, B6, 8080);
	t_assert_no_output(W);
	struct dp_stats st;
	dp_stats_read(&st);
	assert_int_equal(st.flows_in_use, 1);
	dp_ct_pickup(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clusterip, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_from_node, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_hairpin, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_refused, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_stale_udp, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_affinity, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_walk_and_import, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_icmp6_errors, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_node_port, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_node_port_local, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_spec_refused, t_dp_setup, t_dp_teardown),
		cmocka_unit_test_setup_teardown(test_answer_picked_up, t_dp_setup, t_dp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
