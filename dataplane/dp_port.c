/* DPDK ethdev ports: the uplink's device (a NIC, or net_af_xdp, net_tap
 * and the like on a kernel interface) and vhost-user pods, hot-plugged as
 * vdevs at run time; their queue layout, offloads and removal. Pods' TAPs
 * and packet-socket uplinks are kernel ports (dp_kport.c), not ethdevs. */
#include <linux/bpf.h>

#include <rte_errno.h>

#include "dp_nat.h"

#define RX_DESC 1024
#define TX_DESC 1024

int dp_port_probe(const char *devargs, uint16_t *port_id, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t len = strcspn(devargs, ",");

	if (len == 0 || len >= sizeof(name)) {
		snprintf(err, errlen, "bad device arguments '%s'", devargs);
		return -EINVAL;
	}
	memcpy(name, devargs, len);
	name[len] = '\0';
	int rc = rte_dev_probe(devargs);
	if (rc < 0) {
		snprintf(err, errlen, "cannot create port '%s': %s", devargs, rte_strerror(-rc));
		return rc;
	}
	if (rte_eth_dev_get_port_by_name(name, port_id) != 0) {
		snprintf(err, errlen, "port '%s' was created but has no ethdev", name);
		return -ENODEV;
	}
	return 0;
}

int dp_port_probed(uint16_t *port_id)
{
	uint16_t pid;

	RTE_ETH_FOREACH_DEV(pid) {
		*port_id = pid;
		return 0;
	}
	return -ENODEV;
}

/* af_packet spreads rx over all its queue pairs (PACKET_FANOUT), af_xdp
 * has one socket per NIC queue it was given (queue_count) and the TAP PMD
 * (an uplink on net_tap) wants as many rx as tx queues (a multi-queue TAP spreads flows over
 * them), so every one of those is polled; other devices get one rx queue
 * per worker (uplink, RSS) or one. */
static uint16_t rx_queues(const struct rte_eth_dev_info *di, enum dp_port_kind kind)
{
	if (strcmp(di->driver_name, "net_af_packet") == 0 ||
	    strcmp(di->driver_name, "net_af_xdp") == 0)
		return di->max_rx_queues;
	if (strcmp(di->driver_name, "net_tap") == 0)
		return (uint16_t)(dp.cfg.n_workers + 1);
	if (strcmp(di->driver_name, "net_vhost") == 0) /* those the guest enables */
		return (uint16_t)RTE_MIN(dp.cfg.n_workers, di->max_rx_queues);
	if (kind != DP_PORT_UPLINK)
		return 1;
	return (uint16_t)RTE_MIN(dp.cfg.n_workers, di->max_rx_queues);
}

/* MTU mtu into conf: within what the device takes, with rx scatter when
 * its frames outgrow a buffer. */
static int conf_mtu(const struct rte_eth_dev_info *di, const char *name, uint16_t mtu,
		    struct rte_eth_conf *conf, char *err, size_t errlen)
{
	/* DPDK's own way to the device's L2 overhead (VLAN tags, CRC). */
	uint32_t overhead = di->max_rx_pktlen > di->max_mtu && di->max_mtu != UINT16_MAX
				    ? di->max_rx_pktlen - di->max_mtu
				    : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	uint32_t room = rte_pktmbuf_data_room_size(dp.pool) - RTE_PKTMBUF_HEADROOM;

	/* af_xdp receives into our buffers, less the headroom XDP keeps in
	 * each (frames beyond it are dropped, whatever max_mtu says). */
	if (strcmp(di->driver_name, "net_af_xdp") == 0)
		room -= XDP_PACKET_HEADROOM;

	if (mtu < di->min_mtu || mtu > di->max_mtu) {
		snprintf(err, errlen, "port %s: MTU %u is not one it takes (%u to %u)", name, mtu,
			 di->min_mtu, di->max_mtu);
		return -EINVAL;
	}
	/* Devices that leave max_mtu unset still say how long a frame is. */
	if (mtu + overhead > di->max_rx_pktlen) {
		snprintf(err, errlen, "port %s: MTU %u makes frames longer than the %u bytes it "
			 "receives (at most MTU %u)", name, mtu, di->max_rx_pktlen,
			 di->max_rx_pktlen - overhead);
		return -EINVAL;
	}
	conf->rxmode.mtu = mtu;
	if (mtu + overhead > room) {
		if (!(di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
			snprintf(err, errlen, "port %s: MTU %u makes frames longer than a %u-byte "
				 "buffer and the device cannot scatter them (at most MTU %u)",
				 name, mtu, room, room - overhead);
			return -EINVAL;
		}
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	}
	return 0;
}

int dp_port_start(uint16_t pid, enum dp_port_kind kind, uint16_t mtu, char *err, size_t errlen)
{
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf = {0};
	struct dp_port *p = &dp.ports[pid];
	uint16_t n_txq = (uint16_t)(dp.cfg.n_workers + 1);
	int rc;

	rte_eth_dev_get_name_by_port(pid, p->name);
	if ((rc = rte_eth_dev_info_get(pid, &di)) != 0) {
		snprintf(err, errlen, "port %s: cannot read device info: %s", p->name,
			 rte_strerror(-rc));
		return rc;
	}
	uint16_t n_rxq = rx_queues(&di, kind);
	/* vhost-user: queue pairs, as many as the guest enables (txq_of). A
	 * device with fewer tx queues than senders (net_af_xdp: one per
	 * queue pair) has its queues shared the same way. */
	bool vhost = strcmp(di.driver_name, "net_vhost") == 0;
	if (vhost)
		n_txq = n_rxq;
	bool shared = vhost || n_txq > di.max_tx_queues;
	n_txq = RTE_MIN(n_txq, di.max_tx_queues);
	if (n_rxq == 0 || n_txq == 0) {
		snprintf(err, errlen, "port %s has no %s queue", p->name, n_rxq ? "tx" : "rx");
		return -EINVAL;
	}
	/* Fragments and software-segmented GSO frames are mbuf chains. A
	 * device that does not take chains (net_af_xdp sends the first
	 * segment's memory for the whole length) gets them linearized
	 * (dp_tx.c); one that does must be told, or it may choose a vector
	 * tx path that sends the first segment only. */
	conf.txmode.offloads = di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* Pods' TCP as 64 KiB frames and their partial checksums go to a
	 * device that does TSO and checksums (a NIC uplink) as they are, and
	 * its word on received checksums spares the workers summing IP
	 * headers (dp_ip4.c) and the TCP segments they merge for a TAP
	 * (dp_gro.c). vhost-user: what a guest takes depends on what it
	 * negotiates when it connects (dp_vhost.c, the library writes the
	 * virtio-net header from each mbuf's flags); asked for RX checksums,
	 * net_vhost hands over the guest's partial checksums and TSO frames
	 * as they are (RX_L4_CKSUM_NONE, RX_LRO: dp_offload_from_rx) rather
	 * than summing each in software. */
	if (!vhost)
		conf.txmode.offloads |= di.tx_offload_capa & DP_HW_TX_OFFLOADS;
	conf.rxmode.offloads = di.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
						     RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
						     RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	/* vhost-user: the guest's kicks wake an idle worker (dp_worker.c). */
	conf.intr_conf.rxq = vhost;
	if (mtu && (rc = conf_mtu(&di, p->name, mtu, &conf, err, errlen)) != 0)
		return rc;
	if (n_rxq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & di.flow_type_rss_offloads;
		if (conf.rx_adv_conf.rss_conf.rss_hf == 0)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	if ((rc = rte_eth_dev_configure(pid, n_rxq, n_txq, &conf)) != 0) {
		snprintf(err, errlen, "port %s: configure %u rx/%u tx queues: %s", p->name, n_rxq,
			 n_txq, rte_strerror(-rc));
		return rc;
	}
	/* Devices over a kernel interface (af_xdp, af_packet) set its MTU here. */
	if (mtu && (rc = rte_eth_dev_set_mtu(pid, mtu)) != 0) {
		snprintf(err, errlen, "port %s: cannot set MTU %u: %s", p->name, mtu,
			 rte_strerror(-rc));
		return rc;
	}
	uint16_t nrx = RX_DESC, ntx = TX_DESC;
	rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
	int socket = rte_eth_dev_socket_id(pid);
	for (uint16_t q = 0; q < n_rxq && rc == 0; q++)
		rc = rte_eth_rx_queue_setup(pid, q, nrx, socket, NULL, dp.pool);
	for (uint16_t q = 0; q < n_txq && rc == 0; q++)
		rc = rte_eth_tx_queue_setup(pid, q, ntx, socket, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(pid);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: queue setup or start failed: %s", p->name,
			 rte_strerror(-rc));
		return -EBUSY;
	}
	rte_eth_macaddr_get(pid, &p->mac);
	if (rte_eth_dev_get_mtu(pid, &p->mtu) != 0)
		p->mtu = RTE_ETHER_MTU;
	p->shared_txq = shared;
	p->rx_intr = conf.intr_conf.rxq;
	p->single_seg = !(conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	p->hw_tx = conf.txmode.offloads & DP_HW_TX_OFFLOADS;
	/* DPDK 22.11's TAP PMD refuses (and stops its burst at) a TSO frame
	 * whose segments, Ethernet header included, outgrow its MTU. */
	p->tso_l2_in_mtu = strcmp(di.driver_name, "net_tap") == 0;
	p->n_rxq = n_rxq;
	p->n_txq = n_txq;
	for (unsigned q = 0; q < RTE_DIM(p->txq_lock); q++)
		rte_spinlock_init(&p->txq_lock[q]);
	if (vhost) {
		dp_vhost_attach(pid);
	} else if (shared) {
		p->txq_enabled = (1u << n_txq) - 1;
		dp_txq_remap(p);
		dp_log(RTE_LOG_INFO, "port %s: %u tx queue(s) shared by %u senders", p->name,
		       n_txq, dp.cfg.n_workers + 1);
	}
	if (p->hw_tx & RTE_ETH_TX_OFFLOAD_TCP_TSO)
		dp_log(RTE_LOG_INFO, "port %s: the device segments pods' TCP (TSO) and sums", p->name);
	else if (p->hw_tx)
		dp_log(RTE_LOG_INFO, "port %s: the device does checksums, TCP is segmented here",
		       p->name);
	p->kind = (uint8_t)kind;
	if (kind == DP_PORT_UPLINK)
		dp.uplink = pid;
	else if (kind == DP_PORT_HOST)
		dp.host = pid;
	p->active = 1;
	if ((rc = dp_workers_assign(pid, n_rxq)) != 0) {
		snprintf(err, errlen, "port %s: no worker can take its queues", p->name);
		p->active = 0;
		rte_eth_dev_stop(pid);
		return rc;
	}
	return 0;
}

void dp_port_set_peer(uint16_t pid, uint32_t ip, const struct rte_ether_addr *mac)
{
	dp.ports[pid].peer_ip = ip;
	dp.ports[pid].peer_mac = *mac;
	dp_policy_ports(); /* its address may be a pod a policy isolates */
}

void dp_port_set_peer6(uint16_t pid, const uint8_t ip6[16])
{
	memcpy(dp.ports[pid].peer_ip6, ip6, 16);
	dp_policy_ports();
}

void dp_port_set_mtu(uint16_t pid, uint16_t mtu)
{
	__atomic_store_n(&dp.ports[pid].mtu, mtu, __ATOMIC_RELAXED);
}

int dp_port_remove(uint16_t pid)
{
	struct rte_eth_dev_info di;

	if (pid >= DP_MAX_PORTS)
		return -EINVAL;
	if (dp.ports[pid].active) {
		dp_capture_port_removed(pid); /* unassign waits for the workers */
		/* Inactive before the workers' grace period: frames a worker
		 * kept waiting for it (a guest's full ring, dp_tx.c) are
		 * dropped at its next round, before unassign returns. */
		dp.ports[pid].active = 0;
		int rc = dp_workers_unassign(pid);
		if (rc != 0) {
			dp.ports[pid].active = 1;
			return rc;
		}
		if (dp.ports[pid].kport) { /* no worker reads or writes it any more */
			dp_kport_close(pid, true);
			memset(&dp.ports[pid], 0, sizeof(dp.ports[pid]));
			return 0;
		}
		rte_eth_dev_stop(pid);
	}
	if (pid >= RTE_MAX_ETHPORTS)
		return -ENOENT;
	if (dp.ports[pid].vhost)
		dp_vhost_detach(pid);
	if (rte_eth_dev_info_get(pid, &di) != 0)
		return -ENODEV;
	memset(&dp.ports[pid], 0, sizeof(dp.ports[pid]));
	return rte_dev_remove(di.device);
}

int dp_port_info(uint16_t pid, struct dp_port_info *out)
{
	const struct dp_port *p;

	if (pid >= DP_MAX_PORTS || !dp.ports[pid].active)
		return -ENOENT;
	p = &dp.ports[pid];
	memset(out, 0, sizeof(*out));
	out->link_up = true; /* a kernel port: its interface has its own state */
	if (!p->kport) {
		struct rte_eth_link link;
		out->link_up = rte_eth_link_get_nowait(pid, &link) == 0 && link.link_status;
	}
	out->kind = p->kind;
	snprintf(out->name, sizeof(out->name), "%s", p->name);
	out->mac = p->mac;
	out->peer_mac = p->peer_mac;
	out->peer_ip = p->peer_ip;
	out->worker = p->worker;
	out->mtu = p->mtu;
	return 0;
}

int dp_port_by_name(const char *name, uint16_t *pid)
{
	for (uint16_t i = 0; i < DP_MAX_PORTS; i++)
		if (dp.ports[i].active && strcmp(dp.ports[i].name, name) == 0) {
			*pid = i;
			return 0;
		}
	return -ENOENT;
}

uint16_t dp_uplink_port(void)
{
	return dp.uplink;
}

uint16_t dp_host_port(void)
{
	return dp.host;
}
