# Shared by the e2e tests (and tools/demo.sh): isolation, cleanup, daemons.
# Each test re-executes itself under `unshare --net --mount` with private
# tmpfs on /run/netns and /run/dpdk, so its namespaces, DPDK runtime files
# and hugepage files can never collide with the host's or leak, even when
# it is killed. Every helper that creates something registers its undo.

set -euo pipefail

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=${PODLANE_BUILD:-$E2E_TOP/build}
PODLANED=$BUILD/control/podlaned
PODLANECTL=$BUILD/tools/podlanectl
EAL_MEM=${PODLANE_EAL_MEM:---no-huge -m 512}

isolate() { # re-exec the calling script in private namespaces
	if [ -z "${PL_ISOLATED:-}" ]; then
		export PL_ISOLATED=1
		exec unshare --net --mount --propagation private -- bash ${PL_TRACE:+-x} "$0" "$@"
	fi
	mkdir -p /run/netns /run/dpdk
	mount -t tmpfs pl-netns /run/netns
	mount -t tmpfs pl-dpdk /run/dpdk
	if mountpoint -q /dev/hugepages; then mount -t hugetlbfs pl-huge /dev/hugepages; fi
	ip link set lo up
	WORK=$(mktemp -d /tmp/podlane-e2e.XXXXXX)
	CLEANUP=$WORK/cleanup
	: >"$CLEANUP"
	trap on_exit EXIT
	# Killed (timeout, Ctrl-C): still run on_exit, so nothing is left behind.
	trap 'exit 143' TERM
	trap 'exit 130' INT
}

at_exit() { echo "$*" >>"$CLEANUP"; }

on_exit() {
	local rc=$?
	set +e
	if [ $rc -ne 0 ]; then
		echo "--- test failed (rc $rc): daemon state"
		for s in "$WORK"/*.sock; do
			[ -S "$s" ] || continue
			echo "## $s"; "$PODLANECTL" -s "$s" stats 2>&1; "$PODLANECTL" -s "$s" route list 2>&1
		done
		for l in "$WORK"/*.log; do echo "## $l"; tail -30 "$l"; done
	fi
	# podlaned's fd keepers (they outlive podlaned on purpose), before the
	# registered undos unmount what may hold their pid files; the podlaneds
	# (start_node's NAME.pid beside NAME.json) first, or one would start a
	# keeper anew (ctl_keeper_watch), and a keeper left keeps this test's
	# hugepage files (its mount namespace) for a minute.
	for f in "$WORK"/*.json; do [ -f "${f%.json}.pid" ] && stop_pid "${f%.json}.pid"; done
	for f in "$WORK"/*/keeper.pid; do [ -f "$f" ] && stop_pid "$f"; done
	tac "$CLEANUP" | while read -r cmd; do eval "$cmd" >/dev/null 2>&1; done
	# Whatever is still mounted below WORK (podman's overlay driver keeps
	# mounts on its own dirs) would make rm -rf fail: unmount, deepest first.
	awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf "$WORK"
	exit $rc
}

# stop_pid PIDFILE: SIGTERM, up to 10 s to exit, then SIGKILL. Only our own.
stop_pid() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
}

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

netns_add() { ip netns add "$1"; at_exit "ip netns del $1"; ip -n "$1" link set lo up; }

# wait_for DEADLINE_S CMD... : poll until CMD succeeds (never a blind sleep).
# A deadline guards against a hang, it does not measure speed: a condition
# that holds returns at once, so deadlines are stretched PL_TIME_SCALE
# times (default 3) for the ASan build on a busy machine.
has_line() { [ -n "$(sed -n "$1p" "$2")" ]; } # has_line N FILE (for wait_for)
wait_for() {
	local end=$((SECONDS + $1 * ${PL_TIME_SCALE:-3})); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# start_node NAME NODE_IP/LEN POD_CIDR [WORKERS [EXTRA_JSON_KEYS]]: a node
# netns with an uplink veth into the fabric netns "fab", and podlaned on it.
# UPLINK: the config's uplink on the node's veth up0; podlaned's own packet
# socket unless a test wants DPDK's af_packet PMD (e.g. to capture on it).
json_dual() { [[ "$1" == *,* ]] && echo "[\"${1/,/\", \"}\"]" || echo "\"$1\""; }
start_node() {
	local name=$1 ip=$2 cidr=$3 workers=${4:-2} extra=${5:-}
	# "V4,V6": a dual-stack node_ip or pod_cidr, as a list
	ip=$(json_dual "$ip") cidr=$(json_dual "$cidr")
	netns_add "$name"
	# UPLINK_QUEUES: the veth's queues, both ends (net_af_xdp serves queue 0)
	local q=${UPLINK_QUEUES:+numtxqueues $UPLINK_QUEUES numrxqueues $UPLINK_QUEUES}
	ip link add "u-$name" $q type veth peer name "f-$name" $q
	ip link set "u-$name" netns "$name"
	ip link set "f-$name" netns fab
	ip -n "$name" link set "u-$name" name up0
	if [ -n "${UPLINK_MTU:-}" ]; then # the node network's MTU, both ends
		ip -n "$name" link set up0 mtu "$UPLINK_MTU"
		ip -n fab link set "f-$name" mtu "$UPLINK_MTU"
	fi
	ip -n "$name" link set up0 up
	ip -n fab link set "f-$name" master br0 up
	local sock=$WORK/$name.sock
	# vhost-user files stay inside WORK too (the default is /run/podlane/vhost).
	[[ "$extra" == *'"vhost_dir"'* ]] || extra="\"vhost_dir\": \"$WORK/$name.vhost\", $extra"
	cat >"$WORK/$name.json" <<-CFG
	{"node_ip": $ip, "pod_cidr": $cidr, "uplink": "${UPLINK:-af_packet:up0}",
	 "socket": "$sock", "state_dir": "$WORK/$name.state", "workers": $workers, $extra
	 "eal": [$(printf '"%s",' $EAL_MEM) "--file-prefix", "pl-$name-$$"]}
	CFG
	ip netns exec "$name" "$PODLANED" --config "$WORK/$name.json" >"$WORK/$name.log" 2>&1 &
	echo $! >"$WORK/$name.pid"
	at_exit "stop_pid $WORK/$name.pid"
	wait_for 30 "$PODLANECTL" -s "$sock" node || { cat "$WORK/$name.log"; fail "podlaned on $name did not become ready"; }
}

# Where UDP datagrams die, as counters: tx_dropped NETNS, what its
# interfaces dropped on transmit (a pod's TAP queue full: a TAP gives its
# sender no backpressure); rcvbuf_errors NETNS, what its UDP sockets
# dropped (a receiver's buffer full); podlaned_lost NODE..., what those
# podlaneds dropped (every reason, and the uplink's rx_missed).
tx_dropped() {
	ip -n "$1" -s -j link show | python3 -c 'import json,sys
print(sum(l["stats64"]["tx"]["dropped"] for l in json.load(sys.stdin) if l["ifname"] != "lo"))'
}
rcvbuf_errors() { ip netns exec "$1" awk '/^Udp:/ && ++n == 2 {print $6}' /proc/net/snmp; }
podlaned_lost() {
	local n sum=0
	for n in "$@"; do
		sum=$((sum + $(ctl "$n" -o json stats | python3 -c 'import json,sys; d=json.load(sys.stdin)
print(sum(d["drops"].values()) + sum(p["rx_missed"] for p in d["ports"] if p["name"].startswith("af_packet")))')))
	done
	echo $sum
}

# launch NODE [ARG...]: podlaned (NEW_BINARY, else the one built) started
# again on NODE's config, in the background, its pid in NODE.pid.
launch() {
	ip netns exec "$1" "${NEW_BINARY:-$PODLANED}" "${@:2}" --config "$WORK/$1.json" >>"$WORK/$1.log" 2>&1 &
	echo $! >"$WORK/$1.pid"
}
# start_again NODE: launched, and back once it serves.
start_again() {
	launch "$1"
	wait_for 30 ctl "$1" node || fail "podlaned on $1 did not come back: $(tail -5 "$WORK/$1.log")"
}
# take_over NODE: launched with --take-over beside the running one, which
# it stops once its own DPDK is up; back once the old one is gone and the
# new one serves.
take_over() {
	local old
	old=$(cat "$WORK/$1.pid")
	launch "$1" --take-over
	wait_for 30 pid_gone "$old" || fail "podlaned $old on $1 still runs 30 s into a take-over"
	wait "$old" 2>/dev/null || true
	wait_for 30 ctl "$1" node || fail "podlaned on $1 did not take over: $(tail -5 "$WORK/$1.log")"
}
pid_gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# restart_node NODE SIGNAL: podlaned on NODE given SIGNAL and, once it is
# gone (as a supervisor would), started again; SIGNAL TAKEOVER: take_over.
# Not in a subshell: podlaned is this shell's child, waited for.
restart_node() {
	local pid
	if [ "$2" = TAKEOVER ]; then
		take_over "$1"
		return
	fi
	pid=$(cat "$WORK/$1.pid")
	kill -"$2" "$pid"
	wait "$pid" 2>/dev/null || true
	start_again "$1"
}

pings_lost() { # PING_OUTPUT SENT: how many ping's summary says were not answered
	echo $(($2 - $(sed -n 's/.*transmitted, \([0-9]*\) received.*/\1/p' "$1")))
}
# restart_under_pings NODE SIGNAL FROM_NS ADDRESS: 300 pings 10 ms apart
# from FROM_NS to ADDRESS while podlaned on NODE gets SIGNAL and starts
# again on its config (restart_node); how many were lost in RESTART_LOST.
restart_under_pings() {
	local pinger
	ip netns exec "$3" ping -i 0.01 -c 300 -W 1 "$4" >"$WORK/restart-ping.out" 2>&1 &
	pinger=$!
	sleep 1
	restart_node "$1" "$2"
	wait $pinger || true
	RESTART_LOST=$(pings_lost "$WORK/restart-ping.out" 300)
}

counter() { # NODE KEY: a top-level number or a drop reason from stats.get
	ctl "$1" -o json stats | python3 -c 'import json,sys; d=json.load(sys.stdin); k=sys.argv[1]
print(d[k] if k in d else d["drops"][k])' "$2"
}

captures() { [ "$(counter "$1" captures)" = "$2" ]; } # NODE N: N captures run there (for wait_for)

no_drops() { # NODE REASON...: podlaned counted none of these drops
	local k
	for k in "${@:2}"; do
		[ "$(counter "$1" "$k")" = 0 ] || fail "podlaned on $1 dropped frames: $k $(counter "$1" "$k")"
	done
}

port_counter() { # NODE PORT KEY...: the port's counters from stats.get, in that order
	ctl "$1" -o json stats | python3 -c 'import json,sys
p = [p for p in json.load(sys.stdin)["ports"] if p["name"] == sys.argv[1]][0]
print(*(p[k] for k in sys.argv[2:]))' "${@:2}"
}

mtu_refused() { # NODE PORT UPLINK_MTU ERROR: podlaned (stopped) refuses to start with it
	local out
	sed -i "s/\"uplink_mtu\": [0-9]*,/\"uplink_mtu\": $3,/" "$WORK/$1.json"
	out=$(ip netns exec "$1" timeout 30 "$PODLANED" --config "$WORK/$1.json" 2>&1) &&
		fail "podlaned started with uplink_mtu $3 on $2"
	grep -qF "start-up failed: port $2: $4" <<<"$out" ||
		fail "no clear error for uplink_mtu $3 on $2: $out"
}

mtu_of() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; } # NETNS IFACE

worker_tasks() { # PID: the /proc task directories of podlaned's worker threads
	local t
	for t in /proc/$1/task/*; do
		if [[ "$(cat $t/comm)" == rte-worker-* ]]; then echo $t; fi
	done
}

worker_wakeups() { # PID: context switches of podlaned's worker threads so far
	local t n=0
	for t in $(worker_tasks $1); do
		n=$((n + $(awk '/ctxt_switches/ {s += $2} END {print s}' $t/status)))
	done
	echo $n
}

worker_nices() { # PID: the nice value of each of podlaned's worker threads
	local t
	for t in $(worker_tasks $1); do awk '{print $19}' $t/stat; done | xargs
}

fabric() { # fabric netns with a bridge for the node network
	netns_add fab
	ip -n fab link add br0 type bridge
	ip -n fab addr add "$1" dev br0
	ip -n fab link set br0 up
}

ctl() { local n=$1; shift; "$PODLANECTL" -s "$WORK/$n.sock" "$@"; }

# kernel_node NAME IP/LEN: a node on kernel routing (the reference
# beside podlaned): a netns with a veth u-NAME into the fabric, IP on it,
# forwarding on.
kernel_node() {
	netns_add "$1"
	ip link add "u-$1" type veth peer name "f-$1"
	ip link set "u-$1" netns "$1"
	ip link set "f-$1" netns fab
	ip -n fab link set "f-$1" master br0 up
	ip -n "$1" addr add "$2" dev "u-$1"
	ip -n "$1" link set "u-$1" up
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
}

# cni_add NODE NETNS CONTAINER_ID [CONFIG_KEYS]: attach a pod with the
# built CNI plugin, exactly as a runtime does (CNI_* environment, network
# config on stdin, CONFIG_KEYS added to it, e.g. '"mtu": 9000'; CNI_ARGS
# from POD_ARGS, e.g. K8S_POD_NAMESPACE=a;K8S_POD_NAME=b); prints the pod's IP.
cni_add() {
	local node=$1 ns=$2 cid=$3 keys=${4:+, $4} out
	out=$(echo '{"cniVersion": "1.0.0", "name": "podlane", "type": "podlane", "socket": "'"$WORK/$node.sock"'"'"$keys"'}' |
		CNI_COMMAND=ADD CNI_CONTAINERID=$cid CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 CNI_ARGS=${POD_ARGS:-} \
		CNI_PATH=/usr/lib/cni "$BUILD/cni/podlane") || fail "CNI ADD $cid on $node: $out"
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ips"][0]["address"].split("/")[0])' "$out"
}

# Kubernetes-like Node objects for nodes "n<i>": 172.31.102.10<i>, 100.96.24<i>.0/24
k8s_nodes() {
	python3 - "$@" <<'PY'
import json, sys
items = [{"kind": "Node", "metadata": {"name": "n%s" % i}, "spec": {"podCIDR": "100.96.24%s.0/24" % i},
          "status": {"addresses": [{"type": "InternalIP", "address": "172.31.102.10%s" % i}]}}
         for i in sys.argv[1:]]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
}

# tcp_peers6 SERVER_NS CLIENT_NS SERVER_ADDR: one TCP connection over
# IPv6 carrying 100000 bytes to the client; prints the client's address
# as the server saw it, then the client's own, the server's as the client
# saw it and the bytes it got ("A A B 100000" when nothing is translated).
tcp_peers6() {
	ip netns exec "$1" python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.bind(("::", 5001)); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, addr = s.accept(); print(addr[0], flush=True); c.sendall(b"x" * 100000); c.close()' >"$WORK/listener.out" &
	local lpid=$! seen
	wait_for 5 grep -q ready "$WORK/listener.out"
	seen=$(ip netns exec "$2" python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 5001), timeout=5); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print(c.getsockname()[0], c.getpeername()[0], n)' "$3")
	wait $lpid
	echo "$(sed -n 2p "$WORK/listener.out") $seen"
}

# Send MB megabytes of random bytes over TCP from one netns to an address
# in another and compare SHA-256 at both ends: proves the bytes, not just
# the rate, survive the path (GSO frames passed through, segmented,
# checksums completed).
tcp_bulk_check() { # src-ns dst-ns dst-ip MB
	local out=$WORK/bulk.$RANDOM
	ip netns exec "$2" python3 -c '
import hashlib, socket, sys
v6 = ":" in sys.argv[1]
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::" if v6 else "0.0.0.0", 7100)); s.listen(1); s.settimeout(60)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)' "$3" >"$out" &
	echo $! >"$out.pid"
	at_exit "stop_pid $out.pid" # a failed send leaves it waiting
	wait_for 5 grep -q ready "$out" || fail "bulk receiver in $2 did not start"
	local sent
	sent=$(ip netns exec "$1" python3 -c '
import hashlib, os, socket, sys
data = os.urandom(int(sys.argv[2]) << 20)
s = socket.create_connection((sys.argv[1], 7100), timeout=30); s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())' "$3" "$4") || fail "bulk send $1 -> $3 failed"
	wait_for 30 has_line 2 "$out" || fail "bulk $1 -> $3: receiver never finished: $(cat "$out")"
	[ "$(sed -n 2p "$out")" = "$sent" ] || fail "bulk $1 -> $3: received $(sed -n 2p "$out"), sent $sent"
}
