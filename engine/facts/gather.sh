# runbook facts (engine/facts): everything Parse needs, in one round trip.
# POSIX sh only (dash, busybox ash, bash as sh). Output, on stdout only:
#   ==runbook-facts:NAME==   starts section NAME
#   |TEXT                    one line of the section's content
#   !WORD ...                what happened (none: not there; exit N: the tool's status)
# Every content line is prefixed, so nothing a file holds can look like a
# marker. File contents are read here, on the host; none is ever on a
# command line. The processes started are uname, nproc (or getconf),
# hostname -f (under timeout), and nvidia-smi only where it is installed.
PATH="$PATH:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
LC_ALL=C
export PATH LC_ALL
rbf_sec() { printf '==runbook-facts:%s==\n' "$1"; }
rbf_lines() { while IFS= read -r rbf_l || [ -n "$rbf_l" ]; do printf '|%s\n' "$rbf_l"; done; }
rbf_sec format; printf '|1\n'
rbf_sec os-release
if [ -r /etc/os-release ]; then rbf_lines </etc/os-release
elif [ -r /usr/lib/os-release ]; then rbf_lines </usr/lib/os-release
else echo '!none'; fi
rbf_sec uname
if rbf_v=$(uname -n -r -m 2>/dev/null); then printf '|%s\n' "$rbf_v"; else echo '!none'; fi
rbf_sec fqdn
if command -v hostname >/dev/null 2>&1; then
  # hostname -f asks the resolver, which can hang on a host with broken DNS.
  if command -v timeout >/dev/null 2>&1; then rbf_v=$(timeout 3 hostname -f 2>/dev/null); else rbf_v=$(hostname -f 2>/dev/null); fi
  rbf_rc=$?
  [ -n "$rbf_v" ] && printf '|%s\n' "$rbf_v"
  echo "!exit $rbf_rc"
else echo '!none'; fi
rbf_sec cpus
# nproc obeys OMP_NUM_THREADS and OMP_THREAD_LIMIT; empty values are ignored.
if rbf_v=$(OMP_NUM_THREADS= OMP_THREAD_LIMIT= nproc 2>/dev/null); then printf '|%s\n' "$rbf_v"
elif rbf_v=$(getconf _NPROCESSORS_ONLN 2>/dev/null); then printf '|%s\n' "$rbf_v"
else echo '!none'; fi
rbf_sec meminfo
if [ -r /proc/meminfo ]; then
  while read -r rbf_k rbf_v rbf_u; do
    case $rbf_k in MemTotal:) printf '|%s %s %s\n' "$rbf_k" "$rbf_v" "$rbf_u"; break ;; esac
  done </proc/meminfo
else echo '!none'; fi
rbf_sec init
[ -d /run/systemd/system ] && echo '|run-systemd-system'
[ -d /run/openrc ] && echo '|run-openrc'
if [ -r /proc/1/comm ] && read -r rbf_v </proc/1/comm; then printf '|pid1=%s\n' "$rbf_v"; fi
rbf_sec package-managers
for rbf_c in apt-get dnf5 dnf yum zypper apk pacman emerge; do
  command -v "$rbf_c" >/dev/null 2>&1 && printf '|%s\n' "$rbf_c"
done
rbf_sec nvidia-smi
if command -v nvidia-smi >/dev/null 2>&1; then
  # A wedged driver can make nvidia-smi hang for a long time.
  if command -v timeout >/dev/null 2>&1; then rbf_v=$(timeout 20 nvidia-smi -L 2>&1); else rbf_v=$(nvidia-smi -L 2>&1); fi
  rbf_rc=$?
  [ -n "$rbf_v" ] && printf '%s\n' "$rbf_v" | rbf_lines
  echo "!exit $rbf_rc"
else echo '!none'; fi
rbf_sec dev-nvidia
for rbf_d in /dev/nvidia[0-9]*; do [ -e "$rbf_d" ] && printf '|%s\n' "$rbf_d"; done
rbf_sec end
