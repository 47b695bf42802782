"""A points scorecard for qualification, validated out of time, and its what-if table.

:func:`build_scorecard` fits a driver model (:func:`analysis.winloss.drivers.model.win_drivers`)
on older closed deals, turns its coefficients into points per feature level,
scores newer deals in the engine and reports the out-of-time AUC, a
calibration table and, at each score threshold, the share of eventual wins
that would have been disqualified against the share of deals and rep
activities saved. Re-exported by :mod:`analysis.winloss.qualification`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from analysis.core.types import to_utc
from analysis.engine.workspace import Workspace
from analysis.stats.rates import rate_with_interval
from analysis.winloss import columns as c
from analysis.winloss.drivers.model import WinDrivers, win_drivers

__all__ = ["Scorecard", "build_scorecard"]

CLOSED_OUTCOMES = (c.WON, c.LOST)  # also used by analysis.winloss.qualification


@dataclass(frozen=True)
class Scorecard:
    """A points scorecard fitted on older closed deals and validated on newer ones.

    Attributes
    ----------
    points : pandas.DataFrame
        ``feature, level, coef, points`` (reference levels 0 points).
    calibration : pandas.DataFrame
        Score bands of the validation deals: ``score`` range, ``deals, won,
        predicted, observed, ci_low, ci_high``.
    what_if : pandas.DataFrame
        One row per threshold: disqualify deals scoring below it;
        ``threshold, deals_saved_share, activities_saved_share,
        wins_disqualified_share, ci_low, ci_high, win_rate`` (of deals kept).
    scores : pandas.DataFrame
        Validation deals per score: ``score, deals, won, lost, activities, predicted``.
    auc, auc_ci_low, auc_ci_high : float
        Out-of-time AUC with a Hanley-McNeil interval.
    calibration_error : float
        Deal-weighted mean absolute gap between observed and predicted win rates.
    split_at : pandas.Timestamp
        Deals closed before it trained the model; the rest validated it.
    n_train, n_test : int
    drivers : WinDrivers
        The model behind the points.
    warnings : tuple of str
    """

    points: pd.DataFrame
    calibration: pd.DataFrame
    what_if: pd.DataFrame
    scores: pd.DataFrame
    auc: float
    auc_ci_low: float
    auc_ci_high: float
    calibration_error: float
    split_at: pd.Timestamp
    n_train: int
    n_test: int
    drivers: WinDrivers = field(repr=False)
    warnings: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The points table as a DataFrame (a copy)."""
        return self.points.copy()

    def summary(self) -> dict[str, object]:
        """Validation figures, for ``summary.json``."""
        names = ("auc", "auc_ci_low", "auc_ci_high", "calibration_error", "split_at")
        return {name: getattr(self, name) for name in names} | {
            "n_train": self.n_train,
            "n_test": self.n_test,
        }


def _auc(scores: pd.DataFrame, alpha: float) -> tuple[float, float, float]:
    """AUC from won/lost counts per score (ties count one half), Hanley-McNeil interval."""
    s = scores.sort_values(c.SCORE)
    won, lost = s[c.N_WON].to_numpy(float), s[c.N_LOST].to_numpy(float)
    n_w, n_l = won.sum(), lost.sum()
    if n_w == 0 or n_l == 0:
        return np.nan, np.nan, np.nan
    lost_below = np.cumsum(lost) - lost
    auc = float((won * (lost_below + 0.5 * lost)).sum() / (n_w * n_l))
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_w - 1) * (q1 - auc**2) + (n_l - 1) * (q2 - auc**2)) / (n_w * n_l)
    z = norm.ppf(1 - alpha / 2)
    se = np.sqrt(max(var, 0.0))
    return auc, max(0.0, auc - z * se), min(1.0, auc + z * se)


def _calibration(scores: pd.DataFrame, bins: int, alpha: float) -> tuple[pd.DataFrame, float]:
    s = scores.sort_values(c.SCORE).reset_index(drop=True)
    n = s[c.N_DEALS].to_numpy(float)
    cum = np.cumsum(n) / n.sum()
    s["_bin"] = np.minimum((np.ceil(cum * bins) - 1).clip(0), bins - 1).astype(int)
    s["_pw"] = s[c.PREDICTED] * s[c.N_DEALS]
    g = s.groupby("_bin").agg(
        score_min=(c.SCORE, "min"), score_max=(c.SCORE, "max"), deals=(c.N_DEALS, "sum"),
        won=(c.N_WON, "sum"), _pw=("_pw", "sum"),
    )  # fmt: skip
    g[c.PREDICTED] = g["_pw"] / g[c.N_DEALS]
    obs, lo, hi = rate_with_interval(g[c.N_WON], g[c.N_DEALS], alpha=alpha)
    g[c.OBSERVED], g[c.CI_LOW], g[c.CI_HIGH] = obs, lo, hi
    error = float(
        (g[c.N_DEALS] * (g[c.OBSERVED] - g[c.PREDICTED]).abs()).sum() / g[c.N_DEALS].sum()
    )
    return g.drop(columns="_pw").reset_index(drop=True), error


def _what_if(scores: pd.DataFrame, alpha: float) -> pd.DataFrame:
    s = scores.sort_values(c.SCORE).reset_index(drop=True)
    thresholds = [*s[c.SCORE].tolist(), s[c.SCORE].max() + 1]
    below = pd.DataFrame({c.THRESHOLD: thresholds})
    for col in (c.N_DEALS, c.N_WON, c.N_ACTIVITIES):
        below[col] = np.concatenate([[0], np.cumsum(s[col].to_numpy(float))])
    total = below.iloc[-1]
    share, lo, hi = rate_with_interval(below[c.N_WON], total[c.N_WON], alpha=alpha)
    kept_won, kept = total[c.N_WON] - below[c.N_WON], total[c.N_DEALS] - below[c.N_DEALS]
    return pd.DataFrame(
        {
            c.THRESHOLD: below[c.THRESHOLD],
            c.DEALS_SAVED: below[c.N_DEALS] / total[c.N_DEALS],
            c.ACTIVITIES_SAVED: (
                below[c.N_ACTIVITIES] / total[c.N_ACTIVITIES] if total[c.N_ACTIVITIES] else np.nan
            ),
            c.WINS_DISQUALIFIED: share,
            c.CI_LOW: lo,
            c.CI_HIGH: hi,
            c.WIN_RATE: kept_won / kept.where(kept > 0),
        }
    )


def build_scorecard(
    ws: Workspace,
    features: Sequence[str],
    *,
    split_at: str | pd.Timestamp | None = None,
    train_share: float = 0.7,
    points_per_doubling: float = 10.0,
    calibration_bins: int = 5,
    alpha: float = 0.05,
    min_level_deals: int = 10,
) -> Scorecard:
    """Points per feature level from a driver model on older deals, validated out of time.

    Parameters
    ----------
    ws : Workspace
        Deals with categorical ``features`` (band numeric ones first, e.g.
        ``ws.with_table("deals", drivers.driver_bands(ws))``); activities, if
        present, give the activity side of the what-if.
    features : sequence of str
        Categorical deal columns known at qualification time.
    split_at : str or Timestamp, optional
        Deals closed before it train the model, the rest validate it; default
        the ``train_share`` quantile of ``closed_at`` over closed deals.
    points_per_doubling : float
        Points for a doubling of the odds of winning.
    calibration_bins : int
        Score bands (of about equal size) in the calibration table.
    alpha : float
    min_level_deals : int
        Passed to :func:`analysis.winloss.drivers.model.win_drivers`.

    Returns
    -------
    Scorecard

    Notes
    -----
    The model is :func:`analysis.winloss.drivers.model.win_drivers` on the training deals
    (grouped binomial GLM). Level :math:`j` of a feature gets
    :math:`\\mathrm{round}(\\hat\\beta_j \\cdot P / \\ln 2)` points (``P`` =
    ``points_per_doubling``); a deal's score is the sum over its levels
    (levels not estimable get 0). The predicted win probability of a score
    :math:`S` is :math:`\\operatorname{expit}(\\hat\\beta_0 + S \\ln 2 / P)`.
    On the validation deals (scored in the engine), AUC is
    :math:`P(S_{won} > S_{lost}) + \\tfrac12 P(S_{won} = S_{lost})` with the
    Hanley-McNeil (1982) standard error; calibration error is
    :math:`\\sum_b n_b |\\bar y_b - \\bar p_b| / n` over score bands. The
    what-if at threshold :math:`t` disqualifies deals scoring below
    :math:`t`; its shares are cumulative sums over scores, hence monotone.

    References
    ----------
    Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under
    a receiver operating characteristic (ROC) curve. Radiology 143, 29-36.
    Siddiqi, N. (2006). Credit Risk Scorecards, ch. 6 (points scaling).
    """
    if not 0 < train_share < 1:
        raise ValueError(f"train_share must lie strictly between 0 and 1, got {train_share}.")
    features = list(features)
    deals = ws.deals
    schema = deals.schema()
    numeric = [f for f in features if f in schema and schema[f].is_numeric()
               and not schema[f].is_boolean()]  # fmt: skip
    if numeric:
        raise ValueError(
            f"Scorecard features must be categorical; band {numeric[0]!r} first "
            "(analysis.winloss.drivers.model.driver_bands)."
        )
    closed = deals.filter(deals[c.OUTCOME].isin(CLOSED_OUTCOMES) & deals[c.CLOSED_AT].notnull())
    if split_at is None:
        split = ws.execute(closed[c.CLOSED_AT].epoch_seconds().quantile(train_share))
        no_dates = pd.isna(split)
        split = 0.0 if no_dates else float(split)
        split_ts = pd.Timestamp(split, unit="s", tz="UTC").floor("s")
    else:
        split_ts, no_dates = to_utc(split_at), False
    train = closed.filter(closed[c.CLOSED_AT] < split_ts)
    test = closed.filter(closed[c.CLOSED_AT] >= split_ts)
    model = win_drivers(train, features, min_level_deals=min_level_deals, correction="none")
    warnings = ["No closed deals with a close date: nothing to build a scorecard on."] * no_dates
    warnings += list(model.warnings)
    terms = model.to_frame()
    terms = terms[terms[c.LEVEL].notna()]
    coef = terms[c.COEF].fillna(0.0).astype(float)
    points = terms[[c.FEATURE, c.LEVEL]].copy()
    points[c.COEF] = coef.to_numpy()
    points[c.POINTS] = np.round(coef * points_per_doubling / np.log(2)).astype("int64").to_numpy()
    points = points.reset_index(drop=True)
    scores = _score_counts(ws, test, points, features)
    n_train = int(ws.execute(train.count()))
    n_test = int(scores[c.N_DEALS].sum()) if len(scores) else 0
    intercept = float(model.params.get("intercept", np.nan))
    if n_test == 0 or model.method == "none":
        warnings.append("No validation deals (or no model): AUC and calibration are not computed.")
        empty = pd.DataFrame()
        return Scorecard(points, empty, empty, scores, np.nan, np.nan, np.nan, np.nan, split_ts,
                         n_train, n_test, model, tuple(warnings))  # fmt: skip
    scores[c.PREDICTED] = expit(intercept + scores[c.SCORE] * np.log(2) / points_per_doubling)
    auc, auc_lo, auc_hi = _auc(scores, alpha)
    calibration, error = _calibration(scores, calibration_bins, alpha)
    return Scorecard(
        points, calibration, _what_if(scores, alpha), scores, auc, auc_lo, auc_hi, error, split_ts,
        n_train, n_test, model, tuple(warnings),
    )  # fmt: skip


def _score_counts(
    ws: Workspace, deals: ibis.Table, points: pd.DataFrame, features: list[str]
) -> pd.DataFrame:
    """Deals, wins, losses and activities per score, computed in the engine."""
    complete = deals.filter(ibis.and_(*[deals[f].notnull() for f in features]))
    parts = []
    for f in features:
        rows = points[points[c.FEATURE] == f]
        value = complete[f].cast("string")
        cases = [(value == str(lv), int(p)) for lv, p in zip(rows[c.LEVEL], rows[c.POINTS],
                                                             strict=True)]  # fmt: skip
        parts.append(ibis.cases(*cases, else_=0) if cases else ibis.literal(0))
    score = sum(parts[1:], parts[0]) if parts else ibis.literal(0)
    scored = complete.mutate(**{c.SCORE: score}).select(c.DEAL_ID, c.OUTCOME, c.SCORE)
    if ws.has(c.ACTIVITIES):
        acts = ws.activities.group_by(c.DEAL_ID).aggregate(_a=lambda t: t.count())
        acts = acts.select(acts[c.DEAL_ID].name("_d"), "_a")
        scored = scored.left_join(acts, scored[c.DEAL_ID] == acts["_d"]).drop("_d")
    counts = {
        c.N_DEALS: scored.count(),
        c.N_WON: (scored[c.OUTCOME] == c.WON).cast("int64").sum(),
        c.N_LOST: (scored[c.OUTCOME] == c.LOST).cast("int64").sum(),
    }
    if ws.has(c.ACTIVITIES):
        counts[c.N_ACTIVITIES] = scored["_a"].fill_null(0).sum()
    out = ws.execute(scored.group_by(c.SCORE).aggregate(**counts))
    # Without an activities table the effort a cut-off saves is unknown, not zero.
    out[c.N_ACTIVITIES] = out.get(c.N_ACTIVITIES, pd.Series(np.nan, index=out.index))
    out[c.N_ACTIVITIES] = out[c.N_ACTIVITIES].astype(float)
    return out.sort_values(c.SCORE).reset_index(drop=True)
