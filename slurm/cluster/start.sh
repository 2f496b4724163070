#!/bin/bash
# Start (installing it first if needed) a single-node SLURM 22.05 test cluster on loopback:
# munge, MariaDB + slurmdbd (accounting: without it sacct fails and submitit's job.result()
# blocks forever on a timed-out job), slurmctld and slurmd. Everything lives under one
# folder, $SLURM_TEST_DIR (default /tmp/automl-bench-slurm). Idempotent: daemons already
# running are reused. Needs root (Debian/Ubuntu). Afterwards:
#     export SLURM_CONF=$SLURM_TEST_DIR/slurm.conf
# Stop it with slurm/cluster/stop.sh.
set -euo pipefail
BASE=${SLURM_TEST_DIR:-/tmp/automl-bench-slurm}
CLUSTER=${SLURM_TEST_CLUSTER:-benchci}
SOCK=$BASE/munge/munge.socket.2
export SLURM_CONF=$BASE/slurm.conf
T0=$SECONDS
log() { echo "[slurm-test +$((SECONDS - T0))s] $*"; }
# alive PIDFILE NAME: the pid in the file runs NAME (a stale file's pid may belong to another process by now)
alive() { [ -f "$1" ] && [ "$(ps -o comm= -p "$(cat "$1")" 2>/dev/null)" = "$2" ]; }
wait_for() { # wait_for SECONDS CMD...: poll until CMD succeeds
  local n=$(( $1 * 4 )); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "timed out waiting for: $*" >&2; return 1
}

if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
  log "installing munge, SLURM and MariaDB (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    munge slurmctld slurmd slurm-client slurmdbd mariadb-server >/dev/null
fi
mkdir -p "$BASE"/{state,spool,log,munge,mysql}

# munge: socket dir 0711, key 0400, both owned by munge
[ -f "$BASE/munge/munge.key" ] || dd if=/dev/urandom of="$BASE/munge/munge.key" bs=1 count=1024 status=none
chown -R munge:munge "$BASE/munge"; chmod 711 "$BASE/munge"; chmod 400 "$BASE/munge/munge.key"
if ! alive "$BASE/munge/munged.pid" munged; then
  runuser -u munge -- munged --socket="$SOCK" --key-file="$BASE/munge/munge.key" --log-file="$BASE/munge/munged.log" \
    --pid-file="$BASE/munge/munged.pid" --seed-file="$BASE/munge/munged.seed"
  log "munged started"
fi

cat > "$BASE/slurm.conf.new" <<CONF
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/slurmctld.pid
SlurmdPidFile=$BASE/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# cgroups are not enforced in containers: track processes by parentage
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStoragePass=$SOCK
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=300
KillWait=5
OverTimeLimit=0
MaxArraySize=1001
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$(( $(free -m | awk '/Mem:/{print $2}') - 2048 )) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
mv "$BASE/slurm.conf.new" "$BASE/slurm.conf"

chown mysql:mysql "$BASE/mysql"
if [ ! -d "$BASE/mysql/mysql" ]; then
  mariadb-install-db --no-defaults --user=mysql --datadir="$BASE/mysql" --auth-root-authentication-method=normal \
    >"$BASE/log/mariadb-install.log" 2>&1
  log "MariaDB data folder initialised"
fi
if ! alive "$BASE/mysql/mysql.pid" mariadbd; then
  # setsid: mariadbd does not daemonize itself; in the caller's process group it would die with the caller's
  # job (a killed shell or CI step). Its error log goes into its own (mysql-owned) folder.
  setsid runuser -u mysql -- /usr/sbin/mariadbd --no-defaults --datadir="$BASE/mysql" --socket="$BASE/mysql/mysql.sock" \
    --pid-file="$BASE/mysql/mysql.pid" --bind-address=127.0.0.1 --port=3306 --log-error="$BASE/mysql/mariadb.err" \
    --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1 &
  wait_for 30 mariadb --no-defaults -S "$BASE/mysql/mysql.sock" -uroot -e "select 1"
  log "MariaDB started"
fi
mariadb --no-defaults -S "$BASE/mysql/mysql.sock" -uroot -e \
  "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"

cat > "$BASE/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$SOCK
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
LogFile=$BASE/log/slurmdbd.log
PidFile=$BASE/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
CONF
chmod 600 "$BASE/slurmdbd.conf"
if ! alive "$BASE/slurmdbd.pid" slurmdbd; then
  slurmdbd          # reads slurmdbd.conf next to $SLURM_CONF
  wait_for 30 sacctmgr -n list cluster
  log "slurmdbd started"
fi
sacctmgr -n list cluster format=cluster | grep -qw "$CLUSTER" || sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null

if ! alive "$BASE/slurmctld.pid" slurmctld; then slurmctld; log "slurmctld started"; fi
if ! alive "$BASE/slurmd.pid" slurmd; then slurmd -N localhost; log "slurmd started"; fi
wait_for 60 sh -c 'sinfo -h -o %T | grep -Eq "idle|mixed|allocated"'
log "cluster up: SLURM_CONF=$SLURM_CONF"
sinfo
