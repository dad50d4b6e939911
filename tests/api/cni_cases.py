"""Table-driven tests of the podlane CNI plugin: exec the built binary as a
runtime does (CNI_* environment + config on stdin) against a running
podlaned. Run by tests/e2e/cni_test.sh: cni_cases.py SOCKET PLUGIN WORKDIR"""
import json
import os
import shutil
import subprocess
import sys
import unittest

SOCK = PLUGIN = WORK = None
CNI_PATH = "/usr/lib/cni"


def conf(version="1.0.0", **extra):
    c = {"cniVersion": version, "name": "podlane-test", "type": "podlane", "socket": SOCK}
    c.update(extra)
    return c


def cni(command, config, cid="ctr1", netns="/run/netns/cni-a", ifname="eth0", env_over=None, raw=None):
    env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_CONTAINERID": cid,
           "CNI_NETNS": netns, "CNI_IFNAME": ifname, "CNI_ARGS": "", "CNI_PATH": CNI_PATH}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):  # the sanitizer build's settings
        if k in os.environ:
            env[k] = os.environ[k]
    for k, v in (env_over or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    stdin = raw if raw is not None else json.dumps(config)
    p = subprocess.run([PLUGIN], input=stdin.encode(), env=env, capture_output=True, timeout=60)
    out = p.stdout.decode()
    return p.returncode, (json.loads(out) if out.strip() else None)


def daemon(method, params=None):
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    f = s.makefile("rwb")
    f.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode() + b"\n")
    f.flush()
    r = json.loads(f.readline())
    s.close()
    return r["result"]


def netns(name):
    subprocess.run(["ip", "netns", "add", name], check=False, capture_output=True)
    return "/run/netns/" + name


class Cni(unittest.TestCase):
    def setUp(self):
        self.a = netns("cni-a")
        self.b = netns("cni-b")
        self.free = daemon("node.info")["free_ips"]

    def tearDown(self):
        for p in daemon("pod.list"):
            daemon("pod.del", {"container_id": p["container_id"], "ifname": p["ifname"]})

    def assertNothingLeaked(self):
        self.assertEqual(daemon("pod.list"), [])
        self.assertEqual(daemon("node.info")["free_ips"], self.free)

    def test_version(self):
        for v in ("0.4.0", "1.0.0", "1.1.0"):
            rc, out = cni("VERSION", {"cniVersion": v}, cid="dummy", netns="dummy", ifname="dummy")
            self.assertEqual(rc, 0)
            self.assertEqual(out, {"cniVersion": v, "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]})

    def test_bad_input_codes(self):
        cases = [
            ("no CNI_COMMAND", dict(command="ADD", env_over={"CNI_COMMAND": None}), 4, "CNI_COMMAND is not set"),
            ("unknown command", dict(command="FROB"), 4, "CNI_COMMAND: unknown command 'FROB'"),
            ("broken JSON", dict(command="ADD", raw='{"cniVersion": '), 6, None),
            ("not an object", dict(command="ADD", raw="[]"), 6, "the network config on stdin is not a JSON object"),
            ("no cniVersion", dict(command="ADD", config={"name": "n", "type": "podlane"}), 7,
             "network config: cniVersion is missing or not a string"),
            ("old version", dict(command="ADD", config=conf("0.3.1")), 1, "incompatible CNI version 0.3.1"),
            ("wrong type", dict(command="ADD", config=conf(type="bridge")), 7, 'network config: type must be "podlane"'),
            ("bad interface", dict(command="ADD", config=conf(interface="virtio")), 7,
             'network config: interface must be "tap" or "vhost-user"'),
            ("bad runtimeConfig interface", dict(command="ADD", config=conf(runtimeConfig={"interface": 1})), 7,
             'network config: runtimeConfig.interface must be "tap" or "vhost-user"'),
            ("bad CNI_ARGS interface", dict(command="ADD", env_over={"CNI_ARGS": "K8S_POD_NAME=p;PODLANE_INTERFACE=tun"}),
             4, "CNI_ARGS: PODLANE_INTERFACE must be tap or vhost-user, not 'tun'"),
            ("bad CNI_ARGS pod name", dict(command="ADD", env_over={"CNI_ARGS": "K8S_POD_NAMESPACE=default;K8S_POD_NAME=Web_1"}),
             4, "CNI_ARGS: K8S_POD_NAME 'Web_1' is not a Kubernetes pod name"),
            ("bad CNI_ARGS namespace", dict(command="ADD", env_over={"CNI_ARGS": "K8S_POD_NAMESPACE=%s;K8S_POD_NAME=w" % ("n" * 64)}),
             4, "CNI_ARGS: K8S_POD_NAMESPACE '%s' is not a Kubernetes namespace" % ("n" * 64)),
            ("bad mtu", dict(command="ADD", config=conf(mtu=10)), 7, "network config: mtu must be an integer from 68 to 65535"),
            ("no container id", dict(command="ADD", env_over={"CNI_CONTAINERID": ""}), 4, "CNI_CONTAINERID is not set"),
            ("bad container id", dict(command="ADD", cid="../../etc"), 4,
             "CNI_CONTAINERID: '../../etc' is not a valid container ID"),
            ("bad ifname", dict(command="ADD", ifname="a/b"), 4, "CNI_IFNAME: 'a/b' is not a valid interface name"),
            ("long ifname", dict(command="ADD", ifname="x" * 16), 4,
             "CNI_IFNAME: '%s' is not a valid interface name" % ("x" * 16)),
            ("no netns", dict(command="ADD", env_over={"CNI_NETNS": None}), 4, "CNI_NETNS is not set"),
            ("missing netns", dict(command="ADD", netns="/run/netns/nope"), 100, "netns: '/run/netns/nope' does not exist"),
            ("daemon down", dict(command="ADD", config=conf(socket=WORK + "/nothing.sock")), 11,
             "podlaned is not reachable; try again later"),
            ("STATUS on 1.0.0", dict(command="STATUS"), 1, "STATUS needs cniVersion 1.1.0, config has 1.0.0"),
            ("ipam without type", dict(command="ADD", config=conf(ipam={"subnet": "x"})), 7,
             "network config: ipam.type is missing or not a string"),
        ]
        for name, kw, code, msg in cases:
            with self.subTest(name):
                kw.setdefault("config", conf())
                rc, out = cni(kw.pop("command"), kw.pop("config"), **kw)
                self.assertEqual(rc, 1)
                self.assertEqual(out["code"], code, out)
                if msg:
                    self.assertEqual(out["msg"], msg)
                self.assertIn("cniVersion", out)
                self.assertNothingLeaked()

    def test_vhost_user(self):
        """interface from the config, runtimeConfig or CNI_ARGS; the result
        carries socketPath and the config file sits beside the socket."""
        vdir = os.path.join(WORK, "vhost")
        ways = [("config", conf("1.1.0", interface="vhost-user"), ""),
                ("runtimeConfig", conf("1.0.0", runtimeConfig={"interface": "vhost-user"}), ""),
                ("CNI_ARGS", conf("1.0.0"), "IgnoreUnknown=1;K8S_POD_NAME=p;PODLANE_INTERFACE=vhost-user")]
        for way, c, args in ways:
            with self.subTest(way):
                rc, res = cni("ADD", c, cid="vh1", env_over={"CNI_ARGS": args})
                self.assertEqual(rc, 0, res)
                ifc = res["interfaces"][0]
                self.assertEqual(ifc["socketPath"], os.path.join(vdir, "vh1-eth0.sock"))
                with open(os.path.join(vdir, "vh1-eth0.json")) as f:
                    facts = json.load(f)
                self.assertEqual(facts["ip"] + "/32", res["ips"][0]["address"])
                self.assertEqual((facts["mac"], facts["gateway"]), (ifc["mac"], "169.254.1.1"))
                self.assertEqual(subprocess.run(["ip", "-n", "cni-a", "link", "show", "eth0"],
                                                capture_output=True).returncode, 1)  # no TAP
                rc, out = cni("CHECK", dict(c, prevResult=res), cid="vh1", env_over={"CNI_ARGS": args})
                self.assertEqual((rc, out), (0, None))
                rc, out = cni("DEL", c, cid="vh1", env_over={"CNI_ARGS": args})
                self.assertEqual((rc, out), (0, None))
                self.assertFalse(os.path.exists(os.path.join(vdir, "vh1-eth0.json")))
                self.assertNothingLeaked()

    def test_add_check_del_every_version(self):
        for v in ("0.4.0", "1.0.0", "1.1.0"):
            with self.subTest(v):
                c = conf(v, dns={"nameservers": ["10.96.0.10"]})
                rc, res = cni("ADD", c)
                self.assertEqual(rc, 0, res)
                self.assertEqual(res["cniVersion"], v)
                ifc = res["interfaces"][0]
                self.assertEqual((ifc["name"], ifc["sandbox"]), ("eth0", self.a))
                self.assertRegex(ifc["mac"], r"^0a:58(:[0-9a-f]{2}){4}$")
                # The uplink's (a veth: 1500), in 1.1.0 results only.
                self.assertEqual(ifc.get("mtu"), 1500 if v == "1.1.0" else None)
                ip = res["ips"][0]
                self.assertRegex(ip["address"], r"^100\.96\.243\.\d+/32$")
                self.assertEqual((ip["gateway"], ip["interface"]), ("169.254.1.1", 0))
                self.assertEqual(ip.get("version"), "4" if v == "0.4.0" else None)
                self.assertEqual(res["routes"], [{"dst": "0.0.0.0/0", "gw": "169.254.1.1"}])
                self.assertEqual(res["dns"], {"nameservers": ["10.96.0.10"]})
                addr = subprocess.run(["ip", "-n", "cni-a", "-4", "-o", "addr", "show", "eth0"],
                                      capture_output=True, text=True).stdout
                self.assertIn(ip["address"], addr)
                rc, out = cni("CHECK", dict(c, prevResult=res))
                self.assertEqual((rc, out), (0, None))
                rc, out = cni("DEL", dict(c, prevResult=res))
                self.assertEqual((rc, out), (0, None))
                rc, out = cni("DEL", c)  # again: already gone is success
                self.assertEqual((rc, out), (0, None))
                rc, out = cni("DEL", c, netns="")  # netns gone too
                self.assertEqual((rc, out), (0, None))
                self.assertNothingLeaked()

    def test_two_pods_talk(self):
        rc, ra = cni("ADD", conf(), cid="pa", netns=self.a)
        rc2, rb = cni("ADD", conf(), cid="pb", netns=self.b)
        self.assertEqual((rc, rc2), (0, 0))
        ipb = rb["ips"][0]["address"].split("/")[0]
        p = subprocess.run(["ip", "netns", "exec", "cni-a", "ping", "-c", "1", "-W", "2", ipb], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout)

    def test_kubernetes_pod_name(self):
        """kubelet's K8S_POD_NAMESPACE and K8S_POD_NAME reach podlaned (pod
        list, metrics labels); one without the other is no name."""
        args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d9f.x;K8S_POD_INFRA_CONTAINER_ID=ctr1"
        rc, res = cni("ADD", conf(), env_over={"CNI_ARGS": args})
        self.assertEqual(rc, 0, res)
        rc, _ = cni("ADD", conf(), cid="ctr2", netns=self.b, env_over={"CNI_ARGS": "K8S_POD_NAME=alone"})
        self.assertEqual(rc, 0)
        pods = {p["container_id"]: p for p in daemon("pod.list")}
        self.assertEqual((pods["ctr1"]["k8s_namespace"], pods["ctr1"]["k8s_name"]), ("shop", "cart-7d9f.x"))
        self.assertNotIn("k8s_name", pods["ctr2"])
        for cid, ns in (("ctr1", self.a), ("ctr2", self.b)):
            self.assertEqual(cni("DEL", conf(), cid=cid, netns=ns)[0], 0)

    def test_mtu(self):
        rc, res = cni("ADD", conf(mtu=1400))
        self.assertEqual(rc, 0, res)
        link = subprocess.run(["ip", "-n", "cni-a", "link", "show", "eth0"], capture_output=True, text=True).stdout
        self.assertIn("mtu 1400 ", link)
        self.assertEqual(daemon("pod.list")[0]["mtu"], 1400)

    def test_chained_after_prev_result(self):
        prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "lo0", "sandbox": self.a}],
                "ips": [{"address": "10.9.9.9/32", "interface": 0}]}
        rc, res = cni("ADD", conf(prevResult=prev))
        self.assertEqual(rc, 0, res)
        self.assertEqual([i["name"] for i in res["interfaces"]], ["lo0", "eth0"])
        self.assertEqual(res["ips"][1]["interface"], 1)
        self.assertEqual(res["ips"][0]["address"], "10.9.9.9/32")

    def test_check_finds_broken_attachment(self):
        rc, res = cni("ADD", conf())
        subprocess.run(["ip", "-n", "cni-a", "addr", "flush", "dev", "eth0"], check=True)
        rc, out = cni("CHECK", conf(prevResult=res))
        self.assertEqual((rc, out["code"]), (1, 102))
        self.assertIn("lacks its address", out["msg"])

    def test_check_finds_missing_routes(self):
        rc, res = cni("ADD", conf())
        self.assertEqual(rc, 0, res)
        subprocess.run(["ip", "-n", "cni-a", "route", "del", "default"], check=True)
        rc, out = cni("CHECK", conf(prevResult=res))
        self.assertEqual((rc, out["code"]), (1, 102))
        self.assertEqual(out["msg"], "interface eth0 lacks its routes (169.254.1.1/32 on the link, "
                         "default via 169.254.1.1)")

    def test_second_attachment_in_a_pods_netns_is_refused(self):
        """Issue 30: another container's ADD into pod b's netns took over
        b's default route, and its DEL left b with none while CHECK of b
        still passed. podlane gives a pod one interface."""
        rc, rb = cni("ADD", conf(), cid="pb", netns=self.b)
        self.assertEqual(rc, 0, rb)
        for cid, ifname in (("other", "eth1"), ("pb", "eth1")):
            with self.subTest(cid=cid, ifname=ifname):
                rc, out = cni("ADD", conf(), cid=cid, netns=self.b, ifname=ifname)
                self.assertEqual((rc, out["code"]), (1, 100))
                self.assertEqual(out["msg"], "netns: '/run/netns/cni-b' already holds pod pb/eth0 "
                                 "(one interface a pod: its default route is that interface's)")
                self.assertEqual(cni("DEL", conf(), cid=cid, netns=self.b, ifname=ifname), (0, None))
        route = subprocess.run(["ip", "-n", "cni-b", "route", "show", "default"], capture_output=True,
                               text=True).stdout
        self.assertEqual(route.split()[:5], ["default", "via", "169.254.1.1", "dev", "eth0"])
        self.assertEqual(cni("CHECK", conf(prevResult=rb), cid="pb", netns=self.b), (0, None))
        self.assertEqual([p["container_id"] for p in daemon("pod.list")], ["pb"])

    def test_ipam_host_local(self):
        data = WORK + "/host-local"
        ipam = {"type": "host-local", "dataDir": data,
                "ranges": [[{"subnet": "100.96.243.0/24", "rangeStart": "100.96.243.200",
                             "rangeEnd": "100.96.243.210"}]]}
        rc, res = cni("ADD", conf(ipam=ipam))
        self.assertEqual(rc, 0, res)
        self.assertEqual(res["ips"][0]["address"], "100.96.243.200/32")
        self.assertTrue(os.path.exists(data + "/podlane-test/100.96.243.200"))
        rc, _ = cni("DEL", conf(ipam=ipam))
        self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(data + "/podlane-test/100.96.243.200"))
        # A failed ADD gives the host-local address back.
        rc, out = cni("ADD", conf(ipam=ipam), netns="/run/netns/nope")
        self.assertEqual((rc, out["code"]), (1, 100))
        self.assertEqual(sorted(os.listdir(data + "/podlane-test")), ["last_reserved_ip.0", "lock"])
        shutil.rmtree(data)
        self.assertNothingLeaked()

    def test_status_and_gc(self):
        c = conf("1.1.0")
        self.assertEqual(cni("STATUS", c), (0, None))
        rc, out = cni("STATUS", conf("1.1.0", socket=WORK + "/nothing.sock"))
        self.assertEqual((rc, out["code"]), (1, 50))
        cni("ADD", c, cid="keep", netns=self.a)
        cni("ADD", c, cid="stale", netns=self.b)
        gc = dict(c, **{"cni.dev/valid-attachments": [{"containerID": "keep", "ifname": "eth0"}]})
        self.assertEqual(cni("GC", gc), (0, None))
        self.assertEqual([p["container_id"] for p in daemon("pod.list")], ["keep"])


if __name__ == "__main__":
    SOCK, PLUGIN, WORK = sys.argv[1:4]
    del sys.argv[1:4]
    unittest.main(verbosity=2)
