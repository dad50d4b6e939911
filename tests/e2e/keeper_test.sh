#!/usr/bin/env bash
# podlaned in a container, as Kubernetes runs it: the container's end
# takes every process in it (here: its own pid namespace, whose init is
# podlaned), the fd keeper podlaned starts included, so the pods'
# interfaces lose their carrier until the next podlaned. A standing keeper
# (`podlaned --keeper STATE_DIR`, its own DaemonSet there) outlives the
# container: across a stop and a kill of the container the pods keep their
# interfaces with carrier and lose no ping of a 10 ms stream (what they
# send meanwhile waits in their TAPs). A standing keeper replaced while
# podlaned runs gets its fds again.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

REAL=$PODLANED
# The container: podlaned as init of a pid namespace with its own /proc
# (LeakSanitizer finds its threads there); --kill-child makes a kill of
# unshare (the runtime's kill) a kill of podlaned too. Pods' netns files
# made later reach it as the DaemonSet's HostToContainer mount does.
mount --make-shared /run/netns
cat >"$WORK/container" <<EOF
#!/bin/sh
exec unshare --pid --fork --kill-child --mount-proc --propagation slave "$REAL" "\$@"
EOF
chmod +x "$WORK/container"
PODLANED=$WORK/container

fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 1
netns_add pa
netns_add pb
ctl node pod add ctr-a /run/netns/pa eth0 >/dev/null
ctl node pod add ctr-b /run/netns/pb eth0 >/dev/null
B=100.96.243.2
ip netns exec pa ping -c 1 -W 2 $B >/dev/null || fail "no traffic between the pods"
ifindex() { ip -n pa -o link show eth0 | cut -d: -f1; }
carrier() { ! grep -q NO-CARRIER <<<"$(ip -n pa -o link show eth0)"; }
before=$(ifindex)
# podlaned inside the container (pid 1 there, a child of unshare here).
inside() { ps -o pid= --ppid "$(cat "$WORK/node.pid")" | tr -d ' '; }
start_container() {
	ip netns exec node "$PODLANED" --config "$WORK/node.json" >>"$WORK/node.log" 2>&1 &
	echo $! >"$WORK/node.pid"
	wait_for 30 ctl node node || fail "podlaned did not come back"
}
stop_container() { # SIGNAL: TERM (a stop: podlaned first), KILL (the runtime's kill)
	local pid
	pid=$(cat "$WORK/node.pid")
	if [ "$1" = TERM ]; then kill -TERM "$(inside)"; else kill -KILL "$pid"; fi
	wait "$pid" 2>/dev/null || true
}

# Without a standing keeper: the container's end takes podlaned's keeper.
stop_container TERM
wait_for 5 sh -c "! ip -n pa -o link show eth0 | grep -qv NO-CARRIER" ||
	fail "pod a's interface kept its carrier with podlaned's container gone (its keeper with it?)"
# Its pid file names a pid of the container's namespace: not ours to stop.
rm -f "$WORK/node.state/keeper.pid"
[ "$(ifindex)" = "$before" ] || fail "pod a's interface was re-created"
ok "container stopped without a standing keeper: the keeper went with it, pod interfaces without carrier (the same ones)"

# A standing keeper, then podlaned's container again: it uses that keeper.
keeper_start() {
	"$REAL" --keeper "$WORK/node.state" >"$WORK/keeper.out" 2>&1 &
	echo $! >"$WORK/keeper.run.pid"
	at_exit "stop_pid $WORK/keeper.run.pid"
	wait_for 5 grep -q "fd keeper for" "$WORK/keeper.out" || fail "standing keeper: $(cat "$WORK/keeper.out")"
}
keeper_start
start_container
wait_for 10 carrier || fail "no carrier on pod a's interface after podlaned came back"
wait_for 10 ip netns exec pa ping -c 1 -W 1 $B || fail "no traffic after podlaned came back"
[ "$(cat "$WORK/node.state/keeper.pid")" = "$(cat "$WORK/keeper.run.pid")" ] ||
	fail "keeper.pid is not the standing keeper's"

under_pings() { # NAME SIGNAL MAX_LOST
	local pinger lost
	ip netns exec pa ping -i 0.01 -c 300 -W 1 $B >"$WORK/ping.out" 2>&1 &
	pinger=$!
	sleep 1
	stop_container "$2"
	carrier || fail "pod a's interface lost its carrier with the container gone ($1)"
	start_container
	wait $pinger || true
	lost=$(pings_lost "$WORK/ping.out" 300)
	echo "container $1: $lost of 300 pings lost (10 ms apart)"
	[ "$lost" -le "$3" ] || fail "$lost pings lost across the container's $1 (at most $3)"
	[ "$(ifindex)" = "$before" ] || fail "pod a's interface was re-created ($1)"
}
under_pings stop TERM 1
ok "container stopped and started with a standing keeper: carrier kept, the same interfaces, pings late, not lost"
under_pings kill KILL 2
ok "container killed and started with a standing keeper: carrier kept, at most what podlaned held lost"

# The standing keeper replaced while podlaned runs (its DaemonSet
# updated): podlaned holds on with a keeper of its own meanwhile, then
# hands its fds to the new standing one.
stop_pid "$WORK/keeper.run.pid"
wait_for 10 grep -q "fd keeper: gone: this podlaned's fds handed" "$WORK/node.log" ||
	fail "podlaned did not notice its keeper went: $(tail -5 "$WORK/node.log")"
keeper_start
wait_for 10 grep -q "fd keeper: replaced: this podlaned's fds handed" "$WORK/node.log" ||
	fail "podlaned did not move to the new standing keeper: $(tail -5 "$WORK/node.log")"
under_pings "kill after the keeper was replaced" KILL 2
ok "standing keeper replaced under a running podlaned: its fds handed to the new one, which holds them across a kill"
echo "keeper: all passed"
