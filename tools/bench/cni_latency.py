"""ADD and DEL latency of the podlane CNI plugin beside the reference ptp +
host-local plugins, same netns, same run. Prints a table with ratios.
Usage (inside tools/bench/cni_latency.sh): cni_latency.py SOCKET PLUGIN WORKDIR PAIRS"""
import json
import os
import statistics
import subprocess
import sys
import time

SOCK, PLUGIN, WORK, PAIRS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
NETNS = "/run/netns/bench"
subprocess.run(["ip", "netns", "add", "bench"], check=True)


def run(binary, command, conf, cid):
    env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_CONTAINERID": cid,
           "CNI_NETNS": NETNS, "CNI_IFNAME": "eth0", "CNI_ARGS": "", "CNI_PATH": "/usr/lib/cni"}
    t = time.perf_counter()
    p = subprocess.run([binary], input=json.dumps(conf).encode(), env=env, capture_output=True)
    dt = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        sys.exit("%s %s failed: %s" % (binary, command, p.stdout.decode() + p.stderr.decode()))
    return dt


def measure(binary, conf, idle=0.0):
    """ADD/DEL pairs back to back, or with IDLE seconds before each ADD:
    on these VMs (no guest halt-polling) waking idle CPUs is slow, so an
    ADD after a pause, as kubelet's usually are, costs more than one right
    after the previous DEL."""
    add, dele = [], []
    for i in range(PAIRS):
        cid = "bench%d" % i
        time.sleep(idle)
        add.append(run(binary, "ADD", conf, cid))
        dele.append(run(binary, "DEL", conf, cid))
    return add, dele


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def version_exec(binary):
    env = {"PATH": os.environ["PATH"], "CNI_COMMAND": "VERSION", "CNI_CONTAINERID": "x",
           "CNI_NETNS": "x", "CNI_IFNAME": "x", "CNI_ARGS": "", "CNI_PATH": "/usr/lib/cni"}
    t = []
    for _ in range(PAIRS):
        s = time.perf_counter()
        subprocess.run([binary], input=b'{"cniVersion": "1.0.0"}', env=env, capture_output=True, check=True)
        t.append((time.perf_counter() - s) * 1000)
    return statistics.median(t)


# The plugin's own cost: an exec that never talks to the daemon, beside
# /bin/true (the floor of any exec from here) and the reference plugin.
floor = version_exec("/bin/true")
print("exec p50: podlane VERSION %.2f ms, ptp VERSION %.2f ms, /bin/true %.2f ms" %
      (version_exec(PLUGIN), version_exec("/usr/lib/cni/ptp"), floor))
PODLANE = {"cniVersion": "1.0.0", "name": "bench", "type": "podlane", "socket": SOCK}
PTP = {"cniVersion": "1.0.0", "name": "bench-ptp", "type": "ptp",
       "ipam": {"type": "host-local", "subnet": "10.22.0.0/16", "dataDir": WORK + "/host-local"}}
IDLE = 0.05
podlane, ptp = measure(PLUGIN, PODLANE), measure("/usr/lib/cni/ptp", PTP)
podlane_idle, ptp_idle = measure(PLUGIN, PODLANE, IDLE), measure("/usr/lib/cni/ptp", PTP, IDLE)
print("| op | podlane p50 ms | podlane p99 ms | ptp+host-local p50 ms | ptp+host-local p99 ms | speed-up p50 |")
print("|---|---|---|---|---|---|")
result = {"pairs": PAIRS}
for name, a, b in (("ADD", podlane[0], ptp[0]), ("DEL", podlane[1], ptp[1]),
                   ("ADD_after_idle", podlane_idle[0], ptp_idle[0])):
    r = {"podlane_p50_ms": statistics.median(a), "podlane_p99_ms": pct(a, 99),
         "ref_p50_ms": statistics.median(b), "ref_p99_ms": pct(b, 99)}
    r["speedup_p50"] = r["ref_p50_ms"] / r["podlane_p50_ms"]
    result[name] = r
    label = "ADD after %d ms idle" % (IDLE * 1000) if name == "ADD_after_idle" else name
    print("| %s | %.2f | %.2f | %.2f | %.2f | %.1fx |" % (label, r["podlane_p50_ms"], r["podlane_p99_ms"],
                                                         r["ref_p50_ms"], r["ref_p99_ms"], r["speedup_p50"]))
with open(os.environ.get("BENCH_JSON", WORK + "/cni_latency.json"), "w") as f:
    json.dump(result, f, indent=2)
