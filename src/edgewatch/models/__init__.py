"""Every ORM table, in one package so that capabilities can import each other's tables freely."""

from edgewatch.models.account import ApiKey, User, UserConsent, UserIdentity, UserSession
from edgewatch.models.alert import Alert
from edgewatch.models.audit import AuditEntry
from edgewatch.models.backtest import BacktestRun
from edgewatch.models.base import Base
from edgewatch.models.candle import Candle
from edgewatch.models.market import Market, MarketLink
from edgewatch.models.paper import PaperAccount, PaperFill, PaperOrder, PaperPosition
from edgewatch.models.pipeline import PipelineRun, RejectedRecord
from edgewatch.models.quality import QualityFinding
from edgewatch.models.signal import Signal
from edgewatch.models.tick import OddsTick

__all__ = [
    "Alert",
    "ApiKey",
    "AuditEntry",
    "BacktestRun",
    "Base",
    "Candle",
    "Market",
    "MarketLink",
    "OddsTick",
    "PaperAccount",
    "PaperFill",
    "PaperOrder",
    "PaperPosition",
    "PipelineRun",
    "QualityFinding",
    "RejectedRecord",
    "Signal",
    "User",
    "UserConsent",
    "UserIdentity",
    "UserSession",
]
