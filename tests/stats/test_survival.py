"""Kaplan–Meier quantiles by R survival's rule (analysis.stats.survival.km_quantile(s))."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import survival as sv


def quantiles(days, event, count=None) -> dict[str, float]:
    count = np.ones(len(days)) if count is None else count
    return sv.km_quantiles(sv.fit_km(days, event, count))


def test_uncensored_1_to_4_gives_r_midpoint():
    # R survival 3.5-3: survfit(Surv(c(1, 2, 3, 4), rep(1, 4)) ~ 1) prints median 2.5;
    # quantile() of it gives 25% 1.5, 50% 2.5, 75% 3.5. (statsmodels' quantile gives 3,
    # lifelines 2.) S = 0.75, 0.5, 0.25, 0: flat at exactly 0.5 on [2, 3) -> (2 + 3) / 2.
    q = quantiles([1, 2, 3, 4], [1, 1, 1, 1])
    assert (q["q1"], q["median"], q["q3"]) == (1.5, 2.5, 3.5)


def test_censored_flat_stretch_by_hand():
    # Twelve durations: 2 events at day 1, 5 censored at 2, 2 events at 3, 1 censored
    # at 4, 1 event at 5, 1 censored at 6. By hand: S(1) = 10/12 = 5/6; at 3, 5 at risk
    # and 2 events: S(3) = 5/6 * 3/5 = 1/2 exactly; at 5, 2 at risk: S(5) = 1/4.
    # Median: S is flat at exactly 0.5 from 3 to the next event time 5, the censored
    # stay at 4 falls inside -> (3 + 5) / 2 = 4. Q1: first S <= 0.75 is S(3) = 0.5,
    # not flat at 0.75 -> 3. Q3: S(5) = 0.25 exactly and no later event -> 5 (R's
    # print.survfit rule for a flat at the end; R's quantile.survfit says (5 + 6) / 2).
    # R survival 3.5-3, survfit(Surv(t, e) ~ 1, conf.type = "log-log") on these rows:
    # median 4, 0.95LCL 1, 0.95UCL NA (open above: here inf); quantile(): 25% 3, 50% 4.
    q = quantiles([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0], [2, 5, 2, 1, 1, 1])
    assert (q["q1"], q["median"], q["q3"]) == (3.0, 4.0, 5.0)
    assert q["ci_low"] == 1.0 and np.isinf(q["ci_high"])


def test_flat_at_half_to_the_end_gives_the_time_it_got_there():
    # Events at 1 and 2, censored at 3 and 4: S = 0.75, 0.5 and stays 0.5.
    # R survival 3.5-3: survfit(Surv(c(1, 2, 3, 4), c(1, 1, 0, 0)) ~ 1) prints median 2
    # (quantile.survfit alone gives (2 + 4) / 2 = 3). Q3 is never reached: NaN in both.
    q = quantiles([1, 2, 3, 4], [1, 1, 0, 0])
    assert q["median"] == 2.0 and q["q1"] == 1.5 and np.isnan(q["q3"])


def test_product_limit_roundoff_is_within_tolerance():
    # R's own example (?quantile.survfit): 1..20 uncensored, the product after the 10th
    # death is 0.5 only up to roundoff. R survival 3.5-3,
    # survfit(Surv(1:20) ~ 1, conf.type = "log-log"): median 10.5, 0.95LCL 5, 0.95UCL 15;
    # quantile(): 25% 5.5, 75% 15.5.
    q = quantiles(np.arange(1.0, 21.0), np.ones(20))
    assert (q["median"], q["ci_low"], q["ci_high"]) == (10.5, 5.0, 15.0)
    assert (q["q1"], q["q3"]) == (5.5, 15.5)


def test_never_reached_and_empty():
    # Nothing falls to 0.5: S = 2/3 after one event among three (by hand).
    q = quantiles([1, 2, 3], [1, 0, 0])
    assert np.isnan(q["median"]) and q["q1"] == 1.0
    assert np.isnan(sv.km_quantile([], [], 0.5))


@pytest.mark.parametrize("seed", range(40))
def test_uncensored_km_quantiles_are_sample_quantiles(seed):
    # Property: with nothing censored the KM median is np.median (mean of the two middle
    # values for even n) and the quartiles are the type-2 sample quantiles
    # (np.quantile method "averaged_inverted_cdf"), with ties, odd and even n, and ties
    # passed either as repeated rows or as counts.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    x = rng.integers(0, 25, n).astype(float)  # few distinct values: many ties
    q = quantiles(x, np.ones(n))
    assert q["median"] == np.median(x)
    for key, p in (("q1", 0.25), ("q3", 0.75)):
        assert q[key] == np.quantile(x, p, method="averaged_inverted_cdf"), (key, n)
    values, counts = np.unique(x, return_counts=True)
    aggregated = quantiles(values, np.ones(values.size), counts)
    assert aggregated["median"] == q["median"]
    assert (aggregated["q1"], aggregated["q3"]) == (q["q1"], q["q3"])


@pytest.mark.parametrize("seed", range(20))
def test_midpoint_median_lies_inside_its_interval(seed):
    # Property: a flat stretch at 0.5 is never rejected by the Brookmeyer–Crowley test,
    # so the midpoint median sits within [ci_low, ci_high]. Even n, uncensored, so the
    # curve is flat at 0.5 whenever the two middle values differ.
    rng = np.random.default_rng(100 + seed)
    x = rng.integers(0, 200, 2 * int(rng.integers(5, 80))).astype(float)
    q = quantiles(x, np.ones(x.size))
    assert q["ci_low"] <= q["median"] <= q["ci_high"]


def test_logrank_on_counts_equals_statsmodels_on_the_expanded_rows():
    from statsmodels.duration.survfunc import survdiff

    from analysis.stats.survival import logrank_test

    # Seeded: 300 durations rounded to whole days (ties), 3 groups, 30% censored.
    rng = np.random.default_rng(1)
    days = np.round(rng.exponential(10, 300))
    event = rng.random(300) < 0.7
    group = rng.integers(0, 3, 300)
    expected, p_expected = survdiff(days, event.astype(int), group)
    frame = pd.DataFrame({"d": days, "e": event, "g": group}).value_counts().reset_index()
    stat, df, p = logrank_test(frame["d"], frame["e"], frame["count"], frame["g"])
    assert (stat, df) == (pytest.approx(expected, rel=1e-10), 2)
    assert p == pytest.approx(p_expected, rel=1e-8)


def test_km_event_chance_matches_greenwood_by_hand():
    from scipy.stats import norm

    from analysis.stats.survival import fit_km, km_event_chance

    # Events at 1 and 3 among 5, censored at 2, 4, 5: S(3) = 4/5 * 2/3 (3 at risk at t=3).
    sf = fit_km(np.array([1, 2, 3, 4, 5]), np.array([1, 0, 1, 0, 0]), np.ones(5))
    got = km_event_chance(sf, 3.5)
    s = 0.8 * 2 / 3
    se = s * np.sqrt(1 / (5 * 4) + 1 / (3 * 2))
    assert got["estimate"] == pytest.approx(1 - s) and got["se"] == pytest.approx(se)
    k = norm.ppf(0.975) * se / (s * abs(np.log(s)))
    assert got["ci_low"] == pytest.approx(1 - s ** np.exp(-k))
    assert km_event_chance(sf, 0.5)["estimate"] == 0.0  # before the first event
