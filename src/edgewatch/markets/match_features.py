"""What the cross-venue matcher reads from one market: normalised title words, numbers, dates,
entities, polarity and category (``features``), extracted once per market.

Kept apart from the scoring in ``matching``: this is the language side (months, synonyms,
negations, thresholds written as ``$64,000`` or ``64k``), that is the arithmetic of comparing two
markets' features.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_MD = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?")
_DATE_DM = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b(?:,?\s+(\d{{4}}))?"
)
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\s*([ap]m)?\b")
_YEAR = re.compile(r"(?<![\d$.,])((?:19|20)\d{2})(?![\d%k])")
_NUMBER = re.compile(r"(\$)?(\d+(?:,\d{3})*(?:\.\d+)?)\s*(k|m|bn|b|%|\+)?(?![\w])", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9$%.+]+")
# Ingest names the outcome a market's YES stands for after an em dash when it is not "Yes"
# ("Bitcoin Up or Down - March 12 — Up"); a plain hyphen is part of the title.
_OUTCOME_SUFFIX = re.compile(r"\s+—\s+([^—]+)$")

_STOPWORDS = _words(
    "a an the will be is are was of on in at by to for and or if this that market resolve resolves "
    "yes no than as with from its it their there what which who when how does do price value"
)
_SYNONYMS = {
    "btc": "bitcoin",
    "eth": "ethereum",
    "sol": "solana",
    "fed": "federal",
    "gop": "republican",
    "dem": "democratic",
    "dems": "democratic",
    "democrat": "democratic",
    "democrats": "democratic",
    "republicans": "republican",
    "us": "usa",
    "u.s.": "usa",
    "u.s": "usa",
    "united": "usa",
    "potus": "president",
    "presidential": "president",
    "nomination": "nominee",
    "wins": "win",
    "winning": "win",
    "won": "win",
}
_UP = _words(
    "above over higher more exceed exceeds exceeding greater least rise rises up increase gain "
    "reach reaches hit hits top tops beat"
)
_DOWN = _words("below under lower less fewer most fall falls drop drops down decrease lose")
_NEGATIONS = ("not ", "n't ", "never ", "fail to ", "fails to ", "no longer ", "without ")
_CAPITAL_STOP = _words(
    "will the a an in on by before after yes no et pt est edt utc up down over under above below "
    "who what which when how is are does do be at of for to and or if this"
) | frozenset(_MONTHS)
_CATEGORY_GROUPS = {
    "crypto": ("crypto", "bitcoin", "ethereum", "solana", "btc", "eth"),
    "politics": ("politic", "election", "president", "congress", "senate", "government"),
    "economics": ("econom", "fed", "inflation", "rates", "cpi", "gdp", "jobs", "financ"),
    "sports": ("sport", "nfl", "nba", "mlb", "nhl", "soccer", "football", "tennis", "esport"),
    "climate": ("climate", "weather", "temperature"),
    "culture": ("culture", "entertainment", "music", "movie", "award"),
    "tech": ("tech", "science", "ai"),
}


@dataclass(frozen=True, slots=True)
class MatchInput:
    """One market as the matcher sees it; ``key`` is the caller's id (our market id)."""

    key: int
    venue: str
    title: str
    rules: str | None = None
    category: str | None = None
    close_time: datetime | None = None


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


def _number_value(raw: str, suffix: str | None) -> str:
    value = float(raw.replace(",", ""))
    unit = (suffix or "").lower()
    value *= {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9}.get(unit, 1.0)
    label = f"{value:.10g}"
    # A dollar sign is dropped on purpose: "$64,000" and "64,000" name the same threshold.
    return label + "%" if unit == "%" else label


@dataclass(frozen=True, slots=True)
class Bag:
    """Term weights with their Euclidean norm, computed once per market."""

    weights: dict[str, float]
    norm: float

    @classmethod
    def of(cls, weights: dict[str, float]) -> Bag:
        return cls(weights, math.sqrt(math.fsum(v * v for v in weights.values())))


@dataclass(frozen=True, slots=True)
class Features:
    """What the scorer needs from one market, computed once."""

    title: str
    outcome: str | None
    words: Bag
    grams: Bag
    rules_words: Bag
    numbers: frozenset[str]
    days: frozenset[str]
    years: frozenset[str]
    entities: frozenset[str]
    polarity: int
    direction: int
    category: str | None
    close_time: datetime | None


def _dates(text: str) -> tuple[set[str], set[str], str]:
    """Month-day dates and years in ``text``, and the text with them (and clock times) removed."""
    days: set[str] = set()
    years: set[str] = set()

    def month_day(month: int, day: str, year: str | None) -> str:
        if year:
            years.add(year)
        days.add(f"{month:02d}-{int(day):02d}")
        return " "

    text = _DATE_ISO.sub(lambda m: month_day(int(m[2]), m[3], m[1]), text)
    text = _DATE_MD.sub(lambda m: month_day(_MONTHS[m[1]], m[2], m[3]), text)
    text = _DATE_DM.sub(lambda m: month_day(_MONTHS[m[2]], m[1], m[3]), text)
    text = _TIME.sub(" ", text)
    years.update(_YEAR.findall(text))
    text = _YEAR.sub(" ", text)
    return days, years, text


def _tokens(text: str) -> list[str]:
    words = []
    for raw in _WORD.findall(text):
        word = raw.strip(".")
        if not word or word in _STOPWORDS:
            continue
        word = _SYNONYMS.get(word, word)
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words


def _polarity(body: str, outcome: str | None) -> tuple[int, int]:
    """(direction, polarity): direction +1 up / −1 down / 0 none; polarity adds negation."""
    words = set(re.findall(r"[a-z]+", body))
    up = bool(words & _UP) or bool(re.search(r"(?:>|≥)\s*\$?\d", body))
    down = bool(words & _DOWN) or bool(re.search(r"(?:<|≤)\s*\$?\d", body))
    if re.search(r"\d\+", body) or "or more" in body:
        up = True
    direction = 0 if up == down else (1 if up else -1)
    padded = f" {body} "
    negated = sum(padded.count(" " + n) for n in _NEGATIONS) + padded.count("n't ")
    sign = -1 if negated % 2 else 1
    if outcome is not None:
        word = outcome.strip().lower()
        if word in ("no", "down", "under"):
            sign = -sign
        if direction == 0 and word in ("up", "down", "over", "under"):
            direction = 1 if word in ("up", "over") else -1
            sign = 1
    return direction, (direction or 1) * sign


def _category_group(category: str | None) -> str | None:
    if not category:
        return None
    lowered = category.lower()
    for group, needles in _CATEGORY_GROUPS.items():
        if any(needle in lowered for needle in needles):
            return group
    return lowered


def features(market: MatchInput) -> Features:
    """Extract the scoring features of one market (pure; cheap enough to run per market)."""
    title = market.title
    outcome = None
    suffix = _OUTCOME_SUFFIX.search(title)
    if suffix and len(suffix[1].split()) <= 3:
        outcome = suffix[1].strip()
        title = title[: suffix.start()]
    normal = _normalise(title)
    days, years, rest = _dates(normal)
    numbers = {_number_value(m[2], m[3]) for m in _NUMBER.finditer(rest)}
    body = _NUMBER.sub(lambda m: f" {_number_value(m[2], m[3])} ", rest)
    words = _tokens(body) + sorted(f"d:{d}" for d in days) + sorted(f"y:{y}" for y in years)
    if outcome:
        words.append(f"o:{_SYNONYMS.get(outcome.lower(), outcome.lower())}")
    padded = f"  {re.sub(r'[^a-z0-9]+', ' ', normal).strip()}  "
    grams = Counter(padded[i : i + 3] for i in range(len(padded) - 2))
    entities = {
        _SYNONYMS.get(word.lower(), word.lower())
        for word in re.findall(r"\b[A-Z][A-Za-z0-9.&']+", title)
        if word.lower().strip(".") not in _CAPITAL_STOP
    }
    direction, polarity = _polarity(normal, outcome)
    rules_words: Counter[str] = Counter()
    if market.rules:
        _, _, rules_rest = _dates(_normalise(market.rules))
        rules_words.update(_tokens(rules_rest))
    return Features(
        title=normal,
        outcome=outcome,
        words=Bag.of({w: 2.0 if (w[0].isdigit() or ":" in w) else 1.0 for w in words}),
        grams=Bag.of({g: float(n) for g, n in grams.items()}),
        rules_words=Bag.of({w: float(n) for w, n in rules_words.items()}),
        numbers=frozenset(numbers),
        days=frozenset(days),
        years=frozenset(years),
        entities=frozenset(entities),
        polarity=polarity,
        direction=direction,
        category=_category_group(market.category),
        close_time=market.close_time,
    )
