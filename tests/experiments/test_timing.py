"""Tests of analysis.experiments.timing: time to conversion and deal size by variant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.experiments import columns as c
from analysis.experiments.timing import SHARE_CONVERTED, compare_amounts, time_to_conversion


def test_kaplan_meier_and_logrank_by_hand():
    # Hand calculation. A: days 1 (event), 2 (event); B: 3 (event), 4 (event), 2.5 (censored).
    # Log-rank: t=1: n=5 (2 A), E_A=2/5, V=(2/5)(3/5)=0.24; t=2: n=4 (1 A), E_A=1/4,
    # V=(1/4)(3/4)=0.1875; t=3 and 4: no A at risk. O-E = 2 - 0.65 = 1.35, V = 0.4275,
    # chi2 = 1.35^2 / 0.4275 = 4.2632. B's share converted: at 3 days 1 - 1/2, at 4 days 1.
    units = pd.DataFrame(
        {
            c.VARIANT: ["A", "A", "B", "B", "B"],
            c.DAYS: [1.0, 2.0, 3.0, 4.0, 2.5],
            c.CONVERTED: [1.0, 1.0, 1.0, 1.0, np.nan],
        }
    )
    result = time_to_conversion(units, horizons=(3,))
    assert result.statistic == pytest.approx(1.35**2 / 0.4275)
    assert result.p_value == pytest.approx(stats.chi2.sf(1.35**2 / 0.4275, 1))
    b = result.curves[result.curves[c.VARIANT] == "B"].set_index(c.DAYS)[SHARE_CONVERTED]
    assert b.loc[3.0] == pytest.approx(0.5) and b.loc[4.0] == pytest.approx(1.0)
    table = result.to_frame().set_index(c.VARIANT)
    assert table.loc["A", "converted_by_3"] == pytest.approx(1.0)
    assert table.loc["B", c.N_CONVERSIONS] == 2


def test_variant_without_conversions_and_single_variant():
    units = pd.DataFrame({c.VARIANT: ["A", "A"], c.DAYS: [1.0, 2.0], c.CONVERTED: [0.0, 0.0]})
    result = time_to_conversion(units)
    assert np.isnan(result.p_value) and result.curves.empty
    assert result.to_frame()["converted_by_30"].iloc[0] == 0


def test_deal_size_matches_scipy():
    rng = np.random.default_rng(4)
    a, b = rng.lognormal(9, 1, 40), rng.lognormal(9.3, 1, 35)
    units = pd.DataFrame(
        {
            c.VARIANT: ["A"] * 40 + ["B"] * 35 + ["B"],
            c.AMOUNT: np.r_[a, b, 1e9],
            c.OUTCOME: [c.WON] * 75 + [c.LOST],  # the lost deal's amount is ignored
        }
    )
    row = compare_amounts(units).to_frame().set_index(c.VARIANT).loc["B"]
    welch = stats.ttest_ind(b, a, equal_var=False)  # scipy Welch t-test
    assert row[c.T_WELCH] == pytest.approx(welch.statistic)
    assert row["p_welch"] == pytest.approx(welch.pvalue)
    ci = welch.confidence_interval(0.95)
    assert (row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH]) == pytest.approx((ci.low, ci.high))
    assert row["p_mann_whitney"] == pytest.approx(stats.mannwhitneyu(b, a).pvalue)  # scipy
    assert row["mean"] == pytest.approx(b.mean())


def test_deal_size_with_too_few_amounts_is_a_note():
    units = pd.DataFrame({c.VARIANT: ["A", "A", "B"], c.AMOUNT: [1.0, 2.0, 3.0]})
    row = compare_amounts(units, won_only=False).to_frame().set_index(c.VARIANT).loc["B"]
    assert row[c.NOTE] == "too_few_values" and np.isnan(row["p_welch"])


def _rep_frailty(rng, reps: int = 20, deals: int = 30) -> pd.DataFrame:
    """A/A data randomised by rep: each rep's deals share a frailty (log-hazard N(0, 0.8))."""
    rep = np.repeat(np.arange(reps), deals)
    arm = np.where(rep < reps // 2, "A", "B")
    hazard = 0.02 * np.exp(rng.normal(0, 0.8, reps))[rep]
    days = rng.exponential(1 / hazard)
    converted = (days <= 90).astype(float)  # followed for 90 days
    return pd.DataFrame(
        {c.VARIANT: arm, c.DAYS: np.minimum(days, 90.0), c.CONVERTED: converted,
         c.CLUSTER: [f"R{r}" for r in rep]}
    )  # fmt: skip


def test_a_rep_randomised_time_comparison_is_cluster_robust():
    # Issue 19, case 2: the log-rank p beside a rep-randomised test was per deal.
    # Seeded A/A simulation, 300 runs of 20 reps x 30 deals with a shared frailty per rep:
    # the per-deal log-rank test (statsmodels survdiff) rejects far more often than 5%,
    # the cluster-robust one stays near it (band: 0.05 + 3 binomial SE of 300 runs, about
    # 0.088; few clusters run slightly liberal).
    from statsmodels.duration.survfunc import survdiff

    from analysis.experiments.timing import _cluster_robust_curves_test

    rng = np.random.default_rng(20261202)
    naive = robust = 0
    runs = 300
    for _ in range(runs):
        data = _rep_frailty(rng)
        days, event = data[c.DAYS].to_numpy(), data[c.CONVERTED].to_numpy().astype(int)
        _, p, _ = _cluster_robust_curves_test(days, event, data[c.VARIANT], data[c.CLUSTER])
        robust += p < 0.05
        naive += survdiff(days, event, data[c.VARIANT].to_numpy())[1] < 0.05
    assert robust / runs <= 0.088 and naive / runs >= 2 * robust / runs
    result = time_to_conversion(data)
    assert result.method == "cluster-robust score" and result.n_clusters == 20


def test_one_deal_per_cluster_gives_about_the_log_rank_test():
    # With every deal its own cluster the robust score test is the log-rank test with a
    # sandwich variance: the two statistics agree to within a few percent (statsmodels
    # survdiff as the reference).
    from statsmodels.duration.survfunc import survdiff

    from analysis.experiments.timing import _cluster_robust_curves_test

    data = _rep_frailty(np.random.default_rng(1))
    days, event = data[c.DAYS].to_numpy(), data[c.CONVERTED].to_numpy().astype(int)
    robust, _, inflation = _cluster_robust_curves_test(
        days, event, data[c.VARIANT], np.arange(len(data))
    )
    assert robust == pytest.approx(survdiff(days, event, data[c.VARIANT].to_numpy())[0], rel=0.05)
    assert inflation == pytest.approx(1.0, abs=0.05)


def test_rep_randomised_intervals_are_wider_than_per_deal_ones():
    data = _rep_frailty(np.random.default_rng(3))
    aware = time_to_conversion(data).curves
    per_deal = time_to_conversion(data.drop(columns=c.CLUSTER)).curves
    width = (aware[c.CI_HIGH] - aware[c.CI_LOW]).sum()
    assert width > (per_deal[c.CI_HIGH] - per_deal[c.CI_LOW]).sum()
    assert aware[SHARE_CONVERTED].equals(per_deal[SHARE_CONVERTED])  # same curves


def test_rep_randomised_deal_size_is_cluster_robust():
    # Amounts share a rep effect; the difference of means is the hand difference, its
    # interval the cluster-robust t interval (statsmodels OLS, cov_type="cluster"), and the
    # per-deal Mann-Whitney test is withheld.
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    rep = np.repeat(np.arange(16), 12)
    arm = np.where(rep < 8, "A", "B")
    amount = 1000 * np.exp(rng.normal(0, 0.5, 16))[rep] * rng.lognormal(0, 0.3, rep.size)
    units = pd.DataFrame(
        {c.VARIANT: arm, c.AMOUNT: amount, c.CLUSTER: rep.astype(str), c.OUTCOME: c.WON}
    )
    row = compare_amounts(units).to_frame().set_index(c.VARIANT).loc["B"]
    diff = amount[arm == "B"].mean() - amount[arm == "A"].mean()  # hand
    assert row[c.DIFFERENCE] == pytest.approx(diff)
    ref = sm.OLS(amount, sm.add_constant((arm == "B").astype(float))).fit(
        cov_type="cluster", cov_kwds={"groups": rep}, use_t=True
    )
    assert (row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH]) == pytest.approx(tuple(ref.conf_int()[1]))
    assert row[c.METHOD] == "cluster_robust" and np.isnan(row["p_mann_whitney"])
    welch = stats.ttest_ind(amount[arm == "B"], amount[arm == "A"], equal_var=False)
    assert row[c.DIFF_CI_HIGH] - row[c.DIFF_CI_LOW] > np.diff(welch.confidence_interval())[0]
