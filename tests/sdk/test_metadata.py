"""Metadata embedded in uploaded files (EXIF, IPTC, XMP, ICC), through the Python SDK.

What is checked, against the real-media corpus (``../shared/corpus``) and exiftool's reference
JSONs (``exiftool -json -G1 -n``, in ``corpus/exiftool/``):

- ``embeddedMetadata`` (flat, exiftool tag names, date-times as ``YYYY-MM-DDTHH:MM:SS.sssZ``
  with EXIF local times read as UTC, no ICC curves/matrices, no "(Binary data …)" stand-ins,
  ``Keywords`` always a list) in the upload response (``responseFields``), file details, the
  listing and file versions;
- ImageKit's ``Metadata`` at ``GET /v1/files/{id}/metadata`` and with ``responseFields=metadata``
  (size, format, hasTransparency, hasColorProfile, density, exif's six sections with raw values,
  GPS latitude/longitude as ``[deg, min, sec]``);
- agreement of ``embeddedMetadata`` with exiftool on a handful of corpus images (a floor);
- hostile and broken files: the upload never fails and metadata answers;
- ``GET /v1/metadata?url=``: own URLs name files by path, other URLs are fetched under the
  SSRF rules of upload-from-URL;
- ``"embeddedMetadata.<field>"`` in ``searchQuery`` (docs/search.md), with the search index on
  and off.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import struct
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

import httpx
import pytest

import imagekitio
from imagekitio.types.metadata import Metadata
from conftest import (
    ISO_MS_Z,
    KEY,
    assert_api_error,
    assert_error_body,
    corpus,
    exif_json,
    make_png,
    raw_list,
    raw_upload,
    serve_files,
    unique_png,
)

SECTIONS = {"image", "thumbnail", "exif", "gps", "interoperability", "makernote"}
MISSING_ID = "0123456789abcdef01234567"
BOTH = ["embeddedMetadata", "metadata"]
# A hostile file must not hold an upload or a metadata answer longer than this.
HOSTILE_SECONDS = 20.0


# ================================================================ helpers


def upload_corpus(client, name: str, folder: str, fields=BOTH, **kw) -> dict:
    """Upload a corpus file under its own name; the raw JSON of the upload response."""
    data, _ = raw_upload(
        client,
        file=corpus(name).read_bytes(),
        file_name=kw.pop("file_name", name),
        folder=folder,
        response_fields=fields,
        **kw,
    )
    return data


def metadata_raw(client, file_id: str) -> dict:
    """GET /v1/files/{id}/metadata through the SDK: the raw JSON (and the SDK can parse it)."""
    resp = client.files.metadata.with_raw_response.get(file_id)
    assert resp.http_response.status_code == 200, resp.http_response.text
    parsed = resp.parse()
    assert isinstance(parsed, Metadata)
    return resp.http_response.json()


def details_raw(client, file_id: str) -> dict:
    resp = client.files.with_raw_response.get(file_id)
    assert resp.http_response.status_code == 200, resp.http_response.text
    resp.parse()
    return resp.http_response.json()


def http_get(server, path: str, params: Optional[dict] = None, auth=True, timeout: float = 30) -> httpx.Response:
    return httpx.get(
        server.url + path,
        params=params,
        auth=(KEY, "") if auth else None,
        timeout=timeout,
    )


DATE_RE = re.compile(
    r"^(\d{4})[:-](\d{2})[:-](\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)


def norm_date(value: Any) -> Any:
    """exiftool's `YYYY:MM:DD HH:MM:SS[.fff][±hh:mm]` (or ISO 8601) as Kura stores date-times:
    `YYYY-MM-DDTHH:MM:SS.sssZ`, an offset applied, no offset read as UTC. Zero dates and
    other strings are returned unchanged."""
    if not isinstance(value, str):
        return value
    m = DATE_RE.match(value)
    if not m:
        return value
    y, mo, d, h, mi, s, frac, tz = m.groups()
    if y == "0000" or mo == "00" or d == "00":
        return value
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=timezone.utc)
    except ValueError:
        return value
    if frac:
        dt += timedelta(milliseconds=int((frac + "00")[:3]))
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        dt -= sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def same_value(kura: Any, ref: Any) -> bool:
    """Kura's value equals exiftool's: numbers with a relative tolerance (exiftool prints some
    numbers as strings), date-times after normalising exiftool's, everything else exactly
    (no trimming). A one-item list equals its item (Keywords are always a list in Kura)."""
    if isinstance(kura, list) or isinstance(ref, list):
        a = kura if isinstance(kura, list) else [kura]
        b = ref if isinstance(ref, list) else [ref]
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    na, nb = _num(kura), _num(ref)
    if na is not None and nb is not None:
        return math.isclose(na, nb, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(kura, str) and isinstance(ref, str):
        return kura == norm_date(ref) or kura == ref
    return kura == ref


def reference_by_name(name: str) -> Dict[str, List[Tuple[str, Any]]]:
    """exiftool's tags of a corpus file by tag name: [(group, value)], without the groups that
    describe the file rather than its metadata (System, File, ExifTool, Composite)."""
    out: Dict[str, List[Tuple[str, Any]]] = {}
    for key, value in exif_json(name).items():
        if ":" not in key:
            continue
        group, tag = key.split(":", 1)
        if group in ("System", "File", "ExifTool", "Composite"):
            continue
        out.setdefault(tag, []).append((group, value))
    return out


def dms_to_decimal(triple: List[float]) -> float:
    d, m, s = triple
    return d + m / 60 + s / 3600


# ================================================================ JPEG / EXIF builders


def _strip_app_segments(jpeg: bytes) -> bytes:
    """A JPEG without its APPn segments (APP0 JFIF kept): a clean body to put new ones on."""
    assert jpeg[:2] == b"\xff\xd8"
    out, i = [b"\xff\xd8"], 2
    while i < len(jpeg):
        assert jpeg[i] == 0xFF, f"no marker at {i}"
        marker = jpeg[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out.append(jpeg[i:])
            break
        length = struct.unpack(">H", jpeg[i + 2 : i + 4])[0]
        segment = jpeg[i : i + 2 + length]
        if not (0xE1 <= marker <= 0xEF):
            out.append(segment)
        i += 2 + length
    return b"".join(out)


def base_jpeg() -> bytes:
    """A small valid JPEG (Canon_40D.jpg's pixels, 100x68) with no metadata but JFIF."""
    return _strip_app_segments(corpus("Canon_40D.jpg").read_bytes())


def with_segments(jpeg: bytes, *segments: bytes) -> bytes:
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def app_segment(marker: int, payload: bytes) -> bytes:
    assert len(payload) + 2 <= 0xFFFF, len(payload)
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


ASCII, SHORT, LONG, RATIONAL = 2, 3, 4, 5


def _ascii(text: str) -> Tuple[int, int, bytes]:
    raw = text.encode() + b"\0"
    return ASCII, len(raw), raw


def _short(v: int) -> Tuple[int, int, bytes]:
    return SHORT, 1, struct.pack("<H", v)


def _long(v: int) -> Tuple[int, int, bytes]:
    return LONG, 1, struct.pack("<I", v)


def _rational(num: int, den: int) -> Tuple[int, int, bytes]:
    return RATIONAL, 1, struct.pack("<II", num, den)


def _ifd(entries: Dict[int, Tuple[int, int, bytes]], start: int, next_ifd: int = 0) -> bytes:
    """One little-endian IFD at offset `start`, its out-of-line values right after it."""
    n = len(entries)
    data_at = start + 2 + 12 * n + 4
    head, extra = struct.pack("<H", n), b""
    for tag in sorted(entries):
        typ, count, payload = entries[tag]
        if len(payload) <= 4:
            head += struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\0")
        else:
            head += struct.pack("<HHII", tag, typ, count, data_at + len(extra))
            extra += payload + (b"\0" if len(payload) % 2 else b"")
    return head + struct.pack("<I", next_ifd) + extra


def exif_tiff(ifd0: Dict[int, tuple], exif_ifd: Optional[Dict[int, tuple]] = None) -> bytes:
    """A little-endian TIFF structure: IFD0 and, if given, an Exif IFD it points to."""
    ifd0 = dict(ifd0)
    if exif_ifd is not None:
        ifd0[0x8769] = _long(0)  # placeholder: the size does not depend on the value
        exif_at = 8 + len(_ifd(ifd0, 8))
        ifd0[0x8769] = _long(exif_at)
        return b"II*\0" + struct.pack("<I", 8) + _ifd(ifd0, 8) + _ifd(exif_ifd, exif_at)
    return b"II*\0" + struct.pack("<I", 8) + _ifd(ifd0, 8)


def exif_segment(tiff: bytes) -> bytes:
    return app_segment(0xE1, b"Exif\0\0" + tiff)


def camera_jpeg(make: str, model: str, iso: int, taken: datetime) -> bytes:
    """A JPEG with a well-formed EXIF block: Make, Model, ISO, DateTimeOriginal."""
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    tiff = exif_tiff(
        {0x010F: _ascii(make), 0x0110: _ascii(model), 0x011A: _rational(72, 1), 0x011B: _rational(72, 1), 0x0128: _short(2)},
        {0x8827: _short(iso), 0x9003: _ascii(stamp), 0x9004: _ascii(stamp)},
    )
    return with_segments(base_jpeg(), exif_segment(tiff))


def self_referencing_ifd_jpeg() -> bytes:
    """EXIF whose IFD0 names itself as its Exif IFD, its GPS IFD, its Interop IFD and the next
    IFD (a reader that follows pointers without remembering where it has been never ends)."""
    entries = {
        0x010F: _ascii("Loop"),
        0x8769: _long(8),
        0x8825: _long(8),
        0xA005: _long(8),
    }
    tiff = b"II*\0" + struct.pack("<I", 8) + _ifd(entries, 8, next_ifd=8)
    return with_segments(base_jpeg(), exif_segment(tiff))


def ifd_cycle_jpeg() -> bytes:
    """IFD0 -> IFD1 -> IFD0 … through next-IFD offsets, and an Exif IFD pointing back at IFD0."""
    first = {0x010F: _ascii("Cycle"), 0x8769: _long(0)}
    first_len = len(_ifd(first, 8))
    second_at = 8 + first_len
    first[0x8769] = _long(second_at)
    second = {0x0103: _short(6), 0x8769: _long(8)}
    tiff = b"II*\0" + struct.pack("<I", 8) + _ifd(first, 8, next_ifd=second_at) + _ifd(second, second_at, next_ifd=8)
    return with_segments(base_jpeg(), exif_segment(tiff))


XMP_SIG = b"http://ns.adobe.com/xap/1.0/\0"
XMP_EXT_SIG = b"http://ns.adobe.com/xmp/extension/\0"


def big_xmp_jpeg(total: int = 1_100_000) -> bytes:
    """A JPEG with sound EXIF (Make "XmpBig") and an XMP packet of about `total` bytes, carried
    as Adobe's extended XMP (a standard packet naming the GUID, then APP1 chunks): tens of
    thousands of dc:subject items."""
    items = []
    size = 0
    i = 0
    while size < total:
        item = f"<rdf:li>keyword-{i:07d}</rdf:li>"
        items.append(item)
        size += len(item)
        i += 1
    extended = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
        + "".join(items)
        + "</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    guid = hashlib.md5(extended).hexdigest().upper().encode()
    main = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmpNote:HasExtendedXMP="{guid.decode()}">'
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Big XMP</rdf:li></rdf:Alt></dc:title>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()
    segments = [
        exif_segment(exif_tiff({0x010F: _ascii("XmpBig")})),
        app_segment(0xE1, XMP_SIG + main),
    ]
    chunk = 65000
    for offset in range(0, len(extended), chunk):
        part = extended[offset : offset + chunk]
        segments.append(
            app_segment(0xE1, XMP_EXT_SIG + guid + struct.pack(">II", len(extended), offset) + part)
        )
    data = with_segments(base_jpeg(), *segments)
    assert len(extended) >= 1_000_000
    return data


# ================================================================ 1. corpus files


def test_camera_jpeg_canon_40d(client, folder):
    data = upload_corpus(client, "Canon_40D.jpg", folder)
    em = data["embeddedMetadata"]
    assert em["Make"] == "Canon"
    assert em["Model"] == "Canon EOS 40D"
    assert em["DateTimeOriginal"] == "2008-05-30T15:56:01.000Z"
    assert em["CreateDate"] == "2008-05-30T15:56:01.000Z"
    assert em["ModifyDate"] == "2008-07-31T10:38:11.000Z"
    assert em["ExposureTime"] == pytest.approx(0.00625)
    assert em["FNumber"] == pytest.approx(7.1)
    assert em["ISO"] == 100 and isinstance(em["ISO"], int)
    assert em["FocalLength"] == pytest.approx(135)
    assert em["Software"] == "GIMP 2.4.5"
    # the colour profile: its name, not its curves, matrices or header
    assert em["ProfileDescription"] == "sRGB IEC61966-2.1"
    for icc_only in ("RedMatrixColumn", "RedTRC", "MediaWhitePoint", "ProfileCMMType", "ProfileCopyright", "Luminance"):
        assert icc_only not in em, f"ICC tag {icc_only} in embeddedMetadata"
    # exiftool's stand-ins for binary data are not values
    assert "ThumbnailImage" not in em
    for k, v in em.items():
        assert not (isinstance(v, str) and v.startswith("(Binary data")), (k, v)
    # every date-time exiftool reports is an ISO instant here
    ref = reference_by_name("Canon_40D.jpg")
    for tag, values in ref.items():
        if tag in em and any(isinstance(v, str) and re.match(r"^\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", v) for _, v in values):
            assert ISO_MS_Z.match(em[tag]), (tag, em[tag])

    md = data["metadata"]
    assert (md["width"], md["height"]) == (100, 68)
    assert md["size"] == corpus("Canon_40D.jpg").stat().st_size
    assert md["format"] == "jpg"
    assert md["hasTransparency"] is False
    assert md["hasColorProfile"] is True
    assert md["density"] == 72
    exif = md["exif"]
    assert set(exif) == SECTIONS
    assert exif["image"]["Make"] == "Canon"
    assert exif["image"]["Model"] == "Canon EOS 40D"
    assert exif["image"]["ModifyDate"] == "2008:07:31 10:38:11"
    assert exif["exif"]["DateTimeOriginal"] == "2008:05:30 15:56:01"
    assert exif["exif"]["CreateDate"] == "2008:05:30 15:56:01"
    assert exif["exif"]["ExposureTime"] == pytest.approx(0.00625)
    assert exif["exif"]["FNumber"] == pytest.approx(7.1)
    assert exif["exif"]["ISO"] == 100
    assert exif["interoperability"]["InteropIndex"] == "R98"
    assert exif["thumbnail"]["Compression"] == 6
    assert exif["makernote"] == {}
    # the Exif IFD's tags are not in the image section and vice versa
    assert "DateTimeOriginal" not in exif["image"] and "Make" not in exif["exif"]

    # the same through GET /v1/files/{id}/metadata, and the SDK model reads it
    assert metadata_raw(client, data["fileId"]) == md
    m = client.files.metadata.get(data["fileId"])
    assert m.density == 72 and m.has_color_profile is True and m.has_transparency is False
    assert m.exif.image.make == "Canon"
    assert m.exif.exif.date_time_original == "2008:05:30 15:56:01"
    assert m.exif.exif.iso == 100
    assert m.exif.exif.f_number == pytest.approx(7.1)


def test_iptc_reference_image(client, folder):
    name = "IPTC-PhotometadataRef-Std2024.1.jpg"
    em = upload_corpus(client, name, folder)["embeddedMetadata"]
    assert em["Keywords"] == ["Keyword1ref2023.2", "Keyword2ref2023.2", "Keyword3ref2023.2"]
    assert em["City"] == "City (Core) (ref2023.2)"
    assert em["Country"] == "Country (Core) (ref2023.2)"
    assert em["Country-PrimaryLocationName"] == "Country (Core) (ref2023.2)"
    assert em["Headline"] == "The Headline (ref2023.2)"
    assert em["By-line"] == "Creator1 (ref2023.2)"
    assert em["Creator"] in ("Creator1 (ref2023.2)", ["Creator1 (ref2023.2)"])
    assert em["Artist"] == "Creator1 (ref2023.2)"
    assert em["Copyright"] == "Copyright (Notice) 2023.2 IPTC - www.iptc.org  (ref2023.2)"
    assert em["CopyrightNotice"] == "Copyright (Notice) 2023.2 IPTC - www.iptc.org  (ref2023.2)"
    assert em["Credit"] == "Credit Line (ref2023.2)"
    assert em["Source"] == "Source (ref2023.2)"
    assert em["ObjectName"] == "The Title (ref2023.2)"
    assert em["Caption-Abstract"] == "The description aka caption (ref2023.2)"
    assert em["DateTimeOriginal"] == "2024-03-22T00:23:02.000Z"
    assert ISO_MS_Z.match(em["DateCreated"]), em["DateCreated"]


@pytest.mark.parametrize(
    "name,keywords",
    [
        ("jpeg_exiftool_exif_iptc_xmp.jpg", ["jambalaya"]),  # one IPTC keyword: still a list
        ("xmp_no_exif.jpg", ["tag"]),
        ("iptc_photoshop_keywords.jpg", ["test keyword 1", "test keyword 2"]),
        ("heic_digikam_xmp_tags.heic", ["Typescript", "جاوا اسکریپت", "Javascript"]),  # XMP dc:subject only
    ],
)
def test_keywords_always_a_list(client, folder, name, keywords):
    em = upload_corpus(client, name, folder, fields=["embeddedMetadata"])["embeddedMetadata"]
    assert em["Keywords"] == keywords


@pytest.mark.parametrize(
    "name,lat_ref,lon_ref",
    [
        ("gps_DSCN0010.jpg", "N", "E"),
        ("Kodak_CX7530.jpg", "S", None),  # southern hemisphere
        ("webp_exif_gps_htc_desire.webp", "N", "E"),
        ("heic_IMG_5195.HEIC", "N", "W"),
    ],
)
def test_gps_triples(client, folder, name, lat_ref, lon_ref):
    data = upload_corpus(client, name, folder)
    ref = {k.split(":", 1)[1]: v for k, v in exif_json(name).items() if k.startswith("GPS:")}
    gps = data["metadata"]["exif"]["gps"]
    for key in ("GPSLatitude", "GPSLongitude"):
        triple = gps[key]
        assert isinstance(triple, list) and len(triple) == 3, (key, triple)
        d, m, s = triple
        assert d == int(d) and m == int(m) and 0 <= m < 60 and 0 <= s < 60, triple
        assert dms_to_decimal(triple) == pytest.approx(abs(ref[key]), abs=1e-6), (key, triple, ref[key])
        # embeddedMetadata keeps exiftool's decimal degrees
        assert data["embeddedMetadata"][key] == pytest.approx(ref[key], abs=1e-9)
    assert gps["GPSLatitudeRef"] == lat_ref
    if lon_ref:
        assert gps["GPSLongitudeRef"] == lon_ref
    # the SDK reads the triple
    m = client.files.metadata.get(data["fileId"])
    assert m.exif.gps.gps_latitude == pytest.approx(gps["GPSLatitude"])


def test_gps_dscn0010_values(client, folder):
    data = upload_corpus(client, "gps_DSCN0010.jpg", folder)
    gps = data["metadata"]["exif"]["gps"]
    assert gps["GPSLatitude"] == pytest.approx([43, 28, 2.814], abs=1e-6)
    assert gps["GPSLongitude"] == pytest.approx([11, 53, 6.456], abs=1e-6)
    assert gps["GPSDateStamp"] == "2008:10:23"  # raw, as written
    assert data["metadata"]["density"] == 300
    assert data["metadata"]["hasColorProfile"] is False
    em = data["embeddedMetadata"]
    assert em["Make"] == "NIKON" and em["Model"] == "COOLPIX P6000"
    assert em["DateTimeOriginal"] == "2008-10-22T16:28:39.000Z"


@pytest.mark.parametrize(
    "name,make,model,taken,iso,size",
    [
        ("heic_IMG_5195.HEIC", "Apple", "iPhone 11 Pro Max", "2021-04-11T15:47:53.000Z", 32, (2566, 3313)),
        ("heic_mobile_iphone_13_pro_max.HEIC", "Apple", "iPhone 13 Pro Max", "2022-02-16T12:55:41.000Z", 250, None),
    ],
)
def test_heic(client, folder, name, make, model, taken, iso, size):
    data = upload_corpus(client, name, folder)
    em, md = data["embeddedMetadata"], data["metadata"]
    assert em["Make"] == make and em["Model"] == model
    # local time read as UTC, whatever OffsetTimeOriginal says
    assert em["DateTimeOriginal"] == taken
    assert em["ISO"] == iso
    assert md["format"] == "heic"
    assert md["hasColorProfile"] is True
    assert md["hasTransparency"] is False
    assert md["density"] == 72
    assert md["exif"]["image"]["Make"] == make
    assert md["exif"]["exif"]["DateTimeOriginal"] == taken[:10].replace("-", ":") + " " + taken[11:19]
    if size:
        assert (md["width"], md["height"]) == size


def test_heic_orientation(client, folder):
    em = upload_corpus(client, "heic_mobile_iphone_13_pro_max.HEIC", folder)["embeddedMetadata"]
    assert em["Orientation"] == 6


def test_png_with_exif(client, folder):
    data = upload_corpus(client, "png_exif_orientation_6.png", folder)
    em, md = data["embeddedMetadata"], data["metadata"]
    assert em["Orientation"] == 6
    assert em["Comment"] == "Created with GIMP"
    assert em["ModifyDate"] == "2020-12-16T02:05:01.000Z"
    assert em["ProfileDescription"] == "GIMP built-in sRGB"
    assert md["format"] == "png"
    assert md["exif"]["image"]["Orientation"] == 6
    assert md["hasColorProfile"] is True  # iCCP
    assert md["hasTransparency"] is False


def test_webp_with_exif(client, folder):
    data = upload_corpus(client, "webp_exif_gps_htc_desire.webp", folder)
    em, md = data["embeddedMetadata"], data["metadata"]
    assert em["Make"] == "HTC" and em["Model"] == "HTC Desire"
    assert em["DateTimeOriginal"] == "2011-05-06T09:59:48.000Z"
    assert em["GPSAltitude"] == pytest.approx(217)
    assert md["format"] == "webp"
    assert md["exif"]["exif"]["DateTimeOriginal"] == "2011:05:06 09:59:48"
    assert md["exif"]["gps"]["GPSMapDatum"] == "WGS-84"
    assert md["hasColorProfile"] is True  # ICCP chunk
    assert (md["width"], md["height"]) == (776, 909)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("Canon_40D.jpg", True),  # APP2 ICC_PROFILE
        ("jpeg_cmyk_multiple_icc_segments.jpg", True),  # profile over several APP2 segments
        ("png_exif_orientation_6.png", True),  # iCCP
        ("heic_IMG_5195.HEIC", True),  # colr prof
        ("gps_DSCN0010.jpg", False),
        ("png_rgba_alpha.png", False),  # sRGB chunk, no profile
        ("gif_transparent.gif", False),
        ("document.pdf", False),
    ],
)
def test_has_color_profile(client, folder, name, expected):
    data = upload_corpus(client, name, folder, fields=["metadata"])
    assert data["metadata"]["hasColorProfile"] is expected
    assert metadata_raw(client, data["fileId"])["hasColorProfile"] is expected


@pytest.mark.parametrize(
    "name,expected",
    [
        ("png_rgba_alpha.png", True),
        ("gif_transparent.gif", True),
        ("webp_lossless_alpha.webp", True),
        ("webp_lossy_alpha.webp", True),
        ("Canon_40D.jpg", False),
        ("png_palette.png", False),
        ("webp_exif_gps_htc_desire.webp", False),
    ],
)
def test_has_transparency(client, folder, name, expected):
    data = upload_corpus(client, name, folder, fields=["metadata"])
    assert data["metadata"]["hasTransparency"] is expected
    m = client.files.metadata.get(data["fileId"])
    assert m.has_transparency is expected


def test_generated_png_metadata(client, folder):
    png = make_png(13, 7, rgba=True, seed=77)
    data, _ = raw_upload(client, file=png, file_name="gen.png", folder=folder, response_fields=BOTH)
    md = data["metadata"]
    assert (md["width"], md["height"], md["size"], md["format"]) == (13, 7, len(png), "png")
    assert md["hasTransparency"] is True and md["hasColorProfile"] is False
    assert "density" not in md  # no pHYs, no EXIF: no density stated
    em = data["embeddedMetadata"]
    assert em["ImageWidth"] == 13 and em["ImageHeight"] == 7
    assert em["ColorType"] == 6


def test_png_density_from_phys(client, folder):
    """png_rgba_alpha.png states 2835 pixels per metre (pHYs, unit 1) and has no EXIF: that is
    a density of 72 dpi, which ImageKit reports."""
    ref = reference_by_name("png_rgba_alpha.png")
    assert ref["PixelsPerUnitX"] == [("PNG-pHYs", 2835)] and ref["PixelUnits"] == [("PNG-pHYs", 1)]
    data = upload_corpus(client, "png_rgba_alpha.png", folder, fields=["metadata"])
    assert data["metadata"].get("density") == 72, data["metadata"]


@pytest.mark.parametrize(
    "name,tag,expected",
    [
        ("Konica_Minolta_DiMAGE_Z3.jpg", "Make", "KONICA MINOLTA"),
        ("Fujifilm_FinePix_E500.jpg", "Model", "FinePix E500"),
        ("tests_36-memory_error.jpg", "Software", "1.01+R"),
        ("corrupted.jpg", "Software", "Version 1.0"),
    ],
)
def test_exif_text_trimmed_like_exiftool(client, folder, name, tag, expected):
    """exiftool trims trailing blanks of Make, Model, Software, Artist (Exif.pm RawConv); a
    search for `"embeddedMetadata.Make" = "KONICA MINOLTA"` depends on it."""
    assert dict(reference_by_name(name)[tag])["IFD0"] == expected
    em = upload_corpus(client, name, folder, fields=["embeddedMetadata"])["embeddedMetadata"]
    assert em[tag] == expected, f"{tag}: {em[tag]!r} (exiftool: {expected!r})"


@pytest.mark.parametrize(
    "name",
    ["Canon_40D.jpg", "gps_DSCN0010.jpg", "heic_IMG_5195.HEIC", "IPTC-PhotometadataRef-Std2024.1.jpg", "webp_exif_gps_htc_desire.webp"],
)
def test_metadata_validates_against_sdk_schema(client, folder, name):
    """The SDK's Metadata model (ImageKit's OpenAPI schema) types exif values, e.g.
    GPSVersionID: List[int], GPSTimeStamp: List[float], SceneType: str; a strict validation of
    the answer must not fail."""
    data = upload_corpus(client, name, folder, fields=["metadata"])
    from pydantic import ValidationError

    try:
        Metadata.model_validate(data["metadata"])
    except ValidationError as e:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}={err.get('input')!r} ({err['type']})" for err in e.errors()
        ]
        pytest.fail(f"{name}: {len(problems)} value(s) do not fit the SDK schema: {problems}")


# ================================================================ 2. agreement with exiftool

AGREEMENT_FILES = [
    "Canon_40D.jpg",
    "Canon_PowerShot_S40.jpg",
    "Nikon_D70.jpg",
    "Pentax_K10D.jpg",
    "Kodak_CX7530.jpg",
    "Konica_Minolta_DiMAGE_Z3.jpg",
    "Fujifilm_FinePix_E500.jpg",
    "gps_DSCN0010.jpg",
    "phone_apple_iphone4_gps.jpg",
    "tests_36-memory_error.jpg",
    "heic_IMG_5195.HEIC",
    "heic_mobile_iphone_13_pro_max.HEIC",
    "IPTC-PhotometadataRef-Std2024.1.jpg",
    "jpeg_exiftool_exif_iptc_xmp.jpg",
    "xmp_no_exif.jpg",
    "png_exif_orientation_6.png",
    "webp_exif_gps_htc_desire.webp",
    "tiff_DudleyLeavittUtah.tiff",
    "avif_canon_eos70d_exif.avif",
]
# Measured on these files: 1019 of 1025 comparable keys (99.41 %); the six that differ are
# trailing blanks exiftool trims (Make, Model, Software, Copyright; see
# test_exif_text_trimmed_like_exiftool) and one XMP struct list ([0, 0]) exiftool prints as 0.
AGREEMENT_FLOOR = 0.994


def test_agreement_with_exiftool(client, folder):
    compared = agreed = 0
    differ: List[str] = []
    per_file = []
    for name in AGREEMENT_FILES:
        em = upload_corpus(client, name, folder, fields=["embeddedMetadata"])["embeddedMetadata"]
        ref = reference_by_name(name)
        n = ok = 0
        for key, value in em.items():
            scalars = [v for _, v in ref.get(key, []) if not isinstance(v, (list, dict))]
            if not scalars:
                continue
            n += 1
            if any(same_value(value, v) for v in scalars):
                ok += 1
            else:
                differ.append(f"{name}: {key} = {json.dumps(value)[:80]} (exiftool: {ref[key]!r:.120})")
        assert n > 0, f"{name}: nothing to compare"
        per_file.append(f"{name} {ok}/{n}")
        compared += n
        agreed += ok
    share = agreed / compared
    report = f"agreement {agreed}/{compared} = {share:.2%}; " + ", ".join(per_file) + "\n  " + "\n  ".join(differ)
    print("\n" + report)
    assert compared >= 600, report
    assert share >= AGREEMENT_FLOOR, report


# ================================================================ 3. where embeddedMetadata appears


def test_response_fields_select_what_upload_returns(client, folder):
    body = corpus("Canon_40D.jpg").read_bytes()
    plain, _ = raw_upload(client, file=body, file_name="a.jpg", folder=folder)
    assert "embeddedMetadata" not in plain and "metadata" not in plain

    only_em, _ = raw_upload(client, file=body, file_name="b.jpg", folder=folder, response_fields=["embeddedMetadata"])
    assert only_em["embeddedMetadata"]["Make"] == "Canon" and "metadata" not in only_em

    only_md, _ = raw_upload(client, file=body, file_name="c.jpg", folder=folder, response_fields=["metadata"])
    assert only_md["metadata"]["density"] == 72 and "embeddedMetadata" not in only_md

    both, model = raw_upload(client, file=body, file_name="d.jpg", folder=folder, response_fields=BOTH + ["tags"])
    assert both["embeddedMetadata"] == only_em["embeddedMetadata"]
    assert both["metadata"] == only_md["metadata"] == metadata_raw(client, both["fileId"])
    # the SDK's upload response model carries both
    assert model.embedded_metadata["Make"] == "Canon"
    assert model.metadata.density == 72
    assert model.metadata.exif.image.make == "Canon"


def test_details_list_and_search_items_carry_embedded_metadata(client, folder):
    data = upload_corpus(client, "gps_DSCN0010.jpg", folder)
    em = data["embeddedMetadata"]
    assert em, "no embedded metadata read"

    details = details_raw(client, data["fileId"])
    assert details["embeddedMetadata"] == em
    assert client.files.get(data["fileId"]).embedded_metadata["Make"] == "NIKON"

    items, parsed = raw_list(client, path=folder + "/")
    assert [i["fileId"] for i in items] == [data["fileId"]]
    assert items[0]["embeddedMetadata"] == em
    assert parsed[0].embedded_metadata["Model"] == "COOLPIX P6000"

    # a folder in a listing has no embedded metadata to speak of; a file always has the key
    raw_upload(client, file=unique_png(), file_name="plain.png", folder=folder + "/sub")
    items, _ = raw_list(client, path=folder + "/", type="all")
    for i in items:
        if i["type"] == "file":
            assert isinstance(i["embeddedMetadata"], dict)


@pytest.mark.parametrize("name,fmt", [("document.pdf", "pdf"), ("archive.zip", "zip")])
def test_non_image_has_empty_embedded_metadata(client, folder, name, fmt):
    data = upload_corpus(client, name, folder)
    assert data["embeddedMetadata"] == {}
    assert details_raw(client, data["fileId"])["embeddedMetadata"] == {}
    items, _ = raw_list(client, path=folder + "/")
    assert items[0]["embeddedMetadata"] == {}
    md = metadata_raw(client, data["fileId"])
    assert md == data["metadata"]
    assert md["format"] == fmt
    assert md["size"] == corpus(name).stat().st_size
    assert md["hasColorProfile"] is False and md["hasTransparency"] is False
    assert "width" not in md and "height" not in md and "density" not in md
    assert all(not v for v in md.get("exif", {}).values()), md["exif"]


def test_new_version_replaces_metadata(client, folder):
    first = upload_corpus(client, "Canon_40D.jpg", folder, file_name="photo.jpg", use_unique_file_name=False)
    second = upload_corpus(client, "gps_DSCN0010.jpg", folder, file_name="photo.jpg", use_unique_file_name=False)
    fid = first["fileId"]
    assert second["fileId"] == fid and second["versionInfo"]["name"] == "Version 2"
    assert second["embeddedMetadata"]["Make"] == "NIKON"

    details = details_raw(client, fid)
    assert details["embeddedMetadata"] == second["embeddedMetadata"]
    assert "Canon" not in json.dumps(details["embeddedMetadata"])
    md = metadata_raw(client, fid)
    assert md == second["metadata"]
    assert md["exif"]["image"]["Make"] == "NIKON" and md["density"] == 300
    assert md["exif"]["gps"]["GPSLatitudeRef"] == "N"
    items, _ = raw_list(client, path=folder + "/")
    assert items[0]["embeddedMetadata"]["Make"] == "NIKON"

    # the older version keeps its own
    resp = client.files.versions.with_raw_response.list(fid)
    versions = resp.http_response.json()
    old = [v for v in versions if v["versionInfo"]["id"] == first["versionInfo"]["id"]]
    assert len(old) == 1, versions
    assert old[0]["embeddedMetadata"] == first["embeddedMetadata"]
    one = client.files.versions.with_raw_response.get(first["versionInfo"]["id"], file_id=fid).http_response.json()
    assert one["embeddedMetadata"]["Make"] == "Canon"
    old_listed, _ = raw_list(client, path=folder + "/", type="file-version")
    assert [v["embeddedMetadata"]["Make"] for v in old_listed] == ["Canon"]

    # restoring the first version brings its metadata back
    client.files.versions.restore(first["versionInfo"]["id"], file_id=fid)
    assert details_raw(client, fid)["embeddedMetadata"] == first["embeddedMetadata"]
    assert metadata_raw(client, fid) == first["metadata"]

    # a third version without metadata leaves none of the old behind
    png = unique_png()
    raw_upload(client, file=png, file_name="photo.jpg", folder=folder, use_unique_file_name=False)
    em = details_raw(client, fid)["embeddedMetadata"]
    assert "Make" not in em and "DateTimeOriginal" not in em, em
    md = metadata_raw(client, fid)
    assert md["format"] == "png" and md["exif"]["image"] == {} and md["hasColorProfile"] is False


def test_copied_file_keeps_metadata(client, folder):
    src = upload_corpus(client, "IPTC-PhotometadataRef-Std2024.1.jpg", folder, file_name="iptc.jpg", use_unique_file_name=False)
    client.files.copy(source_file_path=src["filePath"], destination_path=folder + "/copy/")
    items, _ = raw_list(client, path=folder + "/copy/")
    assert len(items) == 1
    copy = items[0]
    assert copy["fileId"] != src["fileId"]
    assert copy["embeddedMetadata"] == src["embeddedMetadata"]
    assert metadata_raw(client, copy["fileId"]) == src["metadata"]
    # moving and renaming keep it too
    client.files.move(source_file_path=copy["filePath"], destination_path=folder + "/moved/")
    moved, _ = raw_list(client, path=folder + "/moved/")
    assert moved[0]["embeddedMetadata"] == src["embeddedMetadata"]
    client.files.rename(file_path=moved[0]["filePath"], new_file_name="renamed.jpg")
    assert details_raw(client, moved[0]["fileId"])["embeddedMetadata"] == src["embeddedMetadata"]


def test_metadata_answers_match_across_calls(client, folder):
    """responseFields=metadata, GET …/metadata and GET /v1/metadata?url= (own URL) agree."""
    data = upload_corpus(client, "webp_exif_gps_htc_desire.webp", folder)
    by_id = metadata_raw(client, data["fileId"])
    by_url = client.files.metadata.with_raw_response.get_from_url(url=data["url"]).http_response.json()
    assert data["metadata"] == by_id == by_url


# ================================================================ 4. hostile / broken files

HOSTILE_CORPUS = [
    "jpeg_invalid_exif.jpg",
    "invalid_image00971.jpg",
    "invalid_image01137.jpg",
    "invalid_image02206.jpg",
    "tests_36-memory_error.jpg",
    "tests_67-0_length_string.jpg",
    "png_ztxt_bomb.png",
    "gif_animated_invalid_xmp.gif",
    "jpeg_truncated.jpg",
]
GENERATED = {
    "self_referencing_ifd.jpg": self_referencing_ifd_jpeg,
    "ifd_cycle.jpg": ifd_cycle_jpeg,
    "xmp_1mb.jpg": big_xmp_jpeg,
}


def _hostile_round(server, client, folder, name: str, body: bytes) -> Tuple[dict, dict]:
    t0 = time.monotonic()
    resp = client.files.with_raw_response.upload(file=body, file_name=name, folder=folder, response_fields=BOTH)
    assert resp.http_response.status_code == 200, resp.http_response.text[:2000]
    assert time.monotonic() - t0 < HOSTILE_SECONDS, f"upload of {name} took {time.monotonic() - t0:.1f}s"
    data = resp.http_response.json()
    assert len(resp.http_response.content) < 4_000_000, f"{name}: upload answer of {len(resp.http_response.content)} bytes"
    assert isinstance(data["embeddedMetadata"], dict)
    assert set(data["metadata"]["exif"]) <= SECTIONS

    t0 = time.monotonic()
    r = http_get(server, f"/v1/files/{data['fileId']}/metadata")
    assert r.status_code == 200, r.text[:2000]
    assert time.monotonic() - t0 < HOSTILE_SECONDS
    assert r.json() == data["metadata"]
    Metadata.model_construct(**r.json())
    details = details_raw(client, data["fileId"])
    assert details["embeddedMetadata"] == data["embeddedMetadata"]
    # the file itself is stored as sent
    assert details["size"] == len(body)
    assert server.alive()
    return data, r.json()


@pytest.mark.parametrize("name", HOSTILE_CORPUS)
def test_hostile_corpus_file(server, client, folder, name):
    data, _ = _hostile_round(server, client, folder, name, corpus(name).read_bytes())
    if name == "png_ztxt_bomb.png":
        # ~2 MB per chunk inflated: bounded, not expanded in full
        for k, v in data["embeddedMetadata"].items():
            assert len(json.dumps(v)) <= 1_100_000, (k, len(json.dumps(v)))


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_hostile_generated_file(server, client, folder, name):
    body = GENERATED[name]()
    data, md = _hostile_round(server, client, folder, name, body)
    em = data["embeddedMetadata"]
    if name == "self_referencing_ifd.jpg":
        assert em.get("Make") in (None, "Loop"), em
    elif name == "ifd_cycle.jpg":
        assert em.get("Make") in (None, "Cycle"), em
    elif name == "xmp_1mb.jpg":
        # the EXIF block is sound and is read whatever happens to the oversized XMP
        assert em.get("Make") == "XmpBig", em
        assert md["exif"]["image"].get("Make") == "XmpBig"
        kw = em.get("Keywords", [])
        assert isinstance(kw, list)


def test_generated_camera_jpeg_round_trip(client, folder):
    """The EXIF builder used by the search tests writes what the reader reads."""
    taken = datetime(2021, 6, 1, 12, 30, 45)
    body = camera_jpeg("KuraCam", "Model X", 800, taken)
    data, _ = raw_upload(client, file=body, file_name="cam.jpg", folder=folder, response_fields=BOTH)
    em = data["embeddedMetadata"]
    assert em["Make"] == "KuraCam" and em["Model"] == "Model X" and em["ISO"] == 800
    assert em["DateTimeOriginal"] == "2021-06-01T12:30:45.000Z"
    assert data["metadata"]["exif"]["exif"]["DateTimeOriginal"] == "2021:06:01 12:30:45"
    assert data["metadata"]["density"] == 72


# ================================================================ 5. GET /v1/metadata?url=


@pytest.fixture
def local_jpeg():
    """Serves Canon_40D.jpg as /photo.jpg on 127.0.0.1."""
    body = corpus("Canon_40D.jpg").read_bytes()
    with serve_files({"/photo.jpg": ("image/jpeg", body)}) as url:
        yield url, body


def test_metadata_of_own_url(server, client, folder):
    data = upload_corpus(client, "Canon_40D.jpg", folder)
    assert data["url"].startswith(server.media + "/")
    m = client.files.metadata.get_from_url(url=data["url"])
    assert isinstance(m, Metadata)
    assert m.density == 72 and m.exif.image.make == "Canon" and m.width == 100
    raw = client.files.metadata.with_raw_response.get_from_url(url=data["url"]).http_response.json()
    assert raw == data["metadata"]
    # a query string (cache busting, version pinning) still names the file by its path
    raw = client.files.metadata.with_raw_response.get_from_url(url=data["url"] + "?updatedAt=12345").http_response.json()
    assert raw == data["metadata"]


def test_metadata_of_own_url_private_file(server, client, folder):
    data = upload_corpus(client, "gps_DSCN0010.jpg", folder, is_private_file=True)
    url = server.media + data["filePath"]
    raw = client.files.metadata.with_raw_response.get_from_url(url=url).http_response.json()
    assert raw == data["metadata"]
    assert raw["exif"]["gps"]["GPSLatitudeRef"] == "N"
    # the URL the upload answered with works as well (signed or not)
    raw = client.files.metadata.with_raw_response.get_from_url(url=data["url"]).http_response.json()
    assert raw == data["metadata"]


def test_metadata_of_own_url_after_new_version(server, client, folder):
    first = upload_corpus(client, "Canon_40D.jpg", folder, file_name="v.jpg", use_unique_file_name=False)
    upload_corpus(client, "gps_DSCN0010.jpg", folder, file_name="v.jpg", use_unique_file_name=False)
    m = client.files.metadata.get_from_url(url=first["url"])
    assert m.exif.image.make == "NIKON"


def test_metadata_of_own_url_naming_no_file(server, client, folder):
    with pytest.raises(imagekitio.NotFoundError) as e:
        client.files.metadata.get_from_url(url=f"{server.media}{folder}/nothing-here.jpg")
    assert_api_error(e, imagekitio.NotFoundError, 404)


def test_metadata_of_unknown_file_id(client):
    with pytest.raises(imagekitio.NotFoundError) as e:
        client.files.metadata.get(MISSING_ID)
    assert_api_error(e, imagekitio.NotFoundError, 404)


@pytest.mark.parametrize("params", [{}, {"url": ""}, {"url": "   "}], ids=["missing", "empty", "blank"])
def test_metadata_url_missing_is_400(server, params):
    r = http_get(server, "/v1/metadata", params)
    assert r.status_code == 400, r.text
    assert_error_body(r.json())


def test_metadata_needs_auth(server, client, folder):
    data = upload_corpus(client, "Canon_40D.jpg", folder, fields=[])
    r = http_get(server, f"/v1/files/{data['fileId']}/metadata", auth=False)
    assert r.status_code == 401, r.text
    r = http_get(server, "/v1/metadata", {"url": data["url"]}, auth=False)
    assert r.status_code == 401, r.text


@pytest.mark.parametrize(
    "url",
    ["{local}/photo.jpg", "http://localhost:{port}/photo.jpg", "http://[::1]:{port}/photo.jpg", "http://169.254.169.254/latest/meta-data/"],
    ids=["127.0.0.1", "localhost", "ipv6-loopback", "metadata-ip"],
)
def test_metadata_of_private_url_refused_by_default(server, client, local_jpeg, url):
    local, _ = local_jpeg
    port = local.rsplit(":", 1)[1]
    with pytest.raises(imagekitio.BadRequestError) as e:
        client.files.metadata.get_from_url(url=url.format(local=local, port=port))
    assert_api_error(e, imagekitio.BadRequestError, 400)


def test_metadata_of_private_url_allowed_with_setting(new_server, local_jpeg):
    s = new_server(env={"KURA_ALLOW_PRIVATE_URLS": "1"})
    local, body = local_jpeg
    c = s.client()
    raw = c.files.metadata.with_raw_response.get_from_url(url=local + "/photo.jpg").http_response.json()
    assert raw["size"] == len(body)
    assert (raw["width"], raw["height"], raw["format"]) == (100, 68, "jpg")
    assert raw["density"] == 72 and raw["hasColorProfile"] is True
    assert raw["exif"]["image"]["Make"] == "Canon"
    assert raw["exif"]["exif"]["DateTimeOriginal"] == "2008:05:30 15:56:01"
    # the fetched file is not stored
    assert c.assets.list() == []
    # an unreachable resource is an error, not metadata of nothing
    r = http_get(s, "/v1/metadata", {"url": local + "/missing.jpg"})
    assert r.status_code in (400, 404), r.text
    assert_error_body(r.json())


# ================================================================ 6. searchQuery "embeddedMetadata.<field>"
#
# docs/search.md: the query's value decides how a stored value compares — a bare number as a
# number, bare true/false as a boolean, a date (absolute or relative) as an instant, anything
# else (quoted "Canon", quoted "800") as text, exactly (`:` begins with). A list (Keywords)
# matches when any item does. A condition on a value an asset lacks is false, its negation
# true. Values of another JSON type than the query's never match (as for custom metadata's
# select options: "matching the option's JSON type").
#
# One library per server, built once per index mode; the expected answer of every query is
# computed by a model of the doc over the embeddedMetadata the listing reports, and each case
# says whether that answer must be empty, everything, or a proper subset.

NOW = datetime.now(timezone.utc).replace(microsecond=0)
SEARCH_LIBRARY = [
    # (name in the library, corpus file or generator)
    ("canon40d.jpg", "Canon_40D.jpg"),
    ("canons40.jpg", "Canon_PowerShot_S40.jpg"),
    ("nikond70.jpg", "Nikon_D70.jpg"),
    ("coolpix.jpg", "gps_DSCN0010.jpg"),
    ("iphone13.heic", "heic_mobile_iphone_13_pro_max.HEIC"),
    ("iptcref.jpg", "IPTC-PhotometadataRef-Std2024.1.jpg"),
    ("pskeywords.jpg", "iptc_photoshop_keywords.jpg"),
    ("exiftool.jpg", "jpeg_exiftool_exif_iptc_xmp.jpg"),
    ("recent.jpg", lambda: camera_jpeg("KuraCam", "Recent One", 800, (NOW - timedelta(days=10)).replace(tzinfo=None))),
    ("older.jpg", lambda: camera_jpeg("KuraCam", "Older One", 3200, (NOW - timedelta(days=800)).replace(tzinfo=None))),
    ("plain.png", lambda: make_png(11, 5, seed=6061)),
    ("document.pdf", "document.pdf"),
    # where they were made: west and south (EXIF's hemisphere tags), a video (QuickTime's
    # GPSCoordinates), and 0,0
    ("madrid.jpg", "hdr_iphone_hdr_YES.jpg"),
    ("kansas.heic", "heic_IMG_5195.HEIC"),
    ("london.mp4", "video_h264_aac.mp4"),
    ("kenya.jpg", "Kodak_CX7530.jpg"),
    ("nullisland.jpg", "phone_samsung_galaxy_s_gps_null_island.jpg"),
]


def _stored_instant(s: Any) -> Optional[int]:
    if not isinstance(s, str) or not ISO_MS_Z.match(s):
        return None
    dt = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def _query_instant(q: str) -> int:
    m = re.fullmatch(r"(\d+)([hdwmy])", q)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if unit in "hdw":
            dt = NOW - {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
        else:
            months = n * (12 if unit == "y" else 1)
            y, mo = divmod(NOW.month - 1 - months, 12)
            dt = NOW.replace(year=NOW.year + y, month=mo + 1, day=min(NOW.day, 28))
        return int(dt.timestamp() * 1000)
    norm = norm_date(q)
    assert norm != q or ISO_MS_Z.match(q), f"not a date: {q}"
    return _stored_instant(norm)


_CMP = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _scalar_holds(s: Any, op: str, kind: str, q: Any) -> bool:
    if kind == "number":
        return isinstance(s, (int, float)) and not isinstance(s, bool) and _CMP[op](float(s), float(q))
    if kind == "bool":
        return isinstance(s, bool) and op == "=" and s is q
    if kind == "date":
        t = _stored_instant(s)
        return t is not None and _CMP[op](t, _query_instant(q))
    if kind == "text":
        if not isinstance(s, str):
            return False
        return s.startswith(q) if op == ":" else s == q
    raise AssertionError(kind)


def em_pred(field: str, op: str, kind: str = "", value: Any = None):
    """The model: a predicate over a file's embeddedMetadata for one condition."""

    def items(em):
        if field not in em:
            return []
        v = em[field]
        return v if isinstance(v, list) else [v]

    if op == "EXISTS":
        return lambda em: field in em
    if op == "NOTEXISTS":
        return lambda em: field not in em
    if op == "IN":
        return lambda em: any(_scalar_holds(s, "=", k, q) for s in items(em) for k, q in value)
    if op == "NOTIN":
        return lambda em: not any(_scalar_holds(s, "=", k, q) for s in items(em) for k, q in value)
    if op == "NOT=":
        return lambda em: not any(_scalar_holds(s, "=", kind, value) for s in items(em))
    return lambda em: any(_scalar_holds(s, op, kind, value) for s in items(em))


def AND(*ps):
    return lambda em: all(p(em) for p in ps)


def OR(*ps):
    return lambda em: any(p(em) for p in ps)


F = "embeddedMetadata."
EARTH_RADIUS_M = 6371008.8


def location(em: dict) -> Optional[tuple]:
    """Where a file was made, from its embeddedMetadata as the listing shows it (docs/search.md):
    GPSLatitude/GPSLongitude with their hemisphere references, else GPSCoordinates."""
    if "GPSLatitude" in em and "GPSLongitude" in em:
        lat, lng = float(em["GPSLatitude"]), float(em["GPSLongitude"])
        if em.get("GPSLatitudeRef") == "S":
            lat = -abs(lat)
        if em.get("GPSLongitudeRef") == "W":
            lng = -abs(lng)
        return lat, lng
    if isinstance(em.get("GPSCoordinates"), str):
        lat, lng = em["GPSCoordinates"].split()[:2]
        return float(lat), float(lng)
    return None


def circle(lat: float, lng: float, metres: float):
    def holds(p):
        (plat, plng) = map(math.radians, p)
        clat, clng = math.radians(lat), math.radians(lng)
        h = math.sin((plat - clat) / 2) ** 2 + math.cos(plat) * math.cos(clat) * math.sin((plng - clng) / 2) ** 2
        return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h))) <= metres

    return holds


def box(lat1: float, lng1: float, lat2: float, lng2: float):
    return lambda p: min(lat1, lat2) <= p[0] <= max(lat1, lat2) and min(lng1, lng2) <= p[1] <= max(lng1, lng2)


def polygon(*points):
    def holds(p):
        inside = False
        for (alat, alng), (blat, blng) in zip(points, points[1:] + points[:1]):
            if (alat > p[0]) != (blat > p[0]):
                if p[1] < (blng - alng) * (p[0] - alat) / (blat - alat) + alng:
                    inside = not inside
        return inside

    return holds


def loc_pred(op: str, *areas):
    """The model of `"embeddedMetadata.LocationTaken"` conditions."""
    within = lambda em: location(em) is not None and any(a(location(em)) for a in areas)  # noqa: E731
    if op == "EXISTS":
        return lambda em: location(em) is not None
    if op == "NOTEXISTS":
        return lambda em: location(em) is None
    if op in ("NOT=", "NOTIN"):
        return lambda em: not within(em)
    return within


L = f'"{F}LocationTaken"'
# (query, model predicate, expected shape, names that must be in the answer)
SEARCH_CASES = [
    # text, exactly; `:` begins with
    (f'"{F}Make" = "Canon"', em_pred("Make", "=", "text", "Canon"), "some", {"canon40d.jpg", "canons40.jpg"}),
    (f'"{F}Make" = "canon"', em_pred("Make", "=", "text", "canon"), "none", set()),
    (f'"{F}Make" = "Cano"', em_pred("Make", "=", "text", "Cano"), "none", set()),
    (f'"{F}Make" : "NIKON"', em_pred("Make", ":", "text", "NIKON"), "some", {"nikond70.jpg", "coolpix.jpg"}),
    (f'"{F}Model" : "Canon "', em_pred("Model", ":", "text", "Canon "), "some", {"canon40d.jpg", "canons40.jpg"}),
    (f'"{F}Make" NOT = "Canon"', em_pred("Make", "NOT=", "text", "Canon"), "some", {"plain.png", "document.pdf", "iphone13.heic"}),
    (f'"{F}Make" IN ["Apple", "KuraCam"]', em_pred("Make", "IN", value=[("text", "Apple"), ("text", "KuraCam")]), "some", {"iphone13.heic", "recent.jpg", "older.jpg"}),
    (f'"{F}Make" NOT IN ["Apple", "KuraCam"]', em_pred("Make", "NOTIN", value=[("text", "Apple"), ("text", "KuraCam")]), "some", {"canon40d.jpg", "document.pdf"}),
    (f'"{F}By-line" = "Phil Harvey"', em_pred("By-line", "=", "text", "Phil Harvey"), "some", {"exiftool.jpg"}),
    (f'"{F}City" = "Kingston"', em_pred("City", "=", "text", "Kingston"), "some", {"exiftool.jpg"}),
    # field names are case-sensitive, as exiftool spells them
    (f'"{F}make" = "Canon"', em_pred("make", "=", "text", "Canon"), "none", set()),
    # numbers
    (f'"{F}ISO" >= 400', em_pred("ISO", ">=", "number", 400), "some", {"recent.jpg", "older.jpg"}),
    (f'"{F}ISO" > 800', em_pred("ISO", ">", "number", 800), "some", {"older.jpg"}),
    (f'"{F}ISO" < 100', em_pred("ISO", "<", "number", 100), "some", {"coolpix.jpg"}),
    (f'"{F}ISO" <= 100', em_pred("ISO", "<=", "number", 100), "some", {"coolpix.jpg", "canon40d.jpg", "exiftool.jpg"}),
    (f'"{F}ISO" = 100', em_pred("ISO", "=", "number", 100), "some", {"canon40d.jpg", "exiftool.jpg"}),
    (f'"{F}ISO" = 100.0', em_pred("ISO", "=", "number", 100), "some", {"canon40d.jpg", "exiftool.jpg"}),
    (f'"{F}ISO" IN [64, 250]', em_pred("ISO", "IN", value=[("number", 64), ("number", 250)]), "some", {"coolpix.jpg", "iphone13.heic"}),
    (f'"{F}ISO" NOT IN [64, 250]', em_pred("ISO", "NOTIN", value=[("number", 64), ("number", 250)]), "some", {"canon40d.jpg", "plain.png"}),
    (f'"{F}ISO" NOT = 100', em_pred("ISO", "NOT=", "number", 100), "some", {"nikond70.jpg", "plain.png"}),
    (f'"{F}FNumber" > 7', em_pred("FNumber", ">", "number", 7), "some", {"canon40d.jpg", "nikond70.jpg"}),
    (f'"{F}FNumber" = 7.1', em_pred("FNumber", "=", "number", 7.1), "some", {"canon40d.jpg"}),
    # quoted "100" is text: a stored number 100 is not the text "100"; bare 100 is a number
    (f'"{F}ISO" = "100"', em_pred("ISO", "=", "text", "100"), "none", set()),
    (f'"{F}ISO" NOT = "100"', em_pred("ISO", "NOT=", "text", "100"), "all", set()),
    (f'"{F}SubSecTimeOriginal" = 762', em_pred("SubSecTimeOriginal", "=", "number", 762), "some", {"iphone13.heic"}),
    (f'"{F}SubSecTimeOriginal" = "762"', em_pred("SubSecTimeOriginal", "=", "text", "762"), "none", set()),
    (f'"{F}SubSecTimeOriginal" = "00"', em_pred("SubSecTimeOriginal", "=", "text", "00"), "some", {"canon40d.jpg"}),
    (f'"{F}SubSecTimeOriginal" = 0', em_pred("SubSecTimeOriginal", "=", "number", 0), "none", set()),
    (f'"{F}ExifVersion" = "0221"', em_pred("ExifVersion", "=", "text", "0221"), "some", {"canon40d.jpg"}),
    (f'"{F}ExifVersion" = 221', em_pred("ExifVersion", "=", "number", 221), "none", set()),
    (f'"{F}Make" > 5', em_pred("Make", ">", "number", 5), "none", set()),
    (f'"{F}Make" = true', em_pred("Make", "=", "bool", True), "none", set()),
    # dates: stored as ISO instants (EXIF local times read as UTC)
    (f'"{F}DateTimeOriginal" > "2008-01-01"', em_pred("DateTimeOriginal", ">", "date", "2008-01-01"), "some", {"canon40d.jpg", "nikond70.jpg", "iptcref.jpg", "recent.jpg"}),
    (f'"{F}DateTimeOriginal" < "2008-01-01"', em_pred("DateTimeOriginal", "<", "date", "2008-01-01"), "some", {"canons40.jpg", "exiftool.jpg"}),
    (f'"{F}DateTimeOriginal" < "1y"', em_pred("DateTimeOriginal", "<", "date", "1y"), "some", {"canon40d.jpg", "older.jpg"}),
    (f'"{F}DateTimeOriginal" > "1y"', em_pred("DateTimeOriginal", ">", "date", "1y"), "some", {"recent.jpg"}),
    (f'"{F}DateTimeOriginal" >= "30d"', em_pred("DateTimeOriginal", ">=", "date", "30d"), "some", {"recent.jpg"}),
    (f'"{F}DateTimeOriginal" = "2008-05-30T15:56:01Z"', em_pred("DateTimeOriginal", "=", "date", "2008-05-30T15:56:01Z"), "some", {"canon40d.jpg"}),
    (f'"{F}DateTimeOriginal" = "2008-05-30 15:56:01"', em_pred("DateTimeOriginal", "=", "date", "2008-05-30 15:56:01"), "some", {"canon40d.jpg"}),
    (f'"{F}DateTimeOriginal" = "2008-05-30T17:56:01+02:00"', em_pred("DateTimeOriginal", "=", "date", "2008-05-30T17:56:01+02:00"), "some", {"canon40d.jpg"}),
    (f'"{F}DateTimeOriginal" >= "2008-05-30T15:56:01.001Z"', em_pred("DateTimeOriginal", ">=", "date", "2008-05-30T15:56:01.001Z"), "some", {"coolpix.jpg"}),
    (f'"{F}DateTimeOriginal" <= "2008-05-30T15:56:01Z" AND "{F}DateTimeOriginal" >= "2008-05-30"', AND(em_pred("DateTimeOriginal", "<=", "date", "2008-05-30T15:56:01Z"), em_pred("DateTimeOriginal", ">=", "date", "2008-05-30")), "some", {"canon40d.jpg"}),
    # a date compares as an instant: a stored text that is no date never matches
    (f'"{F}Make" > "2000-01-01"', em_pred("Make", ">", "date", "2000-01-01"), "none", set()),
    (f'"{F}Make" >= "1y"', em_pred("Make", ">=", "date", "1y"), "none", set()),
    (f'"{F}Keywords" > "2000-01-01"', em_pred("Keywords", ">", "date", "2000-01-01"), "none", set()),
    (f'"{F}ISO" > "2000-01-01"', em_pred("ISO", ">", "date", "2000-01-01"), "none", set()),
    (f'"{F}ISO" : "1"', em_pred("ISO", ":", "text", "1"), "none", set()),
    # lists: any item
    (f'"{F}Keywords" IN ["jambalaya", "test keyword 2"]', em_pred("Keywords", "IN", value=[("text", "jambalaya"), ("text", "test keyword 2")]), "some", {"exiftool.jpg", "pskeywords.jpg"}),
    (f'"{F}Keywords" = "Keyword2ref2023.2"', em_pred("Keywords", "=", "text", "Keyword2ref2023.2"), "some", {"iptcref.jpg"}),
    (f'"{F}Keywords" : "test"', em_pred("Keywords", ":", "text", "test"), "some", {"pskeywords.jpg"}),
    (f'"{F}Keywords" = "XMP"', em_pred("Keywords", "=", "text", "XMP"), "none", set()),  # dc:subject, not Keywords, has it
    (f'"{F}Subject" = "XMP"', em_pred("Subject", "=", "text", "XMP"), "some", {"exiftool.jpg"}),
    (f'"{F}Keywords" NOT IN ["jambalaya", "test keyword 2"]', em_pred("Keywords", "NOTIN", value=[("text", "jambalaya"), ("text", "test keyword 2")]), "some", {"iptcref.jpg", "canon40d.jpg"}),
    (f'"{F}Keywords" NOT = "test keyword 1"', em_pred("Keywords", "NOT=", "text", "test keyword 1"), "some", {"iptcref.jpg", "document.pdf"}),
    # EXISTS / NOT EXISTS
    (f'"{F}Keywords" EXISTS', em_pred("Keywords", "EXISTS"), "some", {"iptcref.jpg", "pskeywords.jpg", "exiftool.jpg"}),
    (f'"{F}Keywords" NOT EXISTS', em_pred("Keywords", "NOTEXISTS"), "some", {"canon40d.jpg", "plain.png", "document.pdf"}),
    (f'"{F}Make" EXISTS', em_pred("Make", "EXISTS"), "some", {"canon40d.jpg", "recent.jpg"}),
    (f'"{F}City" NOT EXISTS', em_pred("City", "NOTEXISTS"), "some", {"canon40d.jpg"}),
    (f'"{F}NoSuchTag" EXISTS', em_pred("NoSuchTag", "EXISTS"), "none", set()),
    (f'"{F}NoSuchTag" NOT EXISTS', em_pred("NoSuchTag", "NOTEXISTS"), "all", set()),
    (f'"{F}NoSuchTag" = "x"', em_pred("NoSuchTag", "=", "text", "x"), "none", set()),
    # combined with each other and with other fields
    (
        f'("{F}Make" = "Canon" OR "{F}Make" = "Apple") AND "{F}ISO" > 50',
        AND(OR(em_pred("Make", "=", "text", "Canon"), em_pred("Make", "=", "text", "Apple")), em_pred("ISO", ">", "number", 50)),
        "some",
        {"canon40d.jpg", "iphone13.heic"},
    ),
    (
        f'"{F}Make" = "KuraCam" AND format = "jpg" AND width = 100',
        em_pred("Make", "=", "text", "KuraCam"),
        "some",
        {"recent.jpg", "older.jpg"},
    ),
    # LocationTaken: a circle (m, km, mi), a box by its diagonal (either way round), a polygon
    (f'{L} = "43.4674,11.8851 1km"', loc_pred("=", circle(43.4674, 11.8851, 1000)), "some", {"coolpix.jpg"}),
    (f'{L} = "43.4674, 11.8851 1 m"', loc_pred("=", circle(43.4674, 11.8851, 1)), "none", set()),
    (f'{L} = "43.4674,11.8851 10m"', loc_pred("=", circle(43.4674, 11.8851, 10)), "some", {"coolpix.jpg"}),
    (f'{L} = "45,0 2000km"', loc_pred("=", circle(45, 0, 2_000_000)), "some", {"coolpix.jpg", "madrid.jpg", "london.mp4"}),
    (f'{L} = "39,-94 50mi"', loc_pred("=", circle(39, -94, 50 * 1609.344)), "some", {"kansas.heic"}),
    (f'{L} = "0,0 1m"', loc_pred("=", circle(0, 0, 1)), "some", {"nullisland.jpg"}),
    (f'{L} = "0,0 30000km"', loc_pred("EXISTS"), "some", {"kenya.jpg", "kansas.heic", "london.mp4"}),
    (f'{L} = "40,-5|41,-3"', loc_pred("=", box(40, -5, 41, -3)), "some", {"madrid.jpg"}),
    (f'{L} = "41,-3|40,-5"', loc_pred("=", box(40, -5, 41, -3)), "some", {"madrid.jpg"}),
    (f'{L} = "-1,36|0,37"', loc_pred("=", box(-1, 36, 0, 37)), "some", {"kenya.jpg"}),
    (f'{L} = "0,36|1,37"', loc_pred("=", box(0, 36, 1, 37)), "none", set()),  # Kenya's S made it south
    (f'{L} = "51,-1|52,-1|52,1|51,1"', loc_pred("=", polygon((51, -1), (52, -1), (52, 1), (51, 1))), "some", {"london.mp4"}),
    (f'{L} = "30,-100|55,-100|55,20|45,20|45,-90|30,-90"', loc_pred("=", polygon((30, -100), (55, -100), (55, 20), (45, 20), (45, -90), (30, -90))), "some", {"kansas.heic", "london.mp4"}),  # madrid and coolpix: in the notch
    (f'{L} NOT = "40,-5|41,-3"', loc_pred("NOT=", box(40, -5, 41, -3)), "some", {"coolpix.jpg", "plain.png", "document.pdf"}),
    (f'{L} IN ["40,-5|41,-3", "39,-94 50mi"]', loc_pred("IN", box(40, -5, 41, -3), circle(39, -94, 50 * 1609.344)), "some", {"madrid.jpg", "kansas.heic"}),
    (f'{L} NOT IN ["40,-5|41,-3", "39,-94 50mi"]', loc_pred("NOTIN", box(40, -5, 41, -3), circle(39, -94, 50 * 1609.344)), "some", {"coolpix.jpg", "london.mp4", "plain.png"}),
    (f'{L} EXISTS', loc_pred("EXISTS"), "some", {"coolpix.jpg", "madrid.jpg", "kansas.heic", "london.mp4", "kenya.jpg", "nullisland.jpg"}),
    (f'{L} NOT EXISTS', loc_pred("NOTEXISTS"), "some", {"canon40d.jpg", "plain.png", "document.pdf"}),
    (
        f'{L} = "45,0 3000km" AND "{F}Make" : "NIKON"',
        AND(loc_pred("=", circle(45, 0, 3_000_000)), em_pred("Make", ":", "text", "NIKON")),
        "some",
        {"coolpix.jpg"},
    ),
]


class SearchLib:
    def __init__(self, server, root: str, items: Dict[str, dict], old_version: dict):
        self.server = server
        self.client = server.client()
        self.root = root
        self.items = items  # name -> listing item
        self.old_version = old_version


@pytest.fixture(scope="module", params=["1", "0"], ids=["index-on", "index-off"])
def slib(request, tmp_path_factory):
    from conftest import KuraServer

    mode = request.param
    s = KuraServer(tmp_path_factory.mktemp(f"kura-emsearch-{mode}"), env={"KURA_SEARCH_INDEX": mode}).start()
    c = s.client()
    root = f"/emsearch-{uuid.uuid4().hex[:10]}"
    for name, source in SEARCH_LIBRARY:
        body = corpus(source).read_bytes() if isinstance(source, str) else source()
        raw_upload(c, file=body, file_name=name, folder=root, use_unique_file_name=False)
    # a file whose older version has metadata its current one lacks
    old = upload_corpus(c, "Pentax_K10D.jpg", root + "/versions", file_name="over.jpg", use_unique_file_name=False)
    raw_upload(c, file=unique_png(), file_name="over.jpg", folder=root + "/versions", use_unique_file_name=False)
    items, _ = raw_list(c, path=root + "/")
    by_name = {i["name"]: i for i in items}
    assert set(by_name) == {n for n, _ in SEARCH_LIBRARY}, sorted(by_name)
    yield SearchLib(s, root, by_name, old)
    s.stop()


def _search_names(lib: SearchLib, query: str, **kw) -> List[str]:
    resp = lib.client.assets.with_raw_response.list(search_query=f'path = "{lib.root}" AND ({query})', **kw)
    assert resp.http_response.status_code == 200, f"{query}: {resp.http_response.text}"
    data = resp.http_response.json()
    resp.parse()
    return sorted(i["name"] for i in data)


def test_search_library_is_as_designed(slib):
    em = {n: i["embeddedMetadata"] for n, i in slib.items.items()}
    assert em["canon40d.jpg"]["ISO"] == 100 and em["coolpix.jpg"]["ISO"] == 64
    assert em["recent.jpg"]["Make"] == "KuraCam" and em["recent.jpg"]["ISO"] == 800
    assert _stored_instant(em["recent.jpg"]["DateTimeOriginal"]) > _query_instant("30d")
    assert em["iphone13.heic"]["SubSecTimeOriginal"] == 762
    assert em["canon40d.jpg"]["SubSecTimeOriginal"] == "00"
    assert em["exiftool.jpg"]["Keywords"] == ["jambalaya"]
    assert "XMP" in em["exiftool.jpg"]["Subject"]
    assert em["plain.png"].get("Make") is None and em["document.pdf"] == {}


@pytest.mark.parametrize("query,pred,shape,must", SEARCH_CASES, ids=[c[0] for c in SEARCH_CASES])
def test_search_embedded(slib, query, pred, shape, must):
    everything = sorted(slib.items)
    expected = sorted(n for n, i in slib.items.items() if pred(i["embeddedMetadata"]))
    # the case is what it says it is (no vacuous pass)
    if shape == "none":
        assert expected == [], expected
    elif shape == "all":
        assert expected == everything, expected
    else:
        assert expected and expected != everything, expected
    assert must <= set(expected), (must, expected)
    assert _search_names(slib, query) == expected


def test_search_embedded_items_carry_embedded_metadata(slib):
    resp = slib.client.assets.with_raw_response.list(search_query=f'path = "{slib.root}" AND "{F}Make" = "Canon"')
    items = resp.http_response.json()
    assert {i["name"] for i in items} == {"canon40d.jpg", "canons40.jpg"}
    for i in items:
        assert i["embeddedMetadata"] == slib.items[i["name"]]["embeddedMetadata"]


def test_search_embedded_sees_current_version_only(slib):
    root = slib.root + "/versions"
    q = f'path = "{root}" AND "{F}Make" : "PENTAX"'
    assert slib.client.assets.list(search_query=q) == []
    resp = slib.client.assets.with_raw_response.list(search_query=q + ' AND type = "file-version"')
    found = resp.http_response.json()
    assert [(v["type"], v["versionInfo"]["id"]) for v in found] == [("file-version", slib.old_version["versionInfo"]["id"])]


def test_search_embedded_reads_new_uploads(slib):
    """Read your writes: a file uploaded now is found by its embedded metadata at once, and
    a new version without it is no longer found."""
    folder = slib.root + "/rw-" + uuid.uuid4().hex[:6]
    c = slib.client
    body = camera_jpeg("FreshCam", "F1", 1234, datetime(2020, 2, 29, 12, 0, 0))
    d, _ = raw_upload(c, file=body, file_name="fresh.jpg", folder=folder, use_unique_file_name=False)
    q = f'path = "{folder}" AND "{F}Make" = "FreshCam" AND "{F}ISO" = 1234 AND "{F}DateTimeOriginal" = "2020-02-29T12:00:00Z"'
    assert [f.file_id for f in c.assets.list(search_query=q)] == [d["fileId"]]
    raw_upload(c, file=unique_png(), file_name="fresh.jpg", folder=folder, use_unique_file_name=False)
    assert c.assets.list(search_query=q) == []
    assert [f.file_id for f in c.assets.list(search_query=f'path = "{folder}" AND "{F}Make" NOT EXISTS')] == [d["fileId"]]


@pytest.mark.parametrize(
    "query",
    [
        f'"{F}Ma ke" = "Canon"',
        f'"{F}Ma$ke" = "Canon"',
        f'"{F}Make.Sub" = "Canon"',
        f'"{F}Make/x" = "Canon"',
        f'"{F}Ma\'ke" = "Canon"',
        f'"{F}Make*" = "Canon"',
        f'"{F}" = "Canon"',
        f'"{F}Make" HAS "Canon"',
        f'"{F}Keywords" HAS "jambalaya"',
        f'{L} = "40,100"',
        f'{L} = "40,100 5"',
        f'{L} = "40,100 5ft"',
        f'{L} = "91,100 5km"',
        f'{L} = "40,181|41,0"',
        f'{L} = "40;100|41,0"',
        f'{L} = "40,100|"',
        f'{L} > "40,100 5km"',
        f'{L} : "40,100 5km"',
        f'{L} HAS "40"',
        f'{L} = 40',
    ],
)
def test_search_embedded_bad_queries_are_400(slib, query):
    with pytest.raises(imagekitio.BadRequestError) as e:
        slib.client.assets.list(search_query=query)
    body = assert_api_error(e, imagekitio.BadRequestError, 400)
    assert "searchQuery" in body["message"], body


def test_search_location_errors_say_what_and_where(slib):
    query = f'{L} = "40,100 5ft"'
    with pytest.raises(imagekitio.BadRequestError) as e:
        slib.client.assets.list(search_query=query)
    body = assert_api_error(e, imagekitio.BadRequestError, 400)
    column = query.index('"40') + 1
    assert "`ft` is not a unit of distance" in body["message"], body
    assert f"(column {column})" in body["message"], body
    with pytest.raises(imagekitio.BadRequestError) as e:
        slib.client.assets.list(search_query=f'{L} < "40,100 5km"')
    body = assert_api_error(e, imagekitio.BadRequestError, 400)
    assert "takes `=`, `NOT =`, `IN`, `NOT IN`, `EXISTS` and `NOT EXISTS`" in body["message"], body


# ================================================================ 8. pHash


def _phash_of(client, folder: str, name: str, body: bytes) -> Optional[str]:
    d, _ = raw_upload(client, file=body, file_name=name, folder=folder, use_unique_file_name=False)
    return client.files.metadata.get(d["fileId"]).p_hash


def _hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_phash_is_64_bits_that_survive_resizing_and_recompression(client, folder, tmp_path):
    """pHash: 16 hex digits; a resized, recompressed copy (made by libvips's own CLI) lands
    within a few bits, another photo far away (the basis of near-duplicate search)."""
    original = _phash_of(client, folder, "canon.jpg", corpus("Canon_40D.jpg").read_bytes())
    assert original and re.fullmatch(r"[0-9a-f]{16}", original), original
    small = tmp_path / "small.jpg"
    subprocess.run(["vipsthumbnail", str(corpus("Canon_40D.jpg")), "-s", "320", "-o", f"{small}[Q=40]"], check=True)
    copy = _phash_of(client, folder, "canon-small.jpg", small.read_bytes())
    assert copy != original or small.read_bytes() != corpus("Canon_40D.jpg").read_bytes()
    assert _hamming(original, copy) <= 6, (original, copy)
    other = _phash_of(client, folder, "nikon.jpg", corpus("Nikon_D70.jpg").read_bytes())
    assert _hamming(original, other) >= 12, (original, other)
    # the same pixels in another format hash alike; the same file, the same hash
    png = tmp_path / "canon.png"
    subprocess.run(["vips", "copy", str(corpus("Canon_40D.jpg")), str(png)], check=True)
    assert _hamming(original, _phash_of(client, folder, "canon.png", png.read_bytes())) <= 2
    assert _phash_of(client, folder, "canon-again.jpg", corpus("Canon_40D.jpg").read_bytes()) == original


@pytest.mark.parametrize(
    "name,hashed",
    [
        ("heic_IMG_5195.HEIC", True),
        ("webp_exif_gps_htc_desire.webp", True),
        ("gif_animated.gif", True),
        ("document.pdf", False),  # not an image
        ("video_h264_aac.mp4", False),
        ("avif_bomb_17000x17000.avif", False),  # declares 289 megapixels: never decoded
        ("bomb_pixel_flood.png", False),
    ],
)
def test_phash_only_for_images_of_a_sane_size(client, folder, name, hashed):
    h = _phash_of(client, folder, f"ph-{name}", corpus(name).read_bytes())
    assert (h is not None) == hashed, (name, h)


# ================================================================ 7. backfill of older versions


def _run_sql(server, sql: str) -> None:
    """Runs SQL on a stopped server's metadata store, whichever engine it uses."""
    url = server.extra_env.get("KURA_DATABASE_URL")
    if url:
        subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)
    else:
        with sqlite3.connect(server.data_dir / "kura.db") as db:
            db.execute(sql)


def test_versions_stored_without_metadata_are_read_when_the_server_starts(tmp_path):
    """Versions uploaded before Kura read metadata (or marked by migration 7, which stores
    where files were made) have it read from their bytes by the `metadata-backfill` job every
    node queues at start: listings, GET …/metadata and searches then see it, older versions
    included."""
    from conftest import KuraServer

    s = KuraServer(tmp_path / "backfill").start()
    c = s.client()
    folder = f"/backfill-{uuid.uuid4().hex[:6]}"
    gps = upload_corpus(c, "gps_DSCN0010.jpg", folder, file_name="where.jpg", use_unique_file_name=False)
    upload_corpus(c, "Canon_40D.jpg", folder, file_name="where.jpg", use_unique_file_name=False)
    video = upload_corpus(c, "video_h264_aac.mp4", folder, file_name="clip.mp4", use_unique_file_name=False)
    raw_upload(c, file=unique_png(), file_name="plain.png", folder=folder, use_unique_file_name=False)
    expected = {i["versionInfo"]["id"]: i["embeddedMetadata"] for i in raw_list(c, path=folder + "/")[0]}
    versions = {v.version_info.id for v in c.files.versions.list(gps["fileId"])}
    assert gps["versionInfo"]["id"] in versions and len(versions) == 2
    assert s.stop() == 0

    # as an install from before migration 6 left them: nothing read
    _run_sql(
        s,
        "UPDATE file_versions SET embedded_metadata = '{}', media_metadata = NULL, gps_lat = NULL, "
        "gps_lng = NULL, gps_x = NULL, gps_y = NULL, gps_z = NULL, width = CASE WHEN file_type = 'image' "
        "THEN width END, height = CASE WHEN file_type = 'image' THEN height END",
    )
    s.start()
    c = s.client()
    deadline = time.monotonic() + 30
    while True:
        items = {i["versionInfo"]["id"]: i for i in raw_list(c, path=folder + "/")[0]}
        if all(items[v]["embeddedMetadata"] == em for v, em in expected.items()):
            break
        assert time.monotonic() < deadline, f"metadata not read back: {items}"
        time.sleep(0.2)
    assert items[video["versionInfo"]["id"]]["width"] == video["width"]

    # the older version too, and its place is searchable again
    loc = f'path = "{folder}" AND "{F}LocationTaken" = "43.4674,11.8851 1km"'
    found = c.assets.with_raw_response.list(search_query=loc + ' AND type = "file-version"').http_response.json()
    assert [v["versionInfo"]["id"] for v in found] == [gps["versionInfo"]["id"]]
    found = c.assets.list(search_query=f'path = "{folder}" AND "{F}LocationTaken" = "51.4,-0.08 5km"')
    assert [f.file_id for f in found] == [video["fileId"]]
    meta = c.files.metadata.get(video["fileId"])
    assert meta.duration is not None and meta.video_codec == "h264"
    s.stop()
