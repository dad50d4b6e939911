#!/usr/bin/env bash
# The CNI plugin exec'd as a runtime does, against a real podlaned
# (tests/api/cni_cases.py), with Debian's host-local for delegated IPAM.
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 1 '"vhost_dir": "'"$WORK"'/vhost",'
python3 "$E2E_TOP/tests/api/cni_cases.py" "$WORK/node.sock" "$BUILD/cni/podlane" "$WORK"
