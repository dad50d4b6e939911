/* The IPv6 route stage: each packet's next hop by bulk lookup of the
 * destinations the parse stage left (dp_ip6_accept). Runs on worker
 * lcores. */
#include "dp_ip6.h"

void dp_ip6_route(struct dp_worker *w, struct dp_pkts6 *v)
{
	w->stats.ipv6_pkts += v->n;
	dp_ip6_hops(v->key, v->hop, v->n);
}
