"""Win drivers: a logistic model of won vs lost on deal attributes, with honest warnings.

When every feature is categorical the model is fitted to grouped binomial
counts (won, closed) per combination of levels, aggregated in the engine: the
likelihood is the same as the row-level one, so the estimates and intervals
equal a row-level ``Logit`` at any data size while only the cells come back.
With a numeric feature the closed deals' rows are fetched and ``Logit`` is
fitted to them. Separation, sparse levels, single-level features and
collinear terms are detected first and reported as warnings and note codes,
so the table never shows an odds ratio of 10^15.
"""

from __future__ import annotations

import warnings as pywarnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis import columns as c
from analysis.engine import Workspace
from analysis.errors import InputError
from analysis.winloss import adjust_p, check_correction

__all__ = ["WinDrivers", "design_matrix", "driver_bands", "win_drivers"]

DataLike = Workspace | ibis.Table | pd.DataFrame
_N, _WON = "_n", "_won"
INTERCEPT = "intercept"
MAX_ABS_COEF, MAX_SE = 15.0, 50.0  # log-odds beyond these mean the MLE diverged
CYCLE_BANDS = ((0, 30, "<30d"), (30, 90, "30-90d"), (90, 180, "90-180d"), (180, None, "180d+"))
DM_BANDS = ((None, 1, "1"), (2, 2, "2"), (3, 3, "3"), (4, 4, "4"), (5, None, "5+"))


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


def _resolve(data: DataLike) -> tuple[ibis.Table, Callable[[ibis.Expr], pd.DataFrame]]:
    if isinstance(data, Workspace):
        return data.deals, data.execute
    if isinstance(data, pd.DataFrame):
        backend = ibis.duckdb.connect()
        return ibis.memtable(data), backend.execute
    if isinstance(data, ibis.Table):
        return data, lambda expr: expr.execute()
    raise TypeError(
        f"win_drivers takes a Workspace, an ibis table or a DataFrame, not {type(data).__name__}."
    )


def driver_bands(data: DataLike, amount_quantiles: int = 4) -> ibis.Table:
    """Deals with banded features for driver models, as an ibis table.

    Adds ``amount_band`` and ``lead_score_band`` (quantile bands, edges
    computed in the engine), ``cycle_band`` (days from creation to close: <30, 30-90, 90-180,
    180+) and ``decision_makers_band`` (1, 2, 3, 4, 5+) where the source
    columns exist. Cycle length is known only at close: it describes won and
    lost deals, it is not a qualification criterion.
    """
    table, execute = _resolve(data)
    new = {}
    for column, band in ((c.AMOUNT, c.AMOUNT_BAND), (c.LEAD_SCORE, c.LEAD_SCORE_BAND)):
        if column in table.columns:
            new[band] = _quantile_band(table, column, amount_quantiles, execute)
    if c.CLOSED_AT in table.columns and c.CREATED_AT in table.columns:
        days = (table[c.CLOSED_AT].epoch_seconds() - table[c.CREATED_AT].epoch_seconds()) / 86_400
        new[c.CYCLE_BAND] = _band(days, CYCLE_BANDS)
    if c.N_DECISION_MAKERS in table.columns:
        new[c.DM_BAND] = _band(table[c.N_DECISION_MAKERS], DM_BANDS, inclusive_high=True)
    return table.mutate(**new)


def _quantile_band(table: ibis.Table, column: str, k: int, execute: Callable) -> ibis.Value:
    """Bands between the k-quantiles of ``column`` (edges computed in the engine)."""
    value = table[column]
    probs = [i / k for i in range(1, k)]
    q = execute(table.aggregate(**{f"q{i}": value.quantile(p) for i, p in enumerate(probs)}))
    edges = sorted({float(v) for v in q.iloc[0] if pd.notna(v)})
    bounds = [None, *edges, None]
    cases = []
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        if lo is None and hi is None:
            label = "all"
        elif lo is None:
            label = f"<{hi:,.0f}"
        elif hi is None:
            label = f"{lo:,.0f}+"
        else:
            label = f"{lo:,.0f}-{hi:,.0f}"
        cond = value.notnull()
        if lo is not None:
            cond = cond & (value >= lo)
        if hi is not None:
            cond = cond & (value < hi)
        cases.append((cond, f"{i + 1}: {label}"))
    return ibis.cases(*cases, else_=ibis.null().cast("string"))


def _band(value: ibis.Value, bands: tuple, inclusive_high: bool = False) -> ibis.Value:
    cases = []
    for lo, hi, label in bands:
        cond = ibis.literal(True)
        if lo is not None:
            cond = cond & (value >= lo)
        if hi is not None:
            cond = cond & ((value <= hi) if inclusive_high else (value < hi))
        cases.append((value.notnull() & cond, label))
    return ibis.cases(*cases, else_=ibis.null().cast("string"))


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
    rows = closed.select(**cols, **{_WON: (closed[outcome] == won).cast("int64")})
    complete = rows.filter(ibis.and_(*[rows[f].notnull() for f in features]))
    n_closed = int(execute(rows.count()))
    grouped = all(f in categorical for f in features)
    if grouped:
        expr = complete.group_by(features).aggregate(
            **{_N: complete.count(), _WON: complete[_WON].sum()}
        )
        cells = execute(expr)
    else:
        cells = execute(complete).assign(**{_N: 1})
    cells[_N] = cells[_N].astype("int64")
    cells[_WON] = cells[_WON].astype("int64")
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


def _independent_columns(x: pd.DataFrame, weights: np.ndarray) -> list[str]:
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


def _level_checks(
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
            counts = cells.groupby(f)[[_N, _WON]].sum()
            sep = counts[(counts[_WON] == 0) | (counts[_WON] == counts[_N])]
            for level, row in sep.iterrows():
                kind = "only wins" if row[_WON] == row[_N] else "only losses"
                notes[f"{f}={level}"] = c.NOTE_SEPARATION
                messages.append(
                    f"{f} = {level!r}: {int(row[_N])} closed deals with {kind} (separation); "
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
        counts = cells.groupby(f)[_N].sum().sort_index()
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


def _fit(x: pd.DataFrame, cells: pd.DataFrame, grouped: bool, messages: list[str]):
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        if grouped:
            endog = np.column_stack([cells[_WON], cells[_N] - cells[_WON]]).astype(float)
            result = sm.GLM(endog, x, family=sm.families.Binomial()).fit()
        else:
            result = sm.Logit(cells[_WON].astype(float), x).fit(disp=0, maxiter=200)
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
    table, execute = _resolve(data)
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
    n_used = int(cells[_N].sum())
    if n_closed > n_used:
        messages.append(
            f"{n_closed - n_used:,} of {n_closed:,} closed deals lack one of the features "
            "and are not in the model."
        )
    if n_used == 0:
        messages.append("No closed deals with every feature recorded; no model was fitted.")
        return _empty(features, alpha, correction, messages, 0)
    wins = int(cells[_WON].sum())
    if wins in (0, n_used):
        messages.append(
            f"The {n_used:,} closed deals are all won or all lost, so no driver can be estimated."
        )
        return _empty(features, alpha, correction, messages, n_used)
    notes: dict[str, str] = {}
    categorical_kept = [f for f in features if f in cat]
    cells, categorical_kept, refs = _level_checks(
        cells, categorical_kept, reference or {}, min_level_deals, messages, notes
    )
    numeric = [f for f in features if f not in cat]
    for f in numeric:
        if cells[f].nunique() < 2:
            notes[f] = c.NOTE_SINGLE_LEVEL
            messages.append(f"{f} takes a single value among closed deals and was left out.")
    numeric = [f for f in numeric if notes.get(f) != c.NOTE_SINGLE_LEVEL]
    n_deals, wins = int(cells[_N].sum()), int(cells[_WON].sum())
    if n_deals == 0 or wins in (0, n_deals):
        messages.append(
            "The closed deals left are all won or all lost, so no driver can be estimated."
            if n_deals
            else "No closed deals with every feature recorded; no model was fitted."
        )
        return _empty(features, alpha, correction, messages, n_deals)
    x = design_matrix(cells, categorical_kept, numeric, refs)
    kept = _independent_columns(x, cells[_N].to_numpy(dtype=float))
    for col in x.columns.difference(kept, sort=False):
        notes[col] = c.NOTE_COLLINEAR
        messages.append(
            f"{col} is a linear combination of other terms (collinear) and was dropped; "
            "its effect is carried by the terms it duplicates."
        )
    x = x[kept]
    result = _fit(x, cells, grouped, messages)
    _flag_divergent(result, x, notes, messages)
    with np.errstate(over="ignore"):
        table_out = _term_table(result, x, cells, features, cat, refs, notes, alpha, correction)
    return WinDrivers(
        table_out, result.params, result.bse, "grouped" if grouped else "rows", n_deals,
        len(cells), alpha, correction, tuple(features), tuple(messages),
    )  # fmt: skip


def _flag_divergent(result, x: pd.DataFrame, notes: dict[str, str], messages: list[str]) -> None:
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


def _term_table(result, x, cells, features, cat, refs, notes, alpha, correction) -> pd.DataFrame:
    ci = np.asarray(result.conf_int(alpha=alpha))
    params = pd.Series(np.asarray(result.params), index=x.columns)
    bse = pd.Series(np.asarray(result.bse), index=x.columns)
    pvals = pd.Series(np.asarray(result.pvalues), index=x.columns)
    ci = pd.DataFrame(ci, index=x.columns, columns=["lo", "hi"])
    rows = []
    for f in features:
        if f in cat:
            if f not in refs:
                rows.append({c.TERM: f, c.FEATURE: f, c.NOTE: notes.get(f, c.NOTE_SINGLE_LEVEL)})
                continue
            counts = cells.groupby(f)[[_N, _WON]].sum()
            for level, cnt in counts.iterrows():
                term = f"{f}={level}"
                row = {c.TERM: term, c.FEATURE: f, c.LEVEL: level, c.REFERENCE_LEVEL: refs[f],
                       c.N_UNITS: int(cnt[_N]), c.N_WON: int(cnt[_WON])}  # fmt: skip
                if level == refs[f]:
                    row.update({c.COEF: 0.0, c.ODDS_RATIO: 1.0, c.NOTE: "reference"})
                elif term in params.index and notes.get(term) != c.NOTE_SEPARATION:
                    row.update(_estimate(term, params, bse, pvals, ci, notes.get(term, "")))
                else:
                    row[c.NOTE] = notes.get(term, c.NOTE_COLLINEAR)
                rows.append(row)
            for term, note in notes.items():
                if term.startswith(f"{f}=") and note == c.NOTE_SEPARATION and term not in x:
                    rows.append({c.TERM: term, c.FEATURE: f, c.LEVEL: term.split("=", 1)[1],
                                 c.REFERENCE_LEVEL: refs[f], c.NOTE: note})  # fmt: skip
        else:
            row = {c.TERM: f, c.FEATURE: f, c.N_UNITS: int(cells[_N].sum()),
                   c.N_WON: int(cells[_WON].sum())}  # fmt: skip
            if f in params.index and notes.get(f) != c.NOTE_SEPARATION:
                row.update(_estimate(f, params, bse, pvals, ci, notes.get(f, "")))
            else:
                row[c.NOTE] = notes.get(f, c.NOTE_COLLINEAR)
            rows.append(row)
    table = pd.DataFrame(rows)
    for col in (c.LEVEL, c.REFERENCE_LEVEL, c.COEF, c.STD_ERR, c.ODDS_RATIO, c.CI_LOW, c.CI_HIGH,
                c.P_VALUE, c.N_UNITS, c.N_WON, c.NOTE):  # fmt: skip
        if col not in table:
            table[col] = np.nan
    table[c.NOTE] = table[c.NOTE].fillna("")
    table[c.P_ADJUSTED] = adjust_p(table[c.P_VALUE].to_numpy(dtype=float), correction, alpha)
    order = [c.TERM, c.FEATURE, c.LEVEL, c.REFERENCE_LEVEL, c.COEF, c.STD_ERR, c.ODDS_RATIO,
             c.CI_LOW, c.CI_HIGH, c.P_VALUE, c.P_ADJUSTED, c.N_UNITS, c.N_WON, c.NOTE]  # fmt: skip
    return table[order]


def _estimate(term, params, bse, pvals, ci, note) -> dict:
    return {
        c.COEF: float(params[term]),
        c.STD_ERR: float(bse[term]),
        c.ODDS_RATIO: float(np.exp(params[term])),
        c.CI_LOW: float(np.exp(ci.loc[term, "lo"])),
        c.CI_HIGH: float(np.exp(ci.loc[term, "hi"])),
        c.P_VALUE: float(pvals[term]),
        c.NOTE: note,
    }
