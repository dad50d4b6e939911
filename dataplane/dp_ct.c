/* Connection tracking: one flow table that every worker shares, since a
 * reply may come in on another worker than its request (a pod port is
 * polled by one worker, the uplink's queues are spread by RSS). rte_hash
 * with lock-free readers and concurrent adders: workers create flows; the
 * control thread alone ages, flushes and deletes them, and gives a flow's
 * id and key slots back only after every worker has passed a quiescent
 * state, so a worker never sees a flow change under it. Each flow has two
 * keys, its original and its reply direction, whose data is the flow id
 * and the direction. Per-worker tables would need a reply to find its way
 * to the worker of its request; one shared table costs an atomic dequeue
 * (the flow id) and the hash's writer lock per new connection only.
 * IPv6 flows have a table of their own (dp_ct6.c), so IPv4's keys stay
 * 16 bytes: one geometry (keys, then struct dp_ct_state) lets this file
 * age, flush and walk both. */
#include <rte_malloc.h>

#include "dp_nat.h"

/* Cuckoo inserts start failing before the table is full: keys get a
 * quarter more room than two per flow. */
#define CT_KEYS(flows) ((flows) * 2 + (flows) / 2)
/* The table is aged in slices, all of it every AGE_ROUNDS calls (s). */
#define AGE_ROUNDS 8
/* Flows unlinked before their ids and key slots are given back at once
 * (after one RCU grace period). */
#define RECLAIM_BATCH 4096

/* Timeouts in seconds, after the kernel's nf_conntrack defaults. */
#define TO_TCP_SYN_SENT 120
#define TO_TCP_ESTABLISHED 432000
#define TO_TCP_CLOSING 120 /* a FIN seen: FIN_WAIT / CLOSE_WAIT / TIME_WAIT */
#define TO_TCP_CLOSE 10    /* after an RST */
#define TO_UDP 30
#define TO_UDP_REPLIED 120
#define TO_ICMP 30
#define TO_OTHER 600

/* A table of max flows (stride bytes each, keys of key_len); -1 when
 * some of it could not be had (dp_ct_free frees what was). */
static int tbl_init(struct dp_ct_tbl *t, const char *name, uint32_t max, uint32_t key_len,
		    uint32_t stride, rte_hash_function hash)
{
	char n[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = n,
		.entries = CT_KEYS(max),
		.key_len = key_len,
		.hash_func = hash,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};

	*t = (struct dp_ct_tbl){.max = max, .key_len = key_len, .stride = stride};
	snprintf(n, sizeof(n), "%s", name);
	t->h = rte_hash_create(&hp);
	snprintf(n, sizeof(n), "%s_flows", name);
	t->flows = rte_zmalloc(n, (size_t)max * stride, RTE_CACHE_LINE_SIZE);
	snprintf(n, sizeof(n), "%s_free", name);
	t->free_ids = rte_ring_create_elem(n, sizeof(uint32_t), max, SOCKET_ID_ANY,
					   RING_F_SP_ENQ | RING_F_EXACT_SZ);
	if (t->h == NULL || t->flows == NULL || t->free_ids == NULL)
		return -1;
	for (uint32_t id = 0; id < max; id++)
		rte_ring_enqueue_elem(t->free_ids, &id, sizeof(id));
	return 0;
}

static void tbl_free(struct dp_ct_tbl *t)
{
	rte_hash_free(t->h);
	rte_free(t->flows);
	rte_ring_free(t->free_ids);
	*t = (struct dp_ct_tbl){0};
}

static inline const void *tbl_key(const struct dp_ct_tbl *t, uint32_t id, unsigned d)
{
	return t->flows + (size_t)id * t->stride + d * t->key_len;
}

static inline struct dp_ct_state *tbl_state(const struct dp_ct_tbl *t, uint32_t id)
{
	return (struct dp_ct_state *)(t->flows + (size_t)id * t->stride + 2 * t->key_len);
}

int dp_ct_init(uint32_t max_flows, char *err, size_t errlen)
{
	struct dp_nat *nat = dp.nat;
	int rc;

	/* Both families' flows: keys, then the state (tbl_state). */
	RTE_BUILD_BUG_ON(sizeof(struct dp_flow) != 96); /* two cache lines at most */
	RTE_BUILD_BUG_ON(offsetof(struct dp_flow, st) != 2 * sizeof(struct dp_ct_key));
	RTE_BUILD_BUG_ON(offsetof(struct dp_flow6, st) != 2 * sizeof(struct dp_ct6_key));
	rc = tbl_init(&nat->ct4, "podlane_ct", max_flows, sizeof(struct dp_ct_key),
		      sizeof(struct dp_flow), dp_ct_hash);
	nat->flows = (struct dp_flow *)nat->ct4.flows;
	for (unsigned w = 0; w < dp.cfg.n_workers; w++)
		if ((nat->flow_cache[w] = rte_zmalloc("podlane_flow_cache",
						      DP_FLOW_CACHE * sizeof(uint64_t), 0)) == NULL)
			rc = -1;
	if (rc == 0 && dp.cfg.ipv6) {
		rc = tbl_init(&nat->ct6, "podlane_ct6", max_flows, sizeof(struct dp_ct6_key),
			      sizeof(struct dp_flow6), dp_hash_words);
		nat->flows6 = (struct dp_flow6 *)nat->ct6.flows;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot allocate the connection table%s for %u flows "
			 "(max_flows; give EAL more memory)", dp.cfg.ipv6 ? "s" : "", max_flows);
		return -1;
	}
	return 0;
}

void dp_ct_free(void)
{
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++)
		rte_free(dp.nat->flow_cache[w]);
	tbl_free(&dp.nat->ct4);
	tbl_free(&dp.nat->ct6);
	dp.nat->flows = NULL;
	dp.nat->flows6 = NULL;
}

int64_t dp_ct_take(struct dp_ct_tbl *t, const void *reply)
{
	uint32_t id;

	if (t->h == NULL)
		return -ENOSPC;
	if (rte_hash_lookup(t->h, reply) >= 0)
		return -EEXIST;
	if (rte_ring_mc_dequeue_elem(t->free_ids, &id, sizeof(id)) != 0)
		return -ENOSPC;
	memset(t->flows + (size_t)id * t->stride, 0, t->stride);
	return id;
}

int64_t dp_ct_publish(struct dp_ct_tbl *t, uint32_t id)
{
	struct dp_ct_state *st = tbl_state(t, id);

	st->last_seen = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);
	__atomic_store_n(&st->in_use, 1, __ATOMIC_RELEASE);
	/* The reply key first: once the original is in, the flow is used. A
	 * flow whose keys could not both go in is left to the control thread
	 * (in_use 2: dead, freed at the next aging). */
	if (rte_hash_add_key_data(t->h, tbl_key(t, id, DP_CT_REPLY),
				  (void *)(uintptr_t)(id << 1 | DP_CT_REPLY)) < 0 ||
	    rte_hash_add_key_data(t->h, tbl_key(t, id, DP_CT_ORIG),
				  (void *)(uintptr_t)(id << 1 | DP_CT_ORIG)) < 0) {
		__atomic_store_n(&st->in_use, 2, __ATOMIC_RELEASE);
		return -ENOSPC;
	}
	return id;
}

int64_t dp_ct_create(const struct dp_ct_key *orig, const struct dp_ct_key *reply, uint32_t svc)
{
	int64_t id = dp_ct_take(&dp.nat->ct4, reply);

	if (id < 0)
		return id;
	struct dp_flow *f = &dp.nat->flows[id];
	f->key[DP_CT_ORIG] = *orig;
	f->key[DP_CT_REPLY] = *reply;
	f->st.svc = svc;
	f->st.proto = orig->proto;
	/* A packet of direction d carries key[d] and leaves as key[!d]
	 * reversed: the same change of its checksums every time. */
	for (unsigned d = 0; d < 2; d++) {
		const struct dp_ct_key *from = &f->key[d], *to = &f->key[!d];
		f->dsum_addr[d] = dp_csum_delta(dp_csum_w32(from->src) + dp_csum_w32(from->dst),
						dp_csum_w32(to->src) + dp_csum_w32(to->dst));
		f->dsum_port[d] = dp_csum_delta((uint32_t)from->sport + from->dport,
						(uint32_t)to->sport + to->dport);
	}
	return dp_ct_publish(&dp.nat->ct4, (uint32_t)id);
}

/* Both lines of a flow: translating reads its keys and sums and writes
 * its counters, at the other end. */
static inline void flow_prefetch(const struct dp_flow *f)
{
	rte_prefetch0(f);
	rte_prefetch0((const char *)f + RTE_CACHE_LINE_SIZE);
}

/* The worker's cache: an entry is the key's hash and the flow (the caller
 * confirms with the flow's own key). */
uint64_t dp_ct_find(struct dp_worker *w, const struct dp_ct_key *keys, const hash_sig_t *sig,
		    uint16_t nk, void **data)
{
	struct dp_nat *nat = dp.nat;
	uint64_t *cache = nat->flow_cache[w->id], hits = 0, fh = 0;
	const void *kp[DP_BURST];
	hash_sig_t msig[DP_BURST];
	uint16_t miss[DP_BURST], nm = 0;
	void *found[DP_BURST];

	for (uint16_t j = 0; j < nk; j++) {
		uint64_t e = cache[sig[j] % DP_FLOW_CACHE];
		if ((uint32_t)(e >> 32) == sig[j]) {
			data[j] = (void *)(uintptr_t)(uint32_t)e;
			hits |= 1ull << j;
			flow_prefetch(&nat->flows[(uint32_t)e >> 1]);
		} else {
			kp[nm] = &keys[j];
			msig[nm] = sig[j];
			miss[nm++] = j;
		}
	}
	if (nm == 0)
		return hits;
	rte_hash_lookup_with_hash_bulk_data(nat->ct4.h, kp, msig, nm, &fh, found);
	for (uint16_t x = 0; x < nm; x++) {
		if (!(fh >> x & 1))
			continue;
		uint32_t d = (uint32_t)(uintptr_t)found[x];
		data[miss[x]] = found[x];
		hits |= 1ull << miss[x];
		cache[msig[x] % DP_FLOW_CACHE] = (uint64_t)msig[x] << 32 | d;
		flow_prefetch(&nat->flows[d >> 1]);
	}
	return hits;
}

struct dp_flow *dp_ct_find_one(struct dp_worker *w, const struct dp_ct_key *k, hash_sig_t sig,
			       uint32_t *data)
{
	void *d;

	if (rte_hash_lookup_with_hash_data(dp.nat->ct4.h, k, sig, &d) < 0)
		return NULL;
	*data = (uint32_t)(uintptr_t)d;
	struct dp_flow *f = dp_ct_live(*data);
	/* The cache led elsewhere (a flow forgotten, its id given to
	 * another): it leads here from now on. */
	if (f != NULL)
		dp.nat->flow_cache[w->id][sig % DP_FLOW_CACHE] = (uint64_t)sig << 32 | *data;
	return f;
}

uint32_t dp_ct_timeout(uint8_t proto, uint8_t flags)
{
	switch (proto) {
	case IPPROTO_TCP:
		if (flags & DP_CT_RST)
			return TO_TCP_CLOSE;
		if (flags & (DP_CT_FIN_ORIG | DP_CT_FIN_REPLY))
			return TO_TCP_CLOSING;
		return flags & DP_CT_REPLIED ? TO_TCP_ESTABLISHED : TO_TCP_SYN_SENT;
	case IPPROTO_UDP:
		return flags & DP_CT_REPLIED ? TO_UDP_REPLIED : TO_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return TO_ICMP;
	default:
		return TO_OTHER;
	}
}

static const char *state_name(uint8_t proto, uint8_t flags)
{
	if (proto != IPPROTO_TCP)
		return flags & DP_CT_REPLIED ? "replied" : "unreplied";
	if (flags & DP_CT_RST)
		return "close";
	if ((flags & (DP_CT_FIN_ORIG | DP_CT_FIN_REPLY)) == (DP_CT_FIN_ORIG | DP_CT_FIN_REPLY))
		return "time_wait";
	if (flags & (DP_CT_FIN_ORIG | DP_CT_FIN_REPLY))
		return "fin_wait";
	return flags & DP_CT_REPLIED ? "established" : "syn_sent";
}

/* Flows taken out of a table, given back together after one grace
 * period: their ids, and the key slots lock-free deletes keep. */
struct reclaim {
	struct dp_ct_tbl *t;
	unsigned n_ids, n_pos;
	uint32_t ids[RECLAIM_BATCH];
	int32_t pos[2 * RECLAIM_BATCH];
};

static void reclaim_finish(struct reclaim *r)
{
	if (r->n_ids == 0)
		return;
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	for (unsigned i = 0; i < r->n_pos; i++)
		rte_hash_free_key_with_position(r->t->h, r->pos[i]);
	rte_ring_enqueue_bulk_elem(r->t->free_ids, r->ids, sizeof(uint32_t), r->n_ids, NULL);
	r->n_ids = r->n_pos = 0;
}

/* Out of the table: each key of flow id that still names it (a key added
 * again for a newer flow stays). */
static void unlink_flow(struct reclaim *r, uint32_t id)
{
	struct dp_ct_tbl *t = r->t;

	for (unsigned d = 0; d < 2; d++) {
		void *data;
		if (rte_hash_lookup_data(t->h, tbl_key(t, id, d), &data) < 0 ||
		    (uintptr_t)data != (id << 1 | d))
			continue;
		int32_t pos = rte_hash_del_key(t->h, tbl_key(t, id, d));
		if (pos >= 0)
			r->pos[r->n_pos++] = pos;
	}
	__atomic_store_n(&tbl_state(t, id)->in_use, 0, __ATOMIC_RELEASE);
	r->ids[r->n_ids++] = id;
	if (r->n_ids == RECLAIM_BATCH)
		reclaim_finish(r);
}

static bool expired(const struct dp_ct_state *st, uint32_t now)
{
	uint8_t flags = __atomic_load_n(&st->flags, __ATOMIC_RELAXED);
	uint32_t seen = __atomic_load_n(&st->last_seen, __ATOMIC_RELAXED);

	return st->in_use == 2 || now - seen >= dp_ct_timeout(st->proto, flags);
}

static void age(struct dp_ct_tbl *t)
{
	static struct reclaim r;
	uint32_t now = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);
	uint32_t slice = t->max / AGE_ROUNDS + 1;

	r.t = t;
	for (uint32_t i = 0; i < slice; i++) {
		uint32_t id = t->age_next++;
		if (t->age_next >= t->max)
			t->age_next = 0;
		const struct dp_ct_state *st = tbl_state(t, id);
		if (__atomic_load_n(&st->in_use, __ATOMIC_ACQUIRE) && expired(st, now))
			unlink_flow(&r, id);
	}
	reclaim_finish(&r);
}

void dp_ct_age(void)
{
	age(&dp.nat->ct4);
	if (dp.nat->ct6.h != NULL)
		age(&dp.nat->ct6);
}

unsigned dp_ct_remove_if(bool (*doomed)(struct dp_ct_state *st, const void *reply, bool v6,
					void *arg),
			 void *arg)
{
	static struct reclaim r;
	struct dp_ct_tbl *tbls[2] = {&dp.nat->ct4, &dp.nat->ct6};
	unsigned n = 0;

	for (unsigned v6 = 0; v6 < 2; v6++) {
		struct dp_ct_tbl *t = tbls[v6];
		r.t = t;
		for (uint32_t id = 0; t->h != NULL && id < t->max; id++) {
			struct dp_ct_state *st = tbl_state(t, id);
			if (__atomic_load_n(&st->in_use, __ATOMIC_ACQUIRE) &&
			    doomed(st, tbl_key(t, id, DP_CT_REPLY), v6, arg)) {
				unlink_flow(&r, id);
				n++;
			}
		}
		reclaim_finish(&r);
	}
	return n;
}

static bool of_service(struct dp_ct_state *st, const void *reply, bool v6, void *arg)
{
	int64_t svc = *(const int64_t *)arg;

	(void)reply;
	(void)v6;
	return svc < 0 || st->svc == (uint64_t)svc + 1;
}

unsigned dp_ct_flush(int64_t svc_id)
{
	return dp_ct_remove_if(of_service, &svc_id);
}

void dp_ct_pickup(uint32_t seconds)
{
	dp.pickup_until = dp.now_s + seconds;
}

void dp_ct_count(uint64_t *in_use, uint64_t *max)
{
	const struct dp_ct_tbl *t[2] = {&dp.nat->ct4, &dp.nat->ct6};

	*in_use = *max = 0;
	for (unsigned i = 0; i < 2; i++)
		if (t[i]->h != NULL) {
			*max += t[i]->max;
			*in_use += t[i]->max - rte_ring_count(t[i]->free_ids);
		}
}

int dp_ct_import(const struct dp_flow_view *v)
{
	struct dp_nat *nat = dp.nat;
	int64_t id;
	struct dp_ct_state *st;

	if (v->v6) {
		struct dp_ct6_key k[2];
		for (unsigned d = 0; d < 2; d++) {
			k[d] = (struct dp_ct6_key){.sport = v->sport[d], .dport = v->dport[d],
						   .proto = v->proto};
			memcpy(k[d].src, v->src6[d], 16);
			memcpy(k[d].dst, v->dst6[d], 16);
		}
		id = dp_ct6_create(&k[DP_CT_ORIG], &k[DP_CT_REPLY], v->svc);
		if (id < 0)
			return (int)id;
		st = &nat->flows6[id].st;
		dp_nat6_watch(&nat->flows6[id]);
	} else {
		struct dp_ct_key k[2];
		for (unsigned d = 0; d < 2; d++)
			k[d] = (struct dp_ct_key){.src = v->src[d], .dst = v->dst[d],
						  .sport = v->sport[d], .dport = v->dport[d],
						  .proto = v->proto};
		id = dp_ct_create(&k[DP_CT_ORIG], &k[DP_CT_REPLY], v->svc);
		if (id < 0)
			return (int)id;
		st = &nat->flows[id].st;
		dp_nat4_watch(&nat->flows[id]);
	}
	st->flags = v->flags;
	/* Seconds of this process: may wrap, as differences do. */
	st->last_seen = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED) - v->idle_s;
	for (unsigned d = 0; d < 2; d++) {
		st->pkts[d] = v->pkts[d];
		st->bytes[d] = v->bytes[d];
	}
	__atomic_store_n(&nat->active, true, __ATOMIC_RELAXED);
	return 0;
}

void dp_ct_walk(void (*cb)(const struct dp_flow_view *v, void *arg), void *arg)
{
	const struct dp_ct_tbl *tbls[2] = {&dp.nat->ct4, &dp.nat->ct6};
	uint32_t now = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);

	for (unsigned v6 = 0; v6 < 2; v6++) {
		const struct dp_ct_tbl *t = tbls[v6];
		for (uint32_t id = 0; t->h != NULL && id < t->max; id++) {
			const struct dp_ct_state *st = tbl_state(t, id);
			if (__atomic_load_n(&st->in_use, __ATOMIC_ACQUIRE) != 1)
				continue;
			uint8_t flags = __atomic_load_n(&st->flags, __ATOMIC_RELAXED);
			struct dp_flow_view v = {
				.v6 = v6,
				.proto = st->proto,
				.flags = flags,
				.svc = st->svc,
				.idle_s = now - __atomic_load_n(&st->last_seen, __ATOMIC_RELAXED),
				.timeout_s = dp_ct_timeout(st->proto, flags),
				.state = state_name(st->proto, flags),
			};
			for (unsigned d = 0; d < 2; d++) {
				if (v6) {
					const struct dp_ct6_key *k = tbl_key(t, id, d);
					memcpy(v.src6[d], k->src, 16);
					memcpy(v.dst6[d], k->dst, 16);
					v.sport[d] = k->sport;
					v.dport[d] = k->dport;
				} else {
					const struct dp_ct_key *k = tbl_key(t, id, d);
					v.src[d] = k->src;
					v.dst[d] = k->dst;
					v.sport[d] = k->sport;
					v.dport[d] = k->dport;
				}
				v.pkts[d] = st->pkts[d];
				v.bytes[d] = st->bytes[d];
			}
			cb(&v, arg);
		}
	}
}

void dp_nat_timer(void)
{
	struct dp_nat *nat = dp.nat;

	dp_ct_age();
	dp_svc_age();
	/* The stage runs while there is something to translate. */
	__atomic_store_n(&nat->active,
			 nat->n_svcs > 0 || rte_ring_count(nat->ct4.free_ids) < nat->ct4.max ||
				 (nat->ct6.h != NULL && rte_ring_count(nat->ct6.free_ids) < nat->ct6.max),
			 __ATOMIC_RELAXED);
}

void dp_nat_fini(void)
{
	if (dp.nat == NULL)
		return;
	dp_policy_fini();
	dp_svc_free();
	dp_ct_free();
	rte_free(dp.nat);
	dp.nat = NULL;
}
