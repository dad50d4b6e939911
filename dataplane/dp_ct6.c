/* Connection tracking for IPv6: the table of dp_ct.c (shared by every
 * worker, aged and flushed there) with 40-byte keys. A table apart, not
 * one table for both families: IPv4's keys stay 16 bytes, hashed in two
 * CRC32 steps. No per-worker cache in front of it as IPv4 has: one bulk
 * lookup per burst of the packets the IPv6 NAT stage looks at. */
#include "dp_nat.h"

static uint16_t sum_addrs(const struct dp_ct6_key *k)
{
	return dp_csum_fold((uint32_t)rte_raw_cksum(k->src, 16) + rte_raw_cksum(k->dst, 16));
}

int64_t dp_ct6_create(const struct dp_ct6_key *orig, const struct dp_ct6_key *reply, uint32_t svc)
{
	int64_t id = dp_ct_take(&dp.nat->ct6, reply);

	if (id < 0)
		return id;
	struct dp_flow6 *f = &dp.nat->flows6[id];
	f->key[DP_CT_ORIG] = *orig;
	f->key[DP_CT_REPLY] = *reply;
	f->st.svc = svc;
	f->st.proto = orig->proto;
	/* As dp_ct_create: a packet of direction d leaves as key[!d]
	 * reversed; IPv6 has no header checksum, the pseudo-header's
	 * addresses are in the L4 one. */
	for (unsigned d = 0; d < 2; d++) {
		const struct dp_ct6_key *from = &f->key[d], *to = &f->key[!d];
		f->dsum_addr[d] = dp_csum_delta(sum_addrs(from), sum_addrs(to));
		f->dsum_port[d] = dp_csum_delta((uint32_t)from->sport + from->dport,
						(uint32_t)to->sport + to->dport);
	}
	return dp_ct_publish(&dp.nat->ct6, (uint32_t)id);
}

struct dp_flow6 *dp_ct6_find_one(const struct dp_ct6_key *k, uint32_t *data)
{
	void *d;

	if (rte_hash_lookup_data(dp.nat->ct6.h, k, &d) < 0)
		return NULL;
	*data = (uint32_t)(uintptr_t)d;
	return dp_ct6_live(*data);
}
