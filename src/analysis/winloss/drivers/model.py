"""Win drivers: a logistic model of won vs lost on deal attributes, with honest warnings.

When every feature is categorical the model is fitted to grouped binomial
counts (won, closed) per combination of levels, aggregated in the engine: the
likelihood is the same as the row-level one, so the estimates and intervals
equal a row-level ``Logit`` at any data size while only the cells come back.
With a numeric feature the closed deals' rows are fetched and ``Logit`` is
fitted to them. Separation, sparse levels, single-level features and
collinear terms are detected first (:mod:`analysis.winloss.drivers._checks`) and
reported as warnings and note codes, so the table never shows an odds ratio
of 10^15. Banded features come from :mod:`analysis.winloss.drivers.bands`.
"""

from __future__ import annotations

import warnings as pywarnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.core.errors import InputError
from analysis.core.types import check_correction
from analysis.winloss import columns as c
from analysis.winloss.drivers._checks import (
    CELL_N,
    CELL_WON,
    INTERCEPT,
    flag_divergent,
    independent_columns,
    level_checks,
)
from analysis.winloss.drivers._terms import term_table
from analysis.winloss.drivers.bands import DataLike, driver_bands, resolve_data

__all__ = ["WinDrivers", "design_matrix", "driver_bands", "win_drivers"]


@dataclass(frozen=True)
class WinDrivers:
    """Odds ratios of winning by deal attribute, from one logistic model.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per term: ``term, feature, level, reference, coef, std_err,
        odds_ratio, ci_low, ci_high, p_value, p_adjusted, n, won, note``.
        Reference levels appear with odds ratio 1 and note ``reference``;
        terms that could not be estimated have NaN and a note code
        (``separation``, ``collinear``, ``single_level``); ``sparse_level``
        marks levels with few deals.
    params, bse : pandas.Series
        Coefficients (log-odds, intercept included) and standard errors.
    method : {"grouped", "rows", "none"}
        Grouped binomial GLM on engine-aggregated cells, row-level Logit, or
        no model (see ``warnings``).
    n_deals : int
        Closed deals in the model.
    n_cells : int
        Rows the model saw (cells for ``grouped``).
    warnings : tuple of str
        Sentences on what was dropped or is unreliable, for the report.
    """

    table: pd.DataFrame
    params: pd.Series
    bse: pd.Series
    method: str
    n_deals: int
    n_cells: int
    alpha: float
    correction: str
    features: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The term table as a DataFrame (a copy)."""
        return self.table.copy()

    def summary(self) -> dict[str, object]:
        """How the model was fitted, for ``summary.json``."""
        return {"method": self.method, "n_deals": self.n_deals, "warnings": list(self.warnings)}


def _is_categorical(dtype: object) -> bool:
    return not (dtype.is_numeric() and not dtype.is_boolean())


def _cells(
    table: ibis.Table,
    execute: Callable,
    features: list[str],
    categorical: set[str],
    outcome: str,
    won: object,
    lost: object,
) -> tuple[pd.DataFrame, bool, int]:
    """Closed deals as (features, _n, _won) cells: grouped when all features are categorical."""
    closed = table.filter(table[outcome].isin([won, lost]))
    cols = {
        f: (closed[f].cast("string") if f in categorical else closed[f].cast("float64"))
        for f in features
    }
    rows = closed.select(**cols, **{CELL_WON: (closed[outcome] == won).cast("int64")})
    complete = rows.filter(ibis.and_(*[rows[f].notnull() for f in features]))
    n_closed = int(execute(rows.count()))
    grouped = all(f in categorical for f in features)
    if grouped:
        expr = complete.group_by(features).aggregate(
            **{CELL_N: complete.count(), CELL_WON: complete[CELL_WON].sum()}
        )
        cells = execute(expr)
    else:
        cells = execute(complete).assign(**{CELL_N: 1})
    cells[CELL_N] = cells[CELL_N].astype("int64")
    cells[CELL_WON] = cells[CELL_WON].astype("int64")
    return cells, grouped, n_closed


def design_matrix(
    cells: pd.DataFrame, categorical: Sequence[str], numeric: Sequence[str], references: Mapping
) -> pd.DataFrame:
    """Intercept, treatment dummies (``feature=level``) and numeric columns.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell or deal with the feature columns.
    categorical, numeric : sequence of str
    references : mapping of feature to reference level
        Levels not present get no column (treatment coding against it).
    """
    parts = {INTERCEPT: np.ones(len(cells))}
    for f in categorical:
        for level in sorted(cells[f].dropna().unique()):
            if level != references[f]:
                parts[f"{f}={level}"] = (cells[f] == level).to_numpy(dtype=float)
    for f in numeric:
        parts[f] = cells[f].to_numpy(dtype=float)
    return pd.DataFrame(parts, index=cells.index)


def _fit(x: pd.DataFrame, cells: pd.DataFrame, grouped: bool, messages: list[str]):
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        if grouped:
            endog = np.column_stack([cells[CELL_WON], cells[CELL_N] - cells[CELL_WON]]).astype(
                float
            )
            result = sm.GLM(endog, x, family=sm.families.Binomial()).fit()
        else:
            result = sm.Logit(cells[CELL_WON].astype(float), x).fit(disp=0, maxiter=200)
    for w in caught:
        name = type(w.message).__name__
        if "Separation" in name or "Convergence" in name:
            messages.append(
                f"The model reports {name}: some combination of features predicts the outcome "
                "(almost) perfectly; estimates of the terms with huge standard errors are unreliable."
            )
    return result


def _empty(features: Sequence[str], alpha: float, correction: str, messages: list[str], n: int):
    table = pd.DataFrame(
        columns=[c.TERM, c.FEATURE, c.LEVEL, c.REFERENCE_LEVEL, c.COEF, c.STD_ERR, c.ODDS_RATIO,
                 c.CI_LOW, c.CI_HIGH, c.P_VALUE, c.P_ADJUSTED, c.N_UNITS, c.N_WON, c.NOTE]
    )  # fmt: skip
    return WinDrivers(
        table, pd.Series(dtype=float), pd.Series(dtype=float), "none", n, 0, alpha, correction,
        tuple(features), tuple(messages),
    )  # fmt: skip


def win_drivers(
    data: DataLike,
    features: Sequence[str],
    *,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    min_level_deals: int = 10,
    outcome: str = c.OUTCOME,
    won: object = c.WON,
    lost: object = c.LOST,
) -> WinDrivers:
    """Fit a logistic model of won vs lost on deal attributes and report odds ratios.

    Parameters
    ----------
    data : Workspace, ibis.Table or pandas.DataFrame
        Deals (a workspace's ``deals``) or any table with ``outcome`` and the features.
    features : sequence of str
        Columns to model. Strings and booleans are categorical (treatment
        coding against the most frequent level); numbers are numeric (odds
        ratio per unit) unless listed in ``categorical``.
    alpha : float
        1 - confidence level of the Wald intervals.
    correction : {"fdr_bh", "holm", "bonferroni", "none"}
        Multiple-testing adjustment of the term p-values.
    categorical : sequence of str
        Numeric features to treat as categorical (e.g. number of decision makers).
    reference : mapping, optional
        Reference level per categorical feature.
    min_level_deals : int
        Levels with fewer closed deals are flagged ``sparse_level``.
    outcome, won, lost : str, object
        Outcome column and its won / lost values (other values are ignored).

    Returns
    -------
    WinDrivers

    Notes
    -----
    The model is :math:`\\operatorname{logit} P(won_i) = \\beta_0 + x_i^\\top \\beta`
    over closed deals with every feature recorded. With categorical features
    only, deals sharing a combination of levels :math:`g` contribute
    :math:`\\binom{n_g}{w_g} p_g^{w_g}(1-p_g)^{n_g-w_g}`, whose product is the
    row-level Bernoulli likelihood up to a constant, so the grouped binomial
    GLM (``statsmodels.GLM``, ``Binomial``) on the cells aggregated in the
    engine gives the same maximum-likelihood estimates and the same Fisher
    information (the logit link is canonical) as ``statsmodels.Logit`` on the
    rows. Odds ratios are :math:`e^{\\hat\\beta}` with Wald interval
    :math:`e^{\\hat\\beta \\pm z\\,se}`.

    Before fitting, a level with only wins or only losses (quasi-complete
    separation, MLE at infinity) is reported and its deals are set aside; a
    feature left with one level is dropped; a term that is a linear
    combination of earlier ones (rank of the weighted Gram matrix) is dropped
    as ``collinear``.

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd ed., sections 4.2
    (grouped vs ungrouped binomial data) and 6.5.1 (separation).
    """
    check_correction(correction)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    features = list(dict.fromkeys(features or ()))
    if not features:
        raise ValueError("win_drivers needs at least one feature, e.g. features=['source'].")
    table, execute = resolve_data(data)
    missing = [f for f in [*features, outcome] if f not in table.columns]
    if missing:
        raise InputError(
            f"no column {missing[0]!r} to model; the table has: {', '.join(table.columns)}.",
            column=missing[0],
        )
    schema = table.schema()
    cat = {f for f in features if _is_categorical(schema[f]) or f in set(categorical)}
    cells, grouped, n_closed = _cells(table, execute, features, cat, outcome, won, lost)
    messages: list[str] = []
    n_used = int(cells[CELL_N].sum())
    if n_closed > n_used:
        messages.append(
            f"{n_closed - n_used:,} of {n_closed:,} closed deals lack one of the features "
            "and are not in the model."
        )
    if n_used == 0:
        messages.append("No closed deals with every feature recorded; no model was fitted.")
        return _empty(features, alpha, correction, messages, 0)
    wins = int(cells[CELL_WON].sum())
    if wins in (0, n_used):
        messages.append(
            f"The {n_used:,} closed deals are all won or all lost, so no driver can be estimated."
        )
        return _empty(features, alpha, correction, messages, n_used)
    notes: dict[str, str] = {}
    categorical_kept = [f for f in features if f in cat]
    cells, categorical_kept, refs = level_checks(
        cells, categorical_kept, reference or {}, min_level_deals, messages, notes
    )
    numeric = [f for f in features if f not in cat]
    for f in numeric:
        if cells[f].nunique() < 2:
            notes[f] = c.NOTE_SINGLE_LEVEL
            messages.append(f"{f} takes a single value among closed deals and was left out.")
    numeric = [f for f in numeric if notes.get(f) != c.NOTE_SINGLE_LEVEL]
    n_deals, wins = int(cells[CELL_N].sum()), int(cells[CELL_WON].sum())
    if n_deals == 0 or wins in (0, n_deals):
        messages.append(
            "The closed deals left are all won or all lost, so no driver can be estimated."
            if n_deals
            else "No closed deals with every feature recorded; no model was fitted."
        )
        return _empty(features, alpha, correction, messages, n_deals)
    x = design_matrix(cells, categorical_kept, numeric, refs)
    kept = independent_columns(x, cells[CELL_N].to_numpy(dtype=float))
    for col in x.columns.difference(kept, sort=False):
        notes[col] = c.NOTE_COLLINEAR
        messages.append(
            f"{col} is a linear combination of other terms (collinear) and was dropped; "
            "its effect is carried by the terms it duplicates."
        )
    x = x[kept]
    result = _fit(x, cells, grouped, messages)
    flag_divergent(result, x, notes, messages)
    with np.errstate(over="ignore"):
        table_out = term_table(result, x, cells, features, cat, refs, notes, alpha, correction)
    return WinDrivers(
        table_out, result.params, result.bse, "grouped" if grouped else "rows", n_deals,
        len(cells), alpha, correction, tuple(features), tuple(messages),
    )  # fmt: skip
