"""URL transformations (docs/delivery.md): URLs built by the SDK's `helper.build_url`, in path
and query position, with the output decoded and checked by libvips's own command-line tools
(`vipsheader` for size, bands and loader; `vips getpoint` for a pixel): dimensions, format,
orientation and the colour of a pixel or two where it matters.

The test image `quad` is 400 × 300 with four coloured quadrants — red top left, green top
right, blue bottom left, white bottom right — so crops, turns and flips show in corner pixels.
"""

from __future__ import annotations

import concurrent.futures
import re
import struct
import subprocess
import uuid
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import httpx
import pytest

from conftest import KEY, corpus, raw_upload

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quad_png(width: int = 400, height: int = 300, alpha: bool = False) -> bytes:
    """Four quadrants: red, green / blue, white (optionally with a transparent white)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\0")
        for x in range(width):
            colour = (RED if x < width // 2 else GREEN) if y < height // 2 else (BLUE if x < width // 2 else WHITE)
            row += bytes(colour)
            if alpha:
                row.append(0 if colour == WHITE else 255)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


class Image:
    """A delivered image, as libvips reads it."""

    def __init__(self, body: bytes, tmp: Path):
        self.path = tmp / f"out-{uuid.uuid4().hex[:8]}"
        self.path.write_bytes(body)
        out = subprocess.run(["vipsheader", str(self.path)], capture_output=True, text=True, check=True).stdout
        m = re.search(r": (\d+)x(\d+) \w+, (\d+) bands?, [\w-]+, (\w+)load", out)
        assert m, out
        self.width, self.height, self.bands, self.loader = int(m[1]), int(m[2]), int(m[3]), m[4]

    @property
    def size(self) -> Tuple[int, int]:
        return self.width, self.height

    def pixel(self, x: int, y: int) -> Tuple[int, ...]:
        out = subprocess.run(["vips", "getpoint", str(self.path), str(x), str(y)], capture_output=True, text=True, check=True).stdout
        return tuple(round(float(v)) for v in out.split())

    def near(self, x: int, y: int, colour: Tuple[int, int, int], tolerance: int = 40) -> bool:
        p = self.pixel(x, y)[:3]
        if len(p) == 1:  # grey
            p = (p[0],) * 3
        return all(abs(a - b) <= tolerance for a, b in zip(p, colour))


@pytest.fixture(scope="module")
def lib(server, client, tmp_path_factory):
    folder = f"/tr-{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp("tr")
    (tmp / "quad.png").write_bytes(quad_png())
    subprocess.run(["vips", "copy", str(tmp / "quad.png"), str(tmp / "quad.jpg[Q=95]")], check=True)
    files = {
        "quad.png": (tmp / "quad.png").read_bytes(),
        "quad.jpg": (tmp / "quad.jpg").read_bytes(),
        "alpha.png": quad_png(alpha=True),
        "portrait6.jpg": corpus("orientation_portrait_6.jpg").read_bytes(),
        "landscape1.jpg": corpus("orientation_landscape_1.jpg").read_bytes(),
        "cmyk.jpg": corpus("jpeg_cmyk.jpg").read_bytes(),
        "gps.jpg": corpus("gps_DSCN0010.jpg").read_bytes(),
        "doc.pdf": corpus("document.pdf").read_bytes(),
        "bomb.png": corpus("bomb_pixel_flood.png").read_bytes(),
        "truncated.jpg": corpus("jpeg_truncated.jpg").read_bytes(),
        "corrupted.jpg": corpus("corrupted.jpg").read_bytes(),
    }
    uploaded = {}
    for name, body in files.items():
        d, _ = raw_upload(client, file=body, file_name=name, folder=folder, use_unique_file_name=False)
        uploaded[name] = d
    return {"folder": folder, "files": uploaded, "tmp": tmp}


def url(client, server, lib, name: str, steps: List[dict], position: str = "path", **kw) -> str:
    return client.helper.build_url(
        src=f"{lib['folder']}/{name}",
        url_endpoint=server.media,
        transformation=steps,
        transformation_position=position,
        **kw,
    )


def get(u: str, headers: Optional[Dict[str, str]] = None) -> httpx.Response:
    return httpx.get(u, headers=headers or {}, timeout=60)


def image(client, server, lib, name: str, steps: List[dict], position: str = "path", headers=None) -> Image:
    u = url(client, server, lib, name, steps, position)
    r = get(u, headers)
    assert r.status_code == 200, (u, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("image/"), r.headers
    return Image(r.content, lib["tmp"])


# ================================================================ geometry


@pytest.mark.parametrize("position", ["path", "query"])
@pytest.mark.parametrize(
    "steps,size",
    [
        ([{"width": 200}], (200, 150)),
        ([{"height": 150}], (200, 150)),
        ([{"width": 0.25}], (100, 75)),
        ([{"width": 100, "height": 100}], (100, 100)),  # maintain_ratio: cover, then crop
        ([{"width": 100, "height": 100, "crop": "force"}], (100, 100)),
        ([{"width": 100, "height": 100, "crop": "at_max"}], (100, 75)),
        ([{"width": 800, "crop": "at_max"}], (400, 300)),  # never enlarges
        ([{"width": 800, "crop": "at_max_enlarge"}], (800, 600)),
        ([{"width": 100, "height": 100, "crop": "at_least"}], (133, 100)),
        ([{"width": 100, "height": 100, "crop_mode": "pad_resize"}], (100, 100)),
        ([{"width": 100, "height": 50, "crop_mode": "extract"}], (100, 50)),
        ([{"width": 500, "height": 500, "crop_mode": "pad_extract"}], (500, 500)),
        ([{"height": 90, "aspect_ratio": "16-9"}], (160, 90)),
        ([{"width": 100, "dpr": 2}], (200, 150)),
        ([{"width": 200}, {"rotation": 90}], (150, 200)),
        ([{"width": 40, "border": "5_FF00FF"}], (50, 40)),
    ],
)
def test_sizes(client, server, lib, steps, size, position):
    img = image(client, server, lib, "quad.png", steps, position)
    assert img.size == size


def test_maintain_ratio_crops_by_focus(client, server, lib):
    """100 x 100 of 400 x 300: scaled to 133 x 100 (the red/green edge at x = 66), then cut.
    The centre cut puts the edge at 50, the left one keeps it at 66, the right one at 33."""
    centre = image(client, server, lib, "quad.png", [{"width": 100, "height": 100}])
    assert centre.near(45, 5, RED) and centre.near(55, 5, GREEN)
    left = image(client, server, lib, "quad.png", [{"width": 100, "height": 100, "focus": "left"}])
    assert left.near(60, 5, RED) and left.near(72, 5, GREEN)
    right = image(client, server, lib, "quad.png", [{"width": 100, "height": 100, "focus": "right"}])
    assert right.near(28, 5, RED) and right.near(38, 5, GREEN) and right.near(94, 94, WHITE)


def test_extract_takes_a_region_without_resizing(client, server, lib):
    corner = image(client, server, lib, "quad.png", [{"width": 50, "height": 50, "crop_mode": "extract", "focus": "bottom_right"}])
    assert corner.size == (50, 50) and corner.near(25, 25, WHITE)
    at = image(client, server, lib, "quad.png", [{"width": 20, "height": 20, "crop_mode": "extract", "x": 10, "y": 200}])
    assert at.near(10, 10, BLUE)
    centred = image(client, server, lib, "quad.png", [{"width": 20, "height": 20, "crop_mode": "extract", "x_center": 300, "y_center": 50}])
    assert centred.near(10, 10, GREEN)


def test_pad_resize_fills_with_the_background(client, server, lib):
    padded = image(client, server, lib, "quad.png", [{"width": 100, "height": 100, "crop_mode": "pad_resize", "background": "FF00FF"}])
    # 100 x 75 in the middle: magenta bands above and below
    assert padded.near(50, 3, (255, 0, 255)) and padded.near(50, 96, (255, 0, 255))
    assert padded.near(10, 20, RED)
    top = image(client, server, lib, "quad.png", [{"width": 100, "height": 100, "crop_mode": "pad_resize", "focus": "top", "background": "black"}])
    assert top.near(10, 5, RED) and top.near(50, 96, (0, 0, 0))


def test_turns_and_flips(client, server, lib):
    cw = image(client, server, lib, "quad.png", [{"width": 200, "rotation": 90}])
    assert cw.near(5, 5, BLUE) and cw.near(144, 5, RED)  # blue comes to the top left
    ccw = image(client, server, lib, "quad.png", [{"width": 200, "rotation": "N90"}])
    assert ccw.near(5, 5, GREEN)
    h = image(client, server, lib, "quad.png", [{"width": 200, "flip": "h"}])
    assert h.near(5, 5, GREEN) and h.near(194, 5, RED)
    v = image(client, server, lib, "quad.png", [{"width": 200, "flip": "v"}])
    assert v.near(5, 5, BLUE)
    both = image(client, server, lib, "quad.png", [{"width": 200, "flip": "h_v"}])
    assert both.near(5, 5, WHITE)


def test_exif_orientation_is_applied_first(client, server, lib):
    """orientation_portrait_6.jpg is stored 600 wide and 450 high with EXIF orientation 6:
    upright it is 450 x 600."""
    turned = image(client, server, lib, "portrait6.jpg", [{"width": 120}])
    assert turned.size == (120, 160)
    # no EXIF orientation survives in the output (metadata is stripped)
    out = subprocess.run(["vipsheader", "-a", str(turned.path)], capture_output=True, text=True).stdout
    assert "orientation" not in out.lower()


def test_chained_steps_apply_in_order(client, server, lib):
    img = image(client, server, lib, "quad.png", [{"width": 200}, {"rotation": 90}, {"width": 50}])
    assert img.size == (50, 67)


# ================================================================ formats and quality


@pytest.mark.parametrize(
    "fmt,loader,mime",
    [("jpg", "jpeg", "image/jpeg"), ("png", "png", "image/png"), ("webp", "webp", "image/webp"), ("avif", "heif", "image/avif"), ("gif", "gif", "image/gif")],
)
def test_output_formats(client, server, lib, fmt, loader, mime):
    u = url(client, server, lib, "quad.png", [{"width": 100, "format": fmt}])
    r = get(u)
    assert r.status_code == 200 and r.headers["content-type"] == mime
    img = Image(r.content, lib["tmp"])
    assert img.loader == loader and img.size == (100, 75)


def test_the_original_format_is_kept_unless_asked(client, server, lib):
    assert image(client, server, lib, "quad.png", [{"width": 100}]).loader == "png"
    assert image(client, server, lib, "quad.jpg", [{"width": 100}]).loader == "jpeg"
    assert image(client, server, lib, "cmyk.jpg", [{"width": 50}]).bands == 3  # CMYK to sRGB


def test_quality_changes_the_size(client, server, lib):
    low = get(url(client, server, lib, "quad.jpg", [{"width": 300, "quality": 10, "blur": 2}]))
    high = get(url(client, server, lib, "quad.jpg", [{"width": 300, "quality": 95, "blur": 2}]))
    assert low.status_code == high.status_code == 200
    assert len(low.content) < len(high.content)


def test_lossless_and_progressive(client, server, lib):
    lossless = image(client, server, lib, "quad.png", [{"width": 100, "format": "webp", "lossless": True}])
    assert lossless.near(10, 10, RED, tolerance=0)
    prog = get(url(client, server, lib, "quad.jpg", [{"width": 100, "progressive": True}])).content
    assert b"\xff\xc2" in prog  # SOF2: progressive DCT


@pytest.mark.parametrize(
    "accept,expected",
    [
        ("image/avif,image/webp,image/apng,*/*;q=0.8", "image/avif"),
        ("image/webp,*/*", "image/webp"),
        ("image/avif;q=0,image/webp", "image/webp"),
        ("*/*", "image/png"),
        (None, "image/png"),
    ],
)
def test_f_auto_follows_accept(client, server, lib, accept, expected):
    u = url(client, server, lib, "quad.png", [{"width": 120, "format": "auto"}])
    r = get(u, {"Accept": accept} if accept else {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == expected
    assert r.headers.get("vary", "").lower() == "accept"


# ================================================================ effects


def test_effects(client, server, lib):
    grey = image(client, server, lib, "quad.png", [{"width": 100, "grayscale": True}])
    assert grey.bands == 1
    blurred = image(client, server, lib, "quad.png", [{"width": 200, "blur": 20}])
    r, g, _ = blurred.pixel(100, 10)[:3]  # the red/green edge is smeared
    assert 30 < r < 225 and 30 < g < 225
    sharp = image(client, server, lib, "quad.jpg", [{"width": 100, "sharpen": True}])
    assert sharp.size == (100, 75)
    sharper = image(client, server, lib, "quad.jpg", [{"width": 100, "sharpen": 10}])
    assert sharper.size == (100, 75)
    stretched = image(client, server, lib, "gps.jpg", [{"width": 100, "contrast_stretch": True, "format": "png"}])
    values = subprocess.run(["vips", "max", str(stretched.path)], capture_output=True, text=True, check=True).stdout
    assert float(values) == 255


def test_rounded_corners_and_border(client, server, lib):
    round_png = image(client, server, lib, "quad.png", [{"width": 200, "radius": 40, "format": "png"}])
    assert round_png.bands == 4
    assert round_png.pixel(0, 0)[3] == 0 and round_png.pixel(100, 75)[3] == 255
    circle = image(client, server, lib, "quad.png", [{"width": 200, "height": 200, "radius": "max", "format": "png"}])
    assert circle.pixel(5, 5)[3] == 0 and circle.pixel(100, 100)[3] == 255
    # JPEG has no alpha: corners come out in the background colour
    rounded_jpg = image(client, server, lib, "quad.png", [{"width": 200, "radius": 40, "background": "000000"}])
    assert rounded_jpg.near(1, 1, (0, 0, 0))
    bordered = image(client, server, lib, "quad.png", [{"width": 100, "border": "10_00FF00"}])
    assert bordered.size == (120, 95) and bordered.near(3, 3, GREEN) and bordered.near(15, 15, RED)


def test_transparency_is_kept_or_flattened(client, server, lib):
    png = image(client, server, lib, "alpha.png", [{"width": 100}])
    assert png.bands == 4 and png.pixel(90, 70)[3] == 0
    jpg = image(client, server, lib, "alpha.png", [{"width": 100, "format": "jpg", "background": "000000"}])
    assert jpg.bands == 3 and jpg.near(90, 70, (0, 0, 0))


# ================================================================ named, original, metadata


def test_named_thumbnail_and_original(client, server, lib):
    thumb = image(client, server, lib, "landscape1.jpg", [{"named": "ik_ml_thumbnail"}])
    assert max(thumb.size) == 300
    orig = get(url(client, server, lib, "quad.png", [{"width": 10, "original": True}]))
    assert orig.status_code == 200 and orig.content == quad_png()
    r = get(url(client, server, lib, "quad.png", [{"named": "no_such_name"}]))
    assert r.status_code == 400 and "n-no_such_name" in r.json()["message"]


def test_no_gps_leaks_unless_asked(client, server, lib):
    plain = image(client, server, lib, "gps.jpg", [{"width": 100}])
    header = subprocess.run(["vipsheader", "-a", str(plain.path)], capture_output=True, text=True).stdout
    assert "gps" not in header.lower() and "exif-data" not in header
    kept = image(client, server, lib, "gps.jpg", [{"width": 100, "metadata": True}])
    header = subprocess.run(["vipsheader", "-a", str(kept.path)], capture_output=True, text=True).stdout
    assert "exif-data" in header


# ================================================================ cache


def test_two_spellings_share_one_cache_entry(client, server, lib):
    base = f"{server.media}{lib['folder']}/quad.jpg"
    first = get(f"{server.media}/tr:w-123,h-77{lib['folder']}/quad.jpg")
    again = get(f"{base}?tr=h-77,w-123.0,c-maintain_ratio")
    assert first.status_code == again.status_code == 200
    assert first.headers["x-cache"] == "MISS" and again.headers["x-cache"] == "HIT"
    assert first.headers["etag"] == again.headers["etag"] and first.content == again.content
    # conditional and partial requests on a hit
    r = get(f"{base}?tr=w-123,h-77", {"If-None-Match": first.headers["etag"]})
    assert r.status_code == 304
    r = get(f"{base}?tr=w-123,h-77", {"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == first.content[:10]
    assert r.headers["content-range"] == f"bytes 0-9/{len(first.content)}"


def test_purge_and_new_versions_drop_cached_renderings(client, server, lib, tmp_path):
    folder = lib["folder"] + "/purge"
    d, _ = raw_upload(client, file=quad_png(), file_name="p.png", folder=folder, use_unique_file_name=False)
    u = f"{server.media}/tr:w-50{folder}/p.png"
    assert get(u).headers["x-cache"] == "MISS"
    assert get(u).headers["x-cache"] == "HIT"
    purge = client.cache.invalidation.create(url=f"{server.media}{folder}/p.png")
    assert client.cache.invalidation.get(purge.request_id).status == "Completed"
    assert get(u).headers["x-cache"] == "MISS"
    # a new version has new bytes: rendered afresh, and shows them
    raw_upload(client, file=quad_png(alpha=True), file_name="p.png", folder=folder, use_unique_file_name=False)
    fresh = get(u)
    assert fresh.headers["x-cache"] == "MISS"
    assert Image(fresh.content, tmp_path).bands == 4
    # deleting the file frees its renderings' bytes with it
    client.files.delete(d["fileId"])
    assert get(u).status_code == 404


def test_concurrent_requests_render_once(server, lib):
    """Eight requests at once for one uncached rendering: one renders, the others wait for it
    and are served from the cache."""
    u = f"{server.media}/tr:w-77,h-33,e-sharpen{lib['folder']}/quad.jpg"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: get(u), range(8)))
    assert [r.status_code for r in answers] == [200] * 8
    assert sorted(r.headers["x-cache"] for r in answers) == ["HIT"] * 7 + ["MISS"]
    assert len({r.content for r in answers}) == 1


def test_a_folder_purge_drops_only_that_folder(client, server, lib):
    base = lib["folder"] + "/fp"
    for sub in ("keep", "drop", "drop/deeper"):
        raw_upload(client, file=quad_png(), file_name="f.png", folder=f"{base}/{sub}", use_unique_file_name=False)
    # the same bytes everywhere share their renderings: give each its own
    urls = {}
    for i, sub in enumerate(("keep", "drop", "drop/deeper")):
        raw_upload(client, file=quad_png(40 + i, 30), file_name="g.png", folder=f"{base}/{sub}", use_unique_file_name=False)
        urls[sub] = f"{server.media}/tr:w-20{base}/{sub}/g.png"
        assert get(urls[sub]).headers["x-cache"] == "MISS"
    client.cache.invalidation.create(url=f"{server.media}{base}/drop/*")
    assert get(urls["keep"]).headers["x-cache"] == "HIT"
    assert get(urls["drop"]).headers["x-cache"] == "MISS"
    assert get(urls["drop/deeper"]).headers["x-cache"] == "MISS"


# ================================================================ signed URLs and private files


def test_signed_transformed_urls(client, server, lib):
    folder = lib["folder"] + "/private"
    raw_upload(client, file=quad_png(), file_name="secret.png", folder=folder, use_unique_file_name=False, is_private_file=True)
    for position in ("path", "query"):
        signed = client.helper.build_url(
            src=f"{folder}/secret.png",
            url_endpoint=server.media,
            transformation=[{"width": 80}],
            transformation_position=position,
            signed=True,
            expires_in=300,
        )
        r = get(signed)
        assert r.status_code == 200, (signed, r.text)
        assert Image(r.content, lib["tmp"]).size == (80, 60)
        # the signature covers the transformation
        forged = signed.replace("w-80", "w-81")
        assert get(forged).status_code == 401
    unsigned = client.helper.build_url(src=f"{folder}/secret.png", url_endpoint=server.media, transformation=[{"width": 80}])
    assert get(unsigned).status_code == 401


def test_thumbnails_are_the_named_thumbnail_and_need_no_signature(client, server, lib):
    """The file object's `thumbnail` is `tr:n-ik_ml_thumbnail` of the file (at most 300 px),
    and named transformations load without a signature even for private files."""
    folder = lib["folder"] + "/thumbs"
    d, _ = raw_upload(client, file=quad_png(600, 450), file_name="big.png", folder=folder, use_unique_file_name=False, is_private_file=True)
    assert d["thumbnailUrl"] == f"{server.media}/tr:n-ik_ml_thumbnail{folder}/big.png"
    details = client.files.get(d["fileId"])
    assert details.thumbnail == d["thumbnailUrl"]
    r = get(d["thumbnailUrl"])
    assert r.status_code == 200
    assert Image(r.content, lib["tmp"]).size == (300, 225)
    # the named transformation with anything more is an ordinary transformation: signed only
    assert get(f"{server.media}/tr:n-ik_ml_thumbnail,w-10{folder}/big.png").status_code == 401
    # a PDF has no thumbnail
    pdf, _ = raw_upload(client, file=corpus("document.pdf").read_bytes(), file_name="d.pdf", folder=folder)
    assert pdf["thumbnailUrl"] is None


# ================================================================ bad input


@pytest.mark.parametrize(
    "tr,parameter",
    [
        ("w-abc", "w-abc"),
        ("w-20000", "w-20000"),
        ("zz-1", "zz-1"),
        ("c-squash", "c-squash"),
        ("q-0", "q-0"),
        ("rt-45", "rt-45"),
        ("f-bmp", "f-bmp"),
        ("e-upscale", "e-upscale"),
        ("w-10,bg-nocolour", "bg-nocolour"),
    ],
)
def test_bad_parameters_are_400_naming_them(server, lib, tr, parameter):
    for u in (f"{server.media}/tr:{tr}{lib['folder']}/quad.png", f"{server.media}{lib['folder']}/quad.png?tr={tr}"):
        r = get(u)
        assert r.status_code == 400, (u, r.status_code)
        body = r.json()
        assert f"`{parameter}`" in body["message"] and isinstance(body.get("help"), str), body


def test_non_images_refuse_transformations_but_serve_plainly(client, server, lib):
    r = get(url(client, server, lib, "doc.pdf", [{"width": 100}]))
    assert r.status_code == 422 and "images" in r.json()["message"]
    plain = get(f"{server.media}{lib['folder']}/doc.pdf")
    assert plain.status_code == 200 and plain.content == corpus("document.pdf").read_bytes()


def test_a_decompression_bomb_is_refused_at_once(client, server, lib):
    """bomb_pixel_flood.png: 12 kB declaring 50 000 x 50 000 (10 GB decoded)."""
    r = get(url(client, server, lib, "bomb.png", [{"width": 100}]))
    assert r.status_code == 422 and "pixels" in r.json()["message"], r.text
    assert server.alive()


@pytest.mark.parametrize("name", ["truncated.jpg", "corrupted.jpg"])
def test_broken_images_are_4xx_never_a_crash(client, server, lib, name):
    r = get(url(client, server, lib, name, [{"width": 100}]))
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:200])
    assert server.alive()
    # the original is still served as stored
    assert get(f"{server.media}{lib['folder']}/{name}").status_code == 200


def test_output_larger_than_allowed_is_refused(client, server, lib):
    r = get(url(client, server, lib, "quad.png", [{"width": 16000, "height": 16000, "crop": "force"}]))
    assert r.status_code == 422 and "larger" in r.json()["message"]
