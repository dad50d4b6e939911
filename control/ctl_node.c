/* Node bring-up: tables, the uplink, the host exception TAP that keeps the
 * node IP in the kernel, and the routes every node has. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <rte_jhash.h>

#include "ctl_netlink.h"
#include "ctl_node.h"

struct ctl_node node;

static void sysctl_set(const char *fmt, const char *ifname, const char *value)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), fmt, ifname);
	if ((f = fopen(path, "w")) == NULL || fputs(value, f) < 0 || fclose(f) != 0)
		ctl_warn("cannot set %s to %s", path, value);
}

/* The kernel interface under the uplink (our af_packet: socket or DPDK's
 * af_packet or af_xdp PMD), or NULL when DPDK drives the NIC itself. */
static const char *uplink_ifname(const struct ctl_config *c, char buf[IF_NAMESIZE])
{
	const char *p = strstr(c->uplink, "iface=");

	if (c->uplink_is_packet)
		return c->uplink + strlen(CTL_UPLINK_PACKET);
	if ((strncmp(c->uplink, "net_af_packet", 13) != 0 &&
	     strncmp(c->uplink, "net_af_xdp", 10) != 0) || p == NULL)
		return NULL;
	snprintf(buf, IF_NAMESIZE, "%.*s", (int)strcspn(p + 6, ","), p + 6);
	return buf;
}

/* An af_packet uplink shares its frames with the kernel (an af_xdp one
 * those of queues it does not serve), which would also answer them
 * through the node IP it holds on the host port (duplicate ping replies
 * and ARP answers). Make the kernel ignore the uplink: strict
 * reverse-path filter, no ARP replies, no IPv6 on it. */
static void quiet_kernel_uplink(const char *ifname)
{
	sysctl_set("/proc/sys/net/ipv4/conf/%s/rp_filter", ifname, "1");
	sysctl_set("/proc/sys/net/ipv4/conf/%s/arp_ignore", ifname, "8");
	sysctl_set("/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname, "1");
}

int ctl_node_tables(const struct ctl_config *c, char *err, size_t errlen)
{
	node.cfg = *c;
	node.route_cap = c->max_routes + CTL_MAX_PODS + 16;
	node.routes = calloc(node.route_cap, sizeof(*node.routes));
	node.ipam_size = c->has_ipv4 ? 1u << (32 - c->pod_plen)
				     : 1u << RTE_MIN(16, 128 - c->pod6_plen); /* IPv6-only */
	node.ipam = calloc((node.ipam_size + 63) / 64, sizeof(uint64_t));
	struct rte_hash_parameters hp = {
		.name = "podlane_ctl_routes",
		.entries = node.route_cap,
		.key_len = sizeof(struct ctl_pfx),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE, /* room for every route */
	};
	node.route_idx = rte_hash_create(&hp);
	if (node.routes == NULL || node.ipam == NULL || node.route_idx == NULL) {
		snprintf(err, errlen, "out of memory for %u routes", node.route_cap);
		return -1;
	}
	if (ctl_svc_tables(c) != 0) {
		snprintf(err, errlen, "out of memory for %u services", c->max_services);
		return -1;
	}
	snprintf(node.state_path, sizeof(node.state_path), "%s/state.json", c->state_dir);
	snprintf(node.routes_path, sizeof(node.routes_path), "%s/routes.json", c->state_dir);
	snprintf(node.services_path, sizeof(node.services_path), "%s/services.json", c->state_dir);
	snprintf(node.policies_path, sizeof(node.policies_path), "%s/policies.json", c->state_dir);
	if (ctl_policy_tables() != 0) {
		snprintf(err, errlen, "out of memory for %u policies", CTL_MAX_POLICIES);
		return -1;
	}
	return 0;
}

/* A vdev uplink, probed here rather than by EAL at its start (where a
 * take-over's podlaned before still has the interface), and started;
 * af_packet's with a queue pair per worker plus control. The kernel lets
 * go of a socket a podlaned before had on the interface (an AF_XDP one's
 * queue) some milliseconds after that process ended: tried again for up
 * to 2 s. */
static int uplink_vdev(const struct ctl_config *c, uint16_t *up, char *err, size_t errlen)
{
	char devargs[320], derr[256];
	const struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};

	snprintf(devargs, sizeof(devargs), "%s", c->uplink);
	if (strncmp(devargs, "net_af_packet", 13) == 0 && strstr(devargs, "qpairs=") == NULL)
		snprintf(devargs + strlen(devargs), sizeof(devargs) - strlen(devargs), ",qpairs=%u",
			 c->workers + 1);
	for (unsigned tries = 0;; tries++) {
		if (dp_port_probe(devargs, up, derr, sizeof(derr)) != 0) {
			snprintf(err, errlen, "uplink: %s", derr);
			return -1;
		}
		int rc = dp_port_start(*up, DP_PORT_UPLINK, (uint16_t)c->uplink_mtu, err, errlen);
		if (rc == 0) {
			if (tries)
				ctl_log("uplink: started at try %u", tries + 1);
			return 0;
		}
		dp_port_remove(*up);
		if (rc != -EBUSY || tries == 100)
			return -1;
		nanosleep(&pause, NULL);
	}
}

int ctl_node_init(const struct ctl_config *c, char *err, size_t errlen)
{
	char ip[16];
	uint16_t pid, up;
	int rc;

	if (ctl_node_tables(c, err, errlen) != 0)
		return -1;

	char ifbuf[IF_NAMESIZE];
	const char *upif = uplink_ifname(c, ifbuf);
	if (c->uplink_is_packet) {
		/* Port names are telemetry keys: no ':' there. */
		char name[32];
		snprintf(name, sizeof(name), "af_packet_%s", upif);
		int kept[DP_MAX_WORKERS];
		unsigned n_kept = ctl_keeper_packet_fds(upif, kept, DP_MAX_WORKERS);
		if (dp_packet_create(upif, name, kept, n_kept, &up, &node.node_mac, err, errlen) != 0)
			return -1;
	} else if (c->uplink_is_pci) {
		/* The one port EAL probed from the allowlist. */
		if (dp_port_probed(&up) != 0) {
			snprintf(err, errlen, "uplink: no port came up for '%s'", c->uplink);
			return -1;
		}
		if (dp_port_start(up, DP_PORT_UPLINK, (uint16_t)c->uplink_mtu, err, errlen) != 0)
			return -1;
	} else if (uplink_vdev(c, &up, err, errlen) != 0) {
		return -1;
	}
	if (upif != NULL)
		quiet_kernel_uplink(upif);
	struct dp_port_info info;
	dp_port_info(up, &info);
	node.node_mac = info.mac;
	node.uplink_mtu = info.mtu;
	if (upif != NULL) {
		snprintf(node.uplink_if, sizeof(node.uplink_if), "%s", upif);
		node.uplink_ifindex = if_nametoindex(upif);
	}

	/* A native TAP like the pods': node-to-pod TCP moves as GSO frames.
	 * The one a podlaned before left is taken over with the node's
	 * address and routes on it, so the node's connections (a BGP session
	 * from the node IP) live through a restart. Our side's MAC is the one
	 * the kernel's neighbours of pods see: derived from the node IP, the
	 * same after a restart (an IPv6-only node's: from its IPv6 one). */
	const uint8_t *nb = c->has_ipv4 ? (const uint8_t *)&c->node_ip : c->node6_ip + 12;
	struct rte_ether_addr mac = {{0x02, 0x51, nb[0], nb[1], nb[2], nb[3]}};
	if (dp_tap_create(c->host_port, true, ctl_keeper_fd(c->host_port), DP_PORT_HOST, "tap_host",
			  &mac, &pid, err, errlen) != 0)
		return -1;
	/* Kernel side of the host port: node IP and node MAC, so the kernel
	 * keeps its address and its neighbours see one MAC for the node; the
	 * uplink's MTU, as the frames it sends to the node network go out
	 * there as they are. */
	dp_port_set_peer(pid, c->node_ip, &node.node_mac);
	dp_port_set_mtu(pid, ctl_node_tap_mtu());
	int idx = (int)if_nametoindex(c->host_port);
	struct ctl_nl_batch b;
	unsigned failed;
	ctl_nl_batch_init(&b);
	ctl_nl_link_sizes(&b, idx, ctl_node_tap_mtu(), DP_KPORT_GSO_MAX);
	ctl_nl_link_set(&b, idx, &node.node_mac, true);
	if (c->has_ipv4) {
		ctl_nl_addr_add(&b, idx, c->node_ip, c->node_plen);
		ctl_nl_route_add(&b, c->cluster_net, c->cluster_plen, 0, idx);
	}
	/* The node's own connections to Services podlaned balances (kube-
	 * proxy's rules, where it runs, DNAT before this route matters). */
	if (c->has_service)
		ctl_nl_route_add(&b, c->service_net, c->service_plen, 0, idx);
	/* Dual-stack: the node's IPv6 address, and the pods' IPv6 space
	 * (cluster_cidr's, else this node's pod_cidr's) via fe80::1, which
	 * podlaned answers on this port as on pods' ports. */
	uint8_t gw6[16];
	inet_pton(AF_INET6, PL_POD_GATEWAY6, gw6);
	if (c->has_node6)
		ctl_nl_addr6_add(&b, idx, c->node6_ip, c->node6_plen);
	if (c->has_pod6)
		ctl_nl_route6_add(&b, c->has_cluster6 ? c->cluster6_net : c->pod6_net,
				  c->has_cluster6 ? c->cluster6_plen : c->pod6_plen, gw6, idx);
	if (c->has_service6)
		ctl_nl_route6_add(&b, c->service6_net, c->service6_plen, gw6, idx);
	if (idx == 0 || (rc = ctl_nl_batch_send(&b, &failed)) != 0) {
		snprintf(err, errlen, "host port %s: cannot set node address and routes: %s",
			 c->host_port, idx == 0 ? "interface missing" : strerror(-rc));
		return -1;
	}

	struct dp_nh_spec local = {.kind = DP_NH_LOCAL}, conn = {.kind = DP_NH_CONNECTED};
	struct dp_nh_spec blackhole = {.kind = DP_NH_DROP};
	if (c->has_ipv4 && (ctl_route_set(c->node_ip, 32, &local, "system") != 0 ||
	    /* Service IPs are the node kernel's (kube-proxy's NAT). */
	    (c->has_service &&
	     ctl_route_set(c->service_net, c->service_plen, &local, "system") != 0) ||
	    ctl_route_set(c->node_ip & ctl_mask(c->node_plen), c->node_plen, &conn, "system") != 0 ||
	    /* Unassigned addresses of our own pod CIDR go nowhere else. */
	    ctl_route_set(c->pod_net, c->pod_plen, &blackhole, "system") != 0)) {
		snprintf(err, errlen, "cannot install the node's routes");
		return -1;
	}
	/* IPv6: this node's unassigned pod addresses are unreachable; the
	 * node's address is local, its network on the uplink, and what no
	 * route covers goes via the IPv6 gateway, or without one to the node
	 * kernel, which routes it with its own table: but for the cluster's
	 * prefix, which that table routes back to us (the host port's route),
	 * so what is inside it but unknown (another node's withdrawn pods) is
	 * unreachable here, as IPv4's is with nat_outgoing. */
	struct dp_nh_spec unreachable6 = {.kind = DP_NH_UNREACHABLE};
	struct dp_nh_spec default6 = c->has_gateway6 ? (struct dp_nh_spec){.kind = DP_NH_GATEWAY}
						     : local;
	memcpy(default6.gw6, c->gateway6, 16);
	struct ctl_pfx pods6 = {.v6 = 1, .plen = c->pod6_plen}, node6 = {.v6 = 1, .plen = 128};
	struct ctl_pfx net6 = {.v6 = 1, .plen = c->node6_plen}, any6 = {.v6 = 1};
	struct ctl_pfx cluster6 = {.v6 = 1, .plen = c->cluster6_plen};
	struct ctl_pfx service6 = {.v6 = 1, .plen = c->service6_plen};
	memcpy(service6.a, c->service6_net, 16);
	memcpy(pods6.a, c->pod6_net, 16);
	memcpy(cluster6.a, c->cluster6_net, 16);
	memcpy(node6.a, c->node6_ip, 16);
	ctl_net6(c->node6_ip, c->node6_plen, net6.a);
	if ((c->has_pod6 && ctl_route_set_pfx(&pods6, &unreachable6, "system") != 0) ||
	    (c->has_node6 && (ctl_route_set_pfx(&node6, &local, "system") != 0 ||
			      ctl_route_set_pfx(&net6, &conn, "system") != 0 ||
			      ctl_route_set_pfx(&any6, &default6, "system") != 0)) ||
	    (c->has_node6 && !c->has_gateway6 && c->has_cluster6 &&
	     ctl_route_set_pfx(&cluster6, &unreachable6, "system") != 0) ||
	    /* As IPv4's: Service IPs no service has are the node kernel's. */
	    (c->has_service6 && ctl_route_set_pfx(&service6, &local, "system") != 0)) {
		snprintf(err, errlen, "cannot install the node's IPv6 routes");
		return -1;
	}
	if (c->has_node6 && !c->has_gateway6)
		ctl_nat_check_ipv6_forwarding();
	/* Out of the cluster through the kernel, which masquerades (ctl_nat.c);
	 * what is inside but unknown must not go there too (the kernel routes
	 * cluster_cidr back to us). */
	struct dp_nh_spec unreachable = {.kind = DP_NH_UNREACHABLE};
	if (c->nat_outgoing &&
	    (ctl_route_set(0, 0, &local, "system") != 0 ||
	     ctl_route_set(c->cluster_net, c->cluster_plen, &unreachable, "system") != 0)) {
		snprintf(err, errlen, "cannot install the routes of nat_outgoing");
		return -1;
	}
	if (c->has_gateway) {
		struct dp_nh_spec gw = {.kind = DP_NH_GATEWAY, .gw = c->gateway};
		if (ctl_route_set(0, 0, &gw, "system") != 0) {
			snprintf(err, errlen, "cannot install the default route via %s",
				 ctl_ip_str(c->gateway, ip));
			return -1;
		}
	}
	return 0;
}

uint16_t ctl_node_tap_mtu(void)
{
	return (uint16_t)RTE_MIN(node.uplink_mtu, DP_KPORT_MTU_MAX);
}

/* An af_packet uplink's interface got MTU mtu: the uplink and the host
 * port take it (pods keep theirs). */
static void follow_mtu(int mtu)
{
	struct ctl_nl_batch b;
	unsigned failed;
	int rc;

	if (mtu < RTE_ETHER_MIN_MTU || mtu > UINT16_MAX || mtu == node.uplink_mtu)
		return;
	ctl_log("uplink %s: MTU %u -> %d (the host port follows; pods keep theirs)",
		node.uplink_if, node.uplink_mtu, mtu);
	node.uplink_mtu = (uint16_t)mtu;
	dp_port_set_mtu(dp_uplink_port(), node.uplink_mtu);
	dp_port_set_mtu(dp_host_port(), ctl_node_tap_mtu());
	ctl_nl_batch_init(&b);
	ctl_nl_link_sizes(&b, (int)if_nametoindex(node.cfg.host_port), ctl_node_tap_mtu(), 0);
	if ((rc = ctl_nl_batch_send(&b, &failed)) != 0)
		ctl_warn("host port %s: cannot set MTU %u: %s", node.cfg.host_port,
			 ctl_node_tap_mtu(), strerror(-rc));
}

/* The node's MAC became mac (the uplink's interface was re-created with
 * another): the kernel's side of the host port takes it, as it sends on
 * the node network as the node, and the node network is told. */
static void follow_mac(const struct rte_ether_addr *mac)
{
	char from[RTE_ETHER_ADDR_FMT_SIZE], to[RTE_ETHER_ADDR_FMT_SIZE];
	struct ctl_nl_batch b;
	unsigned failed;
	int rc;

	if (rte_is_same_ether_addr(mac, &node.node_mac))
		return;
	ctl_log("uplink %s: node MAC %s -> %s", node.uplink_if, ctl_mac_str(&node.node_mac, from),
		ctl_mac_str(mac, to));
	node.node_mac = *mac;
	dp_port_set_peer(dp_host_port(), node.cfg.node_ip, mac);
	ctl_routes_follow_mac(dp_host_port(), mac);
	ctl_nl_batch_init(&b);
	ctl_nl_link_set(&b, (int)if_nametoindex(node.cfg.host_port), mac, true);
	if ((rc = ctl_nl_batch_send(&b, &failed)) != 0)
		ctl_warn("host port %s: cannot set MAC %s: %s", node.cfg.host_port, to,
			 strerror(-rc));
	if (node.cfg.has_ipv4)
		dp_arp_announce();
}

/* An interface of the uplink's name is back with index idx: serve it. */
static void rebind(unsigned idx)
{
	struct rte_ether_addr mac;
	char err[256];

	if (dp_packet_rebind(node.uplink_if, &mac, err, sizeof(err)) != 0) {
		if (!node.uplink_rebind_failed)
			ctl_error("%s: cannot serve the re-created interface (retried each second)",
				  err);
		node.uplink_rebind_failed = true;
		return;
	}
	node.uplink_rebind_failed = false;
	node.uplink_ifindex = idx;
	ctl_keeper_hold(dp_uplink_port()); /* the new sockets in place of the old */
	quiet_kernel_uplink(node.uplink_if);
	ctl_log("uplink %s: the interface is back (index %u), served again", node.uplink_if, idx);
	follow_mac(&mac);
}

/* Sockets stay bound to the interface they were made on: once it is
 * deleted nothing from the node network arrives, even if an interface of
 * the same name comes back. Our af_packet: sockets are made anew on the
 * one that comes back; DPDK's net_af_packet needs a restart. */
void ctl_ports_watch(void)
{
	struct ctl_nl_link l;

	ctl_pods_watch();
	if (ctl_nl_link_get(NULL, node.cfg.host_port, &l) == 0)
		dp_kport_set_missed(dp_host_port(), l.tx_dropped);
	dp_kport_read_missed();
}

void ctl_node_watch_uplink(void)
{
	struct ifreq ifr = {0};
	int fd;

	if (node.uplink_if[0] == '\0' || (fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", node.uplink_if);
	unsigned idx = ioctl(fd, SIOCGIFINDEX, &ifr) == 0 ? (unsigned)ifr.ifr_ifindex : 0;
	if (idx != 0 && idx != node.uplink_ifindex && node.cfg.uplink_is_packet)
		rebind(idx);
	bool gone = idx != node.uplink_ifindex;
	if (gone != node.uplink_gone) {
		__atomic_store_n(&node.uplink_gone, gone, __ATOMIC_RELAXED);
		if (gone && node.cfg.uplink_is_packet && idx == 0) /* else rebind said why */
			ctl_error("uplink %s: the interface is gone; podlaned does not reach the "
				  "node network until it is back", node.uplink_if);
		else if (gone)
			ctl_error("uplink %s: the interface was deleted or re-created; podlaned "
				  "no longer reaches the node network: restart it",
				  node.uplink_if);
	}
	if (!gone && node.cfg.uplink_is_packet && ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		follow_mtu(ifr.ifr_mtu);
	close(fd);
}
