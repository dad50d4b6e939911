/* Routes from existing engines: podlaned mirrors one kernel routing table
 * (config import_table) into its own, so BIRD, FRR or any agent that
 * installs routes there feeds the dataplane, and withdrawals follow. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "ctl_netlink.h"
#include "ctl_node.h"

#define ORIGIN "kernel"

static struct mnl_socket *mon;
static uint32_t mirrored;

struct kroute {
	uint32_t table, dst;
	uint32_t gw[DP_ECMP_MAX]; /* a multipath route's every next hop */
	unsigned n_gw;
	uint8_t plen;
	bool too_many;
};

static void parse(const struct nlmsghdr *nlh, struct kroute *k)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	memset(k, 0, sizeof(*k));
	k->table = rtm->rtm_table;
	k->plen = rtm->rtm_dst_len;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_TABLE:
			k->table = mnl_attr_get_u32(a);
			break;
		case RTA_DST:
			k->dst = mnl_attr_get_u32(a);
			break;
		case RTA_GATEWAY:
			k->gw[0] = mnl_attr_get_u32(a);
			k->n_gw = 1;
			break;
		case RTA_MULTIPATH: { /* ECMP: each next hop its gateway */
			const struct rtnexthop *nh = mnl_attr_get_payload(a);
			int left = (int)mnl_attr_get_payload_len(a);
			for (; RTNH_OK(nh, left); left -= (int)RTNH_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
				const struct nlattr *na;
				for (na = (const struct nlattr *)RTNH_DATA(nh);
				     mnl_attr_ok(na, (int)((const char *)nh + nh->rtnh_len - (const char *)na));
				     na = mnl_attr_next(na)) {
					if (mnl_attr_get_type(na) != RTA_GATEWAY)
						continue;
					if (k->n_gw == DP_ECMP_MAX)
						k->too_many = true;
					else
						k->gw[k->n_gw++] = mnl_attr_get_u32(na);
				}
			}
			break;
		}
		}
	}
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct kroute k;
	char a[16], b[16];
	bool *changed = data;

	if (rtm->rtm_family != AF_INET)
		return MNL_CB_OK;
	parse(nlh, &k);
	if (k.table != mirrored)
		return MNL_CB_OK;
	struct ctl_route *r = ctl_route_find(k.dst, k.plen);
	if (r != NULL && strcmp(r->origin, ORIGIN) != 0) {
		ctl_warn("kernel route %s/%u ignored: already a %s route", ctl_ip_str(k.dst, a), k.plen,
			r->origin);
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_type == RTM_DELROUTE) {
		if (r != NULL) {
			ctl_route_remove(k.dst, k.plen);
			ctl_log("kernel route del %s/%u", ctl_ip_str(k.dst, a), k.plen);
			*changed = true;
		}
		return MNL_CB_OK;
	}
	struct dp_nh_spec nh;
	struct ctl_err e = {0};
	if (rtm->rtm_type != RTN_UNICAST || k.n_gw == 0 || ctl_nh_gateways(&nh, k.gw, k.n_gw, &e) != 0) {
		ctl_warn("kernel route %s/%u ignored: needs gateways on the node network%s%s",
			 ctl_ip_str(k.dst, a), k.plen, e.code ? ": " : "", e.code ? e.msg : "");
		return MNL_CB_OK;
	}
	if (k.too_many)
		ctl_warn("kernel route %s/%u: only its first %d next hops are mirrored",
			 ctl_ip_str(k.dst, a), k.plen, DP_ECMP_MAX);
	bool is_new = r == NULL || !ctl_nh_same(&r->nh, &nh);
	if (ctl_route_set(k.dst, k.plen, &nh, ORIGIN) != 0) {
		ctl_warn("kernel route %s/%u not mirrored: route table full", ctl_ip_str(k.dst, a), k.plen);
		return MNL_CB_OK;
	}
	ctl_route_find(k.dst, k.plen)->stale = false;
	if (is_new) {
		ctl_log("kernel route add %s/%u via %s%s", ctl_ip_str(k.dst, a), k.plen,
			ctl_ip_str(k.gw[0], b), k.n_gw > 1 ? " and more (ECMP)" : "");
		*changed = true;
	}
	return MNL_CB_OK;
}

/* Full resync: mark ours stale, dump, drop what the dump did not name. */
static void resync(void)
{
	bool changed = false;

	for (uint32_t i = 0; i < node.route_cap; i++)
		if (node.routes[i].used && strcmp(node.routes[i].origin, ORIGIN) == 0)
			node.routes[i].stale = true;
	int rc = ctl_nl_route_dump(on_route, &changed);
	if (rc != 0) {
		ctl_error("kernel table %u dump failed: %s", mirrored, strerror(-rc));
		return;
	}
	for (uint32_t i = 0; i < node.route_cap; i++) {
		struct ctl_route *r = &node.routes[i];
		if (r->used && r->stale && strcmp(r->origin, ORIGIN) == 0) {
			ctl_route_remove(r->prefix, r->plen);
			changed = true;
		}
	}
	if (changed)
		dp_commit();
}

int ctl_kroutes_start(uint32_t table)
{
	mirrored = table;
	mon = mnl_socket_open(NETLINK_ROUTE);
	if (mon == NULL || mnl_socket_bind(mon, RTMGRP_IPV4_ROUTE, MNL_SOCKET_AUTOPID) < 0) {
		ctl_error("cannot listen to kernel route events: %s", strerror(errno));
		return -1;
	}
	int fd = mnl_socket_get_fd(mon);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	resync(); /* after subscribing, so no change falls between */
	ctl_log("mirroring kernel routing table %u", table);
	return fd;
}

void ctl_kroutes_event(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	bool changed = false;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(mon, buf, sizeof(buf));
		if (n < 0) {
			if (errno == ENOBUFS) { /* events were lost: start over */
				resync();
				continue;
			}
			break;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, on_route, &changed);
	}
	if (changed)
		dp_commit();
}
