#!/usr/bin/env bash
# Every benchmark, one run: forwarding vs l3fwd and the kernel (fwd.sh),
# route scale and updates (routes.sh), TAP pods vs kernel veth (tcp.sh),
# vhost-user pods vs OVS-DPDK (vhost.sh), QEMU guests on vhost-user vs
# QEMU's kernel TAP (vm.sh), Services vs the direct path and
# kernel NAT (services.sh), NetworkPolicy rules vs the kernel's
# (policy.sh), footprint (footprint.sh) and CNI latency vs ptp +
# host-local (cni_latency.sh).
#
#   tools/bench/run.sh [--quick] [--out DIR] [NAME...]     (root)
#
# NAME picks benchmarks (fwd routes tcp vhost vm services policy footprint
# cni; default all).
# Writes DIR (default build-release/bench/<UTC time>): bench.md (the tables),
# bench.json (every result and the machine), routes.png (forwarding rate vs
# table size), policy.png (rate vs policy rules) and each benchmark's log.
# --quick is what CI runs: short measurements, small tables; it checks that
# every measurement produced a number and that no packet was lost while
# the route table was replaced, never a speed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
QUICK= OUTDIR= NAMES=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=--quick ;;
	--out) OUTDIR=$2; shift ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	fwd|routes|tcp|vhost|vm|services|policy|footprint|cni) NAMES+=("$1") ;;
	*) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ ${#NAMES[@]} -gt 0 ] || NAMES=(fwd routes tcp vhost vm services policy footprint cni)
"$top/tools/deps.sh" gnuplot-nox || exit 1
export PODLANE_BUILD=${PODLANE_BUILD:-$top/build-release}
OUTDIR=${OUTDIR:-$PODLANE_BUILD/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

failed=()
for n in "${NAMES[@]}"; do
	case $n in
	cni) cmd=(bash "$top/tools/bench/cni_latency.sh" $([ -n "$QUICK" ] && echo 20 || echo 200)) ;;
	*) cmd=(bash "$top/tools/bench/$n.sh" $QUICK) ;;
	esac
	echo "== $n"
	start=$SECONDS
	# Tables on stdout, everything else on stderr.
	OUT=$OUTDIR/$n.json BENCH_JSON=$OUTDIR/$n.json "${cmd[@]}" >"$OUTDIR/$n.md" 2>"$OUTDIR/$n.log"
	rc=$?
	if [ $rc -eq 0 ] && [ -s "$OUTDIR/$n.json" ]; then
		cat "$OUTDIR/$n.md"
		echo "($n: $((SECONDS - start)) s)"
	else
		failed+=("$n")
		tail -20 "$OUTDIR/$n.log"
		echo "$n FAILED (rc $rc; log: $OUTDIR/$n.log)"
	fi
done

# One JSON for the run: the machine, the commit and every result.
python3 - "$top" "$OUTDIR" "$QUICK" "${NAMES[@]}" <<'PY'
import json, os, platform, subprocess, sys, time
top, out, quick, names = sys.argv[1], sys.argv[2], sys.argv[3] == "--quick", sys.argv[4:]
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
run = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": quick,
       "commit": sh("git", "-C", top, "rev-parse", "--short", "HEAD"),
       "machine": {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
                   "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30),
                   "dpdk": sh("pkg-config", "--modversion", "libdpdk")},
       "results": {}}
md = ["# podlane benchmarks, %s%s" % (run["time"], " (--quick)" if quick else ""), "",
      "%s, %d cores, kernel %s, DPDK %s" % (cpu, os.cpu_count(), platform.release(), run["machine"]["dpdk"]), ""]
for n in names:
    p = os.path.join(out, n + ".json")
    run["results"][n] = json.load(open(p)) if os.path.exists(p) else None
    md += ["## " + n, ""] + open(os.path.join(out, n + ".md")).read().splitlines() + [""]
json.dump(run, open(os.path.join(out, "bench.json"), "w"), indent=1)
open(os.path.join(out, "bench.md"), "w").write("\n".join(md))
PY

# Forwarding rate vs table size.
if [ -s "$OUTDIR/routes.json" ]; then
	python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["forwarding_by_table_size"]:
    print(r["routes"], r["order"], r["mpps"])' "$OUTDIR/routes.json" >"$OUTDIR/routes.dat"
	gnuplot <<-GP || failed+=(plot)
	set terminal pngcairo size 800,500
	set output "$OUTDIR/routes.png"
	set title "podlaned forwarding rate vs route table size (64 B, 1 worker)"
	set logscale x
	set xlabel "routes (/24)"
	set ylabel "Mpps"
	set yrange [0:*]
	set key bottom left
	plot "< grep sequential $OUTDIR/routes.dat" using 1:3 with linespoints title "destinations in order", \
	     "< grep random $OUTDIR/routes.dat" using 1:3 with linespoints title "destinations at random"
	GP
fi

# Forwarding rate vs policy rules on the receiving pod, podlaned and kernel.
if [ -s "$OUTDIR/policy.json" ]; then
	python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["by_rules"]:
    print(max(r["rules"], 1), r["podlane_mpps"], r["kernel_mpps"])' "$OUTDIR/policy.json" >"$OUTDIR/policy.dat"
	gnuplot <<-GP || failed+=(plot)
	set terminal pngcairo size 800,500
	set output "$OUTDIR/policy.png"
	set title "64 B forwarding rate vs NetworkPolicy rules on the receiving pod (1 worker)"
	set logscale x
	set xlabel "rules (0 plotted at 1)"
	set ylabel "Mpps"
	set yrange [0:*]
	set key top right
	plot "$OUTDIR/policy.dat" using 1:2 with linespoints title "podlaned", \
	     "$OUTDIR/policy.dat" using 1:3 with linespoints title "kernel (nftables, Calico's chain shape)"
	GP
fi

pngs=$(cd "$OUTDIR" && ls routes.png policy.png 2>/dev/null | sed 's/^/, /' | tr -d '\n')
echo "results: $OUTDIR (bench.md, bench.json$pngs)"
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
