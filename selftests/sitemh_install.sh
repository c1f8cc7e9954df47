#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Installing the module as kernel modules are installed, and the shipped boot-time
# examples (etc/): `make install INSTALL_MOD_PATH=<scratch>` lays the module where
# `modprobe -d <scratch>` finds it; loading it as etc/modules-load.d/sitemh.conf says, then
# `sysctl --system` with etc/sysctl.d/60-sitemh.conf, configures the domains (the order
# systemd-sysctl.service keeps after systemd-modules-load.service); the udev rule
# etc/udev/rules.d/60-sitemh.rules configures them again when the module is loaded later.
#
# The guest has neither systemd nor udev running: `busybox uevent` stands in for udevd
# (it hears the module's uevent and runs the rule's RUN program when its keys match).
# The script runs in a mount namespace of its own whose sysctl.d directories hold the
# shipped example only, so `sysctl --system` applies nothing of the host's.

if [ -z "${SITEMH_INSTALL_NS:-}" ]; then
	export SITEMH_INSTALL_NS=1
	exec unshare --mount --propagation private "$0" "$@"
fi

source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
etc=$root/etc
release=$(uname -r)
scratch=$(mktemp -d)
defer rm -rf "$scratch"
masked=$scratch/sysctl.d

# The build tree of the running kernel (the VM runner boots $SITEMH_CACHE/kernel).
find_kdir() {
	local d
	for d in ${KDIR:-} "${SITEMH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sitemh}/kernel" \
		/root/.cache/sitemh/kernel; do
		[ "$(cat "$d/include/config/kernel.release" 2>/dev/null)" = "$release" ] &&
			{ echo "$d"; return 0; }
	done
	return 1
}

# Only the shipped example in the sysctl.d directories (sysctl.d(5)), for this namespace.
mask_sysctl_d() {
	local d
	mkdir -p "$masked" "$scratch/empty" || return 1
	cp "$etc/sysctl.d/60-sitemh.conf" "$masked/" || return 1
	for d in /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
		[ -d "$d" ] || continue
		mount --bind "$scratch/empty" "$d" || return 1
		defer umount "$d"
	done
	mount --bind "$masked" /etc/sysctl.d || return 1
	defer umount /etc/sysctl.d
	[ -e /etc/sysctl.conf ] || return 0
	mount --bind /dev/null /etc/sysctl.conf && defer umount /etc/sysctl.conf
}

# The domain table the example describes, as /proc/net/sitemh shows it (builtins only).
example_configured() {
	local line want=0 extra=0
	while read -r line; do
		case $line in
		"ipv4 0 198.51.100.0/24 198.51.100.129 "*) want=$((want + 1)) ;;
		"ipv4 1 203.0.113.0/24 203.0.113.130 "*) want=$((want + 1)) ;;
		"ipv4 2 10.99.0.0/16 private "*) want=$((want + 1)) ;;
		"ipv6 0 2001:db8:1::/48 2001:db8:1::1 "*) want=$((want + 1)) ;;
		"ipv4 "[0-9]* | "ipv6 "[0-9]*) extra=$((extra + 1)) ;;
		esac
	done < /proc/net/sitemh
	[ $want -eq 4 ] && [ $extra -eq 0 ]
}

no_domains() {
	[ "$(< /proc/sys/net/ipv4/ip_num_domains)" = 0 ] && [ "$(< /proc/sys/net/ipv6/ip_num_domains)" = 0 ]
}

test_make_install() {
	local rc=0 kdir out path
	# Not loaded, whatever the script before left (`modprobe -n` says nothing about a
	# module that is loaded already).
	unload_module
	kdir=$(find_kdir) || { echo "# no build tree of kernel $release"; log_test 1 "make install"; return; }
	now_ms
	local started=$now_ms
	out=$(make -s -C "$root" install KDIR="$kdir" KO="$SITEMH_KO" INSTALL_MOD_PATH="$scratch/root" 2>&1)
	check [ $? -eq 0 ] || rc=1
	now_ms
	echo "# make install: $((now_ms - started)) ms"
	echo "$out" | grep -v "^depmod: WARNING: could not open modules\.\(order\|builtin\)" | sed 's/^/# /'
	path=$scratch/root/lib/modules/$release/extra/sitemh.ko
	check cmp -s "$SITEMH_KO" "$path" || rc=1
	check grep -qx "extra/sitemh.ko:" "$scratch/root/lib/modules/$release/modules.dep" || rc=1
	# What modprobe would do, read from the scratch tree's index.
	out=$(modprobe -d "$scratch/root" -n -v sitemh 2>&1)
	check [ "$out" = "insmod $path " ] || { echo "# modprobe -n -v: $out"; rc=1; }
	log_test $rc "make install INSTALL_MOD_PATH=<scratch> lays it where modprobe -d finds it"
}

# modules-load.d, then sysctl.d: systemd-modules-load loads the named modules (modprobe),
# systemd-sysctl (After=systemd-modules-load.service) applies sysctl.d.
test_boot_order() {
	local rc=0 name out err
	unload_module
	while read -r name; do
		case $name in '' | '#'* | ';'*) continue ;; esac
		check modprobe -d "$scratch/root" "$name" || rc=1
	done < "$etc/modules-load.d/sitemh.conf"
	check module_loaded || rc=1
	check no_domains || rc=1
	out=$(sysctl --system 2>"$scratch/err")
	check [ $? -eq 0 ] || rc=1
	err=$(< "$scratch/err")
	[ -z "$err" ] || { echo "# sysctl --system: $err"; rc=1; }
	echo "$out" | grep -q "^\* Applying /etc/sysctl.d/60-sitemh.conf" || { echo "# $out"; rc=1; }
	check example_configured || { sed 's/^/# /' /proc/net/sitemh; rc=1; }
	log_test $rc "modules-load.d then sysctl --system configures the domains"
}

# udevd's part for the rule's keys: ACTION, SUBSYSTEM, KERNEL (globs), RUN (split on
# spaces, no shell). Run by busybox uevent for every uevent, with the kernel's variables.
udev_stand_in() {
	local rules=$1 log=$2 line= part key op val kernel=${DEVPATH##*/} match run
	echo "event $ACTION $SUBSYSTEM $kernel" >> "$log"
	while IFS= read -r part || [ -n "$part" ]; do
		# Lines ending in a backslash continue.
		if [[ $part == *\\ ]]; then line+=${part%\\}; continue; fi
		line+=$part
		[[ $line =~ ^[[:space:]]*(#|$) ]] && { line=; continue; }
		match=1 run=()
		while [[ $line =~ ^[[:space:]]*([A-Z]+)(==|!=|\+=)\"([^\"]*)\"[[:space:]]*,?(.*)$ ]]; do
			key=${BASH_REMATCH[1]} op=${BASH_REMATCH[2]} val=${BASH_REMATCH[3]}
			line=${BASH_REMATCH[4]}
			case $key$op in
			ACTION==) [[ $ACTION == $val ]] || match= ;;
			SUBSYSTEM==) [[ $SUBSYSTEM == $val ]] || match= ;;
			KERNEL==) [[ $kernel == $val ]] || match= ;;
			RUN+=) run+=("$val") ;;
			*) echo "unsupported $key$op" >> "$log"; match= ;;
			esac
		done
		[[ $line =~ ^[[:space:]]*$ ]] || { echo "unparsed: $line" >> "$log"; match=; }
		line=
		[ -n "$match" ] || continue
		for val in "${run[@]}"; do
			read -ra argv <<< "$val"
			"${argv[@]}" >> "$log" 2>&1
			echo "ran ${argv[0]} rc=$?" >> "$log"
		done
	done < "$rules"
}

# The rule applies the example again whenever the module is loaded (unloading forgot it).
test_udev_rule() {
	local rc=0 log=$scratch/uevents pid seen=
	unload_module
	: > "$log"
	busybox uevent bash -c "$(declare -f udev_stand_in); udev_stand_in \"\$0\" \"\$1\"" \
		"$etc/udev/rules.d/60-sitemh.rules" "$log" &
	pid=$!
	defer kill "$pid"
	# Listening: its NETLINK_KOBJECT_UEVENT (15) socket is bound.
	listening_uevents() {
		local sk eth portid rest
		while read -r sk eth portid rest; do
			[ "$eth" = 15 ] && [ "$portid" = "$pid" ] && return 0
		done < /proc/net/netlink
		return 1
	}
	check busywait 20000 listening_uevents || rc=1
	check modprobe -d "$scratch/root" sitemh || rc=1
	check busywait 30000 example_configured || { sed 's/^/# /' /proc/net/sitemh; rc=1; }
	# The rule ran for the module's own uevent, and its program succeeded.
	busywait 10000 grep -q "^ran .* rc=" "$log"
	grep -q "^event add module sitemh$" "$log" || rc=1
	grep -q "^ran /usr/lib/systemd/systemd-sysctl rc=0$" "$log" || rc=1
	[ $rc -eq 0 ] || sed 's/^/# uevent: /' "$log"
	log_test $rc "the udev rule applies sysctl.d again when the module appears"
}

test_remove() {
	local rc=0
	check modprobe -r -d "$scratch/root" sitemh || rc=1
	! module_loaded || { echo "# still loaded"; rc=1; }
	log_test $rc "modprobe -r -d <scratch> unloads it"
}

# dkms.conf is a shell fragment DKMS sources with the kernel's variables set.
test_dkms_conf() {
	local rc=0 out
	out=$(kernelver=$release kernel_source_dir=/nonexistent
		source "$root/dkms.conf" &&
		echo "$PACKAGE_NAME ${BUILT_MODULE_NAME[0]} ${DEST_MODULE_LOCATION[0]} ${MAKE[0]}")
	check [ "$out" = "sitemh sitemh /extra scripts/dkms-make.sh /nonexistent" ] || { echo "# $out"; rc=1; }
	check [ -x "$root/scripts/dkms-make.sh" ] || rc=1
	log_test $rc "dkms.conf builds sitemh with scripts/dkms-make.sh into /extra"
}

mask_sysctl_d || { log_test 1 "only the example in sysctl.d (mount namespace)"; exit $ksft_fail; }
run_case test_make_install
run_case test_boot_order
run_case test_udev_rule
run_case test_remove
run_case test_dkms_conf
run_cleanup
unload_module
exit $ret
