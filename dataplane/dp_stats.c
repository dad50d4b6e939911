/* Counters summed on read: each worker keeps its own (no shared cache
 * line on the fast path), the control thread's slow path its own, and
 * ports' hardware and kernel counters are read here. */
#include <rte_cycles.h>

#include "dp_nat.h"

void dp_stats_read(struct dp_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; w < dp.cfg.n_workers; w++) {
		const struct dp_wstats *s = &dp.workers[w].stats;
		for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
			out->port[p].rx_pkts += s->rx_pkts[p];
			out->port[p].rx_bytes += s->rx_bytes[p];
			out->port[p].tx_pkts += s->tx_pkts[p];
			out->port[p].tx_bytes += s->tx_bytes[p];
			out->port[p].policy_denied += s->pol_denied[p];
		}
		for (unsigned d = 0; d < DP_DROP_MAX; d++)
			out->drops[d] += s->drops[d];
		out->icmp_sent += s->icmp_sent;
		out->icmp_ratelimited += s->icmp_ratelimited;
		out->fragmented += s->fragmented;
		out->tx_waited += s->tx_waited;
		out->arp_replies += s->arp_replies;
		out->ipv4_pkts += s->ipv4_pkts;
		out->ipv6_pkts += s->ipv6_pkts;
		out->ndp_replies += s->ndp_replies;
		out->flows_created += s->flows_created;
		out->worker_busy_us[w] = (uint64_t)((double)s->busy_cycles * 1e6 / (double)rte_get_tsc_hz());
		out->worker_load[w] = __atomic_load_n(&dp.workers[w].load_ppm, __ATOMIC_RELAXED) / 1e6;
	}
	out->n_workers = dp.cfg.n_workers;
	if (dp.pool != NULL) {
		out->mbufs_in_use = rte_mempool_in_use_count(dp.pool);
		out->mbufs_total = dp.pool->size;
	}
	for (unsigned d = 0; d < DP_DROP_MAX; d++)
		out->drops[d] += dp.slowpath_stats[d];
	out->arp_requests = dp.arp_requests;
	out->ndp_requests = dp.ndp_requests;
	dp_ct_count(&out->flows_in_use, &out->flows_max);
	for (uint16_t p = RTE_MAX_ETHPORTS; p < DP_MAX_PORTS; p++)
		if (dp.ports[p].active)
			out->port[p].hw_rx_missed =
				__atomic_load_n(&dp.ports[p].kernel_missed, __ATOMIC_RELAXED);
	for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; p++) { /* ethdevs only */
		struct rte_eth_stats hw;
		if (!dp.ports[p].active || rte_eth_stats_get(p, &hw) != 0)
			continue;
		out->port[p].hw_rx_missed = hw.imissed;
		out->port[p].hw_rx_errors = hw.ierrors;
		out->port[p].hw_tx_errors = hw.oerrors;
	}
}
