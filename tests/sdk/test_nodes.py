"""Several stateless `kura serve` nodes on one PostgreSQL database and one S3 bucket.

Only meaningful on the scaleout backend, where both nodes share metadata *and* bytes."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import imagekitio
import pytest

from conftest import BACKEND, KuraServer, fetch, run_kura, unique_png

pytestmark = pytest.mark.skipif(
    BACKEND != "scaleout", reason="nodes share bytes only on the scaleout backend (PostgreSQL + S3)"
)


@pytest.fixture
def nodes(tmp_path):
    a = KuraServer(tmp_path / "node-a").start()
    # Same database and bucket, its own data dir (spool) and port.
    b = KuraServer(tmp_path / "node-b", env=a.extra_env).start()
    yield a, b
    a.stop()
    b.stop()


def on(node: KuraServer, url: str) -> str:
    """The same delivery URL, asked of another node."""
    return node.media + url.split("/media", 1)[1]


def test_upload_on_a_is_listed_and_delivered_by_b(nodes):
    a, b = nodes
    ca, cb = a.client(), b.client()
    data = unique_png(31, 17)
    up = ca.files.upload(file=data, file_name="shared.png", folder="/nodes", use_unique_file_name=False)

    seen = cb.files.get(up.file_id)
    assert (seen.file_path, seen.width, seen.height, seen.size) == ("/nodes/shared.png", 31, 17, len(data))
    assert [f.file_id for f in cb.assets.list(path="/nodes/")] == [up.file_id]
    assert [f.folder_path for f in cb.assets.list(type="folder")] == ["/nodes"]
    r = fetch(on(b, up.url))
    assert r.status_code == 200 and r.content == data


def test_changes_on_b_are_visible_on_a(nodes):
    a, b = nodes
    ca, cb = a.client(), b.client()
    up = ca.files.upload(file=unique_png(), file_name="edit.png", use_unique_file_name=False)

    cb.files.update(up.file_id, tags=["from-b"], description="set on node b")
    seen = ca.files.get(up.file_id)
    assert seen.tags == ["from-b"] and seen.description == "set on node b"

    new_bytes = unique_png(5, 5)
    v2 = cb.files.upload(file=new_bytes, file_name="edit.png", use_unique_file_name=False)
    assert v2.file_id == up.file_id and v2.version_info.name == "Version 2"
    assert ca.files.get(up.file_id).version_info.name == "Version 2"
    assert fetch(on(a, up.url)).content == new_bytes

    cb.files.delete(up.file_id)
    with pytest.raises(imagekitio.NotFoundError):
        ca.files.get(up.file_id)
    assert fetch(on(a, up.url)).status_code == 404


def test_both_nodes_overwriting_one_name_make_one_history(nodes):
    a, b = nodes
    clients = [a.client(), b.client()]
    payloads = [unique_png(4 + i, 4) for i in range(10)]

    def up(i):
        return clients[i % 2].files.upload(
            file=payloads[i], file_name="both.png", folder="/race", use_unique_file_name=False
        )

    with ThreadPoolExecutor(max_workers=10) as ex:
        results = list(ex.map(up, range(10)))
    assert len({r.file_id for r in results}) == 1
    assert sorted(int(r.version_info.name.split()[1]) for r in results) == list(range(1, 11))


def test_a_node_can_leave_and_join(nodes, tmp_path):
    a, b = nodes
    up = a.client().files.upload(file=unique_png(), file_name="stay.png", use_unique_file_name=False)
    a.kill()
    c = KuraServer(tmp_path / "node-c", env=b.extra_env).start()
    try:
        assert c.client().files.get(up.file_id).file_id == up.file_id
        assert fetch(on(c, up.url)).status_code == 200
    finally:
        c.stop()


def _job(node: KuraServer, job_id: str) -> dict:
    r = run_kura("job", "--data-dir", str(node.data_dir), job_id, env=node.extra_env)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_a_job_whose_node_dies_is_finished_by_another_exactly_once(tmp_path):
    """A scrub (one read per blob) is started on node A, A is SIGKILLed mid-job, and node B
    takes the job over once A's lease runs out and finishes it; A's claim never finishes it."""
    lease = {"KURA_JOB_LEASE_SECONDS": "2"}
    a = KuraServer(tmp_path / "job-a", env=lease).start()
    c = a.client()
    count = 400
    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(lambda i: c.files.upload(file=os.urandom(2048), file_name=f"s{i}.bin"), range(count)))

    r = run_kura("scrub", "--data-dir", str(a.data_dir), env=a.extra_env)
    assert r.returncode == 0, r.stdout + r.stderr
    job_id = r.stdout.strip()

    deadline = time.monotonic() + 30
    while True:
        job = _job(a, job_id)
        if job["state"] == "running":
            break
        assert job["state"] == "queued", f"the job ended before it could be interrupted: {job}"
        assert time.monotonic() < deadline, "node A never started the job"
        time.sleep(0.02)
    first_node = job["node"]
    assert job["attempts"] == 1
    a.kill()

    b = KuraServer(tmp_path / "job-b", env=a.extra_env).start()
    try:
        deadline = time.monotonic() + 60
        while (job := _job(b, job_id))["state"] != "done":
            assert job["state"] in ("running", "queued"), job
            assert time.monotonic() < deadline, f"node B did not finish the job: {job}"
            time.sleep(0.2)
        assert job["attempts"] == 2, job
        assert job["node"] != first_node, job
        assert job["result"] == {"checked": count, "damaged": [], "missing": []}
    finally:
        b.stop()


def wait_for_search_index(node: KuraServer, timeout: float = 30) -> dict:
    """Until /health says the node's search index is built (searches before it use SQL)."""
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        state = httpx.get(node.url + "/health", timeout=5).json().get("searchIndex")
        if isinstance(state, dict):
            return state
        time.sleep(0.05)
    raise AssertionError(f"search index of {node.url} not built after {timeout}s")


def test_each_nodes_search_index_sees_writes_from_both(nodes):
    # Concurrent writers on two nodes commit events out of number order on PostgreSQL; each
    # node's index must still see every write that returned before its search was sent.
    a, b = nodes
    wait_for_search_index(a)
    wait_for_search_index(b)
    ca, cb = a.client(), b.client()
    tag = "n" + os.urandom(4).hex()
    query = f'tags IN ["{tag}"]'

    def upload(i: int) -> str:
        client = ca if i % 2 else cb
        return client.files.upload(
            file=unique_png(),
            file_name=f"n{i}.png",
            folder=f"/search-nodes-{tag}",
            tags=[tag],
            use_unique_file_name=False,
        ).file_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(upload, range(60)))
    assert len(ids) == 60
    for client in (ca, cb):
        assert {f.file_id for f in client.assets.list(search_query=query)} == ids

    changed, deleted = sorted(ids)[:2]
    cb.files.update(changed, tags=["elsewhere"])
    assert changed not in {f.file_id for f in ca.assets.list(search_query=query)}
    assert [f.file_id for f in ca.assets.list(search_query='tags IN ["elsewhere"]')] == [changed]
    ca.files.delete(deleted)
    assert {f.file_id for f in cb.assets.list(search_query=query)} == ids - {changed, deleted}

    # A folder renamed through a job on one node is found under its new path on the other.
    job = ca.folders.rename(folder_path=f"/search-nodes-{tag}", new_folder_name=f"renamed-{tag}")
    for _ in range(200):
        if ca.folders.job.get(job.job_id).status == "Completed":
            break
        time.sleep(0.05)
    found = cb.assets.list(search_query=f'path : "/renamed-{tag}" AND {query}')
    assert {f.file_id for f in found} == ids - {changed, deleted}
    assert all(f.file_path.startswith(f"/renamed-{tag}/") for f in found)
    state = wait_for_search_index(b)
    assert state["rows"] >= 58
