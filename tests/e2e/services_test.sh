#!/usr/bin/env bash
# Services balanced by podlaned itself (no kube-proxy): ClusterIP, NodePort,
# external IPs, externalTrafficPolicy, session affinity, hairpin, a service
# without endpoints, a backend removed under traffic, a full connection
# table and a restart, on two nodes and an off-cluster host (the fabric,
# 172.31.102.1). Each cell of the table says which backends answer and
# the address they see the client at, as the Kubernetes documentation has
# it ("Virtual IPs and Service Proxies", "Using Source IP").
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

LIB=$E2E_TOP/tests/e2e/lib
FAB=172.31.102.1 N1=172.31.102.101 N2=172.31.102.102
fabric $FAB/24
start_node n1 $N1/24 100.96.241.0/24 2 '"service_cidr": "10.96.0.0/12", "metrics_listen": "127.0.0.1:9464",'
start_node n2 $N2/24 100.96.242.0/24 1 '"service_cidr": "10.96.0.0/12", "max_flows": 1024,'
ctl n1 route add 100.96.242.0/24 via $N2 >/dev/null
ctl n2 route add 100.96.241.0/24 via $N1 >/dev/null
declare -A IP
for p in c1:n1 b1:n1 c2:n2 b2:n2 b3:n2; do
	netns_add ${p%:*}
	IP[${p%:*}]=$(cni_add ${p#*:} ${p%:*} pod-${p%:*})
done
for b in b1 b2 b3; do
	ip netns exec $b python3 "$LIB/whoami.py" 8080 >"$WORK/$b.out" 2>&1 &
	echo $! >"$WORK/$b.pid"
	at_exit "stop_pid $WORK/$b.pid"
	wait_for 5 grep -q ready "$WORK/$b.out" || fail "whoami in $b did not start"
done
ok "nodes n1 (c1, b1) and n2 (c2, b2, b3); backends listen on 8080 (TCP and UDP)"

# What every node's agent would push: the same services everywhere.
backends() { local b s=; for b in "$@"; do s+="${s:+,}{\"ip\": \"${IP[$b]}\", \"port\": 8080}"; done; echo "[$s]"; }
svc() { # IP PORT PROTO BACKENDS [EXTRA_KEYS]
	echo "{\"ip\": \"$1\", \"port\": $2, \"protocol\": \"$3\", \"backends\": $(backends $4)${5:+, $5}}"
}
SERVICES="[$(svc 10.96.0.10 80 tcp "b1 b2 b3" '"node_port": 30080, "name": "default/web:http"'),
 $(svc 10.96.0.11 53 udp "b1 b2 b3"),
 $(svc 10.96.0.12 80 tcp ""),
 $(svc 10.96.0.13 80 tcp "b1 b2 b3" '"node_port": 30081, "external_ips": ["198.51.100.10"], "external_traffic_policy": "Local"'),
 $(svc 10.96.0.14 80 tcp "b1 b2 b3" '"affinity_timeout": 60'),
 $(svc 10.96.0.15 80 tcp "b1")]"
for n in n1 n2; do
	out=$(python3 "$E2E_TOP/tools/bench/plapi.py" "$WORK/$n.sock" service.replace_all \
		"{\"origin\": \"k8s\", \"services\": $SERVICES}") || fail "replace_all on $n: $out"
done
ok "six services pushed to both nodes with service.replace_all"

ask() { ip netns exec "$1" python3 "$LIB/ask.py" "${@:2}"; } # NETNS tcp|udp ADDR PORT [N [SPORT]]
# cell NETNS PROTO ADDR PORT N "BACKENDS" "SEEN": N requests all answered,
# only by the pods BACKENDS, each of which answered at least once when N
# allows, and each saw the client as SEEN: an address for all, or
# "client" (the client pod's own IP), or per backend "b1=ADDR b2=ADDR".
cell() {
	local ns=$1 out want=() b seen=() x
	out=$(ask "$ns" "$2" "$3" "$4" "$5") || fail "$ns -> $3:$4/$2: $(grep -m3 error <<<"$out")"
	for b in $6; do
		want+=("${IP[$b]}:8080")
		x=$7
		[ "$x" = client ] && x=${IP[$ns]}
		[[ "$x" == *=* ]] && x=$(tr ' ' '\n' <<<"$7" | sed -n "s/^$b=//p")
		seen+=("${IP[$b]}:8080=$x")
	done
	python3 - "$out" "$5" "${seen[@]}" <<-'PY' || fail "$ns -> $3:$4/$2: $out"
	import collections, sys
	out, n = sys.argv[1].split("\n"), int(sys.argv[2])
	seen = dict(x.split("=") for x in sys.argv[3:])
	got = collections.Counter(l.split()[0] for l in out)
	assert set(got) <= set(seen), "answered by %s, not only %s" % (dict(got), list(seen))
	assert n < 3 * len(seen) or set(got) == set(seen), "only %s of %s answered" % (dict(got), list(seen))
	for l in out:
	    b, peer = l.split()[0], l.split()[1].split(":")[0]
	    assert peer == seen[b], "%s saw the client as %s, expected %s" % (b, peer, seen[b])
	PY
}
# From pods and nodes: the client's own address, backends on every node.
# Each backend must answer at least once: with 3 backends, 20 flows miss
# one about once in a thousand runs by chance (3 x (2/3)^20); 40, never.
cell c1 tcp 10.96.0.10 80 30 "b1 b2 b3" client
cell c1 udp 10.96.0.11 53 40 "b1 b2 b3" client
cell c2 tcp 10.96.0.10 80 30 "b1 b2 b3" client
cell c2 udp 10.96.0.11 53 40 "b1 b2 b3" client
ok "ClusterIP TCP and UDP from pods on both nodes: spread over every backend, same node and across, the backend sees the client pod's own IP"

cell n1 tcp 10.96.0.10 80 30 "b1 b2 b3" $N1
cell n2 udp 10.96.0.11 53 40 "b1 b2 b3" $N2
ok "ClusterIP from the nodes themselves: every backend, seen as the node's address"

# From off the cluster: NodePort and external IPs. externalTrafficPolicy
# Cluster: every backend; the client's address is kept where the backend
# is on the node asked, that node's own where the answer must come back
# through it (a backend on another node: SNAT). Local: only the node's own
# backends, the client's address always.
ip -n fab route add 198.51.100.10/32 via $N1
cell fab tcp $N1 30080 30 "b1 b2 b3" "b1=$FAB b2=$N1 b3=$N1"
cell fab tcp $N2 30080 30 "b1 b2 b3" "b1=$N2 b2=$FAB b3=$FAB"
cell fab tcp $N1 30081 10 "b1" $FAB
cell fab tcp $N2 30081 20 "b2 b3" $FAB
cell fab tcp 198.51.100.10 80 10 "b1" $FAB
# From inside the cluster the policy does not apply: every backend.
cell c1 tcp $N1 30081 30 "b1 b2 b3" client
cell c2 tcp 198.51.100.10 80 30 "b1 b2 b3" client
ok "NodePort and external IP from an off-cluster host, externalTrafficPolicy Cluster (SNAT only to other nodes' backends) and Local (this node's backends, client IP kept); from pods, every backend"

# sessionAffinity ClientIP: every connection of a client to one backend.
for c in c1 c2; do
	out=$(ask $c tcp 10.96.0.14 80 12) || fail "affinity service from $c: $out"
	[ "$(awk '{print $1}' <<<"$out" | sort -u | wc -l)" = 1 ] || fail "$c: affinity broken: $out"
done
ok "sessionAffinity ClientIP: each client's 12 connections answered by one backend"

# Hairpin: a pod reaching itself through a Service, seen as its node.
cell b1 tcp 10.96.0.15 80 3 "b1" $N1
ok "hairpin: b1 through its own Service reaches itself, seen as node n1 (SNAT)"

# No endpoints (or a port the service IP does not serve): refused at once.
for t in "tcp 10.96.0.12 80" "udp 10.96.0.12 53" "tcp 10.96.0.10 81"; do
	out=$(ask c1 $t) && fail "c1 -> $t answered: $out"
	grep -q "^error Connection refused after 0\.[0-9]* s$" <<<"$out" || fail "c1 -> $t: $out"
done
[ "$(counter n1 no_backend)" -ge 3 ] || fail "no_backend not counted: $(counter n1 no_backend)"
ok "a service without endpoints and a port the service IP does not serve: connection refused within a second, counted"

# podlanectl's own service commands.
ctl n1 service add 10.96.0.50:8080 "${IP[b1]}:8080" "${IP[b2]}:8080" --node-port 30090 \
	--external-ip 198.51.100.50 --local --affinity 5 --name t/cli >/dev/null || fail "service add"
out=$(ctl n1 service list)
grep -qE "^10\.96\.0\.50:8080/tcp +t/cli +${IP[b1]}:8080,${IP[b2]}:8080 +30090 +Local +5 +0 +0 +static$" <<<"$out" ||
	fail "service list: $out"
cell c1 tcp 10.96.0.50 8080 1 "b1 b2" client
out=$(ctl n1 service add 10.96.0.51:8080/sctp 2>&1) && fail "sctp accepted: $out"
[[ "$out" == "podlanectl: service add: IP:PORT[/tcp|udp]"* ]] || fail "service add usage: $out"
[ "$(ctl n1 service del 10.96.0.50:8080)" = "service 10.96.0.50:8080/tcp deleted" ] || fail "service del"
ok "podlanectl service add, list (table), del; a bad protocol is a usage error"

out=$(ctl n1 trace 10.96.0.10:80 from "${IP[c1]}":40000)
grep -qx "service   10.96.0.10:80/tcp (default/web:http)" <<<"$out" || fail "trace service: $out"
b=$(sed -n 's/^backend   \(.*\):8080$/\1/p' <<<"$out")
[[ " ${IP[b1]} ${IP[b2]} ${IP[b3]} " == *" $b "* ]] || fail "trace backend: $out"
[ "$b" = "$(ask c1 tcp 10.96.0.10 80 1 40000 | sed 's/:.*//')" ] || fail "the connection went elsewhere than trace said ($b)"
ok "trace names the service and the backend a connection gets, and the connection gets it"

metrics=$(ip netns exec n1 curl -sf http://127.0.0.1:9464/metrics) || fail "no metrics from n1"
python3 - "$metrics" <<'PY' || fail "service metrics: $(grep -E 'service|flows' <<<"$metrics")"
import re, sys
m = dict(re.findall(r'^(podlane_[a-z_]+(?:\{[^}]*\})?) (\S+)$', sys.argv[1], re.M))
web = '{service="10.96.0.10:80/tcp",name="default/web:http"}'
assert float(m["podlane_service_connections_total" + web]) >= 60, m
assert float(m["podlane_service_packets_total" + web]) > 0 and float(m["podlane_service_bytes_total" + web]) > 0
assert m["podlane_service_backends" + web] == "3"
assert float(m['podlane_service_rejected_total{service="10.96.0.12:80/tcp",name=""}']) >= 1
assert float(m["podlane_flows"]) > 0 and float(m["podlane_flows_created_total"]) >= 60
assert float(m['podlane_drops_total{reason="no_backend"}']) >= 3
PY
ok "Prometheus: connections, packets, bytes, backends and refusals per service; tracked connections"

# A backend removed under traffic. 40 UDP flows (source ports 20000-20039)
# and a TCP connection kept open; b3 leaves both services. UDP flows on b1
# and b2 keep their backend, b3's move (kube-proxy's stale-UDP problem:
# flushed, not sent on to b3); the TCP connection keeps its backend.
ask c1 udp 10.96.0.11 53 40 20000 | awk '{print $1}' >"$WORK/udp1" || fail "UDP flows before the change"
ip netns exec c1 python3 -c '
import socket, sys, time
s = socket.create_connection(("10.96.0.10", 80), timeout=10); f = s.makefile()
for _ in range(2):
    s.sendall(b"who\n"); print(f.readline().split()[0], flush=True)
    while not open(sys.argv[1]).read(): time.sleep(0.05)' "$WORK/go" >"$WORK/tcp1" 2>&1 &
keeper=$!
: >"$WORK/go"
wait_for 5 has_line 1 "$WORK/tcp1" || fail "TCP connection to 10.96.0.10: $(cat "$WORK/tcp1")"
kept=$(sed -n 1p "$WORK/tcp1")
SERVICES2=$(python3 -c 'import json, sys
s = json.loads(sys.argv[1]); drop = [sys.argv[2], sys.argv[3]]
for x in s:
    if x["ip"] == "10.96.0.11":
        x["backends"] = [b for b in x["backends"] if b["ip"] != drop[0]]
    if x["ip"] == "10.96.0.10":
        x["backends"] = [b for b in x["backends"] if b["ip"] != drop[1]]
print(json.dumps(s))' "$SERVICES" "${IP[b3]}" "${kept%:*}")
out=$(python3 "$E2E_TOP/tools/bench/plapi.py" "$WORK/n1.sock" service.replace_all \
	"{\"origin\": \"k8s\", \"services\": $SERVICES2}") || fail "replace_all without b3: $out"
grep -q '"changed": 2' <<<"$out" || fail "expected 2 services changed: $out"
ask c1 udp 10.96.0.11 53 40 20000 | awk '{print $1}' >"$WORK/udp2" || fail "UDP flows after the change"
moved=$(python3 - "$WORK/udp1" "$WORK/udp2" "${IP[b3]}:8080" <<'PY'
import sys
a, b, gone = open(sys.argv[1]).read().split(), open(sys.argv[2]).read().split(), sys.argv[3]
assert len(a) == len(b) == 40, (a, b)
assert gone not in b, "a flow still answered by the removed backend"
kept = [x == y for x, y in zip(a, b) if x != gone]
assert all(kept), "flows of remaining backends moved: %s -> %s" % (a, b)
print(sum(x == gone for x in a))
PY
) || fail "UDP flows across the removal of b3"
echo go >"$WORK/go"
wait "$keeper" || fail "the TCP connection broke: $(cat "$WORK/tcp1")"
[ "$(sed -n 2p "$WORK/tcp1")" = "$kept" ] || fail "the TCP connection moved: $(cat "$WORK/tcp1")"
ok "a backend removed under traffic: $moved of 40 UDP flows were on it and moved, the other $((40 - moved)) kept theirs; an open TCP connection kept its backend ($kept) after that backend left the service"
python3 "$E2E_TOP/tools/bench/plapi.py" "$WORK/n1.sock" service.replace_all \
	"{\"origin\": \"k8s\", \"services\": $SERVICES}" >/dev/null

out=$(ctl n1 -o json conntrack list --service 10.96.0.11:53/udp)
python3 -c 'import json, sys
r = json.loads(sys.argv[1]); f = r["flows"]
assert r["matched"] == len(f) >= 40 and r["in_use"] >= len(f), r
x = f[0]
assert x["service"] == "10.96.0.11:53/udp" and x["protocol"] == "udp", x
assert x["original"]["source"]["ip"] == sys.argv[2] and x["original"]["destination"] == {"ip": "10.96.0.11", "port": 53}, x
assert x["reply"]["destination"]["ip"] == sys.argv[2] and x["packets"][0] >= 1 and x["state"] in ("replied", "unreplied"), x' \
	"$out" "${IP[c1]}" || fail "conntrack list: $out"
out=$(ctl n1 conntrack flush --service 10.96.0.11:53/udp)
[ "$(ctl n1 -o json conntrack list --service 10.96.0.11:53/udp | python3 -c 'import json,sys; print(json.load(sys.stdin)["matched"])')" = 0 ] ||
	fail "flows left after flush ($out)"
ok "conntrack list shows a service's flows both ways; flush forgets them ($out)"

# A pod's connections, and the busiest ones in stats --watch: c1 sends UDP
# to the DNS service for 3 s from one socket (one flow).
ip netns exec c1 python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 21000))
end = time.monotonic() + 3
while time.monotonic() < end:
    s.sendto(b"x" * 1000, ("10.96.0.11", 53)); time.sleep(0.001)' &
sender=$!
at_exit "kill $sender 2>/dev/null || true"
tracked() { grep -q 21000 <<<"$(ctl n1 conntrack list --pod pod-c1)"; }
wait_for 5 tracked || fail "c1's flow not tracked: $(ctl n1 conntrack list --pod pod-c1)"
out=$(ctl n1 -o json conntrack list --pod pod-c1)
python3 -c 'import json, sys
ip = sys.argv[2]; f = json.loads(sys.argv[1])["flows"]
assert f and all(ip in (x["original"]["source"]["ip"], x["original"]["destination"]["ip"],
                        x["reply"]["source"]["ip"], x["reply"]["destination"]["ip"]) for x in f), f' "$out" "${IP[c1]}" ||
	fail "conntrack list --pod pod-c1: $out"
[ "$(ctl n1 -o json conntrack list --pod pod-b1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]) > 0)')" = True ] ||
	fail "conntrack list --pod pod-b1 (a backend) found nothing"
out=$(ctl n1 conntrack list --pod pod-c2 2>&1) && fail "a pod of another node accepted"
[ "$out" = "podlanectl: pod: no pod 'pod-c2'" ] || fail "conntrack list --pod pod-c2: $out"
ctl n1 stats --watch 0.5 2 >"$WORK/watch.txt"
grep -q "^udp ${IP[c1]}:21000 > 10.96.0.11:53  *[0-9]*  *10.96.0.11:53/udp$" "$WORK/watch.txt" ||
	fail "stats --watch shows no top connection: $(cat "$WORK/watch.txt")"
wait "$sender" || true
ok "conntrack list --pod: a pod's connections, either end; stats --watch lists the busiest"

# A full connection table (n2: max_flows 1024): new connections dropped
# and counted, the existing ones go on; room again after a flush.
ask c2 udp 10.96.0.11 53 1 30000 >/dev/null || fail "c2 before the flood"
ip netns exec c2 python3 -c '
import socket
for p in range(31000, 32200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", p))
    s.sendto(b"x", ("10.96.0.11", 53)); s.close()'
wait_for 5 sh -c "[ \$('$PODLANECTL' -s '$WORK/n2.sock' -o json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"drops\"][\"conntrack_full\"])') -gt 0 ]" ||
	fail "conntrack_full not counted: $(ctl n2 stats)"
flows=$(ctl n2 -o json stats | python3 -c 'import json,sys; d = json.load(sys.stdin); print(d["flows_in_use"], d["flows_max"])')
[ "$flows" = "1024 1024" ] || fail "n2 flows in use/max: $flows"
ask c2 udp 10.96.0.11 53 1 30000 >/dev/null || fail "an existing flow stopped when the table filled"
ask c2 udp 10.96.0.11 53 1 33000 >/dev/null && fail "a new flow passed a full table"
ctl n2 conntrack flush >/dev/null
ask c2 udp 10.96.0.11 53 1 33000 >/dev/null || fail "no room after a flush"
ok "a full connection table: new connections dropped and counted as conntrack_full, existing ones go on, room after a flush"

# Restart: services come back from services.json. A connection's
# translation is made again by its client's next packet: the backends are
# the same, so Maglev gives it the same backend.
before=$(ctl n1 -o json service list | python3 -c 'import json,sys
print(json.dumps([{k: v for k, v in s.items() if k != "stats"} for s in json.load(sys.stdin)], sort_keys=True))')
ip netns exec c1 python3 -c '
import socket, sys, time
s = socket.create_connection(("10.96.0.10", 80), timeout=20); f = s.makefile()
for _ in range(2):
    s.sendall(b"who\n"); print(f.readline().split()[0], flush=True)
    while not open(sys.argv[1]).read(): time.sleep(0.05)' "$WORK/go2" >"$WORK/tcp2" 2>&1 &
keeper=$!
: >"$WORK/go2"
wait_for 5 has_line 1 "$WORK/tcp2" || fail "TCP connection before the restart: $(cat "$WORK/tcp2")"
stop_pid "$WORK/n1.pid"
start_again n1
after=$(ctl n1 -o json service list | python3 -c 'import json,sys
print(json.dumps([{k: v for k, v in s.items() if k != "stats"} for s in json.load(sys.stdin)], sort_keys=True))')
[ "$before" = "$after" ] || fail "services differ after restart: $after"
echo go >"$WORK/go2"
wait "$keeper" || fail "the TCP connection broke across the restart: $(cat "$WORK/tcp2")"
[ "$(sed -n 1p "$WORK/tcp2")" = "$(sed -n 2p "$WORK/tcp2")" ] || fail "the connection moved: $(cat "$WORK/tcp2")"
cell c1 tcp 10.96.0.10 80 30 "b1 b2 b3" client
ok "restart: services restored from services.json; an open TCP connection goes on with its backend"

# kill -9: the tracked connections die with podlaned. One whose backend
# speaks first after the restart (a server push) goes on: for a while the
# restarted podlaned picks its backend's answers up, makes the flow again
# and translates them (dp_ct_pickup), where sent on from the backend's own
# address they would make the client reset the connection.
ctl n1 service add 10.96.0.14:90 "${IP[b2]}:9090" >/dev/null || fail "service add 10.96.0.14:90"
ip netns exec b2 python3 -c '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 9090)); l.listen(1); print("ready", flush=True)
c, _ = l.accept()
for i in range(2000):
    c.sendall(b"tick %d\n" % i); time.sleep(0.05)' >"$WORK/push.out" 2>&1 &
echo $! >"$WORK/push.pid"
at_exit "stop_pid $WORK/push.pid"
wait_for 5 grep -q ready "$WORK/push.out" || fail "the push server in b2 did not start"
ip netns exec c1 python3 -c '
import socket
s = socket.create_connection(("10.96.0.14", 90), timeout=10)
for line in s.makefile(): print(line.strip(), flush=True)' >"$WORK/ticks" 2>&1 &
echo $! >"$WORK/ticks.pid"
at_exit "stop_pid $WORK/ticks.pid"
wait_for 5 has_line 3 "$WORK/ticks" || fail "no ticks before the kill: $(cat "$WORK/ticks")"
restart_node n1 KILL
n=$(wc -l <"$WORK/ticks")
wait_for 5 has_line $((n + 20)) "$WORK/ticks" ||
	fail "the pushed connection did not survive kill -9: $(tail -3 "$WORK/ticks"); $(ctl n1 conntrack list)"
[ "$(ctl n1 conntrack list --service 10.96.0.14:90 | grep -c "${IP[b2]}")" = 1 ] ||
	fail "no flow made again for it: $(ctl n1 conntrack list)"
ok "kill -9: a connection whose backend speaks first after the restart is picked up, its answers translated; it goes on"
