#!/usr/bin/env bash
# Three nodes on one fabric, two pods each (added with the CNI plugin),
# routes pushed from Kubernetes-like Node objects: the Kubernetes network
# model, checked the way a user sees it.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
for i in 1 2 3; do
	start_node n$i 172.31.102.10$i/24 100.96.24$i.0/24 1
	for p in a b; do netns_add n$i$p; done
done
declare -A IP
for i in 1 2 3; do
	for p in a b; do IP[n$i$p]=$(cni_add n$i n$i$p pod-n$i$p); done
done
nodes=$(k8s_nodes 1 2 3)
for i in 1 2 3; do
	echo "$nodes" | "$E2E_TOP/tools/podlane-k8s" --node n$i --socket "$WORK/n$i.sock" >/dev/null
done
[ "$(ctl n1 route list | grep -c ' k8s$')" = 2 ] || fail "n1 should have 2 k8s routes: $(ctl n1 route list)"
ok "6 pods via CNI, routes from Node objects: ${IP[*]}"

# ICMP matrix: every pod to every pod, and each node to every pod and back.
fails=0
for s in "${!IP[@]}"; do
	for d in "${!IP[@]}"; do
		[ "$s" = "$d" ] && continue
		ip netns exec "$s" ping -c 1 -W 2 "${IP[$d]}" >/dev/null || { echo "  $s -> $d failed"; fails=$((fails + 1)); }
	done
done
[ $fails = 0 ] || fail "$fails pod-to-pod pings failed"
ok "pod <-> pod ICMP, same node and across nodes (30 pairs)"
for i in 1 2 3; do
	for d in "${!IP[@]}"; do
		ip netns exec n$i ping -c 1 -W 2 "${IP[$d]}" >/dev/null || fail "node n$i cannot reach pod $d"
		ip netns exec "$d" ping -c 1 -W 2 172.31.102.10$i >/dev/null || fail "pod $d cannot reach node n$i"
	done
done
ok "node <-> pod ICMP both ways, every node and pod"
ttl=$(ip netns exec n1a ping -c 1 -W 2 "${IP[n3b]}" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$ttl" = 62 ] || fail "cross-node reply TTL $ttl, expected 62 (two routers)"
ok "cross-node TTL: 64 - 2 routers = 62"

# Source addresses preserved (no NAT): listeners print the peer they see.
listen() { # ns proto port outfile
	ip netns exec "$1" python3 -c '
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port)); s.settimeout(30)  # never outlives the test
if proto == "tcp":
    s.listen(1); print("ready", flush=True); c, a = s.accept(); c.recv(16)
else:
    print("ready", flush=True); _, a = s.recvfrom(16)
print(a[0], flush=True)' "$2" "$3" >"$4" &
	wait_for 5 grep ready "$4"
}
send() { # ns proto ip port
	ip netns exec "$1" python3 -c '
import socket, sys
proto, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if proto == "tcp":
    socket.create_connection((ip, port), timeout=5).sendall(b"hi")
else:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hi", (ip, port))' "$2" "$3" "$4"
}
check_peer() { # src-ns src-ip dst-ns dst-ip proto
	local out=$WORK/peer.$RANDOM
	listen "$3" "$5" 7000 "$out"
	send "$1" "$5" "$4" 7000
	wait_for 5 has_line 2 "$out" || fail "$5 $1 -> $3: nothing arrived"
	[ "$(sed -n 2p "$out")" = "$2" ] || fail "$5 $1 -> $3: peer seen as $(sed -n 2p "$out"), expected $2"
}
for proto in tcp udp; do
	check_peer n1a "${IP[n1a]}" n1b "${IP[n1b]}" $proto   # same node
	check_peer n1a "${IP[n1a]}" n2b "${IP[n2b]}" $proto   # across nodes
	check_peer n3b "${IP[n3b]}" n2a "${IP[n2a]}" $proto
	check_peer n2 172.31.102.102 n3a "${IP[n3a]}" $proto  # node -> remote pod
	check_peer n3a "${IP[n3a]}" n1 172.31.102.101 $proto  # pod -> remote node
done
ok "TCP and UDP: every receiver sees the sender's own pod or node IP"
tcp_bulk_check n1a n2b "${IP[n2b]}" 16
tcp_bulk_check n3b n1a "${IP[n1a]}" 16
ok "16 MiB across nodes both ways arrives intact (GSO frames whole over the packet-socket uplinks)"
for ns in fab n1 n2 n3 n1a n2b; do
	rules=$(ip netns exec $ns iptables-save -t nat 2>/dev/null | grep -c '^-A' || true)
	[ "${rules:-0}" = 0 ] || fail "NAT rules exist in $ns"
done
ok "no NAT rule anywhere in the topology"

ip netns exec n2b iperf3 -s -1 -D -p 5201 --pidfile "$WORK/iperf.pid"
at_exit "stop_pid $WORK/iperf.pid"
wait_for 5 ip netns exec n2b sh -c "ss -ltn | grep :5201"
rate=$(ip netns exec n1a iperf3 -c "${IP[n2b]}" -p 5201 -t 2 -J | python3 -c '
import json, sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')

# The same two-node path on kernel routing (reference ptp + host-local,
# kernel routes between nodes), measured in the same run, as a ratio.
for k in 1 2; do
	netns_add k$k
	netns_add k${k}p
	ip link add "u-k$k" type veth peer name "f-k$k"
	ip link set "u-k$k" netns k$k
	ip link set "f-k$k" netns fab
	ip -n fab link set "f-k$k" master br0 up
	ip -n k$k addr add 172.31.102.11$k/24 dev "u-k$k"
	ip -n k$k link set "u-k$k" up
	ip netns exec k$k sysctl -qw net.ipv4.ip_forward=1
	ip -n k$k route add 100.97.$((3 - k)).0/24 via 172.31.102.11$((3 - k))
	echo '{"cniVersion": "1.0.0", "name": "kref'$k'", "type": "ptp", "ipMasq": false,
	       "ipam": {"type": "host-local", "subnet": "100.97.'$k'.0/24", "dataDir": "'$WORK/hl'",
	                "routes": [{"dst": "0.0.0.0/0"}]}}' |
		CNI_COMMAND=ADD CNI_CONTAINERID=kref$k CNI_NETNS=/run/netns/k${k}p CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni ip netns exec k$k /usr/lib/cni/ptp >/dev/null || fail "ptp ADD on k$k"
done
kip=$(ip -n k2p -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
ip netns exec k1p ping -c 1 -W 2 "$kip" >/dev/null || fail "kernel reference path does not work"
ip netns exec k2p iperf3 -s -1 -D -p 5202 --pidfile "$WORK/iperf2.pid"
at_exit "stop_pid $WORK/iperf2.pid"
wait_for 5 ip netns exec k2p sh -c "ss -ltn | grep :5202"
krate=$(ip netns exec k1p iperf3 -c "$kip" -p 5202 -t 2 -J | python3 -c '
import json, sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')
printf '| path (TCP, 2 s, same run) | Gbit/s |\n|---|---|\n| podlane pod -> pod across nodes | %s |\n| kernel (ptp + routes) | %s |\n' "$rate" "$krate"
ok "iperf3 across nodes: podlane $rate Gbit/s, kernel $krate Gbit/s, ratio $(python3 -c "print('%.2f' % ($rate / $krate))")x"

# A node leaves: its routes go, traffic to its pods gets ICMP unreachable.
echo "$(k8s_nodes 1 3)" | "$E2E_TOP/tools/podlane-k8s" --node n1 --socket "$WORK/n1.sock" >/dev/null
out=$(ip netns exec n1a ping -c 1 -W 2 "${IP[n2a]}" 2>&1) && fail "n2's pod still reachable after its route was withdrawn"
grep -i "unreachable" >/dev/null <<<"$out" || fail "expected ICMP unreachable, got: $out"
ok "withdrawn node: its pods get ICMP net unreachable from the node"
echo "cluster: all passed"
