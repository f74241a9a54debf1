"""GET /v1/files?searchQuery=…: the query language of docs/search.md, through the SDK
(client.assets.list(search_query=...)) and raw HTTP where the SDK cannot express a request.

Most tests run against one small library built once for the module under its own folder
(``ROOT`` = /search-<uuid>) and scope every query with ``path : ROOT``. The expected answer of a
query is computed by a Python model of docs/search.md over the library as the plain listing
reports it (files, folders, older versions), so a case states the rule it checks, not a list of
names; every case also says whether its answer must be empty, everything, or a proper subset,
so no case can pass vacuously.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional

import httpx
import pytest

import imagekitio
from conftest import KEY, assert_api_error, corpus, make_png, raw_list, raw_upload

ROOT = f"/search-{uuid.uuid4().hex[:10]}"

# A 1x1 GIF with a two-colour table and no transparency extension (35 bytes).
GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
FORMAT_BY_MIME = {
    "image/png": "png",
    "image/gif": "gif",
    "image/jpeg": "jpg",
    "application/pdf": "pdf",
    "text/plain": "txt",
}
MISSING_ID = "0123456789abcdef01234567"
JOB_TIMEOUT = 20.0


# ================================================================ generic helpers


def png_of_size(width: int, height: int, size: int, rgba: bool = False, seed: int = 0) -> bytes:
    """A valid PNG of exactly `size` bytes (padded with a tEXt chunk)."""
    base = len(make_png(width, height, rgba=rgba, seed=seed))
    pad = size - base - 20  # chunk length+type+crc (12) + b"Comment\0" (8)
    assert pad > 0, f"{width}x{height} PNG is already {base} bytes"
    data = make_png(width, height, rgba=rgba, seed=seed, text=b"x" * pad)
    assert len(data) == size
    return data


def ms(iso: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 instant (no offset = UTC)."""
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00").replace(" ", "T"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return (dt - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def iso_ms(ms_value: int) -> str:
    dt = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms_value)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parent(path: str) -> str:
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


def in_tree(path: str, top: str) -> bool:
    top = "/" + top.strip("/")
    return path == top or path.startswith(top + "/")


WORD = re.compile(r"[^\W_]+")  # runs of letters and digits


def _words_match(words: List[str], query: str) -> bool:
    q = [w.lower() for w in WORD.findall(query)]
    assert q, "a HAS case needs a word"
    words = [w.lower() for w in words]
    return all(w in words for w in q[:-1]) and any(w.startswith(q[-1]) for w in words)


def has(texts: List[str], query: str) -> bool:
    """docs/search.md HAS: every query word among the words, the last one as a prefix.

    For several texts (tags) the doc can be read per tag or over all tags' words; the library
    is built so both readings agree, and this checks that it stays so."""
    pooled = _words_match([w for t in texts for w in WORD.findall(t)], query) if texts else False
    per_text = any(_words_match(WORD.findall(t), query) for t in texts)
    assert pooled == per_text, f"test data is ambiguous for HAS {query!r} over {texts!r}"
    return pooled


def search_resp(client, query: Optional[str], **kw):
    if query is not None:
        kw["search_query"] = query
    return client.assets.with_raw_response.list(**kw)


def search(client, query: Optional[str], **kw) -> List[dict]:
    """The raw JSON items of a search through the SDK (asserting 200 and a bare array)."""
    resp = search_resp(client, query, **kw)
    assert resp.http_response.status_code == 200, f"{query!r}: {resp.http_response.text}"
    data = resp.http_response.json()
    assert isinstance(data, list), data
    resp.parse()  # the SDK can read the answer
    return data


def http_get(server, params: Dict[str, Any], timeout: float = 30) -> httpx.Response:
    return httpx.get(server.url + "/v1/files", params=params, auth=(KEY, ""), timeout=timeout)


def label(item: dict) -> str:
    """A readable, unique name for a listed asset."""
    kind = item["type"]
    if kind == "folder":
        return f"folder:{item['folderPath']}"
    if kind == "file-version":
        return f"version:{item['filePath']}@{item['versionInfo']['name']}"
    return f"file:{item['filePath']}"


def labels(items: List[dict]) -> List[str]:
    return [label(i) for i in items]


def scoped(query: str, top: str = ROOT) -> str:
    return f'path : "{top}" AND ({query})'


# ================================================================ the model


@dataclass
class Asset:
    kind: str  # file | file-version | folder
    id: str
    name: str
    path: str  # the folder it is in (a folder: its parent)
    label: str
    created: int
    updated: int
    tags: List[str] = field(default_factory=list)
    size: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    format: Optional[str] = None
    file_type: Optional[str] = None
    private: Optional[bool] = None
    published: Optional[bool] = None
    transparency: Optional[bool] = None
    raw: dict = field(default_factory=dict)

    @classmethod
    def of(cls, item: dict) -> "Asset":
        common = dict(
            kind=item["type"],
            name=item["name"],
            label=label(item),
            created=ms(item["createdAt"]),
            updated=ms(item["updatedAt"]),
            raw=item,
        )
        if item["type"] == "folder":
            return cls(id=item["folderId"], path=parent(item["folderPath"]), **common)
        return cls(
            id=item["fileId"],
            path=parent(item["filePath"]),
            tags=list(item.get("tags") or []) + [t["name"] for t in item.get("AITags") or []],
            size=item["size"],
            width=item.get("width"),
            height=item.get("height"),
            format=FORMAT_BY_MIME[item["mime"]],
            file_type=item["fileType"],
            private=item["isPrivateFile"],
            published=item["isPublished"],
            transparency=item["hasAlpha"],
            **common,
        )


class Values(dict):
    """What `%(key)s` in a case's query stands for (ids and dates known only at run time)."""

    def __init__(self, lib: "Library") -> None:
        super().__init__()
        self.lib = lib

    def __missing__(self, key: str) -> str:
        kind, _, rel = key.partition(":")
        if kind == "id":
            return self.lib.file(rel).id
        if kind == "fid":
            return self.lib.folder(rel).id
        created = self.lib.file(rel).raw["createdAt"] if rel else None
        if kind == "created":
            return created
        if kind == "created+2":  # the same instant written with a +02:00 offset
            dt = datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(timezone(timedelta(hours=2)))
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + created[20:23] + "+02:00"
        if kind == "created_space":  # space instead of T, no offset (= UTC)
            return created[:10] + " " + created[11:23]
        if kind == "created_s":  # whole seconds, no fraction, no offset
            return created[:19]
        raise KeyError(key)


@dataclass
class Library:
    assets: List[Asset]
    t_before_updates: str
    values: Values = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.values = Values(self)
        today = datetime.now(timezone.utc).date()
        self.values.update(
            ROOT=ROOT,
            ROOT_rel=ROOT.strip("/"),
            T_upd=self.t_before_updates,
            today=today.isoformat(),
            yesterday=(today - timedelta(days=1)).isoformat(),
            tomorrow=(today + timedelta(days=1)).isoformat(),
        )

    def file(self, rel: str) -> Asset:
        (a,) = [a for a in self.assets if a.kind == "file" and a.label == f"file:{ROOT}/{rel}"]
        return a

    def folder(self, rel: str) -> Asset:
        (a,) = [a for a in self.assets if a.kind == "folder" and a.label == f"folder:{ROOT}/{rel}"]
        return a

    def fmt(self, query: str) -> str:
        return query % self.values

    def universe(self, query: str, typed: Optional[bool] = None) -> List[Asset]:
        """Files only, unless the query mentions `type` (then folders and older versions too)."""
        if typed is None:
            typed = re.search(r'(^|[\s(])"?type"?\s*(=|IN\b|NOT\b)', query, re.I) is not None
        return [a for a in self.assets if typed or a.kind == "file"]

    def expect(self, query: str, pred: Callable[[Asset, Values], bool], typed: Optional[bool] = None) -> List[str]:
        return sorted(a.label for a in self.universe(query, typed) if pred(a, self.values))


def up(client, folder: str, name: str, data: bytes, **kw) -> dict:
    d, _ = raw_upload(client, file=data, file_name=name, folder=folder, use_unique_file_name=False, **kw)
    time.sleep(0.012)  # distinct createdAt (millisecond resolution)
    return d


def pdf_bytes(pad: bytes = b"") -> bytes:
    return corpus("document.pdf").read_bytes() + pad


@pytest.fixture(scope="module")
def lib(server, client) -> Library:
    """ROOT/ Red_Dress-2024.png 40x30 [sale, summer, "red dress"]   red.dress.small.png 10x10 rgba [sale]
          apple.png 20x20 [fruit] (tags later [fruit, green])        Banana.gif 1x1 [fruit] (later unpublished)
          cherry.png 20x10 rgba private [fruit, red]                 Kiwi.png 20x20 unpublished
          doc.pdf [paper]   notes.txt private   exact-1kb.png 8x8 1024 B ['say "hi"']
          half_kb.png 4x4 rgba 512 B ['back\\slash']   v.png 5x5 then 6x6 [versioned]   dup.png 5x5 [dup]
       sub/ kiwi.png 30x30 [fruit]  dup.png 8x8 [dup]  Report-2023.pdf [paper, archive]  red_apple.png 12x12 [fruit, red]
       sub/deeper/ dup.png 5x5 [dup]  deep-Sea.png 25x15 rgba
       subway/ sub-file.png 7x7 [transit]  train.txt
       empty_folder/
    """
    seed = iter(range(100, 1000))
    png = lambda w, h, rgba=False: make_png(w, h, rgba=rgba, seed=next(seed))  # noqa: E731
    r, sub, deeper, subway = ROOT, ROOT + "/sub", ROOT + "/sub/deeper", ROOT + "/subway"
    up(client, r, "Red_Dress-2024.png", png(40, 30), tags=["sale", "summer", "red dress"])
    up(client, r, "red.dress.small.png", png(10, 10, True), tags=["sale"])
    apple = up(client, r, "apple.png", png(20, 20), tags=["fruit"])
    banana = up(client, r, "Banana.gif", GIF_1X1, tags=["fruit"])
    up(client, r, "cherry.png", png(20, 10, True), tags=["fruit", "red"], is_private_file=True)
    up(client, r, "Kiwi.png", png(20, 20), is_published=False)
    up(client, r, "doc.pdf", pdf_bytes(), tags=["paper"])
    up(client, r, "notes.txt", b"plain text notes, nothing else\n" * 3, is_private_file=True)
    up(client, r, "exact-1kb.png", png_of_size(8, 8, 1024, seed=next(seed)), tags=['say "hi"'])
    up(client, r, "half_kb.png", png_of_size(4, 4, 512, rgba=True, seed=next(seed)), tags=["back\\slash"])
    up(client, r, "v.png", png(5, 5), tags=["versioned"])
    up(client, r, "dup.png", png(5, 5), tags=["dup"])
    up(client, sub, "kiwi.png", png(30, 30), tags=["fruit"])
    up(client, sub, "dup.png", png(8, 8), tags=["dup"])
    up(client, sub, "Report-2023.pdf", pdf_bytes(b"\n%padding\n"), tags=["paper", "archive"])
    up(client, sub, "red_apple.png", png(12, 12), tags=["fruit", "red"])
    up(client, deeper, "dup.png", png(5, 5), tags=["dup"])
    up(client, deeper, "deep-Sea.png", png(25, 15, True))
    up(client, subway, "sub-file.png", png(7, 7), tags=["transit"])
    up(client, subway, "train.txt", b"the 10:15 train\n" * 5)
    client.folders.create(folder_name="empty_folder", parent_folder_path=ROOT)
    v2 = up(client, r, "v.png", make_png(6, 6, seed=next(seed), text=b"second version"), tags=["versioned"])
    assert v2["versionInfo"]["name"] == "Version 2"

    # every createdAt/updatedAt so far, then a pause, then two updates (for updatedAt cases)
    before = raw_list(client, type="all")[0] + raw_list(client, type="file-version")[0]
    t_before = iso_ms(max(max(ms(i["createdAt"]), ms(i["updatedAt"])) for i in before))
    time.sleep(0.05)
    client.files.update(apple["fileId"], tags=["fruit", "green"])
    client.files.update(banana["fileId"], publish={"isPublished": False})

    items = raw_list(client, type="all")[0] + raw_list(client, type="file-version")[0]
    assets = [
        Asset.of(i)
        for i in items
        if in_tree(i.get("filePath") or i.get("folderPath"), ROOT) and i.get("folderPath") != ROOT
    ]
    return Library(assets=assets, t_before_updates=t_before)


def test_library_is_as_designed(lib):
    """The model rests on these attributes (reported by the plain listing)."""
    files = {a.label[len("file:" + ROOT) + 1 :]: a for a in lib.assets if a.kind == "file"}
    assert len(files) == 20
    assert sorted(a.label for a in lib.assets if a.kind == "folder") == [
        f"folder:{ROOT}/{p}" for p in ("empty_folder", "sub", "sub/deeper", "subway")
    ]
    assert [a.label for a in lib.assets if a.kind == "file-version"] == [f"version:{ROOT}/v.png@Version 1"]
    assert files["exact-1kb.png"].size == 1024 and files["half_kb.png"].size == 512
    assert (files["doc.pdf"].width, files["notes.txt"].height, files["doc.pdf"].format) == (None, None, "pdf")
    assert (files["Banana.gif"].width, files["Banana.gif"].format, files["Banana.gif"].transparency) == (1, "gif", False)
    assert files["half_kb.png"].transparency is True and files["apple.png"].transparency is False
    assert files["cherry.png"].private is True and files["Kiwi.png"].published is False
    assert files["Banana.gif"].published is False and files["apple.png"].tags == ["fruit", "green"]
    assert files["exact-1kb.png"].tags == ['say "hi"'] and files["half_kb.png"].tags == ["back\\slash"]
    assert files["notes.txt"].format == "txt" and files["notes.txt"].file_type == "non-image"
    assert len({a.created for a in files.values()}) == 20, "files need distinct createdAt"
    assert ms(lib.t_before_updates) < files["apple.png"].updated


# ================================================================ the cases

# (query, predicate(asset, values), expect): expect is "some" (a non-empty proper subset of
# what is searched), "none", "all" or "any" (depends on the clock). `%(key)s` see Values.
CASES = [
    # ---- name
    ('name = "apple.png"', lambda a, v: a.name == "apple.png", "some"),
    ('name = "Apple.png"', lambda a, v: False, "none"),
    ('name = "dup.png"', lambda a, v: a.name == "dup.png", "some"),
    ('name : "red"', lambda a, v: a.name.startswith("red"), "some"),
    ('name : "Red"', lambda a, v: a.name.startswith("Red"), "some"),
    ('name : "sub-"', lambda a, v: a.name.startswith("sub-"), "some"),
    ('name IN ["apple.png", "Kiwi.png", "nothing.png"]', lambda a, v: a.name in ("apple.png", "Kiwi.png"), "some"),
    ('name NOT = "dup.png"', lambda a, v: a.name != "dup.png", "some"),
    ('name NOT IN ["dup.png", "kiwi.png"]', lambda a, v: a.name not in ("dup.png", "kiwi.png"), "some"),
    ('name HAS "red dre"', lambda a, v: has([a.name], "red dre"), "some"),
    ('name HAS "dre red"', lambda a, v: has([a.name], "dre red"), "none"),
    ('name HAS "RED"', lambda a, v: has([a.name], "red"), "some"),
    ('name HAS "2024 dress"', lambda a, v: has([a.name], "2024 dress"), "some"),
    ('name HAS "kb"', lambda a, v: has([a.name], "kb"), "some"),
    ('name HAS "1kb"', lambda a, v: has([a.name], "1kb"), "some"),
    ('name HAS "sea"', lambda a, v: has([a.name], "sea"), "some"),
    ('name HAS "-Small.PNG-"', lambda a, v: has([a.name], "small png"), "some"),
    # ---- tags
    ('tags IN ["sale", "paper"]', lambda a, v: bool({"sale", "paper"} & set(a.tags)), "some"),
    ('tags = "fruit"', lambda a, v: "fruit" in a.tags, "some"),
    ('tags = "red dress"', lambda a, v: "red dress" in a.tags, "some"),
    ('tags = "dress"', lambda a, v: False, "none"),
    ('tags NOT IN ["fruit", "dup"]', lambda a, v: not {"fruit", "dup"} & set(a.tags), "some"),
    ('tags NOT = "fruit"', lambda a, v: "fruit" not in a.tags, "some"),
    ('tags HAS "summ"', lambda a, v: has(a.tags, "summ"), "some"),
    ('tags HAS "red dr"', lambda a, v: has(a.tags, "red dr"), "some"),
    ('tags HAS "ARCH"', lambda a, v: has(a.tags, "arch"), "some"),
    ('tags HAS "hi"', lambda a, v: has(a.tags, "hi"), "some"),
    ("tags EXISTS", lambda a, v: bool(a.tags), "some"),
    ("tags NOT EXISTS", lambda a, v: not a.tags, "some"),
    ('tags = "green"', lambda a, v: "green" in a.tags, "some"),  # set by an update
    # quoting and escapes: \" is a quote, \\ a backslash, any other \x is x
    (r'tags = "say \"hi\""', lambda a, v: 'say "hi"' in a.tags, "some"),
    (r'tags IN ["back\\slash"]', lambda a, v: "back\\slash" in a.tags, "some"),
    (r'tags = "b\a\ck\\sl\ash"', lambda a, v: "back\\slash" in a.tags, "some"),
    (r'tags = "\s\a\l\e"', lambda a, v: "sale" in a.tags, "some"),
    ('"tags" IN ["sale"]', lambda a, v: "sale" in a.tags, "some"),
    ('"name" = "apple.png"', lambda a, v: a.name == "apple.png", "some"),
    # ---- type (the query looks at files, folders and older versions)
    ('type = "folder"', lambda a, v: a.kind == "folder", "some"),
    ('type = "file-version"', lambda a, v: a.kind == "file-version", "some"),
    ("type = file-version", lambda a, v: a.kind == "file-version", "some"),
    ('type = "file"', lambda a, v: a.kind == "file", "some"),
    ('type IN ["file", "folder"]', lambda a, v: a.kind in ("file", "folder"), "some"),
    ('type NOT = "file-version"', lambda a, v: a.kind != "file-version", "some"),
    ('type NOT IN ["file"]', lambda a, v: a.kind != "file", "some"),
    ('type = "folder" AND name : "sub"', lambda a, v: a.kind == "folder" and a.name.startswith("sub"), "some"),
    ('name = "v.png" OR type = "folder"', lambda a, v: a.name == "v.png" or a.kind == "folder", "some"),
    ('type = "folder" AND path = "%(ROOT)s"', lambda a, v: a.kind == "folder" and a.path == ROOT, "some"),
    ('type = "file-version" AND width = 5', lambda a, v: a.kind == "file-version" and a.width == 5, "some"),
    ('type = "file-version" AND width = 6', lambda a, v: False, "none"),
    ('type = "file" AND name = "v.png" AND width = 6', lambda a, v: a.kind == "file" and a.name == "v.png", "some"),
    ('type = "file-version" AND tags = "versioned"', lambda a, v: a.kind == "file-version", "some"),
    # absent values on folders: a condition is false, its negation true
    ('type = "folder" AND size > 0', lambda a, v: False, "none"),
    ('type = "folder" AND size NOT = 1', lambda a, v: a.kind == "folder", "some"),
    ('type = "folder" AND tags NOT EXISTS', lambda a, v: a.kind == "folder", "some"),
    ('type = "folder" AND tags EXISTS', lambda a, v: False, "none"),
    ('type = "folder" AND format NOT IN ["png"]', lambda a, v: a.kind == "folder", "some"),
    ('type = "folder" AND fileType NOT = "image"', lambda a, v: a.kind == "folder", "some"),
    ('type = "folder" AND private = false', lambda a, v: False, "none"),
    ('type IN ["folder", "file-version"] AND private NOT = true', lambda a, v: a.kind != "file", "some"),
    # ---- id
    ('id = "%(id:apple.png)s"', lambda a, v: a.id == v["id:apple.png"], "some"),
    ('id IN ["%(id:apple.png)s", "%(id:sub/kiwi.png)s"]', lambda a, v: a.id in (v["id:apple.png"], v["id:sub/kiwi.png"]), "some"),
    ('id NOT = "%(id:apple.png)s"', lambda a, v: a.id != v["id:apple.png"], "some"),
    ('id NOT IN ["%(id:apple.png)s", "%(id:sub/kiwi.png)s"]', lambda a, v: a.id not in (v["id:apple.png"], v["id:sub/kiwi.png"]), "some"),
    ('id = "%(id:v.png)s"', lambda a, v: a.id == v["id:v.png"], "some"),
    ('id = "%(id:v.png)s" AND type IN ["file", "file-version"]', lambda a, v: a.id == v["id:v.png"], "some"),
    ('id = "%(fid:sub)s" AND type = "folder"', lambda a, v: a.id == v["fid:sub"], "some"),
    ('id IN ["%(fid:subway)s", "%(id:apple.png)s"] AND type NOT = "file-version"', lambda a, v: a.id in (v["fid:subway"], v["id:apple.png"]), "some"),
    ('id = "%s"' % MISSING_ID, lambda a, v: False, "none"),
    # ---- createdAt / updatedAt: absolute
    ('createdAt = "%(created:half_kb.png)s"', lambda a, v: a.created == ms(v["created:half_kb.png"]), "some"),
    ('createdAt >= "%(created:half_kb.png)s"', lambda a, v: a.created >= ms(v["created:half_kb.png"]), "some"),
    ('createdAt > "%(created:half_kb.png)s"', lambda a, v: a.created > ms(v["created:half_kb.png"]), "some"),
    ('createdAt < "%(created:half_kb.png)s"', lambda a, v: a.created < ms(v["created:half_kb.png"]), "some"),
    ('createdAt <= "%(created:half_kb.png)s"', lambda a, v: a.created <= ms(v["created:half_kb.png"]), "some"),
    ('createdAt NOT = "%(created:half_kb.png)s"', lambda a, v: a.created != ms(v["created:half_kb.png"]), "some"),
    ('createdAt IN ["%(created:half_kb.png)s", "%(created:apple.png)s"]', lambda a, v: a.created in (ms(v["created:half_kb.png"]), ms(v["created:apple.png"])), "some"),
    ('createdAt NOT IN ["%(created:half_kb.png)s", "%(created:apple.png)s"]', lambda a, v: a.created not in (ms(v["created:half_kb.png"]), ms(v["created:apple.png"])), "some"),
    ('createdAt > "%(created+2:half_kb.png)s"', lambda a, v: a.created > ms(v["created:half_kb.png"]), "some"),
    ('createdAt = "%(created+2:half_kb.png)s"', lambda a, v: a.created == ms(v["created:half_kb.png"]), "some"),
    ('createdAt <= "%(created_space:half_kb.png)s"', lambda a, v: a.created <= ms(v["created:half_kb.png"]), "some"),
    ("createdAt >= %(created:half_kb.png)s", lambda a, v: a.created >= ms(v["created:half_kb.png"]), "some"),
    ('createdAt >= "%(created_s:half_kb.png)s"', lambda a, v: a.created >= ms(v["created_s:half_kb.png"]), "any"),
    ('createdAt > "%(yesterday)s"', lambda a, v: True, "all"),
    ("createdAt < %(tomorrow)s", lambda a, v: True, "all"),
    ('createdAt >= "%(today)s"', lambda a, v: a.created >= ms(v["today"]), "any"),
    ("createdAt < 2000-01-01", lambda a, v: False, "none"),
    ('createdAt < "2000-01-01T00:00:00Z"', lambda a, v: False, "none"),
    ('createdAt > "1999-12-31T23:00:00-05:00"', lambda a, v: True, "all"),
    ('updatedAt > "%(T_upd)s"', lambda a, v: a.updated > ms(v["T_upd"]), "some"),
    ('updatedAt <= "%(T_upd)s"', lambda a, v: a.updated <= ms(v["T_upd"]), "some"),
    ('updatedAt > "%(T_upd)s" AND createdAt <= "%(T_upd)s"', lambda a, v: a.updated > ms(v["T_upd"]) >= a.created, "some"),
    # ---- createdAt / updatedAt: relative (everything here was made minutes ago)
    ('createdAt > "1h"', lambda a, v: True, "all"),
    ('createdAt < "1h"', lambda a, v: False, "none"),
    ('createdAt > "1d"', lambda a, v: True, "all"),
    ("createdAt >= 2w", lambda a, v: True, "all"),
    ('createdAt > "1m"', lambda a, v: True, "all"),
    ('createdAt <= "1y"', lambda a, v: False, "none"),
    ('updatedAt > "1d"', lambda a, v: True, "all"),
    ('updatedAt < "1h" OR name = "apple.png"', lambda a, v: a.name == "apple.png", "some"),
    # ---- size (units of 1024, case-insensitive)
    ("size = 1024", lambda a, v: a.size == 1024, "some"),
    ('size = "1kb"', lambda a, v: a.size == 1024, "some"),
    ("size = 1KB", lambda a, v: a.size == 1024, "some"),
    ('size = "0.5kb"', lambda a, v: a.size == 512, "some"),
    ('size <= "0.5kb"', lambda a, v: a.size <= 512, "some"),
    ("size < 512", lambda a, v: a.size < 512, "some"),
    ('size > "1kb"', lambda a, v: a.size > 1024, "some"),
    ('size >= "1kb"', lambda a, v: a.size >= 1024, "some"),
    ('size < "1.5KB"', lambda a, v: a.size < 1536, "some"),
    ("size > 7kb", lambda a, v: a.size > 7 * 1024, "some"),
    ('size < "1mb"', lambda a, v: True, "all"),
    ('size < "0.001gb"', lambda a, v: True, "all"),
    ("size IN [512, 1024]", lambda a, v: a.size in (512, 1024), "some"),
    ('size IN ["0.5kb", "1kb"]', lambda a, v: a.size in (512, 1024), "some"),
    ("size NOT IN [512, 1024]", lambda a, v: a.size not in (512, 1024), "some"),
    ("size NOT = 1024", lambda a, v: a.size != 1024, "some"),
    ('size >= "0.5kb" AND size <= "1kb"', lambda a, v: 512 <= a.size <= 1024, "some"),
    # ---- width / height (absent on non-images)
    ("width > 0", lambda a, v: a.width is not None, "some"),
    ("width NOT = 5", lambda a, v: a.width != 5, "some"),
    ("width NOT IN [5, 20]", lambda a, v: a.width not in (5, 20), "some"),
    ("width = 20", lambda a, v: a.width == 20, "some"),
    ("width >= 20", lambda a, v: a.width is not None and a.width >= 20, "some"),
    ("width < 10", lambda a, v: a.width is not None and a.width < 10, "some"),
    ("width <= 10", lambda a, v: a.width is not None and a.width <= 10, "some"),
    ("width IN [5, 20]", lambda a, v: a.width in (5, 20), "some"),
    ("height > 15", lambda a, v: a.height is not None and a.height > 15, "some"),
    ("height = 10", lambda a, v: a.height == 10, "some"),
    ("height NOT = 10", lambda a, v: a.height != 10, "some"),
    ("width > 10 AND height < 20", lambda a, v: (a.width or 0) > 10 and a.height is not None and a.height < 20, "some"),
    # ---- format (case-insensitive)
    ('format = "png"', lambda a, v: a.format == "png", "some"),
    ('format = "PNG"', lambda a, v: a.format == "png", "some"),
    ("format = GIF", lambda a, v: a.format == "gif", "some"),
    ('format = "txt"', lambda a, v: a.format == "txt", "some"),
    ('format IN ["gif", "pdf"]', lambda a, v: a.format in ("gif", "pdf"), "some"),
    ('format NOT IN ["png"]', lambda a, v: a.format != "png", "some"),
    ('format NOT = "png"', lambda a, v: a.format != "png", "some"),
    ('format = "jpg"', lambda a, v: False, "none"),
    # ---- fileType
    ('fileType = "image"', lambda a, v: a.file_type == "image", "some"),
    ('fileType = "non-image"', lambda a, v: a.file_type == "non-image", "some"),
    ("fileType = non-image", lambda a, v: a.file_type == "non-image", "some"),
    ('fileType IN ["non-image"]', lambda a, v: a.file_type == "non-image", "some"),
    ('fileType NOT = "image"', lambda a, v: a.file_type != "image", "some"),
    ('fileType NOT IN ["image"]', lambda a, v: a.file_type != "image", "some"),
    # ---- private / published / transparency (bare booleans, case-insensitive)
    ("private = true", lambda a, v: a.private is True, "some"),
    ("private = FALSE", lambda a, v: a.private is False, "some"),
    ("private NOT = true", lambda a, v: a.private is not True, "some"),
    ("published = false", lambda a, v: a.published is False, "some"),
    ("published = True", lambda a, v: a.published is True, "some"),
    ("published NOT = False", lambda a, v: a.published is not False, "some"),
    ("transparency = true", lambda a, v: a.transparency is True, "some"),
    ("transparency NOT = true", lambda a, v: a.transparency is not True, "some"),
    # (whether a PDF "has" transparency is not specified: these look at images only)
    ('transparency = false AND fileType = "image"', lambda a, v: a.transparency is False and a.file_type == "image", "some"),
    ('fileType = "image" AND transparency NOT = false', lambda a, v: a.transparency is True, "some"),
    # ---- path: = is that folder, : the folder and every folder below it
    ('path = "%(ROOT)s/sub"', lambda a, v: a.path == ROOT + "/sub", "some"),
    ('path = "%(ROOT)s/sub/"', lambda a, v: a.path == ROOT + "/sub", "some"),
    ('path = "%(ROOT_rel)s/sub"', lambda a, v: a.path == ROOT + "/sub", "some"),
    ('path = "%(ROOT)s"', lambda a, v: a.path == ROOT, "some"),
    ('path : "%(ROOT)s/sub"', lambda a, v: in_tree(a.path, ROOT + "/sub"), "some"),
    ('path : "%(ROOT_rel)s/sub/"', lambda a, v: in_tree(a.path, ROOT + "/sub"), "some"),
    ('path : "%(ROOT)s/sub/deeper/"', lambda a, v: in_tree(a.path, ROOT + "/sub/deeper"), "some"),
    ("path : %(ROOT)s/sub", lambda a, v: in_tree(a.path, ROOT + "/sub"), "some"),
    ('path : "%(ROOT)s/empty_folder"', lambda a, v: False, "none"),
    ('path : "%(ROOT)s"', lambda a, v: True, "all"),
    ('path IN ["%(ROOT)s/sub", "%(ROOT)s/subway/"]', lambda a, v: a.path in (ROOT + "/sub", ROOT + "/subway"), "some"),
    ('path NOT = "%(ROOT)s"', lambda a, v: a.path != ROOT, "some"),
    ('path NOT IN ["%(ROOT)s", "%(ROOT)s/sub"]', lambda a, v: a.path not in (ROOT, ROOT + "/sub"), "some"),
    ('type = "folder" AND path : "%(ROOT)s/sub"', lambda a, v: a.kind == "folder" and in_tree(a.path, ROOT + "/sub"), "some"),
    # ---- AND before OR, parentheses, keyword case, spacing, bare values
    ('tags = "sale" OR tags = "fruit" AND private = true', lambda a, v: "sale" in a.tags or ("fruit" in a.tags and a.private), "some"),
    ('(tags = "sale" OR tags = "fruit") AND private = true', lambda a, v: ("sale" in a.tags or "fruit" in a.tags) and a.private, "some"),
    ('private = true AND tags = "fruit" OR fileType = "non-image"', lambda a, v: (a.private and "fruit" in a.tags) or a.file_type == "non-image", "some"),
    ('private = true AND (tags = "fruit" OR fileType = "non-image")', lambda a, v: a.private and ("fruit" in a.tags or a.file_type == "non-image"), "some"),
    ('((name : "red" OR name : "Red") AND (width > 15 OR tags IN ["sale"])) OR (format = "gif")',
     lambda a, v: (a.name.startswith(("red", "Red")) and ((a.width or 0) > 15 or "sale" in a.tags)) or a.format == "gif", "some"),
    ('(((tags = "dup")))', lambda a, v: "dup" in a.tags, "some"),
    ('tags = "dup" AND (path = "%(ROOT)s" OR (path = "%(ROOT)s/sub/deeper" AND width = 5))',
     lambda a, v: "dup" in a.tags and (a.path == ROOT or (a.path == ROOT + "/sub/deeper" and a.width == 5)), "some"),
    ('tags in ["fruit"] and width > 15 or format = "gif"', lambda a, v: ("fruit" in a.tags and (a.width or 0) > 15) or a.format == "gif", "some"),
    ('tags not in ["fruit"] And tags Exists', lambda a, v: bool(a.tags) and "fruit" not in a.tags, "some"),
    ('tags not exists oR name has "APPLE"', lambda a, v: not a.tags or has([a.name], "apple"), "some"),
    ('name Not = "dup.png" anD fileType nOt iN ["image"]', lambda a, v: a.file_type == "non-image", "some"),
    ("name=apple.png", lambda a, v: a.name == "apple.png", "some"),
    ("name = Red_Dress-2024.png", lambda a, v: a.name == "Red_Dress-2024.png", "some"),
    ("width>=20 AND height<=20", lambda a, v: (a.width or 0) >= 20 and a.height is not None and a.height <= 20, "some"),
    ("(width>10)AND(height<20)", lambda a, v: (a.width or 0) > 10 and a.height is not None and a.height < 20, "some"),
    ('tags IN["fruit","sale"]', lambda a, v: bool({"fruit", "sale"} & set(a.tags)), "some"),
    ("path:%(ROOT)s/sub AND name:k", lambda a, v: in_tree(a.path, ROOT + "/sub") and a.name.startswith("k"), "some"),
    ("size>1kb AND format=pdf", lambda a, v: a.size > 1024 and a.format == "pdf", "some"),
    ("  name  =  \"apple.png\"  ", lambda a, v: a.name == "apple.png", "some"),
    ("name = 'apple.png'", lambda a, v: False, "none"),  # single quotes are part of the bare word
    ('"type" = "folder"', lambda a, v: a.kind == "folder", "some"),
    # ---- the examples at the top of docs/search.md
    ('tags IN ["sale", "summer"] AND createdAt > "7d"', lambda a, v: bool({"sale", "summer"} & set(a.tags)), "some"),
    ('(size < "1mb" AND width > 500) OR name HAS "red dress"', lambda a, v: has([a.name], "red dress"), "some"),
    ('path : "%(ROOT)s/sub" AND format NOT IN ["gif", "svg"] AND type = "file"',
     lambda a, v: a.kind == "file" and in_tree(a.path, ROOT + "/sub"), "some"),
    ("tags = say OR tags = back", lambda a, v: False, "none"),
]


def _case_id(case) -> str:
    return case[0]


@pytest.mark.parametrize("query,pred,expect", CASES, ids=[_case_id(c) for c in CASES])
def test_search_case(client, lib, query, pred, expect):
    q = lib.fmt(query)
    got = sorted(labels(search(client, scoped(q))))
    want = lib.expect(q, pred)
    assert got == want, f"searchQuery {scoped(q)!r}"
    space = sorted(a.label for a in lib.universe(q))
    if expect == "none":
        assert want == [], "test case is wrong: its model answer is not empty"
    elif expect == "all":
        assert want == space, "test case is wrong: its model answer is not everything"
    elif expect == "some":
        assert want and want != space, "test case is vacuous: its model answer is empty or everything"


def test_search_items_are_listing_items(client, lib):
    """A search answers with the same objects as the plain listing."""
    apple = lib.file("apple.png")
    (item,) = search(client, scoped(f'id = "{apple.id}"'))
    assert item == apple.raw
    (folder,) = search(client, scoped('type = "folder" AND name = "deeper"'))
    assert folder == lib.folder("sub/deeper").raw
    (version,) = search(client, scoped('type = "file-version"'))
    assert version == [a for a in lib.assets if a.kind == "file-version"][0].raw
    parsed = client.assets.list(search_query=scoped('type IN ["file", "folder"] AND name : "sub"'))
    assert sorted(type(p).__name__ for p in parsed) == ["File", "Folder", "Folder"]


def test_unscoped_search_sees_the_whole_library(client, lib):
    got = labels(search(client, 'name = "red_apple.png"'))
    assert got == [f"file:{ROOT}/sub/red_apple.png"]


# ================================================================ other parameters


def test_tags_type_name_params_are_ignored(server, client, lib):
    q = scoped('name : "red" OR tags = "paper"')
    want = sorted(labels(search(client, q)))
    assert want and all(w.startswith("file:") for w in want)
    got = search(client, q, type="folder", extra_query={"tags": "nothing-has-this", "name": "zzz.png"})
    assert sorted(labels(got)) == want
    got = search(client, q, type="file-version")
    assert sorted(labels(got)) == want
    got = search(client, q, type="all")
    assert sorted(labels(got)) == want
    r = http_get(server, {"searchQuery": q, "type": "folder", "tags": "dup", "name": "dup.png"})
    assert r.status_code == 200, r.text
    assert sorted(labels(r.json())) == want


def test_path_param_still_applies(client, lib):
    got = search(client, 'type IN ["file", "folder"]', path=ROOT + "/sub/")
    want = lib.expect("", typed=True, pred=lambda a, v: a.kind in ("file", "folder") and a.path == ROOT + "/sub")
    assert sorted(labels(got)) == want
    assert f"folder:{ROOT}/sub/deeper" in want and f"file:{ROOT}/sub/kiwi.png" in want
    # the parameter is that folder only; the query's path : still reaches further down
    got = search(client, f'path : "{ROOT}"', path=ROOT + "/sub/deeper")
    assert sorted(labels(got)) == [f"file:{ROOT}/sub/deeper/deep-Sea.png", f"file:{ROOT}/sub/deeper/dup.png"]
    got = search(client, f'path = "{ROOT}/subway"', path=ROOT + "/sub")
    assert got == []


def test_file_type_param_still_applies_and_keeps_folders(client, lib):
    q = scoped('type IN ["file", "folder"]')
    got = search(client, q, file_type="non-image")
    want = lib.expect("", typed=True, pred=lambda a, v: a.kind == "folder" or (a.kind == "file" and a.file_type == "non-image"))
    assert sorted(labels(got)) == want
    got = search(client, scoped('tags = "fruit"'), file_type="image")
    assert sorted(labels(got)) == lib.expect("", lambda a, v: "fruit" in a.tags)
    got = search(client, scoped('tags = "paper" OR name = "apple.png"'), file_type="non-image")
    assert sorted(labels(got)) == lib.expect("", lambda a, v: "paper" in a.tags)
    got = search(client, scoped('tags = "paper" OR name = "apple.png"'), file_type="all")
    assert len(got) == 3


def test_skip_and_limit_apply(client, lib):
    q = scoped('fileType = "image"')
    full = labels(search(client, q, sort="ASC_NAME"))
    assert len(full) > 6
    assert labels(search(client, q, sort="ASC_NAME", limit=2)) == full[:2]
    assert labels(search(client, q, sort="ASC_NAME", skip=3, limit=4)) == full[3:7]
    assert labels(search(client, q, sort="ASC_NAME", skip=len(full) - 1)) == full[-1:]
    assert search(client, q, sort="ASC_NAME", skip=len(full)) == []


@pytest.mark.parametrize("blank", ["", " ", "   \t  ", "\n"], ids=["empty", "space", "spaces-tab", "newline"])
def test_blank_search_query_is_no_search_query(server, lib, blank):
    for extra in ({"tags": "fruit"}, {"type": "folder"}, {"name": "dup.png"}, {"type": "file-version"}, {}):
        params = {"path": ROOT + "/", "sort": "ASC_NAME", **extra}
        plain = http_get(server, params)
        with_blank = http_get(server, {**params, "searchQuery": blank})
        assert plain.status_code == with_blank.status_code == 200, with_blank.text
        assert with_blank.json() == plain.json(), extra
    assert http_get(server, {"path": ROOT + "/", "tags": "fruit", "searchQuery": blank}).json() != []


def test_blank_search_query_through_sdk(client, lib):
    got = search(client, "   ", path=ROOT + "/sub/", type="folder")
    assert labels(got) == [f"folder:{ROOT}/sub/deeper"]


# ================================================================ sorting and paging


def model_sort(assets: List[Asset], key: str, desc: bool) -> List[str]:
    """docs/search.md: sort value, ties by id, in the same direction; absent values first
    ascending and last descending (so descending is exactly ascending reversed)."""
    value = {
        "NAME": lambda a: a.name.lower(),
        "SIZE": lambda a: a.size,
        "WIDTH": lambda a: a.width,
        "HEIGHT": lambda a: a.height,
        "CREATED": lambda a: a.created,
        "UPDATED": lambda a: a.updated,
    }[key]
    asc = sorted(assets, key=lambda a: (value(a) is not None, value(a) if value(a) is not None else 0, a.id))
    return [a.label for a in (asc[::-1] if desc else asc)]


NAME_SUBSET = ["apple.png", "Banana.gif", "cherry.png", "Kiwi.png", "kiwi.png", "dup.png", "deep-Sea.png", "exact-1kb.png"]


SORT_CASES = [
    # (punctuation order differs between collations and is not specified: no names that meet it)
    ("NAME", "name IN [%s]" % ", ".join(f'"{n}"' for n in NAME_SUBSET), lambda a: a.name in NAME_SUBSET),
    ("SIZE", "size > 0", lambda a: True),
    ("SIZE", 'type IN ["file", "folder"]', lambda a: a.kind != "file-version"),  # folders have no size
    ("WIDTH", 'format NOT = "gif"', lambda a: a.format != "gif"),  # PDFs and text files have no width
    ("HEIGHT", "size > 0", lambda a: True),
    ("WIDTH", 'type NOT = "file-version" AND (type = "folder" OR fileType = "non-image" OR width IN [5, 20])',
     lambda a: a.kind == "folder" or (a.kind == "file" and (a.file_type == "non-image" or a.width in (5, 20)))),
    ("CREATED", "size > 0", lambda a: True),
    ("UPDATED", "size > 0", lambda a: True),
    ("CREATED", 'type IN ["file", "folder"]', lambda a: a.kind != "file-version"),
]


@pytest.mark.parametrize("desc", [False, True], ids=["ASC", "DESC"])
@pytest.mark.parametrize(
    "key,query,pred", SORT_CASES,
    ids=["name", "size", "size-folders", "width", "height", "width-ties", "created", "updated", "created-folders"],
)
def test_sort(client, lib, key, query, pred, desc):
    got = labels(search(client, scoped(query), sort=("DESC_" if desc else "ASC_") + key))
    members = [a for a in lib.universe(query) if pred(a)]
    assert len(members) >= 5
    assert got == model_sort(members, key, desc)


@pytest.mark.parametrize("other", ["RELEVANCE", "DURATION", "ORIGINAL_CREATION_DATE"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_other_sorts_order_by_creation(client, lib, other, direction):
    q = scoped("size > 0")
    assert labels(search(client, q, sort=f"{direction}_{other}")) == labels(
        search(client, q, sort=f"{direction}_CREATED")
    )


def test_sort_name_is_case_insensitive(client, lib):
    got = [i["name"] for i in search(client, scoped('name IN ["Banana.gif", "apple.png", "cherry.png"]'), sort="ASC_NAME")]
    assert got == ["apple.png", "Banana.gif", "cherry.png"]


@pytest.mark.parametrize("sort", ["ASC_NAME", "DESC_NAME", "ASC_CREATED", "DESC_CREATED", "ASC_SIZE", "DESC_UPDATED"])
def test_sort_agrees_with_plain_listing(client, lib, sort):
    """Whatever order a collation gives, a search orders a folder's files as the listing does."""
    plain, _ = raw_list(client, path=ROOT + "/sub/", sort=sort)
    assert len(plain) >= 4
    assert labels(search(client, f'path = "{ROOT}/sub"', sort=sort)) == labels(plain)


PAGING_QUERIES = [
    'size > 0',
    'type IN ["file", "folder", "file-version"]',
    'tags = "dup" OR width IN [5, 20] OR fileType = "non-image"',
]
PAGING_SORTS = ["ASC_CREATED", "DESC_CREATED", "ASC_NAME", "DESC_NAME", "ASC_SIZE", "DESC_SIZE",
                "ASC_WIDTH", "DESC_WIDTH", "ASC_HEIGHT", "DESC_UPDATED", "ASC_RELEVANCE"]


@pytest.mark.parametrize("sort", PAGING_SORTS)
@pytest.mark.parametrize("query", PAGING_QUERIES, ids=["files", "everything", "ties"])
def test_paging_is_stable(client, lib, query, sort):
    q = scoped(query)
    full = labels(search(client, q, sort=sort))
    assert len(full) >= 8
    assert len(set(full)) == len(full), "duplicates in the unpaged answer"
    pages: List[str] = []
    skip = 0
    while True:
        page = labels(search(client, q, sort=sort, skip=skip, limit=3))
        assert len(page) <= 3
        pages += page
        if len(page) < 3:
            break
        skip += 3
    assert len(set(pages)) == len(pages), "a page repeats an asset"
    assert pages == full, "pages miss or reorder assets"
    # and the same twice
    assert labels(search(client, q, sort=sort)) == full


# ================================================================ errors


def _column(message: str) -> Optional[int]:
    m = re.search(r"column (\d+)", message)
    return int(m.group(1)) if m else None


def nested(depth: int) -> str:
    return "(" * depth + 'name = "a"' + ")" * depth


def conditions(n: int) -> str:
    return " OR ".join(f'name = "n{i}"' for i in range(n))


def list_values(n: int) -> str:
    half = n // 2
    first = ",".join(f'"v{i}"' for i in range(half))
    second = ",".join(f'"w{i}"' for i in range(n - half))
    q = f"name IN [{first}] OR tags IN [{second}]"
    assert len(q.encode()) <= 8192  # only the number of values is over a limit
    return q


def exactly_bytes(n: int) -> str:
    q = 'name = ""'
    return q[:-1] + "a" * (n - len(q)) + '"'


# (query, column or None when the doc leaves the exact column open, words the message must say)
ERRORS = [
    ("name =", 7, None),
    ("name = ", None, None),
    ('name = "a" AND', 15, None),
    ('width HAS "x"', 7, None),
    ('size > "big"', 8, None),
    ('type = "photo"', 8, None),
    ('type = "all"', 8, None),
    ('fileType = "video"', 12, None),
    ("private = maybe", 11, None),
    ('createdAt > "yesterday"', 13, None),
    ('createdAt > "7x"', 13, None),
    ('createdAt > "2024-13-45"', 13, None),
    ('size > "1.5xb"', 8, None),
    ('colour = "red"', 1, None),
    ('Name = "a"', 1, None),
    ("Width > 5", 1, None),
    ('name = "a")', 11, None),
    ('(name = "a"', None, None),
    ('((name = "a") OR (name = "b")', None, None),
    ('name = "a" OR OR name = "b"', 15, None),
    ('AND name = "a"', 1, None),
    ('name "a"', 6, None),
    ('name == "a"', None, None),
    ('name != "a"', None, None),
    ('NOT name = "a"', 1, None),
    ('name NOT "a"', None, None),
    ('name = "abc', None, None),
    ("name IN []", None, None),
    ('name IN "a"', None, None),
    ('name IN ["a" "b"]', None, None),
    ('name IN ["a",]', None, None),
    ('tags EXISTS "x"', None, None),
    ('name HAS "--"', None, None),
    ('tags HAS ""', None, None),
    ('tags : "a"', 6, None),
    ("size : 10", 6, None),
    ('format > "png"', 8, None),
    ('type HAS "file"', 6, None),
    ('id < "abc"', 4, None),
    ("private IN [true]", 9, None),
    ("private > true", 9, None),
    ('name < "b"', 6, None),
    ("name = 'red dress'", None, None),
    ('"customMetadata.x" = 1', 1, "custommetadata"),
    ('"embeddedMetadata.Ma ke" = "Canon"', 1, "embeddedmetadata"),
    ('"embeddedMetadata.Make" HAS "Canon"', 25, None),
    ('"embeddedMetadata.LocationTaken" = "40,100 5 furlongs"', 36, "furlongs"),
    ('"embeddedMetadata.LocationTaken" >= "40,100 5km"', 34, "locationtaken"),
    ("videoDuration > 1", 1, "videoduration"),
    ('createdBy = "x"', 1, "createdby"),
    ('name = "é" AND bogus = 1', 16, None),  # columns count characters, not bytes
    ("()", None, None),
    ("name = a b", None, None),
    ('"" = "a"', None, None),
    (exactly_bytes(8193), None, None),
    (nested(33), None, None),
    (conditions(201), None, None),
    (list_values(1001), None, None),
]


def _err_id(e) -> str:
    q = e[0]
    return q if len(q) < 60 else f"{q[:20]}...({len(q)} chars)"


@pytest.mark.parametrize("query,column,says", ERRORS, ids=[_err_id(e) for e in ERRORS])
def test_malformed_query_is_400(server, query, column, says):
    r = http_get(server, {"searchQuery": query})
    assert r.status_code == 400, f"{query!r}: {r.status_code} {r.text}"
    body = r.json()
    assert isinstance(body.get("message"), str) and isinstance(body.get("help"), str), body
    message = body["message"]
    assert "column" in message, message
    if column is not None:
        assert _column(message) == column, message
    if says is not None:
        assert says in message.lower().replace(" ", ""), message


def test_error_message_as_documented(server):
    r = http_get(server, {"searchQuery": "createdAt >"})
    assert r.status_code == 400
    assert r.json() == {
        "message": "Invalid searchQuery: expected a value after `>`, found the end of the query (column 12).",
        "help": "See Kura's README (API coverage) or run `kura --help`.",
    }


def test_sdk_raises_bad_request(client):
    with pytest.raises(imagekitio.BadRequestError) as ei:
        client.assets.list(search_query='width HAS "x"')
    body = assert_api_error(ei, imagekitio.BadRequestError, 400)
    assert _column(body["message"]) == 7


@pytest.mark.parametrize(
    "query",
    [exactly_bytes(8192), nested(32), conditions(200), list_values(1000)],
    ids=["8192-bytes", "32-parentheses", "200-conditions", "1000-values"],
)
def test_limits_are_inclusive(server, query):
    r = http_get(server, {"searchQuery": query})
    assert r.status_code == 200, r.text
    assert isinstance(r.json(), list)


def test_limit_counts_bytes(server):
    # 4 097 two-byte characters: 8 194 bytes but fewer characters than the limit
    q = 'name = "' + "é" * 4097 + '"'
    assert len(q) < 8192 < len(q.encode())
    r = http_get(server, {"searchQuery": q})
    assert r.status_code == 400, r.text
    assert "column" in r.json()["message"]


def test_errors_do_not_depend_on_other_params(server, lib):
    for extra in ({"path": ROOT + "/"}, {"sort": "ASC_NAME", "skip": "1", "limit": "2"}, {"type": "folder"}):
        r = http_get(server, {"searchQuery": 'size > "big"', **extra})
        assert r.status_code == 400, r.text


@pytest.mark.parametrize(
    "query",
    [
        'createdAt > "999999999y"',
        'createdAt > "99999999999999999999d"',
        'updatedAt < "100000m"',
        'createdAt > "0d"',
        'createdAt > "9999-12-31T23:59:59.999Z"',
        'createdAt > "0001-01-01"',
        "size > 99999999999999999999gb",
        'size > "99999999999999999999"',
        "width > 99999999999999999999",
        "width > -1",
        "height < 1.5",
        'size = "1.5mb"',
        'id = "not-an-id"',
        'path = "/no/such/folder"',
        'path : "../.."',
        'name : ""',
        'name = ""',
        'tags = ""',
        'format = ""',
    ],
)
def test_extreme_values_never_500(server, lib, query):
    r = http_get(server, {"searchQuery": scoped(query)})
    assert r.status_code in (200, 400), f"{query!r}: {r.status_code} {r.text}"
    if r.status_code == 400:
        assert "column" in r.json()["message"], r.text


def test_garbage_never_500(server, lib):
    """Random token soup: a 200 or a 400, never anything else."""
    rnd = random.Random(20240601)
    tokens = [
        "name", "tags", "type", "id", "createdAt", "updatedAt", "size", "width", "height", "format",
        "fileType", "private", "published", "transparency", "path", '"customMetadata.x"', "bogus",
        "=", ":", "<", "<=", ">", ">=", "IN", "NOT", "HAS", "EXISTS", "AND", "OR", "and", "or",
        "(", ")", "[", "]", ",", '"', "\\", '"a\\"b"', '"x"', '"file"', '"folder"', '"1kb"', '"7d"',
        "true", "false", "1", "-1", "0.5", "1e9", "99999999999999999999999", "2024-01-02",
        "2024-01-02T10:00:00Z", '"2024-02-30"', "é", "'", "!", "=<", "\t", "\x00", "%", "*", "?",
        '"' + ROOT + '"', "/a/b", '""', "[]", "()",
    ]
    failures = []
    with httpx.Client(base_url=server.url, auth=(KEY, ""), timeout=30) as h:
        for _ in range(300):
            q = " ".join(rnd.choice(tokens) for _ in range(rnd.randint(1, 12)))
            if rnd.random() < 0.3:
                q = q.replace(" ", "")
            r = h.get("/v1/files", params={"searchQuery": q, "path": ROOT + "/"})
            if r.status_code not in (200, 400):
                failures.append((q, r.status_code, r.text[:200]))
            elif r.status_code == 400:
                assert "message" in r.json(), (q, r.text)
    assert failures == []


# ================================================================ read your writes


@pytest.fixture
def rw() -> str:
    return f"/search-rw-{uuid.uuid4().hex[:10]}"


def find(client, top: str, query: str, **kw) -> List[str]:
    """Labels of what a query scoped to `top` finds, relative to `top`."""
    return sorted(l.replace(top + "/", "", 1) for l in labels(search(client, scoped(query, top), **kw)))


def test_rw_upload(client, rw):
    d = up(client, rw, "fresh.png", make_png(9, 9, seed=901), tags=["new"])
    assert find(client, rw, 'name = "fresh.png"') == ["file:fresh.png"]
    assert find(client, rw, 'tags = "new" AND width = 9') == ["file:fresh.png"]
    assert labels(search(client, f'id = "{d["fileId"]}"')) == [f"file:{rw}/fresh.png"]


def test_rw_update_tags(client, rw):
    d = up(client, rw, "t.png", make_png(3, 3, seed=902), tags=["old"])
    client.files.update(d["fileId"], tags=["brand-new"])
    assert find(client, rw, 'tags = "brand-new"') == ["file:t.png"]
    assert find(client, rw, 'tags = "old"') == []
    assert find(client, rw, 'tags HAS "brand"') == ["file:t.png"]
    client.files.update(d["fileId"], tags=None)
    assert find(client, rw, "tags NOT EXISTS") == ["file:t.png"]
    assert find(client, rw, "tags EXISTS") == []


def test_rw_add_and_remove_tags(client, rw):
    a = up(client, rw, "a.png", make_png(3, 3, seed=903))
    b = up(client, rw, "b.png", make_png(3, 3, seed=904), tags=["keep"])
    client.files.bulk.add_tags(file_ids=[a["fileId"], b["fileId"]], tags=["added"])
    assert find(client, rw, 'tags = "added"') == ["file:a.png", "file:b.png"]
    client.files.bulk.remove_tags(file_ids=[b["fileId"]], tags=["added"])
    assert find(client, rw, 'tags = "added"') == ["file:a.png"]
    assert find(client, rw, 'tags IN ["keep", "added"]') == ["file:a.png", "file:b.png"]


def test_rw_publish(client, rw):
    d = up(client, rw, "p.png", make_png(3, 3, seed=905))
    assert find(client, rw, "published = false") == []
    (item,) = search(client, scoped("size > 0", rw))
    before = item["updatedAt"]
    time.sleep(0.01)
    client.files.update(d["fileId"], publish={"isPublished": False})
    assert find(client, rw, "published = false") == ["file:p.png"]
    assert find(client, rw, f'updatedAt > "{before}"') == ["file:p.png"]


def test_rw_move(client, rw):
    d = up(client, rw + "/from", "m.png", make_png(3, 3, seed=906))
    up(client, rw + "/from", "m.png", make_png(4, 4, seed=907))  # with a version
    client.files.move(source_file_path=d["filePath"], destination_path=rw + "/to/")
    assert find(client, rw, f'path = "{rw}/to"') == ["file:to/m.png"]
    assert find(client, rw, f'path = "{rw}/from"') == []
    assert find(client, rw, 'type = "file-version"') == ["version:to/m.png@Version 1"]
    assert find(client, rw, f'id = "{d["fileId"]}"') == ["file:to/m.png"]
    assert "folder:to" in find(client, rw, 'type = "folder"')


def test_rw_rename(client, rw):
    d = up(client, rw, "before.png", make_png(3, 3, seed=908))
    client.files.rename(file_path=d["filePath"], new_file_name="After_Name.png")
    assert find(client, rw, 'name = "After_Name.png"') == ["file:After_Name.png"]
    assert find(client, rw, 'name HAS "after n"') == ["file:After_Name.png"]
    assert find(client, rw, 'name = "before.png"') == []
    assert find(client, rw, 'name HAS "before"') == []


def test_rw_new_version(client, rw):
    up(client, rw, "v.png", make_png(3, 3, seed=909))
    assert find(client, rw, 'type = "file-version"') == []
    up(client, rw, "v.png", make_png(7, 7, seed=910))
    assert find(client, rw, "width = 7") == ["file:v.png"]
    assert find(client, rw, "width = 3") == []
    assert find(client, rw, 'type = "file-version" AND width = 3') == ["version:v.png@Version 1"]


def test_rw_delete(client, rw):
    a = up(client, rw, "gone.png", make_png(3, 3, seed=911))
    up(client, rw, "gone.png", make_png(4, 4, seed=912))
    up(client, rw, "stays.png", make_png(3, 3, seed=913))
    client.files.delete(a["fileId"])
    assert find(client, rw, 'type IN ["file", "file-version"]') == ["file:stays.png"]
    assert find(client, rw, f'id = "{a["fileId"]}" AND type NOT = "folder"') == []


def test_rw_folder_rename_and_delete(client, rw):
    up(client, rw + "/old/inner", "f.png", make_png(3, 3, seed=914))
    raw = client.folders.with_raw_response.rename(folder_path=rw + "/old", new_folder_name="renamed")
    assert raw.http_response.status_code in (200, 202), raw.http_response.text
    job = raw.http_response.json()["jobId"]
    deadline = time.monotonic() + JOB_TIMEOUT
    while client.folders.job.get(job).status != "Completed":
        assert time.monotonic() < deadline, "folder rename never completed"
        time.sleep(0.05)
    assert find(client, rw, f'path : "{rw}/renamed"') == ["file:renamed/inner/f.png"]
    assert find(client, rw, f'path : "{rw}/old"') == []
    assert find(client, rw, 'type = "folder"') == ["folder:renamed", "folder:renamed/inner"]
    client.folders.delete(folder_path=rw + "/renamed")
    assert find(client, rw, 'type IN ["file", "folder", "file-version"]') == []


def page_rows(client, top: str) -> Dict[str, dict]:
    """The same page asked for again and again (the server keeps its rows in memory)."""
    return {i["name"]: i for i in search(client, scoped("size > 0", top), sort="ASC_NAME")}


def test_rw_repeated_page_shows_every_change_to_its_rows(client, rw):
    d = up(client, rw + "/in", "row.png", make_png(3, 3, seed=915), tags=["first"])
    for _ in range(3):
        assert page_rows(client, rw)["row.png"]["tags"] == ["first"]
    client.files.update(d["fileId"], tags=["second"], description="edited")
    row = page_rows(client, rw)["row.png"]
    assert (row["tags"], row["description"]) == (["second"], "edited")
    client.files.bulk.add_tags(file_ids=[d["fileId"]], tags=["third"])
    assert page_rows(client, rw)["row.png"]["tags"] == ["second", "third"]
    client.files.update(d["fileId"], publish={"isPublished": False})
    assert page_rows(client, rw)["row.png"]["isPublished"] is False
    up(client, rw + "/in", "row.png", make_png(5, 5, seed=916))
    row = page_rows(client, rw)["row.png"]
    assert (row["width"], row["versionInfo"]["name"]) == (5, "Version 2")
    client.files.rename(file_path=f"{rw}/in/row.png", new_file_name="moved-row.png")
    assert set(page_rows(client, rw)) == {"moved-row.png"}
    raw = client.folders.with_raw_response.rename(folder_path=rw + "/in", new_folder_name="out")
    job = raw.http_response.json()["jobId"]
    deadline = time.monotonic() + JOB_TIMEOUT
    while client.folders.job.get(job).status != "Completed":
        assert time.monotonic() < deadline, "folder rename never completed"
        time.sleep(0.05)
    assert page_rows(client, rw)["moved-row.png"]["filePath"] == f"{rw}/out/moved-row.png"
    client.files.delete(d["fileId"])
    assert page_rows(client, rw) == {}


# ---------------------------------------------------------------- Kura's name search box


def test_name_prefix_and_contains_are_case_insensitive(server, client):
    top = f"/namebox-{uuid.uuid4().hex[:8]}"
    for i, name in enumerate(["Red_Dress.png", "red-shoe.png", "Blue_dress.png", "shoes.png"]):
        up(client, top + ("/sub" if i == 3 else ""), name, make_png(3, 3, seed=i))

    def names(**params) -> List[str]:
        params.setdefault("sort", "ASC_NAME")
        r = http_get(server, params)
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()]

    assert names(path=top, namePrefix="RED") == ["red-shoe.png", "Red_Dress.png"]
    assert names(path=top, nameContains="DrEsS") == ["Blue_dress.png", "Red_Dress.png"]
    assert names(path=top, nameContains="") == names(path=top)
    assert names(path=top, nameContains="dress.png.") == []
    # With a searchQuery (and through the SDK's extra_query), the two AND together; folders
    # match by their name too.
    both = search(client, f'path : "{top}"', sort="ASC_NAME", extra_query={"nameContains": "shoe"})
    assert [i["name"] for i in both] == ["red-shoe.png", "shoes.png"]
    assert [i["name"] for i in search(client, f'type = "folder" AND path : "{top}"', extra_query={"namePrefix": "SU"})] == ["sub"]
