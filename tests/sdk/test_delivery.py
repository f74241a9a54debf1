"""Delivery of originals on {public_url}/media: headers, HEAD, Range, conditional GET,
active-content hardening, private files and signed URLs."""

import time
from email.utils import parsedate_to_datetime

import pytest

from conftest import KEY, corpus, fetch, make_png, raw_upload, sign_path, unique_png


@pytest.fixture(scope="module")
def png_file(client):
    data = make_png(50, 30, seed=777, text=b"delivery test payload " * 20)
    d, _ = raw_upload(client, file=data, file_name="img.png", folder="/deliver", use_unique_file_name=False)
    return d, data


def test_get_original(server, png_file):
    d, data = png_file
    assert d["url"].split("?")[0] == server.media + "/deliver/img.png"
    r = fetch(d["url"])
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"].split(";")[0] == "image/png"
    assert int(r.headers["content-length"]) == len(data)
    etag = r.headers.get("etag", "")
    assert etag.startswith('"') or etag.startswith('W/"'), f"ETag must be a quoted entity-tag: {etag!r}"
    assert etag.endswith('"')
    lm = r.headers.get("last-modified")
    assert lm and parsedate_to_datetime(lm).tzinfo is not None
    assert r.headers.get("cache-control")
    assert r.headers.get("accept-ranges", "bytes") == "bytes"


def test_plain_path_without_query(server, png_file):
    _, data = png_file
    r = fetch(server.media + "/deliver/img.png")
    assert r.status_code == 200 and r.content == data


def test_head(server, png_file):
    d, data = png_file
    g = fetch(server.media + "/deliver/img.png")
    h = fetch(server.media + "/deliver/img.png", method="HEAD")
    assert h.status_code == 200
    assert h.content == b""
    assert int(h.headers["content-length"]) == len(data)
    assert h.headers["content-type"] == g.headers["content-type"]
    assert h.headers["etag"] == g.headers["etag"]
    assert h.headers["last-modified"] == g.headers["last-modified"]


@pytest.mark.parametrize(
    "rng,start,end",
    [("bytes=10-19", 10, 19), ("bytes=0-0", 0, 0), ("bytes=100-", 100, None), ("bytes=-7", None, None)],
)
def test_range(server, png_file, rng, start, end):
    _, data = png_file
    n = len(data)
    if rng == "bytes=-7":
        start, end = n - 7, n - 1
    if end is None:
        end = n - 1
    r = fetch(server.media + "/deliver/img.png", headers={"Range": rng})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {start}-{end}/{n}"
    assert r.content == data[start : end + 1]
    assert int(r.headers["content-length"]) == end - start + 1


def test_large_file_full_and_ranges(server, client):
    import os

    data = os.urandom(3 * 1024 * 1024 + 17)
    d, _ = raw_upload(client, file=data, file_name="large.bin", folder="/deliver", use_unique_file_name=False)
    r = fetch(d["url"])
    assert r.status_code == 200 and r.content == data
    n = len(data)
    for start, end in [(2_500_000, 2_500_009), (n - 1, n - 1), (1_000_000, 2_999_999)]:
        r = fetch(d["url"], headers={"Range": f"bytes={start}-{end}"})
        assert r.status_code == 206
        assert r.headers["content-range"] == f"bytes {start}-{end}/{n}"
        assert r.content == data[start : end + 1]


def test_if_none_match_304(server, png_file):
    url = server.media + "/deliver/img.png"
    etag = fetch(url).headers["etag"]
    r = fetch(url, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers.get("etag") == etag
    r = fetch(url, headers={"If-None-Match": '"something-else"'})
    assert r.status_code == 200


def test_etag_changes_with_new_version(server, client):
    kw = dict(file_name="etag.png", folder="/deliver", use_unique_file_name=False)
    raw_upload(client, file=unique_png(), **kw)
    url = server.media + "/deliver/etag.png"
    e1 = fetch(url).headers["etag"]
    v2 = unique_png(9, 9)
    raw_upload(client, file=v2, **kw)
    r = fetch(url, headers={"If-None-Match": e1})
    assert r.status_code == 200
    assert r.content == v2
    assert r.headers["etag"] != e1


def test_unknown_path_404(server):
    assert fetch(server.media + "/deliver/no-such-file.png").status_code == 404
    assert fetch(server.media + "/no/such/folder/x.jpg").status_code == 404
    assert fetch(server.media + "/deliver").status_code == 404
    assert fetch(server.media + "/deliver/no-such-file.png", method="HEAD").status_code == 404


def test_path_traversal_not_served(server):
    for p in ["/media/%2e%2e/%2e%2e/etc/passwd", "/media/deliver/..%2F..%2Fetc%2Fpasswd", "/media/%2e%2e%2fhealth"]:
        r = fetch(server.url + p)
        assert r.status_code in (400, 404), (p, r.status_code)
        assert b"root:" not in r.content


# ---------------------------------------------------------------- active content


@pytest.mark.parametrize(
    "name,data,mime_prefix",
    [
        ("script.svg", None, "image/svg+xml"),
        ("page.html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", None),
        ("data.xml", b'<?xml version="1.0"?><root><script>alert(1)</script></root>', None),
    ],
)
def test_active_content_is_sandboxed(server, client, name, data, mime_prefix):
    if data is None:
        data = corpus("svg_script.svg").read_bytes()
    d, _ = raw_upload(client, file=data, file_name=name, folder="/active", use_unique_file_name=False)
    for method in ("GET", "HEAD"):
        r = fetch(d["url"], method=method)
        assert r.status_code == 200
        assert r.headers.get("x-content-type-options", "").lower() == "nosniff"
        csp = r.headers.get("content-security-policy", "")
        directives = [x.strip().split()[0] for x in csp.split(";") if x.strip()]
        assert "sandbox" in directives, csp
        if mime_prefix:
            assert r.headers["content-type"].startswith(mime_prefix)
    assert fetch(d["url"]).content == data


# ---------------------------------------------------------------- private files / signed URLs


@pytest.fixture(scope="module")
def private_file(client):
    data = make_png(7, 7, seed=999, text=b"private")
    d, _ = raw_upload(
        client,
        file=data,
        file_name="secret.png",
        folder="/priv",
        use_unique_file_name=False,
        is_private_file=True,
        response_fields=["isPrivateFile"],
    )
    assert d["isPrivateFile"] is True
    return d, data


def test_private_unsigned_401(server, private_file):
    d, data = private_file
    for url in (d["url"], server.media + "/priv/secret.png"):
        for method in ("GET", "HEAD"):
            r = fetch(url, method=method)
            assert r.status_code == 401, (url, method, r.status_code)
            assert data not in r.content


def test_private_signed_with_expiry_200(server, client, private_file):
    d, data = private_file
    url = client.helper.build_url(src=d["filePath"], url_endpoint=server.media, signed=True, expires_in=300)
    assert "ik-t=" in url and "ik-s=" in url
    r = fetch(url)
    assert r.status_code == 200, r.text
    assert r.content == data
    h = fetch(url, method="HEAD")
    assert h.status_code == 200 and int(h.headers["content-length"]) == len(data)


def test_private_signed_without_expiry_200(server, client, private_file):
    d, data = private_file
    url = client.helper.build_url(src=d["filePath"], url_endpoint=server.media, signed=True)
    assert "ik-t=" not in url and "ik-s=" in url
    r = fetch(url)
    assert r.status_code == 200 and r.content == data


def test_private_signed_with_query_parameters(server, client, private_file):
    # the query string is part of the signed string (api-reference §7.3, vector with ?v=1)
    d, data = private_file
    url = client.helper.build_url(
        src=d["filePath"], url_endpoint=server.media, signed=True, expires_in=300, query_parameters={"v": "1"}
    )
    assert "?v=1&ik-t=" in url
    r = fetch(url)
    assert r.status_code == 200 and r.content == data
    # changing the signed query invalidates the signature
    assert fetch(url.replace("?v=1&", "?v=2&")).status_code == 401


def test_private_signature_checked_on_raw_bytes(server, private_file):
    # Node SDK percent-encodes ',' (%2C) and Python does not; both sign what they emit
    d, data = private_file
    rel = d["filePath"].lstrip("/")
    exp = int(time.time()) + 300
    for q in ("x=a%2Cb", "x=a,b"):
        url = f"{server.media}{d['filePath']}?{q}&ik-t={exp}&ik-s={sign_path(KEY, rel + '?' + q, exp)}"
        r = fetch(url)
        assert r.status_code == 200, (q, r.status_code)
        assert r.content == data
    # a signature over the decoded form does not validate the encoded URL
    bad = f"{server.media}{d['filePath']}?x=a%2Cb&ik-t={exp}&ik-s={sign_path(KEY, rel + '?x=a,b', exp)}"
    assert fetch(bad).status_code == 401


def test_private_non_numeric_expiry_401(server, private_file):
    d, _ = private_file
    rel = d["filePath"].lstrip("/")
    url = f"{server.media}{d['filePath']}?ik-t=soon&ik-s={sign_path(KEY, rel, 'soon')}"
    assert fetch(url).status_code == 401


def test_private_signed_range(server, client, private_file):
    d, data = private_file
    url = client.helper.build_url(src=d["filePath"], url_endpoint=server.media, signed=True, expires_in=300)
    r = fetch(url, headers={"Range": "bytes=0-7"})
    assert r.status_code == 206 and r.content == data[:8]


def test_private_tampered_signature_401(server, client, private_file):
    d, _ = private_file
    url = client.helper.build_url(src=d["filePath"], url_endpoint=server.media, signed=True, expires_in=300)
    sig = url.rsplit("ik-s=", 1)[1]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert fetch(url.replace(sig, flipped)).status_code == 401
    assert fetch(url.replace(sig, sig.upper() + "00")).status_code == 401
    assert fetch(url.replace("ik-s=" + sig, "ik-s=")).status_code == 401


def test_private_tampered_expiry_401(server, client, private_file):
    d, _ = private_file
    url = client.helper.build_url(src=d["filePath"], url_endpoint=server.media, signed=True, expires_in=300)
    t = url.split("ik-t=")[1].split("&")[0]
    assert fetch(url.replace(f"ik-t={t}", f"ik-t={int(t) + 1000}")).status_code == 401
    # dropping ik-t changes the signed string (9999999999 is used instead)
    assert fetch(url.replace(f"ik-t={t}&", "")).status_code == 401


def test_private_expired_401(server, private_file):
    d, _ = private_file
    past = int(time.time()) - 60
    rel = d["filePath"].lstrip("/")
    sig = sign_path(KEY, rel, past)  # correctly signed, but expired
    url = f"{server.media}{d['filePath']}?ik-t={past}&ik-s={sig}"
    assert fetch(url).status_code == 401
    # same construction with a future expiry is accepted (proves the signature itself is right)
    fut = int(time.time()) + 120
    url = f"{server.media}{d['filePath']}?ik-t={fut}&ik-s={sign_path(KEY, rel, fut)}"
    assert fetch(url).status_code == 200


def test_private_signed_for_other_path_401(server, client, private_file):
    d, _ = private_file
    other = client.helper.build_url(src="/priv/other.png", url_endpoint=server.media, signed=True, expires_in=300)
    sig_part = other.split("?", 1)[1]
    assert fetch(f"{server.media}{d['filePath']}?{sig_part}").status_code == 401


def test_private_signed_with_wrong_key_401(server, private_file):
    from imagekitio import ImageKit

    d, _ = private_file
    wrong = ImageKit(private_key="private_not_the_key", base_url=server.url, max_retries=0)
    url = wrong.helper.build_url(src=d["filePath"], url_endpoint=server.media, signed=True, expires_in=300)
    assert fetch(url).status_code == 401


def test_public_file_signed_url_also_works(server, client, png_file):
    d, data = png_file
    url = client.helper.build_url(src=d["filePath"], url_endpoint=server.media, signed=True, expires_in=300)
    r = fetch(url)
    assert r.status_code == 200 and r.content == data


def test_private_flag_in_details(client, private_file):
    d, _ = private_file
    assert client.files.get(d["fileId"]).is_private_file is True
