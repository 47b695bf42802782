"""Checking and aggregating a table of experiment units (one row per unit).

A unit table has a variant column, a binary outcome column and optionally a
cluster column. Problems in the *data* (a non-binary outcome, a variant with
no units) become message codes the result carries; problems in the
*arguments* (a column that is not there, an unknown control) raise
:class:`analysis.core.errors.InputError` with a sentence a user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.errors import InputError
from analysis.experiments import columns as c

_TRUE = {"1", "true", "yes", "y", "won", "converted", "t"}
_FALSE = {"0", "false", "no", "n", "lost", "f"}


@dataclass(frozen=True)
class PreparedUnits:
    """Units ready to aggregate.

    Attributes
    ----------
    frame : pandas.DataFrame
        Columns ``variant``, ``converted`` (0/1) and ``cluster`` (when given);
        rows with a missing outcome, variant or cluster removed.
    variants : tuple of str
        Variant names in display order (categorical order, else sorted),
        including variants with no units.
    n_excluded : int
        Rows removed for a missing outcome, variant or cluster.
    notes : tuple of str
        Message codes about the data (``columns.NOTE_NON_BINARY``).
    bad_values : tuple
        Up to five offending outcome values, for the message.
    """

    frame: pd.DataFrame
    variants: tuple[str, ...]
    n_excluded: int
    notes: tuple[str, ...] = ()
    bad_values: tuple = ()


def _require(data: pd.DataFrame, column: str, role: str) -> None:
    if column not in data.columns:
        have = ", ".join(map(str, data.columns))
        raise InputError(
            f"the unit table has no {role} column {column!r}; it has: {have}. "
            f"Pass {role}=<column name>.",
            column=column,
        )


def _binary_outcome(values: pd.Series) -> tuple[pd.Series, tuple]:
    """Outcome values as 0/1 floats (NaN where missing) and the values that are not binary.

    Accepts booleans, 0/1 numbers and the words yes/no, true/false, won/lost
    (any case).
    """
    s = pd.Series(values, copy=False)
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float), ()
    if pd.api.types.is_numeric_dtype(s):
        num = s.astype(float)
        bad = num.notna() & ~num.isin([0.0, 1.0])
        return num.where(~bad), tuple(pd.unique(num[bad]))[:5]
    text = s.astype("string").str.strip().str.lower()
    out = pd.Series(np.nan, index=s.index)
    out[text.isin(_TRUE).fillna(False).to_numpy(bool)] = 1.0
    out[text.isin(_FALSE).fillna(False).to_numpy(bool)] = 0.0
    bad = text.notna() & out.isna()
    return out, tuple(pd.unique(s[bad.to_numpy(bool)]))[:5]


def prepare_units(
    data: pd.DataFrame,
    variant: str,
    converted: str,
    cluster: str | None = None,
    variants: list[str] | tuple[str, ...] | None = None,
) -> PreparedUnits:
    """Validate the columns of a unit table and code the outcome as 0/1.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    variant, converted : str
        Column names of the variant and of the binary outcome.
    cluster : str, optional
        Column naming the randomisation unit (rep, account).
    variants : sequence of str, optional
        The variants the test assigned; a listed variant with no rows is kept
        with zero units so the result can say so.

    Returns
    -------
    PreparedUnits
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            "data must be a pandas DataFrame with one row per unit or an analysis Workspace, "
            f"not {type(data).__name__}."
        )
    _require(data, variant, "variant")
    _require(data, converted, "converted")
    if cluster is not None:
        _require(data, cluster, "cluster")
    outcome, bad = _binary_outcome(data[converted])
    frame = pd.DataFrame({c.VARIANT: data[variant], c.CONVERTED: outcome.to_numpy()})
    if cluster is not None:
        frame[c.CLUSTER] = data[cluster].to_numpy()
    if isinstance(data[variant].dtype, pd.CategoricalDtype):
        order = [str(v) for v in data[variant].cat.categories]
    else:
        order = sorted(str(v) for v in pd.unique(data[variant].dropna()))
    for v in variants or ():
        if str(v) not in order:
            order.append(str(v))
    keep = frame.notna().all(axis=1)
    frame = frame[keep].copy()
    frame[c.VARIANT] = frame[c.VARIANT].astype(str)
    notes = (c.NOTE_NON_BINARY,) if bad else ()
    return PreparedUnits(frame, tuple(order), int((~keep).sum()), notes, bad)


def check_control(control: str | None, variants: tuple[str, ...]) -> str:
    """The control variant: ``control`` if it is one of ``variants``, else the first."""
    if not variants:
        raise InputError("the unit table has no variants (no rows with a variant).")
    if control is None:
        return variants[0]
    if str(control) not in variants:
        raise InputError(
            f"control {control!r} is not one of the variants ({', '.join(variants)}); "
            "pass control=<one of them>.",
            column=c.VARIANT,
        )
    return str(control)


def counts_by_variant(frame: pd.DataFrame, variants: tuple[str, ...]) -> pd.DataFrame:
    """Units and conversions per variant, in ``variants`` order (zeros for empty ones)."""
    grouped = frame.groupby(c.VARIANT)[c.CONVERTED].agg(["size", "sum"])
    grouped = grouped.reindex(list(variants), fill_value=0)
    return pd.DataFrame(
        {
            c.VARIANT: list(variants),
            c.N_UNITS: grouped["size"].to_numpy(dtype=np.int64),
            c.N_CONVERSIONS: grouped["sum"].to_numpy(dtype=np.int64),
        }
    )


def counts_by_cluster(frame: pd.DataFrame) -> pd.DataFrame:
    """Units and conversions per (variant, cluster)."""
    grouped = frame.groupby([c.VARIANT, c.CLUSTER], observed=True)[c.CONVERTED]
    out = grouped.agg(["size", "sum"]).reset_index()
    return out.rename(columns={"size": c.N_UNITS, "sum": c.N_CONVERSIONS})


def degenerate_messages(notes: list[str], bad: tuple, table: pd.DataFrame) -> list[str]:
    """Sentences for the message codes in ``notes`` about the data."""
    words = {
        c.NOTE_NON_BINARY: f"The outcome column holds values that are not yes/no or 0/1 "
        f"({', '.join(map(repr, bad))}); no test was computed. Recode it as 0/1.",
        c.NOTE_SINGLE_VARIANT: "Only one variant has units, so there is nothing to compare.",
        c.NOTE_EMPTY_VARIANT: "Variant(s) "
        + ", ".join(table.loc[table[c.N_UNITS] == 0, c.VARIANT].astype(str))
        + " have no units yet and are not compared.",
        c.NOTE_NO_VARIATION: "Every unit converted, or none did: the rates are equal and no "
        "test can tell the variants apart yet.",
        c.NOTE_TOO_FEW_CLUSTERS: "Too few clusters for a cluster-robust test (at least two per "
        "variant and more clusters than variants are needed).",
    }
    return [words[n] for n in notes if n in words]
