/* Prometheus metrics: an optional HTTP listener (config metrics_listen)
 * serving GET /metrics in the text exposition format 0.0.4. It has its
 * own control thread, so a slow scraper never delays the API; it only
 * reads counters (relaxed), as the DPDK telemetry callbacks do. One
 * connection at a time, each bounded by socket timeouts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_lcore.h>
#include <rte_version.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

#define REQ_MAX 4096
#define IO_TIMEOUT_S 2

static int lfd = -1;
static pthread_t tid;

static void help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void port_metric(FILE *f, const struct dp_stats *s, const char *name, const char *text,
			size_t off)
{
	static const char *const kinds[] = {"uplink", "host", "pod"};
	struct dp_port_info pi;

	help(f, name, "counter", text);
	for (uint16_t p = 0; p < DP_MAX_PORTS; p++) {
		if (dp_port_info(p, &pi) != 0)
			continue;
		/* A pod's port: its Kubernetes namespace and name too (kubelet's
		 * CNI_ARGS), as cAdvisor labels a pod's series. */
		char k8s[PL_K8S_NAMESPACE_MAX + PL_K8S_NAME_MAX + 32] = "";
		char ns[PL_K8S_NAMESPACE_MAX + 1], pod[PL_K8S_NAME_MAX + 1];
		if (pi.kind == DP_PORT_POD && ctl_pod_k8s_names_on_port(p, ns, pod))
			snprintf(k8s, sizeof(k8s), ",namespace=\"%s\",pod=\"%s\"", ns, pod);
		fprintf(f, "%s{port=\"%s\",kind=\"%s\"%s} %" PRIu64 "\n", name, pi.name, kinds[pi.kind],
			k8s, *(const uint64_t *)((const char *)&s->port[p] + off));
	}
}

/* Per Service: what its id's counters say, under the services' lock (the
 * control thread may be replacing one). */
static void service_metrics(FILE *f)
{
	static const struct {
		const char *name, *text;
		size_t off;
	} m[] = {
		{"podlane_service_connections_total", "Connections balanced to a Service's backends.",
		 offsetof(struct dp_svc_stats, flows)},
		{"podlane_service_packets_total", "Packets to a Service (client to backend).",
		 offsetof(struct dp_svc_stats, pkts)},
		{"podlane_service_bytes_total", "Bytes to a Service (client to backend).",
		 offsetof(struct dp_svc_stats, bytes)},
		{"podlane_service_rejected_total", "Connections refused for want of endpoints.",
		 offsetof(struct dp_svc_stats, rejected)},
	};
	char svc[CTL_SVC_STRLEN];

	ctl_svc_lock();
	for (unsigned k = 0; k < RTE_DIM(m); k++) {
		help(f, m[k].name, "counter", m[k].text);
		for (uint32_t i = 0; i < node.cfg.max_services; i++) {
			struct dp_svc_stats st;
			if (!node.svcs[i].used)
				continue;
			dp_svc_stats_read(i, &st);
			fprintf(f, "%s{service=\"%s\",name=\"%s\"} %" PRIu64 "\n", m[k].name,
				ctl_svc_str(&node.svcs[i], svc), node.svcs[i].name,
				*(const uint64_t *)((const char *)&st + m[k].off));
		}
	}
	help(f, "podlane_service_backends", "gauge", "Endpoints a Service balances over.");
	for (uint32_t i = 0; i < node.cfg.max_services; i++)
		if (node.svcs[i].used)
			fprintf(f, "podlane_service_backends{service=\"%s\",name=\"%s\"} %u\n",
				ctl_svc_str(&node.svcs[i], svc), node.svcs[i].name,
				node.svcs[i].n_backends);
	ctl_svc_unlock();
}

/* Port names are ours (tap_p96_3, af_packet_eth1) or DPDK device names (no quotes or
 * backslashes), method names are ours, service names are refused with
 * quotes, backslashes or newlines: no label needs escaping. */
static void write_metrics(FILE *f)
{
	static struct dp_stats s; /* only this thread uses it */
	unsigned pods = 0;

	dp_stats_read(&s);
	for (unsigned i = 0; i < CTL_MAX_PODS; i++)
		pods += node.pods[i].used;

	help(f, "podlane_info", "gauge", "Versions of podlaned and DPDK.");
	fprintf(f, "podlane_info{version=\"%s\",dpdk=\"%s\"} 1\n", PODLANE_VERSION, rte_version());
	help(f, "podlane_ready", "gauge", "1 when podlaned accepts pods.");
	fprintf(f, "podlane_ready %d\n", node.ready ? 1 : 0);
	help(f, "podlane_uplink_present", "gauge",
	     "0 while the uplink's kernel interface is missing (an af_packet: uplink is "
	     "served again once it is back).");
	fprintf(f, "podlane_uplink_present %d\n",
		__atomic_load_n(&node.uplink_gone, __ATOMIC_RELAXED) ? 0 : 1);
	help(f, "podlane_pods", "gauge", "Pods attached to this node.");
	fprintf(f, "podlane_pods %u\n", pods);
	help(f, "podlane_routes", "gauge", "Routes in the forwarding table.");
	fprintf(f, "podlane_routes %u\n", node.n_routes);
	help(f, "podlane_ipv6_routes", "gauge", "IPv6 routes in the forwarding table (of podlane_routes).");
	fprintf(f, "podlane_ipv6_routes %u\n", node.n_routes6);
	struct dp_gw_state gws[64];
	unsigned n_gw = dp_ecmp_gateways(gws, RTE_DIM(gws));
	char gwip[CTL_IP6_STRLEN];
	help(f, "podlane_ecmp_gateway_resolved", "gauge",
	     "Gateways of ECMP routes: 1 while one answers ARP or NDP (in its sets), 0 while left out.");
	for (unsigned i = 0; i < n_gw; i++)
		fprintf(f, "podlane_ecmp_gateway_resolved{gateway=\"%s\"} %d\n",
			gws[i].ip ? ctl_ip_str(gws[i].ip, gwip) : ctl_ip6_str(gws[i].ip6, gwip),
			gws[i].resolved);
	help(f, "podlane_free_pod_addresses", "gauge", "Unallocated addresses in the pod CIDR.");
	fprintf(f, "podlane_free_pod_addresses %u\n", ctl_ipam_free_count());

	port_metric(f, &s, "podlane_port_rx_packets_total", "Packets received on a port.",
		    offsetof(struct dp_port_stats, rx_pkts));
	port_metric(f, &s, "podlane_port_rx_bytes_total", "Bytes received on a port.",
		    offsetof(struct dp_port_stats, rx_bytes));
	port_metric(f, &s, "podlane_port_tx_packets_total", "Packets sent on a port.",
		    offsetof(struct dp_port_stats, tx_pkts));
	port_metric(f, &s, "podlane_port_tx_bytes_total", "Bytes sent on a port.",
		    offsetof(struct dp_port_stats, tx_bytes));
	port_metric(f, &s, "podlane_port_rx_missed_total",
		    "Packets the port dropped because its receive ring was full.",
		    offsetof(struct dp_port_stats, hw_rx_missed));
	port_metric(f, &s, "podlane_port_policy_denied_total",
		    "Packets its pod's NetworkPolicies refused (sent by it, or to it).",
		    offsetof(struct dp_port_stats, policy_denied));

	help(f, "podlane_drops_total", "counter", "Packets dropped by the dataplane, by reason.");
	for (unsigned d = 0; d < DP_DROP_MAX; d++)
		fprintf(f, "podlane_drops_total{reason=\"%s\"} %" PRIu64 "\n", dp_drop_names[d],
			s.drops[d]);
	help(f, "podlane_icmp_errors_sent_total", "counter", "ICMP errors sent (TTL, unreachable).");
	fprintf(f, "podlane_icmp_errors_sent_total %" PRIu64 "\n", s.icmp_sent);
	help(f, "podlane_icmp_errors_ratelimited_total", "counter",
	     "ICMP errors not sent because of the rate limit.");
	fprintf(f, "podlane_icmp_errors_ratelimited_total %" PRIu64 "\n", s.icmp_ratelimited);
	help(f, "podlane_fragmented_total", "counter",
	     "Packets cut into fragments to fit an output port's MTU.");
	fprintf(f, "podlane_fragmented_total %" PRIu64 "\n", s.fragmented);
	help(f, "podlane_tx_waited_total", "counter",
	     "Frames a guest's full rx ring (vhost-user) refused at first, kept to offer again.");
	fprintf(f, "podlane_tx_waited_total %" PRIu64 "\n", s.tx_waited);
	help(f, "podlane_arp_requests_total", "counter", "ARP requests sent to resolve next hops.");
	fprintf(f, "podlane_arp_requests_total %" PRIu64 "\n", s.arp_requests);
	help(f, "podlane_arp_replies_total", "counter", "ARP replies sent (node, gateway, proxy).");
	fprintf(f, "podlane_arp_replies_total %" PRIu64 "\n", s.arp_replies);
	help(f, "podlane_ipv4_packets_total", "counter", "IPv4 packets routed (or refused on the way).");
	fprintf(f, "podlane_ipv4_packets_total %" PRIu64 "\n", s.ipv4_pkts);
	help(f, "podlane_ipv6_packets_total", "counter", "IPv6 packets routed (or refused on the way).");
	fprintf(f, "podlane_ipv6_packets_total %" PRIu64 "\n", s.ipv6_pkts);
	help(f, "podlane_ndp_replies_total", "counter", "Neighbour advertisements of the pods' gateway fe80::1.");
	fprintf(f, "podlane_ndp_replies_total %" PRIu64 "\n", s.ndp_replies);
	help(f, "podlane_ndp_requests_total", "counter", "Neighbour solicitations sent to resolve IPv6 next hops.");
	fprintf(f, "podlane_ndp_requests_total %" PRIu64 "\n", s.ndp_requests);

	help(f, "podlane_flows", "gauge", "Connections tracked for Services (the conntrack table).");
	fprintf(f, "podlane_flows %" PRIu64 "\n", s.flows_in_use);
	help(f, "podlane_flows_max", "gauge", "Room in the conntrack table (config max_flows).");
	fprintf(f, "podlane_flows_max %" PRIu64 "\n", s.flows_max);
	help(f, "podlane_flows_created_total", "counter", "Connections to Services tracked.");
	fprintf(f, "podlane_flows_created_total %" PRIu64 "\n", s.flows_created);
	service_metrics(f);
	help(f, "podlane_policy_rule_connections_total", "counter",
	     "Connections a NetworkPolicy rule allowed (since the policy was added).");
	ctl_policy_metrics(f);

	help(f, "podlane_mbufs_in_use", "gauge",
	     "Packet buffers taken from the pool (in queues, in flight or leaked).");
	fprintf(f, "podlane_mbufs_in_use %u\n", s.mbufs_in_use);
	help(f, "podlane_mbufs", "gauge", "Packet buffers in the pool.");
	fprintf(f, "podlane_mbufs %u\n", s.mbufs_total);
	help(f, "podlane_worker_busy_ratio", "gauge",
	     "Share of the last second a worker spent moving packets (0..1).");
	for (unsigned w = 0; w < s.n_workers; w++)
		fprintf(f, "podlane_worker_busy_ratio{worker=\"%u\"} %.6f\n", w, s.worker_load[w]);
	help(f, "podlane_worker_busy_seconds_total", "counter",
	     "Time a worker spent moving packets.");
	for (unsigned w = 0; w < s.n_workers; w++)
		fprintf(f, "podlane_worker_busy_seconds_total{worker=\"%u\"} %.6f\n", w,
			(double)s.worker_busy_us[w] / 1e6);

	help(f, "podlane_api_requests_total", "counter", "API requests by method and result.");
	for (const struct ctl_method *m = ctl_rpc_methods(); m; m = m->next) {
		fprintf(f, "podlane_api_requests_total{method=\"%s\",result=\"ok\"} %" PRIu64 "\n",
			m->name, __atomic_load_n(&m->n_ok, __ATOMIC_RELAXED));
		fprintf(f, "podlane_api_requests_total{method=\"%s\",result=\"error\"} %" PRIu64 "\n",
			m->name, __atomic_load_n(&m->n_failed, __ATOMIC_RELAXED));
	}
	fprintf(f, "podlane_api_requests_total{method=\"\",result=\"invalid\"} %" PRIu64 "\n",
		ctl_rpc_invalid_count());
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* timeout or peer gone: nothing to tell anyone */
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len,
		    bool head_only)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, type, len);
	send_all(fd, hdr, (size_t)n);
	if (!head_only)
		send_all(fd, body, len);
}

static void serve(int fd)
{
	static const char text[] = "text/plain; charset=utf-8";
	char req[REQ_MAX + 1], method[8], path[256];
	size_t len = 0;

	while (len < REQ_MAX) {
		ssize_t r = recv(fd, req + len, REQ_MAX - len, 0);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = '\0';
	if (sscanf(req, "%7s %255s HTTP/1.%*c", method, path) != 2) {
		respond(fd, "400 Bad Request", text, "bad request\n", 12, false);
		return;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		respond(fd, "405 Method Not Allowed", text, "only GET and HEAD\n", 18, false);
		return;
	}
	char *q = strchr(path, '?');
	if (q)
		*q = '\0';
	if (strcmp(path, "/metrics") != 0) {
		respond(fd, "404 Not Found", text, "podlaned serves /metrics\n", 25, head);
		return;
	}
	char *body = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&body, &blen);
	if (f == NULL) {
		respond(fd, "503 Service Unavailable", text, "out of memory\n", 14, head);
		return;
	}
	write_metrics(f);
	fclose(f);
	respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, blen, head);
	free(body);
}

static void *metrics_main(void *arg)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

	(void)arg;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				continue;
			return NULL; /* EINVAL: ctl_metrics_stop shut the socket down */
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve(fd);
		close(fd);
	}
}

int ctl_metrics_start(uint32_t ip, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = ip, .sin_port = htons(port)};
	char b[16];
	int one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 16) != 0) {
		snprintf(err, errlen, "metrics: cannot listen on %s:%u: %s", ctl_ip_str(ip, b), port,
			 strerror(errno));
		goto fail;
	}
	int rc = rte_ctrl_thread_create(&tid, "pl-metrics", NULL, metrics_main, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "metrics: cannot start its thread: %s", strerror(rc));
		goto fail;
	}
	ctl_log("metrics on http://%s:%u/metrics", ctl_ip_str(ip, b), port);
	return 0;
fail:
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
	return -1;
}

void ctl_metrics_stop(void)
{
	if (lfd < 0)
		return;
	shutdown(lfd, SHUT_RDWR); /* wakes accept() with EINVAL */
	pthread_join(tid, NULL);
	close(lfd);
	lfd = -1;
}
