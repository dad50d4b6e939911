/* Routes from existing engines: podlaned mirrors one kernel routing table
 * (config import_table) into its own, so BIRD, FRR or any agent that
 * installs routes there feeds the dataplane, and withdrawals follow. IPv6
 * routes too on a dual-stack node (one gateway each). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "ctl_netlink.h"
#include "ctl_node.h"
#include "ctl_server.h"

#define ORIGIN "kernel"

/* Events queued for us in the kernel: a router installing a full table
 * sends a million at once, faster than a resync could catch up with. */
#define MON_RCVBUF (32 << 20)
/* After events were lost, the resync waits until they have stopped
 * overflowing for this long: one dump once the storm is over, rather than
 * one per overflow, each overflowing again while it runs. */
#define RESYNC_DELAY_MS 250

static struct mnl_socket *mon;
static int resync_timer = -1;
static uint32_t mirrored;
/* Changes and refusals in this batch: each logged up to LOG_EACH, then
 * one summary (a full table is a million of them). */
#define LOG_EACH 16
static unsigned n_added, n_removed, n_refused;

struct kroute {
	uint32_t table;
	struct ctl_pfx dst;
	uint32_t gw[DP_ECMP_MAX]; /* a multipath route's every next hop */
	uint8_t gw6[DP_ECMP_MAX][16]; /* an IPv6 route's */
	unsigned oif[DP_ECMP_MAX];    /* each next hop's interface */
	unsigned n_gw;
	bool too_many;
};

/* Next hop gateway a (alen bytes) on interface oif, the route's next. */
static void add_gw(struct kroute *k, const void *a, size_t alen, unsigned oif)
{
	if (k->n_gw == DP_ECMP_MAX) {
		k->too_many = true;
		return;
	}
	if (alen == 16)
		memcpy(k->gw6[k->n_gw], a, 16);
	else
		memcpy(&k->gw[k->n_gw], a, 4);
	k->oif[k->n_gw++] = oif;
}

static void parse(const struct nlmsghdr *nlh, struct kroute *k)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t alen = rtm->rtm_family == AF_INET6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	k->table = rtm->rtm_table;
	k->dst.v6 = rtm->rtm_family == AF_INET6;
	k->dst.plen = rtm->rtm_dst_len;
	const void *gw = NULL;
	unsigned oif = 0;

	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_TABLE:
			k->table = mnl_attr_get_u32(a);
			break;
		case RTA_OIF:
			oif = mnl_attr_get_u32(a);
			break;
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) == alen)
				memcpy(k->dst.a, mnl_attr_get_payload(a), alen);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == alen)
				gw = mnl_attr_get_payload(a);
			break;
		case RTA_MULTIPATH: { /* ECMP: each next hop its gateway */
			const struct rtnexthop *nh = mnl_attr_get_payload(a);
			int left = (int)mnl_attr_get_payload_len(a);
			for (; RTNH_OK(nh, left); left -= (int)RTNH_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
				const struct nlattr *na;
				for (na = (const struct nlattr *)RTNH_DATA(nh);
				     mnl_attr_ok(na, (int)((const char *)nh + nh->rtnh_len - (const char *)na));
				     na = mnl_attr_next(na))
					if (mnl_attr_get_type(na) == RTA_GATEWAY &&
					    mnl_attr_get_payload_len(na) == alen)
						add_gw(k, mnl_attr_get_payload(na), alen,
						       (unsigned)nh->rtnh_ifindex);
			}
			break;
		}
		}
	}
	if (gw != NULL && k->n_gw == 0)
		add_gw(k, gw, alen, oif);
}

/* A link-local gateway is the node network's only on its interface: the
 * host port (where the node kernel's BGP daemon meets the node network)
 * or the uplink's. The index of the first of k's that is not, or -1. */
static int misplaced_link_local(const struct kroute *k)
{
	for (unsigned i = 0; k->dst.v6 && i < k->n_gw; i++)
		if (ctl_link_local6(k->gw6[i]) && k->oif[i] != if_nametoindex(node.cfg.host_port) &&
		    (k->oif[i] == 0 || k->oif[i] != node.uplink_ifindex))
			return (int)i;
	return -1;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct kroute k;
	char a[CTL_PFX_STRLEN], b[CTL_IP6_STRLEN];
	(void)data;

	if (!(rtm->rtm_family == AF_INET && node.cfg.has_ipv4) &&
	    !(rtm->rtm_family == AF_INET6 && node.cfg.has_pod6))
		return MNL_CB_OK;
	parse(nlh, &k);
	if (k.table != mirrored)
		return MNL_CB_OK;
	ctl_pfx_str(&k.dst, a);
	struct ctl_route *r = ctl_route_find_pfx(&k.dst);
	if (r != NULL && strcmp(r->origin, ORIGIN) != 0) {
		if (++n_refused <= LOG_EACH)
			ctl_warn("kernel route %s ignored: already a %s route", a, r->origin);
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_type == RTM_DELROUTE) {
		if (r != NULL) {
			ctl_route_remove_pfx(&k.dst);
			if (n_added + ++n_removed <= LOG_EACH)
				ctl_log("kernel route del %s", a);
		}
		return MNL_CB_OK;
	}
	struct dp_nh_spec nh;
	struct ctl_err e = {0};
	if (rtm->rtm_type != RTN_UNICAST || k.n_gw == 0 ||
	    (k.dst.v6 ? ctl_nh_gateways6(&nh, k.gw6, k.n_gw, &e)
		      : ctl_nh_gateways(&nh, k.gw, k.n_gw, &e)) != 0) {
		if (++n_refused <= LOG_EACH)
			ctl_warn("kernel route %s ignored: needs gateways on the node network%s%s", a,
				 e.code ? ": " : "", e.code ? e.msg : "");
		return MNL_CB_OK;
	}
	int bad = misplaced_link_local(&k);
	if (bad >= 0) {
		char ifn[IF_NAMESIZE] = "?";
		if (++n_refused <= LOG_EACH)
			ctl_warn("kernel route %s ignored: via %s on %s, not the node network's interface "
				 "(%s)", a, ctl_ip6_str(k.gw6[bad], b),
				 if_indextoname(k.oif[bad], ifn) ? ifn : "?", node.cfg.host_port);
		return MNL_CB_OK;
	}
	if (k.too_many)
		ctl_warn("kernel route %s: only its first %d next hops are mirrored", a, DP_ECMP_MAX);
	bool is_new = r == NULL || !ctl_nh_same(&r->nh, &nh);
	if (ctl_route_set_pfx(&k.dst, &nh, ORIGIN) != 0) {
		if (++n_refused <= LOG_EACH)
			ctl_warn("kernel route %s not mirrored: route table full (max_routes %u)", a,
				 node.cfg.max_routes);
		return MNL_CB_OK;
	}
	ctl_route_find_pfx(&k.dst)->stale = false;
	if (is_new && ++n_added + n_removed <= LOG_EACH)
		ctl_log("kernel route add %s via %s%s", a,
			k.dst.v6 ? ctl_ip6_str(k.gw6[0], b) : ctl_ip_str(k.gw[0], b),
			k.n_gw > 1 ? " and more (ECMP)" : "");
	return MNL_CB_OK;
}

/* A batch of changes begins; at its end, they are made visible and, when
 * they were too many to log each, summed up. */
static void batch_begin(void)
{
	n_added = n_removed = n_refused = 0;
	dp_route_batch();
}

static void batch_end(void)
{
	dp_commit();
	if (n_added + n_removed > LOG_EACH)
		ctl_log("kernel routes: %u added or changed, %u removed (the first %d logged)",
			n_added, n_removed, LOG_EACH);
	if (n_refused > LOG_EACH)
		ctl_warn("kernel routes: %u not mirrored (the first %d logged)", n_refused, LOG_EACH);
	n_added = n_removed = n_refused = 0;
}

/* Full resync: mark ours stale, dump, drop what the dump did not name. */
static void resync(void)
{
	batch_begin();
	for (uint32_t i = 0; i < node.route_cap; i++)
		if (node.routes[i].used && strcmp(node.routes[i].origin, ORIGIN) == 0)
			node.routes[i].stale = true;
	int rc = node.cfg.has_ipv4 ? ctl_nl_route_dump(AF_INET, on_route, NULL) : 0;
	if (rc == 0 && node.cfg.has_pod6)
		rc = ctl_nl_route_dump(AF_INET6, on_route, NULL);
	if (rc != 0) {
		ctl_error("kernel table %u dump failed: %s", mirrored, strerror(-rc));
		batch_end();
		return;
	}
	for (uint32_t i = 0; i < node.route_cap; i++) {
		struct ctl_route *r = &node.routes[i];
		if (r->used && r->stale && strcmp(r->origin, ORIGIN) == 0) {
			ctl_route_remove_pfx(&r->dst);
			n_removed++;
		}
	}
	batch_end();
}

/* Events were lost: resync once they stop being lost (re-arming pushes
 * the resync back while a storm goes on). */
static void resync_later(void)
{
	struct itimerspec t = {.it_value = {.tv_nsec = RESYNC_DELAY_MS * 1000000L}};

	if (timerfd_settime(resync_timer, 0, &t, NULL) != 0) {
		ctl_error("kernel routes: cannot schedule a resync: %s", strerror(errno));
		resync();
	}
}

static void on_resync_timer(void)
{
	uint64_t n;

	if (read(resync_timer, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	ctl_warn("kernel routes: events were lost (too many at once): reading table %u whole",
		 mirrored);
	resync();
}

static void on_events(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	/* Every change read now, visible together. */
	batch_begin();
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(mon, buf, sizeof(buf));
		if (n < 0) {
			if (errno == ENOBUFS) { /* events lost; the socket goes on */
				resync_later();
				continue;
			}
			break;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, on_route, NULL);
	}
	batch_end();
}

int ctl_kroutes_start(uint32_t table)
{
	int buf = MON_RCVBUF;

	mirrored = table;
	mon = mnl_socket_open(NETLINK_ROUTE);
	if (mon == NULL ||
	    mnl_socket_bind(mon, RTMGRP_IPV4_ROUTE | (node.cfg.has_pod6 ? RTMGRP_IPV6_ROUTE : 0),
			    MNL_SOCKET_AUTOPID) < 0) {
		ctl_error("cannot listen to kernel route events: %s", strerror(errno));
		return -1;
	}
	int fd = mnl_socket_get_fd(mon);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	/* Beyond rmem_max where we may (CAP_NET_ADMIN), else up to it. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	resync_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (resync_timer < 0 || ctl_server_watch_fd(fd, on_events) != 0 ||
	    ctl_server_watch_fd(resync_timer, on_resync_timer) != 0) {
		ctl_error("cannot watch kernel route events: %s", strerror(errno));
		return -1;
	}
	resync(); /* after subscribing, so no change falls between */
	ctl_log("mirroring kernel routing table %u", table);
	return 0;
}
