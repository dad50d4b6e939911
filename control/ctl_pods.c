/* Pods: a TAP port created inside the pod's netns (or a vhost-user port),
 * addressed /32 (and /128) with a link-local gateway. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


#include "ctl_netlink.h"
#include "ctl_netns.h"
#include "ctl_node.h"

const struct ctl_pod *ctl_pod_by_id(const char *container_id)
{
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		if (node.pods[i].used && strcmp(node.pods[i].container_id, container_id) == 0)
			return &node.pods[i];
	return NULL;
}

const struct ctl_pod *ctl_pod_on_port(uint16_t port)
{
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		if (node.pods[i].used && node.pods[i].port == port)
			return &node.pods[i];
	return NULL;
}

/* The metrics thread reads pods' Kubernetes names while the control
 * thread sets and clears them: both take this (the control thread only
 * to write them). */
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

void ctl_pod_set_k8s_names(struct ctl_pod *p, const char *ns, const char *name)
{
	pthread_mutex_lock(&names_lock);
	snprintf(p->k8s_namespace, sizeof(p->k8s_namespace), "%s", ns);
	snprintf(p->k8s_name, sizeof(p->k8s_name), "%s", name);
	pthread_mutex_unlock(&names_lock);
}

bool ctl_pod_k8s_names_on_port(uint16_t port, char ns[PL_K8S_NAMESPACE_MAX + 1],
			       char name[PL_K8S_NAME_MAX + 1])
{
	pthread_mutex_lock(&names_lock);
	const struct ctl_pod *p = ctl_pod_on_port(port);
	bool named = p != NULL && p->k8s_name[0];
	if (named) {
		memcpy(ns, p->k8s_namespace, PL_K8S_NAMESPACE_MAX + 1);
		memcpy(name, p->k8s_name, PL_K8S_NAME_MAX + 1);
	}
	pthread_mutex_unlock(&names_lock);
	return named;
}

unsigned ctl_pods_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		n += node.pods[i].used;
	return n;
}

struct ctl_pod *ctl_pod_find(const char *container_id, const char *ifname)
{
	for (unsigned i = 0; i < CTL_MAX_PODS; i++) {
		struct ctl_pod *p = &node.pods[i];
		if (p->used && strcmp(p->container_id, container_id) == 0 &&
		    strcmp(p->ifname, ifname) == 0)
			return p;
	}
	return NULL;
}

/* The 4 bytes a pod's MACs and port name come from: its IPv4 address,
 * an IPv6-only pod's last 4 of its IPv6 one (unique in the node's pool). */
static const uint8_t *pod_tag(const struct ctl_pod *p)
{
	return p->ip ? (const uint8_t *)&p->ip : p->ip6 + 12;
}

/* MACs derived from the pod IP: stable across restarts, unique per node,
 * locally administered. The kernel side and our side must differ. */
static void pod_macs(const uint8_t *b, struct rte_ether_addr *pod, struct rte_ether_addr *gw)
{
	*pod = (struct rte_ether_addr){{0x0a, 0x58, b[0], b[1], b[2], b[3]}};
	*gw = (struct rte_ether_addr){{0x02, 0x50, b[0], b[1], b[2], b[3]}};
}

/* Its address for logs: IPv4, an IPv6-only pod's IPv6. */
static const char *pod_addr_str(const struct ctl_pod *p, char buf[CTL_IP6_STRLEN])
{
	return p->ip ? ctl_ip_str(p->ip, buf) : ctl_ip6_str(p->ip6, buf);
}

static int setup_in_netns(const char *ifname, uint32_t ip, const uint8_t ip6[16],
			  const struct rte_ether_addr *mac, uint16_t mtu, struct ctl_err *e)
{
	static const uint8_t any6[16];
	const char *step[8];
	struct ctl_nl_batch b;
	uint32_t gw;
	unsigned failed, n = 0;
	int idx = (int)if_nametoindex(ifname), rc;

	ctl_parse_ip(PL_POD_GATEWAY, &gw);
	if (idx == 0)
		return ctl_fail(e, PL_E_NETNS, "interface %s did not appear in the pod netns", ifname);
	ctl_nl_batch_init(&b);
	ctl_nl_link_sizes(&b, idx, mtu, DP_KPORT_GSO_MAX);
	step[n++] = "set MTU and gso_max_size";
	ctl_nl_link_no_ipv6_ll(&b, idx);
	step[n++] = "no IPv6 link-local";
	ctl_nl_link_set(&b, idx, mac, true);
	step[n++] = "set MAC and up";
	if (ip != 0) { /* not on an IPv6-only node */
		ctl_nl_addr_add(&b, idx, ip, 32);
		step[n++] = "add address";
		ctl_nl_route_add(&b, gw, 32, 0, idx);
		step[n++] = "add route to " PL_POD_GATEWAY;
		ctl_nl_route_add(&b, 0, 0, gw, idx);
		step[n++] = "add default route via " PL_POD_GATEWAY;
	}
	if (node.cfg.has_pod6) {
		uint8_t gw6[16];
		inet_pton(AF_INET6, PL_POD_GATEWAY6, gw6);
		ctl_nl_addr6_add(&b, idx, ip6, 128);
		step[n++] = "add IPv6 address";
		ctl_nl_route6_add(&b, any6, 0, gw6, idx);
		step[n++] = "add default IPv6 route via " PL_POD_GATEWAY6;
	}
	if ((rc = ctl_nl_batch_send(&b, &failed)) == 0)
		return 0;
	if (failed == 0 && mtu)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "mtu: %u refused for %s: %s", mtu, ifname,
				strerror(-rc));
	return ctl_fail(e, PL_E_NETNS, "%s on %s: %s", step[failed], ifname, strerror(-rc));
}

/* A pod's netns, open: a network namespace other than podlaned's own,
 * and for a TAP pod no other TAP pod's. podlane gives a pod one
 * interface, whose default route is the pod's: a second one in the same
 * netns would take it over (and leave the pod without one when deleted). */
static int pod_netns(const char *netns, bool vhost, struct stat *st, struct ctl_err *e)
{
	int ns = ctl_netns_open(netns, st);

	if (ns < 0)
		return ctl_fail(e, PL_E_NETNS, "netns: '%.200s' %s", netns, ctl_netns_error(ns));
	for (unsigned i = 0; !vhost && i < CTL_MAX_PODS; i++) {
		const struct ctl_pod *o = &node.pods[i];
		if (o->used && !o->vhost && o->ns_dev == st->st_dev && o->ns_ino == st->st_ino) {
			close(ns);
			return ctl_fail(e, PL_E_EXISTS, "netns: '%.200s' already holds pod %s/%s (one "
					"interface a pod: its default route is that interface's)",
					netns, o->container_id, o->ifname);
		}
	}
	return ns;
}

static struct ctl_pod *free_slot(void)
{
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		if (!node.pods[i].used)
			return &node.pods[i];
	return NULL;
}

/* A native TAP (dataplane/dp_kport.c) created inside the pod's netns (or,
 * restoring, the one left there taken over), then given the pod's MAC,
 * MTU, /32 and routes there (each set as it is: already so, nothing
 * changes for the pod). */
static int tap_port(int ns, struct ctl_pod *p, const struct rte_ether_addr *gwmac, bool restore,
		    uint16_t *pid, struct ctl_err *e)
{
	const uint8_t *b = pod_tag(p);
	const char *netns = p->netns, *ifname = p->ifname;
	char name[32], derr[256];
	struct ctl_netns home;
	int rc;

	/* The last two bytes are unique in a /16 or smaller (and in an
	 * IPv6-only node's pool of 64 Ki). */
	snprintf(name, sizeof(name), "tap_p%u_%u", b[2], b[3]);
	if ((rc = ctl_netns_enter_fd(ns, &home)) != 0)
		return ctl_fail(e, PL_E_NETNS, "netns: cannot enter %s: %s", netns, strerror(-rc));
	if (!restore && if_nametoindex(ifname) != 0) {
		ctl_fail(e, PL_E_EXISTS, "ifname: %s already exists in netns %s", ifname, netns);
		rc = -EEXIST;
	} else if ((rc = dp_tap_create(ifname, restore, restore ? ctl_keeper_fd(ifname) : -1,
				       DP_PORT_POD, name, gwmac, pid, derr, sizeof(derr))) != 0) {
		ctl_fail(e, PL_E_RESOURCE, "%s", derr);
	} else if ((rc = setup_in_netns(ifname, p->ip, p->ip6, &p->mac, p->mtu, e)) == 0) {
		p->nl = ctl_nl_open(); /* ctl_ports_watch */
	}
	ctl_netns_leave(&home);
	return rc;
}

/* A vhost-user port in client mode with reconnect (ctl_vhost.c): it links
 * up when the pod's application opens its socket, in any order. */
static int vhost_port(const char *id, const char *ifname, const uint8_t *b,
		      struct rte_ether_addr *gwmac, uint16_t *pid, struct ctl_err *e)
{
	char devargs[200], sock[108], file[280], derr[256];
	int rc;

	if (ctl_vhost_paths(id, ifname, sock, file) != 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "container_id: too long for a vhost-user "
				"socket path in %s (108 bytes)", node.cfg.vhost_dir);
	/* One queue pair per worker on offer; the guest enables what it uses.
	 * tso=1 offers HOST_TSO4/6: a guest sends its TCP frames whole and
	 * they go on as GSO frames (dp_offload_from_rx). */
	snprintf(devargs, sizeof(devargs), "net_vhost_p%u_%u,iface=%s,client=1,tso=1,queues=%u", b[2],
		 b[3], sock, node.cfg.workers);
	if ((rc = dp_port_probe(devargs, pid, derr, sizeof(derr))) != 0 ||
	    (rc = dp_port_start(*pid, DP_PORT_POD, 0, derr, sizeof(derr))) != 0)
		return ctl_fail(e, PL_E_RESOURCE, "%s", derr);
	/* net_vhost keeps its own MAC: that is the gateway's for this pod. */
	struct dp_port_info pi;
	dp_port_info(*pid, &pi);
	*gwmac = pi.mac;
	return 0;
}

/* A pod's IPv6 /128 (pod_cidr has an IPv6 prefix): its address, its
 * route to the port. */
static struct ctl_pfx pod_pfx6(const struct ctl_pod *p)
{
	struct ctl_pfx pfx = {.v6 = 1, .plen = 128};

	memcpy(pfx.a, p->ip6, 16);
	return pfx;
}

static int pod_route6(const struct ctl_pod *p, uint16_t pid, const struct dp_nh_spec *nh)
{
	if (!node.cfg.has_pod6)
		return 0;
	struct ctl_pfx pfx = pod_pfx6(p);
	dp_port_set_peer6(pid, pfx.a);
	return ctl_route_set_pfx(&pfx, nh, "pod");
}

/* The pod's IPv6 address: want_ip6 (from a delegated IPAM plugin), or
 * derived from ip; an address of the node's IPv6 pod prefix no other pod
 * has. */
static int pod_ip6(uint32_t ip, const uint8_t *want_ip6, uint8_t out[16], struct ctl_err *e)
{
	char a[CTL_IP6_STRLEN];
	struct ctl_pfx pfx = {.v6 = 1, .plen = 128};

	if (want_ip6 != NULL && !node.cfg.has_pod6)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "ip6: %s given, but this node has no IPv6 "
				"pods (pod_cidr)", ctl_ip6_str(want_ip6, a));
	if (!node.cfg.has_pod6)
		return 0;
	if (want_ip6 != NULL)
		memcpy(out, want_ip6, 16);
	else
		ctl_pod_ip6(ip, out);
	memcpy(pfx.a, out, 16);
	if (!ctl_in_prefix6(out, node.cfg.pod6_net, node.cfg.pod6_plen) ||
	    memcmp(out, node.cfg.pod6_net, 16) == 0)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "ip6: %s is not a usable address of "
				"pod_cidr's IPv6 prefix", ctl_ip6_str(out, a));
	if (ctl_route_find_pfx(&pfx) != NULL)
		return ctl_fail(e, PL_E_EXISTS, "ip6: %s is already in use", ctl_ip6_str(out, a));
	return 0;
}

/* An IPv6-only node's pod: its IPv6 address from the pool, or want_ip6
 * (a delegated IPAM plugin's) reserved there. */
static int pod_ip6_only(uint32_t want_ip, const uint8_t *want_ip6, uint8_t ip6[16],
			struct ctl_err *e)
{
	char a[CTL_IP6_STRLEN];
	int rc;

	if (want_ip)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "ip: %s given, but this node is IPv6-only "
				"(pod_cidr has no IPv4 prefix)", ctl_ip_str(want_ip, a));
	if (want_ip6 == NULL) {
		if (ctl_ipam_alloc6(ip6) != 0)
			return ctl_fail(e, PL_E_NO_ADDRESS, "pod_cidr has no free address left");
		return 0;
	}
	if (pod_ip6(0, want_ip6, ip6, e) != 0)
		return -1;
	if ((rc = ctl_ipam_reserve6(ip6)) != 0)
		return ctl_fail(e, rc == -EEXIST ? PL_E_EXISTS : PL_E_INVALID_PARAMS, "ip6: %s %s",
				ctl_ip6_str(ip6, a), rc == -EEXIST ? "is already in use"
								   : "is not a usable address of pod_cidr");
	return 0;
}

/* The pod's addresses: IPv4 from the pool (or want_ip, reserved) and IPv6
 * beside it (pod_ip6), or an IPv6-only node's IPv6 alone. */
static int pod_addresses(uint32_t want_ip, const uint8_t *want_ip6, uint32_t *ip, uint8_t ip6[16],
			 struct ctl_err *e)
{
	char ipb[16];
	int rc;

	if (!node.cfg.has_ipv4)
		return pod_ip6_only(want_ip, want_ip6, ip6, e);
	*ip = want_ip;
	rc = want_ip ? ctl_ipam_reserve(want_ip) : ctl_ipam_alloc(ip);
	if (rc != 0) {
		if (want_ip && rc == -EEXIST)
			return ctl_fail(e, PL_E_EXISTS, "ip: %s is already in use", ctl_ip_str(want_ip, ipb));
		if (want_ip)
			return ctl_fail(e, PL_E_INVALID_PARAMS, "ip: %s is not a usable address of pod_cidr",
					ctl_ip_str(want_ip, ipb));
		return ctl_fail(e, PL_E_NO_ADDRESS, "pod_cidr has no free address left");
	}
	if (pod_ip6(*ip, want_ip6, ip6, e) != 0) {
		ctl_ipam_release(*ip);
		return -1;
	}
	return 0;
}

static void release_addresses(const struct ctl_pod *p)
{
	if (p->ip)
		ctl_ipam_release(p->ip);
	else
		ctl_ipam_release6(p->ip6);
}

int ctl_pod_add(const char *container_id, const char *netns, const char *ifname,
		uint32_t want_ip, const uint8_t *want_ip6, uint16_t mtu, bool vhost, bool restore,
		struct ctl_pod **out, struct ctl_err *e)
{
	uint8_t ip6[16] = {0};
	struct ctl_pod *p = free_slot();
	struct rte_ether_addr gwmac;
	char ipb[CTL_IP6_STRLEN];
	uint16_t pid = DP_MAX_PORTS;
	uint32_t ip = 0;
	int rc;

	if (p == NULL)
		return ctl_fail(e, PL_E_RESOURCE, "this node holds at most %u pods", CTL_MAX_PODS);
	if (!vhost && mtu > DP_KPORT_MTU_MAX)
		return ctl_fail(e, PL_E_INVALID_PARAMS, "mtu: at most %u on a TAP pod",
				DP_KPORT_MTU_MAX);
	struct stat nst;
	int ns = pod_netns(netns, vhost, &nst, e);
	if (ns < 0)
		return -1;
	if (pod_addresses(want_ip, want_ip6, &ip, ip6, e) != 0) {
		close(ns);
		return -1;
	}
	/* Filled now (the vhost-user config file is written from it), marked
	 * used only once everything succeeded. */
	memset(p, 0, sizeof(*p));
	snprintf(p->container_id, sizeof(p->container_id), "%s", container_id);
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifname);
	snprintf(p->netns, sizeof(p->netns), "%s", netns);
	p->ip = ip;
	memcpy(p->ip6, ip6, 16);
	pod_macs(pod_tag(p), &p->mac, &gwmac);
	p->mtu = mtu ? mtu : ctl_node_tap_mtu(); /* kept: a restart restores the same */
	p->vhost = vhost;
	p->ns_dev = nst.st_dev;
	p->ns_ino = nst.st_ino;
	rc = vhost ? vhost_port(container_id, ifname, pod_tag(p), &gwmac, &pid, e)
		   : tap_port(ns, p, &gwmac, restore, &pid, e);
	close(ns);
	if (rc == 0 && vhost && (rc = ctl_vhost_write(p, &gwmac)) != 0)
		ctl_fail(e, PL_E_RESOURCE, "cannot write the vhost-user config file in %s: %s",
			 node.cfg.vhost_dir, strerror(-rc));
	if (rc == 0) {
		dp_port_set_peer(pid, ip, &p->mac);
		dp_port_set_mtu(pid, p->mtu);
		struct dp_nh_spec nh = {.kind = DP_NH_PORT, .port = pid, .mac = p->mac};
		if (ip && (rc = ctl_route_set(ip, 32, &nh, "pod")) != 0)
			ctl_fail(e, PL_E_RESOURCE, "route for %s: %s", ctl_ip_str(ip, ipb), strerror(-rc));
		else if ((rc = pod_route6(p, pid, &nh)) != 0) {
			ctl_fail(e, PL_E_RESOURCE, "IPv6 route of %s: %s", pod_addr_str(p, ipb),
				 strerror(-rc));
			if (ip)
				ctl_route_remove(ip, 32);
			dp_commit(); /* no worker holds the next hop when the port goes */
		}
	}
	if (rc != 0) {
		ctl_nl_close(p->nl);
		if (pid < DP_MAX_PORTS)
			dp_port_remove(pid);
		release_addresses(p);
		if (vhost)
			ctl_vhost_remove(p); /* the config file, if written */
		memset(p, 0, sizeof(*p));
		return -1;
	}
	p->used = true;
	p->port = pid;
	if (!vhost) /* restored ones: all at once, by ctl_keeper_taken() */
		ctl_keeper_hold(pid);
	ctl_policy_pods_changed();
	*out = p;
	ctl_log("pod add %s/%s ip %s port %u%s", container_id, ifname, pod_addr_str(p, ipb), pid,
		vhost ? " (vhost-user)" : "");
	return 0;
}

/* A TAP's interface lives until the dataplane's closers have closed its
 * fd (dp_kport.c, ~20 ms). Meanwhile it must not hold the pod's ifname,
 * or an ADD into the same netns right after would find the name taken:
 * it goes down and becomes pldelN. The netns is the TAP's own, not the
 * path's: the path may name another netns by now. Nothing to do if the
 * interface was deleted. */
static void release_ifname(const struct ctl_pod *p)
{
	static uint32_t seq;
	char cur[IF_NAMESIZE], name[IF_NAMESIZE];
	struct ctl_netns home;
	struct ctl_nl_batch b;
	unsigned failed;
	int idx, rc, ns;

	if (dp_tap_where(p->port, cur, &ns) != 0)
		return;
	rc = ctl_netns_enter_fd(ns, &home);
	close(ns);
	if (rc != 0)
		return;
	if ((idx = (int)if_nametoindex(cur)) != 0) {
		snprintf(name, sizeof(name), "pldel%u", seq++);
		ctl_nl_batch_init(&b);
		ctl_nl_link_rename(&b, idx, name);
		rc = ctl_nl_batch_send(&b, &failed);
	}
	ctl_netns_leave(&home);
	if (rc != 0)
		ctl_warn("pod del %s/%s: cannot rename %s to %s: %s (it holds the name until "
			 "deleted, ~20 ms)", p->container_id, p->ifname, cur, name, strerror(-rc));
}

int ctl_pod_del(struct ctl_pod *p)
{
	char ipb[CTL_IP6_STRLEN];

	/* Every route through the pod's port goes first, then the port, once
	 * no worker can still hold a next hop to it. Usually that is the
	 * pod's /32 alone; the table (max_routes long) is searched only for
	 * routes added with dev <port>. */
	const struct ctl_route *own = p->ip ? ctl_route_find(p->ip, 32) : NULL;
	bool saved_routes = false; /* routes.json holds one of them */
	if (own != NULL && own->nh.kind == DP_NH_PORT && own->nh.port == p->port)
		ctl_route_remove(p->ip, 32);
	if (node.cfg.has_pod6) {
		struct ctl_pfx pfx = pod_pfx6(p);
		ctl_route_remove_pfx(&pfx);
	}
	for (uint32_t i = 0; node.port_routes[p->port] > 0 && i < node.route_cap; i++) {
		struct ctl_route *r = &node.routes[i];
		if (r->used && r->nh.kind == DP_NH_PORT && r->nh.port == p->port) {
			saved_routes |= strcmp(r->origin, "system") != 0 && strcmp(r->origin, "kernel") != 0;
			ctl_route_remove_pfx(&r->dst);
		}
	}
	dp_commit();
	/* Gone for good: a restart must not bring them back onto whichever pod
	 * has this port's name by then. */
	if (saved_routes)
		ctl_state_save_routes();
	if (!p->vhost) {
		release_ifname(p);
		ctl_keeper_release(p->port);
	}
	int rc = dp_port_remove(p->port);
	if (rc != 0)
		ctl_warn("pod del %s/%s: port %u removal failed: %s", p->container_id, p->ifname,
			p->port, strerror(-rc));
	release_addresses(p);
	if (p->vhost)
		ctl_vhost_remove(p);
	ctl_nl_close(p->nl);
	ctl_log("pod del %s/%s ip %s", p->container_id, p->ifname, pod_addr_str(p, ipb));
	pthread_mutex_lock(&names_lock);
	memset(p, 0, sizeof(*p));
	pthread_mutex_unlock(&names_lock);
	ctl_policy_pods_changed();
	return 0;
}

void ctl_pods_watch(void)
{
	bool changed = false;

	for (unsigned i = 0; i < CTL_MAX_PODS; i++) {
		struct ctl_pod *p = &node.pods[i];
		struct ctl_nl_link l;
		char name[IFNAMSIZ];

		if (!p->used || p->nl == NULL)
			continue;
		/* By the TAP's current name: the pod may have renamed it. */
		if (dp_tap_where(p->port, name, NULL) != 0 || ctl_nl_link_get(p->nl, name, &l) != 0)
			continue; /* gone, or moved to another netns: pod.del will come */
		dp_kport_set_missed(p->port, l.tx_dropped);
		uint16_t mtu = (uint16_t)RTE_MIN(l.mtu, (uint32_t)DP_KPORT_MTU_MAX);
		if (mtu == p->mtu || l.mtu < RTE_ETHER_MIN_MTU)
			continue;
		ctl_log("pod %s/%s: MTU %u -> %u (set in the pod)", p->container_id, p->ifname,
			p->mtu, mtu);
		p->mtu = mtu;
		dp_port_set_mtu(p->port, mtu);
		changed = true;
	}
	if (changed)
		ctl_state_save_pods();
}

int ctl_pod_k8s_names(json_t *o, char ns[PL_K8S_NAMESPACE_MAX + 1], char name[PL_K8S_NAME_MAX + 1],
		      struct ctl_err *e)
{
	json_t *jn = json_object_get(o, "k8s_namespace"), *jm = json_object_get(o, "k8s_name");
	const char *n = json_string_value(jn), *m = json_string_value(jm);

	ns[0] = name[0] = '\0';
	if ((jn && !n) || (jm && !m))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "%s: must be a string",
				jn && !n ? "k8s_namespace" : "k8s_name");
	if ((n == NULL) != (m == NULL))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "k8s_namespace and k8s_name: give both or neither");
	if (n == NULL)
		return 0;
	if (!pl_valid_k8s_name(n, false))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "k8s_namespace: '%.64s' is not a Kubernetes "
				"namespace (lowercase letters, digits and '-', at most 63)", n);
	if (!pl_valid_k8s_name(m, true))
		return ctl_fail(e, PL_E_INVALID_PARAMS, "k8s_name: '%.64s' is not a Kubernetes pod "
				"name (lowercase letters, digits, '-' and '.', at most 253)", m);
	snprintf(ns, PL_K8S_NAMESPACE_MAX + 1, "%s", n);
	snprintf(name, PL_K8S_NAME_MAX + 1, "%s", m);
	return 0;
}

json_t *ctl_pod_json(const struct ctl_pod *p)
{
	char ip[16], cidr[24], mac[18], port[64];

	ctl_port_name(p->port, port, sizeof(port));
	json_t *o = json_pack("{s:s, s:s, s:s}", "container_id", p->container_id, "ifname",
			      p->ifname, "netns", p->netns);
	snprintf(cidr, sizeof(cidr), "%s/32", ctl_ip_str(p->ip, ip));
	if (p->ip) /* none on an IPv6-only node */
		json_object_set_new(o, "ip", json_string(cidr));
	json_object_set_new(o, "mac", json_string(ctl_mac_str(&p->mac, mac)));
	if (p->ip)
		json_object_set_new(o, "gateway", json_string(PL_POD_GATEWAY));
	json_object_set_new(o, "port", json_string(port));
	json_object_set_new(o, "mtu", json_integer(p->mtu));
	if (node.cfg.has_pod6) {
		char a6[CTL_IP6_STRLEN + 4];
		ctl_ip6_str(p->ip6, a6);
		strcat(a6, "/128");
		json_object_set_new(o, "ip6", json_string(a6));
		json_object_set_new(o, "gateway6", json_string(PL_POD_GATEWAY6));
	}
	json_object_set_new(o, "interface", json_string(p->vhost ? "vhost-user" : "tap"));
	if (p->k8s_name[0]) {
		json_object_set_new(o, "k8s_namespace", json_string(p->k8s_namespace));
		json_object_set_new(o, "k8s_name", json_string(p->k8s_name));
	}
	if (p->vhost) {
		char sock[108], file[280];
		ctl_vhost_paths(p->container_id, p->ifname, sock, file);
		json_object_set_new(o, "socket", json_string(sock));
		json_object_set_new(o, "config_file", json_string(file));
	}
	return o;
}
