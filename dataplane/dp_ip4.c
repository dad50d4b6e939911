/* The route stage: each packet's next hop from the lookup keys the parse
 * stage left (dp_ip4_accept), by bulk LPM lookup, the default route beside
 * it. Runs on worker lcores. */
#include "dp_ip4.h"

void dp_ip4_route(struct dp_pkts *v)
{
	if (v->n)
		dp_ip4_hops(v->key, v->hop, v->n);
}
