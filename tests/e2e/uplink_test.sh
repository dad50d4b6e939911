#!/usr/bin/env bash
# The uplink's interface deleted and re-created under a running podlaned
# (a NIC re-plugged, a bond or VLAN made again): said while it is gone,
# served again once it is back, and its new MAC told to the node network
# so peers that knew the old one reach the node at once.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1
start_node n2 172.31.102.102/24 100.96.242.0/24 2 '"metrics_listen": "127.0.0.1:9464",'
ctl n1 route add 100.96.242.0/24 via 172.31.102.102 >/dev/null
ctl n2 route add 100.96.241.0/24 via 172.31.102.101 >/dev/null
netns_add p1
netns_add p2
A=$(cni_add n1 p1 pod-a)
B=$(cni_add n2 p2 pod-b)

ping1() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null; }
present() { ip netns exec n2 curl -sS --max-time 5 http://127.0.0.1:9464/metrics | sed -n 's/^podlane_uplink_present //p'; }
mac_of() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p'; }
# Packet sockets in n2, one line each: "INTERFACE-INDEX" (-1: its
# interface was deleted under it).
packet_socks() { ip netns exec n2 awk '$4 == "0003" { print $5 }' /proc/net/packet | sort | tr '\n' ' '; }
up0_index() { ip netns exec n2 cat /sys/class/net/up0/ifindex; }

# A route into n2's kernel (dev host) sends to the node MAC too.
ctl n2 route add 10.99.0.0/16 dev host >/dev/null
ip -n n2 addr add 10.99.0.1/32 dev lo
wait_for 10 ping1 p1 "$B" || fail "pod a cannot reach pod b on the other node"
ping1 p2 10.99.0.1 || fail "pod b cannot reach n2's kernel through a dev host route"
ping1 fab 172.31.102.102 || fail "fabric host cannot reach node n2"
[ "$(present)" = 1 ] || fail "podlane_uplink_present is '$(present)' with the uplink there"
old_mac=$(mac_of n2 up0)
[ "$(mac_of n2 podlane0)" = "$old_mac" ] || fail "host port MAC $(mac_of n2 podlane0) is not the uplink's $old_mac"

ip -n n2 link del up0
wait_for 5 grep -q "uplink up0: the interface is gone" "$WORK/n2.log" ||
	fail "no log line about the deleted uplink: $(tail -5 "$WORK/n2.log")"
[ "$(present)" = 0 ] || fail "podlane_uplink_present is '$(present)' with the uplink deleted"
ping1 p1 "$B" && fail "pod b answers with its node's uplink deleted"
ok "uplink interface deleted: said in the log, podlane_uplink_present 0"

# Made again, as start_node does: a new veth, so a new index and MAC;
# while pod b sends (its worker writes to the uplink's sockets as they
# are swapped).
ip netns exec p2 ping -q -c 200 -i 0.02 -W 1 "$A" >/dev/null 2>&1 &
pinger=$!
ip link add u-n2 type veth peer name f-n2
ip link set u-n2 netns n2
ip link set f-n2 netns fab
ip -n n2 link set u-n2 name up0
ip -n n2 link set up0 up
ip -n fab link set f-n2 master br0 up
new_mac=$(mac_of n2 up0)
wait_for 5 grep -q "uplink up0: the interface is back (index $(up0_index)), served again" "$WORK/n2.log" ||
	fail "no log line about the uplink being served again: $(tail -5 "$WORK/n2.log")"
grep -q "uplink up0: node MAC $old_mac -> $new_mac" "$WORK/n2.log" || fail "no log line about the node MAC"
[ "$(present)" = 1 ] || fail "podlane_uplink_present is '$(present)' with the uplink back"
wait "$pinger" || true # its losses are the deleted uplink's
# Its packet sockets: one per worker on the new interface, the old ones closed.
[ "$(packet_socks)" = "$(up0_index) $(up0_index) " ] ||
	fail "packet sockets in n2 on interfaces '$(packet_socks)', expected two on $(up0_index)"
[ "$(mac_of n2 podlane0)" = "$new_mac" ] || fail "host port MAC $(mac_of n2 podlane0), expected the new uplink's $new_mac"
[ "$(ip netns exec n2 sysctl -n net.ipv4.conf.up0.arp_ignore)" = 8 ] ||
	fail "the kernel is not kept from answering ARP on the new up0"
ok "uplink re-created: served again on two new sockets (old ones closed), node MAC followed by the host port"

# n1's podlaned and the fabric's kernel knew n2 by its old MAC: only the
# announcement makes them use the new one within a second (their entries
# would otherwise stay for a minute).
ping1 p1 "$B" || fail "pod a cannot reach pod b after the uplink came back"
ping1 p2 "$A" || fail "pod b cannot reach pod a after the uplink came back"
ping1 fab 172.31.102.102 || fail "fabric host cannot reach node n2 after the uplink came back"
ping1 p2 10.99.0.1 || fail "the dev host route still sends to the old node MAC"
grep -q "$new_mac" <<<"$(ip -n fab neigh show 172.31.102.102)" || fail "fabric still has $(ip -n fab neigh show 172.31.102.102)"
tcp_bulk_check p1 p2 "$B" 8
ok "after it: pods across nodes and the fabric reach node n2 at once (ARP announcement), dev host routes too, TCP intact"
