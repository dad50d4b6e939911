#!/usr/bin/env bash
# Route exchange through BGP with BIRD 2 (full iBGP mesh of 3 dual-stack
# nodes, over IPv4 and over IPv6): each BIRD announces its node's pod
# CIDRs and installs the others' into kernel table 100, which podlaned
# mirrors. Convergence and withdrawal are timed.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
command -v bird >/dev/null || fail "bird2 is needed (tools/deps.sh installs it)"

fabric 172.31.102.1/24
# max_routes 1024, max_flows 16384: three dual-stack nodes fit CI's 512
# hugepages.
for i in 1 2 3; do
	start_node n$i 172.31.102.10$i/24,fd00:172:31:102::10$i/64 100.96.24$i.0/24,fd00:10:96:f$i::/64 1 \
		'"import_table": 100, "cluster_cidr": ["100.96.0.0/11", "fd00:10:96::/48"], "max_routes": 1024, "max_flows": 16384,'
	netns_add n${i}a
done
declare -A IP IP6
for i in 1 2 3; do
	IP[$i]=$(cni_add n$i n${i}a pod-n$i)
	IP6[$i]=fd00:10:96:f$i::$(printf %x "${IP[$i]##*.}")
done

start_bird() { # i
	local i=$1 peers=""
	for j in 1 2 3; do
		[ $j = $i ] && continue
		peers+="protocol bgp n$j from mesh { neighbor 172.31.102.10$j as 64512; }"$'\n'
		peers+="protocol bgp n${j}v6 from mesh6 { neighbor fd00:172:31:102::10$j as 64512; }"$'\n'
	done
	cat >"$WORK/bird-n$i.conf" <<-CONF
	router id 172.31.102.10$i;
	log "$WORK/bird-n$i.log" all;
	protocol device { scan time 2; }
	protocol static pods { ipv4; route 100.96.24$i.0/24 blackhole; }
	protocol static pods6 { ipv6; route fd00:10:96:f$i::/64 blackhole; }
	protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; kernel table 100; }
	protocol kernel { ipv6 { import none; export where source = RTS_BGP; }; kernel table 100; }
	template bgp mesh {
		local 172.31.102.10$i as 64512;
		direct; # neighbours on the node network: not multihop
		connect retry time 2; error wait time 1, 4;
		ipv4 { import all; export where proto = "pods"; gateway direct; next hop self; };
	}
	template bgp mesh6 { # over IPv6: next hop self is the node's global address
		local fd00:172:31:102::10$i as 64512;
		direct;
		connect retry time 2; error wait time 1, 4;
		ipv6 { import all; export where proto = "pods6"; gateway direct; next hop self; };
	}
	$peers
	CONF
	ip netns exec n$i bird -f -c "$WORK/bird-n$i.conf" -s "$WORK/bird-n$i.ctl" >>"$WORK/bird-n$i.log" 2>&1 &
	echo $! >"$WORK/bird-n$i.pid"
	at_exit "stop_pid $WORK/bird-n$i.pid"
}
kernel_routes() { ctl "$1" route list | grep -c ' kernel$' || true; }
converged() { for i in 1 2 3; do [ "$(kernel_routes n$i)" = 4 ] || return 1; done; }

t0=$(date +%s.%N)
for i in 1 2 3; do start_bird $i; done
wait_for 60 converged || { for i in 1 2 3; do ctl n$i route list; ip netns exec n$i ip route show table 100; tail -20 $WORK/bird-n$i.log; done; fail "BGP routes did not converge in 60 s"; }
t1=$(date +%s.%N)
echo "converged in $(python3 -c "print('%.2f' % ($t1 - $t0))") s after starting BIRD"
routes=$(ctl n1 route list)
grep -q "^100.96.242.0/24  *via 172.31.102.102  *kernel$" <<<"$routes" || fail "n1 lacks 100.96.242.0/24 via n2: $routes"
grep -q "^fd00:10:96:f2::/64  *via fd00:172:31:102::102  *kernel$" <<<"$routes" ||
	fail "n1 lacks fd00:10:96:f2::/64 via n2's IPv6 address: $routes"
ok "every podlaned mirrors the 2 IPv4 and 2 IPv6 pod CIDRs BIRD learnt (BGP over IPv4 and over IPv6)"

for s in 1 2 3; do
	for d in 1 2 3; do
		[ $s = $d ] && continue
		ip netns exec n${s}a ping -c 1 -W 2 "${IP[$d]}" >/dev/null || fail "pod n$s -> pod n$d failed over BGP routes"
		ip netns exec n${s}a ping -6 -c 1 -W 2 "${IP6[$d]}" >/dev/null ||
			fail "pod n$s -> pod n$d failed over IPv6 BGP routes"
	done
done
ok "pod <-> pod across all nodes over BGP-learnt routes, IPv4 and IPv6"

t0=$(date +%s.%N)
stop_pid "$WORK/bird-n2.pid"
gone() { for i in 1 3; do ctl n$i route list | grep -E "^(100.96.242.0/24|fd00:10:96:f2::/64) " >/dev/null && return 1; done; return 0; }
wait_for 30 gone || fail "n2's pod CIDR not withdrawn within 30 s of stopping its BIRD"
t1=$(date +%s.%N)
echo "withdrawn in $(python3 -c "print('%.2f' % ($t1 - $t0))") s after stopping n2's BIRD"
out=$(ip netns exec n1a ping -c 1 -W 2 "${IP[2]}" 2>&1) && fail "n2's pod still reachable after withdrawal"
grep -i unreachable >/dev/null <<<"$out" || fail "expected ICMP unreachable, got: $out"
# IPv6: the cluster's prefix is unreachable at podlaned (the node kernel,
# where ::/0 goes, would route it straight back).
out=$(ip netns exec n1a ping -6 -c 1 -W 2 "${IP6[2]}" 2>&1) && fail "n2's pod still reachable over IPv6 after withdrawal"
grep -q "From fe80::1.*Destination unreachable" <<<"$out" || fail "expected ICMPv6 unreachable from fe80::1, got: $out"
ok "withdrawal: routes gone, traffic to n2's pods gets ICMP unreachable, IPv4 and IPv6"

start_bird 2
wait_for 60 converged || fail "routes did not come back after n2's BIRD restarted"
ip netns exec n1a ping -c 1 -W 2 "${IP[2]}" >/dev/null || fail "n2's pod unreachable after BIRD came back"
ip netns exec n1a ping -6 -c 1 -W 2 "${IP6[2]}" >/dev/null || fail "n2's pod unreachable over IPv6 after BIRD came back"
ok "n2's BIRD back: routes and traffic restored"
echo "bgp: all passed"
