"""tools/podlane-k8s-routes against a fake API server (plain HTTP, as
--api-url allows) and a fake podlaned socket: routes from Node objects,
the per-node config the DaemonSet writes, repeat mode, clear errors."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

TOOL = os.path.join(os.path.dirname(__file__), "../../tools/podlane-k8s-routes")
K8S_CONFIGMAP = os.path.join(os.path.dirname(__file__), "../../config/k8s/configmap.yaml")


def node(name, cidr, ip):
    n = {"metadata": {"name": name}, "spec": {}, "status": {"addresses": []}}
    if cidr:
        n["spec"]["podCIDR"] = cidr
    if ip:
        n["status"]["addresses"] = [{"type": "Hostname", "address": name},
                                    {"type": "InternalIP", "address": ip}]
    return n


NODES = {"kind": "NodeList", "items": [node("n1", "100.96.241.0/24", "172.31.102.101"),
                                       node("n2", "100.96.242.0/24", "172.31.102.102"),
                                       node("n3", None, "172.31.102.103")]}


class FakeApi(http.server.BaseHTTPRequestHandler):
    paths = []

    def do_GET(self):
        FakeApi.paths.append(self.path)
        body = json.dumps(NODES).encode() if self.path == "/api/v1/nodes" else b"{}"
        self.send_response(200 if self.path == "/api/v1/nodes" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class K8sRoutes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
        threading.Thread(target=cls.api.serve_forever, daemon=True).start()
        cls.url = "http://127.0.0.1:%d" % cls.api.server_port
        cls.tmp = tempfile.mkdtemp()

    @classmethod
    def tearDownClass(cls):
        cls.api.shutdown()
        cls.api.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_tool(self, *args, stdin=None, timeout=60):
        return subprocess.run([TOOL, *args], input=stdin, capture_output=True, text=True, timeout=timeout)

    def test_routes_from_api(self):
        p = self.run_tool("--node", "n1", "--from-api", "--api-url", self.url, "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        req = json.loads(p.stdout)
        self.assertEqual(req["params"], {"origin": "k8s", "routes": [
            {"prefix": "100.96.242.0/24", "via": "172.31.102.102"}]})
        self.assertIn("node n3 has no IPv4 podCIDR or InternalIP yet, skipped", p.stderr)

    def test_write_config_from_the_configmap_template(self):
        import yaml  # Debian python3-yaml
        with open(K8S_CONFIGMAP) as f:
            cm = yaml.safe_load(f)
        tmpl = os.path.join(self.tmp, "podlaned.json.tmpl")
        with open(tmpl, "w") as f:
            f.write(cm["data"]["podlaned.json.tmpl"])
        out = os.path.join(self.tmp, "podlaned.json")
        p = self.run_tool("--node", "n2", "--from-api", "--api-url", self.url, "--write-config", tmpl, out)
        self.assertEqual(p.returncode, 0, p.stderr)
        cfg = json.load(open(out))
        self.assertEqual(cfg["pod_cidr"], "100.96.242.0/24")
        self.assertTrue(cfg["node_ip"].startswith("172.31.102.102/"), cfg["node_ip"])
        p = self.run_tool("--node", "n3", "--from-api", "--api-url", self.url, "--write-config", tmpl, out)
        self.assertEqual((p.returncode, p.stderr.strip()),
                         (1, "podlane-k8s-routes: node n3 has no IPv4 podCIDR or InternalIP yet"))
        p = self.run_tool("--node", "n9", "--from-api", "--api-url", self.url, "--write-config", tmpl, out)
        self.assertEqual((p.returncode, p.stderr.strip()),
                         (2, "podlane-k8s-routes: node n9 is not among the Node objects"))

    def test_every_reapplies_to_podlaned(self):
        sock = os.path.join(self.tmp, "fake.sock")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(sock)
        srv.listen(4)
        seen = []

        def serve():
            for _ in range(2):
                c, _ = srv.accept()
                with c, c.makefile("rwb") as f:
                    seen.append(json.loads(f.readline()))
                    f.write(b'{"jsonrpc":"2.0","id":1,"result":{"added":1,"changed":0,"removed":0,"unchanged":0}}\n')
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        p = subprocess.Popen([TOOL, "--node", "n2", "--from-api", "--api-url", self.url, "--every", "1",
                              "--socket", sock], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t.join(10)
        p.kill()
        out, _ = p.communicate()
        srv.close()
        self.assertEqual(len(seen), 2)
        self.assertEqual(seen[0]["params"]["routes"], [{"prefix": "100.96.241.0/24", "via": "172.31.102.101"}])
        self.assertIn("routes: 1 added, 0 changed, 0 removed, 0 unchanged", out)

    def test_errors(self):
        p = self.run_tool("--node", "n1", stdin="{not json")
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read Node objects on stdin", p.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        p = subprocess.run([TOOL, "--node", "n1", "--from-api"], capture_output=True, text=True, env=env)
        self.assertEqual((p.returncode, p.stderr.strip()), (2, "podlane-k8s-routes: --from-api outside a pod "
                                                                "needs --api-url (no KUBERNETES_SERVICE_HOST)"))
        p = self.run_tool("--node", "n1", "--from-api", "--api-url", "http://127.0.0.1:9", "--dry-run")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read /api/v1/nodes from the API server", p.stderr)
        p = self.run_tool("--node", "n1", "--every", "5")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--every needs --from-api", p.stderr)
        p = self.run_tool("--node", "n1", "--socket", os.path.join(self.tmp, "none.sock"), stdin=json.dumps(NODES))
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot reach podlaned at", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
