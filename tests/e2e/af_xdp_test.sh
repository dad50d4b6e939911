#!/usr/bin/env bash
# DPDK's af_xdp PMD as the uplink: a NIC served by an XDP socket, left
# bound to its kernel driver. It has one tx queue per NIC queue it serves
# (here one, for three senders: two workers and control) and takes no
# mbuf chains, which podlaned makes of fragments and of pods' TCP
# segmented in software: both must reach the node network intact. The
# node network's MTU is 1700, given to the DPDK port by uplink_mtu.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
ip -n fab route add 100.96.244.0/24 via 172.31.102.106
# One queue at both ends of the node's veth, so every frame arrives on the
# queue the XDP socket serves (XDP on veth also wants rx >= the peer's tx).
export UPLINK_QUEUES=1 UPLINK="net_af_xdp0,iface=up0" UPLINK_MTU=1700
start_node node 172.31.102.106/24 100.96.244.0/24 2 '"uplink_mtu": 1700,'
grep -q "port net_af_xdp0: 1 tx queue(s) shared by 3 senders" "$WORK/node.log" ||
	fail "no log line about the shared tx queue: $(cat "$WORK/node.log")"
for p in pa pb; do netns_add $p; done
A=$(cni_add node pa pod-a '"mtu": 9000')
B=$(cni_add node pb pod-b)
wait_for 10 ip netns exec fab ping -c 1 -W 1 "$A" || fail "the fabric cannot reach pod a"
ok "af_xdp uplink up with one tx queue shared by 3 senders; the fabric reaches a pod"

[ "$(mtu_of pb eth0)" = 1700 ] || fail "pod b has MTU $(mtu_of pb eth0), expected the uplink's 1700"
grep -qx "$(printf '%-17s %s' uplink_mtu 1700)" <<<"$(ctl node node)" && grep -qx "$(printf '%-17s %s' uplink "$UPLINK")" <<<"$(ctl node node)" ||
	fail "podlanectl node does not show the uplink and uplink_mtu 1700: $(ctl node node)"
out=$(ip netns exec pb ping -c 2 -W 2 -M do -s 1672 172.31.102.1) || fail "1700-byte DF pings from pod b: $out"
out=$(ip netns exec pa ping -c 1 -W 2 -M do -s 1673 172.31.102.1 2>&1) && fail "1701-byte DF ping left the node: $out"
grep -Eq "mtu ?= ?1700" <<<"$out" || fail "no fragmentation-needed with mtu 1700: $out"
ip -n pa route flush cache # forget the path MTU learned: podlaned fragments below
ok "uplink_mtu 1700: pods default to it, 1700-byte frames cross the af_xdp uplink both ways, 1701 get frag-needed"

# Pod TCP leaves as GSO frames, segmented in software into chains (a
# header mbuf and the payload by reference): linearized for af_xdp, or
# the wire gets the header mbuf's memory for the whole length.
ip netns exec fab ethtool -K f-node tx off >/dev/null || fail "ethtool -K f-node tx off"
tcp_bulk_check pa fab 172.31.102.1 8
tcp_bulk_check fab pb "$B" 8
ok "8 MiB pod -> fabric and fabric -> pod intact (software GSO segments linearized)"

# Without DF, pod a's 4028-byte echoes are fragmented to the uplink's 1700
# by podlaned (fragments are chains too); the fabric answers in fragments.
f0=$(counter node fragmented)
out=$(ip netns exec pa ping -c 3 -W 2 -M dont -s 4000 172.31.102.1) || fail "4000-byte pings, no DF: $out"
grep -q " 3 received" <<<"$out" || fail "4000-byte pings, no DF: $out"
[ $(($(counter node fragmented) - f0)) = 3 ] || fail "expected 3 packets fragmented, counter $f0 -> $(counter node fragmented)"
ok "no DF: 4028-byte packets fragmented to 1700 onto the af_xdp uplink, answered"

# Both pods at once (their TAPs are on different workers) and the control
# thread's ARP: all through the one shared tx queue, nothing lost.
ip -n fab neigh flush dev br0
ip netns exec pa ping -q -f -c 2000 172.31.102.1 >"$WORK/pa.ping" 2>&1 &
pa_pid=$!
ip netns exec pb ping -q -f -c 2000 172.31.102.1 >"$WORK/pb.ping" 2>&1 || fail "pod b flood: $(cat "$WORK/pb.ping")"
wait $pa_pid || fail "pod a flood: $(cat "$WORK/pa.ping")"
# podlaned and the PMD must drop nothing. Once, under ASan, one echo of the
# 4000 went missing with every podlaned counter at zero (somewhere in the
# kernels: the veth's XDP ring, the fabric re-learning the node after the
# flush), so a flood may miss one echo, not more.
for p in pa pb; do
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/$p.ping")
	[ "${got:-0}" -ge 1999 ] || fail "$p lost pings on the shared queue: $(cat "$WORK/$p.ping")"
done
no_drops node tx_full tx_error no_mbuf
[ "$(port_counter node net_af_xdp0 rx_missed rx_errors tx_errors)" = "0 0 0" ] ||
	fail "the af_xdp PMD dropped frames: $(ctl node stats)"
ok "two pods flooding through the shared tx queue at once: podlaned and the PMD dropped none of 4000 echoes"

# A DPDK uplink across a restart: unlike an af_packet uplink's sockets,
# the device is the process's own, so what arrives between the old
# podlaned's stop and the new one's start of the device is lost (here the
# veth's XDP program goes with the socket and the node's kernel gets it).
# Counted with a 10 ms ping stream from the fabric, printed. A take-over
# starts the next podlaned's DPDK and tables while the old one forwards:
# its gap is the old one's stop and the device's probe, no more than a
# planned restart's.
declare -A LOST
for sig in TERM KILL TAKEOVER; do
	restart_under_pings node $sig fab "$B"
	LOST[$sig]=$RESTART_LOST
	echo "$sig, then a start: $RESTART_LOST of 300 pings from the fabric to a pod lost (10 ms apart) over the af_xdp uplink"
	wait_for 10 ip netns exec fab ping -c 1 -W 1 "$B" || fail "the fabric cannot reach pod b after $sig"
done
grep "take-over: forwarding again" "$WORK/node.log" || fail "no take-over in the log"
[ "${LOST[TAKEOVER]}" -le "${LOST[TERM]}" ] ||
	fail "a take-over lost more (${LOST[TAKEOVER]}) than a stop and a start (${LOST[TERM]})"
ok "af_xdp uplink: the fabric reaches the pods again after a planned restart, a kill -9 and a take-over, which lost no more than a restart"

# MTUs the device cannot take: a clear error, and no start.
stop_pid "$WORK/node.pid"
refused() { mtu_refused node net_af_xdp0 "$@"; }
refused 9000 "MTU 9000 is not one it takes ("
ok "uplink_mtu beyond what the device takes: start-up refused, saying its range"
# Its buffers are podlaned's, less the headroom XDP keeps: 1792 bytes.
refused 1800 "MTU 1800 makes frames longer than a 1792-byte buffer and the device cannot scatter them (at most MTU 1774)"
ok "uplink_mtu whose frames outgrow a buffer on a device that cannot scatter: refused, saying the most it can take"
