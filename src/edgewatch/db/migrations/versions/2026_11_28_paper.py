"""paper trading: accounts, orders, fills, positions, settlements and equity snapshots

Revision ID: 2026_11_28_paper
Revises: 2026_11_28_accounts
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import edgewatch.db.types

revision: str = "2026_11_28_paper"
down_revision: str | None = "2026_11_28_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("starting_balance", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("cash", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("fees_paid", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("turnover", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("realised_pnl", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("auto_trade", sa.Boolean(), nullable=False),
        sa.Column(
            "strategies",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("last_signal_id", sa.Integer(), nullable=False),
        sa.Column("min_confidence", sa.Float(), nullable=False),
        sa.Column("sizing", sa.String(length=8), nullable=False),
        sa.Column("kelly_fraction", sa.Numeric(precision=10, scale=6), nullable=False),
        sa.Column("max_market_exposure", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("max_total_exposure", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("daily_loss_limit", sa.Numeric(precision=20, scale=10), nullable=True),
        sa.Column("max_position", sa.Integer(), nullable=False),
        sa.Column("slippage", sa.Numeric(precision=10, scale=6), nullable=False),
        sa.Column("latency_seconds", sa.Float(), nullable=False),
        sa.Column("kill_switch", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("kill_switch_reason", sa.String(length=300), nullable=True),
        sa.Column("kill_switch_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("day_start", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("day_start_equity", sa.Numeric(precision=20, scale=10), nullable=True),
        sa.Column("stepped_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("sizing IN ('kelly', 'signal')", name=op.f("ck_paper_accounts_sizing")),
        sa.CheckConstraint("max_position > 0", name=op.f("ck_paper_accounts_max_position")),
        sa.CheckConstraint(
            "min_confidence >= 0 AND min_confidence <= 1",
            name=op.f("ck_paper_accounts_min_confidence"),
        ),
        sa.CheckConstraint(
            "starting_balance >= 0", name=op.f("ck_paper_accounts_starting_balance")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_paper_accounts_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_accounts")),
    )
    with op.batch_alter_table("paper_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_accounts_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "paper_equity",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("ts", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("equity", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("cash", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("positions_value", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("realised_pnl", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("unrealised_pnl", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_equity_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "ts", name=op.f("pk_paper_equity")),
    )
    op.create_table(
        "paper_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("action", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("limit_price", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("submitted_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("arrives_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("closed_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.CheckConstraint("action IN ('buy', 'sell')", name=op.f("ck_paper_orders_action")),
        sa.CheckConstraint("side IN ('yes', 'no')", name=op.f("ck_paper_orders_side")),
        sa.CheckConstraint("source IN ('signal', 'manual')", name=op.f("ck_paper_orders_source")),
        sa.CheckConstraint(
            "status IN ('pending', 'filled', 'partially_filled', 'rejected', 'cancelled')",
            name=op.f("ck_paper_orders_status"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_paper_orders_quantity")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_orders_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["market_id"],
            ["markets.id"],
            name=op.f("fk_paper_orders_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_paper_orders_signal_id_signals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_orders")),
    )
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_paper_orders_account_id_status", ["account_id", "status"], unique=False
        )

    op.create_table(
        "paper_positions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("contracts", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("trade_cash", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("trade_fees", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("opened_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("realised_pnl", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("updated_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_positions_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["market_id"],
            ["markets.id"],
            name=op.f("fk_paper_positions_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "market_id", name=op.f("pk_paper_positions")),
    )
    op.create_table(
        "paper_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("contracts", sa.Integer(), nullable=False),
        sa.Column("payout", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("pnl", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("settled_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_settlements_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["market_id"],
            ["markets.id"],
            name=op.f("fk_paper_settlements_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_settlements")),
    )
    with op.batch_alter_table("paper_settlements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_paper_settlements_account_id_id", ["account_id", "id"], unique=False
        )

    op.create_table(
        "paper_fills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("action", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("quote_price", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("fee", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("cash_flow", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("filled_at", edgewatch.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_fills_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["market_id"],
            ["markets.id"],
            name=op.f("fk_paper_fills_market_id_markets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["paper_orders.id"],
            name=op.f("fk_paper_fills_order_id_paper_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_fills")),
        sa.UniqueConstraint("order_id", name=op.f("uq_paper_fills_order_id")),
    )
    with op.batch_alter_table("paper_fills", schema=None) as batch_op:
        batch_op.create_index("ix_paper_fills_account_id_id", ["account_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("paper_fills", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_fills_account_id_id")

    op.drop_table("paper_fills")
    with op.batch_alter_table("paper_settlements", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_settlements_account_id_id")

    op.drop_table("paper_settlements")
    op.drop_table("paper_positions")
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_orders_account_id_status")

    op.drop_table("paper_orders")
    op.drop_table("paper_equity")
    with op.batch_alter_table("paper_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_accounts_owner_id"))

    op.drop_table("paper_accounts")
