"""Kaplan–Meier and cumulative incidence on small (days, event, count) tables.

The engine reduces any number of durations to one row per distinct
(rounded duration, event code) with a count; everything here works on those
aggregates. Kaplan–Meier is statsmodels' :class:`SurvfuncRight` fitted with
``freq_weights``; competing outcomes (won / lost) get the Aalen–Johansen
cumulative incidence with a delta-method interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2 as chi2_dist
from scipy.stats import norm
from statsmodels.duration.survfunc import SurvfuncRight

from analysis.core.columns import DAYS

# Columns of a cumulative-incidence curve (see :func:`aalen_johansen`).
N_AT_RISK = "n_at_risk"
SURVIVAL = "survival"


def fit_km(days: np.ndarray, event: np.ndarray, count: np.ndarray) -> SurvfuncRight:
    """Kaplan–Meier fit of a (days, event, count) table with Greenwood standard errors.

    Parameters
    ----------
    days : array of float
        Duration of each row (ties allowed).
    event : array of int or bool
        1 where the rows ended in the event, 0 where they are censored.
    count : array of int
        How many durations the row stands for (``freq_weights``).

    Returns
    -------
    statsmodels.duration.survfunc.SurvfuncRight
        ``surv_prob``, ``surv_times``, ``n_risk``, ``n_events`` as statsmodels
        computes them with ``freq_weights``; ``surv_prob_se`` replaced by
        Greenwood's standard error (below), so ``quantile_ci`` gives the
        interval of an unweighted fit on the expanded rows.

    Notes
    -----
    With ``freq_weights``, statsmodels 0.15 returns
    :math:`\\sqrt{\\sum_{t_j \\le t} d_j / n_j^2}` as ``surv_prob_se``: Tsiatis'
    standard error of the cumulative *hazard*, not multiplied by
    :math:`\\hat S(t)`. ``quantile_ci`` reads it as the standard error of
    :math:`\\hat S`, which inflates the median's interval by about
    :math:`1 / \\hat S`. Frequency weights are whole counts here, so the
    Greenwood variance of the expanded data is exact and is used instead:

    .. math:: \\widehat{se}\\{\\hat S(t)\\} = \\hat S(t)
              \\sqrt{\\sum_{t_j \\le t} \\frac{d_j}{n_j (n_j - d_j)}},

    undefined (NaN) from the first time where :math:`n_j = d_j`, exactly as
    statsmodels' unweighted branch. Survival and quantiles are unchanged.

    References
    ----------
    Greenwood, M. (1926). The natural duration of cancer. Reports on Public
    Health and Medical Subjects 33.
    """
    days = np.asarray(days, dtype=float)
    event = np.asarray(event, dtype=float)
    count = np.asarray(count, dtype=float)
    sf = SurvfuncRight(days, event, freq_weights=count)
    n, d = np.asarray(sf.n_risk, dtype=float), np.asarray(sf.n_events, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = d / np.clip(n * (n - d), 1e-12, np.inf)
    term[(n == d) | (n == 0)] = np.nan
    se = np.sqrt(np.cumsum(term))
    finite = np.isfinite(se) | (sf.surv_prob != 0)
    se[finite] *= sf.surv_prob[finite]
    se[~finite] = np.nan
    sf.surv_prob_se = se
    return sf


# R's tolerance for "the curve equals 1 - p" (sqrt(.Machine$double.eps), as all.equal):
# a product-limit estimate that is exactly 1/2 in exact arithmetic is 0.5 +- 1e-16.
QUANTILE_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def km_quantile(
    times: np.ndarray, surv: np.ndarray, p: float, tolerance: float = QUANTILE_TOLERANCE
) -> float:
    """The p-quantile of a Kaplan–Meier curve, by R ``survival``'s midpoint rule.

    Parameters
    ----------
    times : array of float
        Event times, increasing (``SurvfuncRight.surv_times``).
    surv : array of float
        :math:`\\hat S` at those times (``SurvfuncRight.surv_prob``).
    p : float
        Share finished, in (0, 1): 0.5 for the median, 0.25 for the first quartile.
    tolerance : float
        How close :math:`\\hat S` must be to :math:`1 - p` to count as equal.

    Returns
    -------
    float
        NaN when the curve never falls to :math:`1 - p`.

    Notes
    -----
    With :math:`t_j` the first event time where :math:`\\hat S(t_j) \\le 1 - p`,
    the quantile is :math:`t_j`, except when the curve is flat at exactly
    :math:`1 - p` from :math:`t_j` (within ``tolerance``) and falls again at a
    later event time :math:`t_{j+1}`: then it is the midpoint
    :math:`(t_j + t_{j+1}) / 2` of the flat stretch. For uncensored data this
    is the sample quantile that averages at the jumps of the empirical CDF
    (``np.quantile(method="averaged_inverted_cdf")``); for the median,
    ``np.median`` (the mean of the two middle values when n is even): times
    1, 2, 3, 4 give 2.5, where
    "first time with :math:`\\hat S < 0.5`" (statsmodels' ``quantile``) gives 3 and
    "first time with :math:`\\hat S \\le 0.5`" (lifelines) gives 2.

    A curve that stays at exactly :math:`1 - p` to its end (every later
    duration censored) gives :math:`t_j`, as R's ``print.survfit`` and
    ``summary(fit)$table`` report the median; R's ``quantile.survfit``
    returns :math:`(t_j + t_{max}) / 2` in that one case, with :math:`t_{max}`
    the longest duration observed.

    References
    ----------
    Therneau, T. survival: ``survmean`` (median in ``print.survfit``) and
    ``quantile.survfit``, R package versions 3.5–3.8.
    """
    times = np.asarray(times, dtype=float)
    surv = np.asarray(surv, dtype=float)
    level = 1.0 - p
    reached = np.flatnonzero(surv < level + tolerance)
    if reached.size == 0:
        return np.nan
    j = reached[0]
    if abs(surv[j] - level) < tolerance:
        later = np.flatnonzero(surv[j:] < surv[j])
        if later.size:
            return float((times[j] + times[j + later[0]]) / 2)
    return float(times[j])


def km_quantiles(sf: SurvfuncRight, alpha: float = 0.05) -> dict[str, float]:
    """Median with its Brookmeyer–Crowley interval, and the quartiles, of a fit.

    Returns
    -------
    dict
        ``median, ci_low, ci_high, q1, q3``; NaN where not estimable (a
        quantile the curve never reaches). ``ci_high`` is ``inf`` when the
        interval is open above (the curve stays within reach of 0.5 to its end).

    Notes
    -----
    Median and quartiles follow R ``survival`` (:func:`km_quantile`): the
    first event time where :math:`\\hat S(t) \\le 1 - p`, or the midpoint of
    the stretch where the curve is flat at exactly :math:`1 - p`.

    The interval collects the event times whose :math:`\\hat S` is not
    rejected as :math:`1 - p` by a z-test on the complementary log–log scale
    (Brookmeyer & Crowley 1982; statsmodels ``quantile_ci(method="cloglog")``):
    ``ci_low`` is the first event time where the pointwise band reaches 0.5,
    ``ci_high`` the first where its upper limit falls below it, as R reads the
    limits from ``survfit(conf.type="log-log")``'s band; R leaves the upper
    limit NA where that happens only at a time when the curve falls to 0 (its
    band is undefined there), statsmodels takes that time. A band flat at
    *exactly* 0.5 would need the z-statistic to equal its critical value, so the
    midpoint rule has nothing to act on in the limits. A flat stretch of
    :math:`\\hat S` at 0.5 is never rejected, so the midpoint median lies
    inside the interval.
    """
    if len(sf.surv_times) == 0:
        return dict.fromkeys(("median", "ci_low", "ci_high", "q1", "q3"), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = sf.quantile_ci(0.5, alpha=alpha, method="cloglog")
    times, surv = sf.surv_times, sf.surv_prob
    return {
        "median": km_quantile(times, surv, 0.5),
        "ci_low": float(low),
        "ci_high": float(high),
        "q1": km_quantile(times, surv, 0.25),
        "q3": km_quantile(times, surv, 0.75),
    }


def aalen_johansen(
    days: np.ndarray, cause: np.ndarray, count: np.ndarray, causes: tuple[int, ...] = (1, 2)
) -> pd.DataFrame:
    """Overall survival and cumulative incidence of competing causes, with variances.

    Parameters
    ----------
    days : array of float
        Duration of each row.
    cause : array of int
        0 for censored rows, else the cause (outcome) code.
    count : array of int
        Number of durations per row.
    causes : tuple of int
        Cause codes to report (columns ``cif_<code>`` and ``var_<code>``).

    Returns
    -------
    pandas.DataFrame
        One row per distinct time with at least one event: ``days,
        n_at_risk, survival, cif_<k>, var_<k>`` for each cause ``k``.

    Notes
    -----
    With :math:`n_j` at risk just before event time :math:`t_j`, :math:`d_j`
    events of any cause and :math:`d_{kj}` of cause :math:`k`,

    .. math:: \\hat S(t) = \\prod_{t_j \\le t} (1 - d_j / n_j), \\qquad
              \\hat F_k(t) = \\sum_{t_j \\le t} \\hat S(t_{j-1}) \\, d_{kj} / n_j,

    so that :math:`\\hat S(t) + \\sum_k \\hat F_k(t) = 1` when every event has
    a listed cause. The variance is the delta-method (Greenwood-type) estimate

    .. math:: \\widehat{Var}\\,\\hat F_k(t) = \\sum_{t_j \\le t}
              [\\hat F_k(t) - \\hat F_k(t_j)]^2 \\frac{d_j}{n_j (n_j - d_j)}
              + \\sum_{t_j \\le t} \\hat S(t_{j-1})^2
                \\frac{d_{kj} (n_j - d_{kj})}{n_j^3}
              - 2 \\sum_{t_j \\le t} [\\hat F_k(t) - \\hat F_k(t_j)]
                \\hat S(t_{j-1}) \\frac{d_{kj}}{n_j^2}

    (the first term taken as 0 where :math:`n_j = d_j`).

    References
    ----------
    Marubini, E. & Valsecchi, M. G. (1995). Analysing Survival Data from
    Clinical Trials and Observational Studies, §10.2. Wiley.
    Pintilie, M. (2006). Competing Risks: A Practical Perspective, §4.2. Wiley.
    """
    days = np.asarray(days, dtype=float)
    cause = np.asarray(cause, dtype=np.int64)
    count = np.asarray(count, dtype=float)
    times, inverse = np.unique(days, return_inverse=True)
    total = np.bincount(inverse, weights=count, minlength=times.size)
    n = np.cumsum(total[::-1])[::-1]
    d = np.bincount(inverse, weights=count * (cause != 0), minlength=times.size)
    d_k = {
        k: np.bincount(inverse, weights=count * (cause == k), minlength=times.size) for k in causes
    }
    keep = d > 0
    times, n, d = times[keep], n[keep], d[keep]
    d_k = {k: v[keep] for k, v in d_k.items()}
    surv = np.cumprod(1.0 - d / n)
    surv_before = np.r_[1.0, surv[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.where(n > d, d / (n * (n - d)), 0.0)
    out = {DAYS: times, N_AT_RISK: n, SURVIVAL: surv}
    for k in causes:
        inc = surv_before * d_k[k] / n
        cif = np.cumsum(inc)
        a = surv_before**2 * d_k[k] * (n - d_k[k]) / n**3
        b = surv_before * d_k[k] / n**2
        # Var F(t_i) = sum_{j<=i} (F_i - F_j)^2 g_j + sum a_j - 2 sum (F_i - F_j) b_j,
        # expanded in powers of F_i so that each term is a running sum.
        c_g, c_gf, c_gf2 = np.cumsum(green), np.cumsum(green * cif), np.cumsum(green * cif**2)
        c_b, c_bf = np.cumsum(b), np.cumsum(b * cif)
        var = cif**2 * c_g - 2 * cif * c_gf + c_gf2 + np.cumsum(a) - 2 * (cif * c_b - c_bf)
        out[f"cif_{k}"] = cif
        out[f"var_{k}"] = np.maximum(var, 0.0)
    return pd.DataFrame(out)


def loglog_interval(
    estimate: np.ndarray, variance: np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a probability from its variance, on the log(-log) scale.

    Notes
    -----
    With :math:`s = z_{1-\\alpha/2} \\sqrt{V} / (F |\\log F|)`, the interval is
    :math:`[F^{e^{s}}, F^{e^{-s}}]`: it stays inside (0, 1) and is asymmetric
    near 0 and 1, unlike the plain Wald interval. NaN where :math:`F` is 0 or 1
    with a positive variance; the point itself where the variance is 0.
    """
    f = np.asarray(estimate, dtype=float)
    z = norm.ppf(1 - alpha / 2)
    # A huge s (F near 1) sends the exponent to inf: the bounds go to 0 and 1, as they should.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = z * np.sqrt(np.asarray(variance, dtype=float)) / (f * np.abs(np.log(f)))
        ok = (f > 0) & (f < 1) & np.isfinite(s)
        low = np.where(ok, f ** np.exp(s), np.nan)
        high = np.where(ok, f ** np.exp(-s), np.nan)
    # An estimate of exactly 0 or 1 with no variance: the interval is that point.
    point = ((f == 0) | (f == 1)) & (np.asarray(variance) == 0)
    low, high = np.where(point, f, low), np.where(point, f, high)
    return low, high


def km_event_chance(sf: SurvfuncRight, days: float, alpha: float = 0.05) -> dict[str, float]:
    """Chance that the event has happened by ``days``, :math:`1 - \\hat S(t)`, with an interval.

    Returns
    -------
    dict
        ``estimate, ci_low, ci_high, se``. NaN bounds where Greenwood's
        variance is undefined (everyone at risk had the event).

    Notes
    -----
    :math:`\\hat S(t)` is the curve at the last event time :math:`\\le t`
    (1 before the first). The interval is the log(-log) interval of
    :math:`\\hat S(t)` from Greenwood's variance (:func:`loglog_interval`,
    R ``survfit``'s ``conf.type = "log-log"``), reflected:
    :math:`[1 - S_{high}, 1 - S_{low}]`.
    """
    times = np.asarray(sf.surv_times, dtype=float)
    j = int(np.searchsorted(times, days, side="right")) - 1
    if j < 0:
        return {"estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0, "se": 0.0}
    s, se = float(sf.surv_prob[j]), float(sf.surv_prob_se[j])
    low, high = loglog_interval(np.array([s]), np.array([se**2]), alpha)
    return {"estimate": 1.0 - s, "ci_low": 1.0 - float(high[0]),
            "ci_high": 1.0 - float(low[0]), "se": se}  # fmt: skip


def logrank_test(
    days: np.ndarray, event: np.ndarray, count: np.ndarray, group: np.ndarray
) -> tuple[float, int, float]:
    """The K-group log-rank test on a (days, event, count, group) table.

    Returns
    -------
    chi2, df, p_value : float, int, float
        NaN statistic and p with fewer than two groups or no event.

    Notes
    -----
    At each distinct event time :math:`t` with :math:`d` events among
    :math:`n` at risk (:math:`d_g, n_g` in group :math:`g`; a duration censored
    at :math:`t` is still at risk at :math:`t`), :math:`E_g = \\sum_t d\\,n_g/n`
    and :math:`V_{gh} = \\sum_t d (n-d)/(n-1)\\, n_g/n\\,(\\delta_{gh} - n_h/n)`.
    The statistic is :math:`(O-E)^\\top V^{-} (O-E)` on the first
    :math:`K-1` groups, :math:`\\chi^2_{K-1}` under equal hazards; the same
    as ``statsmodels.duration.survfunc.survdiff`` on the expanded rows.
    """
    days = np.asarray(days, dtype=float)
    event = np.asarray(event).astype(bool)
    count = np.asarray(count, dtype=float)
    labels, g = np.unique(np.asarray(group), return_inverse=True)
    k = labels.size
    if k < 2 or not (count[event] > 0).any():
        return float("nan"), max(k - 1, 0), float("nan")
    times = np.unique(days[event & (count > 0)])
    # The last event time each duration reaches (+1; 0: none), then durations >= each time.
    slot = np.searchsorted(times, days, side="right")
    at_risk = np.zeros((times.size + 1, k))
    np.add.at(at_risk, (slot, g), count)
    at_risk = np.cumsum(at_risk[::-1], axis=0)[::-1][1:]
    deaths = np.zeros((times.size, k))
    hit = event & (count > 0)
    np.add.at(deaths, (np.searchsorted(times, days[hit]), g[hit]), count[hit])
    n, d = at_risk.sum(axis=1), deaths.sum(axis=1)
    share = at_risk / n[:, None]
    observed_minus_expected = (deaths - d[:, None] * share).sum(axis=0)
    weight = np.where(n > 1, d * (n - d) / np.maximum(n - 1, 1), 0.0)
    v = np.einsum("t,tg,th->gh", weight, share, -share)
    v[np.diag_indices(k)] += (weight[:, None] * share).sum(axis=0)
    u, vv = observed_minus_expected[:-1], v[:-1, :-1]
    stat = float(u @ np.linalg.pinv(vv) @ u)
    df = k - 1
    return stat, df, float(chi2_dist.sf(stat, df))
