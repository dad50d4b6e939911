/* Packet capture (dp_capture.c): which frames a filter takes, as a table
 * of filters against frames, cell by cell (this is what found DPDK
 * 22.11's rte_bpf_convert indexing indirect loads by the wrong register:
 * every port filter matched nothing); directions, snap length, lost
 * frames counted, slots given back. */
#include <rte_ip.h>

#include "fwd_harness.h"

#define W (&dp.workers[0])
#define A "100.96.243.2"
#define B "100.96.243.3"

enum frame { ECHO, ECHO_REPLY, TCP_8080, UDP_53, N_FRAMES };

/* From pod a to pod b, DF set (as Linux sends TCP): the fragment field is
 * not zero, which the broken conversion used as the index. */
static struct rte_mbuf *frame(enum frame f)
{
	uint8_t proto = f == ECHO || f == ECHO_REPLY ? IPPROTO_ICMP : f == TCP_8080 ? IPPROTO_TCP
										    : IPPROTO_UDP;
	struct rte_mbuf *m = t_frame(dp.pool, T_POD_A, ip4(A), ip4(B), proto, 60, 64);
	struct rte_ipv4_hdr *ip = t_ip(m);
	uint8_t *l4 = (uint8_t *)(ip + 1);

	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (f == ECHO || f == ECHO_REPLY)
		l4[0] = f == ECHO ? 8 : 0;
	else /* ports 40000 -> 8080 or 53 */
		memcpy(l4, (uint8_t[]){0x9c, 0x40, f == TCP_8080 ? 0x1f : 0, f == TCP_8080 ? 0x90 : 53}, 4);
	if (f == TCP_8080)
		l4[12] = 5 << 4;
	return m;
}

static unsigned n_read;
static struct dp_captured last;
static uint8_t last_head[6]; /* its destination MAC: data lives during the call only */
static void count(void *ctx, const struct dp_captured *c)
{
	(void)ctx;
	n_read++;
	last = *c;
	memcpy(last_head, c->data, RTE_MIN(c->caplen, sizeof(last_head)));
}

/* Which of the frames (bit per enum frame) a capture of pod a's received
 * frames with filter takes. */
static unsigned taken(const char *filter)
{
	struct dp_capture_spec s = {.port = T_POD_A, .dirs = DP_CAPTURE_IN, .snaplen = 262144,
				    .filter = filter};
	char err[256];
	unsigned got = 0;
	int id = dp_capture_start(&s, err, sizeof(err));

	assert_true(id >= 0);
	for (int f = 0; f < N_FRAMES; f++) {
		struct rte_mbuf *m = frame((enum frame)f);
		n_read = 0;
		dp_rx_burst(W, T_POD_A, &m, 1);
		dp_capture_read(id, 10, count, NULL);
		got |= (n_read == 1) << f;
	}
	dp_capture_stop(id);
	return got;
}

static void test_filters(void **state)
{
	static const struct {
		const char *filter;
		unsigned want;
	} table[] = {
		{"", 1 << ECHO | 1 << ECHO_REPLY | 1 << TCP_8080 | 1 << UDP_53},
		{"icmp", 1 << ECHO | 1 << ECHO_REPLY},
		{"icmp[icmptype] == icmp-echo", 1 << ECHO},
		{"icmp[icmptype] == icmp-echoreply", 1 << ECHO_REPLY},
		{"tcp port 8080", 1 << TCP_8080},
		{"tcp dst port 8080 and src port 40000", 1 << TCP_8080},
		{"tcp port 8081", 0},
		{"udp port 53", 1 << UDP_53},
		{"port 53 or port 8080", 1 << TCP_8080 | 1 << UDP_53},
		{"host " A " and not icmp", 1 << TCP_8080 | 1 << UDP_53},
		{"src host " B, 0},
		{"net 100.96.0.0/11", 1 << ECHO | 1 << ECHO_REPLY | 1 << TCP_8080 | 1 << UDP_53},
		{"arp", 0},
	};
	(void)state;
	for (size_t i = 0; i < RTE_DIM(table); i++) {
		unsigned got = taken(table[i].filter);
		if (got != table[i].want)
			fail_msg("filter '%s': took frames 0x%x, not 0x%x", table[i].filter, got,
				 table[i].want);
	}
}

static void test_direction_and_snaplen(void **state)
{
	struct dp_capture_spec s = {.port = T_POD_B, .dirs = DP_CAPTURE_OUT, .snaplen = 20};
	char err[256];
	struct dp_nh_spec b = {.kind = DP_NH_PORT, .port = T_POD_B, .mac = dp.ports[T_POD_B].peer_mac};
	int id = dp_capture_start(&s, err, sizeof(err));

	(void)state;
	assert_true(id >= 0);
	assert_int_equal(dp_route_add(ip4(B), 32, &b), 0);
	struct rte_mbuf *m = frame(UDP_53);
	uint32_t len = m->pkt_len;
	dp_rx_burst(W, T_POD_A, &m, 1); /* received on a: not this capture's */
	n_read = 0;
	dp_capture_read(id, 10, count, NULL);
	assert_int_equal(n_read, 0);
	assert_int_equal(W->tx[T_POD_B].n, 1);
	dp_tx_flush_port(W, T_POD_B); /* sent on b */
	dp_capture_read(id, 10, count, NULL);
	assert_int_equal(n_read, 1);
	assert_int_equal(last.dir, DP_CAPTURE_OUT);
	assert_int_equal(last.caplen, 20);
	assert_int_equal(last.len, len);
	struct rte_ether_addr peer = mac_n(0x20 + T_POD_B);
	assert_memory_equal(last_head, peer.addr_bytes, 6); /* to b's peer */
	assert_int_equal(dp_capture_lost(id), 0);
	dp_capture_stop(id);
}

/* A reader that falls behind: what does not fit is lost and counted. */
static void test_lost_counted(void **state)
{
	struct dp_capture_spec s = {.port = T_POD_A, .dirs = DP_CAPTURE_IN, .snaplen = 64};
	char err[256];
	int id = dp_capture_start(&s, err, sizeof(err));
	unsigned sent = 0;

	(void)state;
	assert_true(id >= 0);
	while (sent < 2100) {
		struct rte_mbuf *m[32];
		for (int i = 0; i < 32; i++)
			m[i] = frame(ECHO);
		dp_rx_burst(W, T_POD_A, m, 32);
		sent += 32;
		t_dp_teardown(NULL); /* the forwarded frames, not the copies */
	}
	n_read = 0;
	dp_capture_read(id, 4096, count, NULL);
	assert_int_equal(n_read + dp_capture_lost(id), sent);
	assert_true(dp_capture_lost(id) > 0);
	dp_capture_stop(id);
}

static void test_slots_and_errors(void **state)
{
	struct dp_capture_spec s = {.port = T_POD_A, .dirs = DP_CAPTURE_IN, .snaplen = 64};
	char err[256];
	int ids[DP_MAX_CAPTURES];

	(void)state;
	for (int i = 0; i < DP_MAX_CAPTURES; i++)
		assert_true((ids[i] = dp_capture_start(&s, err, sizeof(err))) >= 0);
	assert_int_equal(dp_capture_count(), DP_MAX_CAPTURES);
	assert_int_equal(dp_capture_start(&s, err, sizeof(err)), -1);
	assert_string_equal(err, "8 captures run already");
	for (int i = 0; i < DP_MAX_CAPTURES; i++)
		dp_capture_stop(ids[i]);
	assert_int_equal(dp_capture_count(), 0);
	assert_int_equal(dp.ports[T_POD_A].capture, 0);
	s.filter = "tcp port";
	assert_int_equal(dp_capture_start(&s, err, sizeof(err)), -1);
	assert_string_equal(err, "filter: can't parse filter expression: syntax error");
	s.filter = NULL;
	s.port = 200;
	assert_int_equal(dp_capture_start(&s, err, sizeof(err)), -1);
	assert_string_equal(err, "no port 200");
	assert_int_equal(dp_capture_count(), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_dp_setup, t_dp_teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_filters),
		T(test_direction_and_snaplen),
		T(test_lost_counted),
		T(test_slots_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
