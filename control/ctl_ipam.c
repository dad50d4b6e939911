/* Pod address pool: a bitmap over pod_cidr's host parts (IPv4's; on an
 * IPv6-only node the first 64 Ki of the IPv6 prefix). Lowest free address
 * first, so an address freed by a deleted pod is the next one given. */
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

static int alloc_off(uint32_t *out)
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
				*out = off;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

static int take(uint32_t off)
{
	if (node.ipam[off / 64] & (1ull << (off % 64)))
		return -EEXIST;
	node.ipam[off / 64] |= 1ull << (off % 64);
	return 0;
}

int ctl_ipam_alloc(uint32_t *ip)
{
	uint32_t off;
	int rc = alloc_off(&off);

	if (rc == 0)
		*ip = htonl(ntohl(node.cfg.pod_net) + off);
	return rc;
}

int ctl_ipam_reserve(uint32_t ip)
{
	uint32_t off;

	return offset_of(ip, &off) != 0 ? -EINVAL : take(off);
}

void ctl_ipam_release(uint32_t ip)
{
	uint32_t off;

	if (offset_of(ip, &off) == 0)
		node.ipam[off / 64] &= ~(1ull << (off % 64));
}

/* The IPv6 pod prefix's address with host part off. */
static void ip6_at(uint32_t off, uint8_t out[16])
{
	memcpy(out, node.cfg.pod6_net, 16);
	for (int i = 15; i >= 12; i--, off >>= 8)
		out[i] |= (uint8_t)off;
}

void ctl_pod_ip6(uint32_t ip, uint8_t out[16])
{
	/* pod6_plen leaves at least as many host bits as pod_plen (config). */
	ip6_at(ntohl(ip) - ntohl(node.cfg.pod_net), out);
}

/* IPv6-only nodes: the pool's offset of ip6; 1 when in the prefix but
 * beyond the pool (a delegated IPAM plugin's address), -EINVAL when not
 * a usable address of the prefix. */
static int offset_of6(const uint8_t ip6[16], uint32_t *off)
{
	uint8_t host[16];

	if (!ctl_in_prefix6(ip6, node.cfg.pod6_net, node.cfg.pod6_plen))
		return -EINVAL;
	ctl_net6(ip6, node.cfg.pod6_plen, host);
	for (int i = 0; i < 16; i++)
		host[i] ^= ip6[i];
	*off = (uint32_t)host[14] << 8 | host[15];
	for (int i = 0; i < 14; i++)
		if (host[i] != 0)
			*off = UINT32_MAX;
	if (*off == 0)
		return -EINVAL; /* the prefix's own address (subnet-router anycast) */
	return *off < node.ipam_size ? 0 : 1;
}

int ctl_ipam_alloc6(uint8_t ip6[16])
{
	uint32_t off;
	int rc = alloc_off(&off);

	if (rc == 0)
		ip6_at(off, ip6);
	return rc;
}

int ctl_ipam_reserve6(const uint8_t ip6[16])
{
	uint32_t off;
	int rc = offset_of6(ip6, &off);

	if (rc == 1)
		return 0; /* beyond the pool: pod.add checks it is not in use */
	return rc != 0 || !usable(off) ? -EINVAL : take(off);
}

void ctl_ipam_release6(const uint8_t ip6[16])
{
	uint32_t off;

	if (offset_of6(ip6, &off) == 0 && usable(off))
		node.ipam[off / 64] &= ~(1ull << (off % 64));
}

uint32_t ctl_ipam_free_count(void)
{
	uint32_t used = 0;

	for (uint32_t w = 0; w < (node.ipam_size + 63) / 64; w++)
		used += (uint32_t)__builtin_popcountll(node.ipam[w]);
	return node.ipam_size - 2 - used;
}
