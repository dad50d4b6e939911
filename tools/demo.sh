#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, brings up
# one podlane node with two pods in network namespaces (no NIC needed),
# shows them talking, and leaves it up for poking around.
#   tools/demo.sh        bring it up
#   tools/demo.sh down   remove everything it created
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
D=/run/podlane-demo
NS=(pl-demo-fab pl-demo-node pl-demo-pod-a pl-demo-pod-b)

down() {
	if [ -f $D/podlaned.pid ]; then
		pid=$(cat $D/podlaned.pid)
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf $D /run/dpdk/pl-demo
	echo "demo removed"
}
[ "${1:-up}" = down ] && { down; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (network namespaces, TAPs)"; exit 1; }

tools/deps.sh
[ -d build ] || meson setup build -Dbuildtype=release >/dev/null
ninja -C build >/dev/null
[ -d $D ] && down >/dev/null
mkdir -p $D

for n in "${NS[@]}"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add pl-demo-up type veth peer name pl-demo-fp
ip link set pl-demo-up netns pl-demo-node
ip link set pl-demo-fp netns pl-demo-fab
ip -n pl-demo-node link set pl-demo-up name up0
ip -n pl-demo-node link set up0 up
ip -n pl-demo-fab addr add 172.31.102.1/24 dev pl-demo-fp
ip -n pl-demo-fab link set pl-demo-fp up
ip -n pl-demo-fab route add 100.96.243.0/24 via 172.31.102.105

mem="--no-huge\", \"-m\", \"512"
cat >$D/podlaned.json <<CFG
{"node_ip": "172.31.102.105/24", "gateway": "172.31.102.1", "pod_cidr": "100.96.243.0/24",
 "uplink": "net_af_packet0,iface=up0", "socket": "$D/podlane.sock", "state_dir": "$D/state",
 "workers": 1, "eal": ["$mem", "--file-prefix", "pl-demo"]}
CFG
ip netns exec pl-demo-node "$top/build/control/podlaned" --config $D/podlaned.json >$D/podlaned.log 2>&1 &
echo $! >$D/podlaned.pid
ctl() { "$top/build/tools/podlanectl" -s $D/podlane.sock "$@"; }
for _ in $(seq 300); do ctl node >/dev/null 2>&1 && break; sleep 0.1; done
ctl node >/dev/null || { cat $D/podlaned.log; echo "podlaned did not start"; exit 1; }

ctl pod add demo-a /run/netns/pl-demo-pod-a eth0
ctl pod add demo-b /run/netns/pl-demo-pod-b eth0
A=100.96.243.1 B=100.96.243.2 NODE=172.31.102.105 EXT=172.31.102.1

printf '\n%-14s %-20s %-6s %-7s %s\n' FROM TO PROTO RESULT RTT
row() { # from-ns from-name to-ip to-name
	local out rtt
	if out=$(ip netns exec "$1" ping -c 3 -i 0.2 -W 2 "$3" 2>&1); then
		rtt=$(echo "$out" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1 ms/p')
		printf '%-14s %-20s %-6s %-7s %s\n' "$2" "$4" icmp ok "$rtt"
	else
		printf '%-14s %-20s %-6s %-7s %s\n' "$2" "$4" icmp FAIL -
	fi
}
row pl-demo-pod-a "pod-a" $B "pod-b $B"
row pl-demo-pod-b "pod-b" $A "pod-a $A"
row pl-demo-pod-a "pod-a" $NODE "node $NODE"
row pl-demo-node "node" $B "pod-b $B"
row pl-demo-fab "external host" $A "pod-a $A"

ip netns exec pl-demo-pod-b iperf3 -s -1 -D -p 5201
sleep 0.3
rate=$(ip netns exec pl-demo-pod-a iperf3 -c $B -t 2 -J 2>/dev/null | python3 -c '
import json, sys; print("%.2f Gbit/s" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' || echo failed)
printf '%-14s %-20s %-6s %-7s %s\n' pod-a "pod-b $B" tcp iperf3 "$rate"

cat <<EOF2

The node is up. Poke around:
  $top/build/tools/podlanectl --socket $D/podlane.sock pod list
  $top/build/tools/podlanectl --socket $D/podlane.sock stats
  ip netns exec pl-demo-pod-a ping $B
  ip netns exec pl-demo-pod-a ip route
  ip netns exec pl-demo-node ip addr show podlane0
Daemon log: $D/podlaned.log
Remove it all: tools/demo.sh down
EOF2
