#!/usr/bin/env bash
# One node, two pods added with podlanectl: pod<->pod and node<->pod
# reachability, TTL, peer addresses (no NAT), pod del, iperf3.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
ip -n fab route add 100.96.243.0/24 via 172.31.102.105
start_node node 172.31.102.105/24 100.96.243.0/24 2

netns_add pa
netns_add pb
ctl node pod add ctr-a /run/netns/pa eth0
ctl node pod add ctr-b /run/netns/pb eth0
A=100.96.243.1 B=100.96.243.2
[ "$(ip -n pa -4 -o addr show eth0 | awk '{print $4}')" = "$A/32" ] || fail "pod a has no $A/32"
ip -n pa route | grep "^default via 169.254.1.1 dev eth0" >/dev/null || fail "pod a lacks default via 169.254.1.1"
ok "pods have their /32 and the link-local gateway"

ping1() { ip netns exec "$1" ping -c 1 -W 2 "$2"; }
wait_for 10 ping1 pa $B || fail "pod a cannot reach pod b"
ping1 pb $A >/dev/null || fail "pod b cannot reach pod a"
ok "pod <-> pod ping"
ping1 node $A >/dev/null || fail "node cannot reach pod a"
ping1 pa 172.31.102.105 >/dev/null || fail "pod a cannot reach its node"
ok "node <-> pod ping"
wait_for 10 ping1 fab $B || fail "fabric host cannot reach pod b"
ping1 pb 172.31.102.1 >/dev/null || fail "pod b cannot reach the fabric host (ARP resolution)"
ok "off-node host <-> pod ping (ARP resolution on the uplink)"

# The af_packet uplink: one socket per worker (2), fanned out by flow, so
# each frame reaches one of them: no duplicate replies.
up=$(ip netns exec node cat /sys/class/net/up0/ifindex)
socks=$(ip netns exec node awk -v i="$up" '$4 == "0003" && $5 == i' /proc/net/packet | wc -l)
[ "$socks" = 2 ] || fail "uplink: $socks packet sockets on up0, expected one per worker (2)"
out=$(ip netns exec fab ping -c 20 -i 0.05 -W 1 $B) || fail "fabric -> pod b: $out"
grep -q DUP <<<"$out" && fail "fabric -> pod b: duplicate replies: $out"
grep -q " 20 received" <<<"$out" || fail "fabric -> pod b: $out"
ok "af_packet uplink: 2 sockets in one fanout group, each frame delivered once"

ttl=$(ping1 pa $B | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$ttl" = 63 ] || fail "reply TTL $ttl, expected 63 (64 decremented by exactly one hop)"
ok "TTL decremented by exactly 1"

# Each side of a TCP connection sees the other's own pod IP: no NAT.
peer_of_listener=$WORK/listener.out
ip netns exec pb python3 -c '
import socket, sys
s = socket.socket(); s.bind(("0.0.0.0", 5001)); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, addr = s.accept(); print(addr[0], flush=True); c.sendall(b"x"); c.close()' >"$peer_of_listener" &
lpid=$!
wait_for 5 grep -q ready "$peer_of_listener"
seen_by_client=$(ip netns exec pa python3 -c '
import socket
c = socket.create_connection(("'$B'", 5001), timeout=5); c.recv(1)
print(c.getsockname()[0], c.getpeername()[0])')
wait $lpid
seen_by_server=$(sed -n 2p "$peer_of_listener")
[ "$seen_by_server" = "$A" ] || fail "listener saw peer $seen_by_server, expected pod a's $A"
[ "$seen_by_client" = "$A $B" ] || fail "client saw '$seen_by_client', expected '$A $B'"
ok "TCP peers see each other's pod IPs ($A <-> $B)"

ip netns exec pb iperf3 -s -1 -D -p 5201 --pidfile "$WORK/iperf.pid"
at_exit "stop_pid $WORK/iperf.pid"
wait_for 5 ip netns exec pb sh -c "ss -ltn | grep :5201" >/dev/null
rate=$(ip netns exec pa iperf3 -c $B -p 5201 -t 2 -J | python3 -c '
import json, sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')
python3 -c "import sys; sys.exit(0 if float('$rate') > 0 else 1)" || fail "iperf3 moved nothing"
ok "iperf3 pod a -> pod b: $rate Gbit/s"

# Hot-plug of other pods never disturbs traffic between a and b.
ip netns exec pa ping -c 400 -i 0.01 -W 1 $B >"$WORK/flood.out" 2>&1 &
flood=$!
netns_add pc
netns_add pd
for i in 1 2 3; do
	ctl node pod add churn-c /run/netns/pc eth0 >/dev/null
	ctl node pod add churn-d /run/netns/pd eth1 >/dev/null
	ctl node pod del churn-c eth0 >/dev/null
	ctl node pod del churn-d eth1 >/dev/null
done
wait $flood || true
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$WORK/flood.out")
[ "$loss" = 0 ] || fail "pod add/del disturbed the a->b flow: $loss% loss"
ok "3 rounds of pod add/del beside a 400-packet flow: 0% loss"

# A pod whose interface was deleted under us (ip link del in the pod)
# leaves a TAP fd that is always "ready" with an error: the idle check
# below covers it (a worker that kept polling it would never sleep).
netns_add pgone
ctl node pod add gone /run/netns/pgone eth0 >/dev/null
ip -n pgone link del eth0
wait_for 5 grep -q "port tap_.*: its interface was deleted, no longer polled" "$WORK/node.log" ||
	fail "no log line for the deleted pod interface"
ip netns exec pa ping -c 1 -W 2 $B >/dev/null || fail "pod a -> b broken beside a deleted pod interface"

# Idle back-off: an idle daemon costs under 5% of a core.
sleep 2
pid=$(cat "$WORK/node.pid") tck=$(getconf CLK_TCK)
t1=$(awk '{print $14 + $15}' /proc/$pid/stat) w1=$(worker_wakeups $pid)
sleep 4
t2=$(awk '{print $14 + $15}' /proc/$pid/stat) w2=$(worker_wakeups $pid)
pct=$(( (t2 - t1) * 100 / (4 * tck) ))
echo "idle CPU: $pct% of one core (2 workers), $((w2 - w1)) worker wake-ups in 4 s"
[ "$pct" -lt 5 ] || fail "idle podlaned used $pct% of a core"
# Workers with kernel ports only block until a frame comes (a few ARP or
# IPv6 frames may); they used to wake every 1-3 ms (~3800 times here).
[ $((w2 - w1)) -lt 100 ] || fail "idle workers woke $((w2 - w1)) times in 4 s"
ok "idle: CPU under 5% of a core, workers asleep (beside a pod whose interface was deleted)"
[ "$(worker_nices $pid)" = "-10 -10" ] || fail "workers' nice: $(worker_nices $pid), want the default -10"
ctl node pod del gone eth0 >/dev/null || fail "pod.del of the pod whose interface was deleted"

# Pods cannot lie: pod a sending as pod b (or as the node) is dropped.
before=$(counter node spoofed)
ip -n pa addr add $B/32 dev eth0
ip -n pa addr add 172.31.102.105/32 dev eth0
ip netns exec pa ping -c 2 -W 1 -I $B 172.31.102.1 >/dev/null 2>&1 && fail "pod a got answers using pod b's address"
ip netns exec pa ping -c 2 -W 1 -I 172.31.102.105 172.31.102.1 >/dev/null 2>&1 && fail "pod a got answers using the node's address"
ip -n pa addr del $B/32 dev eth0
ip -n pa addr del 172.31.102.105/32 dev eth0
after=$(counter node spoofed)
[ $((after - before)) -ge 4 ] || fail "spoofed counter rose by $((after - before)), expected >= 4"
ip netns exec pa ping -c 1 -W 2 $B >/dev/null || fail "pod a lost its own traffic after the spoofing attempt"
ok "spoofed source addresses from a pod are dropped and counted ($((after - before)))"

# A frame the kernel refuses (the pod's interface is down) counts as
# tx_error, not as a full queue.
netns_add pdown
D=$(ctl node -o json pod add down /run/netns/pdown eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"].split("/")[0])')
wait_for 5 ping1 pa "$D" >/dev/null || fail "pod down unreachable while up"
txdrops() { ctl node -o json stats | python3 -c 'import json,sys; d=json.load(sys.stdin)["drops"]; print(d["tx_error"], d["tx_full"])'; }
read -r e0 f0 <<<"$(txdrops)"
ip -n pdown link set eth0 down
ip netns exec pa ping -c 3 -i 0.2 -W 1 "$D" >/dev/null 2>&1 && fail "a pod answered with its interface down"
read -r e1 f1 <<<"$(txdrops)"
[ $((e1 - e0)) -ge 3 ] && [ "$f1" = "$f0" ] || fail "interface down: tx_error $e0 -> $e1, tx_full $f0 -> $f1"
ctl node pod del down eth0 >/dev/null
ok "frames to a pod whose interface is down count as tx_error ($((e1 - e0)))"

# Frames the kernel drops before podlaned reads them (podlaned stopped
# while pod a and the fabric send) are the ports' rx_missed: a TAP's
# queue (its tx_dropped, which podlanectl must match exactly) and the
# uplink's packet sockets (PACKET_STATISTICS).
blast() { # NETNS DST N: N UDP datagrams as fast as one socket sends them
	ip netns exec "$1" python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])):
    s.sendto(b"x" * 64, (sys.argv[1], 9))' "$2" "$3"
}
tap_a=$(ctl node -o json pod list | python3 -c 'import json,sys; print([p["port"] for p in json.load(sys.stdin) if p["container_id"] == "ctr-a"][0])')
up_missed0=$(port_counter node af_packet_up0 rx_missed)
pid=$(cat "$WORK/node.pid")
kill -STOP "$pid"
blast pa $B 5000
blast fab $B 60000
kill -CONT "$pid"
kernel=$(ip -n pa -s -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])')
[ "$kernel" -gt 0 ] || fail "pod a's TAP dropped nothing: the test needs a full queue"
[ "$(port_counter node "$tap_a" rx_missed)" = "$kernel" ] ||
	fail "pod a's port: rx_missed $(port_counter node "$tap_a" rx_missed), the kernel dropped $kernel"
up_missed=$(( $(port_counter node af_packet_up0 rx_missed) - up_missed0 ))
[ "$up_missed" -gt 0 ] || fail "uplink: no rx_missed after 60000 frames to a stopped podlaned"
grep -q "RX_MISSED" <<<"$(ctl node stats)" || fail "podlanectl stats shows no RX_MISSED column"
ok "kernel drops before podlaned reads: TAP $kernel (= its tx_dropped), uplink $up_missed, as rx_missed"

# Bytes intact through TAP-to-TAP GSO pass-through (pod <-> pod), the
# host TAP (node -> pod) and segmentation onto the uplink (fabric <- pod).
tcp_bulk_check pa pb $B 32
tcp_bulk_check node pa $A 32
tcp_bulk_check pb fab 172.31.102.1 16
ok "32 MiB pod -> pod, node -> pod and 16 MiB pod -> off-node host arrive intact"

# More pods than DPDK's RTE_MAX_ETHPORTS (32) allows ethdevs (TAP ports
# are podlaned's own), and more than 64 per worker (a worker's queue list
# once stopped there: 126 pods on 2 workers). The last reaches the first.
N=130
for i in $(seq 1 $N); do
	netns_add pm$i
	ctl node pod add many-$i /run/netns/pm$i eth0 >/dev/null || fail "pod $i of $N not added"
done
last=$(ip -n pm$N -4 -o addr show eth0 | awk '{print $4}'); last=${last%/32}
first=$(ip -n pm1 -4 -o addr show eth0 | awk '{print $4}'); first=${first%/32}
wait_for 10 ping1 pm$N "$first" >/dev/null || fail "pod $N cannot reach pod 1"
ping1 pm1 "$last" >/dev/null || fail "pod 1 cannot reach pod $N"
ping1 pa "$last" >/dev/null || fail "pod a cannot reach pod $N"
for i in $(seq 1 $N); do ctl node pod del many-$i eth0 >/dev/null || fail "pod $i not deleted"; done
ok "$((N + 2)) pods on one node (beyond RTE_MAX_ETHPORTS and 64 per worker), the last reaches the first"

# DPDK telemetry carries podlane's own commands.
tel=$(python3 - "/run/dpdk/pl-node-$$/dpdk_telemetry.v2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
json.loads(s.recv(16384))  # greeting
out = {}
for cmd in ("/podlane/info", "/podlane/drops", "/podlane/ports"):
    s.send(cmd.encode())
    out.update(json.loads(s.recv(65536)))
print(json.dumps(out))
PY
)
python3 -c '
import json, sys
t = json.loads(sys.argv[1])
assert t["/podlane/info"]["pods"] >= 2, t
assert t["/podlane/drops"]["spoofed"] >= 4, t
assert t["/podlane/ports"]["tap_p243_1"]["rx_packets"] > 0, t
assert t["/podlane/ports"]["af_packet_up0"]["kind"] == "uplink", t' "$tel" || fail "telemetry: $tel"
ok "DPDK telemetry: /podlane/info, /podlane/drops, /podlane/ports"

free_before=$(ctl node -o json node | python3 -c 'import json,sys; print(json.load(sys.stdin)["free_ips"])')
ctl node route add 100.97.50.0/24 dev tap_p243_2 >/dev/null
ctl node pod del ctr-b eth0
ctl node -o json port list | grep tap_p243_2 >/dev/null && fail "port of pod b still listed"
ctl node route list | grep "^$B/32" >/dev/null && fail "route to pod b still present"
ctl node route list | grep "^100.97.50.0/24" >/dev/null && fail "route added through pod b's port still present"
# The TAP is closed in the background (the kernel takes ~20 ms); its
# interface gives up the name at once and is gone soon after.
ip -n pb link show eth0 >/dev/null 2>&1 && fail "eth0 still in pod b's netns after pod del"
free_after=$(ctl node -o json node | python3 -c 'import json,sys; print(json.load(sys.stdin)["free_ips"])')
[ $((free_before + 1)) -eq "$free_after" ] || fail "free IPs $free_before -> $free_after, expected +1"
ctl node pod del ctr-b eth0 | grep "was not attached" >/dev/null || fail "second pod del not idempotent"
ping1 pa $B >/dev/null && fail "deleted pod b still answers"
wait_for 5 sh -c "[ \$(ip -n pb -o link show | wc -l) = 1 ]" || fail "pod b's interface was not deleted: $(ip -n pb -o link show)"
# An ADD into the same netns and ifname right after its DEL.
ctl node pod add ctr-e /run/netns/pb eth0 | grep "ip $B/32" >/dev/null || fail "freed IP $B not reused"
ctl node pod del ctr-e eth0 >/dev/null
ctl node pod add ctr-e /run/netns/pb eth0 >/dev/null || fail "ADD into the same netns right after DEL"
wait_for 5 ping1 pa $B >/dev/null || fail "pod added right after a DEL into the same netns unreachable"
ok "pod del removes port, route and interface, frees the IP; a re-ADD right after works"

# By the time of DEL the netns path may name another netns (the pod's was
# deleted, the name made again): pod.del touches the TAP's own netns only.
netns_add preuse
ctl node pod add reuse /run/netns/preuse eth0 >/dev/null
ip netns del preuse
ip netns add preuse # deleted by netns_add's exit handler
ip -n preuse link add eth0 type veth peer name eth0p
ip -n preuse link set eth0 up
ctl node pod del reuse eth0 >/dev/null
grep -q "<[A-Z,_-]*UP[,>]" <<<"$(ip -n preuse -o link show eth0)" ||
	fail "pod.del changed another netns's eth0: $(ip -n preuse -o link show)"
ok "pod.del leaves alone a new netns that reuses the pod's netns path"

out=$(ctl node pod add ctr-d /run/netns/nope eth0 2>&1) && fail "pod add with a missing netns succeeded"
[ "$out" = "podlanectl: netns: '/run/netns/nope' does not exist" ] || fail "unexpected error: $out"
ok "bad netns gets a clear error"
echo "single node: all passed"
