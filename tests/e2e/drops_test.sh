#!/usr/bin/env bash
# The drop recorder (podlanectl drops): after the fact, a spoofed packet
# and a TTL-expired one are there with their reasons, the pod they came
# from and their headers; filters by reason and pod; -w writes pcapng that
# tcpdump reads; bad filters get the exact error; drop_records 0 turns it off.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

fabric 172.31.102.1/24
start_node n1 172.31.102.101/24 100.96.241.0/24 1
for p in a b; do netns_add p$p; done
A=$(cni_add n1 pa pod-a)
B=$(cni_add n1 pb pod-b)

# A pod sending from an address that is not its own, and a ping whose TTL
# runs out at podlaned. (A good ping first: the pod knows its gateway's MAC,
# so the spoofed pings leave at once; its ARP requests from the spoofed
# address would be dropped too, and it might never send them.)
ip netns exec pa ping -c 1 -W 2 "$B" >/dev/null || fail "pod a cannot reach pod b"
ip -n pa addr add 100.96.9.9/32 dev eth0
ip netns exec pa ping -c 2 -W 1 -I 100.96.9.9 "$B" >/dev/null 2>&1 && fail "a spoofed ping got an answer"
ip netns exec pa ping -c 1 -W 1 -t 1 "$B" >/dev/null 2>&1 && fail "a ping with TTL 1 reached another pod"

out=$(ctl n1 drops)
echo "$out"
grep -q "^TIME  *REASON  *PORT  *POD  *LENGTH  *PACKET" <<<"$out" || fail "no table header"
[ "$(grep -c " spoofed .* pod-a  *98  *100.96.9.9 > $B icmp type 8 code 0 ttl 64$" <<<"$out")" = 2 ] ||
	fail "the two spoofed pings are not recorded with their reason, pod and headers"
grep -q " ttl_exceeded .* pod-a  *98  *$A > $B icmp type 8 code 0 ttl 1$" <<<"$out" ||
	fail "the TTL-expired ping is not recorded"
ok "spoofed and TTL-expired packets recorded with reason, port, pod and headers"

# (The pod's ARP requests from the spoofed address are dropped too.)
count() { grep -c "$1" <<<"$(ctl n1 drops "${@:2}")" || true; } # PATTERN ARGS...
all=$(count ' pod-a ')
spoofed=$(count ' spoofed ')
[ "$all" = $((spoofed + 1)) ] || fail "expected only spoofed drops and one TTL drop"
[ "$(count ' ttl_exceeded ' --reason ttl_exceeded)" = 1 ] || fail "--reason ttl_exceeded"
[ "$(count ' pod-a ' --reason spoofed)" = "$spoofed" ] || fail "--reason spoofed"
[ "$(count ' spoofed ' --reason spoofed --limit 1)" = 1 ] || fail "--limit 1"
[ "$(count ' pod-a ' --pod pod-a)" = "$all" ] || fail "--pod pod-a"
[ "$(count ' pod-' --pod pod-b)" = 0 ] || fail "--pod pod-b lists another pod's drops"
json=$(ctl n1 -o json drops --reason spoofed)
python3 -c 'import json, sys
d = [d for d in json.loads(sys.argv[1])["drops"] if d.get("protocol")][0]
assert d["src"] == "100.96.9.9" and d["protocol"] == "icmp" and d["reason"] == "spoofed", d
assert len(d["data"]) == 2 * 98, len(d["data"])' "$json" || fail "drops.list JSON: $json"
ok "filters by reason, pod and count; JSON with the captured bytes"

out=$(ctl n1 drops -w "$WORK/drops.pcapng")
[ "$out" = "$all dropped packet(s) written to $WORK/drops.pcapng" ] || fail "-w: $out"
read_back=$(tcpdump -n -r "$WORK/drops.pcapng" 2>/dev/null)
echo "$read_back"
[ "$(grep -c "IP 100.96.9.9 > $B: ICMP echo request" <<<"$read_back")" = 2 ] || fail "tcpdump -r: the spoofed pings"
grep -q "IP $A > $B: ICMP echo request" <<<"$read_back" || fail "tcpdump -r: the TTL-expired ping"
ok "-w FILE: pcapng that tcpdump reads"

for bad in "--reason spoofd|reason: 'spoofd' is not a drop reason (not_ipv4, bad_ip_header, bad_checksum, ttl_exceeded, no_route, blackhole, not_for_us, arp_invalid, arp_queue_full, arp_failed, tx_full, slowpath_full, no_mbuf, spoofed, tx_error, mtu_exceeded, conntrack_full, no_backend, nat_fragment, policy, ndp_invalid, no_ipv4)" \
	"--pod nope|pod: no pod 'nope'"; do
	out=$(ctl n1 drops ${bad%%|*} 2>&1) && fail "drops ${bad%%|*} succeeded"
	[ "$out" = "podlanectl: ${bad#*|}" ] || fail "drops ${bad%%|*}: got '$out'"
done
out=$(ctl n1 drops --limit 2>&1) && fail "drops --limit without N succeeded"
grep -q "^podlanectl: drops: \[--reason REASON\]" <<<"$out" || fail "usage: $out"
ok "bad filters get the exact error"

stop_pid "$WORK/n1.pid"
start_node n2 172.31.102.102/24 100.96.242.0/24 1 '"drop_records": 0,'
[ "$(ctl n2 drops)" = "the drop recorder is off (drop_records: 0 in podlaned's config)" ] || fail "drop_records 0"
ok "drop_records 0: no recorder"
echo "drops: all passed"
