"""POST /api/v1/files/upload through the Python SDK (and raw multipart where the SDK cannot)."""

import base64
import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

import imagekitio
from conftest import (
    HEX24,
    assert_api_error,
    assert_error_body,
    fetch,
    make_png,
    multipart_upload,
    raw_list,
    raw_upload,
    serve_files,
    unique_png,
)

OVERWRITE_CONFLICT_MSG = (
    "A file with the same name already exists at the exact location. We could not overwrite it "
    "because both overwriteFile and useUniqueFileName are set to false."
)
MISSING_FILE_MSG = "Your request is missing file parameter."
OPTIONAL_FIELDS = ("tags", "customCoordinates", "isPrivateFile", "isPublished", "customMetadata")


# ---------------------------------------------------------------- response shape


def test_upload_response_shape(server, client, folder):
    png = make_png(37, 21, seed=101)
    data, model = raw_upload(client, file=png, file_name="hello.png", folder=folder)

    assert HEX24.match(data["fileId"]), data["fileId"]
    assert re.fullmatch(r"hello_[A-Za-z0-9_-]+\.png", data["name"]), data["name"]
    assert data["filePath"] == f"{folder}/{data['name']}"
    assert data["url"].split("?")[0] == f"{server.media}{data['filePath']}"
    assert data["size"] == len(png)
    assert data["fileType"] == "image"
    assert data["width"] == 37 and data["height"] == 21
    assert data["versionInfo"] == {"id": data["fileId"], "name": "Version 1"}
    # only returned when requested through responseFields
    for k in OPTIONAL_FIELDS:
        assert k not in data, f"{k} returned without responseFields: {data}"

    # the SDK model parses the wire names
    assert model.file_id == data["fileId"]
    assert model.file_path == data["filePath"]
    assert model.version_info.id == data["fileId"]
    assert model.width == 37

    r = fetch(data["url"])
    assert r.status_code == 200 and r.content == png

    assert isinstance(data["thumbnailUrl"], str), f"thumbnailUrl must be a URL string: {data['thumbnailUrl']!r}"
    assert data["thumbnailUrl"].startswith(server.public_url + "/")
    assert model.thumbnail_url == data["thumbnailUrl"]


def test_unique_file_name_default(client, folder):
    a, _ = raw_upload(client, file=unique_png(), file_name="same.jpg", folder=folder)
    b, _ = raw_upload(client, file=unique_png(), file_name="same.jpg", folder=folder)
    assert a["fileId"] != b["fileId"]
    assert a["name"] != b["name"]
    for d in (a, b):
        assert d["name"] != "same.jpg"
        assert d["name"].startswith("same_") and d["name"].endswith(".jpg")
        assert d["versionInfo"]["name"] == "Version 1"


def test_use_unique_file_name_false_keeps_name(client, folder):
    d, _ = raw_upload(client, file=unique_png(), file_name="exact.png", folder=folder, use_unique_file_name=False)
    assert d["name"] == "exact.png"
    assert d["filePath"] == f"{folder}/exact.png"


@pytest.mark.parametrize(
    "requested,expected",
    [
        ("my photo (1)+x&y.png", "my_photo__1__x_y.png"),
        ("a/b\\c.png", "a_b_c.png"),
        ("caf\u00e9.png", "caf_.png"),
        ("semi;colon'quote\".txt", "semi_colon_quote_.txt"),
        ("Dots.and-Dashes.0.png", "Dots.and-Dashes.0.png"),
        ("../escape.png", ".._escape.png"),
    ],
)
def test_file_name_sanitised(client, folder, requested, expected):
    d, _ = raw_upload(client, file=unique_png(), file_name=requested, folder=folder, use_unique_file_name=False)
    assert d["name"] == expected
    assert d["filePath"] == f"{folder}/{expected}"
    assert fetch(d["url"]).status_code == 200


def test_unique_suffix_applied_after_sanitising(client, folder):
    d, _ = raw_upload(client, file=unique_png(), file_name="two words.png", folder=folder)
    assert re.fullmatch(r"two_words_[A-Za-z0-9_-]+\.png", d["name"]), d["name"]


def test_name_from_file_name_not_part_filename(client, folder):
    # a file tuple carries its own part filename; the asset must be named from fileName
    d, _ = raw_upload(
        client,
        file=("other-name.gif", unique_png(), "image/gif"),
        file_name="real.png",
        folder=folder,
        use_unique_file_name=False,
    )
    assert d["name"] == "real.png"


# ---------------------------------------------------------------- folders


def test_folder_created_with_parents(client, folder):
    d, _ = raw_upload(client, file=unique_png(), file_name="deep.png", folder=f"{folder}/a/b/c", use_unique_file_name=False)
    assert d["filePath"] == f"{folder}/a/b/c/deep.png"

    root_folders, _ = raw_list(client, type="folder", path="/")
    assert folder in [f["folderPath"] for f in root_folders]
    for parent, child in [(folder, "a"), (f"{folder}/a", "b"), (f"{folder}/a/b", "c")]:
        items, parsed = raw_list(client, type="folder", path=parent + "/")
        assert [(i["type"], i["name"], i["folderPath"]) for i in items] == [("folder", child, f"{parent}/{child}")]
        assert isinstance(parsed[0], imagekitio.types.Folder)


@pytest.mark.parametrize("given", ["{f}/x/y/", "{f}/x/y", "{fs}/x/y/", "{fs}/x/y"])
def test_folder_normalised(client, folder, given):
    fl = given.format(f=folder, fs=folder.lstrip("/"))
    d, _ = raw_upload(client, file=unique_png(), file_name="n.png", folder=fl, use_unique_file_name=False)
    assert d["filePath"] == f"{folder}/x/y/n.png"


def test_default_folder_is_root(client):
    d, _ = raw_upload(client, file=unique_png(), file_name="rootfile.png")
    assert d["filePath"] == "/" + d["name"]
    d, _ = raw_upload(client, file=unique_png(), file_name="rootfile.png", folder="/")
    assert d["filePath"] == "/" + d["name"]


def test_concurrent_overwrites_of_one_name(client, folder):
    """Eight simultaneous uploads to one path: one file, eight consecutive versions."""
    n = 8
    payloads = [unique_png(3 + i, 3) for i in range(n)]

    def up(i):
        return client.files.upload(file=payloads[i], file_name="race.png", folder=folder, use_unique_file_name=False)

    with ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(up, range(n)))
    assert len({r.file_id for r in results}) == 1
    assert sorted(r.version_info.name for r in results) == sorted(f"Version {i}" for i in range(1, n + 1))
    assert len({r.version_info.id for r in results}) == n
    files, _ = raw_list(client, path=folder + "/")
    assert len(files) == 1
    versions, _ = raw_list(client, type="file-version", path=folder + "/")
    assert len(versions) == n - 1
    current = client.files.get(results[0].file_id)
    assert current.version_info.name == f"Version {n}"
    last = next(i for i, r in enumerate(results) if r.version_info.name == f"Version {n}")
    assert fetch(current.url).content == payloads[last]


def test_concurrent_unique_uploads_get_distinct_names(client, folder):
    n = 10

    def up(i):
        return client.files.upload(file=unique_png(), file_name="same.png", folder=folder)

    with ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(up, range(n)))
    assert len({r.name for r in results}) == n
    assert len({r.file_id for r in results}) == n
    assert len(client.assets.list(path=folder + "/")) == n


# ---------------------------------------------------------------- overwrite / versions


def test_overwrite_creates_new_version_same_file_id(server, client, folder):
    v1 = make_png(10, 10, seed=7)
    v2 = make_png(20, 12, seed=8)
    a, _ = raw_upload(client, file=v1, file_name="ver.png", folder=folder, use_unique_file_name=False)
    b, _ = raw_upload(client, file=v2, file_name="ver.png", folder=folder, use_unique_file_name=False)
    assert b["fileId"] == a["fileId"]
    assert b["name"] == "ver.png" and b["filePath"] == a["filePath"]
    assert HEX24.match(b["versionInfo"]["id"])
    assert b["versionInfo"]["id"] != a["versionInfo"]["id"]
    assert b["versionInfo"]["name"] == "Version 2"
    assert (b["width"], b["height"], b["size"]) == (20, 12, len(v2))

    got = client.files.get(a["fileId"])
    assert got.version_info.id == b["versionInfo"]["id"]
    assert got.version_info.name == "Version 2"
    assert (got.width, got.height, got.size) == (20, 12, len(v2))
    assert fetch(got.url).content == v2

    # still one current file at that path
    files, _ = raw_list(client, path=folder + "/")
    assert [f["fileId"] for f in files] == [a["fileId"]]

    c, _ = raw_upload(client, file=unique_png(), file_name="ver.png", folder=folder, use_unique_file_name=False)
    assert c["fileId"] == a["fileId"] and c["versionInfo"]["name"] == "Version 3"


def test_overwrite_with_other_type_replaces_metadata(client, folder):
    from conftest import corpus

    kw = dict(file_name="morph.png", folder=folder, use_unique_file_name=False)
    a, _ = raw_upload(client, file=make_png(40, 30, seed=9), **kw)
    pdf = corpus("document.pdf").read_bytes()
    b, _ = raw_upload(client, file=pdf, **kw)
    assert b["fileId"] == a["fileId"] and b["fileType"] == "non-image"
    got = client.files.with_raw_response.get(a["fileId"]).http_response.json()
    assert got["mime"] == "application/pdf"
    assert got["fileType"] == "non-image"
    assert got["size"] == len(pdf)
    assert (got.get("width"), got.get("height")) != (40, 30), "stale dimensions from version 1"
    r = fetch(got["url"])
    assert r.content == pdf
    assert r.headers["content-type"].split(";")[0] == "application/pdf"


def test_overwrite_file_false_conflict(client, folder):
    v1 = unique_png()
    a, _ = raw_upload(client, file=v1, file_name="keep.png", folder=folder, use_unique_file_name=False, tags=["orig"])
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.upload(
            file=unique_png(12, 12),
            file_name="keep.png",
            folder=folder,
            use_unique_file_name=False,
            overwrite_file=False,
            tags=["new"],
        )
    assert_api_error(ei, imagekitio.BadRequestError, 400, OVERWRITE_CONFLICT_MSG)
    got = client.files.get(a["fileId"])
    assert got.version_info.id == a["fileId"] and got.version_info.name == "Version 1"
    assert got.size == len(v1)
    assert got.tags == ["orig"]
    assert fetch(got.url).content == v1
    versions, _ = raw_list(client, type="file-version", path=folder + "/")
    assert versions == []


def test_overwrite_file_false_without_conflict_ok(client, folder):
    d, _ = raw_upload(
        client, file=unique_png(), file_name="fresh.png", folder=folder, use_unique_file_name=False, overwrite_file=False
    )
    assert d["name"] == "fresh.png"


def test_overwrite_file_false_with_unique_names_ok(client, folder):
    raw_upload(client, file=unique_png(), file_name="u.png", folder=folder, use_unique_file_name=False)
    d, _ = raw_upload(client, file=unique_png(), file_name="u.png", folder=folder, overwrite_file=False)
    assert d["name"] != "u.png" and d["versionInfo"]["name"] == "Version 1"


# ---------------------------------------------------------------- optional fields


def test_tags_and_flags_roundtrip(client, folder):
    d, _ = raw_upload(
        client,
        file=unique_png(),
        file_name="meta.png",
        folder=folder,
        tags=["summer", "sale-2024", "with space"],
        is_private_file=True,
        is_published=False,
        custom_coordinates="10,10,20,20",
        description="A small test image",
        response_fields=["tags", "customCoordinates", "isPrivateFile", "isPublished", "customMetadata"],
    )
    assert d["tags"] == ["summer", "sale-2024", "with space"]
    assert d["customCoordinates"] == "10,10,20,20"
    assert d["isPrivateFile"] is True
    assert d["isPublished"] is False
    assert d["customMetadata"] == {}

    raw = client.files.with_raw_response.get(d["fileId"]).http_response.json()
    assert raw["tags"] == ["summer", "sale-2024", "with space"]
    assert raw["customCoordinates"] == "10,10,20,20"
    assert raw["isPrivateFile"] is True
    assert raw["isPublished"] is False
    assert raw["description"] == "A small test image"


def test_response_fields_subset(client, folder):
    d, _ = raw_upload(
        client,
        file=unique_png(),
        file_name="rf.png",
        folder=folder,
        tags=["a"],
        custom_coordinates="1,2,3,4",
        response_fields=["isPrivateFile"],
    )
    assert d["isPrivateFile"] is False
    for k in ("tags", "customCoordinates", "isPublished", "customMetadata"):
        assert k not in d, k


def test_response_fields_defaults_when_unset(client, folder):
    d, _ = raw_upload(
        client,
        file=unique_png(),
        file_name="rfd.png",
        folder=folder,
        response_fields=["tags", "customCoordinates", "isPrivateFile", "isPublished", "customMetadata"],
    )
    assert d["tags"] is None
    assert d["customCoordinates"] is None
    assert d["isPrivateFile"] is False
    assert d["isPublished"] is True
    assert d["customMetadata"] == {}


def _get_raw(client, file_id):
    return client.files.with_raw_response.get(file_id).http_response.json()


def test_overwrite_without_tags_clears_tags_and_coordinates(client, folder):
    kw = dict(file_name="ot.png", folder=folder, use_unique_file_name=False)
    a, _ = raw_upload(client, file=unique_png(), tags=["x", "y"], custom_coordinates="1,1,5,5", **kw)
    raw_upload(client, file=unique_png(), **kw)
    got = _get_raw(client, a["fileId"])
    assert got["tags"] is None
    assert got["customCoordinates"] is None


def test_overwrite_tags_false_keeps_tags(client, folder):
    kw = dict(file_name="otf.png", folder=folder, use_unique_file_name=False)
    a, _ = raw_upload(client, file=unique_png(), tags=["keep1", "keep2"], **kw)
    b, _ = raw_upload(client, file=unique_png(), overwrite_tags=False, response_fields=["tags"], **kw)
    assert b["versionInfo"]["name"] == "Version 2"
    assert b["tags"] == ["keep1", "keep2"]
    assert _get_raw(client, a["fileId"])["tags"] == ["keep1", "keep2"]


def test_overwrite_with_new_tags_replaces(client, folder):
    kw = dict(file_name="otn.png", folder=folder, use_unique_file_name=False)
    a, _ = raw_upload(client, file=unique_png(), tags=["old"], **kw)
    raw_upload(client, file=unique_png(), tags=["new1", "new2"], **kw)
    assert _get_raw(client, a["fileId"])["tags"] == ["new1", "new2"]
    # overwriteTags=false with explicit tags: the given tags still win
    raw_upload(client, file=unique_png(), tags=["newer"], overwrite_tags=False, **kw)
    assert _get_raw(client, a["fileId"])["tags"] == ["newer"]


def test_overwrite_ai_tags_and_custom_metadata_flags_accepted(client, folder):
    kw = dict(file_name="oai.png", folder=folder, use_unique_file_name=False)
    a, _ = raw_upload(client, file=unique_png(), **kw)
    b, _ = raw_upload(
        client,
        file=unique_png(),
        overwrite_ai_tags=False,
        overwrite_custom_metadata=False,
        response_fields=["customMetadata"],
        **kw,
    )
    assert b["fileId"] == a["fileId"] and b["versionInfo"]["name"] == "Version 2"
    assert b["customMetadata"] == {}
    got = _get_raw(client, a["fileId"])
    assert got["AITags"] is None


# ---------------------------------------------------------------- input forms


def test_upload_file_object(client, folder):
    png = unique_png(9, 9)
    d, _ = raw_upload(client, file=io.BytesIO(png), file_name="fo.png", folder=folder)
    assert d["size"] == len(png)
    assert fetch(d["url"]).content == png


def test_upload_open_file_and_path(client, folder, tmp_path):
    png = unique_png(11, 3)
    p = tmp_path / "ondisk.png"
    p.write_bytes(png)
    with open(p, "rb") as fh:
        d1, _ = raw_upload(client, file=fh, file_name="fh.png", folder=folder)
    d2, _ = raw_upload(client, file=p, file_name="path.png", folder=folder)
    for d in (d1, d2):
        assert d["size"] == len(png) and (d["width"], d["height"]) == (11, 3)
        assert fetch(d["url"]).content == png


def test_upload_base64_string(server, folder):
    png = unique_png(6, 7)
    r = multipart_upload(
        server,
        {"fileName": "b64.png", "folder": folder, "useUniqueFileName": "false"},
        file_text=base64.b64encode(png).decode(),
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["size"] == len(png) and (d["width"], d["height"]) == (6, 7)
    assert fetch(d["url"]).content == png


def test_upload_data_uri_string(server, folder):
    png = unique_png(4, 5)
    r = multipart_upload(
        server,
        {"fileName": "datauri.png", "folder": folder},
        file_text="data:image/png;base64," + base64.b64encode(png).decode(),
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["size"] == len(png) and d["fileType"] == "image"
    assert fetch(d["url"]).content == png


def test_raw_multipart_booleans_and_comma_tags(server, client, folder):
    # the exact serialisation both SDKs use: "true"/"false" and comma-joined lists
    r = multipart_upload(
        server,
        {
            "fileName": "wire.png",
            "folder": folder,
            "useUniqueFileName": "false",
            "isPrivateFile": "true",
            "tags": "t1,t2",
            "responseFields": "tags,isPrivateFile",
        },
        file_bytes=unique_png(),
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["name"] == "wire.png"
    assert d["tags"] == ["t1", "t2"]
    assert d["isPrivateFile"] is True


def test_multipart_field_order_does_not_matter(server, folder):
    # file part first, metadata after it
    png = unique_png(5, 6)
    files = [
        ("file", ("upload", png, "application/octet-stream")),
        ("fileName", (None, "late.png")),
        ("folder", (None, folder)),
        ("useUniqueFileName", (None, "false")),
        ("tags", (None, "late1,late2")),
        ("responseFields", (None, "tags")),
    ]
    import httpx

    from conftest import KEY

    r = httpx.post(server.url + "/api/v1/files/upload", files=files, auth=(KEY, ""), timeout=30)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["filePath"] == f"{folder}/late.png"
    assert d["tags"] == ["late1", "late2"]
    assert (d["width"], d["height"]) == (5, 6)
    assert fetch(d["url"]).content == png


@pytest.mark.parametrize(
    "text",
    ["data:image/png;base64,@@@not*base64@@@", "this is neither a URL nor base64 !!!", "ftp://127.0.0.1/x.png"],
    ids=["bad-data-uri", "plain-text", "ftp-url"],
)
def test_invalid_file_string_400(server, client, folder, text):
    r = multipart_upload(server, {"fileName": "bad.png", "folder": folder}, file_text=text)
    assert r.status_code == 400, r.text
    assert_error_body(r.json())
    assert client.assets.list(path=folder + "/") == []


def test_missing_file_is_400(server, folder):
    r = multipart_upload(server, {"fileName": "nofile.png", "folder": folder})
    assert r.status_code == 400
    assert_error_body(r.json(), MISSING_FILE_MSG)


def test_missing_file_name_is_400(server, folder):
    r = multipart_upload(server, {"folder": folder}, file_bytes=unique_png())
    assert r.status_code == 400
    assert_error_body(r.json())


# ---------------------------------------------------------------- bad names / folders


@pytest.mark.parametrize(
    "kw",
    [
        {"folder": "/a/../b"},
        {"folder": ".."},
        {"folder": "/ok/.."},
        {"folder": "/x\x00y"},
        {"file_name": ""},
        {"file_name": "a" * 252 + ".png"},  # 256 bytes
        {"folder": "/" + "/".join(["abcdefghi"] * 103)},  # 1030 chars
    ],
    ids=["dotdot-middle", "dotdot-only", "dotdot-end", "nul-folder", "empty-name", "name-256-bytes", "folder-1030"],
)
def test_bad_names_rejected(client, folder, kw):
    args = {"file": unique_png(), "file_name": "bad.png", "use_unique_file_name": False, **kw}
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.upload(**args)
    assert_api_error(ei, imagekitio.BadRequestError, 400)


def test_long_but_valid_name_ok(client, folder):
    name = "b" * 200 + ".png"
    d, _ = raw_upload(client, file=unique_png(), file_name=name, folder=folder, use_unique_file_name=False)
    assert d["name"] == name


def test_nothing_stored_after_rejections(client, folder):
    with pytest.raises(imagekitio.BadRequestError):
        client.files.upload(file=unique_png(), file_name="", folder=folder)
    with pytest.raises(imagekitio.BadRequestError):
        client.files.upload(file=unique_png(), file_name="x.png", folder=folder + "/../y")
    assert client.assets.list(path=folder + "/", type="all") == []


# ---------------------------------------------------------------- URL uploads


@pytest.fixture
def local_http():
    """Serves /img.png (and a 2 MB /big.bin) on 127.0.0.1 and, on the same port if possible,
    on [::1]."""
    png = make_png(33, 17, seed=4242)
    files = {"/img.png": ("image/png", png), "/big.bin": ("application/octet-stream", bytes(2_000_000))}
    with serve_files(files, ipv6=True) as url:
        yield url, png


@pytest.mark.parametrize(
    "url",
    [
        "{local}/img.png",
        "http://localhost:{port}/img.png",
        "http://[::1]:{port}/img.png",
        "http://127.1:{port}/img.png",
        "http://2130706433:{port}/img.png",
        "http://0.0.0.0:{port}/img.png",
        "http://169.254.169.254/latest/meta-data/",
    ],
    ids=["127.0.0.1", "localhost", "ipv6-loopback", "127.1", "decimal-ip", "0.0.0.0", "metadata-ip"],
)
def test_url_upload_private_address_refused(server, client, folder, local_http, url):
    local, _ = local_http
    port = local.rsplit(":", 1)[1]
    r = multipart_upload(server, {"fileName": "url.png", "folder": folder}, file_text=url.format(local=local, port=port))
    assert r.status_code == 400, r.text
    assert_error_body(r.json())
    assert client.assets.list(path=folder + "/") == []


def test_url_upload_allowed_with_env(new_server, local_http):
    s = new_server(env={"KURA_ALLOW_PRIVATE_URLS": "1"})
    local, png = local_http
    r = multipart_upload(s, {"fileName": "fetched.png", "useUniqueFileName": "false"}, file_text=local + "/img.png")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["name"] == "fetched.png"
    assert d["size"] == len(png)
    assert (d["width"], d["height"]) == (33, 17)
    assert fetch(s.local_media + "/fetched.png").content == png

    # an unreachable resource is a 400, not a stored empty file
    r = multipart_upload(s, {"fileName": "missing.png", "useUniqueFileName": "false"}, file_text=local + "/nope.png")
    assert r.status_code == 400, r.text
    assert_error_body(r.json())
    assert [f.name for f in s.client().assets.list()] == ["fetched.png"]


def test_url_upload_respects_size_limit(new_server, local_http):
    s = new_server(env={"KURA_ALLOW_PRIVATE_URLS": "1", "KURA_MAX_UPLOAD_SIZE": "1000000"})
    local, _ = local_http
    r = multipart_upload(s, {"fileName": "big.bin"}, file_text=local + "/big.bin")
    assert r.status_code in (400, 413), r.status_code
    assert_error_body(r.json())
    assert s.client().assets.list() == []
