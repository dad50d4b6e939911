#!/usr/bin/env bash
# The layer-3 picture end to end (docs/bgp.md, "The gateway router"): the
# node network's gateway runs BIRD as the nodes' BGP route reflector, its
# kernel learns each node's pod CIDR via that node, and a host on a network
# behind it (198.51.100.0/24, a client outside the cluster) reaches every
# pod and every pod reaches it, both ways, with no NAT anywhere: each end
# sees the other's own address.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
command -v bird >/dev/null || fail "bird2 is needed (tools/deps.sh installs it)"
LIB=$E2E_TOP/tests/e2e/lib

# The gateway (netns fab): the node network's bridge, and the outside
# network with one host on it.
fabric 172.31.102.1/24
netns_add ext
ip link add g-ext type veth peer name e-ext
ip link set g-ext netns fab
ip link set e-ext netns ext
ip -n fab addr add 198.51.100.1/24 dev g-ext
ip -n fab link set g-ext up
ip -n ext addr add 198.51.100.10/24 dev e-ext
ip -n ext link set e-ext up
ip -n ext route add default via 198.51.100.1
ip netns exec fab sysctl -qw net.ipv4.ip_forward=1

declare -A IP
for i in 1 2 3; do
	start_node n$i 172.31.102.10$i/24 100.96.24$i.0/24 1 '"import_table": 100,'
	netns_add n${i}a
	IP[$i]=$(cni_add n$i n${i}a pod-n$i)
done

# bird NETNS NAME CONFIG: BIRD in NETNS, stopped at exit.
bird_in() {
	printf '%s\n' "$3" >"$WORK/bird-$2.conf"
	ip netns exec "$1" bird -f -c "$WORK/bird-$2.conf" -s "$WORK/bird-$2.ctl" >>"$WORK/bird-$2.log" 2>&1 &
	echo $! >"$WORK/bird-$2.pid"
	at_exit "stop_pid $WORK/bird-$2.pid"
}
# Each node: its pod CIDR out, everything learnt into table 100 (podlaned
# mirrors it); one neighbour, the gateway.
for i in 1 2 3; do
	bird_in n$i n$i "router id 172.31.102.10$i;
protocol device { scan time 2; }
protocol static pods { ipv4; route 100.96.24$i.0/24 blackhole; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; kernel table 100; }
protocol bgp to_gateway {
	local 172.31.102.10$i as 64512; neighbor 172.31.102.1 as 64512; direct;
	connect retry time 2; error wait time 1, 4;
	ipv4 { import all; export where proto = \"pods\"; gateway direct; next hop self; };
}"
done
# The gateway: reflects the nodes' routes to each other (their next hops
# kept), installs them in its own table, announces the outside network.
bird_in fab gw "router id 172.31.102.1;
protocol device { scan time 2; }
protocol direct outside { ipv4; interface \"g-ext\"; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
template bgp node {
	local 172.31.102.1 as 64512; direct; rr client; rr cluster id 172.31.102.1;
	connect retry time 2; error wait time 1, 4;
	ipv4 { import all; export all; gateway direct; };
}
protocol bgp n1 from node { neighbor 172.31.102.101 as 64512; }
protocol bgp n2 from node { neighbor 172.31.102.102 as 64512; }
protocol bgp n3 from node { neighbor 172.31.102.103 as 64512; }"

gw_has_all() {
	local r
	r=$(ip -n fab route show proto bird)
	for i in 1 2 3; do grep -q "^100.96.24$i.0/24 via 172.31.102.10$i dev br0" <<<"$r" || return 1; done
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

# Each pod and the outside host answer TCP with the address they saw the
# client at (lib/whoami.py; lib/ask.py asks).
whoami() { # NETNS
	ip netns exec "$1" python3 "$LIB/whoami.py" 7000 >"$WORK/whoami-$1.log" 2>&1 &
	echo $! >"$WORK/whoami-$1.pid"
	at_exit "stop_pid $WORK/whoami-$1.pid"
	wait_for 10 grep -q ready "$WORK/whoami-$1.log" || fail "whoami in $1 did not start"
}
seen_by() { # NETNS ADDRESS: the client's address as the server at ADDRESS saw it
	local out
	out=$(ip netns exec "$1" python3 "$LIB/ask.py" tcp "$2" 7000) || return 1
	awk '{print $2}' <<<"$out" | cut -d: -f1
}
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
gone() { ! grep -q '^100.96.242.0/24' <<<"$(ip -n fab route show proto bird)"; }
wait_for 30 gone || fail "the gateway kept n2's pod CIDR 30 s after n2's BIRD stopped"
ip netns exec ext ping -c 1 -W 2 "${IP[1]}" >/dev/null || fail "outside host lost n1's pod when n2 left"
ok "a node leaving: its pod CIDR withdrawn from the gateway, other nodes' pods still reached"
echo "gateway: all passed"
