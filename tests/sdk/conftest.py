"""Shared fixtures and helpers for the Kura SDK integration suite.

`KuraServer` is the one helper that starts a `kura serve` process.  Every
process it starts is registered and killed at the end of the session (also on
failure / Ctrl-C), and Linux's PDEATHSIG makes the kernel kill it if pytest
itself dies.

Tests import the plain helpers with ``from conftest import ...`` (pytest's
default "prepend" import mode puts this directory on sys.path).
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import hmac
import http.server
import itertools
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Tuple

import httpx
import pytest

from imagekitio import ImageKit

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
KEY = "private_test_key"

HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LISTEN_RE = re.compile(r"kura listening on (http://127\.0\.0\.1:(\d+))")

# Which setup the servers run on: "embedded" (SQLite + local disk, the default), "postgres"
# (a fresh PostgreSQL database per server install, local disk) or "scaleout" (PostgreSQL and,
# under a prefix of its own, the S3 bucket at KURA_TEST_S3_ENDPOINT).
BACKEND = os.environ.get("KURA_TEST_BACKEND", "embedded")
PG_ADMIN_URL = os.environ.get(
    "KURA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
_DATABASES: list = []

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def kura_bin() -> Path:
    env = os.environ.get("KURA_BIN")
    return Path(env) if env else REPO / "target" / "debug" / "kura"


# --------------------------------------------------------------------------
# process bookkeeping
# --------------------------------------------------------------------------

_LIVE: Dict[int, subprocess.Popen] = {}
_SERVERS: list = []  # every KuraServer ever created (for failure logs)
_counter = itertools.count()


def _kill_all() -> None:
    for pid, proc in list(_LIVE.items()):
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(timeout=5)
            except Exception:
                pass
        _LIVE.pop(pid, None)


atexit.register(_kill_all)


def _pdeathsig() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _spawn(args: list, env: dict, log_path: Path, err_path: Optional[Path] = None) -> subprocess.Popen:
    log = open(log_path, "wb")
    err = open(err_path, "wb") if err_path is not None else None
    try:
        proc = subprocess.Popen(
            [str(a) for a in args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=err if err is not None else subprocess.STDOUT,
            preexec_fn=_pdeathsig if sys.platform.startswith("linux") else None,
        )
    finally:
        log.close()
        if err is not None:
            err.close()
    _LIVE[proc.pid] = proc
    return proc


# KURA_* settings the harness passes on to every server it starts (scripts/test reruns the
# search suite with KURA_SEARCH_INDEX=0); every other KURA_* variable is the test's to set.
PASSED_SETTINGS = ("KURA_SEARCH_INDEX",)


def _base_env() -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KURA_") or k in PASSED_SETTINGS
    }
    env.setdefault("RUST_BACKTRACE", "1")
    return env


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )


def backend_env() -> Dict[str, str]:
    """Environment that puts one server install on the selected backend (a fresh database)."""
    if BACKEND == "embedded":
        return {}
    if BACKEND in ("postgres", "scaleout"):
        name = "kura_sdk_" + uuid.uuid4().hex[:12]
        _psql(f"CREATE DATABASE {name}")
        _DATABASES.append(name)
        env = {"KURA_DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name}
        if BACKEND == "scaleout":
            endpoint = os.environ.get("KURA_TEST_S3_ENDPOINT")
            if not endpoint:
                pytest.fail("the scaleout backend needs KURA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS)")
            bucket = os.environ.get("KURA_TEST_S3_BUCKET", "kura-test")
            env["KURA_STORAGE"] = f"s3://{bucket}/{name}"
            env["KURA_S3_ENDPOINT"] = endpoint
        return env
    raise RuntimeError(f"unknown KURA_TEST_BACKEND {BACKEND!r}")


def _drop_databases() -> None:
    while _DATABASES:
        name = _DATABASES.pop()
        try:
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:
            pass


def run_kura(*args: str, env: Optional[dict] = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a one-shot kura sub-command (e.g. `check`) and capture its output."""
    e = _base_env()
    e.update(env or {})
    return subprocess.run(
        [str(kura_bin()), *args],
        env=e,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class KuraServer:
    """A `kura serve` process on an ephemeral port with its own data dir."""

    def __init__(
        self,
        data_dir: Path,
        env: Optional[Dict[str, str]] = None,
        private_key: Optional[str] = KEY,
        use_flags: bool = True,
        separate_stderr: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # one install = one data dir + (on the postgres backend) one database, kept across
        # restarts; explicit env wins so a test can still point elsewhere
        self.extra_env = {**backend_env(), **dict(env or {})}
        self.private_key = private_key
        self.use_flags = use_flags
        self.separate_stderr = separate_stderr
        self.proc: Optional[subprocess.Popen] = None
        self.url: Optional[str] = None
        self.port: Optional[int] = None
        self.log_path: Optional[Path] = None
        # logs live next to the (pytest-managed, temporary) data dir, not inside it
        self.logs_dir = self.data_dir.parent / f"{self.data_dir.name}-logs"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        _SERVERS.append(self)

    # -- lifecycle ---------------------------------------------------------
    def start(self, wait_health: bool = True) -> "KuraServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        binary = kura_bin()
        if not binary.exists():
            pytest.fail(f"kura binary not found at {binary} (run `cargo build` or set KURA_BIN)")
        env = _base_env()
        if self.private_key is not None:
            env["KURA_PRIVATE_KEY"] = self.private_key
        env.update(self.extra_env)
        args = [binary, "serve"]
        if self.use_flags:
            args += ["--listen", "127.0.0.1:0", "--data-dir", self.data_dir]
        self.log_path = self.logs_dir / f"kura-{next(_counter)}.log"
        self.err_path = self.log_path.with_suffix(".err") if self.separate_stderr else None
        self.proc = _spawn(args, env, self.log_path, self.err_path)

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            m = LISTEN_RE.search(self.log())
            if m:
                self.url, self.port = m.group(1), int(m.group(2))
                break
            if self.proc.poll() is not None:
                pytest.fail(f"kura exited with {self.proc.returncode} before listening:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"kura did not print its listening line within {START_TIMEOUT}s:\n{self.log()}")
            time.sleep(0.02)

        if wait_health:
            deadline = time.monotonic() + START_TIMEOUT
            last = None
            while time.monotonic() < deadline:
                try:
                    r = httpx.get(self.url + "/health", timeout=5)
                    last = r.status_code
                    if r.status_code == 200:
                        break
                except httpx.HTTPError as e:
                    last = repr(e)
                time.sleep(0.05)
            else:
                self.kill()
                pytest.fail(f"/health never returned 200 (last: {last}):\n{self.log()}")
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        _LIVE.pop(self.proc.pid, None)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        _LIVE.pop(self.proc.pid, None)

    def restart(self) -> "KuraServer":
        rc = self.stop()
        assert rc == 0, f"graceful stop exited with {rc}:\n{self.log()}"
        return self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- accessors ---------------------------------------------------------
    def log(self) -> str:
        """stdout (and stderr unless separate_stderr) of the current process."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def stderr(self) -> str:
        p = getattr(self, "err_path", None)
        return p.read_text(errors="replace") if p is not None and p.exists() else ""

    @property
    def public_url(self) -> str:
        return self.extra_env.get("KURA_PUBLIC_URL", self.url).rstrip("/")

    @property
    def media(self) -> str:
        """URL endpoint for delivery (`{public_url}/media`)."""
        return self.public_url + "/media"

    @property
    def local_media(self) -> str:
        """Delivery endpoint on the actual listener (differs from `media` with KURA_PUBLIC_URL)."""
        return self.url + "/media"

    def client(self, key: Optional[str] = None, **kw: Any) -> ImageKit:
        return ImageKit(
            private_key=key if key is not None else (self.private_key or KEY),
            base_url=self.url,
            max_retries=0,
            timeout=kw.pop("timeout", 60),
            **kw,
        )

    def http(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 30), **kw)

    def check(self, repair: bool = False) -> subprocess.CompletedProcess:
        args = ["check"]
        if repair:
            args.append("--repair")
        args += ["--data-dir", str(self.data_dir)]
        return run_kura(*args, env=self.extra_env)


# --------------------------------------------------------------------------
# pytest plumbing
# --------------------------------------------------------------------------


def pytest_sessionfinish(session, exitstatus):
    _kill_all()
    _drop_databases()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in _SERVERS:
            if s.log_path is not None and s.alive():
                tail = s.log()[-4000:]
                rep.sections.append((f"kura log {s.url}", tail))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = KuraServer(tmp_path_factory.mktemp("kura-data")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server) -> ImageKit:
    return server.client()


@pytest.fixture
def folder() -> str:
    """A fresh folder path so tests sharing a module server do not interfere."""
    return f"/t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def new_server(tmp_path):
    """Factory for servers with special env; all are stopped after the test."""
    started = []

    def make(env: Optional[dict] = None, data_dir: Optional[Path] = None, **kw) -> KuraServer:
        d = data_dir or (tmp_path / f"data{len(started)}")
        s = KuraServer(d, env=env, **kw)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()


# --------------------------------------------------------------------------
# test data
# --------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png(width: int, height: int, rgba: bool = False, seed: int = 0, text: bytes = b"") -> bytes:
    """A valid PNG; `seed` changes the pixels so every call can be unique; `text` adds a tEXt chunk."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            v = (x * 7 + y * 13 + seed * 31) & 0xFF
            px = [v, (v + seed) & 0xFF, (seed >> 8) & 0xFF]
            if rgba:
                px.append((x * 255 // max(width - 1, 1)) & 0xFF)
            row.extend(px)
        rows.append(bytes(row))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + (_png_chunk(b"tEXt", b"Comment\x00" + text) if text else b"")
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _png_chunk(b"IEND", b"")
    )


_seed = itertools.count(1)


def unique_png(width: int = 8, height: int = 6, rgba: bool = False) -> bytes:
    return make_png(width, height, rgba=rgba, seed=next(_seed) + os.getpid() * 1000)


def corpus(name: str) -> Path:
    p = CORPUS / name
    if not p.exists():
        pytest.fail(f"corpus file missing: {p}")
    return p


def exif_json(name: str) -> dict:
    import json

    return json.loads((CORPUS / "exiftool" / f"{name}.json").read_text())[0]


# --------------------------------------------------------------------------
# assertion helpers
# --------------------------------------------------------------------------


def assert_error_body(body: Any, message: Optional[str] = None) -> None:
    """ImageKit error shape: {"message": str, "help": str, ...}."""
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert isinstance(body.get("message"), str) and body["message"], f"no message in {body!r}"
    assert isinstance(body.get("help"), str), f"no help in {body!r}"
    if message is not None:
        assert body["message"] == message, f"message {body['message']!r} != {message!r}"


def assert_api_error(excinfo, cls, status: int, message: Optional[str] = None) -> dict:
    e = excinfo.value
    assert isinstance(e, cls), f"expected {cls.__name__}, got {type(e).__name__}: {e}"
    assert e.status_code == status
    assert_error_body(e.body, message)
    return e.body


def raw_upload(client: ImageKit, **kw) -> tuple[dict, Any]:
    """Upload through the SDK; return (raw JSON dict, parsed FileUploadResponse)."""
    resp = client.files.with_raw_response.upload(**kw)
    assert resp.http_response.status_code == 200, resp.http_response.text
    return resp.http_response.json(), resp.parse()


def raw_list(client: ImageKit, **kw) -> tuple[list, list]:
    resp = client.assets.with_raw_response.list(**kw)
    assert resp.http_response.status_code == 200, resp.http_response.text
    data = resp.http_response.json()
    assert isinstance(data, list), f"list response must be a bare JSON array: {data!r}"
    return data, resp.parse()


def multipart_upload(
    server: KuraServer,
    fields: Dict[str, str],
    file_bytes: Optional[bytes] = None,
    file_text: Optional[str] = None,
    key: Optional[str] = KEY,
    timeout: float = 30,
) -> httpx.Response:
    """Raw multipart POST to /api/v1/files/upload (for inputs the SDK refuses).

    `file_text` sends `file` as a plain text form field (URL / base64 / data-URI)."""
    files: list = [(k, (None, v)) for k, v in fields.items()]
    if file_bytes is not None:
        files.append(("file", ("upload", file_bytes, "application/octet-stream")))
    if file_text is not None:
        files.append(("file", (None, file_text)))
    auth = (key, "") if key is not None else None
    with httpx.Client(timeout=timeout) as h:
        return h.post(server.url + "/api/v1/files/upload", files=files, auth=auth)


def fetch(url: str, method: str = "GET", headers: Optional[dict] = None, timeout: float = 30) -> httpx.Response:
    with httpx.Client(timeout=timeout) as h:
        return h.request(method, url, headers=headers or {})


def sign_path(private_key: str, rel: str, expiry) -> str:
    """ImageKit URL signature: HMAC-SHA1(key, <url relative to endpoint/> + expiry)."""
    return hmac.new(private_key.encode(), f"{rel}{expiry}".encode(), hashlib.sha1).hexdigest()


__all__ = [
    "REPO",
    "CORPUS",
    "KEY",
    "HEX24",
    "ISO_MS_Z",
    "KuraServer",
    "run_kura",
    "make_png",
    "unique_png",
    "corpus",
    "exif_json",
    "assert_error_body",
    "assert_api_error",
    "raw_upload",
    "raw_list",
    "multipart_upload",
    "fetch",
    "sign_path",
]


# --------------------------------------------------------------------------
# a tiny file server on loopback (for upload from URL and metadata from URL)
# --------------------------------------------------------------------------


class _V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def serve_files(files: Dict[str, Tuple[str, bytes]], ipv6: bool = False) -> Iterator[str]:
    """Serves `files` (path -> (content type, bytes)) on 127.0.0.1 and, with `ipv6`, on [::1]
    at the same port when it is free; yields `http://127.0.0.1:<port>`. Other paths are 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            found = files.get(self.path.split("?", 1)[0])
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content_type, body = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    servers = [srv]
    if ipv6:
        try:
            servers.append(_V6Server(("::1", srv.server_address[1]), Handler))
        except OSError:
            pass
    for s in servers:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
