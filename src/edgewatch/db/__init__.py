"""Database kernel: engines, the session pattern, dialect-aware helpers and migrations."""
