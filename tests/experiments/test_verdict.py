"""Tests of analysis.experiments.verdict and .reading: the decision in words."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

import analysis
from analysis.experiments import (
    bayesian_conversion,
    compare_conversion,
    judge_comparison,
    plots,
    reading,
)
from analysis.experiments import columns as c
from analysis.experiments.power import power_analysis
from analysis.experiments.srm import sample_ratio_mismatch
from analysis.experiments.verdict import certainty_words, experiment_verdict


def units(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    rows = []
    for variant, (x, n) in counts.items():
        rows += [(variant, 1)] * x + [(variant, 0)] * (n - x)
    return pd.DataFrame(rows, columns=[c.VARIANT, c.CONVERTED])


def test_clear_win_ships():
    # 0.30 vs 0.20 on 1,000 each: z = 5.2, p ~ 2e-7 (statsmodels proportions_ztest).
    verdict = experiment_verdict(compare_conversion(units({"A": (200, 1000), "B": (300, 1000)})))
    assert (verdict.decision, verdict.variant, verdict.certainty) == ("ship", "B", "very sure")
    assert verdict.sentence.startswith("ship B") and "+10.0 points" in verdict.sentence


def test_clear_loss_stops():
    verdict = experiment_verdict(compare_conversion(units({"A": (300, 1000), "B": (200, 1000)})))
    assert verdict.decision == "stop" and "keep A" in verdict.sentence


def test_unclear_small_test_keeps_running_for_the_missing_deals():
    comparison = compare_conversion(units({"A": (60, 300), "B": (70, 300)}))
    power = power_analysis(0.2, 0.05, 300)
    verdict = experiment_verdict(comparison, power=power, minimum_effect=0.05)
    assert verdict.decision == "keep running"
    # Rounded up to two significant figures from the power analysis.
    assert power.more_units_needed <= verdict.more_units < power.more_units_needed * 1.1
    assert f"{verdict.more_units:,} more deals" in verdict.sentence


def test_precise_null_stops():
    # 20,000 per arm at equal rates: the Newcombe interval is about +-0.8 points.
    comparison = compare_conversion(units({"A": (4000, 20000), "B": (4010, 20000)}))
    verdict = experiment_verdict(comparison, minimum_effect=0.02)
    assert verdict.decision == "stop" and "no difference worth having" in verdict.sentence


def test_sample_ratio_mismatch_overrides():
    comparison = compare_conversion(units({"A": (200, 1000), "B": (300, 1000)}))
    srm = sample_ratio_mismatch({"A": 5200, "B": 4800})
    assert experiment_verdict(comparison, srm=srm).decision == "fix the test"


def test_early_significant_reading_keeps_running_until_the_boundary():
    # z = 2.2 at half the planned size: below the O'Brien-Fleming boundary 2.96.
    comparison = compare_conversion(
        units({"A": (100, 500), "B": (130, 500)}), planned_sample_size=2000
    )
    verdict = experiment_verdict(comparison)
    assert comparison.table[c.P_VALUE].iloc[1] < 0.05
    assert verdict.decision == "keep running" and "O'Brien-Fleming" in verdict.sentence


def test_non_binary_outcome_asks_to_fix_the_data():
    data = units({"A": (3, 10), "B": (4, 10)})
    data.loc[0, c.CONVERTED] = 7
    verdict = experiment_verdict(compare_conversion(data))
    assert verdict.decision == "fix the test" and "Recode" in verdict.sentence


def test_read_experiment_end_to_end(processed_folder):
    ws = analysis.connect(processed_folder)
    ids = reading.experiment_id_list(None, ws)
    assert reading.experiment_id_list('["email_template_q"]', ws) == ["email_template_q"]
    readings = [reading.read_experiment(ws, e) for e in ids]
    design = reading.design_table(readings)
    assert list(design[c.EXPERIMENT_ID]) == ids
    assert design.set_index(c.EXPERIMENT_ID).loc["call_script_d", c.N_CLUSTERS] == 20
    verdicts = reading.verdict_table(readings)
    assert set(verdicts["decision"]) <= {"ship", "keep running", "stop", "fix the test"}
    assert len(reading.headline(readings)) >= len(ids)
    effects = reading.comparison_table(readings)
    for fig in (
        plots.forest_plot(effects),
        plots.time_to_conversion_chart(readings[0].timing.curves, ids[0]),
    ):
        assert isinstance(fig, Figure)
        plt.close(fig)


@pytest.mark.parametrize("table", ["timing", "deal_size", "bayes"])
def test_stacked_tables_carry_the_experiment_id(processed_folder, table):
    ws = analysis.connect(processed_folder)
    readings = [reading.read_experiment(ws, "email_template_q")]
    frame = getattr(reading, f"{table}_table")(readings)
    assert set(frame[c.EXPERIMENT_ID]) == {"email_template_q"}


# --- issue 19: verdicts that cannot contradict their own numbers ---------------------


@pytest.mark.parametrize(("a", "b"), [((1, 30), (8, 30)), ((8, 30), (1, 30))])
def test_an_early_look_reads_z_never_the_odds_ratio(a, b):
    # Issue 19, case 1: with planned_sample_size=240, "auto" picked Fisher, whose odds
    # ratio (10.5) was compared with the O'Brien-Fleming boundary and shipped B; the
    # mirror (odds ratio 0.095) could never stop. The score z is about +-2.5 (pooled z
    # 2.53 in the issue) against the boundary 4.33 at 25% information (sequential.read_at):
    # keep running, both ways round.
    comparison = compare_conversion(units({"A": a, "B": b}), planned_sample_size=240)
    verdict = experiment_verdict(comparison)
    row = comparison.treated.iloc[0]
    assert 2.4 < abs(row[c.Z]) < 2.6 and row[c.P_ADJUSTED] < 0.05
    assert (verdict.decision, verdict.certainty) == ("keep running", "not sure yet")
    assert "|z| >= 4.33" in verdict.sentence


def _rep_randomised(seed: int = 5, reps: int = 20, deals: int = 40, lift: float = 0.35):
    """Deals of 20 reps, half per arm, a rep effect N(0, 0.8) on the log-odds (seeded)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(reps):
        arm = "A" if r < reps // 2 else "B"
        logit = -1.2 + rng.normal(0, 0.8) + (lift if arm == "B" else 0.0)
        for y in rng.binomial(1, 1 / (1 + np.exp(-logit)), deals):
            rows.append((arm, int(y), f"R{r:02d}"))
    return pd.DataFrame(rows, columns=[c.VARIANT, c.CONVERTED, c.CLUSTER])


def test_a_rep_randomised_verdict_counts_reps_in_every_figure():
    # Issue 19, cases 2 and 3: the sentence paired a cluster-robust p with a per-deal
    # "99% chance it beats A", and advised thousands more deals that could never reach
    # 80% power with 20 reps.
    comparison = compare_conversion(_rep_randomised(), cluster=c.CLUSTER)
    judged = judge_comparison(comparison, minimum_effect=0.05)
    b = comparison.treated.iloc[0]
    per_deal = bayesian_conversion(comparison.table, "A").table.set_index(c.VARIANT)
    aware = judged.bayes.table.set_index(c.VARIANT)
    # The posterior rests on the effective sample (counts / design effect): wider, so
    # its chance to beat A sits nearer one half than the per-deal one does.
    assert judged.bayes.design_effect == pytest.approx(comparison.design.design_effect)
    assert abs(aware.loc["B", "prob_beats_control"] - 0.5) < abs(
        per_deal.loc["B", "prob_beats_control"] - 0.5
    )
    # It agrees with the cluster-robust t (normal approximation: P = Phi(t)) to a few points.
    assert aware.loc["B", "prob_beats_control"] == pytest.approx(stats.norm.cdf(b[c.Z]), abs=0.05)
    power = judged.power
    assert power.clusters_per_arm == 10
    assert power.max_power_same_clusters < power.power and power.more_units_same_clusters is None
    verdict = judged.verdict
    assert verdict.decision == "stop" and verdict.more_units is None
    assert f"about {power.clusters_per_arm_needed:,} clusters per arm" in verdict.sentence
    assert "the test rests on 20 clusters" in verdict.sentence


def test_more_deals_from_the_same_reps_when_they_can_reach_the_power():
    # 40 reps with a small ICC (about 0.05): more deals from the same reps can reach 80%
    # power, so the advice is deals. Check that the advice holds: with that many more
    # deals per rep the effective size G m / (1 + (m - 1) icc) has 80% power
    # (statsmodels NormalIndPower, Cohen's h; Donner & Klar 2000, ch. 5).
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    data = _rep_randomised(seed=6, reps=40, deals=30, lift=0.2)
    judged = judge_comparison(compare_conversion(data, cluster=c.CLUSTER), minimum_effect=0.1)
    verdict, power = judged.verdict, judged.power
    assert verdict.decision == "keep running"
    assert "more deals from the same clusters" in verdict.sentence
    more = power.more_units_same_clusters
    assert more <= verdict.more_units < more * 1.1
    g, icc = power.clusters_per_arm, power.icc
    m = (power.n_per_arm + more / 2) / g
    h = proportion_effectsize(power.baseline_rate + 0.1, power.baseline_rate)
    reached = NormalIndPower().power(h, nobs1=g * m / (1 + (m - 1) * icc), alpha=0.05)
    assert reached == pytest.approx(0.8, abs=0.01)


@pytest.mark.parametrize(
    ("probability", "words"),
    [(0.9999, "very sure"), (0.995, "fairly sure"), (0.975, "reasonably sure")],
)
def test_certainty_words_come_from_the_posterior(probability, words):
    # Issue 19, case 8: the words came from the p-value alone. Thresholds: docs/metrics.md.
    assert certainty_words(probability) == words


def test_a_barely_significant_ship_is_only_reasonably_sure():
    # 380 vs 330 of 1,500 each: score z about 2.15, p about 0.03, P(B > A) about 0.98:
    # the rule ships, the posterior does not make it more than reasonably sure.
    comparison = compare_conversion(units({"A": (330, 1500), "B": (380, 1500)}))
    judged = judge_comparison(comparison)
    assert comparison.treated.iloc[0][c.P_VALUE] < 0.05
    assert (judged.verdict.decision, judged.verdict.certainty) == ("ship", "reasonably sure")
