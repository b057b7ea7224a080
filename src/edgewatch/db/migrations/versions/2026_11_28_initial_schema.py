"""initial schema

Revision ID: 2026_11_28_initial
Revises:
Create Date: 2026-11-28 09:00:04.644448
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import edgewatch.db.types

revision: str = "2026_11_28_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_log_entry_hash")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)

    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("window_start", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_end", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_runs")),
    )
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backtest_runs_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "markets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("venue_market_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("rules", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("close_time", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=8), nullable=True),
        sa.Column("resolved_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fee_schedule", sa.String(length=24), nullable=True),
        sa.Column("fee_multiplier", sa.Numeric(precision=10, scale=6), nullable=True),
        sa.Column("fee_rate", sa.Numeric(precision=10, scale=6), nullable=True),
        sa.Column("tick_size", sa.Float(), nullable=False),
        sa.Column("last_tick_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('yes', 'no', 'void')", name=op.f("ck_markets_res")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'pending_resolution', 'resolved', 'void')",
            name=op.f("ck_markets_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_markets")),
        sa.UniqueConstraint(
            "venue", "venue_market_id", name=op.f("uq_markets_venue_venue_market_id")
        ),
    )
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_markets_status_close_time", ["status", "close_time"], unique=False
        )

    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pipeline", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows_in", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cursor", sa.String(length=200), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pipeline_runs_pipeline_started_at", ["pipeline", "started_at"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'analyst', 'viewer')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "market_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("market_a_id", sa.Integer(), nullable=False),
        sa.Column("market_b_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=320), nullable=True),
        sa.CheckConstraint(
            "relation IN ('same', 'complement')", name=op.f("ck_market_links_relation")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'confirmed', 'rejected')", name=op.f("ck_market_links_status")
        ),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_market_links_confidence")
        ),
        sa.ForeignKeyConstraint(
            ["market_a_id"],
            ["markets.id"],
            name=op.f("fk_market_links_market_a_id_markets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["market_b_id"],
            ["markets.id"],
            name=op.f("fk_market_links_market_b_id_markets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_links")),
        sa.UniqueConstraint(
            "market_a_id", "market_b_id", name=op.f("uq_market_links_market_a_id_market_b_id")
        ),
    )
    with op.batch_alter_table("market_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_links_market_b_id"), ["market_b_id"], unique=False
        )

    op.create_table(
        "odds_ticks",
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("tick_ts", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("bid", sa.Float(), nullable=True),
        sa.Column("ask", sa.Float(), nullable=True),
        sa.Column("last", sa.Float(), nullable=True),
        sa.Column("volume", sa.Float(), nullable=True),
        sa.Column("bid_size", sa.Float(), nullable=True),
        sa.Column("ask_size", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["market_id"],
            ["markets.id"],
            name=op.f("fk_odds_ticks_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("market_id", "tick_ts", name=op.f("pk_odds_ticks")),
    )
    with op.batch_alter_table("odds_ticks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_odds_ticks_tick_ts_brin", ["tick_ts"], unique=False, postgresql_using="brin"
        )

    op.create_table(
        "rejected_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("pipeline_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_rejected_records_pipeline_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_records")),
    )
    with op.batch_alter_table("rejected_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rejected_records_venue_created_at", ["venue", "created_at"], unique=False
        )

    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signal_ts", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("strategy_version", sa.String(length=32), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("limit_price", sa.Float(), nullable=False),
        sa.Column("paired_market_id", sa.Integer(), nullable=True),
        sa.Column("size_hint", sa.Float(), nullable=False),
        sa.Column("edge", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("expires_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "inputs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.CheckConstraint("side IN ('yes', 'no')", name=op.f("ck_signals_side")),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_signals_confidence")
        ),
        sa.ForeignKeyConstraint(
            ["market_id"],
            ["markets.id"],
            name=op.f("fk_signals_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["paired_market_id"],
            ["markets.id"],
            name=op.f("fk_signals_paired_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_signals_dedupe_key")),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signals_market_signal_ts", ["market_id", "signal_ts"], unique=False
        )
        batch_op.create_index(
            "ix_signals_strategy_signal_ts", ["strategy", "signal_ts"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_index("ix_signals_strategy_signal_ts")
        batch_op.drop_index("ix_signals_market_signal_ts")

    op.drop_table("signals")
    with op.batch_alter_table("rejected_records", schema=None) as batch_op:
        batch_op.drop_index("ix_rejected_records_venue_created_at")

    op.drop_table("rejected_records")
    with op.batch_alter_table("odds_ticks", schema=None) as batch_op:
        batch_op.drop_index("ix_odds_ticks_tick_ts_brin", postgresql_using="brin")

    op.drop_table("odds_ticks")
    with op.batch_alter_table("market_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_links_market_b_id"))

    op.drop_table("market_links")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))

    op.drop_table("api_keys")
    op.drop_table("users")
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_runs_pipeline_started_at")

    op.drop_table("pipeline_runs")
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.drop_index("ix_markets_status_close_time")

    op.drop_table("markets")
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtest_runs_created_at"))

    op.drop_table("backtest_runs")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
