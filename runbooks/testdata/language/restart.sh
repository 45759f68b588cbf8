#!/bin/sh
# restart.sh DIR: the e2e test's tiny daemon (issue 17, handler.hcl).
# Stops the daemon whose PID is in DIR/daemon.pid, if it runs, and starts a
# new one. The daemon itself appends "PID generation=N" to DIR/starts.log
# when it starts (N read from DIR/extra.conf, its config), then sleeps: the
# test counts restarts from that log and checks the PIDs in /proc.
set -u
d=$1

# Alive and not a zombie: orphans here may be reparented to a PID 1 that
# never reaps them.
alive() {
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

old=$(cat "$d/daemon.pid" 2>/dev/null || true)
if [ -n "$old" ] && alive "$old"; then
	kill "$old"
	i=0
	while alive "$old"; do
		i=$((i + 1))
		[ "$i" -gt 200 ] && { echo "daemon $old did not stop" >&2; exit 1; }
		sleep 0.05
	done
fi

setsid sh -c '
	gen=$(sed -n "s/^generation=//p" "$1/extra.conf" 2>/dev/null)
	echo "$$ generation=${gen:-none}" >>"$1/starts.log"
	echo $$ >"$1/daemon.pid.new" && mv "$1/daemon.pid.new" "$1/daemon.pid"
	exec sleep 86400
' sh "$d" </dev/null >/dev/null 2>&1 &

# Return once the new daemon has recorded itself.
i=0
while new=$(cat "$d/daemon.pid" 2>/dev/null || true); [ -z "$new" ] || [ "$new" = "$old" ]; do
	i=$((i + 1))
	[ "$i" -gt 200 ] && { echo "the new daemon did not start" >&2; exit 1; }
	sleep 0.05
done
echo "restarted: $old -> $new"
