#!/usr/bin/env bash
# Forwarding rate, one router core, side by side in one run: podlaned, DPDK's
# own l3fwd (LPM, built from Debian's example sources) and the Linux kernel
# (a router netns between veth pairs). The same generator (tools/bench/plgen,
# core 0) sends both ways over 256 /24 pod prefixes per direction (65536
# destinations each) and counts what comes back; then the same in IPv6
# (FAMILIES="4 6"), over 256 /64s per direction (l3fwd's rte_lpm6, which
# leaves the hop limit alone; podlaned decrements it). DPDK routers get two
# vhost-user ports (no kernel in the path); the kernel gets two veths, its
# forwarding steered onto core 1 with RPS, the generator on AF_XDP.
# The three take turns for ROUNDS rounds (these VMs' speed drifts within
# minutes): each ratio is the median of the rounds' ratios. podlaned also
# runs with a capture (podlanectl capture, to /dev/null) on a port off the
# path (the host port), and on the path's first port with a filter no
# frame matches (each pays the filter, none a copy): their rates as
# ratios to podlaned without one, same round (not with --quick:
# tests/e2e/capture_test.sh runs captures in CI).
#
#   tools/bench/fwd.sh [--quick]        (root; sets up what it needs)
#
# Writes $OUT (JSON) and prints a table with Mpps, Gbit/s and the ratios.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start dpdk-doc -- "$@"
SECS=${SECS:-$([ $QUICK = 1 ] && echo 2 || echo 8)}
SIZES=${SIZES:-$([ $QUICK = 1 ] && echo 64 || echo "64 1500")}
# --quick (CI) forwards IPv4 only: IPv6's path is the e2e tests' (ipv6_test).
FAMILIES=${FAMILIES:-$([ $QUICK = 1 ] && echo 4 || echo "4 6")}
ROUNDS=${ROUNDS:-$([ $QUICK = 1 ] && echo 1 || echo 3)}
CAPTURE=${CAPTURE:-$([ $QUICK = 1 ] && echo 0 || echo 1)}
OUT=${OUT:-$BUILD/bench-fwd.json}
[[ "$EAL_MEM" != *--no-huge* ]] || fail "vhost-user needs hugepages"
declare -A RES

# rate NAME SIZE JSON: forwarded packets per second (both directions), this round.
rate() { RES[$1,$2,$R]=$(jget "$3" 'sum(p["rx_pps"] for p in d["ports"])'); }
# F: the family of this turn, "" (IPv4) or 6; names and plgen options take it.
F=

# --- podlaned (dual-stack): stays up between its turns (idle workers sleep).
POD_CIDR6=fd00:10:96:f3::/64 podlane_pair 1
{ spread_routes "%s %s\n"; spread_routes6 "%s %s\n"; } | while read -r pfx pod; do
	echo "{\"prefix\": \"$pfx\", \"dev\": \"$([ "$pod" = 1 ] && echo "$P1" || echo "$P0")\"}"
done | python3 -c 'import json,sys; print(json.dumps({"origin": "bench", "routes": [json.loads(l) for l in sys.stdin]}))' \
	>"$WORK/routes.json"
python3 "$top/tools/bench/plapi.py" "$WORK/node.sock" route.replace_all "@$WORK/routes.json" >/dev/null
run_podlane() { # SIZE [NAME]
	plgen "$WORK/p$1.json" $(gen_args$F "$1" "$G0" "$G1") -- "path=$S0,mac=$M0" "path=$S1,mac=$M1"
	rate "${2:-podlane}$F" "$1" "$WORK/p$1.json"
}
capturing() { [ "$(counter node captures)" = 1 ]; }
run_podlane_captured() { # SIZE NAME TARGET [FILTER]
	"$PODLANECTL" -s "$WORK/node.sock" capture "$3" -w /dev/null ${4:+"$4"} 2>"$WORK/capture.log" &
	echo $! >"$WORK/capture.pid"
	wait_for 10 capturing || fail "capture on $3 did not start: $(cat "$WORK/capture.log")"
	run_podlane "$1" "$2"
	stop_pid "$WORK/capture.pid"
}

# --- DPDK l3fwd (LPM): Debian's example sources, rx offload request masked
# to what the port has (vhost-user has no rx checksum offload).
L3=$BUILD/l3fwd
if [ ! -x "$L3/l3fwd/build/l3fwd" ]; then
	rm -rf "$L3" && mkdir -p "$L3"
	cp -r /usr/share/dpdk/examples/l3fwd /usr/share/dpdk/examples/common "$L3/"
	sed -i 's/^\t\t\trxq_conf.offloads = port_conf.rxmode.offloads;/&\n\t\t\trxq_conf.offloads \&= dev_info.rx_offload_capa;/
		s/^\t\tlocal_port_conf.rx_adv_conf.rss_conf.rss_hf &=$/\t\tlocal_port_conf.rxmode.offloads \&= dev_info.rx_offload_capa;\n&/' \
		"$L3/l3fwd/main.c"
	[ "$(grep -c rx_offload_capa "$L3/l3fwd/main.c")" = 2 ] || fail "l3fwd sources changed: cannot mask rx offloads"
	make -C "$L3/l3fwd" -j2 >"$L3/build.log" 2>&1 || fail "l3fwd build failed: $(tail -5 "$L3/build.log")"
fi
spread_routes "R%s %s\n" >"$WORK/l3fwd.cfg"
spread_routes6 "R%s %s\n" >"$WORK/l3fwd6.cfg"
run_l3fwd() { # SIZE
	# One lcore (main = forwarder) on core 1: a second lcore would spin.
	"$L3/l3fwd/build/l3fwd" --lcores=1@1 --no-pci -m 256 --file-prefix "pl-l3-$$" \
		--vdev="net_vhost0,iface=$WORK/l0.sock,client=1" --vdev="net_vhost1,iface=$WORK/l1.sock,client=1" \
		-- -p 0x3 --config="(0,0,1),(1,0,1)" -P --parse-ptype --lookup=lpm \
		--rule_ipv4="$WORK/l3fwd.cfg" --rule_ipv6="$WORK/l3fwd6.cfg" \
		--eth-dest=0,$M0 --eth-dest=1,$M1 >"$WORK/l3fwd.log" 2>&1 &
	echo $! >"$WORK/l3fwd.pid"
	at_exit "stop_pid $WORK/l3fwd.pid"
	plgen "$WORK/l$1.json" $(gen_args$F "$1" 02:00:00:00:00:01 02:00:00:00:00:02) -- \
		"path=$WORK/l0.sock,mac=$M0" "path=$WORK/l1.sock,mac=$M1"
	rate "l3fwd$F" "$1" "$WORK/l$1.json"
	stop_pid "$WORK/l3fwd.pid"
}

# --- Linux kernel: router netns kr between veths; generator on AF_XDP in kg.
kernel_router
spread_routes "%s %s\n" | while read -r pfx pod; do
	echo "route add $pfx via 10.99.$pod.2"
done | ip -n kr -batch -
spread_routes6 "%s %s\n" | while read -r pfx pod; do
	echo "route add $pfx via fd00:99:$pod::2"
done | ip -6 -n kr -batch -
run_kernel() { # SIZE
	kernel_gen "$WORK/k$1.json" $(gen_args$F "$1" "$K0" "$K1")
	rate "kernel$F" "$1" "$WORK/k$1.json"
	RES[kernel_offered$F,$1,$R]=$(jget "$WORK/k$1.json" 'sum(p["tx_pps"] for p in d["ports"])')
}

for R in $(seq "$ROUNDS"); do
	for s in $SIZES; do
		F=
		run_podlane "$s"
		if [ "$CAPTURE" = 1 ]; then
			run_podlane_captured "$s" podlane_cap_other host
			run_podlane_captured "$s" podlane_cap_filter "$P0" "udp port 7"
		fi
		run_l3fwd "$s"
		run_kernel "$s"
		[[ " $FAMILIES " == *" 6 "* ]] || continue
		F=6
		run_podlane "$s"
		run_l3fwd "$s"
		run_kernel "$s"
	done
done

python3 - "$OUT" "$SECS" "$SIZES" "$ROUNDS" "$(for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done)" <<'PY'
import json, statistics, sys
out, secs, sizes, rounds, kv = sys.argv[1:6]
res = {}  # size -> name -> [pps per round]
for line in kv.split("\n"):
    k, v = line.split("=")
    name, size, r = k.split(",")
    res.setdefault(size, {}).setdefault(name, [0.0] * int(rounds))[int(r) - 1] = float(v)
med = statistics.median
ratios = lambda r, a, b: [x / max(y, 1) for x, y in zip(r[a], r[b])]
ratio = lambda r, a, b: med(ratios(r, a, b))
# The rounds' spread beside the median: on these VMs one round's ratio
# can be half or twice the next one's.
spread = lambda r, a, b: "" if len(r[a]) < 2 else " (%.2f-%.2f)" % (
    min(ratios(r, a, b)), max(ratios(r, a, b)))
print("Forwarding, both directions, 256 prefixes (IPv4 /24s, IPv6 /64s) x 256 destinations each way, "
      "%s s x %s rounds, 1 router core" % (secs, rounds))
print("| size | podlane Mpps | l3fwd Mpps | kernel Mpps (offered) | podlane Gbit/s | podlane/l3fwd | podlane/kernel |")
print("|---|---|---|---|---|---|---|")
summary = {}
# IPv6 results are named with a 6 ("podlane6") and summarised under "ipv6".
for f, label in (("", ""), ("6", " IPv6")):
    for s in sizes.split():
        r = res[s]
        if "podlane" + f not in r:
            continue
        p, l, k = "podlane" + f, "l3fwd" + f, "kernel" + f
        m = {name: med(r[name + f]) for name in ("podlane", "l3fwd", "kernel", "kernel_offered")}
        sm = dict(m, podlane_per_l3fwd=ratio(r, p, l), podlane_per_kernel=ratio(r, p, k))
        if f:
            summary.setdefault("ipv6", {})[s] = sm
        else:
            summary[s] = dict(sm, **{n: med(v) for n, v in r.items() if n.startswith("podlane_cap")})
        print("| %s B%s | %.2f | %.2f | %.2f (%.2f) | %.2f | %.2fx%s | %.2fx%s |" % (
            s, label, m["podlane"] / 1e6, m["l3fwd"] / 1e6, m["kernel"] / 1e6, m["kernel_offered"] / 1e6,
            m["podlane"] * int(s) * 8 / 1e9, sm["podlane_per_l3fwd"], spread(r, p, l),
            sm["podlane_per_kernel"], spread(r, p, k)))
print("(medians over the rounds; a ratio is the median of the rounds' ratios, their range in brackets)")
captured = "podlane_cap_other" in res[sizes.split()[0]]
if captured:
    print()
    print("| size | podlane Mpps | with a capture on another port | with a capture on its port, filter matching nothing |")
    print("|---|---|---|---|")
for s in sizes.split() if captured else []:
    r = res[s]
    for k in ("podlane_cap_other", "podlane_cap_filter"):
        summary[s][k + "_ratio"] = ratio(r, k, "podlane")
    print("| %s B | %.2f | %.2f Mpps, %.2fx%s | %.2f Mpps, %.2fx%s |" % (
        s, med(r["podlane"]) / 1e6, med(r["podlane_cap_other"]) / 1e6,
        summary[s]["podlane_cap_other_ratio"], spread(r, "podlane_cap_other", "podlane"),
        med(r["podlane_cap_filter"]) / 1e6, summary[s]["podlane_cap_filter_ratio"],
        spread(r, "podlane_cap_filter", "podlane")))
json.dump({"seconds": float(secs), "rounds": int(rounds), "results": summary, "per_round": res},
          open(out, "w"), indent=1)
for s in sizes.split():
    for name in res[s]:
        assert min(res[s][name]) > 0, "%s forwarded nothing at %s B" % (name, s)
PY
