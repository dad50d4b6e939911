"""A client for the Service tests: N connections (or UDP sockets, each
its own source port) to ADDRESS:PORT, one request each, printing each
answer (see whoami.py) or the error. UDP sockets are connected, so an
answer from any other address than the one asked (a reverse NAT gone
wrong) is not taken. Exit code 1 when any request failed.

usage: ask.py tcp|udp ADDRESS PORT [COUNT [SOURCE_PORT]]
ASK_TIMEOUT: seconds to wait for each (default 5 for TCP, 3 for UDP)."""
import os
import socket
import sys
import time

proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
sport = int(sys.argv[5]) if len(sys.argv) > 5 else 0
timeout = float(os.environ.get("ASK_TIMEOUT", 0))
failed = 0
for i in range(count):
    t = time.monotonic()
    try:
        if proto == "tcp":
            s = socket.socket()
            s.settimeout(timeout or 5)
            if sport:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("0.0.0.0", sport + i))
            s.connect((addr, port))
            s.sendall(b"who\n")
            answer = s.makefile().readline().strip()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(timeout or 3)
            if sport:
                s.bind(("0.0.0.0", sport + i))
            s.connect((addr, port))
            s.send(b"who\n")
            answer = s.recv(200).decode().strip()
        s.close()
        print(answer, flush=True)
    except OSError as e:
        failed += 1
        print("error %s after %.2f s" % (e.strerror or e, time.monotonic() - t), flush=True)
sys.exit(1 if failed else 0)
