#!/usr/bin/env bash
# Route scale and route updates.
#  1. The dataplane's own interface (dataplane/bench/plroute): routes added and
#     deleted per second, LPM lookup cycles in order and at random.
#  2. podlaned forwarding with N /24 routes installed (route.replace_all),
#     one destination per route, in order and at random; worker time per
#     packet from podlaned's own counters.
#  3. The socket API: route.add one by one, route.replace_all of a big table.
#  4. Packets lost while the whole table is replaced twice under a steady
#     load (goal: none), and the forwarding rate at full load meanwhile.
#  5. IPv6 (the node is dual-stack): 1, 2, 3 (route.add) and 4 with /64
#     routes, up to 5000 (beside the pods' /128s about 5800 fit:
#     dataplane/include/dp.h).
#
#   tools/bench/routes.sh [--quick]       (root; sets up what it needs)
#
# Writes $OUT (JSON) and prints tables.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start -- "$@"
if [ $QUICK = 1 ]; then
	SECS=1 INTERNAL="10 10000" SCALE="10000" ADD_N=300 ADD6_N=100 REPLACE_N=10000 IMPORT_N=10000
	SCALE6="10" REPLACE6_N=2000 INTERNAL6="10 1000"
	# Room for what these need (two tables of 10000 at most), not 1M.
	MAX_ROUTES=65536 ROUTES_MEM="-m 512"
else
	# Replacement: two tables of REPLACE_N under load (16.0.0.0/4 holds
	# 1M /24s: two that share only 1024 of them fit up to 500k each).
	SECS=4 INTERNAL="10 10000 100000 1000000" SCALE="10 10000 100000 1000000" ADD_N=10000 ADD6_N=1000 \
		REPLACE_N=500000 IMPORT_N=1000000
	# Two IPv6 tables of 2500 sharing 1024 fit while both are in place.
	SCALE6="10 1000 5000" REPLACE6_N=2500 INTERNAL6="10 1000 5000"
	# Room for 1M routes: 918 MiB for the two route tables (dp_route.c).
	MAX_ROUTES=1048576 ROUTES_MEM="-m 1536"
fi
OUT=${OUT:-$BUILD/bench-routes.json}
[[ "$EAL_MEM" != *--no-huge* ]] || fail "vhost-user needs hugepages"
API="python3 $top/tools/bench/plapi.py $WORK/node.sock"

"$BUILD/dataplane/bench/plroute" $INTERNAL >"$WORK/plroute.jsonl" || fail "plroute failed"
"$BUILD/dataplane/bench/plroute" --ipv6 $INTERNAL6 >"$WORK/plroute6.jsonl" || fail "plroute --ipv6 failed"

EAL_MEM=$ROUTES_MEM
POD_CIDR6=fd00:10:96:f3::/64 podlane_pair 1 '"max_request_mb": 128, "max_routes": '"$MAX_ROUTES"', "import_table": 100,'
# table FILE N SHIFT: N /24s in 16.0.0.0/4 towards pod B; routes below
# 1024 (the ones steady traffic uses) are in every table, the rest start
# at SHIFT, so two tables with different SHIFTs share only those.
table() {
	python3 - "$@" "$P1" <<-'PY'
	import json, sys
	out, n, shift, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
	idx = list(range(min(n, 1024))) + list(range(1024 + shift, 1024 + shift + max(n - 1024, 0)))
	routes = [{"prefix": "%d.%d.%d.0/24" % (16 + (i >> 16), (i >> 8) & 255, i & 255), "dev": port}
	          for i in idx]
	json.dump({"origin": "bench", "routes": routes}, open(out, "w"))
	PY
}
# table6 FILE N SHIFT: the same with N /64s fd00:16:0:x::/64 (x < 65536).
table6() {
	python3 - "$@" "$P1" <<-'PY'
	import json, sys
	out, n, shift, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
	idx = list(range(min(n, 1024))) + list(range(1024 + shift, 1024 + shift + max(n - 1024, 0)))
	routes = [{"prefix": "fd00:16:0:%x::/64" % i, "dev": port} for i in idx]
	json.dump({"origin": "bench", "routes": routes}, open(out, "w"))
	PY
}
stats() { ctl node -o json stats >"$1"; }
# gen_to OUT FLOWS [PLGEN OPTIONS]: A sends to FLOWS routes, B only receives.
gen_to() {
	local out=$1 flows=$2; shift 2
	# 4096-descriptor rings: the generator shares its core with podlaned's
	# control thread, which parses the big tables; 1024 descriptors (2 ms
	# at 0.5 Mpps) could overflow while it is descheduled.
	plgen "$out" --seconds "$SECS" --warmup 1 --size 64 --stride 256 --ring 4096 "$@" \
		--port "$M0,$G0,$A,16.0.0.9,$flows" --port "$M1,$G1,$B,16.0.0.0,0" -- \
		"path=$S0,mac=$M0,queue_size=4096" "path=$S1,mac=$M1,queue_size=4096"
}
# gen_to6 OUT FLOWS [PLGEN OPTIONS]: the same over IPv6, a /64 a flow.
gen_to6() {
	local out=$1 flows=$2; shift 2
	plgen "$out" --seconds "$SECS" --warmup 1 --size 64 --stride 256 --ring 4096 "$@" \
		--port "$M0,$G0,$A6,fd00:16::9,$flows" --port "$M1,$G1,$B6,fd00:16::,0" -- \
		"path=$S0,mac=$M0,queue_size=4096" "path=$S1,mac=$M1,queue_size=4096"
}
ns_per_pkt() { # BEFORE AFTER: worker busy ns per packet received on pod A's port
	python3 - "$1" "$2" "$P0" <<-'PY'
	import json, sys
	a, b = (json.load(open(f)) for f in sys.argv[1:3])
	pk = lambda d: next(p["rx_packets"] for p in d["ports"] if p["name"] == sys.argv[3])
	us = lambda d: sum(w["busy_us"] for w in d["workers"])
	print("%.1f" % ((us(b) - us(a)) * 1000.0 / max(pk(b) - pk(a), 1)))
	PY
}

# scale FAMILY (""|6) SIZES...: forwarding by table size, into scale$F.jsonl.
scale() {
	local f=$1 n t order; shift
	: >"$WORK/scale$f.jsonl"
	for n in "$@"; do
		table$f "$WORK/t.json" "$n" 0
		t=$($API route.replace_all "@$WORK/t.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
		for order in sequential random; do
			stats "$WORK/s0.json"
			gen_to$f "$WORK/g.json" "$n" $([ $order = random ] && echo --random)
			stats "$WORK/s1.json"
			echo "{\"routes\": $n, \"order\": \"$order\", \"install_s\": $t," \
				"\"mpps\": $(jget "$WORK/g.json" 'd["ports"][1]["rx_pps"] / 1e6')," \
				"\"ns_per_packet\": $(ns_per_pkt "$WORK/s0.json" "$WORK/s1.json")}" >>"$WORK/scale$f.jsonl"
		done
	done
	$API route.replace_all '{"origin": "bench", "routes": []}' >/dev/null
}
scale "" $SCALE
scale 6 $SCALE6

# route.add one by one over one connection, then route.del of each, on an
# empty table: each call persists the whole table (routes.json, fsync)
# before it answers, so its cost grows with the table.
$API route.replace_all '{"origin": "bench", "routes": []}' >/dev/null
python3 - "$WORK/node.sock" "$ADD_N" "$P1" "$ADD6_N" >"$WORK/add.json" <<'PY' || fail "route.add run failed"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
n, port = int(sys.argv[2]), sys.argv[3]
def call(i, method, params):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}).encode() + b"\n")
    f.flush()
    r = json.loads(f.readline())
    if "error" in r:
        sys.exit("%s: %s" % (method, r["error"]))
def rates(pfx):
    t = time.monotonic()
    for i, p in enumerate(pfx):
        call(i, "route.add", {"prefix": p, "dev": port})
    add = len(pfx) / (time.monotonic() - t)
    t = time.monotonic()
    for i, p in enumerate(pfx):
        call(i, "route.del", {"prefix": p})
    return {"routes": len(pfx), "add_per_s": round(add), "del_per_s": round(len(pfx) / (time.monotonic() - t))}
r = rates(["10.%d.%d.0/24" % (i >> 8, i & 255) for i in range(n)])
# IPv6 /64s: fewer (the tables' room, dataplane/include/dp.h).
r["ipv6"] = rates(["fd00:10:0:%x::/64" % i for i in range(int(sys.argv[4]))])
print(json.dumps(r))
PY

# The kernel table a BGP daemon fills (import_table): IMPORT_N /24s added
# by one `ip -batch` (as fast as BIRD's kernel protocol could), then the
# table flushed (a storm of deletions); seconds until podlaned holds them
# all, then none. The kernel's own time is printed beside it.
$API route.replace_all '{"origin": "bench", "routes": []}' >/dev/null
python3 - "$WORK/node.sock" "$IMPORT_N" >"$WORK/import.json" <<'PY' || fail "kernel table import failed"
import json, socket, subprocess, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
n = int(sys.argv[2])
def routes():
    f.write(b'{"jsonrpc": "2.0", "id": 1, "method": "node.info"}\n'); f.flush()
    return json.loads(f.readline())["result"]["routes"]
def until(want, limit=120):
    t = time.monotonic()
    while routes() != want:
        if time.monotonic() - t > limit:
            sys.exit("podlaned holds %d routes, not %d, after %d s" % (routes(), want, limit))
        time.sleep(0.02)
def kernel_routes():
    out = subprocess.run(["ip", "-n", "node", "route", "show", "table", "100"], capture_output=True, check=True)
    return out.stdout.count(b"\n")
base = routes()
lines = "".join("route add %d.%d.%d.0/24 via 172.31.102.1 table 100\n" % (16 + (i >> 16), (i >> 8) & 255, i & 255)
                for i in range(n)).encode()
t = time.monotonic()
subprocess.run(["ip", "-n", "node", "-batch", "-"], input=lines, stdout=subprocess.DEVNULL, check=True)
kernel_add = time.monotonic() - t
until(base + n)
add = time.monotonic() - t
t = time.monotonic()
# flush gives up ("Flush terminated") when the table keeps changing under
# its dump: again until the table is empty.
while subprocess.run(["ip", "-n", "node", "route", "flush", "table", "100"],
                     stdout=subprocess.DEVNULL).returncode != 0 or kernel_routes():
    pass
kernel_del = time.monotonic() - t
until(base)
print(json.dumps({"routes": n, "kernel_add_s": kernel_add, "mirrored_s": add,
                  "kernel_flush_s": kernel_del, "unmirrored_s": time.monotonic() - t}))
PY

# Replace the whole table twice under a steady 0.5 Mpps (nothing may be
# lost), then at full load (the rate while replacing); IPv4, then IPv6.
# under_load FAMILY (""|6) N: writes r1 r2 steady still full (.json) and
# churn_drops (podlaned's drops, the generator's rx ring full), each with
# FAMILY after its name.
under_load() {
	local f=$1 n=$2 drops rx_full
	table$f "$WORK/ta.json" "$n" 0
	table$f "$WORK/tb.json" "$n" "$n"
	replace_twice() {
		sleep 1
		$API route.replace_all "@$WORK/tb.json" >"$WORK/r1$f.json"
		$API route.replace_all "@$WORK/ta.json" >"$WORK/r2$f.json"
	}
	churn_run() { # OUT RATE-OPTIONS...: plgen for as long as two replacements take
		local out=$1; shift
		SECS=$(python3 -c "print(max(3, 2 * $(jget "$WORK/r1$f.json" 'd["seconds"]' 2>/dev/null || echo 1) + 2))")
		stats "$WORK/c0.json"
		gen_to$f "$out" 1024 --random "$@" &
		local gen=$!
		echo $gen >"$WORK/churn-gen.pid"
		at_exit "stop_pid $WORK/churn-gen.pid" # a failed replacement leaves it waiting
		replace_twice
		wait $gen || fail "generator failed"
		rm -f "$WORK/churn-gen.pid"
		stats "$WORK/c1.json"
	}
	$API route.replace_all "@$WORK/tb.json" >"$WORK/r1$f.json" # first timing, for SECS
	$API route.replace_all "@$WORK/ta.json" >/dev/null
	churn_run "$WORK/steady$f.json" --rate 500000
	# podlaned's drops meanwhile: for want of a route (or anything else the
	# table decides) vs because the generator's rx ring was full (tx_full).
	python3 -c '
import json, sys
a, b = (json.load(open(f))["drops"] for f in sys.argv[1:3])
d = {k: b[k] - a[k] for k in b}
print(json.dumps({"drops": sum(d.values()) - d["tx_full"], "rx_full": d["tx_full"]}))' \
		"$WORK/c0.json" "$WORK/c1.json" >"$WORK/churn_drops$f.json"
	local secs_steady=$SECS
	SECS=$secs_steady gen_to$f "$WORK/still$f.json" 1024 --random
	churn_run "$WORK/full$f.json"
	$API route.replace_all '{"origin": "bench", "routes": []}' >/dev/null
}
under_load "" "$REPLACE_N"
under_load 6 "$REPLACE6_N"

python3 - "$OUT" "$WORK" "$REPLACE_N" "$REPLACE6_N" <<'PY'
import json, sys
out, work, replace_n, replace6_n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rd = lambda f: json.load(open(work + "/" + f))
internal = [json.loads(l) for l in open(work + "/plroute.jsonl")]
def under_load(f, n):
    steady, c = rd("steady%s.json" % f)["ports"], rd("churn_drops%s.json" % f)
    return {"routes": n, "seconds": [rd("r1%s.json" % f)["seconds"], rd("r2%s.json" % f)["seconds"]],
            "offered_pps": 500000, "sent": steady[0]["tx_total"], "received": steady[1]["rx_total"],
            "lost": steady[0]["tx_total"] - steady[1]["rx_total"], "podlaned_drops": c["drops"],
            "generator_rx_full": c["rx_full"],
            "mpps_full_load_replacing": rd("full%s.json" % f)["ports"][1]["rx_pps"] / 1e6,
            "mpps_full_load_still": rd("still%s.json" % f)["ports"][1]["rx_pps"] / 1e6}
res = {
    "internal": internal,
    "forwarding_by_table_size": [json.loads(l) for l in open(work + "/scale.jsonl")],
    "api_route_add": rd("add.json"),
    "kernel_import": rd("import.json"),
    "replace_under_load": under_load("", replace_n),
    "ipv6": {"internal": [json.loads(l) for l in open(work + "/plroute6.jsonl")],
             "forwarding_by_table_size": [json.loads(l) for l in open(work + "/scale6.jsonl")],
             "replace_under_load": under_load("6", replace6_n)},
}
res["api_replace_all"] = {"routes": replace_n, "seconds": res["replace_under_load"]["seconds"]}
json.dump(res, open(out, "w"), indent=1)
for what, rows in (("/24s", internal), ("IPv6 /64s", res["ipv6"]["internal"])):
    print("Route table, dataplane interface (plroute: %s, 32 lookups per call)" % what)
    print("| routes | adds/s | deletes/s | one by one/s | lookup cycles in order | lookup cycles random |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.0f | %.0f | %.0f | %.2f | %.2f |" % (r["routes"], r["add_per_s"], r["del_per_s"],
              r["one_by_one_per_s"], r["lookup_cycles_sequential"], r["lookup_cycles_random"]))
def by_size(scale, what):
    print("\npodlaned forwarding by table size (%s, 64 B, one destination per route, 1 worker)" % what)
    print("| routes | install (replace_all) s | Mpps in order | Mpps random | ns/packet in order | ns/packet random |")
    print("|---|---|---|---|---|---|")
    for n in sorted({r["routes"] for r in scale}):
        s, r = (next(x for x in scale if x["routes"] == n and x["order"] == o) for o in ("sequential", "random"))
        print("| %d | %.2f | %.2f | %.2f | %.1f | %.1f |" % (n, s["install_s"], s["mpps"], r["mpps"],
              s["ns_per_packet"], r["ns_per_packet"]))
by_size(res["forwarding_by_table_size"], "IPv4 /24s")
by_size(res["ipv6"]["forwarding_by_table_size"], "IPv6 /64s")
a = res["api_route_add"]
print("\nAPI: route.add %d/s, route.del %d/s (one by one, one connection); IPv6 /64s: %d/s, %d/s"
      % (a["add_per_s"], a["del_per_s"], a["ipv6"]["add_per_s"], a["ipv6"]["del_per_s"]))
k = res["kernel_import"]
print("Kernel table (import_table): %d routes added by ip -batch in %.2f s, all mirrored after %.2f s; "
      "flushed in %.2f s, all gone after %.2f s" % (k["routes"], k["kernel_add_s"], k["mirrored_s"],
                                                    k["kernel_flush_s"], k["unmirrored_s"]))
for what, u in (("IPv4", res["replace_under_load"]), ("IPv6", res["ipv6"]["replace_under_load"])):
    print("%s: route.replace_all of %d routes: %s s; two full replacements under 0.5 Mpps: %d sent, %d received, "
          "%d lost (%d dropped by podlaned's forwarding, %d at the generator's full rx ring); full load %.2f Mpps "
          "while replacing vs %.2f still" % (what, u["routes"], " and ".join("%.2f" % t for t in u["seconds"]),
          u["sent"], u["received"], u["lost"], u["podlaned_drops"], u["generator_rx_full"],
          u["mpps_full_load_replacing"], u["mpps_full_load_still"]))
for r in res["forwarding_by_table_size"] + res["ipv6"]["forwarding_by_table_size"]:
    assert r["mpps"] > 0 and r["ns_per_packet"] > 0, r
for u in (res["replace_under_load"], res["ipv6"]["replace_under_load"]):
    assert u["sent"] > 0, "no steady traffic"
    # The table replacement itself must lose nothing; a generator that was
    # descheduled long enough to overflow its ring is not podlaned's loss,
    # but every lost packet must be one of those.
    assert u["podlaned_drops"] == 0, "podlaned dropped %d packets while replacing the table" % u["podlaned_drops"]
    assert u["lost"] == u["generator_rx_full"], "%d packets vanished while replacing the table" % (
        u["lost"] - u["generator_rx_full"])
PY
