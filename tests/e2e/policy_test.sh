#!/usr/bin/env bash
# NetworkPolicy in the fast path, on two nodes: policies given through the
# API as the Kubernetes agent gives them (selectors resolved to addresses),
# then a table of connections, each allowed or denied as the Kubernetes
# documentation ("Network Policies") has it: a pod no policy selects in a
# direction is not isolated in it; an isolated pod takes the union of what
# its policies allow; replies of allowed connections pass; the node always
# reaches its pods; policy applies after Service DNAT, to the client's own
# address. Then: a change cuts an established flow it no longer allows,
# counters, trace, and a restart that keeps the policies.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

LIB=$E2E_TOP/tests/e2e/lib
N1=172.31.102.101 N2=172.31.102.102
fabric 172.31.102.1/24
start_node n1 $N1/24 100.96.241.0/24 2 '"service_cidr": "10.96.0.0/12", "metrics_listen": "127.0.0.1:9464",'
start_node n2 $N2/24 100.96.242.0/24 1 '"service_cidr": "10.96.0.0/12",'
ctl n1 route add 100.96.242.0/24 via $N2 >/dev/null
ctl n2 route add 100.96.241.0/24 via $N1 >/dev/null
declare -A IP=([n1]=$N1 [n2]=$N2)
for p in web:n1 db:n1 cl1:n1 cl2:n2; do
	netns_add ${p%:*}
	IP[${p%:*}]=$(cni_add ${p#*:} ${p%:*} pod-${p%:*})
done
# Every pod and node n1 answer on 8080 and 9090 (TCP and UDP).
for s in web db cl1 cl2 n1; do
	ip netns exec $s python3 "$LIB/whoami.py" 8080 9090 >"$WORK/$s.out" 2>&1 &
	echo $! >"$WORK/$s.whoami.pid"
	at_exit "stop_pid $WORK/$s.whoami.pid"
	wait_for 5 grep -q ready "$WORK/$s.out" || fail "whoami in $s did not start"
done
api() { python3 "$E2E_TOP/tools/bench/plapi.py" "$WORK/$1.sock" "${@:2}"; } # NODE METHOD PARAMS
api n1 service.add "{\"ip\": \"10.96.0.10\", \"port\": 80, \"protocol\": \"tcp\",
	\"backends\": [{\"ip\": \"${IP[web]}\", \"port\": 8080}]}" >/dev/null
api n2 service.add "{\"ip\": \"10.96.0.10\", \"port\": 80, \"protocol\": \"tcp\",
	\"backends\": [{\"ip\": \"${IP[web]}\", \"port\": 8080}]}" >/dev/null
ok "n1 (web, db, cl1), n2 (cl2); ClusterIP 10.96.0.10:80 -> web:8080 on both nodes"

# cell FROM PROTO TO PORT allow|deny: FROM (a pod or node netns) reaches
# TO (a pod, node or address) on PORT (ping: ICMP echo), or does not (no
# answer within a second); an allowed one is seen at FROM's own address.
cell() {
	local from=$1 proto=$2 to=${IP[$3]:-$3} port=$4 want=$5 out got=deny
	if [ "$proto" = ping ]; then
		ip netns exec "$from" ping -c 1 -W 1 "$to" >/dev/null 2>&1 && got=allow
	elif out=$(ASK_TIMEOUT=1 ip netns exec "$from" python3 "$LIB/ask.py" "$proto" "$to" "$port"); then
		got=allow
		[ "$(awk '{print $2}' <<<"$out" | cut -d: -f1)" = "${IP[$from]}" ] ||
			fail "$from -> $3:$port/$proto answered as seen from elsewhere: $out"
	fi
	[ "$got" = "$want" ] || fail "$from -> $3 $port/$proto: ${got}ed, the table says $want"
}
table() { # lines of cells
	local line n=0
	while read -r line; do
		[ -n "$line" ] && [ "${line:0:1}" != "#" ] || continue
		cell $line
		n=$((n + 1))
	done
	echo "$n"
}
n=$(table <<-T
	cl1 tcp web 8080 allow
	cl2 tcp web 9090 allow
	cl1 ping db - allow
	db tcp cl2 8080 allow
T
)
ok "no policy: $n cells, every pod reaches every pod and node"

# web: ingress from cl1 only, TCP 8080 (an ipBlock /32 as the agent writes
# a pod peer). db: no ingress at all; egress to the pod network except web,
# TCP 8080-8081 only.
POLICIES=$(python3 - "${IP[cl1]}" "${IP[web]}" "${IP[db]}" <<-'PY'
	import json, sys
	cl1, web, db = sys.argv[1:]
	print(json.dumps([
	    {"name": "default/web-from-cl1", "pods": [web],
	     "ingress": [{"from": [{"cidr": cl1 + "/32"}], "ports": [{"protocol": "tcp", "port": 8080}]}]},
	    {"name": "default/db-lockdown", "pods": [db], "ingress": [],
	     "egress": [{"to": [{"cidr": "100.96.0.0/11", "except": [web + "/32"]}],
	                 "ports": [{"protocol": "tcp", "port": 8080, "end_port": 8081}]}]},
	]))
	PY
)
out=$(api n1 policy.replace_all "{\"origin\": \"k8s\", \"policies\": $POLICIES}") || fail "policy.replace_all: $out"
grep -q '"added": 2' <<<"$out" || fail "policy.replace_all: $out"
n=$(table <<-T
	# web: isolated for ingress, cl1 on TCP 8080 only
	cl1 tcp web 8080 allow
	cl1 tcp web 9090 deny
	cl1 udp web 8080 deny
	cl1 ping web - deny
	cl2 tcp web 8080 deny
	db tcp web 8080 deny
	# the node always reaches its pods
	n1 tcp web 9090 allow
	n1 ping web - allow
	# web is not isolated for egress; the replies to it pass
	web tcp cl1 9090 allow
	web tcp cl2 9090 allow
	# after DNAT, the client's own address: cl1 through the ClusterIP, not cl2
	cl1 tcp 10.96.0.10 80 allow
	cl2 tcp 10.96.0.10 80 deny
	# db: no ingress but from its node; egress TCP 8080-8081 to pods but web
	cl1 tcp db 8080 deny
	cl2 tcp db 8080 deny
	n1 tcp db 8080 allow
	db tcp cl1 8080 allow
	db tcp cl2 8080 allow
	db tcp cl1 9090 deny
	db udp cl1 8080 deny
	db ping cl1 - deny
	db tcp web 8080 deny
	db tcp n1 9090 allow
	# pods no policy selects: untouched
	cl1 tcp cl2 9090 allow
	cl2 udp cl1 8080 allow
	cl1 ping cl2 - allow
T
)
ok "two policies: $n cells as Kubernetes has them (isolation per direction, ports and protocols, ipBlock except, node exemption, replies, after DNAT)"

# The union of the policies selecting a pod: a second one lets cl2 in on
# UDP 8080-8081 too.
out=$(api n1 policy.add "{\"name\": \"default/web-udp\", \"pods\": [\"${IP[web]}\"],
	\"ingress\": [{\"ports\": [{\"protocol\": \"udp\", \"port\": 8080, \"end_port\": 8081}]}]}") ||
	fail "policy.add: $out"
n=$(table <<-T
	cl2 udp web 8080 allow
	cl1 udp web 8080 allow
	cl2 tcp web 8080 deny
	cl1 tcp web 8080 allow
	cl2 udp web 9090 deny
T
)
ok "a second policy selecting web: the union of both ($n cells)"

# An established flow the rules no longer allow stops at its next packet;
# one they still allow goes on. UDP from fixed source ports: the same flow.
ask_from() { ASK_TIMEOUT=1 ip netns exec "$1" python3 "$LIB/ask.py" udp "${IP[web]}" 8080 1 "$2"; }
ask_from cl2 40001 >/dev/null || fail "cl2's UDP flow to web before the change"
ask_from cl1 40002 >/dev/null || fail "cl1's UDP flow to web before the change"
api n1 policy.del '{"name": "default/web-udp"}' >/dev/null || fail "policy.del"
ask_from cl2 40001 >/dev/null && fail "cl2's established UDP flow to web still passes after its policy went"
ask_from cl1 40002 >/dev/null && fail "cl1's UDP flow passes: web-from-cl1 allows TCP only"
cell cl1 tcp web 8080 allow
ok "policy.del: established flows judged again at their next packet (cut where no rule allows them any more)"

# Counters: connections per rule, packets refused per pod, the drop reason.
out=$(ctl n1 -o json policy list)
python3 - "$out" <<-'PY' || fail "policy list: $out"
	import json, sys
	pols = {p["name"]: p for p in json.loads(sys.argv[1])}
	assert set(pols) == {"default/web-from-cl1", "default/db-lockdown"}, pols.keys()
	assert pols["default/web-from-cl1"]["ingress"][0]["connections"] >= 3
	assert pols["default/db-lockdown"]["egress"][0]["connections"] >= 2  # db to cl1 and cl2
	assert all(p["origin"] == "k8s" for p in pols.values())
	PY
port=$(ctl n1 -o json pod list | python3 -c 'import json,sys
print([p["port"] for p in json.load(sys.stdin) if p["container_id"] == "pod-web"][0])')
[ "$(port_counter n1 "$port" policy_denied)" -gt 0 ] || fail "web's port counted no refusal"
[ "$(counter n1 policy)" -gt 0 ] || fail "no drop with reason policy"
ctl n1 drops --reason policy >"$WORK/drops.txt"
grep -q "policy" "$WORK/drops.txt" || fail "drops --reason policy: $(cat "$WORK/drops.txt")"
metrics=$(ip netns exec n1 curl -sf http://127.0.0.1:9464/metrics) || fail "no metrics from n1"
python3 - "$metrics" "$port" <<-'PY' || fail "policy metrics: $(grep policy <<<"$metrics")"
	import re, sys
	m, port = sys.argv[1], sys.argv[2]
	rule = re.search(r'^podlane_policy_rule_connections_total\{policy="default/web-from-cl1",'
	                 r'direction="ingress",rule="0"\} (\d+)$', m, re.M)
	assert rule and int(rule.group(1)) >= 3, "no web-from-cl1 rule counter"
	denied = [l for l in m.splitlines() if l.startswith("podlane_port_policy_denied_total{") and
	          'port="%s"' % port in l]
	assert denied and int(denied[0].split()[-1]) > 0, denied
	PY
ok "policy list and Prometheus count each rule's connections; web's port (stats, Prometheus) and the drops say policy"

# trace: which policy and rule allowed a connection, or that none did.
out=$(ctl n1 trace "${IP[web]}:8080" from "${IP[cl1]}")
grep -q "^policy    allow (egress: not isolated; ingress: default/web-from-cl1 rule 0)$" <<<"$out" ||
	fail "trace cl1 -> web:8080: $out"
out=$(ctl n1 trace "${IP[web]}:8080" from "${IP[cl2]}")
grep -q "^policy    deny (egress: not isolated; ingress: no rule of default/web-from-cl1 allows it)$" <<<"$out" &&
	grep -q "^action    deny$" <<<"$out" || fail "trace cl2 -> web:8080: $out"
out=$(ctl n1 trace "10.96.0.10:80" from "${IP[db]}")
grep -q "^policy    deny (egress: no rule of default/db-lockdown allows it; ingress: no rule of default/web-from-cl1 allows it)$" <<<"$out" ||
	fail "trace db -> ClusterIP: $out"
ok "trace names the policy and rule that allowed a connection, or the policies none of whose rules did, after DNAT"

# Exact errors; nothing changes.
refused() { # METHOD PARAMS 'CODE MESSAGE': the call is refused with exactly that
	local got
	got=$(python3 - "$WORK/n1.sock" "$1" "$2" <<-'PY'
	import json, socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	f = s.makefile("rwb")
	f.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": sys.argv[2],
	                    "params": json.loads(sys.argv[3])}).encode() + b"\n")
	f.flush()
	e = json.loads(f.readline()).get("error", {})
	print(e.get("code"), e.get("message"))
	PY
	)
	[ "$got" = "$3" ] || fail "$1 $2: got '$got', want '$3'"
}
refused policy.add '{"name": "x", "pods": [], "ingress": [{"from": [{"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}]}]}' \
	"-32602 ingress[0].from[0].except[0]: 11.0.0.0/16 is not inside 10.0.0.0/8"
refused policy.add '{"name": "x", "pods": [], "egress": [{"ports": [{"protocol": "sctp", "port": 9}]}]}' \
	"-32602 egress[0].ports[0].protocol: 'sctp' is not supported (tcp, udp; podlane does not carry SCTP)"
refused policy.add '{"name": "x", "pods": ["100.96.241.300"]}' \
	"-32602 pods[0]: 100.96.241.300 is not an IPv4 or IPv6 address"
refused policy.add '{"name": "x", "pods": [], "ingress": [{"ports": [{"port": 80, "end_port": 79}]}]}' \
	"-32602 ingress[0].ports[0].end_port: must be a port number from port (80) to 65535"
refused policy.add '{"name": "x", "pods": [], "ingress": [{"to": []}]}' \
	"-32602 ingress[0]: unknown key 'to'"
refused policy.add '{"name": "default/db-lockdown", "pods": []}' \
	"-32002 policy default/db-lockdown already exists"
refused policy.del '{"name": "nope"}' "-32001 no policy nope"
refused policy.add '{"name": "a\"b", "pods": []}' \
	"-32602 name: 'a\"b' has a quote, backslash or control character"
refused policy.replace_all '{"origin": "other", "policies": [{"name": "default/db-lockdown", "pods": []}]}' \
	"-32002 policies[0]: default/db-lockdown is already a policy of origin k8s"
[ "$(ctl n1 -o json policy list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ] ||
	fail "a refused call changed the policies"
ok "bad policies refused with the exact error, nothing changed"

# A restart keeps them: the same table holds. And the connections: db
# (isolated for ingress) opened one to cl1 before; a planned restart hands
# its flow to the next podlaned, so what cl1 sends first after it (a push,
# db saying nothing) still reaches db. Without the handover it would be
# judged as a connection from cl1 to db, which no rule allows. A kill -9
# hands nothing over: the next podlaned picks the push up as the answer of
# a connection the rules allow (db -> cl1:PORT), not a SYN.
held_push() { # PORT SIGNAL (db's egress allows 8080-8081)
	rm -f "$WORK/restarted"
	ip netns exec cl1 python3 -c '
import os, socket, sys, time
srv = socket.create_server(("0.0.0.0", int(sys.argv[2])))
c, _ = srv.accept()
srv.close()
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
c.sendall(b"pushed\n")
time.sleep(30)' "$WORK/restarted" "$1" >"$WORK/pusher.out" 2>&1 &
	echo $! >"$WORK/pusher-$2.pid"
	at_exit "stop_pid $WORK/pusher-$2.pid"
	wait_for 5 ip netns exec cl1 sh -c "ss -ltn | grep -q :$1"
	ip netns exec db python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
print("connected", flush=True)
print(s.makefile().readline().strip(), flush=True)' "${IP[cl1]}" "$1" >"$WORK/held.out" 2>&1 &
	echo $! >"$WORK/held-$2.pid"
	at_exit "stop_pid $WORK/held-$2.pid"
	wait_for 5 grep -q "^connected" "$WORK/held.out" || fail "db's connection to cl1: $(cat "$WORK/held.out")"
	local pid
	pid=$(cat "$WORK/n1.pid")
	kill -"$2" "$pid"
	wait "$pid" 2>/dev/null || true
	ip netns exec n1 "$PODLANED" --config "$WORK/n1.json" >>"$WORK/n1.log" 2>&1 &
	echo $! >"$WORK/n1.pid"
	wait_for 30 "$PODLANECTL" -s "$WORK/n1.sock" node || fail "podlaned on n1 did not come back"
	touch "$WORK/restarted"
	wait_for 5 grep -q "^pushed$" "$WORK/held.out" ||
		fail "what cl1 sent on db's connection after the $2 did not reach db: $(cat "$WORK/held.out")"
	[ ! -e "$WORK/n1.state/conntrack.bin" ] || fail "conntrack.bin left after the restore"
}
held_push 8081 TERM
grep -q "conntrack: [1-9][0-9]* connections kept for the next podlaned" "$WORK/n1.log" ||
	fail "the stopping podlaned kept no connection"
ok "a planned restart hands tracked connections over: cl1 pushes on the connection db opened before it, and db gets it"
held_push 8081 KILL
ok "kill -9: cl1's push on the connection db opened before it is picked up as an answer, and db gets it"
# ...but only answers: a new connection to db is refused as before.
out=$(ip netns exec cl1 python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 8080), timeout=1); print("connected")
except OSError as e:
    print("refused", e)' "${IP[db]}")
[[ "$out" == refused* ]] || fail "after a kill -9, cl1 connected to db: $out"
n=$(table <<-T
	cl1 tcp web 8080 allow
	cl2 tcp web 8080 deny
	cl1 tcp db 8080 deny
	db tcp cl2 8080 allow
	db tcp web 8080 deny
T
)
ok "after a restart of podlaned on n1: policies restored, $n cells as before"

# policy.replace_all with nothing: every pod open again.
out=$(api n1 policy.replace_all '{"origin": "k8s", "policies": []}') || fail "replace_all []: $out"
grep -q '"removed": 2' <<<"$out" || fail "replace_all []: $out"
n=$(table <<-T
	cl2 tcp web 9090 allow
	cl1 udp db 8080 allow
	db ping web - allow
T
)
ok "the policies of origin k8s replaced by none: $n cells open again"

# A pod that comes after the policy naming its address is isolated from
# its first packet (its port takes the policy when it gets its address).
api n1 policy.add '{"name": "default/late", "pods": ["100.96.241.50"], "ingress": []}' >/dev/null
netns_add late
api n1 pod.add '{"container_id": "pod-late", "netns": "/run/netns/late", "ifname": "eth0", "ip": "100.96.241.50"}' >/dev/null
IP[late]=100.96.241.50
ip netns exec late python3 "$LIB/whoami.py" 8080 >"$WORK/late.out" 2>&1 &
echo $! >"$WORK/late.whoami.pid"
at_exit "stop_pid $WORK/late.whoami.pid"
wait_for 5 grep -q ready "$WORK/late.out" || fail "whoami in late did not start"
n=$(table <<-T
	cl1 tcp late 8080 deny
	cl2 udp late 8080 deny
	n1 tcp late 8080 allow
	late tcp cl1 9090 allow
T
)
api n1 policy.del '{"name": "default/late"}' >/dev/null
cell cl1 tcp late 8080 allow
ok "a pod added after the policy naming its address: isolated from its first packet ($n cells), open once the policy goes"

# The whole path from Kubernetes objects: the agent resolves a
# NetworkPolicy's selectors and named port against Pods (this node's by
# spec.nodeName, addressed by status.podIPs) and pushes the result.
objects=$(python3 - "${IP[web]}" "${IP[db]}" "${IP[cl1]}" "${IP[cl2]}" <<-'PY'
	import json, sys
	web, db, cl1, cl2 = sys.argv[1:]
	def pod(name, node, ip, labels, ports=()):
	    return {"kind": "Pod", "metadata": {"namespace": "default", "name": name, "uid": name, "labels": labels},
	            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [
	                {"name": n, "containerPort": p} for n, p in ports]}]},
	            "status": {"phase": "Running", "podIPs": [{"ip": ip}]}}
	print(json.dumps({"kind": "List", "items": [
	    {"kind": "Namespace", "metadata": {"name": "default", "uid": "ns"}},
	    pod("web", "n1", web, {"app": "web"}, [("http", 8080)]), pod("db", "n1", db, {"app": "db"}),
	    pod("cl1", "n1", cl1, {"role": "client"}), pod("cl2", "n2", cl2, {"role": "other"}),
	    {"kind": "NetworkPolicy", "metadata": {"namespace": "default", "name": "web", "uid": "np"},
	     "spec": {"podSelector": {"matchLabels": {"app": "web"}},
	              "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
	                           "ports": [{"port": "http"}]}]}}]}))
	PY
)
out=$("$E2E_TOP/tools/podlane-k8s" --node n1 --socket "$WORK/n1.sock" <<<"$objects" 2>&1) ||
	fail "podlane-k8s: $out"
[ "$out" = "policies: 1 added, 0 changed, 0 removed, 0 unchanged" ] || fail "podlane-k8s said: $out"
n=$(table <<-T
	cl1 tcp web 8080 allow
	cl1 tcp web 9090 deny
	cl2 tcp web 8080 deny
	db tcp web 8080 deny
	cl2 tcp db 8080 allow
T
)
ok "podlane-k8s: a NetworkPolicy from Kubernetes objects (podSelector peers, a named port) enforced, $n cells"
