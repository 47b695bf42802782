"""Kaplan–Meier summaries of grouped (days, event, count) tables, and each group against the rest.

Shared by :mod:`.repeat` (time to the second order) and :mod:`.onboarding`
(time to go-live): both reduce their rows in the engine to a small
``<keys>, days, event, count`` table and read it here.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.after_close import columns as c
from analysis.core.types import Correction
from analysis.engine.workspace import Workspace
from analysis.stats import survival as sv
from analysis.stats.multitest import adjust_pvalues, adjusted_levels


def counted_durations(ws: Workspace, timed: ibis.Table, keys: Sequence[str]) -> pd.DataFrame:
    """``timed`` (``<keys>, days, event`` per unit) reduced in the engine to counted rows.

    Returns ``<keys>, days, event, count`` sorted: the table every function here reads.
    """
    counts = timed.group_by([*keys, c.DAYS, c.EVENT]).aggregate(**{c.COUNT: timed.count()})
    return ws.execute(counts).sort_values([*keys, c.DAYS, c.EVENT]).reset_index(drop=True)


def group_labels(frame: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    """One text label per row from its group columns ("EMEA · paid"), vectorised."""
    text = frame[list(keys)].astype(str)
    first, rest = text[keys[0]], [text[k] for k in keys[1:]]
    return first.str.cat(rest, sep=" · ") if rest else first


def _groups(durations: pd.DataFrame, keys: Sequence[str]):
    if not keys:
        yield (), durations
        return
    for label, part in durations.groupby(list(keys), sort=True, dropna=False):
        yield (label if isinstance(label, tuple) else (label,)), part


def km_summary(
    durations: pd.DataFrame,
    keys: Sequence[str],
    horizons: Sequence[float],
    alpha: float,
    names: tuple[str, str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per group and horizon: the chance of the event within it, and the median time.

    Parameters
    ----------
    durations : DataFrame
        ``<keys>, days, event, count``.
    names : (rate, ci_low, ci_high)
        Column names of the chance and its bounds.

    Returns
    -------
    table : DataFrame
        ``<keys>, horizon_days, units, events, <rate>, <ci_low>, <ci_high>,
        median_days, median_ci_low, median_ci_high, note`` where ``units`` is
        the group's rows (``count`` summed) and ``events`` those with the event.
    curves : DataFrame
        ``<keys>, days, survival``: each group's Kaplan–Meier step curve.
    """
    rate, low, high = names
    rows, curves = [], []
    for label, part in _groups(durations, keys):
        base = dict(zip(keys, label, strict=True))
        counts = part[c.COUNT].to_numpy(dtype=float)
        events = part[c.EVENT].to_numpy()
        n, d = int(counts.sum()), int(counts[events == 1].sum())
        note, sf, q = "", None, {}
        if d == 0:
            note = c.NOTE_NO_EVENTS
        else:
            sf = sv.fit_km(part[c.DAYS].to_numpy(dtype=float), events, counts)
            q = sv.km_quantiles(sf, alpha)
            if np.isnan(q["median"]):
                note = c.NOTE_MEDIAN_NOT_REACHED
            curves.append(pd.DataFrame({**base, c.DAYS: np.r_[0.0, sf.surv_times],
                                        c.SURVIVAL: np.r_[1.0, sf.surv_prob]}))  # fmt: skip
        for h in horizons:
            chance = sv.km_event_chance(sf, h, alpha) if sf is not None else {
                "estimate": 0.0, "ci_low": 0.0, "ci_high": np.nan}  # fmt: skip
            rows.append({
                **base, c.HORIZON_DAYS: float(h), "units": n, "events": d,
                rate: chance["estimate"], low: chance["ci_low"], high: chance["ci_high"],
                c.MEDIAN_DAYS: q.get("median", np.nan), c.MEDIAN_CI_LOW: q.get("ci_low", np.nan),
                c.MEDIAN_CI_HIGH: np.nan if np.isinf(q.get("ci_high", np.nan))
                else q.get("ci_high", np.nan),
                c.NOTE: note,
            })  # fmt: skip
    if not rows:
        cols = [*keys, c.HORIZON_DAYS, "units", "events", rate, low, high, c.MEDIAN_DAYS,
                c.MEDIAN_CI_LOW, c.MEDIAN_CI_HIGH, c.NOTE]  # fmt: skip
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=[*keys, c.DAYS, c.SURVIVAL])
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=[*keys, c.DAYS, c.SURVIVAL])  # fmt: skip
    return pd.DataFrame(rows), curve


def each_against_rest(
    durations: pd.DataFrame,
    keys: Sequence[str],
    horizon: float,
    alpha: float,
    correction: Correction,
) -> pd.DataFrame:
    """Each group's chance of the event within ``horizon`` days against all other groups'.

    Returns
    -------
    DataFrame
        ``group, value, value_rest, difference, diff_ci_low, diff_ci_high,
        p_value, p_adjusted, significant``; empty with fewer than two groups.

    Notes
    -----
    With :math:`F = 1 - \\hat S(h)` of the group and of the rest pooled and
    Greenwood standard errors, the difference :math:`F_g - F_r` has the
    Wald interval :math:`\\pm z\\sqrt{se_g^2 + se_r^2}` (the two samples are
    disjoint) and a two-sided z-test; p-values are adjusted over the groups
    (Holm by default).
    """
    cols = [c.GROUP, c.VALUE, c.VALUE_REST, c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH,
            c.P_VALUE, c.P_ADJUSTED, c.SIGNIFICANT]  # fmt: skip
    if not keys or durations.empty:
        return pd.DataFrame(columns=cols)
    label = group_labels(durations, keys)
    groups = sorted(label.unique())
    if len(groups) < 2:
        return pd.DataFrame(columns=cols)

    def chance(part: pd.DataFrame) -> tuple[float, float]:
        counts = part[c.COUNT].to_numpy(dtype=float)
        events = part[c.EVENT].to_numpy()
        if not (counts[events == 1] > 0).any():
            return 0.0, 0.0
        sf = sv.fit_km(part[c.DAYS].to_numpy(dtype=float), events, counts)
        got = sv.km_event_chance(sf, horizon, alpha)
        return got["estimate"], got["se"]

    rows = []
    for g in groups:
        f_g, se_g = chance(durations[label == g])
        f_r, se_r = chance(durations[label != g])
        rows.append(
            {c.GROUP: g, c.VALUE: f_g, c.VALUE_REST: f_r, "_se": float(np.hypot(se_g, se_r))}
        )
    return wald_differences(pd.DataFrame(rows), alpha, correction)


def wald_differences(rows: pd.DataFrame, alpha: float, correction: Correction) -> pd.DataFrame:
    """``value - value_rest`` per row with a z-test, adjusted p and an interval that agrees.

    ``rows`` carries ``value, value_rest`` and ``_se``, the standard error of
    their difference. The interval of each row is at the level that agrees with
    its adjusted p-value (:func:`analysis.stats.multitest.adjusted_levels`),
    so it excludes 0 exactly when the adjusted p-value is below ``alpha``.
    """
    out = rows.copy()
    diff = (out[c.VALUE] - out[c.VALUE_REST]).to_numpy(dtype=float)
    se = out.pop("_se").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * norm.sf(np.abs(diff) / se), np.nan)
    p_adj = adjust_pvalues(p, correction)
    z = norm.ppf(1 - adjusted_levels(p, p_adj, alpha) / 2)
    out[c.DIFFERENCE] = diff
    out[c.DIFF_CI_LOW], out[c.DIFF_CI_HIGH] = diff - z * se, diff + z * se
    out[c.P_VALUE], out[c.P_ADJUSTED] = p, p_adj
    out[c.SIGNIFICANT] = np.nan_to_num(p_adj, nan=1.0) < alpha
    return out


def logrank_by(durations: pd.DataFrame, keys: Sequence[str]) -> tuple[float, int, float]:
    """The log-rank test of equal curves across the groups (NaN without two groups)."""
    if not keys or durations.empty:
        return float("nan"), 0, float("nan")
    label = group_labels(durations, keys).to_numpy()
    return sv.logrank_test(durations[c.DAYS], durations[c.EVENT], durations[c.COUNT], label)
