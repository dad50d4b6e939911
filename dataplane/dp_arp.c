/* ARP on each kind of port: answer for the node IP on the uplink, proxy
 * for the pod gateway on pod ports and for pod space on the host port,
 * hand replies to the control thread, which owns the neighbour table. */
#include "dp_priv.h"

static void arp_reply(struct dp_worker *w, uint16_t port, struct rte_mbuf *m,
		      struct rte_arp_hdr *arp)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const struct rte_ether_addr *mac = &dp.ports[port].mac;
	uint32_t tip = arp->arp_data.arp_tip;

	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	rte_ether_addr_copy(mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = tip;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(mac, &eth->src_addr);
	w->stats.arp_replies++;
	dp_tx(w, port, m);
}

void dp_arp_input(struct dp_worker *w, uint16_t port, struct rte_mbuf *m)
{
	const struct dp_port *p = &dp.ports[port];
	struct rte_arp_hdr *arp;

	if (m->data_len < sizeof(struct rte_ether_hdr) + sizeof(*arp)) {
		dp_drop(w, m, DP_DROP_ARP_INVALID);
		return;
	}
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		dp_drop(w, m, DP_DROP_ARP_INVALID);
		return;
	}
	bool request = arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST);
	uint32_t sip = arp->arp_data.arp_sip, tip = arp->arp_data.arp_tip;

	switch (p->kind) {
	case DP_PORT_UPLINK:
		if (request && tip == dp.cfg.node_ip)
			arp_reply(w, port, m, arp);
		else if (arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY))
			dp_punt(w, m);
		else
			dp_drop(w, m, DP_DROP_NOT_FOR_US);
		return;
	case DP_PORT_HOST:
		/* The kernel asks for a real neighbour on the node network:
		 * let it ask; anything else is reached through us. */
		if (request && ((tip ^ dp.cfg.node_ip) & dp.node_mask) != 0)
			arp_reply(w, port, m, arp);
		else
			dp_tx(w, dp.uplink, m);
		return;
	default:
		/* Pods route everything via the gateway; never answer for the
		 * pod's own address (duplicate address detection), nor a pod
		 * claiming another address. */
		if (sip != p->peer_ip && sip != 0)
			dp_drop(w, m, DP_DROP_SPOOFED);
		else if (request && sip != tip && tip != p->peer_ip)
			arp_reply(w, port, m, arp);
		else
			dp_drop(w, m, DP_DROP_NOT_FOR_US);
	}
}

struct rte_mbuf *dp_arp_request(uint16_t port, uint32_t target)
{
	if (port >= DP_MAX_PORTS) /* no uplink (yet): no one to ask */
		return NULL;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	const struct rte_ether_addr *mac = &dp.ports[port].mac;

	if (m == NULL)
		return NULL;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	rte_ether_addr_copy(mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	rte_ether_addr_copy(mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = dp.cfg.node_ip;
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = target;
	return m;
}
