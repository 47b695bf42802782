"""One call per experiment: design check, effect, timing, deal size, Bayes and verdict.

The notebook reads each experiment with :func:`read_experiment` and shows the
tables that the functions here put side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.errors import MissingInput
from analysis.core.types import Correction
from analysis.engine.needs import ASSIGNMENTS
from analysis.engine.workspace import Workspace
from analysis.experiments import columns as c
from analysis.experiments.bayes import BayesianReading, bayesian_conversion
from analysis.experiments.compare import ConversionComparison, compare_conversion
from analysis.experiments.power import PowerAnalysis, power_analysis
from analysis.experiments.resolve import ExperimentUnits, experiment_units
from analysis.experiments.srm import SampleRatioCheck, sample_ratio_mismatch
from analysis.experiments.timing import (
    DealSizeComparison,
    TimeToConversion,
    compare_amounts,
    time_to_conversion,
)
from analysis.experiments.verdict import Verdict, experiment_verdict

ACHIEVED_POWER = "achieved_power"  # design table: power at the sample size reached
DETECTABLE_EFFECT = "detectable_effect"  # smallest difference the test could detect
MAX_POWER_SAME_CLUSTERS = "max_power_same_clusters"  # the most more deals from them can give


@dataclass(frozen=True)
class ExperimentReading:
    """Everything the report says about one experiment."""

    units: ExperimentUnits
    srm: SampleRatioCheck
    comparison: ConversionComparison
    power: PowerAnalysis | None
    timing: TimeToConversion
    deal_size: DealSizeComparison
    bayes: BayesianReading | None
    verdict: Verdict

    def to_frame(self) -> pd.DataFrame:
        """The comparison table."""
        return self.comparison.to_frame()


def _power(comparison: ConversionComparison, minimum_effect: float, alpha: float):
    table = comparison.table
    ctrl = table[table[c.IS_CONTROL]].iloc[0]
    rate = float(ctrl[c.RATE]) if ctrl[c.N_UNITS] > 0 else np.nan
    used = table[table[c.N_UNITS] > 0]
    if not 0 < rate < 1 or not 0 < rate + minimum_effect < 1 or len(used) < 2:
        return None
    design = comparison.design
    icc = design.icc if design is not None and np.isfinite(design.icc) else 0.0
    size = design.mean_cluster_size if design is not None else 1.0
    clusters = None
    if design is not None:
        per_arm = [design.clusters_per_variant.get(str(v), 0) for v in used[c.VARIANT]]
        clusters = float(min(per_arm)) if per_arm else None
    return power_analysis(
        rate,
        minimum_effect,
        float(used[c.N_UNITS].min()),
        alpha=alpha,
        icc=icc,
        cluster_size=size,
        arms=len(used),
        clusters_per_arm=clusters,
    )


def read_experiment(
    ws: Workspace,
    experiment_id: str,
    *,
    conversion_stage: str | None = None,
    control: str | None = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
    planned_sample_size: int | None = None,
    minimum_effect: float = 0.05,
) -> ExperimentReading:
    """Read one experiment of the workspace end to end.

    Parameters
    ----------
    ws : Workspace
    experiment_id : str
    conversion_stage : str, optional
        Reaching it counts as conversion (default: the stage after the treated one).
    control : str, optional
        Control variant (default: first in sorted order).
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
    planned_sample_size : int, optional
        Deals the test was planned for (early readings use alpha spending).
    minimum_effect : float
        Smallest difference in conversion worth acting on (absolute).

    Returns
    -------
    ExperimentReading
    """
    units = experiment_units(ws, experiment_id, conversion_stage)
    srm = sample_ratio_mismatch(units.n_assigned)
    comparison = compare_conversion(
        units,
        control=control,
        alpha=alpha,
        correction=correction,
        planned_sample_size=planned_sample_size,
    )
    judged = judge_comparison(comparison, srm=srm, minimum_effect=minimum_effect)
    return ExperimentReading(
        units=units,
        srm=srm,
        comparison=comparison,
        power=judged.power,
        timing=time_to_conversion(units, alpha=alpha),
        deal_size=compare_amounts(units, control=comparison.control, alpha=alpha),
        bayes=judged.bayes,
        verdict=judged.verdict,
    )


@dataclass(frozen=True)
class Judgement:
    """The power, the posterior and the verdict of one comparison, each at its unit."""

    power: PowerAnalysis | None
    bayes: BayesianReading | None
    verdict: Verdict


def judge_comparison(
    comparison: ConversionComparison,
    *,
    srm: SampleRatioCheck | None = None,
    minimum_effect: float = 0.05,
) -> Judgement:
    """Power, posterior and verdict of a comparison, at the unit that was randomised.

    For a test randomised by rep or account (``comparison.design``), the
    power counts clusters (how far more deals from the same reps can go, and
    how many reps would be needed), and the posterior rests on the effective
    sample size (counts divided by the design effect), so the verdict's
    "chance it beats" figure is as cluster-aware as its p-value and interval.
    """
    alpha = comparison.alpha
    power = _power(comparison, minimum_effect, alpha)
    bayes = None
    if comparison.treated[c.P_VALUE].notna().any():
        design = comparison.design
        bayes = bayesian_conversion(
            comparison.table,
            comparison.control,
            alpha=alpha,
            design_effect=design.design_effect if design is not None else 1.0,
            minimum_effect=minimum_effect,
        )
    verdict = experiment_verdict(
        comparison, power=power, srm=srm, bayes=bayes, minimum_effect=minimum_effect
    )
    return Judgement(power, bayes, verdict)


def _stack(readings: list[ExperimentReading], part) -> pd.DataFrame:
    frames = []
    for r in readings:
        frame = part(r)
        if frame is None:
            continue
        frame = frame.copy()
        if c.EXPERIMENT_ID not in frame.columns:
            frame.insert(0, c.EXPERIMENT_ID, r.units.experiment_id)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def design_table(readings: list[ExperimentReading]) -> pd.DataFrame:
    """Per experiment: unit type, units, SRM p-value and flag, clusters, ICC, design
    effect, power of the current sample and deals still needed (for a clustered
    design: from the same clusters, empty when they cannot reach the power, with
    the most power they can give and the clusters per arm needed)."""
    rows = []
    for r in readings:
        d, p = r.comparison.design, r.power
        rows.append(
            {
                c.EXPERIMENT_ID: r.units.experiment_id,
                c.UNIT_TYPE: r.units.unit_type,
                c.STAGE: r.units.stage,
                "conversion_stage": r.units.conversion_stage,
                "assigned_units": sum(r.units.n_assigned.values()),
                "deals": len(r.units.units),
                "deals_decided": r.comparison.n_units,
                "srm_p_value": r.srm.p_value,
                "srm_flagged": r.srm.flagged,
                c.N_CLUSTERS: d.n_clusters if d else None,
                "icc": d.icc if d else None,
                "design_effect": d.design_effect if d else None,
                ACHIEVED_POWER: p.achieved_power if p else None,
                DETECTABLE_EFFECT: p.detectable_effect if p else None,
                "more_deals_needed": _more_deals(p, d),
                MAX_POWER_SAME_CLUSTERS: p.max_power_same_clusters if p and d else None,
                "clusters_per_arm_needed": p.clusters_per_arm_needed if p and d else None,
            }
        )
    frame = pd.DataFrame(rows)
    for count in ("more_deals_needed", "clusters_per_arm_needed"):  # whole numbers, or empty
        if count in frame:
            frame[count] = pd.array(frame[count].astype("Float64").round(), dtype="Int64")
    return frame


def _more_deals(power: PowerAnalysis | None, design) -> int | None:
    """Deals still needed for the target power: from the same clusters when clustered."""
    if power is None:
        return None
    return power.more_units_same_clusters if design is not None else power.more_units_needed


def comparison_table(readings: list[ExperimentReading]) -> pd.DataFrame:
    """All per-variant comparison tables, one under the other."""
    return _stack(readings, lambda r: r.comparison.to_frame())


def timing_table(readings: list[ExperimentReading]) -> pd.DataFrame:
    """Share converted by 30/60/90 days per variant, with the log-rank p-value."""
    return _stack(readings, lambda r: r.timing.to_frame())


def deal_size_table(readings: list[ExperimentReading]) -> pd.DataFrame:
    """Won deal size per variant (Welch and Mann-Whitney against the control)."""
    return _stack(readings, lambda r: r.deal_size.to_frame())


def bayes_table(readings: list[ExperimentReading]) -> pd.DataFrame:
    """Chance to beat the control and expected loss per variant."""
    return _stack(readings, lambda r: r.bayes.to_frame() if r.bayes else None)


def verdict_table(readings: list[ExperimentReading]) -> pd.DataFrame:
    """One row per experiment: decision, variant, more deals, certainty, sentence."""
    return _stack(readings, lambda r: r.verdict.to_frame())


def headline(readings: list[ExperimentReading]) -> list[str]:
    """The verdict sentences, then any design warnings (SRM, clustering, early reading)."""
    out = [r.verdict.sentence for r in readings]
    for r in readings:
        extra = [m for m in r.comparison.messages if m not in r.verdict.sentence]
        out += [f"{r.units.experiment_id}: {m}" for m in extra]
    return out


def experiment_id_list(value: str | list[str] | tuple[str, ...] | None, ws: Workspace) -> list[str]:
    """The experiments to read: ``None`` means all in ``assignments``; a string (as a
    command line passes it) may hold several ids separated by commas, with or without
    list brackets and quotes."""
    from analysis.experiments.resolve import list_experiments

    if not value:
        return list_experiments(ws)
    if isinstance(value, str):
        cleaned = value.strip().strip("[]")
        return [v.strip().strip("'\"") for v in cleaned.split(",") if v.strip().strip("'\"")]
    return [str(v) for v in value]


def no_experiments_sentence(ws: Workspace) -> str:
    """Why a page reads no experiment: no assignments table, or one that lists none."""
    lacking = ASSIGNMENTS.missing(ws)
    if lacking:
        return MissingInput("Experiments", " and ".join(lacking), ASSIGNMENTS.supply).sentence
    return "The assignments table lists no experiment, so there is nothing to read."
