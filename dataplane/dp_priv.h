/* Dataplane internals shared by the dataplane's own files, its benchmarks
 * (bench/) and its unit tests and fuzzers. Nothing else includes this: the
 * build gives this folder to no other part (control/ sees include/dp.h). */
#ifndef DP_PRIV_H
#define DP_PRIV_H

#include <linux/virtio_net.h>
#include <pthread.h>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_spinlock.h>
#include <rte_hash.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dp.h"

/* ICMPv6 types (RFC 4443, 4861). */
#define DP_ICMP6_DEST_UNREACH 1
#define DP_ICMP6_PORT_UNREACH 4 /* its code */
#define DP_ICMP6_PACKET_TOO_BIG 2
#define DP_ICMP6_TIME_EXCEEDED 3
#define DP_ICMP6_ECHO_REQUEST 128
#define DP_ICMP6_ECHO_REPLY 129
#define DP_ICMP6_NS 135
#define DP_ICMP6_NA 136

/* ICMP types DPDK 22.11 does not name. */
#define DP_ICMP_DEST_UNREACH 3
#define DP_ICMP_FRAG_NEEDED 4 /* a DEST_UNREACH code */
#define DP_ICMP_TIME_EXCEEDED 11
#define DP_ICMP_PARAM_PROBLEM 12

#define DP_BURST 32
#define DP_TXBUF (2 * DP_BURST)
/* How long frames wait for a guest whose rx ring takes none (dp_tx.c). */
#define DP_TX_WAIT_US 1000
/* Next-hop ids fit the route tables' 2-byte entries (DIR-24-8, 15 bits
 * of value); DP_MAX_NH itself is their "no route". */
#define DP_MAX_NH ((1u << 15) - 1)
#define DP_MAX_NEIGH 4096
#define DP_MAX_NEIGH6 1024
/* Packets waiting for ARP: per neighbour (the kernel keeps ~100), and in
 * all (so unresolved next hops cannot take the whole mbuf pool). A burst
 * waiting on a gateway is common: a restarted podlaned reads what queued
 * in its kernel ports meanwhile before it knows any neighbour. */
#define DP_NEIGH_QUEUE 64
#define DP_NEIGH_QUEUED_MAX 2048
#define DP_SLOWPATH_RING 1024
/* Threads that close kernel ports' fds (dp_kport.c). */
#define DP_CLOSERS 4
/* One worker may poll everything: every ethdev's queues (one per worker
 * at most) and every kernel port. 64 capped a 1-worker node at 62 pods. */
#define DP_MAX_RXQ_PER_WORKER (RTE_MAX_ETHPORTS * DP_MAX_WORKERS + DP_MAX_PORTS - RTE_MAX_ETHPORTS)
/* Every port has one tx queue per worker; the control thread uses the
 * next one, so nobody shares a tx queue (vhost-user aside: dp_port.txq_of). */
#define DP_CTL_TXQ(n_workers) (n_workers)
/* Offload requests a frame from a kernel port may carry (dp_kport_io.c);
 * a DPDK port's device does them when it offers them (dp_port.hw_tx),
 * else they are done in software (dp_offload.c). */
#define DP_TX_OFFLOADS (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IPV4)
/* The device offloads those need: TSO (with each segment's IP checksum)
 * and TCP/UDP checksums. */
#define DP_HW_TX_OFFLOADS (RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | \
			   RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
/* Segments of one GSO frame: 64 KiB at an MSS down to 128 bytes. */
#define DP_GSO_MAX_SEGS 512
/* Fragments of one packet (dp_mtu.c): a 9000-byte packet makes 7 at an
 * MTU of 1500, 17 at 576; what would need more than this is dropped as
 * mtu_exceeded. */
#define DP_MAX_FRAGS 64

struct dp_nh {
	uint8_t kind;
	uint8_t n_members; /* DP_NH_ECMP */
	uint16_t port;
	uint32_t gw;
	uint8_t gw6[16]; /* an IPv6 route's DP_NH_GATEWAY */
	struct rte_ether_addr mac;
	uint32_t refcnt; /* routes (and ECMP next hops) using it; control thread only */
	/* DP_NH_ECMP: its gateways' next hops (DP_NH_GATEWAY), by address. */
	uint16_t members[DP_ECMP_MAX];
};

struct dp_port {
	uint8_t active;
	uint8_t kind;
	uint8_t capture; /* bit per capture running on it (dp_capture.c) */
	bool kport; /* kernel interface through our own fds (dp_kport.c), no ethdev */
	/* Kernel ports: an fd per rx queue (n_rxq). A TAP has one; an
	 * af_packet uplink one socket per worker in a fanout group. */
	int fd[DP_MAX_WORKERS];
	/* vhost-user: the guest enables as many queue pairs as it likes (up
	 * to one per worker), kept by the queue-state callback (dp_vhost.c):
	 * a flow goes to the enabled queue its hash picks (txq_on), anything
	 * else to its sender's (txq_of: worker id, or DP_CTL_TXQ), under
	 * that queue's lock. The senders of a device with fewer tx queues
	 * than senders share them the same way (txq_of). Other ports: tx
	 * queue = sender, no lock. */
	bool shared_txq;
	bool vhost;
	bool rx_intr; /* rx interrupts configured (net_vhost: the guest's kicks) */
	bool single_seg; /* takes no mbuf chains: dp_tx_flush_port linearizes */
	uint64_t hw_tx; /* DP_HW_TX_OFFLOADS its device does (rte_eth_tx_prepare first) */
	/* hw_tx for IPv6 frames too: a vhost-user guest that negotiated
	 * GUEST_CSUM, and GUEST_TSO6 if it takes TSO at all (dp_vhost.c). A
	 * NIC's IPv6 offloads are done in software: none here to test them. */
	bool hw_tx6;
	bool tso_l2_in_mtu; /* TSO segments' Ethernet header counts in its MTU (net_tap) */
	bool gro; /* a TAP: TCP segments to it are merged first (dp_gro.c) */
	/* Set by workers when a translated connection makes it so (dp_nat4.c):
	 * packets to this port's peer (a client) or from it (a backend of
	 * off-node clients) are looked up in the connection table. */
	uint8_t ct_reply_to, ct_reply_from;
	/* Bit per dp_pol_dir its pod is isolated in (dp_policy.c): the
	 * policy stage looks at packets from (egress) or to (ingress) it. */
	uint8_t pol_iso;
	uint8_t txq_of[DP_MAX_WORKERS + 1];
	uint8_t txq_on[DP_MAX_WORKERS], n_txq_on; /* the enabled tx queues */
	uint32_t txq_enabled; /* bit per tx queue; queue-state callback only */
	rte_spinlock_t txq_lock[DP_MAX_WORKERS];
	uint16_t n_rxq, n_txq;
	uint16_t mtu; /* dp_port_set_mtu(); workers read it */
	uint64_t kernel_missed; /* kernel ports: dp_kport_read_missed() */
	struct rte_ether_addr mac;
	struct rte_ether_addr peer_mac;
	uint32_t peer_ip;
	uint8_t peer_ip6[16]; /* a pod's IPv6 address (dp_port_set_peer6), or zeros */
	unsigned worker;
	char name[64];
};

/* mac_word packs the 6-byte MAC and a valid bit so workers read it with
 * one atomic load while the control thread updates it. */
#define DP_NEIGH_VALID (1ull << 48)
struct dp_neigh {
	uint32_t ip;
	uint8_t ip6[16]; /* in dp.neigh6[]: its IPv6 address (ip is 0) */
	bool v6;
	uint64_t mac_word;
	uint64_t confirmed;   /* tsc of the last reply */
	uint64_t last_req;    /* tsc of the last request we sent */
	uint8_t probes;       /* unanswered requests */
	uint8_t n_queued;
	uint16_t ecmp_refs;   /* ECMP next hops it is a gateway of: re-confirmed every second */
	struct rte_mbuf *queue[DP_NEIGH_QUEUE];
};

struct dp_rxq {
	uint16_t port;
	uint16_t queue;
	bool intr; /* a DPDK queue whose rx interrupt fd is in the worker's epoll set */
};

struct dp_rxq_list {
	uint64_t gen; /* distinct for every list published */
	unsigned n;
	unsigned n_ethdev; /* DPDK queues among them */
	unsigned n_intr;   /* ... with rx interrupts; all: the worker can block */
	struct dp_rxq q[DP_MAX_RXQ_PER_WORKER];
};

struct dp_txbuf {
	uint16_t n;
	bool listed; /* in dp_worker.pending */
	/* A guest's full ring (dp_tx_flush_port): the first `waiting` of
	 * pkts were refused, the port took nothing since tsc `stuck`. */
	uint16_t waiting;
	uint64_t stuck;
	struct rte_mbuf *pkts[DP_TXBUF];
};

struct dp_wstats {
	uint64_t rx_pkts[DP_MAX_PORTS], rx_bytes[DP_MAX_PORTS];
	uint64_t tx_pkts[DP_MAX_PORTS], tx_bytes[DP_MAX_PORTS];
	uint64_t drops[DP_DROP_MAX];
	uint64_t icmp_sent, icmp_ratelimited, arp_replies, fragmented;
	uint64_t ipv4_pkts, ipv6_pkts, ndp_replies;
	uint64_t tx_waited; /* frames a guest's full ring refused at first (dp_tx.c) */
	uint64_t flows_created;
	uint64_t pol_denied[DP_MAX_PORTS]; /* by the port of the pod whose policy refused */
	uint64_t busy_cycles; /* in loop rounds that moved packets */
};

struct dp_worker {
	unsigned id;
	unsigned lcore;
	struct dp_rxq_list *rxqs; /* published with RCU by the control thread */
	uint64_t icmp_tokens;      /* ICMP error rate limit (token bucket) */
	uint64_t icmp_last;
	/* Test hook: when set, outputs stay in tx[] instead of being sent. */
	bool hold_tx;
	struct dp_txbuf tx[DP_MAX_PORTS];
	/* Ports with buffered packets, so a flush never scans every port. */
	uint16_t pending[DP_MAX_PORTS];
	struct rte_mbuf *kport_spare; /* big buffer for the next kernel port read */
	int epfd; /* its kernel ports' fds and kickfd, to block on when idle */
	int kickfd; /* eventfd: dp_worker_kick() ends a block */
	uint16_t n_pending;
	struct dp_wstats stats;
	/* Busy share of the last dp_timer() period, in millionths; kept by
	 * the control thread, read by stats readers on any thread. */
	uint32_t load_ppm;
	uint64_t load_busy, load_tsc;
} __rte_cache_aligned;

struct dp_nat; /* dp_nat.h */

struct dp_drop_rec;

struct dp {
	struct dp_config cfg;
	/* The drop recorder (dp_drops.c): a ring per writer, workers' then
	 * the control thread's (DP_DROPS_CTL). */
	struct dp_drop_rec *drop_recs;
	unsigned drops_per_writer; /* 0: not recording */
	struct {
		uint32_t n; /* records written; a line each: writers share none */
	} __rte_cache_aligned drops_head[DP_MAX_WORKERS + 1];
	/* Wall clock of a TSC value: CLOCK_REALTIME at clock_tsc0 was
	 * clock_ns0 (dp_tsc_to_ns). */
	uint64_t clock_tsc0, clock_ns0;
	uint32_t now_s; /* seconds since start, counted by dp_timer() */
	struct dp_nat *nat;
	struct dp_pol *pol; /* NetworkPolicy in force, NULL: no pod isolated (RCU) */
	uint64_t *pol_flows[DP_MAX_WORKERS]; /* connections allowed, by rule id */
	uint32_t pickup_until; /* now_s before which answers are picked up (dp_ct_pickup) */
	uint32_t node_mask; /* network byte order */
	struct rte_mempool *pool;
	struct rte_mempool *big_pool;      /* kernel port reads: a whole GSO frame each */
	struct rte_mempool *indirect_pool; /* rte_gso segments' payload */
	/* Routes (dp_route.c): two rte_fib with the same routes, one that
	 * workers read (fib_active) and one the control thread writes. */
	struct rte_fib *fib[2];
	struct rte_fib *fib_active;
	/* The default route's next hop + 1, 0 for none: beside the tables, as
	 * a /0 in DIR-24-8 would rewrite all its 16M first-level entries. */
	uint32_t default_hop;
	/* IPv6 routes the same way, beside them (NULL: no IPv6 configured). */
	struct rte_fib6 *fib6[2];
	struct rte_fib6 *fib6_active;
	uint32_t default_hop6;
	/* The /128 routes of the /112 block the node's IPv6 pod prefix starts
	 * with (its pods' pool) are also here: next hop + 1 by the address's
	 * last 16 bits, 0 for none. One load finds a pod where the tables'
	 * trie walks 14 levels for a /128 (dp_ip6_hops). One copy: each entry
	 * is stored whole as its route is published (dp_route.c). */
	uint16_t *host6;
	uint64_t host6_block[2]; /* the block's first 14 bytes, as dp_ip6_host_slot loads them */
	uint64_t host6_mask;     /* bytes 8..13 of the second load */
	struct rte_rcu_qsbr *qsbr;
	struct dp_nh nh[DP_MAX_NH];
	uint32_t nh_free[DP_MAX_NH];
	uint32_t n_nh_free;
	uint32_t nh_deferred[DP_MAX_NH]; /* freed at dp_commit() */
	uint32_t n_nh_deferred;
	struct rte_hash *nh_by_key;     /* dedup of next hops */
	struct rte_hash *neigh_hash;    /* ip -> index into neigh[] */
	struct dp_neigh neigh[DP_MAX_NEIGH];
	struct rte_hash *neigh6_hash;   /* IPv6 (dp_config.has_node6) -> index into neigh6[] */
	struct dp_neigh neigh6[DP_MAX_NEIGH6];
	uint32_t neigh_queued; /* packets in every neigh[].queue (control thread) */
	struct rte_ring *slowpath;
	int slowpath_efd;
	uint64_t slowpath_stats[DP_DROP_MAX];
	uint64_t arp_requests, ndp_requests;
	struct dp_port ports[DP_MAX_PORTS];
	uint16_t uplink, host;
	int closer_pipe[2]; /* kernel port fds for the closers (dp_kport.c) */
	pthread_t closers[DP_CLOSERS];
	struct dp_worker workers[DP_MAX_WORKERS];
	volatile bool stop;
};

extern struct dp dp;

/* A burst on its way through the stages of the receive path (dp_rx.c):
 * each stage takes the packets it is given and keeps the survivors, in
 * order. */
struct dp_pkts {
	uint16_t n;
	struct rte_mbuf *m[DP_BURST];
	uint32_t key[DP_BURST]; /* route lookup keys: IPv4 destinations, host order */
	uint32_t hop[DP_BURST]; /* next hop (dp_ip4_route), DP_HOP_NONE: no route */
	/* Bit i: the NAT stage found m[i]'s tracked flow, flow[i] (id << 1 |
	 * direction), for the policy stage after it. */
	uint64_t flowed;
	uint32_t flow[DP_BURST];
};
/* An IPv6 burst (dp_ip6.c): the same, keyed by IPv6 destinations. */
struct dp_pkts6 {
	uint16_t n;
	struct rte_mbuf *m[DP_BURST];
	uint8_t key[DP_BURST][16];
	uint32_t hop[DP_BURST];
	uint64_t flowed; /* as dp_pkts's: flows dp_nat6 found, for dp_policy6 */
	uint32_t flow[DP_BURST];
};
/* No next hop. dp.default_hop - 1 when there is no default route. */
#define DP_HOP_NONE UINT32_MAX

/* The stages, in the order dp_rx_burst runs them. */
void dp_rx_burst(struct dp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n);
/* dp_l2.c, the parse stage: pkts (from port) sorted out in one pass; IPv4
 * frames whose headers pass (dp_ip4.h) land in ip4 for routing, IPv6
 * ones (dp_ip6.h) in ip6. */
void dp_l2_input(struct dp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n,
		 struct dp_pkts *ip4, struct dp_pkts6 *ip6);
/* dp_ip4.c */
void dp_ip4_route(struct dp_pkts *v);
/* dp_ip4_output.c: every packet of v sent, punted or dropped; _one for a
 * single packet (hop may be DP_HOP_NONE), e.g. one made here (ICMP). */
void dp_ip4_output(struct dp_worker *w, struct dp_pkts *v);
void dp_ip4_output_one(struct dp_worker *w, struct rte_mbuf *m, uint32_t hop, bool decrement_ttl);
/* dp_ip6.c: the IPv6 route stage (lookups);
 * dp_ip6_output.c: hop limit, MTU, transmit, as dp_ip4_output. */
void dp_ip6_route(struct dp_worker *w, struct dp_pkts6 *v);
void dp_ip6_output(struct dp_worker *w, struct dp_pkts6 *v);
void dp_ip6_output_one(struct dp_worker *w, struct rte_mbuf *m, uint32_t hop, bool decrement);
/* dp_ndp.c: an IPv6 frame to a link-local or multicast address (NDP, a
 * ping of the gateway), or a neighbour advertisement from the uplink:
 * answered, handed on or dropped. A solicitation of target from the
 * node's IPv6 address on port (the uplink), or NULL. */
void dp_ndp_input(struct dp_worker *w, uint16_t port, struct rte_mbuf *m);
struct rte_mbuf *dp_ndp_solicit(uint16_t port, const uint8_t target[16]);
/* dp_icmp6.c: an ICMPv6 error about orig to its source; param: the MTU
 * of a "packet too big", else 0. */
void dp_icmp6_error(struct dp_worker *w, struct rte_mbuf *orig, uint8_t type, uint8_t code,
		    uint32_t param);
/* dp_icmp.c: the ICMP error rate limit both families share (per worker). */
bool dp_icmp_allowed(struct dp_worker *w);
/* dp_arp.c */
void dp_arp_input(struct dp_worker *w, uint16_t port, struct rte_mbuf *m);
struct rte_mbuf *dp_arp_request(uint16_t port, uint32_t target);
/* dp_icmp.c: an error about orig to its source; next_mtu is the MTU a
 * "fragmentation needed" carries (RFC 1191), 0 for the other kinds. */
void dp_icmp_error(struct dp_worker *w, struct rte_mbuf *orig, uint8_t type, uint8_t code,
		   uint16_t next_mtu);
/* dp_mtu.c: m (IPv4, longer than port's MTU) as packets that fit it, in
 * out[] (m consumed): its fragments, or m itself as a GSO frame whose
 * segments fit; 0 when it was dropped (DF set: an ICMP went back). */
unsigned dp_mtu_fit(struct dp_worker *w, struct rte_mbuf *m, uint16_t port,
		    struct rte_mbuf **out, unsigned max);
/* dp_tx.c */
/* Frames a port took but the kernel refused (kernel ports only: the
 * interface is down or gone), freed and counted apart from what is sent. */
struct dp_refused {
	uint16_t pkts;
	uint64_t bytes;
};
/* Returns how many frames the port took, sent or refused (*r); the caller
 * keeps the rest (a full queue), as with rte_eth_tx_burst. */
uint16_t dp_port_tx(uint16_t port, unsigned sender, struct rte_mbuf **pkts, uint16_t n,
		    struct dp_refused *r);
void dp_tx_flush_port(struct dp_worker *w, uint16_t port);
/* dp_vhost.c: vhost-user ports' callbacks (on probe, before removal),
 * their senders spread over the tx queues in use, and sending to a
 * guest: as dp_port_tx. */
void dp_vhost_attach(uint16_t port);
void dp_vhost_detach(uint16_t port);
void dp_txq_remap(struct dp_port *p);
uint16_t dp_vhost_tx(uint16_t port, unsigned sender, struct rte_mbuf **pkts, uint16_t n);
/* dp_gro.c: b's mergeable TCP segments merged into GSO frames, in place. */
void dp_gro(struct dp_txbuf *b);
/* dp_gro6.c, for dp_gro: can m (headers' lengths set) be merged; the
 * merged frames of n candidates in place, their number returned. */
bool dp_gro6_candidate(const struct rte_mbuf *m);
uint16_t dp_gro6(struct rte_mbuf **pkts, uint16_t n);
void dp_tx_flush(struct dp_worker *w);
void dp_drop(struct dp_worker *w, struct rte_mbuf *m, enum dp_drop why);
/* Hand m to the control thread: ARP, a neighbour advertisement (m->hash.usr
 * DP_PUNT_NA), or a packet whose next hop (the index in m->hash.usr) has
 * no MAC yet. */
void dp_punt(struct dp_worker *w, struct rte_mbuf *m);
#define DP_PUNT_NA UINT32_MAX
/* dp_offload.c: what net_vhost says of a guest's frame (RX_L4_CKSUM_NONE:
 * its TCP/UDP sum is partial; RX_LRO: a TCP GSO frame of tso_segsz
 * segments) as the offload requests a TAP's frame carries (see
 * dp_vnet_to_mbuf); false: nothing sane, dropped. l4: where its checked
 * IPv4 or IPv6 header ends, proto: the protocol found there. */
bool dp_offload_from_rx(struct rte_mbuf *m, uint32_t l4, uint8_t proto);
/* dp_offload.c: when port's device does all m's offloads, makes m ready
 * for it and returns true. */
bool dp_offload_to_device(uint16_t port, struct rte_mbuf *m);
/* Does m carry offloads that port cannot take (see DP_TX_OFFLOADS)? Those
 * its device takes are made ready for it on the way. */
static inline bool dp_needs_soft_offload(uint16_t port, struct rte_mbuf *m)
{
	return unlikely(m->ol_flags & DP_TX_OFFLOADS) && !dp.ports[port].kport &&
	       !dp_offload_to_device(port, m);
}
void dp_tx_soft(struct dp_worker *w, uint16_t port, struct rte_mbuf *m);
/* Buffer a packet for port; sent when DP_BURST are waiting or at the end
 * of the worker's round (dp_tx_flush). Inline: once per packet. */
static inline void dp_tx(struct dp_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct dp_txbuf *b = &w->tx[port];

	if (dp_needs_soft_offload(port, m)) {
		dp_tx_soft(w, port, m); /* segments come back here, offloads done */
		return;
	}

	if (unlikely(b->n == DP_TXBUF)) {
		if (!w->hold_tx)
			dp_tx_flush_port(w, port);
		if (b->n == DP_TXBUF) { /* held, or waiting for a guest */
			dp_drop(w, m, DP_DROP_TX_FULL);
			return;
		}
	}
	if (!b->listed) {
		b->listed = true;
		w->pending[w->n_pending++] = port;
	}
	b->pkts[b->n++] = m;
	if (b->n >= DP_BURST && !w->hold_tx)
		dp_tx_flush_port(w, port);
}
/* m out of port to dst: MACs rewritten, buffered for transmit. */
static inline void dp_send_to(struct dp_worker *w, struct rte_mbuf *m, uint16_t port,
			      const struct rte_ether_addr *dst)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(&dp.ports[port].mac, &eth->src_addr);
	dp_tx(w, port, m);
}
/* dp_send_to(), or, dst unknown (NULL), to the control thread, which
 * resolves next hop hop's MAC and sends m once it has it. */
static inline void dp_emit(struct dp_worker *w, struct rte_mbuf *m, uint16_t port,
			   const struct rte_ether_addr *dst, uint32_t hop)
{
	if (likely(dst != NULL)) {
		dp_send_to(w, m, port, dst);
	} else {
		m->hash.usr = hop;
		dp_punt(w, m);
	}
}
/* dp_offload.c: m as ready-to-send frames in out[] (m consumed), or a
 * negative errno with m untouched. */
int dp_offload_resolve(struct rte_mbuf *m, struct rte_mbuf **out, uint16_t max);
/* dp_gso6.c: an IPv6 TCP GSO frame's segments in out[] (m consumed), 0
 * when it fits one segment, or a negative errno with m untouched. */
int dp_gso6_segment(struct rte_mbuf *m, struct rte_mbuf **out, uint16_t max);
/* dp_kport_io.c; the header conversions are exposed for unit tests. */
bool dp_vnet_to_mbuf(const struct virtio_net_hdr *h, struct rte_mbuf *m);
void dp_mbuf_to_vnet(const struct rte_mbuf *m, struct virtio_net_hdr *h);
/* Epoll event data of a kernel port's rx queue, and back. */
#define DP_KPORT_EV(port, queue) ((uint32_t)(port) | (uint32_t)(queue) << 16)
#define DP_KPORT_EV_PORT(ev) ((uint16_t)(ev))
#define DP_KPORT_EV_QUEUE(ev) ((uint16_t)((ev) >> 16))
/* Epoll event data of a worker's kickfd and rx interrupts: no port has
 * these ids. */
#define DP_KICK_EV UINT32_MAX
#define DP_INTR_EV (UINT32_MAX - 1) /* a DPDK queue's rx interrupt (edge-triggered) */
uint16_t dp_kport_rx(struct dp_worker *w, uint16_t port, uint16_t queue, struct rte_mbuf **pkts,
		     uint16_t max);
uint16_t dp_kport_tx(uint16_t port, unsigned sender, struct rte_mbuf **pkts, uint16_t n,
		     struct dp_refused *r);
/* dp_kport.c. Hands the port's fds to the closers (closed at once if there are none:
 * unit tests and fuzzers); for_good: a TAP's interface goes too, else it
 * stays for the next podlaned. */
void dp_kport_close(uint16_t port, bool for_good);
void dp_kport_close_fds(const int *fd, unsigned n);
int dp_kport_closers_start(char *err, size_t errlen);
/* Every fd handed over is closed when this returns. */
void dp_kport_closers_stop(void);
/* dp_drops.c */
#define DP_DROPS_CTL (dp.cfg.n_workers) /* the control thread's recorder ring */
int dp_drops_init(unsigned records, char *err, size_t errlen);
void dp_drops_record(unsigned writer, const struct rte_mbuf *m, enum dp_drop why);
/* dp_capture.c: pkts, received (DP_CAPTURE_IN) or about to be sent
 * (DP_CAPTURE_OUT) on port by writer (a worker, or DP_CTL_TXQ), to the
 * captures running there. Inline: a test per burst when none is. */
void dp_capture_burst(unsigned writer, uint16_t port, uint8_t dir, struct rte_mbuf *const *pkts,
		      uint16_t n);
static inline void dp_capture(unsigned writer, uint16_t port, uint8_t dir,
			      struct rte_mbuf *const *pkts, uint16_t n)
{
	if (unlikely(__atomic_load_n(&dp.ports[port].capture, __ATOMIC_RELAXED)))
		dp_capture_burst(writer, port, dir, pkts, n);
}
/* Captures on port end: it is being removed (the caller then waits for
 * the workers, before the port id is reused). */
void dp_capture_port_removed(uint16_t port);
/* dp_timer.c: a TSC value as CLOCK_REALTIME nanoseconds, from the pair
 * dp_clock_init() took. */
void dp_clock_init(void);
uint64_t dp_tsc_to_ns(uint64_t tsc);
/* dp_neigh.c */
/* An ECMP gateway (on: one more next hop has it; off: one fewer): kept
 * confirmed every second while any has it (dp_neigh_age). */
int dp_neigh_ecmp_watch(uint32_t ip, bool on);
int dp_neigh6_ecmp_watch(const uint8_t ip6[16], bool on);
/* Once a second (dp_timer): re-probe, forget and give up on neighbours. */
void dp_neigh_age(uint64_t now_tsc, uint64_t hz);
static inline uint64_t dp_neigh_mac_word(uint32_t ip)
{
	int32_t i = rte_hash_lookup(dp.neigh_hash, &ip);
	return i < 0 ? 0 : __atomic_load_n(&dp.neigh[i].mac_word, __ATOMIC_ACQUIRE);
}
/* ip6 may be a packet's (2-byte aligned): rte_jhash reads 4-byte words. */
static inline uint64_t dp_neigh6_mac_word(const uint8_t *ip6)
{
	uint32_t key[4];

	memcpy(key, ip6, sizeof(key));
	int32_t i = rte_hash_lookup(dp.neigh6_hash, key);
	return i < 0 ? 0 : __atomic_load_n(&dp.neigh6[i].mac_word, __ATOMIC_ACQUIRE);
}
static inline void dp_mac_from_word(uint64_t w, struct rte_ether_addr *mac)
{
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(w >> (8 * i));
}
/* The MAC word of an ECMP member (a gateway next hop of either family). */
static inline uint64_t dp_gw_mac_word(const struct dp_nh *g)
{
	return g->gw ? dp_neigh_mac_word(g->gw) : dp_neigh6_mac_word(g->gw6);
}

/* The gateway next hop an ECMP next hop gives a flow of this hash: its
 * own by the hash while it resolves; else, by the hash again, one of
 * those that resolve; else its own (to be resolved). *word: its MAC. */
static inline uint32_t dp_ecmp_pick(const struct dp_nh *nh, uint32_t hash, uint64_t *word)
{
	unsigned n = nh->n_members, first = hash % n, n_ok = 0;
	uint32_t ok[DP_ECMP_MAX];
	uint64_t words[DP_ECMP_MAX];

	*word = dp_gw_mac_word(&dp.nh[nh->members[first]]);
	if (likely(*word & DP_NEIGH_VALID))
		return nh->members[first];
	for (unsigned k = 1; k < n; k++) {
		uint32_t hop = nh->members[(first + k) % n];
		uint64_t w = dp_gw_mac_word(&dp.nh[hop]);
		if (w & DP_NEIGH_VALID) {
			ok[n_ok] = hop;
			words[n_ok++] = w;
		}
	}
	if (n_ok == 0)
		return nh->members[first];
	unsigned i = (hash >> 16) % n_ok;
	*word = words[i];
	return ok[i];
}

/* dp_worker.c */
int dp_worker_main(void *arg);
/* Wake w if it blocks: to stop, or to take DPDK queues it must poll. */
void dp_worker_kick(struct dp_worker *w);
/* dp_rxq_assign.c */
int dp_workers_assign(uint16_t port, uint16_t n_rxq);
int dp_workers_unassign(uint16_t port);
/* dp_route.c */
int dp_route_init(uint32_t max_routes, bool ipv6, char *err, size_t errlen);

#endif
