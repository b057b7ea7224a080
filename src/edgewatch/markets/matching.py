"""Proposing cross-venue links: which markets on two venues resolve on the same question.

Pure: takes ``MatchInput`` records, returns ``Proposal`` records; no database, no I/O. What is read
from each market is in ``match_features``.

How a pair is scored (``score_pair``; the same function the batch matcher uses, so a reviewer can
recompute any stored confidence from the two markets alone):

* text — cosine of word tokens (numbers and dates kept as tokens, weighted double) and of
  character 3-grams of the titles; word cosine of the rules when both venues publish them; Jaccard
  overlap of named entities (capitalised words of the titles);
* thresholds — the numbers of the titles (``$64,000``, ``64k``, ``3.5%``, ``4+``): different
  numbers mean a different contract and cut the confidence hard;
* dates — month/day and years named in the titles, then close times: a different date means a
  different contract; close times further apart lower the confidence;
* category — mapped to a coarse group (crypto, politics, ...) since venues name them differently;
* relation — the polarity of each title (``above``/``below``, ``stay below``/``finish above``,
  ``not``, ``fail to``, an outcome suffix ``— No``/``— Down``): opposite polarity is ``complement``.

Every factor that fired is returned as a ``Reason`` so a reviewer sees why. The confidence is in
[0, 1] and symmetric: ``score_pair(a, b).confidence == score_pair(b, a).confidence``.

Batch matching (``propose``) never compares every pair in Python: markets are sorted by close time,
taken in chunks, and compared only with the other venue's markets that close within
``window_days`` (markets without a close time are compared with everything); inside a chunk one
TF-IDF matrix product ranks candidates, and only the best few per market are scored in full.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from edgewatch.markets.match_features import Bag, Features, MatchInput, features

Relation = Literal["same", "complement"]
Verdict = Literal["match", "mismatch", "info"]


TITLE_WEIGHT, RULES_WEIGHT, ENTITY_WEIGHT = 0.55, 0.2, 0.25
_RIGHT_SLICE = 2048


@dataclass(frozen=True, slots=True)
class Reason:
    """One signal that moved the confidence: ``factor`` multiplies it (1.0 = no effect)."""

    signal: str
    verdict: Verdict
    detail: str
    factor: float = 1.0


@dataclass(frozen=True, slots=True)
class PairScore:
    relation: Relation
    confidence: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed link: ``a`` is on the alphabetically first venue of the two."""

    a: int
    b: int
    relation: Relation
    confidence: float
    reasons: tuple[Reason, ...]


def _cosine(a: Bag, b: Bag) -> float:
    if not a.norm or not b.norm:
        return 0.0
    # Summing over the shared keys in sorted order makes the result exactly symmetric.
    wa, wb = a.weights, b.weights
    dot = sum(wa[k] * wb[k] for k in sorted(wa.keys() & wb.keys()))
    return min(1.0, dot / (a.norm * b.norm))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def _compare_sets(
    name: str, a: frozenset[str], b: frozenset[str], *, differ: float, one_sided: float
) -> Reason | None:
    if a and b:
        if a == b:
            return Reason(name, "match", f"same {name}: {', '.join(sorted(a))}")
        if a & b:
            detail = f"{name} partly differ: {', '.join(sorted(a ^ b))}"
            return Reason(name, "mismatch", detail, math.sqrt(differ))
        detail = f"different {name}: {', '.join(sorted(a))} vs {', '.join(sorted(b))}"
        return Reason(name, "mismatch", detail, differ)
    if a or b:
        return Reason(name, "info", f"{name} named on one side only", one_sided)
    return None


def score_features(a: Features, b: Features, *, window_days: float = 14.0) -> PairScore:
    """Score two markets' features; see the module docstring for the signals."""
    reasons: list[Reason] = []
    title_sim = 0.5 * _cosine(a.words, b.words) + 0.5 * _cosine(a.grams, b.grams)
    reasons.append(Reason("title", "info", f"title similarity {title_sim:.2f}"))
    weights = {"title": TITLE_WEIGHT, "rules": RULES_WEIGHT, "entities": ENTITY_WEIGHT}
    parts = {"title": title_sim}
    if a.rules_words.norm and b.rules_words.norm:
        parts["rules"] = _cosine(a.rules_words, b.rules_words)
        reasons.append(Reason("rules", "info", f"rules similarity {parts['rules']:.2f}"))
    if a.entities or b.entities:
        parts["entities"] = _jaccard(a.entities, b.entities)
        shared = sorted(a.entities & b.entities)
        if shared:
            reasons.append(Reason("entities", "match", f"shared names: {', '.join(shared)}"))
        elif a.entities and b.entities:
            reasons.append(Reason("entities", "mismatch", "no shared named entity", 0.5))
        only_a, only_b = sorted(a.entities - b.entities), sorted(b.entities - a.entities)
        if shared and only_a and only_b:
            # Each side names someone the other does not: likely another candidate or team.
            detail = f"names differ: {', '.join(only_a)} vs {', '.join(only_b)}"
            factor = 0.4 + 0.6 * parts["entities"]
            reasons.append(Reason("entities", "mismatch", detail, factor))
    total = sum(weights[k] for k in parts)
    text = sum(weights[k] * v for k, v in sorted(parts.items())) / total
    # Paraphrases of one question rarely exceed ~0.8 text similarity; stretch so they score high.
    confidence = min(1.0, text / 0.75)
    for reason in (
        _compare_sets("thresholds", a.numbers, b.numbers, differ=0.15, one_sided=0.85),
        _compare_sets("dates", a.days, b.days, differ=0.15, one_sided=0.95),
        _compare_sets("years", a.years, b.years, differ=0.2, one_sided=0.97),
    ):
        if reason is not None:
            reasons.append(reason)
    if a.close_time is not None and b.close_time is not None:
        gap = abs((a.close_time - b.close_time).total_seconds()) / 86_400
        if gap <= 1.0:
            reasons.append(Reason("close_time", "match", f"close times {gap:.1f} days apart"))
        else:
            factor = max(0.3, 1.0 - 0.5 * (gap - 1.0) / max(window_days, 1.0))
            detail = f"close times {gap:.1f} days apart"
            reasons.append(Reason("close_time", "mismatch", detail, factor))
    if a.category and b.category:
        if a.category == b.category:
            reasons.append(Reason("category", "match", f"both {a.category}"))
        else:
            detail = f"categories differ: {a.category} vs {b.category}"
            reasons.append(Reason("category", "mismatch", detail, 0.85))
    relation: Relation = "same" if a.polarity == b.polarity else "complement"
    if relation == "complement":
        reasons.append(Reason("relation", "info", "opposite phrasing: YES on one is NO on other"))
    if (a.direction == 0) != (b.direction == 0):
        reasons.append(Reason("direction", "info", "direction stated on one side only", 0.9))
    for reason in reasons:
        confidence *= reason.factor
    confidence = round(min(1.0, max(0.0, confidence)), 6)
    return PairScore(relation=relation, confidence=confidence, reasons=tuple(reasons))


def score_pair(a: MatchInput, b: MatchInput, *, window_days: float = 14.0) -> PairScore:
    """Score one pair of markets; the confidence is in [0, 1] and symmetric in ``a`` and ``b``."""
    return score_features(features(a), features(b), window_days=window_days)


class _Vectors:
    """L2-normalised TF-IDF rows over word tokens and character 3-grams, stored sparsely."""

    def __init__(self, docs: Sequence[Features]) -> None:
        vocabulary: dict[str, int] = {}
        rows: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
        for doc in docs:
            terms = {f"w:{k}": v for k, v in doc.words.weights.items()}
            terms.update({f"g:{k}": v for k, v in doc.grams.weights.items()})
            ids = np.fromiter(
                (vocabulary.setdefault(t, len(vocabulary)) for t in terms), dtype=np.int64
            )
            rows.append((ids, np.fromiter(terms.values(), dtype=np.float64)))
        every = [ids for ids, _ in rows]
        df = np.bincount(np.concatenate(every) if every else [], minlength=len(vocabulary))
        idf = np.log((1 + len(docs)) / (1 + df)) + 1.0
        self.rows = []
        for ids, counts in rows:
            weights = (1 + np.log(counts)) * idf[ids]
            weights /= np.linalg.norm(weights) or 1.0
            self.rows.append((ids, weights))

    def dense(self, indices: Sequence[int], columns: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """Rows ``indices`` restricted to the (sorted) ``columns``, as a dense float32 matrix."""
        out = np.zeros((len(indices), len(columns)), dtype=np.float32)
        for r, index in enumerate(indices):
            ids, weights = self.rows[index]
            pos = np.searchsorted(columns, ids)
            pos = np.minimum(pos, len(columns) - 1)
            keep = columns[pos] == ids
            out[r, pos[keep]] = weights[keep]
        return out


def _blocks(
    left: Sequence[MatchInput], right: Sequence[MatchInput], *, window_days: float, chunk: int
) -> Iterable[tuple[list[int], list[int]]]:
    """Chunks of ``left`` (by close time) with the indices of ``right`` that close nearby."""
    window = window_days * 86_400

    def stamps(items: Sequence[MatchInput]) -> npt.NDArray[np.float64]:
        return np.array(
            [m.close_time.timestamp() if m.close_time else np.nan for m in items], dtype=float
        )

    ls, rs = stamps(left), stamps(right)
    r_order = np.argsort(rs, kind="stable")
    r_sorted = rs[r_order]
    r_dated = int(np.count_nonzero(~np.isnan(r_sorted)))
    r_undated = r_order[r_dated:].tolist()
    l_order = np.argsort(ls, kind="stable")
    for start in range(0, len(left), chunk):
        indices = l_order[start : start + chunk]
        times = ls[indices]
        if np.isnan(times).any():
            yield indices.tolist(), list(range(len(right)))
            continue
        lo = np.searchsorted(r_sorted[:r_dated], times.min() - window, side="left")
        hi = np.searchsorted(r_sorted[:r_dated], times.max() + window, side="right")
        yield indices.tolist(), r_order[lo:hi].tolist() + r_undated


def propose(
    markets: Sequence[MatchInput],
    *,
    min_confidence: float = 0.5,
    window_days: float = 14.0,
    candidates_per_market: int = 5,
    candidate_floor: float = 0.2,
    one_to_one: bool = True,
    chunk: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> list[Proposal]:
    """Propose links between markets of different venues, best first.

    ``progress(done, total)`` is called after each chunk of markets. With ``one_to_one`` each
    market keeps only its most confident link (ties broken by ids), as a question is listed once
    per venue.
    """
    by_venue: dict[str, list[int]] = {}
    for index, market in enumerate(markets):
        by_venue.setdefault(market.venue, []).append(index)
    venues = sorted(by_venue)
    feats = [features(m) for m in markets]
    vectors = _Vectors(feats)
    pairs = [(v, w) for i, v in enumerate(venues) for w in venues[i + 1 :]]
    total = sum(len(by_venue[v]) for v, _ in pairs)
    done = 0
    scored: dict[tuple[int, int], PairScore] = {}
    for venue_a, venue_b in pairs:
        left = [markets[i] for i in by_venue[venue_a]]
        right = [markets[i] for i in by_venue[venue_b]]
        for l_idx, r_idx in _blocks(left, right, window_days=window_days, chunk=chunk):
            gl = [by_venue[venue_a][i] for i in l_idx]
            columns = np.unique(np.concatenate([vectors.rows[i][0] for i in gl]))
            dense_left = vectors.dense(gl, columns)
            # The other side in slices, so a wide window never builds one huge matrix.
            for start in range(0, len(r_idx), _RIGHT_SLICE):
                gr = [by_venue[venue_b][i] for i in r_idx[start : start + _RIGHT_SLICE]]
                sims = dense_left @ vectors.dense(gr, columns).T
                _collect(
                    sims, gl, gr, feats, scored, candidates_per_market, candidate_floor, window_days
                )
            done += len(l_idx)
            if progress is not None:
                progress(done, total)
    proposals = [
        Proposal(
            a=markets[a].key,
            b=markets[b].key,
            relation=s.relation,
            confidence=s.confidence,
            reasons=s.reasons,
        )
        for (a, b), s in scored.items()
        if s.confidence >= min_confidence
    ]
    proposals.sort(key=lambda p: (-p.confidence, p.a, p.b))
    if one_to_one:
        taken: set[int] = set()
        kept = []
        for proposal in proposals:
            if proposal.a not in taken and proposal.b not in taken:
                kept.append(proposal)
                taken.update((proposal.a, proposal.b))
        proposals = kept
    return proposals


def _collect(
    sims: npt.NDArray[Any],
    gl: list[int],
    gr: list[int],
    feats: Sequence[Features],
    scored: dict[tuple[int, int], PairScore],
    per_market: int,
    floor: float,
    window_days: float,
) -> None:
    """Score in full the best candidates of each row and of each column of ``sims``."""
    k_row = min(per_market, sims.shape[1])
    k_col = min(per_market, sims.shape[0])
    rows = np.argpartition(-sims, k_row - 1, axis=1)[:, :k_row]
    cols = np.argpartition(-sims, k_col - 1, axis=0)[:k_col, :]
    candidates = {(i, int(j)) for i in range(sims.shape[0]) for j in rows[i]}
    candidates |= {(int(i), j) for j in range(sims.shape[1]) for i in cols[:, j]}
    for i, j in candidates:
        if sims[i, j] < floor:
            continue
        key = (gl[i], gr[j])
        if key not in scored:
            scored[key] = score_features(feats[gl[i]], feats[gr[j]], window_days=window_days)
