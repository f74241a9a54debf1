"""Server lifecycle, configuration and authentication."""

import base64
import stat

import httpx
import pytest

import imagekitio
from conftest import (
    KEY,
    KuraServer,
    assert_api_error,
    assert_error_body,
    fetch,
    raw_upload,
    unique_png,
)

MISSING_KEY_MSG = "Your request does not contain private API key."


# ---------------------------------------------------------------- health


def test_health(server):
    r = httpx.get(server.url + "/health", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body.get("version"), str) and body["version"]
    assert body["database"] == "ok"
    assert body["storage"] == "ok"


def test_listening_line_on_stdout(tmp_path):
    # the readiness line is on stdout, alone on its line, with the bound ephemeral port
    s = KuraServer(tmp_path / "d", separate_stderr=True)
    try:
        s.start()
        lines = [line.rstrip("\r") for line in s.log().splitlines()]
        assert s.port != 0
        assert lines.count(f"kura listening on http://127.0.0.1:{s.port}") == 1, lines
    finally:
        s.stop()


# ---------------------------------------------------------------- auth


def test_wrong_key_is_401_on_api(server):
    bad = server.client(key="private_wrong_key")
    with pytest.raises(imagekitio.AuthenticationError) as ei:
        bad.assets.list()
    assert_api_error(ei, imagekitio.AuthenticationError, 401)


def test_wrong_key_is_401_on_upload(server, folder):
    bad = server.client(key="private_wrong_key")
    with pytest.raises(imagekitio.AuthenticationError) as ei:
        bad.files.upload(file=unique_png(), file_name="x.png", folder=folder)
    assert_api_error(ei, imagekitio.AuthenticationError, 401)
    # nothing was stored
    assert server.client().assets.list(path=folder + "/", type="all") == []


def test_wrong_key_on_get_details_is_401(server):
    bad = server.client(key="private_wrong_key")
    with pytest.raises(imagekitio.AuthenticationError):
        bad.files.get("0123456789abcdef01234567")


@pytest.mark.parametrize(
    "path,method",
    [("/v1/files", "GET"), ("/v1/files/0123456789abcdef01234567/details", "GET"), ("/api/v1/files/upload", "POST")],
)
def test_missing_authorization_is_401(server, path, method):
    r = httpx.request(method, server.url + path, timeout=10)
    assert r.status_code == 401
    assert_error_body(r.json(), MISSING_KEY_MSG)


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(f"{KEY}:".encode()).decode(),  # Node SDK 6: empty password
        "Basic " + base64.b64encode(f"{KEY}:do_not_set".encode()).decode(),  # Python SDK
        "Basic " + base64.b64encode(f"{KEY}:anything-at-all".encode()).decode(),
    ],
    ids=["empty-password", "do_not_set", "other-password"],
)
def test_password_part_is_ignored(server, header):
    r = httpx.get(server.url + "/v1/files", headers={"Authorization": header}, timeout=10)
    assert r.status_code == 200, r.text
    assert isinstance(r.json(), list)


def test_basic_with_raw_key_form(server):
    # SPEC securitySchemes: `Authorization: Basic <private_api_key>` is also allowed
    r = httpx.get(server.url + "/v1/files", headers={"Authorization": f"Basic {KEY}"}, timeout=10)
    assert r.status_code == 200, r.text


def test_wrong_key_with_right_password_shape_is_401(server):
    h = "Basic " + base64.b64encode(f"{KEY}x:".encode()).decode()
    r = httpx.get(server.url + "/v1/files", headers={"Authorization": h}, timeout=10)
    assert r.status_code == 401
    assert_error_body(r.json())


def test_request_id_header(server):
    # DOCS api-introduction: every response carries x-ik-requestId
    r = httpx.get(server.url + "/v1/files", auth=(KEY, ""), timeout=10)
    assert r.status_code == 200
    assert r.headers.get("x-ik-requestId")
    r2 = httpx.get(server.url + "/v1/files", auth=(KEY, ""), timeout=10)
    assert r2.headers.get("x-ik-requestId") != r.headers.get("x-ik-requestId")


def test_unknown_api_route_is_404_json(server):
    r = httpx.get(server.url + "/v1/definitely-not-a-route", auth=(KEY, ""), timeout=10)
    assert r.status_code == 404


# ---------------------------------------------------------------- lifecycle / config


def test_sigterm_is_graceful_and_exits_zero(new_server):
    s = new_server()
    c = s.client()
    raw_upload(c, file=unique_png(), file_name="a.png")
    rc = s.stop()
    assert rc == 0, f"exit code {rc}\n{s.log()}"


def test_generated_private_key_is_stored_and_reused(tmp_path):
    data = tmp_path / "data"
    s = KuraServer(data, private_key=None)
    try:
        s.start()
        key_file = data / "private_key"
        assert key_file.exists(), f"no {key_file}; log:\n{s.log()}"
        mode = stat.S_IMODE(key_file.stat().st_mode)
        assert mode == 0o600, oct(mode)
        key = key_file.read_text().strip()
        assert key.startswith("private_") and len(key) > len("private_") + 8
        log = s.log()
        assert str(key_file) in log or str(key_file.resolve()) in log, f"key path not printed:\n{log}"
        assert key not in log, "the generated key itself must not be logged"

        c = s.client(key=key)
        up, _ = raw_upload(c, file=unique_png(), file_name="k.png")
        with pytest.raises(imagekitio.AuthenticationError):
            s.client(key=KEY).files.get(up["fileId"])

        assert s.stop() == 0
        s.start()
        assert key_file.read_text().strip() == key
        assert s.client(key=key).files.get(up["fileId"]).file_id == up["fileId"]
    finally:
        s.stop()


def test_env_private_key_is_used(new_server):
    s = new_server(env={"KURA_PRIVATE_KEY": "private_from_env"}, private_key=None)
    c = s.client(key="private_from_env")
    raw_upload(c, file=unique_png(), file_name="e.png")
    with pytest.raises(imagekitio.AuthenticationError):
        s.client(key=KEY).assets.list()


def test_env_listen_and_data_dir_without_flags(tmp_path):
    data = tmp_path / "envdata"
    data.mkdir()
    s = KuraServer(data, env={"KURA_LISTEN": "127.0.0.1:0", "KURA_DATA_DIR": str(data)}, use_flags=False)
    try:
        s.start()
        up, _ = raw_upload(s.client(), file=unique_png(), file_name="env.png")
        assert any(data.iterdir()), "nothing written to KURA_DATA_DIR"
    finally:
        s.stop()


def test_flags_win_over_env(tmp_path):
    flag_dir = tmp_path / "flagdir"
    env_dir = tmp_path / "envdir"
    env_dir.mkdir()
    # if the env listen address were used, binding would fail (invalid address)
    s = KuraServer(flag_dir, env={"KURA_LISTEN": "256.1.1.1:1", "KURA_DATA_DIR": str(env_dir)})
    try:
        s.start()
        raw_upload(s.client(), file=unique_png(), file_name="flag.png")
        assert any(flag_dir.iterdir()), "flag --data-dir not used"
        assert not any(env_dir.iterdir()), "KURA_DATA_DIR used although --data-dir was given"
    finally:
        s.stop()


def test_public_url_is_base_of_every_url(new_server):
    pub = "http://cdn.kura.test:8443/base"
    s = new_server(env={"KURA_PUBLIC_URL": pub})
    c = s.client()
    png = unique_png(5, 4)
    up, _ = raw_upload(c, file=png, file_name="pub.png", folder="/p", use_unique_file_name=False)
    assert up["url"].split("?")[0] == pub + "/media/p/pub.png"
    d = c.files.with_raw_response.get(up["fileId"]).http_response.json()
    assert d["url"].split("?")[0] == pub + "/media/p/pub.png"
    # the delivery route itself is on the real listener
    r = fetch(s.local_media + "/p/pub.png")
    assert r.status_code == 200 and r.content == png
    assert isinstance(up["thumbnailUrl"], str) and up["thumbnailUrl"].startswith(pub + "/"), up["thumbnailUrl"]
    assert isinstance(d["thumbnail"], str) and d["thumbnail"].startswith(pub + "/"), d["thumbnail"]


def test_default_public_url_is_listen_address(server, client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="d.png", folder=folder, use_unique_file_name=False)
    assert up["url"].split("?")[0] == f"http://127.0.0.1:{server.port}/media{folder}/d.png"


def test_check_on_fresh_and_used_data_dir(new_server):
    s = new_server()
    raw_upload(s.client(), file=unique_png(), file_name="c.png")
    assert s.stop() == 0
    r = s.check()
    assert r.returncode == 0, r.stdout + r.stderr
    assert (r.stdout + r.stderr).strip(), "check printed no report"
