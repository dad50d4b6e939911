"""A guest's serial console (a QEMU chardev on a Unix socket) as a shell:
runs a command in the guest's shell and prints its output, exits with its
exit status. The guest's init turns the console's echo off; each command
ends with a marker carrying a nonce and the status, so boot messages or
a previous command's late output are never taken for this one's.

usage: console.py SOCKET [--timeout S] (--ready | COMMAND)
  --ready: wait until the guest's shell answers (boot finished)"""
import os
import re
import socket
import sys
import time


def run(path, cmd, timeout):
    nonce = os.urandom(4).hex()
    mark = re.compile(rb"@@%s:(\d+)@@" % nonce.encode())
    end = time.monotonic() + timeout
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect(path)
    with s:
        s.sendall(b"%s; echo @@%s:$?@@\n" % (cmd.encode(), nonce.encode()))
        buf = b""
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            m = mark.search(buf)
            if m:
                return int(m.group(1)), buf[: m.start()].replace(b"\r", b"")
    return None, buf


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    path, timeout = args.pop(0), 60.0
    if args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    if args == ["--ready"]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                rc, _ = run(path, "true", 2)
                if rc == 0:
                    return 0
            except OSError:
                pass
            time.sleep(0.5)
        print("the guest's shell did not answer in %gs" % timeout, file=sys.stderr)
        return 1
    rc, out = run(path, " ".join(args), timeout)
    sys.stdout.buffer.write(out)
    if rc is None:
        print("no answer from the guest in %gs" % timeout, file=sys.stderr)
        return 124
    return rc


if __name__ == "__main__":
    sys.exit(main())
