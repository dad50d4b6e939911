#!/usr/bin/env bash
# A real container runtime as CNI client: podman 4.3 (Debian, libcni 1.1.2)
# with the CNI backend runs busybox containers on a podlane network.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
command -v podman >/dev/null && command -v runc >/dev/null && [ -x /bin/busybox ] ||
	fail "podman, runc and busybox-static are needed (tools/deps.sh installs them)"

fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 1
NODE_NETNS=/run/netns/node

mkdir -p "$WORK/cni" "$WORK/rootfs/bin" "$WORK/rootfs/tmp" "$WORK/rootfs/etc"
cat >"$WORK/cni/plnet.conflist" <<CONF
{"cniVersion": "1.0.0", "cniVersions": ["1.0.0", "1.1.0"], "name": "plnet",
 "plugins": [{"type": "podlane", "socket": "$WORK/node.sock", "mtu": 1400},
             {"type": "tuning", "sysctl": {"net.core.somaxconn": "321"}, "mtu": 1300},
             {"type": "portmap", "capabilities": {"portMappings": true}}]}
CONF
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = []
[network]
network_backend = "cni"
cni_plugin_dirs = ["$BUILD/cni", "/usr/lib/cni"]
network_config_dir = "$WORK/cni"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$WORK/containers.conf
pm() { podman --root "$WORK/storage" --runroot "$WORK/runroot" --tmpdir "$WORK/tmp" "$@"; }
at_exit "podman --root $WORK/storage --runroot $WORK/runroot --tmpdir $WORK/tmp rm -af -t 0"

# No registry here: a busybox-static rootfs, imported.
cp /bin/busybox "$WORK/rootfs/bin/"
for t in sh ping nc sleep cat ip netstat hostname; do ln -s busybox "$WORK/rootfs/bin/$t"; done
tar -C "$WORK/rootfs" -c . | pm import - localhost/plbusybox >/dev/null

pm run -d --name c1 --network plnet localhost/plbusybox sleep 600 >/dev/null
pm run -d --name c2 --network plnet localhost/plbusybox sleep 600 >/dev/null
ip1=$(pm inspect -f '{{(index .NetworkSettings.Networks "plnet").IPAddress}}' c1)
ip2=$(pm inspect -f '{{(index .NetworkSettings.Networks "plnet").IPAddress}}' c2)
[ "$ip1" = 100.96.243.1 ] && [ "$ip2" = 100.96.243.2 ] || fail "container IPs $ip1 $ip2"
ok "two containers on the podlane network: $ip1 $ip2"
[ "$(pm exec c1 cat /proc/sys/net/core/somaxconn)" = 321 ] || fail "tuning after podlane did not apply"
pm exec c1 ip link show eth0 | grep "mtu 1300 " >/dev/null || fail "tuning's mtu not applied"
# podlane gave 1400, tuning then 1300: podlaned follows what the pod has.
pod_mtu_is() { ctl node -o json pod list | python3 -c 'import json,sys
sys.exit(0 if [p["mtu"] for p in json.load(sys.stdin) if p["ip"] == sys.argv[1] + "/32"] == [1300] else 1)' "$1"; }
wait_for 5 pod_mtu_is "$ip1" || fail "podlaned did not follow tuning's MTU: $(ctl node pod list)"
ok "conflist chain podlane (mtu 1400) -> tuning (mtu 1300) -> portmap works; podlaned follows tuning's MTU"

pm exec c1 ping -c 1 -W 2 "$ip2" >/dev/null || fail "c1 cannot ping c2"
pm exec c2 ping -c 1 -W 2 "$ip1" >/dev/null || fail "c2 cannot ping c1"
pm exec c1 ping -c 1 -W 2 172.31.102.105 >/dev/null || fail "c1 cannot ping the node"
ok "containers ping each other and the node"

# Both ends keep stdin open a while, so the connection stays up to be seen
# (each podman exec takes a second or more on a busy machine).
pm exec -d c2 sh -c 'sleep 20 | nc -l -p 5000' >/dev/null || fail "cannot start a listener in c2"
wait_for 5 pm exec c2 sh -c 'netstat -ltn | grep :5000' || { pm exec c2 netstat -ltn; pm exec c2 ps; fail "no listener in c2"; }
pm exec c1 sh -c "sleep 10 | nc $ip2 5000" &
client=$!
wait_for 10 pm exec c2 sh -c "netstat -tn | grep ESTABLISHED" || fail "no connection from c1 seen in c2"
seen=$(pm exec c2 netstat -tn | awk '/ESTABLISHED/ {print $4, $5}' | sed 's/::ffff://g')
wait $client || true
[ "${seen%%:*}" = "$ip2" ] && grep "$ip1:" >/dev/null <<<"$seen" || fail "c2 saw connection '$seen', expected $ip2 <- $ip1"
ok "TCP c1 -> c2: c2 sees $seen (own address, peer's pod address)"

pm rm -f -t 0 c2 >/dev/null
ctl node route list | grep "^$ip2/32" >/dev/null && fail "route to removed c2 is still there"
pm run -d --name c3 --network plnet localhost/plbusybox sleep 600 >/dev/null
ip3=$(pm inspect -f '{{(index .NetworkSettings.Networks "plnet").IPAddress}}' c3)
[ "$ip3" = "$ip2" ] || fail "c3 got $ip3, expected the released $ip2"
ok "podman rm released $ip2 and c3 reused it"

stop_pid "$WORK/node.pid"
out=$(pm run --rm --name c4 --network plnet localhost/plbusybox true 2>&1) && fail "podman run worked without podlaned"
grep "podlaned is not reachable; try again later" >/dev/null <<<"$out" ||
	fail "unclear error with podlaned down: $out"
ok "podman run with podlaned stopped fails clearly: $(echo "$out" | tail -1)"
echo "podman: all passed"
