"""Cycle time: time in stage and time to close (analysis.pipeline.cycle, analysis.stats.survival)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

import analysis
from analysis.core import columns as c
from analysis.core import paths
from analysis.pipeline import cycle
from analysis.sample import generate_sample
from analysis.stats import survival as sv

T0 = pd.Timestamp("2025-01-01", tz="UTC")
MAVEN = paths.SHARED_DATASETS_DIR / "maven_crm"


def deals_frame(days, outcomes, created_offset=None, segment=c.B2B) -> pd.DataFrame:
    """Deals created at T0 (+ offset days) closing after ``days`` (open: no closed_at)."""
    days = np.asarray(days, dtype=float)
    n = days.size
    offset = np.zeros(n) if created_offset is None else np.asarray(created_offset, dtype=float)
    # Whole seconds, so the frames convert to the engine's microsecond timestamps exactly.
    created = T0 + pd.to_timedelta(np.round(offset * 86400), unit="s")
    closed = created + pd.to_timedelta(np.round(days * 86400), unit="s")
    outcomes = np.asarray(outcomes, dtype=object)
    return pd.DataFrame(
        {
            c.DEAL_ID: [f"D{i:05d}" for i in range(n)],
            c.CREATED_AT: created,
            c.OUTCOME: outcomes,
            c.AMOUNT: 1.0,
            c.SEGMENT: segment,
            c.CLOSED_AT: closed.where(outcomes != c.OPEN),
        }
    )


def test_tiny_pipeline_by_hand():
    # Six deals, days from creation: won at 2, lost at 3, open created at day 2 (censored
    # at 4 by the cutoff T0 + 6), won at 5, open since day 0 (censored at 6), lost at 6
    # (deal X, which also sets the cutoff).
    deals = deals_frame(
        days=[2, 3, 0, 5, 0],
        outcomes=[c.WON, c.LOST, c.OPEN, c.WON, c.OPEN],
        created_offset=[0, 0, 2, 0, 0],
    )
    deals.loc[4, c.CLOSED_AT] = pd.NaT
    extra = deals_frame([6], [c.LOST]).assign(**{c.DEAL_ID: "X"})  # sets the cutoff at T0 + 6
    ws = analysis.connect({c.DEALS: pd.concat([deals, extra], ignore_index=True)})
    res = cycle.time_to_close(ws)
    # Hand calculation (6 deals): times 2 (won), 3 (lost), 4 (censored), 5 (won),
    # 6 (lost; and one censored at 6, which stays at risk through 6).
    # t=2: n=6,d=1 -> S=5/6; t=3: n=5,d=1 -> S=4/6; t=5: n=3,d=1 -> S=4/9;
    # t=6: n=2,d=1 -> S=2/9.
    # CIF_won: 1/6 at 2; + S(5-)*1/3 = 4/6/3 = 2/9 at 5 -> 1/6 + 2/9 = 7/18.
    # CIF_lost: S(3-)/5 = (5/6)/5 = 1/6 at 3; + S(6-)/2 = 2/9 at 6 -> 7/18.
    curve = res.curves
    np.testing.assert_allclose(curve[cycle.DAYS], [2, 3, 5, 6])
    np.testing.assert_allclose(curve[cycle.N_AT_RISK], [6, 5, 3, 2])
    np.testing.assert_allclose(curve[cycle.SURVIVAL], [5 / 6, 4 / 6, 4 / 9, 2 / 9])
    np.testing.assert_allclose(curve[cycle.CIF_WON], [1 / 6, 1 / 6, 7 / 18, 7 / 18])
    np.testing.assert_allclose(curve[cycle.CIF_LOST], [0, 1 / 6, 1 / 6, 7 / 18])
    total = curve[cycle.SURVIVAL] + curve[cycle.CIF_WON] + curve[cycle.CIF_LOST]
    np.testing.assert_allclose(total, 1.0)
    row = res.to_frame().iloc[0]
    assert row[c.N_DEALS] == 6 and row[c.N_OPEN] == 2
    assert row[cycle.KM_MEDIAN_DAYS] == 5  # first time with S <= 0.5 (S(5) = 4/9), no flat
    assert row[cycle.WON_ONLY_MEAN_DAYS] == pytest.approx(3.5)  # (2 + 5) / 2
    assert row[cycle.CLOSED_ONLY_MEAN_DAYS] == pytest.approx(4.0)  # (2 + 3 + 5 + 6) / 4


def test_km_from_aggregate_equals_statsmodels_on_raw_rows():
    # Reference: statsmodels SurvfuncRight fitted on the raw (unweighted) rows.
    rng = np.random.default_rng(11)
    n = 600
    cycle_days = rng.lognormal(np.log(30), 0.8, n)
    created = rng.uniform(0, 200, n)
    closed = created + cycle_days < 200
    outcomes = np.where(closed, np.where(rng.random(n) < 0.4, c.WON, c.LOST), c.OPEN)
    deals = deals_frame(cycle_days, outcomes, created_offset=created)
    deals.loc[0, [c.CREATED_AT, c.OUTCOME]] = [T0 + pd.Timedelta(days=200), c.OPEN]
    deals.loc[0, c.CLOSED_AT] = pd.NaT  # pins the cutoff at day 200
    ws = analysis.connect({c.DEALS: deals})
    res = cycle.time_to_close(ws)
    raw_end = deals[c.CLOSED_AT].fillna(T0 + pd.Timedelta(days=200))
    raw_days = (raw_end - deals[c.CREATED_AT]).dt.total_seconds() / 86400
    event = (deals[c.OUTCOME] != c.OPEN).astype(int).to_numpy()
    assert len(res.durations) < n  # the engine aggregated ties
    # Same data after the documented rounding to 0.01 day: exact agreement.
    rounded = np.round(raw_days.to_numpy() * 100) / 100
    ref = SurvfuncRight(rounded, event)
    np.testing.assert_allclose(res.curves[cycle.SURVIVAL], ref.surv_prob, rtol=1e-12)
    np.testing.assert_allclose(res.curves[cycle.DAYS], ref.surv_times)
    row = res.to_frame().iloc[0]
    # statsmodels' quantile (first S < 1 - p) differs from R's rule only where the curve
    # is flat at exactly 1 - p; with 600 continuous durations it nowhere is.
    assert row[cycle.KM_MEDIAN_DAYS] == ref.quantile(0.5)
    assert row[cycle.KM_Q1_DAYS] == ref.quantile(0.25)
    assert row[cycle.KM_Q3_DAYS] == ref.quantile(0.75)
    low, high = ref.quantile_ci(0.5, alpha=0.05)
    assert (row[cycle.KM_MEDIAN_CI_LOW], row[cycle.KM_MEDIAN_CI_HIGH]) == (low, high)
    # Greenwood standard errors equal statsmodels' unweighted ones.
    sf = sv.fit_km(
        res.durations[cycle.DAYS], res.durations[cycle.CAUSE] > 0, res.durations[cycle.COUNT]
    )
    np.testing.assert_allclose(sf.surv_prob_se, ref.surv_prob_se, rtol=1e-10)
    # Unrounded raw rows: the median moves by at most the rounding (0.005 day).
    exact = SurvfuncRight(raw_days.to_numpy(), event)
    assert abs(row[cycle.KM_MEDIAN_DAYS] - exact.quantile(0.5)) <= 0.005 + 1e-9


def test_km_and_won_only_medians_agree_when_nothing_is_open():
    # Issue 19: four deals won after 1, 2, 3, 4 days. R survival 3.5-3,
    # survfit(Surv(c(1, 2, 3, 4), rep(1, 4)) ~ 1), prints median 2.5, and np.median
    # gives 2.5; the KM median here was 3 before (first S < 0.5).
    ws = analysis.connect({c.DEALS: deals_frame([1, 2, 3, 4], [c.WON] * 4)})
    row = cycle.time_to_close(ws).to_frame().iloc[0]
    assert row[cycle.KM_MEDIAN_DAYS] == 2.5 == row[cycle.WON_ONLY_MEDIAN_DAYS]
    # Property: on closed deals only (no censoring) the KM median is the sample median of
    # the rounded durations, so it equals the closed-only median, and the won-only one
    # when all were won; odd and even n, durations in whole days (many ties) or not.
    rng = np.random.default_rng(19)
    for n, whole_days in ((5, False), (6, True), (41, False), (200, True), (201, True)):
        raw = rng.lognormal(np.log(20), 1.0, n)
        days = np.round(raw) if whole_days else np.round(raw, 2)
        won = deals_frame(days, [c.WON] * n)
        row = cycle.time_to_close(analysis.connect({c.DEALS: won})).to_frame().iloc[0]
        assert row[c.N_OPEN] == 0
        assert row[cycle.KM_MEDIAN_DAYS] == row[cycle.WON_ONLY_MEDIAN_DAYS], n
        mixed = deals_frame(days, np.where(rng.random(n) < 0.4, c.WON, c.LOST))
        row = cycle.time_to_close(analysis.connect({c.DEALS: mixed})).to_frame().iloc[0]
        assert row[cycle.KM_MEDIAN_DAYS] == row[cycle.CLOSED_ONLY_MEDIAN_DAYS], n


def test_planted_censoring_biases_won_only_mean_but_not_km():
    # Planted: cycle ~ lognormal(median 60 days, sigma 1), outcome independent of
    # duration; deals created uniformly over 240 days before the cutoff, so the
    # slow ones are still open. Planted median 60, mean 60 * exp(0.5) = 98.9.
    # A 95% interval misses in 1 seed of 20; over seeds 0-19 it covered 60 in 18
    # (seed 5: 61.1-66.8, seed 10: 55.5-59.8), within chance; this seed is one of the 18.
    rng = np.random.default_rng(4)
    n, horizon, median = 4000, 240.0, 60.0
    cycle_days = rng.lognormal(np.log(median), 1.0, n)
    created = rng.uniform(0, horizon, n)
    closed = created + cycle_days < horizon
    outcomes = np.where(closed, np.where(rng.random(n) < 0.5, c.WON, c.LOST), c.OPEN)
    deals = deals_frame(cycle_days, outcomes, created_offset=created)
    deals.loc[0, [c.CREATED_AT, c.OUTCOME, c.CLOSED_AT]] = [
        T0 + pd.Timedelta(days=horizon),
        c.OPEN,
        pd.NaT,
    ]
    res = cycle.time_to_close(analysis.connect({c.DEALS: deals}))
    row = res.to_frame().iloc[0]
    assert row[c.N_OPEN] > 0.3 * n  # many slow deals still open
    assert row[cycle.WON_ONLY_MEAN_DAYS] < 0.75 * median * np.exp(0.5)  # biased low
    assert row[cycle.WON_ONLY_MEDIAN_DAYS] < 0.85 * median
    assert row[cycle.KM_MEDIAN_CI_LOW] <= median <= row[cycle.KM_MEDIAN_CI_HIGH]
    # P(won by 90 days) = 0.5 * Phi(log(90/60)) planted.
    from scipy.stats import norm

    hz = res.horizons.set_index(cycle.HORIZON_DAYS).loc[90.0]
    planted = 0.5 * norm.cdf(np.log(90 / 60))
    assert hz[cycle.P_WON_CI_LOW] <= planted <= hz[cycle.P_WON_CI_HIGH]


def test_cumulative_incidence_interval_coverage():
    # Property: the delta-method interval of CIF_won(t) covers the planted value
    # about 95% of the time (300 seeded replications; binomial sd of coverage ~1.3%).
    rng = np.random.default_rng(2024)
    t, p_won, cover, reps = 40.0, 0.35, 0, 300
    truth = p_won * (1 - np.exp(-t / 50))  # exponential cycle, mean 50 days
    for _ in range(reps):
        n = 200
        time = rng.exponential(50, n)
        cens = rng.uniform(0, 120, n)
        cause = np.where(rng.random(n) < p_won, 1, 2)
        cause = np.where(time <= cens, cause, 0)
        days = np.round(np.minimum(time, cens), 2)
        curve = sv.aalen_johansen(days, cause, np.ones(n))
        i = np.searchsorted(curve[sv.DAYS], t, side="right") - 1
        low, high = sv.loglog_interval(curve["cif_1"].iloc[i], curve["var_1"].iloc[i])
        cover += int(low <= truth <= high)
    assert 0.91 <= cover / reps <= 0.98


@pytest.fixture(scope="module")
def sample_ws():
    crm = generate_sample(20_000, seed=3)
    return crm, analysis.connect(dict(crm.tables))


def test_sample_b2b_cycle_much_longer_than_b2c(sample_ws):
    crm, ws = sample_ws
    res = cycle.time_to_close(ws, by=c.SEGMENT)
    table = res.to_frame().set_index(c.SEGMENT)
    # Planted stage medians: B2B 6..22 days per stage, B2C 0.8..2.6 (truth["durations"]).
    assert table.loc[c.B2B, cycle.KM_MEDIAN_CI_LOW] > 4 * table.loc[c.B2C, cycle.KM_MEDIAN_CI_HIGH]
    for seg in (c.B2B, c.B2C):
        realised = crm.truth["outcomes_realised"][seg]
        assert table.loc[seg, c.N_WON] == realised[c.WON]
        assert table.loc[seg, c.N_OPEN] == realised[c.OPEN]
        # Same definition as the truth's median over won deals (rounding 0.01 day).
        assert table.loc[seg, cycle.WON_ONLY_MEDIAN_DAYS] == pytest.approx(
            realised["median_days_to_win"], abs=0.01
        )
    curves = res.curves
    total = curves[cycle.SURVIVAL] + curves[cycle.CIF_WON] + curves[cycle.CIF_LOST]
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_sample_time_in_stage_matches_planted_medians(sample_ws):
    crm, ws = sample_ws
    res = cycle.time_in_stage(ws, by=[c.SEGMENT, c.N_DECISION_MAKERS])
    table = res.to_frame()
    durations = crm.truth["durations"]
    for seg in (c.B2B, c.B2C):
        # Stays are stretched by exp(0.1 * (n_dm - reference)); at the reference
        # number of decision makers the planted lognormal median applies directly.
        ref = crm.truth["segments"][seg]["n_decision_makers"]["reference"]
        rows = table[(table[c.SEGMENT] == seg) & (table[c.N_DECISION_MAKERS] == ref)]
        for _, r in rows.iterrows():
            planted = durations[seg][r[c.STAGE]]["median_days"]
            if r[cycle.N_STAYS] < 300:
                continue
            # Re-entries and moves back (2% each) cut a few stays short, so the
            # observed median sits at most a few percent below the planted one:
            # the interval widened by 5% of the planted value must cover it.
            low, high = r[cycle.MEDIAN_CI_LOW], r[cycle.MEDIAN_CI_HIGH]
            assert low - 0.05 * planted <= planted <= high + 0.05 * planted, (seg, r[c.STAGE])
    by_seg = cycle.time_in_stage(ws, by=c.SEGMENT).to_frame().set_index([c.SEGMENT, c.STAGE])
    for stage in ws.pipeline.stages:  # planted B2B stays are 7-8x the B2C ones
        assert (
            by_seg.loc[(c.B2B, stage), cycle.MEDIAN_CI_LOW]
            > by_seg.loc[(c.B2C, stage), cycle.MEDIAN_CI_HIGH]
        )
    # Small groups (a handful of deals with many decision makers) may lack an interval.
    allowed = ["", cycle.NOTE_NO_STAYS, cycle.NOTE_CI_OPEN_ABOVE, cycle.NOTE_CI_NOT_ESTIMABLE]
    assert table[c.NOTE].isin(allowed).all()


def test_degenerate_inputs_give_notes_not_errors():
    empty = deals_frame([], [])
    res = cycle.time_to_close(analysis.connect({c.DEALS: empty}))
    row = res.to_frame().iloc[0]
    assert row[c.NOTE] == cycle.NOTE_NO_DEALS and np.isnan(row[cycle.KM_MEDIAN_DAYS])
    grouped = cycle.time_to_close(analysis.connect({c.DEALS: empty}), by=c.SEGMENT)
    assert grouped.to_frame().empty and grouped.curves.empty
    one_open = deals_frame([0], [c.OPEN])
    row = cycle.time_to_close(analysis.connect({c.DEALS: one_open})).to_frame().iloc[0]
    assert row[c.NOTE] == cycle.NOTE_NO_CLOSED_DEALS and np.isnan(row[cycle.KM_MEDIAN_DAYS])
    one_won = deals_frame([4], [c.WON])
    res = cycle.time_to_close(analysis.connect({c.DEALS: one_won}))
    row = res.to_frame().iloc[0]
    assert row[cycle.KM_MEDIAN_DAYS] == 4 and np.isnan(row[cycle.KM_MEDIAN_CI_LOW])
    assert row[c.NOTE] == cycle.NOTE_CI_NOT_ESTIMABLE
    one_lost = deals_frame([4], [c.LOST])
    row = cycle.time_to_close(analysis.connect({c.DEALS: one_lost})).to_frame().iloc[0]
    assert row[c.NOTE] == cycle.NOTE_CI_NOT_ESTIMABLE and np.isnan(row[cycle.WON_ONLY_MEAN_DAYS])
    # Time in stage: a stage nobody reached, and an ongoing stay of an open deal.
    events = pd.DataFrame({c.DEAL_ID: ["D00000"], c.STAGE: ["prospecting"], c.ENTERED_AT: [T0]})
    ws = analysis.connect({c.DEALS: one_open, c.STAGE_EVENTS: events})
    table = cycle.time_in_stage(ws).to_frame().set_index(c.STAGE)
    assert table.loc["prospecting", c.NOTE] == cycle.NOTE_NO_EVENTS
    assert table.loc["prospecting", cycle.N_CENSORED] == 1
    assert table.loc["negotiation", c.NOTE] == cycle.NOTE_NO_STAYS
    assert np.isnan(table.loc["negotiation", cycle.MEDIAN_DAYS])


def test_time_in_stage_hand_example():
    # Two deals: D0 prospecting 0 -> qualification 2 -> won 5; D1 prospecting 0 ->
    # qualification 4, still open at the cutoff (day 5). Prospecting stays 2 and 4
    # (events): S(2) = 0.5 exactly, flat until 4, so the KM median is (2 + 4) / 2 = 3 by
    # R survival's midpoint rule (it was 4, the first S < 0.5, before issue 19), as
    # survfit(Surv(c(2, 4), c(1, 1)) ~ 1) prints (R survival 3.5-3: median 3).
    # Qualification: 3 (event), 1 (censored): median 3.
    deals = deals_frame([5, 0], [c.WON, c.OPEN])
    events = pd.DataFrame(
        {
            c.DEAL_ID: ["D00000"] * 3 + ["D00001"] * 2,
            c.STAGE: ["prospecting", "qualification", "won", "prospecting", "qualification"],
            c.ENTERED_AT: T0 + pd.to_timedelta([0, 2, 5, 0, 4], unit="D"),
        }
    )
    ws = analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events})
    res = cycle.time_in_stage(ws)
    table = res.to_frame().set_index(c.STAGE)
    assert "won" not in table.index  # terminal stages are not stays
    assert table.loc["prospecting", cycle.N_STAYS] == 2
    assert table.loc["prospecting", cycle.MEDIAN_DAYS] == 3
    assert table.loc["qualification", cycle.N_CENSORED] == 1
    assert table.loc["qualification", cycle.MEDIAN_DAYS] == 3
    assert res.n_excluded == 0


@pytest.mark.skipif(
    not (MAVEN / "sales_pipeline.csv").exists(),
    reason=f"Maven CRM data set not found at {MAVEN} (shared datasets are not part of a clone)",
)
def test_maven_engage_to_close(tmp_path):
    from analysis.ingest import ingest

    out = tmp_path / "processed"
    ingest(MAVEN, out, map_path=paths.MAVEN_MAP_FILE)
    res = cycle.time_to_close(analysis.connect(out))
    row = res.to_frame().iloc[0]
    # shared/datasets/README.md: engage->close days over closed deals mean 47.99, median 45.
    assert row[cycle.CLOSED_ONLY_MEAN_DAYS] == pytest.approx(47.99, abs=0.005)
    assert row[cycle.CLOSED_ONLY_MEDIAN_DAYS] == 45
    # The 500 Prospecting deals have no engage date (created_at): excluded and counted.
    assert res.n_excluded == 500
    assert row[c.N_WON] == 4238 and row[c.N_LOST] == 2473 and row[c.N_OPEN] == 1589


def test_period_selects_deals_created_in_the_window():
    # Deal A (created T0): prospecting 2 days, qualification 3 days, won at day 5.
    # Deal B (created T0 + 40 days, which sets the cutoff): open at prospecting.
    b_created = T0 + pd.Timedelta(days=40)
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["A", "B"],
            c.CREATED_AT: [T0, b_created],
            c.OUTCOME: [c.WON, c.OPEN],
            c.AMOUNT: 1.0,
            c.SEGMENT: c.B2B,
            c.CLOSED_AT: [T0 + pd.Timedelta(days=5), pd.NaT],
        }
    )
    events = pd.DataFrame(
        {
            c.DEAL_ID: ["A", "A", "A", "B"],
            c.STAGE: ["prospecting", "qualification", c.WON, "prospecting"],
            c.ENTERED_AT: [T0, T0 + pd.Timedelta(days=2), T0 + pd.Timedelta(days=5), b_created],
        }
    )
    ws = analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events})
    january = (T0, T0 + pd.Timedelta(days=31))
    stays = cycle.time_in_stage(ws, window=january).to_frame().set_index(c.STAGE)
    # Only A's stays: 2 days at prospecting, 3 at qualification, both finished.
    assert stays.loc["prospecting", cycle.N_STAYS] == 1
    assert stays.loc["prospecting", cycle.MEDIAN_DAYS] == 2.0
    assert stays.loc["qualification", cycle.MEDIAN_DAYS] == 3.0
    every = cycle.time_in_stage(ws).to_frame().set_index(c.STAGE)
    assert every.loc["prospecting", cycle.N_STAYS] == 2  # B's ongoing stay, censored
    close = cycle.time_to_close(ws, window=january).to_frame().iloc[0]
    assert (close[c.N_DEALS], close[c.N_WON], close[c.N_OPEN]) == (1, 1, 0)
    assert close[cycle.WON_ONLY_MEAN_DAYS] == 5.0
    later = cycle.time_to_close(ws, window=("2025-02-01", "2025-03-01")).to_frame().iloc[0]
    assert (later[c.N_DEALS], later[c.N_OPEN]) == (1, 1)  # B only, censored: no close yet
    assert later[c.NOTE] == cycle.NOTE_NO_CLOSED_DEALS
    with pytest.raises(ValueError, match="window must start before"):
        cycle.time_to_close(ws, window=("2025-03-01", "2025-02-01"))


def test_seconds_between_equals_epoch_seconds_difference():
    # Reference: ibis's portable epoch_seconds() difference (what other backends use); the
    # DuckDB path reads epoch(ts) without the cast to TIMESTAMP and must give the same doubles,
    # sub-second parts included, and null where either end is null.
    from analysis.engine.durations import seconds_between

    start = pd.to_datetime(
        ["2025-01-01 00:00:00", "2025-03-30 00:59:59.25", "2025-01-01"], utc=True, format="ISO8601"
    )
    end = pd.to_datetime(
        ["2025-01-02 00:00:00.5", "2025-03-30 03:00:00", None], utc=True, format="ISO8601"
    )
    deals = pd.DataFrame(
        {c.DEAL_ID: ["a", "b", "c"], c.CREATED_AT: start, c.CLOSED_AT: end,
         c.OUTCOME: [c.WON, c.LOST, c.OPEN], c.AMOUNT: 1.0, c.SEGMENT: c.B2B}
    )  # fmt: skip
    ws = analysis.connect({c.DEALS: deals})
    d = ws.deals
    fast = seconds_between(ws, d[c.CREATED_AT], d[c.CLOSED_AT])
    portable = (d[c.CLOSED_AT].epoch_seconds() - d[c.CREATED_AT].epoch_seconds()).cast("float64")
    out = ws.execute(d.select(c.DEAL_ID, fast=fast, portable=portable).order_by(c.DEAL_ID))
    np.testing.assert_array_equal(out["fast"].to_numpy(), out["portable"].to_numpy())
    assert out["fast"].iloc[0] == 86_400.5 and np.isnan(out["fast"].iloc[2])
