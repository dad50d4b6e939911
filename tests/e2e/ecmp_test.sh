#!/usr/bin/env bash
# ECMP: two gateway routers on the node network (gw1, gw2) both reach the
# outside network (host ext, 198.51.100.10). A route via both spreads
# pods' flows over them (counted at each gateway), each flow on one;
# route list, trace and metrics show the members; gw1 stops: its flows
# move to gw2 and traffic goes on; gw1 back: it rejoins. A kernel
# multipath route (import_table) arrives with every next hop; then both
# gateways announce the outside network by BGP (BIRD, merge paths on the
# node): spread again, and gw1's withdrawal moves its flows. The same over
# IPv6 (the node is dual-stack): a route via both gateways' IPv6
# addresses spreads and keeps flows, is listed, traced and counted, and a
# kernel IPv6 multipath route is mirrored whole. Bad gateway lists get the
# exact error.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
netns_add ext
ip -n ext addr add 198.51.100.10/32 dev lo
ip -n ext addr add fd00:198:51:100::10/128 dev lo
for g in 1 2; do
	netns_add gw$g
	ip link add g$g-f type veth peer name g$g-n
	ip link set g$g-f netns fab
	ip link set g$g-n netns gw$g
	ip -n fab link set g$g-f master br0 up
	ip -n gw$g addr add 172.31.102.1$g/24 dev g$g-n
	ip -n gw$g link set g$g-n up
	ip link add g$g-e type veth peer name e$g
	ip link set g$g-e netns gw$g
	ip link set e$g netns ext
	ip -n gw$g addr add 10.0.$g.1/30 dev g$g-e
	ip -n gw$g link set g$g-e up
	ip -n ext addr add 10.0.$g.2/30 dev e$g
	ip -n ext link set e$g up
	ip -n gw$g route add 198.51.100.0/24 via 10.0.$g.2
	ip -n gw$g route add 100.96.241.0/24 via 172.31.102.101
	ip netns exec gw$g sysctl -qw net.ipv4.ip_forward=1
	# IPv6 addresses kept while gw1's link is down (the kernel drops them).
	ip netns exec gw$g sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1
	ip -n gw$g addr add fd00:172:31:102::1$g/64 dev g$g-n nodad
	ip -n gw$g addr add fd00:10:$g::1/64 dev g$g-e nodad
	ip -n ext addr add fd00:10:$g::2/64 dev e$g nodad
	ip -n gw$g -6 route add fd00:198:51:100::/64 via fd00:10:$g::2
	ip netns exec gw$g sysctl -qw net.ipv6.conf.all.forwarding=1
	# What the gateway forwards of the test's flows (UDP to port 9), exactly.
	for f in ip ip6; do
		ip netns exec gw$g nft add table $f t
		ip netns exec gw$g nft add chain $f t forwarded '{ type filter hook forward priority 0; }'
		ip netns exec gw$g nft add rule $f t forwarded udp dport 9 counter
	done
done
ip -n ext route add 100.96.0.0/11 nexthop via 10.0.1.1 nexthop via 10.0.2.1

start_node n1 172.31.102.101/24,fd00:172:31:102::101/64 100.96.241.0/24,fd00:10:96:f1::/64 1 \
	'"import_table": 100, "metrics_listen": "127.0.0.1:9466",'
netns_add pa
A=$(cni_add n1 pa pod-a)
ctl n1 route add 198.51.100.0/24 via 172.31.102.12,172.31.102.11 >/dev/null || fail "route add via two gateways"
out=$(ctl n1 route list)
grep -q "^198.51.100.0/24  *via 172.31.102.11,172.31.102.12  *static$" <<<"$out" || fail "route list: $out"
# Both asked for by ARP at once, before any flow.
resolved() { [ "$(ctl n1 -o json trace 198.51.100.10 | python3 -c 'import json,sys
print(sum(m["resolved"] for m in json.load(sys.stdin)["members"]))')" = "$1" ]; }
wait_for 10 resolved 2 || fail "the gateways were not resolved: $(ctl n1 trace 198.51.100.10)"
ok "route via two gateways: listed with both, both resolved before any flow"

rx() { # UDP datagrams to port 9 gateway $1 forwarded so far (FAMILY $2: ip, ip6)
	ip netns exec "gw$1" nft -j list chain "${2:-ip}" t forwarded | python3 -c 'import json,sys
print([r["rule"]["expr"][-1]["counter"]["packets"] for r in json.load(sys.stdin)["nftables"] if "rule" in r][0])'
}
# flows [6]: one UDP datagram from each of 64 source ports of pod a to ext
# (over IPv6 with 6).
flows() {
	ip netns exec pa python3 - "${1:-}" <<-'PY'
	import socket, sys
	v6 = sys.argv[1] == "6"
	for p in range(20000, 20064):
	    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
	    s.bind(("", p))
	    s.sendto(b"x", ("fd00:198:51:100::10" if v6 else "198.51.100.10", 9))
	    s.close()
	PY
}
counted() { # [6]: "G1 G2", the flows each gateway forwarded
	local a b f=ip${1:-}
	a=$(rx 1 "$f") b=$(rx 2 "$f")
	flows "${1:-}"
	sleep 0.5
	echo "$(($(rx 1 "$f") - a)) $(($(rx 2 "$f") - b))"
}
# spread_and_kept [6]: 64 flows spread over both gateways (c1, c2), then
# each on the same one again (d1, d2).
spread_and_kept() {
	read -r c1 c2 <<<"$(counted "${1:-}")"
	[ $((c1 + c2)) = 64 ] && [ "$c1" -ge 10 ] && [ "$c2" -ge 10 ] ||
		fail "64 flows${1:+ over IPv6} not spread: gw1 $c1, gw2 $c2"
	read -r d1 d2 <<<"$(counted "${1:-}")"
	[ "$d1" = "$c1" ] && [ "$d2" = "$c2" ] || fail "flows${1:+ over IPv6} changed gateways: gw1 $c1 then $d1"
}
# members_shown TRACE G1 G2: trace's next hop one of the two, both listed
# as members; the metrics say both are resolved.
members_shown() {
	grep -q "^next_hop  \($2\|$3\)$" <<<"$1" && grep -q "^members   $2$" <<<"$1" &&
		grep -q "^          $3$" <<<"$1" || fail "trace: $1"
	metrics=$(ip netns exec n1 curl -sf http://127.0.0.1:9466/metrics) || fail "no /metrics"
	grep -q "^podlane_ecmp_gateway_resolved{gateway=\"$2\"} 1$" <<<"$metrics" &&
		grep -q "^podlane_ecmp_gateway_resolved{gateway=\"$3\"} 1$" <<<"$metrics" ||
		fail "metrics: $(grep ecmp <<<"$metrics")"
}
spread_and_kept
ok "64 flows spread over both gateways (gw1 $c1, gw2 $c2), each on its own (again: $d1, $d2)"

members_shown "$(ctl n1 trace 198.51.100.10:9/udp from "$A:20000")" 172.31.102.11 172.31.102.12
ip netns exec ext nc -l 8080 >"$WORK/got" &
at_exit "kill $! 2>/dev/null"
listening() { [ -n "$(ip netns exec ext ss -Htln "sport = :8080")" ]; }
wait_for 5 listening || fail "no server on ext"
ip netns exec pa sh -c "echo hello | nc -N -w 3 198.51.100.10 8080" || fail "TCP pod -> ext over ECMP"
wait_for 5 grep -q hello "$WORK/got" || fail "ext did not get the data"
ok "trace names the flow's gateway and both members, metrics both resolved; TCP through ECMP"

# gw1 stops (its node-network side goes down; the outside network stops
# using it too). podlaned notices by ARP within seconds; traffic goes on.
ip -n gw1 link set g1-n down
ip -n ext route replace 100.96.0.0/11 via 10.0.2.1
start=$SECONDS
left() { grep -q "ECMP gateway 172.31.102.11: stopped answering ARP" "$WORK/n1.log"; }
wait_for 15 left || fail "gw1 did not leave the set: $(tail -5 "$WORK/n1.log")"
took=$((SECONDS - start))
read -r c1 c2 <<<"$(counted)"
[ "$c1" = 0 ] && [ "$c2" = 64 ] || fail "after gw1 stopped: gw1 $c1, gw2 $c2"
ip netns exec pa ping -c 2 -W 2 198.51.100.10 >/dev/null || fail "ping ext after gw1 stopped"
ok "gw1 stopped: left the set within $took s, every flow through gw2"

ip -n gw1 link set g1-n up
ip -n ext route replace 100.96.0.0/11 nexthop via 10.0.1.1 nexthop via 10.0.2.1
wait_for 10 resolved 2 || fail "gw1 did not rejoin: $(ctl n1 trace 198.51.100.10)"
read -r c1 c2 <<<"$(counted)"
[ "$c1" = "$d1" ] && [ "$c2" = "$d2" ] || fail "after gw1 came back: gw1 $c1, gw2 $c2 (before: $d1, $d2)"
ok "gw1 back: rejoined, each flow on its gateway of before (gw1 $c1, gw2 $c2)"

# A kernel multipath route in the mirrored table, as BIRD's merge paths makes.
ip -n n1 route add 198.51.101.0/24 table 100 nexthop via 172.31.102.11 nexthop via 172.31.102.12
mirrored() { grep -q "^198.51.101.0/24  *via 172.31.102.11,172.31.102.12  *kernel$" <<<"$(ctl n1 route list)"; }
wait_for 10 mirrored || fail "kernel multipath route: $(ctl n1 route list)"
ip -n n1 route del 198.51.101.0/24 table 100
gone() { ! grep -q "^198.51.101.0/24 " <<<"$(ctl n1 route list)"; }
wait_for 10 gone || fail "kernel multipath route not withdrawn"
ok "a kernel multipath route is mirrored with every next hop, and withdrawn"

# IPv6: a route via both gateways' IPv6 addresses (NDP-resolved).
G6=fd00:172:31:102::1
ctl n1 route add fd00:198:51:100::/64 via ${G6}2,${G6}1 >/dev/null || fail "IPv6 route add via two gateways"
grep -q "^fd00:198:51:100::/64  *via ${G6}1,${G6}2  *static$" <<<"$(ctl n1 route list)" ||
	fail "route list: $(ctl n1 route list)"
resolved6() { [ "$(ctl n1 -o json trace fd00:198:51:100::10 | python3 -c 'import json,sys
print(sum(m["resolved"] for m in json.load(sys.stdin)["members"]))')" = 2 ]; }
wait_for 10 resolved6 || fail "the IPv6 gateways were not resolved: $(ctl n1 trace fd00:198:51:100::10)"
spread_and_kept 6
A6=$(ip -n pa -6 -o addr show dev eth0 scope global | awk '{print $4}' | cut -d/ -f1)
members_shown "$(ctl n1 trace "[fd00:198:51:100::10]:9/udp" from "[$A6]:20000")" ${G6}1 ${G6}2
ip -n n1 -6 route add fd00:198:51:101::/64 table 100 \
	nexthop via ${G6}1 dev podlane0 nexthop via ${G6}2 dev podlane0
mirrored6() { grep -q "^fd00:198:51:101::/64  *via ${G6}1,${G6}2  *kernel$" <<<"$(ctl n1 route list)"; }
wait_for 10 mirrored6 || fail "kernel IPv6 multipath route: $(ctl n1 route list)"
ip -n n1 -6 route del fd00:198:51:101::/64 table 100
gone6() { ! grep -q "^fd00:198:51:101::/64 " <<<"$(ctl n1 route list)"; }
wait_for 10 gone6 || fail "kernel IPv6 multipath route not withdrawn"
ctl n1 route del fd00:198:51:100::/64 >/dev/null || fail "IPv6 route del"
ok "IPv6 ECMP: 64 flows spread (gw1 $c1, gw2 $c2) and kept, listed, traced, counted; a kernel IPv6 multipath route mirrored whole and withdrawn"

# Both gateways announce the outside network by BGP; the node's BIRD
# merges the two paths (merge paths) into one multipath route in table
# 100, which podlaned mirrors with both next hops. A gateway whose BGP
# session ends (BIRD stopped) is withdrawn at once.
. "$(dirname "$0")/lib/gateway.sh" # bird_in
ctl n1 route del 198.51.100.0/24 >/dev/null || fail "route del"
for g in 1 2; do
	bird_in gw$g gw$g "router id 172.31.102.1$g;
protocol device { scan time 2; }
protocol static outside { ipv4; route 198.51.100.0/24 blackhole; }
protocol bgp node {
	local 172.31.102.1$g as 64601; neighbor 172.31.102.101 as 64512; direct;
	connect retry time 2; error wait time 1, 4;
	ipv4 { import none; export where proto = \"outside\"; next hop self; };
}"
done
bird_in n1 n1 "router id 172.31.102.101;
protocol device { scan time 2; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; kernel table 100; merge paths on; }
template bgp gws {
	local 172.31.102.101 as 64512; direct; connect retry time 2; error wait time 1, 4;
	ipv4 { import all; export none; gateway direct; };
}
protocol bgp gw1 from gws { neighbor 172.31.102.11 as 64601; }
protocol bgp gw2 from gws { neighbor 172.31.102.12 as 64601; }"
via() { grep -q "^198.51.100.0/24  *via $1  *kernel$" <<<"$(ctl n1 route list)"; }
wait_for 30 via 172.31.102.11,172.31.102.12 ||
	fail "BGP ECMP route not mirrored: $(ctl n1 route list; ip -n n1 route show table 100)"
read -r c1 c2 <<<"$(counted)"
[ $((c1 + c2)) = 64 ] && [ "$c1" -ge 10 ] && [ "$c2" -ge 10 ] || fail "BGP ECMP: 64 flows not spread: gw1 $c1, gw2 $c2"
spread="gw1 $c1, gw2 $c2"
stop_pid "$WORK/bird-gw1.pid"
wait_for 15 via 172.31.102.12 || fail "gw1's path not withdrawn: $(ctl n1 route list)"
read -r c1 c2 <<<"$(counted)"
[ "$c1" = 0 ] && [ "$c2" = 64 ] || fail "after gw1's BGP session ended: gw1 $c1, gw2 $c2"
ok "both gateways announce by BGP: one ECMP route, flows spread ($spread); gw1 withdrawn: all through gw2"

for bad in '["172.31.102.11", "172.31.102.11"]|via: 172.31.102.11 twice' \
	'[]|via: a list of 1 to 8 gateways' \
	'["172.31.102.11", "10.9.9.9"]|via: 10.9.9.9 is not a neighbour on the node network' \
	'["172.31.102.11", 5]|via: '"'"'(not a string)'"'"' is not an IPv4 address' \
	"[$(printf '"172.31.102.%s",' 21 22 23 24 25 26 27 28)\"172.31.102.29\"]|via: a list of 1 to 8 gateways"; do
	out=$(python3 "$E2E_TOP/tools/bench/plapi.py" "$WORK/n1.sock" route.add \
		"{\"prefix\": \"198.51.102.0/24\", \"via\": ${bad%%|*}}" 2>&1) && fail "accepted via ${bad%%|*}"
	grep -qF "${bad#*|}" <<<"$out" || fail "via ${bad%%|*}: $out"
done
for bad in "[\"${G6}1\", \"${G6}1\"]|via: ${G6}1 twice" \
	"[\"${G6}1\", \"fe80::1\"]|via: fe80::1 is the address podlaned answers itself" \
	"[\"${G6}1\", \"fd00:9::9\"]|via: fd00:9::9 is not a neighbour on the node's IPv6 network" \
	"[\"${G6}1\", \"172.31.102.11\"]|via: '172.31.102.11' is not an IPv6 address (the prefix is IPv6)"; do
	out=$(python3 "$E2E_TOP/tools/bench/plapi.py" "$WORK/n1.sock" route.add \
		"{\"prefix\": \"fd00:198:51:102::/64\", \"via\": ${bad%%|*}}" 2>&1) && fail "accepted via ${bad%%|*}"
	grep -qF "${bad#*|}" <<<"$out" || fail "via ${bad%%|*}: $out"
done
ok "bad gateway lists get the exact error"
echo "ecmp: all passed"
