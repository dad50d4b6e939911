#!/usr/bin/env bash
# DPDK's af_xdp PMD as the uplink: a NIC served by an XDP socket, left
# bound to its kernel driver. It has one tx queue per NIC queue it serves
# (here one, for three senders: two workers and control) and takes no
# mbuf chains, which podlaned makes of fragments and of pods' TCP
# segmented in software: both must reach the node network intact.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
ip -n fab route add 100.96.244.0/24 via 172.31.102.106
# One queue at both ends of the node's veth, so every frame arrives on the
# queue the XDP socket serves (XDP on veth also wants rx >= the peer's tx).
UPLINK_QUEUES=1 UPLINK="net_af_xdp0,iface=up0" start_node node 172.31.102.106/24 100.96.244.0/24 2
grep -q "port net_af_xdp0: 1 tx queue(s) shared by 3 senders" "$WORK/node.log" ||
	fail "no log line about the shared tx queue: $(cat "$WORK/node.log")"
for p in pa pb; do netns_add $p; done
A=$(cni_add node pa pod-a '"mtu": 9000')
B=$(cni_add node pb pod-b)
wait_for 10 ip netns exec fab ping -c 1 -W 1 "$A" || fail "the fabric cannot reach pod a"
ok "af_xdp uplink up with one tx queue shared by 3 senders; the fabric reaches a pod"

# Pod TCP leaves as GSO frames, segmented in software into chains (a
# header mbuf and the payload by reference): linearized for af_xdp, or
# the wire gets the header mbuf's memory for the whole length.
ip netns exec fab ethtool -K f-node tx off >/dev/null || fail "ethtool -K f-node tx off"
tcp_bulk_check pa fab 172.31.102.1 8
tcp_bulk_check fab pb "$B" 8
ok "8 MiB pod -> fabric and fabric -> pod intact (software GSO segments linearized)"

# Without DF, pod a's 4028-byte echoes are fragmented to the uplink's 1500
# by podlaned (fragments are chains too); the fabric answers in fragments.
stats_num() { ctl node -o json stats | python3 -c 'import json,sys; d=json.load(sys.stdin)
print(d[sys.argv[1]] if sys.argv[1] in d else d["drops"][sys.argv[1]])' "$1"; }
f0=$(stats_num fragmented)
out=$(ip netns exec pa ping -c 3 -W 2 -M dont -s 4000 172.31.102.1) || fail "4000-byte pings, no DF: $out"
echo "$out" | grep -q " 3 received" || fail "4000-byte pings, no DF: $out"
[ $(($(stats_num fragmented) - f0)) = 3 ] || fail "expected 3 packets fragmented, counter $f0 -> $(stats_num fragmented)"
ok "no DF: 4028-byte packets fragmented onto the af_xdp uplink, answered"

# Both pods at once (their TAPs are on different workers) and the control
# thread's ARP: all through the one shared tx queue, nothing lost.
ip -n fab neigh flush dev br0
ip netns exec pa ping -q -f -c 2000 172.31.102.1 >"$WORK/pa.ping" 2>&1 &
pa_pid=$!
ip netns exec pb ping -q -f -c 2000 172.31.102.1 >"$WORK/pb.ping" 2>&1 || fail "pod b flood: $(cat "$WORK/pb.ping")"
wait $pa_pid || fail "pod a flood: $(cat "$WORK/pa.ping")"
for p in pa pb; do
	grep -q " 0% packet loss" "$WORK/$p.ping" || fail "$p lost pings on the shared queue: $(cat "$WORK/$p.ping")"
done
[ "$(stats_num tx_error)" = 0 ] || fail "tx_error $(stats_num tx_error): a frame could not be linearized"
ok "two pods flooding through the shared tx queue at once: 4000 echoes, none lost"
