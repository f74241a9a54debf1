"""Custom metadata fields and values (docs/custom-metadata.md) through the SDK.

Layout:
- fields: `client.custom_metadata_fields` create / list / update / delete and every schema rule;
- values: `customMetadata` on uploads, updates, file objects and listings;
- defaults and required fields: every test gets a server of its own (`fresh`), because a field
  with a `defaultValue` applies to every upload on its server;
- search: `"customMetadata.<name>"` in a `searchQuery`, on a server with the in-memory search
  index and on one without it (KURA_SEARCH_INDEX=0, answered by SQL). conftest drops KURA_*
  variables of the test process, so the two servers are started with the variable explicitly.

Everything but the last two parts shares the module's server (conftest's `server`/`client`);
those tests create fields with unique names and never with a default, so they do not see each
other. The SDK maps snake_case schema keys to camelCase (`min_value` → `minValue`) and passes
camelCase keys through unchanged; most tests write the wire names, as the doc does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional

import httpx
import pytest

import imagekitio
from conftest import (
    HEX24,
    KEY,
    KuraServer,
    assert_error_body,
    raw_list,
    raw_upload,
    unique_png,
)

MISSING_ID = "0123456789abcdef01234567"
INVALID_CM = "Invalid custom metadata."
UNKNOWN_NAME = "no custom metadata field has this name."
NO_SUCH_FIELD = "No such custom metadata field exists."
NAME_EXISTS = "A custom metadata field with this name already exists."
LABEL_EXISTS = "A custom metadata field with this label already exists."
BAD_SCHEMA = "Invalid schema object."
DELETED_UPDATE = "Cannot update a deleted custom metadata fields."
TYPES = ["Text", "Textarea", "Number", "Date", "Boolean", "SingleSelect", "MultiSelect"]


# ================================================================ helpers


def uid(prefix: str = "f") -> str:
    """A field name no other test uses (letters, digits and `_` only)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def canon(v: Any) -> Any:
    """A JSON value in a form where `True` is not `1` and `30` is not `"30"` (but 30 == 30.0).

    Arrays compare as multisets: the doc does not say in which order a MultiSelect's options
    come back, only that duplicates collapse."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        return ("num", float(v))
    if isinstance(v, str):
        return ("str", v)
    if v is None:
        return ("null",)
    if isinstance(v, list):
        return ("list", tuple(sorted(canon(x) for x in v)))
    if isinstance(v, dict):
        return ("dict", tuple(sorted((k, canon(x)) for k, x in v.items())))
    raise TypeError(f"not a JSON value: {v!r}")


def assert_same(actual: Any, expected: Any, what: str = "") -> None:
    assert canon(actual) == canon(expected), f"{what}: {actual!r} != {expected!r}"


def refused(call: Callable[[], Any], status: int = 400, message: Optional[str] = None, prefix: Optional[str] = None) -> dict:
    """Run an SDK call that must fail with `status`; check ImageKit's error body; return it."""
    cls = {400: imagekitio.BadRequestError, 404: imagekitio.NotFoundError}[status]
    try:
        result = call()
    except imagekitio.APIStatusError as e:
        assert e.status_code == status, f"expected {status}, got {e.status_code}: {e.body!r}"
        assert isinstance(e, cls), type(e)
        assert_error_body(e.body)
        msg = e.body["message"]
        if message is not None:
            assert msg == message, f"message {msg!r} != {message!r}"
        if prefix is not None:
            assert msg.startswith(prefix), f"message {msg!r} does not start with {prefix!r}"
        return e.body
    pytest.fail(f"expected a {status}, but the call succeeded: {result!r}")


def mk(client, type_: str, name: Optional[str] = None, label: Optional[str] = None, description: Optional[str] = None, **rules) -> dict:
    """Create a field (schema rules as keyword arguments, wire names); assert 201; raw JSON."""
    name = name or uid(type_.lower())
    kw = {} if description is None else {"description": description}
    r = client.custom_metadata_fields.with_raw_response.create(
        name=name, label=label or f"Label {name}", schema={"type": type_, **rules}, **kw
    )
    assert r.http_response.status_code == 201, r.http_response.text
    body = r.http_response.json()
    model = r.parse()
    assert model.id == body["id"] and model.schema_.type == type_
    return body


def refused_create(client, schema: Any, name: Optional[str] = None, label: Optional[str] = None, **expect) -> dict:
    """A create that must be refused (400); a field created by mistake is deleted again, so a
    wrongly accepted default cannot leak into other tests."""
    made = []
    extra = expect.pop("kw", {})

    def call():
        f = client.custom_metadata_fields.create(
            name=name if name is not None else uid("bad"),
            label=label if label is not None else uid("Bad label"),
            schema=schema,
            **extra,
        )
        made.append(f)
        return f

    try:
        return refused(call, 400, **expect)
    finally:
        for f in made:
            try:
                client.custom_metadata_fields.delete(f.id)
            except imagekitio.APIError:
                pass


def fields_list(client, **kw) -> List[dict]:
    r = client.custom_metadata_fields.with_raw_response.list(**kw)
    assert r.http_response.status_code == 200, r.http_response.text
    data = r.http_response.json()
    assert isinstance(data, list), data
    r.parse()
    return data


def field_by_id(client, field_id: str, include_deleted: bool = False) -> Optional[dict]:
    found = [f for f in fields_list(client, include_deleted=include_deleted) if f["id"] == field_id]
    assert len(found) <= 1, found
    return found[0] if found else None


def upload(client, folder: str, cm: Optional[dict] = None, name: str = "f.png", **kw) -> dict:
    """Upload through the SDK (responseFields=customMetadata); the raw response JSON."""
    if cm is not None:
        kw["custom_metadata"] = cm
    d, _ = raw_upload(
        client,
        file=unique_png(),
        file_name=name,
        folder=folder,
        use_unique_file_name=False,
        response_fields=["customMetadata"],
        **kw,
    )
    return d


def details(client, file_id: str) -> dict:
    """GET /v1/files/{id}/details as raw JSON (the SDK's model must agree on customMetadata)."""
    r = client.files.with_raw_response.get(file_id)
    assert r.http_response.status_code == 200, r.http_response.text
    raw = r.http_response.json()
    assert isinstance(raw.get("customMetadata"), dict), raw
    assert_same(r.parse().custom_metadata, raw["customMetadata"], "SDK model")
    return raw


def cm_of(client, file_id: str) -> dict:
    return details(client, file_id)["customMetadata"]


def update(client, file_id: str, **kw) -> dict:
    r = client.files.with_raw_response.update(file_id, **kw)
    assert r.http_response.status_code == 200, r.http_response.text
    return r.http_response.json()


def listed(client, folder: str) -> List[dict]:
    return raw_list(client, path=folder)[0]


def refused_values(call: Callable[[], Any], *names: str) -> dict:
    """400 `Invalid custom metadata. …` with `errors` naming exactly `names`."""
    body = refused(call, 400, prefix=INVALID_CM)
    errors = body.get("errors")
    assert isinstance(errors, dict), body
    assert sorted(errors) == sorted(names), body
    for n in names:
        assert isinstance(errors[n], str) and errors[n], body
        assert f"{n}: " in body["message"], body
    return body


def check_each(cases, check: Callable[[Any], None]) -> None:
    """Run `check` on every case and report all that fail, not just the first."""
    failures = []
    for case in cases:
        try:
            check(case)
        except (AssertionError, pytest.fail.Exception) as e:
            failures.append(f"{case!r}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    assert not failures, "\n".join(failures)


def iso_ms(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@pytest.fixture
def fresh(new_server):
    """A client of a server of its own, for fields with defaults."""
    return new_server().client()


# ================================================================ fields: create

CREATE_CASES = {
    "Text": {"minLength": 2, "maxLength": 50},
    "Textarea": {"maxLength": 500, "isValueRequired": False},
    "Number": {"minValue": 0, "maxValue": 10000},
    "Date": {"minValue": "2020-01-01T00:00:00.000Z", "maxValue": "2030-12-31T00:00:00.000Z"},
    "Boolean": {"isValueRequired": False},
    "SingleSelect": {"selectOptions": ["small", 30, True, 2.5]},
    "MultiSelect": {"selectOptions": ["red", "green", "blue"]},
}


@pytest.mark.parametrize("type_", TYPES)
def test_create_each_type(client, type_):
    rules = CREATE_CASES[type_]
    name = uid(type_.lower())
    f = mk(client, type_, name=name, label=f"The {name}", **rules)
    assert set(f) == {"id", "name", "label", "schema"}, f"no description unless set: {f}"
    assert HEX24.match(f["id"]), f["id"]
    assert (f["name"], f["label"]) == (name, f"The {name}")
    assert_same(f["schema"], {"type": type_, **rules}, "schema holds type and the properties set")
    assert f == field_by_id(client, f["id"])


def test_create_snake_case_schema_and_description(client):
    """The SDK's aliases: min_value → minValue etc.; `description` present once set."""
    name = uid("price")
    r = client.custom_metadata_fields.with_raw_response.create(
        name=name,
        label=f"Price {name}",
        description="Retail price in EUR",
        schema={"type": "Number", "min_value": 0, "max_value": 10000, "is_value_required": False},
    )
    assert r.http_response.status_code == 201
    f = r.http_response.json()
    assert f["description"] == "Retail price in EUR"
    assert_same(f["schema"], {"type": "Number", "minValue": 0, "maxValue": 10000, "isValueRequired": False})
    model = r.parse()
    assert (model.schema_.min_value, model.schema_.max_value, model.description) == (0, 10000, "Retail price in EUR")
    assert field_by_id(client, f["id"]) == f


def test_create_name_label_description_at_their_limits(client):
    name = ("Az09_-" + uuid.uuid4().hex).ljust(100, "x")
    label = ("L" + uuid.uuid4().hex).ljust(200, "é")
    f = mk(client, "Text", name=name, label=label, description="d" * 500)
    assert (f["name"], f["label"], f["description"]) == (name, label, "d" * 500)


VALID_SCHEMAS = [
    {"type": "Number", "minValue": 5, "maxValue": 5},
    {"type": "Number", "minValue": -5.5, "maxValue": 1e9},
    {"type": "Date", "minValue": "2024-01-01T00:00:00.000Z", "maxValue": "2024-01-01T00:00:00.000Z"},
    {"type": "Text", "minLength": 0, "maxLength": 0},
    {"type": "Textarea", "minLength": 3, "maxLength": 3},
    {"type": "SingleSelect", "selectOptions": [f"o{i}" for i in range(100)]},
    {"type": "MultiSelect", "selectOptions": ["a", 1, True, 2.5]},
    {"type": "SingleSelect", "selectOptions": [False]},
]


@pytest.mark.parametrize("schema", VALID_SCHEMAS, ids=lambda s: f"{s['type']}-{'-'.join(k for k in s if k != 'type')}")
def test_create_boundary_schemas_accepted(client, schema):
    f = mk(client, schema["type"], **{k: v for k, v in schema.items() if k != "type"})
    assert_same(f["schema"], schema)


def test_duplicate_name_and_label_refused(client):
    f = mk(client, "Text")
    refused_create(client, {"type": "Text"}, name=f["name"], message=NAME_EXISTS)
    refused_create(client, {"type": "Number"}, name=f["name"], message=NAME_EXISTS)
    refused_create(client, {"type": "Text"}, label=f["label"], message=LABEL_EXISTS)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"label": "x", "schema": {"type": "Text"}}, "Missing name parameter."),
        ({"name": "x", "schema": {"type": "Text"}}, "Missing label parameter."),
        ({"name": "x", "label": "x"}, "Missing schema parameter."),
    ],
    ids=["name", "label", "schema"],
)
def test_create_missing_parameter(server, body, message):
    """The SDK insists on all three, so these go over plain HTTP."""
    body = {k: (uid(v) if k in ("name", "label") else v) for k, v in body.items()}
    r = httpx.post(server.url + "/v1/customMetadataFields", json=body, auth=(KEY, ""), timeout=30)
    assert r.status_code == 400, r.text
    assert_error_body(r.json(), message)


@pytest.mark.parametrize(
    "name",
    ["has space", "dot.name", "slash/name", 'quo"te', "colon:x", "x" * 101, "_internal_original_created_datetime"],
    ids=["space", "dot", "slash", "quote", "colon", "101-chars", "reserved"],
)
def test_create_invalid_name(client, name):
    refused_create(client, {"type": "Text"}, name=name, prefix="Invalid name.")


def test_create_invalid_label_and_description(client):
    refused_create(client, {"type": "Text"}, label="L" * 201, prefix="Invalid label.")
    refused_create(client, {"type": "Text"}, kw={"description": "d" * 501}, prefix="Invalid description.")


INVALID_SCHEMAS = {
    "type": [
        {},
        {"type": "Color"},
        "Text",
    ],
    "select-options": [
        {"type": "MultiSelect"},
        {"type": "SingleSelect", "selectOptions": []},
        {"type": "SingleSelect", "selectOptions": [f"o{i}" for i in range(101)]},
        {"type": "MultiSelect", "selectOptions": ["a", "b", "a"]},
        {"type": "SingleSelect", "selectOptions": ["a", None]},
        {"type": "SingleSelect", "selectOptions": ["a", ["b"]]},
        {"type": "MultiSelect", "selectOptions": [{"a": 1}]},
        {"type": "SingleSelect", "selectOptions": "a,b"},
    ],
    "property-for-another-type": [
        {"type": "Text", "selectOptions": ["a"]},
        {"type": "Text", "minValue": 1},
        {"type": "Number", "minLength": 1},
        {"type": "Boolean", "maxValue": 1},
        {"type": "Date", "maxLength": 3},
        {"type": "SingleSelect", "selectOptions": [1, 2], "minValue": 0},
    ],
    "property-of-wrong-type": [
        {"type": "Number", "minValue": "5"},
        {"type": "Number", "maxValue": True},
        {"type": "Date", "minValue": 5},
        {"type": "Date", "minValue": "someday"},
        {"type": "Text", "minLength": -1},
        {"type": "Textarea", "maxLength": 2.5},
        {"type": "Text", "maxLength": "10"},
        {"type": "Text", "isValueRequired": "yes"},
    ],
    "min-above-max": [
        {"type": "Number", "minValue": 10, "maxValue": 5},
        {"type": "Date", "minValue": "2025-01-02", "maxValue": "2025-01-01T23:59:59Z"},
        {"type": "Text", "minLength": 5, "maxLength": 2},
    ],
    "required-without-default": [
        {"type": "Number", "isValueRequired": True},
        {"type": "SingleSelect", "selectOptions": ["a"], "isValueRequired": True},
    ],
    "default-not-a-valid-value": [
        {"type": "Number", "defaultValue": "5"},
        {"type": "Number", "maxValue": 10, "defaultValue": 11},
        {"type": "SingleSelect", "selectOptions": ["a", "b"], "defaultValue": "c"},
        {"type": "SingleSelect", "selectOptions": [30], "defaultValue": "30"},
        {"type": "MultiSelect", "selectOptions": ["a", "b"], "defaultValue": "a"},
        {"type": "MultiSelect", "selectOptions": ["a", "b"], "defaultValue": ["a", "c"]},
        {"type": "Text", "maxLength": 3, "defaultValue": "long"},
        {"type": "Boolean", "defaultValue": "true"},
        {"type": "Date", "defaultValue": "tomorrow-ish"},
        {"type": "Date", "minValue": "2024-01-01", "defaultValue": "2023-12-31"},
    ],
    "unknown-property": [
        {"type": "Text", "colour": "red"},
        {"type": "Number", "min": 1},
    ],
}


@pytest.mark.parametrize("rule", list(INVALID_SCHEMAS))
def test_create_invalid_schema(client, rule):
    check_each(INVALID_SCHEMAS[rule], lambda schema: refused_create(client, schema, prefix=BAD_SCHEMA))


def test_create_singleselect_without_options_message(client):
    refused_create(
        client,
        {"type": "SingleSelect"},
        message="Invalid schema object. selectOptions is required for SingleSelect fields.",
    )


# ================================================================ fields: list


def test_list_in_creation_order_and_include_deleted(client):
    made = [mk(client, t) for t in ("Text", "Number", "Boolean")]
    ids = [f["id"] for f in made]

    def order(fields):
        return [f["id"] for f in fields if f["id"] in ids]

    listed_fields = fields_list(client)
    assert order(listed_fields) == ids
    assert [f for f in listed_fields if f["id"] in ids] == made
    assert order(fields_list(client, include_deleted=False)) == ids

    client.custom_metadata_fields.delete(ids[1])
    assert order(fields_list(client)) == [ids[0], ids[2]]
    assert order(fields_list(client, include_deleted=False)) == [ids[0], ids[2]]
    with_deleted = fields_list(client, include_deleted=True)
    assert order(with_deleted) == ids
    (gone,) = [f for f in with_deleted if f["id"] == ids[1]]
    assert (gone["name"], gone["label"]) == (made[1]["name"], made[1]["label"])
    assert_same(gone["schema"], made[1]["schema"])


def test_list_folder_path_changes_nothing(client):
    mk(client, "Text")
    everything = fields_list(client)
    assert everything, "the module has fields by now"
    assert fields_list(client, folder_path="/some/where/else") == everything
    assert fields_list(client, folder_path="/") == everything


# ================================================================ fields: update


def patch_field(client, field_id: str, **kw) -> dict:
    r = client.custom_metadata_fields.with_raw_response.update(field_id, **kw)
    assert r.http_response.status_code == 200, r.http_response.text
    body = r.http_response.json()
    r.parse()
    assert body == field_by_id(client, field_id), "the list shows what the update answered"
    return body


def test_update_label(client):
    f = mk(client, "Number", minValue=1)
    new_label = uid("New label")
    g = patch_field(client, f["id"], label=new_label)
    assert g == {**f, "label": new_label}


def test_update_schema_merges_and_null_removes(client):
    f = mk(client, "Number", minValue=0, maxValue=100)
    g = patch_field(client, f["id"], schema={"maxValue": 50})
    assert_same(g["schema"], {"type": "Number", "minValue": 0, "maxValue": 50})
    g = patch_field(client, f["id"], schema={"min_value": None, "is_value_required": False})  # SDK aliases
    assert_same(g["schema"], {"type": "Number", "maxValue": 50, "isValueRequired": False})
    assert (g["name"], g["label"]) == (f["name"], f["label"])
    t = mk(client, "Text", minLength=1, maxLength=9)
    assert_same(patch_field(client, t["id"], schema={"minLength": None, "maxLength": None})["schema"], {"type": "Text"})


def test_update_same_type_ignored_other_type_refused(client):
    f = mk(client, "Number", maxValue=100)
    g = patch_field(client, f["id"], schema={"type": "Number", "maxValue": 60})
    assert_same(g["schema"], {"type": "Number", "maxValue": 60})
    refused(lambda: client.custom_metadata_fields.update(f["id"], schema={"type": "Text"}), prefix=BAD_SCHEMA)
    refused(lambda: client.custom_metadata_fields.update(f["id"], schema={"type": "Text", "maxLength": 5}), prefix=BAD_SCHEMA)
    assert_same(field_by_id(client, f["id"])["schema"], {"type": "Number", "maxValue": 60})


def test_update_description_set_and_clear(client):
    f = mk(client, "Text", description="first")
    g = patch_field(client, f["id"], description="second")
    assert g == {**f, "description": "second"}
    g = patch_field(client, f["id"], description="")
    assert "description" not in g, g
    assert g == {k: v for k, v in f.items() if k != "description"}


@pytest.mark.parametrize(
    "type_, rules, change",
    [
        ("Number", {"minValue": 0, "maxValue": 100}, {"minValue": 200}),
        ("Text", {"maxLength": 5}, {"minLength": 6}),
        ("SingleSelect", {"selectOptions": ["a"]}, {"selectOptions": None}),
        ("MultiSelect", {"selectOptions": ["a", "b"]}, {"selectOptions": []}),
        ("Number", {}, {"isValueRequired": True}),
        ("Number", {"maxValue": 10}, {"defaultValue": 11}),
        ("Text", {}, {"minValue": 1}),
        ("Date", {}, {"unknownRule": 1}),
    ],
    ids=["min-above-max", "minLength-above-max", "remove-options", "empty-options", "required-no-default",
         "default-out-of-range", "wrong-property", "unknown-property"],
)
def test_update_merged_schema_must_be_valid(client, type_, rules, change):
    f = mk(client, type_, **rules)
    refused(lambda: client.custom_metadata_fields.update(f["id"], schema=change), prefix=BAD_SCHEMA)
    assert field_by_id(client, f["id"]) == f, "a refused update changes nothing"


def test_update_needs_label_or_schema(client):
    f = mk(client, "Text")
    refused(lambda: client.custom_metadata_fields.update(f["id"]), message="Either label or schema should be provided.")


def test_update_name_refused(client):
    f = mk(client, "Text")
    refused(
        lambda: client.custom_metadata_fields.update(f["id"], label=uid("L"), extra_body={"name": uid("other")}),
        message="Name cannot be updated.",
    )
    assert field_by_id(client, f["id"]) == f


def test_update_to_a_taken_label_refused(client):
    a, b = mk(client, "Text"), mk(client, "Text")
    refused(lambda: client.custom_metadata_fields.update(b["id"], label=a["label"]), message=LABEL_EXISTS)
    assert field_by_id(client, b["id"]) == b


def test_update_keeping_own_label_and_invalid_label_or_description(client):
    f = mk(client, "Text", description="x")
    assert patch_field(client, f["id"], label=f["label"]) == f, "a field's own label is no conflict"
    refused(lambda: client.custom_metadata_fields.update(f["id"], label="L" * 201), prefix="Invalid label.")
    refused(lambda: client.custom_metadata_fields.update(f["id"], description="d" * 501), prefix="Invalid description.")
    assert field_by_id(client, f["id"]) == f


def test_update_bad_and_unknown_id(client):
    refused(
        lambda: client.custom_metadata_fields.update("not-an-id", label=uid("L")),
        message="Your request contains invalid ID parameter.",
    )
    refused(lambda: client.custom_metadata_fields.update(MISSING_ID, label=uid("L")), 404, message=NO_SUCH_FIELD)


# ================================================================ fields: delete


def test_delete_lifecycle(client):
    f = mk(client, "Number")
    r = client.custom_metadata_fields.with_raw_response.delete(f["id"])
    assert r.http_response.status_code == 204, r.http_response.text
    assert field_by_id(client, f["id"]) is None
    assert field_by_id(client, f["id"], include_deleted=True)["name"] == f["name"]
    refused(lambda: client.custom_metadata_fields.delete(f["id"]), 404, message=NO_SUCH_FIELD)
    refused(lambda: client.custom_metadata_fields.update(f["id"], label=uid("L")), message=DELETED_UPDATE)
    refused(lambda: client.custom_metadata_fields.update(f["id"], schema={"maxValue": 3}), message=DELETED_UPDATE)


def test_delete_unknown_id_404(client):
    refused(lambda: client.custom_metadata_fields.delete(MISSING_ID), 404, message=NO_SUCH_FIELD)


def test_name_never_reused_label_reused_after_delete(client):
    f = mk(client, "Text")
    client.custom_metadata_fields.delete(f["id"])
    refused_create(client, {"type": "Text"}, name=f["name"], message=NAME_EXISTS)
    again = mk(client, "Number", label=f["label"])  # labels are unique among live fields only
    assert again["label"] == f["label"] and again["id"] != f["id"]
    other = mk(client, "Text")
    client.custom_metadata_fields.delete(again["id"])
    assert patch_field(client, other["id"], label=f["label"])["label"] == f["label"]


# ================================================================ values


@dataclass
class Fields:
    text: str  # Text 2..5 characters
    area: str  # Textarea up to 10
    num: str  # Number 0..100
    date: str  # Date 2020-01-01 .. 2030-01-01
    flag: str  # Boolean
    size: str  # SingleSelect ["S", "M", 30, true]
    colors: str  # MultiSelect ["red", "green", "blue", 7]


@pytest.fixture(scope="module")
def F(client) -> Fields:
    return Fields(
        text=mk(client, "Text", minLength=2, maxLength=5)["name"],
        area=mk(client, "Textarea", maxLength=10)["name"],
        num=mk(client, "Number", minValue=0, maxValue=100)["name"],
        date=mk(client, "Date", minValue="2020-01-01T00:00:00.000Z", maxValue="2030-01-01T00:00:00.000Z")["name"],
        flag=mk(client, "Boolean")["name"],
        size=mk(client, "SingleSelect", selectOptions=["S", "M", 30, True])["name"],
        colors=mk(client, "MultiSelect", selectOptions=["red", "green", "blue", 7])["name"],
    )


VALID_VALUES = {  # field -> [(given, stored)]
    "text": [("abc", "abc"), ("ab", "ab"), ("héllo", "héllo")],  # héllo: 5 characters, 6 bytes
    "area": [("line1\nl2", "line1\nl2"), ("0123456789", "0123456789")],
    "num": [(0, 0), (100, 100), (42.5, 42.5)],
    "date": [
        ("2024-05-06", "2024-05-06T00:00:00.000Z"),
        ("2024-05-06T10:20:30Z", "2024-05-06T10:20:30.000Z"),
        ("2024-05-06T12:20:30.5+02:00", "2024-05-06T10:20:30.500Z"),
        ("2020-01-01", "2020-01-01T00:00:00.000Z"),
        ("2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z"),
    ],
    "flag": [(True, True), (False, False)],
    "size": [("M", "M"), (30, 30), (True, True)],
    "colors": [(["red", "blue"], ["red", "blue"]), ([7, "green"], [7, "green"]), (["red", "red", "blue"], ["red", "blue"])],
}


@pytest.mark.parametrize("key", list(VALID_VALUES))
def test_upload_valid_values(client, F, key):
    name = getattr(F, key)

    def check(case):
        given, stored = case
        top = f"/cmf-{uuid.uuid4().hex[:10]}"
        up = upload(client, top, {name: given})
        assert_same(up["customMetadata"], {name: stored}, "upload response")
        assert_same(cm_of(client, up["fileId"]), {name: stored}, "details")
        (item,) = listed(client, top)
        assert_same(item["customMetadata"], {name: stored}, "list item")

    check_each(VALID_VALUES[key], check)


def test_upload_every_type_at_once(client, F, folder):
    given = {F.text: "hey", F.area: "long text", F.num: 7, F.date: "2021-02-03T04:05:06.789Z",
             F.flag: False, F.size: "S", F.colors: ["green"]}
    up = upload(client, folder, given)
    assert_same(up["customMetadata"], given)
    assert_same(cm_of(client, up["fileId"]), given)


def test_error_body_matches_doc_example(client, F, folder):
    body = refused_values(lambda: client.files.upload(file=unique_png(), file_name="x.png", folder=folder,
                                                      custom_metadata={F.num: 101}), F.num)
    assert body["errors"] == {F.num: "must be at most 100."}
    assert body["message"] == f"Invalid custom metadata. {F.num}: must be at most 100."


INVALID_VALUES = {  # field -> values it refuses
    "text": [5, "a", "", "abcdef"],
    "area": ["0123456789X", ["a"]],
    "num": ["5", True, -1, 100.5],
    "date": ["yesterday", 20240101, "2019-12-31T23:59:59.999Z", "2030-01-01T00:00:00.001Z"],
    "flag": ["true", 1],
    "size": ["XL", "30", 31, "true", ["S"]],
    "colors": ["red", ["red", "pink"], ["7"], [["red"]]],
}


@pytest.mark.parametrize("key", list(INVALID_VALUES))
def test_upload_invalid_value_refused_and_nothing_stored(client, F, folder, key):
    name = getattr(F, key)

    def check(value):
        refused_values(
            lambda: client.files.upload(file=unique_png(), file_name="x.png", folder=folder,
                                        custom_metadata={name: value}),
            name,
        )
        assert listed(client, folder) == [], "a refused upload stores nothing"

    check_each(INVALID_VALUES[key], check)


def test_upload_unknown_name_and_several_errors(client, F, folder):
    ghost = uid("ghost")
    body = refused_values(
        lambda: client.files.upload(file=unique_png(), file_name="x.png", folder=folder,
                                    custom_metadata={ghost: 1, F.num: 5}),
        ghost,
    )
    assert body["errors"][ghost] == UNKNOWN_NAME
    assert body["message"] == f"Invalid custom metadata. {ghost}: {UNKNOWN_NAME}"
    body = refused_values(
        lambda: client.files.upload(file=unique_png(), file_name="x.png", folder=folder,
                                    custom_metadata={F.num: -1, F.text: 5, ghost: "x", F.flag: True}),
        F.num, F.text, ghost,
    )
    assert body["errors"][ghost] == UNKNOWN_NAME
    assert listed(client, folder) == []


def test_refused_new_version_changes_nothing(client, F, folder):
    v1 = upload(client, folder, {F.num: 5}, name="v.png")
    before = details(client, v1["fileId"])
    refused_values(
        lambda: client.files.upload(file=unique_png(), file_name="v.png", folder=folder,
                                    use_unique_file_name=False, custom_metadata={F.num: 500}),
        F.num,
    )
    after = details(client, v1["fileId"])
    assert after == before
    assert after["versionInfo"]["name"] == "Version 1"
    assert raw_list(client, path=folder, type="file-version")[0] == []


def test_update_merges_and_null_unsets(client, F, folder):
    up = upload(client, folder, {F.text: "abc", F.num: 5})
    fid = up["fileId"]
    resp = update(client, fid, custom_metadata={F.num: 7, F.flag: True})
    assert_same(resp["customMetadata"], {F.text: "abc", F.num: 7, F.flag: True}, "update response")
    assert_same(cm_of(client, fid), {F.text: "abc", F.num: 7, F.flag: True})
    resp = update(client, fid, custom_metadata={F.text: None, F.colors: ["blue"]})
    assert_same(resp["customMetadata"], {F.num: 7, F.flag: True, F.colors: ["blue"]})
    update(client, fid, custom_metadata={F.date: None})  # unsetting what is not set is no change
    update(client, fid, tags=["no-cm"])  # an update without customMetadata keeps it
    assert_same(cm_of(client, fid), {F.num: 7, F.flag: True, F.colors: ["blue"]})
    (item,) = listed(client, folder)
    assert_same(item["customMetadata"], {F.num: 7, F.flag: True, F.colors: ["blue"]})


def test_update_date_normalised(client, F, folder):
    up = upload(client, folder)
    resp = update(client, up["fileId"], custom_metadata={F.date: "2025-07-08T09:10:11-01:00"})
    assert resp["customMetadata"] == {F.date: "2025-07-08T10:10:11.000Z"}
    assert cm_of(client, up["fileId"]) == {F.date: "2025-07-08T10:10:11.000Z"}


@pytest.mark.parametrize(
    "key, value",
    [("num", 101), ("size", "30"), ("colors", "red"), ("text", "toolong"), ("date", "2031-01-01")],
)
def test_refused_update_changes_nothing(client, F, folder, key, value):
    up = upload(client, folder, {F.text: "abc", F.num: 5}, tags=["keep"])
    before = details(client, up["fileId"])
    name = getattr(F, key)
    others = {F.num: 6, F.flag: True} if key != "num" else {F.flag: True, F.text: None}
    refused_values(
        lambda: client.files.update(up["fileId"], tags=["changed"], custom_metadata={**others, name: value}),
        name,
    )
    assert details(client, up["fileId"]) == before


def test_update_unknown_name_refused(client, F, folder):
    up = upload(client, folder, {F.num: 1})
    ghost = uid("ghost")
    body = refused_values(lambda: client.files.update(up["fileId"], custom_metadata={ghost: 1, F.num: 2}), ghost)
    assert body["errors"][ghost] == UNKNOWN_NAME
    assert cm_of(client, up["fileId"]) == {F.num: 1}


def test_overwrite_custom_metadata_false_keeps_values(client, F, folder):
    v1 = upload(client, folder, {F.num: 5, F.text: "abc"}, name="o.png")
    v2 = upload(client, folder, name="o.png", overwrite_custom_metadata=False)
    assert v2["fileId"] == v1["fileId"] and v2["versionInfo"]["name"] == "Version 2"
    assert_same(v2["customMetadata"], {F.num: 5, F.text: "abc"})
    assert_same(cm_of(client, v1["fileId"]), {F.num: 5, F.text: "abc"})
    # with customMetadata in the request, a new version has the values given (no merge)
    v3 = upload(client, folder, {F.num: 6}, name="o.png", overwrite_custom_metadata=False)
    assert v3["versionInfo"]["name"] == "Version 3"
    assert_same(cm_of(client, v1["fileId"]), {F.num: 6})


def test_new_version_without_values_starts_empty(client, F, folder):
    v1 = upload(client, folder, {F.num: 5}, name="n.png")
    v2 = upload(client, folder, name="n.png")  # overwriteCustomMetadata defaults to true
    assert v2["versionInfo"]["name"] == "Version 2"
    assert v2["customMetadata"] == {}
    assert cm_of(client, v1["fileId"]) == {}
    r = client.files.versions.with_raw_response.list(v1["fileId"])
    assert r.http_response.status_code == 200
    by_name = {v["versionInfo"]["name"]: v["customMetadata"] for v in r.http_response.json()}
    assert by_name == {"Version 1": {F.num: 5}, "Version 2": {}}, "each version keeps its own values"


def test_deleted_field_values_vanish(client, F, folder):
    gone = mk(client, "Text")
    up = upload(client, folder, {gone["name"]: "bye", F.num: 1}, name="d.png")
    assert_same(cm_of(client, up["fileId"]), {gone["name"]: "bye", F.num: 1})
    client.custom_metadata_fields.delete(gone["id"])

    assert cm_of(client, up["fileId"]) == {F.num: 1}
    (item,) = listed(client, folder)
    assert item["customMetadata"] == {F.num: 1}
    v2 = upload(client, folder, name="d.png", overwrite_custom_metadata=False)
    assert v2["customMetadata"] == {F.num: 1}, "upload response of a version that kept the values"
    body = refused_values(
        lambda: client.files.upload(file=unique_png(), file_name="other.png", folder=folder,
                                    custom_metadata={gone["name"]: "x"}),
        gone["name"],
    )
    assert body["errors"][gone["name"]] == UNKNOWN_NAME
    body = refused_values(lambda: client.files.update(up["fileId"], custom_metadata={gone["name"]: None}), gone["name"])
    assert body["errors"][gone["name"]] == UNKNOWN_NAME
    update(client, up["fileId"], custom_metadata={F.num: 2})
    assert cm_of(client, up["fileId"]) == {F.num: 2}


def test_value_kept_when_label_or_description_changes(client, folder):
    f = mk(client, "Text")
    up = upload(client, folder, {f["name"]: "keep"})
    patch_field(client, f["id"], label=uid("Renamed"))
    patch_field(client, f["id"], description="now described")
    assert cm_of(client, up["fileId"]) == {f["name"]: "keep"}


# ================================================================ defaults and required (fresh servers)

DEFAULT_SCHEMAS = {
    "Text": {"maxLength": 10, "isValueRequired": True, "defaultValue": "n/a"},
    "Textarea": {"defaultValue": "some text"},
    "Number": {"minValue": 0, "defaultValue": 0},
    "Date": {"defaultValue": "2024-01-02T03:04:05.000Z"},
    "Boolean": {"isValueRequired": True, "defaultValue": False},
    "SingleSelect": {"selectOptions": [1, 2], "defaultValue": 2},
    "MultiSelect": {"selectOptions": ["a", "b", "c"], "defaultValue": ["a", "c"]},
}


def test_defaults_of_each_type_applied_on_upload(fresh, folder):
    made = {t: mk(fresh, t, **rules) for t, rules in DEFAULT_SCHEMAS.items()}
    for t, f in made.items():
        assert_same(f["schema"], {"type": t, **DEFAULT_SCHEMAS[t]})
    expected = {f["name"]: DEFAULT_SCHEMAS[t]["defaultValue"] for t, f in made.items()}
    up = upload(fresh, folder)
    assert_same(up["customMetadata"], expected, "upload response")
    assert_same(cm_of(fresh, up["fileId"]), expected)
    up = upload(fresh, folder, {}, name="empty-object.png")
    assert_same(cm_of(fresh, up["fileId"]), expected)


def test_defaults_on_upload_with_values_and_nulls(fresh, folder):
    d = mk(fresh, "Number", defaultValue=5)["name"]
    t = mk(fresh, "Text", defaultValue="dflt")["name"]
    day = mk(fresh, "Date", defaultValue="2024-01-02")["name"]
    plain = mk(fresh, "Number")["name"]
    up = upload(fresh, folder, {d: 9, plain: 1}, name="a.png")
    assert_same(cm_of(fresh, up["fileId"]), {d: 9, t: "dflt", day: "2024-01-02T00:00:00.000Z", plain: 1})
    up = upload(fresh, folder, {t: None}, name="b.png")
    assert_same(cm_of(fresh, up["fileId"]), {d: 5, day: "2024-01-02T00:00:00.000Z"})
    up = upload(fresh, folder, {d: None, t: None, day: None}, name="c.png")
    assert cm_of(fresh, up["fileId"]) == {}


def test_defaults_on_update_only_when_it_writes_custom_metadata(fresh, folder):
    other = mk(fresh, "Number")["name"]
    early = upload(fresh, folder, name="early.png")  # before the field with a default existed
    d = mk(fresh, "Number", defaultValue=5)["name"]
    assert cm_of(fresh, early["fileId"]) == {}, "defaults are not applied to stored versions"
    update(fresh, early["fileId"], tags=["x"])
    assert cm_of(fresh, early["fileId"]) == {}, "an update without customMetadata applies no default"
    resp = update(fresh, early["fileId"], custom_metadata={other: 1})
    assert_same(resp["customMetadata"], {other: 1, d: 5})
    assert_same(cm_of(fresh, early["fileId"]), {other: 1, d: 5})
    update(fresh, early["fileId"], custom_metadata={d: None})
    assert_same(cm_of(fresh, early["fileId"]), {other: 1}, "not re-applied to a field nulled in the request")
    update(fresh, early["fileId"], custom_metadata={other: 2})
    assert_same(cm_of(fresh, early["fileId"]), {other: 2, d: 5}, "the next write applies it again")


def test_defaults_on_new_version_keeping_values(fresh, folder):
    other = mk(fresh, "Number")["name"]
    d = mk(fresh, "Number", defaultValue=5)["name"]
    v1 = upload(fresh, folder, {other: 1, d: None}, name="v.png")
    assert_same(cm_of(fresh, v1["fileId"]), {other: 1})
    v2 = upload(fresh, folder, name="v.png", overwrite_custom_metadata=False)
    assert v2["versionInfo"]["name"] == "Version 2"
    assert_same(cm_of(fresh, v1["fileId"]), {other: 1, d: 5})


def test_required_field(fresh, folder):
    early = upload(fresh, folder, name="early.png")
    r = mk(fresh, "Text", isValueRequired=True, defaultValue="x")["name"]
    n = mk(fresh, "Number")["name"]
    up = upload(fresh, folder, name="a.png")
    assert cm_of(fresh, up["fileId"]) == {r: "x"}
    up = upload(fresh, folder, {r: "given", n: 1}, name="b.png")
    assert_same(cm_of(fresh, up["fileId"]), {r: "given", n: 1})

    refused_values(lambda: fresh.files.upload(file=unique_png(), file_name="c.png", folder=folder,
                                              custom_metadata={r: None}), r)
    assert sorted(i["name"] for i in listed(fresh, folder)) == ["a.png", "b.png", "early.png"]
    before = details(fresh, up["fileId"])
    refused_values(lambda: fresh.files.update(up["fileId"], custom_metadata={r: None, n: 2}), r)
    assert details(fresh, up["fileId"]) == before
    assert_same(update(fresh, up["fileId"], custom_metadata={r: "y"})["customMetadata"], {r: "y", n: 1})
    # a file stored before the field existed: untouched until its custom metadata is written
    assert cm_of(fresh, early["fileId"]) == {}
    update(fresh, early["fileId"], tags=["t"])
    assert cm_of(fresh, early["fileId"]) == {}
    assert_same(update(fresh, early["fileId"], custom_metadata={n: 3})["customMetadata"], {r: "x", n: 3})


def test_deleted_field_no_longer_defaults_or_requires(fresh, folder):
    r = mk(fresh, "Text", isValueRequired=True, defaultValue="x")
    d = mk(fresh, "Number", defaultValue=5)
    up = upload(fresh, folder, name="a.png")
    assert_same(cm_of(fresh, up["fileId"]), {r["name"]: "x", d["name"]: 5})
    fresh.custom_metadata_fields.delete(r["id"])
    fresh.custom_metadata_fields.delete(d["id"])
    assert cm_of(fresh, up["fileId"]) == {}
    assert upload(fresh, folder, name="b.png")["customMetadata"] == {}
    other = mk(fresh, "Number")["name"]
    assert update(fresh, up["fileId"], custom_metadata={other: 1})["customMetadata"] == {other: 1}


def test_update_schema_null_removes_default(fresh, folder):
    f = mk(fresh, "Number", defaultValue=5)
    g = patch_field(fresh, f["id"], schema={"defaultValue": None})
    assert_same(g["schema"], {"type": "Number"})
    up = upload(fresh, folder)
    assert cm_of(fresh, up["fileId"]) == {}
    # required needs a default: removing the default of a required field is refused
    r = mk(fresh, "Text", isValueRequired=True, defaultValue="x")
    refused(lambda: fresh.custom_metadata_fields.update(r["id"], schema={"defaultValue": None}), prefix=BAD_SCHEMA)
    assert field_by_id(fresh, r["id"]) == r


# ================================================================ search

SROOT = "/cmfs/lib"
RECENT = datetime.now(timezone.utc) - timedelta(days=2)


@pytest.fixture(scope="module", params=["index", "sql"])
def sserver(request, tmp_path_factory):
    """One server with the in-memory search index, one answering from SQL (KURA_SEARCH_INDEX=0)."""
    env = {"KURA_SEARCH_INDEX": "1" if request.param == "index" else "0"}
    s = KuraServer(tmp_path_factory.mktemp(f"kura-cmf-search-{request.param}"), env=env).start()
    yield s
    s.stop()


@dataclass
class SearchLib:
    client: Any
    f: Dict[str, str]  # key -> field name
    ids: Dict[str, str]  # file name -> fileId

    def q(self, query: str) -> str:
        return query.format(**{k: f'"customMetadata.{v}"' for k, v in self.f.items()})

    def items(self, query: str, top: str = SROOT) -> List[dict]:
        full = f'path : "{top}" AND ({self.q(query)})'
        r = self.client.assets.with_raw_response.list(search_query=full)
        assert r.http_response.status_code == 200, f"{full}: {r.http_response.text}"
        data = r.http_response.json()
        assert isinstance(data, list), data
        r.parse()
        return data

    def find(self, query: str, top: str = SROOT) -> List[str]:
        return sorted(i["name"] for i in self.items(query, top))


@pytest.fixture(scope="module")
def slib(sserver) -> SearchLib:
    """SROOT/ a.png … f.png with the values below (d.png has none)."""
    c = sserver.client()
    f = {
        "text": mk(c, "Text")["name"],
        "area": mk(c, "Textarea")["name"],
        "num": mk(c, "Number")["name"],
        "date": mk(c, "Date")["name"],
        "bool": mk(c, "Boolean")["name"],
        "sel": mk(c, "SingleSelect", selectOptions=["small", "medium", "large", 10, 20, 30, True])["name"],
        "multi": mk(c, "MultiSelect", selectOptions=["red", "green", "blue"])["name"],
    }
    data = {
        "a.png": dict(text="Red Dress summer", area="Summer collection 2024", num=5, date="2024-01-10T12:00:00Z",
                      bool=True, sel="small", multi=["red", "green"]),
        "b.png": dict(text="red shoes", num=15, date="2024-03-01", bool=False, sel=20, multi=["blue"]),
        "c.png": dict(text="Blue hat", num=25.5, date=iso_ms(RECENT), sel=30, multi=["green", "blue"]),
        "d.png": {},
        "e.png": dict(num=0, bool=True, sel="medium"),
        "f.png": dict(date="2023-06-15T08:30:00+02:00", sel=True, multi=["red"]),
    }
    ids = {}
    for name, values in data.items():
        up = upload(c, SROOT, {f[k]: v for k, v in values.items()}, name=name)
        ids[name] = up["fileId"]
    return SearchLib(client=c, f=f, ids=ids)


def test_search_library_as_designed(slib):
    got = {i["name"]: i["customMetadata"] for i in slib.items("{num} EXISTS OR {num} NOT EXISTS")}
    f = slib.f
    assert sorted(got) == ["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"]
    assert_same(got["a.png"][f["date"]], "2024-01-10T12:00:00.000Z")
    assert_same(got["f.png"][f["date"]], "2023-06-15T06:30:00.000Z")
    assert_same(got["c.png"][f["date"]], iso_ms(RECENT))
    assert got["d.png"] == {}
    assert_same(got["b.png"], {f["text"]: "red shoes", f["num"]: 15, f["date"]: "2024-03-01T00:00:00.000Z",
                               f["bool"]: False, f["sel"]: 20, f["multi"]: ["blue"]})


ALL = ["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"]


def but(*names: str) -> List[str]:
    return [n for n in ALL if n not in names]


SEARCH_CASES = {
    "text": [
        ('{text} = "red shoes"', ["b.png"]),
        ('{text} = "Red shoes"', []),
        ('{text} : "Red"', ["a.png"]),
        ('{text} : "red"', ["b.png"]),
        ('{text} : "Red Dress s"', ["a.png"]),
        ('{text} IN ["Blue hat", "red shoes", "nothing"]', ["b.png", "c.png"]),
        ('{text} NOT = "red shoes"', but("b.png")),
        ('{text} NOT IN ["red shoes", "Blue hat"]', but("b.png", "c.png")),
        ('{text} HAS "red"', ["a.png", "b.png"]),
        ('{text} HAS "dress sum"', ["a.png"]),
        ('{text} HAS "sum dress"', []),
        ('{text} HAS "RED SH"', ["b.png"]),
        ('{text} HAS "hat blue"', ["c.png"]),
        ("{text} EXISTS", ["a.png", "b.png", "c.png"]),
        ("{text} NOT EXISTS", ["d.png", "e.png", "f.png"]),
    ],
    "area": [
        ('{area} = "Summer collection 2024"', ["a.png"]),
        ('{area} : "Summer"', ["a.png"]),
        ('{area} : "summer"', []),
        ('{area} HAS "summer coll"', ["a.png"]),
        ('{area} IN ["Summer collection 2024"]', ["a.png"]),
        ('{area} NOT = "Summer collection 2024"', but("a.png")),
        ('{area} NOT IN ["x"]', ALL),
        ("{area} EXISTS", ["a.png"]),
        ("{area} NOT EXISTS", but("a.png")),
    ],
    "num": [
        ("{num} = 15", ["b.png"]),
        ("{num} = 25.5", ["c.png"]),
        ("{num} > 10", ["b.png", "c.png"]),
        ("{num} >= 15", ["b.png", "c.png"]),
        ("{num} > 15", ["c.png"]),
        ("{num} < 5", ["e.png"]),
        ("{num} <= 5", ["a.png", "e.png"]),
        ("{num} IN [0, 25.5, 99]", ["c.png", "e.png"]),
        ("{num} NOT = 5", but("a.png")),
        ("{num} NOT IN [5, 15]", but("a.png", "b.png")),
        ("{num} EXISTS", ["a.png", "b.png", "c.png", "e.png"]),
        ("{num} NOT EXISTS", ["d.png", "f.png"]),
    ],
    "date": [
        ('{date} > "2024-02-01"', ["b.png", "c.png"]),
        ('{date} < "2024-02-01"', ["a.png", "f.png"]),
        ('{date} = "2024-03-01"', ["b.png"]),
        ('{date} = "2024-01-10"', []),
        ('{date} = "2024-01-10T12:00:00Z"', ["a.png"]),
        ('{date} = "2024-01-10T13:00:00+01:00"', ["a.png"]),
        ('{date} >= "2024-03-01"', ["b.png", "c.png"]),
        ('{date} <= "2024-01-10T12:00:00.000Z"', ["a.png", "f.png"]),
        ('{date} > "7d"', ["c.png"]),
        ('{date} < "7d"', ["a.png", "b.png", "f.png"]),
        ('{date} > "1m"', ["c.png"]),
        ('{date} IN ["2024-03-01", "2023-06-15T06:30:00Z"]', ["b.png", "f.png"]),
        ('{date} NOT = "2024-03-01"', but("b.png")),
        ('{date} NOT IN ["2024-03-01", "2024-01-10T12:00:00Z"]', but("a.png", "b.png")),
        ("{date} EXISTS", ["a.png", "b.png", "c.png", "f.png"]),
        ("{date} NOT EXISTS", ["d.png", "e.png"]),
    ],
    "bool": [
        ("{bool} = true", ["a.png", "e.png"]),
        ("{bool} = false", ["b.png"]),
        ("{bool} NOT = true", but("a.png", "e.png")),
        ("{bool} NOT = false", but("b.png")),
        ("{bool} EXISTS", ["a.png", "b.png", "e.png"]),
        ("{bool} NOT EXISTS", ["c.png", "d.png", "f.png"]),
    ],
    "sel": [
        ('{sel} = "small"', ["a.png"]),
        ("{sel} = 20", ["b.png"]),
        ("{sel} = true", ["f.png"]),
        ('{sel} : "sm"', ["a.png"]),
        ('{sel} : "m"', ["e.png"]),
        ('{sel} IN ["small", 30]', ["a.png", "c.png"]),
        ('{sel} NOT = "small"', but("a.png")),
        ('{sel} NOT IN ["small", 20, true]', but("a.png", "b.png", "f.png")),
        ("{sel} > 10", ["b.png", "c.png"]),
        ("{sel} >= 20", ["b.png", "c.png"]),
        ("{sel} > 20", ["c.png"]),
        ("{sel} < 30", ["b.png"]),
        ("{sel} <= 30", ["b.png", "c.png"]),
        ("{sel} EXISTS", but("d.png")),
        ("{sel} NOT EXISTS", ["d.png"]),
    ],
    "multi": [
        ('{multi} = "green"', ["a.png", "c.png"]),
        ('{multi} = "red"', ["a.png", "f.png"]),
        ('{multi} IN ["red", "blue"]', ["a.png", "b.png", "c.png", "f.png"]),
        ('{multi} IN ["blue"]', ["b.png", "c.png"]),
        ('{multi} NOT = "green"', but("a.png", "c.png")),
        ('{multi} NOT IN ["red", "blue"]', ["d.png", "e.png"]),
        ('{multi} NOT IN ["green"]', but("a.png", "c.png")),
        ("{multi} EXISTS", ["a.png", "b.png", "c.png", "f.png"]),
        ("{multi} NOT EXISTS", ["d.png", "e.png"]),
    ],
    "combined": [
        ("{num} > 10 AND {bool} = false", ["b.png"]),
        ('{sel} = "small" OR {multi} = "blue"', ["a.png", "b.png", "c.png"]),
        ('({num} < 10 OR {date} < "2024-01-01") AND {multi} EXISTS', ["a.png", "f.png"]),
        ('{text} HAS "red" AND name = "b.png"', ["b.png"]),
    ],
}


@pytest.mark.parametrize("kind", list(SEARCH_CASES))
def test_search_operators(slib, kind):
    cases = SEARCH_CASES[kind]
    assert any(0 < len(exp) < len(ALL) for _, exp in cases), "at least one case picks a proper subset"
    failures = []
    for query, expected in cases:
        try:
            got = slib.find(query)
        except imagekitio.APIStatusError as e:
            failures.append(f"{query}: {e.status_code} {e.body}")
            continue
        if got != sorted(expected):
            failures.append(f"{query}: got {got}, expected {sorted(expected)}")
    assert failures == []


BAD_QUERIES = [
    '{num} HAS "5"',
    "{bool} > true",
    "{bool} IN [true]",
    '{multi} : "re"',
    '{multi} > "red"',
    '{text} > "a"',
    '{date} HAS "2024"',
    '{area} < "b"',
    '{num} = "five"',
    '{date} > "someday"',
    '{bool} = "maybe"',
]


def test_search_unsupported_operator_or_value_400(slib):
    check_each(BAD_QUERIES, lambda q: refused(lambda: slib.client.assets.list(search_query=slib.q(q)), 400))


def test_search_unknown_field_400_names_it(slib):
    ghost = uid("nosuch")
    body = refused(lambda: slib.client.assets.list(search_query=f'"customMetadata.{ghost}" = 1'), 400)
    assert ghost in body["message"], body


def rw_top() -> str:
    return f"/cmfs-rw/{uuid.uuid4().hex[:10]}"


def test_search_deleted_field(slib):
    c, top = slib.client, rw_top()
    gone = mk(c, "Text")
    up = upload(c, top, {gone["name"]: "x", slib.f["num"]: 3}, name="del.png")
    assert slib.find(f'"customMetadata.{gone["name"]}" = "x"', top) == ["del.png"]
    c.custom_metadata_fields.delete(gone["id"])
    body = refused(lambda: c.assets.list(search_query=f'"customMetadata.{gone["name"]}" = "x"'), 400)
    assert gone["name"] in body["message"], body
    body = refused(lambda: c.assets.list(search_query=f'"customMetadata.{gone["name"]}" NOT EXISTS'), 400)
    assert gone["name"] in body["message"], body
    (item,) = slib.items("{num} = 3", top)
    assert item["fileId"] == up["fileId"]
    assert item["customMetadata"] == {slib.f["num"]: 3}, "search results do not show a deleted field's value"


def test_search_reads_its_writes(slib):
    c, top, num = slib.client, rw_top(), slib.f["num"]
    up = upload(c, top, {num: 77}, name="g.png")
    assert slib.find("{num} = 77", top) == ["g.png"]
    update(c, up["fileId"], custom_metadata={num: 78})
    assert slib.find("{num} = 77", top) == []
    (item,) = slib.items("{num} = 78", top)
    assert item["customMetadata"] == {num: 78}
    update(c, up["fileId"], custom_metadata={num: None, slib.f["multi"]: ["green"]})
    assert slib.find("{num} NOT EXISTS", top) == ["g.png"]
    assert slib.find("{num} EXISTS", top) == []
    assert slib.find('{multi} = "green"', top) == ["g.png"]


def test_search_sees_the_current_version(slib):
    c, top = slib.client, rw_top()
    upload(c, top, {slib.f["num"]: 50}, name="h.png")
    upload(c, top, {slib.f["num"]: 51}, name="h.png")
    assert slib.find("{num} = 50", top) == []
    assert slib.find("{num} = 51", top) == ["h.png"]
    upload(c, top, name="h.png", overwrite_custom_metadata=False)
    assert slib.find("{num} = 51", top) == ["h.png"]
    upload(c, top, name="h.png")
    assert slib.find("{num} EXISTS", top) == []


def test_search_new_field_is_searchable_at_once(slib):
    c, top = slib.client, rw_top()
    upload(c, top, {slib.f["num"]: 1}, name="old.png")
    nf = mk(c, "Number")["name"]
    q = f'"customMetadata.{nf}"'
    assert slib.find(f"{q} NOT EXISTS", top) == ["old.png"]
    upload(c, top, {nf: 4}, name="new.png")
    assert slib.find(f"{q} = 4", top) == ["new.png"]
    assert slib.find(f"{q} NOT = 4", top) == ["old.png"]
