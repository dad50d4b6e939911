/* IPv6 frames to the link of a pod or of the node kernel (the host port),
 * and the node network's NDP (the uplink, below), and solicitations of
 * the uplink's IPv6 neighbours (dp_ndp_solicit). On pods' and the host's:
 * neighbour solicitations for the gateway fe80::1 answered with the
 * port's MAC (what proxy ARP does for 169.254.1.1), echo requests to the
 * gateway answered; a pod's neighbour advertisement for an address not its
 * own is a spoof; the rest (MLD reports, router solicitations,
 * solicitations for other addresses) is not for us, or, from the node
 * kernel, for its neighbours on the node network (the uplink). Checks as
 * RFC 4861 7.1.1 asks. Runs on worker lcores. */
#include "dp_ip6.h"

struct ndp_msg {
	uint8_t type, code;
	rte_be16_t cksum;
	rte_be32_t flags; /* NA: R, S, O; NS: reserved; echo: id and sequence */
	uint8_t target[16];
} __rte_packed;

struct ndp_lladdr_opt {
	uint8_t type; /* 2: target link-layer address */
	uint8_t len;  /* in units of 8 bytes */
	uint8_t mac[RTE_ETHER_ADDR_LEN];
} __rte_packed;

#define NA_ROUTER RTE_BE32(0x80000000u)
#define NA_SOLICITED RTE_BE32(0x40000000u)
#define NA_OVERRIDE RTE_BE32(0x20000000u)

/* The advertisement of fe80::1 at port's MAC, in place of the solicitation. */
static void advertise(struct dp_worker *w, uint16_t port, struct rte_mbuf *m)
{
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	struct ndp_msg *na = (struct ndp_msg *)(ip + 1);
	struct ndp_lladdr_opt *opt = (struct ndp_lladdr_opt *)(na + 1);
	const struct rte_ether_addr *mac = &dp.ports[port].mac;
	bool dad = dp_ip6_eq(ip->src_addr, dp_ip6_unspecified);
	uint32_t len = sizeof(*eth) + sizeof(*ip) + sizeof(*na) + sizeof(*opt);

	if (rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - len)) != 0) {
		dp_drop(w, m, DP_DROP_NDP_INVALID);
		return;
	}
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(mac, &eth->src_addr);
	memcpy(ip->dst_addr, dad ? all_nodes : ip->src_addr, 16);
	memcpy(ip->src_addr, dp_ip6_gateway, 16);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(sizeof(*na) + sizeof(*opt)));
	ip->hop_limits = 255;
	na->type = DP_ICMP6_NA;
	na->code = 0;
	na->flags = NA_ROUTER | NA_OVERRIDE | (dad ? 0 : NA_SOLICITED);
	opt->type = 2;
	opt->len = 1;
	memcpy(opt->mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	na->cksum = 0;
	na->cksum = rte_ipv6_udptcp_cksum(ip, na);
	w->stats.ndp_replies++;
	dp_tx(w, port, m);
}

/* The echo reply to a ping of fe80::1, in place. */
static void echo_reply(struct dp_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	struct ndp_msg *icmp = (struct ndp_msg *)(ip + 1);

	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&dp.ports[port].mac, &eth->src_addr);
	memcpy(ip->dst_addr, ip->src_addr, 16);
	memcpy(ip->src_addr, dp_ip6_gateway, 16);
	ip->hop_limits = 64;
	icmp->type = DP_ICMP6_ECHO_REPLY;
	icmp->cksum = 0;
	icmp->cksum = rte_ipv6_udptcp_cksum(ip, icmp);
	dp_tx(w, port, m);
}

struct rte_mbuf *dp_ndp_solicit(uint16_t port, const uint8_t target[16])
{
	if (port >= DP_MAX_PORTS || !dp.cfg.has_node6)
		return NULL;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL)
		return NULL;
	const struct rte_ether_addr *mac = &dp.ports[port].mac;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(struct rte_ipv6_hdr) + sizeof(struct ndp_msg) +
			   sizeof(struct ndp_lladdr_opt));
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	struct ndp_msg *ns = (struct ndp_msg *)(ip + 1);
	struct ndp_lladdr_opt *opt = (struct ndp_lladdr_opt *)(ns + 1);
	/* The target's solicited-node group, ff02::1:ffXX:XXXX. */
	static const uint8_t group[13] = {0xff, 0x02, [11] = 1, [12] = 0xff};

	eth->dst_addr = (struct rte_ether_addr){{0x33, 0x33, 0xff, target[13], target[14], target[15]}};
	rte_ether_addr_copy(mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = RTE_BE32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(sizeof(*ns) + sizeof(*opt)));
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	memcpy(ip->src_addr, dp.cfg.node_ip6, 16);
	memcpy(ip->dst_addr, group, sizeof(group));
	memcpy(ip->dst_addr + 13, target + 13, 3);
	*ns = (struct ndp_msg){.type = DP_ICMP6_NS};
	memcpy(ns->target, target, 16);
	opt->type = 1; /* source link-layer address */
	opt->len = 1;
	memcpy(opt->mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	ns->cksum = rte_ipv6_udptcp_cksum(ip, ns);
	return m;
}

/* From the node network: an advertisement to our MAC answers a
 * solicitation of ours or the node kernel's: the control thread learns it
 * and hands it to the kernel (dp_neigh.c); all else there is the node
 * kernel's (it answers solicitations of the node's address itself). */
static void uplink_ndp(struct dp_worker *w, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	const struct ndp_msg *na = (const struct ndp_msg *)(ip + 1);
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);

	if (ip->proto == IPPROTO_ICMPV6 && plen >= sizeof(*na) && na->type == DP_ICMP6_NA &&
	    rte_is_same_ether_addr(&eth->dst_addr, &dp.ports[m->port].mac) &&
	    m->data_len >= sizeof(*eth) + sizeof(*ip) + plen && ip->hop_limits == 255 &&
	    rte_ipv6_udptcp_cksum_verify(ip, na) == 0) {
		m->hash.usr = DP_PUNT_NA;
		dp_punt(w, m);
		return;
	}
	dp_tx(w, dp.host, m);
}

/* What we do not answer: the node kernel's goes on to the node network
 * (it is a host there: its solicitations share fe80::1's group), a pod's
 * is dropped. */
static void not_ours(struct dp_worker *w, uint16_t port, struct rte_mbuf *m)
{
	if (port == dp.host)
		dp_tx(w, dp.uplink, m);
	else
		dp_drop(w, m, DP_DROP_NOT_FOR_US);
}

void dp_ndp_input(struct dp_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct rte_ipv6_hdr *ip = dp_ip6_hdr(m);
	struct ndp_msg *msg = (struct ndp_msg *)(ip + 1);
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
	const struct dp_port *p = &dp.ports[port];

	if (p->kind == DP_PORT_UPLINK) {
		uplink_ndp(w, m);
		return;
	}
	if (ip->proto != IPPROTO_ICMPV6 || plen < 8) {
		not_ours(w, port, m);
		return;
	}
	/* One segment holds it all (a pod's NDP is short); the sum is good. */
	if (m->data_len < sizeof(struct rte_ether_hdr) + sizeof(*ip) + plen ||
	    rte_ipv6_udptcp_cksum_verify(ip, msg) != 0) {
		dp_drop(w, m, DP_DROP_NDP_INVALID);
		return;
	}
	switch (msg->type) {
	case DP_ICMP6_NS:
		if (ip->hop_limits != 255 || msg->code != 0 || plen < sizeof(*msg)) {
			dp_drop(w, m, DP_DROP_NDP_INVALID);
			return;
		}
		if (p->kind == DP_PORT_POD && !dp_ip6_link_scope(ip->src_addr) &&
		    !dp_ip6_eq(ip->src_addr, dp_ip6_unspecified) && !dp_ip6_eq(ip->src_addr, p->peer_ip6)) {
			dp_drop(w, m, DP_DROP_SPOOFED);
			return;
		}
		if (!dp_ip6_eq(msg->target, dp_ip6_gateway)) {
			not_ours(w, port, m);
			return;
		}
		advertise(w, port, m);
		return;
	case DP_ICMP6_NA:
		/* A pod may advertise its own address, no other. */
		if (p->kind == DP_PORT_POD && plen >= sizeof(*msg) &&
		    !dp_ip6_eq(msg->target, p->peer_ip6))
			dp_drop(w, m, DP_DROP_SPOOFED);
		else
			not_ours(w, port, m);
		return;
	case DP_ICMP6_ECHO_REQUEST:
		if (dp_ip6_eq(ip->dst_addr, dp_ip6_gateway) && msg->code == 0) {
			echo_reply(w, port, m);
			return;
		}
		break;
	default:
		break;
	}
	not_ours(w, port, m);
}
