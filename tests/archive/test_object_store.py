"""Object stores: the same behaviour from a directory and from a local S3 server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from edgewatch.archive.manifest import ArchivedFile, Manifest
from edgewatch.archive.store import LocalStore, S3Store, open_store
from edgewatch.errors import ConfigError, InvalidInput, NotFound


def test_objects_round_trip_list_and_delete(
    store_url: tuple[str, str | None], tmp_path: Path
) -> None:
    url, endpoint = store_url
    store = open_store(url, endpoint_url=endpoint)
    store.put_bytes("ticks/2026/01/02/manifest.json", b"{}")
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * 3_000_000)
    moved: list[int] = []
    store.put_file("backups/big.bin", source, on_bytes=moved.append)
    assert sum(moved) == 3_000_000
    assert store.list() == ["backups/big.bin", "ticks/2026/01/02/manifest.json"]
    assert store.list("ticks/") == ["ticks/2026/01/02/manifest.json"]
    assert store.size("backups/big.bin") == 3_000_000
    target = tmp_path / "copy.bin"
    store.get_file("backups/big.bin", target)
    assert target.read_bytes() == source.read_bytes()
    assert store.get_bytes("ticks/2026/01/02/manifest.json") == b"{}"
    store.delete("backups/big.bin")
    assert not store.exists("backups/big.bin")
    with pytest.raises(NotFound, match=r"no object backups/big\.bin"):
        store.get_bytes("backups/big.bin")
    with pytest.raises(NotFound):
        store.get_file("backups/big.bin", target)


def test_store_urls_pick_the_store(tmp_path: Path) -> None:
    assert isinstance(open_store(tmp_path), LocalStore)
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    s3 = open_store("s3://bucket/some/prefix/", endpoint_url="http://127.0.0.1:9")
    assert isinstance(s3, S3Store) and s3.location == "s3://bucket/some/prefix"
    with pytest.raises(ConfigError, match="unsupported store"):
        open_store("gs://bucket/x")
    with pytest.raises(ConfigError, match="needs a bucket"):
        open_store("s3:///x")


def test_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    with pytest.raises(ValueError, match="invalid object key"):
        store.put_bytes("../outside", b"x")


def test_manifests_round_trip_and_damage_is_one_clear_error() -> None:
    manifest = Manifest(
        kind="ticks",
        day=date(2026, 1, 2),
        created_at=datetime(2026, 4, 2, tzinfo=UTC),
        files=(
            ArchivedFile(
                table="odds_ticks",
                key="ticks/2026/01/02/odds_ticks.parquet",
                rows=10,
                size=1234,
                sha256="a" * 64,
                content_sha256="b" * 64,
                first=datetime(2026, 1, 2, 0, 5, tzinfo=UTC),
                last=datetime(2026, 1, 2, 23, 55, tzinfo=UTC),
            ),
        ),
    )
    again = Manifest.from_json(manifest.to_json(), key="m")
    assert again == manifest
    assert (again.start, again.end) == (
        datetime(2026, 1, 2, tzinfo=UTC),
        datetime(2026, 1, 3, tzinfo=UTC),
    )
    with pytest.raises(InvalidInput, match="archive manifest m is damaged"):
        Manifest.from_json(b'{"format": 1, "kind": "ticks"}', key="m")
    with pytest.raises(InvalidInput, match="damaged"):
        Manifest.from_json(b"not json", key="m")
