"""Checks before and after fitting a driver model: separation, sparse levels, collinearity.

A level with only wins or only losses (separation) has an infinite
maximum-likelihood estimate; a feature left with one level cannot be
estimated; a level with few deals gives an imprecise odds ratio; a term that
is a linear combination of earlier ones is not identified; and an estimate
that runs off towards infinity signals separation by a combination of levels.
Each is reported as a sentence and a note code (``columns.NOTE_*``) for
:func:`analysis.winloss.drivers.model.win_drivers`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.winloss import columns as c

__all__ = ["flag_divergent", "independent_columns", "level_checks"]

CELL_N, CELL_WON = "_n", "_won"  # closed deals and wins per model cell
INTERCEPT = "intercept"
MAX_ABS_COEF, MAX_SE = 15.0, 50.0  # log-odds beyond these mean the MLE diverged


def independent_columns(x: pd.DataFrame, weights: np.ndarray) -> list[str]:
    """Columns kept greedily, left to right, while the weighted Gram matrix gains rank."""
    xs = x.to_numpy(dtype=float)
    scale = np.sqrt((weights[:, None] * xs**2).sum(axis=0))
    scale[scale == 0] = 1.0
    gram = (xs / scale).T @ (weights[:, None] * (xs / scale))
    keep: list[int] = []
    for j in range(xs.shape[1]):
        trial = [*keep, j]
        if np.linalg.matrix_rank(gram[np.ix_(trial, trial)], tol=1e-9) == len(trial):
            keep.append(j)
    return [x.columns[j] for j in keep]


def level_checks(
    cells: pd.DataFrame,
    categorical: list[str],
    reference: Mapping,
    min_level_deals: int,
    messages: list[str],
    notes: dict[str, str],
) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Drop single-level features and separated levels; pick references; note sparse levels."""
    keep = list(categorical)
    refs: dict[str, str] = {}
    for _ in range(len(categorical) + 1):
        changed = False
        for f in list(keep):
            counts = cells.groupby(f)[[CELL_N, CELL_WON]].sum()
            sep = counts[(counts[CELL_WON] == 0) | (counts[CELL_WON] == counts[CELL_N])]
            for level, row in sep.iterrows():
                kind = "only wins" if row[CELL_WON] == row[CELL_N] else "only losses"
                notes[f"{f}={level}"] = c.NOTE_SEPARATION
                messages.append(
                    f"{f} = {level!r}: {int(row[CELL_N])} closed deals with {kind} (separation); "
                    "its odds ratio is infinite, so those deals were left out of the model."
                )
                cells = cells[cells[f] != level]
                changed = True
            counts = counts.drop(index=sep.index)
            if len(counts) < 2:
                notes[f] = c.NOTE_SINGLE_LEVEL
                messages.append(
                    f"{f} has {len(counts)} usable level(s) among closed deals; "
                    "it cannot separate wins from losses and was left out."
                )
                keep.remove(f)
                changed = True
        if not changed:
            break
    for f in keep:
        counts = cells.groupby(f)[CELL_N].sum().sort_index()
        wanted = reference.get(f)
        if wanted is not None and str(wanted) in counts.index:
            refs[f] = str(wanted)
        else:
            if wanted is not None:
                messages.append(f"Reference level {wanted!r} of {f} is not usable; using the most "
                                "frequent level instead.")  # fmt: skip
            refs[f] = str(counts.sort_values(ascending=False, kind="stable").index[0])
        for level, n in counts.items():
            if n < min_level_deals and f"{f}={level}" not in notes:
                notes[f"{f}={level}"] = c.NOTE_SPARSE_LEVEL
                messages.append(
                    f"{f} = {level!r} has only {int(n)} closed deals (< {min_level_deals}); "
                    "its odds ratio is imprecise."
                )
    return cells, keep, refs


def flag_divergent(result, x: pd.DataFrame, notes: dict[str, str], messages: list[str]) -> None:
    """Mark terms whose estimate ran off to infinity (separation by a combination of levels)."""
    coef = pd.Series(np.asarray(result.params), index=x.columns)
    se = pd.Series(np.asarray(result.bse), index=x.columns)
    bad = [
        t for t in x.columns if t != INTERCEPT and (abs(coef[t]) > MAX_ABS_COEF or se[t] > MAX_SE)
    ]
    for term in bad:
        notes[term] = c.NOTE_SEPARATION
    if bad:
        messages.append(
            f"{', '.join(bad)}: a combination of levels has only wins or only losses "
            "(separation), so these odds ratios diverge and are not shown; drop or merge a "
            "feature (e.g. one that is only known after the outcome)."
        )
