#!/usr/bin/env bash
# TAP pods, the common case: iperf3 TCP and UDP between two pods through
# podlaned (same node and across two nodes), beside the same pods on kernel
# routing (the reference ptp plugin: veth pairs, host routes) in one run,
# and podlaned's TCP over IPv6 (dual-stack nodes) beside its IPv4,
# and what the TAP interface itself allows: tools/bench/tapfwd between two
# TAPs, plain and with virtio-net headers (TSO frames passed on). UDP both
# unpaced and paced at 1 Gbit/s, with where the paced one lost datagrams.
# Placement, the same for every path: both iperf3 ends on CPU 0, the
# forwarding on CPU 1 (podlaned's one worker; tapfwd; the kernel's routing
# of the pods' packets, steered there by RPS on the node's veths). Across
# nodes also with a core per node, as two machines would have: node 1's
# forwarding and the sending pod on CPU 0, node 2's and the receiving pod
# on CPU 1 (podlaned's threads pinned there, the kernel's routing by RPS).
#
#   tools/bench/tcp.sh [--quick]        (root; sets up what it needs)
#
# Writes $OUT (JSON) and prints a table with Gbit/s and the ratios.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start iperf3 containernetworking-plugins -- "$@"
SECS=${SECS:-$([ $QUICK = 1 ] && echo 1 || echo 5)}
# These VMs drift by tens of percent within minutes: podlane and the kernel
# take turns, and each ratio is the median of the rounds' ratios.
ROUNDS=${ROUNDS:-$([ $QUICK = 1 ] && echo 1 || echo 3)}
OUT=${OUT:-$BUILD/bench-tcp.json}
declare -A RES

# udp SERVER_NS CLIENT_NS ADDRESS NAME ROUND RATE KEY [NODE...]: iperf3
# UDP (1400-byte datagrams) at RATE (0: unpaced); Gbit/s received, loss,
# datagrams sent and where they were lost (NODE: the podlaned nodes on
# the path), as KEY_*.
udp() {
	local r=$5 key=$7 nodes=("${@:8}") s0 d0 n0 f=$WORK/$4.$7.json
	s0=$(tx_dropped "$2") d0=$(rcvbuf_errors "$1") n0=$(podlaned_lost "${nodes[@]}")
	ip netns exec "$2" taskset -c "$CLIENT_CPU" iperf3 -c "$3" -p $port -t "$SECS" -u -b "$6" -l 1400 -J >"$f" ||
		fail "iperf3 UDP $4 at $6: $(tail -3 "$f")"
	RES[$4,$key,$r]=$(jget "$f" 'd["end"]["sum"]["bits_per_second"] * (1 - d["end"]["sum"]["lost_percent"] / 100) / 1e9')
	RES[$4,${key}_loss,$r]=$(jget "$f" 'd["end"]["sum"]["lost_percent"]')
	RES[$4,${key}_sent,$r]=$(jget "$f" 'd["end"]["sum"]["packets"]')
	RES[$4,${key}_at_sender,$r]=$(($(tx_dropped "$2") - s0))
	RES[$4,${key}_at_receiver,$r]=$(($(rcvbuf_errors "$1") - d0))
	RES[$4,${key}_at_podlaned,$r]=$(($(podlaned_lost "${nodes[@]}") - n0))
}

# iperf SERVER_NS CLIENT_NS ADDRESS NAME ROUND [NODE...]: TCP, then UDP
# unpaced and at 1 Gbit/s (not for IPv6: a NAME ending in 6). The ends on
# CPUs SERVER_CPU and CLIENT_CPU.
port=5300
SERVER_CPU=0 CLIENT_CPU=0
iperf() {
	port=$((port + 1))
	ip netns exec "$1" taskset -c "$SERVER_CPU" iperf3 -s -D -p $port --pidfile "$WORK/iperf$port.pid"
	at_exit "stop_pid $WORK/iperf$port.pid"
	wait_for 5 ip netns exec "$1" sh -c "ss -ltn | grep -q :$port"
	ip netns exec "$2" taskset -c "$CLIENT_CPU" iperf3 -c "$3" -p $port -t "$SECS" -J >"$WORK/$4.tcp.json" ||
		fail "iperf3 TCP $4: $(tail -3 "$WORK/$4.tcp.json")"
	RES[$4,tcp,$5]=$(jget "$WORK/$4.tcp.json" 'd["end"]["sum_received"]["bits_per_second"] / 1e9')
	if [[ $4 != *6 ]]; then
		udp "${@:1:5}" 0 udp "${@:6}"
		udp "${@:1:5}" 1G udp1g "${@:6}"
	fi
	stop_pid "$WORK/iperf$port.pid"
}

# --- podlaned: two nodes on a fabric bridge, 1 worker each.
fabric 172.31.102.1/24
start_node n1 172.31.102.101/24,fd00:172:31:102::101/64 100.96.241.0/24,fd00:10:96:f1::/64 1
start_node n2 172.31.102.102/24,fd00:172:31:102::102/64 100.96.242.0/24,fd00:10:96:f2::/64 1
ctl n1 route add 100.96.242.0/24 via 172.31.102.102 >/dev/null
ctl n2 route add 100.96.241.0/24 via 172.31.102.101 >/dev/null
ctl n1 route add fd00:10:96:f2::/64 via fd00:172:31:102::102 >/dev/null
ctl n2 route add fd00:10:96:f1::/64 via fd00:172:31:102::101 >/dev/null
for p in a b; do netns_add "n1$p"; ctl n1 pod add "n1$p" "/run/netns/n1$p" eth0 >/dev/null; done
netns_add n2a
ctl n2 pod add n2a /run/netns/n2a eth0 >/dev/null
addr() { ip -n "$1" -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; }
addr6() { ip -n "$1" -6 -o addr show eth0 scope global | awk '{print $4}' | cut -d/ -f1; }
wait_for 10 ip netns exec n1a ping -c1 -W1 "$(addr n2a)" || fail "podlane pods cannot reach each other"
wait_for 10 ip netns exec n1a ping -6 -c1 -W1 "$(addr6 n2a)" || fail "podlane pods cannot reach each other over IPv6"

# --- kernel: the same pods on ptp (veth + host routes), two "nodes".
for k in 1 2; do
	kernel_node "k$k" "172.31.102.11$k/24"
	ip -n "k$k" route add "100.97.$((3 - k)).0/24" via "172.31.102.11$((3 - k))"
	for p in a b; do
		[ "$k$p" = 2b ] && continue
		netns_add "k$k$p"
		echo '{"cniVersion": "1.0.0", "name": "kref'$k'", "type": "ptp", "ipMasq": false,
		       "ipam": {"type": "host-local", "subnet": "100.97.'$k'.0/24", "dataDir": "'$WORK/hl'",
		                "routes": [{"dst": "0.0.0.0/0"}]}}' |
			CNI_COMMAND=ADD CNI_CONTAINERID="k$k$p" CNI_NETNS="/run/netns/k$k$p" CNI_IFNAME=eth0 \
			CNI_PATH=/usr/lib/cni ip netns exec "k$k" /usr/lib/cni/ptp >/dev/null || fail "ptp ADD k$k$p"
	done
done
wait_for 10 ip netns exec k1a ping -c1 -W1 "$(addr k2a)" || fail "kernel reference pods cannot reach each other"
# The kernel's forwarding on CPU 1, as podlaned's worker: RPS on every veth
# of the "nodes" (what the pods and the other node send is routed there).
rps() { # NODE MASK
	for q in $(ip netns exec "$1" sh -c 'ls -d /sys/class/net/*/queues/rx-*'); do
		ip netns exec "$1" sh -c "echo $2 >$q/rps_cpus"
	done
}
rps k1 2
rps k2 2
for r in $(seq "$ROUNDS"); do
	iperf n1b n1a "$(addr n1b)" podlane_same "$r" n1
	iperf n1b n1a "$(addr6 n1b)" podlane_same6 "$r"
	iperf k1b k1a "$(addr k1b)" kernel_same "$r"
	[ $QUICK = 1 ] && continue
	iperf n2a n1a "$(addr n2a)" podlane_across "$r" n1 n2
	iperf n2a n1a "$(addr6 n2a)" podlane_across6 "$r"
	iperf k2a k1a "$(addr k2a)" kernel_across "$r"
done
# Across nodes with a core per node (from here on): node 1 and the sender
# on CPU 0, node 2 and the receiver on CPU 1.
if [ $QUICK = 0 ]; then
	for n in 1 2; do taskset -a -p -c $((n - 1)) "$(cat "$WORK/n$n.pid")" >/dev/null; done
	rps k1 1
	rps k2 2
	SERVER_CPU=1
	for r in $(seq "$ROUNDS"); do
		iperf n2a n1a "$(addr n2a)" podlane_cores "$r" n1 n2
		iperf k2a k1a "$(addr k2a)" kernel_cores "$r"
	done
	SERVER_CPU=0
fi

# --- What the TAP interface itself allows: tools/bench/tapfwd, a minimal
# forwarder between two TAPs on core 1, moving MTU-sized frames (plain, as
# the TAP PMD does) or GSO frames with their virtio-net header (vnet).
for mode in plain vnet; do
	netns_add "t${mode}a"
	netns_add "t${mode}b"
	taskset -c 1 "$BUILD/tools/tapfwd" $mode ta tb 02:00:00:00:0a:01 02:00:00:00:0b:01 \
		>"$WORK/tapfwd.out" 2>&1 &
	echo $! >"$WORK/tapfwd.pid"
	at_exit "stop_pid $WORK/tapfwd.pid"
	wait_for 5 grep -q ready "$WORK/tapfwd.out" || fail "tapfwd: $(cat "$WORK/tapfwd.out")"
	for side in a b; do
		ns=t$mode$side net=$([ $side = a ] && echo 0 || echo 1)
		ip link set "t$side" address "02:00:00:00:0$side:01" netns "$ns"
		ip -n "$ns" addr add "10.98.$net.1/24" dev "t$side"
		ip -n "$ns" link set "t$side" up
		ip -n "$ns" neigh add "10.98.$net.254" lladdr 02:00:00:00:00:fe dev "t$side" nud permanent
		ip -n "$ns" route add "10.98.$((1 - net)).0/24" via "10.98.$net.254"
	done
	wait_for 10 ip netns exec "t${mode}a" ping -c1 -W1 10.98.1.1 || fail "tapfwd $mode does not forward"
	iperf "t${mode}b" "t${mode}a" 10.98.1.1 "tapfwd_$mode" 1
	stop_pid "$WORK/tapfwd.pid"
done

python3 - "$OUT" "$SECS" "$ROUNDS" "$(for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done)" <<'PY'
import json, statistics, sys
out, secs, rounds, kv = sys.argv[1:5]
runs = {}  # path -> proto -> {round: value}
for line in kv.split("\n"):
    k, v = line.split("=")
    path, proto, r = k.split(",")
    runs.setdefault(path, {}).setdefault(proto, {})[int(r)] = float(v)
res = {path: {proto: statistics.median(v.values()) for proto, v in p.items()} for path, p in runs.items()}
def ratio(a, b):  # median over the rounds both ran
    ra, rb = runs[a]["tcp"], runs[b]["tcp"]
    return statistics.median(ra[r] / max(rb[r], 1e-9) for r in ra if r in rb)
print("TAP pods, iperf3 (%s s each, %s round(s), medians; 1 podlaned worker), beside kernel routing (ptp)"
      % (secs, rounds))
print("| path | podlane TCP Gbit/s | kernel TCP Gbit/s | TCP ratio | podlane UDP Gbit/s (loss) | kernel UDP Gbit/s (loss) |")
print("|---|---|---|---|---|---|")
WHERE = {"same": "same node", "across": "across nodes", "cores": "across nodes, a core per node"}
for where, label in WHERE.items():
    p, k = res.get("podlane_" + where), res.get("kernel_" + where)
    if p is None:
        continue
    print("| pod -> pod, %s | %.2f | %.2f | %.2fx | %.2f (%.1f%%) | %.2f (%.1f%%) |" % (
        label, p["tcp"], k["tcp"], ratio("podlane_" + where, "kernel_" + where),
        p["udp"], p["udp_loss"], k["udp"], k["udp_loss"]))
for mode, what in (("plain", "MTU-sized frames, as the TAP PMD"), ("vnet", "IFF_VNET_HDR, TSO frames passed on")):
    r = res["tapfwd_" + mode]
    print("| TAP -> tapfwd -> TAP, %s | %.2f | | %.2fx | %.2f (%.1f%%) | |" % (
        what, r["tcp"], r["tcp"] / max(res["kernel_same"]["tcp"], 1e-9), r["udp"], r["udp_loss"]))
print("(tapfwd: tools/bench/tapfwd.c, the smallest TAP-to-TAP forwarder, not podlaned; its ratio is to kernel veth on one node)")
print("Placement: both iperf3 ends on CPU 0; forwarding on CPU 1 (podlaned's worker, tapfwd, the kernel's routing by RPS);")
print("a core per node: node 1's forwarding (podlaned's threads, RPS) and the sender on CPU 0, node 2's and the receiver on CPU 1")
print()
print("TCP over IPv6 (the same pods, dual-stack nodes) beside IPv4, same rounds")
print("| path | podlane IPv6 TCP Gbit/s | podlane IPv4 TCP Gbit/s | IPv6/IPv4 |")
print("|---|---|---|---|")
for where in ("same", "across"):
    if "podlane_%s6" % where in res:
        print("| pod -> pod, %s node | %.2f | %.2f | %.2fx |" % (
            where if where == "same" else "across a", res["podlane_%s6" % where]["tcp"],
            res["podlane_" + where]["tcp"], ratio("podlane_%s6" % where, "podlane_" + where)))
print()
print("UDP (1400-byte datagrams): loss, and where datagrams were lost (medians of the rounds)")
print("| path | rate | loss | ratio to the kernel's | sender's queue (TAP or veth) | podlaned | receiver's socket |")
print("|---|---|---|---|---|---|---|")
def lost(name, what, ref, key, rate):
    r = res.get(name)
    if r is None:
        return
    rel = "%.1fx" % (r[key + "_loss"] / ref[key + "_loss"]) if ref and ref[key + "_loss"] > 0 else (
        "(kernel lost none)" if ref else "")
    print("| %s | %s | %.2f%% of %d | %s | %d | %s | %d |" % (what, rate, r[key + "_loss"], r[key + "_sent"], rel,
          r[key + "_at_sender"], "%d" % r[key + "_at_podlaned"] if name.startswith("podlane") else "",
          r[key + "_at_receiver"]))
for key, rate in (("udp1g", "1 Gbit/s"), ("udp", "unpaced")):
    for where, label in WHERE.items():
        lost("podlane_" + where, "podlane, " + label, res.get("kernel_" + where), key, rate)
        lost("kernel_" + where, "kernel, " + label, None, key, rate)
    for mode in ("plain", "vnet"):
        lost("tapfwd_" + mode, "tapfwd " + mode, None, key, rate)
json.dump({"seconds": float(secs), "rounds": int(rounds), "results": res,
           "ratios": {w: ratio("podlane_" + w, "kernel_" + w) for w in WHERE if "podlane_" + w in runs},
           "ipv6_per_ipv4": {w: ratio("podlane_%s6" % w, "podlane_" + w) for w in ("same", "across")
                             if "podlane_%s6" % w in runs}}, open(out, "w"), indent=1)
for path, r in res.items():
    assert r["tcp"] > 0 and r.get("udp", 1) > 0, "%s moved nothing" % path
PY
