#!/bin/bash
# Phase 2 (runbooks/phase2.hcl with --var account=hpc-users) written by hand:
# the same Slurm commands, in the same order, with the same checks, over ONE
# multiplexed ssh connection (ControlMaster). It is the benchmark's "what an
# admin would script" baseline for runbook's Phase 2.
#
#   bench/phase2/phase2.sh            # against the testbed (source its env first)
#   LEAN=1 bench/phase2/phase2.sh     # skip the read-backs a quick script would skip
#
# Environment: SSH_HOST SSH_PORT SSH_USER SSH_KEY SSH_KNOWN_HOSTS (testbed
# defaults), POLL (seconds between polls, default 0.25: the 250 ms reaction
# target; a typical hand-written `sleep 1` loop is slower).
set -euo pipefail

TESTBED_DIR=${TESTBED_DIR:-/tmp/runbook-testbed}
SSH_HOST=${SSH_HOST:-127.0.0.1}
SSH_PORT=${SSH_PORT:-2222}
SSH_USER=${SSH_USER:-koopark}
SSH_KEY=${SSH_KEY:-$TESTBED_DIR/ssh/id_ed25519}
SSH_KNOWN_HOSTS=${SSH_KNOWN_HOSTS:-$TESTBED_DIR/ssh/known_hosts}
POLL=${POLL:-0.25}
LEAN=${LEAN:-}
QOS=moonlight PART=viz ACCOUNT=hpc-users JOBUSER=koopark
SCRIPT=/tmp/test_moonlight_qos.sh
here=$(cd "$(dirname "$0")" && pwd)

sock=$(mktemp -u /tmp/rbbench-mux.XXXXXXXX)
opts=(-p "$SSH_PORT" -i "$SSH_KEY" -o IdentitiesOnly=yes -o UserKnownHostsFile="$SSH_KNOWN_HOSTS"
	-o StrictHostKeyChecking=yes -o BatchMode=yes -o ControlPath="$sock")
dest="$SSH_USER@$SSH_HOST"

# The master is a child of this script (not -f), so its CPU is counted with ours.
ssh "${opts[@]}" -M -N "$dest" </dev/null &
master=$!
cleanup() { ssh "${opts[@]}" -O exit "$dest" 2>/dev/null || true; wait "$master" 2>/dev/null || true; }
trap cleanup EXIT
until ssh "${opts[@]}" -O check "$dest" 2>/dev/null; do
	kill -0 "$master" 2>/dev/null || { echo "phase2.sh: ssh master died" >&2; exit 1; }
	sleep 0.01
done

r() { ssh "${opts[@]}" "$dest" "$@" </dev/null; }
die() { echo "phase2.sh: $*" >&2; exit 1; }

# --- preflight (step "cluster")
conf=$(r scontrol show config)
grep -Eq '^AccountingStorageEnforce *= *.*qos' <<<"$conf" || die "AccountingStorageEnforce lacks qos"
grep -Eq '^AccountingStorageTRES *= *.*gres/gpu' <<<"$conf" || die "AccountingStorageTRES lacks gres/gpu"
r scontrol show partition "$PART" >/dev/null

# --- step 1: list the QoS
r sacctmgr -P show qos format=Name,Priority,MaxWall,MaxTRESPerUser >/dev/null

# --- step 2: create the QoS (idempotent, read back)
if [ -z "$(r sacctmgr -n -P show qos "$QOS" format=Name)" ]; then
	out=$(r sudo -n sacctmgr -i add qos "$QOS")
	grep -q 'Adding QOS' <<<"$out" || die "add qos: $out"
	[ -n "$LEAN" ] || [ "$(r sacctmgr -n -P show qos "$QOS" format=Name)" = "$QOS" ] || die "qos $QOS missing after add"
fi

# --- step 3: set the limits (read, change, read back)
want_lim="$QOS|00:01:00|gres/gpu=2|08:00:00|100"
[ -n "$LEAN" ] || r sacctmgr -n -P show qos "$QOS" format=Name,GraceTime,MaxTRESPerUser,MaxWall,Priority >/dev/null
out=$(r sudo -n sacctmgr -i modify qos "$QOS" set Priority=100 GraceTime=60 MaxWall=08:00:00 MaxTRESPerUser=gres/gpu=2)
grep -q 'Modified qos' <<<"$out" || die "modify qos: $out"
if [ -z "$LEAN" ]; then
	got=$(r sacctmgr -n -P show qos "$QOS" format=Name,GraceTime,MaxTRESPerUser,MaxWall,Priority)
	[ "$got" = "$want_lim" ] || die "limits: got $got, want $want_lim"
fi

# --- step 4: verify the settings
got=$(r sacctmgr -n -P show qos "$QOS" format=Name,Priority,MaxWall,MaxTRESPerUser,GraceTime)
[ "$got" = "$QOS|100|08:00:00|gres/gpu=2|00:01:00" ] || die "verify: got $got"

# --- step 5: grant to the account's users (read, change, read back), then check
assoc() { r sacctmgr -n -P show assoc where account="$ACCOUNT" format=Cluster,Account,User,Partition,QOS,DefaultQOS; }
[ -n "$LEAN" ] || assoc >/dev/null
out=$(r sudo -n sacctmgr -i modify user where account="$ACCOUNT" set qos+="$QOS")
grep -q 'Modified user associations' <<<"$out" || die "grant: $out"
[ -n "$LEAN" ] || assoc >/dev/null
while IFS='|' read -r _ _ user _ qos _; do
	[ -z "$user" ] && continue
	[[ ",$qos," == *",$QOS,"* ]] || die "user $user lacks $QOS ($qos)"
done < <(assoc)

# --- test job: upload, submit, poll scontrol, read the output
login=$(r id -un)
[ "$login" = "$JOBUSER" ] || die "logged in as $login, want $JOBUSER"
ssh "${opts[@]}" "$dest" "cat > $SCRIPT && chmod 0755 $SCRIPT" <"$here/test_moonlight_qos.sh"
job=$(r sbatch --parsable "$SCRIPT")
job=${job%%;*}
while :; do
	show=$(r scontrol show job "$job")
	state=$(grep -o 'JobState=[A-Z_]*' <<<"$show" | cut -d= -f2)
	case $state in
	PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | REQUEUED) sleep "$POLL" ;;
	*) break ;;
	esac
done
[ "$state" = COMPLETED ] || die "job $job ended $state"
grep -Eq "(^| )QOS=$QOS( |$)" <<<"$show" || die "job $job QOS is not $QOS"
grep -Eq "(^| )Partition=$PART( |$)" <<<"$show" || die "job $job partition is not $PART"
grep -Eq '(^| )ExitCode=0:0( |$)' <<<"$show" || die "job $job exit code is not 0:0"
outfile=$(grep -o 'StdOut=[^ ]*' <<<"$show" | cut -d= -f2)
log=$(r cat "$outfile")
grep -q "QoS: $QOS" <<<"$log" || die "job log lacks QoS: $QOS"
grep -q "Test completed successfully!" <<<"$log" || die "job log lacks the success line"

# --- accounting: poll sacct until the record is complete, then by QoS
fmt=--format=JobID,User,QOS,Partition,AllocTRES,State,Elapsed,ExitCode
complete() { awk -F'|' -v j="$job" -v q="$QOS" -v p="$PART" '$1==j && $3==q && $4==p && $6=="COMPLETED" && $5 ~ /gres\/gpu=1/ {ok=1} END {exit !ok}'; }
deadline=$((SECONDS + 60))
until r sacct -X -P -n --jobs="$job" --user="$JOBUSER" "$fmt" | complete; do
	((SECONDS < deadline)) || die "no complete accounting record of job $job"
	sleep "$POLL"
done
until r sacct -X -P -n --qos="$QOS" --user="$JOBUSER" --starttime=now-1days "$fmt" | complete; do
	((SECONDS < deadline)) || die "job $job not in sacct --qos=$QOS"
	sleep "$POLL"
done
echo "phase2.sh: success (job $job)"
