"""JSON-RPC API cases against a running podlaned: every method, malformed
input, oversize and half-written requests, many concurrent clients.
Run by tests/e2e/api_test.sh, which starts the daemon: api_cases.py SOCKET"""
import json
import socket
import sys
import threading
import unittest

SOCK = None


class Client:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX)
        # A guard against a hung daemon, not a speed limit: the ASan build
        # on a busy machine is many times slower than release on an idle one.
        self.s.settimeout(60)
        self.s.connect(SOCK)
        self.f = self.s.makefile("rwb")
        self.id = 0

    def raw(self, line: bytes):
        self.f.write(line)
        self.f.flush()
        return json.loads(self.f.readline())

    def call(self, method, params=None):
        self.id += 1
        req = {"jsonrpc": "2.0", "id": self.id, "method": method}
        if params is not None:
            req["params"] = params
        r = self.raw(json.dumps(req).encode() + b"\n")
        assert r["id"] == self.id, r
        return r

    def ok(self, method, params=None):
        r = self.call(method, params)
        assert "result" in r, r
        return r["result"]

    def err(self, method, params=None):
        r = self.call(method, params)
        assert "error" in r, r
        return r["error"]["code"], r["error"]["message"]

    def close(self):
        self.s.close()


class Api(unittest.TestCase):
    def setUp(self):
        self.c = Client()

    def tearDown(self):
        self.c.close()

    def test_version_and_node_info(self):
        v = self.c.ok("version")
        self.assertRegex(v["version"], r"^\d+\.\d+\.\d+$")
        self.assertIn("DPDK 22.11", v["dpdk"])
        n = self.c.ok("node.info")
        self.assertEqual(n["node_ip"], "172.31.102.105/24")
        self.assertEqual(n["pod_cidr"], "100.96.243.0/24")
        self.assertEqual(n["gateway_for_pods"], "169.254.1.1")
        self.assertEqual((n["masquerade"], n["nat_outgoing"]), (True, False))
        self.assertNotIn("service_cidr", n)
        self.assertTrue(n["ready"])

    def test_port_list_and_stats(self):
        ports = self.c.ok("port.list")
        kinds = sorted(p["kind"] for p in ports)
        self.assertEqual(kinds[:2], ["host", "uplink"])
        # The uplink's (a veth's 1500) is the host port's too.
        self.assertEqual({p["mtu"] for p in ports if p["kind"] != "pod"}, {1500})
        s = self.c.ok("stats.get")
        for reason in ("ttl_exceeded", "no_route", "bad_checksum", "not_for_us", "tx_full",
                       "mtu_exceeded"):
            self.assertIn(reason, s["drops"])
        self.assertEqual(s["fragmented"], 0)
        self.assertTrue(all("rx_packets" in p for p in s["ports"]))
        self.assertEqual([w["id"] for w in s["workers"]], [0])
        self.assertTrue(0 <= s["workers"][0]["busy_ratio"] <= 1)

    def test_parse_error(self):
        r = self.c.raw(b'{"jsonrpc": "2.0", "id": 1, "method": \n')
        self.assertEqual(r["error"]["code"], -32700)
        self.assertIn("parse error", r["error"]["message"])
        self.assertIsNone(r["id"])
        self.c.ok("version")  # the connection survives

    def test_invalid_requests(self):
        r = self.c.raw(b"[1,2]\n")
        self.assertEqual(r["error"]["code"], -32600)
        r = self.c.raw(b'{"id": 5, "method": "version"}\n')
        self.assertEqual((r["id"], r["error"]["code"]), (5, -32600))
        self.assertIn('jsonrpc must be "2.0"', r["error"]["message"])
        r = self.c.raw(b'{"jsonrpc": "2.0", "id": 6, "method": 7}\n')
        self.assertEqual(r["error"]["message"], "invalid request: method must be a string")

    def test_unknown_method_and_bad_params(self):
        self.assertEqual(self.c.err("pod.explode"), (-32601, "unknown method 'pod.explode'"))
        r = self.c.raw(b'{"jsonrpc":"2.0","id":9,"method":"route.add","params":[1]}\n')
        self.assertEqual(r["error"], {"code": -32602, "message": "params must be an object"})

    def test_notification_gets_no_reply(self):
        self.c.f.write(b'{"jsonrpc":"2.0","method":"version"}\n')
        self.c.f.flush()
        self.assertEqual(self.c.ok("version")["version"], self.c.ok("version")["version"])

    def test_route_errors_name_the_field(self):
        cases = [
            ({"prefix": "100.96.244.0/24"}, -32602, "give exactly one of via or dev for 100.96.244.0/24"),
            ({"prefix": "nonsense", "via": "172.31.102.106"}, -32602,
             "prefix: 'nonsense' is not an IPv4 prefix like 100.96.244.0/24"),
            ({"prefix": "100.96.244.1/24", "via": "172.31.102.106"}, -32602,
             "prefix: 100.96.244.1/24 has host bits set"),
            ({"prefix": "100.96.244.0/24", "via": "10.1.1.1"}, -32602,
             "via: 10.1.1.1 is not a neighbour on the node network"),
            ({"prefix": "100.96.244.0/24", "via": "300.1.1.1"}, -32602,
             "via: '300.1.1.1' is not an IPv4 address"),
            ({"prefix": "100.96.244.0/24", "dev": "nosuch"}, -32001,
             "dev: no port named 'nosuch' (see port.list)"),
            ({"prefix": 5, "via": "172.31.102.106"}, -32602, "prefix: missing or not a string"),
            ({"prefix": "100.96.244.0/24", "via": "172.31.102.106", "origin": "system"}, -32602,
             "origin: 'system' is not allowed (1-15 characters, not system, pod, service or kernel)"),
        ]
        for params, code, msg in cases:
            with self.subTest(params=params):
                self.assertEqual(self.c.err("route.add", params), (code, msg))

    def test_route_add_list_del(self):
        r = self.c.ok("route.add", {"prefix": "100.96.250.0/24", "via": "172.31.102.106"})
        self.assertEqual(r, {"prefix": "100.96.250.0/24", "via": "172.31.102.106", "origin": "static"})
        self.assertIn(r, self.c.ok("route.list"))
        code, msg = self.c.err("route.add", {"prefix": "100.96.250.0/24", "via": "172.31.102.107"})
        self.assertEqual(code, -32002)
        self.assertIn("route 100.96.250.0/24 already exists", msg)
        self.assertEqual(self.c.ok("route.del", {"prefix": "100.96.250.0/24"}), {"deleted": "100.96.250.0/24"})
        self.assertNotIn(r, self.c.ok("route.list"))
        self.assertEqual(self.c.err("route.del", {"prefix": "100.96.250.0/24"}), (-32001, "no route 100.96.250.0/24"))
        r = self.c.ok("route.add", {"prefix": "100.96.251.0/24", "dev": "host"})
        self.assertEqual(r, {"prefix": "100.96.251.0/24", "dev": "host", "origin": "static"})
        r = self.c.ok("route.add", {"prefix": "100.96.252.0/24", "dev": "uplink", "origin": "lab"})
        self.assertEqual(r, {"prefix": "100.96.252.0/24", "dev": "uplink", "origin": "lab"})
        self.c.ok("route.del", {"prefix": "100.96.251.0/24"})
        self.c.ok("route.del", {"prefix": "100.96.252.0/24"})
        self.assertEqual(self.c.err("route.del", {"prefix": "172.31.102.0/24"}),
                         (-32602, "route 172.31.102.0/24 belongs to system and cannot be deleted"))

    def test_route_lookup(self):
        self.c.ok("route.add", {"prefix": "100.96.250.0/24", "via": "172.31.102.106"})
        try:
            r = self.c.ok("route.lookup", {"address": "100.96.250.9"})
            self.assertEqual(r, {"address": "100.96.250.9", "action": "forward", "port": "uplink",
                                 "next_hop": "172.31.102.106", "mac": None,
                                 "route": {"prefix": "100.96.250.0/24", "via": "172.31.102.106",
                                           "origin": "static"}})
        finally:
            self.c.ok("route.del", {"prefix": "100.96.250.0/24"})
        r = self.c.ok("route.lookup", {"address": "100.96.243.77"})  # unallocated pod address
        self.assertEqual((r["action"], r["route"]["prefix"]), ("blackhole", "100.96.243.0/24"))
        self.assertEqual(self.c.ok("route.lookup", {"address": "9.9.9.9"}),
                         {"address": "9.9.9.9", "route": None, "action": "unreachable"})
        self.assertEqual(self.c.err("route.lookup", {}), (-32602, "address: missing"))
        self.assertEqual(self.c.err("route.lookup", {"address": "1.2.3"}),
                         (-32602, "address: '1.2.3' is not an IPv4 or IPv6 address"))
        self.assertEqual(self.c.err("route.lookup", {"address": "fd00::zz"}),
                         (-32602, "address: 'fd00::zz' is not an IPv4 or IPv6 address"))
        # IPv4-only node: no IPv6 route at all.
        self.assertEqual(self.c.ok("route.lookup", {"address": "fd00::1"}),
                         {"address": "fd00::1", "route": None, "action": "unreachable"})

    def test_replace_all_applies_the_diff(self):
        def routes(n, via="172.31.102.106"):
            return [{"prefix": "100.%d.%d.0/24" % (100 + i // 256, i % 256), "via": via} for i in range(n)]
        r = self.c.ok("route.replace_all", {"origin": "t-agent", "routes": routes(2000)})
        self.assertEqual((r["added"], r["removed"], r["changed"], r["unchanged"]), (2000, 0, 0, 0))
        r = self.c.ok("route.replace_all", {"origin": "t-agent", "routes": routes(2000)})
        self.assertEqual(r["unchanged"], 2000)
        new = routes(1000)
        new[0]["via"] = "172.31.102.107"
        r = self.c.ok("route.replace_all", {"origin": "t-agent", "routes": new})
        self.assertEqual((r["added"], r["removed"], r["changed"], r["unchanged"]), (0, 1000, 1, 999))
        # A bad entry anywhere changes nothing.
        bad = routes(1500) + [{"prefix": "100.96.0.0/33", "via": "172.31.102.106"}]
        code, msg = self.c.err("route.replace_all", {"origin": "t-agent", "routes": bad})
        self.assertEqual(code, -32602)
        self.assertTrue(msg.startswith("routes[1500]: prefix: "), msg)
        dup = routes(2) + routes(1)
        self.assertEqual(self.c.err("route.replace_all", {"origin": "t-agent", "routes": dup}),
                         (-32602, "routes: 100.100.0.0/24 appears twice"))
        mine = self.c.ok("route.list", {"origin": "t-agent"})
        self.assertEqual(len(mine), 1000)
        self.assertIn({"prefix": "100.100.0.0/24", "via": "172.31.102.107", "origin": "t-agent"}, mine)
        r = self.c.ok("route.replace_all", {"origin": "t-agent", "routes": []})
        self.assertEqual(r["removed"], 1000)
        self.assertEqual(self.c.ok("route.list", {"origin": "t-agent"}), [])

    SVC = {"ip": "10.96.0.10", "port": 80, "protocol": "tcp",
           "backends": [{"ip": "100.96.243.9", "port": 8080}, {"ip": "100.96.244.9", "port": 8080}]}

    def test_service_errors_name_the_field(self):
        def svc(**kw):
            s = dict(self.SVC)
            s.update(kw)
            return {k: v for k, v in s.items() if v is not None}
        cases = [
            (svc(ip=None), -32602, "ip: missing"),
            (svc(ip="10.96.0"), -32602, "ip: 10.96.0 is not an IPv4 or IPv6 address"),
            (svc(ip="fd00:96::10"), -32602,
             "ip: fd00:96::10 is IPv6 and this node has no IPv6 pods (pod_cidr)"),
            (svc(backends=[{"ip": "fd00::9", "port": 1}]), -32602,
             "backends[0].ip: fd00::9 is not an IPv4 address (the service's ip is)"),
            (svc(port=0), -32602, "port: must be a port number 1-65535"),
            (svc(port="80"), -32602, "port: must be a port number 1-65535"),
            (svc(protocol="sctp"), -32602, "protocol: 'sctp' is not supported (tcp, udp)"),
            (svc(protocol=None), -32602, "protocol: missing"),
            (svc(ip="172.31.102.105"), -32602,
             "ip: 172.31.102.105 is the node's own address (use node_port)"),
            (svc(ip="100.96.1.1"), -32602, "ip: 100.96.1.1 is in cluster_cidr (pods' addresses)"),
            (svc(ip="224.0.0.1"), -32602, "ip: 224.0.0.1 is not a unicast address a service can have"),
            (svc(backends=None), -32602, "backends: missing (an empty list for none)"),
            (svc(backends=[{"ip": "100.96.243.9"}]), -32602, "backends[0].port: missing"),
            (svc(backends=[{"ip": "0.0.0.0", "port": 1}]), -32602,
             "backends[0].ip: 0.0.0.0 is not a unicast address"),
            (svc(backends=[{"ip": "100.96.243.9", "port": 1}] * 2), -32602,
             "backends: 100.96.243.9:1 appears twice"),
            (svc(backends=[{"ip": "100.96.243.9", "port": 1}] * 1025), -32602,
             "backends: must be a list of at most 1024 {ip, port}"),
            (svc(node_port=70000), -32602, "node_port: must be a port number 1-65535"),
            (svc(external_ips=["100.96.0.1"]), -32602,
             "external_ips[0]: 100.96.0.1 is in cluster_cidr (pods' addresses)"),
            (svc(external_ips=["198.51.100.1", "198.51.100.1"]), -32602,
             "external_ips[1]: 198.51.100.1 appears twice"),
            (svc(external_traffic_policy="local"), -32602,
             "external_traffic_policy: must be Cluster or Local"),
            (svc(affinity_timeout=86401), -32602, "affinity_timeout: must be 0 (none) to 86400 seconds"),
            (svc(name='a"b'), -32602,
             "name: must be a string of 1-127 characters without quotes, backslashes or newlines"),
            (svc(color="red"), -32602, "color: unknown key of a service"),
        ]
        for params, code, msg in cases:
            with self.subTest(params=params):
                self.assertEqual(self.c.err("service.add", params), (code, msg))
        self.assertEqual(self.c.ok("service.list"), [])
        self.assertEqual(self.c.err("service.del", {"ip": "10.96.0.99", "port": 1, "protocol": "udp"}),
                         (-32001, "no service 10.96.0.99:1/udp"))

    def test_service_add_list_del(self):
        r = self.c.ok("service.add", dict(self.SVC, node_port=30080, name="default/web"))
        self.assertEqual(r, dict(self.SVC, node_port=30080, name="default/web", origin="static"))
        try:
            listed = self.c.ok("service.list")
            self.assertEqual(len(listed), 1)
            self.assertEqual(listed[0]["stats"], {"connections": 0, "packets": 0, "bytes": 0, "rejected": 0})
            self.assertEqual(self.c.err("service.add", self.SVC)[0], -32002)
            # Its address is a route of origin "service", which no one else may take.
            self.assertIn({"prefix": "10.96.0.10/32", "type": "service", "origin": "service"},
                          self.c.ok("route.list"))
            self.assertEqual(self.c.err("route.del", {"prefix": "10.96.0.10/32"}),
                             (-32602, "route 10.96.0.10/32 belongs to service and cannot be deleted"))
            other = dict(self.SVC, ip="10.96.0.11", node_port=30080)
            self.assertEqual(self.c.err("service.add", other),
                             (-32002, "172.31.102.105:30080/tcp is a frontend of two services (ip, "
                                      "external_ips and node_port must be unique)"))
            self.c.ok("route.add", {"prefix": "198.51.100.7/32", "via": "172.31.102.106"})
            self.assertEqual(self.c.err("service.add", dict(other, node_port=30081, external_ips=["198.51.100.7"])),
                             (-32002, "external_ips: 198.51.100.7/32 is already a route of origin static"))
            self.c.ok("route.del", {"prefix": "198.51.100.7/32"})
            t = self.c.ok("route.lookup", {"address": "10.96.0.10", "port": 80, "source": "100.96.243.2",
                                           "source_port": 40000})
            self.assertEqual(t["service"], {"service": "10.96.0.10:80/tcp", "name": "default/web"})
            self.assertIn(t["backend"], ("100.96.243.9:8080", "100.96.244.9:8080"))
            self.assertEqual(self.c.ok("route.lookup", {"address": "10.96.0.10"})["action"], "service")
        finally:
            r = self.c.ok("service.del", {"ip": "10.96.0.10", "port": 80, "protocol": "tcp"})
        self.assertEqual(r, {"deleted": "10.96.0.10:80/tcp"})
        self.assertEqual(self.c.ok("service.list"), [])
        self.assertNotIn("10.96.0.10/32", [x["prefix"] for x in self.c.ok("route.list")])

    def test_service_replace_all_applies_the_diff(self):
        def svcs(n, port=8080):
            return [{"ip": "10.97.%d.%d" % (i // 250, i % 250 + 1), "port": 53, "protocol": "udp",
                     "backends": [{"ip": "100.96.243.%d" % (i % 200 + 1), "port": port}]} for i in range(n)]
        r = self.c.ok("service.replace_all", {"origin": "t-k8s", "services": svcs(300)})
        self.assertEqual((r["added"], r["changed"], r["removed"], r["unchanged"]), (300, 0, 0, 0))
        new = svcs(200)
        new[0]["backends"][0]["port"] = 9090
        r = self.c.ok("service.replace_all", {"origin": "t-k8s", "services": new})
        self.assertEqual((r["added"], r["changed"], r["removed"], r["unchanged"]), (0, 1, 100, 199))
        bad = svcs(150) + [{"ip": "10.97.9.9", "port": 53, "protocol": "icmp", "backends": []}]
        self.assertEqual(self.c.err("service.replace_all", {"origin": "t-k8s", "services": bad}),
                         (-32602, "services[150]: protocol: 'icmp' is not supported (tcp, udp)"))
        self.assertEqual(self.c.err("service.replace_all", {"origin": "t-k8s", "services": svcs(2) + svcs(1)}),
                         (-32602, "services: 10.97.0.1:53/udp appears twice"))
        self.assertEqual(len(self.c.ok("service.list", {"origin": "t-k8s"})), 200)
        self.c.ok("service.add", {"ip": "10.98.0.1", "port": 53, "protocol": "udp", "backends": []})
        clash = svcs(1) + [{"ip": "10.98.0.1", "port": 53, "protocol": "udp", "backends": []}]
        self.assertEqual(self.c.err("service.replace_all", {"origin": "t-k8s", "services": clash}),
                         (-32002, "services[1]: 10.98.0.1:53/udp is already a service of origin static"))
        self.c.ok("service.del", {"ip": "10.98.0.1", "port": 53, "protocol": "udp"})
        r = self.c.ok("service.replace_all", {"origin": "t-k8s", "services": []})
        self.assertEqual(r["removed"], 200)
        self.assertEqual(self.c.ok("service.list"), [])

    def test_conntrack_params(self):
        r = self.c.ok("conntrack.list")
        self.assertEqual((r["flows"], r["matched"], r["in_use"]), ([], 0, 0))
        self.assertGreaterEqual(r["max"], 1024)
        self.assertEqual(self.c.err("conntrack.list", {"ip": "10.96.0.1", "port": 5, "protocol": "tcp"}),
                         (-32001, "no service 10.96.0.1:5/tcp"))
        self.assertEqual(self.c.err("conntrack.list", {"limit": -1}),
                         (-32602, "limit: must be a whole number"))
        self.assertEqual(self.c.err("conntrack.flush", {"ip": "10.96.0.1"}), (-32602, "port: missing"))
        self.assertEqual(self.c.ok("conntrack.flush"), {"flushed": 0})

    def test_replace_all_100k_routes(self):
        import time
        routes = [{"prefix": "%d.%d.%d.0/24" % (101 + (i >> 16), (i >> 8) & 255, i & 255), "via": "172.31.102.106"}
                  for i in range(100000)]
        t = time.monotonic()
        # rte_lpm inserts in time linear in the table: how long 100k take
        # depends on the build and the machine, so only the suite's own
        # timeout bounds it.
        self.c.s.settimeout(None)
        r = self.c.ok("route.replace_all", {"origin": "big", "routes": routes})
        print("\n# replace_all of 100k routes: %.2f s" % (time.monotonic() - t), file=sys.stderr)
        self.assertEqual(r["added"], 100000)
        self.assertEqual(len(self.c.ok("route.list", {"origin": "big"})), 100000)
        r = self.c.ok("route.replace_all", {"origin": "big", "routes": []})
        self.assertEqual(r["removed"], 100000)

    def test_pod_param_errors(self):
        cases = [
            ({"netns": "/run/netns/x", "ifname": "eth0"}, -32602, "container_id: missing"),
            ({"container_id": "../etc", "netns": "/run/netns/x", "ifname": "eth0"}, -32602,
             "container_id: '../etc' is not valid (letters, digits, _ . - ; at most 255)"),
            ({"container_id": "c1", "netns": "/run/netns/x", "ifname": "a/b"}, -32602,
             "ifname: 'a/b' is not a valid interface name (1-15 characters, no / : or spaces)"),
            ({"container_id": "c1", "netns": "/run/netns/x", "ifname": "x" * 16}, -32602,
             "ifname: '%s' is not a valid interface name (1-15 characters, no / : or spaces)" % ("x" * 16)),
            ({"container_id": "c1", "ifname": "eth0"}, -32602, "netns: missing"),
            ({"container_id": "c1", "netns": "/nonexistent/ns", "ifname": "eth0"}, -32005,
             "netns: '/nonexistent/ns' does not exist"),
            ({"container_id": "c1", "netns": "/proc/self/ns/net", "ifname": "eth0", "kind": "memif"}, -32602,
             "kind: 'memif' is not supported (tap, vhost-user)"),
            ({"container_id": "c1", "netns": "/proc/self/ns/net", "ifname": "eth0", "ip": "1.2.3"}, -32602,
             "ip: '1.2.3' is not an IPv4 address"),
            ({"container_id": "c1", "netns": "/proc/self/ns/net", "ifname": "eth0", "k8s_name": "web"}, -32602,
             "k8s_namespace and k8s_name: give both or neither"),
            ({"container_id": "c1", "netns": "/proc/self/ns/net", "ifname": "eth0", "k8s_namespace": "a.b",
              "k8s_name": "web"}, -32602,
             "k8s_namespace: 'a.b' is not a Kubernetes namespace (lowercase letters, digits and '-', at most 63)"),
            ({"container_id": "c1", "netns": "/proc/self/ns/net", "ifname": "eth0", "k8s_namespace": "a",
              "k8s_name": "-web"}, -32602,
             "k8s_name: '-web' is not a Kubernetes pod name (lowercase letters, digits, '-' and '.', at most 253)"),
            ({"container_id": "c1", "netns": "/proc/self/ns/net", "ifname": "eth0", "k8s_namespace": 7,
              "k8s_name": "web"}, -32602, "k8s_namespace: must be a string"),
            # A TAP read buffer holds one whole frame (DP_KPORT_GSO_MAX).
            ({"container_id": "c1", "netns": "/proc/self/ns/net", "ifname": "eth0", "mtu": 65000}, -32602,
             "mtu: at most 64986 on a TAP pod"),
        ]
        for params, code, msg in cases:
            with self.subTest(params=params):
                self.assertEqual(self.c.err("pod.add", params), (code, msg))
        before = self.c.ok("node.info")["free_ips"]
        self.assertEqual(self.c.ok("pod.del", {"container_id": "nope", "ifname": "eth0"}), {"deleted": False})
        self.assertEqual(self.c.err("pod.check", {"container_id": "nope", "ifname": "eth0"}),
                         (-32001, "no pod nope/eth0"))
        self.assertEqual(self.c.ok("node.info")["free_ips"], before)

    def test_netns_paths_are_checked_without_blocking(self):
        """Issue 30: a FIFO blocked the control thread; podlaned's own netns
        got the pod's interface and routes; a long path was cut short."""
        import os
        import tempfile
        tmp = tempfile.mkdtemp()
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        long = "/" + "n" * 300
        cases = [
            (fifo, "netns: '%s' is not a network namespace" % fifo),
            (tmp, "netns: '%s' is not a network namespace" % tmp),
            ("/dev/null", "netns: '/dev/null' is not a network namespace"),
            ("/proc/self/ns/net", "netns: '/proc/self/ns/net' is podlaned's own network namespace"),
            ("/proc/self/ns/mnt", "netns: '/proc/self/ns/mnt' is not a network namespace"),
            (long, "netns: '%s' is longer than 255 characters" % long[:200]),
            ("/" + "n" * 254, "netns: '%s' does not exist" % ("/" + "n" * 254)[:200]),
            ("run/netns/x", "netns: 'run/netns/x' is not an absolute path"),
        ]
        for netns, msg in cases:
            for kind in ("tap", "vhost-user"):
                with self.subTest(netns=netns[:40], kind=kind):
                    self.assertEqual(self.c.err("pod.add", {"container_id": "c1", "netns": netns,
                                                            "ifname": "eth0", "kind": kind}), (-32005, msg))
        self.assertEqual(self.c.ok("pod.list"), [])
        os.unlink(fifo)
        os.rmdir(tmp)

    def test_lenient_input_is_refused(self):
        """Issue 30, item 13: each of these was accepted."""
        for prefix in ("100.96.244.0/ 24", "100.96.244.0/+24", "100.96.244.0/024", "100.96.244.0/"):
            with self.subTest(prefix=prefix):
                self.assertEqual(self.c.err("route.add", {"prefix": prefix, "via": "172.31.102.106"}),
                                 (-32602, "prefix: '%s' is not an IPv4 prefix like 100.96.244.0/24" % prefix))
        self.assertEqual(self.c.err("pod.add", {"container_id": "c1", "netns": "/run/netns/x", "ifname": "eth0",
                                                "ip": "0.0.0.0"}),
                         (-32602, "ip: 0.0.0.0 is not a usable address of pod_cidr"))
        r = self.c.raw(b'{"jsonrpc":"2.0","id":3,"method":"version","method":"route.list"}\n')
        self.assertEqual((r["id"], r["error"]["code"]), (None, -32700))
        self.assertIn("duplicate object key", r["error"]["message"])
        # Invalid requests without an id are answered, with id null.
        for line in (b"{}\n", b'{"jsonrpc":"1.0","method":"version"}\n', b'{"jsonrpc":"2.0","method":5}\n'):
            with self.subTest(line=line):
                r = self.c.raw(line)
                self.assertEqual((r["id"], r["error"]["code"]), (None, -32600))

    def test_routes_that_would_drift_are_refused(self):
        """Issue 30, item 7: a /32 on a free pod address was taken over by
        the pod later given it, and won over it after a restart; origin
        kernel was accepted but never saved."""
        for prefix in ("100.96.243.7/32", "100.96.243.0/24", "100.96.243.128/25"):
            with self.subTest(prefix=prefix):
                self.assertEqual(self.c.err("route.add", {"prefix": prefix, "via": "172.31.102.106"}),
                                 (-32602, "prefix: %s is inside pod_cidr 100.96.243.0/24 (this node's pods, "
                                  "routed by pod.add)" % prefix))
        self.assertEqual(self.c.err("route.replace_all", {"origin": "agent", "routes": [
            {"prefix": "100.96.243.9/32", "via": "172.31.102.106"}]})[1],
            "routes[0]: prefix: 100.96.243.9/32 is inside pod_cidr 100.96.243.0/24 (this node's pods, "
            "routed by pod.add)")
        msg = "origin: 'kernel' is not allowed (1-15 characters, not system, pod, service or kernel)"
        self.assertEqual(self.c.err("route.add", {"prefix": "100.96.244.0/24", "via": "172.31.102.106",
                                                  "origin": "kernel"}), (-32602, msg))
        self.assertEqual(self.c.err("route.replace_all", {"origin": "kernel", "routes": []}), (-32602, msg))
        # A wider prefix holding pod_cidr is fine: the pods' /32s are longer.
        self.c.ok("route.add", {"prefix": "100.96.0.0/16", "via": "172.31.102.106"})
        self.c.ok("route.del", {"prefix": "100.96.0.0/16"})

    def test_idle_clients_make_room(self):
        """Issue 30, item 8: 256 clients that never send held every slot
        for ever. The one idle longest (at least 1 s) makes room."""
        import select
        import socket as so
        import time
        idle = []
        for _ in range(300):  # more than the 256 slots
            s = so.socket(so.AF_UNIX)
            s.connect(SOCK)
            idle.append(s)
        time.sleep(1.5)
        fresh = [Client() for _ in range(10)]  # kept open: each takes a slot
        for c in fresh:
            self.assertRegex(c.ok("version")["version"], r"^\d+\.\d+\.\d+$")
        # 44 or more refused at once (every slot busy, none idle 1 s yet),
        # then one evicted for each fresh client.
        want, closed, end = 300 - 256 + 10, [], time.time() + 30
        while len(closed) < want and time.time() < end:
            closed, _, _ = select.select(idle, [], [], 1)
        self.assertGreaterEqual(len(closed), want)
        self.assertTrue(all(s.recv(1) == b"" for s in closed))
        for c in fresh:
            c.close()
        for s in idle:
            s.close()

    def test_oversize_request_refused_others_unaffected(self):
        other = Client()
        line = b'{"jsonrpc":"2.0","id":1,"method":"version","params":{"x":"' + b"a" * (8 << 20) + b'"}}\n'
        try:
            self.c.s.sendall(line)
        except BrokenPipeError:
            pass  # the daemon refused before reading it all: expected
        other.ok("version")
        r = json.loads(self.c.f.readline())
        self.assertEqual(r["error"], {"code": -32007, "message": "request larger than 8 MiB"})
        self.assertEqual(self.c.f.readline(), b"")  # closed
        other.ok("version")
        other.close()

    def test_half_written_and_unread_clients_block_nobody(self):
        half = Client()
        half.s.sendall(b'{"jsonrpc":"2.0","id":1,"meth')
        deaf = Client()
        deaf.s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"route.list"}\n' * 2000)
        for _ in range(20):
            self.c.ok("node.info")
        half.close()
        deaf.close()
        self.c.ok("version")

    def test_half_written_request_expires(self):
        half = Client()
        half.s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"version"')
        half.s.settimeout(12)
        r = json.loads(half.f.readline())
        self.assertEqual(r["error"], {"code": -32008, "message": "request not completed within 5 s"})
        self.assertEqual(half.f.readline(), b"")  # and closed
        half.close()
        self.c.ok("version")

    def test_socket_mode(self):
        import os
        import stat
        self.assertEqual(stat.S_IMODE(os.stat(SOCK).st_mode), 0o660)

    def test_many_concurrent_clients(self):
        errors = []

        def worker(k):
            try:
                c = Client()
                for i in range(20):
                    assert c.ok("node.info")["pod_cidr"] == "100.96.243.0/24"
                c.close()
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    SOCK = sys.argv.pop(1)
    unittest.main(verbosity=2)
