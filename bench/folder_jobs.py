#!/usr/bin/env python3
"""Folder-job benchmark helper for bench/folders.sh (standard library only).

  seed   Uploads N small distinct files into ROOT (10 % into ROOT/sub) from C threads, each
         with its own keep-alive connection (http.client: far less client CPU per request
         than httpx, which matters on a 2-vCPU machine that also runs the server). Every
         response must be 200 with a fileId. Prints {"files", "seconds", "per_s"}.
  jobs   Runs the folder jobs one after the other and times each from its POST to the first
         poll that reports status Completed (polls every --poll s). While a job runs, a
         sampler reads the server's VmRSS every 10 ms; after each job it reads VmHWM. The
         jobs' progress.filesTransferred is compared with N, and after the last job
         (untimed) the file counts of every source and destination through the list API.
         Prints {"jobs": [...], "idle_hwm_kib": ...}.

Both exit non-zero (with a message on stderr) if anything is not as expected.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid


def fail(msg: str) -> None:
    print(f"folder_jobs.py: {msg}", file=sys.stderr)
    sys.exit(1)


class Api:
    """One keep-alive HTTP/1.1 connection with basic auth (private key, empty password)."""

    def __init__(self, url: str, key: str, timeout: float = 120) -> None:
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.timeout = timeout
        self.auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        h = {"Authorization": self.auth, **(headers or {})}
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a keep-alive connection the server closed; open a new one once
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt == 2:
                    raise

    def json(self, method: str, path: str, payload=None):
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        status, data = self.request(method, path, body, headers)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return status, parsed


# ---------------------------------------------------------------- seed


def layout(root: str, count: int):
    for i in range(count):
        yield (f"{root}/sub" if i % 10 == 0 else root), f"f{i:06d}.txt", i


def seed(args) -> None:
    tag = uuid.uuid4().hex[:12]
    items = list(layout(args.root, args.files))
    boundary = "kurabench" + uuid.uuid4().hex

    def multipart(folder: str, name: str, i: int) -> bytes:
        parts = []
        for k, v in (("fileName", name), ("folder", folder), ("useUniqueFileName", "false")):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n')
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
            f"kura folder bench {tag} file {i}\n\r\n--{boundary}--\r\n"
        )
        return "".join(parts).encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    errors: list = []
    next_item = iter(range(len(items)))
    lock = threading.Lock()

    def worker() -> None:
        api = Api(args.url, args.key)
        while not errors:
            with lock:
                n = next(next_item, None)
            if n is None:
                return
            folder, name, i = items[n]
            try:
                status, data = api.request("POST", "/api/v1/files/upload", multipart(folder, name, i), headers)
            except Exception as e:  # noqa: BLE001
                errors.append(f"{folder}/{name}: {e!r}")
                return
            if status != 200 or b'"fileId"' not in data:
                errors.append(f"{folder}/{name}: HTTP {status} {data[:300]!r}")
                return

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    if errors:
        fail(f"{len(errors)} uploads failed, e.g. {errors[:3]}")
    print(json.dumps({"files": args.files, "seconds": round(secs, 2), "per_s": round(args.files / secs, 1)}))


# ---------------------------------------------------------------- jobs


def proc_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, proc_kib(self.pid, "VmRSS"))
            except (OSError, RuntimeError):
                return
            time.sleep(0.01)


def count_files(api: Api, root: str) -> int:
    """Files at any depth below `root` (the list API lists one folder's children)."""
    total, todo = 0, [root]
    while todo:
        folder = todo.pop()
        for kind in ("file", "folder"):
            skip = 0
            while True:
                q = urllib.parse.urlencode({"path": folder + "/", "type": kind, "limit": 1000, "skip": skip})
                status, page = api.json("GET", f"/v1/files?{q}")
                if status != 200 or not isinstance(page, list):
                    fail(f"listing {folder} ({kind}): HTTP {status} {str(page)[:300]}")
                if kind == "file":
                    total += len(page)
                else:
                    todo.extend(f["folderPath"] for f in page)
                if len(page) < 1000:
                    break
                skip += 1000
    return total


def folder_exists(api: Api, path: str) -> bool:
    parent, name = path.rsplit("/", 1)
    q = urllib.parse.urlencode({"path": (parent or "") + "/", "type": "folder", "limit": 1000})
    status, page = api.json("GET", f"/v1/files?{q}")
    if status != 200:
        fail(f"listing folders of {parent}: HTTP {status} {page}")
    return any(f.get("name") == name for f in page)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_job(api: Api, pid: int, label: str, path: str, payload: dict, poll: float, timeout: float) -> dict:
    sampler = RssSampler(pid)
    sampler.start()
    cpu0 = proc_cpu(pid)
    t0 = time.monotonic()
    status, body = api.json("POST", path, payload)
    if status not in (200, 202) or not isinstance(body, dict) or "jobId" not in body:
        fail(f"{label}: POST {path} {payload}: HTTP {status} {body}")
    job_id = body["jobId"]
    polls = 0
    timeline = []  # (seconds since the POST, filesTransferred) whenever the latter changes
    while True:
        status, job = api.json("GET", f"/v1/bulkJobs/{job_id}")
        polls += 1
        files = (job.get("progress") or {}).get("filesTransferred") if isinstance(job, dict) else None
        if files is not None and (not timeline or timeline[-1][1] != files):
            timeline.append((round(time.monotonic() - t0, 3), files))
        if status != 200:
            fail(f"{label}: GET /v1/bulkJobs/{job_id}: HTTP {status} {job}")
        if job.get("status") == "Completed":
            secs = time.monotonic() - t0
            break
        if job.get("status") != "Pending":
            fail(f"{label}: job {job_id} ended as {job}")
        if time.monotonic() - t0 > timeout:
            fail(f"{label}: job {job_id} not Completed within {timeout} s: {job}")
        time.sleep(poll)
    sampler.stop.set()
    sampler.join()
    return {
        "label": label,
        "jobId": job_id,
        "seconds": round(secs, 3),
        "polls": polls,
        # seconds until half the files were reported transferred (None for folder-row rewrites)
        "half_at": next((t for t, f in timeline if f and f >= (timeline[-1][1] or 0) / 2), None)
        if timeline and timeline[-1][1] else None,
        "timeline": timeline,
        "progress": job.get("progress"),
        "server_cpu_s": round(proc_cpu(pid) - cpu0, 2),
        "peak_rss_kib": sampler.peak,
        "hwm_kib_after": proc_kib(pid, "VmHWM"),
    }


def jobs(args) -> None:
    api = Api(args.url, args.key)
    n, root = args.files, args.root  # root: /bench/src
    base = root.rsplit("/", 1)[0]  # /bench
    name = root.rsplit("/", 1)[1]  # src
    idle_hwm = proc_kib(args.pid, "VmHWM")
    have = count_files(api, root)
    if have != n:
        fail(f"{root} holds {have} files, expected {n}")

    results = []

    def transferred(label: str, job: dict, expected) -> None:
        got = (job.get("progress") or {}).get("filesTransferred")
        if expected is not None and got != expected:
            fail(f"{label}: progress.filesTransferred {got}, expected {expected}: {job}")

    # The jobs run back to back; the file counts are checked after all of them, so that the
    # listings (100 pages of 1000 per 100 000 files) do not show up in the jobs' memory figures.

    # 1. copy ROOT into BASE/copies -> BASE/copies/src (file by file, batches of KURA_JOB_BATCH_SIZE)
    j = run_job(api, args.pid, "copyFolder", "/v1/bulkJobs/copyFolder",
                {"sourceFolderPath": root, "destinationPath": f"{base}/copies", "includeVersions": False},
                args.poll, args.timeout)
    transferred("copyFolder", j, n)
    results.append(j)

    # 2. rename the copy: BASE/copies/src -> BASE/copies/renamed (a rewrite of folder rows)
    j = run_job(api, args.pid, "renameFolder", "/v1/bulkJobs/renameFolder",
                {"folderPath": f"{base}/copies/{name}", "newFolderName": "renamed"}, args.poll, args.timeout)
    results.append(j)

    # 3. move the renamed copy into another folder: BASE/copies/renamed -> BASE/archive/renamed
    #    (BASE/archive/renamed does not exist yet, so this too is a rewrite of folder rows)
    j = run_job(api, args.pid, "moveFolder", "/v1/bulkJobs/moveFolder",
                {"sourceFolderPath": f"{base}/copies/renamed", "destinationPath": f"{base}/archive"},
                args.poll, args.timeout)
    results.append(j)

    # 4. (extra) move into a folder that already has a subfolder of the source's name: the
    #    files are merged into it file by file, in batches, like a copy.
    expect = {f"{base}/archive/renamed": n, f"{base}/copies/{name}": 0, f"{base}/copies/renamed": 0}
    if args.merge_move:
        status, body = api.json("POST", "/v1/folder", {"folderName": name, "parentFolderPath": f"{base}/merge"})
        if status not in (200, 201):
            fail(f"creating {base}/merge/{name}: HTTP {status} {body}")
        j = run_job(api, args.pid, "moveFolder (merge into existing folder)", "/v1/bulkJobs/moveFolder",
                    {"sourceFolderPath": root, "destinationPath": f"{base}/merge"}, args.poll, args.timeout)
        transferred("moveFolder (merge)", j, n)
        results.append(j)
        expect.update({f"{base}/merge/{name}": n, root: 0})
    else:
        expect[root] = n

    # 5. (extra) the same copy again, N more times, for the spread: the 100 000 files now at
    #    BASE/merge/src (or ROOT) into BASE/again-k. Each adds N files to the database.
    source = f"{base}/merge/{name}" if args.merge_move else root
    for k in range(1, args.copy_repeats + 1):
        j = run_job(api, args.pid, f"copyFolder again ({k})", "/v1/bulkJobs/copyFolder",
                    {"sourceFolderPath": source, "destinationPath": f"{base}/again-{k}"}, args.poll, args.timeout)
        transferred(f"copyFolder again ({k})", j, n)
        results.append(j)
        expect[f"{base}/again-{k}/{name}"] = n

    for folder, count in expect.items():
        c = count_files(api, folder) if count or folder_exists(api, folder) else 0
        if c != count:
            fail(f"after the jobs {folder} holds {c} files, expected {count}")
    if args.merge_move and folder_exists(api, root):
        fail(f"{root} still exists after it was moved")

    print(json.dumps({"idle_hwm_kib": idle_hwm, "jobs": results}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--url", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--files", type=int, required=True)
    s.add_argument("--root", default="/bench/src")
    s.add_argument("--clients", type=int, default=8)
    j = sub.add_parser("jobs")
    j.add_argument("--url", required=True)
    j.add_argument("--key", required=True)
    j.add_argument("--pid", type=int, required=True, help="the server's pid (for VmRSS / VmHWM)")
    j.add_argument("--files", type=int, required=True)
    j.add_argument("--root", default="/bench/src")
    j.add_argument("--poll", type=float, default=0.01)
    j.add_argument("--timeout", type=float, default=900)
    j.add_argument("--merge-move", action="store_true", help="also time a move that merges file by file")
    j.add_argument("--copy-repeats", type=int, default=0, help="copy the folder this many more times")
    args = p.parse_args()
    seed(args) if args.cmd == "seed" else jobs(args)


if __name__ == "__main__":
    main()
