"""Cross-venue links: proposing them from the catalogue, reviewing them, pinning them by file.

Review states move only by a person or the overrides file, never by the matcher:

* ``run_matching`` scores the open markets (``markets.matching``) and adds new links as
  ``proposed`` with source ``matcher``. An existing ``proposed`` matcher link gets its fresh
  confidence and relation; a ``confirmed`` or ``rejected`` link is never touched by a proposal.
* ``confirm`` / ``reject`` record the reviewer and time and append an audit entry in the caller's
  transaction (``link.confirmed`` / ``link.rejected``); repeating a decision changes nothing.
* The overrides file (JSON, see ``load_overrides`` and docs/matching.md) is applied on every run:
  ``pin`` makes a pair a confirmed link with the given relation, ``block`` rejects the pair (or
  keeps it from ever being proposed). Each change it makes is audited as ``link.pinned`` /
  ``link.blocked`` by ``system:link-overrides``.

Services flush, never commit: the request, CLI command or pipeline run owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from edgewatch.audit import service as audit
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.errors import InvalidInput, NotFound
from edgewatch.jobs.runner import PipelineContext, PipelineOutcome
from edgewatch.markets import repository
from edgewatch.markets.match_features import MatchInput
from edgewatch.markets.matching import PairScore, Proposal, propose, score_pair
from edgewatch.models import Market, MarketLink

MATCHER_SOURCE = "matcher"
OVERRIDES_SOURCE = "overrides"
OVERRIDES_ACTOR = "system:link-overrides"
OVERRIDES_FILE_NAME = "link-overrides.json"
DEFAULT_MIN_CONFIDENCE = 0.5
MAX_REASON_LENGTH = 1000

MarketRef = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Pin:
    a: MarketRef
    b: MarketRef
    relation: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Block:
    a: MarketRef
    b: MarketRef
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LinkOverrides:
    pins: tuple[Pin, ...] = ()
    blocks: tuple[Block, ...] = ()


@dataclass(slots=True)
class MatchRun:
    """What one matching run did; ``unresolved`` overrides name markets we do not have (yet)."""

    markets: int = 0
    proposals: int = 0
    added: int = 0
    refreshed: int = 0
    kept_reviewed: int = 0
    blocked_proposals: int = 0
    pinned: int = 0
    blocked: int = 0
    unresolved: list[str] = field(default_factory=list)

    def as_details(self) -> dict[str, Any]:
        return {
            "markets": self.markets,
            "proposals": self.proposals,
            "added": self.added,
            "refreshed": self.refreshed,
            "kept_reviewed": self.kept_reviewed,
            "blocked_proposals": self.blocked_proposals,
            "pinned": self.pinned,
            "blocked": self.blocked,
            "unresolved_overrides": self.unresolved,
        }


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A link with the markets on both of its ends."""

    link: MarketLink
    a: Market
    b: Market


@dataclass(frozen=True, slots=True)
class LinkDetail:
    """A link with both markets' latest quotes and the matcher's reasons, recomputed now."""

    link: MarketLink
    a: repository.MarketQuote
    b: repository.MarketQuote
    score: PairScore


# --- overrides file ------------------------------------------------------------------------------


def default_overrides_path(settings: Settings) -> Path:
    """Where the overrides file is read from unless a caller names another one."""
    return settings.data_dir / OVERRIDES_FILE_NAME


def _ref(value: object, *, where: str) -> MarketRef:
    if not isinstance(value, str) or ":" not in value:
        raise InvalidInput(f"{where}: expected 'venue:venue_market_id', got {value!r}")
    venue, market = value.split(":", 1)
    if not venue or not market:
        raise InvalidInput(f"{where}: expected 'venue:venue_market_id', got {value!r}")
    return venue, market


def _note(entry: dict[str, Any], where: str) -> str | None:
    note = entry.get("note")
    if note is not None and not isinstance(note, str):
        raise InvalidInput(f"{where}: 'note' must be a string")
    return note


def parse_overrides(text: str, *, source: str = "overrides") -> LinkOverrides:
    """Parse the overrides document; raises ``InvalidInput`` naming the bad entry."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{source}: not JSON ({exc})") from None
    if not isinstance(document, dict) or set(document) - {"pin", "block"}:
        raise InvalidInput(f"{source}: expected an object with 'pin' and/or 'block' lists")
    pins: list[Pin] = []
    blocks: list[Block] = []
    for kind in ("pin", "block"):
        entries = document.get(kind, [])
        if not isinstance(entries, list):
            raise InvalidInput(f"{source}: '{kind}' must be a list")
        for number, entry in enumerate(entries):
            where = f"{source}: {kind}[{number}]"
            if not isinstance(entry, dict):
                raise InvalidInput(f"{where}: expected an object")
            a, b = _ref(entry.get("a"), where=where), _ref(entry.get("b"), where=where)
            if a[0] == b[0]:
                raise InvalidInput(f"{where}: a link joins markets on two different venues")
            if kind == "block":
                blocks.append(Block(a=a, b=b, note=_note(entry, where)))
                continue
            relation = entry.get("relation", "same")
            if relation not in ("same", "complement"):
                raise InvalidInput(f"{where}: relation must be 'same' or 'complement'")
            pins.append(Pin(a=a, b=b, relation=relation, note=_note(entry, where)))
    pinned = {frozenset((p.a, p.b)) for p in pins}
    clash = [b for b in blocks if frozenset((b.a, b.b)) in pinned]
    if clash:
        pair = f"{':'.join(clash[0].a)} / {':'.join(clash[0].b)}"
        raise InvalidInput(f"{source}: pair {pair} is both pinned and blocked")
    return LinkOverrides(pins=tuple(pins), blocks=tuple(blocks))


def load_overrides(path: Path) -> LinkOverrides:
    """Read the overrides file; a missing file means no overrides."""
    if not path.exists():
        return LinkOverrides()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read link overrides {path}: {exc}") from None
    return parse_overrides(text, source=str(path))


# --- reading links -------------------------------------------------------------------------------


def _find_link(session: Session, a: int, b: int) -> MarketLink | None:
    return session.scalars(
        select(MarketLink).where(
            or_(
                and_(MarketLink.market_a_id == a, MarketLink.market_b_id == b),
                and_(MarketLink.market_a_id == b, MarketLink.market_b_id == a),
            )
        )
    ).first()


def get_link(session: Session, link_id: int) -> MarketLink:
    """The link ``link_id``; raises ``NotFound``."""
    link = session.get(MarketLink, link_id)
    if link is None:
        raise NotFound(f"Link {link_id} does not exist.")
    return link


def list_links(
    session: Session,
    *,
    limit: int,
    status: str | None = None,
    venue: str | None = None,
    min_confidence: float | None = None,
    after_id: int | None = None,
) -> list[LinkRow]:
    """Links ordered by id after ``after_id``; ``venue`` matches either end."""
    market_a, market_b = aliased(Market), aliased(Market)
    stmt = (
        select(MarketLink, market_a, market_b)
        .join(market_a, market_a.id == MarketLink.market_a_id)
        .join(market_b, market_b.id == MarketLink.market_b_id)
    )
    if status is not None:
        stmt = stmt.where(MarketLink.status == status)
    if venue is not None:
        stmt = stmt.where(or_(market_a.venue == venue, market_b.venue == venue))
    if min_confidence is not None:
        stmt = stmt.where(MarketLink.confidence >= min_confidence)
    if after_id is not None:
        stmt = stmt.where(MarketLink.id > after_id)
    rows = session.execute(stmt.order_by(MarketLink.id).limit(limit)).tuples().all()
    return [LinkRow(link=link, a=a, b=b) for link, a, b in rows]


def _match_input(market: Market) -> MatchInput:
    return MatchInput(
        key=market.id,
        venue=market.venue,
        title=market.title,
        rules=market.rules,
        category=market.category,
        close_time=market.close_time,
    )


def link_detail(session: Session, link_id: int) -> LinkDetail:
    """Both markets of a link side by side with the matcher's current reasons."""
    link = get_link(session, link_id)
    a = repository.get_market(session, link.market_a_id)
    b = repository.get_market(session, link.market_b_id)
    if a is None or b is None:  # the foreign keys cascade, so only a concurrent delete gets here
        raise NotFound(f"Link {link_id} does not exist.")
    score = score_pair(_match_input(a.market), _match_input(b.market))
    return LinkDetail(link=link, a=a, b=b, score=score)


# --- review --------------------------------------------------------------------------------------


def _decide(
    session: Session,
    link: MarketLink,
    *,
    status: str,
    actor: str,
    action: str,
    relation: str | None = None,
    extra: dict[str, str | None] | None = None,
) -> bool:
    """Record a review decision on ``link`` (new or stored) and audit it.

    Returns False, writing nothing, when the link already has that status and relation.
    """
    new = link.id is None
    relation = relation or link.relation
    if not new and (link.status, link.relation) == (status, relation):
        return False
    details: dict[str, Any] = {
        "previous_status": None if new else link.status,
        "previous_relation": None if new else link.relation,
    }
    link.status, link.relation = status, relation
    link.reviewed_at, link.reviewed_by = utcnow(), actor
    if new:
        session.add(link)
    session.flush()
    details |= {
        "status": status,
        "relation": relation,
        "confidence": link.confidence,
        "market_a_id": link.market_a_id,
        "market_b_id": link.market_b_id,
    }
    details |= {key: value for key, value in (extra or {}).items() if value}
    audit.append(
        session,
        actor=actor,
        action=action,
        subject_type="market_link",
        subject_id=link.id,
        details=details,
    )
    return True


def _reviewer(reviewer: str) -> str:
    cleaned = reviewer.strip()
    if not cleaned or len(cleaned) > 320:
        raise InvalidInput("reviewer must be 1 to 320 characters")
    return cleaned


def confirm(session: Session, link_id: int, *, reviewer: str) -> MarketLink:
    """Mark a link confirmed by ``reviewer`` (audited); confirming twice changes nothing.

    Raises ``NotFound`` for an unknown id.
    """
    link = get_link(session, link_id)
    _decide(session, link, status="confirmed", actor=_reviewer(reviewer), action="link.confirmed")
    return link


def reject(
    session: Session, link_id: int, *, reviewer: str, reason: str | None = None
) -> MarketLink:
    """Mark a link rejected by ``reviewer`` with an optional ``reason`` (audited).

    Rejecting twice changes nothing. Raises ``NotFound`` for an unknown id.
    """
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"reason must be at most {MAX_REASON_LENGTH} characters")
    link = get_link(session, link_id)
    _decide(
        session,
        link,
        status="rejected",
        actor=_reviewer(reviewer),
        action="link.rejected",
        extra={"reason": reason},
    )
    return link


# --- matching runs -------------------------------------------------------------------------------


def _resolve(session: Session, refs: set[MarketRef]) -> dict[MarketRef, int]:
    if not refs:
        return {}
    rows = session.execute(
        select(Market.venue, Market.venue_market_id, Market.id).where(
            tuple_(Market.venue, Market.venue_market_id).in_(sorted(refs))
        )
    ).tuples()
    return {(venue, vid): id_ for venue, vid, id_ in rows}


def apply_overrides(
    session: Session, overrides: LinkOverrides, run: MatchRun
) -> set[frozenset[int]]:
    """Apply pins and blocks; returns the blocked pairs (market ids) for the matcher to skip."""
    pairs = [(p.a, p.b) for p in overrides.pins] + [(b.a, b.b) for b in overrides.blocks]
    refs = {ref for pair in pairs for ref in pair}
    ids = _resolve(session, refs)
    run.unresolved = sorted(f"{venue}:{vid}" for venue, vid in refs - ids.keys())
    for pin in overrides.pins:
        if pin.a not in ids or pin.b not in ids:
            continue
        a, b = ids[pin.a], ids[pin.b]
        link = _find_link(session, a, b) or MarketLink(
            market_a_id=a,
            market_b_id=b,
            relation=pin.relation,
            confidence=1.0,
            source=OVERRIDES_SOURCE,
        )
        if _decide(
            session,
            link,
            status="confirmed",
            actor=OVERRIDES_ACTOR,
            action="link.pinned",
            relation=pin.relation,
            extra={"note": pin.note},
        ):
            run.pinned += 1
    blocked: set[frozenset[int]] = set()
    for block in overrides.blocks:
        if block.a not in ids or block.b not in ids:
            continue
        a, b = ids[block.a], ids[block.b]
        blocked.add(frozenset((a, b)))
        existing = _find_link(session, a, b)
        if existing is not None and _decide(
            session,
            existing,
            status="rejected",
            actor=OVERRIDES_ACTOR,
            action="link.blocked",
            extra={"note": block.note},
        ):
            run.blocked += 1
    return blocked


def _open_markets(session: Session) -> list[MatchInput]:
    markets = session.scalars(select(Market).where(Market.status == "open").order_by(Market.id))
    return [_match_input(market) for market in markets]


def _existing(session: Session, proposals: Sequence[Proposal]) -> dict[frozenset[int], MarketLink]:
    found: dict[frozenset[int], MarketLink] = {}
    pairs = [(p.a, p.b) for p in proposals] + [(p.b, p.a) for p in proposals]
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        for link in session.scalars(
            select(MarketLink).where(
                tuple_(MarketLink.market_a_id, MarketLink.market_b_id).in_(chunk)
            )
        ):
            found[frozenset((link.market_a_id, link.market_b_id))] = link
    return found


def run_matching(
    session: Session,
    *,
    overrides: LinkOverrides | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    window_days: float = 14.0,
    progress: Callable[[int, int], None] | None = None,
) -> MatchRun:
    """Apply the overrides, then propose links between the open markets of different venues.

    ``progress(done, total)`` reports the markets compared so far.
    """
    run = MatchRun()
    blocked = apply_overrides(session, overrides or LinkOverrides(), run)
    markets = _open_markets(session)
    run.markets = len(markets)
    proposals = propose(
        markets, min_confidence=min_confidence, window_days=window_days, progress=progress
    )
    run.proposals = len(proposals)
    existing = _existing(session, proposals)
    for proposal in proposals:
        pair = frozenset((proposal.a, proposal.b))
        if pair in blocked:
            run.blocked_proposals += 1
            continue
        link = existing.get(pair)
        if link is None:
            session.add(
                MarketLink(
                    market_a_id=proposal.a,
                    market_b_id=proposal.b,
                    relation=proposal.relation,
                    confidence=proposal.confidence,
                    status="proposed",
                    source=MATCHER_SOURCE,
                )
            )
            run.added += 1
        elif link.status != "proposed" or link.source != MATCHER_SOURCE:
            run.kept_reviewed += 1
        elif (link.confidence, link.relation) != (proposal.confidence, proposal.relation):
            link.confidence, link.relation = proposal.confidence, proposal.relation
            run.refreshed += 1
    session.flush()
    return run


def match_markets_step(session: Session, context: PipelineContext) -> PipelineOutcome:
    """The ``match-markets`` pipeline step: overrides from the data directory, then matching."""
    overrides = load_overrides(default_overrides_path(context.settings))
    run = run_matching(session, overrides=overrides)
    return PipelineOutcome(
        rows_in=run.markets, rows_stored=run.added + run.refreshed, details=run.as_details()
    )
