"""`kura migrate`: an embedded install copied into PostgreSQL + S3, verified, resumable, and
served by a scale-out node afterwards."""

from __future__ import annotations

import os
import uuid

import pytest

from conftest import (
    BACKEND,
    PG_ADMIN_URL,
    KuraServer,
    _DATABASES,
    _psql,
    fetch,
    run_kura,
    unique_png,
)

S3_ENDPOINT = os.environ.get("KURA_TEST_S3_ENDPOINT")
BUCKET = os.environ.get("KURA_TEST_S3_BUCKET", "kura-test")

pytestmark = pytest.mark.skipif(
    BACKEND != "embedded" or not S3_ENDPOINT,
    reason="migrates from the embedded setup; needs the S3 server scripts/test starts",
)


def target_database() -> str:
    name = "kura_mig_" + uuid.uuid4().hex[:12]
    _psql(f"CREATE DATABASE {name}")
    _DATABASES.append(name)
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def test_embedded_install_moves_to_postgres_and_s3(tmp_path):
    source = KuraServer(tmp_path / "embedded").start()
    c = source.client()
    kept = c.files.upload(file=unique_png(12, 7), file_name="a.png", folder="/m/n", use_unique_file_name=False)
    v2_bytes = unique_png(9, 9)
    c.files.upload(file=v2_bytes, file_name="a.png", folder="/m/n", use_unique_file_name=False)
    c.files.update(kept.file_id, tags=["moved"], description="came along")
    private = c.files.upload(file=b"secret bytes", file_name="p.txt", is_private_file=True)
    gone = c.files.upload(file=b"to be deleted", file_name="gone.txt")
    c.files.delete(gone.file_id)
    same = c.files.upload(file=v2_bytes, file_name="dup.png")  # shares a blob with version 2
    assert source.stop() == 0

    database = target_database()
    storage = f"s3://{BUCKET}/migrated-{uuid.uuid4().hex[:8]}"
    args = [
        "migrate", "--data-dir", str(source.data_dir),
        "--to-database", database, "--to-storage", storage, "--to-s3-endpoint", S3_ENDPOINT,
    ]
    first = run_kura(*args, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "done and verified" in first.stdout
    assert "blobs: 3 copied" in first.stdout, first.stdout
    assert "file_versions: 4 copied, 4 in source, 4 in target" in first.stdout, first.stdout

    # Running it again finds everything in place: nothing copied twice, still verified.
    again = run_kura(*args, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "blobs: 0 copied (0 bytes), 3 already in the target" in again.stdout, again.stdout
    assert "files: 0 copied" in again.stdout

    node = KuraServer(
        tmp_path / "node",
        env={"KURA_DATABASE_URL": database, "KURA_STORAGE": storage, "KURA_S3_ENDPOINT": S3_ENDPOINT},
    ).start()
    try:
        n = node.client()
        f = n.files.get(kept.file_id)
        assert (f.file_path, f.version_info.name, f.tags, f.description) == (
            "/m/n/a.png", "Version 2", ["moved"], "came along",
        )
        assert fetch(node.media + "/m/n/a.png").content == v2_bytes
        assert len(list(n.assets.list(type="file-version"))) == 1
        assert {x.folder_path for x in n.assets.list(type="folder")} == {"/m", "/m/n"}
        assert n.files.get(private.file_id).is_private_file is True
        assert fetch(node.media + private.file_path).status_code == 401
        assert fetch(node.media + "/" + same.name).content == v2_bytes
        # The migrated install keeps working: new uploads and their events follow on.
        n.files.upload(file=b"after the move", file_name="new.txt")
        assert node.check().returncode == 0
    finally:
        node.stop()


def test_migrate_refuses_while_the_source_is_served(tmp_path):
    source = KuraServer(tmp_path / "busy").start()
    r = run_kura(
        "migrate", "--data-dir", str(source.data_dir), "--to-database", target_database(), timeout=60
    )
    assert r.returncode != 0
    assert "already using the data directory" in r.stderr
    source.stop()


def test_migrate_needs_a_target(tmp_path):
    r = run_kura("migrate", "--data-dir", str(tmp_path / "x"), timeout=60)
    assert r.returncode != 0 and "--to-database" in r.stderr
