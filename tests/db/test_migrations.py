"""The migrations build the schema the models describe, on both backends, and reverse cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.models import Base, Market

pytestmark = pytest.mark.both_backends


def test_migrated_schema_has_no_drift(db_url: str) -> None:
    migrate.check(db_url)


def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    engine = create_db_engine(db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(db_url)
    engine = create_db_engine(db_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_timestamps_come_back_utc_aware(session: Session) -> None:
    paris = timezone(timedelta(hours=1))
    session.add(
        Market(
            venue="sim_kalshi",
            venue_market_id="M1",
            title="t",
            close_time=datetime(2026, 1, 1, 13, 0, tzinfo=paris),
        )
    )
    session.commit()
    session.expunge_all()
    market = session.scalars(select(Market)).one()
    assert market.close_time == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert market.close_time is not None and market.close_time.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(Market(venue="v", venue_market_id="M", title="t", close_time=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="timezone-aware"):
        session.commit()
