"""backtest trades: the ledger and equity curve of a run, and what reproduces it

Revision ID: 2026_11_28_backtest_trades
Revises: 2026_11_28_initial
Create Date: 2026-11-28 10:01:26.576333
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import edgewatch.db.types

revision: str = "2026_11_28_backtest_trades"
down_revision: str | None = "2026_11_28_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backtest_equity",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("ts", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("equity", sa.Float(), nullable=False),
        sa.Column("cash", sa.Float(), nullable=False),
        sa.Column("exposure", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backtest_runs.id"],
            name=op.f("fk_backtest_equity_run_id_backtest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "ts", name=op.f("pk_backtest_equity")),
    )
    op.create_table(
        "backtest_trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("fee", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("cash_flow", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("ts", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backtest_runs.id"],
            name=op.f("fk_backtest_trades_run_id_backtest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_trades")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_backtest_trades_run_id_seq")),
    )
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("strategy_version", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("feature_set_version", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "config",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "warnings",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("progress", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("started_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("data_fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "summary",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("rerun_of", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.drop_column("rerun_of")
        batch_op.drop_column("summary")
        batch_op.drop_column("data_fingerprint")
        batch_op.drop_column("started_at")
        batch_op.drop_column("cancel_requested")
        batch_op.drop_column("progress")
        batch_op.drop_column("warnings")
        batch_op.drop_column("config")
        batch_op.drop_column("feature_set_version")
        batch_op.drop_column("strategy_version")

    op.drop_table("backtest_trades")
    op.drop_table("backtest_equity")
