"""accounts: sessions, API key scopes, consent

Revision ID: 2026_11_28_accounts
Revises: 2026_11_28_backtest_trades
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "2026_11_28_accounts"
down_revision: str | None = "2026_11_28_backtest_trades"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
