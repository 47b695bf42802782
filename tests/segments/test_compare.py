"""Tests for analysis.segments.compare: B2B vs B2C and the decision-maker effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import analysis
from analysis.core import columns as c
from analysis.core import paths
from analysis.engine.journey import data_cutoff
from analysis.sample import generate_sample
from analysis.segments.compare import (
    MEASURE_CYCLE,
    MEASURE_STAGE,
    METRIC_CYCLE,
    METRIC_DM,
    METRIC_SIZE,
    METRIC_WIN_RATE,
    compare_segments,
    decision_maker_effect,
    ols_from_sums,
)
from analysis.segments.findings import segment_sentences


@pytest.fixture(scope="module")
def sample():
    """The sample CRM at its default size and seed (5,000 deals), as in-memory tables."""
    crm = generate_sample(paths.DEFAULT_SAMPLE_DEALS, seed=paths.DEFAULT_SEED)
    return crm, analysis.connect(dict(crm.tables))


@pytest.fixture(scope="module")
def comparison(sample):
    return compare_segments(sample[1]).to_frame().set_index([c.METRIC, c.STAGE])


@pytest.fixture(scope="module")
def effect(sample):
    return decision_maker_effect(sample[1])


def _covers(row: pd.Series, side: str, value: float) -> bool:
    low, high = row[f"ci_low_{side}"], row[f"ci_high_{side}"]
    return bool(low <= value <= high)


def test_planted_deal_size_is_recovered(sample, comparison):
    # Planted truth: amount ~ lognormal with median truth["segments"][s]["amount"]["median_usd"]
    # times exp(0.15 * (n_dm - reference)), so the geometric mean over deals is
    # median * exp(0.15 * (mean n_dm - reference)); mean n_dm is read from the deals.
    crm, _ = sample
    row = comparison.loc[(METRIC_SIZE, "")]
    deals = crm.tables[c.DEALS]
    for seg, side in ((c.B2B, "a"), (c.B2C, "b")):
        plan = crm.truth["segments"][seg]
        ref = plan["n_decision_makers"]["reference"]
        mean_dm = deals.loc[deals[c.SEGMENT] == seg, c.N_DECISION_MAKERS].astype(float).mean()
        slope = plan["amount"]["log_multiplier_per_extra_decision_maker"]
        planted = plan["amount"]["median_usd"] * np.exp(slope * (mean_dm - ref))
        assert _covers(row, side, planted), (seg, planted)
    # The ratio interval excludes 1: B2B deals are far larger.
    assert row[c.DIFF_CI_LOW] > 1


def test_planted_decision_makers_are_recovered(sample, comparison):
    # Planted truth: n_dm = dm_min + Binomial(trials, p) -> mean 2 + 6 * 0.35 = 4.1 (B2B),
    # 1 + 1 * 0.12 = 1.12 (B2C) (truth["segments"][s]["n_decision_makers"]["formula"]).
    row = comparison.loc[(METRIC_DM, "")]
    assert _covers(row, "a", 2 + 6 * 0.35)
    assert _covers(row, "b", 1 + 1 * 0.12)
    assert row[c.P_VALUE] < 0.001


def test_planted_cycle_difference_is_recovered(sample):
    # Planted truth: truth["outcomes_realised"][s]["median_days_to_close"] is the median
    # days from creation to close of the closed deals of the whole draw. On cohorts created
    # a year or more before the cutoff every deal has closed, so the Kaplan-Meier median of
    # those cohorts (an independent half of the draw) must cover it.
    crm, ws = sample
    end = data_cutoff(ws) - pd.Timedelta(days=365)
    row = compare_segments(ws, window=(None, end)).to_frame().set_index(c.METRIC).loc[METRIC_CYCLE]
    realised = crm.truth["outcomes_realised"]
    assert _covers(row, "a", realised[c.B2B]["median_days_to_close"])
    assert _covers(row, "b", realised[c.B2C]["median_days_to_close"])
    assert row[c.VALUE_A] > 5 * row[c.VALUE_B] and row[c.P_VALUE] < 0.001


def test_planted_decision_maker_effects_are_recovered(sample, effect):
    # Planted truth: log-odds of advancing -0.12 per extra decision maker from qualification
    # on (truth["effects"]["decision_makers_log_odds_per_extra"]); time in every stage x
    # exp(0.10) per extra one (truth["durations"]["log_multiplier_per_extra_decision_maker"]).
    crm, _ = sample
    planted_odds = crm.truth["effects"]["decision_makers_log_odds_per_extra"]
    planted_days = crm.truth["durations"]["log_multiplier_per_extra_decision_maker"]
    b2b = effect.effects[effect.effects[c.SEGMENT] == c.B2B].set_index("measure")
    assert (
        b2b.loc[MEASURE_STAGE, "slope_ci_low"]
        <= planted_odds
        <= b2b.loc[MEASURE_STAGE, "slope_ci_high"]
    )
    assert (
        b2b.loc[MEASURE_CYCLE, "slope_ci_low"]
        <= planted_days
        <= b2b.loc[MEASURE_CYCLE, "slope_ci_high"]
    )
    # Win rate by number of decision makers reconciles with the generator's realised counts.
    realised = crm.truth["win_rate_by_decision_makers"][c.B2B]
    by = effect.by_count[effect.by_count[c.SEGMENT] == c.B2B].set_index(c.N_DECISION_MAKERS)
    for k, r in realised.items():
        assert by.loc[int(k), c.N_WON] == r[c.WON]


def test_win_rate_row_reconciles_with_the_truth(sample, comparison):
    # Realised win rates per segment: truth["outcomes_realised"][s]["win_rate"].
    crm, _ = sample
    row = comparison.loc[(METRIC_WIN_RATE, "")]
    assert row[c.VALUE_A] == pytest.approx(crm.truth["outcomes_realised"][c.B2B]["win_rate"])
    assert row[c.VALUE_B] == pytest.approx(crm.truth["outcomes_realised"][c.B2C]["win_rate"])
    assert row[c.DIFF_CI_LOW] <= row[c.DIFFERENCE] <= row[c.DIFF_CI_HIGH]
    stages = comparison.loc["conversion"]
    assert len(stages) == 6 and (stages[c.P_ADJUSTED] >= stages[c.P_VALUE]).all()


def test_sentences_name_both_segments(sample, comparison, effect):
    sentences = segment_sentences(compare_segments(sample[1]), effect)
    assert sentences[0].startswith("B2B wins ") and " B2C " in sentences[0]
    assert any("decision maker" in s for s in sentences)


def test_ols_from_sums_equals_ols_on_rows():
    # Reference: statsmodels OLS on the expanded rows.
    rng = np.random.default_rng(5)
    x = rng.integers(1, 6, size=300).astype(float)
    y = 2.0 + 0.3 * x + rng.normal(0, 1, size=300)
    frame = pd.DataFrame({"x": x, "y": y})
    sums = frame.groupby("x")["y"].agg(n="size", sum_y="sum").reset_index()
    sums["sum_y2"] = frame.assign(y2=y**2).groupby("x")["y2"].sum().to_numpy()
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    out = ols_from_sums(sums)
    assert out["slope"] == pytest.approx(fit.params[1])
    assert out["std_err"] == pytest.approx(fit.bse[1])
    assert (out["slope_ci_low"], out["slope_ci_high"]) == pytest.approx(tuple(fit.conf_int()[1]))
    assert out[c.P_VALUE] == pytest.approx(fit.pvalues[1])


def test_a_missing_segment_gives_nan_and_a_code_not_a_crash(sample):
    crm, _ = sample
    deals = crm.tables[c.DEALS]
    only_b2b = analysis.connect({c.DEALS: deals[deals[c.SEGMENT] == c.B2B]})
    table = compare_segments(only_b2b).to_frame().set_index(c.METRIC)
    assert np.isnan(table.loc[METRIC_WIN_RATE, c.DIFFERENCE])
    assert table.loc[METRIC_WIN_RATE, c.NOTE] == c.NOTE_NO_CLOSED_DEALS
    assert "conversion" not in table.index  # no stage events: no stage rows
    no_dm = analysis.connect({c.DEALS: deals.drop(columns=[c.N_DECISION_MAKERS])})
    missing = decision_maker_effect(no_dm)
    assert missing.by_count.empty
    assert missing.effects[c.NOTE].tolist() == ["no_decision_makers_column"]
