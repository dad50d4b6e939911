/* The drop recorder: the last dropped packets (their first DP_DROP_SNAP
 * bytes, the reason, the port they came in on, the time), so "why was my
 * packet dropped" has an answer after the fact. Each writer (a worker, or
 * the control thread's slow path) has a ring of its own, so recording
 * shares no cache line and takes no lock; a record's sequence number is
 * odd while it is written, and a reader on the control thread skips it
 * then. Costs nothing per forwarded packet; a drop costs one copy of its
 * headers. */
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "dp_priv.h"

struct dp_drop_rec {
	uint32_t seq; /* even: complete (0: never written); odd: being written */
	uint8_t why;
	uint16_t port;
	uint16_t caplen;
	uint32_t len;
	uint64_t tsc;
	uint8_t data[DP_DROP_SNAP];
};

int dp_drops_init(unsigned records, char *err, size_t errlen)
{
	unsigned writers = dp.cfg.n_workers + 1;

	dp.drops_per_writer = records ? (records + writers - 1) / writers : 0;
	if (records == 0)
		return 0;
	dp.drop_recs = rte_zmalloc("podlane_drops", (size_t)writers * dp.drops_per_writer *
				   sizeof(struct dp_drop_rec), RTE_CACHE_LINE_SIZE);
	if (dp.drop_recs == NULL) {
		snprintf(err, errlen, "cannot allocate the drop recorder (%u records)", records);
		return -1;
	}
	return 0;
}

void dp_drops_record(unsigned writer, const struct rte_mbuf *m, enum dp_drop why)
{
	unsigned per = dp.drops_per_writer;
	uint32_t *head = &dp.drops_head[writer].n;
	struct dp_drop_rec *r = &dp.drop_recs[(size_t)writer * per + *head % per];
	uint16_t caplen = (uint16_t)RTE_MIN(m->data_len, DP_DROP_SNAP);

	(*head)++;
	__atomic_store_n(&r->seq, r->seq | 1, __ATOMIC_RELAXED);
	rte_atomic_thread_fence(__ATOMIC_RELEASE);
	r->why = (uint8_t)why;
	r->port = m->port;
	r->len = m->pkt_len;
	r->caplen = caplen;
	r->tsc = rte_get_tsc_cycles();
	memcpy(r->data, rte_pktmbuf_mtod(m, const void *), caplen);
	__atomic_store_n(&r->seq, (r->seq | 1) + 1, __ATOMIC_RELEASE);
}

static int by_time(const void *a, const void *b)
{
	uint64_t x = ((const struct dp_drop_info *)a)->time_ns, y = ((const struct dp_drop_info *)b)->time_ns;
	return x < y ? -1 : x > y;
}

unsigned dp_drops_read(struct dp_drop_info *out, unsigned max)
{
	unsigned writers = dp.cfg.n_workers + 1, n = 0;

	for (size_t i = 0; i < (size_t)writers * dp.drops_per_writer && n < max; i++) {
		const struct dp_drop_rec *r = &dp.drop_recs[i];
		uint32_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		if (seq == 0 || (seq & 1))
			continue;
		struct dp_drop_info *d = &out[n];
		d->why = (enum dp_drop)r->why;
		d->port = r->port;
		d->len = r->len;
		d->caplen = RTE_MIN(r->caplen, (uint16_t)DP_DROP_SNAP);
		d->time_ns = dp_tsc_to_ns(r->tsc);
		memcpy(d->data, r->data, d->caplen);
		rte_atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) == seq)
			n++; /* not rewritten while copied */
	}
	qsort(out, n, sizeof(*out), by_time);
	return n;
}
