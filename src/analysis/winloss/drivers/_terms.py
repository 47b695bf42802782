"""The term table of a driver model: odds ratio, Wald interval and note per feature level.

Turns a fitted ``statsmodels`` binomial model and its cells into the table of
:class:`analysis.winloss.drivers.model.WinDrivers`: reference levels with odds ratio 1,
estimated levels with :math:`e^{\\hat\\beta}` and interval, and levels that
could not be estimated with the note code from :mod:`analysis.winloss.drivers._checks`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.multitest import adjust_pvalues
from analysis.winloss import columns as c
from analysis.winloss.drivers._checks import CELL_N, CELL_WON

__all__ = ["term_table"]


def term_table(result, x, cells, features, cat, refs, notes, alpha, correction) -> pd.DataFrame:
    """One row per feature level (or numeric feature): odds ratio, interval, counts, note."""
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
            counts = cells.groupby(f)[[CELL_N, CELL_WON]].sum()
            for level, cnt in counts.iterrows():
                term = f"{f}={level}"
                row = {c.TERM: term, c.FEATURE: f, c.LEVEL: level, c.REFERENCE_LEVEL: refs[f],
                       c.N_UNITS: int(cnt[CELL_N]), c.N_WON: int(cnt[CELL_WON])}  # fmt: skip
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
            row = {c.TERM: f, c.FEATURE: f, c.N_UNITS: int(cells[CELL_N].sum()),
                   c.N_WON: int(cells[CELL_WON].sum())}  # fmt: skip
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
    table[c.P_ADJUSTED] = adjust_pvalues(table[c.P_VALUE].to_numpy(dtype=float), correction)
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
