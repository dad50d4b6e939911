#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <rte_debug.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "ctl_netlink.h"

/* An address (or route) looked for: 4 bytes of ip for AF_INET, 16 for
 * AF_INET6. */
struct nl_req {
	int ifindex;
	int family;
	uint8_t ip[16];
	uint8_t plen;
	int found;
};

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* Is attribute a the address ip of family? */
static bool attr_is(const struct nlattr *a, int family, const uint8_t *ip)
{
	return mnl_attr_get_payload_len(a) == addr_len(family) &&
	       memcmp(mnl_attr_get_payload(a), ip, addr_len(family)) == 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req *r = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	/* IPv6 addresses have no IFA_LOCAL on a link without a peer. */
	int type = r->family == AF_INET6 ? IFA_ADDRESS : IFA_LOCAL;
	const struct nlattr *a;

	if ((int)ifa->ifa_index != r->ifindex || ifa->ifa_family != r->family ||
	    ifa->ifa_prefixlen != r->plen)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
		if (mnl_attr_get_type(a) == type && attr_is(a, r->family, r->ip))
			r->found = 1;
	return MNL_CB_OK;
}

struct mnl_socket *ctl_nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (nl != NULL && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = errno;
		mnl_socket_close(nl);
		errno = rc;
		return NULL;
	}
	return nl;
}

void ctl_nl_close(struct mnl_socket *nl)
{
	if (nl != NULL)
		mnl_socket_close(nl);
}

/* Send one request over nl and read until its ACK (or the end of a dump). */
static int nl_talk_on(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static uint32_t seq;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	int rc;

	nlh->nlmsg_seq = ++seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
	} while (rc > MNL_CB_STOP);
	return rc < 0 ? -errno : 0;
}

/* The same over a socket of its own, in the calling thread's netns. */
static int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = ctl_nl_open();

	if (nl == NULL)
		return -errno;
	int rc = nl_talk_on(nl, nlh, cb, data);
	mnl_socket_close(nl);
	return rc;
}

void ctl_nl_batch_init(struct ctl_nl_batch *b)
{
	b->n = 0;
	b->optional = 0;
	b->len = 0;
	b->last = 0;
}

/* The next request of the batch; its sequence number is its position. */
static struct nlmsghdr *batch_next(struct ctl_nl_batch *b, uint16_t type, uint16_t flags)
{
	RTE_VERIFY(b->n < CTL_NL_BATCH_MAX);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf + b->len);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags; /* NLM_F_ACK: the last one only */
	nlh->nlmsg_seq = b->n++;
	b->last = b->len;
	return nlh;
}

static void batch_done(struct ctl_nl_batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	RTE_VERIFY(b->len <= 128 * b->n); /* each request fits its share of buf */
}

/* An RTM_NEWLINK request changing link ifindex, attributes to follow. */
static struct nlmsghdr *link_change(struct ctl_nl_batch *b, int ifindex, struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh = batch_next(b, RTM_NEWLINK, 0);

	*ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifi));
	(*ifi)->ifi_family = AF_UNSPEC;
	(*ifi)->ifi_index = ifindex;
	return nlh;
}

/* Whether interface ifindex (of the netns we are in) has MAC mac. */
static bool has_mac(int ifindex, const struct rte_ether_addr *mac)
{
	struct ifreq ifr = {.ifr_ifindex = ifindex};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool same = fd >= 0 && ioctl(fd, SIOCGIFNAME, &ifr) == 0 &&
		    ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 &&
		    memcmp(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, RTE_ETHER_ADDR_LEN) == 0;

	if (fd >= 0)
		close(fd);
	return same;
}

void ctl_nl_link_set(struct ctl_nl_batch *b, int ifindex, const struct rte_ether_addr *mac,
		     bool up)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(b, ifindex, &ifi);

	ifi->ifi_change = up ? IFF_UP : 0;
	ifi->ifi_flags = up ? IFF_UP : 0;
	/* Not set again when it is already: the kernel would flush the
	 * interface's neighbours, dropping a packet on its way through one
	 * (a pod's ping as a restarted podlaned took its TAP over). */
	if (mac != NULL && !has_mac(ifindex, mac))
		mnl_attr_put(nlh, IFLA_ADDRESS, RTE_ETHER_ADDR_LEN, mac->addr_bytes);
	batch_done(b, nlh);
}

void ctl_nl_link_rename(struct ctl_nl_batch *b, int ifindex, const char *name)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(b, ifindex, &ifi);

	ifi->ifi_change = IFF_UP; /* and ifi_flags 0: down */
	batch_done(b, nlh);
	nlh = link_change(b, ifindex, &ifi);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	batch_done(b, nlh);
}

void ctl_nl_link_sizes(struct ctl_nl_batch *b, int ifindex, uint32_t mtu, uint32_t gso_max_size)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(b, ifindex, &ifi);

	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (gso_max_size)
		mnl_attr_put_u32(nlh, IFLA_GSO_MAX_SIZE, gso_max_size);
	batch_done(b, nlh);
}

void ctl_nl_link_no_ipv6_ll(struct ctl_nl_batch *b, int ifindex)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_change(b, ifindex, &ifi);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *inet6 = mnl_attr_nest_start(nlh, AF_INET6);

	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	b->optional |= 1u << nlh->nlmsg_seq;
	batch_done(b, nlh);
}

void ctl_nl_addr_add(struct ctl_nl_batch *b, int ifindex, uint32_t ip, uint8_t plen)
{
	struct nlmsghdr *nlh = batch_next(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, ip);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, ip);
	batch_done(b, nlh);
}

void ctl_nl_addr6_add(struct ctl_nl_batch *b, int ifindex, const uint8_t ip[16], uint8_t plen)
{
	struct nlmsghdr *nlh = batch_next(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_flags = IFA_F_NODAD;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 16, ip);
	mnl_attr_put(nlh, IFA_ADDRESS, 16, ip);
	batch_done(b, nlh);
}

void ctl_nl_route6_add(struct ctl_nl_batch *b, const uint8_t dst[16], uint8_t plen,
		       const uint8_t *gw, int ifindex)
{
	struct nlmsghdr *nlh = batch_next(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, RTA_DST, 16, dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, 16, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	batch_done(b, nlh);
}

void ctl_nl_route_add(struct ctl_nl_batch *b, uint32_t dst, uint8_t plen, uint32_t gw,
		      int ifindex)
{
	struct nlmsghdr *nlh = batch_next(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	mnl_attr_put_u32(nlh, RTA_DST, dst);
	if (gw)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	batch_done(b, nlh);
}

int ctl_nl_batch_send(struct ctl_nl_batch *b, unsigned *failed)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	bool done = b->n == 0;
	int rc = 0;

	*failed = 0;
	if (nl == NULL)
		return -errno;
	/* The kernel answers a request without NLM_F_ACK only if it refuses
	 * it, and runs them in order: the last one's answer comes after every
	 * other, so one read usually sees the whole batch through. */
	if (b->n)
		((struct nlmsghdr *)(b->buf + b->last))->nlmsg_flags |= NLM_F_ACK;
	/* Bound (portid chosen by the kernel) on the first send; every answer
	 * to this socket is ours. */
	if (mnl_socket_sendto(nl, b->buf, b->len) < 0) {
		rc = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		int left = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq >= b->n)
				continue;
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(h);
			done |= h->nlmsg_seq == b->n - 1;
			if (err->error != 0 && rc == 0 && !(b->optional & (1u << h->nlmsg_seq))) {
				rc = err->error;
				*failed = h->nlmsg_seq;
			}
		}
	}
out:
	mnl_socket_close(nl);
	return rc;
}

int ctl_nl_route_dump(int family, int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	return nl_talk(nlh, cb, data);
}

static int addr_present(int ifindex, int family, const void *ip, uint8_t plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct nl_req r = {.ifindex = ifindex, .family = family, .plen = plen};

	memcpy(r.ip, ip, addr_len(family));
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	int rc = nl_talk(nlh, addr_cb, &r);
	return rc < 0 ? rc : r.found;
}

int ctl_nl_addr_present(int ifindex, uint32_t ip, uint8_t plen)
{
	return addr_present(ifindex, AF_INET, &ip, plen);
}

int ctl_nl_addr6_present(int ifindex, const uint8_t ip[16], uint8_t plen)
{
	return addr_present(ifindex, AF_INET6, ip, plen);
}

/* A route looked for: dst in ip, gw all zeroes when there is none. */
struct route_req {
	struct nl_req dst;
	uint8_t gw[16];
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_req *r = data;
	static const uint8_t none[16];
	bool dst = r->dst.plen == 0, gw = memcmp(r->gw, none, 16) == 0;
	uint32_t oif = 0;
	const struct nlattr *a;

	if (rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_dst_len != r->dst.plen)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_DST)
			dst = attr_is(a, r->dst.family, r->dst.ip);
		else if (mnl_attr_get_type(a) == RTA_GATEWAY)
			gw = attr_is(a, r->dst.family, r->gw);
		else if (mnl_attr_get_type(a) == RTA_OIF)
			oif = mnl_attr_get_u32(a);
	}
	if (dst && gw && oif == (uint32_t)r->dst.ifindex)
		r->dst.found = 1;
	return MNL_CB_OK;
}

static int route_present(int ifindex, int family, const void *dst, uint8_t plen, const void *gw)
{
	struct route_req r = {.dst = {.ifindex = ifindex, .family = family, .plen = plen}};

	memcpy(r.dst.ip, dst, addr_len(family));
	memcpy(r.gw, gw, addr_len(family));
	int rc = ctl_nl_route_dump(family, route_cb, &r);
	return rc < 0 ? rc : r.dst.found;
}

int ctl_nl_route_present(int ifindex, uint32_t dst, uint8_t plen, uint32_t gw)
{
	return route_present(ifindex, AF_INET, &dst, plen, &gw);
}

int ctl_nl_route6_present(int ifindex, const uint8_t dst[16], uint8_t plen, const uint8_t gw[16])
{
	return route_present(ifindex, AF_INET6, dst, plen, gw);
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctl_nl_link *l = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(a) == IFLA_MTU && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->mtu = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == IFLA_STATS64 &&
			 mnl_attr_get_payload_len(a) >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;
			memcpy(&st, mnl_attr_get_payload(a), sizeof(st)); /* 4-byte aligned */
			l->tx_dropped = st.tx_dropped;
		}
	}
	return MNL_CB_OK;
}

int ctl_nl_link_get(struct mnl_socket *nl, const char *name, struct ctl_nl_link *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	memset(out, 0, sizeof(*out));
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK; /* nl_talk_on reads to the ACK */
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl != NULL ? nl_talk_on(nl, nlh, link_cb, out) : nl_talk(nlh, link_cb, out);
}
