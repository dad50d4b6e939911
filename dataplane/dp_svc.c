/* Services: which (ip, port, protocol) lead to which backends, and the
 * backend a new connection gets. The control thread publishes a service
 * whole (its sorted backends and Maglev tables in one allocation) and
 * frees the version it replaced at dp_commit(), after the workers have
 * passed a quiescent state; workers read without locks. */
#include <rte_hash_crc.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "dp_nat.h"

/* Maglev table sizes: primes. Each backend gets floor(M/N) or ceil(M/N)
 * slots whatever M, so M only bounds the imbalance (a slot's share) and
 * how few connections move when the backend set changes; it changes only
 * past 256 backends, as a change of M moves most of them. */
#define MAGLEV_M 4093
#define MAGLEV_M_BIG 65521
#define MAGLEV_BIG_FROM 257

int dp_svc_init(uint32_t max_svcs, char *err, size_t errlen)
{
	struct dp_nat *nat = dp.nat;
	struct rte_hash_parameters fe = {
		.name = "podlane_svc_fe",
		/* A ClusterIP, a NodePort and a few external IPs each. */
		.entries = RTE_MAX(max_svcs * 4, 1024u),
		.key_len = sizeof(struct dp_svc_fe_key),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_hash_parameters aff = {
		.name = "podlane_svc_aff",
		.entries = RTE_MAX(nat->ct4.max / 2, 1024u),
		.key_len = sizeof(struct dp_aff_key),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};
	struct rte_hash_rcu_config rc = {.v = dp.qsbr, .mode = RTE_HASH_QSBR_MODE_DQ};
	struct rte_hash_parameters be = {
		.name = "podlane_svc_be",
		/* 8 backends a service on average; beyond, answers of the
		 * backends left out are not picked up after a crash. */
		.entries = RTE_MAX(max_svcs * 8, 4096u),
		.key_len = sizeof(struct dp_svc_be_key),
		.hash_func = dp_hash_words,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};

	nat->max_svcs = max_svcs;
	nat->fe = rte_hash_create(&fe);
	nat->be = rte_hash_create(&be);
	if (dp.cfg.ipv6) {
		fe.name = "podlane_svc_fe6";
		fe.key_len = sizeof(struct dp_svc_fe6_key);
		fe.hash_func = dp_hash_words;
		if ((nat->fe6 = rte_hash_create(&fe)) == NULL ||
		    rte_hash_rcu_qsbr_add(nat->fe6, &rc) != 0)
			goto nomem;
	}
	nat->aff = rte_hash_create(&aff);
	nat->svcs = rte_zmalloc("podlane_svcs", max_svcs * sizeof(*nat->svcs), 0);
	nat->lost = rte_zmalloc("podlane_svcs_lost", (max_svcs + 7) / 8, 0);
	if (nat->fe == NULL || nat->be == NULL || nat->aff == NULL || nat->svcs == NULL ||
	    nat->lost == NULL || rte_hash_rcu_qsbr_add(nat->fe, &rc) != 0 ||
	    rte_hash_rcu_qsbr_add(nat->be, &rc) != 0)
		goto nomem;
	/* Affinity entries live beside their keys' slots. */
	nat->aff_cap = (uint32_t)rte_hash_max_key_id(nat->aff) + 1;
	nat->affs = rte_zmalloc("podlane_affs", nat->aff_cap * sizeof(*nat->affs), 0);
	if (nat->affs == NULL)
		goto nomem;
	for (unsigned w = 0; w < dp.cfg.n_workers; w++)
		if ((nat->svc_stats[w] = rte_zmalloc("podlane_svc_stats",
						     max_svcs * sizeof(struct dp_svc_wstats),
						     RTE_CACHE_LINE_SIZE)) == NULL)
			goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "cannot allocate the service tables for %u services "
		 "(max_services; give EAL more memory)", max_svcs);
	return -1;
}

void dp_svc_free(void)
{
	struct dp_nat *nat = dp.nat;

	for (uint32_t i = 0; nat->svcs != NULL && i < nat->max_svcs; i++)
		rte_free(nat->svcs[i]);
	for (unsigned i = 0; i < nat->n_svc_deferred; i++)
		rte_free(nat->svc_deferred[i]);
	rte_hash_free(nat->fe);
	rte_hash_free(nat->be);
	nat->be = NULL;
	rte_hash_free(nat->fe6);
	nat->fe6 = NULL;
	rte_hash_free(nat->aff);
	rte_free(nat->svcs);
	rte_free(nat->lost);
	rte_free(nat->affs);
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++)
		rte_free(nat->svc_stats[w]);
}

uint32_t dp_maglev_size(unsigned n_backends)
{
	return n_backends < MAGLEV_BIG_FROM ? MAGLEV_M : MAGLEV_M_BIG;
}

void dp_maglev_fill(const struct dp_backend *b, const uint16_t *idx, unsigned n, uint32_t m,
		    uint16_t *table)
{
	uint32_t offset[DP_SVC_MAX_BACKENDS], skip[DP_SVC_MAX_BACKENDS], next[DP_SVC_MAX_BACKENDS];
	uint32_t filled = 0;

	for (uint32_t s = 0; s < m; s++)
		table[s] = UINT16_MAX;
	/* Each backend's permutation of the slots, from its identity alone:
	 * the same backends give the same table on any node, in any order. */
	for (unsigned i = 0; i < n; i++) {
		const struct dp_backend *x = &b[idx[i]];
		offset[i] = rte_jhash_2words(x->ip, x->port, 0x9e3779b9) % m;
		skip[i] = rte_jhash_2words(x->ip, x->port, 0x85ebca6b) % (m - 1) + 1;
		next[i] = 0;
	}
	while (n > 0) {
		for (unsigned i = 0; i < n; i++) {
			uint32_t c;
			do {
				c = (uint32_t)((offset[i] + (uint64_t)next[i] * skip[i]) % m);
				next[i]++;
			} while (table[c] != UINT16_MAX);
			table[c] = idx[i];
			if (++filled == m)
				return;
		}
	}
}

/* Backends in (ip, port) order; IPv6 ones, whose ip is a hash, then by
 * their address. */
static int cmp_ip_port(const void *a, const void *b)
{
	const struct dp_backend *x = a, *y = b;
	uint64_t kx = (uint64_t)rte_be_to_cpu_32(x->ip) << 16 | rte_be_to_cpu_16(x->port);
	uint64_t ky = (uint64_t)rte_be_to_cpu_32(y->ip) << 16 | rte_be_to_cpu_16(y->port);
	return kx < ky ? -1 : kx > ky;
}

static int cmp_backend(const void *a, const void *b)
{
	int c = cmp_ip_port(a, b);
	return c ? c : memcmp(((const struct dp_backend *)a)->ip6,
			      ((const struct dp_backend *)b)->ip6, 16);
}

/* The backend of s at ip:port (ip: an IPv6 one's hash), or NULL (gone
 * from it). */
static const struct dp_backend *find_backend(const struct dp_svc *s, uint32_t ip, uint16_t port)
{
	struct dp_backend key = {.ip = ip, .port = port};
	return bsearch(&key, s->backends, s->n_backends, sizeof(key), cmp_ip_port);
}

/* The backend of s that is b, or NULL. Two IPv6 backends whose hashes
 * and ports are the same may hide one another: the one hidden counts as
 * gone, which costs its UDP flows a new pick. */
static const struct dp_backend *find_same(const struct dp_svc *s, const struct dp_backend *b)
{
	const struct dp_backend *x = find_backend(s, b->ip, b->port);
	return x != NULL && memcmp(x->ip6, b->ip6, 16) == 0 ? x : NULL;
}

/* s as the workers use it, in one allocation: the struct, its backends
 * (sorted), its table and that of its local backends. */
static struct dp_svc *svc_build(uint32_t id, const struct dp_svc_spec *s)
{
	unsigned n = s->n_backends, n_local = 0;
	uint32_t m = n ? dp_maglev_size(n) : 0;
	uint16_t idx[DP_SVC_MAX_BACKENDS];

	for (unsigned i = 0; i < n; i++)
		n_local += s->backends[i].local;
	bool local_table = s->ext_local && n_local > 0 && n_local < n;
	size_t sz = sizeof(struct dp_svc) + n * sizeof(struct dp_backend) +
		    (local_table ? 2 : 1) * m * sizeof(uint16_t);
	struct dp_svc *v = rte_zmalloc("podlane_svc", sz, RTE_CACHE_LINE_SIZE);

	if (v == NULL)
		return NULL;
	v->id = id;
	v->gen = ++dp.nat->svc_gen;
	v->v6 = s->v6;
	memcpy(v->ip6, s->ip6, 16);
	v->ip = s->ip;
	v->port = s->port;
	v->proto = s->proto;
	v->ext_local = s->ext_local;
	v->affinity_s = s->affinity_s;
	v->node_port = s->node_port;
	v->n_ext = s->n_ext;
	memcpy(v->ext, s->ext, s->n_ext * sizeof(s->ext[0]));
	memcpy(v->ext6, s->ext6, s->n_ext * sizeof(s->ext6[0]));
	v->n_backends = (uint16_t)n;
	v->n_local = (uint16_t)n_local;
	v->m = m;
	v->backends = (struct dp_backend *)(v + 1);
	v->table = n ? (uint16_t *)(v->backends + n) : NULL; /* none: refused */
	for (unsigned i = 0; i < n; i++) {
		const struct dp_backend_spec *b = &s->backends[i];
		v->backends[i] = (struct dp_backend){.ip = s->v6 ? dp_svc_word(b->ip6) : b->ip,
						     .port = b->port, .local = b->local};
		if (s->v6)
			memcpy(v->backends[i].ip6, b->ip6, 16);
	}
	qsort(v->backends, n, sizeof(*v->backends), cmp_backend);
	for (unsigned i = 0; i < n; i++)
		idx[i] = (uint16_t)i;
	if (n)
		dp_maglev_fill(v->backends, idx, n, m, v->table);
	if (local_table) {
		v->local_table = v->table + m;
		unsigned k = 0;
		for (unsigned i = 0; i < n; i++)
			if (v->backends[i].local)
				idx[k++] = (uint16_t)i;
		dp_maglev_fill(v->backends, idx, k, m, v->local_table);
	} else if (s->ext_local && n_local == n) {
		v->local_table = v->table; /* all of them are local */
	}
	return v;
}

/* A frontend: its key in its family's table. */
struct fe {
	struct rte_hash *h;
	union {
		struct dp_svc_fe_key k4;
		struct dp_svc_fe6_key k6;
	} k;
	bool ext; /* externalTrafficPolicy applies */
};

/* A service's frontends: its IP, its external IPs, the node IP's
 * NodePort. */
static unsigned frontends(const struct dp_svc *v, struct fe *f)
{
	unsigned n = 0;

	memset(f, 0, (DP_SVC_MAX_EXT + 2) * sizeof(*f));
	if (v->v6) {
		for (unsigned i = 0; i <= v->n_ext; i++) { /* its IP, then the external ones */
			f[n].h = dp.nat->fe6;
			f[n].k.k6 = (struct dp_svc_fe6_key){.port = v->port, .proto = v->proto};
			memcpy(f[n].k.k6.ip, i ? v->ext6[i - 1] : v->ip6, 16);
			f[n++].ext = i > 0;
		}
		if (v->node_port) {
			f[n].h = dp.nat->fe6;
			f[n].k.k6 = (struct dp_svc_fe6_key){.port = v->node_port, .proto = v->proto};
			memcpy(f[n].k.k6.ip, dp.cfg.node_ip6, 16);
			f[n++].ext = true;
		}
		return n;
	}
	f[n].h = dp.nat->fe;
	f[n++].k.k4 = (struct dp_svc_fe_key){.ip = v->ip, .port = v->port, .proto = v->proto};
	for (unsigned i = 0; i < v->n_ext; i++) {
		f[n].h = dp.nat->fe;
		f[n].k.k4 = (struct dp_svc_fe_key){.ip = v->ext[i], .port = v->port, .proto = v->proto};
		f[n++].ext = true;
	}
	if (v->node_port) {
		f[n].h = dp.nat->fe;
		f[n].k.k4 = (struct dp_svc_fe_key){.ip = dp.cfg.node_ip, .port = v->node_port,
						   .proto = v->proto};
		f[n++].ext = true;
	}
	return n;
}

static bool fe_taken(const struct fe *f, uint32_t id)
{
	void *data;

	return rte_hash_lookup_data(f->h, &f->k, &data) >= 0 &&
	       ((uintptr_t)data & ~(uintptr_t)DP_FE_EXTERNAL) != id;
}

static bool fe_in(const struct fe *f, const struct fe *set, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (f->h == set[i].h && memcmp(&f->k, &set[i].k, sizeof(f->k)) == 0)
			return true;
	return false;
}

/* v's frontends that are not in keep[] leave the table. */
static void fe_remove(const struct dp_svc *v, const struct fe *keep, unsigned n_keep)
{
	struct fe f[DP_SVC_MAX_EXT + 2];
	unsigned n = frontends(v, f);

	for (unsigned i = 0; i < n; i++)
		if (!fe_in(&f[i], keep, n_keep))
			rte_hash_del_key(f[i].h, &f[i].k);
}

/* Replaced or deleted: freed at dp_commit(), once no worker reads it. */
static void defer(struct dp_svc *old)
{
	struct dp_nat *nat = dp.nat;

	if (old == NULL)
		return;
	if (nat->n_svc_deferred == RTE_DIM(nat->svc_deferred))
		dp_commit();
	nat->svc_deferred[nat->n_svc_deferred++] = old;
}

static bool lost_backends(const struct dp_svc *old, const struct dp_svc *now)
{
	for (unsigned i = 0; i < old->n_backends; i++)
		if (now == NULL || find_same(now, &old->backends[i]) == NULL)
			return true;
	return false;
}

/* A UDP flow has no end the NAT can see: one to a backend its service no
 * longer has would go on being sent there (kube-proxy's stale-UDP
 * problem), so it is forgotten and its next datagram picks again. A TCP
 * flow keeps its backend; one of a deleted service is no longer counted
 * as the service's (its id may be given to another). */
static bool stale(struct dp_ct_state *st, const void *reply, bool v6, void *arg)
{
	const uint8_t *lost = arg;
	uint32_t id = st->svc - 1;

	if (st->svc == 0 || !(lost[id / 8] & (1u << (id % 8))))
		return false;
	const struct dp_svc *now = dp.nat->svcs[id];
	if (st->proto == IPPROTO_UDP) {
		struct dp_backend b = {0};
		if (v6) {
			const struct dp_ct6_key *r = reply;
			memcpy(b.ip6, r->src, 16);
			b.ip = dp_svc_word(r->src);
			b.port = r->sport;
		} else {
			const struct dp_ct_key *r = reply;
			b.ip = r->src;
			b.port = r->sport;
		}
		return now == NULL || find_same(now, &b) == NULL;
	}
	if (now == NULL)
		__atomic_store_n(&st->svc, 0, __ATOMIC_RELAXED);
	return false;
}

void dp_svc_commit(void)
{
	struct dp_nat *nat = dp.nat;
	bool walk = false;

	for (unsigned i = 0; i < nat->n_svc_deferred; i++) {
		const struct dp_svc *old = nat->svc_deferred[i];
		if (lost_backends(old, nat->svcs[old->id])) {
			nat->lost[old->id / 8] |= (uint8_t)(1u << (old->id % 8));
			walk = true;
		}
	}
	/* No worker reads the old versions any more (dp_commit waited). */
	while (nat->n_svc_deferred)
		rte_free(nat->svc_deferred[--nat->n_svc_deferred]);
	if (walk) {
		dp_ct_remove_if(stale, nat->lost);
		memset(nat->lost, 0, (nat->max_svcs + 7) / 8);
	}
}

/* v's NodePort counted (by) in its family's count of them. */
static void node_ports(const struct dp_svc *v, int by)
{
	if (v->node_port)
		*(v->v6 ? &dp.nat->n_node_ports6 : &dp.nat->n_node_ports) += (uint32_t)by;
}

/* v's backends counted (by: 1 or -1) in the backend index. One that
 * several services have names none of them (DP_BE_SEVERAL) until it has
 * none left; one the full index left out stays out. */
static void backends_indexed(const struct dp_svc *v, int by)
{
	for (unsigned i = 0; i < v->n_backends; i++) {
		const struct dp_backend *b = &v->backends[i];
		struct dp_svc_be_key k = {.port = b->port, .proto = v->proto, .v6 = v->v6};
		void *data;
		memcpy(k.ip, v->v6 ? (const void *)b->ip6 : (const void *)&b->ip, v->v6 ? 16 : 4);
		uint64_t d = rte_hash_lookup_data(dp.nat->be, &k, &data) < 0 ? 0 : (uintptr_t)data;
		uint32_t count = (uint32_t)(d >> 32), one = (uint32_t)d;
		if (by > 0) {
			one = count == 0 || one == v->id ? v->id : DP_BE_SEVERAL;
			count++;
		} else if (count-- == 0) {
			continue;
		}
		if (count == 0)
			rte_hash_del_key(dp.nat->be, &k);
		else
			rte_hash_add_key_data(dp.nat->be, &k, (void *)(uintptr_t)((uint64_t)count << 32 | one));
	}
}

/* The new version is published before its frontends lead to it, and the
 * old frontends leave only after the new ones are in: a packet finds
 * either version, never none. */
int dp_svc_set(uint32_t id, const struct dp_svc_spec *s)
{
	struct dp_nat *nat = dp.nat;
	struct fe k[DP_SVC_MAX_EXT + 2];

	if (id >= nat->max_svcs || s->n_backends > DP_SVC_MAX_BACKENDS || s->n_ext > DP_SVC_MAX_EXT ||
	    (s->v6 && (nat->fe6 == NULL || (s->node_port && !dp.cfg.has_node6))))
		return -EINVAL;
	struct dp_svc *v = svc_build(id, s), *old = nat->svcs[id];
	if (v == NULL)
		return -ENOMEM;
	unsigned n = frontends(v, k);
	for (unsigned i = 0; i < n; i++)
		if (fe_taken(&k[i], id)) {
			rte_free(v);
			return -EEXIST;
		}
	if (old == NULL) /* a new service: its counters start at zero */
		for (unsigned w = 0; w < dp.cfg.n_workers; w++)
			memset(&nat->svc_stats[w][id], 0, sizeof(nat->svc_stats[w][id]));
	__atomic_store_n(&nat->svcs[id], v, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < n; i++) {
		void *data = (void *)(uintptr_t)(id | (k[i].ext ? DP_FE_EXTERNAL : 0));
		if (rte_hash_add_key_data(k[i].h, &k[i].k, data) != 0) {
			/* The frontend table is full: back to the old version. */
			struct fe ok[DP_SVC_MAX_EXT + 2];
			unsigned on = old ? frontends(old, ok) : 0;
			__atomic_store_n(&nat->svcs[id], old, __ATOMIC_RELEASE);
			fe_remove(v, ok, on);
			defer(v);
			return -ENOMEM;
		}
	}
	if (old != NULL) {
		fe_remove(old, k, n);
		node_ports(old, -1);
		backends_indexed(old, -1);
	}
	node_ports(v, 1);
	backends_indexed(v, 1);
	nat->n_svcs += old == NULL;
	__atomic_store_n(&nat->active, true, __ATOMIC_RELEASE);
	defer(old);
	return 0;
}

void dp_svc_del(uint32_t id)
{
	struct dp_nat *nat = dp.nat;
	struct dp_svc *old = id < nat->max_svcs ? nat->svcs[id] : NULL;

	if (old == NULL)
		return;
	fe_remove(old, NULL, 0);
	__atomic_store_n(&nat->svcs[id], NULL, __ATOMIC_RELEASE);
	node_ports(old, -1);
	backends_indexed(old, -1);
	nat->n_svcs--;
	defer(old);
}

void dp_svc_stats_read(uint32_t id, struct dp_svc_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (id >= dp.nat->max_svcs)
		return;
	for (unsigned w = 0; w < dp.cfg.n_workers; w++) {
		const struct dp_svc_wstats *s = &dp.nat->svc_stats[w][id];
		out->flows += s->flows;
		out->pkts += s->pkts;
		out->bytes += s->bytes;
		out->rejected += s->rejected;
	}
}

const struct dp_backend *dp_svc_pick(const struct dp_svc *s, uint32_t client, uint32_t hash,
				     bool external)
{
	struct dp_nat *nat = dp.nat;
	const uint16_t *table = external && s->ext_local ? s->local_table : s->table;
	struct dp_aff_key ak = {.svc = s->id, .client = client};
	struct dp_aff *a = NULL;
	int32_t pos;

	if (table == NULL)
		return NULL;
	if (s->affinity_s && (pos = rte_hash_lookup(nat->aff, &ak)) >= 0) {
		a = &nat->affs[pos];
		uint64_t word = __atomic_load_n(&a->backend, __ATOMIC_ACQUIRE);
		const struct dp_backend *b =
			word & DP_AFF_VALID ? find_backend(s, (uint32_t)word, (uint16_t)(word >> 32))
					    : NULL;
		if (b != NULL && (b->local || !(external && s->ext_local))) {
			__atomic_store_n(&a->last_seen, __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED),
					 __ATOMIC_RELAXED);
			return b;
		}
	}
	const struct dp_backend *b = &s->backends[table[hash % s->m]];
	if (s->affinity_s) {
		if (a == NULL && (pos = rte_hash_add_key(nat->aff, &ak)) >= 0)
			a = &nat->affs[pos];
		if (a != NULL) { /* else the table is full: no affinity, counted nowhere */
			a->key = ak;
			__atomic_store_n(&a->last_seen, __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED),
					 __ATOMIC_RELAXED);
			__atomic_store_n(&a->backend,
					 b->ip | (uint64_t)b->port << 32 | DP_AFF_VALID,
					 __ATOMIC_RELEASE);
		}
	}
	return b;
}

/* Affinity entries idle longer than their service's timeout, or of a
 * service gone or without affinity now, are forgotten; the control
 * thread walks a slice per second. */
void dp_svc_age(void)
{
	struct dp_nat *nat = dp.nat;
	static uint32_t next;
	static int32_t freed[4096];
	unsigned n_freed = 0;
	uint32_t now = __atomic_load_n(&dp.now_s, __ATOMIC_RELAXED);
	uint32_t slice = nat->aff_cap / 8 + 1;

	for (uint32_t i = 0; i < slice && n_freed < RTE_DIM(freed); i++) {
		uint32_t p = next++;
		if (next >= nat->aff_cap)
			next = 0;
		struct dp_aff *a = &nat->affs[p];
		if (!(__atomic_load_n(&a->backend, __ATOMIC_ACQUIRE) & DP_AFF_VALID))
			continue;
		const struct dp_svc *s = a->key.svc < nat->max_svcs ? nat->svcs[a->key.svc] : NULL;
		if (s != NULL && s->affinity_s &&
		    now - __atomic_load_n(&a->last_seen, __ATOMIC_RELAXED) < s->affinity_s)
			continue;
		int32_t pos = rte_hash_del_key(nat->aff, &a->key);
		__atomic_store_n(&a->backend, 0, __ATOMIC_RELEASE);
		if (pos >= 0)
			freed[n_freed++] = pos;
	}
	if (n_freed == 0)
		return;
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	for (unsigned i = 0; i < n_freed; i++)
		rte_hash_free_key_with_position(nat->aff, freed[i]);
}

/* What dp_svc_pick would choose for a new connection of client with
 * this hash, without making an affinity entry. */
static const struct dp_backend *peek(const struct dp_svc *s, uint32_t client, uint32_t hash,
				     const uint16_t *table)
{
	struct dp_nat *nat = dp.nat;
	struct dp_aff_key ak = {.svc = s->id, .client = client};
	int32_t pos = s->affinity_s ? rte_hash_lookup(nat->aff, &ak) : -1;
	uint64_t word = pos >= 0 ? __atomic_load_n(&nat->affs[pos].backend, __ATOMIC_ACQUIRE) : 0;
	const struct dp_backend *b =
		word & DP_AFF_VALID ? find_backend(s, (uint32_t)word, (uint16_t)(word >> 32)) : NULL;

	return b != NULL ? b : &s->backends[table[hash % s->m]];
}

/* The ids of the services backend k may serve, [*from, *to): the one
 * the index names, or all of them when it names several; false when it
 * serves none. */
static bool backed(const struct dp_svc_be_key *k, uint32_t *from, uint32_t *to)
{
	void *data;

	if (rte_hash_lookup_data(dp.nat->be, k, &data) < 0)
		return false;
	uint32_t one = (uint32_t)(uintptr_t)data;
	*from = one == DP_BE_SEVERAL ? 0 : one;
	*to = one == DP_BE_SEVERAL ? dp.nat->max_svcs : one + 1;
	return true;
}

/* Service id, if it is of k's family and protocol and has backends. */
static const struct dp_svc *backing(uint32_t id, const struct dp_svc_be_key *k)
{
	const struct dp_svc *s = __atomic_load_n(&dp.nat->svcs[id], __ATOMIC_ACQUIRE);
	return s != NULL && s->v6 == k->v6 && s->proto == k->proto && s->table != NULL ? s : NULL;
}

/* Whether s gives client's connection with this hash to backend b now:
 * Maglev's pick; with session affinity, which the crash forgot, any of
 * its backends (the client's connections all had one). */
static bool gives(const struct dp_svc *s, uint32_t client, uint32_t hash,
		  const struct dp_backend *b)
{
	if (s->affinity_s)
		return find_same(s, b) != NULL;
	const struct dp_backend *x = peek(s, client, hash, s->table);
	return x->ip == b->ip && x->port == b->port && memcmp(x->ip6, b->ip6, 16) == 0;
}

const struct dp_svc *dp_svc_answered(const struct dp_ct_key *a, struct dp_ct_key *o)
{
	struct dp_svc_be_key k = {.port = a->sport, .proto = a->proto};
	struct dp_backend b = {.ip = a->src, .port = a->sport};
	uint32_t from, to;

	memcpy(k.ip, &a->src, 4);
	/* A hairpin's answer: SNATed, its port cannot be told. */
	if (a->src == a->dst || !backed(&k, &from, &to))
		return NULL;
	for (uint32_t i = from; i < to; i++) {
		const struct dp_svc *s = backing(i, &k);
		if (s == NULL)
			continue;
		*o = (struct dp_ct_key){.src = a->dst, .dst = s->ip, .sport = a->dport,
					.dport = s->port, .proto = a->proto};
		if (gives(s, a->dst, dp_ct_hash(o, sizeof(*o), 0), &b))
			return s;
	}
	return NULL;
}

const struct dp_svc *dp_svc_answered6(const struct dp_ct6_key *a, struct dp_ct6_key *o)
{
	struct dp_svc_be_key k = {.port = a->sport, .proto = a->proto, .v6 = 1};
	struct dp_backend b = {.ip = dp_svc_word(a->src), .port = a->sport};
	uint32_t from, to;

	memcpy(k.ip, a->src, 16);
	memcpy(b.ip6, a->src, 16);
	if (memcmp(a->src, a->dst, 16) == 0 || !backed(&k, &from, &to))
		return NULL;
	for (uint32_t i = from; i < to; i++) {
		const struct dp_svc *s = backing(i, &k);
		if (s == NULL)
			continue;
		*o = (struct dp_ct6_key){.sport = a->dport, .dport = s->port, .proto = a->proto};
		memcpy(o->src, a->dst, 16);
		memcpy(o->dst, s->ip6, 16);
		if (gives(s, dp_svc_word(a->dst), dp_hash_words(o, sizeof(*o), 0), &b))
			return s;
	}
	return NULL;
}

int dp_svc_trace(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t proto,
		 bool external, uint32_t *svc_id, uint32_t *bip, uint16_t *bport)
{
	struct dp_nat *nat = dp.nat;
	struct dp_ct_key k = {.src = src, .dst = dst, .sport = sport, .dport = dport, .proto = proto};
	struct dp_svc_fe_key fk = {.ip = dst, .port = dport, .proto = proto};
	void *data;

	if (rte_hash_lookup_data(nat->fe, &fk, &data) < 0)
		return -ENOENT;
	uint32_t id = (uint32_t)(uintptr_t)data & ~DP_FE_EXTERNAL;
	const struct dp_svc *s = nat->svcs[id];
	if (s == NULL)
		return -ENOENT;
	*svc_id = id;
	int64_t f = dp_ct_lookup(&k);
	if (f >= 0 && (f & 1) == DP_CT_ORIG) {
		const struct dp_ct_key *r = &nat->flows[f >> 1].key[DP_CT_REPLY];
		*bip = r->src;
		*bport = r->sport;
		return 0;
	}
	external = external && ((uintptr_t)data & DP_FE_EXTERNAL);
	const uint16_t *table = external && s->ext_local ? s->local_table : s->table;
	if (table == NULL)
		return -ENODATA;
	const struct dp_backend *b = peek(s, src, rte_hash_hash(nat->ct4.h, &k), table);
	*bip = b->ip;
	*bport = b->port;
	return 0;
}

int dp_svc_trace6(const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport,
		  uint8_t proto, bool external, uint32_t *svc_id, uint8_t bip[16], uint16_t *bport)
{
	bool ext;
	const struct dp_svc *s = dp_svc_find6(dst, dport, proto, &ext);
	struct dp_ct6_key k = {.sport = sport, .dport = dport, .proto = proto};
	uint32_t data;

	if (s == NULL)
		return -ENOENT;
	*svc_id = s->id;
	memcpy(k.src, src, 16);
	memcpy(k.dst, dst, 16);
	const struct dp_flow6 *f = dp_ct6_find_one(&k, &data);
	if (f != NULL && (data & 1) == DP_CT_ORIG) {
		memcpy(bip, f->key[DP_CT_REPLY].src, 16);
		*bport = f->key[DP_CT_REPLY].sport;
		return 0;
	}
	const uint16_t *table = external && ext && s->ext_local ? s->local_table : s->table;
	if (table == NULL)
		return -ENODATA;
	const struct dp_backend *b = peek(s, dp_svc_word(src), dp_hash_words(&k, sizeof(k), 0),
					  table);
	memcpy(bip, b->ip6, 16);
	*bport = b->port;
	return 0;
}

const struct dp_svc *dp_svc_find6(const uint8_t ip[16], uint16_t port, uint8_t proto,
				  bool *external)
{
	struct dp_svc_fe6_key k = {.port = port, .proto = proto};
	void *data;

	memcpy(k.ip, ip, 16);
	if (dp.nat->fe6 == NULL || rte_hash_lookup_data(dp.nat->fe6, &k, &data) < 0)
		return NULL;
	*external = (uintptr_t)data & DP_FE_EXTERNAL;
	return __atomic_load_n(&dp.nat->svcs[(uintptr_t)data & ~(uintptr_t)DP_FE_EXTERNAL],
			       __ATOMIC_ACQUIRE);
}
