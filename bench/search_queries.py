#!/usr/bin/env python3
"""Search benchmark helper for bench/search.sh (standard library only).

Runs a suite of `GET /v1/files?searchQuery=…` requests against a server holding a library made
by `kura dev gen-library` (the queries name its vocabulary: the most common tag `product`, the
rare `sku-100500`, folders /products and /marketing, webp being nearly all from the last two
years before --until, …). Each query runs --warmup times untimed, then --reps times timed (or
fewer when they take longer than --max-seconds in all; at least --min-reps), one after the
other on one keep-alive HTTP/1.1 connection with Basic auth.

Prints a Markdown table (query, sort / skip / limit, hits on the page, p50, p99, max in ms,
repetitions), then the server's VmRSS / VmHWM (from /proc/PID/status) and the size of the
metadata database (the SQLite file with its -wal and -shm, or pg_database_size). With --json,
also writes the results there. Exits non-zero if any request does not answer 200 with a list.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse


def fail(msg: str) -> None:
    print(f"search_queries.py: {msg}", file=sys.stderr)
    sys.exit(1)


class Api:
    """One keep-alive HTTP/1.1 connection with basic auth (private key, empty password)."""

    def __init__(self, url: str, key: str, timeout: float = 600) -> None:
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.timeout = timeout
        self.auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def get(self, path: str):
        for attempt in (1, 2):
            try:
                self.conn.request("GET", path, headers={"Authorization": self.auth})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt == 2:
                    raise


def queries(until: dt.date) -> list[dict]:
    """The suite. `kind` says what the query exercises."""
    two_years = (until - dt.timedelta(days=730)).isoformat()
    return [
        dict(label="list, no searchQuery (baseline)", q=None, sort="DESC_CREATED", limit=50,
             kind="plain listing for comparison"),
        dict(label='tags IN ["sku-100500"]', q='tags IN ["sku-100500"]', sort="DESC_CREATED",
             limit=50, kind="rare tag (~80 files per million)"),
        dict(label='tags IN ["product"]', q='tags IN ["product"]', sort="DESC_CREATED", limit=50,
             kind="most common tag (~30 % of files)"),
        dict(label='tags IN ["product"], skip 10000', q='tags IN ["product"]', sort="ASC_NAME",
             skip=10000, limit=50, kind="most common tag, deep page"),
        dict(label=f'format = "webp" AND createdAt < "{two_years}"',
             q=f'format = "webp" AND createdAt < "{two_years}"', sort="ASC_NAME", limit=50,
             kind="two unselective filters (8 %, 40 %), rare intersection"),
        dict(label='(mp4 AND size > 100mb) OR (mov AND size > 300mb)',
             q='(format = "mp4" AND size > "100mb") OR (format = "mov" AND size > "300mb")',
             sort="DESC_SIZE", limit=50, kind="OR of ANDs"),
        dict(label='format NOT IN [jpg, png, webp], skip 10000',
             q='format NOT IN ["jpg", "png", "webp"]', sort="ASC_CREATED", skip=10000, limit=50,
             kind="NOT IN (~17 %), deep page"),
        dict(label='name HAS "red dress"', q='name HAS "red dress"', sort="ASC_NAME", limit=50,
             kind="word search in names"),
        dict(label='name HAS "quarterly report q3"', q='name HAS "quarterly report q3"',
             sort="DESC_CREATED", limit=50, kind="word search, selective"),
        dict(label='path : "/products"', q='path : "/products"', sort="DESC_UPDATED", limit=50,
             kind="folder subtree"),
        dict(label='path : "/marketing" AND tags IN ["summer"]',
             q='path : "/marketing" AND tags IN ["summer"]', sort="DESC_CREATED", limit=100,
             kind="subtree and a common tag"),
        dict(label='size > "10mb" AND size < "50mb"', q='size > "10mb" AND size < "50mb"',
             sort="DESC_SIZE", limit=100, kind="size range"),
        dict(label='createdAt > "30d"', q='createdAt > "30d"', sort="DESC_CREATED", limit=100,
             kind="recent files (relative date)"),
        dict(label="width >= 4000 AND height >= 3000", q="width >= 4000 AND height >= 3000",
             sort="DESC_WIDTH", limit=50, kind="dimension ranges"),
        dict(label='type IN [file, folder] AND name HAS "summer"',
             q='type IN ["file", "folder"] AND name HAS "summer"', sort="ASC_NAME", limit=50,
             kind="files and folders together"),
        dict(label='format = "pdf" AND private = true', q='format = "pdf" AND private = true',
             sort="ASC_SIZE", limit=50, kind="format and flag"),
        dict(label='tags HAS "black friday"', q='tags HAS "black friday"', sort="DESC_CREATED",
             limit=50, kind="word search in tags"),
        dict(label='tags NOT IN [product, marketing] AND fileType = "image"',
             q='tags NOT IN ["product", "marketing"] AND fileType = "image"', sort="ASC_SIZE",
             skip=10000, limit=50, kind="negated tags, unselective, deep page"),
        dict(label='"customMetadata.price" in [100, 200)',
             q='"customMetadata.price" >= 100 AND "customMetadata.price" < 200',
             sort="DESC_CREATED", limit=50, kind="custom Number range (~4 % of files)"),
        dict(label='brand = acme AND channels IN [print] AND shootDate > "2y"',
             q='"customMetadata.brand" = "acme" AND "customMetadata.channels" IN ["print"] '
               'AND "customMetadata.shootDate" > "2y"',
             sort="ASC_NAME", limit=50, kind="SingleSelect, MultiSelect and Date fields together"),
        dict(label='approved = false AND campaign HAS "summer"',
             q='"customMetadata.approved" = false AND "customMetadata.campaign" HAS "summer"',
             sort="DESC_UPDATED", limit=50, kind="Boolean and a words search in a Text field"),
        dict(label='LocationTaken within 10 km of Paris',
             q='"embeddedMetadata.LocationTaken" = "48.8566,2.3522 10km"', sort="DESC_CREATED",
             limit=50, kind="geographic radius (~0.8 % of files)"),
        dict(label='LocationTaken in a box by Tokyo AND Make = "Apple"',
             q='"embeddedMetadata.LocationTaken" = "35.5,139.5|35.8,139.8" AND '
               '"embeddedMetadata.Make" = "Apple"',
             sort="ASC_NAME", limit=50, kind="geographic box and an embedded key"),
        dict(label='LocationTaken in a polygon (southern hemisphere), skip 1000',
             q='"embeddedMetadata.LocationTaken" = "-10,110|-10,160|-45,160|-45,110|-30,0"',
             sort="DESC_CREATED", skip=1000, limit=50, kind="geographic polygon, deep page"),
    ]


def path_of(query: dict) -> str:
    params = {"sort": query["sort"], "limit": str(query["limit"])}
    if query.get("skip"):
        params["skip"] = str(query["skip"])
    if query["q"] is not None:
        params["searchQuery"] = query["q"]
    return "/v1/files?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest rank."""
    if not sorted_ms:
        return float("nan")
    rank = max(1, int(-(-p * len(sorted_ms) // 100)))
    return sorted_ms[min(rank, len(sorted_ms)) - 1]


def proc_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def db_bytes(args) -> tuple[int | None, str]:
    if args.sqlite:
        total, parts = 0, []
        for suffix in ("", "-wal", "-shm"):
            p = args.sqlite + suffix
            if os.path.exists(p):
                size = os.path.getsize(p)
                total += size
                parts.append(f"{os.path.basename(p)} {size / 2**20:.1f} MiB")
        return total, ", ".join(parts)
    if args.pg_url:
        out = subprocess.run(
            ["psql", args.pg_url, "-qAtc", "SELECT pg_database_size(current_database())"],
            capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip().isdigit():
            return int(out.stdout.strip()), "pg_database_size"
        return None, f"psql failed: {out.stderr.strip()}"
    return None, "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--pid", type=int, help="server pid, for VmRSS / VmHWM")
    ap.add_argument("--until", default=dt.date.today().isoformat(),
                    help="the --until the library was generated with (default today)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-seconds", type=float, default=60.0,
                    help="stop repeating a query after this long (at least --min-reps runs)")
    ap.add_argument("--only", help="run only queries whose label contains this")
    ap.add_argument("--sqlite", help="the SQLite database file, for its size")
    ap.add_argument("--pg-url", help="the PostgreSQL database URL, for its size")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--compare", metavar="JSON",
                    help="results of another run on the same library (e.g. the other search "
                         "mode): report the queries whose first page differs")
    ap.add_argument("--compare-label", help="how to call that run in the report")
    args = ap.parse_args()

    until = dt.date.fromisoformat(args.until[:10])
    api = Api(args.url, args.key)
    rss_before = proc_kib(args.pid, "VmRSS") if args.pid else None
    results = []
    for query in queries(until):
        if args.only and args.only not in query["label"]:
            continue
        path = path_of(query)
        timings, hits, ids = [], None, None
        started = time.perf_counter()
        for i in range(args.warmup + args.reps):
            t0 = time.perf_counter()
            status, body = api.get(path)
            ms = (time.perf_counter() - t0) * 1000
            if status != 200:
                fail(f"{query['label']}: HTTP {status}: {body[:300]!r}")
            if hits is None:
                page = json.loads(body)
                if not isinstance(page, list):
                    fail(f"{query['label']}: expected a list, got {str(page)[:300]}")
                hits = len(page)
                ids = [x.get("fileId") or x.get("folderId") for x in page]
            if i >= args.warmup:
                timings.append(ms)
                if (len(timings) >= args.min_reps
                        and time.perf_counter() - started > args.max_seconds):
                    break
            elif time.perf_counter() - started > args.max_seconds:
                break  # warmup alone is over budget: go on to the timed runs
        s = sorted(timings)
        r = dict(label=query["label"], kind=query["kind"], searchQuery=query["q"],
                 sort=query["sort"], skip=query.get("skip", 0), limit=query["limit"],
                 hits=hits, ids=ids, reps=len(s), p50=percentile(s, 50), p99=percentile(s, 99), max=s[-1])
        results.append(r)
        print(f"  {r['label']}: {r['hits']} hits, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms "
              f"({r['reps']} reps)", file=sys.stderr, flush=True)
    rss = proc_kib(args.pid, "VmRSS") if args.pid else None
    hwm = proc_kib(args.pid, "VmHWM") if args.pid else None
    size, size_detail = db_bytes(args)

    print("| # | query | sort, skip, limit | hits on page | p50 ms | p99 ms | max ms | reps |")
    print("|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(results, 1):
        paging = f"{r['sort']}{', skip ' + str(r['skip']) if r['skip'] else ''}, {r['limit']}"
        label = r["label"].replace("|", "\\|")
        print(f"| {i} | `{label}` | {paging} | {r['hits']} | {r['p50']:.1f} | {r['p99']:.1f} | "
              f"{r['max']:.1f} | {r['reps']} |")
    mib = lambda k: f"{k / 1024:.1f} MiB" if k is not None else "?"
    print()
    print(f"- Server memory: VmRSS {mib(rss_before)} before the suite, {mib(rss)} after; "
          f"VmHWM {mib(hwm)}")
    print(f"- Metadata database on disk: "
          f"{(f'{size / 2**20:.1f} MiB' if size is not None else '?')} ({size_detail})")
    if args.compare:
        with open(args.compare) as f:
            other = {r["label"]: r.get("ids") for r in json.load(f)["results"]}
        compared = [r for r in results if r["label"] in other]
        differ = [r["label"] for r in compared if other[r["label"]] != r["ids"]]
        name = args.compare_label or os.path.basename(args.compare)
        if differ:
            print(f"- **First pages differ from {name}** for {len(differ)} of {len(compared)} "
                  f"queries: " + "; ".join(f"`{d}`" for d in differ))
        else:
            print(f"- First pages identical to {name} (same ids, same order) for all "
                  f"{len(compared)} queries")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(results=results, rss_before_kib=rss_before, rss_kib=rss, hwm_kib=hwm,
                           db_bytes=size, db_detail=size_detail), f, indent=1)


if __name__ == "__main__":
    main()
