"""The ``paper-trade`` pipeline step: every paper account, stepped to the pipeline's ``now``.

Runs after ``generate-signals``: new signals become orders, pending orders fill against the quotes
that arrived since the last run, resolved markets settle. One transaction for all accounts (the
runner's); each account row is locked while it is stepped, so a manual order placed meanwhile
waits rather than racing it. Re-running with the same ``now`` changes nothing: signals are taken
once (each account keeps a cursor), an order fills once, and a flat market settles to nothing.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from edgewatch.jobs.runner import PipelineContext, PipelineOutcome
from edgewatch.paper import repository, service


def paper_trade_step(session: Session, context: PipelineContext) -> PipelineOutcome:
    declined: Counter[str] = Counter()
    signals = orders = fills = settlements = tripped = 0
    for account_id in repository.all_account_ids(session):
        summary = service.step_account(session, account_id, now=context.now)
        signals += summary.signals
        orders += summary.orders
        fills += summary.fills
        settlements += summary.settlements
        tripped += summary.tripped
        declined.update(summary.declined)
    return PipelineOutcome(
        rows_in=signals,
        rows_stored=orders + fills + settlements,
        details={
            "orders": orders,
            "fills": fills,
            "settlements": settlements,
            "kill_switches_tripped": tripped,
            "declined": dict(declined),
        },
    )
