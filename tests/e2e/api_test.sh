#!/usr/bin/env bash
# The socket API against a real podlaned (tests/api/api_cases.py).
. "$(dirname "$0")/lib/common.sh"
isolate "$@"
fabric 172.31.102.1/24
start_node node 172.31.102.105/24 100.96.243.0/24 1 '"max_request_mb": 8, "max_routes": 131072,'
python3 "$E2E_TOP/tests/api/api_cases.py" "$WORK/node.sock"
