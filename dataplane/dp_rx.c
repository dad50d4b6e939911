/* The receive path of a burst as a sequence of stages (docs/design.md,
 * "Packet path"). Each stage is one file and one call: it takes the
 * packets it is handed, consumes those it drops, punts or sends elsewhere,
 * and hands the rest on, in order. Runs on worker lcores. */
#include "dp_nat.h"

void dp_rx_burst(struct dp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_pkts ip4;
	struct dp_pkts6 ip6;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	w->stats.rx_pkts[port] += n;
	w->stats.rx_bytes[port] += bytes;
	dp_capture(w->id, port, DP_CAPTURE_IN, pkts, n); /* as received */

	dp_l2_input(w, port, pkts, n, &ip4, &ip6); /* ARP, the kernel's frames, IP checks */
	w->stats.ipv4_pkts += ip4.n;
	dp_ip4_route(&ip4);                  /* each destination's next hop */
	dp_nat4(w, port, &ip4);              /* Services: DNAT, its replies, routed again */
	dp_policy4(w, port, &ip4);           /* NetworkPolicy: each connection judged once */
	dp_ip4_output(w, &ip4);              /* TTL, MTU, MAC rewrite, transmit */
	if (unlikely(ip6.n)) {
		dp_ip6_route(w, &ip6);        /* each destination's next hop */
		dp_nat6(w, port, &ip6);       /* Services: DNAT, its replies, routed again */
		dp_policy6(w, port, &ip6);    /* NetworkPolicy: each connection judged once */
		dp_ip6_output(w, &ip6);       /* hop limit, MTU, MAC rewrite, transmit */
	}
}
