/* The IPv6 route stage: each packet's next hop by bulk lookup of the
 * destinations the parse stage left (dp_ip6_accept); and, after the NAT
 * stage, the policy guard: IPv6 has no NetworkPolicy stage yet, so a pod that a policy isolates
 * sends and receives no IPv6 at all, rather than all of it (counted as
 * policy drops), but from its node (the host port), which Kubernetes
 * always allows. Runs on worker lcores. */
#include "dp_ip6.h"

static inline bool refused(const struct dp_port *in, uint32_t hop)
{
	if (in->pol_iso & (1u << DP_POL_EGRESS))
		return true;
	if (hop == DP_HOP_NONE || dp.nh[hop].kind != DP_NH_PORT || in->kind == DP_PORT_HOST)
		return false;
	return __atomic_load_n(&dp.ports[dp.nh[hop].port].pol_iso, __ATOMIC_RELAXED) &
	       (1u << DP_POL_INGRESS);
}

void dp_ip6_route(struct dp_worker *w, struct dp_pkts6 *v)
{
	w->stats.ipv6_pkts += v->n;
	dp_ip6_hops(v->key, v->hop, v->n);
}

void dp_ip6_guard(struct dp_worker *w, uint16_t port, struct dp_pkts6 *v)
{
	const struct dp_port *in = &dp.ports[port];
	uint16_t kept = 0;

	if (likely(dp.pol == NULL))
		return;
	for (uint16_t i = 0; i < v->n; i++) {
		if (refused(in, v->hop[i])) {
			dp_drop(w, v->m[i], DP_DROP_POLICY);
			continue;
		}
		v->m[kept] = v->m[i];
		v->hop[kept++] = v->hop[i];
	}
	v->n = kept;
}
