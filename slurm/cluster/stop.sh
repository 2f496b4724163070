#!/bin/bash
# Stop the test cluster started by slurm/cluster/start.sh (daemons only; state stays in
# $SLURM_TEST_DIR, remove the folder for a clean slate). Safe to run when nothing runs.
BASE=${SLURM_TEST_DIR:-/tmp/automl-bench-slurm}
for pidfile in slurmd.pid slurmctld.pid slurmdbd.pid mysql/mysql.pid munge/munged.pid; do
  f=$BASE/$pidfile
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    echo "stopped ${pidfile%.pid} ($pid)"
  fi
  rm -f "$f"
done
exit 0
