"""What to do about a test, in words: ship, keep running for about N more deals, or stop.

Generated from the results, never typed by hand, so the sentence a leader
reads always matches the tables beside it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from analysis.experiments import columns as c
from analysis.experiments.bayes import PROB_BEATS_CONTROL, BayesianReading
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
        How sure: ``very sure``, ``fairly sure``, ``reasonably sure`` or
        ``not sure``.
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


def _certainty(p: float, alpha: float) -> str:
    if p < alpha / 50:
        return "very sure"
    if p < alpha / 5:
        return "fairly sure"
    if p < alpha:
        return "reasonably sure"
    return "not sure"


def _points(value: float) -> str:
    return f"{100 * value:+.1f} points"


def _size(minimum_effect: float) -> str:
    return f"{100 * minimum_effect:.1f}-point"


def _effect(row: pd.Series, ctrl: pd.Series, alpha: float) -> str:
    level = format_percent(1 - alpha, 0)
    return (
        f"{row[c.VARIANT]} converts {format_rate(row[c.RATE], row[c.RATE_CI_LOW], row[c.RATE_CI_HIGH])}"
        f" against {format_rate(ctrl[c.RATE], ctrl[c.RATE_CI_LOW], ctrl[c.RATE_CI_HIGH])} for "
        f"{ctrl[c.VARIANT]}: {_points(row[c.DIFFERENCE])} ({level} interval "
        f"{100 * row[c.DIFF_CI_LOW]:+.1f} to {100 * row[c.DIFF_CI_HIGH]:+.1f}; "
        f"p = {row[c.P_ADJUSTED]:.2g})"
    )


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
        Sample needed for ``minimum_effect``: sizes "keep running".
    srm : SampleRatioCheck, optional
        A flagged sample ratio mismatch overrides everything: fix the test.
    bayes : BayesianReading, optional
        Adds the probability that the variant beats the control.
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
    with the smallest adjusted p-value is judged: significant and read at
    its planned size (or past its alpha-spending boundary) means ship it if
    it converts better, stop if worse; not significant means stop when the
    interval rules out ``minimum_effect`` either way or when reaching the
    power needs more than 10 times the current sample, and otherwise keep
    running for the deals the power analysis says are missing.
    """
    exp = comparison.experiment_id
    name = f"**{exp}**: " if exp else ""
    if srm is not None and srm.flagged:
        return Verdict(exp, FIX, None, None, "not sure", f"{name}fix the test. {srm.message}")
    tested = comparison.treated[comparison.treated[c.P_VALUE].notna()]
    more = power.more_units_needed if power is not None else None
    if tested.empty:
        why = comparison.messages[0] if comparison.messages else "No comparison was possible."
        decision = FIX if c.NOTE_NON_BINARY in comparison.notes else KEEP_RUNNING
        return Verdict(exp, decision, None, more, "not sure", f"{name}{decision}: {why}")
    row = tested.loc[tested[c.P_ADJUSTED].astype(float).idxmin()]
    ctrl = comparison.table[comparison.table[c.IS_CONTROL]].iloc[0]
    alpha, p = comparison.alpha, float(row[c.P_ADJUSTED])
    sure = _certainty(p, alpha)
    effect = _effect(row, ctrl, alpha)
    if bayes is not None:
        prob = bayes.table.set_index(c.VARIANT).loc[row[c.VARIANT], PROB_BEATS_CONTROL]
        effect += f"; {format_percent(prob)} chance it beats {ctrl[c.VARIANT]}"
    planned, n = comparison.planned_sample_size, comparison.n_units
    if p < alpha and planned and n < planned:
        crossed, bound, info = read_at(float(row[c.Z]), n, planned, looks, alpha)
        if not crossed:
            extra = _about(planned - n)
            return Verdict(
                exp, KEEP_RUNNING, str(row[c.VARIANT]), extra, "not sure yet",
                f"{name}keep running for about {extra:,} more deals. {effect}, but this is an "
                f"early look ({format_percent(info, 0)} of the planned {planned:,}) and it has "
                f"not passed the O'Brien-Fleming boundary |z| >= {bound:.2f}.",
            )  # fmt: skip
    if p < alpha and row[c.DIFFERENCE] > 0:
        return Verdict(
            exp, SHIP, str(row[c.VARIANT]), None, sure,
            f"{name}ship {row[c.VARIANT]} ({sure}). {effect}.",
        )  # fmt: skip
    if p < alpha:
        return Verdict(
            exp, STOP, str(row[c.VARIANT]), None, sure,
            f"{name}stop and keep {ctrl[c.VARIANT]} ({sure} {row[c.VARIANT]} is worse). {effect}.",
        )  # fmt: skip
    low, high = float(row[c.DIFF_CI_LOW]), float(row[c.DIFF_CI_HIGH])
    if -minimum_effect < low and high < minimum_effect:
        return Verdict(
            exp, STOP, str(row[c.VARIANT]), None, "fairly sure",
            f"{name}stop: no difference worth having. {effect}; the interval rules out an "
            f"effect of {100 * minimum_effect:.1f} points either way, so keep "
            f"{ctrl[c.VARIANT]} (or choose on cost).",
        )  # fmt: skip
    if more is not None and 0 < more <= MAX_EXTRA_FACTOR * n:
        extra = _about(more)
        return Verdict(
            exp, KEEP_RUNNING, str(row[c.VARIANT]), extra, "not sure",
            f"{name}keep running for about {extra:,} more deals. {effect}: not yet clear. "
            f"That many more give {format_percent(power.power, 0)} power to detect a "
            f"{_size(minimum_effect)} difference.",
        )  # fmt: skip
    if more is not None and more > MAX_EXTRA_FACTOR * n:
        return Verdict(
            exp, STOP, str(row[c.VARIANT]), None, "not sure",
            f"{name}stop: the test is too small to settle it. {effect}. Detecting a "
            f"{_size(minimum_effect)} difference would take about {_about(more):,} "
            "more deals; test a bolder change instead.",
        )  # fmt: skip
    return Verdict(
        exp, STOP, str(row[c.VARIANT]), None, "not sure",
        f"{name}stop: no clear difference at the planned size. {effect}.",
    )  # fmt: skip
