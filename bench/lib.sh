# Shell helpers the benchmark scripts share. Sourced after ROOT, PY, WEED, WORK and BUCKET
# are known to the caller (the functions read them when called).

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
has_setup() { [[ " $SETUPS " == *" $1 "* ]]; }
proc_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
now() { date +%s.%N; }

# start_weed: SeaweedFS (master, volume server, filer and S3 gateway in one process) on four
# free loopback ports whose gRPC companions (+10000) are free too, as scripts/test does; then
# the bucket. Sets WEED_PID and WEED_URL.
WEED_URL=
start_weed() {
    local s3 master volume filer i
    read -r s3 master volume filer < <("$PY" - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
chosen = []
while len(chosen) < 4:
    p = random.randint(20000, 29999)
    if p not in chosen and free(p) and free(p + 10000):
        chosen.append(p)
print(*chosen)
EOF
    )
    mkdir -p "$WORK/weed"
    "$WEED" server -dir="$WORK/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -master.port="$master" -volume.port="$volume" -filer.port="$filer" \
        -s3 -s3.port="$s3" -s3.port.iceberg=0 -s3.port.lance=0 >"$WORK/weed.log" 2>&1 &
    WEED_PID=$!
    WEED_URL="http://127.0.0.1:$s3"
    for i in $(seq 1 120); do
        kill -0 "$WEED_PID" 2>/dev/null || die "SeaweedFS exited at startup: $(tail -20 "$WORK/weed.log")"
        curl -fsS -o /dev/null "$WEED_URL/" 2>/dev/null && break
        sleep 0.5
    done
    curl -fsS -o /dev/null -X PUT "$WEED_URL/$BUCKET" ||
        die "SeaweedFS did not start: $(tail -20 "$WORK/weed.log")"
    log "scaleout: SeaweedFS $WEED_VERSION at $WEED_URL, bucket $BUCKET"
}

# stop_weed: SIGTERM, then SIGKILL after 5 s (its graceful shutdown waits ~25 s for gRPC
# streams; its data is thrown away anyway). `wait` reaps it, so its CPU counts as ours.
stop_weed() {
    local i
    kill -TERM "$WEED_PID" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$WEED_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$WEED_PID" 2>/dev/null || true
    wait "$WEED_PID" 2>/dev/null || true
    WEED_PID=
}

