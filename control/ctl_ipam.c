/* Pod address pool: a bitmap over pod_cidr. Lowest free address first, so
 * an address freed by a deleted pod is the next one given. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ctl_node.h"

static bool usable(uint32_t off)
{
	return off != 0 && off != node.ipam_size - 1;
}

static int offset_of(uint32_t ip, uint32_t *off)
{
	if ((ip & ctl_mask(node.cfg.pod_plen)) != node.cfg.pod_net)
		return -EINVAL;
	*off = ntohl(ip) - ntohl(node.cfg.pod_net);
	return usable(*off) ? 0 : -EINVAL;
}

int ctl_ipam_alloc(uint32_t *ip)
{
	for (uint32_t w = 0; w < (node.ipam_size + 63) / 64; w++) {
		if (node.ipam[w] == ~0ull)
			continue;
		for (uint32_t b = 0; b < 64; b++) {
			uint32_t off = w * 64 + b;
			if (off >= node.ipam_size)
				return -ENOSPC;
			if (!(node.ipam[w] & (1ull << b)) && usable(off)) {
				node.ipam[w] |= 1ull << b;
				*ip = htonl(ntohl(node.cfg.pod_net) + off);
				return 0;
			}
		}
	}
	return -ENOSPC;
}

int ctl_ipam_reserve(uint32_t ip)
{
	uint32_t off;

	if (offset_of(ip, &off) != 0)
		return -EINVAL;
	if (node.ipam[off / 64] & (1ull << (off % 64)))
		return -EEXIST;
	node.ipam[off / 64] |= 1ull << (off % 64);
	return 0;
}

void ctl_ipam_release(uint32_t ip)
{
	uint32_t off;

	if (offset_of(ip, &off) == 0)
		node.ipam[off / 64] &= ~(1ull << (off % 64));
}

void ctl_pod_ip6(uint32_t ip, uint8_t out[16])
{
	uint32_t off = ntohl(ip) - ntohl(node.cfg.pod_net);

	/* pod6_plen leaves at least as many host bits as pod_plen (config). */
	memcpy(out, node.cfg.pod6_net, 16);
	for (int i = 15; i >= 12; i--, off >>= 8)
		out[i] |= (uint8_t)off;
}

uint32_t ctl_ipam_free_count(void)
{
	uint32_t used = 0;

	for (uint32_t w = 0; w < (node.ipam_size + 63) / 64; w++)
		used += (uint32_t)__builtin_popcountll(node.ipam[w]);
	return node.ipam_size - 2 - used;
}
