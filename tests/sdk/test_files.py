"""File details, update, delete and bulk delete."""

from datetime import datetime, timezone

import httpx
import pytest

import imagekitio
from conftest import (
    ISO_MS_Z,
    KEY,
    assert_api_error,
    assert_error_body,
    fetch,
    make_png,
    raw_list,
    raw_upload,
    unique_png,
)

NOT_FOUND_MSG = "The requested file does not exist."
BULK_NOT_FOUND_MSG = "The requested file(s) does not exist."
MISSING_ID = "0123456789abcdef01234567"

FILE_KEYS = {
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
    "url",
    "thumbnail",
    "fileType",
    "mime",
    "width",
    "height",
    "size",
    "hasAlpha",
    "customMetadata",
    "createdAt",
    "updatedAt",
}


def _raw_get(client, file_id):
    r = client.files.with_raw_response.get(file_id)
    assert r.http_response.status_code == 200
    return r.http_response.json(), r.parse()


# ---------------------------------------------------------------- get


def test_get_details_shape(server, client, folder):
    png = make_png(12, 9, rgba=True, seed=55)
    before = datetime.now(timezone.utc)
    up, _ = raw_upload(client, file=png, file_name="det.png", folder=folder, use_unique_file_name=False)
    d, model = _raw_get(client, up["fileId"])

    missing = FILE_KEYS - d.keys()
    assert not missing, f"missing keys {missing} in {d}"
    assert d["fileId"] == up["fileId"]
    assert d["type"] == "file"
    assert d["name"] == "det.png"
    assert d["filePath"] == f"{folder}/det.png"
    assert d["tags"] is None
    assert d["AITags"] is None
    assert d["customCoordinates"] is None
    assert d["customMetadata"] == {}
    assert d["isPrivateFile"] is False
    assert d["isPublished"] is True
    assert d["versionInfo"] == {"id": up["fileId"], "name": "Version 1"}
    assert d["url"].split("?")[0] == f"{server.media}{folder}/det.png"
    assert d["fileType"] == "image"
    assert d["mime"] == "image/png"
    assert (d["width"], d["height"], d["size"]) == (12, 9, len(png))
    assert d["hasAlpha"] is True
    for k in ("createdAt", "updatedAt"):
        assert ISO_MS_Z.match(d[k]), f"{k}={d[k]!r} is not ISO-8601 with ms and Z"
    created = datetime.strptime(d["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((created - before).total_seconds()) < 60
    assert d["updatedAt"] >= d["createdAt"]

    # SDK model
    assert model.file_id == up["fileId"] and model.type == "file"
    assert model.created_at is not None and model.created_at.tzinfo is not None
    assert model.version_info.name == "Version 1"
    assert fetch(d["url"]).content == png
    assert isinstance(d["thumbnail"], str), f"thumbnail must be a URL string: {d['thumbnail']!r}"
    assert d["thumbnail"].startswith(server.public_url + "/")


def test_get_unknown_file_404(client):
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.get(MISSING_ID)
    assert_api_error(ei, imagekitio.NotFoundError, 404, NOT_FOUND_MSG)


@pytest.mark.parametrize("bad", ["not-an-id", "zzzzzzzzzzzzzzzzzzzzzzzz", "0123", "0123456789abcdef0123456789"])
def test_get_malformed_id(client, bad):
    with pytest.raises(imagekitio.APIStatusError) as ei:
        client.files.get(bad)
    assert ei.value.status_code in (400, 404)
    assert_error_body(ei.value.body)


def test_details_and_list_item_agree(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="agree.png", folder=folder, tags=["z"])
    d, _ = _raw_get(client, up["fileId"])
    items, _ = raw_list(client, path=folder + "/")
    assert len(items) == 1
    item = items[0]
    for k in FILE_KEYS - {"url", "thumbnail"}:
        assert item.get(k) == d[k], k


# ---------------------------------------------------------------- update


def test_update_tags_coordinates_description(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="upd.png", folder=folder)
    r = client.files.with_raw_response.update(
        up["fileId"], tags=["red", "blue"], custom_coordinates="5,6,7,8", description="updated text"
    )
    assert r.http_response.status_code == 200
    body = r.http_response.json()
    assert body["fileId"] == up["fileId"]
    assert body["tags"] == ["red", "blue"]
    assert body["customCoordinates"] == "5,6,7,8"
    assert body["description"] == "updated text"
    parsed = r.parse()
    assert parsed.tags == ["red", "blue"]

    d, _ = _raw_get(client, up["fileId"])
    assert d["tags"] == ["red", "blue"]
    assert d["customCoordinates"] == "5,6,7,8"
    assert d["description"] == "updated text"
    # update does not create a version
    assert d["versionInfo"] == {"id": up["fileId"], "name": "Version 1"}
    assert ISO_MS_Z.match(d["updatedAt"])


def test_update_tags_none_clears(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="clr.png", folder=folder, tags=["a", "b"])
    res = client.files.update(up["fileId"], tags=None)
    assert res.tags is None
    d, _ = _raw_get(client, up["fileId"])
    assert d["tags"] is None


def test_update_custom_coordinates_none_clears(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="cc.png", folder=folder, custom_coordinates="1,2,3,4")
    client.files.update(up["fileId"], custom_coordinates=None)
    d, _ = _raw_get(client, up["fileId"])
    assert d["customCoordinates"] is None


def test_update_only_given_fields_change(client, folder):
    up, _ = raw_upload(
        client, file=unique_png(), file_name="part.png", folder=folder, tags=["t"], custom_coordinates="1,1,2,2"
    )
    client.files.update(up["fileId"], description="only description")
    d, _ = _raw_get(client, up["fileId"])
    assert d["tags"] == ["t"]
    assert d["customCoordinates"] == "1,1,2,2"
    assert d["description"] == "only description"


def test_update_remove_ai_tags_accepted(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="ai.png", folder=folder, tags=["keep"])
    res = client.files.update(up["fileId"], remove_ai_tags="all")
    assert res.ai_tags is None
    res = client.files.update(up["fileId"], remove_ai_tags=["car", "vehicle"])
    d, _ = _raw_get(client, up["fileId"])
    assert d["AITags"] is None
    assert d["tags"] == ["keep"]


def test_update_publish_status(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="pub.png", folder=folder)
    r = client.files.with_raw_response.update(up["fileId"], publish={"isPublished": False})
    assert r.http_response.status_code == 200
    assert r.http_response.json()["isPublished"] is False
    d, _ = _raw_get(client, up["fileId"])
    assert d["isPublished"] is False
    client.files.update(up["fileId"], publish={"isPublished": True, "includeFileVersions": True})
    d, _ = _raw_get(client, up["fileId"])
    assert d["isPublished"] is True


def test_update_unknown_file_404(client):
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.update(MISSING_ID, tags=["x"])
    assert_api_error(ei, imagekitio.NotFoundError, 404, NOT_FOUND_MSG)


def test_update_wire_null_tags(server, client, folder):
    # what the SDK puts on the wire for tags=None, sent by hand
    up, _ = raw_upload(client, file=unique_png(), file_name="wire.png", folder=folder, tags=["q"])
    r = httpx.patch(
        f"{server.url}/v1/files/{up['fileId']}/details",
        json={"tags": None},
        auth=(KEY, "do_not_set"),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["tags"] is None


# ---------------------------------------------------------------- delete


def test_delete_file(server, client, folder):
    png = unique_png()
    up, _ = raw_upload(client, file=png, file_name="del.png", folder=folder, use_unique_file_name=False)
    assert fetch(up["url"]).status_code == 200

    raw = client.files.with_raw_response.delete(up["fileId"])
    assert raw.http_response.status_code == 204
    assert raw.http_response.content == b""
    assert raw.parse() is None

    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.get(up["fileId"])
    assert_api_error(ei, imagekitio.NotFoundError, 404, NOT_FOUND_MSG)
    assert fetch(up["url"]).status_code == 404
    assert client.assets.list(path=folder + "/") == []


def test_delete_returns_none_via_sdk(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="del2.png", folder=folder)
    assert client.files.delete(up["fileId"]) is None


def test_delete_removes_all_versions(client, folder):
    kw = dict(file_name="dv.png", folder=folder, use_unique_file_name=False)
    a, _ = raw_upload(client, file=unique_png(), **kw)
    raw_upload(client, file=unique_png(), **kw)
    assert len(client.assets.list(type="file-version", path=folder + "/")) == 1
    client.files.delete(a["fileId"])
    assert client.assets.list(type="file-version", path=folder + "/") == []
    assert client.assets.list(path=folder + "/") == []


def test_delete_unknown_404(client):
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.delete(MISSING_ID)
    assert_api_error(ei, imagekitio.NotFoundError, 404)


def test_delete_twice_404(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="twice.png", folder=folder)
    client.files.delete(up["fileId"])
    with pytest.raises(imagekitio.NotFoundError):
        client.files.delete(up["fileId"])


def test_reupload_after_delete_gets_new_id(client, folder):
    kw = dict(file_name="again.png", folder=folder, use_unique_file_name=False)
    a, _ = raw_upload(client, file=unique_png(), **kw)
    client.files.delete(a["fileId"])
    png = unique_png()
    b, _ = raw_upload(client, file=png, **kw)
    assert b["fileId"] != a["fileId"]
    assert b["versionInfo"] == {"id": b["fileId"], "name": "Version 1"}
    assert fetch(b["url"]).content == png


# ---------------------------------------------------------------- bulk delete


def test_bulk_delete(client, folder):
    ups = [raw_upload(client, file=unique_png(), file_name=f"b{i}.png", folder=folder)[0] for i in range(3)]
    keep, _ = raw_upload(client, file=unique_png(), file_name="keep.png", folder=folder)
    ids = [u["fileId"] for u in ups]

    r = client.files.bulk.with_raw_response.delete(file_ids=ids)
    assert r.http_response.status_code == 200
    body = r.http_response.json()
    assert sorted(body["successfullyDeletedFileIds"]) == sorted(ids)
    assert sorted(r.parse().successfully_deleted_file_ids) == sorted(ids)

    for u in ups:
        with pytest.raises(imagekitio.NotFoundError):
            client.files.get(u["fileId"])
        assert fetch(u["url"]).status_code == 404
    assert [f.file_id for f in client.assets.list(path=folder + "/")] == [keep["fileId"]]


def test_bulk_delete_sdk_return(client, folder):
    up, _ = raw_upload(client, file=unique_png(), file_name="bs.png", folder=folder)
    res = client.files.bulk.delete(file_ids=[up["fileId"]])
    assert res.successfully_deleted_file_ids == [up["fileId"]]


def test_bulk_delete_all_missing_404(client):
    missing = [MISSING_ID, "fedcba9876543210fedcba98"]
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.bulk.delete(file_ids=missing)
    body = assert_api_error(ei, imagekitio.NotFoundError, 404, BULK_NOT_FOUND_MSG)
    assert sorted(body["missingFileIds"]) == sorted(missing)


def test_bulk_delete_empty_400(client):
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.bulk.delete(file_ids=[])
    assert_api_error(ei, imagekitio.BadRequestError, 400, "fileIds is empty.")
