"""A NetworkPolicy truth table, the way upstream conformance tools (Cyclonus,
the sig-network policy tests) check an implementation: for one set of
NetworkPolicy objects, every pod pair (and each node to every pod) probed
on every port with TCP and UDP, each cell compared with what a model of
the Kubernetes semantics expects. The model reads the objects directly
(labels, selectors, ipBlocks, ports); podlaned gets them the real way,
through tools/podlane-k8s on each node.

usage: policy_table.py TOPOLOGY.json CASE
TOPOLOGY: {"pods": [{"ns", "name", "netns", "ip", "node", "labels"}],
           "nodes": [{"name", "node", "netns", "ip", "socket"}], "agent": PATH}
Prints the table's mismatches and exits 1 if there is any."""
import concurrent.futures
import ctypes
import ipaddress
import json
import os
import socket
import subprocess
import sys

PORTS = [(80, "TCP"), (80, "UDP"), (81, "TCP"), (81, "UDP"), (53, "UDP")]
# Named ports every pod declares (serve-80-tcp: 80/TCP, ...).
NAMED = {"serve-%d-%s" % (p, pr.lower()): (p, pr) for p, pr in PORTS}
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


# --- the cases: name -> NetworkPolicy specs (namespace, name, spec) ---
def cases(topo):
    n2_cidr = str(ipaddress.ip_network(next(p["ip"] for p in topo["pods"] if p["node"] == "n2") + "/24",
                                       strict=False))
    pods = {"podSelector": {}}
    return {
        "deny-ingress": [("x", "deny", {"podSelector": {}, "policyTypes": ["Ingress"]})],
        "deny-egress-but-dns": [("x", "deny-out", {"podSelector": {}, "policyTypes": ["Egress"],
                                                    "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]})],
        "from-namespace": [("x", "from-y", {"podSelector": {"matchLabels": {"pod": "a"}},
                                             "ingress": [{"from": [{"namespaceSelector": {
                                                 "matchLabels": {"ns": "y"}}}]}]})],
        "one-peer-both-selectors": [("x", "y-b", {"podSelector": {}, "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"ns": "y"}}, "podSelector": {"matchLabels": {"pod": "b"}}}]}]})],
        "two-peers": [("x", "y-or-b", {"podSelector": {}, "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"ns": "y"}}}, {"podSelector": {"matchLabels": {"pod": "b"}}}]}]})],
        "ipblock-except": [("x", "cidr", {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"from": [
            {"ipBlock": {"cidr": "100.96.0.0/11", "except": [n2_cidr]}}]}]})],
        "named-ports": [("y", "named", {"podSelector": {}, "ingress": [{"ports": [
            {"port": "serve-80-tcp"}, {"protocol": "UDP", "port": "serve-81-udp"}]}]})],
        "end-port": [("z", "range", {"podSelector": {"matchExpressions": [
            {"key": "pod", "operator": "In", "values": ["a", "b"]}]},
            "ingress": [{"ports": [{"protocol": "TCP", "port": 80, "endPort": 81}, {"protocol": "UDP", "port": 81}]}]})],
        "egress-to-cidr": [("x", "to-n2", {"podSelector": {"matchLabels": {"pod": "b"}}, "policyTypes": ["Egress"],
                                            "egress": [{"to": [{"ipBlock": {"cidr": n2_cidr}}]}]})],
        "union-and-both-directions": [
            ("y", "deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            ("y", "a-from-x", {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"ns": "x"}}}], "ports": [{"port": 80}]}]}),
            ("y", "b-to-z", {"podSelector": {"matchLabels": {"pod": "b"}}, "policyTypes": ["Egress"],
                             "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"ns": "z"}}, **pods}]}]}),
        ],
    }


# --- the model ---
def selects(sel, labels):
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        have = e["key"] in labels
        if e["operator"] == "In" and not (have and labels[e["key"]] in e["values"]):
            return False
        if e["operator"] == "NotIn" and have and labels[e["key"]] in e["values"]:
            return False
        if e["operator"] == "Exists" and not have:
            return False
        if e["operator"] == "DoesNotExist" and have:
            return False
    return True


def peer_matches(peer, who, policy_ns):
    """who: a pod dict, or {"ip"} for a node."""
    if "ipBlock" in peer:
        ip = ipaddress.ip_address(who["ip"])
        b = peer["ipBlock"]
        return ip in ipaddress.ip_network(b["cidr"]) and not any(
            ip in ipaddress.ip_network(x) for x in b.get("except") or [])
    if "ns" not in who:
        return False  # selectors name pods, never nodes
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], {"ns": who["ns"], "kubernetes.io/metadata.name": who["ns"]}):
            return False
    elif who["ns"] != policy_ns:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], who["labels"])


def port_matches(pt, port, proto):
    if (pt.get("protocol") or "TCP") != proto:
        return False
    p = pt.get("port")
    if p is None:
        return True
    if isinstance(p, str):  # every pod declares NAMED
        return NAMED.get(p) == (port, proto)
    return p <= port <= (pt.get("endPort") or p)


def rule_allows(rule, key, peer, policy_ns, port, proto):
    return ((not rule.get(key) or any(peer_matches(x, peer, policy_ns) for x in rule[key])) and
            (not rule.get("ports") or any(port_matches(x, port, proto) for x in rule["ports"])))


def types(spec):
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def expected(pols, src, dst, port, proto):
    """src: a pod or a node ({"ip", "node"}); dst: a pod."""
    if "ns" not in src and src["node"] == dst["node"]:
        return True  # a pod's own node always reaches it
    for direction, target, peer, key in (("Ingress", dst, src, "from"), ("Egress", src, dst, "to")):
        if "ns" not in target:
            continue  # a node: no policy selects it
        sel = [(ns, s) for ns, _, s in pols if ns == target["ns"] and direction in types(s) and
               selects(s.get("podSelector") or {}, target["labels"])]
        if sel and not any(rule_allows(r, key, peer, ns, port, proto)
                           for ns, s in sel for r in s.get(direction.lower()) or []):
            return False
    return True


# --- the probes ---
def probe(netns, ip, port, proto, timeout=1.5):
    fd = os.open("/run/netns/" + netns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:  # this thread only
            raise OSError(ctypes.get_errno(), "setns " + netns)
    finally:
        os.close(fd)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "TCP" else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect((ip, port))
        if proto == "TCP":
            s.sendall(b"who\n")
            return bool(s.makefile().readline())
        s.send(b"who\n")
        return bool(s.recv(200))
    except OSError:
        return False
    finally:
        s.close()


def objects(topo, pols):
    items = [{"kind": "Namespace", "metadata": {"name": ns, "uid": "ns-" + ns, "labels": {"ns": ns}}}
             for ns in sorted({p["ns"] for p in topo["pods"]})]
    for p in topo["pods"]:
        items.append({"kind": "Pod", "metadata": {"namespace": p["ns"], "name": p["name"], "uid": p["netns"],
                                                  "labels": p["labels"]},
                      "spec": {"nodeName": p["node"], "containers": [{"name": "c", "ports": [
                          {"name": n, "containerPort": port, "protocol": pr} for n, (port, pr) in NAMED.items()]}]},
                      "status": {"phase": "Running", "podIPs": [{"ip": p["ip"]}]}})
    items += [{"kind": "NetworkPolicy", "metadata": {"namespace": ns, "name": name, "uid": ns + name}, "spec": s}
              for ns, name, s in pols]
    return json.dumps({"kind": "List", "items": items})


def main():
    topo, case = json.load(open(sys.argv[1])), sys.argv[2]
    pols = cases(topo)[case] if case != "none" else []
    for n in topo["nodes"]:
        r = subprocess.run([topo["agent"], "--node", n["name"], "--socket", n["socket"], "--sync", "policies"],
                           input=objects(topo, pols), capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("podlane-k8s on %s: %s" % (n["name"], r.stderr))
    cells = [(src, dst, port, proto) for src in topo["pods"] + topo["nodes"] for dst in topo["pods"]
             if src is not dst for port, proto in PORTS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=48) as ex:
        got = list(ex.map(lambda c: probe(c[0]["netns"], c[1]["ip"], c[2], c[3]), cells))
    bad = []
    for i, ((src, dst, port, proto), ok) in enumerate(zip(cells, got)):
        want = expected(pols, src, dst, port, proto)
        if want and not ok:
            # Once more, alone and with time (a loaded machine, a sanitizer
            # build): an allowed cell must be refused twice to count as
            # refused; a refused one that passed is never a fluke.
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
                ok = got[i] = ex.submit(probe, src["netns"], dst["ip"], port, proto, 5).result()
        if ok != want:
            bad.append("%s -> %s %d/%s: %s, expected %s" % (
                src.get("netns"), dst["netns"], port, proto, "allowed" if ok else "denied",
                "allowed" if want else "denied"))
    allowed = sum(got)
    print("%s: %d cells, %d allowed, %d denied, %d wrong" % (case, len(cells), allowed, len(cells) - allowed,
                                                            len(bad)))
    for b in bad:
        print("  " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
