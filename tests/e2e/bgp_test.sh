#!/usr/bin/env bash
# Route exchange through BGP with BIRD 2 (full iBGP mesh of 3 nodes): each
# BIRD announces its node's pod CIDR and installs the others' into kernel
# table 100, which podlaned mirrors. Convergence and withdrawal are timed.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
command -v bird >/dev/null || fail "bird2 is needed (tools/deps.sh installs it)"

fabric 172.31.102.1/24
for i in 1 2 3; do
	start_node n$i 172.31.102.10$i/24 100.96.24$i.0/24 1 '"import_table": 100,'
	netns_add n${i}a
done
declare -A IP
for i in 1 2 3; do IP[$i]=$(cni_add n$i n${i}a pod-n$i); done

start_bird() { # i
	local i=$1 peers=""
	for j in 1 2 3; do
		[ $j = $i ] || peers+="protocol bgp n$j from mesh { neighbor 172.31.102.10$j as 64512; }"$'\n'
	done
	cat >"$WORK/bird-n$i.conf" <<-CONF
	router id 172.31.102.10$i;
	log "$WORK/bird-n$i.log" all;
	protocol device { scan time 2; }
	protocol static pods { ipv4; route 100.96.24$i.0/24 blackhole; }
	protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; kernel table 100; }
	template bgp mesh {
		local 172.31.102.10$i as 64512;
		direct; # neighbours on the node network: not multihop
		connect retry time 2; error wait time 1, 4;
		ipv4 { import all; export where proto = "pods"; gateway direct; next hop self; };
	}
	$peers
	CONF
	ip netns exec n$i bird -f -c "$WORK/bird-n$i.conf" -s "$WORK/bird-n$i.ctl" >>"$WORK/bird-n$i.log" 2>&1 &
	echo $! >"$WORK/bird-n$i.pid"
	at_exit "stop_pid $WORK/bird-n$i.pid"
}
kernel_routes() { ctl "$1" route list | grep -c ' kernel$' || true; }
converged() { for i in 1 2 3; do [ "$(kernel_routes n$i)" = 2 ] || return 1; done; }

t0=$(date +%s.%N)
for i in 1 2 3; do start_bird $i; done
wait_for 60 converged || { for i in 1 2 3; do ctl n$i route list; ip netns exec n$i ip route show table 100; tail -20 $WORK/bird-n$i.log; done; fail "BGP routes did not converge in 60 s"; }
t1=$(date +%s.%N)
echo "converged in $(python3 -c "print('%.2f' % ($t1 - $t0))") s after starting BIRD"
ctl n1 route list | grep "^100.96.242.0/24  *via 172.31.102.102  *kernel$" >/dev/null || fail "n1 lacks 100.96.242.0/24 via n2"
ok "every podlaned mirrors the 2 pod CIDRs BIRD learnt"

for s in 1 2 3; do
	for d in 1 2 3; do
		[ $s = $d ] && continue
		ip netns exec n${s}a ping -c 1 -W 2 "${IP[$d]}" >/dev/null || fail "pod n$s -> pod n$d failed over BGP routes"
	done
done
ok "pod <-> pod across all nodes over BGP-learnt routes"

t0=$(date +%s.%N)
stop_pid "$WORK/bird-n2.pid"
gone() { for i in 1 3; do ctl n$i route list | grep "^100.96.242.0/24" >/dev/null && return 1; done; return 0; }
wait_for 30 gone || fail "n2's pod CIDR not withdrawn within 30 s of stopping its BIRD"
t1=$(date +%s.%N)
echo "withdrawn in $(python3 -c "print('%.2f' % ($t1 - $t0))") s after stopping n2's BIRD"
out=$(ip netns exec n1a ping -c 1 -W 2 "${IP[2]}" 2>&1) && fail "n2's pod still reachable after withdrawal"
grep -i unreachable >/dev/null <<<"$out" || fail "expected ICMP unreachable, got: $out"
ok "withdrawal: routes gone, traffic to n2's pods gets ICMP unreachable"

start_bird 2
wait_for 60 converged || fail "routes did not come back after n2's BIRD restarted"
ip netns exec n1a ping -c 1 -W 2 "${IP[2]}" >/dev/null || fail "n2's pod unreachable after BIRD came back"
ok "n2's BIRD back: routes and traffic restored"
echo "bgp: all passed"
