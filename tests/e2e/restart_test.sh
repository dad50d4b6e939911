#!/usr/bin/env bash
# podlaned restarted: pods keep their IPs and interfaces, routes are back
# from the state file, traffic flows again.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
ip -n fab route add 100.96.243.0/24 via 172.31.102.105
start_node node 172.31.102.105/24 100.96.243.0/24 1
netns_add pa
netns_add pb
ctl node pod add ctr-a /run/netns/pa eth0 >/dev/null
ctl node pod add ctr-b /run/netns/pb eth0 >/dev/null
ctl node route add 100.96.244.0/24 via 172.31.102.106 >/dev/null
ip netns exec pa ping -c 1 -W 2 100.96.243.2 >/dev/null || fail "no traffic before the restart"
routes_before=$(ctl node route list)
pods_before=$(ctl node pod list)

stop_pid "$WORK/node.pid"
ip -n pa link show eth0 >/dev/null 2>&1 && fail "pod TAP outlived the daemon"
ip netns exec node "$PODLANED" --config "$WORK/node.json" >>"$WORK/node.log" 2>&1 &
echo $! >"$WORK/node.pid"
wait_for 30 ctl node node || fail "podlaned did not come back"

[ "$(ctl node route list)" = "$routes_before" ] || fail "routes differ after restart: $(ctl node route list)"
[ "$(ctl node pod list)" = "$pods_before" ] || fail "pods differ after restart: $(ctl node pod list)"
[ "$(ip -n pa -4 -o addr show eth0 | awk '{print $4}')" = "100.96.243.1/32" ] || fail "pod a lost its address"
[ "$(cat /sys/class/net/lo/address)" ] # sanity: sysfs readable
mac=$(ip -n pa -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
[ "$mac" = "0a:58:64:60:f3:01" ] || fail "pod a's MAC changed to $mac"
wait_for 10 ip netns exec pa ping -c 1 -W 1 100.96.243.2 || fail "no pod traffic after restart"
ok "pods, addresses, MACs and routes restored; traffic flows"
echo "restart: all passed"
