/* The dataplane's whole interface to the control side. Every function here
 * that changes something is called from the control thread only (single
 * writer); the readers marked "any thread" are also called by the metrics
 * and telemetry threads. Workers never block on any of it. Addresses are
 * IPv4 in network byte order (uint32_t) or IPv6 (16 bytes, as on the wire). */
#ifndef DP_H
#define DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_log.h>

#define DP_MAX_WORKERS 8
#define DP_MAX_ROUTES (1u << 20)
/* Port ids: DPDK ethdevs keep their ethdev id (below RTE_MAX_ETHPORTS, 32
 * in Debian's build); kernel ports (dp_kport.c: TAPs, a packet-socket
 * uplink) take the ids above, so TAP pods are not capped by it. */
#define DP_MAX_PORTS 256
/* gso_max_size to give a kernel port's interface: a GSO frame the kernel
 * hands over then fits one receive buffer (mbuf lengths are 16 bits). */
#define DP_KPORT_GSO_MAX 65000
/* The largest MTU a TAP can have: a frame of it fits one receive buffer. */
#define DP_KPORT_MTU_MAX (DP_KPORT_GSO_MAX - RTE_ETHER_HDR_LEN)

struct dp_config {
	unsigned n_workers;
	int worker_nice; /* the workers' scheduling priority (nice) */
	uint32_t node_ip;
	uint8_t node_plen;
	bool ipv6; /* pods have IPv6 addresses: IPv6 route tables, pods' IPv6 routed */
	bool ipv6_only; /* no IPv4 (node_ip 0): IPv4 and ARP dropped as no_ipv4 */
	bool has_node6; /* the node's IPv6 address: IPv6 routed on the uplink too (NDP) */
	uint8_t node_ip6[16];
	/* The node's IPv6 pod prefix (dp_config.ipv6): /128 routes in the
	 * 64 Ki addresses it starts with (the pods' pool) are found by index. */
	uint8_t pod6[16];
	uint32_t max_routes;
	uint32_t max_flows;    /* tracked connections (Service NAT) */
	uint32_t max_services; /* service ids 0 .. max_services - 1 */
	unsigned drop_records; /* dropped packets kept (dp_drops_read); 0: none */
};

enum dp_port_kind { DP_PORT_UPLINK, DP_PORT_HOST, DP_PORT_POD };

enum dp_nh_kind {
	DP_NH_DROP,      /* blackhole */
	DP_NH_LOCAL,     /* the node itself: punt to the host exception port */
	DP_NH_PORT,      /* a pod (or any peer) behind one port, MAC known */
	DP_NH_GATEWAY,   /* next-hop IP on the uplink, MAC resolved by ARP */
	DP_NH_CONNECTED, /* on-link subnet of the uplink: resolve the destination */
	DP_NH_UNREACHABLE, /* as no route: ICMP net unreachable to the sender */
	DP_NH_SERVICE,   /* a Service's IP: the NAT stage picks a backend (dp_nat4.c) */
	DP_NH_ECMP,      /* several gateways on the uplink: a flow's hash picks one */
};
/* ECMP: a route's gateways, at most this many. Each flow (addresses,
 * protocol, ports) keeps its gateway while that one resolves; a gateway
 * whose ARP (NDP) entry fails leaves the set (its flows spread over the
 * others) until it answers again. Members are re-confirmed every second,
 * so a dead one leaves within about 4 s. */
#define DP_ECMP_MAX 8

struct dp_nh_spec {
	enum dp_nh_kind kind;
	uint16_t port;            /* DP_NH_PORT */
	struct rte_ether_addr mac; /* DP_NH_PORT: the peer's MAC */
	uint32_t gw;              /* DP_NH_GATEWAY */
	uint8_t gw6[16];          /* DP_NH_GATEWAY of an IPv6 route (dp_route6_add) */
	uint8_t n_gw;             /* DP_NH_ECMP: gws[0 .. n_gw - 1], 2 or more, ascending */
	uint32_t gws[DP_ECMP_MAX];
	uint8_t gws6[DP_ECMP_MAX][16]; /* DP_NH_ECMP of an IPv6 route: these instead */
};

enum dp_drop {
	DP_DROP_NOT_IPV4,
	DP_DROP_BAD_IP_HEADER,
	DP_DROP_BAD_CHECKSUM,
	DP_DROP_TTL_EXCEEDED,
	DP_DROP_NO_ROUTE,
	DP_DROP_BLACKHOLE,
	DP_DROP_NOT_FOR_US,
	DP_DROP_ARP_INVALID,
	DP_DROP_ARP_QUEUE_FULL,
	DP_DROP_ARP_FAILED,
	DP_DROP_TX_FULL,
	DP_DROP_SLOWPATH_FULL,
	DP_DROP_NO_MBUF,
	DP_DROP_SPOOFED, /* a pod sent from an address that is not its own */
	DP_DROP_TX_ERROR, /* the kernel refused the frame: interface down or gone */
	DP_DROP_MTU_EXCEEDED, /* longer than the output port's MTU, DF set (ICMP sent) */
	DP_DROP_CONNTRACK_FULL, /* a new Service connection found no room (max_flows) */
	DP_DROP_NO_BACKEND, /* to a Service without (local) endpoints: rejected as kube-proxy does */
	DP_DROP_NAT_FRAGMENT, /* a later fragment to a Service IP: no ports to pick a backend by */
	DP_DROP_POLICY, /* a NetworkPolicy of the pod sending or receiving it allows it not */
	DP_DROP_NDP_INVALID, /* a pod's neighbour discovery message RFC 4861 refuses */
	DP_DROP_NO_IPV4, /* IPv4 or ARP on an IPv6-only node */
	DP_DROP_MAX
};
extern const char *const dp_drop_names[DP_DROP_MAX];

struct dp_port_stats {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
	uint64_t hw_rx_missed, hw_rx_errors, hw_tx_errors;
	uint64_t policy_denied; /* its pod's policies refused these packets */
};

struct dp_stats {
	struct dp_port_stats port[DP_MAX_PORTS];
	uint64_t drops[DP_DROP_MAX];
	uint64_t icmp_sent, icmp_ratelimited, arp_replies, arp_requests;
	uint64_t ipv4_pkts;   /* IPv4 packets routed (or refused on the way) */
	uint64_t ipv6_pkts;   /* IPv6 packets routed (or refused on the way) */
	uint64_t ndp_replies; /* neighbour advertisements for pods' gateway */
	uint64_t ndp_requests; /* neighbour solicitations sent to resolve next hops */
	uint64_t fragmented; /* packets cut into fragments to fit an output port's MTU */
	uint64_t tx_waited;  /* frames that waited for a guest's full rx ring (vhost-user) */
	uint64_t flows_created, flows_in_use, flows_max;
	uint32_t mbufs_in_use, mbufs_total; /* buffers out of the pool (rx rings, in flight) */
	unsigned n_workers;
	uint64_t worker_busy_us[DP_MAX_WORKERS]; /* since start, rounds that moved packets */
	double worker_load[DP_MAX_WORKERS];       /* busy share of the last second, 0..1 */
};

struct dp_port_info {
	enum dp_port_kind kind;
	char name[64];
	struct rte_ether_addr mac;      /* the PMD's own MAC */
	struct rte_ether_addr peer_mac; /* kernel side of a TAP */
	uint32_t peer_ip;
	unsigned worker;                /* worker polling its first rx queue */
	uint16_t mtu;                   /* the longest IP packet it sends */
	bool link_up;
};

/* Initialise EAL (argv as for rte_eal_init), memory, route table, RCU. */
int dp_init(int argc, char **argv, const struct dp_config *c, char *err, size_t errlen);
/* For tests and fuzzers of either side: everything of dp_init() after
 * rte_eal_init (the caller ran it), no ports, no workers. */
int dp_init_tables(const struct dp_config *c, char *err, size_t errlen);
int dp_start_workers(void);
/* The workers stopped (what they punted handled), ports and tables as they
 * are: what a stopping podlaned saves is final then. dp_stop() does it
 * too. */
void dp_stop_workers(void);
void dp_stop(void);

/* Ports: probe a vdev/PCI device (in the caller's current netns), then
 * start it with one tx queue per worker plus the control thread's, and
 * MTU mtu (0: the device's own; frames longer than a buffer are
 * scattered over several when the device can). */
int dp_port_probe(const char *devargs, uint16_t *port_id, char *err, size_t errlen);
/* The first device EAL probed at start (a PCI uplink, from the
 * allowlist): 0, or -ENODEV when there is none. */
int dp_port_probed(uint16_t *port_id);
/* 0, or -errno with err; -EBUSY: its queues could not be set up or
 * started (a device another process let go of may still be busy). */
int dp_port_start(uint16_t port_id, enum dp_port_kind kind, uint16_t mtu, char *err,
		  size_t errlen);
void dp_port_set_peer(uint16_t port_id, uint32_t ip, const struct rte_ether_addr *mac);
/* A pod port's IPv6 address: the only source its IPv6 packets may have. */
void dp_port_set_peer6(uint16_t port_id, const uint8_t ip6[16]);
/* The longest IP packet the port sends (its interface's MTU): longer ones
 * are fragmented, or dropped with an ICMP "fragmentation needed" when DF
 * is set. Ports start with their device's MTU (a TAP: 1500). */
void dp_port_set_mtu(uint16_t port_id, uint16_t mtu);
int dp_port_remove(uint16_t port_id);
/* Kernel ports (dp_kport.c: our own fd, virtio-net headers, TSO). A TAP
 * creates interface ifname in the netns the calling thread is in or, with
 * attach, takes over the TAP of that name a podlaned before left there
 * (TAPs persist until dp_port_remove(): a stopped or crashed podlaned
 * leaves them with all their settings); fd: one already attached to it
 * (the fd keeper's copy; taken, closed on failure), or -1. mac is our
 * side's. A packet socket serves an existing interface as the uplink and
 * gives its MAC; given: the sockets a podlaned before left on it (all
 * taken, whatever its number of workers; more made for one per worker). dp_kport_fds: a kernel port's fds
 * (one per queue; for the fd keeper), their number. */
int dp_tap_create(const char *ifname, bool attach, int fd, enum dp_port_kind kind,
		  const char *name, const struct rte_ether_addr *mac, uint16_t *port_id, char *err,
		  size_t errlen);
unsigned dp_kport_fds(uint16_t port_id, int *fds, unsigned max);
/* Where a TAP port's interface is now: its name and, unless netns_fd is
 * NULL, an fd of its netns (the caller closes it), whatever became of the
 * name it was given and the netns path it was made in. 0, or -EBADFD once
 * the interface was deleted. */
int dp_tap_where(uint16_t port_id, char name[16 /* IFNAMSIZ */], int *netns_fd);
int dp_packet_create(const char *ifname, const char *name, const int *given, unsigned n_given,
		     uint16_t *port_id, struct rte_ether_addr *mac, char *err, size_t errlen);
/* The packet socket uplink's interface was re-created (same name, new
 * index): serve the new one with fresh sockets, in place, so the port,
 * its routes and neighbours stay; mac gets the interface's MAC, which
 * becomes the port's. */
int dp_packet_rebind(const char *ifname, struct rte_ether_addr *mac, char *err, size_t errlen);
/* Frames the kernel dropped at a kernel port before podlaned read them
 * (its rx_missed, as a NIC's imissed): a packet socket's are read from
 * the kernel here (control thread); a TAP's are the interface's
 * tx_dropped, which only the TAP's netns can tell: the control thread
 * reads it there and sets it. */
void dp_kport_read_missed(void);
void dp_kport_set_missed(uint16_t port_id, uint64_t n);
/* Tell the node network that the node IP is at the uplink's MAC: an
 * unsolicited ARP reply, broadcast (after the MAC changed). */
void dp_arp_announce(void);
/* A neighbour's address: IPv4 (ip, network order) or IPv6 (v6: ip6). */
struct dp_neigh_addr {
	bool v6;
	uint32_t ip;
	uint8_t ip6[16];
};
/* The uplink's resolved neighbours, ARP's and NDP's (control thread),
 * each given to cb. */
void dp_neigh_walk(void (*cb)(const struct dp_neigh_addr *a, const struct rte_ether_addr *mac,
			      void *arg),
		   void *arg);
/* A neighbour a podlaned before resolved: used at once and asked again at
 * the next dp_timer() (as the kernel's STALE), so a MAC that changed
 * meanwhile is corrected within a second. 0, or -ENOSPC (or -EAFNOSUPPORT:
 * IPv6 on a node without an IPv6 address). */
int dp_neigh_import(const struct dp_neigh_addr *a, const struct rte_ether_addr *mac);
int dp_port_by_name(const char *name, uint16_t *port_id);
int dp_port_info(uint16_t port_id, struct dp_port_info *out); /* any thread */
uint16_t dp_uplink_port(void);
uint16_t dp_host_port(void);

/* Memory of the two route tables for N routes of room, in MiB: 32 MiB of
 * first-level entries and 4 MiB of tbl8 groups each, and each route two
 * RIB nodes of about 200 bytes (mempool objects) in each (dp_route.c). */
#define DP_ROUTE_MIB(n) (72u + (unsigned)(((uint64_t)(n) * 800) >> 20))
/* ... and of the two IPv6 tables (made when dp_config.ipv6): 32 MiB of
 * first-level entries, 16 MiB of 8-bit levels (DP_ROUTE6_TBL8 groups of
 * 256 2-byte entries) and 16384 routes of room each. rte_fib6's trie takes
 * groups for every 8-bit level a route spans, its own ones (measured on
 * 22.11: 5 for a /64, 13 for a /128), so the groups, not the room, bound
 * what fits: a node's 254 pods' /128s and about 5800 /64s of other nodes.
 * The most a 2-byte entry can index. */
#define DP_ROUTE6_TBL8 ((1u << 15) - 1)
#define DP_ROUTE6_MIB 100u

/* Routes. Changes are visible to workers at once, each (but the first
 * after a dp_commit) after a grace period; after dp_route_batch() they are
 * made together and visible at dp_commit(), for one grace period: what a
 * caller making many (route.replace_all, a kernel table) wants. Next hops
 * freed by a delete are reclaimed at dp_commit(), after all workers have
 * passed a quiescent state, so no worker ever uses a stale next hop. */
int dp_route_add(uint32_t prefix, uint8_t plen, const struct dp_nh_spec *nh);
int dp_route_del(uint32_t prefix, uint8_t plen);
/* IPv6 routes, the same way (dp_config.ipv6 only, else -EAFNOSUPPORT):
 * to a port's next hop (DP_NH_PORT), the node (DP_NH_LOCAL), a blackhole,
 * unreachable, a Service IP (DP_NH_SERVICE), a gateway on the uplink (gw6, resolved by NDP) or the
 * uplink's on-link prefix (DP_NH_CONNECTED), the last two only with
 * dp_config.has_node6; other kinds -EAFNOSUPPORT. */
int dp_route6_add(const uint8_t prefix[16], uint8_t plen, const struct dp_nh_spec *nh);
int dp_route6_del(const uint8_t prefix[16], uint8_t plen);
void dp_route_batch(void);
void dp_commit(void);

/* What the workers do with a packet to dst: the next hop its route gives,
 * the output port and the destination MAC if known (next_ip is the
 * address ARP resolves for gateway and connected next hops). */
struct dp_trace {
	enum dp_nh_kind kind;
	uint16_t port;
	uint32_t next_ip;
	uint8_t next_ip6[16]; /* dp_route6_trace's next hop on the uplink */
	bool mac_known;
	struct rte_ether_addr mac;
	/* DP_NH_ECMP: every gateway (next_ip is the one the flow takes; kind
	 * says DP_NH_GATEWAY then) and whether it resolves. */
	unsigned n_members;
	struct {
		uint32_t ip;
		uint8_t ip6[16]; /* dp_route6_trace's */
		bool mac_known;
	} members[DP_ECMP_MAX];
};
/* Any thread: the gateways of ECMP routes, each with whether it resolves
 * (is in its sets); how many, at most max. */
struct dp_gw_state {
	uint32_t ip; /* 0: an IPv6 gateway, ip6 */
	uint8_t ip6[16];
	bool resolved;
};
unsigned dp_ecmp_gateways(struct dp_gw_state *out, unsigned max);
/* The flow's addresses, protocol and ports (network order; 0 when not
 * known) pick an ECMP route's gateway as a worker would. */
struct dp_flow_tuple {
	uint32_t src;
	uint8_t proto;
	uint16_t sport, dport;
};
int dp_route_trace(uint32_t dst, const struct dp_flow_tuple *f, struct dp_trace *t); /* -ENOENT */
/* The same for an IPv6 destination (next_ip6), from src (NULL: unknown). */
int dp_route6_trace(const uint8_t dst[16], const uint8_t *src, const struct dp_flow_tuple *f,
		    struct dp_trace *t); /* -ENOENT */

/* Any thread: sums the workers' counters, each read relaxed. */
void dp_stats_read(struct dp_stats *out);

/* The drop recorder (dp_drops.c): the last drop_records dropped packets. */
#define DP_DROP_SNAP 128 /* bytes kept of each, from its Ethernet header */
struct dp_drop_info {
	uint64_t time_ns; /* CLOCK_REALTIME */
	enum dp_drop why;
	uint16_t port;    /* it came in on (DP_MAX_PORTS and above: unknown) */
	uint32_t len;     /* its whole length */
	uint16_t caplen;  /* bytes in data */
	uint8_t data[DP_DROP_SNAP];
};
/* Control thread: the drops recorded, oldest first, at most max. */
unsigned dp_drops_read(struct dp_drop_info *out, unsigned max);

/* Packet capture (dp_capture.c): up to DP_MAX_CAPTURES at once, each on
 * one port, of the frames it receives and/or sends, through a pcap
 * filter. Costs a workers' burst one test of a per-port byte while none
 * runs on its port. */
#define DP_MAX_CAPTURES 8
#define DP_CAPTURE_SNAP_MAX 262144 /* tcpdump's default: whole frames */
enum { DP_CAPTURE_IN = 1, DP_CAPTURE_OUT = 2 };
struct dp_capture_spec {
	uint16_t port;
	uint8_t dirs;        /* DP_CAPTURE_IN | DP_CAPTURE_OUT */
	uint32_t snaplen;    /* 1 .. DP_CAPTURE_SNAP_MAX */
	const char *filter;  /* pcap filter expression; NULL or "": every frame */
};
/* Control thread: the new capture's id (0 .. DP_MAX_CAPTURES - 1), or -1
 * with err: the filter's error as libpcap words it, or no slot or memory. */
int dp_capture_start(const struct dp_capture_spec *s, char *err, size_t errlen);
/* Control thread: ends it; its packets not yet read are freed. */
void dp_capture_stop(int id);
struct dp_captured {
	uint64_t time_ns;    /* CLOCK_REALTIME */
	uint32_t len;        /* the frame's whole length */
	uint32_t caplen;     /* bytes in data */
	uint8_t dir;         /* DP_CAPTURE_IN or DP_CAPTURE_OUT */
	const uint8_t *data; /* valid during the call only */
};
/* Control thread: hands fn up to max captured frames, oldest first;
 * returns how many. */
unsigned dp_capture_read(int id, unsigned max, void (*fn)(void *ctx, const struct dp_captured *),
			 void *ctx);
/* Control thread: frames that matched but were lost (the capture's queue
 * or its buffers were full: the reader is behind). */
uint64_t dp_capture_lost(int id);
/* Control thread: false once its port is gone (the frames queued before
 * can still be read). */
bool dp_capture_alive(int id);
unsigned dp_capture_count(void); /* captures running */

/* Services (dp_svc.c): {ip, port, protocol} and its frontends on external
 * IPs and the node IP's NodePort -> backends, balanced by Maglev over
 * connections the workers track (dp_ct.c). Published whole, so workers see
 * the old version or the new one; the old is freed at dp_commit(). */
#define DP_SVC_MAX_EXT 16
#define DP_SVC_MAX_BACKENDS 1024
struct dp_backend_spec {
	uint32_t ip;
	uint8_t ip6[16]; /* an IPv6 service's, in place of ip */
	uint16_t port;   /* network byte order, as every port here */
	bool local;      /* on this node */
};
/* An IPv6 service (v6) has ip6 in place of ip, IPv6 backends and
 * external IPs (ext6), and its NodePort on the node's IPv6 address
 * (dp_config.has_node6, else -EINVAL). */
struct dp_svc_spec {
	bool v6;
	uint8_t ip6[16];
	uint32_t ip;
	uint16_t port;
	uint8_t proto;      /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t node_port; /* 0: none */
	bool ext_local;     /* externalTrafficPolicy Local */
	uint32_t affinity_s; /* sessionAffinity ClientIP timeout; 0: none */
	unsigned n_ext;
	uint32_t ext[DP_SVC_MAX_EXT]; /* external and load-balancer IPs */
	uint8_t ext6[DP_SVC_MAX_EXT][16]; /* an IPv6 service's, in place of ext */
	unsigned n_backends;
	const struct dp_backend_spec *backends;
};
/* Service id (below max_services) becomes s: 0, -EEXIST when one of its
 * frontends is another id's, -ENOMEM. */
int dp_svc_set(uint32_t id, const struct dp_svc_spec *s);
void dp_svc_del(uint32_t id);
struct dp_svc_stats {
	uint64_t flows, pkts, bytes; /* connections made, packets and bytes to it */
	uint64_t rejected;           /* refused for want of endpoints */
};
void dp_svc_stats_read(uint32_t id, struct dp_svc_stats *out); /* any thread */
/* The backend a connection (network order) would get: its tracked flow's,
 * else a new pick. 0 with *svc_id, *bip and *bport set; -ENOENT: not a
 * service; -ENODATA: a service without a backend for it. */
int dp_svc_trace(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t proto,
		 bool external, uint32_t *svc_id, uint32_t *bip, uint16_t *bport);
/* The same for an IPv6 service. */
int dp_svc_trace6(const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport,
		  uint8_t proto, bool external, uint32_t *svc_id, uint8_t bip[16], uint16_t *bport);

/* NetworkPolicy (dp_policy.c). A pod isolated in a direction takes there
 * only connections some rule of that direction allows; ingress rules are
 * the server pod's (peer: the client as the pod sees it), egress rules the
 * client pod's (peer: the server, after Service DNAT); both name the
 * server's port. A connection is judged on its first packet and again on
 * its next packet after any change of the rules, and the verdict is kept
 * in its tracked flow, so its replies pass. The node's own address is
 * always allowed, both ways (kubelet probes). */
enum dp_pol_dir { DP_POL_INGRESS, DP_POL_EGRESS };
#define DP_POL_MAX_IDS (1u << 17) /* rule ids: 0 .. DP_POL_MAX_IDS - 1 */
struct dp_pol_rule {
	uint32_t pod;      /* the selected pod's address, network order */
	uint32_t peer;     /* the peers' prefix, network order */
	uint8_t peer_len;
	uint8_t proto;     /* 0: any protocol, any port */
	uint16_t port_lo, port_hi; /* the server's port, host order */
	uint32_t id;       /* the caller's name for it (< DP_POL_MAX_IDS): counted, traced */
};
/* The same for IPv6 (pods' IPv6 addresses, IPv6 peers). */
struct dp_pol_rule6 {
	uint8_t pod[16];
	uint8_t peer[16];
	uint8_t peer_len;
	uint8_t proto;
	uint16_t port_lo, port_hi;
	uint32_t id;
};
struct dp_pol_spec {
	unsigned n_isolated[2];
	const uint32_t *isolated[2]; /* [dir]: pods isolated in it (network order) */
	unsigned n_rules[2];
	const struct dp_pol_rule *rules[2];
	unsigned n_isolated6[2];
	const uint8_t (*isolated6[2])[16]; /* [dir]: pods' IPv6 addresses isolated in it */
	unsigned n_rules6[2];
	const struct dp_pol_rule6 *rules6[2];
};
/* The whole rule set replaced: compiled here, published, the old one freed
 * once no worker reads it. -ENOMEM or -EINVAL, with err. */
int dp_policy_set(const struct dp_pol_spec *s, char *err, size_t errlen);
struct dp_pol_verdict {
	bool allowed;
	bool isolated[2]; /* [dir]: the pod on that side is isolated in it */
	int64_t rule[2];  /* [dir]: the rule id that allowed it there, -1: none */
};
/* The verdict on a connection from client to server:dport (network order,
 * after Service DNAT) under the rules in force. */
void dp_policy_trace(uint32_t client, uint32_t server, uint8_t proto, uint16_t dport,
		     struct dp_pol_verdict *v);
void dp_policy_trace6(const uint8_t client[16], const uint8_t server[16], uint8_t proto,
		      uint16_t dport, struct dp_pol_verdict *v);
/* After a crash, which lost the tracked connections: for the next
 * seconds, answers of the connections opened before it are picked up and
 * tracked from then on. A TCP packet without SYN that no flow knows and
 * the rules refuse passes when the rules allow the connection it would
 * answer (its reverse); a backend's answer to a client of a Service is
 * translated back when the Service would give that client's connection
 * to that backend (dp_nat4.c). Others stay refused or untranslated.
 * Before the workers start. */
void dp_ct_pickup(uint32_t seconds);
/* Connections rule id allowed, since start (any thread). */
uint64_t dp_policy_rule_flows(uint32_t id);

/* Tracked connections (dp_ct.c), for listing: each in-use flow. */
struct dp_flow_view {
	bool v6;            /* IPv6: its addresses in src6, dst6 */
	uint8_t proto;
	uint8_t flags;      /* what it has seen (replies, FINs, RST): its timeout follows */
	uint32_t src[2], dst[2];    /* [0] as the client sent it, [1] the reply */
	uint8_t src6[2][16], dst6[2][16];
	uint16_t sport[2], dport[2];
	uint64_t pkts[2], bytes[2];
	uint32_t svc;       /* service id + 1, 0: none */
	uint32_t idle_s, timeout_s;
	const char *state;
};
void dp_ct_walk(void (*cb)(const struct dp_flow_view *f, void *arg), void *arg);
/* A connection a podlaned before tracked (dp_ct_walk's view of it), tracked
 * again as it was: keys, service, state, idle time, counters; the NAT stage
 * watches its replies; policy judges it again at its next packet. Before
 * the workers start. 0, -ENOSPC (max_flows), -EEXIST (its keys are taken). */
int dp_ct_import(const struct dp_flow_view *v);
/* Forget tracked connections: all (svc_id < 0) or a service's. */
unsigned dp_ct_flush(int64_t svc_id);
void dp_ct_count(uint64_t *in_use, uint64_t *max);

/* Control-thread slow path: ARP learning and resolution. The fd becomes
 * readable when workers hand packets over; call dp_slowpath_run() then,
 * and dp_timer() about once a second. */
int dp_slowpath_fd(void);
void dp_slowpath_run(void);
void dp_timer(void);

/* Logging (dp_log.c): type "podlane"; level names error, warning,
 * notice, info, debug. dp_log_init takes the configured level and sends
 * every DPDK log line to stderr (journald-aware). */
extern int dp_logtype;
int dp_log_level_parse(const char *name);
int dp_log_init(const char *level);
void dp_log(uint32_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Messages that packets can trigger pass at most DP_LOG_BURST times per
 * DP_LOG_INTERVAL_S from one call site (one thread); the rest are
 * counted and reported with the first message of a later window. */
#define DP_LOG_BURST 10
#define DP_LOG_INTERVAL_S 5
struct dp_log_limit {
	uint64_t window_start;
	unsigned n, suppressed;
};
bool dp_log_ratelimit(struct dp_log_limit *rl);
#define DP_LOG_LIMITED(level, ...)                                                                 \
	do {                                                                                       \
		static struct dp_log_limit limit_;                                                 \
		if (dp_log_ratelimit(&limit_))                                                     \
			dp_log(RTE_LOG_##level, __VA_ARGS__);                                      \
	} while (0)

#endif
