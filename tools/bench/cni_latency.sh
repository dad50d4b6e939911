#!/usr/bin/env bash
# CNI ADD/DEL latency, podlane vs ptp+host-local, in private namespaces.
#   tools/bench/cni_latency.sh [PAIRS]   (default 200)
# Writes the table to stdout and JSON to $BENCH_JSON (default under /tmp).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/lib.sh"
bench_start containernetworking-plugins -- "$@"
pairs=${1:-200}
fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 1
echo "CNI latency, $pairs sequential ADD/DEL pairs into one netns ($(nproc) cores, $(uname -r))"
python3 "$top/tools/bench/cni_latency.py" "$WORK/node.sock" "$BUILD/cni/podlane" "$WORK" "$pairs"
