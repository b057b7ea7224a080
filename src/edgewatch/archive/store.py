"""Object stores: where archives and backups live, behind one small interface.

Two implementations share the ``ObjectStore`` protocol:

- ``LocalStore``: a directory, the embedded default (``<data_dir>/archive`` and ``/backups``).
  Writes go to a temporary file renamed into place, so a crash never leaves half an object.
- ``S3Store``: a bucket and key prefix on S3 or any S3-compatible store (MinIO, R2, Spaces…) via
  boto3; credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``…, instance roles).

``open_store`` picks one from a URL: ``s3://bucket/prefix`` or a directory path (``file://`` too).
Keys are ``/``-separated relative names. Every failure becomes an ``EdgewatchError``: a missing
object is ``NotFound``, an unreachable or refusing store ``TemporaryError`` — one clear line, no
traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from edgewatch.errors import ConfigError, NotFound, TemporaryError

#: Called with the number of bytes moved since the last call.
BytesCallback = Callable[[int], None]


class ObjectStore(Protocol):
    """A flat namespace of immutable-ish objects addressed by key."""

    #: Human-readable location, for messages (``s3://bucket/prefix`` or a path).
    location: str

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def put_file(self, key: str, path: Path, *, on_bytes: BytesCallback | None = None) -> None: ...

    def get_file(self, key: str, path: Path, *, on_bytes: BytesCallback | None = None) -> None: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def list(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix``, sorted."""
        ...

    def delete(self, key: str) -> None: ...


def _clean_key(key: str) -> str:
    parts = [part for part in key.split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise ValueError(f"invalid object key {key!r}")
    return "/".join(parts)


class LocalStore:
    """Objects as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def _path(self, key: str) -> Path:
        return self.root / _clean_key(key)

    @contextmanager
    def _atomic(self, key: str) -> Iterator[Path]:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as exc:
            raise TemporaryError(f"cannot write to {self.root}: {exc.strerror or exc}") from exc
        os.close(fd)
        temporary = Path(name)
        try:
            yield temporary
            with temporary.open("rb+") as handle:
                os.fsync(handle.fileno())
            temporary.replace(target)
        except OSError as exc:
            raise TemporaryError(f"cannot write {target}: {exc.strerror or exc}") from exc
        finally:
            temporary.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._atomic(key) as temporary:
            temporary.write_bytes(data)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no object {key} in {self.location}") from None
        except OSError as exc:
            raise TemporaryError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def put_file(self, key: str, path: Path, *, on_bytes: BytesCallback | None = None) -> None:
        with self._atomic(key) as temporary:
            _copy_file(path, temporary, on_bytes)

    def get_file(self, key: str, path: Path, *, on_bytes: BytesCallback | None = None) -> None:
        source = self._path(key)
        if not source.is_file():
            raise NotFound(f"no object {key} in {self.location}")
        try:
            _copy_file(source, path, on_bytes)
        except OSError as exc:
            raise TemporaryError(f"cannot copy {source} to {path}: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no object {key} in {self.location}") from None

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )
        return sorted(key for key in keys if key.startswith(prefix))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _copy_file(source: Path, target: Path, on_bytes: BytesCallback | None) -> None:
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(1 << 20):
            writer.write(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))


class S3Store:
    """Objects under ``prefix`` in an S3 (or S3-compatible) bucket."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")
        # Standard retries ride out throttling (503 SlowDown) without our own loop.
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        key = _clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFound(f"no object {key} in {self.location}") from None
            if code == "NoSuchBucket":
                raise ConfigError(f"no such bucket: {self.bucket}") from None
            message = exc.response.get("Error", {}).get("Message", code)
            raise TemporaryError(f"{self.location}: {code}: {message}") from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise TemporaryError(f"{self.location}: {exc}") from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        with self._errors(key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            data: bytes = response["Body"].read()
            return data

    def put_file(self, key: str, path: Path, *, on_bytes: BytesCallback | None = None) -> None:
        with self._errors(key):
            self._client.upload_file(str(path), self.bucket, self._key(key), Callback=on_bytes)

    def get_file(self, key: str, path: Path, *, on_bytes: BytesCallback | None = None) -> None:
        with self._errors(key):
            self._client.download_file(self.bucket, self._key(key), str(path), Callback=on_bytes)

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        with self._errors(key):
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            return int(head["ContentLength"])

    def list(self, prefix: str = "") -> list[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        with self._errors(prefix or "/"):
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        with self._errors(key):
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))


def open_store(url: str | Path, *, endpoint_url: str | None = None) -> ObjectStore:
    """The store at ``url``: ``s3://bucket/prefix``, ``file:///dir`` or a directory path."""
    text = str(url)
    parsed = urlparse(text)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigError(f"{text}: an S3 URL needs a bucket (s3://bucket/prefix)")
        return S3Store(parsed.netloc, parsed.path, endpoint_url=endpoint_url)
    if parsed.scheme and parsed.scheme != "file" and len(parsed.scheme) > 1:
        raise ConfigError(f"{text}: unsupported store (use s3://bucket/prefix or a directory)")
    root = Path(parsed.path) if parsed.scheme == "file" else Path(text).expanduser()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{text}: not a directory")
    return LocalStore(root)


def is_remote(url: str | Path) -> bool:
    return urlparse(str(url)).scheme == "s3"
