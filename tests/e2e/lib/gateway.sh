# The gateway router of docs/bgp.md for e2e tests (source after common.sh
# and isolate): netns fab routes the node network (br0, 172.31.102.1/24)
# and the outside network behind it (198.51.100.0/24) with one host, netns
# ext (198.51.100.10); BIRD on the gateway reflects the nodes' routes and
# installs them in its kernel table; BIRD on node n<i> announces its pod
# CIDR 100.96.24<i>.0/24 to the gateway and installs what it learns in
# table 100, which podlaned mirrors (start nodes with "import_table": 100).
command -v bird >/dev/null || fail "bird2 is needed (tools/deps.sh installs it)"

gateway_net() {
	fabric 172.31.102.1/24
	netns_add ext
	ip link add g-ext type veth peer name e-ext
	ip link set g-ext netns fab
	ip link set e-ext netns ext
	ip -n fab addr add 198.51.100.1/24 dev g-ext
	ip -n fab link set g-ext up
	ip -n ext addr add 198.51.100.10/24 dev e-ext
	ip -n ext link set e-ext up
	ip -n ext route add default via 198.51.100.1
	ip netns exec fab sysctl -qw net.ipv4.ip_forward=1
}

# bird_in NETNS NAME CONFIG: BIRD in NETNS (control socket $WORK/bird-NAME.ctl), stopped at exit;
# BIRD_ARGS are added (-R: recover after a graceful restart).
bird_in() {
	printf '%s\n' "$3" >"$WORK/bird-$2.conf"
	ip netns exec "$1" bird -f ${BIRD_ARGS:-} -c "$WORK/bird-$2.conf" -s "$WORK/bird-$2.ctl" >>"$WORK/bird-$2.log" 2>&1 &
	echo $! >"$WORK/bird-$2.pid"
	at_exit "stop_pid $WORK/bird-$2.pid"
}

# bird_node I [CONFIG...]: node n<I>'s BIRD; CONFIG lines go at the top
# level (BFD), NODE_BGP_OPTS into its session with the gateway.
bird_node() {
	local i=$1; shift
	bird_in n$i n$i "router id 172.31.102.10$i;
log \"$WORK/bird-n$i.log\" all;
protocol device { scan time 2; }
protocol static pods { ipv4; route 100.96.24$i.0/24 blackhole; }
protocol kernel {
	persist; graceful restart on; # a restarting BIRD leaves podlaned's routes in place
	ipv4 { import none; export where source = RTS_BGP; }; kernel table 100;
}
$*
protocol bgp to_gateway {
	local 172.31.102.10$i as 64512; neighbor 172.31.102.1 as 64512; direct;
	connect retry time 2; error wait time 1, 4; ${NODE_BGP_OPTS:-}
	ipv4 { import all; export where proto = \"pods\"; gateway direct; next hop self; };
}"
}

# bird_gateway N [CONFIG...]: the gateway's BIRD with nodes n1..nN as
# route reflector clients; GW_BGP_OPTS into its sessions.
bird_gateway() {
	local n=$1 peers="" i; shift
	for i in $(seq "$n"); do peers+="protocol bgp n$i from node { neighbor 172.31.102.10$i as 64512; }"$'\n'; done
	bird_in fab gw "router id 172.31.102.1;
log \"$WORK/bird-gw.log\" all;
protocol device { scan time 2; }
protocol direct outside { ipv4; interface \"g-ext\"; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
$*
template bgp node {
	local 172.31.102.1 as 64512; direct; rr client; rr cluster id 172.31.102.1;
	connect retry time 2; error wait time 1, 4; ${GW_BGP_OPTS:-}
	ipv4 { import all; export all; gateway direct; };
}
$peers"
}

# gateway_routes: the pod CIDRs in the gateway's kernel table, "CIDR via NODE" each.
gateway_routes() { ip -n fab route show proto bird | awk '/^100\.96\./ {print $1, $2, $3}'; }

# Pods and the outside host answer TCP with the address they saw the
# client at (lib/whoami.py on port 7000; seen_by asks, with lib/ask.py).
whoami() { # NETNS
	ip netns exec "$1" python3 "$E2E_TOP/tests/e2e/lib/whoami.py" 7000 >"$WORK/whoami-$1.log" 2>&1 &
	echo $! >"$WORK/whoami-$1.pid"
	at_exit "stop_pid $WORK/whoami-$1.pid"
	wait_for 10 grep -q ready "$WORK/whoami-$1.log" || fail "whoami in $1 did not start"
}
seen_by() { # NETNS ADDRESS: the client's address as the server at ADDRESS saw it
	local out
	out=$(ip netns exec "$1" python3 "$E2E_TOP/tests/e2e/lib/ask.py" tcp "$2" 7000) || return 1
	awk '{print $2}' <<<"$out" | cut -d: -f1
}
