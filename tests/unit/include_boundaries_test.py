#!/usr/bin/env python3
"""The part boundaries the build enforces (docs/design.md, "A part owns its
folder"): with the exact compile command of one file of each part (from
compile_commands.json), a probe including a header the part may use
compiles, and one including a header it may not fails.

    include_boundaries_test.py BUILD_DIR
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

# part (a file of it) -> (headers it may include, headers it may not)
RULES = {
    "client/pl_client.c": (["podlane_api.h", "pl_validate.h"],
                           ["dp.h", "ctl.h", "rte_ether.h", "dp_priv.h"]),
    "tools/podlanectl.c": (["pl_client.h", "podlane_api.h"],
                           ["dp.h", "ctl.h", "ctl_rpc.h", "rte_ether.h", "dp_priv.h"]),
    "cni/cni_main.c": (["pl_client.h", "pl_validate.h", "cni.h"],
                       ["dp.h", "ctl.h", "rte_ether.h", "dp_priv.h"]),
    "control/ctl_config.c": (["dp.h", "ctl.h", "pl_validate.h", "podlane_api.h"],
                             ["dp_priv.h", "dp_nat.h", "dp_ip4.h", "cni.h", "podlanectl.h"]),
    "dataplane/dp_rx.c": (["dp.h", "dp_priv.h", "dp_nat.h"],
                          ["ctl.h", "pl_client.h", "podlane_api.h"]),
}


def probe_cmd(entry, probe):
    """The entry's command with the probe as source, compiling to nothing."""
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MQ", "-MT"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a.endswith(os.path.basename(entry["file"])):
            continue
        out.append(a)
    return out + ["-fsyntax-only", probe]


def main():
    build = os.path.abspath(sys.argv[1])
    entries = json.load(open(os.path.join(build, "compile_commands.json")))
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for part, (allowed, forbidden) in RULES.items():
            entry = next((e for e in entries
                          if os.path.normpath(os.path.join(e["directory"], e["file"]))
                          .endswith(part)), None)
            if entry is None:
                # The musl CNI plugin is compiled by a generator, not in
                # compile_commands.json; the glibc builds check it.
                print(f"# {part}: no compile command in this build, skipped")
                continue
            for header, want in [(h, True) for h in allowed] + [(h, False) for h in forbidden]:
                probe = os.path.join(tmp, "probe.c")
                with open(probe, "w") as f:
                    f.write(f'#include "{header}"\n')
                r = subprocess.run(probe_cmd(entry, probe), cwd=entry["directory"],
                                   capture_output=True, text=True)
                checked += 1
                if (r.returncode == 0) != want:
                    failures.append(f"{part}: #include \"{header}\" "
                                    f"{'failed' if want else 'compiled'}; expected it to "
                                    f"{'compile' if want else 'fail'}\n{r.stderr[-400:]}")
    for f in failures:
        print("not ok -", f)
    if checked == 0:
        print("not ok - no part's compile command found")
        return 1
    print(f"{'ok' if not failures else 'not ok'} - {checked} include checks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
