"""Content identification from bytes (mime, fileType, width, height, hasAlpha) on real corpus files.

Reference values come from /work/shared/corpus/exiftool/<name>.json (ImageWidth/ImageHeight/MIMEType)
and MANIFEST.tsv (alpha)."""

import pytest

from conftest import corpus, exif_json, fetch, raw_upload

IMAGE = "image"
NON_IMAGE = "non-image"

# (corpus file, name to upload as, mime, fileType, width, height, hasAlpha or None = not checked)
CASES = [
    ("jpeg_progressive.jpg", None, "image/jpeg", IMAGE, 800, 346, False),
    ("Canon_40D.jpg", None, "image/jpeg", IMAGE, 100, 68, False),
    ("jpeg_cmyk.jpg", None, "image/jpeg", IMAGE, 100, 100, False),
    ("png_named_as.jpg", None, "image/png", IMAGE, 128, 128, True),
    ("png_rgba_alpha.png", None, "image/png", IMAGE, 300, 300, True),
    ("png_palette.png", None, "image/png", IMAGE, 32, 32, False),
    ("png_16bit_gray.png", None, "image/png", IMAGE, 32, 32, False),
    ("png_rgb_trns.png", None, "image/png", IMAGE, 32, 32, True),
    ("gif_transparent.gif", None, "image/gif", IMAGE, 200, 150, True),
    ("gif_animated.gif", None, "image/gif", IMAGE, 245, 245, None),
    ("webp_lossy.webp", None, "image/webp", IMAGE, 1024, 752, False),
    ("webp_lossless_alpha.webp", None, "image/webp", IMAGE, 386, 395, True),
    ("webp_lossy_alpha.webp", None, "image/webp", IMAGE, 386, 395, True),
    ("webp_looks_like_svg.webp", None, "image/webp", IMAGE, None, None, None),
    ("avif_photo.avif", None, "image/avif", IMAGE, 1204, 800, False),
    ("avif_alpha.avif", None, "image/avif", IMAGE, 2048, 2048, True),
    ("heic_samplefilehub.heif", None, "image/heic", IMAGE, 640, 426, False),
    ("heic_alpha_512.heic", None, "image/heic", IMAGE, 512, 512, True),
    ("tiff_Arbitro.tiff", None, "image/tiff", IMAGE, 174, 38, True),
    ("bmp_24bit.bmp", None, "image/bmp", IMAGE, 127, 64, False),
    ("svg_benign.svg", None, "image/svg+xml", IMAGE, 736, 552, None),
    ("document.pdf", None, "application/pdf", NON_IMAGE, None, None, None),
    ("video_h264_aac.mp4", None, "video/mp4", NON_IMAGE, None, None, None),
    ("archive.zip", None, "application/zip", NON_IMAGE, None, None, None),
    # lying / missing extensions: identification must come from the bytes
    ("webp_lossy.webp", "photo.png", "image/webp", IMAGE, 1024, 752, False),
    ("jpeg_progressive.jpg", "picture.gif", "image/jpeg", IMAGE, 800, 346, False),
    ("png_rgba_alpha.png", "noext", "image/png", IMAGE, 300, 300, True),
    ("avif_photo.avif", "image.jpg", "image/avif", IMAGE, 1204, 800, False),
    ("document.pdf", "doc.jpg", "application/pdf", NON_IMAGE, None, None, None),
]


def _id(case):
    return f"{case[0]}->{case[1]}" if case[1] else case[0]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_identification(client, folder, case):
    src, as_name, mime, file_type, width, height, has_alpha = case
    data = corpus(src).read_bytes()
    name = as_name or src
    up, _ = raw_upload(client, file=data, file_name=name, folder=folder, use_unique_file_name=False)
    assert up["size"] == len(data)
    assert up["fileType"] == file_type
    if width is not None:
        assert (up["width"], up["height"]) == (width, height)

    got = client.files.with_raw_response.get(up["fileId"]).http_response.json()
    assert got["mime"] == mime
    assert got["fileType"] == file_type
    assert got["size"] == len(data)
    if width is not None:
        assert (got["width"], got["height"]) == (width, height)
    if has_alpha is not None:
        assert got["hasAlpha"] is has_alpha

    r = fetch(up["url"])
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"].split(";")[0].strip() == mime


def test_reference_values_match_exiftool():
    # guard against typos in CASES for the ones the brief pins to exiftool
    for src, _, mime, _, w, h, _ in CASES:
        if w is None:
            continue
        d = exif_json(src)
        widths = {v for k, v in d.items() if k.endswith(":ImageWidth") and not k.startswith(("XMP", "ExifIFD"))}
        heights = {v for k, v in d.items() if k.endswith(":ImageHeight") and not k.startswith(("XMP", "ExifIFD"))}
        assert w in widths and h in heights, (src, widths, heights)
        assert d["File:MIMEType"] == mime, src


def test_unknown_bytes_are_octet_stream(client, folder):
    data = bytes((i * 37 + 11) % 256 for i in range(3000)) + b"\x00\xff\x00KURA-NOT-A-FORMAT"
    up, _ = raw_upload(client, file=data, file_name="mystery.bin", folder=folder, use_unique_file_name=False)
    assert up["fileType"] == NON_IMAGE
    got = client.files.get(up["fileId"])
    assert got.mime == "application/octet-stream"
    assert got.file_type == NON_IMAGE
    r = fetch(up["url"])
    assert r.content == data
    assert r.headers["content-type"].split(";")[0] == "application/octet-stream"


def test_unknown_bytes_with_image_extension_not_an_image(client, folder):
    data = b"\x00\x01\x02 this is not a jpeg at all \xfe\xfd" * 40
    up, _ = raw_upload(client, file=data, file_name="fake.jpg", folder=folder, use_unique_file_name=False)
    got = client.files.get(up["fileId"])
    assert got.mime != "image/jpeg"
    assert got.file_type == NON_IMAGE
