#!/usr/bin/env bash
# MTUs: a node network of 1400 bytes, pods at the node default and at 9000.
# Pods default to the uplink's MTU; a packet too long for a port is
# fragmented, or with DF set answered with "fragmentation needed" (so
# path MTU discovery works across nodes, TCP included); a change of the
# uplink's MTU is followed.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
UPLINK_MTU=1400 start_node n1 172.31.102.101/24 100.96.241.0/24 1
UPLINK_MTU=1400 start_node n2 172.31.102.102/24 100.96.242.0/24 1
ctl n1 route add 100.96.242.0/24 via 172.31.102.102 >/dev/null
ctl n2 route add 100.96.241.0/24 via 172.31.102.101 >/dev/null
for p in n1a n1j n2j; do netns_add $p; done
A=$(cni_add n1 n1a pod-a)
J1=$(cni_add n1 n1j pod-j1 '"mtu": 9000')
J2=$(cni_add n2 n2j pod-j2 '"mtu": 9000')

[ "$(mtu_of n1a eth0)" = 1400 ] || fail "pod without an mtu has $(mtu_of n1a eth0), expected the uplink's 1400"
[ "$(mtu_of n1j eth0)" = 9000 ] || fail "pod with mtu 9000 has $(mtu_of n1j eth0)"
[ "$(mtu_of n1 podlane0)" = 1400 ] || fail "host port has MTU $(mtu_of n1 podlane0), expected 1400"
ok "pods default to the uplink's MTU (1400), the host port too; mtu 9000 when asked"

# Without DF, first (no path MTU learned yet): 5028-byte echoes, cut to
# 1400 by n1 on the way there and by n2 on the way back.
f1=$(counter n1 fragmented) f2=$(counter n2 fragmented)
out=$(ip netns exec n1j ping -c 3 -W 2 -M dont -s 5000 "$J2") || fail "5000-byte pings, no DF: $out"
grep -q " 3 received" <<<"$out" || fail "5000-byte pings, no DF: $out"
[ $(($(counter n1 fragmented) - f1)) = 3 ] && [ $(($(counter n2 fragmented) - f2)) = 3 ] ||
	fail "expected 3 packets fragmented by each node: n1 $f1 -> $(counter n1 fragmented), n2 $f2 -> $(counter n2 fragmented)"
ok "no DF: 5028-byte packets fragmented to the uplink's 1400 both ways, pings answered"

# TCP between the 9000-byte pods across nodes (before either has learned
# the path's MTU, which would lower the MSS it offers): their MSS says
# 8960, the path 1400; only the ICMP tells them.
tcp_bulk_check n2j n1j "$J1" 8
grep -q "mtu 1400" <<<"$(ip -n n2j route get "$J1")" || fail "TCP sender learned no path MTU: $(ip -n n2j route get "$J1")"
ok "TCP across nodes between 9000-byte pods: bytes intact, path MTU 1400 learned"

# DF: the sender hears the MTU, from the node.
out=$(ip netns exec n1j ping -c 1 -W 2 -M do -s 2000 "$J2" 2>&1) && fail "DF ping of 2028 bytes over a 1400 path answered: $out"
grep -Eq "mtu ?= ?1400" <<<"$out" || fail "no fragmentation-needed with mtu 1400: $out"
grep -q "mtu 1400" <<<"$(ip -n n1j route get "$J2")" || fail "pod j1 learned no path MTU: $(ip -n n1j route get "$J2")"
[ "$(counter n1 mtu_exceeded)" -ge 1 ] || fail "mtu_exceeded not counted"
ok "DF across nodes: ICMP fragmentation needed (mtu 1400), path MTU learned, mtu_exceeded counted"

# Same node, into a pod whose interface is 1400.
out=$(ip netns exec n1j ping -c 1 -W 2 -M do -s 2000 "$A" 2>&1) && fail "DF ping of 2028 bytes into a 1400 pod answered: $out"
grep -Eq "mtu ?= ?1400" <<<"$out" || fail "no fragmentation-needed from pod a's port: $out"
ok "DF into a 1400-byte pod on the same node: fragmentation needed (mtu 1400)"

# Pod a's MTU changed inside the pod after ADD, as a chained tuning plugin
# does: podlaned follows within a second and keeps it.
ip -n n1a link set eth0 mtu 1300
wait_for 5 grep -q "pod pod-a/eth0: MTU 1400 -> 1300 (set in the pod)" "$WORK/n1.log" ||
	fail "no log line about pod a's MTU set in the pod"
pod_mtu() { ctl n1 -o json pod list | python3 -c 'import json,sys
print([p["mtu"] for p in json.load(sys.stdin) if p["container_id"] == sys.argv[1]][0])' "$1"; }
[ "$(pod_mtu pod-a)" = 1300 ] || fail "pod.list says MTU $(pod_mtu pod-a) for pod a, expected 1300"
grep -q '"mtu":1300' "$WORK/n1.state/state.json" || fail "state.json does not keep pod a's new MTU"
out=$(ip netns exec n1j ping -c 1 -W 2 -M do -s 1340 "$A" 2>&1) && fail "DF ping of 1368 bytes into a 1300 pod answered: $out"
grep -Eq "mtu ?= ?1300" <<<"$out" || fail "no fragmentation-needed with the pod's new mtu 1300: $out"
ok "pod MTU set inside the pod after ADD (1400 -> 1300): followed, in pod.list and state.json, DF answered with 1300"

# Renamed inside the pod (down, rename, up: the kernel dropped its routes,
# put back as CNI had them), then a new MTU: still followed.
ip -n n1a link set eth0 down
ip -n n1a link set eth0 name lan0
ip -n n1a link set lan0 up mtu 1250
ip -n n1a route add 169.254.1.1 dev lan0 scope link
ip -n n1a route add default via 169.254.1.1 dev lan0
wait_for 5 grep -q "pod pod-a/eth0: MTU 1300 -> 1250 (set in the pod)" "$WORK/n1.log" ||
	fail "pod a's MTU on its renamed interface not followed"
out=$(ip netns exec n1j ping -c 1 -W 2 -M do -s 1260 "$A" 2>&1) && fail "DF ping of 1288 bytes into a 1250 pod answered: $out"
grep -Eq "mtu ?= ?1250" <<<"$out" || fail "no fragmentation-needed with the renamed pod's mtu 1250: $out"
ok "pod interface renamed inside the pod, MTU then 1250: followed"

# The node network's MTU changes under a running podlaned.
ip -n n1 link set up0 mtu 1300
ip -n fab link set f-n1 mtu 1300
host_port_mtu_is() { [ "$(mtu_of n1 podlane0)" = "$1" ]; }
wait_for 5 host_port_mtu_is 1300 || fail "host port still at $(mtu_of n1 podlane0) after the uplink went to 1300"
wait_for 5 grep -q "MTU 1400 -> 1300" "$WORK/n1.log" || fail "no log line about the uplink's new MTU"
grep -qx "$(printf '%-17s %s' uplink_mtu 1300)" <<<"$(ctl n1 node)" || fail "podlanectl node does not show uplink_mtu 1300: $(ctl n1 node)"
netns_add n1b
cni_add n1 n1b pod-b >/dev/null
[ "$(mtu_of n1b eth0)" = 1300 ] || fail "pod added after the change has $(mtu_of n1b eth0), expected 1300"
out=$(ip netns exec n1j ping -c 1 -W 2 -M do -s 1340 "$J2" 2>&1) && fail "DF ping of 1368 bytes over a 1300 path answered: $out"
grep -Eq "mtu ?= ?1300" <<<"$out" || fail "no fragmentation-needed with mtu 1300: $out"
ok "uplink MTU 1400 -> 1300 at run time: host port, new pods and the check follow"

