"""podlaned refuses a bad config with one line naming the key and exit 2,
before touching DPDK. Table-driven over the built binary."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("PODLANE_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
PODLANED = os.path.join(BUILD, "control/podlaned")
TMP = tempfile.mkdtemp(prefix="podlane-cfgtest.")
# Should a bad config slip through (a regression, a stale build), the
# daemon it starts must not touch the machine: a network namespace of its
# own (see daemon()), no hugepages, no files in /run/dpdk, its socket and
# state in a temporary directory. (A cluster_cidr of 0.0.0.0/0 once
# replaced the host's default route.)
GOOD = {"node_ip": "172.31.102.105/24", "pod_cidr": "100.96.243.0/24",
        "uplink": "net_tap0,iface=up0", "socket": TMP + "/s.sock", "state_dir": TMP + "/state",
        "eal": ["--no-huge", "-m", "64", "--in-memory"]}


def daemon(*args, **kw):
    return subprocess.run(["unshare", "--net", "--", PODLANED] + list(args), capture_output=True,
                          text=True, timeout=60, **kw)


def run(cfg_text):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(cfg_text)
    try:
        p = daemon("--config", f.name)
        return p.returncode, p.stderr.strip(), f.name
    finally:
        os.unlink(f.name)


def with_(**kw):
    c = dict(GOOD)
    for k, v in kw.items():
        if v is None:
            c.pop(k)
        else:
            c[k] = v
    return json.dumps(c)


CASES = [
    (with_(node_ip=None), "config: missing required key 'node_ip'"),
    (with_(node_ip="172.31.102.105"), "config: 'node_ip' is \"172.31.102.105\", expected an IPv4 prefix like 10.0.0.0/24"),
    (with_(node_ip="172.31.102.105/32"), "config: 'node_ip' needs the node network's prefix length (1..30), e.g. 172.31.102.105/24"),
    (with_(pod_cidr=None), "config: missing required key 'pod_cidr'"),
    (with_(pod_cidr="100.96.243.1/24"), "config: 'pod_cidr' is \"100.96.243.1/24\", which has host bits set"),
    (with_(pod_cidr="10.0.0.0/24"), "config: 'pod_cidr' is not inside 'cluster_cidr'"),
    (with_(pod_cidr="100.96.0.0/12"), "config: 'pod_cidr' must be a /16 to /30"),
    (with_(service_cidr="10.96.0.1/12"), "config: 'service_cidr' is \"10.96.0.1/12\", which has host bits set"),
    (with_(service_cidr="10.96.0.0"), "config: 'service_cidr' is \"10.96.0.0\", expected an IPv4 prefix like 10.0.0.0/24"),
    (with_(service_cidr="100.64.0.0/10"), "config: 'service_cidr' overlaps 'cluster_cidr'"),
    (with_(service_cidr="172.31.102.128/25"), "config: 'service_cidr' overlaps the node network of 'node_ip'"),
    (with_(masquerade="yes"), "config: 'masquerade' must be true or false"),
    (with_(nat_outgoing=1), "config: 'nat_outgoing' must be true or false"),
    (with_(nat_outgoing=True, gateway="172.31.102.1"), "config: 'nat_outgoing' and 'gateway' exclude each other (with nat_outgoing the node kernel's routes take pods' traffic out)"),
    (with_(uplink=None), "config: missing required key 'uplink'"),
    (with_(uplink="eth0"), "config: 'uplink' is \"eth0\", expected a PCI address (0000:01:00.0), af_packet:IFACE or vdev arguments (net_af_packet0,iface=eth0)"),
    (with_(uplink="af_packet:"), "config: 'uplink' \"af_packet:\" does not name a valid interface after 'af_packet:'"),
    (with_(uplink="af_packet:a/b"), "config: 'uplink' \"af_packet:a/b\" does not name a valid interface after 'af_packet:'"),
    (with_(uplink=""), "config: 'uplink' must be a non-empty string"),
    (with_(uplink_mtu=0), "config: 'uplink_mtu' must be an integer from 68 to 65535"),
    (with_(uplink_mtu="9000"), "config: 'uplink_mtu' must be an integer from 68 to 65535"),
    (with_(uplink_mtu=65536), "config: 'uplink_mtu' must be an integer from 68 to 65535"),
    (with_(uplink="af_packet:eth1", uplink_mtu=9000), "config: 'uplink_mtu' is for a DPDK uplink; an af_packet: uplink has its interface's MTU (ip link set eth1 mtu 9000)"),
    (with_(gateway="10.0.0.1"), "config: 'gateway' 10.0.0.1 is not on the node network of 'node_ip'"),
    (with_(gateway="banana"), "config: 'gateway' is \"banana\", expected an IPv4 address"),
    (with_(workers=0), "config: 'workers' must be an integer from 1 to 8"),
    (with_(workers="2"), "config: 'workers' must be an integer from 1 to 8"),
    (with_(worker_nice=-21), "config: 'worker_nice' must be an integer from -20 to 19"),
    (with_(worker_nice=20), "config: 'worker_nice' must be an integer from -20 to 19"),
    (with_(worker_nice="-5"), "config: 'worker_nice' must be an integer from -20 to 19"),
    (with_(host_port="a/b"), "config: 'host_port' \"a/b\" is not a valid interface name"),
    (with_(eal="--no-huge"), "config: 'eal' must be an array of at most 32 strings"),
    (with_(eal=["-m", 5]), "config: 'eal' item 1 is not a string"),
    (with_(socket=7), "config: 'socket' must be a non-empty string"),
    (with_(wrokers=2), "config: unknown key 'wrokers'"),
    (with_(max_request_mb=0), "config: 'max_request_mb' must be an integer from 1 to 256"),
    (with_(socket_group="no-such-group-x"), "config: 'socket_group' \"no-such-group-x\" is not a group on this machine"),
    (with_(import_table=254), "config: 'import_table' must not be the kernel's main (254) or local (255) table"),
    (with_(import_table=-1), "config: 'import_table' must be an integer from 1 to 2147483647"),
    (with_(vhost_group="no-such-group-x"), "config: 'vhost_group' \"no-such-group-x\" is not a group on this machine"),
    (with_(vhost_dir="run/x"), "config: 'vhost_dir' must be an absolute path without ',' or '='"),
    (with_(vhost_dir="/run/a,b"), "config: 'vhost_dir' must be an absolute path without ',' or '='"),
    (with_(log_level="verbose"), "config: 'log_level' is \"verbose\", expected error, warning, notice, info or debug"),
    (with_(metrics_listen="9464"), "config: 'metrics_listen' is \"9464\", expected ADDRESS:PORT like 127.0.0.1:9464"),
    (with_(metrics_listen="127.0.0.1:0"), "config: 'metrics_listen' is \"127.0.0.1:0\", expected ADDRESS:PORT like 127.0.0.1:9464"),
    (with_(metrics_listen="127.0.0.1:70000"), "config: 'metrics_listen' is \"127.0.0.1:70000\", expected ADDRESS:PORT like 127.0.0.1:9464"),
    (with_(metrics_listen="1.2.3:80"), "config: 'metrics_listen' is \"1.2.3:80\", expected ADDRESS:PORT like 127.0.0.1:9464"),
    ("[1, 2]", "config: the top level must be a JSON object"),
    # Values checked against each other (issue 30: a config that breaks the node).
    (with_(cluster_cidr="0.0.0.0/0"), "config: 'cluster_cidr' overlaps the node network of 'node_ip' (the kernel routes cluster_cidr to podlaned)"),
    (with_(cluster_cidr="172.0.0.0/8", pod_cidr="172.16.0.0/24"), "config: 'cluster_cidr' overlaps the node network of 'node_ip' (the kernel routes cluster_cidr to podlaned)"),
    (with_(node_ip="100.96.243.1/24"), "config: 'cluster_cidr' overlaps the node network of 'node_ip' (the kernel routes cluster_cidr to podlaned)"),
    (with_(node_ip="172.31.102.0/24"), "config: 'node_ip' 172.31.102.0/24 is not a host address of its network (not the network or broadcast address, loopback, multicast or 0.0.0.0)"),
    (with_(node_ip="172.31.102.255/24"), "config: 'node_ip' 172.31.102.255/24 is not a host address of its network (not the network or broadcast address, loopback, multicast or 0.0.0.0)"),
    (with_(node_ip="127.0.0.5/8"), "config: 'node_ip' 127.0.0.5/8 is not a host address of its network (not the network or broadcast address, loopback, multicast or 0.0.0.0)"),
    (with_(node_ip="224.1.1.1/24"), "config: 'node_ip' 224.1.1.1/24 is not a host address of its network (not the network or broadcast address, loopback, multicast or 0.0.0.0)"),
    (with_(node_ip="0.0.0.0/8"), "config: 'node_ip' 0.0.0.0/8 is not a host address of its network (not the network or broadcast address, loopback, multicast or 0.0.0.0)"),
    (with_(gateway="172.31.102.105"), "config: 'gateway' 172.31.102.105 is the node's own, the network's or the broadcast address"),
    (with_(gateway="172.31.102.255"), "config: 'gateway' 172.31.102.255 is the node's own, the network's or the broadcast address"),
    (with_(node_ip="172.31.102.105/ 24"), "config: 'node_ip' is \"172.31.102.105/ 24\", expected an IPv4 prefix like 10.0.0.0/24"),
    (with_(node_ip="172.31.102.105/+24"), "config: 'node_ip' is \"172.31.102.105/+24\", expected an IPv4 prefix like 10.0.0.0/24"),
    (with_(socket="run/podlane.sock"), "config: 'socket' must be an absolute path"),
    (with_(state_dir="state"), "config: 'state_dir' must be an absolute path"),
]


class Config(unittest.TestCase):
    def test_bad_configs(self):
        for text, msg in CASES:
            with self.subTest(msg=msg):
                rc, err, _ = run(text)
                self.assertEqual(rc, 2)
                self.assertEqual(err, "podlaned: " + msg)

    def test_broken_json_names_the_line(self):
        rc, err, name = run('{\n "node_ip": "172.31.102.105/24",\n "pod_cidr": \n}')
        self.assertEqual(rc, 2)
        self.assertRegex(err, r"^podlaned: config: .+ line 4: ")

    def test_check_only_validates(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write(with_())
            f.flush()
            p = daemon("--config", f.name, "--check")
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, f.name + ": ok\n", ""))
            f.seek(0)
            f.write(with_(workers=99))
            f.truncate()
            f.flush()
            p = daemon("--config", f.name, "--check")
            self.assertEqual((p.returncode, p.stderr.strip()),
                             (2, "podlaned: config: 'workers' must be an integer from 1 to 8"))

    def test_unusable_state_dir_and_socket_stop_the_start(self):
        """A state_dir podlaned cannot write, or a socket path that is a
        file, stops it at start (before, it ran without saving anything,
        or deleted the file); and too many EAL arguments are a usage error
        (they overflowed a fixed array)."""
        tmp = tempfile.mkdtemp(dir=TMP)
        plain = os.path.join(tmp, "plain")
        with open(plain, "w") as f:
            f.write("keep me")
        base = dict(GOOD, socket=os.path.join(tmp, "s.sock"))
        for cfg, msg in [
                (dict(base, state_dir="/dev/null"), "start-up failed: state_dir /dev/null is not a directory podlaned can write (Not a directory)"),
                (dict(base, state_dir=plain + "/x"), "start-up failed: state_dir %s/x is not a directory podlaned can write (Not a directory)" % plain),
                (dict(base, state_dir=tmp, socket=plain), "start-up failed: socket %s: exists and is not a socket" % plain)]:
            with self.subTest(msg=msg):
                p = daemon("--config", "/dev/stdin", input=json.dumps(cfg))
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertTrue(p.stderr.strip().endswith(" podlaned: error: " + msg), p.stderr)
        with open(plain) as f:
            self.assertEqual(f.read(), "keep me")
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write(with_())
            f.flush()
            p = daemon("--config", f.name, "--", *["-v"] * 200)
            self.assertEqual((p.returncode, p.stderr.strip()),
                             (2, "podlaned: at most 64 EAL arguments after --, not 200"))

    def test_missing_file_and_usage(self):
        p = subprocess.run([PODLANED, "--config", "/nonexistent.json"], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr.strip()),
                         (2, "podlaned: config: cannot read /nonexistent.json: unable to open /nonexistent.json: No such file or directory"))
        p = subprocess.run([PODLANED], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr.strip()), (2, "podlaned: --config FILE is required"))
        p = subprocess.run([PODLANED, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: podlaned --config FILE [-- EAL-ARGS...]", p.stdout)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
