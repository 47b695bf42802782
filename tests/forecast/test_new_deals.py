"""Tests for analysis.forecast.new_deals: the run rate of deals created and won in a span."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.forecast import columns as c
from analysis.forecast.new_deals import SPAN, NewDeals, new_deal_draws, new_deals_run_rate


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def _deal(deal_id: str, created: str, closed: str | None, outcome: str, amount: float) -> dict:
    return {
        "id": deal_id, "created": _t(created), "closed": _t(closed) if closed else None,
        "outcome": outcome, "initial": {c.AMOUNT: amount, c.STAGE: "proposal"},
    }  # fmt: skip


# Read on A = Jul 1 2026 with horizon h = 30 days, skip s = 10 days. The first deal is created
# Apr 1, 91 days before A, so K = min(365 // 30, 91 // 30) = min(12, 3) = 3 spans:
#   span 1 [Jun 1, Jul 1)   counting part [Jun 11, Jul 1)
#   span 2 [May 2, Jun 1)   counting part [May 12, Jun 1)
#   span 3 [Apr 2, May 2)   counting part [Apr 12, May 2)
A = _t("2026-07-01")
HISTORY = [
    _deal("F", "2026-04-01", "2026-04-20", c.WON, 1000.0),  # created before span 3: not read
    _deal("A", "2026-06-05", "2026-06-20", c.WON, 100.0),  # span 1, counts
    _deal("B", "2026-06-05", "2026-06-08", c.WON, 200.0),  # span 1, won before Jun 11 (skip)
    _deal("K", "2026-06-01", "2026-06-11", c.WON, 50.0),  # created at span 1's start, won at
    # its counting part's start: counts (both ends closed)
    _deal("C", "2026-05-10", "2026-06-03", c.WON, 800.0),  # span 2, won after span 2 ended
    _deal("L", "2026-05-20", "2026-06-01", c.WON, 70.0),  # span 2, won exactly at its end
    _deal("D", "2026-05-10", "2026-05-25", c.WON, 300.0),  # span 2, counts
    _deal("E", "2026-04-10", "2026-04-25", c.WON, 400.0),  # span 3, counts
    _deal("G", "2026-04-10", "2026-04-25", c.LOST, 900.0),  # lost: never counts
    _deal("H", "2026-06-20", "2026-07-05", c.WON, 500.0),  # won after A: not read
    _deal("I", "2026-07-02", "2026-07-03", c.WON, 600.0),  # created after A: not read
    _deal("J", "2026-06-10", None, c.OPEN, 700.0),  # open
]


@pytest.fixture(scope="module")
def ws(crm):
    return analysis.connect(crm.frames(HISTORY))


def test_run_rate_by_hand(ws):
    # Hand (table above): with skip 10 the wins counted are A 100 and K 50 (span 1), D 300
    # (span 2), E 400 (span 3): rate 4 / 3, mean 850 / 3.
    new = new_deals_run_rate(ws, A, horizon=30.0, skip=10.0)
    assert new.spans == 3
    assert new.wins[SPAN].tolist() == [1, 1, 2, 3]
    assert new.wins[c.AMOUNT].tolist() == [50.0, 100.0, 300.0, 400.0]
    assert new.rate == pytest.approx(4 / 3)
    assert new.mean == pytest.approx(850 / 3)


def test_without_skip_early_wins_count(ws):
    # Hand: skip 0 adds B (created and won Jun 5 / Jun 8, inside span 1): 5 wins, 1050 in all.
    new = new_deals_run_rate(ws, A, horizon=30.0, skip=0.0)
    assert new.spans == 3
    assert list(zip(new.wins[SPAN], new.wins[c.AMOUNT], strict=True)) == [
        (1, 50.0), (1, 100.0), (1, 200.0), (2, 300.0), (3, 400.0)
    ]  # fmt: skip
    assert new.rate == pytest.approx(5 / 3) and new.mean == pytest.approx(1050 / 3)
    # Hand: skip 16 counts wins from span start + 16 days: Jun 17 (A, Jun 20, counts; K, Jun
    # 11, drops out), May 18 (D, May 25, counts) and Apr 18 (E, Apr 25, counts).
    new = new_deals_run_rate(ws, A, horizon=30.0, skip=16.0)
    assert new.wins[c.AMOUNT].tolist() == [100.0, 300.0, 400.0]


def test_the_lookback_of_a_year_limits_the_spans(crm):
    # Hand: an earlier first deal (Jan 1 2025, 546 days before A) makes the history long
    # enough for 18 spans of 30 days, but the lookback keeps 365 // 30 = 12: span 12 is
    # [A - 360 d, A - 330 d) = [Jul 6 2025, Aug 5 2025). M, created in span 12 and won 10
    # days in, counts; N, created in span 13 and won inside what would be its counting part,
    # is not read. F now sits in span 4 [Mar 3, Apr 2) and was won after it ended.
    extra = [
        _deal("first", "2025-01-01", "2025-02-01", c.LOST, 1.0),
        _deal("M", "2025-07-10", "2025-07-20", c.WON, 600.0),
        _deal("N", "2025-07-01", "2025-07-03", c.WON, 5000.0),
    ]
    ws = analysis.connect(crm.frames(HISTORY + extra))
    new = new_deals_run_rate(ws, A, horizon=30.0, skip=10.0)
    assert new.spans == 12
    assert new.wins[SPAN].tolist() == [1, 1, 2, 3, 12]
    assert new.rate == pytest.approx(5 / 12)
    assert new.mean == pytest.approx((850 + 600) / 12)
    # Hand: horizon 100 gives min(365 // 100, 546 // 100) = min(3, 5) = 3 spans.
    assert new_deals_run_rate(ws, A, horizon=100.0).spans == 3


def test_no_whole_span_gives_nothing(ws):
    # Hand: 91 days of history hold no span of 100 days (91 // 100 = 0), and a moment before
    # the first deal none at all; a non-positive horizon has no spans either.
    for new in (
        new_deals_run_rate(ws, A, horizon=100.0),
        new_deals_run_rate(ws, _t("2026-03-01"), horizon=30.0),
        new_deals_run_rate(ws, A, horizon=0.0),
    ):
        assert new.spans == 0 and new.wins.empty
        assert np.isnan(new.rate) and np.isnan(new.mean)
        draws = new_deal_draws(new, 50, np.random.default_rng(0))
        assert draws.shape == (50,) and (draws == 0).all()


def test_nothing_after_as_of_is_read(crm, ws):
    # No leakage: change what happens after A (H lost instead of won and a larger amount, I
    # bigger, J won on Jul 2, new deals created after A) and the run rate is identical.
    before = new_deals_run_rate(ws, A, horizon=30.0, skip=10.0)
    changed = {
        "H": _deal("H", "2026-06-20", "2026-07-05", c.LOST, 9999.0),
        "I": _deal("I", "2026-07-02", "2026-07-03", c.WON, 9999.0),
        "J": _deal("J", "2026-06-10", "2026-07-02", c.WON, 700.0),
    }
    history = [changed.get(d["id"], d) for d in HISTORY]
    history += [_deal(f"P{i}", f"2026-07-{10 + i}", "2026-07-25", c.WON, 123.0) for i in range(5)]
    after = new_deals_run_rate(analysis.connect(crm.frames(history)), A, horizon=30.0, skip=10.0)
    assert after.spans == before.spans
    pd.testing.assert_frame_equal(after.wins, before.wins)
    # ... while the same edits before A do change it (the check can fail): J won on Jun 25.
    history[[d["id"] for d in history].index("J")] = _deal(
        "J", "2026-06-10", "2026-06-25", c.WON, 700.0
    )
    moved = new_deals_run_rate(analysis.connect(crm.frames(history)), A, horizon=30.0, skip=10.0)
    assert moved.rate == pytest.approx(5 / 3) and moved.mean == pytest.approx(1550 / 3)


def test_draws_are_seeded_and_follow_the_compound_poisson_moments():
    # Formula (compound Poisson): S = X_1 + ... + X_N, N ~ Poisson(lambda), X drawn from the
    # past amounts: E[S] = lambda E[X] and the cumulants are kappa_r = lambda E[X^r], so
    # Var S = lambda E[X^2]. lambda = 5 wins / 4 spans.
    wins = pd.DataFrame({SPAN: [1, 1, 2, 3, 4], c.AMOUNT: [50.0, 100.0, 200.0, 300.0, 400.0]})
    new = NewDeals(4, wins)
    x, lam, n = wins[c.AMOUNT].to_numpy(), 5 / 4, 200_000
    mean, var = lam * x.mean(), lam * (x**2).mean()
    assert new.mean == pytest.approx(mean)  # 1050 / 4 = lambda E[X] = 1.25 * 210
    draws = new_deal_draws(new, n, np.random.default_rng(7))
    assert np.array_equal(draws, new_deal_draws(new, n, np.random.default_rng(7)))
    # Tolerance: 4 standard errors of each estimate over n draws. SE of the mean is
    # sqrt(Var S / n) (~0.5 here); SE of the sample variance is sqrt((mu_4 - Var^2) / n)
    # with mu_4 = kappa_4 + 3 kappa_2^2, i.e. sqrt((kappa_4 + 2 kappa_2^2) / n) (~0.8 % of
    # Var). A 4-SE miss has probability ~6e-5; the seed is fixed, so the test is deterministic.
    kappa4 = lam * (x**4).mean()
    assert draws.mean() == pytest.approx(mean, abs=4 * np.sqrt(var / n))
    assert draws.var() == pytest.approx(var, abs=4 * np.sqrt((kappa4 + 2 * var**2) / n))
    # Every draw is a sum of past amounts (multiples of 50) and P(N = 0) = exp(-1.25).
    assert (draws % 50 == 0).all()
    assert (draws == 0).mean() == pytest.approx(np.exp(-lam), abs=4 * np.sqrt(0.29 * 0.71 / n))


def test_draws_are_zero_without_wins():
    # Spans were read but nobody was created and won in them: lambda = 0, no amount.
    new = NewDeals(3, pd.DataFrame({SPAN: [], c.AMOUNT: []}))
    assert new.rate == 0.0 and new.mean == 0.0
    assert (new_deal_draws(new, 20, np.random.default_rng(0)) == 0).all()
