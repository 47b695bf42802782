"""What to do about a test, in words: ship, keep running for about N more deals, or stop.

Generated from the results, never typed by hand, so the sentence a leader
reads always matches the tables beside it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.experiments import columns as c
from analysis.experiments.bayes import PROB_BEATS_CONTROL, PROB_NEGLIGIBLE, BayesianReading
from analysis.experiments.compare import ConversionComparison
from analysis.experiments.power import PowerAnalysis
from analysis.experiments.sequential import read_at
from analysis.experiments.srm import SampleRatioCheck
from analysis.present.formatting import format_percent, format_rate

SHIP = "ship"
KEEP_RUNNING = "keep running"
STOP = "stop"
FIX = "fix the test"
# Beyond this many times the current sample, "keep running" is not a plan.
MAX_EXTRA_FACTOR = 10


@dataclass(frozen=True)
class Verdict:
    """The decision for one experiment and how sure we are.

    Attributes
    ----------
    experiment_id : str or None
    decision : str
        ``ship``, ``keep running``, ``stop`` or ``fix the test``.
    variant : str or None
        The variant to ship, or the one the decision is about.
    more_units : int or None
        About how many more units (deals) to run, for ``keep running``.
    certainty : str
        How sure: ``very sure``, ``fairly sure``, ``reasonably sure`` (a
        decision made; :func:`certainty_words`), ``not sure yet`` (significant
        at an early look) or ``not sure``.
    sentence : str
        The verdict in words (Markdown).
    """

    experiment_id: str | None
    decision: str
    variant: str | None
    more_units: int | None
    certainty: str
    sentence: str

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([asdict(self)])


def _about(n: float) -> int:
    """Round up to two significant figures: 1,234 -> 1,300."""
    if n <= 0:
        return 0
    digits = max(int(math.floor(math.log10(n))) - 1, 0)
    return int(math.ceil(n / 10**digits) * 10**digits)


# Certainty of a decision the rule has made: the posterior probability that it
# is the right way round (or, for "no difference worth having", that the
# difference is that small).
VERY_SURE, FAIRLY_SURE = 0.999, 0.99
NOT_SURE, NOT_SURE_YET = "not sure", "not sure yet"


def certainty_words(probability: float) -> str:
    """``very sure`` (>= 99.9%), ``fairly sure`` (>= 99%) or ``reasonably sure``.

    Called only for a decision the rule has already made (significant and past
    any early-look boundary, or an interval that rules out the minimum
    effect), so the words never claim more than the test allowed, and
    never come from the p-value alone.
    """
    if not np.isfinite(probability):
        return "reasonably sure"
    if probability >= VERY_SURE:
        return "very sure"
    if probability >= FAIRLY_SURE:
        return "fairly sure"
    return "reasonably sure"


def _points(value: float) -> str:
    return f"{100 * value:+.1f} points"


def _size(minimum_effect: float) -> str:
    return f"{100 * minimum_effect:.1f}-point"


def _effect(row: pd.Series, ctrl: pd.Series, comparison: ConversionComparison) -> str:
    adjusted = (
        row[c.P_ADJUSTED] != row[c.P_VALUE] and comparison.treated[c.P_VALUE].notna().sum() > 1
    )
    kind = "interval adjusted for the comparisons" if adjusted else "interval"
    return (
        f"{row[c.VARIANT]} converts {format_rate(row[c.RATE], row[c.RATE_CI_LOW], row[c.RATE_CI_HIGH])}"
        f" against {format_rate(ctrl[c.RATE], ctrl[c.RATE_CI_LOW], ctrl[c.RATE_CI_HIGH])} for "
        f"{ctrl[c.VARIANT]}: {_points(row[c.DIFFERENCE])} ({kind} "
        f"{100 * row[c.DIFF_CI_LOW]:+.1f} to {100 * row[c.DIFF_CI_HIGH]:+.1f}; "
        f"p = {row[c.P_ADJUSTED]:.2g})"
    )


def _rests_on(comparison: ConversionComparison) -> str:
    """For a test randomised by rep or account: how many clusters the figures rest on."""
    design = comparison.design
    if design is None:
        return ""
    return (
        f" Every figure here counts {design.cluster}s, not deals: the test rests on "
        f"{design.n_clusters} {design.cluster}s."
    )


def _significant(row: pd.Series, alpha: float) -> bool:
    """The decision rule: adjusted p below alpha and an interval that excludes 0.

    For the score and cluster-robust tests the two are one statement (the
    interval inverts the test at the adjusted level); for an exact test on
    request both must hold, so the verdict never contradicts either.
    """
    low, high = float(row[c.DIFF_CI_LOW]), float(row[c.DIFF_CI_HIGH])
    return float(row[c.P_ADJUSTED]) < alpha and (low > 0 or high < 0)


def _probability(
    bayes: BayesianReading | None, row: pd.Series, column: str, minimum_effect: float
) -> float:
    """The posterior probability ``column`` of the row's variant.

    Without a Bayesian reading, the normal approximation a flat prior gives:
    the difference is :math:`N(\\hat d, se^2)` with :math:`se` read from the
    row's z (or its interval), so :math:`P(d > 0) = \\Phi(z)`.
    """
    if bayes is not None and column in bayes.table.columns:
        return float(bayes.table.set_index(c.VARIANT).loc[row[c.VARIANT], column])
    z, d = float(row[c.Z]), float(row[c.DIFFERENCE])
    if column == PROB_BEATS_CONTROL:
        return float(stats.norm.cdf(z)) if np.isfinite(z) else np.nan
    se = abs(d / z) if np.isfinite(z) and z != 0 else np.nan
    if not np.isfinite(se) or se == 0:
        return np.nan
    return float(
        stats.norm.cdf((minimum_effect - d) / se) - stats.norm.cdf((-minimum_effect - d) / se)
    )


def _more_data(
    exp_name: str, row: pd.Series, effect: str, power: PowerAnalysis | None,
    comparison: ConversionComparison, minimum_effect: float,
) -> Verdict:  # fmt: skip
    """Not significant, and the interval does not rule out the minimum effect: what would settle it."""
    exp, n, variant = comparison.experiment_id, comparison.n_units, str(row[c.VARIANT])
    rests = _rests_on(comparison)
    design = comparison.design
    clustered = power is not None and design is not None and power.clusters_per_arm is not None
    more = None
    if power is not None:
        more = power.more_units_same_clusters if clustered else power.more_units_needed
    if more is not None and 0 < more <= MAX_EXTRA_FACTOR * n:
        extra = _about(more)
        source = f" from the same {design.cluster}s" if clustered else ""
        return Verdict(
            exp, KEEP_RUNNING, variant, extra, NOT_SURE,
            f"{exp_name}keep running for about {extra:,} more deals{source}. {effect}: not yet "
            f"clear. That many more give {format_percent(power.power, 0)} power to detect a "
            f"{_size(minimum_effect)} difference.{rests}",
        )  # fmt: skip
    if clustered:
        label, needed = design.cluster, power.clusters_per_arm_needed
        ceiling = power.max_power_same_clusters
        cap = (
            f"more deals from the same {power.clusters_per_arm:.0f} {label}s per arm give at "
            f"most {format_percent(ceiling, 0)} power"
            if ceiling is not None and np.isfinite(ceiling)
            else f"more deals from the same {label}s are not enough"
        )
        more_clusters = (
            f"; it needs about {needed:,} {label}s per arm "
            f"({max(needed - int(power.clusters_per_arm), 0):,} more)"
            if needed
            else ""
        )
        return Verdict(
            exp, STOP, variant, None, NOT_SURE,
            f"{exp_name}stop: the test is too small to settle it. {effect}. To detect a "
            f"{_size(minimum_effect)} difference with {format_percent(power.power, 0)} "
            f"power, {cap}{more_clusters}; rerun it with more {label}s or test a bolder "
            f"change.{rests}",
        )  # fmt: skip
    if more is not None and more > MAX_EXTRA_FACTOR * n:
        return Verdict(
            exp, STOP, variant, None, NOT_SURE,
            f"{exp_name}stop: the test is too small to settle it. {effect}. Detecting a "
            f"{_size(minimum_effect)} difference would take about {_about(more):,} "
            f"more deals; test a bolder change instead.{rests}",
        )  # fmt: skip
    return Verdict(
        exp, STOP, variant, None, NOT_SURE,
        f"{exp_name}stop: no clear difference at the planned size. {effect}.{rests}",
    )  # fmt: skip


def experiment_verdict(
    comparison: ConversionComparison,
    *,
    power: PowerAnalysis | None = None,
    srm: SampleRatioCheck | None = None,
    bayes: BayesianReading | None = None,
    minimum_effect: float = 0.05,
    looks: int = 4,
) -> Verdict:
    """Decide what to do about a test and say how sure we are.

    Parameters
    ----------
    comparison : ConversionComparison
        From :func:`analysis.experiments.compare_conversion`.
    power : PowerAnalysis, optional
        Sample needed for ``minimum_effect``: sizes "keep running" (in deals,
        or for a clustered design in deals from the same clusters or in more
        clusters).
    srm : SampleRatioCheck, optional
        A flagged sample ratio mismatch overrides everything: fix the test.
    bayes : BayesianReading, optional
        The posterior (cluster-aware for a clustered design): adds the chance
        that the variant beats the control and gives the certainty words.
    minimum_effect : float
        Smallest difference in conversion (absolute) worth acting on.
    looks : int
        Planned equally spaced looks when the comparison was read before its
        planned sample size (O'Brien-Fleming boundaries decide).

    Returns
    -------
    Verdict

    Notes
    -----
    In order: a sample ratio mismatch means fix the test; no usable
    comparison means keep running (or fix the data). Otherwise the variant
    with the smallest adjusted p-value is judged. It is *significant* when
    its adjusted p-value is below alpha and its interval excludes 0
    (:func:`_significant`). Read before its planned size, it must also pass
    the O'Brien-Fleming boundary on its z statistic (never an odds ratio).
    Significant: ship it if it converts better, stop if worse. Not
    significant: stop when the interval rules out ``minimum_effect`` either
    way; otherwise say what would settle it — more deals when they can reach
    the power, for a clustered design more deals from the same clusters or,
    when no number of them can, more clusters; stop when it would take more
    than 10 times the current sample. The certainty words
    (:func:`certainty_words`) come from the posterior probability that the
    decision is the right way round (for "no difference worth having", that
    the difference is below ``minimum_effect``), given that the rule made it.
    """
    exp = comparison.experiment_id
    name = f"**{exp}**: " if exp else ""
    if srm is not None and srm.flagged:
        return Verdict(exp, FIX, None, None, NOT_SURE, f"{name}fix the test. {srm.message}")
    tested = comparison.treated[comparison.treated[c.P_VALUE].notna()]
    more = power.more_units_needed if power is not None else None
    if tested.empty:
        why = comparison.messages[0] if comparison.messages else "No comparison was possible."
        decision = FIX if c.NOTE_NON_BINARY in comparison.notes else KEEP_RUNNING
        return Verdict(exp, decision, None, more, NOT_SURE, f"{name}{decision}: {why}")
    row = tested.loc[tested[c.P_ADJUSTED].astype(float).idxmin()]
    ctrl = comparison.table[comparison.table[c.IS_CONTROL]].iloc[0]
    alpha, variant = comparison.alpha, str(row[c.VARIANT])
    effect = _effect(row, ctrl, comparison)
    beats = _probability(bayes, row, PROB_BEATS_CONTROL, minimum_effect)
    if bayes is not None and np.isfinite(beats):
        effect += f"; {format_percent(beats)} chance it beats {ctrl[c.VARIANT]}"
    rests = _rests_on(comparison)
    significant = _significant(row, alpha)
    planned, n = comparison.planned_sample_size, comparison.n_units
    if significant and planned and n < planned:
        crossed, bound, info = read_at(float(row[c.Z]), n, planned, looks, alpha)
        if not crossed:
            extra = _about(planned - n)
            return Verdict(
                exp, KEEP_RUNNING, variant, extra, NOT_SURE_YET,
                f"{name}keep running for about {extra:,} more deals. {effect}, but this is an "
                f"early look ({format_percent(info, 0)} of the planned {planned:,}) and its "
                f"z = {float(row[c.Z]):.2f} has not passed the O'Brien-Fleming boundary "
                f"|z| >= {bound:.2f}.{rests}",
            )  # fmt: skip
    if significant and row[c.DIFFERENCE] > 0:
        sure = certainty_words(beats)
        return Verdict(
            exp, SHIP, variant, None, sure, f"{name}ship {variant} ({sure}). {effect}.{rests}"
        )
    if significant:
        sure = certainty_words(1 - beats if np.isfinite(beats) else np.nan)
        return Verdict(
            exp, STOP, variant, None, sure,
            f"{name}stop and keep {ctrl[c.VARIANT]} ({sure} {variant} is worse). "
            f"{effect}.{rests}",
        )  # fmt: skip
    low, high = float(row[c.DIFF_CI_LOW]), float(row[c.DIFF_CI_HIGH])
    if -minimum_effect < low and high < minimum_effect:
        sure = certainty_words(_probability(bayes, row, PROB_NEGLIGIBLE, minimum_effect))
        return Verdict(
            exp, STOP, variant, None, sure,
            f"{name}stop: no difference worth having ({sure}). {effect}; the interval rules "
            f"out an effect of {100 * minimum_effect:.1f} points either way, so keep "
            f"{ctrl[c.VARIANT]} (or choose on cost).{rests}",
        )  # fmt: skip
    return _more_data(name, row, effect, power, comparison, minimum_effect)
