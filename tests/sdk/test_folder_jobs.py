"""Folder jobs (`/v1/bulkJobs/copyFolder|moveFolder|renameFolder`) under crashes.

A folder job runs in steps of KURA_JOB_BATCH_SIZE files, each step one transaction that also
records the job's cursor. These tests kill the node running a job mid-way (SIGKILL) and check
that the job is resumed after its lease (KURA_JOB_LEASE_SECONDS) runs out — by the restarted
server, or by another node sharing the database and bucket — and that every file ends up at
the destination exactly once, with one version, and nothing else changes. A live node must
keep its lease while it runs a job. A rename is a single step (folder rows only), however
many files the folder holds."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

import httpx
import pytest

from conftest import BACKEND, KEY, KuraServer, fetch, run_kura

POLL = 0.005  # seconds between job polls while waiting for the job to start
SEED_THREADS = 8
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- helpers


def _content(tag: str, i: int) -> bytes:
    return f"kura folder job {tag} file {i}\n".encode()


def _layout(root: str, count: int) -> List[Tuple[str, str, int]]:
    """(folder, name, i) for `count` files under `root`: 10 % in `sub`, 1 % in `sub/deep`."""
    out = []
    for i in range(count):
        if i % 100 == 1:
            folder = f"{root}/sub/deep"
        elif i % 10 == 0:
            folder = f"{root}/sub"
        else:
            folder = root
        out.append((folder, f"f{i:05d}.txt", i))
    return out


def _seed(server: KuraServer, layout: List[Tuple[str, str, int]], tag: str) -> float:
    """Uploads every file of `layout` (httpx, SEED_THREADS threads, one connection each);
    returns the seconds it took."""
    local = threading.local()
    clients: list = []
    lock = threading.Lock()

    def client() -> httpx.Client:
        h = getattr(local, "h", None)
        if h is None:
            h = local.h = httpx.Client(base_url=server.url, auth=(KEY, ""), timeout=60)
            with lock:
                clients.append(h)
        return h

    def up(item):
        folder, name, i = item
        r = client().post(
            "/api/v1/files/upload",
            files=[
                ("fileName", (None, name)),
                ("folder", (None, folder)),
                ("useUniqueFileName", (None, "false")),
                ("file", ("upload", _content(tag, i), "application/octet-stream")),
            ],
        )
        assert r.status_code == 200, f"seeding {folder}/{name}: HTTP {r.status_code} {r.text}"

    t0 = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=SEED_THREADS) as ex:
            list(ex.map(up, layout))
    finally:
        for h in clients:
            h.close()
    return time.monotonic() - t0


def _expected(layout, root: str) -> List[str]:
    """The layout's file paths relative to `root`, sorted."""
    return sorted(f"{folder[len(root):]}/{name}".lstrip("/") for folder, name, _ in layout)


def _paged(client, **kw) -> list:
    out, skip = [], 0
    while True:
        page = client.assets.list(limit=1000, skip=skip, **kw)
        out.extend(page)
        if len(page) < 1000:
            return out
        skip += 1000


def _tree(client, root: str) -> Dict[str, List[str]]:
    """Every file below `root` (any depth): relative path -> the fileIds listed under it (a
    list, so that a name listed twice shows up). Pages are sorted by name, so that files of
    one name are the only ties and paging can neither hide nor repeat a name."""
    files: Dict[str, List[str]] = {}
    todo = [root]
    while todo:
        folder = todo.pop()
        for f in _paged(client, path=folder + "/", type="file", sort="ASC_NAME"):
            assert f.file_path == f"{folder}/{f.name}", (folder, f.file_path, f.name)
            rel = f.file_path[len(root) + 1:]
            files.setdefault(rel, []).append(f.file_id)
        for sub in _paged(client, path=folder + "/", type="folder", sort="ASC_NAME"):
            todo.append(sub.folder_path)
    return files


def _folders(client, root: str) -> List[str]:
    """`root` and every folder below it."""
    out, todo = [], [root]
    while todo:
        folder = todo.pop()
        out.append(folder)
        todo.extend(sub.folder_path for sub in _paged(client, path=folder + "/", type="folder"))
    return sorted(out)


def _assert_exactly_once(client, root: str, expected: List[str]) -> Dict[str, str]:
    """The tree under `root` holds each expected relative path exactly once, nothing else,
    and no file there has an older version. Returns relative path -> fileId."""
    tree = _tree(client, root)
    dupes = {k: v for k, v in tree.items() if len(v) != 1}
    assert not dupes, f"{len(dupes)} names listed more than once under {root}, e.g. {list(dupes.items())[:5]}"
    got = sorted(tree)
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, (
        f"under {root}: {len(got)} files, expected {len(expected)}; "
        f"{len(missing)} missing (e.g. {missing[:5]}), {len(extra)} unexpected (e.g. {extra[:5]})"
    )
    ids = {k: v[0] for k, v in tree.items()}
    assert len(set(ids.values())) == len(ids), f"some fileIds appear under two names below {root}"
    for folder in _folders(client, root):
        versions = client.assets.list(type="file-version", path=folder + "/", limit=1000)
        assert len(versions) == 0, (
            f"{len(versions)} files under {folder} have more than one version, e.g. "
            f"{[(v.file_path, v.version_info.name) for v in versions[:5]]}"
        )
    return ids


def _job(h: httpx.Client, job_id: str) -> dict:
    r = h.get(f"/v1/bulkJobs/{job_id}")
    assert r.status_code == 200, f"GET /v1/bulkJobs/{job_id}: HTTP {r.status_code} {r.text}"
    return r.json()


def _transferred(job: dict) -> int:
    return int((job.get("progress") or {}).get("filesTransferred") or 0)


def _wait_started(h: httpx.Client, job_id: str, timeout: float = 60) -> dict:
    """Polls every POLL s until the job reports filesTransferred > 0 while still Pending."""
    deadline = time.monotonic() + timeout
    while True:
        job = _job(h, job_id)
        assert job.get("status") == "Pending", (
            f"the job is no longer Pending before any progress was seen (too fast to interrupt?): {job}"
        )
        if _transferred(job) > 0:
            return job
        assert time.monotonic() < deadline, f"the job made no progress within {timeout}s: {job}"
        time.sleep(POLL)


def _wait_completed(server: KuraServer, job_id: str, timeout: float) -> Tuple[dict, float]:
    """Polls until Completed; returns (job, seconds waited). Fails on Failed or timeout."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    with server.http(auth=(KEY, "")) as h:
        while True:
            job = _job(h, job_id)
            status = job.get("status")
            if status == "Completed":
                return job, time.monotonic() - t0
            assert status == "Pending", f"job {job_id} ended as {status}: {job}\n{server.log()[-3000:]}"
            assert time.monotonic() < deadline, f"job {job_id} not Completed within {timeout}s: {job}"
            time.sleep(0.05)


def _job_record(server: KuraServer, job_id: str) -> Optional[dict]:
    """`kura job <id>` (attempts, node, …) or None when it does not know the id."""
    r = run_kura("job", "--data-dir", str(server.data_dir), job_id, env=server.extra_env)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def _node_name(server: KuraServer) -> Optional[str]:
    m = re.search(r"background jobs enabled node=(\S+)", ANSI.sub("", server.log()))
    return m.group(1) if m else None


def _assert_lease_kept(server: KuraServer, record: Optional[dict]) -> None:
    """A live node renews its lease every lease/3 while it runs a job; it must never lose it
    (losing it abandons the step in flight, and the job waits for the lease to run out)."""
    lost = [l for l in ANSI.sub("", server.log()).splitlines() if "lost the lease" in l]
    assert not lost, (
        f"the live node {_node_name(server)} lost its lease on a running job {len(lost)} time(s) "
        f"(job record: {record}):\n" + "\n".join(lost)
    )


def _assert_check_clean(server: KuraServer) -> None:
    r = server.check()
    assert r.returncode == 0 and "check: clean" in r.stdout, f"kura check:\n{r.stdout}{r.stderr}"
    assert "orphan blobs: 0" in r.stdout and "dangling rows (bytes missing): 0" in r.stdout, r.stdout


def _assert_delivers(server: KuraServer, pairs) -> None:
    for path, data in pairs:
        r = fetch(server.media + path)
        assert r.status_code == 200 and r.content == data, (path, r.status_code, r.content[:80])


# ---------------------------------------------------------------- (a) SIGKILL mid-copy


def test_copy_of_10000_files_survives_sigkill(tmp_path):
    count = 10_000
    tag = uuid.uuid4().hex[:8]
    s = KuraServer(tmp_path / "data", env={"KURA_JOB_BATCH_SIZE": "50", "KURA_JOB_LEASE_SECONDS": "2"})
    s.start()
    try:
        layout = _layout("/crash/src", count)
        seeded = _seed(s, layout, tag)
        print(f"seeded {count} files in {seeded:.1f} s ({count / seeded:.0f}/s)")
        c = s.client()
        expected = _expected(layout, "/crash/src")
        source_before = _assert_exactly_once(c, "/crash/src", expected)

        job_id = c.folders.copy(source_folder_path="/crash/src", destination_path="/crash/dst").job_id
        with s.http(auth=(KEY, "")) as h:
            job = _wait_started(h, job_id)
        s.kill()
        at_kill = _transferred(job)
        print(f"SIGKILL after {at_kill} of {count} files transferred (last poll)")
        assert 0 < at_kill < count, f"the kill did not land mid-job: {job}"

        s.start()
        with s.http(auth=(KEY, "")) as h:
            after_restart = _job(h, job_id)
        print(f"after restart, before resuming: {after_restart}")
        assert after_restart.get("status") in ("Pending", "Completed"), after_restart
        job, waited = _wait_completed(s, job_id, timeout=120)
        print(f"Completed {waited:.1f} s after the restart: {job}")
        assert job.get("jobId") == job_id and job.get("type") == "COPY_FOLDER", job
        progress = job.get("progress") or {}
        assert progress.get("filesTransferred") == count, job
        assert progress.get("appendedAsVersions") == 0, job
        assert not progress.get("skipped"), job
        c = s.client()  # the restarted server listens on another port
        sdk_view = c.folders.job.get(job_id)
        assert (sdk_view.status, sdk_view.type) == ("Completed", "COPY_FOLDER")

        dest = _assert_exactly_once(c, "/crash/dst/src", expected)
        assert not set(dest.values()) & set(source_before.values()), "the copy reused source fileIds"
        # /crash/dst holds the copied folder only
        assert [f.folder_path for f in c.assets.list(type="folder", path="/crash/dst/")] == ["/crash/dst/src"]
        assert c.assets.list(type="file", path="/crash/dst/") == []
        # the source is untouched
        assert _assert_exactly_once(c, "/crash/src", expected) == source_before
        # copies share the source's bytes and are delivered
        _assert_delivers(
            s,
            [(f"/crash/dst/src{folder[len('/crash/src'):]}/{name}", _content(tag, i)) for folder, name, i in layout[:: count // 7]],
        )

        assert s.stop() == 0, s.log()[-3000:]
        record = _job_record(s, job_id)
        print(f"kura job {job_id}: {record}")
        if record is not None and "attempts" in record:
            assert record["attempts"] >= 2, record
            assert record.get("state") == "done", record
        _assert_check_clean(s)
        _assert_lease_kept(s, record)
    finally:
        s.kill()


# ---------------------------------------------------------------- (b) another node takes over


@pytest.mark.skipif(BACKEND != "scaleout", reason="nodes share bytes only on the scaleout backend (PostgreSQL + S3)")
@pytest.mark.parametrize("kind", ["move", "copy"])
def test_move_job_taken_over_by_another_node(tmp_path, kind):
    """Node A starts the job and is SIGKILLed mid-way; node B, running all along on the same
    database and bucket, takes the job over once A's lease runs out and finishes it.

    A move into a folder that does not have the source's name yet is a single path rewrite,
    so the move variant first creates /m/dst/src: then the move goes file by file (merging
    into an existing folder) and can be interrupted."""
    count = 2000
    tag = uuid.uuid4().hex[:8]
    env = {"KURA_JOB_BATCH_SIZE": "20", "KURA_JOB_LEASE_SECONDS": "2"}
    a = KuraServer(tmp_path / "node-a", env=env).start()
    b = KuraServer(tmp_path / "node-b", env=a.extra_env).start()
    try:
        layout = _layout("/m/src", count)
        seeded = _seed(a, layout, tag)
        print(f"seeded {count} files in {seeded:.1f} s")
        ca, cb = a.client(), b.client()
        expected = _expected(layout, "/m/src")
        source_before = _assert_exactly_once(ca, "/m/src", expected)

        if kind == "move":
            ca.folders.create(folder_name="src", parent_folder_path="/m/dst")
            job_id = ca.folders.move(source_folder_path="/m/src", destination_path="/m/dst").job_id
        else:
            job_id = ca.folders.copy(source_folder_path="/m/src", destination_path="/m/dst").job_id
        with a.http(auth=(KEY, "")) as h:
            job = _wait_started(h, job_id)
        a.kill()
        at_kill = _transferred(job)
        print(f"node A SIGKILLed after {at_kill} of {count} files (last poll)")
        assert 0 < at_kill < count, f"the kill did not land mid-job: {job}"

        job, waited = _wait_completed(b, job_id, timeout=60)
        print(f"node B completed the job {waited:.1f} s after the kill: {job}")
        assert job.get("type") == ("MOVE_FOLDER" if kind == "move" else "COPY_FOLDER"), job
        progress = job.get("progress") or {}
        assert progress.get("filesTransferred") == count, job
        assert progress.get("appendedAsVersions") == 0, job
        assert not progress.get("skipped"), job

        dest = _assert_exactly_once(cb, "/m/dst/src", expected)
        if kind == "move":
            assert dest == source_before, "moved files must keep their fileIds"
            assert cb.assets.list(type="all", path="/m/src/") == []
            assert [f.folder_path for f in cb.assets.list(type="folder", path="/m/")] == ["/m/dst"]
        else:
            assert not set(dest.values()) & set(source_before.values())
            assert _assert_exactly_once(cb, "/m/src", expected) == source_before
        _assert_delivers(
            b,
            [(f"/m/dst/src{folder[len('/m/src'):]}/{name}", _content(tag, i)) for folder, name, i in layout[:: count // 5]],
        )

        record = _job_record(b, job_id)
        print(f"kura job {job_id}: {record}")
        if record is not None and "attempts" in record:
            assert record["attempts"] >= 2, record
            assert record.get("state") == "done", record
            node_a, node_b = _node_name(a), _node_name(b)
            assert node_b is not None and record.get("node") == node_b, (record, node_a, node_b)
            # A ran it first (B's poll could in principle have claimed it before A did)
            assert re.search(rf"running job job={re.escape(job_id)}\b", ANSI.sub("", a.log())), (
                "node A never ran the job"
            )
        assert b.stop() == 0
        _assert_check_clean(b)
        _assert_lease_kept(b, record)
    finally:
        a.kill()
        b.kill()


# ---------------------------------------------------------------- (c) rename is one step


def test_rename_of_2000_files_is_one_quick_step(tmp_path):
    """Files refer to their folder by id, so a rename rewrites folder rows only: one step,
    however small the batch size, and every file keeps its fileId."""
    count = 2000
    tag = uuid.uuid4().hex[:8]
    s = KuraServer(tmp_path / "data", env={"KURA_JOB_BATCH_SIZE": "20"})
    s.start()
    try:
        layout = _layout("/ren/before", count)
        _seed(s, layout, tag)
        c = s.client()
        expected = _expected(layout, "/ren/before")
        before = _assert_exactly_once(c, "/ren/before", expected)

        t0 = time.monotonic()
        job_id = c.folders.rename(folder_path="/ren/before", new_folder_name="after").job_id
        seen = set()
        with s.http(auth=(KEY, "")) as h:
            while True:
                job = _job(h, job_id)
                if job.get("status") != "Pending":
                    break
                seen.add(_transferred(job))
                assert time.monotonic() - t0 < 30, f"rename not done within 30 s: {job}"
                time.sleep(POLL)
        elapsed = time.monotonic() - t0
        print(f"rename of {count} files: {elapsed:.2f} s, progress seen while Pending: {sorted(seen)}")
        assert job.get("status") == "Completed" and job.get("type") == "RENAME_FOLDER", job
        partial = sorted(v for v in seen if 0 < v < count)
        assert not partial, f"the rename went file by file (progress seen: {partial[:10]}…)"
        assert elapsed < 10, f"a rename of {count} files took {elapsed:.1f} s"

        after = _assert_exactly_once(c, "/ren/after", expected)
        assert after == before, "renamed files must keep their fileIds"
        assert c.assets.list(type="all", path="/ren/before/") == []
        assert [f.folder_path for f in c.assets.list(type="folder", path="/ren/")] == ["/ren/after"]
        for rel in ("sub/f00010.txt", "f00002.txt", "sub/deep/f00101.txt"):
            got = c.files.get(before[rel])
            assert got.file_path == f"/ren/after/{rel}", (rel, got.file_path)
        _assert_delivers(s, [("/ren/after/f00002.txt", _content(tag, 2)), ("/ren/after/sub/deep/f00101.txt", _content(tag, 101))])
        assert fetch(s.media + "/ren/before/f00002.txt").status_code == 404

        assert s.stop() == 0
        _assert_check_clean(s)
    finally:
        s.kill()
