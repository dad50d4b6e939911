# Shared by the benchmark scripts: their start, the generator and the
# podlaned set-up they all use.

# bench_start [PKG...] -- "$@": what every benchmark begins with. Packages,
# release build and hugepages (bench_prepare), then tests/e2e/lib/common.sh
# and its private namespaces (the script runs again inside them); QUICK=1
# for --quick.
bench_start() {
	local pkgs=()
	while [ "$1" != -- ]; do pkgs+=("$1"); shift; done
	shift
	bench_prepare "${pkgs[@]}"
	. "$top/tests/e2e/lib/common.sh"
	isolate "$@"
	# The machine's hugepages as they were, on every way out.
	[ -z "${PL_BENCH_HP_WAS:-}" ] || at_exit "echo $PL_BENCH_HP_WAS >/proc/sys/vm/nr_hugepages"
	QUICK=0
	if [ "${1:-}" = --quick ]; then QUICK=1; fi # not `&&`: its status would end the function under set -e
}

# bench_prepare (before isolate): packages, release build, hugepages.
bench_prepare() {
	[ -z "${PL_ISOLATED:-}" ] || return 0
	"$top/tools/deps.sh" "$@" >&2 || exit 1
	export PODLANE_BUILD=${PODLANE_BUILD:-$top/build-release}
	# build.ninja, not the directory: run.sh makes its results folder
	# (build-release/bench/...) before any benchmark gets here.
	[ -f "$PODLANE_BUILD/build.ninja" ] || meson setup "$PODLANE_BUILD" -Dbuildtype=release >/dev/null || exit 1
	ninja -C "$PODLANE_BUILD" >&2 || exit 1
	local hp
	hp=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$hp" -lt 1024 ]; then
		echo 1024 >/proc/sys/vm/nr_hugepages
		export PL_BENCH_HP_WAS=$hp # given back at exit (bench_start)
	fi
	mkdir -p /dev/hugepages # not there on every new machine
	mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
	export PODLANE_EAL_MEM=${PODLANE_EAL_MEM:--m 256}
}

# plgen OUT.json PLGEN-OPTIONS... -- VDEV...: the generator on core 0 with
# one virtio_user server port per VDEV argument (path=SOCK,mac=MAC).
plgen() {
	local out=$1; shift
	local opts=() vdevs=() i=0
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	for v in "$@"; do vdevs+=("--vdev=virtio_user$i,server=1,queues=1,$v"); i=$((i + 1)); done
	"$BUILD/tools/plgen" --lcores=0@0 --no-pci -m 256 --single-file-segments \
		--file-prefix "pl-gen-$$" "${vdevs[@]}" -- "${opts[@]}" >"$out" 2>"$WORK/gen.log" ||
		fail "plgen: $(tail -3 "$WORK/gen.log")"
}

# jget FILE EXPR: a value out of a JSON file (python expression over d).
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# podlane_pair [WORKERS [EXTRA_JSON]]: node "node" with podlaned (1 worker,
# core 1) and two vhost-user pods g0 (A, MAC M0) and g1 (B, MAC M1); sets
# A B G0 G1 (gateway MACs) P0 P1 (their port names) and S0 S1 (sockets).
# With POD_CIDR6 set the node is dual-stack and A6 B6 are the pods' IPv6.
M0=0a:58:64:60:f3:01 M1=0a:58:64:60:f3:02
podlane_pair() {
	fabric 172.31.102.1/24
	start_node node 172.31.102.105/24 "100.96.243.0/24${POD_CIDR6:+,$POD_CIDR6}" "${1:-1}" \
		'"vhost_dir": "'"$WORK"'/vh", '"${2:-}"
	netns_add pv
	ctl node pod add g0 /run/netns/pv eth0 vhost-user >/dev/null
	ctl node pod add g1 /run/netns/pv eth1 vhost-user >/dev/null
	local f0=$WORK/vh/g0-eth0.json f1=$WORK/vh/g1-eth1.json
	G0=$(jget "$f0" 'd["gateway_mac"]') G1=$(jget "$f1" 'd["gateway_mac"]')
	A=$(jget "$f0" 'd["ip"]') B=$(jget "$f1" 'd["ip"]')
	if [ -n "${POD_CIDR6:-}" ]; then A6=$(jget "$f0" 'd["ip6"]') B6=$(jget "$f1" 'd["ip6"]'); fi
	[ "$(jget "$f0" 'd["mac"]')" = $M0 ] && [ "$(jget "$f1" 'd["mac"]')" = $M1 ] ||
		fail "unexpected pod MACs"
	P0=net_vhost_p243_${A##*.} P1=net_vhost_p243_${B##*.}
	S0=$WORK/vh/g0-eth0.sock S1=$WORK/vh/g1-eth1.sock
}

# spread_routes FORMAT: the benchmark's pod prefixes, 256 /24s behind each
# pod (100.97.x.0/24 -> B, 100.98.x.0/24 -> A), printed with FORMAT taking
# (prefix, 0 or 1 for the pod).
spread_routes() {
	for x in $(seq 0 255); do
		printf "$1" "100.97.$x.0/24" 1
		printf "$1" "100.98.$x.0/24" 0
	done
}
FLOWS=65536 # destinations per direction: all 256 prefixes

# spread_routes6 FORMAT: the same in IPv6, 256 /64s behind each pod
# (fd00:97:0:x::/64 -> B, fd00:98:0:x::/64 -> A), the shape of Kubernetes
# IPv6 node prefixes; plgen's IPv6 flows fall 256 to each /64.
spread_routes6() {
	for x in $(seq 0 255); do
		printf "$1" "$(printf 'fd00:97:0:%x::/64' "$x")" 1
		printf "$1" "$(printf 'fd00:98:0:%x::/64' "$x")" 0
	done
}

# gen_args SIZE GW0 GW1: plgen options for SECS seconds (after 2 s of
# warm-up) both ways, pod A to FLOWS destinations in 100.97/16 and pod B to
# FLOWS in 100.98/16, through gateway MACs GW0 and GW1.
gen_args() {
	echo --seconds "$SECS" --warmup 2 --size "$1" --flows $FLOWS \
		--port "$M0,$2,$A,100.97.0.0" --port "$M1,$3,$B,100.98.0.0"
}

# gen_args6 SIZE GW0 GW1: the same in IPv6, from A6 and B6 to FLOWS
# destinations in fd00:97::/48 and fd00:98::/48.
gen_args6() {
	echo --seconds "$SECS" --warmup 2 --size "$1" --flows $FLOWS \
		--port "$M0,$2,$A6,fd00:97::" --port "$M1,$3,$B6,fd00:98::"
}

# kernel_router: the Linux kernel as the router, one core's worth: netns kr
# between veths r0 (10.99.0.1/24) and r1 (10.99.1.1/24), its forwarding
# steered onto core 1 with RPS; their peers g0 (MAC M0, 10.99.0.2) and g1
# (M1, 10.99.1.2) in netns kg for the generator on AF_XDP (kernel_gen).
# The same in IPv6: fd00:99:0::1/64 on r0, fd00:99:1::1/64 on r1, their
# peers ::2. Sets K0 K1: r0's and r1's MACs.
kernel_router() {
	netns_add kg
	netns_add kr
	for i in 0 1; do
		ip link add "g$i" netns kg type veth peer name "r$i" netns kr
		ip -n kr addr add "10.99.$i.1/24" dev "r$i"
		ip -n kr addr add "fd00:99:$i::1/64" dev "r$i" nodad
		ip -n kr link set "r$i" up
		ip -n kg link set "g$i" up
		# The kernel's forwarding runs where the packet is received: core 1.
		ip netns exec kr sh -c "echo 2 >/sys/class/net/r$i/queues/rx-0/rps_cpus"
	done
	ip netns exec kr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	for i in 0 1; do
		local m=M$i
		ip -n kr neigh add "10.99.$i.2" lladdr "${!m}" dev "r$i" nud permanent
		ip -n kr neigh add "fd00:99:$i::2" lladdr "${!m}" dev "r$i" nud permanent
	done
	ip -n kg link set g0 address $M0
	ip -n kg link set g1 address $M1
	K0=$(ip -n kr -br link show r0 | awk '{print $3}') K1=$(ip -n kr -br link show r1 | awk '{print $3}')
}

# kernel_gen OUT.json PLGEN-OPTIONS...: the generator on core 0 over g0
# and g1 (AF_XDP).
kernel_gen() {
	local out=$1; shift
	ip netns exec kg "$BUILD/tools/plgen" --lcores=0@0 --no-pci -m 256 --file-prefix "pl-kg-$$" \
		--vdev=net_af_xdp0,iface=g0 --vdev=net_af_xdp1,iface=g1 -- "$@" >"$out" 2>"$WORK/kgen.log" ||
		fail "plgen on AF_XDP: $(tail -3 "$WORK/kgen.log")"
}

# accept_server NETNS: a TCP server on port 5202 there that accepts and
# closes, for conns_per_s.
accept_server() {
	ip netns exec "$1" python3 -c 'import socket
s = socket.create_server(("0.0.0.0", 5202), backlog=512)
while True:
    s.accept()[0].close()' &
	echo $! >"$WORK/accept-$1.pid"
	at_exit "stop_pid $WORK/accept-$1.pid"
	wait_for 5 ip netns exec "$1" sh -c "ss -ltn | grep -q :5202"
}

# conns_per_s CLIENT_NETNS ADDRESS: TCP connections to ADDRESS:5202 made
# and closed (RST) per second, one at a time, for SECS seconds.
conns_per_s() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
addr, secs, n = (sys.argv[1], 5202), float(sys.argv[2]), 0
end = time.monotonic() + secs
while time.monotonic() < end:
    s = socket.create_connection(addr, timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    n += 1
print(n / secs)' "$2" "$SECS" || fail "connections to $2 from $1"
}
