"""From simulator to score: train a model, trade on it, let markets resolve, score the signals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.db.session import session_scope
from edgewatch.forecasting import dataset
from edgewatch.forecasting.model import MODEL_FEATURES, train
from edgewatch.forecasting.repository import load_resolved
from edgewatch.signals import scoring
from edgewatch.signals.service import generate_signals
from edgewatch.strategies.model_edge import ModelEdge
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import EPOCH, SimConfig, SimWorld

pytestmark = pytest.mark.both_backends


def test_model_edge_signals_are_scored_once_their_markets_resolve(
    session_factory: sessionmaker[Session],
) -> None:
    history = SimWorld(SimConfig(seed=21, events=40))
    data = dataset.from_sim(history, start=EPOCH, end=EPOCH + timedelta(hours=8))
    model = train(dataset.split_by_resolution(dataset.samples(data, features=MODEL_FEATURES)))
    model.model.name, model.model.version = "e2e", "1"

    live = SimWorld(SimConfig(seed=22, events=12))
    start = EPOCH + timedelta(days=2)
    with session_scope(session_factory) as session:
        ingest_window(session, SimVenue(live), since=start, until=start + timedelta(minutes=40))
    with session_scope(session_factory) as session:
        result = generate_signals(
            session,
            [ModelEdge(model.model, margin=0.01)],
            since=None,
            until=start + timedelta(minutes=40),
            lookback=timedelta(minutes=20),
            high_confidence=0.99,
        )
    assert result.stored > 0
    with session_scope(session_factory) as session:
        ingest_window(
            session,
            SimVenue(live),
            since=start + timedelta(minutes=40),
            until=start + timedelta(hours=3),
        )
    with session_factory() as session:
        scores = scoring.scores(session, strategy="model_edge")
        report = scoring.report(session)
        resolved = load_resolved(session)
    assert scores, "every market open at the start has resolved three hours later"
    assert all(score.model == "e2e v1" for score in scores)
    assert all(score.realised_edge is not None for score in scores)
    assert {(r.strategy, r.model) for r in report} == {
        ("model_edge", None),
        ("model_edge", "e2e v1"),
    }
    # The stored markets are training data too, read the same way as the simulator's.
    assert resolved.markets.height > 0
    assert dataset.samples(resolved, features=MODEL_FEATURES).height > 0
