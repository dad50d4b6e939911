#!/usr/bin/env bash
# Services, side by side in one run: a ClusterIP balanced by podlaned,
# the backend's own IP through podlaned (no NAT), and a ClusterIP through
# the node kernel's NAT (kube-proxy's iptables rules: today's path when
# podlaned is not told of a service).
#  - TCP between TAP pods (iperf3, Gbit/s) and new TCP connections per
#    second (a client connecting and closing in a loop);
#  - 64 B UDP on the DPDK generator wiring (vhost-user pods, 1 worker):
#    the direct rate, and ClusterIPs with 4 backends each at 10k, 100k and
#    1M tracked connections (16 service IPs x 62500 source ports for 1M);
#  - memory per tracked connection (dataplane/bench/plpath memory).
# Rounds alternate the paths (these VMs drift); ratios are medians of the
# rounds' ratios.
#
#   tools/bench/services.sh [--quick]        (root; sets up what it needs)
#
# Writes $OUT (JSON) and prints the tables.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start iperf3 -- "$@"
SECS=${SECS:-$([ $QUICK = 1 ] && echo 1 || echo 5)}
ROUNDS=${ROUNDS:-$([ $QUICK = 1 ] && echo 1 || echo 3)}
FLOW_COUNTS=${FLOW_COUNTS:-$([ $QUICK = 1 ] && echo "10000" || echo "10000 100000 1000000")}
OUT=${OUT:-$BUILD/bench-services.json}
[[ "$EAL_MEM" != *--no-huge* ]] || fail "vhost-user needs hugepages"
declare -A RES
VIP=10.96.0.10

# --- TAP pods: n1 balances 10.96.0.10 itself; k1 leaves it to its kernel.
fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1 '"service_cidr": "10.96.0.0/12",'
start_node k1 172.31.102.111/24 100.96.251.0/24 1 '"service_cidr": "10.96.0.0/12",'
for n in n1 k1; do
	for p in a b; do netns_add $n$p; ctl $n pod add $n$p /run/netns/$n$p eth0 >/dev/null; done
done
addr() { ip -n "$1" -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; }
ip netns exec k1 sysctl -qw net.ipv4.ip_forward=1
# 5201: iperf3; 5202: a server that accepts and closes, for connections/s.
for port in 5201 5202; do
	python3 "$top/tools/bench/plapi.py" "$WORK/n1.sock" service.add "{\"ip\": \"$VIP\", \"port\": $port,
		\"protocol\": \"tcp\", \"backends\": [{\"ip\": \"$(addr n1b)\", \"port\": $port}]}" >/dev/null
	ip netns exec k1 iptables -w -t nat -A PREROUTING -d $VIP/32 -p tcp --dport $port \
		-j DNAT --to-destination "$(addr k1b):$port"
done
for n in n1 k1; do
	ip netns exec ${n}b iperf3 -s -D -p 5201 --pidfile "$WORK/iperf-$n.pid"
	at_exit "stop_pid $WORK/iperf-$n.pid"
	accept_server ${n}b
	wait_for 5 ip netns exec ${n}b sh -c "ss -ltn | grep -q :5201"
done

# iperf CLIENT_NS ADDRESS NAME ROUND: TCP Gbit/s.
iperf() {
	ip netns exec "$1" iperf3 -c "$2" -p 5201 -t "$SECS" -J >"$WORK/$3.json" ||
		fail "iperf3 $3: $(tail -3 "$WORK/$3.json")"
	RES[tcp,$3,$4]=$(jget "$WORK/$3.json" 'd["end"]["sum_received"]["bits_per_second"] / 1e9')
}
# cps CLIENT_NS ADDRESS NAME ROUND: TCP connections made and closed per second.
cps() { RES[cps,$3,$4]=$(conns_per_s "$1" "$2"); }
for r in $(seq "$ROUNDS"); do
	iperf n1a "$(addr n1b)" direct "$r"
	iperf n1a $VIP clusterip "$r"
	iperf k1a $VIP kernel_nat "$r"
	cps n1a "$(addr n1b)" direct "$r"
	cps n1a $VIP clusterip "$r"
	cps k1a $VIP kernel_nat "$r"
done
for n in n1 k1; do
	for p in iperf-$n accept-${n}b $n; do stop_pid "$WORK/$p.pid"; done
done
ip netns del fab # podlane_pair makes its own

# --- 64 B on the generator wiring: pod A (g0) sends, pod B (g1) counts.
# podlaned has room for 1M connections (about 250 MB of hugepages).
EAL_MEM="-m 768"
podlane_pair 1 '"max_flows": 1100000, "max_services": 64,'
# Each service its own 4 backends (ports of pod B): a client port talking to
# two services must not meet one backend port twice (the answers would be
# the same tuple), or 1M connections would not fit 62500 client ports.
svcs=$(python3 -c 'import json, sys
print(json.dumps({"origin": "bench", "services": [
    {"ip": "10.96.1.%d" % i, "port": 53, "protocol": "udp",
     "backends": [{"ip": sys.argv[1], "port": 1024 + 4 * i + k} for k in range(4)]} for i in range(16)]}))' "$B")
python3 "$top/tools/bench/plapi.py" "$WORK/node.sock" service.replace_all "$svcs" >/dev/null
# mpps NAME DST FLOWS ROUND: what reached pod B, flows from FLOWS/62500
# destinations (one per /32) and up to 62500 source ports each.
mpps() {
	local sports=$(($3 < 62500 ? $3 : 62500))
	ctl node conntrack flush >/dev/null
	plgen "$WORK/g.json" --seconds "$SECS" --warmup 2 --size 64 --flows "$3" --sports $sports \
		--dport 53 --port "$M0,$G0,$A,$2" --port "$M1,$G1,$B,0.0.0.0,0" -- \
		"path=$S0,mac=$M0" "path=$S1,mac=$M1"
	RES[mpps,$1,$4]=$(jget "$WORK/g.json" 'd["ports"][1]["rx_pps"] / 1e6')
	[ "$2" = "$B" ] || RES[tracked,$1,$4]=$(ctl node -o json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["flows_in_use"])')
}
for r in $(seq "$ROUNDS"); do
	mpps direct "$B" 10000 "$r"
	for f in $FLOW_COUNTS; do mpps "clusterip_$f" 10.96.1.0 "$f" "$r"; done
done

# --- Memory per tracked connection: the dataplane's heap with room for
# 64k and for 1M connections; a dual-stack node's (IPv6's table too).
heap() { "$BUILD/dataplane/bench/plpath" --max-flows "$@" memory | python3 -c 'import json,sys; print(json.load(sys.stdin)["heap_bytes"])'; }
RES[memory,per_flow,1]=$((($(heap 1048576) - $(heap 65536)) / (1048576 - 65536)))
RES[memory,per_flow_dual_stack,1]=$((($(heap 1048576 --ipv6) - $(heap 65536 --ipv6)) / (1048576 - 65536)))

BENCH_DIR=$top/tools/bench python3 - "$OUT" "$SECS" "$ROUNDS" "$FLOW_COUNTS" "$(for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done)" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["BENCH_DIR"])
from rounds import Rounds
out, secs, rounds, counts, kv = sys.argv[1:6]
rr = Rounds(kv)
runs, med, ratio = rr.runs, rr.med, rr.ratio
res = {"seconds": float(secs), "rounds": int(rounds), "medians": {"%s/%s" % k: v for k, v in med.items()},
       "ratios": {}}
print("Services, TAP pods (iperf3 TCP %s s; TCP connections made and closed per second), %s round(s), medians"
      % (secs, rounds))
print("| path | TCP Gbit/s | connections/s |")
print("|---|---|---|")
for name, what in (("clusterip", "pod -> ClusterIP, podlaned"), ("direct", "pod -> pod IP, podlaned"),
                   ("kernel_nat", "pod -> ClusterIP, kernel NAT (kube-proxy rules)")):
    print("| %s | %.2f | %.0f |" % (what, med[("tcp", name)], med[("cps", name)]))
for what in ("tcp", "cps"):
    res["ratios"][what + "_clusterip_vs_direct"] = ratio(what, "clusterip", "direct")
    res["ratios"][what + "_clusterip_vs_kernel_nat"] = ratio(what, "clusterip", "kernel_nat")
print("ClusterIP vs direct: TCP %.2fx, connections %.2fx; ClusterIP vs kernel NAT: TCP %.2fx, connections %.2fx"
      % (res["ratios"]["tcp_clusterip_vs_direct"], res["ratios"]["cps_clusterip_vs_direct"],
         res["ratios"]["tcp_clusterip_vs_kernel_nat"], res["ratios"]["cps_clusterip_vs_kernel_nat"]))
print()
print("64 B UDP to pod B, 1 worker, vhost-user generator wiring")
print("| destination | tracked connections | Mpps | vs direct |")
print("|---|---|---|---|")
print("| pod B's IP (no NAT) | 0 | %.2f | 1.00x |" % med[("mpps", "direct")])
for f in counts.split():
    n = "clusterip_" + f
    res["ratios"]["mpps_%s_vs_direct" % n] = ratio("mpps", n, "direct")
    print("| ClusterIP, 4 backends | %d | %.2f | %.2fx |" % (med[("tracked", n)], med[("mpps", n)],
                                                           res["ratios"]["mpps_%s_vs_direct" % n]))
last = "clusterip_" + counts.split()[-1]
if last != "clusterip_10000":
    res["ratios"]["mpps_%s_vs_10k" % last] = ratio("mpps", last, "clusterip_10000")
    print("%s tracked vs 10k: %.2fx" % (counts.split()[-1], res["ratios"]["mpps_%s_vs_10k" % last]))
print("memory per tracked connection: %d bytes (hash keys both ways, the flow, affinity room); "
      "%d on a dual-stack node (its IPv6 table of as many)"
      % (med[("memory", "per_flow")], med[("memory", "per_flow_dual_stack")]))
json.dump(res, open(out, "w"), indent=1)
for k, v in med.items():
    assert v > 0, "%s/%s measured nothing" % k
PY
