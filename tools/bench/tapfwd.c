/* tapfwd: the smallest L3 forwarder between two TAP interfaces, to measure
 * what the TAP interface itself allows (tools/bench/tcp.sh), not podlaned.
 *
 *   tapfwd plain|vnet TAP0 TAP1 MAC0 MAC1
 *
 * Creates TAP0 and TAP1 and forwards IPv4 frames between them: destination
 * MAC rewritten to MAC1 (frames from TAP0) or MAC0 (from TAP1), TTL
 * decremented with the checksum updated (RFC 1624). "vnet" opens the TAPs
 * with IFF_VNET_HDR and offers the kernel TSO and checksum offload, so a
 * TCP sender hands over up to 64 KiB per frame and the virtio-net header
 * travels with it to the other TAP; "plain" moves MTU-sized frames, one
 * read and one write each, as DPDK 22.11's TAP PMD does. Prints "ready"
 * once both TAPs exist; runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <rte_ether.h>
#include <rte_ip.h>

static void die(const char *what)
{
	fprintf(stderr, "tapfwd: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int tap_open(const char *name, bool vnet)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0)};
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0)
		die(name);
	if (vnet) {
		int len = sizeof(struct virtio_net_hdr);
		if (ioctl(fd, TUNSETVNETHDRSZ, &len) != 0 ||
		    ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) != 0)
			die("vnet header offloads");
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct rte_ether_addr mac[2];

	if (argc != 6 || (strcmp(argv[1], "plain") != 0 && strcmp(argv[1], "vnet") != 0) ||
	    rte_ether_unformat_addr(argv[4], &mac[0]) != 0 ||
	    rte_ether_unformat_addr(argv[5], &mac[1]) != 0) {
		fprintf(stderr, "usage: tapfwd plain|vnet TAP0 TAP1 MAC0 MAC1\n");
		return 2;
	}
	bool vnet = strcmp(argv[1], "vnet") == 0;
	size_t hdr = vnet ? sizeof(struct virtio_net_hdr) : 0;
	struct pollfd p[2] = {{.fd = tap_open(argv[2], vnet), .events = POLLIN},
			      {.fd = tap_open(argv[3], vnet), .events = POLLIN}};
	/* A GSO frame: up to 64 KiB of IP packet, its Ethernet and vnet headers. */
	static uint8_t buf[sizeof(struct virtio_net_hdr) + RTE_ETHER_HDR_LEN + 65536];

	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			/* Drain what is there, then look at the other side. */
			while ((n = read(p[i].fd, buf, sizeof(buf))) > 0) {
				struct rte_ether_hdr *eth = (struct rte_ether_hdr *)(buf + hdr);
				struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
				if ((size_t)n < hdr + sizeof(*eth) + sizeof(*ip) ||
				    eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || ip->time_to_live <= 1)
					continue;
				eth->dst_addr = mac[!i];
				ip->time_to_live--;
				uint32_t sum = ip->hdr_checksum + RTE_BE16(0x0100);
				ip->hdr_checksum = (uint16_t)(sum + (sum >> 16));
				if (write(p[!i].fd, buf, (size_t)n) < 0 && errno != EAGAIN)
					die("write");
			}
			if (n < 0 && errno != EAGAIN)
				die("read");
		}
	}
}
