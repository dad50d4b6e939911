"""How long a NetworkPolicy takes to be enforced: pod A (netns A) sends a
UDP datagram to pod B every millisecond, each carrying its send time; at
t0 a policy isolating B is given (through the API, or as a Kubernetes
object through podlane-k8s); B's receiver notes the newest send time it
still got. Enforcement delay: that time minus t0 (0 when the last one
passed before t0). Prints one JSON object.

usage: policy_enforce.py NETNS_A NETNS_B B_IP SOCKET api POLICY_JSON
       policy_enforce.py NETNS_A NETNS_B B_IP SOCKET agent AGENT NODE OBJECTS_FILE"""
import ctypes
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

libc = ctypes.CDLL("libc.so.6", use_errno=True)


def enter(netns):
    fd = os.open("/run/netns/" + netns, os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET, this thread only
            raise OSError(ctypes.get_errno(), "setns " + netns)
    finally:
        os.close(fd)


def main():
    a, b, b_ip, sock, how = sys.argv[1:6]
    state = {"last": 0.0, "got": 0, "stop": False}
    ready = threading.Event()

    def receiver():
        enter(b)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 9999))
        s.settimeout(0.2)
        ready.set()
        while not state["stop"]:
            try:
                data = s.recv(64)
            except socket.timeout:
                continue
            state["last"] = max(state["last"], struct.unpack("d", data[:8])[0])
            state["got"] += 1

    def sender():
        enter(a)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((b_ip, 9999))  # one flow: judged again at the change
        while not state["stop"]:
            try:
                s.send(struct.pack("d", time.monotonic()))
            except OSError:
                pass
            time.sleep(0.001)

    threads = [threading.Thread(target=receiver), threading.Thread(target=sender)]
    threads[0].start()
    ready.wait(5)
    threads[1].start()
    time.sleep(0.5)
    got_before = state["got"]
    t0 = time.monotonic()
    if how == "api":
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(sock)
            f = c.makefile("rwb")
            f.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "policy.add",
                                "params": json.loads(sys.argv[6])}).encode() + b"\n")
            f.flush()
            resp = json.loads(f.readline())
        if "error" in resp:
            sys.exit("policy.add: %s" % resp["error"])
    else:
        agent, node, objects = sys.argv[6:9]
        with open(objects) as f:
            r = subprocess.run([agent, "--node", node, "--socket", sock, "--sync", "policies"], stdin=f,
                               capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("podlane-k8s: %s" % r.stderr)
    t1 = time.monotonic()
    time.sleep(0.5)
    state["stop"] = True
    for t in threads:
        t.join()
    if got_before == 0:
        sys.exit("no datagram reached B before the change")
    print(json.dumps({"call_ms": (t1 - t0) * 1e3, "enforced_ms": max(0.0, state["last"] - t0) * 1e3,
                      "received": state["got"]}))


if __name__ == "__main__":
    main()
