#!/usr/bin/env bash
# import_table when the kernel loses events for podlaned: a table filled
# (and then emptied) while podlaned cannot read its netlink socket (it is
# stopped), far more than the socket can queue. The kernel drops what
# does not fit (ENOBUFS); podlaned must say so and end with exactly the
# kernel's table by reading it whole once the events stop.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

N=100000
fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1 '"import_table": 100, "max_routes": 131072,'
PID=$(cat "$WORK/n1.pid")
at_exit "kill -CONT $PID" # a stopped podlaned would not stop
routes() { ctl n1 -o json node | python3 -c 'import json,sys; print(json.load(sys.stdin)["routes"])'; }
holds() { [ "$(routes)" = "$1" ]; }
lost_logged() { [ "$(grep -c "events were lost (too many at once): reading table 100 whole" "$WORK/n1.log")" -ge "$1" ]; }
base=$(routes)
# N /24s from 16.0.0.0/24 on, via the fabric's gateway.
kbatch() { # add|del
	python3 -c 'import sys
for i in range(int(sys.argv[2])):
    print("route %s %d.%d.%d.0/24 via 172.31.102.1 table 100" % (sys.argv[1], 16 + (i >> 16), (i >> 8) & 255, i & 255))' \
		"$1" "$N" | ip -n n1 -batch -
}

kill -STOP "$PID"
kbatch add
kill -CONT "$PID"
wait_for 60 holds $((base + N)) || fail "podlaned holds $(routes) routes, not $((base + N)), after a lost burst"
lost_logged 1 || fail "no log line said events were lost"
grep -q "^16.1.134.0/24  *via 172.31.102.1  *kernel$" <<<"$(ctl n1 route list)" ||
	fail "kernel route 16.1.134.0/24 not mirrored as it is"
ok "$N kernel routes added while podlaned could not read: all mirrored after one resync"

# The other way: the table emptied (a flush: deletions by the thousand)
# while podlaned is stopped, one kernel route kept.
kill -STOP "$PID"
ip -n n1 route flush table 100
ip -n n1 route add 198.51.100.0/24 via 172.31.102.1 table 100
kill -CONT "$PID"
wait_for 60 holds $((base + 1)) || fail "podlaned holds $(routes) routes, not $((base + 1)), after a lost flush"
lost_logged 2 || fail "the second loss was not logged"
out=$(ctl n1 route list)
grep -q "^198.51.100.0/24  *via 172.31.102.1  *kernel$" <<<"$out" || fail "the kept kernel route is gone: $out"
[ -z "$(grep "^16\." <<<"$out")" ] || fail "flushed kernel routes are still mirrored"
ok "a flushed table while podlaned could not read: the flushed routes gone, the kept one there"
