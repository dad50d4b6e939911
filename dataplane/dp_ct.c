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
 * (the flow id) and the hash's writer lock per new connection only. */
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

int dp_ct_init(uint32_t max_flows, char *err, size_t errlen)
{
	struct dp_nat *nat = dp.nat;
	struct rte_hash_parameters hp = {
		.name = "podlane_ct",
		.entries = CT_KEYS(max_flows),
		.key_len = sizeof(struct dp_ct_key),
		.hash_func = dp_ct_hash,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};

	RTE_BUILD_BUG_ON(sizeof(struct dp_flow) != 96); /* two cache lines at most */
	nat->max_flows = max_flows;
	nat->ct = rte_hash_create(&hp);
	nat->flows = rte_zmalloc("podlane_flows", (size_t)max_flows * sizeof(*nat->flows),
				 RTE_CACHE_LINE_SIZE);
	nat->free_ids = rte_ring_create_elem("podlane_ct_free", sizeof(uint32_t), max_flows,
					     SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_EXACT_SZ);
	for (unsigned w = 0; w < dp.cfg.n_workers; w++)
		if ((nat->flow_cache[w] = rte_zmalloc("podlane_flow_cache",
						      DP_FLOW_CACHE * sizeof(uint64_t), 0)) == NULL)
			nat->ct = NULL; /* said below */
	if (nat->ct == NULL || nat->flows == NULL || nat->free_ids == NULL) {
		snprintf(err, errlen, "cannot allocate the connection table for %u flows (max_flows; "
			 "give EAL more memory)", max_flows);
		return -1;
	}
	for (uint32_t id = 0; id < max_flows; id++)
		rte_ring_enqueue_elem(nat->free_ids, &id, sizeof(id));
	return 0;
}

void dp_ct_free(void)
{
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++)
		rte_free(dp.nat->flow_cache[w]);
	rte_hash_free(dp.nat->ct);
	rte_free(dp.nat->flows);
	rte_ring_free(dp.nat->free_ids);
}

int64_t dp_ct_create(const struct dp_ct_key *orig, const struct dp_ct_key *reply, uint32_t svc)
{
	struct dp_nat *nat = dp.nat;
	uint32_t id;

	if (rte_hash_lookup(nat->ct, reply) >= 0)
		return -EEXIST;
	if (rte_ring_mc_dequeue_elem(nat->free_ids, &id, sizeof(id)) != 0)
		return -ENOSPC;
	struct dp_flow *f = &nat->flows[id];
	memset(f, 0, sizeof(*f));
	f->key[DP_CT_ORIG] = *orig;
	f->key[DP_CT_REPLY] = *reply;
	f->svc = svc;
	f->last_seen = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);
	/* A packet of direction d carries key[d] and leaves as key[!d]
	 * reversed: the same change of its checksums every time. */
	for (unsigned d = 0; d < 2; d++) {
		const struct dp_ct_key *from = &f->key[d], *to = &f->key[!d];
		f->dsum_addr[d] = dp_csum_delta(dp_csum_w32(from->src) + dp_csum_w32(from->dst),
						dp_csum_w32(to->src) + dp_csum_w32(to->dst));
		f->dsum_port[d] = dp_csum_delta((uint32_t)from->sport + from->dport,
						(uint32_t)to->sport + to->dport);
	}
	__atomic_store_n(&f->in_use, 1, __ATOMIC_RELEASE);
	/* The reply key first: once the original is in, the flow is used. A
	 * flow whose keys could not both go in is left to the control thread
	 * (in_use 2: dead, freed at the next aging). */
	if (rte_hash_add_key_data(nat->ct, reply, (void *)(uintptr_t)(id << 1 | DP_CT_REPLY)) < 0 ||
	    rte_hash_add_key_data(nat->ct, orig, (void *)(uintptr_t)(id << 1 | DP_CT_ORIG)) < 0) {
		__atomic_store_n(&f->in_use, 2, __ATOMIC_RELEASE);
		return -ENOSPC;
	}
	return id;
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
	rte_hash_lookup_with_hash_bulk_data(nat->ct, kp, msig, nm, &fh, found);
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

	if (rte_hash_lookup_with_hash_data(dp.nat->ct, k, sig, &d) < 0)
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

/* Flows taken out of the table, given back together after one grace
 * period: their ids, and the key slots lock-free deletes keep. */
struct reclaim {
	unsigned n_ids, n_pos;
	uint32_t ids[RECLAIM_BATCH];
	int32_t pos[2 * RECLAIM_BATCH];
};

static void reclaim_finish(struct reclaim *r)
{
	struct dp_nat *nat = dp.nat;

	if (r->n_ids == 0)
		return;
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	for (unsigned i = 0; i < r->n_pos; i++)
		rte_hash_free_key_with_position(nat->ct, r->pos[i]);
	rte_ring_enqueue_bulk_elem(nat->free_ids, r->ids, sizeof(uint32_t), r->n_ids, NULL);
	r->n_ids = r->n_pos = 0;
}

/* Out of the table: each key of flow id that still names it (a key added
 * again for a newer flow stays). */
static void unlink_flow(struct reclaim *r, uint32_t id)
{
	struct dp_nat *nat = dp.nat;
	struct dp_flow *f = &nat->flows[id];

	for (unsigned d = 0; d < 2; d++) {
		void *data;
		if (rte_hash_lookup_data(nat->ct, &f->key[d], &data) < 0 ||
		    (uintptr_t)data != (id << 1 | d))
			continue;
		int32_t pos = rte_hash_del_key(nat->ct, &f->key[d]);
		if (pos >= 0)
			r->pos[r->n_pos++] = pos;
	}
	__atomic_store_n(&f->in_use, 0, __ATOMIC_RELEASE);
	r->ids[r->n_ids++] = id;
	if (r->n_ids == RECLAIM_BATCH)
		reclaim_finish(r);
}

static bool expired(const struct dp_flow *f, uint32_t now)
{
	uint8_t flags = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
	uint32_t seen = __atomic_load_n(&f->last_seen, __ATOMIC_RELAXED);

	return f->in_use == 2 ||
	       now - seen >= dp_ct_timeout(f->key[DP_CT_ORIG].proto, flags);
}

void dp_ct_age(void)
{
	struct dp_nat *nat = dp.nat;
	static struct reclaim r;
	uint32_t now = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);
	uint32_t slice = nat->max_flows / AGE_ROUNDS + 1;

	for (uint32_t i = 0; i < slice; i++) {
		uint32_t id = nat->age_next++;
		if (nat->age_next >= nat->max_flows)
			nat->age_next = 0;
		const struct dp_flow *f = &nat->flows[id];
		if (__atomic_load_n(&f->in_use, __ATOMIC_ACQUIRE) && expired(f, now))
			unlink_flow(&r, id);
	}
	reclaim_finish(&r);
}

unsigned dp_ct_remove_if(bool (*doomed)(const struct dp_flow *f, void *arg), void *arg)
{
	struct dp_nat *nat = dp.nat;
	static struct reclaim r;
	unsigned n = 0;

	for (uint32_t id = 0; id < nat->max_flows; id++) {
		const struct dp_flow *f = &nat->flows[id];
		if (__atomic_load_n(&f->in_use, __ATOMIC_ACQUIRE) && doomed(f, arg)) {
			unlink_flow(&r, id);
			n++;
		}
	}
	reclaim_finish(&r);
	return n;
}

static bool of_service(const struct dp_flow *f, void *arg)
{
	int64_t svc = *(const int64_t *)arg;
	return svc < 0 || f->svc == (uint64_t)svc + 1;
}

unsigned dp_ct_flush(int64_t svc_id)
{
	return dp_ct_remove_if(of_service, &svc_id);
}

void dp_ct_count(uint64_t *in_use, uint64_t *max)
{
	*max = dp.nat->max_flows;
	*in_use = *max - rte_ring_count(dp.nat->free_ids);
}

int dp_ct_import(const struct dp_flow_view *v)
{
	struct dp_ct_key k[2];
	uint32_t now = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);

	for (unsigned d = 0; d < 2; d++)
		k[d] = (struct dp_ct_key){.src = v->src[d], .dst = v->dst[d], .sport = v->sport[d],
					  .dport = v->dport[d], .proto = v->proto};
	int64_t id = dp_ct_create(&k[DP_CT_ORIG], &k[DP_CT_REPLY], v->svc);
	if (id < 0)
		return (int)id;
	struct dp_flow *f = &dp.nat->flows[id];
	f->flags = v->flags;
	f->last_seen = now - v->idle_s; /* seconds of this process: may wrap, as differences do */
	for (unsigned d = 0; d < 2; d++) {
		f->pkts[d] = v->pkts[d];
		f->bytes[d] = v->bytes[d];
	}
	dp_nat4_watch(f);
	__atomic_store_n(&dp.nat->active, true, __ATOMIC_RELAXED);
	return 0;
}

void dp_ct_walk(void (*cb)(const struct dp_flow_view *v, void *arg), void *arg)
{
	struct dp_nat *nat = dp.nat;
	uint32_t now = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);

	for (uint32_t id = 0; id < nat->max_flows; id++) {
		const struct dp_flow *f = &nat->flows[id];
		if (__atomic_load_n(&f->in_use, __ATOMIC_ACQUIRE) != 1)
			continue;
		uint8_t flags = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
		struct dp_flow_view v = {
			.proto = f->key[0].proto,
			.flags = flags,
			.svc = f->svc,
			.idle_s = now - __atomic_load_n(&f->last_seen, __ATOMIC_RELAXED),
			.timeout_s = dp_ct_timeout(f->key[0].proto, flags),
			.state = state_name(f->key[0].proto, flags),
		};
		for (unsigned d = 0; d < 2; d++) {
			v.src[d] = f->key[d].src;
			v.dst[d] = f->key[d].dst;
			v.sport[d] = f->key[d].sport;
			v.dport[d] = f->key[d].dport;
			v.pkts[d] = f->pkts[d];
			v.bytes[d] = f->bytes[d];
		}
		cb(&v, arg);
	}
}

void dp_nat_timer(void)
{
	struct dp_nat *nat = dp.nat;

	dp_ct_age();
	dp_svc_age();
	/* The stage runs while there is something to translate. */
	__atomic_store_n(&nat->active,
			 nat->n_svcs > 0 || rte_ring_count(nat->free_ids) < nat->max_flows,
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
