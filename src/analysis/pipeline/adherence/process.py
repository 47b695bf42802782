"""Process adherence: adherent against non-adherent deals, overall, by stage and by rep.

The per-deal flags come from the engine (:mod:`.per_deal`); grouped counts
per comparison, group, segment and size third come back from it in one
query and the statistics run on them (:mod:`.compare`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from analysis.core import columns as c
from analysis.core.types import Correction, check_correction
from analysis.engine.workspace import Workspace
from analysis.pipeline.adherence.compare import COMPARISON_COLUMNS, N_NOT, comparison_rows
from analysis.pipeline.adherence.per_deal import (
    ADHERENCE,
    ADHERENT_BEFORE_FINAL,
    CYCLE_DAYS,
    NOTE_NO_STAGE_EVENTS,
    REACH,
    REACHED_FINAL,
    SEGMENT_STRATUM,
    START,
    criterion_column,
    deal_adherence,
    deal_frame,
    usable_criteria,
)

__all__ = ["ProcessAdherence", "process_adherence"]

KIND = "kind"  # which comparison a row is: overall, criterion or skip
KIND_OVERALL, KIND_CRITERION, KIND_SKIP = "overall", "criterion", "skip"
CRITERION_FIELD = "criterion_field"  # the deal field an exit criterion checks
SIZE_STRATUM = "_size"  # third of the deal amounts: low, mid, high, unknown


@dataclass(frozen=True)
class ProcessAdherence:
    """Process adherence per deal and its association with winning and cycle time.

    Attributes
    ----------
    table : pandas.DataFrame
        The overall row, one row per exit criterion (``stage``,
        ``criterion_field``) and one per stage that deals skipped: deals in
        the comparison, win rates of the adherent and non-adherent groups
        with intervals, their difference with its score interval and test,
        the Mantel–Haenszel odds ratio of winning adjusted for segment and
        deal size, the ratio of geometric-mean cycle times, adjusted p-values
        and a ``note`` (columns in :data:`analysis.pipeline.adherence_stats.COMPARISON_COLUMNS`).
    deals : pandas.DataFrame
        One row per deal with stage events: furthest stage, stages skipped and
        re-entered, one column per exit criterion (True met, False missed,
        missing where the deal did not advance past the stage), criteria
        missed, ``adherent``, ``reached_final_stage``, ``adherent_before_final``,
        outcome, segment, amount, owner and cycle days.
    by_rep : pandas.DataFrame
        The overall comparison within each rep (``owner_id``), adjusted as one family.
    criteria : Mapping[str, tuple of str]
        The exit criteria checked (stage to fields).
    final_stage : str
        The stage up to which the overall comparison checks adherence.
    alpha : float
    correction : str
    notes : tuple of str
        Sentences on what was left out (criteria without data, deals without
        history) and on what "met" can mean with the data at hand.
    """

    table: pd.DataFrame
    deals: pd.DataFrame
    by_rep: pd.DataFrame
    criteria: Mapping[str, tuple[str, ...]]
    final_stage: str
    alpha: float
    correction: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The overall and by-stage comparison table (a copy)."""
        return self.table.copy()


def _with_size_thirds(ws: Workspace, t: ibis.Table) -> tuple[ibis.Table, bool]:
    """Add ``_size``: the third of its segment's deal amounts (deals with history) a deal is in.

    Thirds within segment: B2B and B2C amounts barely overlap, so thirds over
    all deals would mostly restate the segment.
    """
    if c.AMOUNT not in t.columns:
        return t.mutate(**{SIZE_STRATUM: ibis.literal("all")}), False
    amount = t[c.AMOUNT]
    cuts = t.group_by(SEGMENT_STRATUM).aggregate(
        _lo=amount.quantile(1 / 3), _hi=amount.quantile(2 / 3)
    )
    if ws.execute(cuts["_lo"].count()) == 0:
        return t.mutate(**{SIZE_STRATUM: ibis.literal("all")}), False
    j = t.left_join(cuts, SEGMENT_STRATUM).drop(f"{SEGMENT_STRATUM}_right")
    a = j[c.AMOUNT]
    size = ibis.cases(
        (a.isnull(), "unknown"), (a <= j["_lo"], "low"), (a <= j["_hi"], "mid"),
        else_="high",
    )  # fmt: skip
    return j.mutate(**{SIZE_STRATUM: size}).drop("_lo", "_hi"), True


def _strata_counts(
    t: ibis.Table, group: Callable[[ibis.Table], ibis.BooleanValue], by: Sequence[str] = ()
) -> ibis.Table:
    """Deals, won, lost and log cycle-time sums per (by, group, segment, size third).

    ``group(t)`` is True for the adherent side of the comparison.
    """
    t = t.mutate(_group=group(t))
    won, lost = t[c.OUTCOME] == c.WON, t[c.OUTCOME] == c.LOST
    metrics = {
        "n": t.count(),
        "won": won.sum().cast("int64"),
        "lost": lost.sum().cast("int64"),
    }
    if CYCLE_DAYS in t.columns:
        logd = t[CYCLE_DAYS].clip(lower=1 / 24).log()
        ok = won & t[CYCLE_DAYS].notnull()
        metrics |= {
            "t_n": ok.sum().cast("int64"),
            "t_sum": logd.sum(where=ok),
            "t_sumsq": (logd * logd).sum(where=ok),
        }
    return t.group_by([*by, "_group", SEGMENT_STRATUM, SIZE_STRATUM]).aggregate(**metrics)


def process_adherence(
    ws: Workspace,
    criteria: Mapping[str, Sequence[str]] | None = None,
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> ProcessAdherence:
    """Stages skipped and re-entered and exit criteria met per deal, and what goes with them.

    Parameters
    ----------
    ws : Workspace
        Needs ``stage_events`` (deal, stage) and ``deals`` (outcome); uses
        segment, amount, owner and created/closed times when present.
    criteria : mapping of open stage to field names, optional
        Exit criteria: the deal fields that must be set before a deal leaves
        each stage. Default: ``exit_criteria`` of the pipeline in
        ``config/stages.yaml``. Criteria whose field the deals lack (or never
        fill) are skipped with a note.
    alpha : float
        1 - confidence level of every interval.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of the by-stage rows (one family) and of the by-rep rows
        (another); the overall row is the one primary comparison.

    Returns
    -------
    ProcessAdherence

    Raises
    ------
    MissingInput
        When the data has no stage history (:data:`ADHERENCE`).

    Notes
    -----
    Skips, re-entries and criteria are defined in :func:`deal_adherence`. A
    deal is *adherent* when it skipped no stage and met every criterion it
    was subject to.

    Comparing all adherent with all non-adherent deals would mislead: a deal
    lost at its first stage can have skipped nothing and been subject to no
    criterion, so the adherent group would collect the early losses. Each row
    therefore compares deals that faced the same checks:

    - *overall*: deals that reached the last open stage (or won), grouped by
      whether they skipped no stage and met every criterion before that stage;
    - *criterion* (stage :math:`i`, field :math:`f`): deals that advanced past
      :math:`i`, met against not met;
    - *skip* (stage :math:`i`): deals that entered a stage before :math:`i`
      and advanced past it, entered against skipped.

    Win rate is won / closed (open deals left out) with Wilson intervals; the
    difference (adherent minus not) has the Miettinen–Nurminen score interval
    and test. The adjusted comparison is the Mantel–Haenszel odds ratio of
    winning (adherent over not) over strata of segment x thirds of deal
    amount within the segment,
    :math:`\\hat\\psi_{MH} = \\sum_k a_k d_k / n_k \\big/ \\sum_k b_k c_k / n_k`, with
    the Robins–Breslow–Greenland interval and the Cochran–Mantel–Haenszel
    test (statsmodels ``StratifiedTable``). Cycle time is days from creation
    to close of won deals, :math:`y = \\log \\max(\\text{days}, 1/24)`,
    compared as the ratio of geometric means adjusted for the same strata
    (the group coefficient of ``y ~ C(stratum) + group``; see
    :func:`analysis.pipeline.adherence.compare.cycle_ratio`). Within a family each
    row's intervals are at the level that agrees with its adjusted p-value.

    All of this is association: deals that skip stages or advance without
    meeting a criterion may differ in ways no column records (how keen the
    buyer was, who the rep is), so the figures do not say that following the
    process causes wins.

    Deals carry a field's value as exported, not when it was set: "met when
    the deal advanced" is read as "set now". A ``deal_changes`` history of
    the field would date it; that is where to extend this check.

    References
    ----------
    Mantel, N. and Haenszel, W. (1959). Statistical aspects of the analysis of
    data from retrospective studies of disease. JNCI 22(4), 719-748.
    Robins, J., Breslow, N. and Greenland, S. (1986). Estimators of the
    Mantel-Haenszel variance consistent in both sparse data and large-strata
    limiting models. Biometrics 42(2), 311-323.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    check_correction(correction)
    ADHERENCE.check(ws)
    pipeline = ws.pipeline
    K = len(pipeline.stages)
    wanted = pipeline.exit_criteria if criteria is None else criteria
    usable, notes = usable_criteria(ws, wanted)
    if not usable:
        notes.append(
            "No exit criteria are checked (none configured under exit_criteria in "
            "config/stages.yaml, or none with data): adherence here means skipping no stage."
        )
    notes.append(
        "An exit criterion counts as met when its field is set in the export (a flag true, "
        "any other field non-blank); the data does not say whether it was set before the "
        "deal advanced."
    )
    t = deal_adherence(ws, usable)
    t, sized = _with_size_thirds(ws, t)
    if not sized:
        notes.append(
            "No deal with a stage history has an amount: the adjusted comparison is within "
            "segment only."
        )
    n_all = int(ws.execute(ws.deals.count()))
    n_hist = int(ws.execute(t.count()))
    if n_hist < n_all:
        notes.append(
            f"{n_all - n_hist} of {n_all} deals have no stage events and are left out "
            f"({NOTE_NO_STAGE_EVENTS})."
        )
    final = pipeline.stages[K - 1]
    reach, start = t[REACH].fill_null(-1), t[START]
    parts = [
        _strata_counts(t.filter(t[REACHED_FINAL]), lambda x: x[ADHERENT_BEFORE_FINAL]).mutate(
            _row=ibis.literal(0)
        )
    ]
    rows = [{KIND: KIND_OVERALL, c.STAGE: final, CRITERION_FIELD: ""}]
    for stage, fs in usable.items():
        i = pipeline.order(stage)
        for f in fs:
            col = criterion_column(stage, f)
            parts.append(
                _strata_counts(
                    t.filter(reach > i), lambda x, col=col: x[col].fill_null(False)
                ).mutate(_row=ibis.literal(len(rows)))
            )
            rows.append({KIND: KIND_CRITERION, c.STAGE: stage, CRITERION_FIELD: f})
    for i in range(1, K):
        sub = t.filter((start < i) & (reach > i))
        parts.append(
            _strata_counts(sub, lambda x, i=i: ~x[f"_skip{i}"]).mutate(_row=ibis.literal(len(rows)))
        )
        rows.append({KIND: KIND_SKIP, c.STAGE: pipeline.stages[i], CRITERION_FIELD: ""})
    counts = ws.execute(ibis.union(*parts) if len(parts) > 1 else parts[0])
    table = comparison_rows(pd.DataFrame(rows), counts, "_row", alpha, correction, primary=0)
    skip_rows = table[KIND] == KIND_SKIP
    table = table[~skip_rows | (table[N_NOT] > 0)].reset_index(drop=True)

    by_rep = pd.DataFrame(columns=[c.OWNER_ID, *COMPARISON_COLUMNS])
    if c.OWNER_ID in t.columns:
        rep_counts = ws.execute(
            _strata_counts(
                t.filter(t[REACHED_FINAL]), lambda x: x[ADHERENT_BEFORE_FINAL], [c.OWNER_ID]
            )
        )
        reps = sorted(rep_counts[c.OWNER_ID].dropna().unique())
        rep_rows = pd.DataFrame({c.OWNER_ID: reps})
        by_rep = comparison_rows(rep_rows, rep_counts, c.OWNER_ID, alpha, correction)
    return ProcessAdherence(
        table=table,
        deals=deal_frame(ws, t, usable),
        by_rep=by_rep,
        criteria=usable,
        final_stage=final,
        alpha=alpha,
        correction=correction,
        notes=tuple(notes),
    )
