/* Which worker polls which rx queue, decided on the control thread: a
 * port's queues spread over the least loaded workers, published to them
 * as copy-on-write lists under RCU (dp_worker.c polls them). */
#include <errno.h>
#include <sys/epoll.h>

#include <rte_malloc.h>

#include "dp_priv.h"

/* Copy-on-write of the rx queue lists; the old lists are freed once no
 * worker can still be reading them. */
static int publish(struct dp_rxq_list *next[DP_MAX_WORKERS])
{
	struct dp_rxq_list *old[DP_MAX_WORKERS] = {0};
	static uint64_t gen;

	for (unsigned i = 0; i < dp.cfg.n_workers; i++) {
		if (next[i] == NULL)
			continue;
		next[i]->gen = ++gen;
		old[i] = dp.workers[i].rxqs;
		__atomic_store_n(&dp.workers[i].rxqs, next[i], __ATOMIC_RELEASE);
		/* A blocked worker finds new kernel ports by their fds, not DPDK
		 * queues: those it is woken for. */
		if (next[i]->n_ethdev)
			dp_worker_kick(&dp.workers[i]);
	}
	rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	for (unsigned i = 0; i < dp.cfg.n_workers; i++)
		rte_free(old[i]);
	return 0;
}

static struct dp_rxq_list *copy_list(unsigned w)
{
	struct dp_rxq_list *l = rte_zmalloc("podlane_rxqs", sizeof(*l), 0);

	if (l != NULL && dp.workers[w].rxqs != NULL)
		*l = *dp.workers[w].rxqs;
	return l;
}

static unsigned load(unsigned w, struct dp_rxq_list *next[])
{
	const struct dp_rxq_list *l = next[w] ? next[w] : dp.workers[w].rxqs;
	return l ? l->n : 0;
}

int dp_workers_assign(uint16_t port, uint16_t n_rxq)
{
	struct dp_rxq_list *next[DP_MAX_WORKERS] = {0};

	unsigned mine[DP_MAX_WORKERS] = {0}; /* this port's queues per worker */

	/* Least loaded worker, but a port's queues on distinct workers first:
	 * they exist so that several cores can serve the port. */
	for (uint16_t q = 0; q < n_rxq; q++) {
		unsigned best = 0;
		for (unsigned w = 1; w < dp.cfg.n_workers; w++)
			if (mine[w] < mine[best] ||
			    (mine[w] == mine[best] && load(w, next) < load(best, next)))
				best = w;
		mine[best]++;
		if (next[best] == NULL && (next[best] = copy_list(best)) == NULL)
			goto nomem;
		if (next[best]->n == DP_MAX_RXQ_PER_WORKER)
			goto nomem;
		struct dp_rxq *rq = &next[best]->q[next[best]->n++];
		*rq = (struct dp_rxq){.port = port, .queue = q};
		if (port < RTE_MAX_ETHPORTS) {
			next[best]->n_ethdev++;
			/* Edge-triggered: an interrupt fd (vhost: an epoll fd over
			 * the guest's kick eventfd) is never read, only waited on. */
			int fd = dp.ports[port].rx_intr ? rte_eth_dev_rx_intr_ctl_q_get_fd(port, q) : -1;
			rq->intr = fd >= 0 &&
				   epoll_ctl(dp.workers[best].epfd, EPOLL_CTL_ADD, fd,
					     &(struct epoll_event){.events = EPOLLIN | EPOLLET,
								   .data.u32 = DP_INTR_EV}) == 0;
			next[best]->n_intr += rq->intr;
		} else if (epoll_ctl(dp.workers[best].epfd, EPOLL_CTL_ADD, dp.ports[port].fd[q],
				     &(struct epoll_event){.events = EPOLLIN,
							   .data.u32 = DP_KPORT_EV(port, q)}) != 0) {
			goto nomem; /* out of kernel memory, as good as ours */
		}
		if (q == 0)
			dp.ports[port].worker = best;
	}
	return publish(next);
nomem:
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++)
		rte_free(next[w]);
	return -ENOMEM;
}

int dp_workers_unassign(uint16_t port)
{
	struct dp_rxq_list *next[DP_MAX_WORKERS] = {0};

	for (unsigned w = 0; w < dp.cfg.n_workers; w++) {
		const struct dp_rxq_list *l = dp.workers[w].rxqs;
		if (l == NULL)
			continue;
		if ((next[w] = rte_zmalloc("podlane_rxqs", sizeof(*next[w]), 0)) == NULL)
			goto nomem;
		for (unsigned i = 0; i < l->n; i++) {
			const struct dp_rxq *q = &l->q[i];
			if (q->port != port) {
				next[w]->q[next[w]->n++] = *q;
				next[w]->n_ethdev += q->port < RTE_MAX_ETHPORTS;
				next[w]->n_intr += q->intr;
			} else if (port >= RTE_MAX_ETHPORTS) {
				epoll_ctl(dp.workers[w].epfd, EPOLL_CTL_DEL, dp.ports[port].fd[q->queue],
					  NULL);
			} else if (q->intr) {
				epoll_ctl(dp.workers[w].epfd, EPOLL_CTL_DEL,
					  rte_eth_dev_rx_intr_ctl_q_get_fd(port, q->queue), NULL);
			}
		}
	}
	return publish(next);
nomem:
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++)
		rte_free(next[w]);
	return -ENOMEM;
}
