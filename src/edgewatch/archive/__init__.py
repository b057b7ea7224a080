"""The archive: Parquet files with checksummed manifests in an object store (S3 or a directory)."""
