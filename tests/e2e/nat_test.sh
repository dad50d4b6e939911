#!/usr/bin/env bash
# NAT is the node kernel's, podlane routes around it. Services and
# hostPorts (kube-proxy, portmap): with service_cidr set, pods' packets to
# Service IPs go to the kernel, which picks a backend; podlaned masquerades
# what the kernel DNATs to pods (config masquerade, on by default), so the
# backend answers the node and the answer passes the kernel too, which
# undoes the NAT (a reply straight from pod to client would bypass it).
# kube-proxy is emulated with its own kind of iptables rules. Outgoing NAT
# (nat_outgoing): pods reach beyond the cluster through the kernel, as the
# node's address; then only clients podlaned routes itself are masqueraded.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1 '"service_cidr": "10.96.0.0/12", "nat_outgoing": true,'
start_node n2 172.31.102.102/24 100.96.242.0/24 1
ctl n1 route add 100.96.242.0/24 via 172.31.102.102 >/dev/null
ctl n2 route add 100.96.241.0/24 via 172.31.102.101 >/dev/null
for p in c1 s1 s2 s3; do netns_add $p; done
C=$(cni_add n1 c1 client)
S1=$(cni_add n1 s1 backend-1)
S2=$(cni_add n2 s2 backend-2)

ctl n1 -o json route list | python3 -c 'import json,sys
r = [x for x in json.load(sys.stdin) if x["prefix"] == "10.96.0.0/12"]
assert r == [{"prefix": "10.96.0.0/12", "origin": "system", "type": "local"}], r' ||
	fail "no system route for service_cidr on n1"
out=$(ctl n1 route del 10.96.0.0/12 2>&1) && fail "the service_cidr route could be deleted"
masq_rule() { ip netns exec "$1" nft list table ip podlane 2>/dev/null | grep -c "oifname \"podlane0\" ct status dnat ${2:-}masquerade"; }
# n1 has nat_outgoing: it masquerades only clients in set "routed" (below).
[ "$(masq_rule n1 'ip saddr @routed ')" = 1 ] || fail "no masquerade rule in n1: $(ip netns exec n1 nft list ruleset 2>&1)"
[ "$(masq_rule n2)" = 1 ] || fail "no masquerade rule in n2: $(ip netns exec n2 nft list ruleset 2>&1)"
grep -qx "service_cidr      10.96.0.0/12" <<<"$(ctl n1 node)" || fail "podlanectl node does not show service_cidr: $(ctl n1 node)"
grep -qx "nat_outgoing      yes" <<<"$(ctl n1 node)" || fail "podlanectl node does not show nat_outgoing: $(ctl n1 node)"
ok "service_cidr is a system route to the node's kernel; the masquerade table is in place; podlanectl node shows both"

# kube-proxy on n1, as it runs by default (no masqueradeAll): a TCP Service
# on the other node's pod, a UDP one (DNS-like) on a pod of this node.
for n in n1 n2; do ip netns exec $n sysctl -qw net.ipv4.ip_forward=1; done
kp() { ip netns exec n1 iptables -w -t nat "$@"; }
kp -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 -j DNAT --to-destination "$S2:8080"
kp -A PREROUTING -d 10.96.0.11/32 -p udp --dport 53 -j DNAT --to-destination "$S1:5353"

# Backends answer once with the address they saw the client at.
serve_once() { # netns port
	ip netns exec "$1" python3 -c 'import socket, sys
s = socket.create_server(("0.0.0.0", int(sys.argv[1]))); s.settimeout(20)
c, a = s.accept(); c.sendall(a[0].encode()); c.close()' "$2" &
	at_exit "kill $! 2>/dev/null"
	wait_for 5 ip netns exec "$1" sh -c "ss -ltn | grep -q :$2"
}
ask_from() { # netns source-address address port: what the server answered
	ip netns exec "$1" python3 -c 'import socket, sys
print(socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5,
  source_address=(sys.argv[1], 0)).recv(100).decode())' "$2" "$3" "$4" 2>&1
}
serve_once s2 8080
ip netns exec s1 python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353)); s.settimeout(20)
d, a = s.recvfrom(100); s.sendto(a[0].encode(), a)' &
at_exit "kill $! 2>/dev/null"
wait_for 5 ip netns exec s1 sh -c "ss -lun | grep -q :5353"

# The client talks to the Service's address and hears back from it (a
# connected UDP socket drops datagrams from any other source).
out=$(ip netns exec c1 python3 -c 'import socket
t = socket.create_connection(("10.96.0.10", 80), timeout=5)
print("tcp", t.getpeername()[0], t.recv(100).decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5); u.connect(("10.96.0.11", 53))
u.send(b"q"); print("udp", u.getpeername()[0], u.recv(100).decode())' 2>&1) || fail "service calls from pod c1: $out"
grep -qx "tcp 10.96.0.10 172.31.102.101" <<<"$out" || fail "TCP service: $out"
grep -qx "udp 10.96.0.11 172.31.102.101" <<<"$out" || fail "UDP service: $out"
ok "pod -> TCP Service (backend on the other node) and UDP Service (same node): answers from the Service IPs; backends see the node"

# hostPort: the reference portmap plugin, chained after podlane as a
# runtime runs it, maps the node's port to the pod's 8080.
host_port_pod() { # node netns container-id host-port
	local conf res pm out
	conf='{"cniVersion": "1.0.0", "name": "podlane", "type": "podlane", "socket": "'"$WORK/$1.sock"'"}'
	res=$(echo "$conf" | CNI_COMMAND=ADD CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 \
		CNI_ARGS= CNI_PATH=/usr/lib/cni "$BUILD/cni/podlane") || fail "CNI ADD $3: $res"
	pm=$(python3 -c 'import json,sys; print(json.dumps({"cniVersion": "1.0.0", "name": "podlane", "type": "portmap",
  "capabilities": {"portMappings": True}, "prevResult": json.loads(sys.argv[1]),
  "runtimeConfig": {"portMappings": [{"hostPort": int(sys.argv[2]), "containerPort": 8080, "protocol": "tcp"}]}}))' \
		"$res" "$4")
	out=$(echo "$pm" | ip netns exec "$1" env CNI_COMMAND=ADD CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$2 \
		CNI_IFNAME=eth0 CNI_ARGS= CNI_PATH=/usr/lib/cni /usr/lib/cni/portmap) || fail "portmap ADD $3: $out"
}
# seen_as BACKEND-NS CLIENT-NS SOURCE NODE-IP HOST-PORT WANT WHAT: a client
# calls a hostPort; the backend must have seen it as WANT.
seen_as() {
	local out
	serve_once "$1" 8080
	out=$(ask_from "$2" "$3" "$4" "$5") || fail "$7 -> hostPort $5 on $4: $out"
	[ "$out" = "$6" ] || fail "$7 -> hostPort $5 on $4: the backend saw '$out', expected $6"
}
host_port_pod n2 s3 backend-3 8081
seen_as s3 fab 0.0.0.0 172.31.102.102 8081 172.31.102.102 "off-node host (masqueraded)"
seen_as s3 c1 0.0.0.0 172.31.102.102 8081 172.31.102.102 "pod on n1 (masqueraded)"
ok "hostPort (portmap) on n2 from an off-node host and from a pod on n1"

# Outgoing NAT from n1: a host beyond the cluster (an address the fabric
# holds) sees the node, the pod sees the host; the kernel's own default
# route takes it out. Unknown cluster addresses stay unreachable rather
# than going to the kernel, which would route them back.
ip -n fab addr add 198.51.100.1/32 dev lo
ip -n n1 route add default via 172.31.102.1
serve_once fab 9000
out=$(ip netns exec c1 python3 -c 'import socket
t = socket.create_connection(("198.51.100.1", 9000), timeout=5)
print(t.getpeername()[0], t.recv(100).decode())' 2>&1) || fail "pod c1 -> 198.51.100.1 with nat_outgoing: $out"
[ "$out" = "198.51.100.1 172.31.102.101" ] || fail "outgoing NAT: pod saw / host saw '$out', expected 198.51.100.1 172.31.102.101"
out=$(ip netns exec c1 ping -c 1 -W 2 100.97.0.9 2>&1) && fail "unknown cluster address answered: $out"
grep -qi unreachable <<<"$out" || fail "unknown cluster address from n1: expected ICMP unreachable, got: $out"
out=$(ip netns exec s2 ping -c 1 -W 2 198.51.100.1 2>&1) && fail "n2 has no nat_outgoing nor gateway, yet: $out"
grep -qi unreachable <<<"$out" || fail "beyond the cluster from n2: expected ICMP unreachable, got: $out"
ok "nat_outgoing: a pod reaches a host beyond the cluster as its node; unknown cluster addresses unreachable"

# With nat_outgoing, answers to clients podlaned does not route itself
# reach the kernel by the default route anyway: such clients keep their
# address (externalTrafficPolicy: Local). Those it routes (the node
# network, routes elsewhere, pods) are masqueraded still. A hostPort on n1:
netns_add s4
host_port_pod n1 s4 backend-4 8082
routed_set() { ip netns exec n1 nft list set ip podlane routed; }
seen_as s4 fab 198.51.100.1 172.31.102.101 8082 198.51.100.1 "198.51.100.1 (kept)"
seen_as s4 fab 0.0.0.0 172.31.102.101 8082 172.31.102.101 "the node network (masqueraded)"
seen_as s4 c1 0.0.0.0 172.31.102.101 8082 172.31.102.101 "pod c1 (masqueraded)"
# A route to the client's network: podlaned sends the answers itself now,
# so within a second the client is masqueraded; and no more once deleted.
ctl n1 route add 198.51.100.0/24 via 172.31.102.1 >/dev/null
wait_for 5 sh -c "ip netns exec n1 nft list set ip podlane routed | grep -q 198.51.100.0/24" ||
	fail "set routed did not take the new route: $(routed_set)"
seen_as s4 fab 198.51.100.1 172.31.102.101 8082 172.31.102.101 "198.51.100.1 behind a route (masqueraded)"
ctl n1 route del 198.51.100.0/24 >/dev/null
wait_for 5 sh -c "! ip netns exec n1 nft list set ip podlane routed | grep -q 198.51.100.0/24" ||
	fail "set routed kept a deleted route: $(routed_set)"
grep -q "100.96.0.0/11" <<<"$(routed_set)" && grep -q "172.31.102.0/24" <<<"$(routed_set)" ||
	fail "set routed lacks cluster_cidr or the node network: $(routed_set)"
# A route to the kernel (dev host) is the kernel's to answer through.
ctl n1 route add 198.51.100.0/25 dev host >/dev/null
ctl n1 route add 203.0.113.0/24 via 172.31.102.1 >/dev/null # a change, seen once synced
wait_for 5 sh -c "ip netns exec n1 nft list set ip podlane routed | grep -q 203.0.113.0/24" ||
	fail "set routed did not take 203.0.113.0/24: $(routed_set)"
grep -q 198.51.100 <<<"$(routed_set)" && fail "set routed holds a dev host route: $(routed_set)"
seen_as s4 fab 198.51.100.1 172.31.102.101 8082 198.51.100.1 "198.51.100.1 behind dev host (kept)"
ok "nat_outgoing: a hostPort client beyond podlaned's routes (or behind dev host) keeps its address; the node network, pods and routed clients are masqueraded"

# The table goes with podlaned; with "masquerade": false there is none, and
# the off-node client's answer comes from the pod's address: lost.
stop_pid "$WORK/n2.pid"
[ "$(masq_rule n2)" = 0 ] || fail "the masquerade table outlived podlaned on n2"
sed -i 's/"workers": 1,/"workers": 1, "masquerade": false,/' "$WORK/n2.json"
ip netns exec n2 "$PODLANED" --config "$WORK/n2.json" >>"$WORK/n2.log" 2>&1 &
echo $! >"$WORK/n2.pid"
wait_for 30 ctl n2 node >/dev/null || fail "n2 did not come back"
[ "$(masq_rule n2)" = 0 ] || fail "masquerade false, yet the table is there"
serve_once s3 8080
out=$(ask_from fab 0.0.0.0 172.31.102.102 8081) && fail "hostPort worked without masquerading: $out"
ok "the table is deleted when podlaned stops; none with masquerade false (hostPort from off the node then fails)"
