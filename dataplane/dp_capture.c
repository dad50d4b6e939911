/* Packet capture: copies of the frames a port receives or sends, taken
 * where workers (and the control thread's slow path) receive and send
 * them, through a pcap filter, into a queue the control thread reads for
 * `podlanectl capture`. A filter is libpcap's, compiled to classic BPF,
 * converted to DPDK's eBPF (rte_bpf_convert) and run JIT-compiled where
 * DPDK can, as dpdk-dumpcap does; unlike dpdk-dumpcap (rte_pdump's ethdev
 * callbacks), this sees podlaned's own kernel ports (TAPs, the
 * packet-socket uplink), which are not ethdevs.
 *
 * A capture is published by a bit in its port (dp_port.capture), so a
 * port nobody captures costs a burst one test. A stop clears the bit and
 * waits an RCU grace period before emptying the queue and reusing the
 * slot: no worker is still copying into it. */
#include <pcap/pcap.h>

#include <rte_bpf.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dp_priv.h"

#define CAPTURE_RING 2048  /* frames waiting for the reader, per capture */
#define CAPTURE_MBUFS 8191 /* copies in flight, all captures together */
#define FILTER_MAX 1024    /* characters: libpcap's optimiser is not linear */

/* In the headroom of each copy, before the frame. */
struct meta {
	uint64_t tsc;
	uint32_t len;
	uint8_t dir;
};

static struct dp_capture {
	bool used;
	bool gone; /* its port was removed: no more frames */
	uint8_t dirs;
	uint16_t port;
	uint32_t snaplen;
	struct rte_bpf *bpf;     /* NULL: every frame */
	uint64_t (*jit)(void *); /* bpf as native code, when DPDK made some */
	struct rte_ring *ring;   /* made at first use of the slot, then kept */
	struct {
		uint64_t n;
	} __rte_cache_aligned lost[DP_MAX_WORKERS + 1];
} captures[DP_MAX_CAPTURES];

/* Made at the first capture: a node that never captures keeps its memory. */
static struct rte_mempool *pool;

static bool matches(const struct dp_capture *c, struct rte_mbuf *m)
{
	if (c->bpf == NULL)
		return true;
	return (c->jit ? c->jit(m) : rte_bpf_exec(c->bpf, m)) != 0;
}

void dp_capture_burst(unsigned writer, uint16_t port, uint8_t dir, struct rte_mbuf *const *pkts,
		      uint16_t n)
{
	unsigned on = __atomic_load_n(&dp.ports[port].capture, __ATOMIC_ACQUIRE);
	uint64_t tsc = rte_get_tsc_cycles();

	for (; on; on &= on - 1) {
		struct dp_capture *c = &captures[__builtin_ctz(on)];
		if (!(c->dirs & dir))
			continue;
		for (uint16_t i = 0; i < n; i++) {
			if (!matches(c, pkts[i]))
				continue;
			struct rte_mbuf *copy = rte_pktmbuf_copy(pkts[i], pool, 0, c->snaplen);
			struct meta *h = copy ? (struct meta *)rte_pktmbuf_prepend(copy, sizeof(*h)) : NULL;
			if (h != NULL) {
				*h = (struct meta){.tsc = tsc, .len = pkts[i]->pkt_len, .dir = dir};
				if (rte_ring_mp_enqueue(c->ring, copy) == 0)
					continue;
			}
			rte_pktmbuf_free(copy);
			c->lost[writer].n++;
		}
	}
}

/* DPDK 22.11's rte_bpf_convert turns classic BPF's indirect loads
 * ("ldb [x + 14]": every filter on a TCP or UDP port, or icmp[...]) into
 * loads indexed by r0 (A) instead of r7 (where it keeps X), so such
 * filters matched nothing (or the wrong bytes). Every indirect load it
 * makes comes from one of those: index them by X. */
static void fix_indirect_loads(struct rte_bpf_prm *prm)
{
	struct ebpf_insn *ins = (struct ebpf_insn *)(uintptr_t)prm->ins;

	for (uint32_t i = 0; i < prm->nb_ins; i++)
		if (BPF_CLASS(ins[i].code) == BPF_LD && BPF_MODE(ins[i].code) == BPF_IND)
			ins[i].src_reg = EBPF_REG_7;
}

static int compile(struct dp_capture *c, const char *filter, char *err, size_t errlen)
{
	struct bpf_program prog;
	pcap_t *p;

	if (strlen(filter) > FILTER_MAX) {
		snprintf(err, errlen, "filter: longer than %d characters", FILTER_MAX);
		return -1;
	}
	p = pcap_open_dead(DLT_EN10MB, DP_CAPTURE_SNAP_MAX);
	if (p == NULL) {
		snprintf(err, errlen, "filter: libpcap failed");
		return -1;
	}
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter: %s", pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	pcap_close(p);
	struct rte_bpf_prm *prm = rte_bpf_convert(&prog);
	pcap_freecode(&prog);
	if (prm != NULL)
		fix_indirect_loads(prm);
	c->bpf = prm ? rte_bpf_load(prm) : NULL;
	rte_free(prm);
	if (c->bpf == NULL) {
		snprintf(err, errlen, "filter: DPDK cannot run it: %s", rte_strerror(rte_errno));
		return -1;
	}
	struct rte_bpf_jit jit = {0};
	c->jit = rte_bpf_get_jit(c->bpf, &jit) == 0 ? jit.func : NULL;
	return 0;
}

static int setup(int id, char *err, size_t errlen)
{
	struct dp_capture *c = &captures[id];
	char name[RTE_RING_NAMESIZE];

	if (pool == NULL)
		pool = rte_pktmbuf_pool_create("podlane_capture", CAPTURE_MBUFS, 64, 0,
					       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	snprintf(name, sizeof(name), "podlane_capture%d", id);
	if (pool != NULL && c->ring == NULL)
		c->ring = rte_ring_create(name, CAPTURE_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (pool == NULL || c->ring == NULL) {
		snprintf(err, errlen, "cannot allocate capture buffers: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int dp_capture_start(const struct dp_capture_spec *s, char *err, size_t errlen)
{
	int id = 0;

	while (id < DP_MAX_CAPTURES && captures[id].used)
		id++;
	if (id == DP_MAX_CAPTURES) {
		snprintf(err, errlen, "%d captures run already", DP_MAX_CAPTURES);
		return -1;
	}
	if (s->snaplen == 0 || s->snaplen > DP_CAPTURE_SNAP_MAX || !(s->dirs & 3) || (s->dirs & ~3)) {
		snprintf(err, errlen, "bad snap length or direction");
		return -1;
	}
	/* The filter first: its errors are the ones people make. */
	struct dp_capture *c = &captures[id];
	if (s->filter && s->filter[0] && compile(c, s->filter, err, errlen) != 0)
		return -1;
	if (s->port >= DP_MAX_PORTS || !dp.ports[s->port].active) {
		snprintf(err, errlen, "no port %u", s->port);
		goto fail;
	}
	if (setup(id, err, errlen) != 0)
		goto fail;
	c->dirs = s->dirs;
	c->port = s->port;
	c->snaplen = s->snaplen;
	c->gone = false;
	for (unsigned i = 0; i < RTE_DIM(c->lost); i++)
		c->lost[i].n = 0;
	c->used = true;
	/* Its fields before its bit: a worker that sees the bit sees them. */
	__atomic_store_n(&dp.ports[s->port].capture, dp.ports[s->port].capture | 1u << id,
			 __ATOMIC_RELEASE);
	return id;
fail:
	rte_bpf_destroy(c->bpf);
	c->bpf = NULL;
	c->jit = NULL;
	return -1;
}

void dp_capture_stop(int id)
{
	struct dp_capture *c = &captures[id];
	struct rte_mbuf *m[64];
	unsigned n;

	if (id < 0 || id >= DP_MAX_CAPTURES || !c->used)
		return;
	if (!c->gone)
		__atomic_store_n(&dp.ports[c->port].capture,
				 dp.ports[c->port].capture & ~(1u << id), __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	while ((n = rte_ring_sc_dequeue_burst(c->ring, (void **)m, RTE_DIM(m), NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
	rte_bpf_destroy(c->bpf);
	c->bpf = NULL;
	c->jit = NULL;
	c->used = false;
}

void dp_capture_port_removed(uint16_t port)
{
	for (int id = 0; id < DP_MAX_CAPTURES; id++)
		if (captures[id].used && !captures[id].gone && captures[id].port == port)
			captures[id].gone = true;
	/* The caller waits for the workers before the port is reused. */
	__atomic_store_n(&dp.ports[port].capture, 0, __ATOMIC_RELEASE);
}

unsigned dp_capture_read(int id, unsigned max, void (*fn)(void *ctx, const struct dp_captured *),
			 void *ctx)
{
	static uint8_t buf[DP_CAPTURE_SNAP_MAX];
	struct dp_capture *c = &captures[id];
	unsigned done = 0;
	struct rte_mbuf *m;

	if (id < 0 || id >= DP_MAX_CAPTURES || !c->used)
		return 0;
	while (done < max && rte_ring_sc_dequeue(c->ring, (void **)&m) == 0) {
		const struct meta *h = rte_pktmbuf_mtod(m, const struct meta *);
		struct dp_captured f = {.time_ns = dp_tsc_to_ns(h->tsc), .len = h->len, .dir = h->dir};
		rte_pktmbuf_adj(m, sizeof(*h));
		f.caplen = RTE_MIN(m->pkt_len, (uint32_t)sizeof(buf));
		f.data = rte_pktmbuf_read(m, 0, f.caplen, buf);
		fn(ctx, &f);
		rte_pktmbuf_free(m);
		done++;
	}
	return done;
}

uint64_t dp_capture_lost(int id)
{
	uint64_t n = 0;

	if (id < 0 || id >= DP_MAX_CAPTURES)
		return 0;
	for (unsigned i = 0; i < RTE_DIM(captures[id].lost); i++)
		n += __atomic_load_n(&captures[id].lost[i].n, __ATOMIC_RELAXED);
	return n;
}

bool dp_capture_alive(int id)
{
	return id >= 0 && id < DP_MAX_CAPTURES && captures[id].used && !captures[id].gone;
}

unsigned dp_capture_count(void)
{
	unsigned n = 0;

	for (int id = 0; id < DP_MAX_CAPTURES; id++)
		n += captures[id].used;
	return n;
}
