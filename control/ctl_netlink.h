/* Minimal rtnetlink (libmnl) for what podlaned sets up in a netns: link
 * MAC/up, an address, routes. Each call talks to the netns the calling
 * thread is in at that moment, except through a socket from ctl_nl_open,
 * which stays in the netns it was opened in. Return 0 or a negative
 * errno. */
#ifndef CTL_NETLINK_H
#define CTL_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <rte_ether.h>

/* Changes go out as a batch: requests are appended, then sent in one write
 * over one socket, and the answers are read (a pod's six changes cost one
 * socket and about four syscalls instead of six sockets and thirty). The
 * kernel runs them in order, and a refused one does not stop the rest:
 * callers undo by deleting the link. */
#define CTL_NL_BATCH_MAX 8
struct ctl_nl_batch {
	unsigned n;
	uint32_t optional; /* requests whose refusal is not an error */
	size_t len, last; /* last: offset of the last request */
	char buf[CTL_NL_BATCH_MAX * 128]; /* our requests are under 128 bytes each */
};

void ctl_nl_batch_init(struct ctl_nl_batch *b);
/* Up (or not), with MAC mac (NULL: as it is; one it has already is not
 * set again, which would flush its neighbours). */
void ctl_nl_link_set(struct ctl_nl_batch *b, int ifindex, const struct rte_ether_addr *mac,
		     bool up);
/* Take a link down and rename it (two requests: the kernel renames only
 * links that are down). */
void ctl_nl_link_rename(struct ctl_nl_batch *b, int ifindex, const char *name);
/* MTU and gso_max_size of a link; 0 leaves either as it is. */
void ctl_nl_link_sizes(struct ctl_nl_batch *b, int ifindex, uint32_t mtu, uint32_t gso_max_size);
/* No IPv6 link-local address (addr_gen_mode none), asked before the link
 * goes up: a pod reaches fe80::1 from its own IPv6 address (if it has
 * one), so a link-local address, its DAD and router solicitations would
 * be work and drops for nothing. Optional: a link without IPv6 (kernel
 * without it, MTU under 1280) refuses it. */
void ctl_nl_link_no_ipv6_ll(struct ctl_nl_batch *b, int ifindex);
void ctl_nl_addr_add(struct ctl_nl_batch *b, int ifindex, uint32_t ip, uint8_t plen);
/* IPv6, without duplicate address detection (podlaned gave the address:
 * nobody else has it, and DAD would hold it tentative for a second). */
void ctl_nl_addr6_add(struct ctl_nl_batch *b, int ifindex, const uint8_t ip[16], uint8_t plen);
/* gw NULL: a direct route. */
void ctl_nl_route6_add(struct ctl_nl_batch *b, const uint8_t dst[16], uint8_t plen,
		       const uint8_t *gw, int ifindex);
/* gw 0 means a direct route (scope link). */
void ctl_nl_route_add(struct ctl_nl_batch *b, uint32_t dst, uint8_t plen, uint32_t gw,
		      int ifindex);
/* Send the batch to the netns the calling thread is in. 0 when every
 * request succeeded, else the negative errno of the first refused one and
 * its position (from 0, in the order appended) in *failed. */
int ctl_nl_batch_send(struct ctl_nl_batch *b, unsigned *failed);
/* Dump the routes of one family (AF_INET, AF_INET6) of every table to cb
 * (libmnl callback). */
int ctl_nl_route_dump(int family, int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);
/* Does ifindex hold ip/plen? 1 yes, 0 no, negative errno. */
int ctl_nl_addr_present(int ifindex, uint32_t ip, uint8_t plen);
int ctl_nl_addr6_present(int ifindex, const uint8_t ip[16], uint8_t plen);
/* Is dst/plen routed through ifindex (via gw; 0: directly) in the main
 * table? 1 yes, 0 no, negative errno. */
int ctl_nl_route_present(int ifindex, uint32_t dst, uint8_t plen, uint32_t gw);
int ctl_nl_route6_present(int ifindex, const uint8_t dst[16], uint8_t plen, const uint8_t gw[16]);

/* A socket in the calling thread's netns, to ask about its links later
 * from any netns; NULL (errno set) on failure. */
struct mnl_socket *ctl_nl_open(void);
void ctl_nl_close(struct mnl_socket *nl); /* NULL: nothing */
/* What podlaned watches of a link it made: the MTU the pod may change,
 * and tx_dropped: what the pod's stack sent that the kernel dropped (a
 * TAP's queue full) before podlaned read it. */
struct ctl_nl_link {
	uint32_t mtu;
	uint64_t tx_dropped;
};
/* Link name, asked over nl (NULL: the calling thread's netns). */
int ctl_nl_link_get(struct mnl_socket *nl, const char *name, struct ctl_nl_link *out);

#endif
