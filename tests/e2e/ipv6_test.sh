#!/usr/bin/env bash
# Dual-stack pods on one node: each gets an IPv6 /128 beside its IPv4 /32
# (same host part), a default route via fe80::1 answered by NDP on its
# port; pod <-> pod over IPv6 without NAT (ping, TCP, the sender's own
# address seen), node <-> pod over IPv6 (the node's IPv6 address on the
# host port), hop limit decremented once, ICMPv6 errors (hop limit,
# no route, packet too big and PMTUD), a spoofed source dropped and
# counted, the CNI result and pod list carrying both families, a planned
# restart losing nothing (neighbours handed over), a deleted pod's address unreachable; across
# nodes by podlaned's own IPv6 routes (route.add, NDP on the uplink), and
# by the node kernel's for what podlaned has no route to; IPv6 ClusterIP
# Services (backends here and across, the client's own address kept, from
# the node, hairpin, no endpoints refused, restored after a restart).
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
N6=fd00:172:31:102::105
start_node node 172.31.102.105/24,$N6/64 100.96.243.0/24,fd00:10:96:f3::/64 1 \
	'"service_cidr": ["10.96.0.0/12", "fd00:96::/108"],'
[ "$(ctl node -o json node | python3 -c 'import json,sys; print(json.load(sys.stdin)["pod_cidr6"])')" = \
	fd00:10:96:f3::/64 ] || fail "node info lacks pod_cidr6"

netns_add pa
netns_add pb
out=$(echo '{"cniVersion": "1.0.0", "name": "podlane", "type": "podlane", "socket": "'"$WORK/node.sock"'"}' |
	CNI_COMMAND=ADD CNI_CONTAINERID=ctr-a CNI_NETNS=/run/netns/pa CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	"$BUILD/cni/podlane") || fail "CNI ADD: $out"
python3 - "$out" <<'PY' || fail "CNI result: $out"
import json, sys
r = json.loads(sys.argv[1])
ips = [(i["address"], i["gateway"], i["interface"]) for i in r["ips"]]
assert ips == [("100.96.243.1/32", "169.254.1.1", 0), ("fd00:10:96:f3::1/128", "fe80::1", 0)], ips
routes = [(x["dst"], x["gw"]) for x in r["routes"]]
assert routes == [("0.0.0.0/0", "169.254.1.1"), ("::/0", "fe80::1")], routes
PY
ok "CNI result: both addresses, both default routes"
ctl node pod add ctr-b /run/netns/pb eth0 >/dev/null
A=fd00:10:96:f3::1 B=fd00:10:96:f3::2
ctl node -o json pod list | python3 -c '
import json, sys
pods = {p["container_id"]: p for p in json.load(sys.stdin)}
assert pods["ctr-b"]["ip6"] == "fd00:10:96:f3::2/128" and pods["ctr-b"]["gateway6"] == "fe80::1", pods' ||
	fail "pod list: no ip6 for ctr-b"
[ "$(ip -n pb -6 -o addr show dev eth0 scope global | awk '{print $4}')" = "$B/128" ] || fail "pod b has no $B/128"
ip -n pb -6 route | grep "^default via fe80::1 dev eth0" >/dev/null || fail "pod b: $(ip -n pb -6 route)"
[ -z "$(ip -n pb -6 -o addr show dev eth0 scope link)" ] || fail "pod b has a link-local address"
ok "pods have their /128 (no DAD, no link-local) and fe80::1 as gateway"

ping6() { ip netns exec "$1" ping -6 -c 1 -W 2 "$2"; }
wait_for 10 ping6 pa $B >/dev/null || fail "pod a cannot reach pod b over IPv6"
ping6 pb $A >/dev/null || fail "pod b cannot reach pod a over IPv6"
ping6 pa fe80::1%eth0 >/dev/null || fail "pod a cannot ping its gateway fe80::1"
grep -q "router" <<<"$(ip -n pa -6 neigh show fe80::1)" || fail "fe80::1 not a router: $(ip -n pa -6 neigh)"
ok "pod <-> pod over IPv6; fe80::1 resolved by NDP, a router, answers pings"

# Delegated IPAM with a range of each family (host-local): the pod gets
# the plugin's IPv6 address, not one derived from its IPv4 address; a
# range outside the node's IPv6 pod prefix is refused, both addresses
# given back.
netns_add pd
hl_conf() { # SUBNET6
	echo '{"cniVersion": "1.0.0", "name": "podlane", "type": "podlane", "socket": "'"$WORK/node.sock"'",
	 "ipam": {"type": "host-local", "dataDir": "'"$WORK/hl"'", "ranges": [
	  [{"subnet": "100.96.243.0/24", "rangeStart": "100.96.243.200", "rangeEnd": "100.96.243.210"}],
	  [{"subnet": "'"$1"'", "rangeStart": "'"${1%/*}"'1:10", "rangeEnd": "'"${1%/*}"'1:20"}]]}}'
}
hl_cni() { # COMMAND SUBNET6
	hl_conf "$2" | CNI_COMMAND=$1 CNI_CONTAINERID=ctr-d CNI_NETNS=/run/netns/pd CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni "$BUILD/cni/podlane"
}
out=$(hl_cni ADD fd00:10:96:f3::/64) || fail "CNI ADD with host-local: $out"
python3 - "$out" <<'PY' || fail "CNI result with host-local: $out"
import json, sys
r = json.loads(sys.argv[1])
assert [i["address"] for i in r["ips"]] == ["100.96.243.200/32", "fd00:10:96:f3::1:10/128"], r["ips"]
PY
D=fd00:10:96:f3::1:10
[ "$(ip -n pd -6 -o addr show dev eth0 scope global | awk '{print $4}')" = "$D/128" ] ||
	fail "pod d has $(ip -n pd -6 -o addr show dev eth0)"
ctl node -o json pod list | python3 -c '
import json, sys
p = {x["container_id"]: x for x in json.load(sys.stdin)}["ctr-d"]
assert p["ip6"] == "'$D'/128", p' || fail "pod list: ctr-d's ip6"
wait_for 10 ping6 pa $D >/dev/null || fail "pod a cannot reach pod d at its IPAM address $D"
hl_cni DEL fd00:10:96:f3::/64 >/dev/null || fail "CNI DEL with host-local"
[ ! -e "$WORK/hl/podlane/$D" ] && [ ! -e "$WORK/hl/podlane/100.96.243.200" ] ||
	fail "host-local kept an address: $(ls "$WORK/hl/podlane")"
out=$(hl_cni ADD fd00:99::/64) && fail "an IPv6 address outside pod_cidr accepted: $out"
grep -q 'ip6: fd00:99::1:10 is not a usable address of pod_cidr' <<<"$out" || fail "$out"
[ -z "$(ls "$WORK/hl/podlane" | grep -v -e lock -e last_reserved)" ] ||
	fail "host-local kept an address after a refused ADD: $(ls "$WORK/hl/podlane")"
ok "delegated IPAM of both families: the plugin's IPv6 address is the pod's; one outside pod_cidr is refused, nothing kept"

ping6 node $A >/dev/null || fail "the node cannot reach pod a over IPv6"
ping6 pa $N6 >/dev/null || fail "pod a cannot reach the node's IPv6 address"
ip netns exec node python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.bind(("'$N6'", 5002)); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, addr = s.accept(); print(addr[0], flush=True); c.close()' >"$WORK/node-listener.out" &
lpid=$!
wait_for 5 grep -q ready "$WORK/node-listener.out"
ip netns exec pa python3 -c 'import socket; socket.create_connection(("'$N6'", 5002), timeout=5).close()' ||
	fail "pod a cannot connect to the node over IPv6"
wait $lpid
[ "$(sed -n 2p "$WORK/node-listener.out")" = "$A" ] || fail "the node saw $(sed -n 2p "$WORK/node-listener.out")"
ok "node <-> pod over IPv6 (the node sees the pod's own address)"

# Across nodes: each podlaned routes the other's IPv6 pod prefix via that
# node's IPv6 address, resolved by NDP on the uplink: node's from the
# route API, n2's from its kernel table 100 (import_table, as BIRD fills it).
start_node n2 172.31.102.106/24,fd00:172:31:102::106/64 100.96.244.0/24,fd00:10:96:f4::/64 1 \
	'"gateway": ["172.31.102.1", "fd00:172:31:102::1"], "import_table": 100,'
ctl node route add fd00:10:96:f4::/64 via fd00:172:31:102::106 >/dev/null
ip -n n2 -6 route add fd00:10:96:f3::/64 via $N6 table 100
# Link-local gateways: on the host port (as a BGP daemon there learns
# them from its peers) mirrored, on another interface (a veth) not.
ip -n n2 -6 route add fd00:10:96:f9::/64 via fe80::5 dev podlane0 table 100
ip -n n2 link add d0 type veth peer name d1
ip -n n2 link set d1 up
ip -n n2 link set d0 up
ip -n n2 -6 route add fd00:10:96:fa::/64 via fe80::5 dev d0 table 100
mirrored() { grep -q "^fd00:10:96:f3::/64  *via $N6  *kernel$" <<<"$(ctl n2 route list)" &&
	grep -q "^fd00:10:96:f9::/64  *via fe80::5  *kernel$" <<<"$(ctl n2 route list)"; }
wait_for 10 mirrored || fail "n2 did not mirror its kernel's IPv6 routes: $(ctl n2 route list)"
grep -q "kernel route fd00:10:96:fa::/64 ignored: via fe80::5 on d0, not the node network's interface (podlane0)" "$WORK/n2.log" ||
	fail "no log line for the kernel route via a link-local gateway on another interface"
ctl node -o json route list | python3 -c '
import json, sys
r = {x["prefix"]: x for x in json.load(sys.stdin)}
assert r["fd00:10:96:f4::/64"]["via"] == "fd00:172:31:102::106", r
assert r["fd00:10:96:f3::1/128"]["origin"] == "pod" and r["::/0"]["type"] == "local", r' ||
	fail "route list: $(ctl node -o json route list)"
netns_add pc
ctl n2 pod add ctr-c /run/netns/pc eth0 >/dev/null
C=fd00:10:96:f4::1
wait_for 10 ping6 pa $C >/dev/null || fail "pod a cannot reach pod c on the other node"
hl=$(ping6 pc $A | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$hl" = 62 ] || fail "across nodes: reply hop limit $hl, expected 62 (one per podlaned)"
[ "$(counter node ndp_requests)" -gt 0 ] || fail "node asked no neighbour by NDP"
# Pods' TCP over IPv6 leaves as 64 KiB frames (the TAP offers TSO6),
# passed whole to the uplink's packet socket.
features=$(ip netns exec pc ethtool -k eth0)
grep -q "tx-tcp6-segmentation: on" <<<"$features" || fail "pod c's interface does not do IPv6 TSO: $features"
tcp_bulk_check pc pa "$A" 2
ok "pod <-> pod across nodes over IPv6 by podlaned's routes (NDP on the uplink), TSO frames, every byte delivered"
# trace answers IPv6 from the dataplane's tables: a pod here, a pod there.
out=$(ctl node trace $B)
grep -q "^route     fd00:10:96:f3::2/128 dev tap_p243_2 (pod)$" <<<"$out" &&
	grep -q "^pod       ctr-b/eth0$" <<<"$out" || fail "trace $B: $out"
ctl node -o json trace $C | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert (t["action"], t["route"]["prefix"], t["next_hop"]) == ("forward", "fd00:10:96:f4::/64", "fd00:172:31:102::106"), t
assert t["port"] == "uplink" and t["mac"] is not None, t' || fail "trace $C: $(ctl node -o json trace $C)"
ok "podlanectl trace of IPv6 addresses: route, port, NDP-resolved next hop, pod"

# n2's IPv6 gateway: the fabric host, beyond which lies fd00:99::1.
ip -n fab addr add fd00:172:31:102::1/64 dev br0 nodad
ip -n fab addr add fd00:99::1/128 dev lo
ip -n fab -6 route add fd00:10:96:f4::/64 via fd00:172:31:102::106
wait_for 10 ping6 pc fd00:99::1 >/dev/null || fail "pod c cannot reach fd00:99::1 via n2's IPv6 gateway"
[ "$(ctl n2 -o json route list | python3 -c 'import json,sys; print([r["via"] for r in json.load(sys.stdin) if r["prefix"] == "::/0"][0])')" = \
	fd00:172:31:102::1 ] || fail "n2's ::/0 is not via its gateway: $(ctl n2 route list)"
ok "IPv6 default route via the configured gateway (NDP-resolved), beyond the node network"
out=$(ctl node route add fd00:10:96:f5::/64 via 172.31.102.106 2>&1) && fail "IPv4 via accepted: $out"
grep -q "via: '172.31.102.106' is not an IPv6 address (the prefix is IPv6)" <<<"$out" || fail "$out"
out=$(ctl node route add fd00:10:96:f3:0:1::/96 via fd00:172:31:102::106 2>&1) && fail "accepted: $out"
grep -q "is inside pod_cidr fd00:10:96:f3::/64" <<<"$out" || fail "$out"
out=$(ctl node route add fd00:98::/64 via fe80::1 2>&1) && fail "via fe80::1 accepted: $out"
[ "$out" = "podlanectl: via: fe80::1 is the address podlaned answers itself as pods' and the node's gateway, not a router's" ] ||
	fail "$out"
ok "IPv6 routes: exact errors for a wrong-family gateway, a prefix inside the pods', fe80::1"

# A route via the fabric host's link-local address, resolved by NDP on
# the uplink from the node's own address.
FLL=$(ip -n fab -6 -o addr show dev br0 scope link | awk '{print $4}' | cut -d/ -f1)
[ -n "$FLL" ] || fail "the fabric bridge has no link-local address"
ip -n fab addr add fd00:98::1/128 dev lo
ip -n fab -6 route add fd00:10:96:f3::/64 via $N6
ctl node route add fd00:98::/64 via "$FLL" >/dev/null || fail "route via $FLL refused"
wait_for 10 ping6 pa fd00:98::1 >/dev/null || fail "pod a cannot reach fd00:98::1 via the link-local gateway $FLL"
[ "$(ctl node -o json trace fd00:98::1 | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["next_hop"], t["mac"] is not None)')" = \
	"$FLL True" ] || fail "trace via $FLL: $(ctl node -o json trace fd00:98::1)"
ok "an IPv6 route via a link-local gateway on the node network ($FLL, resolved by NDP)"

hl=$(ping6 pa $B | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$hl" = 63 ] || fail "reply hop limit $hl, expected 63 (64 decremented once)"
ok "hop limit decremented by exactly 1"

# Each side of a TCP connection sees the other's own IPv6 address.
seen=$(tcp_peers6 pb pa $B)
[ "$seen" = "$A $A $B 100000" ] || fail "listener, then client saw '$seen', expected '$A $A $B 100000'"
ok "TCP over IPv6: peers see each other's own addresses, 100000 bytes through"

out=$(ip netns exec pa ping -6 -c 1 -W 2 -t 1 $B 2>&1) || true
grep -q "From fe80::1.*Time exceeded: Hop limit" <<<"$out" || fail "hop limit 1: $out"
out=$(ip netns exec pa ping -6 -c 1 -W 2 fd00:10:96:f3::99 2>&1) || true
grep -q "From fe80::1.*Destination unreachable: No route" <<<"$out" || fail "no route: $out"
ok "ICMPv6 time exceeded and destination unreachable from fe80::1"

# PMTUD: pod b's interface gets MTU 1280 (podlaned follows it within a
# second) but still offers an MSS for 1500, so pod a's full segments meet
# "packet too big" at podlaned and TCP must learn the path MTU.
ip -n pb link set eth0 mtu 1280
ip -n pb -6 route replace default via fe80::1 dev eth0 advmss 1440
sleep 1.5
too_big=$(counter node mtu_exceeded)
tcp_bulk_check pa pb "$B" 2
[ "$(counter node mtu_exceeded)" -gt "$too_big" ] || fail "TCP met no 'packet too big'"
ip -n pa -6 route flush cache
out=$(ip netns exec pa ping -6 -c 1 -W 2 -s 1400 -M do $B 2>&1) || true
grep -q "From fe80::1.*Packet too big: mtu=1280" <<<"$out" || fail "packet too big: $out"
ok "packet too big with the next MTU (1280); TCP through it learns the path MTU, every byte delivered"
ip -n pb link set eth0 mtu 1500

# A pod sending from an address not its own is dropped and counted.
spoofed=$(counter node spoofed)
ip -n pa addr add fd00:10:96:f3::99/128 dev eth0 nodad
ip netns exec pa ping -6 -c 3 -i 0.2 -W 1 -I fd00:10:96:f3::99 $B >/dev/null 2>&1 && fail "spoofed pings answered"
[ $(($(counter node spoofed) - spoofed)) -ge 3 ] || fail "spoofed: $(counter node spoofed), was $spoofed"
ip -n pa addr del fd00:10:96:f3::99/128 dev eth0
ok "a pod's IPv6 packets from another address: dropped, counted as spoofed"
[ "$(counter node ndp_replies)" -gt 0 ] || fail "stats: ndp_replies $(counter node ndp_replies)"
# Each family counted on its own: 5 pings over IPv6, then 5 over IPv4,
# are 10 packets (requests and replies) more of each.
v6=$(counter node ipv6_packets)
ip netns exec pa ping -6 -c 5 -i 0.1 -W 1 $B >/dev/null || fail "IPv6 pings"
[ $(($(counter node ipv6_packets) - v6)) -ge 10 ] || fail "ipv6_packets: $v6 -> $(counter node ipv6_packets)"
v4=$(counter node ipv4_packets)
ip netns exec pa ping -c 5 -i 0.1 -W 1 100.96.243.2 >/dev/null || fail "IPv4 pings"
[ $(($(counter node ipv4_packets) - v4)) -ge 10 ] || fail "ipv4_packets: $v4 -> $(counter node ipv4_packets)"
routes6=$(ctl node -o json route list | python3 -c 'import json,sys; print(sum(":" in r["prefix"] for r in json.load(sys.stdin)))')
[ "$(ctl node -o json node | python3 -c 'import json,sys; print(json.load(sys.stdin)["routes6"])')" = "$routes6" ] ||
	fail "node routes6 is not the $routes6 IPv6 routes of route list: $(ctl node -o json node)"
ok "stats count IPv6 and IPv4 packets each, and NDP replies; node counts IPv6 routes"

# IPv6 Services: a ClusterIP over pod b (here) and pod c (on n2). Each
# backend answers with its name and the client address it saw.
serve() { # NETNS NAME: a TCP server on [::]:8080
	ip netns exec "$1" python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 8080)); s.listen(64); print("ready", flush=True)
while True:
    c, addr = s.accept(); c.sendall(("'"$2"' " + addr[0] + "\n").encode()); c.close()' >"$WORK/serve-$2.out" &
	echo $! >"$WORK/serve-$2.pid"
	at_exit "stop_pid $WORK/serve-$2.pid"
	wait_for 5 grep -q ready "$WORK/serve-$2.out"
}
ask6() { # NETNS VIP N [PORT]: N connections to [VIP]:PORT (80), what each backend said
	ip netns exec "$1" python3 -c '
import socket, sys
for i in range(int(sys.argv[2])):
    c = socket.create_connection((sys.argv[1], int(sys.argv[3])), timeout=5)
    print(c.makefile().readline().strip()); c.close()' "$2" "$3" "${4:-80}"
}
serve pb b
serve pc c
VIP6=fd00:96::10
ctl node service add "[$VIP6]:80" "[$B]:8080" "[$C]:8080" --name default/web6 >/dev/null ||
	fail "service add [$VIP6]:80"
out=$(ask6 pa $VIP6 16) || fail "pod a to [$VIP6]:80: $out"
[ "$(sort -u <<<"$out")" = "b $A
c $A" ] || fail "pod a's connections to [$VIP6]:80 got: $out"
ok "IPv6 ClusterIP: connections spread over a backend here and one across nodes, each seeing the client pod's own address"
[ "$(ask6 node $VIP6 1 | cut -d' ' -f2)" = "$N6" ] || fail "the node's connection to [$VIP6]:80"
ctl node service add "[fd00:96::12]:80" "[$B]:8080" >/dev/null || fail "service add [fd00:96::12]:80"
[ "$(ask6 pb fd00:96::12 1)" = "b fd00:96::12" ] || fail "hairpin: $(ask6 pb fd00:96::12 1)"
ok "IPv6 ClusterIP from the node (its own address seen); hairpin (pod b to itself, from the service IP)"
ctl node service add "[fd00:96::11]:80" >/dev/null || fail "service add [fd00:96::11]:80"
out=$(ip netns exec pa timeout 5 python3 -c '
import socket, time
t = time.time()
try:
    socket.create_connection(("fd00:96::11", 80), timeout=3); print("connected")
except ConnectionRefusedError:
    print("refused", round(time.time() - t))' 2>&1)
[ "$out" = "refused 0" ] || fail "a service without endpoints: $out"
out=$(ctl node -o json service list | python3 -c '
import json, sys
s = {x["ip"] + "/" + str(x["port"]): x for x in json.load(sys.stdin)}
print(s["fd00:96::11/80"]["stats"]["rejected"], s["'$VIP6'/80"]["stats"]["connections"], s["'$VIP6'/80"]["name"])')
[ "$out" = "1 17 default/web6" ] || fail "service list counters: $out"
grep -q "^\[$VIP6\]:80/tcp  *default/web6  *\[$B\]:8080,\[$C\]:8080 " <<<"$(ctl node service list)" ||
	fail "service list: $(ctl node service list)"
ctl node -o json conntrack list --service "[$VIP6]:80" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["matched"] == 17, r["matched"]
f = r["flows"][0]
assert f["original"]["destination"] == {"ip": "'$VIP6'", "port": 80} and f["service"] == "['$VIP6']:80/tcp", f
assert f["reply"]["source"]["ip"] in ("'$B'", "'$C'") and f["reply"]["source"]["port"] == 8080, f' ||
	fail "conntrack list: $(ctl node conntrack list --service "[$VIP6]:80")"
ok "IPv6: no endpoints refused at once and counted; service list and conntrack list show IPv6 services and flows"
out=$(ctl node trace "[$VIP6]:80" from "[$A]:40123")
grep -qx "service   \[$VIP6\]:80/tcp (default/web6)" <<<"$out" || fail "trace [$VIP6]:80: $out"
b=$(sed -n 's/^backend   \[\(.*\)\]:8080$/\1/p' <<<"$out")
[ "$b" = "$B" ] && want=b || want=c
[ "$b" = "$B" ] || [ "$b" = "$C" ] || fail "trace backend: $out"
got=$(ip netns exec pa python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.bind(("::", 40123)); s.settimeout(5)
s.connect(("'$VIP6'", 80)); print(s.makefile().readline().split()[0])')
[ "$got" = "$want" ] || fail "trace said $b, the connection from port 40123 went to $got"
ok "trace names the IPv6 service and the backend a connection gets, and the connection gets it"
# PMTUD through a service: pod b's MTU 1280 (its MSS still for 1500), so
# pod a's segments to the service meet "packet too big" after DNAT, which
# must quote them as pod a sent them for its socket to learn the MTU.
ctl node service add "[fd00:96::14]:7100" "[$B]:7100" >/dev/null || fail "service add [fd00:96::14]:7100"
ip -n pb link set eth0 mtu 1280
ip -n pb -6 route replace default via fe80::1 dev eth0 advmss 1440
sleep 1.5
too_big=$(counter node mtu_exceeded)
tcp_bulk_check pa pb fd00:96::14 2
[ "$(counter node mtu_exceeded)" -gt "$too_big" ] || fail "TCP through the service met no 'packet too big'"
ip -n pb link set eth0 mtu 1500
ip -n pb -6 route replace default via fe80::1 dev eth0
ok "PMTUD through an IPv6 service: 'packet too big' quoted as the client sent it, every byte delivered"
out=$(ctl node service add "[fd00:96::13]:80" 100.96.243.2:8080 2>&1) && fail "mixed families accepted"
grep -q "backends\[0\].ip: 100.96.243.2 is not an IPv6 address (the service's ip is)" <<<"$out" || fail "$out"
out=$(ctl node service add "[fd00:96::13]:80" "[$B]:8080" --external-ip 198.51.100.13 2>&1) &&
	fail "an IPv4 external IP of an IPv6 service accepted"
grep -q "external_ips\[0\]: 198.51.100.13 is not an IPv6 address (the service's ip is)" <<<"$out" || fail "$out"
out=$(ctl node service add "[fd00:10:96:f3::77]:80" 2>&1) && fail "a pod address as service IP accepted"
grep -q "ip: fd00:10:96:f3::77 is in pod_cidr (pods' addresses)" <<<"$out" || fail "$out"
ok "IPv6 services: exact errors for mixed families, an IPv4 external IP, a pod's address"

# From off the node (the fabric host): a NodePort on the node's IPv6
# address and an external IP. The backend here sees the client's own
# address; the one on n2 the node's (SNAT: its answer must come back
# through this node). externalTrafficPolicy Local: this node's backend
# only, the client's address kept.
ctl node service add "[fd00:96::15]:80" "[$B]:8080" "[$C]:8080" --node-port 30080 \
	--external-ip fd00:99::15 --name default/np6 >/dev/null || fail "service add [fd00:96::15]:80"
ctl node service add "[fd00:96::16]:80" "[$B]:8080" "[$C]:8080" --node-port 30081 --local \
	>/dev/null || fail "service add [fd00:96::16]:80 --local"
ip -n fab -6 route add fd00:99::15/128 via $N6
F=fd00:172:31:102::1
[ "$(ask6 fab $N6 16 30080 | sort -u)" = "b $F
c $N6" ] || fail "NodePort [$N6]:30080 from off the node: $(ask6 fab $N6 16 30080 | sort -u)"
[ "$(ask6 fab fd00:99::15 16 | sort -u)" = "b $F
c $N6" ] || fail "external IP fd00:99::15 from off the node: $(ask6 fab fd00:99::15 16 | sort -u)"
[ "$(ask6 fab $N6 8 30081 | sort -u)" = "b $F" ] ||
	fail "NodePort [$N6]:30081 (Local): $(ask6 fab $N6 8 30081 | sort -u)"
ok "IPv6 NodePort and external IP from off the node (SNAT only to another node's backend); externalTrafficPolicy Local keeps the client's address"

# The agent with a dual-stack Service and no Node objects at hand: podlaned
# says the node has IPv6 pods (node.info), so both halves go.
python3 - "$B" "$C" >"$WORK/k8s.json" <<'PY'
import json, sys
b, c = sys.argv[1], sys.argv[2]
svc = {"kind": "Service", "metadata": {"namespace": "default", "name": "dual"},
       "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.77", "clusterIPs": ["10.96.0.77", "fd00:96::77"],
                "ipFamilies": ["IPv4", "IPv6"], "ports": [{"port": 80, "protocol": "TCP"}]}}
def eps(family, ips):
    return {"kind": "EndpointSlice", "addressType": family,
            "metadata": {"namespace": "default", "name": "dual-" + family,
                         "labels": {"kubernetes.io/service-name": "dual"}},
            "ports": [{"port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in ips]}
print(json.dumps({"kind": "List", "items": [svc, eps("IPv4", ["100.96.243.2"]), eps("IPv6", [b, c])]}))
PY
out=$(ip netns exec node python3 "$E2E_TOP/tools/podlane-k8s" --node node --socket "$WORK/node.sock" \
	--sync services <"$WORK/k8s.json" 2>&1) || fail "podlane-k8s: $out"
ctl node -o json service list | python3 -c '
import json, sys
s = {(x["ip"], x["origin"]): x for x in json.load(sys.stdin)}
assert [b["ip"] for b in s[("fd00:96::77", "k8s")]["backends"]] == sorted(["'$B'", "'$C'"]), s
assert [b["ip"] for b in s[("10.96.0.77", "k8s")]["backends"]] == ["100.96.243.2"], s' ||
	fail "the agent's dual-stack Service: $(ctl node service list)"
[ "$(ask6 pa fd00:96::77 16 | sort -u | cut -d' ' -f1 | tr '\n' ' ')" = "b c " ] ||
	fail "[fd00:96::77]:80 from the agent: $(ask6 pa fd00:96::77 8)"
ok "podlane-k8s pushes both halves of a dual-stack Service (podlaned says the node has IPv6 pods)"

# NetworkPolicy over IPv6: pod b, named by its IPv4 address alone, has
# both of its families isolated; pod a may reach it on 8080 by an IPv6
# peer, which says nothing of IPv4.
refused6() { # NETNS ADDRESS PORT: a TCP connection that policy drops (no answer)
	! ip netns exec "$1" python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)' "$2" "$3" 2>/dev/null
}
echo '{"name": "default/b6", "pods": ["100.96.243.2"], "ingress": [{"from": [{"cidr": "'$A'/128"}],
 "ports": [{"port": 8080}]}]}' | ctl node policy add - >/dev/null || fail "policy add"
[ "$(ask6 pa $B 1 8080)" = "b $A" ] || fail "pod a to [$B]:8080 under the policy: $(ask6 pa $B 1 8080)"
refused6 pc $B 8080 || fail "pod c (another node) reached [$B]:8080 past the policy"
refused6 pa 100.96.243.2 8080 || fail "pod a reached b over IPv4, which no IPv4 rule allows"
! ping6 pa $B >/dev/null || fail "pod a's ping reached b, which no rule without ports allows"
[ "$(ask6 node $B 1 8080 | cut -d' ' -f2)" = "$N6" ] || fail "the node's connection to b under the policy"
[ "$(ask6 pb $C 1 8080)" = "c $B" ] || fail "b (not isolated for egress) cannot reach c"
ctl node -o json trace "[$B]:8080" from $C | python3 -c '
import json, sys
t = json.load(sys.stdin)
p = t["policy"]
assert t["action"] == "deny" and p["verdict"] == "deny", t
assert p["ingress"]["isolated_by"] == ["default/b6"] and p["ingress"]["allowed_by"] is None, t' ||
	fail "trace from c: $(ctl node -o json trace "[$B]:8080" from $C)"
[ "$(ctl node -o json trace "[$B]:8080" from $A | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["ingress"]["allowed_by"]["policy"])')" = \
	default/b6 ] || fail "trace from a: $(ctl node -o json trace "[$B]:8080" from $A)"
ctl node policy del default/b6 >/dev/null
[ "$(ask6 pc $B 1 8080)" = "b $C" ] || fail "pod c to b after the policy went"
ok "NetworkPolicy over IPv6: IPv6 peers judge IPv6, a pod named by one address has both judged, node exempt, trace"

restart_under_pings node TERM pa $B
[ "$RESTART_LOST" = 0 ] || fail "planned restart lost $RESTART_LOST of 300 IPv6 pings"
# n2's MAC (NDP) handed over: known before any packet went there.
ctl node -o json trace $C | python3 -c 'import json,sys; t = json.load(sys.stdin); assert t["mac"], t' ||
	fail "after a planned restart, the next hop to pod c is not resolved: $(ctl node trace $C)"
wait_for 10 ping6 pa $C >/dev/null || fail "after a restart, pod a cannot reach pod c (route not restored?)"
ok "planned restart: pods keep their IPv6 addresses and routes, 0 of 300 pings lost; IPv6 routes and neighbours restored"
[ "$(ask6 pa $VIP6 16 | sort -u)" = "b $A
c $A" ] || fail "after a restart, [$VIP6]:80 answers: $(ask6 pa $VIP6 8)"
ok "IPv6 services restored after a restart"

ctl node pod del ctr-b eth0 >/dev/null
out=$(ip netns exec pa ping -6 -c 1 -W 2 $B 2>&1) || true
grep -q "Destination unreachable" <<<"$out" || fail "deleted pod's address: $out"
ok "a deleted pod's IPv6 address is unreachable"
