"""Retention fixtures: object stores (a directory and a local S3 server)."""

from s3_fixtures import s3_bucket, s3_endpoint, store_url

__all__ = ["s3_bucket", "s3_endpoint", "store_url"]
