"""Pandera schemas of the canonical tables.

One schema per table of the data model (``docs/data-model.md``). Checks are
named after the quarantine reason code they produce, so ingest can turn a
lazy validation report straight into reason codes.

Timestamps are declared at microsecond resolution in UTC, the unit pandas 3
parses to; coercion converts other units, so a schema never fails on
``datetime64[ns, UTC]`` versus ``datetime64[us, UTC]``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pandera.pandas as pa

from analysis.core import columns as c

TIMESTAMP = pd.DatetimeTZDtype(unit="us", tz="UTC")
STRING = "str"
FLOAT = "float64"
INT = "Int64"
BOOL = "boolean"

# Reason codes (quarantine) that correspond to schema checks.
MISSING_REQUIRED = "missing_required"
DUPLICATE_ID = "duplicate_id"
NEGATIVE_AMOUNT = "negative_amount"
BAD_OUTCOME = "bad_outcome"
UNKNOWN_STAGE = "unknown_stage"
CLOSED_BEFORE_CREATED = "closed_before_created"
BAD_VALUE = "bad_value"
# Reasons only the CRM adapters give: what the CRM itself says about a row.
DELETED_IN_SOURCE = "deleted_in_source"
NOT_A_STAGE_CHANGE = "not_a_stage_change"
OUT_OF_SCOPE = "out_of_scope"
FROM_CRM_ADAPTERS = frozenset({DELETED_IN_SOURCE, NOT_A_STAGE_CHANGE, OUT_OF_SCOPE})


def _non_negative() -> pa.Check:
    return pa.Check(lambda s: s.isna() | (s >= 0), name=NEGATIVE_AMOUNT, ignore_na=False)


def _at_least_one() -> pa.Check:
    return pa.Check(lambda s: s.isna() | (s >= 1), name=BAD_VALUE, ignore_na=False)


def _share() -> pa.Check:
    return pa.Check(lambda s: s.isna() | ((s >= 0) & (s <= 1)), name=BAD_VALUE, ignore_na=False)


def _one_of(values: Iterable[str], name: str = BAD_VALUE) -> pa.Check:
    allowed = tuple(values)
    return pa.Check(lambda s: s.isna() | s.isin(allowed), name=name, ignore_na=False)


def _closed_after_created(df: pd.DataFrame) -> pd.Series:
    if c.CLOSED_AT not in df:
        return pd.Series(True, index=df.index)
    closed, created = df[c.CLOSED_AT], df[c.CREATED_AT]
    return closed.isna() | created.isna() | (closed >= created)


# Column specs: (dtype, required, nullable, checks, unique)
_Spec = tuple[object, bool, bool, tuple[pa.Check, ...], bool]


def _deals(stage_checks: tuple[pa.Check, ...]) -> dict[str, _Spec]:
    return {
        c.DEAL_ID: (STRING, True, False, (), True),
        c.CREATED_AT: (TIMESTAMP, True, False, (), False),
        c.OUTCOME: (STRING, True, False, (_one_of(c.OUTCOMES, BAD_OUTCOME),), False),
        c.AMOUNT: (FLOAT, True, True, (_non_negative(),), False),
        c.SEGMENT: (STRING, True, False, (_one_of(c.SEGMENTS),), False),
        c.CLOSED_AT: (TIMESTAMP, False, True, (), False),
        c.EXPECTED_CLOSE_AT: (TIMESTAMP, False, True, (), False),
        c.BACKDATED: (BOOL, False, True, (), False),
        c.CURRENCY: (STRING, False, True, (), False),
        c.AMOUNT_ORIGINAL: (FLOAT, False, True, (_non_negative(),), False),
        c.PIPELINE: (STRING, False, True, (), False),
        c.STAGE: (STRING, False, True, stage_checks, False),
        c.SOURCE: (STRING, False, True, (), False),
        c.OWNER_ID: (STRING, False, True, (), False),
        c.ACCOUNT_ID: (STRING, False, True, (), False),
        c.PRODUCT: (STRING, False, True, (), False),
        c.REGION: (STRING, False, True, (), False),
        c.N_DECISION_MAKERS: (INT, False, True, (_at_least_one(),), False),
        c.LOSS_REASON: (STRING, False, True, (), False),
        c.COMPETITOR: (STRING, False, True, (), False),
        c.QUAL_BUDGET: (BOOL, False, True, (), False),
        c.QUAL_AUTHORITY: (BOOL, False, True, (), False),
        c.QUAL_NEED: (BOOL, False, True, (), False),
        c.QUAL_TIMELINE: (BOOL, False, True, (), False),
        c.LEAD_SCORE: (FLOAT, False, True, (), False),
        c.PROBABILITY: (FLOAT, False, True, (_share(),), False),
        c.FORECAST_CATEGORY: (STRING, False, True, (), False),
    }


def _stage_events(stage_checks: tuple[pa.Check, ...]) -> dict[str, _Spec]:
    return {
        c.DEAL_ID: (STRING, True, False, (), False),
        c.STAGE: (STRING, True, False, stage_checks, False),
        # Null only for events ingest derived from a current-stage-only source.
        c.ENTERED_AT: (TIMESTAMP, True, True, (), False),
        c.OWNER_ID: (STRING, False, True, (), False),
        c.DERIVED: (BOOL, False, True, (), False),
        c.BEFORE_CREATED: (BOOL, False, True, (), False),
    }


_ACTIVITIES: dict[str, _Spec] = {
    c.DEAL_ID: (STRING, True, False, (), False),
    c.AT: (TIMESTAMP, True, False, (), False),
    c.ACTIVITY_TYPE: (STRING, True, False, (_one_of(c.ACTIVITY_TYPES),), False),
    c.REP_ID: (STRING, False, True, (), False),
    c.TEMPLATE_ID: (STRING, False, True, (), False),
    c.SCRIPT_ID: (STRING, False, True, (), False),
    c.REPLIED: (BOOL, False, True, (), False),
    c.CONNECTED: (BOOL, False, True, (), False),
}


def _assignments(stage_checks: tuple[pa.Check, ...]) -> dict[str, _Spec]:
    return {
        c.EXPERIMENT_ID: (STRING, True, False, (), False),
        c.UNIT_ID: (STRING, True, False, (), False),
        c.UNIT_TYPE: (STRING, True, False, (_one_of(c.UNIT_TYPES),), False),
        c.VARIANT: (STRING, True, False, (), False),
        c.ASSIGNED_AT: (TIMESTAMP, True, False, (), False),
        c.STAGE: (STRING, False, True, stage_checks, False),
    }


_REPS: dict[str, _Spec] = {
    c.REP_ID: (STRING, True, False, (), True),
    c.NAME: (STRING, False, True, (), False),
    c.TEAM: (STRING, False, True, (), False),
    c.REGION: (STRING, False, True, (), False),
    c.HIRED_AT: (TIMESTAMP, False, True, (), False),
    c.QUOTA: (FLOAT, False, True, (_non_negative(),), False),
}

_SPEND: dict[str, _Spec] = {
    c.PERIOD: (TIMESTAMP, True, False, (), False),
    c.CHANNEL: (STRING, True, False, (), False),
    c.SALES_COST: (FLOAT, True, True, (_non_negative(),), False),
    c.MARKETING_COST: (FLOAT, True, True, (_non_negative(),), False),
}

_FEEDBACK: dict[str, _Spec] = {
    c.DEAL_ID: (STRING, True, False, (), False),
    c.SOURCE: (STRING, True, False, (_one_of(c.FEEDBACK_SOURCES),), False),
    c.TEXT: (STRING, True, False, (), False),
    c.COLLECTED_AT: (TIMESTAMP, False, True, (), False),
    c.RATING: (FLOAT, False, True, (), False),
}

_DEAL_CHANGES: dict[str, _Spec] = {
    c.DEAL_ID: (STRING, True, False, (), False),
    c.CHANGED_AT: (TIMESTAMP, True, False, (), False),
    c.FIELD: (STRING, True, False, (_one_of(c.TRACKED_FIELDS),), False),
    # Canonical text (ingest.changes): decimals, ISO 8601 UTC times, canonical stage names.
    c.NEW_VALUE: (STRING, True, True, (), False),
    c.OLD_VALUE: (STRING, False, True, (), False),  # some CRMs (HubSpot) keep new values only
    c.CHANGED_BY: (STRING, False, True, (), False),
}

_LEADS: dict[str, _Spec] = {
    c.LEAD_ID: (STRING, True, False, (), True),
    c.CREATED_AT: (TIMESTAMP, True, False, (), False),
    c.SOURCE: (STRING, False, True, (), False),  # the channel; blank is an "unknown" group
    c.CAMPAIGN: (STRING, False, True, (), False),
    c.OWNER_ID: (STRING, False, True, (), False),
    c.SEGMENT: (STRING, False, True, (_one_of(c.SEGMENTS),), False),
    # CRM words (Salesforce Lead Status, HubSpot lifecycle stage) mapped by ingest.leads.
    c.LEAD_STATUS: (STRING, False, True, (_one_of(c.LEAD_STATUSES),), False),
    c.MQL_AT: (TIMESTAMP, False, True, (), False),
    c.ACCEPTED_AT: (TIMESTAMP, False, True, (), False),
    c.SQL_AT: (TIMESTAMP, False, True, (), False),
    c.DISQUALIFIED_AT: (TIMESTAMP, False, True, (), False),
    c.DISQUALIFY_REASON: (STRING, False, True, (), False),
    c.RECYCLED_AT: (TIMESTAMP, False, True, (), False),
    c.FIRST_RESPONSE_AT: (TIMESTAMP, False, True, (), False),
    c.CONVERTED_AT: (TIMESTAMP, False, True, (), False),
    c.CONVERTED_DEAL_ID: (STRING, False, True, (), False),  # ingest checks the deal exists
    c.STEPS_OUT_OF_ORDER: (BOOL, False, True, (), False),  # set by ingest (a flag, kept)
}

_ORDERS: dict[str, _Spec] = {
    c.ORDER_ID: (STRING, True, False, (), True),
    c.CUSTOMER_ID: (STRING, True, False, (), False),  # ingest: rule in docs/data-model.md
    c.ORDERED_AT: (TIMESTAMP, True, False, (), False),
    c.DEAL_ID: (STRING, False, True, (), False),  # the deal it came from; ingest checks it exists
    c.AMOUNT: (FLOAT, False, True, (_non_negative(),), False),
    c.AMOUNT_ORIGINAL: (FLOAT, False, True, (_non_negative(),), False),  # --fx-rates: as exported
    c.CURRENCY: (STRING, False, True, (), False),
    c.PRODUCT: (STRING, False, True, (), False),
    c.BEFORE_DEAL_CLOSED: (BOOL, False, True, (), False),  # set by ingest (a flag, kept)
}

_SUBSCRIPTIONS: dict[str, _Spec] = {
    c.CUSTOMER_ID: (STRING, True, False, (), False),  # the account (deals.account_id)
    c.EFFECTIVE_AT: (TIMESTAMP, True, False, (), False),
    # CRM words (upsell, downgrade, cancellation, ...) mapped by ingest.post_sale.
    c.CHANGE_TYPE: (STRING, True, False, (_one_of(c.CHANGE_TYPES),), False),
    c.MRR_AFTER: (FLOAT, True, True, (_non_negative(),), False),
    c.MRR_BEFORE: (FLOAT, False, True, (_non_negative(),), False),
    c.MRR_AFTER_ORIGINAL: (FLOAT, False, True, (_non_negative(),), False),  # --fx-rates
    c.MRR_BEFORE_ORIGINAL: (FLOAT, False, True, (_non_negative(),), False),  # --fx-rates
    c.DEAL_ID: (STRING, False, True, (), False),  # the deal behind the change; ingest checks it
    c.DISCOUNT: (FLOAT, False, True, (_share(),), False),
    c.CURRENCY: (STRING, False, True, (), False),
    c.MRR_INCONSISTENT: (BOOL, False, True, (), False),  # set by ingest (a flag, kept)
    c.BEFORE_DEAL_CLOSED: (BOOL, False, True, (), False),  # set by ingest (a flag, kept)
}

_ONBOARDING: dict[str, _Spec] = {
    c.DEAL_ID: (STRING, True, False, (), True),  # the won deal; ingest checks it exists
    c.CUSTOMER_ID: (STRING, False, True, (), False),  # the account (deals.account_id)
    c.KICKOFF_AT: (TIMESTAMP, False, True, (), False),
    c.GO_LIVE_AT: (TIMESTAMP, False, True, (), False),  # null: not live yet
    c.STEPS_OUT_OF_ORDER: (BOOL, False, True, (), False),  # set by ingest (a flag, kept)
    c.BEFORE_DEAL_CLOSED: (BOOL, False, True, (), False),  # set by ingest (a flag, kept)
}

# Keys that identify a row, for duplicate detection beyond single-column ids.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    c.DEALS: (c.DEAL_ID,),
    c.REPS: (c.REP_ID,),
    c.ASSIGNMENTS: (c.EXPERIMENT_ID, c.UNIT_ID),
    c.SPEND: (c.PERIOD, c.CHANNEL),
    c.LEADS: (c.LEAD_ID,),
    c.ORDERS: (c.ORDER_ID,),
    c.SUBSCRIPTIONS: (c.CUSTOMER_ID, c.EFFECTIVE_AT, c.CHANGE_TYPE),
    c.ONBOARDING: (c.DEAL_ID,),  # one onboarding per won deal
}


def column_specs(table: str, stages: Iterable[str] | None = None) -> dict[str, _Spec]:
    """Return ``{column: (dtype, required, nullable, checks, unique)}`` of a table.

    ``stages`` lists the canonical stage names stage columns may hold; None
    leaves stage values unchecked.
    """
    stage_checks = () if stages is None else (_one_of(tuple(stages), UNKNOWN_STAGE),)
    specs = {
        c.DEALS: lambda: _deals(stage_checks),
        c.STAGE_EVENTS: lambda: _stage_events(stage_checks),
        c.ACTIVITIES: lambda: _ACTIVITIES,
        c.ASSIGNMENTS: lambda: _assignments(stage_checks),
        c.REPS: lambda: _REPS,
        c.SPEND: lambda: _SPEND,
        c.FEEDBACK: lambda: _FEEDBACK,
        c.DEAL_CHANGES: lambda: _DEAL_CHANGES,
        c.LEADS: lambda: _LEADS,
        c.ORDERS: lambda: _ORDERS,
        c.SUBSCRIPTIONS: lambda: _SUBSCRIPTIONS,
        c.ONBOARDING: lambda: _ONBOARDING,
    }
    if table not in specs:
        raise ValueError(f"Unknown table {table!r}; canonical tables are {', '.join(c.TABLES)}.")
    return dict(specs[table]())


def required_columns(table: str) -> tuple[str, ...]:
    """Columns a table must have."""
    return tuple(k for k, v in column_specs(table).items() if v[1])


def optional_columns(table: str) -> tuple[str, ...]:
    """Columns a table may have."""
    return tuple(k for k, v in column_specs(table).items() if not v[1])


def column_dtypes(table: str) -> dict[str, object]:
    """The canonical dtype of every column of a table."""
    return {k: v[0] for k, v in column_specs(table).items()}


def table_schema(
    table: str,
    stages: Iterable[str] | None = None,
    *,
    allow_null: Iterable[str] = (),
) -> pa.DataFrameSchema:
    """Pandera schema of a canonical table.

    Parameters
    ----------
    table : str
        One of :data:`analysis.core.columns.TABLES`.
    stages : iterable of str, optional
        Canonical stage names allowed in stage columns (from the stage
        config); None leaves stage values unchecked.
    allow_null : iterable of str
        Required columns a source may leave empty (declared in its column
        map, e.g. ``created_at`` for prospects of a current-stage-only export).

    Returns
    -------
    pandera.DataFrameSchema
        Coercing schema; extra columns are rejected so typos surface.
    """
    relaxed = set(allow_null)
    cols = {
        name: pa.Column(
            dtype,
            checks=list(checks),
            nullable=nullable or name in relaxed,
            required=required,
            unique=unique,
            coerce=True,
        )
        for name, (dtype, required, nullable, checks, unique) in column_specs(table, stages).items()
    }
    wide = []
    if table == c.DEALS:
        wide.append(pa.Check(_closed_after_created, name=CLOSED_BEFORE_CREATED))
    return pa.DataFrameSchema(cols, checks=wide, strict=True, name=table)
