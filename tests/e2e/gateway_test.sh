#!/usr/bin/env bash
# The layer-3 picture end to end (docs/bgp.md, "The gateway router"): the
# node network's gateway runs BIRD as the nodes' BGP route reflector, its
# kernel learns each node's pod CIDR via that node, and a host on a network
# behind it (198.51.100.0/24, a client outside the cluster) reaches every
# pod and every pod reaches it, both ways, with no NAT anywhere: each end
# sees the other's own address.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
. "$(dirname "$0")/lib/gateway.sh"

gateway_net
declare -A IP
for i in 1 2 3; do
	start_node n$i 172.31.102.10$i/24 100.96.24$i.0/24 1 '"import_table": 100,'
	netns_add n${i}a
	IP[$i]=$(cni_add n$i n${i}a pod-n$i)
done
for i in 1 2 3; do bird_node $i; done
bird_gateway 3

gw_has_all() {
	[ "$(gateway_routes)" = "$(printf '100.96.24%s.0/24 via 172.31.102.10%s\n' 1 1 2 2 3 3)" ]
}
nodes_have_all() {
	local r
	for i in 1 2 3; do
		r=$(ctl n$i route list)
		grep -q '^198.51.100.0/24  *via 172.31.102.1  *kernel$' <<<"$r" || return 1
		for j in 1 2 3; do
			[ $j = $i ] && continue
			grep -q "^100.96.24$j.0/24  *via 172.31.102.10$j  *kernel$" <<<"$r" || return 1
		done
	done
}
wait_for 60 gw_has_all || { ip -n fab route; tail -20 "$WORK/bird-gw.log"; fail "the gateway did not learn every node's pod CIDR in 60 s"; }
ok "the gateway's table: each node's pod CIDR via that node"
wait_for 60 nodes_have_all || { for i in 1 2 3; do ctl n$i route list; done; fail "nodes did not learn the outside network and each other's pod CIDRs"; }
ok "each node: the outside network via the gateway, other nodes' pod CIDRs via those nodes (reflected)"

for n in ext n1a n2a n3a; do whoami $n; done

for i in 1 2 3; do
	ip netns exec ext ping -c 1 -W 2 "${IP[$i]}" >/dev/null || fail "outside host -> pod on n$i: no ping reply"
	ip netns exec n${i}a ping -c 1 -W 2 198.51.100.10 >/dev/null || fail "pod on n$i -> outside host: no ping reply"
	seen=$(seen_by ext "${IP[$i]}") || fail "outside host -> pod on n$i: TCP failed"
	[ "$seen" = 198.51.100.10 ] || fail "the pod on n$i saw the outside host as $seen, not 198.51.100.10 (NAT?)"
	seen=$(seen_by n${i}a 198.51.100.10) || fail "pod on n$i -> outside host: TCP failed"
	[ "$seen" = "${IP[$i]}" ] || fail "the outside host saw the pod on n$i as $seen, not ${IP[$i]} (NAT?)"
done
ok "outside host <-> pods on every node, ping and TCP, each seeing the other's own address"

for s in 1 2 3; do
	for d in 1 2 3; do
		[ $s = $d ] && continue
		seen=$(seen_by n${s}a "${IP[$d]}") || fail "pod n$s -> pod n$d failed over reflected routes"
		[ "$seen" = "${IP[$s]}" ] || fail "pod n$d saw pod n$s as $seen"
	done
done
# Reflected routes keep the originating node as next hop: pod traffic
# between nodes does not pass the gateway's IP stack.
fwd0=$(ip netns exec fab nstat -az IpForwDatagrams | awk '/IpForwDatagrams/ {print $2}')
ip netns exec n1a ping -c 20 -i 0.05 -W 2 "${IP[2]}" >/dev/null || fail "pod n1 -> pod n2 ping"
fwd1=$(ip netns exec fab nstat -az IpForwDatagrams | awk '/IpForwDatagrams/ {print $2}')
[ $((fwd1 - fwd0)) -lt 5 ] || fail "pod -> pod between nodes went through the gateway ($((fwd1 - fwd0)) forwarded)"
ok "pod <-> pod across nodes, straight from node to node"

# A node's BIRD stopping: the gateway forgets that node's pods, the others stay.
stop_pid "$WORK/bird-n2.pid"
gone() { ! grep -q '^100.96.242.0/24' <<<"$(gateway_routes)"; }
wait_for 30 gone || fail "the gateway kept n2's pod CIDR 30 s after n2's BIRD stopped"
ip netns exec ext ping -c 1 -W 2 "${IP[1]}" >/dev/null || fail "outside host lost n1's pod when n2 left"
ok "a node leaving: its pod CIDR withdrawn from the gateway, other nodes' pods still reached"
echo "gateway: all passed"
