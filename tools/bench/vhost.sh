#!/usr/bin/env bash
# vhost-user pod -> router -> vhost-user pod, side by side in one run:
# podlaned (1 worker), OVS-DPDK doing the same L3 job with OpenFlow rules
# (MAC rewrite, dec_ttl) and testpmd io-forward (the ceiling: no lookup,
# no rewrite). The generator (tools/bench/plgen, core 0) owns two
# virtio_user ports in server mode; each router (core 1) connects to them
# as vhost-user client. Both directions, FLOWS destinations each.
#
#   tools/bench/vhost.sh [--quick]     (needs hugepages; run as root)
#
# Prints a table with Mpps and the ratios; writes $OUT (JSON).
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${PL_ISOLATED:-}" ]; then # once, before isolating: packages, build, hugepages
	"$top/tools/deps.sh" openvswitch-switch-dpdk
	export PODLANE_BUILD=${PODLANE_BUILD:-$top/build-release}
	[ -d "$PODLANE_BUILD" ] || meson setup "$PODLANE_BUILD" -Dbuildtype=release >/dev/null
	ninja -C "$PODLANE_BUILD" >/dev/null
	[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 1024 ] || echo 1024 >/proc/sys/vm/nr_hugepages
	mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
	export PODLANE_EAL_MEM=${PODLANE_EAL_MEM:--m 256}
fi
. "$top/tests/e2e/lib/common.sh"
isolate "$@"
QUICK=0; [ "${1:-}" = --quick ] && QUICK=1
SECS=${SECS:-$([ $QUICK = 1 ] && echo 3 || echo 10)}
SIZES=${SIZES:-$([ $QUICK = 1 ] && echo 64 || echo "64 1500")}
FLOWS=${FLOWS:-1024}
OUT=${OUT:-$BUILD/bench-vhost.json}
PLGEN=$BUILD/tools/plgen
[[ "$EAL_MEM" != *--no-huge* ]] || fail "vhost-user needs hugepages (tools/test.sh or RECIPES.md)"
for t in dpdk-testpmd ovs-vsctl "$PLGEN"; do command -v "$t" >/dev/null || fail "$t missing (tools/deps.sh)"; done
D=$WORK

gen() { # gen SIZE SOCK0 MAC0 GW0 SRC0 DST0 SOCK1 MAC1 GW1 SRC1 DST1 -> rx pps sum
	local size=$1; shift
	"$PLGEN" --lcores=0@0 --no-pci -m 256 --single-file-segments --file-prefix "pl-gen-$$" \
		--vdev="virtio_user0,path=$1,server=1,queues=1,mac=$2" \
		--vdev="virtio_user1,path=$6,server=1,queues=1,mac=$7" -- \
		--seconds "$SECS" --warmup 2 --size "$size" --flows "$FLOWS" \
		--port "$2,$3,$4,$5" --port "$7,$8,$9,${10}" 2>"$WORK/gen.log" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(p["rx_pps"] for p in d["ports"]))'
}

declare -A RES
M0=0a:58:64:60:f3:01 M1=0a:58:64:60:f3:02

# --- podlaned: two vhost-user pods, a /16 behind each.
fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 1 '"vhost_dir": "'"$D"'/vh",'
netns_add pv
ctl node pod add g0 /run/netns/pv eth0 vhost-user >/dev/null
ctl node pod add g1 /run/netns/pv eth1 vhost-user >/dev/null
fact() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$D/vh/$1.json" "$2"; }
G0=$(fact g0-eth0 gateway_mac) G1=$(fact g1-eth1 gateway_mac)
A=$(fact g0-eth0 ip) B=$(fact g1-eth1 ip)
[ "$(fact g0-eth0 mac)" = $M0 ] && [ "$(fact g1-eth1 mac)" = $M1 ] || fail "unexpected pod MACs"
ctl node route add 100.97.0.0/16 dev net_vhost_p243_2 >/dev/null
ctl node route add 100.98.0.0/16 dev net_vhost_p243_1 >/dev/null
for s in $SIZES; do
	RES[podlane,$s]=$(gen "$s" "$D/vh/g0-eth0.sock" $M0 "$G0" "$A" 100.97.0.0 \
		"$D/vh/g1-eth1.sock" $M1 "$G1" "$B" 100.98.0.0)
done
drops=$(ctl node -o json stats | python3 -c 'import json,sys; d=json.load(sys.stdin)["drops"]; print(sum(d.values()))')
stop_pid "$WORK/node.pid"

# --- testpmd io-forward: the ceiling.
for s in $SIZES; do
	dpdk-testpmd --lcores=0@1,1@1 --no-pci -m 256 --file-prefix "pl-io-$$" \
		--vdev="net_vhost0,iface=$D/t0.sock,client=1" --vdev="net_vhost1,iface=$D/t1.sock,client=1" \
		-- --forward-mode=io --auto-start --stats-period 60 >"$WORK/io.log" 2>&1 &
	echo $! >"$WORK/io.pid"
	at_exit "stop_pid $WORK/io.pid"
	RES[io,$s]=$(gen "$s" "$D/t0.sock" $M0 02:00:00:00:00:01 "$A" 100.97.0.0 \
		"$D/t1.sock" $M1 02:00:00:00:00:02 "$B" 100.98.0.0)
	stop_pid "$WORK/io.pid"
done

# --- OVS-DPDK: the same L3 job as OpenFlow rules (RECIPES.md).
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
/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk unix:"$D/db.sock" --pidfile="$D/vsw.pid" --detach \
	--log-file="$D/vsw.log" --unixctl="$D/vsw.ctl"
at_exit "stop_pid $D/vsw.pid"
$OV add-br br0 -- set bridge br0 datapath_type=netdev
$OV add-port br0 vu0 -- set Interface vu0 type=dpdkvhostuserclient options:vhost-server-path="$D/o0.sock" ofport_request=1
$OV add-port br0 vu1 -- set Interface vu1 type=dpdkvhostuserclient options:vhost-server-path="$D/o1.sock" ofport_request=2
ovs-ofctl del-flows br0
ovs-ofctl add-flow br0 "in_port=1,ip,actions=mod_dl_src:02:00:00:00:00:02,mod_dl_dst:$M1,dec_ttl,output:2"
ovs-ofctl add-flow br0 "in_port=2,ip,actions=mod_dl_src:02:00:00:00:00:01,mod_dl_dst:$M0,dec_ttl,output:1"
for s in $SIZES; do
	RES[ovs,$s]=$(gen "$s" "$D/o0.sock" $M0 02:00:00:00:00:01 "$A" 100.97.0.0 \
		"$D/o1.sock" $M1 02:00:00:00:00:02 "$B" 100.98.0.0)
done

python3 - "$OUT" "$SECS" "$FLOWS" "$drops" "${SIZES}" \
	"$(for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done)" <<'PY'
import json, sys
out, secs, flows, drops, sizes, kv = sys.argv[1:7]
res = {}
for line in kv.split("\n"):
    k, v = line.split("=")
    name, size = k.split(",")
    res.setdefault(size, {})[name] = float(v)
print("vhost-user pod -> router -> pod, both directions, %s flows each, %s s, 1 router core" % (flows, secs))
print("| size | podlane Mpps | OVS-DPDK Mpps | testpmd io Mpps | podlane/OVS | podlane/io |")
print("|---|---|---|---|---|---|")
for s in sizes.split():
    r = res[s]
    print("| %s B | %.2f | %.2f | %.2f | %.2fx | %.2fx |" % (s, r["podlane"] / 1e6, r["ovs"] / 1e6, r["io"] / 1e6,
          r["podlane"] / max(r["ovs"], 1), r["podlane"] / max(r["io"], 1)))
json.dump({"seconds": float(secs), "flows": int(flows), "podlane_drops": int(drops), "results": res},
          open(out, "w"), indent=1)
for s in sizes.split():
    for name, v in res[s].items():
        assert v > 0, "%s moved nothing at %s B" % (name, s)
PY
