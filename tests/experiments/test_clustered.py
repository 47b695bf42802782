"""Tests of analysis.experiments.clustered: rep- or account-randomised designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.experiments import columns as c
from analysis.experiments import compare_conversion, icc_anova
from analysis.experiments.clustered import cluster_robust_fit
from analysis.stats.proportions import two_proportion_ztest


def cells(rows: list[tuple[str, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[c.VARIANT, c.CLUSTER, c.N_UNITS, c.N_CONVERSIONS])


def test_icc_and_design_effect_by_hand():
    # Hand calculation (ANOVA estimator, arm means removed): clusters A1 2/10, A2 6/10,
    # B1 4/10, B2 4/10; arm rates 0.4 and 0.4. MSB = (10*0.04 + 10*0.04)/(4-2) = 0.4;
    # MSW = (2*0.8 + 6*0.4 + 4*0.6 + 4*0.6)/(40-4) = 8.8/36; n0 = (40 - 20)/2 = 10;
    # ICC = (0.4 - 8.8/36)/(0.4 + 9*8.8/36) = 0.0598291; deff = 1 + (400/40 - 1)*ICC.
    table = cells([("A", 1, 10, 2), ("A", 2, 10, 6), ("B", 3, 10, 4), ("B", 4, 10, 4)])
    icc, deff = icc_anova(table)
    expected = (0.4 - 8.8 / 36) / (0.4 + 9 * 8.8 / 36)
    assert icc == pytest.approx(expected)
    assert deff == pytest.approx(1 + 9 * expected)


def test_cluster_fit_equals_per_unit_ols_with_cluster_errors():
    # Reference: statsmodels OLS on the expanded per-unit rows with cov_type="cluster"
    # gives the same difference; its standard error differs only by the small-sample
    # factor (N-1)/(N-K) that statsmodels applies with N units instead of N clusters.
    rng = np.random.default_rng(1)
    n = rng.integers(5, 30, 12)
    y = rng.binomial(n, 0.3)
    arm = np.repeat(["A", "B"], 6)
    table = cells(list(zip(arm, range(12), n, y, strict=True)))
    fit = cluster_robust_fit(table, "A", ["B"])
    rows = np.concatenate([np.r_[np.ones(k), np.zeros(m - k)] for k, m in zip(y, n, strict=True)])
    group = np.repeat(np.arange(12), n)
    x = sm.add_constant(np.repeat((arm == "B").astype(float), n))
    ref = sm.OLS(rows, x).fit(cov_type="cluster", cov_kwds={"groups": group}, use_t=True)
    assert fit.difference[0] == pytest.approx(ref.params[1])
    big_n = n.sum()
    factor = np.sqrt(((big_n - 1) / (big_n - 2)) / ((12 - 1) / (12 - 2)))
    high = fit.intervals(0.05)[1]
    se = (high[0] - fit.difference[0]) / (ref.conf_int()[1, 1] - ref.params[1])
    assert se == pytest.approx(1 / factor, rel=1e-6)


def test_rep_randomised_naive_overrejects_cluster_robust_does_not():
    # Property by seeded simulation: 30 reps (15 per arm), 30 deals each, rep effect
    # N(0, 0.6) on the log-odds (ICC about 0.07), no treatment effect, 200 runs. A per-deal
    # z-test treats 900 deals as independent and rejects far more often than alpha;
    # the cluster-robust test stays near alpha (band: 0.05 +- 3 binomial SE of 200 runs,
    # CR1 errors run slightly liberal with few clusters).
    rng = np.random.default_rng(20240601)
    reps, deals, runs = 30, 30, 200
    skill = rng.normal(0.0, 0.6, (runs, reps))
    conv = rng.binomial(deals, 1 / (1 + np.exp(-skill)))
    arm = np.array([rng.permutation(np.repeat([0, 1], reps // 2)) for _ in range(runs)])
    xb, xa = (conv * arm).sum(1), (conv * (1 - arm)).sum(1)
    nb, na = deals * arm.sum(1), deals * (1 - arm).sum(1)
    naive = (two_proportion_ztest(xb, nb, xa, na)[1] < 0.05).mean()
    p_robust = []
    for s in range(runs):
        variant = np.where(arm[s], "B", "A")
        table = cells(list(zip(variant, range(reps), [deals] * reps, conv[s], strict=True)))
        p_robust.append(cluster_robust_fit(table, "A", ["B"]).p_value[0])
    robust = (np.array(p_robust) < 0.05).mean()
    assert naive > 0.2
    assert 0.01 <= robust <= 0.10


def test_compare_reports_clusters_icc_and_overstatement():
    rng = np.random.default_rng(11)
    skill = rng.normal(0, 0.8, 16)
    frames = [
        pd.DataFrame(
            {
                c.VARIANT: "A" if r % 2 else "B",
                "rep": f"R{r}",
                c.CONVERTED: rng.binomial(1, 1 / (1 + np.exp(-skill[r])), 50),
            }
        )
        for r in range(16)
    ]
    result = compare_conversion(pd.concat(frames), cluster="rep")
    b = result.to_frame().set_index(c.VARIANT).loc["B"]
    assert b[c.METHOD] == "cluster_robust" and b[c.N_CLUSTERS] == 8
    design = result.design
    assert design.n_clusters == 16 and design.icc > 0.05 and design.design_effect > 2
    assert design.overstated and "overstate certainty" in design.message
    assert design.message in result.messages
    assert b[c.DIFF_CI_LOW] < b[c.DIFFERENCE] < b[c.DIFF_CI_HIGH]


def test_too_few_clusters_gives_a_note():
    data = pd.DataFrame({c.VARIANT: ["A"] * 5 + ["B"] * 5, "rep": ["r1"] * 5 + ["r2"] * 5})
    data[c.CONVERTED] = [1, 0, 1, 0, 1, 0, 0, 1, 1, 1]
    result = compare_conversion(data, cluster="rep")
    assert c.NOTE_TOO_FEW_CLUSTERS in result.notes
    assert np.isnan(result.to_frame()[c.P_VALUE].iloc[1])
