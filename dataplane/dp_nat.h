/* Connection tracking (dp_ct.c), Services (dp_svc.c) and the NAT stage
 * that uses both (dp_nat4.c). Dataplane internal, like dp_priv.h. */
#ifndef DP_NAT_H
#define DP_NAT_H

#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_ip4.h"

/* One direction of a flow, as its packets carry it. Addresses and ports
 * in network order; an ICMP echo carries its id as sport (request) or
 * dport (reply), so that a reply's key is its request's reversed. */
struct dp_ct_key {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
};

/* The connection table's hash (its hash_func): CRC32 of the two 8-byte
 * halves, inline where the NAT stage hashes keys itself. */
static inline uint32_t dp_ct_hash(const void *key, uint32_t len, uint32_t init)
{
	uint64_t w[2];

	(void)len; /* always sizeof(struct dp_ct_key) */
	memcpy(w, key, sizeof(w));
	return rte_hash_crc_8byte(w[1], rte_hash_crc_8byte(w[0], init));
}

/* CRC32 of a key of any alignment, len a multiple of 4 (rte_hash_crc
 * reads 8-byte words in place, which need 8-byte alignment): the hash of
 * the IPv6 tables' keys. */
static inline uint32_t dp_hash_words(const void *key, uint32_t len, uint32_t init)
{
	const uint8_t *p = key;
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		init = rte_hash_crc_8byte(w, init);
	}
	if (i < len) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		init = rte_hash_crc_4byte(w, init);
	}
	return init;
}

#define DP_CT_ORIG 0  /* as the client sent it */
#define DP_CT_REPLY 1 /* the answer, as it comes back (after NAT: from the backend) */

/* What a flow has seen, set by workers (atomic or, only when new): its
 * timeout follows from it (dp_ct_timeout). */
#define DP_CT_REPLIED 0x01
#define DP_CT_FIN_ORIG 0x02
#define DP_CT_FIN_REPLY 0x04
#define DP_CT_RST 0x08

/* What a flow of either family has seen and counted: workers set it
 * (atomically, or plainly while the flow is new), but in_use and proto,
 * which its creator and the control thread set. */
struct dp_ct_state {
	uint32_t last_seen; /* dp.now_s */
	uint32_t svc;       /* service id + 1; 0: none */
	uint8_t flags;
	uint8_t in_use;     /* for walkers: set once published, cleared when freed */
	uint8_t proto;      /* the keys' */
	uint8_t pad;
	/* The policy verdict (dp_policy4.c): the generation of the rule set
	 * that judged it << 1 | 1 when refused; 0: not judged. One word, so a
	 * reader never pairs one set's verdict with another's generation. */
	uint32_t pol;
	uint64_t pkts[2], bytes[2];
};

/* A tracked IPv4 connection. key[] are written once, before the flow's
 * keys are in the table; the rest by whichever worker passes a packet. A
 * packet matching key[d] leaves as key[!d] reversed: the translation is
 * in the keys themselves. */
struct dp_flow {
	struct dp_ct_key key[2];
	struct dp_ct_state st;
	/* What translating a packet of each direction adds to its checksums
	 * (one's complement, RFC 1624): its addresses, its ports. */
	uint16_t dsum_addr[2], dsum_port[2];
} __rte_aligned(32); /* 96 bytes: two cache lines each, never three (88 would span three in 3 of 8) */

/* One direction of an IPv6 flow, as dp_ct_key is of an IPv4 one. */
struct dp_ct6_key {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
};

/* A tracked IPv6 connection, as struct dp_flow (the same state after
 * the keys: dp_ct.c reads either through its table's geometry). */
struct dp_flow6 {
	struct dp_ct6_key key[2];
	struct dp_ct_state st;
	uint16_t dsum_addr[2], dsum_port[2];
};

/* A connection table: its keys' hash, its flows by id (key[0], key[1],
 * then the state, each flow stride bytes), the ids free to take. */
struct dp_ct_tbl {
	struct rte_hash *h;     /* key -> flow id << 1 | direction */
	uint8_t *flows;
	uint32_t stride, key_len;
	struct rte_ring *free_ids; /* workers take, control gives */
	uint32_t max;
	uint32_t age_next; /* where the next aging slice starts */
};

/* One's complement arithmetic on values as they lie in memory (network
 * order): a sum of 16-bit words does not depend on byte order. */
static inline uint16_t dp_csum_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The sum to add to a checksum over words summing to from, for them to
 * sum to to instead. */
static inline uint16_t dp_csum_delta(uint32_t from, uint32_t to)
{
	return dp_csum_fold((uint16_t)~dp_csum_fold(from) + (uint32_t)dp_csum_fold(to));
}

static inline uint32_t dp_csum_w32(uint32_t v)
{
	return (v & 0xffff) + (v >> 16);
}

/* A service's backend as the workers use it. An IPv6 one's ip is a
 * hash of ip6 (dp_svc_word): Maglev and affinity take 32 bits. */
struct dp_backend {
	uint32_t ip;
	uint16_t port;
	uint8_t local; /* on this node (ETP Local from off-node picks these) */
	uint8_t pad;
	uint8_t ip6[16];
};

/* A service as published to the workers: immutable, replaced whole by
 * dp_svc_set (old ones freed at dp_commit). */
struct dp_svc {
	uint32_t id;
	uint32_t gen; /* distinct for every version: affinity entries name it */
	bool v6;
	uint8_t ip6[16];
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
	uint8_t ext_local; /* externalTrafficPolicy Local */
	uint32_t affinity_s;
	uint16_t node_port;
	uint16_t n_backends, n_local;
	uint32_t m; /* Maglev table size (a prime), 0 without backends */
	struct dp_backend *backends; /* sorted by (ip, port): the table does not depend on order */
	uint16_t *table;             /* m entries: index into backends */
	uint16_t *local_table;       /* m entries over the local ones, or NULL */
	unsigned n_ext;
	uint32_t ext[DP_SVC_MAX_EXT];
	uint8_t ext6[DP_SVC_MAX_EXT][16];
};

/* Frontend table entries: what (ip, port, protocol) leads to a service. */
struct dp_svc_fe_key {
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};
/* An IPv6 service's frontend: its ClusterIP, an external IP, its
 * NodePort on the node's IPv6 address. */
struct dp_svc_fe6_key {
	uint8_t ip[16];
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};
#define DP_FE_EXTERNAL (1u << 31) /* a NodePort or external IP: externalTrafficPolicy applies */
/* The backend index: the services a backend (address, port, protocol)
 * serves, for its answers picked up after a crash (dp_svc_answered). Its
 * data: how many services << 32 | the one's id, or DP_BE_SEVERAL (then
 * they are searched). */
struct dp_svc_be_key {
	uint8_t ip[16]; /* IPv6, or IPv4 in the first 4 bytes */
	uint16_t port;
	uint8_t proto;
	uint8_t v6;
};
#define DP_BE_SEVERAL UINT32_MAX
#define DP_FLOW_CACHE 16384 /* entries per worker (128 KiB) */

/* sessionAffinity ClientIP: (service, client) -> the backend it had.
 * An IPv6 client is its dp_svc_word: clients whose words collide share
 * a backend, which affinity allows. */
struct dp_aff_key {
	uint32_t svc;
	uint32_t client;
};
struct dp_aff {
	struct dp_aff_key key;
	uint64_t backend; /* ip | port << 32 | 1 << 48 (valid); one atomic word */
	uint32_t last_seen;
	uint32_t pad;
};
#define DP_AFF_VALID (1ull << 48)

struct dp_nat {
	struct dp_ct_tbl ct4, ct6;  /* IPv4 flows; IPv6 flows (no h without IPv6) */
	struct dp_flow *flows;      /* ct4's, typed */
	struct dp_flow6 *flows6;    /* ct6's */
	uint32_t max_svcs;
	struct dp_svc **svcs;       /* by id, published with RCU */
	struct rte_hash *fe;        /* dp_svc_fe_key -> service id | DP_FE_EXTERNAL */
	struct rte_hash *fe6;       /* dp_svc_fe6_key -> service id (NULL without IPv6) */
	struct rte_hash *be;        /* dp_svc_be_key -> services (DP_BE_SEVERAL) */
	struct rte_hash *aff;       /* dp_aff_key -> position in affs[] (the key's) */
	struct dp_aff *affs;
	uint32_t aff_cap;
	uint32_t n_svcs;
	uint32_t n_node_ports; /* frontends on the node IP: the node's packets are looked at */
	uint32_t n_node_ports6; /* the same on its IPv6 address */
	uint32_t svc_gen;
	struct dp_svc *svc_deferred[64]; /* replaced, freed at dp_commit */
	unsigned n_svc_deferred;
	uint8_t *lost; /* bit per service id: lost backends since the last commit */
	struct dp_svc_wstats *svc_stats[DP_MAX_WORKERS]; /* per worker, by service id */
	/* Per worker: the flow (id << 1 | direction) a key's hash last led
	 * to, with that hash above it (a tag: a miss costs no flow read); the
	 * flow's own key confirms it before use, and an entry that leads to
	 * another flow (or a freed one) is set right from the table
	 * (dp_ct_find_one), so nothing needs to invalidate it. */
	uint64_t *flow_cache[DP_MAX_WORKERS];
	bool active; /* services or flows exist: the NAT stage runs (control thread sets) */
};

struct dp_svc_wstats {
	uint64_t flows, pkts, bytes, rejected;
};

/* dp_ct.c */
int dp_ct_init(uint32_t max_flows, char *err, size_t errlen);
void dp_ct_free(void);
/* The flow a key belongs to and which direction it is, or -1. */
static inline int64_t dp_ct_lookup(const struct dp_ct_key *k)
{
	void *data;

	if (rte_hash_lookup_data(dp.nat->ct4.h, k, &data) < 0)
		return -1;
	return (int64_t)(uintptr_t)data;
}
/* A new flow with both keys (orig, then the reply it expects): its id,
 * or -ENOSPC (table full), -EEXIST (the reply key belongs to another). */
int64_t dp_ct_create(const struct dp_ct_key *orig, const struct dp_ct_key *reply, uint32_t svc);
/* The same for IPv6 (dp_ct6.c; -ENOSPC without IPv6). */
int64_t dp_ct6_create(const struct dp_ct6_key *orig, const struct dp_ct6_key *reply, uint32_t svc);
/* A packet of a flow (its state) in direction dir, l3 bytes long, with
 * TCP flags tcp (0 for other protocols). */
static inline void dp_ct_seen(struct dp_ct_state *f, unsigned dir, uint32_t bytes, uint8_t tcp)
{
	uint32_t now = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);
	uint8_t add = (dir == DP_CT_REPLY ? DP_CT_REPLIED : 0);

	if (tcp & RTE_TCP_FIN_FLAG)
		add |= dir == DP_CT_ORIG ? DP_CT_FIN_ORIG : DP_CT_FIN_REPLY;
	if (tcp & RTE_TCP_RST_FLAG)
		add |= DP_CT_RST;
	if (unlikely((f->flags & add) != add))
		__atomic_fetch_or(&f->flags, add, __ATOMIC_RELAXED);
	if (f->last_seen != now)
		__atomic_store_n(&f->last_seen, now, __ATOMIC_RELAXED);
	/* One writer per direction in practice (a flow's packets come in on
	 * one queue): plain adds, a count may be lost to a rare race. */
	f->pkts[dir]++;
	f->bytes[dir] += bytes;
}
/* The flows of nk keys (with their hashes) into data[] (id << 1 |
 * direction), a bit each in the result where found: the worker's cache
 * first, one bulk lookup of the table for the rest; the flows found are
 * prefetched. The caller confirms each with the flow's own key. */
uint64_t dp_ct_find(struct dp_worker *w, const struct dp_ct_key *keys, const hash_sig_t *sig,
		    uint16_t nk, void **data);
/* The flow of one key the batch did not confirm (the worker's cache led
 * to another, or nowhere): looked up in the table, the cache set right;
 * *data as dp_ct_find's. */
struct dp_flow *dp_ct_find_one(struct dp_worker *w, const struct dp_ct_key *k, hash_sig_t sig,
			       uint32_t *data);
/* The key of a flow's other direction, untranslated. */
static inline struct dp_ct_key dp_ct_key_reversed(const struct dp_ct_key *k)
{
	return (struct dp_ct_key){.src = k->dst, .dst = k->src, .sport = k->dport,
				  .dport = k->sport, .proto = k->proto};
}
/* In the pickup window after a crash (dp_ct_pickup)? */
static inline bool dp_ct_picking_up(void)
{
	return unlikely(__atomic_load_n(&dp.now_s, __ATOMIC_RELAXED) < dp.pickup_until);
}
/* A packet no flow knows that may be a backend's answer to pick up: TCP
 * other than a bare SYN (a connection the backend opens), or UDP. */
static inline bool dp_ct_may_answer(uint8_t proto, uint8_t tcp_flags)
{
	return proto == IPPROTO_UDP ||
	       (proto == IPPROTO_TCP &&
		(tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != RTE_TCP_SYN_FLAG);
}
/* Seconds a flow with these flags and protocol lives without a packet. */
uint32_t dp_ct_timeout(uint8_t proto, uint8_t flags);
/* Control thread: expire idle flows (a slice of the table per call, the
 * whole of it every few seconds), and flows matching a filter. */
void dp_ct_age(void);
/* Deletes the flows of either family doomed() names (reply: the flow's
 * reply key, a struct dp_ct6_key when v6, else a struct dp_ct_key);
 * returns how many. */
unsigned dp_ct_remove_if(bool (*doomed)(struct dp_ct_state *st, const void *reply, bool v6,
					void *arg),
			 void *arg);
/* dp_ct.c's table geometry, for dp_ct6.c: a new flow's id in t (-ENOSPC:
 * none free, -EEXIST: reply is another's key), then, once the caller has
 * written its keys and sums, the flow published (its id, or -ENOSPC). */
int64_t dp_ct_take(struct dp_ct_tbl *t, const void *reply);
int64_t dp_ct_publish(struct dp_ct_tbl *t, uint32_t id);

/* Once a second from dp_timer(): aging, and whether the stage runs. */
void dp_nat_timer(void);
/* Everything dp_init_tables() made for the NAT, freed (tests). */
void dp_nat_fini(void);

/* dp_svc.c */
int dp_svc_init(uint32_t max_svcs, char *err, size_t errlen);
void dp_svc_free(void);
/* Maglev (Eisenbud et al., NSDI 2016): table[m] of backend indexes
 * filled from each backend's permutation of the slots; m prime. */
void dp_maglev_fill(const struct dp_backend *b, const uint16_t *idx, unsigned n, uint32_t m,
		    uint16_t *table);
uint32_t dp_maglev_size(unsigned n_backends);
/* The backend a new flow of svc gets (NULL: none to give), by the hash
 * of its key; client: its address (dp_svc_word of an IPv6 one). external:
 * the client came from off the node to a NodePort or external IP. */
const struct dp_backend *dp_svc_pick(const struct dp_svc *s, uint32_t client, uint32_t hash,
				     bool external);
/* 32 bits that stand for an IPv6 address where Maglev and affinity take
 * an IPv4 one. */
static inline uint32_t dp_svc_word(const uint8_t ip6[16])
{
	return dp_hash_words(ip6, 16, 0x6b43a9b5);
}
/* A backend's answer a that no flow knows, in the pickup window: the
 * service (a ClusterIP) that gives the connection a answers to that
 * backend (Maglev's pick for it now: the one before a crash while the
 * backends are the same), with that connection's key as the client sent
 * it in *orig; NULL if none does. */
const struct dp_svc *dp_svc_answered(const struct dp_ct_key *a, struct dp_ct_key *orig);
const struct dp_svc *dp_svc_answered6(const struct dp_ct6_key *a, struct dp_ct6_key *orig);
/* The IPv6 service whose frontend (ip, port, proto) is, or NULL;
 * *external: it is a NodePort or an external IP. */
const struct dp_svc *dp_svc_find6(const uint8_t ip[16], uint16_t port, uint8_t proto,
				  bool *external);
void dp_svc_age(void);
/* dp_commit(), after the grace period: replaced versions freed, UDP flows
 * to backends their service lost forgotten. */
void dp_svc_commit(void);

/* Where a packet's L4 fields are, as the NAT reads and writes them
 * (headers may lie at any alignment: byte pointers, dp_get16/dp_put16). */
struct dp_l4 {
	uint8_t *sport, *dport; /* ICMP echo: the id, in one of them */
	uint8_t *csum;          /* NULL: none (UDP without a checksum) */
	bool pseudo;            /* the checksum covers the pseudo-header */
	uint8_t tcp_flags;
};

static inline uint16_t dp_get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void dp_put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The L4 fields of a packet (false: none the NAT can use) and its key.
 * The key of an ICMP echo has its id as sport (request) or dport (reply);
 * a truncated header, another ICMP message or another protocol has none.
 * Inline: every packet the NAT and policy stages look at passes here. */
static inline bool dp_l4_parse(struct rte_ipv4_hdr *ip, uint8_t *p, uint32_t avail,
			       struct dp_l4 *l, struct dp_ct_key *k)
{
	memset(l, 0, sizeof(*l));
	switch (ip->next_proto_id) {
	case IPPROTO_TCP:
		if (avail < offsetof(struct rte_tcp_hdr, rx_win))
			return false;
		l->sport = p + offsetof(struct rte_tcp_hdr, src_port);
		l->dport = p + offsetof(struct rte_tcp_hdr, dst_port);
		l->tcp_flags = p[offsetof(struct rte_tcp_hdr, tcp_flags)];
		/* A quote may end before the checksum. */
		if (avail >= offsetof(struct rte_tcp_hdr, tcp_urp))
			l->csum = p + offsetof(struct rte_tcp_hdr, cksum);
		l->pseudo = true;
		break;
	case IPPROTO_UDP:
		if (avail < sizeof(struct rte_udp_hdr))
			return false;
		l->sport = p + offsetof(struct rte_udp_hdr, src_port);
		l->dport = p + offsetof(struct rte_udp_hdr, dst_port);
		if (dp_get16(p + offsetof(struct rte_udp_hdr, dgram_cksum)) != 0)
			l->csum = p + offsetof(struct rte_udp_hdr, dgram_cksum);
		l->pseudo = true;
		break;
	case IPPROTO_ICMP:
		if (avail < sizeof(struct rte_icmp_hdr))
			return false;
		if (p[0] == RTE_IP_ICMP_ECHO_REQUEST)
			l->sport = p + offsetof(struct rte_icmp_hdr, icmp_ident);
		else if (p[0] == RTE_IP_ICMP_ECHO_REPLY)
			l->dport = p + offsetof(struct rte_icmp_hdr, icmp_ident);
		else
			return false;
		l->csum = p + offsetof(struct rte_icmp_hdr, icmp_cksum);
		break;
	default:
		return false;
	}
	/* The key goes out as the two 8-byte words dp_ct_hash reads back at
	 * once: written field by field, each read waited for the stores to
	 * retire (a failed store forward, about a tenth of the stage's time). */
	uint64_t w[2] = {(uint64_t)ip->dst_addr << 32 | ip->src_addr,
			 (uint64_t)ip->next_proto_id << 32 |
				 (uint64_t)(l->dport ? dp_get16(l->dport) : 0) << 16 |
				 (l->sport ? dp_get16(l->sport) : 0)};
	RTE_BUILD_BUG_ON(RTE_BYTE_ORDER != RTE_LITTLE_ENDIAN || sizeof(*k) != sizeof(w) || offsetof(struct dp_ct_key, dst) != 4 ||
			 offsetof(struct dp_ct_key, dport) != 10 || offsetof(struct dp_ct_key, proto) != 12);
	memcpy(k, w, sizeof(w));
	return true;
}

/* The live flow a table entry's data names, or NULL (freed, or made
 * half when the table was full). */
static inline struct dp_flow *dp_ct_live(int64_t data)
{
	struct dp_flow *f = &dp.nat->flows[data >> 1];
	return __atomic_load_n(&f->st.in_use, __ATOMIC_ACQUIRE) == 1 ? f : NULL;
}

/* dp_ct6.c: the flow of an IPv6 key (data as dp_ct_find's), or NULL. */
struct dp_flow6 *dp_ct6_find_one(const struct dp_ct6_key *k, uint32_t *data);
static inline struct dp_flow6 *dp_ct6_live(uint32_t data)
{
	struct dp_flow6 *f = &dp.nat->flows6[data >> 1];
	return __atomic_load_n(&f->st.in_use, __ATOMIC_ACQUIRE) == 1 ? f : NULL;
}

/* dp_nat6.c: the IPv6 stage (dp_rx.c), and its dp_nat4_watch. */
void dp_nat6(struct dp_worker *w, uint16_t port, struct dp_pkts6 *v);
void dp_nat6_watch(const struct dp_flow6 *f);
/* dp_nat6_hdr.c, as dp_nat4_hdr.c's: an ICMPv6 error about a translated
 * connection, translated (true); the quote (len bytes) of an error
 * podlaned sends, put back as its sender sent it, the sender's address
 * in sender (false: no such flow, nothing changed). */
struct rte_ipv6_hdr;
bool dp_nat6_icmp_error(struct rte_mbuf *m, struct rte_ipv6_hdr *ip);
bool dp_nat6_unquote(struct rte_ipv6_hdr *q, uint32_t len, uint8_t sender[16]);

/* SNAT source ports: above Linux's default ip_local_port_range
 * (32768-60999), which the node's own connections use. Ports tried for a
 * new SNATed connection: a failed try costs a lookup, and a flood of
 * connections SNAT cannot place must not stall a worker. */
#define DP_SNAT_PORT_MIN 61000
#define DP_SNAT_TRIES 8
/* The port (network order) try t of a connection of this seed takes. */
static inline uint16_t dp_snat_port(uint32_t seed, unsigned t)
{
	return rte_cpu_to_be_16((uint16_t)(DP_SNAT_PORT_MIN +
					   (seed + t * 7919u) % (65536 - DP_SNAT_PORT_MIN)));
}

/* Whether the NAT stage looks at a packet with next hop nh (see the top
 * of dp_nat4.c): every, its port's ct_reply_from; local, the node has
 * NodePorts or translated connections of its own. */
static inline bool dp_nat_watched(const struct dp_nh *nh, bool every, bool local)
{
	return every ||
	       (nh != NULL && (nh->kind == DP_NH_SERVICE ||
			       (nh->kind == DP_NH_PORT && dp.ports[nh->port].ct_reply_to) ||
			       (nh->kind == DP_NH_LOCAL && local)));
}

/* A packet a service refuses (no endpoint for it; svc_id UINT32_MAX: no
 * such service), counted against the service and dropped. */
static inline void dp_svc_refused(struct dp_worker *w, struct rte_mbuf *m, uint32_t svc_id)
{
	if (svc_id != UINT32_MAX)
		dp.nat->svc_stats[w->id][svc_id].rejected++;
	dp_drop(w, m, DP_DROP_NO_BACKEND);
}

/* A port's ct_reply_to or ct_reply_from set (they stay while it lives). */
static inline void dp_nat_flag(uint8_t *f)
{
	if (!__atomic_load_n(f, __ATOMIC_RELAXED))
		__atomic_store_n(f, 1, __ATOMIC_RELAXED);
}

/* dp_nat4.c: the stage (dp_rx.c). */
void dp_nat4(struct dp_worker *w, uint16_t port, struct dp_pkts *v);
/* A translated flow's replies looked at from now on: the port they come
 * from or go to is flagged (the flags stay while the port lives). */
void dp_nat4_watch(const struct dp_flow *f);

/* dp_policy.c: the rule set as workers read it (dp.pol). */
struct rte_acl_ctx;
struct dp_pol {
	uint32_t gen; /* distinct for every set published: 1 .. 2^31 - 1 */
	struct rte_acl_ctx *acl[2]; /* [dir]: (pod, peer, protocol, port) -> rule id + 1 */
	unsigned n_isolated[2];
	uint32_t *isolated[2]; /* [dir]: ascending, network order */
	struct rte_acl_ctx *acl6[2]; /* the same for IPv6 */
	unsigned n_isolated6[2];
	uint8_t (*isolated6[2])[16]; /* [dir]: ascending (memcmp) */
};
/* The verdict on a connection: the client pod's egress (client as it
 * sent), the server pod's ingress (seen: the client as the server sees
 * it, after SNAT); the server's port. v: who said what, or NULL. */
bool dp_policy_allows(const struct dp_pol *p, uint32_t client, uint32_t seen, uint32_t server,
		      uint8_t proto, uint16_t dport, struct dp_pol_verdict *v);
bool dp_policy_allows6(const struct dp_pol *p, const uint8_t client[16], const uint8_t seen[16],
		       const uint8_t server[16], uint8_t proto, uint16_t dport,
		       struct dp_pol_verdict *v);
/* Ports' pol_iso as the rule set in force says (after a peer changes). */
void dp_policy_ports(void);
void dp_policy_fini(void); /* with dp_nat_fini */
/* Connections a verdict's rules allowed, counted per rule. */
static inline void dp_policy_count(struct dp_worker *w, const struct dp_pol_verdict *v)
{
	for (unsigned d = 0; d < 2; d++)
		if (v->rule[d] >= 0)
			dp.pol_flows[w->id][v->rule[d]]++;
}
/* m refused: dropped, counted on the port of the pod whose policy refused
 * (hop: the route to it, the client in egress, else the server). */
static inline void dp_policy_refused(struct dp_worker *w, struct rte_mbuf *m, uint32_t hop)
{
	if (hop != DP_HOP_NONE && dp.nh[hop].kind == DP_NH_PORT)
		w->stats.pol_denied[dp.nh[hop].port]++;
	dp_drop(w, m, DP_DROP_POLICY);
}
/* Whose policy refused: the egress side when it is isolated and no rule
 * of it allowed the connection, else the ingress side. */
static inline bool dp_policy_egress_refused(const struct dp_pol_verdict *v)
{
	return v->isolated[DP_POL_EGRESS] && v->rule[DP_POL_EGRESS] < 0;
}
/* Every packet from or to an isolated pod (hop: its next hop), whichever
 * its direction: the connections the pod opens must be tracked too, or
 * the answers to them would be judged as connections to it. */
static inline bool dp_policy_looks_at(uint32_t hop, bool from_isolated)
{
	if (from_isolated)
		return true;
	if (hop == DP_HOP_NONE)
		return false;
	const struct dp_nh *nh = &dp.nh[hop];
	return nh->kind == DP_NH_PORT && __atomic_load_n(&dp.ports[nh->port].pol_iso, __ATOMIC_RELAXED);
}
/* dp_policy4.c, dp_policy6.c: the stages (dp_rx.c). */
void dp_policy4(struct dp_worker *w, uint16_t port, struct dp_pkts *v);
void dp_policy6(struct dp_worker *w, uint16_t port, struct dp_pkts6 *v);
/* dp_nat4_hdr.c: how the NAT rewrites headers where a flow's precomputed
 * sums do not serve: ICMP errors about a translated connection,
 * translated (true); and the quote of an error
 * podlaned sends about a packet it translated, put back as its sender
 * sent it (a client matches the error to its socket by the quote), with
 * the sender's address returned (0: no such flow). */
bool dp_nat4_icmp_error(struct rte_mbuf *m, struct rte_ipv4_hdr *ip);
/* An ICMP error whose quote belongs to a tracked connection (policy lets
 * it through as part of that connection). */
bool dp_ct_icmp_related(struct rte_mbuf *m, struct rte_ipv4_hdr *ip);
bool dp_ct6_icmp_related(const struct rte_mbuf *m, const struct rte_ipv6_hdr *ip);
uint32_t dp_nat4_unquote(struct rte_ipv4_hdr *quoted, uint32_t len);

#endif
