#!/usr/bin/env python3
"""One podlaned API call for the benchmarks: plapi.py SOCKET METHOD [PARAMS]

PARAMS is a JSON object or @FILE holding one. Prints {"result": ...,
"seconds": wall time of the call}; exits 1 on an API error."""
import json
import socket
import sys
import time

sock, method = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else "{}"
params = json.load(open(arg[1:])) if arg.startswith("@") else json.loads(arg)
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
f = s.makefile("rwb")
t = time.monotonic()
f.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode() + b"\n")
f.flush()
r = json.loads(f.readline())
t = time.monotonic() - t
if "error" in r:
    sys.exit("plapi: %s: %s" % (method, r["error"]))
print(json.dumps({"result": r["result"], "seconds": t}))
