#!/usr/bin/env bash
# IPv6-only nodes: node_ip, pod_cidr and cluster_cidr IPv6 alone. Node
# info without IPv4 keys; the CNI result and the pod's netns with its
# /128 and fe80::1 alone (no IPv4 address or route); pod <-> pod over
# IPv6 on one node and across two (podlaned's routes, NDP on the uplink,
# hop limit decremented once per podlaned, each side seeing the other's
# own address); the node <-> its pods; IPv4 and ARP dropped and counted as
# no_ipv4; IPv4 routes, services and addresses refused with the exact
# error; an IPv6 ClusterIP; pod.check; a planned restart that keeps the
# pods' addresses (state without "ip") and loses no ping.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
N1=fd00:172:31:102::101 N2=fd00:172:31:102::102
start_node n1 $N1/64 fd00:10:96:f1::/64 1 \
	'"cluster_cidr": "fd00:10:96::/48", "service_cidr": "fd00:96::/108",'
start_node n2 $N2/64 fd00:10:96:f2::/64 1 '"cluster_cidr": "fd00:10:96::/48",'
ctl n1 -o json node | python3 -c '
import json, sys
n = json.load(sys.stdin)
assert not {"node_ip", "pod_cidr", "cluster_cidr", "gateway_for_pods"} & set(n), n
assert (n["node_ip6"], n["pod_cidr6"], n["cluster_cidr6"], n["gateway_for_pods6"]) == \
    ("fd00:172:31:102::101/64", "fd00:10:96:f1::/64", "fd00:10:96::/48", "fe80::1"), n
assert n["free_ips"] == 65534 and n["masquerade"] is False, n' || fail "node info: $(ctl n1 -o json node)"
ok "node info: the IPv6 keys alone, a pool of 64 Ki addresses"

netns_add pa
netns_add pb
netns_add pc
out=$(echo '{"cniVersion": "1.0.0", "name": "podlane", "type": "podlane", "socket": "'"$WORK/n1.sock"'"}' |
	CNI_COMMAND=ADD CNI_CONTAINERID=ctr-a CNI_NETNS=/run/netns/pa CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	"$BUILD/cni/podlane") || fail "CNI ADD: $out"
python3 - "$out" <<'PY' || fail "CNI result: $out"
import json, sys
r = json.loads(sys.argv[1])
assert [(i["address"], i["gateway"], i["interface"]) for i in r["ips"]] == \
    [("fd00:10:96:f1::1/128", "fe80::1", 0)], r["ips"]
assert [(x["dst"], x["gw"]) for x in r["routes"]] == [("::/0", "fe80::1")], r["routes"]
PY
echo '{"cniVersion": "1.0.0", "name": "podlane", "type": "podlane", "socket": "'"$WORK/n1.sock"'",
 "prevResult": '"$out"'}' | CNI_COMMAND=CHECK CNI_CONTAINERID=ctr-a CNI_NETNS=/run/netns/pa CNI_IFNAME=eth0 \
	CNI_PATH=/usr/lib/cni "$BUILD/cni/podlane" || fail "CNI CHECK of an IPv6-only pod"
ctl n1 pod add ctr-b /run/netns/pb eth0 >/dev/null
ctl n2 pod add ctr-c /run/netns/pc eth0 >/dev/null
A=fd00:10:96:f1::1 B=fd00:10:96:f1::2 C=fd00:10:96:f2::1
[ -z "$(ip -n pa -4 -o addr show dev eth0)" ] || fail "pod a has IPv4: $(ip -n pa -4 -o addr show dev eth0)"
[ -z "$(ip -n pa -4 route)" ] || fail "pod a has IPv4 routes: $(ip -n pa -4 route)"
[ "$(ip -n pb -6 -o addr show dev eth0 scope global | awk '{print $4}')" = "$B/128" ] ||
	fail "pod b: $(ip -n pb -6 -o addr show dev eth0)"
grep -q "^default via fe80::1 dev eth0" <<<"$(ip -n pb -6 route)" || fail "pod b: $(ip -n pb -6 route)"
ctl n1 -o json pod list | python3 -c '
import json, sys
pods = {p["container_id"]: p for p in json.load(sys.stdin)}
b = pods["ctr-b"]
assert "ip" not in b and "gateway" not in b and b["ip6"] == "fd00:10:96:f1::2/128", b' ||
	fail "pod list: $(ctl n1 -o json pod list)"
ok "CNI ADD and CHECK, pod list: the pod's /128 and fe80::1 alone, no IPv4 in its netns"

ctl n1 route add fd00:10:96:f2::/64 via $N2 >/dev/null || fail "route add on n1"
ctl n2 route add fd00:10:96:f1::/64 via $N1 >/dev/null || fail "route add on n2"
ping6() { ip netns exec "$1" ping -6 -c 1 -W 2 "$2"; }
wait_for 10 ping6 pa $B >/dev/null || fail "pod a cannot reach pod b"
wait_for 10 ping6 pa $C >/dev/null || fail "pod a cannot reach pod c across nodes"
ping6 pc $B >/dev/null || fail "pod c cannot reach pod b across nodes"
hl=$(ping6 pa $C | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$hl" = 62 ] || fail "across nodes: reply hop limit $hl, expected 62 (one per podlaned)"
ok "pod <-> pod over IPv6 on a node and across (NDP on the uplink), hop limit decremented once per podlaned"

# Each side of a TCP connection across nodes sees the other's own address.
seen=$(tcp_peers6 pc pa $C)
[ "$seen" = "$A $A $C 100000" ] || fail "listener, then client saw '$seen', expected '$A $A $C 100000'"
ok "TCP across nodes: peers see each other's own addresses, 100000 bytes through"

ping6 n1 $A >/dev/null || fail "node n1 cannot reach its pod a"
ping6 pa $N1 >/dev/null || fail "pod a cannot reach its node"
ok "node <-> pod over IPv6"

# IPv4 sent anyway (an address and neighbour set by hand) goes nowhere.
gwmac=$(ip -n pa -6 neigh show fe80::1 dev eth0 | awk '{print $3}')
ip -n pa addr add 100.96.1.5/32 dev eth0
ip -n pa route add 10.9.9.9/32 dev eth0
ip -n pa neigh add 10.9.9.9 lladdr "$gwmac" dev eth0
before=$(counter n1 no_ipv4)
! ip netns exec pa ping -c 2 -i 0.2 -W 1 10.9.9.9 >/dev/null || fail "IPv4 went through an IPv6-only node"
[ "$(counter n1 no_ipv4)" -ge $((before + 2)) ] || fail "IPv4 not counted as no_ipv4: $(counter n1 no_ipv4)"
ip -n pa addr del 100.96.1.5/32 dev eth0
ok "IPv4 from a pod dropped and counted (no_ipv4)"

refused() { # NODE WANT CMD...: the exact error
	local node=$1 want=$2 got
	shift 2
	got=$(ctl "$node" "$@" 2>&1) && fail "accepted: $*"
	[ "$got" = "$want" ] || fail "$*: got '$got', want '$want'"
}
refused n1 "podlanectl: prefix: 100.96.2.0/24 is IPv4 and this node is IPv6-only (pod_cidr has no IPv4 prefix)" \
	route add 100.96.2.0/24 via 172.31.102.2
refused n1 "podlanectl: ip: 10.96.0.10 is IPv4 and this node is IPv6-only" \
	service add 10.96.0.10:80 "[$B]:8080"
ok "IPv4 routes and services refused on an IPv6-only node"

# An IPv6 ClusterIP with a backend here and one across.
serve() { # NETNS NAME: a TCP server on [::]:8080 answering its name and the client's address
	ip netns exec "$1" python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.bind(("::", 8080)); s.listen(64)
print("ready", flush=True)
while True:
    c, addr = s.accept(); c.sendall(("'"$2"' " + addr[0] + "\n").encode()); c.close()' >"$WORK/serve-$2.out" &
	echo $! >"$WORK/serve-$2.pid"
	at_exit "stop_pid $WORK/serve-$2.pid"
	wait_for 5 grep -q ready "$WORK/serve-$2.out"
}
ask6() { # NETNS VIP N: N connections to [VIP]:80, what each backend said
	ip netns exec "$1" python3 -c '
import socket, sys
for i in range(int(sys.argv[2])):
    c = socket.create_connection((sys.argv[1], 80), timeout=5)
    print(c.makefile().readline().strip()); c.close()' "$2" "$3"
}
serve pb b
serve pc c
VIP6=fd00:96::10
ctl n1 service add "[$VIP6]:80" "[$B]:8080" "[$C]:8080" >/dev/null || fail "service add [$VIP6]:80"
out=$(ask6 pa $VIP6 16) || fail "pod a to [$VIP6]:80: $out"
[ "$(sort -u <<<"$out")" = "b $A
c $A" ] || fail "pod a's connections to [$VIP6]:80 got: $out"
ok "IPv6 ClusterIP: spread over a backend here and one across, the client's own address seen"

# NetworkPolicy names an IPv6-only node's pods by their IPv6 addresses.
echo '{"name": "default/b", "pods": ["'$B'"], "ingress": [{"from": [{"cidr": "'$A'/128"}]}]}' |
	ctl n1 policy add - >/dev/null || fail "policy add"
[ "$(ask6 pa $VIP6 8 | sort -u)" = "b $A
c $A" ] || fail "pod a through [$VIP6]:80 under the policy"
! ip netns exec pc python3 -c 'import socket; socket.create_connection(("'$B'", 8080), timeout=1)' \
	2>/dev/null || fail "pod c reached b past the policy"
ctl n1 policy del default/b >/dev/null
ok "NetworkPolicy on an IPv6-only node: pods named by their IPv6 addresses"

ctl n1 -o json pod list >"$WORK/pods-before.json"
restart_under_pings n1 TERM pa $B
[ "$RESTART_LOST" = 0 ] || fail "planned restart lost $RESTART_LOST of 300 pings"
ctl n1 -o json pod list | python3 -c '
import json, sys
before = {p["container_id"]: (p["ip6"], p["mac"]) for p in json.load(open(sys.argv[1]))}
after = {p["container_id"]: (p["ip6"], p["mac"]) for p in json.load(sys.stdin)}
assert before == after and len(after) == 2, (before, after)' "$WORK/pods-before.json" ||
	fail "pods after a restart: $(ctl n1 -o json pod list)"
wait_for 10 ping6 pa $C >/dev/null || fail "after a restart, pod a cannot reach pod c"
netns_add pd
[ "$(ctl n1 -o json pod add ctr-d /run/netns/pd eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip6"])')" = \
	fd00:10:96:f1::3/128 ] || fail "the next pod after a restart did not get fd00:10:96:f1::3"
ok "planned restart: pods keep their IPv6 addresses and MACs, 0 of 300 pings lost; the pool continues"
