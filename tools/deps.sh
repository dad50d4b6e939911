#!/usr/bin/env bash
# Installs the Debian packages podlane builds, tests and demos with, when
# they are missing. Safe to run again; needs root (or sudo) to install.
set -euo pipefail

PKGS=(build-essential pkg-config meson ninja-build clang libclang-rt-14-dev musl-tools cmake
      libdpdk-dev dpdk libnuma-dev libjansson-dev libmnl-dev libnftables-dev libcmocka-dev libpcap-dev
      iproute2 iputils-ping iperf3 containernetworking-plugins
      podman runc busybox-static iptables nftables bird2 python3 netcat-openbsd procps util-linux
      dpdk-dev tcpdump ethtool curl python3-prometheus-client python3-yaml yamllint man-db bsdextrautils systemd
      qemu-system-x86 linux-image-cloud-amd64 cpio)

# Extra packages a caller needs (the benchmarks: openvswitch-switch-dpdk).
PKGS+=("$@")
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q >/dev/null
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# jansson for the CNI plugin's static musl build (cni/meson.build).
"$(dirname "$0")/musl-jansson.sh"
