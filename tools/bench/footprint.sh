#!/usr/bin/env bash
# Footprint of podlaned with two TAP pods, on hugepages (EAL's dynamic
# memory: pages are taken as they are needed) and with --no-huge -m 512 (the
# shipped config): resident memory, hugepages in use, CPU while idle, time
# from start to API ready and to the first packet forwarded between the two
# pods when they are restored from state after a restart.
#
#   tools/bench/footprint.sh [--quick]        (root; sets up what it needs)
#
# Writes $OUT (JSON) and prints a table.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start -- "$@"
IDLE_SECS=${IDLE_SECS:-$([ $QUICK = 1 ] && echo 2 || echo 10)}
OUT=${OUT:-$BUILD/bench-footprint.json}
HZ=$(getconf CLK_TCK)

hp_free() { awk '/HugePages_Free/ {print $2}' /proc/meminfo; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, all threads
now() { date +%s.%N; }

# The first datagram pod b receives from pod a after podlaned starts: a
# sender in a tries every millisecond (failing while a has no interface or
# route), a receiver in b prints when the first one arrives.
probe() { # B_IP NODE: sets READY and FIRST (seconds from exec)
	local b_ip=$1
	ip netns exec "$2b" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999)); s.settimeout(30)
s.recvfrom(16); print("%.6f" % time.time())' >"$WORK/first" &
	local rx=$!
	ip netns exec "$2a" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 30
while time.time() < end:
    try: s.sendto(b"x", (sys.argv[1], 9999))
    except OSError: pass
    time.sleep(0.001)' "$b_ip" &
	echo $! >"$WORK/sender.pid"
	at_exit "stop_pid $WORK/sender.pid"
	sleep 0.2 # the receiver is bound
	local t0; t0=$(now)
	ip netns exec "$2" "$PODLANED" --config "$WORK/$2.json" >>"$WORK/$2.log" 2>&1 &
	echo $! >"$WORK/$2.pid"
	local end=$((SECONDS + 30)) # wait_for's 0.1 s steps are too coarse here
	until ctl "$2" node >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || fail "podlaned on $2 did not come back"
		sleep 0.005
	done
	READY=$(python3 -c "print($(now) - $t0)")
	wait $rx || fail "no packet from pod a reached pod b after the restart"
	stop_pid "$WORK/sender.pid"
	FIRST=$(python3 -c "print($(cat "$WORK/first") - $t0)")
}

fabric 172.31.102.1/24
: >"$WORK/rows.jsonl"
i=0
for mode in hugepages no-huge; do
	i=$((i + 1)) node=f$i
	# No -m on hugepages: EAL maps pages as it needs them, so the count is
	# what podlaned uses (-n is only there to keep the list non-empty).
	EAL_MEM=$([ $mode = hugepages ] && echo "-n 4" || echo "--no-huge -m 512")
	free0=$(hp_free)
	start_node $node "172.31.102.10$i/24" "100.96.24$i.0/24" 1
	for p in a b; do netns_add "$node$p"; ctl $node pod add "$node$p" "/run/netns/$node$p" eth0 >/dev/null; done
	b_ip=$(ip -n "${node}b" -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
	ip netns exec "${node}a" ping -c1 -W2 "$b_ip" >/dev/null || fail "pods on $node cannot reach each other"
	pid=$(cat "$WORK/$node.pid")
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
	hp_used=$((free0 - $(hp_free)))
	c0=$(cpu_ticks "$pid")
	sleep "$IDLE_SECS"
	idle=$(python3 -c "print(100.0 * ($(cpu_ticks "$pid") - $c0) / $HZ / $IDLE_SECS)")
	stop_pid "$WORK/$node.pid"
	probe "$b_ip" $node
	stop_pid "$WORK/$node.pid"
	echo "{\"mode\": \"$mode\", \"eal_memory\": \"$([ $mode = hugepages ] && echo dynamic || echo "$EAL_MEM")\", \"rss_mib\": $((rss / 1024))," \
		"\"hugepages_2m\": $hp_used, \"idle_cpu_percent\": $idle, \"ready_s\": $READY," \
		"\"first_packet_s\": $FIRST}" >>"$WORK/rows.jsonl"
done

python3 - "$OUT" "$IDLE_SECS" "$WORK/rows.jsonl" <<'PY'
import json, sys
out, secs, rows = sys.argv[1], sys.argv[2], [json.loads(l) for l in open(sys.argv[3])]
print("podlaned footprint, 1 worker, 2 TAP pods (idle CPU over %s s)" % secs)
print("| memory | RSS MiB | hugepages (2 MiB) | idle CPU % of a core | start -> API ready s | start -> first forwarded packet s |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| %s (%s) | %d | %d | %.2f | %.2f | %.2f |" % (r["mode"], r["eal_memory"], r["rss_mib"], r["hugepages_2m"],
          r["idle_cpu_percent"], r["ready_s"], r["first_packet_s"]))
json.dump({"idle_seconds": float(secs), "results": rows}, open(out, "w"), indent=1)
for r in rows:
    assert r["rss_mib"] > 0 and r["first_packet_s"] > 0, r
PY
