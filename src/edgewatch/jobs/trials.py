"""Sweep trials on Celery workers: ``backtest sweep`` and walk-forward fan out over the
``backtests`` queue when a broker is configured, and the result is the same as locally.

Each message names the trial — strategy, parameters, engine settings, seed, the data window and
the data's fingerprint — not the data: the worker reads the window from the database itself (once
per window per process) and refuses to replay if its fingerprint differs, so a trial never runs
on other data than the caller saw. Replays are deterministic, so the outcome is the one a local
process would compute.

The outcome travels back through the result backend as a pickle, because it is the engine's own
object graph; pickles are never accepted from the broker as such (messages are JSON). The pickle
is wrapped in a signature made with ``EDGEWATCH_SECRET_KEY``, and the caller unpickles only what
verifies: someone able to write to Redis still cannot make the caller run code.
"""

from __future__ import annotations

import base64
import pickle
import threading
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from celery import shared_task
from celery.result import AsyncResult
from itsdangerous import BadSignature, Signer

from edgewatch.backtest.run_config import config_from_json
from edgewatch.backtest.service import (
    BacktestInputs,
    Outcome,
    execute,
    load_inputs,
)
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.errors import EdgewatchError, InvalidInput
from edgewatch.jobs.celery_app import BACKTESTS_QUEUE, TRIAL_TASK, producer_app
from edgewatch.observability.logging import get_logger

log = get_logger(__name__)
SIGNER_SALT = "edgewatch.backtest-trial-outcome"

_inputs_cache: dict[tuple[str, str, str], BacktestInputs] = {}
_inputs_guard = threading.Lock()


def _signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key.get_secret_value(), salt=SIGNER_SALT)


def pack_outcome(outcome: Outcome, settings: Settings) -> str:
    payload = base64.b64encode(zlib.compress(pickle.dumps(outcome, protocol=5)))
    return _signer(settings).sign(payload).decode("ascii")


def unpack_outcome(packed: str, settings: Settings) -> Outcome:
    """The outcome a worker sent; ``EdgewatchError`` if its signature does not verify."""
    try:
        payload = _signer(settings).unsign(packed.encode("ascii"))
    except BadSignature:
        raise EdgewatchError(
            "a sweep trial result failed its signature check: the worker and this process must "
            "share EDGEWATCH_SECRET_KEY"
        ) from None
    outcome = pickle.loads(zlib.decompress(base64.b64decode(payload)))
    if not isinstance(outcome, Outcome):
        raise EdgewatchError("a sweep trial result is not a backtest outcome")
    return outcome


def _window_inputs(start: datetime, end: datetime, fingerprint: str) -> BacktestInputs:
    from edgewatch.jobs.tasks import runtime

    key = (start.isoformat(), end.isoformat(), fingerprint)
    with _inputs_guard:
        cached = _inputs_cache.get(key)
        if cached is not None:
            return cached
        with session_scope(runtime().factory) as session:
            inputs = load_inputs(session, start=start, end=end)
        if inputs.fingerprint != fingerprint:
            raise InvalidInput(
                "the stored data of the sweep's window changed after the sweep started; "
                "run the sweep again"
            )
        _inputs_cache.clear()  # one window at a time: sweeps replay one window many times
        _inputs_cache[key] = inputs
        return inputs


@shared_task(name=TRIAL_TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def run_trial(
    strategy: str,
    params: dict[str, Any],
    config: dict[str, Any],
    seed: int,
    start: str,
    end: str,
    fingerprint: str,
) -> str:
    """Replay one grid point of a sweep; returns the signed, packed ``Outcome``."""
    from edgewatch.jobs.tasks import runtime

    inputs = _window_inputs(datetime.fromisoformat(start), datetime.fromisoformat(end), fingerprint)
    outcome = execute(
        strategy=strategy,
        params=params,
        inputs=inputs,
        config=config_from_json(config),
        seed=seed,
    )
    return pack_outcome(outcome, runtime().settings)


class CeleryTrials:
    """Runs a sweep's trials on Celery workers (``sweep.run_trials``' remote executor)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = producer_app(settings)

    def run(
        self,
        inputs: BacktestInputs,
        *,
        strategy: str,
        points: Sequence[dict[str, Any]],
        config: dict[str, Any],
        seed: int,
        on_trial: Any = None,
    ) -> list[Outcome]:
        """Outcomes in the order of ``points``; Ctrl-C revokes the trials not yet collected."""
        results: list[AsyncResult[Any]] = [
            self.app.send_task(
                TRIAL_TASK,
                kwargs={
                    "strategy": strategy,
                    "params": point,
                    "config": config,
                    "seed": seed,
                    "start": inputs.start.isoformat(),
                    "end": inputs.end.isoformat(),
                    "fingerprint": inputs.fingerprint,
                },
                queue=BACKTESTS_QUEUE,
                ignore_result=False,
            )
            for point in points
        ]
        log.info("sweep_trials_queued", trials=len(results), queue=BACKTESTS_QUEUE)
        outcomes: list[Outcome] = []
        wait = self.settings.task_time_limit_seconds * max(1, len(points))
        try:
            for result in results:
                packed = result.get(timeout=wait, propagate=True)
                outcomes.append(unpack_outcome(packed, self.settings))
                result.forget()
                if on_trial is not None:
                    on_trial(len(outcomes), len(points))
        except BaseException:
            pending = [r.id for r in results[len(outcomes) :]]
            if pending:
                self.app.control.revoke(pending)
            raise
        return outcomes
