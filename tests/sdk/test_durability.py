"""Persistence across restarts, crash safety, `kura check`, upload size limit."""

import base64
import os
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

import imagekitio
from conftest import (
    KEY,
    KuraServer,
    assert_error_body,
    fetch,
    make_png,
    multipart_upload,
    raw_list,
    raw_upload,
    unique_png,
)

STABLE_KEYS = (
    "fileId",
    "type",
    "name",
    "filePath",
    "tags",
    "AITags",
    "versionInfo",
    "isPrivateFile",
    "isPublished",
    "customCoordinates",
    "fileType",
    "mime",
    "width",
    "height",
    "size",
    "hasAlpha",
    "customMetadata",
    "createdAt",
    "updatedAt",
)


def _details(client, fid):
    return client.files.with_raw_response.get(fid).http_response.json()


def _check_clean(server: KuraServer) -> None:
    """`kura check` must pass; orphan blobs may be repaired once, dangling rows never."""
    r = server.check()
    if r.returncode != 0:
        rep = server.check(repair=True)
        assert rep.returncode == 0, f"check --repair failed:\n{rep.stdout}{rep.stderr}"
        r2 = server.check()
        assert r2.returncode == 0, (
            f"check still failing after --repair (dangling rows?):\nfirst:\n{r.stdout}{r.stderr}\n"
            f"after repair:\n{r2.stdout}{r2.stderr}"
        )


# ---------------------------------------------------------------- persistence


def test_data_survives_graceful_restart(new_server):
    s = new_server()
    c = s.client()
    files = {}
    a = make_png(21, 13, seed=1)
    d, _ = raw_upload(c, file=a, file_name="a.png", folder="/keep/one", use_unique_file_name=False,
                      tags=["t1", "t2"], custom_coordinates="1,2,3,4")
    files[d["fileId"]] = a
    b = make_png(5, 5, seed=2)
    d2, _ = raw_upload(c, file=b, file_name="private.png", folder="/keep", use_unique_file_name=False,
                       is_private_file=True)
    files[d2["fileId"]] = b
    v1, v2 = make_png(3, 3, seed=3), make_png(4, 4, seed=4)
    raw_upload(c, file=v1, file_name="ver.png", folder="/keep", use_unique_file_name=False)
    d3, _ = raw_upload(c, file=v2, file_name="ver.png", folder="/keep", use_unique_file_name=False)
    files[d3["fileId"]] = v2
    c.files.update(d["fileId"], description="persisted description")

    before = {fid: _details(c, fid) for fid in files}
    folders_before, _ = raw_list(c, type="folder", path="/keep/")
    versions_before, _ = raw_list(c, type="file-version", path="/keep/")

    rc = s.stop()
    assert rc == 0, f"SIGTERM exit code {rc}\n{s.log()}"
    s.start()
    c = s.client()

    for fid, data in files.items():
        after = _details(c, fid)
        for k in STABLE_KEYS:
            assert after.get(k) == before[fid].get(k), (k, before[fid].get(k), after.get(k))
        assert after["description"] == before[fid]["description"]
        assert after["url"].split("?")[0] == s.media + after["filePath"]
        if after["isPrivateFile"]:
            assert fetch(after["url"]).status_code == 401
            url = c.helper.build_url(src=after["filePath"], url_endpoint=s.media, signed=True, expires_in=60)
            assert fetch(url).content == data
        else:
            assert fetch(after["url"]).content == data

    folders_after, _ = raw_list(c, type="folder", path="/keep/")
    assert folders_after == folders_before
    versions_after, _ = raw_list(c, type="file-version", path="/keep/")
    assert [v["versionInfo"] for v in versions_after] == [v["versionInfo"] for v in versions_before]

    # still writable after restart; versions continue
    d4, _ = raw_upload(c, file=make_png(6, 6, seed=5), file_name="ver.png", folder="/keep", use_unique_file_name=False)
    assert d4["fileId"] == d3["fileId"] and d4["versionInfo"]["name"] == "Version 3"

    assert s.stop() == 0
    r = s.check()
    assert r.returncode == 0, r.stdout + r.stderr


def test_deletes_survive_restart(new_server):
    s = new_server()
    c = s.client()
    d, _ = raw_upload(c, file=unique_png(), file_name="gone.png", use_unique_file_name=False)
    keep, _ = raw_upload(c, file=unique_png(), file_name="stay.png", use_unique_file_name=False)
    c.files.delete(d["fileId"])
    s.restart()
    c = s.client()
    with pytest.raises(imagekitio.NotFoundError):
        c.files.get(d["fileId"])
    assert fetch(s.media + "/gone.png").status_code == 404
    assert [f.file_id for f in c.assets.list()] == [keep["fileId"]]
    assert s.stop() == 0
    r = s.check()
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- crash


def _multipart_head(boundary: str, fields: dict) -> bytes:
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return out


class StreamingUpload:
    """A raw multipart upload whose body stops half-way until `release()` is called."""

    def __init__(self, server: KuraServer, fields: dict, first: bytes, rest: bytes, timeout: float = 30):
        self.started = threading.Event()
        self._release = threading.Event()
        self.response = None
        self.error = None
        boundary = uuid.uuid4().hex
        head = _multipart_head(boundary, fields)

        def body():
            yield head
            yield first
            self.started.set()
            self._release.wait(timeout)
            yield rest
            yield f"\r\n--{boundary}--\r\n".encode()

        def run():
            try:
                self.response = httpx.post(
                    server.url + "/api/v1/files/upload",
                    content=body(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                    auth=(KEY, ""),
                    timeout=timeout,
                )
            except Exception as e:  # connection reset by a dying server etc.
                self.error = e

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def release(self):
        self._release.set()

    def join(self, timeout=60):
        self.thread.join(timeout)


def test_crash_mid_upload_recovers(new_server):
    s = new_server()
    c = s.client(timeout=60)
    size = 5 * 1024 * 1024
    payloads = {f"crash{i:02d}.bin": os.urandom(size) for i in range(12)}
    shared = [os.urandom(size) for _ in range(4)]  # versions of one path, raced with the rest
    acked = {}
    lock = threading.Lock()

    def worker(names):
        for n in names:
            try:
                r = c.files.upload(file=payloads[n], file_name=n, folder="/crash", use_unique_file_name=False)
                with lock:
                    acked[n] = r.file_id
            except Exception:
                return

    def shared_worker():
        for data in shared:
            try:
                c.files.upload(file=data, file_name="shared.bin", folder="/crash", use_unique_file_name=False)
            except Exception:
                return

    # one upload that is guaranteed to be half-way through its body when the server dies
    stuck = StreamingUpload(
        s,
        {"fileName": "stuck.bin", "folder": "/crash", "useUniqueFileName": "false"},
        os.urandom(1024 * 1024),
        os.urandom(1024 * 1024),
    )

    names = sorted(payloads)
    threads = [threading.Thread(target=worker, args=(names[i::4],)) for i in range(4)]
    threads.append(threading.Thread(target=shared_worker))
    for t in threads:
        t.start()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            n_acked = len(acked)
        if n_acked >= 2 and stuck.started.is_set():
            break
        time.sleep(0.005)
    assert stuck.started.is_set(), "streaming upload never started"
    with lock:
        acked_before_kill = dict(acked)
    s.kill()  # SIGKILL with uploads in flight
    stuck.release()
    stuck.join()
    for t in threads:
        t.join(60)
    assert len(acked_before_kill) >= 1, "no upload finished before the kill; cannot judge durability"
    assert len(acked_before_kill) < len(payloads), "everything finished before the kill; nothing was in flight"

    s.start()
    c = s.client(timeout=60)
    listed, _ = raw_list(c, path="/crash/")
    listed_names = {f["name"]: f for f in listed}
    # every acknowledged upload is durable
    for n, fid in acked_before_kill.items():
        assert n in listed_names, f"acknowledged upload {n} lost after crash"
        assert listed_names[n]["fileId"] == fid
    # the half-sent upload never became a file
    assert "stuck.bin" not in listed_names
    # every listed file is complete and serves exactly its bytes
    for n, f in listed_names.items():
        assert n in payloads or n == "shared.bin", f"unexpected file {n}"
        r = fetch(f["url"], timeout=60)
        assert r.status_code == 200, (n, r.status_code)
        assert len(r.content) == f["size"] == size, n
        if n == "shared.bin":
            assert r.content in shared, "shared.bin serves bytes of no uploaded version"
        else:
            assert r.content == payloads[n], f"{n} content differs"
    # versions are consistent too: consecutive names, each with its full size
    if "shared.bin" in listed_names:
        cur = listed_names["shared.bin"]
        versions, _ = raw_list(c, type="file-version", path="/crash/")
        names_v = sorted(int(v["versionInfo"]["name"].split()[-1]) for v in versions if v["name"] == "shared.bin")
        current_no = int(cur["versionInfo"]["name"].split()[-1])
        assert sorted(names_v + [current_no]) == list(range(1, current_no + 1))
        assert all(v["size"] == size for v in versions)

    # the server is fully usable after recovery
    d, _ = raw_upload(c, file=b"after crash", file_name="after.bin", folder="/crash", use_unique_file_name=False)
    assert fetch(d["url"]).content == b"after crash"

    assert s.stop() == 0
    _check_clean(s)


def test_sigterm_with_upload_in_flight(new_server):
    """Graceful stop with an upload half-sent: exit 0, and acknowledged == persisted."""
    s = new_server()
    first, rest = os.urandom(512 * 1024), os.urandom(512 * 1024)
    up = StreamingUpload(s, {"fileName": "inflight.bin", "useUniqueFileName": "false"}, first, rest)
    assert up.started.wait(10)
    time.sleep(0.2)
    s.proc.send_signal(15)
    time.sleep(0.5)
    up.release()
    up.join()
    rc = s.stop()
    assert rc == 0, f"exit code {rc} after SIGTERM with a request in flight\n{s.log()}"
    r = s.check()
    assert r.returncode == 0, "graceful shutdown left garbage:\n" + r.stdout + r.stderr

    s.start()
    listed = [f.name for f in s.client().assets.list()]
    if up.response is not None and up.response.status_code == 200:
        assert listed == ["inflight.bin"]
        assert fetch(s.media + "/inflight.bin").content == first + rest
    else:
        assert listed == []


# ---------------------------------------------------------------- kura check


def _find_blob(data_dir: Path, data: bytes):
    for p in data_dir.rglob("*"):
        try:
            if p.is_file() and p.stat().st_size == len(data) and p.read_bytes() == data:
                return p
        except OSError:
            pass
    return None


def test_check_detects_and_repairs_orphan_blob(new_server):
    s = new_server()
    c = s.client()
    data = os.urandom(100_000)
    d, _ = raw_upload(c, file=data, file_name="blob.bin", use_unique_file_name=False)
    assert s.stop() == 0
    assert s.check().returncode == 0

    blob = _find_blob(s.data_dir, data)
    if blob is None:
        pytest.skip("blobs are not stored as plain files; cannot plant an orphan")
    last = blob.name[-1]
    orphan = blob.with_name(blob.name[:-1] + ("0" if last != "0" else "1"))
    orphan.write_bytes(os.urandom(1000))

    r = s.check()
    assert r.returncode == 1, f"orphan blob {orphan} not reported:\n{r.stdout}{r.stderr}"
    s.check(repair=True)
    assert not orphan.exists(), "check --repair did not remove the orphan blob"
    assert blob.exists(), "check --repair removed a referenced blob"
    r = s.check()
    assert r.returncode == 0, r.stdout + r.stderr

    s.start()
    assert fetch(s.client().files.get(d["fileId"]).url).content == data


def test_check_detects_dangling_row(new_server):
    s = new_server()
    c = s.client()
    data = os.urandom(50_000)
    raw_upload(c, file=data, file_name="dangle.bin", use_unique_file_name=False)
    assert s.stop() == 0
    blob = _find_blob(s.data_dir, data)
    if blob is None:
        pytest.skip("blobs are not stored as plain files; cannot remove one")
    blob.unlink()
    r = s.check()
    assert r.returncode == 1, f"missing blob not reported:\n{r.stdout}{r.stderr}"


# ---------------------------------------------------------------- size limit


def test_upload_size_limit_413(new_server):
    s = new_server(env={"KURA_MAX_UPLOAD_SIZE": "1000000"})
    c = s.client()
    with pytest.raises(imagekitio.APIStatusError) as ei:
        c.files.upload(file=os.urandom(2_000_000), file_name="big.bin", use_unique_file_name=False)
    assert ei.value.status_code == 413
    assert_error_body(ei.value.body)
    assert c.assets.list(type="all") == []
    assert fetch(s.media + "/big.bin").status_code == 404

    small = os.urandom(500_000)
    d, _ = raw_upload(c, file=small, file_name="small.bin", use_unique_file_name=False)
    assert fetch(d["url"]).content == small
    assert [f.name for f in c.assets.list()] == ["small.bin"]

    assert s.stop() == 0
    r = s.check()
    assert r.returncode == 0, r.stdout + r.stderr


def test_upload_size_limit_chunked_body(new_server):
    """No Content-Length (chunked): the limit must be enforced while streaming."""
    s = new_server(env={"KURA_MAX_UPLOAD_SIZE": "1000000"})
    up = StreamingUpload(s, {"fileName": "chunked.bin"}, os.urandom(600_000), os.urandom(1_400_000))
    up.release()
    up.join()
    assert up.response is not None, f"no HTTP response: {up.error!r}"
    assert up.response.status_code == 413, up.response.status_code
    assert_error_body(up.response.json())
    assert s.client().assets.list() == []
    assert s.stop() == 0
    r = s.check()
    assert r.returncode == 0, r.stdout + r.stderr


def test_upload_size_limit_base64(new_server):
    s = new_server(env={"KURA_MAX_UPLOAD_SIZE": "1000000"})

    r = multipart_upload(s, {"fileName": "big64.bin"}, file_text=base64.b64encode(os.urandom(1_500_000)).decode())
    assert r.status_code in (400, 413), r.status_code
    assert_error_body(r.json())
    assert s.client().assets.list() == []
