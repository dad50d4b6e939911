#!/usr/bin/env bash
# NetworkPolicy as a truth table (tests/e2e/lib/policy_table.py): three
# namespaces (x, y, z) with pods a (node n1) and b (node n2) each; for each
# case, its NetworkPolicy objects go through podlane-k8s to both nodes,
# then every pod pair and each node to every pod is probed on 80 and 81
# (TCP and UDP) and 53 (UDP), every cell compared with the Kubernetes
# semantics: default deny ingress, default deny egress with DNS allowed,
# from a namespace, both selectors in one peer against two peers, ipBlock
# with except, named ports, endPort, egress to a CIDR, and the union of
# policies in both directions.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"

LIB=$E2E_TOP/tests/e2e/lib
N1=172.31.102.101 N2=172.31.102.102
fabric 172.31.102.1/24
start_node n1 $N1/24 100.96.241.0/24 2
start_node n2 $N2/24 100.96.242.0/24 1
ctl n1 route add 100.96.242.0/24 via $N2 >/dev/null
ctl n2 route add 100.96.241.0/24 via $N1 >/dev/null
pods=()
for ns in x y z; do
	for p in a:n1 b:n2; do
		name=${p%:*} node=${p#*:} netns=$ns-${p%:*}
		netns_add $netns
		ip=$(cni_add $node $netns pod-$netns)
		ip netns exec $netns python3 "$LIB/whoami.py" 80 81 53 >"$WORK/$netns.out" 2>&1 &
		echo $! >"$WORK/$netns.pid"
		at_exit "stop_pid $WORK/$netns.pid"
		wait_for 5 grep -q ready "$WORK/$netns.out" || fail "whoami in $netns did not start"
		pods+=("{\"ns\": \"$ns\", \"name\": \"$name\", \"netns\": \"$netns\", \"ip\": \"$ip\", \"node\": \"$node\", \"labels\": {\"pod\": \"$name\"}}")
	done
done
cat >"$WORK/topology.json" <<-JSON
{"pods": [$(IFS=,; echo "${pods[*]}")],
 "nodes": [{"name": "n1", "node": "n1", "netns": "n1", "ip": "$N1", "socket": "$WORK/n1.sock"},
           {"name": "n2", "node": "n2", "netns": "n2", "ip": "$N2", "socket": "$WORK/n2.sock"}],
 "agent": "$E2E_TOP/tools/podlane-k8s"}
JSON
ok "namespaces x, y, z with pods a (n1) and b (n2) each, listening on 80, 81 and 53"

for c in none deny-ingress deny-egress-but-dns from-namespace one-peer-both-selectors two-peers \
	ipblock-except named-ports end-port egress-to-cidr union-and-both-directions none; do
	out=$(python3 "$LIB/policy_table.py" "$WORK/topology.json" $c) || fail "$out"
	ok "$out"
done
