"""Pipelines as jobs: the embedded scheduler, the task wrapper, and the pipeline-run API."""
