#!/usr/bin/env bash
# vhost-user pod -> router -> vhost-user pod, side by side in one run:
# podlaned (1 worker), OVS-DPDK doing the same L3 job with OpenFlow rules
# (MAC rewrite, dec_ttl) and testpmd io-forward (the ceiling: no lookup,
# no rewrite). The generator (tools/bench/plgen, core 0) owns two
# virtio_user ports in server mode; each router (core 1) connects to them
# as vhost-user client. Both directions, FLOWS (lib.sh) destinations each,
# a /16 route behind each pod. The three take turns for ROUNDS rounds (these
# VMs' speed drifts within minutes): each ratio is the median of the
# rounds' ratios.
#
#   tools/bench/vhost.sh [--quick]     (needs hugepages; run as root)
#
# Prints a table with Mpps and the ratios; writes $OUT (JSON).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start openvswitch-switch-dpdk -- "$@"
SECS=${SECS:-$([ $QUICK = 1 ] && echo 2 || echo 10)}
SIZES=${SIZES:-$([ $QUICK = 1 ] && echo 64 || echo "64 1500")}
ROUNDS=${ROUNDS:-$([ $QUICK = 1 ] && echo 1 || echo 3)}
OUT=${OUT:-$BUILD/bench-vhost.json}
[[ "$EAL_MEM" != *--no-huge* ]] || fail "vhost-user needs hugepages (tools/test.sh or RECIPES.md)"
for t in dpdk-testpmd ovs-vsctl "$BUILD/tools/plgen"; do command -v "$t" >/dev/null || fail "$t missing (tools/deps.sh)"; done
D=$WORK

gen() { # SIZE SOCK0 GW0 SOCK1 GW1 -> forwarded pps, both directions
	plgen "$WORK/gen.json" $(gen_args "$1" "$3" "$5") -- "path=$2,mac=$M0" "path=$4,mac=$M1"
	jget "$WORK/gen.json" 'sum(p["rx_pps"] for p in d["ports"])'
}

declare -A RES
# --- podlaned: two vhost-user pods, a /16 behind each; stays up between
# its turns (idle workers sleep).
podlane_pair 1
ctl node route add 100.97.0.0/16 dev "$P1" >/dev/null
ctl node route add 100.98.0.0/16 dev "$P0" >/dev/null
run_podlane() { RES[podlane,$1,$R]=$(gen "$1" "$S0" "$G0" "$S1" "$G1"); }

# --- testpmd io-forward: the ceiling.
run_io() {
	dpdk-testpmd --lcores=0@1,1@1 --no-pci -m 256 --file-prefix "pl-io-$$" \
		--vdev="net_vhost0,iface=$D/t0.sock,client=1" --vdev="net_vhost1,iface=$D/t1.sock,client=1" \
		-- --forward-mode=io --auto-start --stats-period 60 >"$WORK/io.log" 2>&1 &
	echo $! >"$WORK/io.pid"
	at_exit "stop_pid $WORK/io.pid"
	RES[io,$1,$R]=$(gen "$1" "$D/t0.sock" 02:00:00:00:00:01 "$D/t1.sock" 02:00:00:00:00:02)
	stop_pid "$WORK/io.pid"
}

# --- OVS-DPDK: the same L3 job as OpenFlow rules (RECIPES.md). Its PMD
# thread polls even when idle, so ovs-vswitchd runs only for its turns.
# OVS puts bridge sockets in /run/openvswitch: a private one.
mkdir -p /run/openvswitch && mount -t tmpfs pl-ovs /run/openvswitch
OV="ovs-vsctl --db=unix:$D/db.sock"
ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$D/conf.db" --remote=punix:"$D/db.sock" --pidfile="$D/ovsdb.pid" --detach \
	--log-file="$D/ovsdb.log" --unixctl="$D/ovsdb.ctl"
at_exit "stop_pid $D/ovsdb.pid"
$OV --no-wait init
$OV --no-wait set Open_vSwitch . other_config:dpdk-init=true \
	other_config:dpdk-extra="--no-pci --file-prefix pl-ovs-$$" other_config:dpdk-socket-mem=256 \
	other_config:pmd-cpu-mask=0x2 other_config:dpdk-lcore-mask=0x1
$OV --no-wait add-br br0 -- set bridge br0 datapath_type=netdev
$OV --no-wait add-port br0 vu0 -- set Interface vu0 type=dpdkvhostuserclient options:vhost-server-path="$D/o0.sock" ofport_request=1
$OV --no-wait add-port br0 vu1 -- set Interface vu1 type=dpdkvhostuserclient options:vhost-server-path="$D/o1.sock" ofport_request=2
run_ovs() {
	/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk unix:"$D/db.sock" --pidfile="$D/vsw.pid" --detach \
		--log-file="$D/vsw.log" --unixctl="$D/vsw.ctl"
	at_exit "stop_pid $D/vsw.pid"
	wait_for 30 ovs-ofctl show br0 || fail "ovs-vswitchd did not bring br0 up: $(tail -5 "$D/vsw.log")"
	# Flows live in ovs-vswitchd, not in the database: every start.
	ovs-ofctl del-flows br0
	ovs-ofctl add-flow br0 "in_port=1,ip,actions=mod_dl_src:02:00:00:00:00:02,mod_dl_dst:$M1,dec_ttl,output:2"
	ovs-ofctl add-flow br0 "in_port=2,ip,actions=mod_dl_src:02:00:00:00:00:01,mod_dl_dst:$M0,dec_ttl,output:1"
	RES[ovs,$1,$R]=$(gen "$1" "$D/o0.sock" 02:00:00:00:00:01 "$D/o1.sock" 02:00:00:00:00:02)
	stop_pid "$D/vsw.pid"
}

for R in $(seq "$ROUNDS"); do
	for s in $SIZES; do run_podlane "$s"; run_io "$s"; run_ovs "$s"; done
done
drops=$(ctl node -o json stats | python3 -c 'import json,sys; d=json.load(sys.stdin)["drops"]; print(sum(d.values()))')

python3 - "$OUT" "$SECS" "$FLOWS" "$drops" "$SIZES" "$ROUNDS" \
	"$(for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done)" <<'PY'
import json, statistics, sys
out, secs, flows, drops, sizes, rounds, kv = sys.argv[1:8]
res = {}  # size -> name -> [pps per round]
for line in kv.split("\n"):
    k, v = line.split("=")
    name, size, r = k.split(",")
    res.setdefault(size, {}).setdefault(name, [0.0] * int(rounds))[int(r) - 1] = float(v or 0)
med = statistics.median
ratio = lambda r, a, b: med(x / max(y, 1) for x, y in zip(r[a], r[b]))
print("vhost-user pod -> router -> pod, both directions, %s flows each, %s s x %s rounds, 1 router core"
      % (flows, secs, rounds))
print("| size | podlane Mpps | OVS-DPDK Mpps | testpmd io Mpps | podlane/OVS | podlane/io |")
print("|---|---|---|---|---|---|")
summary = {}
for s in sizes.split():
    r = res[s]
    m = {name: med(v) for name, v in r.items()}
    summary[s] = dict(m, podlane_per_ovs=ratio(r, "podlane", "ovs"), podlane_per_io=ratio(r, "podlane", "io"))
    print("| %s B | %.2f | %.2f | %.2f | %.2fx | %.2fx |" % (s, m["podlane"] / 1e6, m["ovs"] / 1e6, m["io"] / 1e6,
          summary[s]["podlane_per_ovs"], summary[s]["podlane_per_io"]))
print("(medians over the rounds; a ratio is the median of the rounds' ratios)")
json.dump({"seconds": float(secs), "flows": int(flows), "rounds": int(rounds), "podlane_drops": int(drops),
           "results": summary, "per_round": res}, open(out, "w"), indent=1)
for s in sizes.split():
    for name, v in res[s].items():
        assert min(v) > 0, "%s moved nothing at %s B" % (name, s)
PY
