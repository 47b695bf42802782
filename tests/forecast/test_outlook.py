"""Tests for analysis.forecast.outlook: the amount the open pipeline will win in a window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c
from analysis.forecast.outlook import (
    booked_draws,
    estimate_error,
    forecast_window,
    stage_history,
    window_win_probability,
)
from analysis.sample import generate_sample


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


# One stage's history, one entry per row: (stay, days to close, cause), 1 won, 2 lost, 0 open.
#   A stays 2, won at 2;  B moves on at 3, lost at 10;  C stays 5, lost at 5;
#   D still in the stage at 8 (censored);  E moves on at 4, won at 6.
STAY = [2.0, 3.0, 5.0, 8.0, 4.0]
DAYS = [2.0, 10.0, 5.0, 8.0, 6.0]
CAUSE = [1, 2, 2, 0, 1]
COUNT = [1, 1, 1, 1, 1]


def test_the_window_ends_at_each_deals_own_time_to_the_nearest_day():
    # Hand: ten entrants each won 2.95 days in (close day 3). A deal 2.9 days in reads the
    # landmark of day 2; a window of 0.2 days ends at 3.1 (day 3): every entrant won in it.
    # One entrant won 2.5 days in: a window of 0.3 days from 2.0 ends before it (2.3 -> day
    # 2), one of 0.6 days after it (2.6 -> day 3).
    p, _ = window_win_probability([2.95] * 10, [2.95] * 10, [1] * 10, [1] * 10, [2.9], 0.2)
    assert p[0] == pytest.approx(1.0)
    p, _ = window_win_probability([2.5], [2.5], [1], [1], [2.0, 2.0], 0.3)
    assert p[0] == 0.0
    p, _ = window_win_probability([2.5], [2.5], [1], [1], [2.0], 0.6)
    assert p[0] == pytest.approx(1.0)


def test_window_win_probability_by_hand():
    # Hand calculation (Aalen–Johansen on the entrants still in the stage at d):
    # d = 0, all five: t=2 n=5 won -> F=1/5, S=4/5; t=5 n=4 lost -> S=3/5;
    #   t=6 n=3 won -> F = 1/5 + (3/5)(1/3) = 2/5; t=8 censored; t=10 lost.
    #   Window (0, 7]: 2/5.
    # d = 3, stay > 3: C, D, E: t=5 n=3 lost -> S=2/3; t=6 n=2 won -> F = (2/3)(1/2) = 1/3.
    #   Window (3, 7]: 1/3; window (3 + 2, 3 + 4] = (5, 7]: 1/3; window (6, 7]: 0.
    # d = 8: nobody stayed longer: unknown, nobody at risk.
    p, n = window_win_probability(STAY, DAYS, CAUSE, COUNT, [0.0, 3.0, 8.0], horizon=7.0)
    assert p[0] == pytest.approx(2 / 5) and n[0] == 5
    p, n = window_win_probability(STAY, DAYS, CAUSE, COUNT, [3.0, 8.0], horizon=4.0)
    assert p[0] == pytest.approx(1 / 3) and n[0] == 3
    assert np.isnan(p[1]) and n[1] == 0
    p, _ = window_win_probability(STAY, DAYS, CAUSE, COUNT, [3.0], horizon=4.0, skip=2.0)
    assert p[0] == pytest.approx(1 / 3)
    p, _ = window_win_probability(STAY, DAYS, CAUSE, COUNT, [3.0], horizon=4.0, skip=3.0)
    assert p[0] == pytest.approx(0.0)


def test_counts_stand_for_repeated_entries():
    # Property: a row with count 2 is the same as two identical rows.
    once, _ = window_win_probability(STAY + STAY, DAYS + DAYS, CAUSE + CAUSE, COUNT * 2, [1.0], 9.0)
    twice, n = window_win_probability(STAY, DAYS, CAUSE, [2] * 5, [1.0], 9.0)
    assert once == pytest.approx(twice) and n[0] == 10


# A hand-built CRM read on D = Apr 1, window Q2 (Apr 1 – Jul 1), one stage "proposal":
#   H1 entered proposal Jan 1, won Jan 11 (10 days);  H2 entered Jan 1, lost Jan 21 (20 days);
#   H3 entered Jan 1, won May 1 (after D: censored at D, 90 days);
#   O  open at D, entered proposal Mar 31 (1 day in stage), won May 15, amount 1000, p 0.9.
D = _t("2026-04-01")
HISTORY = [
    {"id": "H1", "created": _t("2026-01-01"), "closed": _t("2026-01-11"), "outcome": c.WON,
     "initial": {c.AMOUNT: 10.0, c.STAGE: "proposal"}},
    {"id": "H2", "created": _t("2026-01-01"), "closed": _t("2026-01-21"), "outcome": c.LOST,
     "initial": {c.AMOUNT: 10.0, c.STAGE: "proposal"}},
    {"id": "H3", "created": _t("2026-01-01"), "closed": _t("2026-05-01"), "outcome": c.WON,
     "initial": {c.AMOUNT: 10.0, c.STAGE: "proposal"}},
    {"id": "O", "created": _t("2026-03-31"), "closed": _t("2026-05-15"), "outcome": c.WON,
     "initial": {c.AMOUNT: 1000.0, c.STAGE: "proposal", c.PROBABILITY: 0.9,
                 c.EXPECTED_CLOSE_AT: _t("2026-06-30")}},
]  # fmt: skip


def test_forecast_by_hand(crm):
    ws = analysis.connect(crm.frames(HISTORY))
    history = stage_history(ws, D)
    # H1 (10, won), H2 (20, lost), H3 (90, open), O (1, open): days from entry to close or D.
    assert sorted(zip(history[c.DAYS], history["cause"], strict=True)) == [
        (1.0, 0), (10.0, 1), (20.0, 2), (90.0, 0)
    ]  # fmt: skip
    result = forecast_window(ws, "2026-04-01", "2026-07-01", simulations=2_000, seed=1)
    deals = result.deals.set_index(c.DEAL_ID)
    assert list(deals.index) == ["H3", "O"]  # H3 closes May 1: open on D
    # Hand calculation: O is 1 day in; entrants that stayed longer: H1, H2, H3.
    # t=10 n=3 won -> F=1/3, S=2/3; t=20 n=2 lost; H3 censored at 90. Window (1, 92]: 1/3.
    assert deals.loc["O", c.P_WIN] == pytest.approx(1 / 3) and deals.loc["O", c.N_AT_RISK] == 3
    # H3 is 90 days in: no entrant stayed longer, so p_win is unknown (counted as 0, noted).
    assert np.isnan(deals.loc["H3", c.P_WIN]) and deals.loc["H3", c.N_AT_RISK] == 0
    assert any("1 deal without any history" in note for note in result.notes)
    # The CRM's answers, over deals expected to close in the window (O closes Jun 30; H3 has no
    # expected close): rep-weighted 1000 x 0.9; stage-weighted 1000 x 1/2 (won 1 of the 2
    # entrants closed by D).
    total = result.to_frame().set_index(c.GROUP).loc[c.TOTAL]
    assert total[c.REP_WEIGHTED] == pytest.approx(900.0)
    assert total[c.STAGE_WEIGHTED] == pytest.approx(500.0)
    assert total[c.MEAN] == pytest.approx(1000 / 3)
    assert total[c.EXPECTED_COUNT] == pytest.approx(1 / 3)
    # The amount is 0 or 1000; P(1000) = 1/3 < 1/2, so the median is 0, P90 1000.
    assert (total[c.PI_LOW], total[c.MEDIAN], total[c.PI_HIGH]) == (0.0, 0.0, 1000.0)
    assert any("not forecast" in note for note in result.notes)


def _changed_after(deals: list[dict], at: pd.Timestamp) -> list[dict]:
    """The same deals with every outcome after ``at`` flipped and every later change altered."""
    flip = {c.WON: c.LOST, c.LOST: c.WON}
    out = []
    for deal in deals:
        deal = dict(deal)
        if deal.get("closed") is not None and deal["closed"] > at:
            deal["outcome"] = flip[deal["outcome"]]
        changes = []
        for when, field, value in deal.get("changes", []):
            if when > at and field == c.AMOUNT:
                value = value * 3 + 100
            if when > at and field == c.STAGE:
                value = "prospecting" if value != "prospecting" else "proposal"
            changes.append((when, field, value))
        deal["changes"] = changes
        out.append(deal)
    return out


def test_nothing_after_as_of_moves_the_forecast(crm):
    # Property (no leakage): outcomes and changes after as_of change nothing.
    deals = crm.random_deals(np.random.default_rng(7), 150, days=120)
    at = _t("2026-04-20")  # about half the closes are known by then
    kwargs = {"as_of": at, "simulations": 2_000, "seed": 3}
    before = forecast_window(analysis.connect(crm.frames(deals)), at, "2026-07-01", **kwargs)
    after = forecast_window(
        analysis.connect(crm.frames(_changed_after(deals, at))), at, "2026-07-01", **kwargs
    )
    assert before.deals[c.P_WIN].notna().any() and (before.deals[c.P_WIN] > 0).any()
    flipped = sum(d.get("closed") is not None and d["closed"] > at for d in deals)
    assert flipped > 20  # the change is not empty: many outcomes after as_of were flipped
    pd.testing.assert_frame_equal(before.to_frame(), after.to_frame())
    pd.testing.assert_frame_equal(before.deals, after.deals)


def test_deals_created_after_as_of_do_not_move_the_forecast(crm):
    # Property (no leakage): new deals after as_of, some won within the window, change neither
    # the pipeline's chances nor the new deals' run rate, which reads only earlier spans.
    rng = np.random.default_rng(8)
    deals = crm.random_deals(rng, 150, days=120)
    at = _t("2026-04-20")
    later = [
        crm.random_deal(rng, f"n{i}", at + pd.Timedelta(days=1 + i), _t("2026-06-30"))
        for i in range(20)
    ]
    assert sum(d["outcome"] == c.WON for d in later) > 0
    kwargs = {"as_of": at, "simulations": 2_000, "seed": 3}
    before = forecast_window(analysis.connect(crm.frames(deals)), at, "2026-07-01", **kwargs)
    after = forecast_window(analysis.connect(crm.frames(deals + later)), at, "2026-07-01", **kwargs)
    pd.testing.assert_frame_equal(before.to_frame(), after.to_frame())
    pd.testing.assert_frame_equal(before.deals, after.deals)


def test_properties_and_arguments(crm):
    deals = crm.random_deals(np.random.default_rng(11), 120, days=120)
    ws = analysis.connect(crm.frames(deals))
    result = forecast_window(ws, "2026-03-01", "2026-04-01", simulations=1_000)
    table = result.to_frame().set_index(c.GROUP)
    groups, total = table.drop(index=c.TOTAL), table.loc[c.TOTAL]
    # Groups add up to the total (the quantiles do not add).
    for col in (c.OPEN_DEALS, c.EXPECTED_COUNT, c.MEAN, c.REP_WEIGHTED, c.STAGE_WEIGHTED):
        assert groups[col].sum() == pytest.approx(total[col])
    p = result.deals[c.P_WIN].dropna()
    assert ((p >= 0) & (p <= 1 + 1e-12)).all()
    assert (table[c.PI_LOW] <= table[c.MEDIAN]).all() and (
        table[c.MEDIAN] <= table[c.PI_HIGH]
    ).all()
    # Seeded: the same seed gives the same figures.
    again = forecast_window(ws, "2026-03-01", "2026-04-01", simulations=1_000)
    pd.testing.assert_frame_equal(result.to_frame(), again.to_frame())
    with pytest.raises(ValueError, match="end after it starts"):
        forecast_window(ws, "2026-04-01", "2026-03-01")
    with pytest.raises(ValueError, match="before the end"):
        forecast_window(ws, "2026-03-01", "2026-04-01", as_of="2026-05-01")
    with pytest.raises(ValueError, match="alpha"):
        forecast_window(ws, "2026-03-01", "2026-04-01", alpha=1.5)
    with pytest.raises(ValueError, match="group by"):
        forecast_window(ws, "2026-03-01", "2026-04-01", by="colour")


@pytest.fixture(scope="module")
def sample_q2():
    crm = generate_sample()  # the default sample: 5,000 deals, cut-off 2026-07-01
    ws = analysis.connect(dict(crm.tables))
    result = forecast_window(ws, "2026-04-01", "2026-07-01", alpha=0.2, seed=0)
    deals = crm.tables[c.DEALS]
    won = deals[
        deals[c.DEAL_ID].isin(result.deals[c.DEAL_ID])
        & (deals[c.OUTCOME] == c.WON)
        & (deals[c.CLOSED_AT] >= _t("2026-04-01"))
        & (deals[c.CLOSED_AT] < _t("2026-07-01"))
    ]
    return result, won, crm.truth, ws


def ws_of(fixture) -> Workspace:
    return fixture[3]


def test_sample_q2_against_what_closed(sample_q2):
    # Planted truth, default sample, Q2 2026 forecast from the pipeline of 1 April (141 deals).
    # Figures recorded when this test was written (seed 0, 10,000 simulations):
    #   open pipeline: mean 1,164,956, expected count 42.2;
    #   new deals: 50.75 wins and 105,536 a quarter (203 created-and-won over the past 4 quarters);
    #   total: mean 1,270,493, P10 1,015,819, P50 1,273,985, P90 1,547,512;
    #   actually won in Q2 from that pipeline: 35 deals, 948,521 (amounts at the close);
    #   rep-weighted 1,371,942; stage-weighted 1,206,274 (deals due in Q2 only).
    # The pipeline's actual lies inside its own 80% interval, checked by a fresh simulation.
    result, won, _, _ = sample_q2
    table = result.to_frame().set_index(c.GROUP)
    total = table.loc[c.TOTAL]
    actual = won[c.AMOUNT].sum()
    assert len(won) == 35 and actual == pytest.approx(948_521.2, abs=1)
    assert total[c.MEAN] == pytest.approx(1_270_493, rel=1e-4)
    assert table.loc[c.NEW_DEALS, c.MEAN] == pytest.approx(105_536, rel=1e-4)
    assert total[c.MEAN] == pytest.approx(table[c.MEAN].drop(c.TOTAL).sum())
    wide = result.deals[c.P_WIN].fillna(0).to_numpy()
    rng = np.random.default_rng(1)
    amounts = result.deals[c.AMOUNT].to_numpy()
    draws = (rng.random((20_000, wide.size)) < wide) @ amounts
    low, high = np.quantile(draws, [0.1, 0.9])
    assert low <= actual <= high
    # Without the new deals' run rate the pipeline stands alone (the groups add up to it).
    alone = (
        forecast_window(
            ws_of(sample_q2), "2026-04-01", "2026-07-01", seed=0, simulations=1_000, new_deals=False
        )
        .to_frame()
        .set_index(c.GROUP)
    )
    assert c.NEW_DEALS not in alone.index
    assert alone.loc[c.TOTAL, c.MEAN] == pytest.approx(1_164_956, rel=1e-4)
    # The planted optimism of the reps' probabilities: their weighted pipeline of the deals due
    # in Q2 exceeds the model's mean for the whole pipeline.
    assert total[c.REP_WEIGHTED] > total[c.MEAN] - table.loc[c.NEW_DEALS, c.MEAN]


def test_sample_p_win_tracks_planted_truth(sample_q2):
    # Planted truth: a deal's chance of winning at all from its stage (true_win_probability)
    # bounds its chance of winning within the quarter, so the mean p_win per stage stays
    # below it (with sampling slack of 0.1) and rises with the stage.
    result, _, truth, _ = sample_q2
    planted = truth["rep_probability"]["true_win_probability"]["B2B"]
    b2b = result.deals[result.deals[c.SEGMENT] == c.B2B]
    mean_p = b2b.groupby(c.STAGE)[c.P_WIN].mean()
    for stage, p in mean_p.items():
        assert p <= planted[stage] + 0.1, stage
    order = [s for s in planted if s in mean_p.index]
    assert mean_p[order].is_monotonic_increasing


def test_estimate_error_by_hand():
    # Hand: se = sqrt((p (1 - p) + 1 / (4 n)) / n): 0.5 of 25 -> sqrt(0.26 / 25) = 0.10198;
    # 0.2 of 16 -> sqrt((0.16 + 1/64) / 16) = 0.10476; no history -> 0.
    # Deals read from the same cell share it; a deal without history gets the cell 0.
    deals = pd.DataFrame({
        c.P_WIN: [0.5, 0.5, 0.2, np.nan], c.N_AT_RISK: [25.0, 25.0, 16.0, 0.0],
        c.ESTIMATED_FROM: [c.FROM_SIZE, c.FROM_SIZE, c.FROM_STAGE, None],
        c.SEGMENT: ["B2B", "B2B", "B2C", "B2C"], c.SIZE_BAND: [c.LARGER, c.LARGER, None, None],
        c.STAGE: ["proposal", "proposal", "proposal", "proposal"],
    })  # fmt: skip
    se, cell = estimate_error(deals)
    assert se == pytest.approx([0.26**0.5 / 5, 0.26**0.5 / 5, (0.16 + 1 / 64) ** 0.5 / 4, 0.0])
    # A share of 1 from one entrant still carries an error: sqrt(1/4) = 0.5.
    one = deals.iloc[[0]].assign(**{c.P_WIN: 1.0, c.N_AT_RISK: 1.0})
    assert estimate_error(one)[0] == pytest.approx([0.5])
    assert cell[0] == cell[1] != cell[2] and cell[3] == 0 and cell.min() == 0
    # With no history at all, the simulation still runs (every chance 0, nothing booked).
    none = deals.iloc[[3]]
    se, cell = estimate_error(none)
    draws = booked_draws(np.zeros(1), np.ones(1), {"t": np.ones(1, bool)}, 10,
                         np.random.default_rng(0), (se, cell))  # fmt: skip
    assert (draws["t"] == 0).all()


def test_without_rep_probabilities_the_crm_answer_is_unknown_not_zero(crm):
    # An export without probabilities has no rep-weighted pipeline: NaN, not $0, and the
    # headline says so instead of "the reps' probabilities would say $0".
    from analysis.forecast.findings import forecast_headline

    frames = crm.frames(crm.random_deals(np.random.default_rng(11), 120, days=120))
    frames[c.DEALS] = frames[c.DEALS].drop(columns=[c.PROBABILITY])
    changes = frames[c.DEAL_CHANGES]
    frames[c.DEAL_CHANGES] = changes[changes[c.FIELD] != c.PROBABILITY]
    result = forecast_window(analysis.connect(frames), "2026-03-01", "2026-04-01", seed=1)
    total = result.to_frame().set_index(c.GROUP).loc[c.TOTAL]
    assert np.isnan(total[c.REP_WEIGHTED]) and np.isfinite(total[c.STAGE_WEIGHTED])
    assert "no rep probabilities" in forecast_headline(result)
