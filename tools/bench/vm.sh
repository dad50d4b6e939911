#!/usr/bin/env bash
# Virtual machines: TCP between a TAP pod and a QEMU guest (Debian kernel,
# virtio-net, busybox; tests/e2e/lib/guest.sh) on a vhost-user port of
# podlaned, beside the same guest on QEMU's own kernel TAP backend routed
# by the kernel (the pod on a veth, host routes: what a kernel CNI with a
# tap binding does), in one run; with 256- and 1024-entry rings and one
# and two queue pairs (as many vCPUs). The guest runs under TCG here
# (this machine's KVM cannot run it): its vCPU is the slow end on both
# paths, so the ratios say what each path costs a guest, not line rate.
# Placement: QEMU on CPU 0, the pod's end on CPU 1, the forwarding on
# CPU 1 (podlaned's worker; the kernel's by RPS); with two queue pairs
# podlaned has two workers, one per CPU.
#
#   tools/bench/vm.sh [--quick]        (root; sets up what it needs)
#
# Writes $OUT (JSON) and prints a table with Gbit/s and the ratios.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start qemu-system-x86 linux-image-cloud-amd64 cpio -- "$@"
. "$top/tests/e2e/lib/guest.sh"
MB=${MB:-$([ $QUICK = 1 ] && echo 16 || echo 128)}
# The guest's own sender (busybox dd | nc under TCG) is slow: a quarter of it.
FROM_MB=$((MB / 4))
OUT=${OUT:-$BUILD/bench-vm.json}
export GUEST_CPUS=0
declare -A RES

# to_vm NAME POD_NS VM_ADDR KEY: MB from the pod to the guest's nc, timed
# from connect to the guest closing (all received); Gbit/s in RES.
to_vm() {
	gsh "$1" 'nc -l -p 5001 </dev/null >/dev/null & sleep 0.2' >/dev/null
	RES[$4]=$(ip netns exec "$2" taskset -c 1 python3 -c '
import socket, sys, time
mb = int(sys.argv[2]); buf = bytes(1 << 20)
t = time.monotonic(); s = socket.create_connection((sys.argv[1], 5001), timeout=120)
for _ in range(mb): s.sendall(buf)
s.shutdown(socket.SHUT_WR); s.recv(1)
print("%.3f" % (mb * 8 * 2**20 / (time.monotonic() - t) / 1e9))' "$3" "$MB") || fail "$4: send to the guest failed"
}

# from_vm NAME POD_NS POD_ADDR KEY: FROM_MB from the guest's nc to the pod,
# timed at the pod from the first byte to the end.
from_vm() {
	ip netns exec "$2" taskset -c 1 python3 -c '
import socket, time
s = socket.create_server(("0.0.0.0", 5002)); s.settimeout(120)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(60); n = 0; b = c.recv(1 << 20); t = time.monotonic()
while b:
    n += len(b); b = c.recv(1 << 20)
print("%.3f" % (n * 8 / (time.monotonic() - t) / 1e9), flush=True)' >"$WORK/from.out" &
	wait_for 5 grep -q ready "$WORK/from.out" || fail "$4: receiver did not start"
	gsh "$1" --timeout 300 "dd if=/dev/zero bs=1048576 count=$FROM_MB 2>/dev/null | nc $3 5002" >/dev/null ||
		fail "$4: the guest's send failed"
	wait_for 60 has_line 2 "$WORK/from.out" || fail "$4: the receiver never finished"
	RES[$4]=$(sed -n 2p "$WORK/from.out")
}

# --- podlaned: node n1 with one worker (one queue pair on offer), n2 with
# two (a guest with two vCPUs gets two); a TAP pod "pa<n>" on each.
fabric 172.31.102.1/24
for n in 1 2; do
	start_node "n$n" "172.31.102.10$n/24" "100.96.24$n.0/24" "$n"
	netns_add "pa$n"
	ctl "n$n" pod add "pa$n" "/run/netns/pa$n" eth0 >/dev/null
done
netns_add pv

# --- kernel: node netns "kn" routing between the pod's veth and QEMU's
# TAP, 169.254.1.1 on both (the pods' gateway), forwarding on CPU 1 (RPS).
netns_add kn
ip netns exec kn sysctl -qw net.ipv4.ip_forward=1
netns_add ka
ip -n kn link add kveth type veth peer name eth0 netns ka
ip -n kn addr add 169.254.1.1/32 dev kveth
ip -n kn link set kveth up
ip -n ka addr add 100.97.0.2/32 dev eth0
ip -n ka link set eth0 up
ip -n ka route add 169.254.1.1 dev eth0
ip -n ka route add default via 169.254.1.1 dev eth0
ip -n kn route add 100.97.0.2/32 dev kveth
KV=100.97.0.3

for q in 1 2; do
	for ring in 256 1024; do
		key=q${q}_r$ring
		rings=(-global "virtio-net-pci.rx_queue_size=$ring" -global "virtio-net-pci.tx_queue_size=$ring")
		# podlane (node n$q: $q worker(s), as many queue pairs on offer)
		A=$(ip -n "pa$q" -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
		ctl "n$q" pod add "vm$key" /run/netns/pv eth0 vhost-user >/dev/null
		conf=$WORK/n$q.vhost/vm$key-eth0.json
		guest_start "p$key" "$conf" "$q" "${rings[@]}"
		V=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' "$conf")
		wait_for 30 ip netns exec "pa$q" ping -c 1 -W 1 "$V" || fail "pod cannot reach the VM ($key)"
		to_vm "p$key" "pa$q" "$V" "podlane,to_vm,$key"
		from_vm "p$key" "pa$q" "$A" "podlane,from_vm,$key"
		RES[podlane,tx_full,$key]=$(counter "n$q" tx_full)
		RES[podlane,tx_waited,$key]=$(counter "n$q" tx_waited)
		stop_pid "$WORK/p$key.qemu.pid"
		ctl "n$q" pod del "vm$key" eth0 >/dev/null
		# kernel: QEMU's TAP (tx rings of a TAP backend stay at 256)
		mq=
		if [ "$q" -gt 1 ]; then mq=,mq=on; fi
		GUEST_NETNS=kn guest_boot "k$key" $KV 1500 "$q" \
			-netdev "tap,id=t0,ifname=vmtap,script=no,downscript=no,vhost=off,queues=$q" \
			-device "virtio-net-pci,netdev=t0,mac=0a:58:64:61:00:03,vectors=0$mq" \
			-global "virtio-net-pci.rx_queue_size=$ring"
		ip -n kn link set vmtap up
		ip -n kn addr add 169.254.1.1/32 dev vmtap
		ip -n kn route add $KV/32 dev vmtap
		for rx in $(ip netns exec kn sh -c 'ls -d /sys/class/net/*/queues/rx-*'); do
			ip netns exec kn sh -c "echo 2 >$rx/rps_cpus"
		done
		wait_for 30 ip netns exec ka ping -c 1 -W 1 $KV || fail "kernel pod cannot reach the VM ($key)"
		to_vm "k$key" ka $KV "kernel,to_vm,$key"
		from_vm "k$key" ka 100.97.0.2 "kernel,from_vm,$key"
		stop_pid "$WORK/k$key.qemu.pid"
		[ $QUICK = 1 ] && break 2
	done
done

python3 - "$OUT" "$MB" "$FROM_MB" "$(for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done)" <<'PY'
import json, sys
out, mb, from_mb, kv = sys.argv[1:5]
res = {}
for line in kv.split("\n"):
    k, v = line.split("=")
    path, what, key = k.split(",")
    res.setdefault(key, {}).setdefault(path, {})[what] = float(v)
print("VM <-> TAP pod TCP (%s MiB to the VM, %s MiB from it: busybox dd | nc), QEMU TCG guest (as many vCPUs "
      "as queue pairs) on CPU 0, the pod on CPU 1; podlaned with as many workers as queue pairs" % (mb, from_mb))
print("| queue pairs | ring | direction | podlane vhost-user Gbit/s | kernel TAP Gbit/s | ratio | podlane tx_full / tx_waited |")
print("|---|---|---|---|---|---|---|")
ratios = {}
for key in sorted(res, key=lambda k: tuple(int(x) for x in k[1:].split("_r"))):
    q, r = key[1:].split("_r")
    p, k = res[key]["podlane"], res[key]["kernel"]
    for d, label in (("to_vm", "pod -> VM"), ("from_vm", "VM -> pod")):
        ratios["%s_%s" % (key, d)] = p[d] / max(k[d], 1e-9)
        print("| %s | %s | %s | %.3f | %.3f | %.2fx | %d / %d |" % (q, r, label, p[d], k[d], ratios["%s_%s" % (key, d)],
              p["tx_full"], p["tx_waited"]))
print("(the kernel path: QEMU's TAP backend without vhost-net, rx ring as given, tx ring 256; counters cumulative)")
json.dump({"mib": int(mb), "from_mib": int(from_mb), "results": res, "ratios": ratios}, open(out, "w"), indent=1)
for key, r in res.items():
    for path in r.values():
        assert path["to_vm"] > 0 and path["from_vm"] > 0, key
PY
