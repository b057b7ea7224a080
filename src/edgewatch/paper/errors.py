"""Why a paper order is refused, each named for what the caller can do about it.

All are ``Conflict`` (409): the order is well formed but clashes with the account or the market
as they are now. ``FeeUnknown`` (422, from ``edgewatch.errors``) and ``NotFound`` (404) are used
as they are. Each has its own problem ``code`` so clients can tell them apart::

    Conflict
    ├── InsufficientCash      insufficient-cash      order fewer contracts, or at a lower limit
    ├── KillSwitchOn          kill-switch-on         turn the kill switch off first
    ├── NoQuote               no-quote               wait for the market to quote again
    ├── MarketNotTradable     market-not-tradable    the market has closed or resolved
    ├── PositionLimit         position-limit         the per-market contract cap is reached
    └── NothingToSell         nothing-to-sell        sell only contracts held
"""

from __future__ import annotations

from edgewatch.errors import Conflict


class InsufficientCash(Conflict):
    code = "insufficient-cash"


class KillSwitchOn(Conflict):
    code = "kill-switch-on"


class NoQuote(Conflict):
    code = "no-quote"


class MarketNotTradable(Conflict):
    code = "market-not-tradable"


class PositionLimit(Conflict):
    code = "position-limit"


class NothingToSell(Conflict):
    code = "nothing-to-sell"
