#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and brings
# up a simulated 3-node podlane cluster in network namespaces (no NIC, no
# hugepages needed): the node network 172.31.102.0/24 on a gateway router
# (netns pl-demo-fab, 172.31.102.1) with a network behind it
# (198.51.100.0/24) and a host there standing for clients outside the
# cluster, three nodes each running podlaned, two pods per node attached
# with the podlane CNI plugin, routes and a Service from Kubernetes-like
# objects (tools/podlane-k8s), and BGP from each node's BIRD to the
# gateway's, which so learns every node's pod CIDR (docs/bgp.md). Runs the
# connectivity matrix (the outside host included: no NAT either way), the
# Service from each node's pods and one iperf3, then leaves it all up.
#   tools/demo.sh        bring it up
#   tools/demo.sh down   remove everything it created
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
D=/run/podlane-demo
P=pl-demo
NODES=(1 2 3)

down() {
	for i in "${NODES[@]}"; do
		for f in $D/podlaned-n$i.pid $D/n$i.state/keeper.pid $D/bird-n$i.pid $D/bird-fab.pid $D/iperf.pid $D/web-n$i.pid \
			$D/echo-ext.pid; do
			[ -f "$f" ] || continue
			pid=$(cat "$f")
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
			rm -f "$f"
		done
	done
	for n in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do ip netns del "$n"; done
	rm -rf $D /run/dpdk/$P-n*
	echo "demo removed"
}
[ "${1:-up}" = down ] && { down; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (network namespaces, TAPs)"; exit 1; }

tools/deps.sh
[ -d build ] || meson setup build -Dbuildtype=release >/dev/null
ninja -C build >/dev/null
[ -d $D ] && down >/dev/null
mkdir -p $D
ctl() { local n=$1; shift; "$top/build/tools/podlanectl" -s $D/n$n.sock "$@"; }

ip netns add $P-fab
ip -n $P-fab link set lo up
ip -n $P-fab link add br0 type bridge
ip -n $P-fab addr add 172.31.102.1/24 dev br0
ip -n $P-fab link set br0 up
# Behind the gateway: the outside network and its host.
ip netns add $P-ext
ip -n $P-ext link set lo up
ip link add $P-g type veth peer name $P-e
ip link set $P-g netns $P-fab
ip link set $P-e netns $P-ext
ip -n $P-fab addr add 198.51.100.1/24 dev $P-g
ip -n $P-fab link set $P-g up
ip -n $P-ext addr add 198.51.100.10/24 dev $P-e
ip -n $P-ext link set $P-e up
ip -n $P-ext route add default via 198.51.100.1
ip netns exec $P-fab sysctl -qw net.ipv4.ip_forward=1
for i in "${NODES[@]}"; do
	ns=$P-n$i
	ip netns add $ns
	ip -n $ns link set lo up
	ip link add $P-u$i type veth peer name $P-f$i
	ip link set $P-u$i netns $ns
	ip link set $P-f$i netns $P-fab
	ip -n $ns link set $P-u$i name up0
	ip -n $ns link set up0 up
	ip -n $P-fab link set $P-f$i master br0 up
	cat >$D/n$i.json <<-CFG
	{"node_ip": "172.31.102.10$i/24", "gateway": "172.31.102.1", "pod_cidr": "100.96.24$i.0/24",
	 "service_cidr": "10.96.0.0/12",
	 "uplink": "af_packet:up0", "socket": "$D/n$i.sock", "state_dir": "$D/n$i.state",
	 "workers": 1, "eal": ["--no-huge", "-m", "512", "--file-prefix", "$P-n$i"]}
	CFG
	ip netns exec $ns "$top/build/control/podlaned" --config $D/n$i.json >$D/podlaned-n$i.log 2>&1 &
	echo $! >$D/podlaned-n$i.pid
done
for i in "${NODES[@]}"; do
	for _ in $(seq 300); do ctl $i node >/dev/null 2>&1 && break; sleep 0.1; done
	ctl $i node >/dev/null || { tail $D/podlaned-n$i.log; echo "podlaned on node $i did not start"; exit 1; }
done

# Pods: the CNI plugin exactly as kubelet/containerd run it.
declare -A IP
PODS=()
for i in "${NODES[@]}"; do
	for p in a b; do
		ns=$P-n$i$p
		ip netns add $ns
		out=$(echo "{\"cniVersion\": \"1.0.0\", \"name\": \"podlane\", \"type\": \"podlane\", \"socket\": \"$D/n$i.sock\"}" |
			CNI_COMMAND=ADD CNI_CONTAINERID=demo-n$i$p CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
			CNI_ARGS= CNI_PATH=/usr/lib/cni "$top/build/cni/podlane")
		IP[n$i$p]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ips"][0]["address"].split("/")[0])' "$out")
		PODS+=(n$i$p)
	done
done
# A web server (it answers with its address and the client's) in the b
# pods of nodes 2 and 3: the backends of Service demo/web.
for i in 2 3; do
	ip netns exec $P-n${i}b python3 "$top/tests/e2e/lib/whoami.py" 8080 >$D/web-n$i.log 2>&1 &
	echo $! >$D/web-n$i.pid
done
for i in 2 3; do
	for _ in $(seq 50); do grep -q ready $D/web-n$i.log && break; sleep 0.1; done
done
# Routes between nodes and the Service: what the agent derives from the
# Kubernetes objects (Nodes, Service, EndpointSlice), as kubectl prints them.
objects=$(python3 -c '
import json, sys
nodes = [{"kind": "Node", "metadata": {"name": "n%d" % i}, "spec": {"podCIDR": "100.96.24%d.0/24" % i},
          "status": {"addresses": [{"type": "InternalIP", "address": "172.31.102.10%d" % i}]}} for i in (1, 2, 3)]
svc = {"kind": "Service", "metadata": {"namespace": "demo", "name": "web"},
       "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
eps = {"kind": "EndpointSlice", "addressType": "IPv4",
       "metadata": {"namespace": "demo", "name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
       "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in sys.argv[1:]]}
print(json.dumps({"kind": "List", "items": nodes + [svc, eps]}))' "${IP[n2b]}" "${IP[n3b]}")
for i in "${NODES[@]}"; do
	echo "$objects" | "$top/tools/podlane-k8s" --node n$i --socket $D/n$i.sock >/dev/null
done
# BGP to the gateway (docs/bgp.md, "The gateway router"): each node's BIRD
# announces its pod CIDR; the gateway's installs them, each via its node.
bird_in() { # NETNS NAME CONFIG
	printf '%s\n' "$3" >$D/bird-$2.conf
	ip netns exec "$1" bird -f -c $D/bird-$2.conf -s $D/bird-$2.ctl >$D/bird-$2.log 2>&1 &
	echo $! >$D/bird-$2.pid
}
for i in "${NODES[@]}"; do
	bird_in $P-n$i n$i "router id 172.31.102.10$i;
protocol device { scan time 2; }
protocol static pods { ipv4; route 100.96.24$i.0/24 blackhole; }
protocol bgp to_gateway {
	local 172.31.102.10$i as 64512; neighbor 172.31.102.1 as 64512; direct;
	connect retry time 2; error wait time 1, 4;
	ipv4 { import none; export where proto = \"pods\"; next hop self; };
}"
done
bird_in $P-fab fab "router id 172.31.102.1;
protocol device { scan time 2; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
template bgp node {
	local 172.31.102.1 as 64512; direct; connect retry time 2; error wait time 1, 4;
	ipv4 { import all; export none; gateway direct; };
}
$(for i in "${NODES[@]}"; do echo "protocol bgp n$i from node { neighbor 172.31.102.10$i as 64512; }"; done)"
for _ in $(seq 300); do
	[ "$(ip -n $P-fab route show proto bird | grep -c '^100\.96\.24[0-9]\.0/24 via')" = ${#NODES[@]} ] && break
	sleep 0.1
done
echo "gateway $P-fab (172.31.102.1), routes learnt by BGP:"
ip -n $P-fab route show proto bird | sed 's/^/  /'
# The outside host answers TCP with the address it saw (tests/e2e/lib/whoami.py).
ip netns exec $P-ext python3 "$top/tests/e2e/lib/whoami.py" 8080 >$D/echo-ext.log 2>&1 &
echo $! >$D/echo-ext.pid
for _ in $(seq 50); do grep -q ready $D/echo-ext.log && break; sleep 0.1; done

printf '\n%-20s %-20s %-5s %-6s %s\n' FROM TO PROTO RESULT RTT
row() { # from-ns from-label to-ip to-label
	local out rtt
	if out=$(ip netns exec "$1" ping -c 2 -i 0.2 -W 2 "$3" 2>&1); then
		rtt=$(echo "$out" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1 ms/p')
		printf '%-20s %-20s %-5s %-6s %s\n' "$2" "$4" icmp ok "$rtt"
	else
		printf '%-20s %-20s %-5s %-6s %s\n' "$2" "$4" icmp FAIL -
	fi
}
for s in "${PODS[@]}"; do
	for d in "${PODS[@]}"; do
		[ "$s" = "$d" ] || row $P-$s "pod $s ${IP[$s]}" "${IP[$d]}" "pod $d ${IP[$d]}"
	done
done
for i in "${NODES[@]}"; do
	row $P-n$i "node n$i" "${IP[n$(( i % 3 + 1 ))a]}" "pod n$(( i % 3 + 1 ))a ${IP[n$(( i % 3 + 1 ))a]}"
	row $P-n${i}b "pod n${i}b" 172.31.102.10$(( i % 3 + 1 )) "node n$(( i % 3 + 1 ))"
done
# Beyond the cluster: the outside host and the gateway itself, both ways.
for i in "${NODES[@]}"; do
	row $P-ext "ext 198.51.100.10" "${IP[n${i}a]}" "pod n${i}a ${IP[n${i}a]}"
	row $P-n${i}a "pod n${i}a" 198.51.100.10 "ext 198.51.100.10"
	row $P-fab "gateway 172.31.102.1" "${IP[n${i}b]}" "pod n${i}b ${IP[n${i}b]}"
done
# TCP from each pod to the outside host: the address the host saw (the
# pod's own: no NAT on the way out).
for i in "${NODES[@]}"; do
	if out=$(ip netns exec $P-n${i}a python3 "$top/tests/e2e/lib/ask.py" tcp 198.51.100.10 8080 1 2>&1); then
		printf '%-20s %-20s %-5s %-6s %s\n' "pod n${i}a ${IP[n${i}a]}" "ext 198.51.100.10" tcp ok \
			"seen as $(awk '{print $2}' <<<"$out" | cut -d: -f1)"
	else
		printf '%-20s %-20s %-5s %-6s %s\n' "pod n${i}a ${IP[n${i}a]}" "ext 198.51.100.10" tcp FAIL "$out"
	fi
done

# The Service from a pod of each node: which backend answered, and the
# address it saw the client at (the client pod's own: no NAT of the source).
for i in "${NODES[@]}"; do
	if out=$(ip netns exec $P-n${i}a python3 "$top/tests/e2e/lib/ask.py" tcp 10.96.0.10 80 4 2>&1); then
		printf '%-20s %-20s %-5s %-6s %s\n' "pod n${i}a ${IP[n${i}a]}" "service 10.96.0.10:80" tcp ok \
			"backends $(awk '{print $1}' <<<"$out" | sort -u | xargs), seen as $(awk '{print $2}' <<<"$out" | cut -d: -f1 | sort -u | xargs)"
	else
		printf '%-20s %-20s %-5s %-6s %s\n' "pod n${i}a ${IP[n${i}a]}" "service 10.96.0.10:80" tcp FAIL "$out"
	fi
done

ip netns exec $P-n2b iperf3 -s -1 -D -p 5201 --pidfile $D/iperf.pid
sleep 0.3
rate=$(ip netns exec $P-n1a iperf3 -c "${IP[n2b]}" -t 2 -J 2>/dev/null | python3 -c '
import json, sys; print("%.2f Gbit/s" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' || echo failed)
printf '%-20s %-20s %-5s %-6s %s\n' "pod n1a" "pod n2b ${IP[n2b]}" tcp iperf3 "$rate"

cat <<EOF2

The cluster is up: nodes $P-n1..3 (172.31.102.101..103), pods $P-n<i>a/b, the
gateway $P-fab (172.31.102.1) and the outside host $P-ext (198.51.100.10). Poke around:
  $top/build/tools/podlanectl --socket $D/n1.sock pod list
  $top/build/tools/podlanectl --socket $D/n1.sock route list
  $top/build/tools/podlanectl --socket $D/n1.sock service list
  $top/build/tools/podlanectl --socket $D/n1.sock conntrack list
  $top/build/tools/podlanectl --socket $D/n1.sock trace 10.96.0.10:80 from ${IP[n1a]}:40000
  $top/build/tools/podlanectl --socket $D/n1.sock stats
  ip netns exec $P-n1a ping ${IP[n3b]}
  ip netns exec $P-n1a ip route
  ip netns exec $P-n1 ip addr show podlane0
  ip -n $P-fab route                  # each node's pod CIDR via that node (BGP)
  ip netns exec $P-ext ping ${IP[n2a]}
Daemon logs: $D/podlaned-n*.log, BIRD's: $D/bird-*.log
Remove it all: tools/demo.sh down
EOF2
