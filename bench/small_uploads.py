#!/usr/bin/env python3
"""Many small uploads from concurrent clients, for bench/upload.sh.

Uploads N real PNG images of about 100 KiB (random RGB noise, so they do not compress, each
one different so the server cannot deduplicate them) from C threads, each thread with its
own httpx.Client and so its own keep-alive connection. Every response must be 200 with a
fileId and the right size, else the script exits non-zero. Whether the server recognised
the PNG as an image (fileType, width, height) is reported, not required.

Prints one JSON object with the results on stdout.
"""

import argparse
import json
import os
import statistics
import struct
import sys
import threading
import time
import zlib

import httpx

WIDTH = HEIGHT = 185  # 185 * 185 * 3 bytes of noise + filter bytes = about 100.5 KiB


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def make_pngs(count: int, seed_noise: bytes) -> list[bytes]:
    """`count` distinct valid 8-bit RGB PNGs; image i differs from the others in its first row."""
    row = WIDTH * 3
    header = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    )
    end = png_chunk(b"IEND", b"")
    rows = [b"\x00" + seed_noise[y * row:(y + 1) * row] for y in range(HEIGHT)]
    images = []
    for i in range(count):
        first = bytearray(rows[0])
        first[1:9] = struct.pack(">Q", i)  # the image number in the first pixels
        raw = bytes(first) + b"".join(rows[1:])
        images.append(header + png_chunk(b"IDAT", zlib.compress(raw, 1)) + end)
    return images


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), -(-len(sorted_values) * p // 100)))
    return sorted_values[int(rank) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--key", default="private_bench", help="private API key")
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    if args.uploads % args.clients:
        parser.error("--uploads must be a multiple of --clients")
    per_client = args.uploads // args.clients

    images = make_pngs(args.uploads, os.urandom(WIDTH * HEIGHT * 3))
    endpoint = args.url.rstrip("/") + "/api/v1/files/upload"
    latencies: list[list[float]] = [[] for _ in range(args.clients)]
    failures: list[str] = []
    checked_dimensions: list[bool] = []
    barrier = threading.Barrier(args.clients + 1)

    def client(n: int) -> None:
        mine = images[n * per_client:(n + 1) * per_client]
        # One connection per client: a pool of one, kept alive across the 250 uploads.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(auth=(args.key, ""), limits=limits, timeout=60.0) as http:
            barrier.wait()
            for i, image in enumerate(mine):
                started = time.perf_counter()
                try:
                    response = http.post(
                        endpoint,
                        files={"file": (f"noise-{n}-{i}.png", image, "image/png")},
                        data={"fileName": f"noise-{n}-{i}.png", "useUniqueFileName": "true"},
                    )
                except httpx.HTTPError as e:
                    failures.append(f"client {n} upload {i}: {type(e).__name__}: {e}")
                    continue
                latencies[n].append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures.append(
                        f"client {n} upload {i}: HTTP {response.status_code}: {response.text[:200]}"
                    )
                    continue
                body = response.json()
                if not body.get("fileId") or body.get("size") != len(image):
                    failures.append(f"client {n} upload {i}: unexpected response {body}")
                elif i == 0:
                    # Informational: whether the server's probe recognised the PNG.
                    checked_dimensions.append(
                        body.get("fileType") == "image"
                        and body.get("width") == WIDTH
                        and body.get("height") == HEIGHT
                    )

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    cpu_before = os.times()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu_after = os.times()

    all_latencies = sorted(x for per in latencies for x in per)
    result = {
        "uploads": args.uploads,
        "clients": args.clients,
        "image_bytes_min": min(map(len, images)),
        "image_bytes_max": max(map(len, images)),
        "ok": len(all_latencies) - len(failures),
        "failures": failures[:20],
        "failure_count": len(failures),
        "probed_as_image": bool(checked_dimensions) and all(checked_dimensions),
        "elapsed_s": elapsed,
        "uploads_per_s": args.uploads / elapsed,
        "p50_ms": percentile(all_latencies, 50) * 1000,
        "p99_ms": percentile(all_latencies, 99) * 1000,
        "max_ms": all_latencies[-1] * 1000 if all_latencies else float("nan"),
        "mean_ms": statistics.fmean(all_latencies) * 1000 if all_latencies else float("nan"),
        "client_cpu_s": (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system),
    }
    json.dump(result, sys.stdout)
    print()
    if failures or len(all_latencies) != args.uploads:
        print(
            f"small uploads FAILED: {len(failures)} failures, {len(all_latencies)} responses; "
            f"first: {failures[:3]}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
