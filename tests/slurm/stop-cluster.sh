#!/usr/bin/env bash
# Stops the cluster that start-cluster.sh DIR started: cancels its jobs, then ends its three daemons by the
# process ids in their pid files (nothing else is touched).
set -uo pipefail
dir="${1:?usage: stop-cluster.sh DIR}"
if [ -f "$dir/slurm.conf" ]; then
  SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --user=root >/dev/null 2>&1 || true
fi
for daemon in slurmd slurmctld munged; do
  pidfile="$dir/$daemon.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] || continue
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
done
exit 0
