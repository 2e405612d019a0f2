#!/usr/bin/env bash
# Starts a one-node SLURM cluster on localhost for the tests, installing Debian's slurm-wlm and munge first if
# they are missing. Everything lives under DIR (created): its slurm.conf, its own munge key and socket, free
# ports, state, spool, logs and pid files, so it touches no system-wide SLURM or munge and two can run at once.
#
#   tests/slurm/start-cluster.sh DIR      # then: export SLURM_CONF=DIR/slurm.conf; sbatch …
#   tests/slurm/stop-cluster.sh DIR
#
# Exit code 0 once the node is idle; otherwise 1, with the reason as the last line on stderr.
set -euo pipefail

dir="${1:?usage: start-cluster.sh DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# On failure, whatever was started is stopped again.
fail() { echo "$*" >&2; [ -d "$dir" ] && bash "$here/stop-cluster.sh" "$dir" >/dev/null 2>&1; exit 1; }

[ "$(id -u)" = 0 ] || fail "not root: SLURM's daemons cannot be started here"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || fail "SLURM is not installed and there is no apt-get to install it"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' own scripts from starting system-wide daemons; ours run from DIR.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  log="$(mktemp)"
  timeout 60 apt-get update -qq >"$log" 2>&1 || fail "apt-get update failed or timed out: $(tail -n 1 "$log")"
  timeout 120 apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=30 slurm-wlm munge >"$log" 2>&1 \
    || fail "apt-get install slurm-wlm munge failed or timed out: $(tail -n 1 "$log")"
fi

mkdir -p "$dir"/{state,spool,munge}
dir="$(cd "$dir" && pwd)"
chmod 700 "$dir/munge"

# A free port: nothing answers on it now.
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  fail "no free port found"
}
ctld_port="$(free_port)"
slurmd_port="$(free_port)"
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))

dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
munged --force --socket="$socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munge/munge.seed" 2>"$dir/munged.err" \
  || fail "munged would not start: $(tail -n 1 "$dir/munged.err")"

cpus="$(nproc)"
cat >"$dir/slurm.conf" <<CONF
ClusterName=skiprnn-test
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

slurmctld -c -f "$SLURM_CONF" 2>"$dir/slurmctld.err" || fail "slurmctld would not start: $(tail -n 1 "$dir/slurmctld.err")"
slurmd -f "$SLURM_CONF" -N localhost 2>"$dir/slurmd.err" || fail "slurmd would not start: $(tail -n 1 "$dir/slurmd.err")"

for _ in $(seq 60); do
  state="$(sinfo -h -n localhost -o %t 2>/dev/null || true)"
  if [ "$state" = "idle" ]; then
    echo "SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 1
done
fail "the node did not become idle within 60 s (state '${state:-none}'; see $dir/slurmd.log and $dir/slurmctld.log: $(tail -n 1 "$dir/slurmd.log" 2>/dev/null))"
