#!/usr/bin/env bash
# What `meson install` lays down, checked the way a packager would: the
# files, the systemd unit (systemd-analyze verify), man pages (man
# --warnings) that name every option and command --help names, the sample
# config (podlaned --check), and the Kubernetes manifests (YAML parser,
# yamllint, cross-references, the node config they generate). The
# manifests are not applied: there is no cluster here.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${PODLANE_BUILD:-$top/build}
dest=$(mktemp -d /tmp/podlane-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

opt() { meson introspect "$BUILD" --buildoptions | python3 -c '
import json, sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}[sys.argv[1]])' "$1"; }
prefix=$(opt prefix)
cni_dir=$(opt cni_bin_dir)
DESTDIR=$dest meson install -C "$BUILD" --no-rebuild --quiet >/dev/null
root=$dest$prefix
for f in sbin/podlaned bin/podlanectl bin/podlane-k8s lib/systemd/system/podlaned.service \
	share/man/man8/podlaned.8 share/man/man8/podlanectl.8 share/man/man8/podlane.8 \
	share/podlane/podlaned.json share/podlane/10-podlane.conflist share/podlane/k8s/daemonset.yaml \
	share/podlane/k8s/configmap.yaml share/podlane/k8s/rbac.yaml share/podlane/k8s/keeper.yaml \
	share/podlane/k8s/Containerfile share/podlane/vm/podlane-qemu-args \
	share/podlane/vm/libvirt-interface.xml; do
	[ -f "$root/$f" ] || fail "meson install did not install $f"
done
[ -x "$dest$cni_dir/podlane" ] || fail "CNI plugin not in $cni_dir"
# The installed plugin runs on its own: static (musl or glibc), no library
# to find on the host it is copied to.
version=$(echo '{"cniVersion":"1.0.0"}' | env -i CNI_COMMAND=VERSION "$dest$cni_dir/podlane") ||
	fail "installed CNI plugin: VERSION failed: $version"
[[ $version == *'"supportedVersions":["0.4.0","1.0.0","1.1.0"]'* ]] ||
	fail "installed CNI plugin: VERSION answered $version"
if [ "$(opt b_sanitize)" = none ] && grep -q INTERP <<<"$(readelf -l "$dest$cni_dir/podlane")"; then
	fail "CNI plugin is linked dynamically"
fi
[ -x "$root/bin/podlane-k8s" ] || fail "podlane-k8s not executable"
[ -x "$root/share/podlane/vm/podlane-qemu-args" ] || fail "podlane-qemu-args not executable"
ok "binaries, CNI plugin (in $cni_dir), unit, man pages, samples and manifests installed"

# The unit names the installed binary; verify it where it really is.
mkdir "$dest/units"
sed "s|$prefix/sbin/podlaned|$root/sbin/podlaned|g" "$root/lib/systemd/system/podlaned.service" \
	>"$dest/units/podlaned.service"
grep -q "^ExecStart=$root/sbin/podlaned --config /etc/podlane/podlaned.json$" "$dest/units/podlaned.service" ||
	fail "unit does not start the installed podlaned"
out=$(systemd-analyze verify --man=no "$dest/units/podlaned.service" 2>&1) || fail "systemd-analyze: $out"
[ -z "$out" ] || fail "systemd-analyze warns: $out"
grep -q "^Restart=always$" "$dest/units/podlaned.service" || fail "unit has no restart policy"
grep -q "^RequiresMountsFor=/dev/hugepages$" "$dest/units/podlaned.service" || fail "unit ignores hugepages"
ok "systemd unit verifies (restart policy, hugepages, socket and state dirs)"

"$root/sbin/podlaned" --config "$root/share/podlane/podlaned.json" --check >/dev/null ||
	fail "the sample config does not pass podlaned --check"
ok "sample config passes podlaned --check"

# Man pages render without warnings and cover what --help says.
for m in podlaned podlanectl podlane; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$root/share/man/man8/$m.8" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "man $m: $w"
done
render() { LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$root/share/man/man8/$1.8" 2>/dev/null | col -b; }
for b in podlaned:sbin podlanectl:bin; do
	name=${b%%:*}
	page=$(render "$name")
	for opt in $("$root/${b#*:}/$name" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$opt" <<<"$page" || fail "man $name lacks $opt from --help"
	done
done
page=$(render podlanectl)
while read -r cmd; do
	grep -qF -- "$cmd" <<<"$page" || fail "man podlanectl lacks command '$cmd'"
done < <("$root/bin/podlanectl" --help | sed -n '/^commands:/,/^$/p' | grep '^  [a-z]' |
	sed -E 's/^  //; s/  .*//; s/ ([A-Z[]|--).*//')
ok "man pages render cleanly and cover every option and command of --help"

# Kubernetes manifests.
command -v yamllint >/dev/null || fail "yamllint missing (tools/deps.sh installs it)"
yamllint -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}' \
	"$top"/config/k8s/*.yaml || fail "yamllint"
/usr/bin/python3 - "$top" "$root" <<'PY' || fail "manifests (above)"
import json, os, subprocess, sys, string, tempfile
import yaml
top, root = sys.argv[1], sys.argv[2]
docs = []
for f in ("rbac.yaml", "configmap.yaml", "daemonset.yaml", "keeper.yaml"):
    docs += [d for d in yaml.safe_load_all(open(os.path.join(top, "config/k8s", f))) if d]
by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
known = {"ServiceAccount": "v1", "ConfigMap": "v1", "DaemonSet": "apps/v1",
         "ClusterRole": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1"}
for d in docs:
    assert known.get(d["kind"]) == d["apiVersion"], (d["kind"], d["apiVersion"])
ds = by[("DaemonSet", "podlane")]["spec"]
pod = ds["template"]["spec"]
assert ds["selector"]["matchLabels"].items() <= ds["template"]["metadata"]["labels"].items()
assert ("ServiceAccount", pod["serviceAccountName"]) in by
crb = by[("ClusterRoleBinding", "podlane")]
assert ("ClusterRole", crb["roleRef"]["name"]) in by
assert crb["subjects"][0]["name"] == pod["serviceAccountName"]
rules = by[("ClusterRole", "podlane")]["rules"]
assert any("nodes" in r["resources"] and "list" in r["verbs"] for r in rules)
vols = {v["name"]: v for v in pod["volumes"]}
cm = by[("ConfigMap", vols["config"]["configMap"]["name"])]
installed = {"podlaned": "sbin", "podlanectl": "bin", "podlane-k8s": "bin"}
for c in pod["initContainers"] + pod["containers"]:
    for m in c.get("volumeMounts", []):
        assert m["name"] in vols, (c["name"], m["name"])
    exe = c["command"][0]
    if exe in installed:
        assert os.access(os.path.join(root, installed[exe], exe), os.X_OK), exe
    for probe in ("readinessProbe", "livenessProbe"):
        if probe in c:
            assert c[probe]["exec"]["command"][0] in installed
    if "$(NODE_NAME)" in c["command"]:
        assert any(e["name"] == "NODE_NAME" for e in c["env"]), c["name"]
    for k in ("requests", "limits"):
        hp = c.get("resources", {}).get(k, {}).get("hugepages-2Mi")
        if hp:
            assert c["resources"]["limits"]["hugepages-2Mi"] == c["resources"]["requests"]["hugepages-2Mi"]
# The CNI binary the init container copies is where the Containerfile installs it.
assert "-Dcni_bin_dir=/usr/lib/cni" in open(os.path.join(top, "config/k8s/Containerfile")).read()
assert "/usr/lib/cni/podlane" in " ".join(pod["initContainers"][0]["command"])
# The conflist it installs is the sample one; the node config it writes is valid.
assert json.loads(cm["data"]["10-podlane.conflist"]) == json.load(open(os.path.join(top, "config/10-podlane.conflist")))
text = string.Template(cm["data"]["podlaned.json.tmpl"]).substitute(NODE_IP="172.31.102.105", POD_CIDR="100.96.243.0/24")
with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
    f.write(text)
    f.flush()
    p = subprocess.run([os.path.join(root, "sbin/podlaned"), "--config", f.name, "--check"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
# The standing keeper serves podlaned's state_dir, the same host directory.
keeper = by[("DaemonSet", "podlane-keeper")]["spec"]
kpod = keeper["template"]["spec"]
assert keeper["selector"]["matchLabels"].items() <= keeper["template"]["metadata"]["labels"].items()
kc = kpod["containers"][0]
state_dir = json.loads(text)["state_dir"]
assert kc["command"] == ["podlaned", "--keeper", state_dir], kc["command"]
kvols = {v["name"]: v for v in kpod["volumes"]}
mount = [m for m in kc["volumeMounts"] if m["mountPath"] == state_dir][0]
pmount = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == state_dir][0]
assert kvols[mount["name"]]["hostPath"]["path"] == vols[pmount["name"]]["hostPath"]["path"]
assert kpod["hostPID"] and pod["hostPID"]
print("%d objects checked" % len(docs))
PY
ok "manifests: YAML valid, RBAC/volumes/env/probes/binaries consistent, generated node config passes --check, the keeper serves its state_dir"
