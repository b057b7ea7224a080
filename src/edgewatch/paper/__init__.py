"""Paper trading: accounts that trade signals (and manual orders) against live quotes.

* ``policy`` — pure: which signals to trade and how many contracts (fractional Kelly, exposure
  caps); also usable as a backtest sizer;
* ``engine`` — pure: one account stepped forward in time through the backtest's own money path
  (``backtest.execution.Executor``: fills, fees, caps, settlement), with the daily-loss kill switch;
* ``service`` / ``repository`` — the database edge: accounts, orders, fills, positions,
  settlements, equity snapshots, audit entries;
* ``router`` (``/api/v1/paper``), ``cli`` (``edgewatch paper``), ``tasks`` (the ``paper-trade``
  pipeline step).
"""
