#!/usr/bin/env bash
# Under `set -o pipefail`, `CMD | grep -q` (or head, grep -m) fails at
# random: the reader exits at its first match, CMD dies of SIGPIPE on its
# next write, and the pipeline reports CMD's failure although the line was
# there. Our scripts test output with here-strings instead
# (grep -q X <<<"$(CMD)"). Commands run by sh -c (dash, no pipefail) are
# exempt. Prints each offending line; fails if there is one.
set -euo pipefail
cd "$(dirname "$0")/../.."
bad=$(grep -rnE '\|[[:space:]]*(grep[[:space:]]+-[a-zA-Z]*[qm]|head)\b' \
	--include='*.sh' --exclude="$(basename "$0")" tests tools |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*#|sh -c' || true)
if [ -n "$bad" ]; then
	echo "early-exiting readers in pipelines (use a here-string):"
	echo "$bad"
	exit 1
fi
echo "ok - no early-exiting reader in a pipeline"
