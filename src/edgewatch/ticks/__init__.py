"""Ticks: the ingestion pipeline, bulk storage and quarantine of bad records."""
