#!/usr/bin/env bash
# What podlaned answers is what a restart brings back (issue 30): a change
# it cannot write to state_dir is refused (an add, undone) or written again
# until it can be (a delete); a route a deleted pod took with it stays
# gone across restarts.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

# state_dir on a small tmpfs of its own, to fill up.
st=$WORK/node.state
mkdir -p "$st"
mount -t tmpfs -o size=256k pl-state "$st"
at_exit "umount -l $st"
fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 1
netns_add pa
netns_add pb
netns_add pc
ctl node pod add ctr-a /run/netns/pa eth0 >/dev/null
ctl node route add 100.96.244.0/24 via 172.31.102.106 >/dev/null
ctl node route add 100.96.245.0/24 via 172.31.102.106 >/dev/null
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1"; }

# Full: every free page taken, the .prev copies (rewritten in place) too.
fill() { dd if=/dev/zero of="$st/fill$1" bs=4k >/dev/null 2>&1 || true; }
fill 1
for f in "$st"/*.prev; do : >"$f"; done
fill 2
pods=$(ctl node pod list)
routes=$(ctl node route list)
free=$(ctl node -o json node | python3 -c 'import json,sys; print(json.load(sys.stdin)["free_ips"])')
saved=$(cat "$st/state.json")
full="cannot save the state in $st: No space left on device"

out=$(ctl node pod add ctr-b /run/netns/pb eth0 2>&1) && fail "pod add answered success on a full state_dir: $out"
grep -qF "$full; nothing was changed" <<<"$out" || fail "pod add on a full state_dir: $out"
[ "$(ctl node pod list)" = "$pods" ] || fail "the refused pod is listed: $(ctl node pod list)"
ip -n pb link show eth0 >/dev/null 2>&1 && fail "the refused pod's interface is left in its netns"
[ "$(ctl node -o json node | python3 -c 'import json,sys; print(json.load(sys.stdin)["free_ips"])')" = "$free" ] ||
	fail "the refused pod's address was not given back"
out=$(ctl node route add 100.96.246.0/24 via 172.31.102.106 2>&1) && fail "route add answered success: $out"
grep -qF "$full; nothing was changed" <<<"$out" || fail "route add on a full state_dir: $out"
[ "$(ctl node route list)" = "$routes" ] || fail "the refused route is in the table"
[ "$(cat "$st/state.json")" = "$saved" ] || fail "state.json changed"
for f in "$st"/*.json.prev; do [ ! -s "$f" ] || json_ok "$f" || fail "$f is half-written"; done
ok "full state_dir: pod.add and route.add refused with the reason, nothing changed, no half-written copy"

out=$(ctl node route del 100.96.245.0/24 2>&1) && fail "route del answered success: $out"
grep -qF "$full; the change is made and is saved again every second" <<<"$out" || fail "route del: $out"
grep -q "^100.96.245.0/24 " <<<"$(ctl node route list)" && fail "route del did not take effect"
rm "$st"/fill*
saved_del() { ! grep -q 100.96.245.0/24 "$st/routes.json"; }
wait_for 5 saved_del || fail "routes.json still holds the deleted route once there is room"
routes=$(ctl node route list)
stop_pid "$WORK/node.pid"
start_again node
[ "$(ctl node route list)" = "$routes" ] || fail "routes after restart: $(ctl node route list)"
[ "$(ctl node pod list)" = "$pods" ] || fail "pods after restart: $(ctl node pod list)"
ok "route.del on a full state_dir: applied, written once there is room, the restart agrees"

# A route through a pod's port goes with the pod, from routes.json too: the
# next pod given that address (and port name) must not inherit it.
port=$(ctl node -o json pod list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["port"])')
ctl node route add 100.97.50.0/24 dev "$port" >/dev/null
grep -q "^100.97.50.0/24 *dev $port " <<<"$(ctl node route list)" || fail "no route through $port"
ctl node pod del ctr-a eth0 >/dev/null
grep -q 100.97.50.0/24 "$st/routes.json" && fail "routes.json keeps the deleted pod's route"
ctl node pod add ctr-c /run/netns/pc eth0 >/dev/null
[ "$(ctl node -o json pod list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["port"])')" = "$port" ] ||
	fail "the new pod has another port name: this check needs the same"
stop_pid "$WORK/node.pid"
start_again node
grep -q "^100.97.50.0/24 " <<<"$(ctl node route list)" && fail "the deleted pod's route came back on $port"
ok "a route through a deleted pod's port stays gone after a restart"
echo "state: all passed"
