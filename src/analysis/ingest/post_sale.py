"""Orders, subscriptions and onboarding as canonical rows: what happens after the close.

Three optional tables follow the sale (issue 17): ``orders`` (one row per
purchase, B2C repeat buying or B2B orders), ``subscriptions`` (one row per
change of an account's recurring revenue) and ``onboarding`` (one row per won
deal's implementation: kick-off and go-live). This module holds what ingest
does to them beyond mapping and parsing:

* CRM words for a revenue change ("Upsell", "Downgrade", "Cancellation",
  Salesforce's Opportunity ``Type`` "Existing Customer - Upgrade") become
  :data:`analysis.core.columns.CHANGE_TYPES` through :data:`CHANGE_TYPE_WORDS`;
  a word it does not know is kept as written, so validation quarantines the
  row as ``bad_value`` and a column map's ``values:`` can name it next time.
* A discount is a share in [0, 1]: a value written with ``%`` is a percent,
  and a column whose unmarked values exceed 1 anywhere is in percent (0-100).
* Which customers are known (:func:`unknown_customer`): an order may be
  bought by anyone (a B2C buyer never appears in the deals); a subscription
  change belongs to an account, so its ``customer_id`` must be an account of
  the deals (``deals.account_id``) or a buyer of the orders. A change for
  nobody known is an ``orphan_event``, as a row naming a missing deal is.
* Facts that look wrong but are facts are kept and flagged (counted in the
  manifest's ``flags``): ``before_deal_closed``, a purchase or change dated
  over a day before the close of the deal it names (for onboarding, its
  earlier milestone: :func:`earliest_time`); ``mrr_inconsistent``, a
  change whose recurring revenue before and after disagrees with its type
  (:func:`mrr_inconsistent`); ``steps_out_of_order``, an onboarding that goes
  live before its kick-off (:func:`go_live_before_kickoff`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.ingest import parse
from analysis.ingest.leads import _before as step_before
from analysis.ingest.leads import status_key

CHANGE_TYPE_WORDS: dict[str, str] = {
    **{kind: kind for kind in c.CHANGE_TYPES},
    # new business
    "new business": c.CHANGE_NEW,
    "new customer": c.CHANGE_NEW,
    "new logo": c.CHANGE_NEW,
    "acquisition": c.CHANGE_NEW,
    "activation": c.CHANGE_NEW,
    # more revenue from an existing account
    "upsell": c.CHANGE_EXPANSION,
    "up-sell": c.CHANGE_EXPANSION,
    "upgrade": c.CHANGE_EXPANSION,
    "upgraded": c.CHANGE_EXPANSION,
    "cross-sell": c.CHANGE_EXPANSION,
    "add-on": c.CHANGE_EXPANSION,
    "expanded": c.CHANGE_EXPANSION,
    "existing customer - upgrade": c.CHANGE_EXPANSION,  # Salesforce Opportunity Type
    "existing business - upgrade": c.CHANGE_EXPANSION,
    # less revenue
    "downgrade": c.CHANGE_CONTRACTION,
    "downgraded": c.CHANGE_CONTRACTION,
    "downsell": c.CHANGE_CONTRACTION,
    "down-sell": c.CHANGE_CONTRACTION,
    "reduction": c.CHANGE_CONTRACTION,
    "existing customer - downgrade": c.CHANGE_CONTRACTION,  # Salesforce Opportunity Type
    "existing business - downgrade": c.CHANGE_CONTRACTION,
    # none left
    "churned": c.CHANGE_CHURN,
    "cancellation": c.CHANGE_CHURN,
    "cancelled": c.CHANGE_CHURN,
    "canceled": c.CHANGE_CHURN,
    "cancel": c.CHANGE_CHURN,
    "termination": c.CHANGE_CHURN,
    "terminated": c.CHANGE_CHURN,
    "non-renewal": c.CHANGE_CHURN,
    "lost customer": c.CHANGE_CHURN,
    # the same again
    "renew": c.CHANGE_RENEWAL,
    "renewed": c.CHANGE_RENEWAL,
    "existing customer - renewal": c.CHANGE_RENEWAL,
    "existing business - renewal": c.CHANGE_RENEWAL,
}
"""CRM words for a revenue change -> canonical change type, matched by ``status_key``."""

_LOOKUP = {status_key(word): kind for word, kind in CHANGE_TYPE_WORDS.items()}

BEFORE_CLOSE_SLACK = np.timedelta64(1, "D")
"""How far before its deal's close an order or change may be dated without a flag.

A day absorbs date-only fields (midnight of the close day) and a close stamped
at the end of its day.
"""


def normalise_change_types(values: pd.Series) -> pd.Series:
    """Canonical change types; words :data:`CHANGE_TYPE_WORDS` lacks are kept as written.

    Parameters
    ----------
    values : pandas.Series
        Change-type text (``str`` dtype); missing stays missing.

    Returns
    -------
    pandas.Series
        ``str`` Series on the same index.
    """
    distinct = values.dropna().unique()
    mapping = {v: _LOOKUP.get(status_key(v), str(v).strip()) for v in distinct}
    return values.map(mapping).astype("str")


def parse_discount(values: pd.Series, *, decimal: str = ".") -> parse.Parsed:
    """Discounts as shares in [0, 1].

    A value written with ``%`` ("15%", "15 %") is a percent. Among the
    others, a column holding any value above 1 is in percent (0-100), as
    probabilities are read (:func:`analysis.ingest.changes.probability_as_share`);
    else they are shares. A value that is not a number is bad.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        parsed = parse.parse_numbers(values, decimal=decimal)
        numbers = parsed.values
        return parse.Parsed(numbers / 100 if (numbers > 1).any() else numbers, parsed.bad)
    text = values.astype("string").str.strip()
    percent = text.str.endswith("%").fillna(False).to_numpy(dtype=bool)
    stripped = text.str.rstrip("%").str.strip().astype("str")
    parsed = parse.parse_numbers(stripped, decimal=decimal)
    numbers = parsed.values.copy()
    plain = ~percent
    in_percent = bool((numbers[plain] > 1).any())
    scale = np.where(percent | in_percent, 100.0, 1.0)
    return parse.Parsed((numbers / scale).astype("float64"), parsed.bad)


def mrr_inconsistent(subscriptions: pd.DataFrame) -> np.ndarray:
    """Changes whose recurring revenue before and after disagrees with their type.

    Parameters
    ----------
    subscriptions : pandas.DataFrame
        Canonical subscriptions (``change_type``, ``mrr_after``, optionally
        ``mrr_before``).

    Returns
    -------
    numpy.ndarray
        Boolean per row; False where the values compared are missing.

    Notes
    -----
    ``churn`` leaves nothing (``mrr_after`` > 0 is inconsistent); ``new``
    starts from nothing (``mrr_before`` > 0) and brings something
    (``mrr_after`` = 0 is inconsistent); ``expansion`` needs
    ``mrr_after`` > ``mrr_before``; ``contraction`` needs
    0 < ``mrr_after`` < ``mrr_before``; a ``renewal`` to 0 is inconsistent.
    """
    n = len(subscriptions)
    if c.CHANGE_TYPE not in subscriptions or c.MRR_AFTER not in subscriptions:
        return np.zeros(n, dtype=bool)
    kind = subscriptions[c.CHANGE_TYPE]
    after = subscriptions[c.MRR_AFTER].astype("float64")
    before = (
        subscriptions[c.MRR_BEFORE].astype("float64")
        if c.MRR_BEFORE in subscriptions
        else pd.Series(np.nan, index=subscriptions.index)
    )
    out = (
        ((kind == c.CHANGE_CHURN) & (after > 0))
        | ((kind == c.CHANGE_NEW) & ((before > 0) | (after == 0)))
        | ((kind == c.CHANGE_EXPANSION) & (after <= before))
        | ((kind == c.CHANGE_CONTRACTION) & ((after >= before) | (after == 0)))
        | ((kind == c.CHANGE_RENEWAL) & (after == 0))
    )
    return out.fillna(False).to_numpy(dtype=bool)


def flag_mrr_inconsistent(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Subscriptions with the ``mrr_inconsistent`` flag (:func:`mrr_inconsistent`); kept."""
    flag = pd.array(mrr_inconsistent(subscriptions), dtype="boolean")
    return subscriptions.assign(**{c.MRR_INCONSISTENT: flag})


def unknown_customer(frame: pd.DataFrame, known: pd.Series | None) -> np.ndarray:
    """Subscription changes whose ``customer_id`` is no known customer.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical subscriptions.
    known : pandas.Series or None
        Known customer ids: the account ids of the clean deals and the buyers
        of the clean orders. None when nothing names customers (deals without
        ``account_id`` and no orders): then no row is judged.

    Returns
    -------
    numpy.ndarray
        Boolean per row; False where ``customer_id`` is missing (that is
        ``missing_required``).
    """
    n = len(frame)
    if known is None or c.CUSTOMER_ID not in frame:
        return np.zeros(n, dtype=bool)
    ids = frame[c.CUSTOMER_ID]
    out = ids.notna() & ~ids.isin(set(known.dropna().astype(str)))
    return out.fillna(False).to_numpy(dtype=bool)


# The times of a row compared with its deal's close (``before_deal_closed``).
DATED_BY: dict[str, tuple[str, ...]] = {
    c.ORDERS: (c.ORDERED_AT,),
    c.SUBSCRIPTIONS: (c.EFFECTIVE_AT,),
    c.ONBOARDING: (c.KICKOFF_AT, c.GO_LIVE_AT),  # the earlier milestone
}


def earliest_time(table: str, frame: pd.DataFrame) -> pd.Series:
    """Per row, the earliest of the table's :data:`DATED_BY` columns present (NaT when none)."""
    columns = [col for col in DATED_BY[table] if col in frame]
    if not columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    return frame[columns].min(axis=1, skipna=True)


def go_live_before_kickoff(onboarding: pd.DataFrame, timezone: str = "UTC") -> np.ndarray:
    """Onboardings whose go-live is before their kick-off (boolean per row).

    False where either time is missing, and for a date-only go-live on the
    kick-off's day (its time of day is unknown), as lead steps are compared
    (:func:`analysis.ingest.leads.steps_out_of_order`).
    """
    if c.KICKOFF_AT not in onboarding or c.GO_LIVE_AT not in onboarding:
        return np.zeros(len(onboarding), dtype=bool)
    return step_before(onboarding[c.KICKOFF_AT], onboarding[c.GO_LIVE_AT], timezone)


def flag_go_live_before_kickoff(onboarding: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Onboarding with the ``steps_out_of_order`` flag (:func:`go_live_before_kickoff`); kept."""
    flag = pd.array(go_live_before_kickoff(onboarding, timezone), dtype="boolean")
    return onboarding.assign(**{c.STEPS_OUT_OF_ORDER: flag})


def before_deal_closed(times: pd.Series, closed: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Rows dated more than :data:`BEFORE_CLOSE_SLACK` before the close of the deal they name.

    Parameters
    ----------
    times : pandas.Series
        ``ordered_at``, ``effective_at`` or the onboarding's earlier milestone
        (UTC; :func:`earliest_time`).
    closed : numpy.ndarray
        ``datetime64[us]`` close time per entry of the deal index (NaT when open).
    positions : numpy.ndarray
        Each row's position in the deal index (-1 when no deal is named).

    Returns
    -------
    numpy.ndarray
        Boolean per row; False where the row names no deal or a time is missing.
    """
    out = np.zeros(len(times), dtype=bool)
    known = positions >= 0
    at = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")[known]
    close = closed[positions[known]]
    dated = ~np.isnat(at) & ~np.isnat(close)
    early = np.zeros(len(at), dtype=bool)
    early[dated] = at[dated] < close[dated] - BEFORE_CLOSE_SLACK
    out[known] = early
    return out


def post_sale_notes(table: str, clean: pd.DataFrame) -> tuple[dict[str, int], list[str]]:
    """Manifest flag counts (``<table>.<flag>``) and notes of clean orders, subscriptions
    or onboarding."""
    flags: dict[str, int] = {}
    notes: list[str] = []
    rows = {c.ORDERS: "orders", c.SUBSCRIPTIONS: "subscription changes"}.get(table)
    if c.BEFORE_DEAL_CLOSED in clean:
        n = int(clean[c.BEFORE_DEAL_CLOSED].fillna(False).sum())
        flags[f"{table}.{c.BEFORE_DEAL_CLOSED}"] = n
        if n:
            notes.append(
                f"{n:,} {rows} are dated more than a day before the close of the deal they "
                f"name: kept, flagged {c.BEFORE_DEAL_CLOSED}."
                if rows
                else f"{n:,} onboardings have a kick-off or go-live more than a day before "
                f"their deal's close: kept, flagged {c.BEFORE_DEAL_CLOSED}."
            )
    if table == c.ONBOARDING and c.STEPS_OUT_OF_ORDER in clean:
        n = int(clean[c.STEPS_OUT_OF_ORDER].fillna(False).sum())
        flags[f"{table}.{c.STEPS_OUT_OF_ORDER}"] = n
        if n:
            notes.append(
                f"{n:,} onboardings go live before their kick-off: kept, flagged "
                f"{c.STEPS_OUT_OF_ORDER}, and their times are left as exported."
            )
    if c.MRR_INCONSISTENT in clean:
        n = int(clean[c.MRR_INCONSISTENT].fillna(False).sum())
        flags[c.MRR_INCONSISTENT] = n
        if n:
            notes.append(
                f"{n:,} subscription changes have recurring revenue before and after that "
                "disagrees with their change type (e.g. churn leaving revenue): kept, flagged "
                f"{c.MRR_INCONSISTENT}."
            )
    return flags, notes
