/* plgen: a minimal DPDK traffic generator for the benchmarks. Every port
 * EAL gives it (virtio_user vdevs, usually) sends IPv4/UDP or IPv6/UDP
 * frames as fast as it can, from its own source MAC and IP to a gateway
 * MAC, over FLOWS destinations counted up from a base address, with valid
 * checksums (a router drops anything else), and counts what comes back. testpmd's
 * flowgen cannot do this in 22.11: its MACs and addresses are fixed.
 *
 *   plgen EAL-ARGS -- --seconds S [--warmup S] [--size BYTES] [--flows N]
 *         [--random] [--stride N] [--sports N] [--dport N] [--rate PPS]
 *         [--queues N] [--ring N]
 *         --port SRC_MAC,GW_MAC,SRC_IP,DST_BASE[,FLOWS] ...   (one per port)
 *
 * Flow k (0..FLOWS-1; FLOWS per port or --flows; 0: the port only
 * receives) goes from source port 1024 + k % SPORTS to DST_BASE + STRIDE *
 * (k / SPORTS), UDP port DPORT (default 1024; SPORTS default 1: flows are
 * destinations; STRIDE 256 puts each in its own /24), in order or, with
 * --random, drawn at random. A port whose SRC_IP and DST_BASE are IPv6
 * sends IPv6, its destination offset N = STRIDE * (k / SPORTS) split the
 * way an IPv4 offset falls into /24s: N's low 8 bits are added to the
 * address's last byte, N >> 8 to its /64 (the 4th group), so 65536 flows
 * are 256 addresses in each of 256 /64s.
 * --rate caps what each port sends (packets per second; default: all it
 * can). With --queues N every port sends round-robin on N queue pairs (the
 * virtio_user vdev needs queues=N too) and counts rx per queue. --ring sets
 * the descriptors per queue (default 1024; virtio_user needs queue_size=N).
 * Prints one JSON object: per port tx and rx packets per second over the
 * measured interval (after the warm-up); packets sent and received over
 * the whole run (after a short drain), and received per queue. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "bench_rng.h"

#define BURST 32
#define MAX_PORTS 4
#define MAX_QUEUES 8

struct gen_port {
	struct rte_ether_addr src, gw;
	uint32_t src_ip, dst_base; /* host order */
	bool v6;
	uint8_t src6[16], dst6[16];
	uint32_t next, flows;
	uint64_t tx, rx;
	uint64_t rxq[MAX_QUEUES];
};

static struct gen_port ports[MAX_PORTS];
static unsigned n_ports, flows = 1024, size = 64, n_queues = 1, stride = 1, ring = 1024;
static unsigned sports = 1, dport = 1024;
static double seconds = 5, warmup = 2, rate;
static bool random_dst;

static void die(const char *msg)
{
	fprintf(stderr, "plgen: %s\n", msg);
	exit(2);
}

static void parse_port(const char *arg)
{
	char s[4][48];
	struct in_addr a, b;
	struct gen_port *p = &ports[n_ports];
	int n_flows = -1;

	if (n_ports == MAX_PORTS ||
	    sscanf(arg, "%47[^,],%47[^,],%47[^,],%47[^,],%d", s[0], s[1], s[2], s[3], &n_flows) < 4 ||
	    rte_ether_unformat_addr(s[0], &p->src) != 0 || rte_ether_unformat_addr(s[1], &p->gw) != 0)
		die("--port wants SRC_MAC,GW_MAC,SRC_IP,DST_BASE[,FLOWS]");
	p->v6 = inet_pton(AF_INET6, s[2], p->src6) == 1 && inet_pton(AF_INET6, s[3], p->dst6) == 1;
	if (!p->v6 && (inet_pton(AF_INET, s[2], &a) != 1 || inet_pton(AF_INET, s[3], &b) != 1))
		die("--port: SRC_IP and DST_BASE must be two IPv4 or two IPv6 addresses");
	p->flows = n_flows < 0 ? UINT32_MAX : (uint32_t)n_flows; /* UINT32_MAX: --flows */
	p->src_ip = p->v6 ? 0 : ntohl(a.s_addr);
	p->dst_base = p->v6 ? 0 : ntohl(b.s_addr);
	n_ports++;
}

/* The UDP checksum IPv6 requires, over a payload fill6 zeroed: the
 * pseudo-header and the UDP header are all it sums. */
static uint16_t udp6_cksum(const struct rte_ipv6_hdr *ip, const struct rte_udp_hdr *udp)
{
	uint32_t sum = __rte_raw_cksum(udp, sizeof(*udp), rte_ipv6_phdr_cksum(ip, 0));
	uint16_t c = (uint16_t)~__rte_raw_cksum_reduce(sum);

	return c == 0 ? 0xffff : c;
}

static void fill6(struct gen_port *p, struct rte_ether_hdr *eth, uint32_t k)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t len = (uint16_t)(size - sizeof(*eth) - sizeof(*ip));
	uint32_t n = k / sports * stride;

	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(len);
	ip->proto = IPPROTO_UDP;
	ip->hop_limits = 64;
	memcpy(ip->src_addr, p->src6, 16);
	memcpy(ip->dst_addr, p->dst6, 16);
	uint16_t net = (uint16_t)((ip->dst_addr[6] << 8 | ip->dst_addr[7]) + (n >> 8));
	ip->dst_addr[6] = (uint8_t)(net >> 8);
	ip->dst_addr[7] = (uint8_t)net;
	ip->dst_addr[15] = (uint8_t)(ip->dst_addr[15] + n);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + k % sports));
	udp->dst_port = rte_cpu_to_be_16((uint16_t)dport);
	udp->dgram_len = ip->payload_len;
	udp->dgram_cksum = 0;
	memset(udp + 1, 0, len - sizeof(*udp));
	udp->dgram_cksum = udp6_cksum(ip, udp);
}

static void fill(struct gen_port *p, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t l3 = (uint16_t)(size - sizeof(*eth));
	uint32_t k = random_dst ? xorshift() % p->flows : p->next;

	eth->dst_addr = p->gw;
	eth->src_addr = p->src;
	m->data_len = m->pkt_len = size;
	if (++p->next == p->flows)
		p->next = 0;
	if (p->v6) {
		fill6(p, eth, k);
		return;
	}
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(l3);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(p->src_ip);
	ip->dst_addr = rte_cpu_to_be_32(p->dst_base + k / sports * stride);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + k % sports));
	udp->dst_port = rte_cpu_to_be_16((uint16_t)dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(l3 - sizeof(*ip)));
	udp->dgram_cksum = 0;
}

static void receive(uint16_t pid, uint16_t q, struct rte_mbuf **pkts)
{
	uint16_t got = rte_eth_rx_burst(pid, q, pkts, BURST);

	ports[pid].rx += got;
	ports[pid].rxq[q] += got;
	rte_pktmbuf_free_bulk(pkts, got);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seconds", required_argument, NULL, 's'}, {"warmup", required_argument, NULL, 'w'},
		{"size", required_argument, NULL, 'z'},    {"flows", required_argument, NULL, 'f'},
		{"port", required_argument, NULL, 'p'},    {"queues", required_argument, NULL, 'q'},
		{"random", no_argument, NULL, 'r'},        {"rate", required_argument, NULL, 'R'},
		{"stride", required_argument, NULL, 'S'},  {"ring", required_argument, NULL, 'g'},
		{"sports", required_argument, NULL, 'P'},  {"dport", required_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	int n = rte_eal_init(argc, argv), o;

	if (n < 0)
		die("EAL init failed");
	argc -= n;
	argv += n;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 's')
			seconds = atof(optarg);
		else if (o == 'w')
			warmup = atof(optarg);
		else if (o == 'z')
			size = (unsigned)atoi(optarg);
		else if (o == 'f')
			flows = (unsigned)atoi(optarg);
		else if (o == 'p')
			parse_port(optarg);
		else if (o == 'q')
			n_queues = (unsigned)atoi(optarg);
		else if (o == 'r')
			random_dst = true;
		else if (o == 'R')
			rate = atof(optarg);
		else if (o == 'S')
			stride = (unsigned)atoi(optarg);
		else if (o == 'g')
			ring = (unsigned)atoi(optarg);
		else if (o == 'P')
			sports = (unsigned)atoi(optarg);
		else if (o == 'D')
			dport = (unsigned)atoi(optarg);
		else
			die("unknown option");
	}
	bool v6 = false;
	for (unsigned i = 0; i < n_ports; i++)
		v6 |= ports[i].v6;
	if (n_ports == 0 || n_ports != rte_eth_dev_count_avail() || size < (v6 ? 62 : 60) || size > 1514 ||
	    flows == 0 || seconds <= 0 || n_queues < 1 || n_queues > MAX_QUEUES || ring < 64 ||
	    ring > 8192 || !rte_is_power_of_2(ring) || sports < 1 || sports > 64512 || dport < 1 ||
	    dport > 65535)
		die("need one --port per ethdev, --size 60..1514 (IPv6: 62..1514), --flows >= 1, --seconds > 0, "
		    "--queues 1..8, --ring a power of 2 in 64..8192, --sports 1..64512, --dport 1..65535");
	for (unsigned i = 0; i < n_ports; i++)
		if (ports[i].flows == UINT32_MAX)
			ports[i].flows = flows;
	/* Every rx ring full, every tx ring full, bursts in hand. */
	unsigned n_mbufs = rte_align32pow2(2 * n_ports * n_queues * ring + 2048) - 1;
	struct rte_mempool *mp = rte_pktmbuf_pool_create("plgen", n_mbufs, 256, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (mp == NULL)
		die("cannot allocate mbufs");
	for (uint16_t pid = 0; pid < n_ports; pid++) {
		struct rte_eth_conf conf = {0};
		int rc = rte_eth_dev_configure(pid, (uint16_t)n_queues, (uint16_t)n_queues, &conf);
		for (uint16_t q = 0; q < n_queues && rc == 0; q++)
			if ((rc = rte_eth_rx_queue_setup(pid, q, (uint16_t)ring, rte_socket_id(), NULL, mp)) == 0)
				rc = rte_eth_tx_queue_setup(pid, q, (uint16_t)ring, rte_socket_id(), NULL);
		if (rc != 0 || rte_eth_dev_start(pid) != 0)
			die("port setup failed");
	}
	uint64_t hz = rte_get_timer_hz(), t0 = rte_get_timer_cycles();
	uint64_t t_meas = t0 + (uint64_t)(warmup * (double)hz);
	uint64_t t_end = t_meas + (uint64_t)(seconds * (double)hz);
	uint64_t base_tx[MAX_PORTS] = {0}, base_rx[MAX_PORTS] = {0};
	bool measuring = false;
	struct rte_mbuf *pkts[BURST];

	uint16_t q = 0;
	for (uint64_t now = t0; now < t_end; now = rte_get_timer_cycles()) {
		if (!measuring && now >= t_meas) {
			for (unsigned i = 0; i < n_ports; i++) {
				base_tx[i] = ports[i].tx;
				base_rx[i] = ports[i].rx;
			}
			measuring = true;
		}
		/* With --rate: what each port may have sent by now. */
		uint64_t quota = rate > 0 ? (uint64_t)(rate * (double)(now - t0) / (double)hz) : UINT64_MAX;
		for (uint16_t pid = 0; pid < n_ports; pid++) {
			struct gen_port *p = &ports[pid];
			receive(pid, q, pkts);
			unsigned n = p->tx >= quota ? 0 : (unsigned)RTE_MIN(quota - p->tx, (uint64_t)BURST);
			if (p->flows == 0 || n == 0 || rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0)
				continue;
			for (unsigned i = 0; i < n; i++)
				fill(p, pkts[i]);
			uint16_t sent = rte_eth_tx_burst(pid, q, pkts, (uint16_t)n);
			p->tx += sent;
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		}
		if (++q == n_queues)
			q = 0;
	}
	uint64_t end_rx[MAX_PORTS];
	for (unsigned i = 0; i < n_ports; i++)
		end_rx[i] = ports[i].rx;
	/* Drain what is still in flight, so tx_total - rx_total is loss. */
	for (uint64_t end = t_end + hz / 4; rte_get_timer_cycles() < end;)
		for (uint16_t pid = 0; pid < n_ports; pid++)
			for (uint16_t k = 0; k < n_queues; k++)
				receive(pid, k, pkts);
	printf("{\"seconds\": %.1f, \"size\": %u, \"flows\": %u, \"ports\": [", seconds, size, flows);
	for (unsigned i = 0; i < n_ports; i++) {
		printf("%s{\"tx_pps\": %.0f, \"rx_pps\": %.0f, \"tx_total\": %" PRIu64
		       ", \"rx_total\": %" PRIu64 ", \"rx_queues\": [",
		       i ? ", " : "", (double)(ports[i].tx - base_tx[i]) / seconds,
		       (double)(end_rx[i] - base_rx[i]) / seconds, ports[i].tx, ports[i].rx);
		for (unsigned k = 0; k < n_queues; k++)
			printf("%s%" PRIu64, k ? ", " : "", ports[i].rxq[k]);
		printf("]}");
	}
	printf("]}\n");
	for (uint16_t pid = 0; pid < n_ports; pid++) {
		rte_eth_dev_stop(pid);
		rte_eth_dev_close(pid);
	}
	rte_eal_cleanup();
	return 0;
}
