/* podlane's commands on DPDK telemetry (dpdk-telemetry.py, or any client
 * of /run/dpdk/<file-prefix>/dpdk_telemetry.v2): /podlane/info,
 * /podlane/drops, /podlane/ports. Callbacks run on DPDK's telemetry
 * thread and only read counters and sizes. */
#include <rte_telemetry.h>

#include "ctl_node.h"

static int tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned pods = 0;
	struct dp_stats s; /* one telemetry thread per client: no shared buffer */

	(void)cmd;
	(void)params;
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		pods += node.pods[i].used;
	dp_stats_read(&s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "pods", pods);
	rte_tel_data_add_dict_u64(d, "routes", node.n_routes);
	rte_tel_data_add_dict_u64(d, "free_ips", ctl_ipam_free_count());
	rte_tel_data_add_dict_u64(d, "workers", node.cfg.workers);
	rte_tel_data_add_dict_u64(d, "routes_ipv6", node.n_routes6);
	rte_tel_data_add_dict_u64(d, "ipv4_packets", s.ipv4_pkts);
	rte_tel_data_add_dict_u64(d, "ipv6_packets", s.ipv6_pkts);
	return 0;
}

static int tel_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_stats s; /* one telemetry thread per client: no shared buffer */

	(void)cmd;
	(void)params;
	dp_stats_read(&s);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(d, dp_drop_names[i], s.drops[i]);
	return 0;
}

static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_stats s; /* one telemetry thread per client: no shared buffer */
	struct dp_port_info pi;
	static const char *const kinds[] = {"uplink", "host", "pod"};

	(void)cmd;
	(void)params;
	dp_stats_read(&s);
	rte_tel_data_start_dict(d);
	for (uint16_t p = 0; p < DP_MAX_PORTS; p++) {
		struct rte_tel_data *o;
		if (dp_port_info(p, &pi) != 0 || (o = rte_tel_data_alloc()) == NULL)
			continue;
		rte_tel_data_start_dict(o);
		rte_tel_data_add_dict_string(o, "kind", kinds[pi.kind]);
		rte_tel_data_add_dict_u64(o, "rx_packets", s.port[p].rx_pkts);
		rte_tel_data_add_dict_u64(o, "tx_packets", s.port[p].tx_pkts);
		rte_tel_data_add_dict_u64(o, "rx_bytes", s.port[p].rx_bytes);
		rte_tel_data_add_dict_u64(o, "tx_bytes", s.port[p].tx_bytes);
		rte_tel_data_add_dict_container(d, pi.name, o, 0);
	}
	return 0;
}

void ctl_telemetry_register(void)
{
	rte_telemetry_register_cmd("/podlane/info", tel_info,
				   "Pods, routes, free pod addresses, workers. Takes no parameters");
	rte_telemetry_register_cmd("/podlane/drops", tel_drops,
				   "Dropped packets by reason. Takes no parameters");
	rte_telemetry_register_cmd("/podlane/ports", tel_ports,
				   "Packets and bytes per port, by port name. Takes no parameters");
}
