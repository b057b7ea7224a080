"""The matcher on realistic cross-venue titles, its invariants, and its batch path."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.markets.match_features import MatchInput
from edgewatch.markets.matching import propose, score_pair
from edgewatch.venues.base import MarketRecord
from edgewatch.venues.normalize import normalize_text

CLOSE = datetime(2026, 3, 11, 16, tzinfo=UTC)
ELECTION = datetime(2028, 11, 7, tzinfo=UTC)
# The Polymarket rules text of the recorded Bitcoin market (fixtures/venues/polymarket).
BTC_RULES = (
    'This market will resolve to "Yes" if the Binance 1 minute candle for BTC/USDT 12:00 in the ET '
    'timezone (noon) on the date specified in the title has a final "Close" price higher than the '
    'price specified in the title. Otherwise, this market will resolve to "No".'
)


def kalshi(title: str, *, key: int = 1, **fields: object) -> MatchInput:
    fields.setdefault("close_time", CLOSE)
    return MatchInput(key=key, venue="kalshi", title=title, **fields)  # type: ignore[arg-type]


def poly(title: str, *, key: int = 2, **fields: object) -> MatchInput:
    fields.setdefault("close_time", CLOSE)
    return MatchInput(key=key, venue="polymarket", title=title, **fields)  # type: ignore[arg-type]


SAME_QUESTION = [
    (
        kalshi("Bitcoin price above $64,000 on Mar 11, 2026?", category="Crypto"),
        poly(
            "Will the price of Bitcoin be above $64,000 on March 11?",
            category="Bitcoin",
            rules=BTC_RULES,
        ),
    ),
    (
        kalshi(
            "Will Gretchen Whitmer be the Democratic nominee for President in 2028?",
            category="Elections",
            close_time=ELECTION,
        ),
        poly(
            "Will Gretchen Whitmer win the 2028 Democratic presidential nomination?",
            category="World Elections",
            close_time=ELECTION,
        ),
    ),
    (
        kalshi(
            "Will Elon Musk visit Mars before Aug 1, 2099?",
            close_time=datetime(2099, 8, 1, 4, 59, tzinfo=UTC),
        ),
        poly(
            "Will Elon Musk land on Mars before 2099?",
            close_time=datetime(2099, 7, 31, tzinfo=UTC),
        ),
    ),
]


@pytest.mark.parametrize(("a", "b"), SAME_QUESTION, ids=["bitcoin", "nominee", "mars"])
def test_the_same_question_phrased_differently_is_a_confident_same_link(
    a: MatchInput, b: MatchInput
) -> None:
    score = score_pair(a, b)
    assert score.relation == "same"
    assert score.confidence >= 0.7, score.reasons


def test_a_different_threshold_is_a_different_contract() -> None:
    same = score_pair(
        kalshi("Bitcoin price above $64,000 on Mar 11, 2026?"),
        poly("Will the price of Bitcoin be above $64,000 on March 11?"),
    )
    other = score_pair(
        kalshi("Bitcoin price above $65,000 on Mar 11, 2026?"),
        poly("Will the price of Bitcoin be above $64,000 on March 11?"),
    )
    assert other.confidence < 0.3 < same.confidence
    assert any(r.signal == "thresholds" and r.verdict == "mismatch" for r in other.reasons)


def test_thresholds_written_differently_are_the_same_number() -> None:
    score = score_pair(
        kalshi("Will BTC close above 100k on March 11?"),
        poly("Bitcoin above $100,000 on March 11?"),
    )
    assert any(r.signal == "thresholds" and r.verdict == "match" for r in score.reasons)
    assert score.confidence >= 0.6


def test_a_different_date_is_a_different_contract() -> None:
    score = score_pair(
        kalshi("Bitcoin price above $64,000 on Mar 12, 2026?"),
        poly("Will the price of Bitcoin be above $64,000 on March 11?"),
    )
    assert score.confidence < 0.3
    assert any(r.signal == "dates" and r.verdict == "mismatch" for r in score.reasons)


def test_another_candidate_in_the_same_race_scores_low() -> None:
    score = score_pair(
        kalshi("Will Gretchen Whitmer be the Democratic nominee for President in 2028?"),
        poly("Will Stephen A. Smith win the 2028 Democratic presidential nomination?"),
    )
    assert score.confidence < 0.5


def test_close_times_far_apart_lower_the_confidence() -> None:
    near = score_pair(kalshi("Will the Fed cut rates?"), poly("Will the Fed cut rates?"))
    far = score_pair(
        kalshi("Will the Fed cut rates?"),
        poly("Will the Fed cut rates?", close_time=CLOSE + timedelta(days=10)),
    )
    assert far.confidence < near.confidence


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "Will Bitcoin stay below $64,000 on March 11?",
            "Will Bitcoin finish above $64,000 on March 11?",
        ),
        ("Will the Fed cut rates in March 2026?", "Will the Fed not cut rates in March 2026?"),
        ("Will the Fed cut rates in March 2026?", "Fed fails to cut rates in March 2026?"),
        ("Will the Fed cut rates in March 2026?", "Fed rate cut in March 2026? — No"),
        (
            "Bitcoin up or down on March 12, 5:20-5:25 AM ET? — Down",
            "Bitcoin Up or Down - March 12, 5:20AM-5:25AM ET — Up",
        ),
    ],
    ids=["below-above", "not", "fail-to", "no-outcome", "up-down"],
)
def test_opposite_phrasing_is_a_complement(a: str, b: str) -> None:
    score = score_pair(kalshi(a), poly(b))
    assert score.relation == "complement"
    assert score.confidence >= 0.5, score.reasons
    assert any(r.signal == "relation" for r in score.reasons)


def test_unrelated_markets_score_near_zero() -> None:
    score = score_pair(
        kalshi("Will it rain in NYC tomorrow?"), poly("Will the Lakers win the NBA title?")
    )
    assert score.confidence < 0.2


# Words that move the scorer (directions, negations, months, numbers) mixed with noise.
texts = st.lists(
    st.sampled_from(
        ["not", "above", "below", "March", "11", "$64,000", "100k", "3.5%", "4+", "2028", "—", "No"]
    )
    | st.text(alphabet="abcdefXYZ$%,.+-0123456789", max_size=8),
    max_size=12,
).map(" ".join)
times = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
categories = st.none() | st.sampled_from(["Crypto", "Bitcoin", "Politics", "Sports", "Weird"])


@st.composite
def market_inputs(draw: st.DrawFn, venue: str) -> MatchInput:
    return MatchInput(
        key=draw(st.integers(1, 10**6)),
        venue=venue,
        title=draw(texts),
        rules=draw(st.none() | texts),
        category=draw(categories),
        close_time=draw(times),
    )


@settings(max_examples=300, deadline=None)
@given(market_inputs("kalshi"), market_inputs("polymarket"))
def test_confidence_is_a_probability_and_symmetric(a: MatchInput, b: MatchInput) -> None:
    forward, backward = score_pair(a, b), score_pair(b, a)
    assert 0.0 <= forward.confidence <= 1.0
    assert forward.confidence == backward.confidence
    assert forward.relation == backward.relation


@settings(max_examples=50, deadline=None)
@given(market_inputs("kalshi"))
def test_a_market_against_its_own_copy_is_same(a: MatchInput) -> None:
    copy = MatchInput(
        key=a.key + 1,
        venue="polymarket",
        title=a.title,
        rules=a.rules,
        category=a.category,
        close_time=a.close_time,
    )
    assert score_pair(a, copy).relation == "same"


def test_propose_links_across_venues_only_and_one_to_one() -> None:
    markets = [
        kalshi("Bitcoin price above $64,000 on Mar 11, 2026?", key=1),
        kalshi("Bitcoin price above $66,000 on Mar 11, 2026?", key=2),
        kalshi(
            "Will Gretchen Whitmer be the Democratic nominee in 2028?", key=3, close_time=ELECTION
        ),
        poly("Will the price of Bitcoin be above $64,000 on March 11?", key=10),
        poly("Will the price of Bitcoin be above $66,000 on March 11?", key=11),
        poly(
            "Will Gretchen Whitmer win the 2028 Democratic nomination?", key=12, close_time=ELECTION
        ),
        poly(
            "Will Gretchen Whitmer win the 2028 Democratic nomination again?",
            key=13,
            close_time=ELECTION,
        ),
    ]
    proposals = propose(markets, min_confidence=0.5)
    pairs = {(p.a, p.b) for p in proposals}
    assert pairs == {(1, 10), (2, 11), (3, 12)} or pairs == {(1, 10), (2, 11), (3, 13)}
    assert all(p.relation == "same" for p in proposals)


def test_propose_is_the_same_whichever_venue_comes_first() -> None:
    markets = [
        kalshi("Bitcoin price above $64,000 on Mar 11, 2026?", key=1),
        poly("Will the price of Bitcoin be above $64,000 on March 11?", key=10),
        kalshi("Will Bitcoin stay below $70,000 on March 11?", key=2),
        poly("Will Bitcoin finish above $70,000 on March 11?", key=11),
    ]
    forward = {(p.a, p.b, p.relation, p.confidence) for p in propose(markets)}
    backward = {(p.a, p.b, p.relation, p.confidence) for p in propose(markets[::-1])}
    assert forward == backward
    assert (2, 11, "complement") in {(a, b, r) for a, b, r, _ in forward}


def test_markets_closing_outside_the_window_are_not_compared() -> None:
    markets = [
        kalshi("Will the Fed cut rates?", key=1),
        poly("Will the Fed cut rates?", key=2, close_time=CLOSE + timedelta(days=60)),
    ]
    assert propose(markets, window_days=14) == []
    assert propose([*markets[:1], poly("Will the Fed cut rates?", key=3, close_time=None)])


@pytest.mark.parametrize("window_days", [14, 200], ids=["narrow-window", "all-in-window"])
def test_thousands_of_markets_per_venue_match_in_seconds(window_days: float) -> None:
    subjects = ["Bitcoin", "Ethereum", "Solana", "Tesla", "Nvidia", "Apple", "Gold", "Oil"]
    markets: list[MatchInput] = []
    for n in range(2500):
        subject = subjects[n % len(subjects)]
        close = CLOSE + timedelta(hours=n)
        threshold = 1000 + 25 * n
        markets.append(
            kalshi(f"{subject} price above ${threshold:,} on day {n}?", key=n, close_time=close)
        )
        markets.append(
            poly(
                f"Will the price of {subject} be above {threshold:,} (day {n})?",
                key=100_000 + n,
                close_time=close,
            )
        )
    started = time.perf_counter()
    proposals = propose(markets, window_days=window_days)
    elapsed = time.perf_counter() - started
    assert elapsed < 60, elapsed
    found = {(p.a, p.b) for p in proposals}
    assert len(found & {(n, 100_000 + n) for n in range(2500)}) >= 2400


def recorded_markets() -> list[MatchInput]:
    """Every market in the recorded venue payloads, normalised as ingest does."""
    fixtures = Path(__file__).parents[1] / "fixtures" / "venues"
    sources = [
        ("kalshi", "events", "rest_get_event.json"),
        ("kalshi", "markets", "rest_get_markets.json"),
        ("polymarket", "events", "gamma_get_events.json"),
        ("polymarket", "events", "gamma_public_search.json"),
        ("polymarket", "market", "gamma_get_market.json"),
        ("polymarket", "markets", "clob_get_markets_page.json"),
    ]
    found: list[MatchInput] = []
    for venue, kind, name in sources:
        text = (fixtures / venue / name).read_text(encoding="utf-8")
        result = normalize_text(venue, kind, text, received_at=CLOSE)
        for record in result.records:
            if isinstance(record, MarketRecord):
                found.append(
                    MatchInput(
                        key=len(found),
                        venue=record.venue,
                        title=record.title,
                        rules=record.rules,
                        category=record.category,
                        close_time=record.close_time,
                    )
                )
    return found


def test_recorded_venue_markets_produce_no_spurious_links() -> None:
    # The recordings hold no question listed on both venues (Kalshi parlays, a Mars market;
    # Polymarket nominees, Bitcoin thresholds), so nothing may be proposed between them.
    markets = recorded_markets()
    assert {m.venue for m in markets} == {"kalshi", "polymarket"} and len(markets) > 100
    assert propose(markets) == []


def test_a_recorded_polymarket_market_matches_its_kalshi_twin() -> None:
    markets = recorded_markets()
    btc = next(m for m in markets if m.title.startswith("Will the price of Bitcoin be above"))
    twin = MatchInput(
        key=-1,
        venue="kalshi",
        title="Bitcoin above $64,000 on Mar 11, 2026 at noon ET?",
        category="Crypto",
        close_time=btc.close_time,
    )
    proposals = propose([*markets, twin])
    assert [(p.a, p.b, p.relation) for p in proposals] == [(-1, btc.key, "same")]


def test_a_hyphenated_title_tail_is_not_read_as_an_outcome() -> None:
    score = score_pair(
        kalshi("Lakers vs Celtics - Game 7 winner: Lakers?"),
        poly("Lakers vs Celtics - Game 6 winner: Lakers?"),
    )
    assert any(r.signal == "thresholds" and r.verdict == "mismatch" for r in score.reasons)
