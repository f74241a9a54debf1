#!/usr/bin/env bash
# Search benchmark for Kura: `GET /v1/files?searchQuery=…` on a large library. Run from
# anywhere: bench/search.sh
#
# On each setup named in BENCH_SETUPS (default "embedded postgres"):
#   embedded  SQLite in a fresh data dir (the default install);
#   postgres  metadata in a fresh PostgreSQL database (blobs would be on local disk, but the
#             library has none: see below).
#
#   1. Generates a synthetic library of ASSETS files (default 1 000 000) straight into the
#      metadata store with `kura dev gen-library` (folders, names, formats, sizes, dates,
#      versions and Zipf-distributed tags; metadata only, no bytes) and reports how long it
#      took. PostgreSQL then gets a VACUUM (ANALYZE), as autovacuum would do soon after such a
#      load anyway (SQLite gets nothing: Kura never runs ANALYZE).
#   2. Starts `kura serve` on it and waits until it answers /health (and, when the server has
#      an in-memory search index that is on, until the log says the index is built), then
#      BENCH_SETTLE seconds more (default 10) for the startup blob sweep.
#   3. Runs bench/search_queries.py: each query BENCH_WARMUP times (default 3), then
#      BENCH_REPS times (default 50, fewer when one query's runs exceed BENCH_MAX_SECONDS,
#      default 60, in all), one keep-alive connection; prints hits on the page, p50, p99 and
#      max per query, the server's VmRSS/VmHWM and the database's size on disk. With several
#      BENCH_SEARCH_INDEX modes, also whether each query's first page (ids, in order) is the
#      same in every mode.
#
# Prints a Markdown report and writes it to bench/results/search-latest.md.
#
# Environment:
#   ASSETS              files to generate (default 1000000; BENCH_ASSETS works too).
#   BENCH_SETUPS        setups to run, in order (default "embedded postgres").
#   BENCH_SEED          generator seed (default 1).
#   BENCH_SEARCH_INDEX  values of KURA_SEARCH_INDEX to run the suite with, one server start
#                       each, e.g. "1 0" (default: unset, the server's default); "cold" is
#                       the index without its page row cache (KURA_PAGE_CACHE_ROWS=0), so
#                       every page's rows are read from the database. Ignored when the
#                       server has no --search-index option.
#   BENCH_REPS, BENCH_WARMUP, BENCH_MAX_SECONDS, BENCH_SETTLE: see above.
#   BENCH_ONLY          run only the queries whose label contains this string.
#   BENCH_TMPDIR        parent of the temporary directory (default /var/tmp); a real disk.
#   BENCH_SKIP_BUILD    set to 1 to use the existing target/release/kura without building.
#   BENCH_POSTGRES_URL  PostgreSQL URL whose role may create databases (default
#                       postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

ASSETS=${ASSETS:-${BENCH_ASSETS:-1000000}}
SETUPS=${BENCH_SETUPS:-embedded postgres}
SEED=${BENCH_SEED:-1}
INDEX_MODES=${BENCH_SEARCH_INDEX:-}
REPS=${BENCH_REPS:-50}
WARMUP=${BENCH_WARMUP:-3}
MAX_SECONDS=${BENCH_MAX_SECONDS:-60}
SETTLE=${BENCH_SETTLE:-10}
ONLY=${BENCH_ONLY:-}
PG_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
KEY=private_bench
# The generated library's time span ends today, so that relative dates ("30d") mean something.
UNTIL=$(date -u +%F)

export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"

for setup in $SETUPS; do
    [[ $setup == embedded || $setup == postgres ]] ||
        die "unknown setup '$setup' in BENCH_SETUPS (known: embedded postgres)"
done
[[ -n ${SETUPS// /} ]] || die "BENCH_SETUPS is empty"
((ASSETS >= 1000)) || die "ASSETS must be at least 1000"

PY=$(command -v python3) || die "python3 not found"
HELPER="$ROOT/bench/search_queries.py"
if has_setup postgres; then
    command -v psql >/dev/null || die "the postgres setup needs psql (and PostgreSQL)"
    psql "$PG_URL" -qAtc 'SELECT 1' >/dev/null 2>&1 || die "cannot reach PostgreSQL at $PG_URL"
    PG_VERSION=$(psql "$PG_URL" -qAtc 'SHOW server_version')
fi

# ---------------------------------------------------------------- build
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

WORK=$(mktemp -d "$TMP_PARENT/kura-search.XXXXXX")
SERVER_PID=
DATABASES=()
cleanup() {
    local status=$? db
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
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
HAS_INDEX_OPTION=0
"$BIN" serve --help 2>/dev/null | grep -q -- '--search-index' && HAS_INDEX_OPTION=1
if [[ $HAS_INDEX_OPTION == 0 && -n "$INDEX_MODES" ]]; then
    log "this server has no --search-index option: ignoring BENCH_SEARCH_INDEX=$INDEX_MODES"
    INDEX_MODES=
fi

# ---------------------------------------------------------------- server
SERVER_URL=
SERVER_ENV=() # backend settings: empty for embedded

# start_server DATA LOG [KURA_SEARCH_INDEX value or ""]
start_server() {
    local data=$1 logfile=$2 index=$3 i index_env=()
    if [[ $index == cold ]]; then
        index_env=("KURA_SEARCH_INDEX=1" "KURA_PAGE_CACHE_ROWS=0")
    elif [[ -n "$index" ]]; then
        index_env=("KURA_SEARCH_INDEX=$index")
    fi
    : >"$logfile"
    env -u KURA_DATABASE_URL -u KURA_STORAGE -u KURA_S3_ENDPOINT -u KURA_S3_REGION \
        -u KURA_DATA_DIR -u KURA_LISTEN -u KURA_PUBLIC_URL -u KURA_JOB_BATCH_SIZE \
        -u KURA_JOB_LEASE_SECONDS \
        "${SERVER_ENV[@]}" "${index_env[@]}" KURA_PRIVATE_KEY=$KEY KURA_LOG=info \
        "$BIN" serve --listen 127.0.0.1:0 --data-dir "$data" >>"$logfile" 2>&1 &
    SERVER_PID=$!
    SERVER_URL=
    for i in $(seq 1 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "server exited at startup: $(tail -20 "$logfile")"
        SERVER_URL=$(sed -n 's/^kura listening on \(http:\/\/[^ ]*\).*/\1/p' "$logfile" | head -1)
        [[ -n "$SERVER_URL" ]] && break
        sleep 0.1
    done
    [[ -n "$SERVER_URL" ]] || die "server did not report its address: $(tail -20 "$logfile")"
    for i in $(seq 1 600); do
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

# wait_for_index LOG INDEX: when the server builds an in-memory search index, wait until the
# log says it is built (or failed); prints how long that took after /health, or "".
wait_for_index() {
    local logfile=$1 index=$2 t0 i
    [[ $HAS_INDEX_OPTION == 1 && "$index" != 0 ]] || return 0
    t0=$(now)
    for i in $(seq 1 18000); do
        if sed 's/\x1b\[[0-9;]*m//g' "$logfile" | grep -q "search index built"; then
            awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'
            return 0
        fi
        sed 's/\x1b\[[0-9;]*m//g' "$logfile" | grep -q "search index build failed" &&
            die "search index build failed: $(grep 'search index' "$logfile" | tail -3)"
        kill -0 "$SERVER_PID" 2>/dev/null || die "server died while building its index: $(tail -20 "$logfile")"
        sleep 0.1
    done
    die "search index not built after 30 minutes"
}

# kura CMD ARGS...: a one-shot sub-command on the current install.
kura_cmd() {
    env -u KURA_DATABASE_URL -u KURA_STORAGE -u KURA_S3_ENDPOINT -u KURA_DATA_DIR "${SERVER_ENV[@]}" "$BIN" "$@"
}

since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# ---------------------------------------------------------------- one setup
declare -A R
bench_setup() {
    local setup=$1 data="$WORK/data-$1" logfile="$WORK/server-$1.log" t0 db="" mode label
    local size_args=() only_args=() compare_args=()
    [[ -z "$ONLY" ]] || only_args=(--only "$ONLY")
    SERVER_ENV=()
    if [[ $setup == postgres ]]; then
        db="kura_search_$$_$setup"
        psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null || die "could not create database $db"
        DATABASES+=("$db")
        SERVER_ENV=("KURA_DATABASE_URL=${PG_URL%/*}/$db")
        size_args=(--pg-url "${PG_URL%/*}/$db")
    else
        size_args=(--sqlite "$data/kura.db")
    fi

    log "$setup: generating $ASSETS files (seed $SEED, until $UNTIL)"
    t0=$(now)
    kura_cmd dev gen-library --data-dir "$data" --assets "$ASSETS" --seed "$SEED" --until "$UNTIL" \
        >"$WORK/gen-$setup.out" 2>"$WORK/gen-$setup.err" ||
        die "$setup: gen-library failed: $(tail -5 "$WORK/gen-$setup.err")"
    R[$setup:gen_wall]=$(since "$t0")
    R[$setup:gen]=$(tail -1 "$WORK/gen-$setup.out")
    log "$setup: ${R[$setup:gen]} (wall clock ${R[$setup:gen_wall]} s)"
    if [[ $setup == postgres ]]; then
        t0=$(now)
        psql "${PG_URL%/*}/$db" -v ON_ERROR_STOP=1 -qc "VACUUM (ANALYZE)" >/dev/null || die "VACUUM failed"
        R[$setup:analyze]=$(since "$t0")
        log "$setup: VACUUM (ANALYZE) took ${R[$setup:analyze]} s"
    fi

    R[$setup:modes]=""
    for mode in ${INDEX_MODES:-default}; do
        [[ $mode == default ]] && mode=""
        label=${mode:-default}
        R[$setup:modes]+="$label "
        t0=$(now)
        start_server "$data" "$logfile" "$mode"
        R[$setup:$label:start]=$(since "$t0")
        R[$setup:$label:index]=$(wait_for_index "$logfile" "$mode")
        R[$setup:$label:idle_rss]=$(proc_kib "$SERVER_PID" VmRSS)
        log "$setup ($label): server up after ${R[$setup:$label:start]} s${R[$setup:$label:index]:+, index built ${R[$setup:$label:index]} s later}; settling ${SETTLE} s"
        sleep "$SETTLE"
        R[$setup:$label:load]=$(cut -d' ' -f1-3 /proc/loadavg)
        "$PY" "$HELPER" --url "$SERVER_URL" --key "$KEY" --pid "$SERVER_PID" --until "$UNTIL" \
            --warmup "$WARMUP" --reps "$REPS" --max-seconds "$MAX_SECONDS" "${only_args[@]}" \
            "${size_args[@]}" "${compare_args[@]}" --json "$WORK/result-$setup-$label.json" \
            >"$WORK/table-$setup-$label.md" || die "$setup: query suite failed"
        # Later modes' first pages must equal the first mode's (same library, same queries).
        [[ ${#compare_args[@]} -gt 0 ]] || compare_args=(--compare "$WORK/result-$setup-$label.json" --compare-label "the KURA_SEARCH_INDEX=$label run")
        R[$setup:$label:table]=$(cat "$WORK/table-$setup-$label.md")
        stop_server "$logfile"
    done
    rm -rf "$data"
    if [[ -n "$db" ]]; then
        psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    fi
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
setup_name() { if [[ $1 == embedded ]]; then echo "embedded (SQLite)"; else echo "PostgreSQL $PG_VERSION"; fi; }

section() {
    local setup=$1 label
    echo "### $(setup_name "$setup")"
    echo
    echo "- Generation: ${R[$setup:gen]#gen-library: } (wall clock ${R[$setup:gen_wall]} s)${R[$setup:analyze]:+; then VACUUM (ANALYZE) ${R[$setup:analyze]} s}"
    for label in ${R[$setup:modes]}; do
        echo
        if [[ $label == default ]]; then
            echo "#### Server defaults"
        else
            echo "#### KURA_SEARCH_INDEX=$label"
        fi
        echo
        echo "- Server start to /health: ${R[$setup:$label:start]} s${R[$setup:$label:index]:+; search index built ${R[$setup:$label:index]} s after that}; VmRSS then $(mib "${R[$setup:$label:idle_rss]:-0}") MiB; load average ${R[$setup:$label:load]} when the suite started"
        echo
        printf '%s\n' "${R[$setup:$label:table]}"
    done
}

REPORT=$(
    cat <<EOF
### Search benchmark — $DATE

- Command: \`ASSETS=$ASSETS BENCH_SETUPS="$SETUPS"${INDEX_MODES:+ BENCH_SEARCH_INDEX="$INDEX_MODES"} bench/search.sh\`; took $ELAPSED_MIN min
- Commit: \`$COMMIT\`$DIRTY; release build
- Machine: $NPROC × $CPU_MODEL, $MEM_GIB GiB RAM, Linux $KERNEL; data on \`$DISK\` ($DISK_FSTYPE); load average $LOAD before the start, $LOAD_END at the end
- Library: \`kura dev gen-library --assets $ASSETS --seed $SEED --until $UNTIL\` (synthetic, metadata only)
- Timing: each query $WARMUP× untimed, then up to $REPS× timed (fewer once its runs pass $MAX_SECONDS s), sequentially on one keep-alive connection; wall clock per request at the client, JSON parsing excluded

$(for s in $SETUPS; do section "$s"; echo; done)
EOF
)

mkdir -p "$ROOT/bench/results"
printf '%s\n' "$REPORT" | cat -s >"$ROOT/bench/results/search-latest.md"
printf '%s\n' "$REPORT" | cat -s
log "written to bench/results/search-latest.md"
