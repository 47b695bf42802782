"""Tests of analysis.experiments.compare (and .proportions): conversion by variant.

Reference values come from independent implementations (statsmodels, scipy)
or published worked examples, each named beside the assertion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from score_reference import mn_interval
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

from analysis.core.errors import InputError
from analysis.experiments import columns as c
from analysis.experiments import compare_conversion
from analysis.stats.proportions import exact_test, two_proportion_ztest


def units(counts: dict[str, tuple[int, int]], outcome=(1, 0)) -> pd.DataFrame:
    """One row per unit from {variant: (conversions, units)}."""
    rows = []
    for variant, (x, n) in counts.items():
        rows += [(variant, outcome[0])] * x + [(variant, outcome[1])] * (n - x)
    return pd.DataFrame(rows, columns=[c.VARIANT, c.CONVERTED])


def row(result, variant: str) -> pd.Series:
    frame = result.to_frame()
    return frame[frame[c.VARIANT] == variant].iloc[0]


def test_two_variants_match_statsmodels_score_test_and_intervals():
    result = compare_conversion(units({"A": (30, 310), "B": (45, 300)}), control="A")
    b = row(result, "B")
    # statsmodels' Miettinen–Nurminen score test of B against A (right at a difference of 0).
    ref = sm_test_2indep(45, 300, 30, 310, method="score", compare="diff")
    assert b[c.Z] == pytest.approx(ref.statistic, rel=1e-10)
    assert b[c.P_VALUE] == pytest.approx(ref.pvalue, rel=1e-10)
    assert b[c.METHOD] == "score"
    # The interval that inverts it (brute force, tests/score_reference.py).
    lo, hi = mn_interval(45, 300, 30, 310)
    assert (b[c.DIFF_CI_LOW], b[c.DIFF_CI_HIGH]) == pytest.approx((lo, hi), abs=1e-8)
    # Hand calculation: 45/300 - 30/310 and (45/300)/(30/310) - 1.
    assert b[c.DIFFERENCE] == pytest.approx(45 / 300 - 30 / 310)
    assert b[c.LIFT] == pytest.approx((45 / 300) / (30 / 310) - 1)
    # statsmodels' score interval of the ratio (its ratio restricted MLE is right), - 1.
    rlo, rhi = confint_proportions_2indep(45, 300, 30, 310, method="score", compare="ratio")
    assert (b[c.LIFT_CI_LOW], b[c.LIFT_CI_HIGH]) == pytest.approx((rlo - 1, rhi - 1), abs=1e-7)
    # Wilson interval of the control's rate (statsmodels proportion_confint).
    a = row(result, "A")
    assert a[c.RATE] == pytest.approx(30 / 310) and a[c.IS_CONTROL]
    assert a[c.RATE_CI_LOW] < 30 / 310 < a[c.RATE_CI_HIGH]
    assert np.isnan(a[c.P_VALUE])


def test_newcombe_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 6
    # (Miettinen–Nurminen): (a) 56/70 - 48/80 = 0.2000, interval 0.0528 to 0.3382;
    # (b) 9/10 - 3/10 = 0.6000, interval 0.1700 to 0.8406; method 5 (Mee, which
    # inverts the pooled z-test) for (a): 0.0533 to 0.3377.
    result = compare_conversion(units({"ctl": (48, 80), "new": (56, 70)}), control="ctl")
    new = row(result, "new")
    assert new[c.DIFFERENCE] == pytest.approx(0.2000, abs=5e-5)
    assert (new[c.DIFF_CI_LOW], new[c.DIFF_CI_HIGH]) == pytest.approx((0.0528, 0.3382), abs=5e-5)
    b = row(compare_conversion(units({"A": (3, 10), "B": (9, 10)})), "B")
    assert (b[c.DIFF_CI_LOW], b[c.DIFF_CI_HIGH]) == pytest.approx((0.1700, 0.8406), abs=5e-5)
    mee = row(compare_conversion(units({"ctl": (48, 80), "new": (56, 70)}), method="z"), "new")
    assert (mee[c.DIFF_CI_LOW], mee[c.DIFF_CI_HIGH]) == pytest.approx((0.0533, 0.3377), abs=5e-5)
    z, p = proportions_ztest([56, 48], [70, 80])  # statsmodels, pooled variance
    assert (mee[c.Z], mee[c.P_VALUE]) == pytest.approx((z, p), rel=1e-10)


@pytest.mark.parametrize("alternative", ["larger", "smaller"])
def test_one_sided_matches_statsmodels(alternative):
    z, p = proportions_ztest([60, 40], [400, 400], alternative=alternative)  # statsmodels
    stat, pval = two_proportion_ztest(60, 400, 40, 400, alternative)
    assert (stat, pval) == pytest.approx((z, p), rel=1e-12)


def test_vectorised_ztest_matches_statsmodels_elementwise():
    rng = np.random.default_rng(3)
    x1, x2 = rng.integers(5, 60, 20), rng.integers(5, 60, 20)
    z, p = two_proportion_ztest(x1, 200, x2, 180)
    for i in range(20):
        # statsmodels proportions_ztest, one pair at a time.
        zs, ps = proportions_ztest([x1[i], x2[i]], [200, 180])
        assert (z[i], p[i]) == pytest.approx((zs, ps), rel=1e-10)


def test_fisher_on_request_keeps_a_z_statistic_and_says_its_interval_is_the_score_one():
    # Fisher's tea-tasting table [[3, 1], [1, 3]]: two-sided p = 0.4857 (Fisher 1935;
    # scipy.stats.fisher_exact gives 0.48571). The z column stays the score z (the
    # sequential boundaries read it), never the odds ratio.
    result = compare_conversion(units({"A": (1, 4), "B": (3, 4)}), method="fisher")
    b = row(result, "B")
    assert b[c.METHOD] == "fisher" and b[c.NOTE] == c.NOTE_EXACT_P
    assert b[c.P_VALUE] == pytest.approx(0.4857, abs=5e-5)
    ref = sm_test_2indep(3, 4, 1, 4, method="score", compare="diff").statistic
    assert b[c.Z] == pytest.approx(ref, rel=1e-10)


def test_auto_uses_the_score_test_at_small_counts_too():
    # Issue 19, case 1: "auto" picked Fisher and its odds ratio (10.5) was read as z.
    b = row(compare_conversion(units({"A": (1, 30), "B": (8, 30)})), "B")
    ref = sm_test_2indep(8, 30, 1, 30, method="score", compare="diff")
    assert b[c.METHOD] == "score" and b[c.Z] == pytest.approx(ref.statistic, rel=1e-10)
    assert 2.4 < b[c.Z] < 2.6  # about the pooled z of 2.53 the issue quotes


def test_fisher_and_boschloo_on_request_match_scipy():
    table = [[7, 13], [2, 18]]  # B: 7/20, A: 2/20
    data = units({"A": (2, 20), "B": (7, 20)})
    fisher = row(compare_conversion(data, method="fisher"), "B")
    assert fisher[c.P_VALUE] == pytest.approx(stats.fisher_exact(table).pvalue)  # scipy
    bosch = row(compare_conversion(data, method="boschloo", alternative="larger"), "B")
    ref = stats.boschloo_exact(table, alternative="greater").pvalue  # scipy
    assert bosch[c.P_VALUE] == pytest.approx(ref)
    assert exact_test(7, 20, 2, 20, "smaller")[1] == pytest.approx(
        stats.fisher_exact(table, alternative="less").pvalue  # scipy
    )


@pytest.mark.parametrize("correction", ["holm", "fdr_bh"])
def test_three_variants_omnibus_and_adjustment(correction):
    counts = {"A": (50, 500), "B": (70, 500), "C": (80, 500)}
    result = compare_conversion(units(counts), control="A", correction=correction)
    # scipy chi2_contingency without continuity correction on the 3 x 2 table.
    chi = stats.chi2_contingency([[50, 450], [70, 430], [80, 420]], correction=False)
    assert result.omnibus_statistic == pytest.approx(chi.statistic)
    assert result.omnibus_p_value == pytest.approx(chi.pvalue)
    assert result.omnibus_df == 2
    raw = [  # statsmodels' score test
        sm_test_2indep(x, 500, 50, 500, method="score", compare="diff").pvalue for x in (70, 80)
    ]
    adjusted = multipletests(raw, method=correction)[1]  # statsmodels
    frame = result.to_frame().set_index(c.VARIANT)
    assert frame.loc[["B", "C"], c.P_ADJUSTED].to_numpy() == pytest.approx(adjusted)
    assert np.isnan(frame.loc["A", c.P_ADJUSTED])
    # Each interval is at the level its adjusted p-value implies (tests/score_reference.py).
    for variant, x, p, adj in zip("BC", (70, 80), raw, adjusted, strict=True):
        ref = mn_interval(x, 500, 50, 500, 0.05 * p / adj)
        got = (frame.loc[variant, c.DIFF_CI_LOW], frame.loc[variant, c.DIFF_CI_HIGH])
        assert got == pytest.approx(ref, abs=1e-8)
        assert (got[0] > 0) == (adj < 0.05)


def test_text_outcomes_and_categorical_order():
    data = units({"B": (20, 100), "A": (10, 100)}, outcome=("yes", "no"))
    data[c.VARIANT] = pd.Categorical(data[c.VARIANT], categories=["B", "A"])
    result = compare_conversion(data)
    # Categorical order makes B the control; rates from the counts above.
    assert result.control == "B"
    assert row(result, "A")[c.DIFFERENCE] == pytest.approx(0.10 - 0.20)


def test_aa_calibration_and_interval_coverage_over_seeded_runs():
    # Property: with no true difference the score test (the default) rejects at about
    # alpha, at a large and at a small sample (2 x 1,000 at 12%; 2 x 30 at 10%), and the
    # interval that inverts it covers a true difference of +5 points about 95% of the
    # time. 2,000 runs each, vectorised over seeds; bands: +-3 binomial SE.
    from analysis.stats.score import score_interval, score_test_p

    rng = np.random.default_rng(20240601)
    runs = 2000
    for n, rate in ((1000, 0.12), (30, 0.10)):
        x1, x2 = rng.binomial(n, rate, size=runs), rng.binomial(n, rate, size=runs)
        p = score_test_p(x1, n, x2, n)
        rejected = np.nan_to_num(p, nan=1.0) < 0.05
        assert 0.05 - 0.015 <= rejected.mean() <= 0.05 + 0.015, (n, rejected.mean())
    x1, x2 = rng.binomial(400, 0.20, size=runs), rng.binomial(400, 0.15, size=runs)
    low, high = score_interval(x1, 400, x2, 400)
    covered = ((low <= 0.05) & (0.05 <= high)).mean()
    assert 0.95 - 0.015 <= covered <= 0.95 + 0.015


# --- bad input: a clear message or a result with a message code ----------------------


def test_single_variant_gives_a_note():
    result = compare_conversion(units({"A": (10, 50)}))
    assert c.NOTE_SINGLE_VARIANT in result.notes
    assert "nothing to compare" in result.messages[0]
    assert result.to_frame()[c.P_VALUE].isna().all()


def test_variant_with_zero_units_is_reported_not_compared():
    data = units({"A": (10, 50), "B": (12, 50)})
    data[c.VARIANT] = pd.Categorical(data[c.VARIANT], categories=["A", "B", "C"])
    result = compare_conversion(data)
    frame = result.to_frame().set_index(c.VARIANT)
    assert frame.loc["C", c.N_UNITS] == 0 and frame.loc["C", c.NOTE] == c.NOTE_EMPTY_VARIANT
    assert np.isnan(frame.loc["C", c.P_VALUE]) and np.isfinite(frame.loc["B", c.P_VALUE])
    assert c.NOTE_EMPTY_VARIANT in result.notes


def test_empty_control_gives_no_test():
    result = compare_conversion(units({"A": (10, 50)}), control="Z", variants=["Z", "A"])
    assert c.NOTE_EMPTY_VARIANT in result.notes
    assert result.to_frame()[c.P_VALUE].isna().all()


@pytest.mark.parametrize("x", [0, 40])
def test_all_or_no_conversions(x):
    result = compare_conversion(units({"A": (x, 40), "B": (x, 40)}))
    assert c.NOTE_NO_VARIATION in result.notes
    b = row(result, "B")
    # Identical rows with no variation: no evidence of a difference, p = 1, z = 0.
    assert b[c.P_VALUE] == 1.0 and b[c.Z] == 0.0
    assert b[c.DIFFERENCE] == 0 and b[c.DIFF_CI_LOW] < 0 < b[c.DIFF_CI_HIGH]


def test_unknown_control_is_a_clear_error():
    with pytest.raises(InputError, match="control 'Z' is not one of the variants"):
        compare_conversion(units({"A": (1, 5), "B": (2, 5)}), control="Z")


def test_missing_column_is_a_clear_error():
    with pytest.raises(InputError, match="no converted column 'won'"):
        compare_conversion(units({"A": (1, 5), "B": (2, 5)}), converted="won")


def test_non_binary_outcome_gives_a_note():
    data = units({"A": (3, 10), "B": (4, 10)})
    data.loc[0, c.CONVERTED] = 2
    result = compare_conversion(data)
    assert result.notes == (c.NOTE_NON_BINARY,)
    assert "not yes/no or 0/1" in result.messages[0] and "2" in result.messages[0]
    assert result.to_frame()[c.P_VALUE].isna().all()


def test_missing_outcomes_are_left_out_and_counted():
    data = units({"A": (30, 100), "B": (40, 100)})
    data[c.CONVERTED] = data[c.CONVERTED].astype(float)
    data.loc[:4, c.CONVERTED] = np.nan
    result = compare_conversion(data)
    assert result.n_excluded == 5 and result.n_units == 195


def test_reading_before_planned_size_warns():
    result = compare_conversion(units({"A": (30, 100), "B": (40, 100)}), planned_sample_size=1000)
    assert c.NOTE_BEFORE_PLANNED in result.notes
    assert any("200 of the 1,000 planned" in m for m in result.messages)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"alpha": 1.5}, "alpha"), ({"method": "t"}, "method"), ({"alternative": "up"}, "alt")],
)
def test_bad_options_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_conversion(units({"A": (1, 5), "B": (2, 5)}), **kwargs)
