"""`/v1/named-transformations` through the SDK's `named_transformations` resource, and
`tr:n-<name>` URLs that follow the definitions (docs/delivery.md)."""

from __future__ import annotations

import subprocess
import uuid

import httpx
import pytest

import imagekitio
from conftest import assert_api_error, raw_upload
from test_transform import Image, quad_png


@pytest.fixture(scope="module")
def picture(server, client, tmp_path_factory):
    folder = f"/named-{uuid.uuid4().hex[:8]}"
    raw_upload(client, file=quad_png(), file_name="q.png", folder=folder, use_unique_file_name=False)
    raw_upload(client, file=quad_png(), file_name="secret.png", folder=folder, use_unique_file_name=False, is_private_file=True)
    return folder, tmp_path_factory.mktemp("named")


def size_of(server, folder, tmp, tr: str, name: str = "q.png"):
    r = httpx.get(f"{server.media}/tr:{tr}{folder}/{name}", timeout=60)
    return r, (Image(r.content, tmp).size if r.status_code == 200 else None)


def test_the_thumbnail_transformation_exists_by_default(client):
    listed = client.named_transformations.list()
    thumb = [n for n in listed if n.name == "ik_ml_thumbnail"]
    assert len(thumb) == 1 and thumb[0].transformation == "w-300,h-300,c-at_max" and thumb[0].enabled
    with pytest.raises(imagekitio.BadRequestError) as e:
        client.named_transformations.delete(thumb[0].id)
    assert "cannot be deleted" in assert_api_error(e, imagekitio.BadRequestError, 400)["message"]


def test_create_use_change_disable_rename_delete(server, client, picture):
    folder, tmp = picture
    name = f"sq_{uuid.uuid4().hex[:6]}"
    created = client.named_transformations.create(name=name, transformation="w-100,h-100")
    assert created.name == name and created.enabled and created.transformation == "w-100,h-100"
    assert client.named_transformations.get(created.id).name == name
    assert name in {n.name for n in client.named_transformations.list()}

    r, size = size_of(server, folder, tmp, f"n-{name}")
    assert r.status_code == 200 and size == (100, 100)
    # steps around it apply too
    assert size_of(server, folder, tmp, f"n-{name}:rt-90,w-40")[1] == (40, 40)
    assert size_of(server, folder, tmp, f"w-200:n-{name}")[1] == (100, 100)

    # the same URL follows a new definition
    client.named_transformations.update(created.id, transformation="w-50,h-20")
    assert size_of(server, folder, tmp, f"n-{name}")[1] == (50, 20)

    client.named_transformations.update(created.id, enabled=False)
    r, _ = size_of(server, folder, tmp, f"n-{name}")
    assert r.status_code == 400 and f"`n-{name}`" in r.json()["message"] and "disabled" in r.json()["message"]
    client.named_transformations.update(created.id, enabled=True)

    renamed = f"{name}_v2"
    client.named_transformations.update(created.id, name=renamed)
    assert size_of(server, folder, tmp, f"n-{name}")[0].status_code == 400
    assert size_of(server, folder, tmp, f"n-{renamed}")[1] == (50, 20)

    # named transformations load private files without a signature; others need one
    assert size_of(server, folder, tmp, f"n-{renamed}", "secret.png")[1] == (50, 20)
    assert size_of(server, folder, tmp, "w-50,h-20", "secret.png")[0].status_code == 401

    assert client.named_transformations.delete(created.id) is None
    with pytest.raises(imagekitio.NotFoundError):
        client.named_transformations.get(created.id)
    r, _ = size_of(server, folder, tmp, f"n-{renamed}")
    assert r.status_code == 400 and "no named transformation" in r.json()["message"]


@pytest.mark.parametrize(
    "name,transformation,says",
    [
        ("bad-name", "w-10", "letters, digits"),
        ("", "w-10", "letters, digits"),
        ("ok_name", "w-abc", "`w-abc`"),
        ("ok_name", "zz-1", "`zz-1`"),
        ("ok_name", "n-ik_ml_thumbnail", "cannot use another"),
    ],
)
def test_invalid_definitions_are_400(client, name, transformation, says):
    with pytest.raises(imagekitio.BadRequestError) as e:
        client.named_transformations.create(name=name, transformation=transformation)
    assert says in assert_api_error(e, imagekitio.BadRequestError, 400)["message"]


def test_names_are_unique_and_case_sensitive(client):
    name = f"dup_{uuid.uuid4().hex[:6]}"
    client.named_transformations.create(name=name, transformation="w-10")
    with pytest.raises(imagekitio.BadRequestError) as e:
        client.named_transformations.create(name=name, transformation="w-20")
    assert "already exists" in assert_api_error(e, imagekitio.BadRequestError, 400)["message"]
    upper = client.named_transformations.create(name=name.upper(), transformation="w-20")
    assert upper.name == name.upper()
    other = client.named_transformations.create(name=f"{name}_b", transformation="w-30")
    with pytest.raises(imagekitio.BadRequestError):
        client.named_transformations.update(other.id, name=name)
    with pytest.raises(imagekitio.NotFoundError):
        client.named_transformations.update("0123456789abcdef01234567", enabled=False)


def test_thumbnails_follow_the_thumbnail_definition(server, client, picture):
    folder, tmp = picture
    thumb = next(n for n in client.named_transformations.list() if n.name == "ik_ml_thumbnail")
    try:
        client.named_transformations.update(thumb.id, transformation="w-64,h-64,c-force")
        d, _ = raw_upload(client, file=quad_png(), file_name="t.png", folder=folder, use_unique_file_name=False)
        r = httpx.get(d["thumbnailUrl"], timeout=60)
        assert r.status_code == 200 and Image(r.content, tmp).size == (64, 64)
        with pytest.raises(imagekitio.BadRequestError):
            client.named_transformations.update(thumb.id, name="renamed_thumb")
    finally:
        client.named_transformations.update(thumb.id, transformation="w-300,h-300,c-at_max")
