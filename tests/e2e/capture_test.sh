#!/usr/bin/env bash
# podlanectl capture: a TAP pod's frames by pod name through a filter,
# exactly the matching ones of a ping and a TCP connection, both
# directions, as pcapng that tcpdump reads and as text; the uplink and the
# host port; several captures at once; COUNT; a killed client leaves
# podlaned clean; a removed pod ends its capture; bad input gets the exact
# error. (vhost-user pods: vhost_test.sh.)
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1
for p in a b; do netns_add p$p; done
A=$(POD_ARGS="K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-a" cni_add n1 pa pod-a)
B=$(cni_add n1 pb pod-b)
ip netns exec pa ping -c 1 -W 2 "$B" >/dev/null || fail "pod a cannot reach pod b"

# capture NAME ARGS...: podlanectl capture in the background, its pid in
# $WORK/NAME.pid, output in NAME.out and NAME.err; returns once it runs.
capture() {
	local name=$1 before
	shift
	before=$(counter n1 captures)
	# podlanectl itself, not a subshell running ctl: signals go to it.
	"$PODLANECTL" -s "$WORK/n1.sock" capture "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	echo $! >"$WORK/$name.pid"
	at_exit "stop_pid $WORK/$name.pid"
	wait_for 10 captures n1 $((before + 1)) || { cat "$WORK/$name.err"; fail "capture $name did not start"; }
}
# finish NAME: interrupt it (as Ctrl-C: podlaned sends what it captured so
# far, then ends the capture) and wait for it to write its summary.
finish() {
	local pid
	pid=$(cat "$WORK/$1.pid")
	kill -INT "$pid"
	wait "$pid" || fail "capture $1 exited with $?: $(cat "$WORK/$1.err")"
}

# Two captures at once on pod a: one by pod name to a file with a filter,
# one by container id as text with another. Traffic: 3 pings, a TCP
# connection to port 8080, and UDP (and the ICMP port unreachable it gets
# back) that neither filter matches.
ip netns exec pb nc -l 8080 >"$WORK/nc.got" &
at_exit "kill $! 2>/dev/null"
listening() { [ -n "$(ip netns exec pb ss -Htln "sport = :8080")" ]; }
wait_for 5 listening || fail "no TCP server in pod b"
ECHO='icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply'
capture file shop/web-a -w "$WORK/a.pcapng" "tcp port 8080 or $ECHO"
capture text pod-a "$ECHO"
ip netns exec pa ping -c 3 -i 0.2 -W 2 "$B" >/dev/null || fail "ping under capture"
ip netns exec pa sh -c "echo hello | nc -N -w 2 $B 8080" || fail "TCP connection under capture"
ip netns exec pa sh -c "echo x | nc -u -w 1 $B 9999" || true
wait_for 5 grep -q hello "$WORK/nc.got" || fail "TCP under capture: got '$(cat "$WORK/nc.got")'"
finish file
finish text
[ "$(sed -n 1p "$WORK/file.err")" = "podlanectl: capturing on tap_p241_1, pod pod-a, inout, snaplen 262144, filter 'tcp port 8080 or $ECHO'" ] ||
	fail "capture header: $(cat "$WORK/file.err")"
read_back=$(tcpdump -n -r "$WORK/a.pcapng" 2>/dev/null)
echo "$read_back"
n=$(wc -l <<<"$read_back")
grep -q "^$n packets captured, 0 lost, written to $WORK/a.pcapng$" "$WORK/file.err" ||
	fail "summary: $(cat "$WORK/file.err"), tcpdump read $n"
[ "$(grep -c "IP $A > $B: ICMP echo request" <<<"$read_back")" = 3 ] || fail "the 3 echo requests"
[ "$(grep -c "IP $B > $A: ICMP echo reply" <<<"$read_back")" = 3 ] || fail "the 3 echo replies"
grep -q "IP $A\.[0-9]* > $B\.8080: Flags \[S\]" <<<"$read_back" || fail "the SYN"
grep -q "IP $B\.8080 > $A\.[0-9]*: Flags \[S\.\]" <<<"$read_back" || fail "the SYN-ACK"
grep -q "IP $A\.[0-9]* > $B\.8080: Flags \[P\.\].*length 6" <<<"$read_back" || fail "the data"
grep -q "IP $B\.8080 > $A\.[0-9]*: Flags \[F\.\]" <<<"$read_back" || fail "the server's FIN"
[ "$(grep -vc -e ": ICMP echo" -e "\.8080\( > \|: \)" <<<"$read_back")" = 0 ] || fail "frames the filter does not match"
# Directions as pcapng's epb_flags say them: the pod's frames in, to it out.
python3 - "$WORK/a.pcapng" "$A" <<'PY' || fail "directions in the pcapng"
import socket, struct, sys
data, a = open(sys.argv[1], "rb").read(), socket.inet_aton(sys.argv[2])
off, seen = 0, 0
while off < len(data):
    kind, size = struct.unpack_from("<II", data, off)
    if kind == 6:
        caplen = struct.unpack_from("<I", data, off + 20)[0]
        frame = data[off + 28:off + 28 + caplen]
        opt, flags = off + 28 + (caplen + 3) // 4 * 4, None
        while opt < off + size - 4:
            code, olen = struct.unpack_from("<HH", data, opt)
            if code == 0:
                break
            if code == 2:
                flags = struct.unpack_from("<I", data, opt + 4)[0]
            opt += 4 + (olen + 3) // 4 * 4
        want = 1 if frame[26:30] == a else 2  # from the pod: received
        assert flags == want, (seen, flags, want)
        seen += 1
    off += size
assert seen >= 10, seen
PY
ok "pod by NAMESPACE/NAME, filter: exactly the pings and the TCP connection, both directions, pcapng tcpdump reads"

text=$(cat "$WORK/text.out")
echo "$text"
[ "$(grep -c "^[0-9:.]* in  IP $A > $B: ICMP echo request, id [0-9]*, seq [0-9]*, length 64$" <<<"$text")" = 3 ] ||
	fail "text: the requests as received"
[ "$(grep -c "^[0-9:.]* out IP $B > $A: ICMP echo reply, id [0-9]*, seq [0-9]*, length 64$" <<<"$text")" = 3 ] ||
	fail "text: the replies as sent"
[ "$(wc -l <<<"$text")" = 6 ] || fail "text: only the pings"
ok "a second capture at once, by container id, printed as text with directions"

# The uplink (to the fabric's address: out, then its reply in) and the
# host port (to the node's own address), each ending at COUNT by itself.
ip -n fab route add 100.96.241.0/24 via 172.31.102.101
ctl n1 capture uplink -c 2 icmp >"$WORK/up.out" 2>"$WORK/up.err" &
up=$!
ctl n1 capture host -c 2 -Q out icmp >"$WORK/host.out" 2>"$WORK/host.err" &
host=$!
wait_for 10 captures n1 2 || fail "uplink and host captures did not start"
ip netns exec pa ping -c 1 -W 2 172.31.102.1 >/dev/null || fail "pod -> fabric"
ip netns exec pa ping -c 2 -i 0.2 -W 2 172.31.102.101 >/dev/null || fail "pod -> node"
wait $up || fail "uplink capture: $(cat "$WORK/up.err")"
wait $host || fail "host capture: $(cat "$WORK/host.err")"
cat "$WORK/up.out" "$WORK/host.out"
grep -q "^[0-9:.]* out IP [0-9.]* > 172.31.102.1: ICMP echo request" "$WORK/up.out" || fail "uplink: request out"
grep -q "^[0-9:.]* in  IP 172.31.102.1 > [0-9.]*: ICMP echo reply" "$WORK/up.out" || fail "uplink: reply in"
[ "$(grep -c "^[0-9:.]* out IP $A > 172.31.102.101: ICMP echo request" "$WORK/host.out")" = 2 ] ||
	fail "host port, -Q out: the two requests only"
grep -q "^2 packets captured, 0 lost$" "$WORK/host.err" || fail "host summary: $(cat "$WORK/host.err")"
wait_for 10 captures n1 0 || fail "captures that reached COUNT still run"
ok "uplink and host port; -c COUNT ends the capture; -Q out"

# A client killed mid-capture: podlaned ends the capture and forwards on;
# all its slots come back (8 at once, the 9th refused).
capture killed pod-b
kill -9 "$(cat "$WORK/killed.pid")"
{ wait "$(cat "$WORK/killed.pid")"; } 2>/dev/null || true # (bash's "Killed")
wait_for 10 captures n1 0 || fail "a killed client's capture still runs"
ip netns exec pa ping -c 1 -W 2 "$B" >/dev/null || fail "forwarding after a killed capture"
for i in 1 2 3 4 5 6 7 8; do capture many$i pod-b "udp port $i"; done
out=$(ctl n1 capture pod-b 2>&1) && fail "a 9th capture started"
[ "$out" = "podlanectl: capture: 8 captures run already" ] || fail "9th: '$out'"
for i in 1 2 3 4 5 6 7 8; do finish many$i; done
wait_for 10 captures n1 0 || fail "interrupted captures still run"
ok "a killed client leaves podlaned clean; 8 captures at once, the 9th refused"

# A pod removed while captured: its capture ends, saying so.
capture gone pod-b
echo '{"cniVersion": "1.0.0", "name": "podlane", "type": "podlane", "socket": "'"$WORK/n1.sock"'"}' |
	CNI_COMMAND=DEL CNI_CONTAINERID=pod-b CNI_NETNS=/run/netns/pb CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	"$BUILD/cni/podlane" || fail "CNI DEL pod-b"
wait "$(cat "$WORK/gone.pid")" || fail "capture of a removed pod: exit $?"
grep -q "^podlanectl: capture ended: the port was removed$" "$WORK/gone.err" || fail "$(cat "$WORK/gone.err")"
wait_for 10 captures n1 0 || fail "the removed pod's capture still runs"
ok "a removed pod ends its capture"

for bad in "pod-a tcp port 99999|podlanectl: capture: filter: illegal port number 99999 > 65535" \
	"pod-a tcp and|podlanectl: capture: filter: can't parse filter expression: syntax error" \
	"nope|podlanectl: capture: target: no pod, port, 'uplink' or 'host' named 'nope'" \
	"pod-a -Q sideways|podlanectl: capture: direction: 'sideways' is not in, out or inout" \
	"pod-a -s 300000|podlanectl: capture: snaplen: must be a whole number from 0 to 262144"; do
	# shellcheck disable=SC2086 # the words are the arguments
	out=$(ctl n1 capture ${bad%%|*} 2>&1) && fail "capture ${bad%%|*} succeeded"
	[ "$out" = "${bad#*|}" ] || fail "capture ${bad%%|*}: got '$out'"
done
out=$(ctl n1 capture pod-a -c 2>&1; echo "exit $?")
grep -q "^podlanectl: capture TARGET \[-c COUNT\]" <<<"$out" && grep -q "^exit 2$" <<<"$out" || fail "usage: $out"
captures n1 0 || fail "refused captures left one running"
ok "bad filter, target, direction and snap length get the exact error"
echo "capture: all passed"
