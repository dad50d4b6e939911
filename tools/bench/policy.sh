#!/usr/bin/env bash
# NetworkPolicy, side by side in one run: what rules on the receiving pod
# cost podlaned and the Linux kernel with the same rules.
#  - 64 B UDP on the generator wiring (1 worker; the kernel a router netns
#    between veths, as in fwd.sh), 1000 flows, with 0, 10, 100, 1k and 10k
#    rules on pod B: each rule one peer /32 and one port, the one that
#    allows the generator last; the kernel gets them as Calico's iptables
#    mode writes a policy (a chain per pod: established first, then a rule
#    per peer and port, then drop), in nftables. A one-way UDP stream
#    never becomes established in the kernel: every datagram walks the
#    chain, as it would under Calico; podlaned judges each flow once.
#  - new TCP connections per second between TAP pods with the same rules
#    (the kernel: veth pods routed by a host netns, as ptp wires them);
#  - how long a policy takes to be enforced with 1000 pods' policies in
#    place: from a policy.add, and from a NetworkPolicy object given to
#    podlane-k8s (selectors resolved over 1000 Pods), to the last datagram
#    of a 1 kHz stream that still passed.
# Rounds alternate the paths (these VMs drift); ratios are medians of the
# rounds' ratios.
#
#   tools/bench/policy.sh [--quick]        (root; sets up what it needs)
#
# Writes $OUT (JSON) and prints the tables.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start nftables -- "$@"
SECS=${SECS:-$([ $QUICK = 1 ] && echo 1 || echo 5)}
ROUNDS=${ROUNDS:-$([ $QUICK = 1 ] && echo 1 || echo 3)}
RULES=${RULES:-$([ $QUICK = 1 ] && echo "0 1000" || echo "0 10 100 1000 10000")}
FLOWS=1000
OUT=${OUT:-$BUILD/bench-policy.json}
[[ "$EAL_MEM" != *--no-huge* ]] || fail "vhost-user needs hugepages"
declare -A RES

# policies N POD ALLOWED PROTO PORT: policy.replace_all's params for N
# rules on POD, the last allowing ALLOWED to PORT/PROTO (64 a policy); too
# long for an argument at 10k rules, so callers pass them as @FILE.
policies() {
	python3 - "$@" <<-'PY'
	import json, sys
	n, pod, allowed, proto, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
	rules = [{"from": [{"cidr": "198.18.%d.%d/32" % (i // 250, i % 250 + 1)}],
	          "ports": [{"protocol": proto, "port": 1000 + i % 60000}]} for i in range(n - 1)]
	if n:
	    rules.append({"from": [{"cidr": allowed + "/32"}], "ports": [{"protocol": proto, "port": port}]})
	print(json.dumps({"origin": "bench", "policies": [
	    {"name": "bench/%d" % k, "pods": [pod], "ingress": rules[k:k + 64]} for k in range(0, n, 64)]}))
	PY
}
# nft_rules NETNS N POD ALLOWED PROTO PORT: the same rules in the kernel.
nft_rules() {
	local ns=$1
	ip netns exec "$ns" nft delete table inet plbench 2>/dev/null || true # none yet
	[ "$2" -gt 0 ] || return 0
	python3 - "${@:2}" <<-'PY' | ip netns exec "$ns" nft -f - || fail "nft rules for $2"
	import sys
	n, pod, allowed, proto, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
	print("table inet plbench {")
	print(" chain plforward { type filter hook forward priority 0; policy accept; ip daddr %s jump plpod; }" % pod)
	print(" chain plpod {")
	print("  ct state established,related accept")
	for i in range(n - 1):
	    print("  ip saddr 198.18.%d.%d %s dport %d accept" % (i // 250, i % 250 + 1, proto, 1000 + i % 60000))
	print("  ip saddr %s %s dport %d accept" % (allowed, proto, port))
	print("  drop")
	print(" }")
	print("}")
	PY
}
api() { python3 "$top/tools/bench/plapi.py" "$WORK/$1.sock" "${@:2}" >/dev/null || fail "$2 on $1"; }

# --- TAP pods: connections per second, then the time to enforce.
fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1
for p in a b; do netns_add n1$p; ctl n1 pod add n1$p /run/netns/n1$p eth0 >/dev/null; done
addr() { ip -n "$1" -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; }
NA=$(addr n1a) NB=$(addr n1b)
# The kernel's pods: veths into a host netns kh, /32 routes (ptp).
netns_add kh
ip netns exec kh sysctl -qw net.ipv4.ip_forward=1
for p in a b; do
	netns_add k$p
	ip link add eth0 netns k$p type veth peer name v$p netns kh
	ip -n k$p addr add 10.77.0.$([ $p = a ] && echo 2 || echo 3)/32 dev eth0
	ip -n k$p link set eth0 up
	ip -n kh link set v$p up
	ip -n kh addr add 10.77.255.1/32 dev v$p
	ip -n k$p route add 10.77.255.1 dev eth0
	ip -n k$p route add default via 10.77.255.1
	ip -n kh route add 10.77.0.$([ $p = a ] && echo 2 || echo 3)/32 dev v$p
done
KA=10.77.0.2 KB=10.77.0.3
for ns in n1b kb; do accept_server $ns; done
for r in $(seq "$ROUNDS"); do
	for n in $RULES; do
		policies "$n" "$NB" "$NA" tcp 5202 >"$WORK/rules.json"
		api n1 policy.replace_all "@$WORK/rules.json"
		RES[cps,podlane_$n,$r]=$(conns_per_s n1a "$NB")
		nft_rules kh "$n" "$KB" "$KA" tcp 5202
		RES[cps,kernel_$n,$r]=$(conns_per_s ka "$KB")
	done
done
nft_rules kh 0
# 1000 pods' policies (addresses outside the node: none of them is here),
# then B isolated: through the API, then as an object through the agent.
python3 - "$NB" >"$WORK/pods1k.json" <<-'PY'
import json, sys
print(json.dumps({"origin": "k8s", "policies": [
    {"name": "ns%d/p" % i, "pods": ["100.97.%d.%d" % (i // 250, i % 250 + 1)],
     "ingress": [{"from": [{"cidr": "100.96.0.0/11"}], "ports": [{"port": 80}]}]} for i in range(1000)]}))
PY
python3 - "$NB" >"$WORK/objects1k.json" <<-'PY'
import json, sys
b = sys.argv[1]
def pod(name, ip, node, labels):
    return {"kind": "Pod", "metadata": {"namespace": "default", "name": name, "uid": name, "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": ip}]}}
items = [pod("p%d" % i, "100.97.%d.%d" % (i // 250, i % 250 + 1), "n%d" % (i % 50 + 2), {"app": "p%d" % (i % 10)})
         for i in range(1000)]
items.append(pod("b", b, "n1", {"app": "b"}))
items.append({"kind": "Namespace", "metadata": {"name": "default", "uid": "ns"}})
items.append({"kind": "NetworkPolicy", "metadata": {"namespace": "default", "name": "cut-b", "uid": "np"},
              "spec": {"podSelector": {"matchLabels": {"app": "b"}}, "ingress": [
                  {"from": [{"podSelector": {"matchLabels": {"app": "p1"}}}]}]}})
print(json.dumps({"kind": "List", "items": items}))
PY
for r in $(seq "$ROUNDS"); do
	api n1 policy.replace_all '{"origin": "bench", "policies": []}'
	api n1 policy.replace_all "@$WORK/pods1k.json"
	out=$(python3 "$top/tools/bench/policy_enforce.py" n1a n1b "$NB" "$WORK/n1.sock" api \
		"{\"name\": \"cut-b\", \"origin\": \"bench\", \"pods\": [\"$NB\"], \"ingress\": []}") ||
		fail "enforcement through the API: $out"
	RES[enforce,api_call_ms,$r]=$(jget /dev/stdin 'd["call_ms"]' <<<"$out")
	RES[enforce,api_ms,$r]=$(jget /dev/stdin 'd["enforced_ms"]' <<<"$out")
	api n1 policy.del '{"name": "cut-b"}'
	out=$(python3 "$top/tools/bench/policy_enforce.py" n1a n1b "$NB" "$WORK/n1.sock" agent \
		"$top/tools/podlane-k8s" n1 "$WORK/objects1k.json") || fail "enforcement through the agent: $out"
	RES[enforce,agent_ms,$r]=$(jget /dev/stdin 'd["enforced_ms"]' <<<"$out")
done
stop_pid "$WORK/n1.pid"
ip netns del fab # podlane_pair makes its own

# --- 64 B on the generator wiring: pod A (g0) sends, pod B (g1) counts.
podlane_pair 1 '"max_flows": 65536,'
kernel_router
gen() { # GW0 GW1 SRC DST: FLOWS flows (source ports) to DST:53
	echo --seconds "$SECS" --warmup 2 --size 64 --flows $FLOWS --sports $FLOWS --dport 53 \
		--port "$M0,$1,$3,$4" --port "$M1,$2,$4,0.0.0.0,0"
}
for r in $(seq "$ROUNDS"); do
	for n in $RULES; do
		policies "$n" "$B" "$A" udp 53 >"$WORK/rules.json"
		api node policy.replace_all "@$WORK/rules.json"
		ctl node conntrack flush >/dev/null
		plgen "$WORK/g.json" $(gen "$G0" "$G1" "$A" "$B") -- "path=$S0,mac=$M0" "path=$S1,mac=$M1"
		RES[mpps,podlane_$n,$r]=$(jget "$WORK/g.json" 'd["ports"][1]["rx_pps"] / 1e6')
		nft_rules kr "$n" 10.99.1.2 10.99.0.2 udp 53
		kernel_gen "$WORK/k.json" $(gen "$K0" "$K1" 10.99.0.2 10.99.1.2)
		RES[mpps,kernel_$n,$r]=$(jget "$WORK/k.json" 'd["ports"][1]["rx_pps"] / 1e6')
	done
done

BENCH_DIR=$top/tools/bench python3 - "$OUT" "$SECS" "$ROUNDS" "$RULES" "$(for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done)" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["BENCH_DIR"])
from rounds import Rounds
out, secs, rounds, rules, kv = sys.argv[1:6]
rules = [int(n) for n in rules.split()]
rr = Rounds(kv)
runs, med, ratio = rr.runs, rr.med, rr.ratio
res = {"seconds": float(secs), "rounds": int(rounds), "rules": rules, "by_rules": [],
       "enforce_ms": {k[1]: v for k, v in med.items() if k[0] == "enforce"}}
print("NetworkPolicy: rules on the receiving pod (each a peer /32 and a port; the allowing one last), "
      "%s round(s) of %s s, medians" % (rounds, secs))
print("| rules | podlane Mpps (64 B) | kernel Mpps | podlane vs 0 rules | podlane vs kernel "
      "| podlane conns/s | kernel conns/s | podlane vs kernel |")
print("|---|---|---|---|---|---|---|---|")
for n in rules:
    row = {"rules": n, "podlane_mpps": med[("mpps", "podlane_%d" % n)], "kernel_mpps": med[("mpps", "kernel_%d" % n)],
           "podlane_cps": med[("cps", "podlane_%d" % n)], "kernel_cps": med[("cps", "kernel_%d" % n)],
           "mpps_vs_no_rules": ratio("mpps", "podlane_%d" % n, "podlane_0"),
           "mpps_vs_kernel": ratio("mpps", "podlane_%d" % n, "kernel_%d" % n),
           "cps_vs_kernel": ratio("cps", "podlane_%d" % n, "kernel_%d" % n)}
    res["by_rules"].append(row)
    print("| %d | %.2f | %.2f | %.2fx | %.2fx | %.0f | %.0f | %.2fx |" % (
        n, row["podlane_mpps"], row["kernel_mpps"], row["mpps_vs_no_rules"], row["mpps_vs_kernel"],
        row["podlane_cps"], row["kernel_cps"], row["cps_vs_kernel"]))
e = res["enforce_ms"]
print()
print("Enforcement with 1000 pods' policies in place (ms, medians): policy.add answered in %.1f, "
      "enforced %.1f after the call began; a NetworkPolicy object through podlane-k8s (1000 Pods): %.1f"
      % (e["api_call_ms"], e["api_ms"], e["agent_ms"]))
json.dump(res, open(out, "w"), indent=1)
PY
