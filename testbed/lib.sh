# shellcheck shell=bash
# lib.sh: shared code of the runbook testbed scripts (up, reset, down, status).
# shellcheck disable=SC2034 # the constants below are used by the scripts that source this file
# Sourced, never executed. The scripts set -euo pipefail themselves.

TESTBED_DIR="${TESTBED_DIR:-/tmp/runbook-testbed}"
# Absolute, without a trailing slash (it ends up in slurm.conf and the inventory).
case "$TESTBED_DIR" in
/*) ;;
*) TESTBED_DIR="$(pwd)/$TESTBED_DIR" ;;
esac
TESTBED_DIR="${TESTBED_DIR%/}"
export TESTBED_DIR

TB_RUN="$TESTBED_DIR/run"        # pid files (one folder per daemon user)
TB_LOGS="$TESTBED_DIR/logs"      # daemon logs
TB_SSHD="$TESTBED_DIR/sshd"      # sshd config, host key, pid, log
TB_SSH="$TESTBED_DIR/ssh"        # client key + known_hosts
TB_SECRETS="$TESTBED_DIR/secrets"
TB_GPU="$TESTBED_DIR/fakegpu"
TB_JOBS="$TESTBED_DIR/jobs"      # free for tests (1777); emptied by reset
TB_INVENTORY="$TESTBED_DIR/inventory.hcl"
TB_ENVFILE="$TESTBED_DIR/env"

SLURM_ETC=/etc/slurm
SLURM_CONF="$SLURM_ETC/slurm.conf"
SLURM_STATE=/var/lib/slurm/slurmctld
SLURMD_SPOOL=/var/lib/slurm/slurmd
SUDOERS_FILE=/etc/sudoers.d/runbook-testbed

SSH_PORT=2222
CLUSTER=testcluster
ACCOUNT=hpc-users
JOB_USER=koopark
ADMIN_USER=rbadmin
NOSUDO_USER=rbnosudo
ALL_USERS="$JOB_USER $ADMIN_USER $NOSUDO_USER"
ACCOUNT_USERS="$JOB_USER $ADMIN_USER" # Slurm associations in $ACCOUNT

ENFORCE_FULL="associations,limits,qos"
ENFORCE_LOOSE="associations"

DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=slurmdbpass

# Daemons in start order; `down` walks the list backwards.
DAEMONS="munged mariadbd slurmdbd slurmctld slurmd sshd"

NODE="$(hostname -s)"

# ---------------------------------------------------------------- messages

tb_prog="$(basename "$0")"
_tb_t0="${EPOCHREALTIME/./}"

now_ms() { local t="${EPOCHREALTIME/./}"; echo $((t / 1000)); }

# elapsed: seconds since the script started, e.g. 1.234
elapsed() {
	local t="${EPOCHREALTIME/./}" d
	d=$(((t - _tb_t0) / 1000))
	printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

log() { printf 'testbed/%s [%6ss] %s\n' "$tb_prog" "$(elapsed)" "$*" >&2; }
warn() { printf 'testbed/%s: warning: %s\n' "$tb_prog" "$*" >&2; }
die() {
	printf 'testbed/%s: error: %s\n' "$tb_prog" "$*" >&2
	exit 1
}

# show_log FILE [N]: the last N lines of a log, indented, on stderr.
show_log() {
	local f="$1" n="${2:-40}"
	if [[ -s "$f" ]]; then
		printf '  --- last %d lines of %s:\n' "$n" "$f" >&2
		tail -n "$n" "$f" | sed 's/^/  | /' >&2
	else
		printf '  --- (log %s is empty or missing)\n' "$f" >&2
	fi
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts system daemons)"; }

# lock: serialise up/reset/down (tests may call them concurrently).
tb_lock() {
	mkdir -p "$TESTBED_DIR"
	chmod 0755 "$TESTBED_DIR"
	exec 9>"$TESTBED_DIR/.testbed-scripts.lock"
	if ! flock -w 600 9; then
		lock_holders "$TESTBED_DIR/.testbed-scripts.lock"
		die "another process holds $TESTBED_DIR/.testbed-scripts.lock:$LOCK_HOLDERS"
	fi
}

# lock_holders FILE sets LOCK_HOLDERS to the processes other than this shell
# that have FILE open, one "pid: command line" per line: a daemon that
# inherited a lock shows up here. (No pipeline or $(…) around the scan: their
# subshells would hold the same file and list themselves.)
lock_holders() {
	local file fd pid link cmd
	file=$(readlink -f "$1")
	LOCK_HOLDERS=""
	for fd in /proc/[0-9]*/fd/*; do
		link=$(readlink "$fd" 2>/dev/null) || continue
		[[ "$link" == "$file" ]] || continue
		pid=${fd#/proc/}
		pid=${pid%%/*}
		[[ $pid == "$$" ]] && continue
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
		LOCK_HOLDERS+=$'\n'"  $pid: $cmd"
	done
}

# ---------------------------------------------------------------- daemons

pidfile_of() {
	case "$1" in
	munged) echo "$TB_RUN/munge/munged.pid" ;;
	mariadbd) echo "$TB_RUN/mysqld/mariadbd.pid" ;;
	slurmdbd) echo "$TB_RUN/slurm/slurmdbd.pid" ;;
	slurmctld) echo "$TB_RUN/slurm/slurmctld.pid" ;;
	slurmd) echo "$TB_RUN/slurmd.pid" ;;
	sshd) echo "$TB_SSHD/sshd.pid" ;;
	*) die "unknown daemon $1" ;;
	esac
}

logfile_of() {
	case "$1" in
	sshd) echo "$TB_SSHD/sshd.log" ;;
	# slurmctld/slurmdbd chdir to their log folder as user slurm and want to write
	# there; munged refuses a log folder not owned by root/munge: separate folders.
	slurmctld | slurmdbd) echo "$TB_LOGS/slurm/$1.log" ;;
	*) echo "$TB_LOGS/$1.log" ;;
	esac
}

# daemon_pid NAME: prints the pid and succeeds when NAME runs (pid file + kill -0 +
# the process really is NAME, so a recycled pid does not count).
daemon_pid() {
	local name="$1" pf pid comm
	pf="$(pidfile_of "$name")"
	[[ -r "$pf" ]] || return 1
	read -r pid <"$pf" 2>/dev/null || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	pid_alive "$pid" || return 1
	comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
	[[ "$comm" == "$name" ]] || return 1
	echo "$pid"
}

is_running() { daemon_pid "$1" >/dev/null; }

# pid_alive PID: exists and is not a zombie (our daemons are reparented to pid 1,
# which may reap them late; a zombie counts as exited).
pid_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null || echo Z)"
	[[ "$st" != Z && "$st" != X ]]
}

# wait_until DESC TIMEOUT_S DAEMON CMD...: poll CMD every 0.1 s until it succeeds.
# Fails (with the daemon's log tail) on timeout, or as soon as the daemon's pid file
# names a dead process.
wait_until() {
	local desc="$1" timeout="$2" daemon="$3"
	shift 3
	local deadline=$(($(now_ms) + timeout * 1000)) pf pid
	pf="$(pidfile_of "$daemon")"
	while true; do
		if "$@" >/dev/null 2>&1 </dev/null; then
			return 0
		fi
		if [[ -r "$pf" ]] && read -r pid <"$pf" 2>/dev/null && [[ "$pid" =~ ^[0-9]+$ ]] && ! pid_alive "$pid"; then
			printf 'testbed/%s: error: %s died while waiting for: %s\n' "$tb_prog" "$daemon" "$desc" >&2
			show_log "$(logfile_of "$daemon")"
			return 1
		fi
		if (($(now_ms) > deadline)); then
			printf 'testbed/%s: error: timeout (%ss) waiting for: %s\n' "$tb_prog" "$timeout" "$desc" >&2
			show_log "$(logfile_of "$daemon")"
			return 1
		fi
		sleep 0.1
	done
}

# stop_daemon NAME [TIMEOUT_S]: SIGTERM by pid, wait for exit, SIGKILL as a last resort.
stop_daemon() {
	local name="$1" timeout="${2:-30}" pid deadline
	if ! pid="$(daemon_pid "$name")"; then
		rm -f "$(pidfile_of "$name")"
		return 0
	fi
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(now_ms) + timeout * 1000))
	while pid_alive "$pid"; do
		if (($(now_ms) > deadline)); then
			warn "$name (pid $pid) did not exit within ${timeout}s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.05
	done
	rm -f "$(pidfile_of "$name")"
}

# ---------------------------------------------------------------- slurm probes

probe_mariadb() { timeout 5 mariadb-admin --connect-timeout=2 ping; }
probe_slurmdbd() { timeout 10 sacctmgr -n list cluster; }
probe_slurmctld() { timeout 10 scontrol ping 2>/dev/null | grep -q "is UP"; }

node_state() { timeout 10 sinfo -h -n "$NODE" -o %t 2>/dev/null | head -n 1; }

# The node is usable: idle, or busy with jobs (mix/alloc), and responding (no `*`).
probe_node_usable() {
	case "$(node_state)" in
	idle | mix | alloc) return 0 ;;
	*) return 1 ;;
	esac
}
probe_node_idle() { [[ "$(node_state)" == idle ]]; }

# resume_node_if_needed: drained/down/invalid node back to service.
resume_node_if_needed() {
	local st
	st="$(node_state)"
	case "$st" in
	drain* | drng | down* | inval* | fail* | maint* | *drain* | unk*)
		log "node $NODE is '$st'; resuming it"
		scontrol update nodename="$NODE" state=resume </dev/null >&2 || scontrol update nodename="$NODE" state=idle </dev/null >&2 || true
		;;
	esac
}

current_enforce() {
	sed -n 's/^AccountingStorageEnforce=//p' "$SLURM_CONF" 2>/dev/null | head -n 1
}

# ---------------------------------------------------------------- slurmctld/slurmd (re)start

# Which configuration does a running daemon use? Each start records the fingerprint
# of slurm.conf+gres.conf; a daemon whose record differs from the files is restarted.
# (`scontrol reconfigure` is NOT enough: it shows the new AccountingStorageEnforce in
# `scontrol show config` but keeps enforcing the old one; measured.)
slurm_fingerprint() { cat "$SLURM_CONF" "$SLURM_ETC/gres.conf" 2>/dev/null | sha256sum | cut -d' ' -f1; }
started_fingerprint() { cat "$TB_RUN/$1.conf.sha" 2>/dev/null || true; }
slurm_stale() { [[ "$(started_fingerprint "$1")" != "$(slurm_fingerprint)" ]]; }

# without_inherited_fds runs a command (a daemon's start) with only stdin,
# stdout and stderr open. A daemon keeps what it inherits for its whole
# life: the scripts' own flock (fd 9), or the lock of a caller such as
# `flock /tmp/testbed-e2e.flock go test …` (how e2e runs serialise), would
# stay held until the daemon stops, and every later run would wait forever.
without_inherited_fds() {
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			if [[ $fd -gt 2 ]]; then eval "exec $fd>&-"; fi 2>/dev/null
		done
		exec "$@"
	)
}

start_slurmctld_daemon() {
	log "starting slurmctld"
	rm -f "$(pidfile_of slurmctld)"
	without_inherited_fds /usr/sbin/slurmctld </dev/null >>"$(logfile_of slurmctld)" 2>&1 ||
		{
			show_log "$(logfile_of slurmctld)"
			die "slurmctld failed to start"
		}
	slurm_fingerprint >"$TB_RUN/slurmctld.conf.sha"
	wait_until "scontrol ping says UP" 60 slurmctld probe_slurmctld || die "slurmctld is not ready"
}

start_slurmd_daemon() {
	log "starting slurmd"
	rm -f "$(pidfile_of slurmd)"
	without_inherited_fds /usr/sbin/slurmd </dev/null >>"$(logfile_of slurmd)" 2>&1 ||
		{
			show_log "$(logfile_of slurmd)"
			die "slurmd failed to start"
		}
	slurm_fingerprint >"$TB_RUN/slurmd.conf.sha"
}

# wait_node_usable: the node is idle (or busy with jobs) and responding; a drained/down
# node (stale state, earlier gres error) is resumed once.
wait_node_usable() {
	local deadline=$(($(now_ms) + 60000)) resumed="" st
	while true; do
		st="$(node_state || true)"
		case "$st" in
		idle | mix | alloc) return 0 ;;
		drain* | drng | down | inval* | fail* | *drain*)
			if [[ -z "$resumed" ]]; then
				resume_node_if_needed
				resumed=1
			fi
			;;
		esac
		if ! is_running slurmd; then
			show_log "$(logfile_of slurmd)"
			die "slurmd died"
		fi
		if (($(now_ms) > deadline)); then
			printf 'testbed/%s: error: timeout (60s) waiting for node %s to be idle; state: %s\n' "$tb_prog" "$NODE" "$st" >&2
			show_log "$(logfile_of slurmd)" 20
			show_log "$(logfile_of slurmctld)" 20
			die "node $NODE is not usable"
		fi
		sleep 0.1
	done
}

# restart_slurm: slurmctld and slurmd with the current files. slurmd is restarted too:
# it then registers at once (a restarted slurmctld alone shows the node `unk` for
# ~4 s until it pings slurmd) and the two agree on the slurm.conf hash. Jobs and node
# state survive (StateSaveLocation; slurmstepd keeps running jobs alive).
restart_slurm() {
	stop_daemon slurmd
	stop_daemon slurmctld
	start_slurmctld_daemon
	start_slurmd_daemon
	wait_node_usable
}

# running_enforce: AccountingStorageEnforce of the running slurmctld ("" if unknown).
running_enforce() {
	is_running slurmctld || return 0
	slurm_stale slurmctld && return 0
	current_enforce
}

# set_enforce VALUE: rewrite AccountingStorageEnforce in slurm.conf; restart the Slurm
# daemons when the running slurmctld does not use the file as it is now.
set_enforce() {
	local want="$1" tmp
	if [[ "$(current_enforce)" != "$want" ]]; then
		log "AccountingStorageEnforce: $(current_enforce) -> $want"
		tmp="$(mktemp "$SLURM_ETC/.slurm.conf.XXXXXX")"
		sed "s/^AccountingStorageEnforce=.*/AccountingStorageEnforce=$want/" "$SLURM_CONF" >"$tmp"
		chmod 0644 "$tmp"
		mv -f "$tmp" "$SLURM_CONF"
	fi
	if is_running slurmctld && slurm_stale slurmctld; then
		log "slurmctld runs with another slurm.conf: restarting slurmctld + slurmd"
		restart_slurm
	fi
}
