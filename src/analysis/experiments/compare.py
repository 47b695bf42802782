"""Conversion by variant: is the difference real, how big is it, how sure are we?

:func:`compare_conversion` is the entry point of an A/B test reading. It takes
one row per unit (a pandas DataFrame), the units of one experiment resolved
from a workspace, or a workspace and an experiment id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.core.types import Correction, check_correction
from analysis.engine.workspace import Workspace
from analysis.experiments import clustered
from analysis.experiments import columns as c
from analysis.experiments._units import (
    check_control,
    counts_by_cluster,
    counts_by_variant,
    degenerate_messages,
    prepare_units,
)
from analysis.experiments.resolve import ExperimentUnits, experiment_units
from analysis.stats.multitest import adjust_pvalues, adjusted_levels
from analysis.stats.proportions import (
    Alternative,
    check_alternative,
    exact_test,
    min_expected_count,
    p_from_z,
)
from analysis.stats.rates import rate_with_interval
from analysis.stats.score import ratio_interval, score_interval, score_statistic

Method = Literal["auto", "score", "z", "fisher", "boschloo"]
METHOD_SCORE = "score"  # Miettinen–Nurminen score test; "auto" means this
METHOD_Z = "z"  # pooled z-test (Mee's interval inverts it)
METHOD_FISHER = "fisher"
METHOD_BOSCHLOO = "boschloo"
METHODS = ("auto", METHOD_SCORE, METHOD_Z, METHOD_FISHER, METHOD_BOSCHLOO)
TABLE_COLUMNS = (
    c.VARIANT, c.IS_CONTROL, c.N_UNITS, c.N_CONVERSIONS, c.RATE, c.RATE_CI_LOW,
    c.RATE_CI_HIGH, c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH, c.LIFT, c.LIFT_CI_LOW,
    c.LIFT_CI_HIGH, c.Z, c.P_VALUE, c.P_ADJUSTED, c.METHOD, c.N_CLUSTERS, c.NOTE,
)  # fmt: skip


@dataclass(frozen=True)
class ConversionComparison:
    """Conversion of each variant against the control.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per variant (see :data:`TABLE_COLUMNS`); the control's
        difference columns are empty.
    control : str
        The control variant.
    alpha : float
        1 - confidence level of every interval; the significance level.
    alternative : str
        ``"two-sided"``, ``"larger"`` (variant above control) or ``"smaller"``.
    correction : str
        Multiple-comparison adjustment of ``p_adjusted`` (Holm or BH).
    omnibus_statistic, omnibus_df, omnibus_p_value : float
        Chi-square test that all variants convert alike (cluster-robust Wald
        F-test for clustered designs); NaN with two variants.
    design : ClusterDesign or None
        Clusters, ICC and design effect when a cluster column was given.
    notes : tuple of str
        Message codes (``columns.NOTE_*``) about the whole comparison.
    messages : tuple of str
        The same in words, for a report.
    n_excluded : int
        Units left out for a missing outcome (undecided), variant or cluster.
    experiment_id : str or None
        The experiment, when resolved from a workspace.
    planned_sample_size : int or None
        Units the fixed-horizon test was planned for.
    """

    table: pd.DataFrame
    control: str
    alpha: float
    alternative: str
    correction: str
    omnibus_statistic: float = np.nan
    omnibus_df: float = np.nan
    omnibus_p_value: float = np.nan
    design: clustered.ClusterDesign | None = None
    notes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    n_excluded: int = 0
    experiment_id: str | None = None
    planned_sample_size: int | None = field(default=None)

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table, with the experiment id when known."""
        frame = self.table.copy()
        if self.experiment_id is not None:
            frame.insert(0, c.EXPERIMENT_ID, self.experiment_id)
        return frame

    @property
    def n_units(self) -> int:
        """Units analysed (all variants)."""
        return int(self.table[c.N_UNITS].sum())

    @property
    def treated(self) -> pd.DataFrame:
        """Rows of the variants compared with the control."""
        return self.table[~self.table[c.IS_CONTROL]]


def _base_table(counts: pd.DataFrame, control: str, alpha: float, deff: float) -> pd.DataFrame:
    table = counts.copy()
    table.insert(1, c.IS_CONTROL, table[c.VARIANT] == control)
    scale = deff if np.isfinite(deff) and deff > 1 else 1.0
    rate, low, high = rate_with_interval(
        table[c.N_CONVERSIONS] / scale, table[c.N_UNITS] / scale, alpha=alpha
    )
    table[c.RATE] = table[c.N_CONVERSIONS] / table[c.N_UNITS].where(table[c.N_UNITS] > 0)
    table[c.RATE_CI_LOW], table[c.RATE_CI_HIGH] = low, high
    for col in TABLE_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    table[c.NOTE] = None
    table[c.METHOD] = None
    table[c.N_CLUSTERS] = pd.NA
    table.loc[table[c.N_UNITS] == 0, c.NOTE] = c.NOTE_EMPTY_VARIANT
    return table[list(TABLE_COLUMNS)]


def _unclustered(table: pd.DataFrame, control: str, method: str, alt: str) -> None:
    """Each variant against the control: difference, score z and p-value, in place."""
    ctrl = table[table[c.VARIANT] == control].iloc[0]
    x0, n0 = int(ctrl[c.N_CONVERSIONS]), int(ctrl[c.N_UNITS])
    for i in table.index[~table[c.IS_CONTROL] & (table[c.N_UNITS] > 0)]:
        x1, n1 = int(table.at[i, c.N_CONVERSIONS]), int(table.at[i, c.N_UNITS])
        table.at[i, c.DIFFERENCE] = x1 / n1 - x0 / n0
        table.at[i, c.METHOD] = METHOD_SCORE if method == "auto" else method
        if x1 + x0 in (0, n1 + n0):  # no variation: no evidence of a difference
            table.at[i, c.Z], table.at[i, c.P_VALUE] = 0.0, 1.0
            continue
        z = float(score_statistic(x1, n1, x0, n0, correction=method != METHOD_Z))
        table.at[i, c.Z] = z
        if method in (METHOD_FISHER, METHOD_BOSCHLOO):
            table.at[i, c.P_VALUE] = exact_test(x1, n1, x0, n0, alt, method)[1]
            table.at[i, c.NOTE] = c.NOTE_EXACT_P
        else:
            table.at[i, c.P_VALUE] = float(p_from_z(z, alt))


def _score_intervals(table: pd.DataFrame, control: str, method: str, alt: str, levels) -> None:
    """Difference and lift intervals that invert the score test, at per-row levels."""
    ctrl = table[table[c.VARIANT] == control].iloc[0]
    rows = table.index[~table[c.IS_CONTROL] & (table[c.N_UNITS] > 0)]
    x1 = table.loc[rows, c.N_CONVERSIONS].to_numpy(float)
    n1 = table.loc[rows, c.N_UNITS].to_numpy(float)
    x0, n0 = float(ctrl[c.N_CONVERSIONS]), float(ctrl[c.N_UNITS])
    level = _two_sided(levels[rows], alt)
    mn = method != METHOD_Z
    low, high = score_interval(x1, n1, x0, n0, level, correction=mn)
    ratio_low, ratio_high = ratio_interval(x1, n1, x0, n0, level, correction=mn)
    table.loc[rows, c.DIFF_CI_LOW], table.loc[rows, c.DIFF_CI_HIGH] = low, high
    table.loc[rows, c.LIFT_CI_LOW], table.loc[rows, c.LIFT_CI_HIGH] = ratio_low - 1, ratio_high - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        table.loc[rows, c.LIFT] = np.where(x0 > 0, (x1 / n1) / (x0 / n0) - 1, np.nan)


def _two_sided(levels: np.ndarray | pd.Series, alt: str) -> np.ndarray:
    """The two-sided level whose interval has the one-sided test's bound at its tested end."""
    levels = np.asarray(levels, dtype=float)
    return levels if alt == "two-sided" else np.minimum(2 * levels, 0.999)


def _one_sided_ends(table: pd.DataFrame, alt: str) -> None:
    """A one-sided test's interval is open at the untested end (the range of the measure)."""
    rows = ~table[c.IS_CONTROL] & table[c.DIFF_CI_LOW].notna()
    if alt == "larger":
        table.loc[rows, c.DIFF_CI_HIGH], table.loc[rows, c.LIFT_CI_HIGH] = 1.0, np.inf
    elif alt == "smaller":
        table.loc[rows, c.DIFF_CI_LOW], table.loc[rows, c.LIFT_CI_LOW] = -1.0, -1.0


def _omnibus(counts: pd.DataFrame) -> tuple[float, float, float]:
    used = counts[counts[c.N_UNITS] > 0]
    x = used[c.N_CONVERSIONS].to_numpy()
    n = used[c.N_UNITS].to_numpy()
    if len(used) < 3 or min_expected_count(x, n) <= 0:
        return np.nan, np.nan, np.nan
    res = stats.chi2_contingency(np.column_stack([x, n - x]), correction=False)
    return float(res.statistic), float(res.dof), float(res.pvalue)


def _adjust(table: pd.DataFrame, correction: str) -> None:
    ok = ~table[c.IS_CONTROL] & table[c.P_VALUE].notna()
    if ok.sum() == 1:  # one comparison: nothing to adjust
        table.loc[ok, c.P_ADJUSTED] = table.loc[ok, c.P_VALUE]
    elif ok.any():
        table.loc[ok, c.P_ADJUSTED] = adjust_pvalues(
            table.loc[ok, c.P_VALUE].to_numpy(float), correction
        )


def _intervals(table, control, method, alpha, alt, fit, clustered_design: bool) -> None:
    """Every interval at the level that agrees with its row's adjusted p-value, in place.

    A row whose adjusted p-value is below alpha gets an interval that excludes
    0 (difference) and -100% (lift), and no other row does.
    """
    levels = pd.Series(
        adjusted_levels(table[c.P_VALUE], table[c.P_ADJUSTED], alpha), index=table.index
    )
    if not clustered_design:
        _score_intervals(table, control, method, alt, levels)
    elif fit is not None:
        rows = table.index[table[c.Z].notna()]
        if len(rows):
            treated = [
                v for v in table[c.VARIANT] if v != control and (table[c.VARIANT] == v).any()
            ]
            order = [treated.index(v) for v in table.loc[rows, c.VARIANT]]
            level = np.full(fit.difference.size, alpha)
            level[order] = _two_sided(levels[rows], alt)
            low, high, lift_low, lift_high = fit.intervals(level)
            table.loc[rows, c.DIFF_CI_LOW], table.loc[rows, c.DIFF_CI_HIGH] = (
                low[order],
                high[order],
            )
            table.loc[rows, c.LIFT_CI_LOW] = lift_low[order]
            table.loc[rows, c.LIFT_CI_HIGH] = lift_high[order]
            p0 = fit.params[0]
            table.loc[rows, c.LIFT] = table.loc[rows, c.DIFFERENCE] / p0 if p0 > 0 else np.nan
    _one_sided_ends(table, alt)


def compare_conversion(
    data: pd.DataFrame | ExperimentUnits | Workspace,
    variant: str = c.VARIANT,
    converted: str = c.CONVERTED,
    control: str | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "auto",
    *,
    experiment_id: str | None = None,
    conversion_stage: str | None = None,
    correction: Correction = "holm",
    planned_sample_size: int | None = None,
    variants: list[str] | tuple[str, ...] | None = None,
) -> ConversionComparison:
    """Compare conversion of each variant with the control.

    Parameters
    ----------
    data : DataFrame, ExperimentUnits or Workspace
        One row per unit; or the units of one experiment from
        :func:`analysis.experiments.experiment_units`; or a workspace, with
        ``experiment_id`` (and ``conversion_stage``) to resolve them in the
        engine. Resolved units use their own columns and, for rep or account
        randomisation, cluster on the randomised unit.
    variant, converted : str
        Columns of the variant and the binary outcome (bool, 0/1, yes/no).
        Rows with a missing outcome (undecided deals) are left out.
    control : str, optional
        Control variant (default: the first variant in sorted order).
    cluster : str, optional
        Column naming the randomisation unit (rep, account): inference is
        then cluster-robust and the result reports clusters, ICC and design
        effect.
    alpha : float
        Significance level and 1 - confidence level of the intervals.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: the variant converts better than the control.
    method : {"auto", "z", "fisher", "boschloo"}
        Test of each variant against the control when not clustered. ``auto``
        uses the pooled z-test, or Fisher's exact test when an expected count
        of the 2x2 table is below 5.
    experiment_id, conversion_stage : str, optional
        With a workspace: which experiment, and the stage whose reach counts
        as conversion (default: the stage after the treated one).
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of the p-values of several variants against the control.
    planned_sample_size : int, optional
        Units the fixed-horizon test was planned for; reading it with fewer
        adds the ``read_before_planned_size`` warning.
    variants : sequence of str, optional
        Variants that should be present (a missing one is reported as empty).

    Returns
    -------
    ConversionComparison

    Notes
    -----
    Difference :math:`d = \\hat p_v - \\hat p_0` with Newcombe's hybrid score
    interval; pooled z-test
    :math:`z = d / \\sqrt{\\bar p(1-\\bar p)(1/n_v + 1/n_0)}`; lift
    :math:`\\hat p_v / \\hat p_0 - 1` with the log-adjusted ratio interval;
    rates with Wilson intervals (for clustered designs, on the effective
    sample size :math:`n / \\text{deff}`). More than two variants: Pearson's
    chi-square on the k x 2 table, and each variant against the control
    adjusted by Holm or Benjamini-Hochberg. Clustered designs: see
    :func:`analysis.experiments.clustered.cluster_robust_fit`.

    References
    ----------
    Newcombe (1998), Statistics in Medicine 17, 873-890; Holm (1979),
    Scandinavian Journal of Statistics 6, 65-70; Benjamini & Hochberg (1995),
    JRSS B 57, 289-300.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    check_alternative(alternative)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    check_correction(correction)
    if isinstance(data, Workspace):
        if experiment_id is None:
            raise ValueError("With a workspace, pass experiment_id=<an id in assignments>.")
        data = experiment_units(data, experiment_id, conversion_stage)
    label = cluster
    if isinstance(data, ExperimentUnits):
        experiment_id = data.experiment_id
        label = data.unit_type
        variants = variants or data.variants
        if cluster is None and data.unit_type != c.UNIT_DEAL:
            cluster = c.CLUSTER
        data, variant, converted = data.units, c.VARIANT, c.CONVERTED
    prepared = prepare_units(data, variant, converted, cluster, variants)
    ctrl = check_control(control, prepared.variants)
    counts = counts_by_variant(prepared.frame, prepared.variants)
    notes = list(prepared.notes)
    cells = counts_by_cluster(prepared.frame) if cluster is not None else None
    if cells is not None:
        cells.attrs["label"] = label if label != c.CLUSTER else "cluster"
    deff = clustered.icc_anova(cells)[1] if cells is not None and not notes else np.nan
    table = _base_table(counts, ctrl, alpha, deff)
    with_units = counts[counts[c.N_UNITS] > 0]
    if (table[c.N_UNITS] == 0).any():
        notes.append(c.NOTE_EMPTY_VARIANT)
    if len(with_units) < 2 and c.NOTE_NON_BINARY not in notes:
        notes.append(c.NOTE_SINGLE_VARIANT)
    conv = with_units[c.N_CONVERSIONS].sum()
    if len(with_units) and conv in (0, with_units[c.N_UNITS].sum()):
        notes.append(c.NOTE_NO_VARIATION)
    ctrl_units = int(counts.loc[counts[c.VARIANT] == ctrl, c.N_UNITS].iloc[0])
    can_test = not ({c.NOTE_NON_BINARY, c.NOTE_SINGLE_VARIANT} & set(notes)) and ctrl_units > 0
    omnibus = (np.nan, np.nan, np.nan)
    design = None
    if can_test:
        _unclustered(table, ctrl, method, alternative)
        omnibus = _omnibus(counts)
        fit = None
        if cells is not None:
            omnibus, design, fit = clustered.apply_clusters(
                table, cells, ctrl, alpha, alternative, notes
            )
            if design is not None:
                table[c.N_CLUSTERS] = table[c.VARIANT].map(design.clusters_per_variant)
        _adjust(table, correction)
        _intervals(table, ctrl, method, alpha, alternative, fit, cells is not None)
    messages = degenerate_messages(notes, prepared.bad_values, table)
    if planned_sample_size is not None and int(table[c.N_UNITS].sum()) < planned_sample_size:
        notes.append(c.NOTE_BEFORE_PLANNED)
        messages.append(
            f"Read early: {int(table[c.N_UNITS].sum()):,} of the {planned_sample_size:,} planned "
            "units. A fixed-horizon test read before its planned size rejects more often than "
            "alpha; use planned looks with alpha spending (sequential_boundaries) instead."
        )
    if design is not None:
        messages.append(design.message)
    return ConversionComparison(
        table=table.reset_index(drop=True),
        control=ctrl,
        alpha=alpha,
        alternative=alternative,
        correction=correction,
        omnibus_statistic=omnibus[0],
        omnibus_df=omnibus[1],
        omnibus_p_value=omnibus[2],
        design=design,
        notes=tuple(dict.fromkeys(notes)),
        messages=tuple(messages),
        n_excluded=prepared.n_excluded,
        experiment_id=experiment_id,
        planned_sample_size=planned_sample_size,
    )
