#!/usr/bin/env bash
# Operating podlaned with the tools people already use: Prometheus
# /metrics (checked with prometheus_client's parser), dpdk-dumpcap,
# podlanectl trace and stats --watch, log levels, rate-limited logs and
# journald priority prefixes.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
ip -n fab route add 100.96.243.0/24 via 172.31.102.105
# dpdk-dumpcap (a secondary process, below) maps podlaned's memory at the
# addresses podlaned chose; under ASan those can collide with dumpcap's own
# mappings ("Cannot get a virtual area"), so pin them where neither maps.
EAL_MEM="$EAL_MEM --base-virtaddr 0x200000000000"
# dpdk-dumpcap captures ethdevs only: DPDK's af_packet PMD as the uplink.
UPLINK="net_af_packet0,iface=up0"
start_node node 172.31.102.105/24 100.96.243.0/24 2 '"metrics_listen": "127.0.0.1:9464", "log_level": "debug", "worker_nice": 3,'
netns_add pa
netns_add pb
ctl node pod add ctr-a /run/netns/pa eth0 >/dev/null
# Pod b through the CNI plugin with kubelet's CNI_ARGS: its Kubernetes name labels its series.
POD_ARGS="K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d9f" cni_add node pb ctr-b >/dev/null
A=100.96.243.1 B=100.96.243.2
[ "$(worker_nices "$(cat "$WORK/node.pid")")" = "3 3" ] ||
	fail "workers' nice: $(worker_nices "$(cat "$WORK/node.pid")"), want worker_nice 3"
wait_for 10 ip netns exec pa ping -c 1 -W 1 $B || fail "pod a cannot reach pod b"
ip netns exec pa ping -q -c 20 -i 0.01 $B >/dev/null || fail "pings lost"
ctl node route del 1.2.3.0/24 2>/dev/null && fail "deleting a missing route succeeded"
# The PMD uplink takes no TSO: pod a's GSO frames are segmented (rte_gso)
# with checksums completed in software on the way out. The fabric host is
# a local stack on a veth, which leaves TCP checksums partial, as no wire
# does; the PMD cannot tell (podlaned's own af_packet: uplink can), so the
# fabric checksums in software like a host behind a NIC.
ip netns exec fab ethtool -K f-node tx off >/dev/null || fail "ethtool -K f-node tx off"
tcp_bulk_check pa fab 172.31.102.1 16
tcp_bulk_check fab pa $A 16
ok "16 MiB pod -> off-node host and back intact over the af_packet PMD (software GSO)"

# --- Prometheus: the real parser (Debian's, hence /usr/bin/python3), then
# values a user would alert on.
scrape() { ip netns exec node curl -sS --max-time 5 "$@"; }
scrape -o "$WORK/metrics.txt" http://127.0.0.1:9464/metrics || fail "cannot scrape /metrics"
/usr/bin/python3 - "$WORK/metrics.txt" <<'PY' || fail "metrics wrong (above)"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def val(name, **labels):
    for s in fams[name].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()) and s.name.startswith(name):
            return s.value
    raise SystemExit("no sample %s%s" % (name, labels))
assert val("podlane_pods") == 2, val("podlane_pods")
assert val("podlane_ready") == 1
assert val("podlane_uplink_present") == 1
assert val("podlane_fragmented") == 0
assert val("podlane_routes") >= 4
# Counters lose their _total suffix in the parser's family names.
assert val("podlane_port_rx_packets", port="tap_p243_1", kind="pod") >= 21
assert val("podlane_port_tx_packets", port="tap_p243_2", kind="pod", namespace="shop", pod="cart-7d9f") >= 21
assert val("podlane_drops", reason="no_route") == 0
assert val("podlane_api_requests", method="pod.add", result="ok") == 2
assert val("podlane_api_requests", method="route.del", result="error") == 1
assert 0 <= val("podlane_worker_busy_ratio", worker="0") <= 1
assert val("podlane_worker_busy_seconds", worker="1") >= 0
for f in fams.values():
    assert f.documentation and f.type in ("counter", "gauge"), f.name
print("%d metric families" % len(fams))
PY
ok "/metrics parses with prometheus_client and counts pods, packets, API calls, worker load"
code() { scrape -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code http://127.0.0.1:9464/)" = 404 ] || fail "/ is not 404"
[ "$(code -X POST http://127.0.0.1:9464/metrics)" = 405 ] || fail "POST is not 405"
# A client that connects and says nothing must not stop the next scrape.
ip netns exec node python3 -c '
import socket, time
s = socket.create_connection(("127.0.0.1", 9464)); time.sleep(3)' &
silent=$!
sleep 0.2
scrape -o /dev/null http://127.0.0.1:9464/metrics || fail "scrape failed while a client stalls"
wait $silent
ok "404, 405 and a stalled client handled"

# --- dpdk-telemetry.py, the operator's own client, against our commands.
command -v dpdk-telemetry.py >/dev/null || fail "dpdk-telemetry.py missing (package dpdk-dev)"
printf '/podlane/info\n/podlane/drops\n' | dpdk-telemetry.py -f "pl-node-$$" >"$WORK/tel.txt" 2>&1 ||
	fail "dpdk-telemetry.py: $(cat "$WORK/tel.txt")"
grep -q '{"/podlane/info": {"pods": 2, "routes": [0-9]*, "free_ips": 252, "workers": 2, "routes_ipv6": 0, "ipv4_packets": [0-9]*, "ipv6_packets": 0}}' "$WORK/tel.txt" ||
	fail "telemetry info: $(cat "$WORK/tel.txt")"
grep -q '"/podlane/drops": {"not_ipv4": 0' "$WORK/tel.txt" || fail "telemetry drops: $(cat "$WORK/tel.txt")"
ok "dpdk-telemetry.py -f <file-prefix> runs /podlane/info and /podlane/drops"

# --- podlanectl trace: the dataplane's own decision.
out=$(ctl node trace $B)
grep -q "^route     $B/32 dev tap_p243_2 (pod)$" <<<"$out" || fail "trace route: $out"
grep -q "^action    forward$" <<<"$out" || fail "trace action: $out"
grep -q "^mac       0a:58:64:60:f3:02$" <<<"$out" || fail "trace mac: $out"
grep -q "^pod       ctr-b/eth0$" <<<"$out" || fail "trace pod: $out"
out=$(ctl node trace 172.31.102.1)
grep -q "^next_hop  172.31.102.1$" <<<"$out" || fail "trace connected: $out"
out=$(ctl node trace 172.31.102.105)
grep -q "^action    local$" <<<"$out" || fail "trace node address: $out"
out=$(ctl node trace 8.8.8.8)
grep -q "^action    unreachable$" <<<"$out" || fail "trace without route: $out"
ctl node trace 300.1.1.1 2>"$WORK/err" && fail "trace of a bad address succeeded"
grep -q "address: '300.1.1.1' is not an IPv4 or IPv6 address" "$WORK/err" || fail "bad trace error: $(cat "$WORK/err")"
ok "trace shows route, action, port, next hop, MAC and pod"

# --- stats --watch: rates while a flow runs.
ip netns exec pa ping -q -c 150 -i 0.01 $B >/dev/null &
ping_pid=$!
ctl node stats --watch 0.5 2 >"$WORK/watch.txt"
wait $ping_pid
[ "$(grep -c '^PORT ' "$WORK/watch.txt")" = 2 ] || fail "stats --watch printed $(cat "$WORK/watch.txt")"
awk '$1 == "tap_p243_1" && $2 > 20 {found=1} END {exit !found}' "$WORK/watch.txt" ||
	fail "no rx rate on pod a's port: $(cat "$WORK/watch.txt")"
grep -q "^worker 0 busy [0-9.]*%, worker 1 busy" "$WORK/watch.txt" || fail "no worker load line"
ctl node stats --watch 0 2>"$WORK/err" && fail "--watch 0 accepted"
grep -q "SECONDS must be a number from 0.1 to 3600" "$WORK/err" || fail "bad --watch error"
ok "stats --watch prints per-second rates and worker load"

# --- logs: levels, one line per change, no flood from unreachable neighbours.
grep -q "podlaned: pod add ctr-a/eth0 ip $A" "$WORK/node.log" || fail "no pod add log line"
grep -q "podlaned: debug: client pid" "$WORK/node.log" || fail "log_level debug shows no debug lines"
# 40 on-link addresses nobody answers: each fails after 3 ARP probes.
pings=()
for i in $(seq 10 49); do ip netns exec pa ping -c 1 -W 1 172.31.102.$i >/dev/null 2>&1 & pings+=($!); done
for p in "${pings[@]}"; do wait "$p" || true; done
wait_for 10 grep -q "no ARP reply" "$WORK/node.log" || fail "no log line for a failed neighbour"
sleep 4
n=$(grep -c "no ARP reply" "$WORK/node.log")
[ "$n" -le 10 ] || fail "$n log lines for failed neighbours (limit 10 per 5 s)"
ok "failed neighbours logged $n times for 40 failures (rate limited)"
# journald: stderr that is the journal's stream gets <priority> prefixes.
echo '{"node_ip": "10.0.0.1/24", "pod_cidr": "100.96.1.0/24", "uplink": "net_null0",
       "socket": "'$WORK'/j.sock", "state_dir": "'$WORK'/j", "eal": ["--no-huge", "-m", "64",
       "--file-prefix", "pl-j-'$$'", "-l", "0"], "workers": 1}' >"$WORK/j.json"
: >"$WORK/j.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/j.log") "$PODLANED" --config "$WORK/j.json" 2>>"$WORK/j.log" >&2 &&
	fail "podlaned started with one lcore for one worker"
grep -q "^<3>podlaned: error: start-up failed: workers is 1 but EAL has 1 lcores" "$WORK/j.log" ||
	fail "no journald priority prefix: $(cat "$WORK/j.log")"
ok "under journald, lines carry their syslog priority"

# --- podlanectl capture on this DPDK (net_af_packet PMD) uplink: the
# fabric's pings to pod a in, the replies out.
ip netns exec fab ping -c 1 -W 2 $A >/dev/null || fail "the fabric cannot reach pod a"
"$PODLANECTL" -s "$WORK/node.sock" capture uplink -c 4 icmp >"$WORK/pcap.txt" 2>"$WORK/pcap.err" &
pcap_pid=$!
wait_for 10 captures node 1 || fail "podlanectl capture on the uplink did not start: $(cat "$WORK/pcap.err")"
ip netns exec fab ping -c 2 -i 0.2 $A >/dev/null || fail "ping during capture failed"
wait $pcap_pid || fail "podlanectl capture: $(cat "$WORK/pcap.err")"
[ "$(grep -c "^[0-9:.]* in  IP 172.31.102.1 > $A: ICMP echo request" "$WORK/pcap.txt")" = 2 ] &&
	[ "$(grep -c "^[0-9:.]* out IP $A > 172.31.102.1: ICMP echo reply" "$WORK/pcap.txt")" = 2 ] ||
	fail "podlanectl capture on a DPDK uplink: $(cat "$WORK/pcap.txt")"
ok "podlanectl capture on a DPDK uplink: the pings in, the replies out"

# --- dpdk-dumpcap: capture a ping to a pod on the uplink (an ethdev; pod
# TAPs are not) and read it back with tcpdump.
if [[ "$EAL_MEM" == *--no-huge* ]]; then
	echo "skip - dpdk-dumpcap needs hugepages (multi-process shared memory); none here"
	exit 0
fi
command -v dpdk-dumpcap >/dev/null || fail "dpdk-dumpcap missing (package dpdk-dev)"
# ARP resolved both ways first, so the capture holds the four ICMP packets.
ip netns exec fab ping -c 1 -W 2 $A >/dev/null || fail "the fabric cannot reach pod a"
# dumpcap takes no EAL arguments, so no --no-pci: hide the PCI bus from it
# instead (in the mount namespace `ip netns exec` makes, after it has
# mounted its own /sys), so it never even looks at the machine's devices.
ip netns exec node sh -c 'mount -t tmpfs pl-nopci /sys/bus/pci/devices && exec "$@"' sh \
	dpdk-dumpcap --file-prefix "pl-node-$$" -i net_af_packet0 -f icmp -p -c 4 -P \
	-w "$WORK/cap.pcap" >"$WORK/dumpcap.log" 2>&1 &
dump_pid=$!
echo $dump_pid >"$WORK/dumpcap.pid"
at_exit "stop_pid $WORK/dumpcap.pid"
# Its progress line ("Packets captured: N") starts once capture is on.
wait_for 15 grep -q "Packets captured" "$WORK/dumpcap.log" || fail "dumpcap did not start: $(cat "$WORK/dumpcap.log")"
ip netns exec fab ping -c 2 -i 0.2 $A >/dev/null || fail "ping during capture failed"
for _ in $(seq 100); do kill -0 $dump_pid 2>/dev/null || break; sleep 0.1; done
kill -0 $dump_pid 2>/dev/null && fail "dumpcap did not get its 4 packets: $(cat "$WORK/dumpcap.log")"
tcpdump -nr "$WORK/cap.pcap" 2>/dev/null >"$WORK/cap.txt"
grep -q "IP 172.31.102.1 > $A: ICMP echo request" "$WORK/cap.txt" || fail "no echo request in capture: $(cat "$WORK/cap.txt")"
grep -q "IP $A > 172.31.102.1: ICMP echo reply" "$WORK/cap.txt" || fail "no echo reply in capture: $(cat "$WORK/cap.txt")"
ok "dpdk-dumpcap captured a ping to pod a on the uplink (read back with tcpdump)"
