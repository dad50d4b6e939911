#!/usr/bin/env bash
# Kubernetes Services beside podlane: with service_cidr set, pods' packets
# to Service IPs go to the node's kernel, where kube-proxy's NAT picks a
# backend. kube-proxy must masquerade (masqueradeAll): the backend then
# answers the node, so the answer passes the kernel too, which undoes the
# NAT (a reply straight from pod to pod would bypass it). kube-proxy is
# emulated with its own kind of iptables rules (iptables mode).
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1 '"service_cidr": "10.96.0.0/12",'
start_node n2 172.31.102.102/24 100.96.242.0/24 1
ctl n1 route add 100.96.242.0/24 via 172.31.102.102 >/dev/null
ctl n2 route add 100.96.241.0/24 via 172.31.102.101 >/dev/null
for p in c1 s1 s2; do netns_add $p; done
C=$(cni_add n1 c1 client)
S1=$(cni_add n1 s1 backend-1)
S2=$(cni_add n2 s2 backend-2)

ctl n1 -o json route list | python3 -c 'import json,sys
r = [x for x in json.load(sys.stdin) if x["prefix"] == "10.96.0.0/12"]
assert r == [{"prefix": "10.96.0.0/12", "origin": "system", "type": "local"}], r' ||
	fail "no system route for service_cidr on n1"
out=$(ctl n1 route del 10.96.0.0/12 2>&1) && fail "the service_cidr route could be deleted"
ok "service_cidr is a system route to the node's kernel"

# kube-proxy on n1, masqueradeAll: a TCP Service on the other node's pod,
# a UDP one (DNS-like) on a pod of this node.
ip netns exec n1 sysctl -qw net.ipv4.ip_forward=1
kp() { ip netns exec n1 iptables -w -t nat "$@"; }
kp -N KUBE-MARK-MASQ
kp -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
kp -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 -j KUBE-MARK-MASQ
kp -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 -j DNAT --to-destination "$S2:8080"
kp -A PREROUTING -d 10.96.0.11/32 -p udp --dport 53 -j KUBE-MARK-MASQ
kp -A PREROUTING -d 10.96.0.11/32 -p udp --dport 53 -j DNAT --to-destination "$S1:5353"
kp -A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE

# Each backend answers with the address it saw the client at.
ip netns exec s2 python3 -c 'import socket
s = socket.create_server(("0.0.0.0", 8080)); s.settimeout(20)
c, a = s.accept(); c.sendall(("%s" % a[0]).encode()); c.close()' &
at_exit "kill $! 2>/dev/null"
ip netns exec s1 python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353)); s.settimeout(20)
d, a = s.recvfrom(100); s.sendto(("%s" % a[0]).encode(), a)' &
at_exit "kill $! 2>/dev/null"
wait_for 5 ip netns exec s2 sh -c "ss -ltn | grep -q :8080"
wait_for 5 ip netns exec s1 sh -c "ss -lun | grep -q :5353"

# The client talks to the Service's address and hears back from it (a
# connected UDP socket drops datagrams from any other source).
out=$(ip netns exec c1 python3 -c 'import socket
t = socket.create_connection(("10.96.0.10", 80), timeout=5)
print("tcp", t.getpeername()[0], t.recv(100).decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5); u.connect(("10.96.0.11", 53))
u.send(b"q"); print("udp", u.getpeername()[0], u.recv(100).decode())' 2>&1) || fail "service calls from pod c1: $out"
echo "$out" | grep -qx "tcp 10.96.0.10 172.31.102.101" || fail "TCP service: $out"
echo "$out" | grep -qx "udp 10.96.0.11 172.31.102.101" || fail "UDP service: $out"
ok "pod -> TCP Service (backend on the other node) and UDP Service (same node): answers from the Service IPs; backends see the node (masquerade)"
