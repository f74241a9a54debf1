#!/usr/bin/env bash
# Transformation benchmark: Kura's URL transformations against libvips's own `vipsthumbnail`,
# side by side in one run on the same file. Run from anywhere: bench/transform.sh
#
#   1. Starts `kura serve` (embedded setup, fresh data dir) with one render slot, uploads the
#      corpus's 27 MP JPEG (6000 x 4500), and renders it to a 300 px wide JPEG through URLs,
#      one request at a time, each a cache miss (`tr:w-300,q-N`, N different each time):
#      latency per request, and the server's CPU time per image (from /proc/PID/stat).
#   2. The same with vipsthumbnail (`-s 300`, Q=80, metadata stripped), one process per image
#      with VIPS_CONCURRENCY=1 (Kura's libvips runs one worker thread per render): wall time
#      and CPU time per image, and its peak RSS (GNU time's %M).
#   3. WebP and AVIF encodes of the same thumbnail through Kura (misses).
#   4. Cache hits: one transformed URL requested BENCH_HITS times: p50 / p99 / max.
#   5. Kura's peak RSS (VmHWM) over the whole run.
#
# Prints a Markdown report and writes it to bench/results/transform-latest.md.
#
# Environment: BENCH_IMAGES (misses per format, default 30), BENCH_HITS (default 500),
# BENCH_SKIP_BUILD=1 (use the existing target/release/kura), BENCH_TMPDIR (default /var/tmp).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

IMAGES=${BENCH_IMAGES:-30}
HITS=${BENCH_HITS:-500}
SOURCE=${BENCH_SOURCE:-$ROOT/../shared/corpus/jpeg_24mp.jpg}
KEY=private_bench
[ -f "$SOURCE" ] || die "no source image at $SOURCE"
command -v vipsthumbnail >/dev/null || die "vipsthumbnail is missing: scripts/system-deps"

if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
    log "building release"
    cargo build --release --quiet
fi
BIN=$ROOT/target/release/kura
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/kura-bench-transform.XXXXXX")
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

KURA_PRIVATE_KEY=$KEY KURA_RENDER_SLOTS=1 "$BIN" serve --listen 127.0.0.1:0 \
    --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.log" | head -n 1 | cut -d' ' -f3 || true)
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || die "server did not start: $(cat "$WORK/server.log")"
log "server at $URL (pid $SERVER_PID)"

python3 - "$URL" "$KEY" "$SOURCE" "$SERVER_PID" "$IMAGES" "$HITS" "$WORK" >"$WORK/kura.json" <<'PY'
import base64, http.client, json, os, sys, time, urllib.parse, uuid

url, key, source, pid, images, hits, work = sys.argv[1:]
images, hits, pid = int(images), int(hits), int(pid)
u = urllib.parse.urlsplit(url)
auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

def cpu_seconds():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def status_kib(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

def upload(path, name):
    boundary = uuid.uuid4().hex
    body = open(path, "rb").read()
    form = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"fileName\"\r\n\r\n{name}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"useUniqueFileName\"\r\n\r\nfalse\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + body + f"\r\n--{boundary}--\r\n".encode()
    conn.request("POST", "/api/v1/files/upload", body=form,
                 headers={"Authorization": auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = conn.getresponse(); r.read()
    assert r.status == 200, r.status

upload(source, "big.jpg")
upload(os.path.join(os.path.dirname(source), "bomb_pixel_flood.png"), "bomb.png")

def get(path):
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse(); data = r.read()
    ms = (time.perf_counter() - t) * 1000
    assert r.status == 200, (path, r.status, data[:200])
    return ms, r.getheader("x-cache"), len(data)

def misses(fmt):
    lat, sizes = [], []
    cpu0 = cpu_seconds()
    for i in range(images):
        ms, cache, n = get(f"/media/tr:w-300,q-{99 - i}{fmt}/big.jpg")
        assert cache == "MISS", cache
        lat.append(ms); sizes.append(n)
    return {"ms": lat, "cpu_s": cpu_seconds() - cpu0, "bytes": sizes, "vmhwm_kib": status_kib("VmHWM")}

out = {"rss_before_kib": status_kib("VmRSS"), "jpeg": misses(""), "webp": misses(",f-webp"), "avif": misses(",f-avif")}
get("/media/tr:w-300/big.jpg")
hit = []
for _ in range(hits):
    ms, cache, _ = get("/media/tr:w-300/big.jpg")
    assert cache == "HIT"
    hit.append(ms)
out["hit_ms"] = hit
bomb = []
for i in range(20):
    t = time.perf_counter()
    conn.request("GET", f"/media/tr:w-{100 + i}/bomb.png")
    r = conn.getresponse(); r.read()
    assert r.status == 422, r.status
    bomb.append((time.perf_counter() - t) * 1000)
out["bomb_ms"] = bomb
out["vmhwm_kib"] = status_kib("VmHWM")
out["vmrss_kib"] = status_kib("VmRSS")
print(json.dumps(out))
PY
log "kura done; vipsthumbnail next"

: >"$WORK/vips.txt"
for i in $(seq 1 "$IMAGES"); do
    VIPS_CONCURRENCY=1 /usr/bin/time -f "%e %U %S %M" -a -o "$WORK/vips.txt" \
        vipsthumbnail "$SOURCE" -s 300 -o "$WORK/vt-$i.jpg[Q=$((100 - i)),strip]"
done

python3 - "$WORK/kura.json" "$WORK/vips.txt" "$IMAGES" "$HITS" "$SOURCE" <<'PY' | tee bench/results/transform-latest.md
import json, statistics, subprocess, sys, datetime, os, platform

kura = json.load(open(sys.argv[1]))
rows = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
images, hits, source = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))]

commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
vt_wall = [r[0] * 1000 for r in rows]
vt_cpu = [(r[1] + r[2]) for r in rows]
vt_rss = max(r[3] for r in rows)
k = kura["jpeg"]
k_cpu_per = k["cpu_s"] / images
vt_cpu_per = sum(vt_cpu) / len(vt_cpu)
print(f"### Transformation benchmark — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n")
print(f"- Command: `bench/transform.sh` (BENCH_IMAGES={images}, BENCH_HITS={hits}); commit `{commit}`")
print(f"- Machine: {os.cpu_count()} × {cpu_model}; libvips {subprocess.run(['vips', '--version'], capture_output=True, text=True).stdout.strip()}")
print(f"- Source: `{os.path.basename(source)}` ({os.path.getsize(source) / 1e6:.1f} MB, 6000 × 4500), to 300 px wide\n")
print("| | p50 ms | p99 ms | CPU s per image | images per CPU second | peak RSS MiB |")
print("|---|---|---|---|---|---|")
print(f"| vipsthumbnail (process per image, VIPS_CONCURRENCY=1) | {statistics.median(vt_wall):.1f} | {pct(vt_wall, 99):.1f} | {vt_cpu_per:.3f} | {1 / vt_cpu_per:.1f} | {vt_rss / 1024:.1f} |")
print(f"| Kura JPEG, cache miss (over HTTP, 1 render slot) | {statistics.median(k['ms']):.1f} | {pct(k['ms'], 99):.1f} | {k_cpu_per:.3f} | {1 / k_cpu_per:.1f} | {k['vmhwm_kib'] / 1024:.1f} (whole server, VmHWM; {kura['rss_before_kib'] / 1024:.1f} before the first render) |")
for fmt in ("webp", "avif"):
    f = kura[fmt]
    print(f"| Kura {fmt.upper()}, cache miss | {statistics.median(f['ms']):.1f} | {pct(f['ms'], 99):.1f} | {f['cpu_s'] / images:.3f} | {images / f['cpu_s']:.1f} | {f['vmhwm_kib'] / 1024:.1f} (VmHWM after these) |")
print(f"| Kura cache hit ({hits} requests) | {statistics.median(kura['hit_ms']):.2f} | {pct(kura['hit_ms'], 99):.2f} | | | |")
print(f"| Kura refusing a decompression bomb (`bomb_pixel_flood.png`, 12 kB declaring 50 000 × 50 000; 422) | {statistics.median(kura['bomb_ms']):.2f} | {pct(kura['bomb_ms'], 99):.2f} | | | |")
print(f"\n- Throughput per core, Kura ÷ vipsthumbnail: {vt_cpu_per / k_cpu_per:.2f}× (CPU time per image; Kura's includes HTTP, the cache lookup, hashing and storing the result)")
print(f"- Output sizes (mean bytes): JPEG {statistics.mean(k['bytes']):.0f}, WebP {statistics.mean(kura['webp']['bytes']):.0f}, AVIF {statistics.mean(kura['avif']['bytes']):.0f}")
PY
