#!/usr/bin/env bash
# Virtual machines as pods: a QEMU guest (Debian kernel, virtio-net, busybox)
# attached through the CNI plugin as a vhost-user pod, QEMU the server on
# the socket podlaned's file names. Ping and TCP both ways with the data
# intact, the TAP pod sees the VM's own address; TSO and partial checksums
# negotiated and used both ways (frames larger than the MTU cross the
# port), over IPv6 too (the pods are dual-stack); QEMU killed and started
# again; podlaned restarted under the VM.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/guest.sh"
isolate "$@"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (package qemu-system-x86)"

VDIR=$WORK/vhost
fabric 172.31.102.1/24
# One worker: it serves every port, so what a slow guest costs the other
# pods shows (the flood below).
start_node node 172.31.102.105/24,fd00:172:31:102::105/64 100.96.243.0/24,fd00:10:96:f3::/64 1 \
	'"vhost_dir": "'"$VDIR"'",'
netns_add pa
netns_add pv
A=$(cni_add node pa tap-a)
V=$(cni_add node pv vm1 '"interface": "vhost-user"')
CONF=$VDIR/vm1-eth0.json
guest_start vm1 "$CONF" 1
ok "QEMU guest booted on the vhost-user pod's socket"

ping1() { ip netns exec pa ping -c 1 -W 1 "$1"; }
wait_for 30 ping1 "$V" || fail "TAP pod cannot ping the VM $V"
out=$(gsh vm1 ping -c 3 -W 2 "$A") || fail "the VM cannot ping the TAP pod $A: $out"
ttl=$(ping1 "$V" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$ttl" = 63 ] || fail "TAP pod -> VM: reply ttl $ttl, want 63 (64 less podlaned's hop)"
ok "ping TAP pod <-> VM both ways (reply ttl $ttl)"

# Offloads both ways: the guest sees TSO and checksums offered (virtio
# feature bits: CSUM 0, GUEST_CSUM 1, GUEST_TSO4 7, GUEST_TSO6 8, HOST_TSO4
# 11), podlaned says what it will do with them.
feat=$(gsh vm1 cat /sys/class/net/eth0/device/features)
for b in 0 1 7 8 11; do
	[ "${feat:$b:1}" = 1 ] || fail "virtio feature bit $b not negotiated: $feat"
done
grep -q "guest connected; takes TCP frames whole (TSO) and partial sums, IPv6's too, sends TCP frames whole (TSO)" \
	"$WORK/node.log" || fail "podlaned did not take the guest's offloads: $(grep guest "$WORK/node.log")"
ok "offloads negotiated: TSO and partial checksums, to and from the guest"

VPORT=net_vhost_p243_${V##*.}
snap() { port_counter node "$VPORT" "${1}_bytes" "${1}_packets"; } # DIR rx|tx: bytes packets
avg() { echo "$1 $2" | awk '{print int(($3 - $1) / ($4 - $2))}'; } # average frame between two snaps

# to_vm ADDRESS PORT MIB: that many random MiB from the TAP pod to the
# VM's nc at ADDRESS:PORT, MD5 compared at both ends; prints the average
# frame the VM's port sent meanwhile.
to_vm() {
	local tx0 sent f=/tmp/in$2
	tx0=$(snap tx)
	gsh vm1 "nc -l -p $2 </dev/null >$f & sleep 0.2" >/dev/null
	sent=$(ip netns exec pa python3 -c '
import hashlib, os, socket, sys
data = os.urandom(int(sys.argv[3]) << 20)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60); s.sendall(data); s.close()
print(hashlib.md5(data).hexdigest())' "$1" "$2" "$3") || fail "TAP pod -> VM $1 send failed"
	got() { gsh vm1 md5sum "$f" | awk '{print $1}'; } # f: to_vm's
	wait_for 60 test "$(got)" = "$sent" || fail "VM $1 received $(gsh vm1 wc -c "$f") md5 $(got), sent $sent"
	avg "$tx0" "$(snap tx)"
}
tx=$(to_vm "$V" 7100 8) || fail "TCP TAP pod -> VM"
ok "TCP TAP pod -> VM: 8 MiB intact"
# The same over IPv6 (GUEST_TSO6): frames of more than one MTU to it.
V6=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip6"])' "$CONF")
tx6=$(to_vm "$V6" 7102 2) || fail "TCP TAP pod -> VM over IPv6"
[ "$tx6" -gt 1514 ] || fail "IPv6 frames to the VM average $tx6 bytes: segmented"
ok "TCP TAP pod -> VM over IPv6 ($V6): 2 MiB intact, frames of $tx6 bytes on average (TSO6)"

# A guest slower than its sender (TCG here): 3 s of unpaced UDP from the
# TAP pod fill its rx ring. What it refused waited (tx_waited) instead
# of being dropped at once, and the waiting does not hold up the worker's
# other pods: two more TAP pods ping each other meanwhile, none lost.
netns_add pb
netns_add pc
B=$(cni_add node pb tap-b)
cni_add node pc tap-c >/dev/null
ip netns exec pa python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b = bytes(1400); end = time.time() + 3
while time.time() < end:
    try: s.sendto(b, (sys.argv[1], 9))
    except OSError: pass' "$V" &
flood=$!
sleep 0.5
pings=$(ip netns exec pc ping -c 100 -i 0.01 -W 1 "$B") || fail "pings between other pods lost during the flood: $pings"
wait $flood
waited=$(counter node tx_waited) full=$(counter node tx_full)
rtt=$(echo "$pings" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/\([0-9.]*\)/.*|avg \1 ms, max \2 ms|p')
echo "UDP flood to the VM: $waited frames waited for its ring, $full dropped (tx_full); other pods' pings meanwhile: $rtt"
[ "$waited" -gt 0 ] || fail "no frame waited for the guest's full ring (tx_full $full)"
ok "a full guest ring: frames waited ($waited), $full dropped; other pods' pings all answered ($rtt)"

# VM -> TAP pod: 8 MiB from the guest's nc, MD5 and the peer's address as
# the TAP pod's listener saw them.
ip netns exec pa python3 -c '
import hashlib, socket
s = socket.create_server(("0.0.0.0", 7101)); s.settimeout(120)
print("ready", flush=True)
c, peer = s.accept(); c.settimeout(60); h = hashlib.md5()
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b)
print(peer[0], h.hexdigest(), flush=True)' >"$WORK/rx.out" &
echo $! >"$WORK/rx.pid"
at_exit "stop_pid $WORK/rx.pid"
wait_for 5 grep -q ready "$WORK/rx.out" || fail "listener in the TAP pod did not start"
sent=$(gsh vm1 --timeout 120 "dd if=/dev/urandom of=/tmp/out bs=1M count=8 2>/dev/null; md5sum /tmp/out; nc $A 7101 </tmp/out" | awk 'NR == 1 {print $1}')
wait_for 60 has_line 2 "$WORK/rx.out" || fail "VM -> TAP pod: the listener got no end of stream"
[ "$(sed -n 2p "$WORK/rx.out")" = "$V $sent" ] ||
	fail "VM -> TAP pod: listener saw '$(sed -n 2p "$WORK/rx.out")', want '$V $sent'"
ok "TCP VM -> TAP pod: 8 MiB intact, the listener sees the VM's own address $V"

# The same file served by the guest's httpd (sendfile), watched on the
# VM's port: the guest's TSO frames come in whole, a TCP payload longer
# than one MSS (1460) in one frame. How many segments a guest merges
# depends on its pace (a slow TCG vCPU merges few): any is proof.
gsh vm1 'httpd -p 80 -h /tmp' >/dev/null
# The first 50 TCP frames on the port (a 64 KiB frame is one: a transfer
# may make few); bounded, so a capture that never fills cannot hang.
timeout 60 "$PODLANECTL" -s "$WORK/node.sock" capture vm1 -c 50 tcp >"$WORK/vmcap.out" 2>"$WORK/vmcap.err" &
vcap=$!
wait_for 10 captures node 1 || fail "capture on the VM's port did not start"
got=$(ip netns exec pa python3 -c '
import hashlib, sys, urllib.request
print(hashlib.md5(urllib.request.urlopen("http://%s/out" % sys.argv[1], timeout=60).read()).hexdigest())' "$V") ||
	fail "TAP pod cannot fetch from the VM's httpd"
[ "$got" = "$sent" ] || fail "httpd VM -> TAP pod: md5 $got, want $sent"
wait $vcap || fail "capture on the VM's port: $(cat "$WORK/vmcap.err")"
rx=$(awk -v v="$V.80" '$2 == "in" && $4 == v {n = $NF + 0; if (n > max) max = n} END {print max + 0}' "$WORK/vmcap.out")
[ "$rx" -gt 1460 ] || fail "no frame from the VM carried more than one segment (largest payload $rx): $(head -3 "$WORK/vmcap.out")"

# To the VM: the average frame of the TAP pod's transfer (1514 bytes at
# most were it cut into MTU-sized segments on the way).
[ "$tx" -gt 1514 ] || fail "frames to the VM average $tx bytes: segmented"
ok "TSO both ways: TCP payloads of up to $rx bytes in one frame from the VM, frames of $tx bytes on average to it"

# QEMU killed, then started again (a new boot): podlaned reconnects.
kill -9 "$(cat "$WORK/vm1.qemu.pid")"
ping1 "$V" >/dev/null && fail "ping answered with QEMU killed"
guest_start vm1 "$CONF" 1
wait_for 30 ping1 "$V" || fail "no ping after QEMU started again"
gsh vm1 ping -c 2 -W 2 "$A" >/dev/null || fail "the restarted VM cannot ping the TAP pod"
ok "QEMU killed and started again: podlaned reconnected, ping both ways"

# podlaned restarted under the running VM (planned, then kill -9): the
# guest keeps its NIC, QEMU waits for podlaned to connect again.
for sig in TERM KILL; do
	restart_under_pings node $sig pa "$V"
	echo "SIG$sig, then a start: $RESTART_LOST of 300 pings to the VM lost (10 ms apart)"
	wait_for 30 ping1 "$V" || fail "no ping to the VM after podlaned's SIG$sig"
	gsh vm1 ping -c 2 -W 2 "$A" >/dev/null || fail "the VM cannot ping the TAP pod after podlaned's SIG$sig"
done
ok "podlaned restarted under the VM (planned, kill -9): ping both ways again"
