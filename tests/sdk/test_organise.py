"""Organising the library: copy / move / rename files, versions, bulk tags, cache purge,
folders and folder jobs (copy / move / rename)."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import imagekitio
from conftest import (
    HEX24,
    assert_api_error,
    fetch,
    raw_list,
    raw_upload,
    unique_png,
)

MISSING_ID = "0123456789abcdef01234567"
OTHER_MISSING_ID = "fedcba9876543210fedcba98"
JOB_TIMEOUT = 20.0


# ---------------------------------------------------------------- helpers


def up(client, folder, name, data=None, **kw):
    """Upload `data` (a fresh PNG by default) as `folder/name`, overwriting (= new version)."""
    d, _ = raw_upload(
        client, file=data if data is not None else unique_png(), file_name=name, folder=folder,
        use_unique_file_name=False, **kw
    )
    return d


def versions(client, file_id):
    r = client.files.versions.with_raw_response.list(file_id)
    assert r.http_response.status_code == 200, r.http_response.text
    data = r.http_response.json()
    assert isinstance(data, list), data
    return data


def files_in(client, path):
    """filePath -> item for the current files directly in `path`."""
    items, _ = raw_list(client, path=path.rstrip("/") + "/")
    return {i["filePath"]: i for i in items}


def folders_in(client, path):
    items, _ = raw_list(client, type="folder", path=path.rstrip("/") + "/")
    return sorted(i["name"] for i in items)


def wait_job(client, job_id, kind):
    assert isinstance(job_id, str) and job_id
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        r = client.folders.job.with_raw_response.get(job_id)
        assert r.http_response.status_code == 200, r.http_response.text
        body = r.http_response.json()
        assert body["jobId"] == job_id
        assert body["type"] == kind
        assert body["status"] in ("Pending", "Completed"), body
        parsed = r.parse()
        assert parsed.job_id == job_id and parsed.type == kind
        if body["status"] == "Completed":
            return body
        assert time.monotonic() < deadline, f"job {job_id} not completed after {JOB_TIMEOUT}s: {body}"
        time.sleep(0.05)


def start_job(raw):
    """Return the jobId of a raw folders.copy/move/rename response."""
    assert raw.http_response.status_code in (200, 202), raw.http_response.text
    body = raw.http_response.json()
    assert isinstance(body.get("jobId"), str) and body["jobId"], body
    assert raw.parse().job_id == body["jobId"]
    return body["jobId"]


def copy_folder(client, source, destination, **kw):
    raw = client.folders.with_raw_response.copy(source_folder_path=source, destination_path=destination, **kw)
    assert raw.http_response.status_code == 200, raw.http_response.text
    return wait_job(client, start_job(raw), "COPY_FOLDER")


def move_folder(client, source, destination):
    raw = client.folders.with_raw_response.move(source_folder_path=source, destination_path=destination)
    assert raw.http_response.status_code == 200, raw.http_response.text
    return wait_job(client, start_job(raw), "MOVE_FOLDER")


def rename_folder(client, path, new_name, **kw):
    raw = client.folders.with_raw_response.rename(folder_path=path, new_folder_name=new_name, **kw)
    return wait_job(client, start_job(raw), "RENAME_FOLDER")


def wait_purge(client, request_id):
    deadline = time.monotonic() + 10
    while True:
        r = client.cache.invalidation.with_raw_response.get(request_id)
        assert r.http_response.status_code == 200, r.http_response.text
        status = r.http_response.json()["status"]
        assert status in ("Pending", "Completed")
        if status == "Completed":
            return
        assert time.monotonic() < deadline, "purge never completed"
        time.sleep(0.05)


# ================================================================ copy file


def test_copy_file_into_new_folder(server, client, folder):
    png = unique_png()
    src = up(client, folder + "/src", "c.png", png)
    raw = client.files.with_raw_response.copy(source_file_path=src["filePath"], destination_path=folder + "/dst/")
    assert raw.http_response.status_code == 204, raw.http_response.text
    assert raw.parse() is None

    # the destination folder was created
    assert folders_in(client, folder) == ["dst", "src"]
    copies = files_in(client, folder + "/dst")
    assert list(copies) == [f"{folder}/dst/c.png"]
    copy = copies[f"{folder}/dst/c.png"]
    assert copy["fileId"] != src["fileId"] and HEX24.match(copy["fileId"])
    assert copy["name"] == "c.png"
    assert copy["size"] == len(png)
    assert fetch(copy["url"]).content == png
    assert len(versions(client, copy["fileId"])) == 1

    # the source is untouched
    orig = client.files.get(src["fileId"])
    assert orig.file_path == f"{folder}/src/c.png"
    assert fetch(orig.url).content == png


def test_copy_file_sdk_returns_none(client, folder):
    src = up(client, folder, "n.png")
    assert client.files.copy(source_file_path=src["filePath"], destination_path=folder + "/x") is None
    assert list(files_in(client, folder + "/x")) == [f"{folder}/x/n.png"]


def test_copy_file_current_version_only_by_default(client, folder):
    up(client, folder + "/a", "v.png")
    v2 = unique_png(9, 9)
    last = up(client, folder + "/a", "v.png", v2)
    assert last["versionInfo"]["name"] == "Version 2"
    client.files.copy(source_file_path=f"{folder}/a/v.png", destination_path=folder + "/b")
    (copy,) = files_in(client, folder + "/b").values()
    vs = versions(client, copy["fileId"])
    assert len(vs) == 1
    assert vs[0]["type"] == "file"
    assert copy["size"] == len(v2)
    assert fetch(copy["url"]).content == v2


def test_copy_file_include_versions(client, folder):
    datas = [unique_png(4 + i, 4) for i in range(3)]
    for d in datas:
        src = up(client, folder + "/a", "v.png", d)
    client.files.copy(
        source_file_path=src["filePath"], destination_path=folder + "/b", include_file_versions=True
    )
    (copy,) = files_in(client, folder + "/b").values()
    assert copy["fileId"] != src["fileId"]
    vs = versions(client, copy["fileId"])
    assert [v["size"] for v in vs] == [len(d) for d in datas]
    assert [v["type"] for v in vs] == ["file-version", "file-version", "file"]
    assert fetch(copy["url"]).content == datas[-1]
    # the source keeps its three versions
    assert len(versions(client, src["fileId"])) == 3


def test_copy_file_onto_same_name_appends_version(client, folder):
    dest_v1 = unique_png()
    dest = up(client, folder + "/dst", "same.png", dest_v1)
    up(client, folder + "/src", "same.png")
    src_cur = unique_png(11, 7)
    src = up(client, folder + "/src", "same.png", src_cur)

    client.files.copy(source_file_path=src["filePath"], destination_path=folder + "/dst")
    # still one file at the destination, now with two versions; the copy is current
    dst_files = files_in(client, folder + "/dst")
    assert [f["fileId"] for f in dst_files.values()] == [dest["fileId"]]
    vs = versions(client, dest["fileId"])
    assert len(vs) == 2
    assert vs[0]["versionInfo"]["id"] == dest["fileId"]
    assert vs[0]["type"] == "file-version" and vs[1]["type"] == "file"
    cur = client.files.get(dest["fileId"])
    assert cur.size == len(src_cur)
    assert cur.version_info.id == vs[1]["versionInfo"]["id"]
    assert fetch(cur.url).content == src_cur
    # source unchanged
    assert len(versions(client, src["fileId"])) == 2


def test_copy_file_onto_same_name_with_versions_appends_all(client, folder):
    dest = up(client, folder + "/dst", "same.png")
    for _ in range(3):
        src = up(client, folder + "/src", "same.png")
    client.files.copy(
        source_file_path=src["filePath"], destination_path=folder + "/dst", include_file_versions=True
    )
    vs = versions(client, dest["fileId"])
    assert len(vs) == 4
    assert [v["type"] for v in vs] == ["file-version"] * 3 + ["file"]
    assert client.files.get(dest["fileId"]).size == src["size"]


def test_copy_file_missing_source_404(client, folder):
    path = f"{folder}/nope.png"
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.copy(source_file_path=path, destination_path=folder + "/b")
    assert_api_error(ei, imagekitio.NotFoundError, 404, f"No file found with filePath `{path}`.")


@pytest.mark.parametrize("slash", ["", "/"])
def test_copy_file_into_own_folder_400(client, folder, slash):
    src = up(client, folder, "own.png")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.copy(source_file_path=src["filePath"], destination_path=folder + slash)
    assert_api_error(ei, imagekitio.BadRequestError, 400)
    assert len(files_in(client, folder)) == 1
    assert len(versions(client, src["fileId"])) == 1


# ================================================================ move file


def test_move_file_keeps_id(client, folder):
    png = unique_png()
    src = up(client, folder + "/a", "m.png", png)
    up(client, folder + "/a", "m.png", png)  # two versions, both move
    raw = client.files.with_raw_response.move(source_file_path=src["filePath"], destination_path=folder + "/b/c")
    assert raw.http_response.status_code == 204, raw.http_response.text
    assert raw.parse() is None

    assert files_in(client, folder + "/a") == {}
    moved = files_in(client, folder + "/b/c")
    assert list(moved) == [f"{folder}/b/c/m.png"]
    d = client.files.get(src["fileId"])
    assert d.file_path == f"{folder}/b/c/m.png"
    assert fetch(d.url).content == png
    assert fetch(src["url"]).status_code == 404
    vs = versions(client, src["fileId"])
    assert len(vs) == 2
    assert all(v["filePath"] == f"{folder}/b/c/m.png" for v in vs)
    # no version is left behind in the old folder either
    assert raw_list(client, type="file-version", path=folder + "/a/")[0] == []


def test_move_file_sdk_returns_none(client, folder):
    src = up(client, folder, "n.png")
    assert client.files.move(source_file_path=src["filePath"], destination_path=folder + "/x/") is None
    assert client.files.get(src["fileId"]).file_path == f"{folder}/x/n.png"


def test_move_file_onto_same_name_appends_all_versions(client, folder):
    dest = up(client, folder + "/dst", "same.png")
    up(client, folder + "/src", "same.png")
    last = unique_png(13, 5)
    src = up(client, folder + "/src", "same.png", last)
    client.files.move(source_file_path=src["filePath"], destination_path=folder + "/dst")

    with pytest.raises(imagekitio.NotFoundError):
        client.files.get(src["fileId"])
    assert files_in(client, folder + "/src") == {}
    assert [f["fileId"] for f in files_in(client, folder + "/dst").values()] == [dest["fileId"]]
    vs = versions(client, dest["fileId"])
    assert len(vs) == 3
    assert [v["type"] for v in vs] == ["file-version", "file-version", "file"]
    cur = client.files.get(dest["fileId"])
    assert cur.size == len(last)
    assert fetch(cur.url).content == last


def test_move_file_missing_source_404(client, folder):
    path = f"{folder}/gone.png"
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.move(source_file_path=path, destination_path=folder + "/b")
    assert_api_error(ei, imagekitio.NotFoundError, 404, f"No file found with filePath `{path}`.")


# ================================================================ rename file


def test_rename_file(client, folder):
    png = unique_png()
    src = up(client, folder, "old.png", png)
    raw = client.files.with_raw_response.rename(file_path=src["filePath"], new_file_name="new.png")
    assert raw.http_response.status_code == 200, raw.http_response.text
    assert raw.http_response.json() == {}
    assert raw.parse().purge_request_id is None

    d = client.files.get(src["fileId"])
    assert d.name == "new.png"
    assert d.file_path == f"{folder}/new.png"
    assert fetch(d.url).content == png
    assert fetch(src["url"]).status_code == 404
    assert list(files_in(client, folder)) == [f"{folder}/new.png"]
    # the old path no longer names a file
    with pytest.raises(imagekitio.NotFoundError):
        client.files.rename(file_path=src["filePath"], new_file_name="again.png")


def test_rename_file_renames_all_versions(client, folder):
    src = up(client, folder, "r.png")
    up(client, folder, "r.png")
    client.files.rename(file_path=src["filePath"], new_file_name="r2.png")
    vs = versions(client, src["fileId"])
    assert len(vs) == 2
    assert {v["name"] for v in vs} == {"r2.png"}
    assert {v["filePath"] for v in vs} == {f"{folder}/r2.png"}


def test_rename_file_with_purge(client, folder):
    src = up(client, folder, "p.png")
    raw = client.files.with_raw_response.rename(file_path=src["filePath"], new_file_name="p2.png", purge_cache=True)
    assert raw.http_response.status_code == 200, raw.http_response.text
    body = raw.http_response.json()
    assert set(body) == {"purgeRequestId"}
    assert isinstance(body["purgeRequestId"], str) and body["purgeRequestId"]
    assert raw.parse().purge_request_id == body["purgeRequestId"]
    wait_purge(client, body["purgeRequestId"])
    assert client.files.get(src["fileId"]).name == "p2.png"


def test_rename_file_name_taken_409(client, folder):
    a = up(client, folder, "a.png")
    b = up(client, folder, "b.png")
    with pytest.raises(imagekitio.ConflictError) as ei:
        client.files.rename(file_path=a["filePath"], new_file_name="b.png")
    assert_api_error(ei, imagekitio.ConflictError, 409, "File with name newFileName already exists at the same location.")
    assert client.files.get(a["fileId"]).name == "a.png"
    assert client.files.get(b["fileId"]).name == "b.png"


def test_rename_file_same_name_400(client, folder):
    a = up(client, folder, "same.png")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.rename(file_path=a["filePath"], new_file_name="same.png")
    assert_api_error(ei, imagekitio.BadRequestError, 400)


def test_rename_file_missing_404(client, folder):
    path = f"{folder}/missing.png"
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.rename(file_path=path, new_file_name="x.png")
    assert_api_error(ei, imagekitio.NotFoundError, 404, f"No file found in media library at filePath {path}")


# ================================================================ versions


def _three_versions(client, folder, name="ver.png"):
    datas = [unique_png(5 + i, 4) for i in range(3)]
    ups = [up(client, folder, name, d) for d in datas]
    assert len({u["fileId"] for u in ups}) == 1
    return ups[0]["fileId"], ups, datas


def test_versions_list(client, folder):
    fid, ups, datas = _three_versions(client, folder)
    r = client.files.versions.with_raw_response.list(fid)
    assert r.http_response.status_code == 200
    vs = r.http_response.json()
    assert [v["versionInfo"]["id"] for v in vs] == [u["versionInfo"]["id"] for u in ups]
    assert vs[0]["versionInfo"]["id"] == fid
    assert [v["versionInfo"]["name"] for v in vs] == ["Version 1", "Version 2", "Version 3"]
    assert [v["type"] for v in vs] == ["file-version", "file-version", "file"]
    assert all(v["fileId"] == fid for v in vs)
    assert [v["size"] for v in vs] == [len(d) for d in datas]
    assert all(v["filePath"] == f"{folder}/ver.png" for v in vs)
    parsed = r.parse()
    assert [p.type for p in parsed] == ["file-version", "file-version", "file"]


def test_version_urls_deliver_that_version(client, folder):
    fid, ups, datas = _three_versions(client, folder)
    vs = client.files.versions.list(fid)
    assert "ik-obj-version" not in vs[-1].url, "the current version has the plain URL"
    for v, data in zip(vs, datas):
        got = fetch(v.url)
        assert got.status_code == 200, v.url
        assert got.content == data
    # A version id of another file, or garbage, names nothing at this path.
    other = up(client, folder, "other.png", unique_png(3, 3))
    base = vs[-1].url
    assert fetch(f"{base}?ik-obj-version={other['versionInfo']['id']}").status_code == 404
    assert fetch(f"{base}?ik-obj-version=nope").status_code == 404


def test_versions_list_single(client, folder):
    a = up(client, folder, "one.png")
    vs = versions(client, a["fileId"])
    assert len(vs) == 1
    assert vs[0]["type"] == "file"
    assert vs[0]["versionInfo"] == {"id": a["fileId"], "name": "Version 1"}


def test_versions_list_unknown_file_404(client):
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.versions.list(MISSING_ID)
    assert_api_error(ei, imagekitio.NotFoundError, 404)


def test_version_get(client, folder):
    fid, ups, datas = _three_versions(client, folder)
    vid = ups[1]["versionInfo"]["id"]
    r = client.files.versions.with_raw_response.get(vid, file_id=fid)
    assert r.http_response.status_code == 200
    d = r.http_response.json()
    assert d["fileId"] == fid
    assert d["type"] == "file-version"
    assert d["versionInfo"] == {"id": vid, "name": "Version 2"}
    assert d["size"] == len(datas[1])
    assert d["name"] == "ver.png"
    assert r.parse().version_info.id == vid
    cur = client.files.versions.get(ups[2]["versionInfo"]["id"], file_id=fid)
    assert cur.type == "file"
    assert cur.size == len(datas[2])


def test_version_get_unknown_404(client, folder):
    a = up(client, folder, "one.png")
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.versions.get(MISSING_ID, file_id=a["fileId"])
    assert_api_error(ei, imagekitio.NotFoundError, 404, "The requested file version does not exist.")


def test_version_delete_non_current(client, folder):
    fid, ups, _ = _three_versions(client, folder)
    vid = ups[1]["versionInfo"]["id"]
    raw = client.files.versions.with_raw_response.delete(vid, file_id=fid)
    assert raw.http_response.status_code == 204, raw.http_response.text
    assert raw.http_response.content == b""
    vs = versions(client, fid)
    assert [v["versionInfo"]["id"] for v in vs] == [ups[0]["versionInfo"]["id"], ups[2]["versionInfo"]["id"]]
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.versions.get(vid, file_id=fid)
    assert_api_error(ei, imagekitio.NotFoundError, 404, "The requested file version does not exist.")
    # the current version is untouched
    assert client.files.get(fid).version_info.id == ups[2]["versionInfo"]["id"]
    # sdk return value
    assert client.files.versions.delete(ups[0]["versionInfo"]["id"], file_id=fid) is None
    assert len(versions(client, fid)) == 1


def test_version_delete_current_400(client, folder):
    fid, ups, _ = _three_versions(client, folder)
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.versions.delete(ups[2]["versionInfo"]["id"], file_id=fid)
    assert_api_error(ei, imagekitio.BadRequestError, 400, "You cannot delete current version of a file.")
    assert len(versions(client, fid)) == 3


def test_version_delete_unknown_404(client, folder):
    a = up(client, folder, "one.png")
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.versions.delete(MISSING_ID, file_id=a["fileId"])
    assert_api_error(ei, imagekitio.NotFoundError, 404)


def test_version_restore(client, folder):
    fid, ups, datas = _three_versions(client, folder)
    vid = ups[0]["versionInfo"]["id"]
    r = client.files.versions.with_raw_response.restore(vid, file_id=fid)
    assert r.http_response.status_code == 200, r.http_response.text
    body = r.http_response.json()
    assert body["fileId"] == fid
    assert body["versionInfo"]["id"] == vid
    assert r.parse().version_info.id == vid

    d = client.files.get(fid)
    assert d.version_info.id == vid
    assert d.size == len(datas[0])
    assert (d.width, d.height) == (5, 4)
    assert fetch(d.url).content == datas[0]
    vs = versions(client, fid)
    current = [v for v in vs if v["type"] == "file"]
    assert len(current) == 1 and current[0]["versionInfo"]["id"] == vid
    # the previously current version is now an old version, and can be deleted
    client.files.versions.delete(ups[2]["versionInfo"]["id"], file_id=fid)
    with pytest.raises(imagekitio.BadRequestError):
        client.files.versions.delete(vid, file_id=fid)


def test_version_restore_unknown_404(client, folder):
    a = up(client, folder, "one.png")
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.files.versions.restore(MISSING_ID, file_id=a["fileId"])
    assert_api_error(ei, imagekitio.NotFoundError, 404)


def test_list_file_versions_only_non_current(client, folder):
    fid, ups, _ = _three_versions(client, folder)
    other = up(client, folder, "single.png")
    items, parsed = raw_list(client, type="file-version", path=folder + "/")
    assert sorted(i["versionInfo"]["id"] for i in items) == sorted(u["versionInfo"]["id"] for u in ups[:2])
    assert {i["type"] for i in items} == {"file-version"}
    assert other["fileId"] not in {i["fileId"] for i in items}
    assert all(p.type == "file-version" for p in parsed)
    # the same with the path given without a trailing slash
    items2, _ = raw_list(client, type="file-version", path=folder)
    assert sorted(i["versionInfo"]["id"] for i in items2) == sorted(i["versionInfo"]["id"] for i in items)


def test_max_100_versions(client, folder):
    pngs = [unique_png(1, 1) for _ in range(101)]
    t0 = time.monotonic()
    first = up(client, folder, "many.png", pngs[0])

    def one(i):
        return client.files.upload(file=pngs[i], file_name="many.png", folder=folder, use_unique_file_name=False)

    with ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(one, range(1, 100)))
    assert {r.file_id for r in results} == {first["fileId"]}
    assert len(versions(client, first["fileId"])) == 100

    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.upload(file=pngs[100], file_name="many.png", folder=folder, use_unique_file_name=False)
    body = assert_api_error(ei, imagekitio.BadRequestError, 400)
    assert "100" in body["message"] and "version" in body["message"].lower(), body
    vs = versions(client, first["fileId"])
    assert len(vs) == 100
    assert vs[-1]["versionInfo"]["name"] == "Version 100"
    assert time.monotonic() - t0 < 30


# ================================================================ bulk tags


def test_add_tags(client, folder):
    a = up(client, folder, "a.png", tags=["keep", "x"])
    b = up(client, folder, "b.png")
    r = client.files.bulk.with_raw_response.add_tags(file_ids=[a["fileId"], b["fileId"]], tags=["x", "y"])
    assert r.http_response.status_code == 200, r.http_response.text
    body = r.http_response.json()
    assert sorted(body["successfullyUpdatedFileIds"]) == sorted([a["fileId"], b["fileId"]])
    assert sorted(r.parse().successfully_updated_file_ids) == sorted([a["fileId"], b["fileId"]])

    ta = client.files.get(a["fileId"]).tags
    assert sorted(ta) == ["keep", "x", "y"] and len(ta) == 3
    assert sorted(client.files.get(b["fileId"]).tags) == ["x", "y"]
    # adding again changes nothing
    client.files.bulk.add_tags(file_ids=[a["fileId"]], tags=["y"])
    assert sorted(client.files.get(a["fileId"]).tags) == ["keep", "x", "y"]


def test_remove_tags(client, folder):
    a = up(client, folder, "a.png", tags=["a", "b", "c"])
    b = up(client, folder, "b.png", tags=["b"])
    r = client.files.bulk.with_raw_response.remove_tags(file_ids=[a["fileId"], b["fileId"]], tags=["b", "zz"])
    assert r.http_response.status_code == 200, r.http_response.text
    assert sorted(r.http_response.json()["successfullyUpdatedFileIds"]) == sorted([a["fileId"], b["fileId"]])
    assert sorted(client.files.get(a["fileId"]).tags) == ["a", "c"]
    assert not client.files.get(b["fileId"]).tags
    res = client.files.bulk.remove_tags(file_ids=[a["fileId"]], tags=["a"])
    assert res.successfully_updated_file_ids == [a["fileId"]]
    assert client.files.get(a["fileId"]).tags == ["c"]


def test_remove_ai_tags(client, folder):
    a = up(client, folder, "a.png", tags=["human"])
    r = client.files.bulk.with_raw_response.remove_ai_tags(file_ids=[a["fileId"]], ai_tags=["car"])
    assert r.http_response.status_code == 200, r.http_response.text
    assert r.http_response.json()["successfullyUpdatedFileIds"] == [a["fileId"]]
    assert r.parse().successfully_updated_file_ids == [a["fileId"]]
    d = client.files.get(a["fileId"])
    assert d.ai_tags is None
    assert d.tags == ["human"]


@pytest.mark.parametrize("op", ["add_tags", "remove_tags", "remove_ai_tags"])
def test_bulk_tags_partial_207(client, folder, op):
    a = up(client, folder, "a.png", tags=["t"])
    kw = {"ai_tags": ["t"]} if op == "remove_ai_tags" else {"tags": ["t" if op == "remove_tags" else "n"]}
    r = getattr(client.files.bulk.with_raw_response, op)(file_ids=[a["fileId"], MISSING_ID], **kw)
    assert r.http_response.status_code == 207, r.http_response.text
    body = r.http_response.json()
    assert body["successfullyUpdatedFileIds"] == [a["fileId"]]
    assert len(body["errors"]) == 1
    err = body["errors"][0]
    assert err["fileId"] == MISSING_ID
    assert isinstance(err["error"], str) and err["error"]
    tags = client.files.get(a["fileId"]).tags
    if op == "add_tags":
        assert sorted(tags) == ["n", "t"]
    elif op == "remove_tags":
        assert not tags
    else:
        assert tags == ["t"]


@pytest.mark.parametrize("op", ["add_tags", "remove_tags", "remove_ai_tags"])
def test_bulk_tags_all_missing_404(client, op):
    kw = {"ai_tags": ["t"]} if op == "remove_ai_tags" else {"tags": ["t"]}
    with pytest.raises(imagekitio.NotFoundError) as ei:
        getattr(client.files.bulk, op)(file_ids=[MISSING_ID, OTHER_MISSING_ID], **kw)
    body = assert_api_error(ei, imagekitio.NotFoundError, 404)
    assert sorted(body["missingFileIds"]) == sorted([MISSING_ID, OTHER_MISSING_ID])


@pytest.mark.parametrize("op", ["add_tags", "remove_tags", "remove_ai_tags"])
def test_bulk_tags_empty_ids_400(client, op):
    kw = {"ai_tags": ["t"]} if op == "remove_ai_tags" else {"tags": ["t"]}
    with pytest.raises(imagekitio.BadRequestError) as ei:
        getattr(client.files.bulk, op)(file_ids=[], **kw)
    assert_api_error(ei, imagekitio.BadRequestError, 400, "fileIds is empty.")


@pytest.mark.parametrize("op", ["add_tags", "remove_tags", "remove_ai_tags"])
def test_bulk_tags_more_than_50_400(client, folder, op):
    a = up(client, folder, "a.png", tags=["t"])
    ids = [a["fileId"]] + [f"{i:024x}" for i in range(1, 51)]
    assert len(ids) == 51
    kw = {"ai_tags": ["t"]} if op == "remove_ai_tags" else {"tags": ["t2"]}
    with pytest.raises(imagekitio.BadRequestError) as ei:
        getattr(client.files.bulk, op)(file_ids=ids, **kw)
    assert_api_error(ei, imagekitio.BadRequestError, 400, "A maximum of 50 files can be edited at a time.")
    assert client.files.get(a["fileId"]).tags == ["t"]


def test_bulk_tags_exactly_50_ok(client, folder):
    a = up(client, folder, "a.png")
    ids = [a["fileId"]] + [f"{i:024x}" for i in range(1, 50)]
    r = client.files.bulk.with_raw_response.add_tags(file_ids=ids, tags=["fifty"])
    assert r.http_response.status_code == 207, r.http_response.text
    assert r.http_response.json()["successfullyUpdatedFileIds"] == [a["fileId"]]
    assert client.files.get(a["fileId"]).tags == ["fifty"]


@pytest.mark.parametrize("op", ["add_tags", "remove_tags"])
def test_bulk_tags_missing_tags_400(client, folder, op):
    a = up(client, folder, "a.png")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        getattr(client.files.bulk, op)(file_ids=[a["fileId"]], tags=imagekitio.omit)
    assert_api_error(ei, imagekitio.BadRequestError, 400, "tags parameter is missing.")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        getattr(client.files.bulk, op)(file_ids=[a["fileId"]], tags=[])
    assert_api_error(ei, imagekitio.BadRequestError, 400, "tags array cannot be empty.")


def test_remove_ai_tags_missing_400(client, folder):
    a = up(client, folder, "a.png")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.files.bulk.remove_ai_tags(file_ids=[a["fileId"]], ai_tags=imagekitio.omit)
    assert_api_error(ei, imagekitio.BadRequestError, 400, "AITags parameter is missing.")


# ================================================================ purge cache


def test_purge_file_url(server, client, folder):
    a = up(client, folder, "p.png")
    assert a["url"].startswith(server.public_url)
    r = client.cache.invalidation.with_raw_response.create(url=a["url"])
    assert r.http_response.status_code == 201, r.http_response.text
    body = r.http_response.json()
    assert isinstance(body["requestId"], str) and body["requestId"]
    assert r.parse().request_id == body["requestId"]

    s = client.cache.invalidation.with_raw_response.get(body["requestId"])
    assert s.http_response.status_code == 200
    assert s.http_response.json() == {"status": "Completed"}
    assert client.cache.invalidation.get(body["requestId"]).status == "Completed"
    # the file itself is still delivered
    assert fetch(a["url"]).status_code == 200


def test_purge_foreign_url_400(client):
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.cache.invalidation.create(url="https://example.com/a.jpg")
    assert_api_error(ei, imagekitio.BadRequestError, 400, "The URL is not valid for cache purging.")


def test_purge_status_unknown_400(client):
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.cache.invalidation.get(MISSING_ID)
    assert_api_error(ei, imagekitio.BadRequestError, 400, "No request found for this requestId.")


# ================================================================ create / delete folder


def test_create_folder(client, folder):
    r = client.folders.with_raw_response.create(folder_name="photos", parent_folder_path=folder)
    assert r.http_response.status_code == 201, r.http_response.text
    assert r.http_response.json() == {}
    items, parsed = raw_list(client, type="folder", path=folder + "/")
    assert [(i["name"], i["folderPath"]) for i in items] == [("photos", f"{folder}/photos")]
    assert HEX24.match(items[0]["folderId"])
    assert parsed[0].type == "folder"


def test_create_folder_creates_parents(client, folder):
    client.folders.create(folder_name="c", parent_folder_path=f"{folder}/a/b/")
    assert folder[1:] in folders_in(client, "/")
    assert folders_in(client, folder) == ["a"]
    assert folders_in(client, f"{folder}/a") == ["b"]
    assert folders_in(client, f"{folder}/a/b") == ["c"]
    assert folders_in(client, f"{folder}/a/b/c") == []


def test_create_folder_sanitises_name(client, folder):
    client.folders.create(folder_name="my folder!v2.x", parent_folder_path=folder)
    assert folders_in(client, folder) == ["my_folder_v2_x"]


def test_create_folder_then_upload_into_it(client, folder):
    client.folders.create(folder_name="up", parent_folder_path=folder)
    d = up(client, folder + "/up", "f.png")
    assert d["filePath"] == f"{folder}/up/f.png"
    assert folders_in(client, folder) == ["up"]


@pytest.mark.parametrize("name", [".", ".."])
def test_create_folder_dot_names_400(client, folder, name):
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.folders.create(folder_name=name, parent_folder_path=folder)
    assert_api_error(ei, imagekitio.BadRequestError, 400)


def test_delete_folder(client, folder):
    a = up(client, folder + "/d", "a.png")
    up(client, folder + "/d", "a.png")  # a version
    b = up(client, folder + "/d/sub", "b.png")
    keep = up(client, folder + "/keep", "k.png")
    r = client.folders.with_raw_response.delete(folder_path=folder + "/d")
    assert r.http_response.status_code == 204, r.http_response.text
    assert r.http_response.content == b""

    assert folders_in(client, folder) == ["keep"]
    assert files_in(client, folder + "/d") == {}
    assert files_in(client, folder + "/d/sub") == {}
    assert folders_in(client, folder + "/d") == []
    assert raw_list(client, type="file-version", path=folder + "/d/")[0] == []
    for f in (a, b):
        with pytest.raises(imagekitio.NotFoundError):
            client.files.get(f["fileId"])
        assert fetch(f["url"]).status_code == 404
    assert fetch(keep["url"]).status_code == 200
    # gone for good
    with pytest.raises(imagekitio.NotFoundError):
        client.folders.delete(folder_path=folder + "/d")


def test_delete_folder_sdk_returns_none(client, folder):
    client.folders.create(folder_name="empty", parent_folder_path=folder)
    assert client.folders.delete(folder_path=f"{folder}/empty/") is None
    assert folders_in(client, folder) == []


def test_delete_folder_missing_404(client, folder):
    path = f"{folder}/nothing"
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.folders.delete(folder_path=path)
    assert_api_error(ei, imagekitio.NotFoundError, 404, f"No folder found with folderPath `{path}`.")


def test_delete_root_folder_400(client, folder):
    a = up(client, folder, "survivor.png")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.folders.delete(folder_path="/")
    assert_api_error(ei, imagekitio.BadRequestError, 400)
    assert client.files.get(a["fileId"]).file_path == f"{folder}/survivor.png"


# ================================================================ folder jobs


def _tree(client, root):
    """/root/a/x.png (2 versions), /root/a/sub/y.png, /root/a/sub/deep/z.png; returns uploads."""
    x1 = up(client, f"{root}/a", "x.png")
    x2 = up(client, f"{root}/a", "x.png")
    y = up(client, f"{root}/a/sub", "y.png")
    z = up(client, f"{root}/a/sub/deep", "z.png")
    return {"x": x2, "x1": x1, "y": y, "z": z}


def test_copy_folder(client, folder):
    t = _tree(client, folder)
    body = copy_folder(client, f"{folder}/a", f"{folder}/b")
    assert body["status"] == "Completed"

    assert folders_in(client, folder) == ["a", "b"]
    assert folders_in(client, f"{folder}/b") == ["a"]
    xs = files_in(client, f"{folder}/b/a")
    ys = files_in(client, f"{folder}/b/a/sub")
    zs = files_in(client, f"{folder}/b/a/sub/deep")
    assert list(xs) == [f"{folder}/b/a/x.png"]
    assert list(ys) == [f"{folder}/b/a/sub/y.png"]
    assert list(zs) == [f"{folder}/b/a/sub/deep/z.png"]
    copies = [xs[f"{folder}/b/a/x.png"], ys[f"{folder}/b/a/sub/y.png"], zs[f"{folder}/b/a/sub/deep/z.png"]]
    originals = [t["x"], t["y"], t["z"]]
    for c, o in zip(copies, originals):
        assert c["fileId"] != o["fileId"]
        assert c["size"] == o["size"]
        assert fetch(c["url"]).content == fetch(o["url"]).content
    # only current versions by default
    assert len(versions(client, copies[0]["fileId"])) == 1
    # the source stays
    assert list(files_in(client, f"{folder}/a")) == [f"{folder}/a/x.png"]
    assert client.files.get(t["y"]["fileId"]).file_path == f"{folder}/a/sub/y.png"
    assert len(versions(client, t["x"]["fileId"])) == 2


def test_copy_folder_progress(client, folder):
    up(client, f"{folder}/a", "p1.png")
    up(client, f"{folder}/a", "p2.png")
    body = copy_folder(client, f"{folder}/a", f"{folder}/b")
    assert isinstance(body.get("progress"), dict), body
    assert body["progress"]["filesTransferred"] == 2, body


def test_copy_folder_include_versions(client, folder):
    t = _tree(client, folder)
    copy_folder(client, f"{folder}/a", f"{folder}/b", include_versions=True)
    (x,) = files_in(client, f"{folder}/b/a").values()
    assert x["fileId"] != t["x"]["fileId"]
    vs = versions(client, x["fileId"])
    assert len(vs) == 2
    assert [v["size"] for v in vs] == [t["x1"]["size"], t["x"]["size"]]
    assert [v["type"] for v in vs] == ["file-version", "file"]


def test_copy_folder_same_name_appends_versions(client, folder):
    src = up(client, f"{folder}/a", "x.png")
    dest = up(client, f"{folder}/b/a", "x.png")
    copy_folder(client, f"{folder}/a", f"{folder}/b")
    xs = files_in(client, f"{folder}/b/a")
    assert [f["fileId"] for f in xs.values()] == [dest["fileId"]]
    vs = versions(client, dest["fileId"])
    assert len(vs) == 2
    cur = client.files.get(dest["fileId"])
    assert cur.size == src["size"]
    assert fetch(cur.url).content == fetch(src["url"]).content
    assert len(versions(client, src["fileId"])) == 1


def test_copy_folder_creates_destination(client, folder):
    # copying into a destination that does not exist yet creates it
    up(client, f"{folder}/a", "x.png")
    copy_folder(client, f"{folder}/a/", f"{folder}/new/dest/")
    assert list(files_in(client, f"{folder}/new/dest/a")) == [f"{folder}/new/dest/a/x.png"]


def test_move_folder(client, folder):
    t = _tree(client, folder)
    body = move_folder(client, f"{folder}/a", f"{folder}/b")
    assert body["status"] == "Completed"

    assert folders_in(client, folder) == ["b"]
    assert files_in(client, f"{folder}/a") == {}
    assert files_in(client, f"{folder}/a/sub") == {}
    assert raw_list(client, type="all", path=f"{folder}/a/")[0] == []
    for key, path in (("x", "b/a/x.png"), ("y", "b/a/sub/y.png"), ("z", "b/a/sub/deep/z.png")):
        d = client.files.get(t[key]["fileId"])
        assert d.file_path == f"{folder}/{path}"
        assert fetch(d.url).status_code == 200
        assert fetch(t[key]["url"]).status_code == 404
    # versions moved along
    vs = versions(client, t["x"]["fileId"])
    assert len(vs) == 2 and {v["filePath"] for v in vs} == {f"{folder}/b/a/x.png"}


def test_move_folder_same_name_appends_versions(client, folder):
    up(client, f"{folder}/a", "x.png")
    src = up(client, f"{folder}/a", "x.png")
    dest = up(client, f"{folder}/b/a", "x.png")
    move_folder(client, f"{folder}/a", f"{folder}/b")
    assert [f["fileId"] for f in files_in(client, f"{folder}/b/a").values()] == [dest["fileId"]]
    assert len(versions(client, dest["fileId"])) == 3
    assert client.files.get(dest["fileId"]).size == src["size"]
    assert files_in(client, f"{folder}/a") == {}


def test_rename_folder(client, folder):
    t = _tree(client, folder)
    raw = client.folders.with_raw_response.rename(folder_path=f"{folder}/a", new_folder_name="renamed")
    assert raw.http_response.status_code in (200, 202), raw.http_response.text
    body = wait_job(client, start_job(raw), "RENAME_FOLDER")
    assert body["status"] == "Completed"

    assert folders_in(client, folder) == ["renamed"]
    assert files_in(client, f"{folder}/a") == {}
    assert raw_list(client, type="all", path=f"{folder}/a/")[0] == []
    assert raw_list(client, type="file-version", path=f"{folder}/a/")[0] == []
    for key, path in (("x", "renamed/x.png"), ("y", "renamed/sub/y.png"), ("z", "renamed/sub/deep/z.png")):
        d = client.files.get(t[key]["fileId"])
        assert d.file_path == f"{folder}/{path}"
        assert fetch(d.url).status_code == 200
        assert fetch(t[key]["url"]).status_code == 404
    assert folders_in(client, f"{folder}/renamed") == ["sub"]


def test_rename_folder_with_purge(client, folder):
    up(client, f"{folder}/a", "x.png")
    body = rename_folder(client, f"{folder}/a", "b", purge_cache=True)
    assert body["status"] == "Completed"
    assert list(files_in(client, f"{folder}/b")) == [f"{folder}/b/x.png"]


def test_folder_job_unknown_404(client):
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.folders.job.get(MISSING_ID)
    assert_api_error(ei, imagekitio.NotFoundError, 404, "The requested job does not exist.")


@pytest.mark.parametrize("op", ["copy", "move"])
def test_folder_job_missing_source_404(client, folder, op):
    path = f"{folder}/none"
    with pytest.raises(imagekitio.NotFoundError) as ei:
        getattr(client.folders, op)(source_folder_path=path, destination_path=f"{folder}/b")
    assert_api_error(ei, imagekitio.NotFoundError, 404, f"No files & folder found at sourceFolderPath `{path}`.")


@pytest.mark.parametrize("op", ["copy", "move"])
def test_folder_job_same_path_400(client, folder, op):
    up(client, f"{folder}/a", "x.png")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        getattr(client.folders, op)(source_folder_path=f"{folder}/a", destination_path=f"{folder}/a")
    assert_api_error(ei, imagekitio.BadRequestError, 400, "sourceFolderPath and destinationPath is same")


@pytest.mark.parametrize("op", ["copy", "move"])
def test_folder_job_into_child_400(client, folder, op):
    up(client, f"{folder}/a/sub", "x.png")
    with pytest.raises(imagekitio.BadRequestError) as ei:
        getattr(client.folders, op)(source_folder_path=f"{folder}/a", destination_path=f"{folder}/a/sub")
    assert_api_error(
        ei,
        imagekitio.BadRequestError,
        400,
        "This operation is not allowed because parent folder cannot be moved into child folder.",
    )
    assert list(files_in(client, f"{folder}/a/sub")) == [f"{folder}/a/sub/x.png"]


def test_rename_folder_root_400(client):
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.folders.rename(folder_path="/", new_folder_name="x")
    assert_api_error(ei, imagekitio.BadRequestError, 400, "folderPath cannot be root.")


def test_rename_folder_name_taken_409(client, folder):
    a = up(client, f"{folder}/a", "x.png")
    up(client, f"{folder}/b", "y.png")
    with pytest.raises(imagekitio.ConflictError) as ei:
        client.folders.rename(folder_path=f"{folder}/a", new_folder_name="b")
    assert_api_error(
        ei, imagekitio.ConflictError, 409, "Folder with name newFolderName already exists at the same location."
    )
    assert client.files.get(a["fileId"]).file_path == f"{folder}/a/x.png"


def test_rename_folder_missing_404(client, folder):
    with pytest.raises(imagekitio.NotFoundError) as ei:
        client.folders.rename(folder_path=f"{folder}/none", new_folder_name="x")
    assert_api_error(ei, imagekitio.NotFoundError, 404, "Source folder not found.")
