#!/usr/bin/env bash
# Churn under traffic: CHURN_CYCLES (default 1000) pod add/del cycles and
# repeated 100k-route route.replace_all while iperf3 (UDP, fixed rate) and
# a fast ping run between two other pods. Asserts zero API errors, zero
# loss on the untouched flows, and podlaned's open fds and mbufs in use
# back to their baseline afterwards (leaks: LeakSanitizer in the ASan run).
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
CYCLES=${CHURN_CYCLES:-1000}

fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 2 '"max_request_mb": 8, "max_routes": 262144,'
netns_add pa
netns_add pb
netns_add pc
ctl node pod add flow-a /run/netns/pa eth0 >/dev/null
ctl node pod add flow-b /run/netns/pb eth0 >/dev/null
A=100.96.243.1 B=100.96.243.2
wait_for 10 ip netns exec pa ping -c 1 -W 1 $B || fail "pod a cannot reach pod b"

pid=$(cat "$WORK/node.pid")
usage() { # open fds and mbufs in use
	echo "$(ls /proc/$pid/fd | wc -l) $(ctl node -o json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["mbufs_in_use"])')"
}
# One cycle first, so lazily created things (the DQ, caches) are in the baseline.
ctl node pod add warm /run/netns/pc eth0 >/dev/null && ctl node pod del warm eth0 >/dev/null
read -r fds0 mbufs0 < <(usage)

# Untouched flows: UDP iperf3 at a fixed rate (reports lost datagrams) and a ping every 10 ms.
ip netns exec pb iperf3 -s -D -p 5201 --pidfile "$WORK/iperf.pid"
at_exit "stop_pid $WORK/iperf.pid"
wait_for 5 ip netns exec pb sh -c "ss -ltn | grep -q :5201"
ip netns exec pa iperf3 -c $B -p 5201 -u -b 20M -l 1200 -t 600 -J >"$WORK/iperf.json" 2>&1 &
iperf_pid=$!
ip netns exec pa ping -i 0.01 $B >"$WORK/ping.txt" 2>&1 &
ping_pid=$!
sleep 1

start=$SECONDS
python3 - "$WORK/node.sock" "$CYCLES" >"$WORK/churn.txt" <<'PY' || { cat "$WORK/churn.txt"; fail "API errors during churn"; }
import json, socket, sys, time
sock, cycles = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX); s.connect(sock); f = s.makefile("rwb")
n = errors = 0
slowest = {}
def call(method, params):
    global n, errors
    n += 1
    t = time.time()
    f.write(json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params}).encode() + b"\n")
    f.flush()
    r = json.loads(f.readline())
    slowest[method] = max(slowest.get(method, 0), time.time() - t)
    if "error" in r:
        errors += 1
        print("error: %s %s" % (method, r["error"]), flush=True)
    return r.get("result")
def table(shift):  # 100k /32s in 10.0.0.0/8, half of them shared with the next table
    return [{"prefix": "10.%d.%d.%d/32" % ((i >> 16) & 255, (i >> 8) & 255, i & 255), "via": "172.31.102.1"}
            for i in range(shift, shift + 100000)]
replaced, t_replace = 0, 0.0
t0 = time.time()
for c in range(cycles):
    call("pod.add", {"container_id": "churn-%d" % c, "netns": "/run/netns/pc", "ifname": "eth0"})
    call("pod.del", {"container_id": "churn-%d" % c, "ifname": "eth0"})
    if c % max(cycles // 4, 1) == 0:
        t = time.time()
        r = call("route.replace_all", {"origin": "churn", "routes": table(50000 * (replaced % 2))})
        t_replace += time.time() - t
        replaced += 1
t = time.time()
call("route.replace_all", {"origin": "churn", "routes": []})
t_replace += time.time() - t
print("cycles %d, replace_all x%d (100k routes) in %.1f s total, %d calls, %d errors, %.1f s" %
      (cycles, replaced + 1, t_replace, n, errors, time.time() - t0))
print("slowest call: " + ", ".join("%s %.3f s" % kv for kv in sorted(slowest.items())))
sys.exit(1 if errors else 0)
PY
churn_s=$((SECONDS - start))
kill -INT $ping_pid; wait $ping_pid || true
kill -INT $iperf_pid; wait $iperf_pid || true
cat "$WORK/churn.txt"

# Lost = a sequence number never answered; the request in flight when ping
# was interrupted (the last one) is not a loss.
read -r sent missing < <(python3 -c '
import re, sys
t = open(sys.argv[1]).read()
sent = int(re.search(r"(\d+) packets transmitted", t).group(1))
got = {int(s) for s in re.findall(r"icmp_seq=(\d+) ttl", t)}
print(sent, ",".join(str(s) for s in range(1, sent) if s not in got) or "none")' "$WORK/ping.txt") ||
	fail "ping did not run: $(tail -3 "$WORK/ping.txt")"
[ "$sent" -gt 100 ] || fail "ping did not run: $(tail -3 "$WORK/ping.txt")"
[ "$missing" = none ] || fail "ping lost icmp_seq $missing of $sent during churn"
read -r lost total < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["end"]["sum"]
print(d["lost_packets"], d["packets"])' "$WORK/iperf.json") || fail "no iperf3 result: $(tail -5 "$WORK/iperf.json")"
[ "$total" -gt 1000 ] || fail "iperf3 moved only $total datagrams"
[ "$lost" = 0 ] || fail "iperf3 lost $lost of $total datagrams during churn"
ok "churn ($CYCLES pod cycles + 100k-route replace_all, ${churn_s} s): 0 API errors, ping 0/$sent lost, UDP 0/$total lost"

grep -q "churn" <<<"$(ctl node route list)" && fail "churn routes left behind"
wait_for 10 sh -c "[ \"\$(ls /proc/$pid/fd | wc -l)\" = $fds0 ]" || fail "open fds $(ls /proc/$pid/fd | wc -l), baseline $fds0"
settled() { read -r _ m < <(usage); [ "$m" = "$mbufs0" ]; }
wait_for 10 settled || fail "mbufs in use $(usage | cut -d' ' -f2), baseline $mbufs0"
ok "open fds ($fds0) and mbufs in use ($mbufs0) back to baseline"
