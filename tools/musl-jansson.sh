#!/usr/bin/env bash
# Builds jansson for musl, static, into PREFIX (default
# /usr/local/lib/podlane-musl), from Debian's source of the installed
# libjansson-dev (same version, Debian's patches applied). The CNI plugin
# links it: a static musl binary starts without glibc's CPU and cache
# probing, about 50 cpuid instructions, each an exit to the hypervisor on a
# virtual machine (0.25 ms of every exec on these VMs; docs/benchmarks.md).
# Safe to run again: does nothing when PREFIX already holds that version.
# Needs musl-tools, cmake and dpkg-dev (tools/deps.sh installs them).
set -euo pipefail
prefix=${1:-/usr/local/lib/podlane-musl}
ver=$(dpkg-query -W -f='${source:Version}' libjansson-dev)
[ "$(cat "$prefix/DEBIAN_VERSION" 2>/dev/null)" = "$ver" ] && exit 0
echo "building jansson $ver for musl into $prefix"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Debian's source indexes for the suites this machine installs from, in a
# private apt state: the machine's own apt configuration is not touched.
# The files are checked against the signed indexes, as packages are.
apt-get indextargets --format 'deb-src $(REPO_URI) $(RELEASE) $(COMPONENT)' \
	'Identifier: Packages' | sort -u >"$tmp/sources.list"
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial"
apt=(apt-get -q -o Dir::Etc::SourceList="$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o APT::Sandbox::User=root)
"${apt[@]}" update >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; exit 1; }
(cd "$tmp" && "${apt[@]}" source "jansson=$ver") >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; exit 1; }
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'jansson-*')

cmake -S "$src" -B "$tmp/build" -DCMAKE_C_COMPILER=musl-gcc -DCMAKE_BUILD_TYPE=Release \
	-DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
	-DJANSSON_WITHOUT_TESTS=ON -DCMAKE_INSTALL_PREFIX="$prefix" >"$tmp/cmake.log" 2>&1 &&
	cmake --build "$tmp/build" -j"$(nproc)" >>"$tmp/cmake.log" 2>&1 ||
	{ cat "$tmp/cmake.log"; exit 1; }
SUDO=
[ -w "$(dirname "$prefix")" ] || SUDO=sudo
$SUDO cmake --install "$tmp/build" >/dev/null
echo "$ver" | $SUDO tee "$prefix/DEBIAN_VERSION" >/dev/null
