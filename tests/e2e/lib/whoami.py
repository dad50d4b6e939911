"""A backend for the Service tests: on each TCP and UDP port given,
answers every request with "ITS_ADDRESS:PORT PEER_ADDRESS:PORT", the
address the client is seen at. TCP: one line per request line, until
the client closes. Prints "ready" once listening; runs until killed.

usage: whoami.py PORT..."""
import socket
import sys
import threading


def tcp_conn(c):
    me = "%s:%d" % c.getsockname()
    peer = "%s:%d" % c.getpeername()
    with c, c.makefile("rb") as f:
        for _ in f:
            c.sendall(("%s %s\n" % (me, peer)).encode())


def tcp(port):
    s = socket.create_server(("0.0.0.0", port))
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()


def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    # The address the datagram came to: the pod's own, whatever the client
    # called it.
    s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_PKTINFO", 8), 1)  # Linux's 8
    while True:
        _, anc, _, peer = s.recvmsg(2048, socket.CMSG_SPACE(12))
        me = socket.inet_ntoa(anc[0][2][8:12]) if anc else "?"
        s.sendto(("%s:%d %s:%d\n" % (me, port, peer[0], peer[1])).encode(), peer)


ports = [int(p) for p in sys.argv[1:]]
for p in ports:
    threading.Thread(target=tcp, args=(p,), daemon=True).start()
    threading.Thread(target=udp, args=(p,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
