/* Builds a dataplane with ring-backed ports so tests can put frames in
 * and read what comes out: port 0 uplink, 1 host TAP, 2 and 3 pods. */
#ifndef FWD_HARNESS_H
#define FWD_HARNESS_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>

#include "dp_ip4.h"

#define T_UPLINK 0
#define T_HOST 1
#define T_POD_A 2
#define T_POD_B 3
#define T_NPORTS 4

extern struct rte_ring *t_txr[T_NPORTS][2];

static inline uint32_t ip4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static inline void t_ip6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static inline struct rte_ether_addr mac_n(uint8_t n)
{
	struct rte_ether_addr m = {{0x02, 0, 0, 0, 0, n}};
	return m;
}

int t_eal_init(void);
int t_dp_setup(void **state);
int t_dp_teardown(void **state);
/* A frame from the peer behind port to its MAC: Ethernet and IPv4
 * headers (id 100, checksum right) of an l3-byte packet, the rest zero. */
struct rte_mbuf *t_frame(struct rte_mempool *pool, uint16_t port, uint32_t src, uint32_t dst,
			 uint8_t proto, uint16_t l3, uint8_t ttl);
/* A small UDP one (48 bytes of IP). */
struct rte_mbuf *t_ipv4(uint16_t port, uint32_t src, uint32_t dst, uint8_t ttl);
/* An ACK (TCP) or a datagram (UDP) with 12 bytes of payload, every
 * checksum right. */
struct rte_mbuf *t_l4_frame(uint16_t port, const char *src, uint16_t sport, const char *dst,
			    uint16_t dport, uint8_t proto, uint8_t ttl);
struct rte_mbuf *t_arp(uint16_t port, uint16_t op, uint32_t sip, uint32_t tip,
		       struct rte_ether_addr sha);
/* Takes the single frame a worker queued for a port (asserts there is one). */
struct rte_mbuf *t_take(struct dp_worker *w, uint16_t port);
void t_assert_no_output(struct dp_worker *w);
struct rte_ipv4_hdr *t_ip(struct rte_mbuf *m);
/* m's UDP checksum left partial (the pseudo-header sum) with its offload
 * flags, as a TAP with a virtio-net header hands it over. */
void t_udp_partial(struct rte_mbuf *m);
/* The /128 routes of pods a and b's IPv6 addresses to their ports. */
void t_pod_routes6(void);
/* An IPv6 frame from the peer behind port to its MAC: the header (hop
 * limit hop) and payload zero bytes of proto after it. */
struct rte_mbuf *t_frame6(uint16_t port, const char *src, const char *dst, uint8_t proto,
			  uint16_t payload, uint8_t hop);
/* A TCP segment (flags) or UDP datagram over IPv6 from the peer of port
 * with n bytes of data, its checksum right. */
struct rte_mbuf *t_l4_frame6(uint16_t port, const char *src, uint16_t sport, const char *dst,
			     uint16_t dport, uint8_t proto, uint8_t flags, uint16_t n);

#endif
