#!/usr/bin/env bash
# A DPDK uplink whose device does TSO and TCP/UDP checksums, as NICs do:
# DPDK's TAP PMD offers them (and does them in software inside the PMD).
# Pods' TCP must reach it as whole GSO frames, not segmented by podlaned,
# and arrive intact; UDP with the kernel's partial checksums must arrive
# with right ones (the receivers' kernels check every sum: the PMD writes
# plain frames). TCP arriving MTU-sized from the uplink must reach the pod
# merged (GRO), intact.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
ip -n fab route add 100.96.245.0/24 via 172.31.102.107
# DPDK 22.11's TAP PMD refuses a TSO frame whose segments, Ethernet header
# included, outgrow its MTU: podlaned makes them 14 bytes shorter for it.
# (uplink_mtu is its default, written out for the refusal at the end.)
export UPLINK="net_tap0,iface=upt0"
start_node node 172.31.102.107/24 100.96.245.0/24 1 '"uplink_mtu": 1500,'
grep -q "port net_tap0: the device segments pods' TCP (TSO) and sums" "$WORK/node.log" ||
	fail "no log line about the device's offloads: $(cat "$WORK/node.log")"
# The PMD made upt0 in the node's netns: wire it to up0 with a bridge,
# under another MAC than the port's, or the bridge would keep frames for
# podlaned to itself; the node's kernel must not answer ARP there for the
# node IP (podlane0's).
ip -n node link set upt0 address 02:00:00:00:01:07
ip -n node link add brn type bridge
ip netns exec node sysctl -qw net.ipv4.conf.brn.arp_ignore=8
ip -n node link set up0 master brn
ip -n node link set upt0 master brn up
ip -n node link set brn up
netns_add pa
A=$(cni_add node pa pod-a)
wait_for 10 ip netns exec fab ping -c 1 -W 1 "$A" || fail "the fabric cannot reach pod a"
ok "net_tap uplink offering TSO and checksums; the fabric reaches a pod"

avg_frame() { # PORT MB SRC-NS DST-NS DST-IP: bytes per frame the port was handed for the transfer
	local p0 b0 p1 b1
	read -r p0 b0 <<<"$(port_counter node "$1" tx_packets tx_bytes)"
	tcp_bulk_check "$3" "$4" "$5" "$2"
	read -r p1 b1 <<<"$(port_counter node "$1" tx_packets tx_bytes)"
	echo $(((b1 - b0) / (p1 - p0)))
}
avg=$(avg_frame net_tap0 8 pa fab 172.31.102.1)
[ "$avg" -gt 3000 ] || fail "the uplink was handed frames of $avg bytes on average: segmented by podlaned"
ok "8 MiB pod -> fabric handed to the device as GSO frames ($avg bytes on average), intact"
avg=$(avg_frame tap_p245_1 8 fab pa "$A")
[ "$avg" -gt 3000 ] || fail "pod a's TAP was written frames of $avg bytes on average: not merged"
ok "8 MiB fabric -> pod, MTU-sized off the uplink, written to the pod merged ($avg bytes on average), intact"

ip netns exec fab python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 7200)); s.settimeout(10)
print("ready", flush=True)
for _ in range(3):
    b, a = s.recvfrom(65536); s.sendto(b[::-1], a)' >"$WORK/udp.out" &
echo $! >"$WORK/udp.pid"
at_exit "stop_pid $WORK/udp.pid"
wait_for 5 grep -q ready "$WORK/udp.out" || fail "UDP echo in fab did not start"
out=$(ip netns exec pa python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
for n in (1, 700, 1472):
    d = bytes((i * 7 + n) % 256 for i in range(n))
    s.sendto(d, ("172.31.102.1", 7200)); b, _ = s.recvfrom(65536)
    assert b == d[::-1], n
print("ok")' 2>&1) || fail "UDP pod -> fabric with partial checksums: $out"
ok "UDP datagrams of 1, 700 and 1472 bytes from a pod summed by the device, echoed back"
no_drops node tx_error tx_full

# Its 1522-byte frames, said by max_rx_pktlen only (no max_mtu): refused
# at start with that, not at configure with EINVAL.
stop_pid "$WORK/node.pid"
mtu_refused node net_tap0 1505 "MTU 1505 makes frames longer than the 1522 bytes it receives (at most MTU 1504)"
ok "uplink_mtu longer than the device's frames: start-up refused, saying the most it takes"
ok "offload: all passed"
