"""Logging, metrics and alerting: how Edgewatch tells operators what it is doing."""
