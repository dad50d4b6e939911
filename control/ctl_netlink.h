/* Minimal rtnetlink (libmnl) for what podlaned sets up in a netns: link
 * MAC/up, an address, routes. Each call talks to the netns the calling
 * thread is in at that moment. Return 0 or a negative errno. */
#ifndef CTL_NETLINK_H
#define CTL_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <rte_ether.h>

int ctl_nl_link_set(int ifindex, const struct rte_ether_addr *mac, bool up);
/* MTU and gso_max_size of a link; 0 leaves either as it is. */
int ctl_nl_link_sizes(int ifindex, uint32_t mtu, uint32_t gso_max_size);
int ctl_nl_addr_add(int ifindex, uint32_t ip, uint8_t plen);
/* gw 0 means a direct route (scope link). */
int ctl_nl_route_add(uint32_t dst, uint8_t plen, uint32_t gw, int ifindex);
/* Dump the IPv4 routes of every table to cb (libmnl callback). */
int ctl_nl_route_dump(int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);
/* Does ifindex hold ip/plen? 1 yes, 0 no, negative errno. */
int ctl_nl_addr_present(int ifindex, uint32_t ip, uint8_t plen);

#endif
