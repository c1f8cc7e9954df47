#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for the sitemh selftests, after tools/testing/selftests/net/lib.sh: kselftest
# exit codes, namespaces with random names and deferred cleanup, one "TEST:" line per case.

# kselftest exit codes.
ksft_pass=0
ksft_fail=1
ksft_skip=4

# `make soak` exports SITEMH_SOAK=1: the same cases at full size (transfers, connection
# counts, seeds, iterations). `make check` runs them smaller, to keep its VM part within
# 30 minutes under TCG.
soak() {
	[ -n "${SITEMH_SOAK:-}" ]
}

# run_case TEST [ARGS...]: runs case TEST (a function of the script) unless TESTS, a list of
# case names separated by spaces, leaves it out (kselftest's TESTS= selection:
# `TESTS="test_ce_failure test_counters" ./sitemh_switchover.sh`), then runs what the case
# deferred. A case may rely on the state the cases before it left; the script's own order is
# the one CI runs.
run_case() {
	local mark=${#cleanup_cmds[@]} i logged=$tests_logged
	if [ -n "${TESTS:-}" ] && [[ " $TESTS " != *" $1 "* ]]; then
		return 0
	fi
	"$@"
	# A case that printed no TEST line would pass by saying nothing.
	[ "$tests_logged" -gt "$logged" ] || log_test 1 "$1: reported no result"
	echo "# case done: $1"
	# Per-case cleanup: what the case deferred (its servers, captures, files) goes now,
	# last first; what the script deferred before its cases stays until exit.
	for ((i = ${#cleanup_cmds[@]} - 1; i >= mark; i--)); do
		eval "${cleanup_cmds[i]}" >/dev/null 2>&1 || true
		unset 'cleanup_cmds[i]'
	done
	cleanup_cmds=("${cleanup_cmds[@]}")
}

# The plan (kselftest's "1..N", in cases): the script's run_case lines that TESTS selects.
# The runner (scripts/vm-guest.sh) fails a script that reports fewer "# case done" lines
# than it planned, so a script that dies half-way cannot look complete.
tests_logged=0
planned_cases=0
while read -r _ case_name _; do
	if [ -z "${TESTS:-}" ] || [[ " $TESTS " == *" $case_name "* ]]; then
		planned_cases=$((planned_cases + 1))
	fi
done < <(grep '^run_case ' "$0" 2>/dev/null)
[ "$planned_cases" -eq 0 ] || echo "# plan: $planned_cases cases${TESTS:+ (TESTS=$TESTS)}"
unset case_name

# Where the module is; the VM runner exports SITEMH_KO.
SITEMH_KO=${SITEMH_KO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/sitemh.ko}

ret=$ksft_pass
declare -a cleanup_cmds=()

# Run "$@" at exit, last registered first.
defer() {
	cleanup_cmds+=("$*")
}

run_cleanup() {
	local i
	stop_holders
	for ((i = ${#cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${cleanup_cmds[i]}" >/dev/null 2>&1 || true
	done
	cleanup_cmds=()
}
trap run_cleanup EXIT

# setup_ns VAR...: create one namespace per variable name, named with a random suffix, and
# store the name in that variable. They are deleted at exit.
setup_ns() {
	local var name suffix names=()
	for var in "$@"; do
		# A random suffix without a process (a process costs a good fraction of a
		# second in the test VM); the namespaces are added by one `ip -batch`.
		printf -v suffix '%06x' $(((RANDOM << 15 | RANDOM) & 0xffffff))
		name="${var}-$suffix"
		names+=("$name")
		defer ip netns del "$name"
		eval "$var=$name"
	done
	printf 'netns add %s\n' "${names[@]}" | ip -batch - || return 1
	for name in "${names[@]}"; do
		ip -n "$name" link set lo up || return 1
	done
}

# in_ns NS CMD...: CMD in network namespace NS. `ip netns exec` also unshares the mount
# namespace and remounts /sys: in the test VM (TCG, debug kernel, the root cached) a
# command takes 0.43 s that way against 0.33 s this way (1.06 s with `ip netns exec`
# before the root was cached). Commands that read /sys/class/net of the namespace still
# need `ip netns exec`.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# Reading a namespace's /proc/net without starting a process: keep_proc NS... leaves an
# idle process in each NS (killed at exit), and proc_value reads /proc/PID/net of it with
# shell builtins. The counters the tests poll cost a process or two each otherwise.
declare -A ns_holder=()
keep_proc() {
	local ns
	for ns in "$@"; do
		[ -n "${ns_holder[$ns]:-}" ] && continue
		nsenter --net="/run/netns/$ns" -- sleep 1000000000 &
		ns_holder[$ns]=$!
	done
	# A holder is in its namespace once it runs sleep (nsenter execs it after setns).
	for ns in "$@"; do
		busywait 20000 holder_ready "${ns_holder[$ns]}" || return 1
	done
}

holder_ready() { # PID
	local comm
	read -r comm 2>/dev/null <"/proc/$1/comm" && [ "$comm" = sleep ]
}

stop_holders() {
	[ ${#ns_holder[@]} -eq 0 ] && return 0
	kill "${ns_holder[@]}" 2>/dev/null
	wait "${ns_holder[@]}" 2>/dev/null
	ns_holder=()
}

# proc_value NS LINE NAME: the value after NAME on the line of NS's /proc/net/sitemh whose
# first word is LINE (lines of "name value" pairs after it). Builtins only when NS has a
# holder (keep_proc); otherwise one process.
proc_value() {
	local ns=$1 line=$2 name=$3 i
	local -a w
	local pid=${ns_holder[$ns]:-}
	if [ -n "$pid" ] && [ -r "/proc/$pid/net/sitemh" ]; then
		while read -r -a w; do
			[ "${w[0]:-}" = "$line" ] || continue
			for ((i = 1; i + 1 < ${#w[@]}; i++)); do
				[ "${w[i]}" = "$name" ] && { echo "${w[i + 1]}"; return 0; }
			done
		done <"/proc/$pid/net/sitemh"
		return 0
	fi
	in_ns "$ns" awk -v l="$line" -v f="$name" \
		'$1 == l { for (i = 2; i < NF; i++) if ($i == f) { print $(i + 1); exit } }' /proc/net/sitemh
}

# busywait_eq TIMEOUT_MS VALUE CMD...: retry until CMD prints VALUE. (busywait with
# [ "$(cmd)" = v ] would compare one value, taken once when the arguments were expanded.)
busywait_eq() {
	local timeout_ms=$1
	shift
	busywait "$timeout_ms" prints "$@"
}

# at_least N CMD...: CMD prints a number of at least N (for busywait).
at_least() {
	local n=$1 v
	shift
	v=$("$@")
	[ -n "$v" ] && [ "$v" -ge "$n" ]
}

# joined PID: PID's generic netlink socket (port PID, as the kernel binds a process's
# first one) has joined a multicast group. /proc/PID/net/netlink is of PID's namespace; its
# groups column holds the first 32 groups, where the test VM's few families put theirs.
joined() {
	local sk eth port groups rest
	while read -r sk eth port groups rest; do
		[ "$eth" = 16 ] && [ "$port" = "$1" ] && [ "$groups" != 00000000 ] && return 0
	done < "/proc/$1/net/netlink"
	return 1
}

# prints VALUE CMD...: whether CMD prints VALUE.
prints() {
	local value=$1
	shift
	[ "$("$@")" = "$value" ]
}

# icmp_hex TYPE CODE BODY-HEX: an ICMP message with a valid checksum, in hex (shell
# arithmetic: a Python start costs seconds in the test VM).
icmp_hex() {
	local m i sum=0
	m=$(printf '%02x%02x0000' "$1" "$2")$3
	[ $((${#m} % 4)) -eq 0 ] || m=${m}00
	for ((i = 0; i < ${#m}; i += 4)); do
		sum=$((sum + 16#${m:i:4}))
	done
	sum=$(((sum & 0xffff) + (sum >> 16)))
	sum=$(((sum & 0xffff) + (sum >> 16)))
	printf '%02x%02x%04x%s\n' "$1" "$2" $((~sum & 0xffff)) "$3"
}

# listening NS PORT [tcp|udp]: a socket of NS listens on PORT (is bound to it, for UDP).
# Servers started in the background are waited for with this, not a fixed nap: a Python
# start takes 1-6 s in the test VM.
listening() {
	[ -n "$(in_ns "$1" ss -Hl "--${3:-tcp}" "sport = :$2")" ]
}

# ip_batch NS: the `ip` commands on stdin (one per line, without "ip"; the family follows
# from the addresses) in NS ("" for this namespace), in one process.
ip_batch() {
	ip ${1:+-n "$1"} -batch -
}

# link NS1 DEV1 NS2 DEV2: a veth pair between two namespaces, both ends up.
link() { # NS1 DEV1 NS2 DEV2
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# A process costs a good fraction of a second in the test VM (TCG, debug kernel): the
# clock and short naps below are shell builtins. now_ms sets $now_ms (no subshell).
now_ms() {
	local us=${EPOCHREALTIME/[.,]/}
	now_ms=$((us / 1000))
}

# A pipe nobody ever writes to: `read -t` on it is a sleep without a process.
exec {nap_fd}<> <(:)
nap() { # SECONDS (fractions allowed)
	read -r -t "$1" -u "$nap_fd" _ || true
}

# busywait TIMEOUT_MS CMD...: retry CMD until it succeeds or the time is up.
#
# TIMEOUT_MS is what an idle guest needs; the deadline is SITEMH_WAIT_SCALE (default 4)
# times that. Every wait ends as soon as its condition holds, so a longer deadline costs
# a passing run nothing; but make check runs two TCG guests on two cores beside the host's
# own work, and there a notice that takes 0.3 s when idle once took more than 3 s (a CI run
# failed on it). No deadline here is a timing goal: those are measured by make bench.
#
# A wait that outlasts what an idle guest needs is logged ("# slow wait"): the early warning
# of a deadline that a busier run could miss. So is a wait that runs out ("# wait ran
# out"): unless the case expects it, it spent its whole deadline for nothing.
busywait() {
	local idle_ms=$1 timeout_ms=$(($1 * ${SITEMH_WAIT_SCALE:-4})) start
	shift
	now_ms
	start=$now_ms
	while true; do
		if "$@"; then
			now_ms
			[ $((now_ms - start)) -le "$idle_ms" ] ||
				echo "# slow wait: $((now_ms - start)) ms (idle budget $idle_ms ms): $*" >&2
			return 0
		fi
		now_ms
		if [ $((now_ms - start)) -ge "$timeout_ms" ]; then
			# (Some waits are meant to run out; the others cost their whole deadline.)
			echo "# wait ran out: $((now_ms - start)) ms (deadline $timeout_ms ms): $*" >&2
			return 1
		fi
		nap 0.05
	done
}

# log_test RC NAME: print the TEST line for one case and fold it into the script's result.
# With $SITEMH_CASE_TIMES set (the VM runner sets it), each case's time (ms since the
# previous case ended, or the script started) goes there too.
now_ms
case_started=$now_ms
log_test() {
	local rc=$1 name=$2
	now_ms
	if [ -n "${SITEMH_CASE_TIMES:-}" ]; then
		printf '%s\t%s: %s\n' "$((now_ms - case_started))" "${0##*/}" "$name" >> "$SITEMH_CASE_TIMES"
	fi
	case_started=$now_ms
	tests_logged=$((tests_logged + 1))
	if [ "$rc" -eq 0 ]; then
		printf 'TEST: %-60s [ OK ]\n' "$name"
	elif [ "$rc" -eq $ksft_skip ]; then
		printf 'TEST: %-60s [SKIP]\n' "$name"
		[ $ret -eq $ksft_pass ] && ret=$ksft_skip
	else
		printf 'TEST: %-60s [FAIL]\n' "$name"
		ret=$ksft_fail
	fi
}

# The module's state, as the kernel shows it.
module_loaded() {
	grep -q '^sitemh ' /proc/modules
}

load_module() {
	module_loaded || insmod "$SITEMH_KO"
}

unload_module() {
	! module_loaded || rmmod sitemh
}

# check CMD...: run CMD; on failure say which check failed (the test still decides).
check() {
	"$@" && return 0
	echo "# check failed: $*"
	return 1
}

# check_fails WANT CMD...: CMD must fail, and fail the way WANT says, so that a check
# cannot pass because CMD failed for another reason (a missing file, a typo, a tool that
# is not there):
#   an errno name (EINVAL, EPERM, ...): CMD's output (stdout and stderr) names the errno
#     or carries its text (sysctl, bash and perror print "Invalid argument";
#     sitemh_tool prints "error EINVAL");
#   a number: CMD's exit status (grep -q: 1 is "no line matched", 2 an error; ping: 1
#     is "no reply").
# CMD's output is kept and shown when the check fails.
check_fails() {
	local want=$1 out status text
	shift
	out=$("$@" 2>&1)
	status=$?
	if [ "$status" -eq 0 ]; then
		echo "# check should have failed ($want): $*"
		return 1
	fi
	case $want in
	[0-9]*)
		[ "$status" -eq "$want" ] && return 0
		;;
	E[A-Z0-9]*)
		# The C library's text for the errno (what perror, bash and the tools print).
		case $want in
		EPERM) text="Operation not permitted" ;;
		ENOENT) text="No such file or directory" ;;
		E2BIG) text="Argument list too long" ;;
		EACCES) text="Permission denied" ;;
		EFAULT) text="Bad address" ;;
		EBUSY) text="Device or resource busy" ;;
		EEXIST) text="File exists" ;;
		ENODEV) text="No such device" ;;
		EINVAL) text="Invalid argument" ;;
		ERANGE) text="Numerical result out of range" ;;
		ENOPROTOOPT) text="Protocol not available" ;;
		EOPNOTSUPP) text="Operation not supported" ;;
		EAFNOSUPPORT) text="Address family not supported by protocol" ;;
		EADDRINUSE) text="Address already in use" ;;
		EADDRNOTAVAIL) text="Cannot assign requested address" ;;
		ENETUNREACH) text="Network is unreachable" ;;
		EHOSTUNREACH) text="No route to host" ;;
		ENOBUFS) text="No buffer space available" ;;
		EOVERFLOW) text="Value too large for defined data type" ;;
		*)
			echo "# check_fails: no text known for $want: $*"
			return 1
			;;
		esac
		[[ $out == *"$text"* || $out =~ (^|[^A-Z0-9])$want([^A-Z0-9]|$) ]] && return 0
		# kmod's insmod words EINVAL its own way.
		[[ $want == EINVAL && $out == *"could not insert module"*": Invalid parameters"* ]] && return 0
		;;
	*)
		echo "# check_fails: expected an errno name or an exit status, got '$want': $*"
		return 1
		;;
	esac
	echo "# check failed with status $status, not $want: $*"
	[ -z "$out" ] || printf '#   %s\n' "${out//$'\n'/$'\n'#   }"
	return 1
}
