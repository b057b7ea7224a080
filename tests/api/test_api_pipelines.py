from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from edgewatch.jobs.repository import PAYLOAD_PREVIEW_CHARS, latest_runs, pipeline_names


@pytest.mark.both_backends
def test_pipeline_runs_filter_and_paginate(client: TestClient, seed: Any) -> None:
    runs = [seed.run("ingest") for _ in range(3)]
    failed = seed.run("ingest", status="failed", error="venue timed out")
    seed.run("signals")

    everything = client.get("/api/v1/pipelines", params={"pipeline": "ingest", "limit": 3}).json()
    rest = client.get(
        "/api/v1/pipelines",
        params={"pipeline": "ingest", "limit": 3, "cursor": everything["next_cursor"]},
    ).json()
    only_failed = client.get("/api/v1/pipelines", params={"status": "failed"}).json()

    ids = [run["id"] for run in everything["items"] + rest["items"]]
    assert ids == [failed.id, *[run.id for run in reversed(runs)]]
    assert rest["next_cursor"] is None
    assert [run["error"] for run in only_failed["items"]] == ["venue timed out"]
    assert everything["items"][0]["rows_rejected"] == 1


@pytest.mark.both_backends
def test_latest_run_of_each_pipeline(session: Any, seed: Any) -> None:
    from datetime import timedelta

    seed.run("signals", started_at=seed.now - timedelta(hours=1))
    newest_signals = seed.run("signals", started_at=seed.now)
    seed.run("ingest", started_at=seed.now - timedelta(minutes=5))
    newest_ingest = seed.run("ingest", status="running", started_at=seed.now, finished_at=None)
    seed.run("backtest")

    assert pipeline_names(session) == ["backtest", "ingest", "signals"]
    latest = {run.pipeline: run.id for run in latest_runs(session)}
    assert latest["ingest"] == newest_ingest.id
    assert latest["signals"] == newest_signals.id


def test_pipeline_status_is_validated(client: TestClient, problem: Any) -> None:
    problem(
        client.get("/api/v1/pipelines", params={"status": "exploded"}),
        status=422,
        code="validation-error",
    )


@pytest.mark.both_backends
def test_quarantine_filters_and_truncates_payloads(client: TestClient, seed: Any) -> None:
    crossed = seed.rejected(venue="kalshi", reason="crossed_quote")
    seed.rejected(venue="polymarket", reason="nan_price")
    huge = seed.rejected(venue="kalshi", reason="out_of_range", payload="x" * 5000)

    kalshi = client.get("/api/v1/quarantine", params={"venue": "kalshi"}).json()["items"]
    nan = client.get("/api/v1/quarantine", params={"reason": "nan_price"}).json()["items"]

    assert [item["id"] for item in kalshi] == [huge.id, crossed.id]
    assert kalshi[0]["payload_truncated"] is True
    assert len(kalshi[0]["payload"]) == PAYLOAD_PREVIEW_CHARS
    assert kalshi[1]["payload"] == '{"bid": 0.6, "ask": 0.5}'
    assert kalshi[1]["payload_truncated"] is False
    assert [item["venue"] for item in nan] == ["polymarket"]
