"""data quality: candles, quality findings, archives

Revision ID: 2026_11_28_data_quality
Revises: 2026_11_28_paper
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import edgewatch.db.types

revision: str = "2026_11_28_data_quality"
down_revision: str | None = "2026_11_28_paper"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _upgrade_alerts()
    _upgrade_rollups_and_quality()


def downgrade() -> None:
    _downgrade_rollups_and_quality()
    _downgrade_alerts()


# --- alerts: in-app alert state (models/alert.py, owned by alerts/) -------------------------------


def _upgrade_alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("started_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "deliveries",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('condition', 'event')", name=op.f("ck_alerts_kind")),
        sa.CheckConstraint("status IN ('firing', 'resolved')", name=op.f("ck_alerts_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_alerts_fingerprint")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_status_updated_at", ["status", "updated_at"], unique=False)


def _downgrade_alerts() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_status_updated_at")
    op.drop_table("alerts")


# --- rollups and data quality: candles and quality findings (ticks/candles.py, quality/) ----------


def _upgrade_rollups_and_quality() -> None:
    op.create_table(
        "candles",
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("width_seconds", sa.SmallInteger(), nullable=False),
        sa.Column("bucket_start", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("bid", sa.Float(), nullable=True),
        sa.Column("ask", sa.Float(), nullable=True),
        sa.Column("volume", sa.Float(), nullable=True),
        sa.Column("tick_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("width_seconds IN (60, 3600)", name=op.f("ck_candles_width")),
        sa.PrimaryKeyConstraint(
            "market_id", "width_seconds", "bucket_start", name=op.f("pk_candles")
        ),
    )
    op.create_table(
        "quality_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("start_ts", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_ts", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tick_count", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("detected_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('gap', 'stale_quote', 'out_of_range', 'crossed_quote', 'jump', "
            "'duplicate_timestamp')",
            name=op.f("ck_quality_findings_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["market_id"],
            ["markets.id"],
            name=op.f("fk_quality_findings_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_findings")),
        sa.UniqueConstraint(
            "market_id",
            "kind",
            "start_ts",
            name=op.f("uq_quality_findings_market_id_kind_start_ts"),
        ),
    )
    with op.batch_alter_table("quality_findings", schema=None) as batch_op:
        batch_op.create_index("ix_quality_findings_start_ts", ["start_ts"], unique=False)
        batch_op.create_index(
            "ix_quality_findings_venue_start_ts", ["venue", "start_ts"], unique=False
        )
    # Candles of ticks stored before this release; on an empty database this is instant.
    from edgewatch.ticks.candles import rebuild_candles

    rebuild_candles(op.get_bind())


def _downgrade_rollups_and_quality() -> None:
    with op.batch_alter_table("quality_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_findings_venue_start_ts")
        batch_op.drop_index("ix_quality_findings_start_ts")
    op.drop_table("quality_findings")
    op.drop_table("candles")
