/* The node's control state: pods, routes, address pool. One instance, the
 * control part's context; changed only by the control thread. */
#ifndef CTL_NODE_H
#define CTL_NODE_H

#include <sys/types.h>
#include <time.h>

#include <rte_hash.h>

#include "ctl.h"
#include "dp.h"
#include "pl_validate.h"

struct mnl_socket;

#define CTL_MAX_PODS DP_MAX_PORTS
#define CTL_ORIGIN_LEN 16

struct ctl_pod {
	bool used;
	char container_id[256];
	char ifname[IF_NAMESIZE];
	char netns[256];
	/* Kubernetes' name of the pod, from the CNI_ARGS kubelet gives
	 * (K8S_POD_NAMESPACE, K8S_POD_NAME); empty when not given. */
	char k8s_namespace[PL_K8S_NAMESPACE_MAX + 1];
	char k8s_name[PL_K8S_NAME_MAX + 1];
	uint32_t ip;
	/* Dual-stack: its IPv6 address, as the IPAM plugin gave it or else
	 * the IPv6 pod prefix with ip's host part (ctl_pod_ip6). */
	uint8_t ip6[16];
	struct rte_ether_addr mac;
	uint16_t port;
	uint16_t mtu; /* its interface's: as asked, else the uplink's at ADD */
	bool vhost;   /* vhost-user port (no interface in the netns) */
	dev_t ns_dev; /* its netns, as it was when added: one TAP pod per netns */
	ino_t ns_ino;
	struct mnl_socket *nl; /* a TAP pod's: rtnetlink in its netns (ctl_pods_watch) */
};

/* A route's destination, either family: the route table's key, zeroed
 * where unused (pad included). 20 bytes: rte_jhash reads whole 4-byte
 * words. */
struct ctl_pfx {
	uint8_t v6;
	uint8_t plen;
	uint8_t pad[2];
	uint8_t a[16]; /* IPv6, or IPv4 (network order) in the first 4 bytes */
};
#define CTL_PFX_STRLEN (CTL_IP6_STRLEN + 4)

/* origin says who owns a route: "system" (node, subnet, gateway), "pod",
 * "static" (route.add) or an agent's name (route.replace_all). prefix and
 * plen repeat an IPv4 route's dst for the IPv4-only readers (0 for IPv6). */
struct ctl_route {
	bool used;
	uint8_t plen;
	uint32_t prefix;
	struct ctl_pfx dst; /* the whole key, either family */
	bool stale; /* kernel mirror: not seen in the latest dump */
	char origin[CTL_ORIGIN_LEN];
	struct dp_nh_spec nh;
};

/* A Service (ctl_services.c): known by (ip, port, proto); ports in
 * network byte order, as addresses. Its slot is its dataplane id. */
#define CTL_SVC_STRLEN (CTL_IP6_STRLEN + 12) /* "[IPv6]:65535/tcp" */
struct ctl_svc {
	bool used;
	bool v6;            /* an IPv6 service: ip6 in place of ip, IPv6 backends */
	uint8_t ip6[16];
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
	uint16_t node_port; /* 0: none */
	bool ext_local;     /* externalTrafficPolicy Local */
	uint32_t affinity_s;
	unsigned n_ext;
	uint32_t ext[DP_SVC_MAX_EXT];
	uint8_t ext6[DP_SVC_MAX_EXT][16]; /* an IPv6 service's, in place of ext */
	unsigned n_backends;
	struct dp_backend_spec *backends; /* sorted by (ip, port) */
	char name[128];
	char origin[CTL_ORIGIN_LEN];
};

/* A NetworkPolicy (ctl_policy.c): as the API gave it, checked. */
#define CTL_MAX_POLICIES 1024
#define CTL_POL_RULES 64 /* per direction of a policy */
#define CTL_POL_NAME_MAX 320 /* "namespace/name" */
#define CTL_POL_EXCEPT_MAX 1024 /* prefixes an ipBlock leaves out */
#define CTL_POL_COMPILED_MAX (1u << 20) /* (pod, peer prefix, port range) rules in all */
/* After a crash, how long answers of connections opened before it are
 * picked up (dp_ct_pickup): longer than most idle gaps of a live
 * connection, short enough not to stay a way in. */
#define CTL_PICKUP_S 300
struct ctl_policy {
	bool used;
	char name[CTL_POL_NAME_MAX + 1];
	char origin[CTL_ORIGIN_LEN];
	json_t *obj; /* name, pods, ingress, egress */
	uint64_t base[2][CTL_POL_RULES]; /* rule counters when it took the slot */
};

struct ctl_node {
	struct ctl_config cfg;
	struct rte_ether_addr node_mac;
	/* The uplink's MTU: the host port's, and new pods' unless they ask
	 * (ctl_node_tap_mtu).
	 * A kernel interface under the uplink (uplink_if, empty for a DPDK
	 * NIC) is watched (ctl_node_watch_uplink): its MTU (an af_packet:
	 * uplink's), and whether it is still the one the uplink serves (an
	 * af_packet: uplink is re-bound to a re-created one). */
	uint16_t uplink_mtu;
	char uplink_if[IF_NAMESIZE];
	unsigned uplink_ifindex;
	bool uplink_gone; /* read by the metrics thread */
	bool uplink_rebind_failed; /* said once, retried each second */
	struct ctl_pod pods[CTL_MAX_PODS];
	struct rte_hash *route_idx; /* (prefix, plen) -> index in routes[] */
	struct ctl_route *routes;
	uint32_t route_cap;
	uint32_t n_routes, n_routes6; /* all, and the IPv6 ones of them */
	uint32_t port_routes[DP_MAX_PORTS]; /* routes whose next hop is the port */
	uint64_t routes_gen; /* bumped by every change of the route set */
	uint64_t *ipam;             /* bitmap over pod_cidr */
	uint32_t ipam_size;
	struct ctl_svc *svcs; /* max_services slots */
	struct rte_hash *svc_idx;  /* (ip, port, proto) -> slot */
	struct rte_hash *vip_refs; /* service address -> services using it */
	uint32_t *svc_free; /* free slots, oldest first */
	uint32_t n_svc_free, n_svcs;
	char state_path[300];  /* pods and addresses */
	char routes_path[300]; /* routes added through the API */
	char services_path[300];
	struct ctl_policy *policies; /* CTL_MAX_POLICIES slots: a slot's rules' ids are its */
	char policies_path[300];
	bool ready;
};

extern struct ctl_node node;

int ctl_node_init(const struct ctl_config *c, char *err, size_t errlen);
/* The tables alone, without ports (what ctl_node_init starts with). */
int ctl_node_tables(const struct ctl_config *c, char *err, size_t errlen);
/* Once a second: an uplink interface deleted (or re-created: our sockets
 * stay on the old one) is reported; an af_packet uplink whose interface's
 * MTU changed gets the new one, and so does the host port. */
void ctl_node_watch_uplink(void);
/* Once a second, and before stats.get: pods' TAPs (ctl_pods_watch), and
 * the drops of the host TAP and a packet socket uplink, as their ports'
 * rx_missed. */
void ctl_ports_watch(void);
/* The MTU of a TAP (the host port; a pod unless it asks): the uplink's,
 * at most what a receive buffer holds (DP_KPORT_GSO_MAX). */
uint16_t ctl_node_tap_mtu(void);

/* A pod's IPv6 address (pod_cidr has an IPv6 prefix): that prefix and the
 * host part of its IPv4 address ip, so one pool serves both families and
 * a restart derives the same. */
void ctl_pod_ip6(uint32_t ip, uint8_t out[16]);
/* IPAM over pod_cidr; the network and broadcast addresses are never given. */
int ctl_ipam_alloc(uint32_t *ip);
int ctl_ipam_reserve(uint32_t ip);
void ctl_ipam_release(uint32_t ip);
/* The same over the IPv6 prefix of an IPv6-only node: its first 64 Ki
 * addresses are the pool; reserving one beyond them (a delegated IPAM
 * plugin's) succeeds without marking anything. */
int ctl_ipam_alloc6(uint8_t ip6[16]);
int ctl_ipam_reserve6(const uint8_t ip6[16]);
void ctl_ipam_release6(const uint8_t ip6[16]);
uint32_t ctl_ipam_free_count(void);

/* Routes: the control copy (listing, state) and the dataplane's together.
 * IPv4 by address; either family by struct ctl_pfx (_pfx). */
struct ctl_route *ctl_route_find(uint32_t prefix, uint8_t plen);
int ctl_route_set(uint32_t prefix, uint8_t plen, const struct dp_nh_spec *nh, const char *origin);
int ctl_route_remove(uint32_t prefix, uint8_t plen);
struct ctl_route *ctl_route_find_pfx(const struct ctl_pfx *p);
int ctl_route_set_pfx(const struct ctl_pfx *p, const struct dp_nh_spec *nh, const char *origin);
int ctl_route_remove_pfx(const struct ctl_pfx *p);
struct ctl_pfx ctl_pfx4(uint32_t prefix, uint8_t plen);
const char *ctl_pfx_str(const struct ctl_pfx *p, char buf[CTL_PFX_STRLEN]);
/* Routes through port (dev PORT) now send to the peer MAC mac. */
void ctl_routes_follow_mac(uint16_t port, const struct rte_ether_addr *mac);
json_t *ctl_route_json(const struct ctl_route *r);
/* "uplink", "host" or the port's DPDK name, as routes name their dev. */
const char *ctl_port_name(uint16_t pid, char *buf, size_t len);
/* A route prefix given by a caller, IPv4 or IPv6: host bits must be clear. */
int ctl_route_prefix(const char *s, struct ctl_pfx *p, struct ctl_err *e);
/* Either family's prefix into p (host bits must be clear): 0, -2 host
 * bits set, -1 not a prefix (or NULL). */
int ctl_pfx_parse(const char *s, struct ctl_pfx *p);
/* nh for n gateways (at most DP_ECMP_MAX, each a neighbour on the node
 * network, no two alike): one is DP_NH_GATEWAY, more DP_NH_ECMP in address
 * order (the same set is the same route). */
bool ctl_nh_same(const struct dp_nh_spec *a, const struct dp_nh_spec *b);
int ctl_nh_gateways(struct dp_nh_spec *nh, const uint32_t *gws, unsigned n, struct ctl_err *e);
/* The same for IPv6 gateways, each a neighbour on the node's IPv6 network
 * or a link-local address (on the node network's link), never fe80::1. */
int ctl_nh_gateways6(struct dp_nh_spec *nh, const uint8_t (*gws6)[16], unsigned n,
		     struct ctl_err *e);
/* Parse {"prefix": .., "via": ..} or {"prefix": .., "dev": ..}. */
int ctl_route_parse(json_t *o, struct ctl_pfx *p, struct dp_nh_spec *nh, struct ctl_err *e);

/* Services (ctl_services.c). Parse an API object (ip, port, protocol,
 * backends and the optional keys) into s, whose backends the caller frees
 * (ctl_svc_free) unless ctl_svc_set took them. */
int ctl_svc_tables(const struct ctl_config *c);
/* An object's ip, port and protocol into k (the rest of k zeroed). */
int ctl_svc_key_parse(json_t *o, struct ctl_svc *k, struct ctl_err *e);
int ctl_svc_parse(json_t *o, struct ctl_svc *s, struct ctl_err *e);
void ctl_svc_free(struct ctl_svc *s);
/* A copy of s with its own backends (freed with ctl_svc_free); -1 out of memory. */
int ctl_svc_dup(const struct ctl_svc *s, struct ctl_svc *out);
bool ctl_svc_same(const struct ctl_svc *a, const struct ctl_svc *b);
/* The service of k's (ip or ip6, port, protocol), or NULL. */
struct ctl_svc *ctl_svc_find(const struct ctl_svc *k);
bool ctl_svc_key_eq(const struct ctl_svc *a, const struct ctl_svc *b);
/* s added or replacing the service of its (ip, port, proto), its /32
 * (/128) routes with it; takes s's backends. */
int ctl_svc_set(struct ctl_svc *s, const char *origin, struct ctl_err *e);
void ctl_svc_remove(struct ctl_svc *s);
/* s, removed from slot id just before, set again in that slot (or
 * replacing the service of its key in place): replace_all's undo. */
int ctl_svc_put_back(struct ctl_svc *s, uint32_t id, const char *origin, struct ctl_err *e);
/* Refusals checked before anything changes: an address of s that is a
 * route of another origin; a frontend (ip, external IP or node_port with
 * the port and protocol) claimed twice by set[n] and the services that
 * stay (those of other origins than keep_origin; with keep_origin NULL,
 * all but set[0]'s own). */
int ctl_svc_route_conflict(const struct ctl_svc *s, struct ctl_err *e);
int ctl_svc_frontend_clash(const struct ctl_svc *set, size_t n, const char *keep_origin,
			   struct ctl_err *e);
json_t *ctl_svc_json(const struct ctl_svc *s, bool stats);
const char *ctl_svc_str(const struct ctl_svc *s, char buf[CTL_SVC_STRLEN]);
const char *ctl_proto_name(uint8_t proto);
/* Held by the control thread while it changes services, by the metrics
 * thread while it reads them. */
void ctl_svc_lock(void);
void ctl_svc_unlock(void);

/* NetworkPolicy (ctl_policy.c). check: a policy object as the API takes
 * it (every refusal names its field). apply: objs[n] (in slots[n]) as the
 * whole rule set, compiled into the dataplane; -1 with *e when it cannot
 * be (nothing changed then). put/drop: a slot's policy, the caller having
 * applied the set it is part of. */
int ctl_policy_tables(void);
int ctl_policy_check(json_t *o, struct ctl_err *e);
int ctl_policy_apply(json_t *const *objs, const uint32_t *slots, size_t n, struct ctl_err *e);
int ctl_policy_apply_all(struct ctl_err *e);
/* A pod came or went: the set compiled again where a policy may name the
 * pod by one address and must judge both (dual-stack). */
void ctl_policy_pods_changed(void);
struct ctl_policy *ctl_policy_find(const char *name);
int ctl_policy_free_slot(const bool *taken); /* -1: none */
void ctl_policy_put(uint32_t slot, json_t *obj, const char *origin);
void ctl_policy_drop(struct ctl_policy *p);
uint32_t ctl_policy_rule_id(uint32_t slot, unsigned dir, unsigned rule);
json_t *ctl_policy_json(const struct ctl_policy *p, bool stats);
/* {policy, direction, rule} of a dataplane rule id, or null. */
json_t *ctl_policy_rule_json(int64_t id);
/* The names of the policies isolating the pod at addr (a /32 or /128)
 * in dir. */
json_t *ctl_policy_isolating(const struct ctl_pfx *addr, unsigned dir);
/* Each rule's connections as Prometheus samples (any thread; put and drop
 * take the same lock). */
void ctl_policy_metrics(FILE *f);
/* Pods */
unsigned ctl_pods_count(void); /* pods in use */
struct ctl_pod *ctl_pod_find(const char *container_id, const char *ifname);
const struct ctl_pod *ctl_pod_on_port(uint16_t port); /* NULL: no pod's */
/* A pod's Kubernetes names: set by the control thread, read by any (the
 * metrics thread) into ns and name; false when the port's pod has none. */
void ctl_pod_set_k8s_names(struct ctl_pod *p, const char *ns, const char *name);
bool ctl_pod_k8s_names_on_port(uint16_t port, char ns[PL_K8S_NAMESPACE_MAX + 1],
			       char name[PL_K8S_NAME_MAX + 1]);
const struct ctl_pod *ctl_pod_by_id(const char *container_id); /* its first attachment */
/* The pod's Kubernetes namespace and name from o's k8s_namespace and
 * k8s_name (both or neither), checked; -1 with *e filled. */
int ctl_pod_k8s_names(json_t *o, char ns[PL_K8S_NAMESPACE_MAX + 1], char name[PL_K8S_NAME_MAX + 1],
		      struct ctl_err *e);
/* A pod attached (the API's pod.add), or restored from the state file
 * (restore: a TAP pod's interface a podlaned before left in its netns is
 * taken over as it is, not made anew). want_ip: 0 to allocate; want_ip6:
 * NULL for the address derived from the IPv4 one. */
int ctl_pod_add(const char *container_id, const char *netns, const char *ifname,
		uint32_t want_ip, const uint8_t *want_ip6, uint16_t mtu, bool vhost, bool restore,
		struct ctl_pod **out, struct ctl_err *e);

/* The fd keeper (ctl_keeper.c), which holds the TAPs' fds while no
 * podlaned runs. connect: at start, before DPDK; the keeper started if
 * there is none; -1 (logged) if there can be none. fd: the TAP ifname in
 * the calling thread's netns a podlaned before left, or -1. taken: once
 * pods are restored, the rest closed and the keeper given this podlaned's
 * kernel ports (until then it keeps the last one's). hold/release: a
 * kernel port's fds (a TAP's, the uplink's sockets) handed to it, or a
 * pod's closed there. watch (about once a second): a keeper that went,
 * or another on the path (a standing one), gets this podlaned's fds anew.
 * main: the keeper process; standing: `podlaned --keeper STATE_DIR`. */
int ctl_keeper_connect(const char *state_dir);
int ctl_keeper_fd(const char *ifname);
/* The packet sockets on ifname a podlaned before left; how many. */
unsigned ctl_keeper_packet_fds(const char *ifname, int *fds, unsigned max);
void ctl_keeper_taken(void);
void ctl_keeper_hold(uint16_t port);
void ctl_keeper_release(uint16_t port);
void ctl_keeper_watch(void);
int ctl_keeper_main(int listen_fd, const char *pidfile, bool standing);
int ctl_keeper_standing(const char *state_dir);

/* A take-over (ctl_takeover.c). peer: the pid of the process serving
 * the API socket at path, 0 if none. prefix_busy: an EAL primary runs
 * with that file prefix. stop: pid stopped with SIGTERM (*asked: when),
 * back once it has exited; -1 with err if it did not within 30 s.
 * done: forwarding again, logged with the time since asked. */
pid_t ctl_takeover_peer(const char *path);
bool ctl_takeover_prefix_busy(const char *prefix);
int ctl_takeover_stop(pid_t pid, struct timespec *asked, char *err, size_t errlen);
void ctl_takeover_done(pid_t pid, const struct timespec *asked);

/* vhost-user pods (ctl_vhost.c): socket and config file paths in
 * vhost_dir (-ENAMETOOLONG past a socket path's 108 bytes), the config
 * file written for the pod's application, and both removed. */
int ctl_vhost_paths(const char *id, const char *ifname, char sock[108], char file[280]);
int ctl_vhost_write(const struct ctl_pod *p, const struct rte_ether_addr *gwmac);
void ctl_vhost_remove(const struct ctl_pod *p);
int ctl_pod_del(struct ctl_pod *p);
/* Once a second (ctl_ports_watch): a TAP pod's MTU changed inside the pod
 * after ADD (a chained tuning plugin, ip link set) becomes what podlaned
 * sends it; what its TAP dropped, its port's rx_missed. */
void ctl_pods_watch(void);
json_t *ctl_pod_json(const struct ctl_pod *p);

/* Mirror of a kernel routing table (config import_table) as routes of
 * origin "kernel": a full dump at start (and once events stop being
 * lost, when some were), then netlink events, watched on the control
 * thread's loop. 0 or -1. */
int ctl_kroutes_start(uint32_t table);

/* podlane's commands on DPDK telemetry (/podlane/info, drops, ports). */
void ctl_telemetry_register(void);

/* Prometheus /metrics over HTTP on ip:port (config metrics_listen), on a
 * thread of its own. */
int ctl_metrics_start(uint32_t ip, uint16_t port, char *err, size_t errlen);
void ctl_metrics_stop(void);

/* The kernel NAT of config masquerade and nat_outgoing: an nftables
 * table of our own (none when both are off). */
int ctl_nat_start(const struct ctl_config *c, char *err, size_t errlen);
/* Warns when the node kernel does not forward IPv6: it routes pods'
 * IPv6 beyond the node (ctl_node_init). */
void ctl_nat_check_ipv6_forwarding(void);
/* After the restore at start, then once a second: the clients that keep
 * their address through masquerade follow the routes changed since
 * (nat_outgoing). */
void ctl_nat_sync(void);
void ctl_nat_stop(void);

/* State files (state.json: pods; routes.json: API routes; services.json):
 * each written
 * after every change to what it holds, both read once at start. */
int ctl_state_save_pods(void);
int ctl_state_save_routes(void);
int ctl_state_save_services(void);
int ctl_state_save_policies(void);
/* Tracked connections across a planned restart (ctl_conntrack_keep.c):
 * saved by a stopping podlaned once its workers stopped, restored (and
 * the file removed) by the next before its workers start; false: there
 * was none (the podlaned before was killed, or none ran). */
void ctl_conntrack_save(void);
bool ctl_conntrack_restore(void);
/* The uplink's neighbours across a planned restart (ctl_neigh_keep.c),
 * saved and restored as the tracked connections are. */
void ctl_neigh_save(void);
void ctl_neigh_restore(void);
/* The answer to a change whose state file could not be written (rc):
 * an add was undone ("not added"), a delete or a replacement stays
 * applied and its file is written again every second. */
int ctl_state_refused(struct ctl_err *e, int rc, bool undone);
/* A change made and kept: result when its save (rc) succeeded, else NULL
 * with *e saying it is saved again every second (result freed). */
json_t *ctl_state_kept(int rc, json_t *result, struct ctl_err *e);
/* Once a second: files whose last write failed are written again. */
void ctl_state_retry(void);
bool ctl_state_dirty(void); /* some change is not on disk */
/* Creates state_dir if need be; fails (with the reason) unless podlaned
 * can write files there. Checked before start-up builds anything. */
int ctl_state_dir_check(const char *dir, char *err, size_t errlen);
/* A state file of a newer layout (a downgrade): -1, err says so; older
 * and damaged ones are load's business. */
int ctl_state_version_check(const char *dir, char *err, size_t errlen);
void ctl_state_restore(void);

#endif
