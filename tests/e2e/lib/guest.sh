# QEMU guests as pods (the KubeVirt path), for the e2e tests: a Debian
# kernel (package linux-image-cloud-amd64) with an initramfs of busybox and
# its virtio-net modules built here, a vhost-user NIC on the pod's socket
# (QEMU the server, podlaned the client, as podlaned's config file says),
# and a shell on the serial console (console.py). QEMU runs under TCG:
# this machine's /dev/kvm cannot run a stock kernel, and Debian's QEMU 7.2
# under TCG crashes starting a vhost-user NIC with MSI-X vectors, so the
# NIC has none (vectors=0: legacy interrupts).

guest_kernel() { # the newest Debian kernel in /boot
	ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1
}

# guest_initramfs OUT: busybox, the virtio-net modules of guest_kernel's
# version in load order, and an init that configures eth0 from the kernel
# command line (pl.ip, pl.mtu: what podlaned's file gives) and then runs
# a shell on the console.
guest_initramfs() {
	local out=$1 kernel ver root m
	kernel=$(guest_kernel)
	[ -n "$kernel" ] || fail "no guest kernel in /boot (package linux-image-cloud-amd64)"
	ver=${kernel#/boot/vmlinuz-}
	root=$(mktemp -d "$WORK/initramfs.XXXXXX")
	mkdir -p "$root"/{bin,proc,sys,dev,tmp,mod}
	cp /bin/busybox "$root/bin/"
	for m in sh mount insmod ip ping nc httpd md5sum dd cat echo sleep stty wc; do
		ln -s busybox "$root/bin/$m"
	done
	# insmod lines in dependency order, each module once
	{ modprobe -S "$ver" --show-depends virtio_pci; modprobe -S "$ver" --show-depends virtio_net; } | awk '$1 == "insmod" && !seen[$2]++ {print $2}' |
		while read -r m; do cp "$m" "$root/mod/"; basename "$m" >>"$root/mod/order"; done
	[ -s "$root/mod/order" ] || fail "no virtio modules for kernel $ver"
	cat >"$root/init" <<-'INIT'
	#!/bin/sh
	mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
	mount -t tmpfs tmp /tmp
	echo 1 >/proc/sys/kernel/printk
	for m in $(cat /mod/order); do insmod /mod/$m; done
	for a in $(cat /proc/cmdline); do
		case $a in pl.ip=*) IP=${a#pl.ip=} ;; pl.ip6=*) IP6=${a#pl.ip6=} ;; pl.mtu=*) MTU=${a#pl.mtu=} ;; esac
	done
	ip link set lo up
	ip link set eth0 mtu "$MTU" up
	ip addr add "$IP/32" dev eth0
	ip route add 169.254.1.1 dev eth0
	ip route add default via 169.254.1.1 dev eth0
	if [ -n "$IP6" ]; then # a dual-stack pod's: its /128, fe80::1 its gateway
		echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad
		ip -6 addr add "$IP6/128" dev eth0
		ip -6 route add default via fe80::1 dev eth0
	fi
	stty -echo
	while :; do sh; done # a shell that exits must not take init with it
	INIT
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
	rm -rf "$root"
}

# guest_boot NAME IP MTU VCPUS QEMU-ARGS...: QEMU (on the CPUs of
# GUEST_CPUS, in netns GUEST_NETNS, when set) booting the guest with address IP/32 (and
# GUEST_IP6/128 when set) and MTU, its NIC(s) from QEMU-ARGS; its console at $WORK/NAME.con, its output in
# $WORK/NAME.qemu.log. Returns when the guest's shell answers.
guest_boot() {
	local name=$1 ip=$2 mtu=$3 vcpus=$4 pin=()
	shift 4
	[ -f "$WORK/guest.cpio.gz" ] || guest_initramfs "$WORK/guest.cpio.gz"
	[ -z "${GUEST_NETNS:-}" ] || pin=(ip netns exec "$GUEST_NETNS")
	[ -z "${GUEST_CPUS:-}" ] || pin+=(taskset -c "$GUEST_CPUS")
	rm -f "$WORK/$name.con"
	"${pin[@]}" qemu-system-x86_64 -accel tcg -smp "$vcpus" -m 256M -display none -monitor none \
		-nodefaults -no-reboot -kernel "$(guest_kernel)" -initrd "$WORK/guest.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 pl.ip=$ip pl.mtu=$mtu${GUEST_IP6:+ pl.ip6=$GUEST_IP6}" \
		-chardev "socket,id=con,path=$WORK/$name.con,server=on,wait=off,logfile=$WORK/$name.console.log" \
		-serial chardev:con "$@" >>"$WORK/$name.qemu.log" 2>&1 &
	echo $! >"$WORK/$name.qemu.pid"
	at_exit "stop_pid $WORK/$name.qemu.pid"
	wait_for 20 test -S "$WORK/$name.con" || fail "QEMU did not start: $(tail -5 "$WORK/$name.qemu.log")"
	python3 "$E2E_TOP/tests/e2e/lib/console.py" "$WORK/$name.con" --timeout 180 --ready ||
		fail "guest $name did not boot: $(tail -5 "$WORK/$name.qemu.log")"
}

# guest_start NAME CONFIG_FILE QUEUES [QEMU-ARGS...]: the guest on the
# pod's vhost-user NIC as podlaned's config file for it says, QUEUES queue
# pairs (and as many vCPUs), through the recipe users get
# (config/vm/podlane-qemu-args).
guest_start() {
	local name=$1 conf=$2 queues=$3 nic
	shift 3
	fact() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$conf" "$1"; }
	nic=$("$E2E_TOP/config/vm/podlane-qemu-args" "$conf" --queues "$queues" --mem 256M --tcg) ||
		fail "podlane-qemu-args $conf"
	# shellcheck disable=SC2086 # nic: separate arguments
	GUEST_IP6=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("ip6", ""))' "$conf") \
		guest_boot "$name" "$(fact ip)" "$(fact mtu)" "$queues" $nic "$@"
}

# gsh NAME COMMAND...: COMMAND in guest NAME's shell, its output and status.
gsh() { local n=$1; shift; python3 "$E2E_TOP/tests/e2e/lib/console.py" "$WORK/$n.con" "$@"; }
