/* The route stage: each packet's next hop from the lookup keys the parse
 * stage left (dp_ip4_accept), by bulk LPM lookup, the default route beside
 * it. Runs on worker lcores. */
#include "dp_ip4.h"

void dp_ip4_route(struct dp_pkts *v)
{
	if (v->n == 0)
		return;
	rte_lpm_lookup_bulk(dp.lpm, v->key, v->hop, v->n);
	uint32_t def = __atomic_load_n(&dp.default_hop, __ATOMIC_ACQUIRE);
	for (uint16_t i = 0; i < v->n; i++)
		v->hop[i] = likely(v->hop[i] & RTE_LPM_LOOKUP_SUCCESS) ? v->hop[i] & 0x00ffffff
								      : def - 1;
}
