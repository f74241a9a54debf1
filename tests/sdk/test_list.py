"""GET /v1/files via client.assets.list: filters, sorting, paging, folders, versions, validation."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import imagekitio
from conftest import (
    HEX24,
    ISO_MS_Z,
    assert_api_error,
    corpus,
    fetch,
    make_png,
    raw_list,
    raw_upload,
)


@pytest.fixture(scope="module")
def lib(server, client):
    """A fixed library on this module's own server:

    /lib/c.png 30x10, /lib/a.png 10x40 [red, sale], /lib/doc.pdf [red], /lib/b.png 20x20 rgba [blue] (2 versions)
    /lib/sub/d.png, /lib/sub/deeper/e.png, /other/x.png
    """
    files = {}

    def up(name, data, folder="/lib", **kw):
        d, _ = raw_upload(client, file=data, file_name=name, folder=folder, use_unique_file_name=False, **kw)
        files[d["filePath"]] = (d, data)
        time.sleep(0.01)  # distinct createdAt (ms resolution)
        return d

    up("c.png", make_png(30, 10, seed=1))
    up("a.png", make_png(10, 40, seed=2), tags=["red", "sale"])
    up("doc.pdf", corpus("document.pdf").read_bytes(), tags=["red"])
    b_v1 = make_png(20, 20, rgba=True, seed=3)
    b1 = up("b.png", b_v1, tags=["blue"])
    up("d.png", make_png(4, 4, seed=4), folder="/lib/sub")
    up("e.png", make_png(4, 4, seed=5), folder="/lib/sub/deeper")
    up("x.png", make_png(4, 4, seed=6), folder="/other")
    # second version of b.png (same dimensions, bigger payload)
    b_v2 = make_png(20, 20, rgba=True, seed=33, text=b"second version " * 4)
    b2 = up("b.png", b_v2, tags=["blue"])
    assert b2["fileId"] == b1["fileId"] and b2["versionInfo"]["name"] == "Version 2"
    return {"files": files, "b_v1": b_v1, "b_v2": b_v2, "b_id": b1["fileId"]}


def names(items):
    return [i["name"] for i in items]


# ---------------------------------------------------------------- basics


def test_default_lists_files_only(client, lib):
    items, parsed = raw_list(client)
    assert {i["type"] for i in items} == {"file"}
    assert sorted(i["filePath"] for i in items) == sorted(lib["files"].keys())
    assert all(isinstance(p, imagekitio.types.File) for p in parsed)


def test_trailing_slash_route(server, lib):
    # Node SDK 6 calls GET /v1/files/ (api-reference §9.4): same answer as /v1/files
    import httpx

    from conftest import KEY

    a = httpx.get(server.url + "/v1/files", params={"path": "/lib/"}, auth=(KEY, ""), timeout=10)
    b = httpx.get(server.url + "/v1/files/", params={"path": "/lib/"}, auth=(KEY, ""), timeout=10)
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()


def test_path_is_exactly_one_folder(client, lib):
    items, _ = raw_list(client, path="/lib/")
    assert sorted(names(items)) == ["a.png", "b.png", "c.png", "doc.pdf"]
    items, _ = raw_list(client, path="/lib/sub/")
    assert names(items) == ["d.png"]
    items, _ = raw_list(client, path="/nope/")
    assert items == []


def test_default_sort_is_asc_created(client, lib):
    items, _ = raw_list(client, path="/lib/")
    explicit, _ = raw_list(client, path="/lib/", sort="ASC_CREATED")
    assert names(items) == names(explicit) == ["c.png", "a.png", "doc.pdf", "b.png"]
    desc, _ = raw_list(client, path="/lib/", sort="DESC_CREATED")
    assert names(desc) == ["b.png", "doc.pdf", "a.png", "c.png"]


def test_list_items_are_full_file_details(server, client, lib):
    items, _ = raw_list(client, path="/lib/", extra_query={"name": "a.png"})
    (a,) = items
    d, data = lib["files"]["/lib/a.png"]
    assert a["fileId"] == d["fileId"]
    assert a["filePath"] == "/lib/a.png"
    assert a["tags"] == ["red", "sale"]
    assert a["AITags"] is None
    assert a["mime"] == "image/png"
    assert (a["width"], a["height"], a["size"]) == (10, 40, len(data))
    assert a["versionInfo"] == {"id": d["fileId"], "name": "Version 1"}
    assert ISO_MS_Z.match(a["createdAt"]) and ISO_MS_Z.match(a["updatedAt"])
    assert a["url"].split("?")[0] == server.media + "/lib/a.png"
    assert fetch(a["url"]).content == data


# ---------------------------------------------------------------- sorting


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("ASC_NAME", ["a.png", "b.png", "c.png", "doc.pdf"]),
        ("DESC_NAME", ["doc.pdf", "c.png", "b.png", "a.png"]),
    ],
)
def test_sort_by_name(client, lib, sort, expected):
    items, _ = raw_list(client, path="/lib/", sort=sort)
    assert names(items) == expected


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("ASC_HEIGHT", ["c.png", "b.png", "a.png"]),
        ("DESC_HEIGHT", ["a.png", "b.png", "c.png"]),
        ("ASC_WIDTH", ["a.png", "b.png", "c.png"]),
        ("DESC_WIDTH", ["c.png", "b.png", "a.png"]),
    ],
)
def test_sort_by_dimensions(client, lib, sort, expected):
    items, _ = raw_list(client, path="/lib/", sort=sort, file_type="image")
    assert names(items) == expected


def test_sort_by_size(client, lib):
    sizes = {d["name"]: len(data) for d, data in lib["files"].values() if d["filePath"].count("/") == 2 and d["filePath"].startswith("/lib/")}
    expected = sorted(sizes, key=lambda n: sizes[n])
    assert len(set(sizes.values())) == len(sizes), "test data needs distinct sizes"
    asc, _ = raw_list(client, path="/lib/", sort="ASC_SIZE")
    desc, _ = raw_list(client, path="/lib/", sort="DESC_SIZE")
    assert names(asc) == expected
    assert names(desc) == expected[::-1]
    assert [i["size"] for i in asc] == sorted(sizes.values())


def test_sort_by_updated(client, lib):
    asc, _ = raw_list(client, path="/lib/", sort="ASC_UPDATED")
    desc, _ = raw_list(client, path="/lib/", sort="DESC_UPDATED")
    ts = [i["updatedAt"] for i in asc]
    assert ts == sorted(ts)
    assert names(desc) == names(asc)[::-1]
    assert names(asc)[-1] == "b.png"  # overwritten last


@pytest.mark.parametrize("sort", ["ASC_RELEVANCE", "DESC_RELEVANCE", "ASC_DURATION", "DESC_ORIGINAL_CREATION_DATE"])
def test_other_sorts_accepted(client, lib, sort):
    items, _ = raw_list(client, path="/lib/", sort=sort)
    assert sorted(names(items)) == ["a.png", "b.png", "c.png", "doc.pdf"]


# ---------------------------------------------------------------- filters


def test_file_type_filter(client, lib):
    img, _ = raw_list(client, path="/lib/", file_type="image")
    non, _ = raw_list(client, path="/lib/", file_type="non-image")
    every, _ = raw_list(client, path="/lib/", file_type="all")
    assert sorted(names(img)) == ["a.png", "b.png", "c.png"]
    assert names(non) == ["doc.pdf"]
    assert sorted(names(every)) == ["a.png", "b.png", "c.png", "doc.pdf"]
    assert {i["fileType"] for i in img} == {"image"}
    assert non[0]["fileType"] == "non-image" and non[0]["mime"] == "application/pdf"


def test_legacy_tags_param_any_of(client, lib):
    items, _ = raw_list(client, path="/lib/", sort="ASC_NAME", extra_query={"tags": "red"})
    assert names(items) == ["a.png", "doc.pdf"]
    items, _ = raw_list(client, path="/lib/", sort="ASC_NAME", extra_query={"tags": "red,blue"})
    assert names(items) == ["a.png", "b.png", "doc.pdf"]
    items, _ = raw_list(client, path="/lib/", extra_query={"tags": "sale"})
    assert names(items) == ["a.png"]
    items, _ = raw_list(client, path="/lib/", extra_query={"tags": "nothing-has-this"})
    assert items == []


def test_legacy_name_param_exact(client, lib):
    items, _ = raw_list(client, extra_query={"name": "d.png"})
    assert [i["filePath"] for i in items] == ["/lib/sub/d.png"]
    items, _ = raw_list(client, extra_query={"name": "d"})
    assert items == []
    items, _ = raw_list(client, extra_query={"name": "D.PNG"})
    assert items == []


# ---------------------------------------------------------------- paging


def test_skip_and_limit(client, lib):
    full, _ = raw_list(client, path="/lib/", sort="ASC_NAME")
    page, _ = raw_list(client, path="/lib/", sort="ASC_NAME", skip=1, limit=2)
    assert names(page) == names(full)[1:3] == ["b.png", "c.png"]
    page, _ = raw_list(client, path="/lib/", sort="ASC_NAME", skip=3, limit=10)
    assert names(page) == ["doc.pdf"]
    page, _ = raw_list(client, path="/lib/", sort="ASC_NAME", skip=10)
    assert page == []
    page, _ = raw_list(client, path="/lib/", sort="ASC_NAME", limit=1)
    assert names(page) == ["a.png"]
    page, _ = raw_list(client, path="/lib/", sort="ASC_NAME", limit=1000, skip=0)
    assert names(page) == names(full)


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"limit": 0}, "Minimum value of limit parameter is 1. Value sent is 0."),
        ({"limit": 1001}, "Maximum value of limit parameter is 1000. Value sent is 1001."),
        ({"skip": -1}, "The value of skip parameter should be greater than or equal to 0. Value sent is -1."),
        ({"sort": "SIDEWAYS_NAME"}, "Your request contains invalid value for sort parameters."),
        ({"sort": "ASC_COLOUR"}, "Your request contains invalid value for sort parameters."),
        (
            {"type": "directory"},
            "Your request contains invalid value for type parameter. "
            "Please provide one of the following: file, file-version, folder, all.",
        ),
    ],
    ids=["limit0", "limit1001", "skip-1", "sort-dir", "sort-field", "type"],
)
def test_invalid_params_400(client, lib, kw, message):
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.assets.list(**kw)
    assert_api_error(ei, imagekitio.BadRequestError, 400, message)


# ---------------------------------------------------------------- folders / all / versions


def _assert_folder_shape(f, name, path):
    assert f["type"] == "folder"
    assert HEX24.match(f["folderId"]), f
    assert f["name"] == name
    assert f["folderPath"] == path
    assert f["customMetadata"] == {}
    assert ISO_MS_Z.match(f["createdAt"]) and ISO_MS_Z.match(f["updatedAt"])


def test_type_folder(client, lib):
    root, parsed = raw_list(client, type="folder", path="/", sort="ASC_NAME")
    assert [(f["name"], f["folderPath"]) for f in root] == [("lib", "/lib"), ("other", "/other")]
    _assert_folder_shape(root[0], "lib", "/lib")
    assert all(isinstance(p, imagekitio.types.Folder) for p in parsed)

    sub, _ = raw_list(client, type="folder", path="/lib/")
    assert len(sub) == 1
    _assert_folder_shape(sub[0], "sub", "/lib/sub")
    deeper, _ = raw_list(client, type="folder", path="/lib/sub/")
    assert [(f["name"], f["folderPath"]) for f in deeper] == [("deeper", "/lib/sub/deeper")]


def test_type_folder_ids_are_stable(client, lib):
    a, _ = raw_list(client, type="folder", path="/lib/")
    b, _ = raw_list(client, type="folder", path="/lib/")
    assert a[0]["folderId"] == b[0]["folderId"]


def test_type_all(client, lib):
    items, parsed = raw_list(client, type="all", path="/lib/")
    got = sorted((i["type"], i["name"]) for i in items)
    assert got == [("file", "a.png"), ("file", "b.png"), ("file", "c.png"), ("file", "doc.pdf"), ("folder", "sub")]
    kinds = {type(p).__name__ for p in parsed}
    assert kinds == {"File", "Folder"}


def test_type_file_version(client, lib):
    items, parsed = raw_list(client, type="file-version", path="/lib/")
    assert len(items) == 1, items
    v = items[0]
    assert v["type"] == "file-version"
    assert v["fileId"] == lib["b_id"]
    assert v["versionInfo"] == {"id": lib["b_id"], "name": "Version 1"}
    assert v["name"] == "b.png"
    assert v["size"] == len(lib["b_v1"])
    assert parsed[0].type == "file-version"
    # current versions are not listed as file-version, and versions are not in the default listing
    cur, _ = raw_list(client, path="/lib/", extra_query={"name": "b.png"})
    assert len(cur) == 1 and cur[0]["type"] == "file" and cur[0]["versionInfo"]["name"] == "Version 2"
    assert cur[0]["size"] == len(lib["b_v2"])
    everything, _ = raw_list(client, type="all")
    assert "file-version" not in {i["type"] for i in everything}


# ---------------------------------------------------------------- default/maximum page size


def test_default_limit_is_1000(new_server):
    s = new_server()
    c = s.client()
    pngs = [make_png(1, 1, seed=i) for i in range(1001)]

    def up(i):
        c.files.upload(file=pngs[i], file_name=f"m{i:04d}.png", folder="/many", use_unique_file_name=False)

    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(up, range(1001)))

    assert len(c.assets.list()) == 1000
    assert len(c.assets.list(path="/many/")) == 1000
    assert len(c.assets.list(limit=1000)) == 1000
    rest = c.assets.list(skip=1000, sort="ASC_NAME")
    assert [f.name for f in rest] == ["m1000.png"]
