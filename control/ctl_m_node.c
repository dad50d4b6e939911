/* Methods about the node as a whole: node.info, version, port.list, stats.get. */
#include <rte_version.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

static json_t *m_version(json_t *params, struct ctl_err *e)
{
	(void)params;
	(void)e;
	return json_pack("{s:s, s:s}", "version", PODLANE_VERSION, "dpdk", rte_version());
}
CTL_METHOD(PL_M_VERSION, m_version)

static json_t *m_node_info(json_t *params, struct ctl_err *e)
{
	char a[16], mac[18], node_ip[CTL_PREFIX_STRLEN], pod[CTL_PREFIX_STRLEN];
	char cluster[CTL_PREFIX_STRLEN], service[CTL_PREFIX_STRLEN];
	unsigned pods = 0;

	(void)params;
	(void)e;
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		pods += node.pods[i].used;
	json_t *o = json_object();
	/* An IPv6-only node has none of IPv4's keys (node_ip6, pod_cidr6 ...). */
	if (node.cfg.has_ipv4)
		json_object_set_new(o, "node_ip", json_string(ctl_prefix_str(node.cfg.node_ip,
									    node.cfg.node_plen, node_ip)));
	json_object_set_new(o, "node_mac", json_string(ctl_mac_str(&node.node_mac, mac)));
	if (node.cfg.has_ipv4) {
		json_object_set_new(o, "pod_cidr", json_string(ctl_prefix_str(
							   node.cfg.pod_net, node.cfg.pod_plen, pod)));
		json_object_set_new(o, "cluster_cidr",
				    json_string(ctl_prefix_str(node.cfg.cluster_net,
							       node.cfg.cluster_plen, cluster)));
	}
	json_object_set_new(o, "host_port", json_string(node.cfg.host_port));
	if (node.cfg.has_ipv4)
		json_object_set_new(o, "gateway_for_pods", json_string(PL_POD_GATEWAY));
	json_object_update_new(o, json_pack("{s:i, s:i, s:i, s:i, s:b}", "workers",
					    node.cfg.workers, "pods", pods, "routes", node.n_routes,
					    "free_ips", ctl_ipam_free_count(), "ready", node.ready));
	if (node.cfg.has_gateway)
		json_object_set_new(o, "gateway", json_string(ctl_ip_str(node.cfg.gateway, a)));
	/* The IPv6 prefixes beside (the keys above stay IPv4). */
	if (node.cfg.has_gateway6) {
		char a6[CTL_IP6_STRLEN];
		json_object_set_new(o, "gateway6", json_string(ctl_ip6_str(node.cfg.gateway6, a6)));
	}
	if (node.cfg.has_node6) {
		char a6[CTL_IP6_STRLEN], p6[CTL_IP6_STRLEN + 4];
		snprintf(p6, sizeof(p6), "%s/%u", ctl_ip6_str(node.cfg.node6_ip, a6), node.cfg.node6_plen);
		json_object_set_new(o, "node_ip6", json_string(p6));
	}
	if (node.cfg.has_pod6) {
		char a6[CTL_IP6_STRLEN], p6[CTL_IP6_STRLEN + 4];
		json_object_set_new(o, "routes6", json_integer(node.n_routes6)); /* of routes */
		snprintf(p6, sizeof(p6), "%s/%u", ctl_ip6_str(node.cfg.pod6_net, a6), node.cfg.pod6_plen);
		json_object_set_new(o, "pod_cidr6", json_string(p6));
		json_object_set_new(o, "gateway_for_pods6", json_string(PL_POD_GATEWAY6));
	}
	if (node.cfg.has_cluster6) {
		char a6[CTL_IP6_STRLEN], p6[CTL_IP6_STRLEN + 4];
		snprintf(p6, sizeof(p6), "%s/%u", ctl_ip6_str(node.cfg.cluster6_net, a6),
			 node.cfg.cluster6_plen);
		json_object_set_new(o, "cluster_cidr6", json_string(p6));
	}
	if (node.cfg.has_service)
		json_object_set_new(o, "service_cidr",
				    json_string(ctl_prefix_str(node.cfg.service_net,
							       node.cfg.service_plen, service)));
	if (node.cfg.has_service6) {
		char a6[CTL_IP6_STRLEN], p6[CTL_IP6_STRLEN + 4];
		snprintf(p6, sizeof(p6), "%s/%u", ctl_ip6_str(node.cfg.service6_net, a6),
			 node.cfg.service6_plen);
		json_object_set_new(o, "service_cidr6", json_string(p6));
	}
	/* The uplink and the MTU podlaned sends it now (followed, or uplink_mtu). */
	json_object_set_new(o, "uplink", json_string(node.cfg.uplink));
	json_object_set_new(o, "uplink_mtu", json_integer(node.uplink_mtu));
	json_object_set_new(o, "masquerade", json_boolean(node.cfg.masquerade && node.cfg.has_ipv4));
	json_object_set_new(o, "nat_outgoing", json_boolean(node.cfg.nat_outgoing));
	return o;
}
CTL_METHOD(PL_M_NODE_INFO, m_node_info)

static const char *kind_name(enum dp_port_kind k)
{
	return k == DP_PORT_UPLINK ? "uplink" : k == DP_PORT_HOST ? "host" : "pod";
}

static json_t *m_port_list(json_t *params, struct ctl_err *e)
{
	json_t *a = json_array();
	struct dp_port_info pi;
	char mac[18], peer[18], ip[16];

	(void)params;
	(void)e;
	for (uint16_t p = 0; p < DP_MAX_PORTS; p++) {
		if (dp_port_info(p, &pi) != 0)
			continue;
		json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:b}", "id", p, "name",
				      pi.name, "kind", kind_name(pi.kind), "mac",
				      ctl_mac_str(&pi.mac, mac), "mtu", pi.mtu, "worker", pi.worker,
				      "link_up", pi.link_up);
		if (pi.kind != DP_PORT_UPLINK) {
			json_object_set_new(o, "peer_mac", json_string(ctl_mac_str(&pi.peer_mac, peer)));
			json_object_set_new(o, "peer_ip", json_string(ctl_ip_str(pi.peer_ip, ip)));
		}
		json_array_append_new(a, o);
	}
	return a;
}
CTL_METHOD(PL_M_PORT_LIST, m_port_list)

static json_t *m_stats_get(json_t *params, struct ctl_err *e)
{
	static struct dp_stats s; /* large; the control thread is the only caller */
	json_t *ports = json_array(), *drops = json_object();
	struct dp_port_info pi;

	(void)params;
	(void)e;
	ctl_ports_watch(); /* the kernel's drops at our kernel ports, now */
	dp_stats_read(&s);
	for (uint16_t p = 0; p < DP_MAX_PORTS; p++) {
		if (dp_port_info(p, &pi) != 0)
			continue;
		const struct dp_port_stats *ps = &s.port[p];
		json_array_append_new(
			ports, json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id", p,
					 "name", pi.name, "rx_packets", ps->rx_pkts, "rx_bytes", ps->rx_bytes,
					 "tx_packets", ps->tx_pkts, "tx_bytes", ps->tx_bytes,
					 "rx_missed", ps->hw_rx_missed, "rx_errors", ps->hw_rx_errors,
					 "tx_errors", ps->hw_tx_errors, "policy_denied", ps->policy_denied));
	}
	for (unsigned d = 0; d < DP_DROP_MAX; d++)
		json_object_set_new(drops, dp_drop_names[d], json_integer((json_int_t)s.drops[d]));
	json_t *workers = json_array();
	for (unsigned w = 0; w < s.n_workers; w++)
		json_array_append_new(workers, json_pack("{s:i, s:f, s:I}", "id", w, "busy_ratio",
							 s.worker_load[w], "busy_us",
							 (json_int_t)s.worker_busy_us[w]));
	return json_pack("{s:o, s:o, s:o, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
			 "ports", ports, "drops", drops, "workers", workers, "mbufs_in_use",
			 s.mbufs_in_use, "mbufs_total", s.mbufs_total, "icmp_errors_sent", s.icmp_sent,
			 "icmp_errors_ratelimited", s.icmp_ratelimited, "arp_replies", s.arp_replies,
			 "arp_requests", s.arp_requests, "ipv4_packets", s.ipv4_pkts,
			 "ipv6_packets", s.ipv6_pkts, "ndp_replies",
			 s.ndp_replies, "ndp_requests", s.ndp_requests, "fragmented", s.fragmented, "tx_waited", s.tx_waited, "flows_created",
			 s.flows_created, "flows_in_use", s.flows_in_use, "flows_max", s.flows_max,
			 "captures", dp_capture_count());
}
CTL_METHOD(PL_M_STATS_GET, m_stats_get)
