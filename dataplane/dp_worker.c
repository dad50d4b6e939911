/* Worker lcores: poll the rx queues they own, forward, flush tx, report a
 * quiescent state; when idle, block on their kernel ports' fds and DPDK
 * queues' rx interrupts (if every DPDK queue they poll has them:
 * vhost-user's do) or back off to short sleeps, so an idle node costs
 * almost no CPU. */
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "dp_priv.h"

#define IDLE_SPINS 200      /* empty polls before the first sleep */
#define IDLE_SLEEP_MAX_US 1000
/* After a second without a packet, sleep longer: each wake-up costs a
 * poll of every queue, and an idle node should cost ~nothing.
 * The price is up to this much latency on the first packet after. */
#define DEEP_IDLE_SLEEP_US 3000
/* A worker polling kernel ports only (or nothing) blocks in epoll until a
 * frame arrives or it is kicked, so it spins only briefly: spinning takes
 * the core from the pods' own threads, which on a small node are the
 * load, and an idle one does not wake at all. */
#define KPORT_IDLE_SPINS 2
#define KPORT_QUIET_ROUNDS 8
/* Blocked on rx interrupts, wake up this often anyway: a guest that
 * missed our request for kicks (it reconnected meanwhile) costs at most
 * this much latency, not a stall. */
#define INTR_BLOCK_MAX_MS 1000

void dp_worker_kick(struct dp_worker *w)
{
	uint64_t one = 1;

	if (write(w->kickfd, &one, sizeof(one)) < 0)
		return; /* the counter is full: the worker wakes anyway */
}

static void kicked(struct dp_worker *w)
{
	uint64_t n;

	if (read(w->kickfd, &n, sizeof(n)) < 0)
		return; /* drained already */
}

/* Offline while asleep, so route and port changes never wait for it.
 * block: in epoll on the worker's kernel ports, rx interrupts and kickfd
 * (it polls no DPDK queue without interrupts), for as long as nothing
 * happens, or timeout_ms. */
static void idle_wait(struct dp_worker *w, bool block, int timeout_ms, unsigned us)
{
	rte_rcu_qsbr_thread_offline(dp.qsbr, w->id);
	if (block) {
		/* Port events are dropped, not handled: gathered offline, they
		 * may name a port removed (and its fd closed) meanwhile.
		 * poll_kports asks again, online. */
		struct epoll_event ev[8];
		int n = epoll_wait(w->epfd, ev, RTE_DIM(ev), timeout_ms);
		for (int i = 0; i < n; i++)
			if (ev[i].data.u32 == DP_KICK_EV)
				kicked(w);
	} else {
		usleep(us);
	}
	rte_rcu_qsbr_thread_online(dp.qsbr, w->id);
}

/* Kernel ports are found through the worker's epoll set: one
 * epoll_wait(0) names the ready ones, instead of a read per port that
 * mostly answers EAGAIN (a syscall each: with two quiet kernel ports it
 * was 15 % of a worker forwarding between vhost-user ports). */
static unsigned poll_kports(struct dp_worker *w, struct rte_mbuf **pkts)
{
	struct epoll_event ev[DP_BURST];
	int n = epoll_wait(w->epfd, ev, RTE_DIM(ev), 0);
	unsigned total = 0;

	for (int i = 0; i < n; i++) {
		if (unlikely(ev[i].data.u32 >= DP_INTR_EV)) {
			if (ev[i].data.u32 == DP_KICK_EV)
				kicked(w);
			continue; /* an rx interrupt: its queue is polled anyway */
		}
		uint16_t port = DP_KPORT_EV_PORT(ev[i].data.u32);
		uint16_t queue = DP_KPORT_EV_QUEUE(ev[i].data.u32);
		uint16_t got = dp_kport_rx(w, port, queue, pkts, DP_BURST);
		if (got) {
			dp_rx_burst(w, port, pkts, got);
			total += got;
		}
	}
	return total;
}

/* Guests' kicks on (before blocking) or off (polling again) for every
 * rx queue of l that has them. */
static void rx_intr_set(const struct dp_rxq_list *l, bool on)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (!l->q[i].intr)
			continue;
		if (on)
			rte_eth_dev_rx_intr_enable(l->q[i].port, l->q[i].queue);
		else
			rte_eth_dev_rx_intr_disable(l->q[i].port, l->q[i].queue);
	}
	/* The request must be visible to the guest before we look at its ring
	 * again (store then load): the guest writes its ring, then reads the
	 * request; either it kicks, or we see its packet. */
	if (on)
		rte_smp_mb();
}

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct rte_mbuf *pkts[DP_BURST];
	unsigned idle = 0, sleep_us = 0, cap, skipped = 0;
	bool kbusy = false; /* kernel ports had frames at the last look */
	/* Rx interrupts: on for some queue, and armed for list gen (0: to be
	 * armed before blocking, again after each wake-up: a guest that
	 * reconnected has turned its kicks off). */
	bool intr_on = false;
	uint64_t armed = 0;
	uint64_t idle_since = 0, hz = rte_get_tsc_hz();

	rte_rcu_qsbr_thread_register(dp.qsbr, w->id);
	rte_rcu_qsbr_thread_online(dp.qsbr, w->id);
	while (!dp.stop) {
		const struct dp_rxq_list *l = __atomic_load_n(&w->rxqs, __ATOMIC_ACQUIRE);
		uint64_t start = rte_rdtsc();
		unsigned total = 0, seen = 0;

		for (unsigned i = 0; l != NULL && seen < l->n_ethdev; i++) {
			uint16_t port = l->q[i].port;
			if (port >= RTE_MAX_ETHPORTS)
				continue; /* a kernel port: poll_kports */
			seen++;
			uint16_t n = rte_eth_rx_burst(port, l->q[i].queue, pkts, DP_BURST);
			if (n) {
				dp_rx_burst(w, port, pkts, n);
				total += n;
			}
		}
		/* Beside busy DPDK queues, quiet kernel ports are looked at
		 * every KPORT_QUIET_ROUNDS rounds (a few us at full load). */
		if (l != NULL && l->n > l->n_ethdev &&
		    (total == 0 || kbusy || ++skipped == KPORT_QUIET_ROUNDS)) {
			unsigned k = poll_kports(w, pkts);
			kbusy = k > 0;
			skipped = 0;
			total += k;
		}
		dp_tx_flush(w);
		rte_rcu_qsbr_quiescent(dp.qsbr, w->id);
		if (unlikely(w->n_pending) && total == 0) {
			rte_pause(); /* frames wait for a guest (dp_tx.c): no sleep */
			continue;
		}
		if (total) {
			w->stats.busy_cycles += rte_rdtsc() - start;
			idle = 0;
			sleep_us = 0;
			if (intr_on) {
				rx_intr_set(l, false);
				intr_on = false;
				armed = 0;
			}
			continue;
		}
		bool can_block = l == NULL || l->n_ethdev == l->n_intr;
		if (++idle < (l == NULL || l->n_ethdev == 0 ? KPORT_IDLE_SPINS : IDLE_SPINS)) {
			if (idle == 1)
				idle_since = rte_get_tsc_cycles();
			rte_pause();
			continue;
		}
		if (can_block && l != NULL && l->n_intr && armed != l->gen) {
			/* Kicks on, then one more look: a packet queued before
			 * the guest saw the request would never kick. */
			rx_intr_set(l, true);
			intr_on = true;
			armed = l->gen;
			continue;
		}
		cap = rte_get_tsc_cycles() - idle_since > hz ? DEEP_IDLE_SLEEP_US : IDLE_SLEEP_MAX_US;
		sleep_us = sleep_us ? RTE_MIN(sleep_us * 2, cap) : 10;
		idle_wait(w, can_block, armed ? INTR_BLOCK_MAX_MS : -1, sleep_us);
		armed = 0;
	}
	rte_pktmbuf_free(w->kport_spare);
	w->kport_spare = NULL;
	rte_rcu_qsbr_thread_offline(dp.qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(dp.qsbr, w->id);
	return 0;
}
