/* Control side of podlaned: configuration, pods, IPAM, routes, state and
 * the JSON-RPC server. Runs on the EAL main lcore only, so nothing here
 * takes a lock. */
#ifndef CTL_H
#define CTL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_ether.h>

#include "dp.h"
#include "podlane_api.h"

#define CTL_ERR_LEN 512

#define CTL_UPLINK_PACKET "af_packet:"
/* About 260 bytes of hugepage memory per flow, 310 more on a dual-stack
 * node (its IPv6 table; docs/services.md). */
#define CTL_DEFAULT_MAX_FLOWS 131072
#define CTL_DEFAULT_MAX_SERVICES 4096
#define CTL_DEFAULT_DROP_RECORDS 256

struct ctl_config {
	/* false: an IPv6-only node (node_ip, pod_cidr and the rest IPv6 alone;
	 * their IPv4 fields 0, no IPv4 routed, pods without IPv4). */
	bool has_ipv4;
	uint32_t node_ip; /* network byte order, as every address here */
	uint8_t node_plen;
	bool has_node6; /* dual-stack: the node's IPv6 address, on the host port */
	uint8_t node6_ip[16];
	uint8_t node6_plen;
	bool has_gateway;
	uint32_t gateway;
	bool has_gateway6; /* dual-stack: pods' IPv6 default route via it */
	uint8_t gateway6[16];
	uint32_t pod_net;
	uint8_t pod_plen;
	uint32_t cluster_net;
	uint8_t cluster_plen;
	/* pod_cidr's IPv6 prefix (a pod's IPv6 address has the host part of
	 * its IPv4 one: ctl_pod_ip6; IPv6-only: its own) inside cluster_cidr's. */
	bool has_pod6;
	uint8_t pod6_net[16];
	uint8_t pod6_plen;
	bool has_cluster6;
	uint8_t cluster6_net[16];
	uint8_t cluster6_plen;
	bool has_service; /* service_cidr: the node's kernel serves it (kube-proxy) */
	uint32_t service_net;
	uint8_t service_plen;
	bool has_service6; /* dual-stack: service_cidr's IPv6 prefix */
	uint8_t service6_net[16];
	uint8_t service6_plen;
	char uplink[256];
	bool uplink_is_pci;
	bool uplink_is_packet; /* "af_packet:IFACE": our own packet socket (dp_kport.c) */
	unsigned uplink_mtu; /* a DPDK uplink's MTU; 0 = the device's own */
	char host_port[IF_NAMESIZE];
	char socket[108];
	int socket_gid; /* -1: the daemon's own group */
	char state_dir[256];
	unsigned workers;
	int worker_nice;
	uint32_t max_routes;
	uint32_t max_flows;    /* tracked connections of Services */
	uint32_t max_services; /* Service frontends (ip, port, protocol) */
	unsigned drop_records; /* dropped packets the recorder keeps (drops.list); 0: none */
	uint32_t import_table; /* kernel table mirrored into ours; 0 = none */
	unsigned max_request_mb;
	char log_level[16];
	char vhost_dir[64];   /* vhost-user sockets and their config files */
	int vhost_gid;        /* -1: root's */
	uint32_t metrics_ip; /* metrics_listen; port 0 = no metrics listener */
	uint16_t metrics_port;
	bool masquerade; /* ctl_nat.c: masquerade what the kernel DNATs to pods */
	bool nat_outgoing; /* pods' traffic leaving cluster_cidr: via the kernel, masqueraded */
	int n_eal;
	char *eal[64];
};

int ctl_config_load(const char *path, struct ctl_config *c, char *err, size_t errlen);
int ctl_config_parse(const char *buf, size_t len, struct ctl_config *c, char *err, size_t errlen);
void ctl_config_free(struct ctl_config *c);
/* An IPv6 next hop of c's node network, as 'gateway' and route vias give
 * one: podlaned's own fe80::1 (the pods' gateway, never a router's), and
 * a neighbour (a link-local address on the uplink's link, or an address
 * of node_ip's IPv6 network other than the node's). */
bool ctl_pods_gateway6(const uint8_t a[16]);
bool ctl_neighbour6(const struct ctl_config *c, const uint8_t a[16]);

/* Addresses: "a.b.c.d" and "a.b.c.d/len". */
int ctl_parse_ip(const char *s, uint32_t *ip);
int ctl_parse_prefix(const char *s, uint32_t *ip, uint8_t *plen, bool host_bits_ok);
uint32_t ctl_mask(uint8_t plen);
/* IPv6: "x::y/len" (-2: host bits set where not ok), ip inside net/plen,
 * the text of an address. */
int ctl_parse_prefix6(const char *s, uint8_t ip[16], uint8_t *plen, bool host_bits_ok);
bool ctl_in_prefix6(const uint8_t ip[16], const uint8_t net[16], uint8_t plen);
static inline bool ctl_link_local6(const uint8_t a[16]) /* in fe80::/10 */
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}
void ctl_net6(const uint8_t ip[16], uint8_t plen, uint8_t net[16]); /* ip's network */
#define CTL_IP6_STRLEN 46 /* INET6_ADDRSTRLEN */
const char *ctl_ip6_str(const uint8_t ip[16], char buf[CTL_IP6_STRLEN]);
const char *ctl_ip_str(uint32_t ip, char buf[16]);
#define CTL_PREFIX_STRLEN 19 /* "255.255.255.255/32" */
const char *ctl_prefix_str(uint32_t ip, uint8_t plen, char buf[CTL_PREFIX_STRLEN]);
const char *ctl_mac_str(const struct rte_ether_addr *m, char buf[18]);
/* n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 long). */
void ctl_hex(const uint8_t *p, size_t n, char *out);

/* Errors a handler reports: code from enum pl_rpc_error, message for the user. */
struct ctl_err {
	int code;
	char msg[CTL_ERR_LEN];
};
int ctl_fail(struct ctl_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mkdir -p with mode 0755; 0 or -errno. */
int ctl_mkdir_p(const char *dir);

/* Log lines by level (dp_log: rte_log type "podlane", config log_level). */
#define ctl_error(...) dp_log(RTE_LOG_ERR, __VA_ARGS__)
#define ctl_warn(...) dp_log(RTE_LOG_WARNING, __VA_ARGS__)
#define ctl_log(...) dp_log(RTE_LOG_INFO, __VA_ARGS__)
#define ctl_debug(...) dp_log(RTE_LOG_DEBUG, __VA_ARGS__)

#endif
