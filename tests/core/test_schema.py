"""Tests of analysis.core.schema: dtypes, reason-coded checks, strictness, and the docs."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from analysis.core import columns as c
from analysis.core import paths
from analysis.core import schema as s
from analysis.core.stages import load_stages

DATA_MODEL_DOC = paths.PROJ_ROOT / "docs" / "data-model.md"

# Provenance: DESIGN.md "Canonical data model" table, column "required columns"
# (qualifiers in parentheses there are allowed values, not columns).
DESIGN_REQUIRED = {
    c.DEALS: ("deal_id", "created_at", "outcome", "amount", "segment"),
    c.STAGE_EVENTS: ("deal_id", "stage", "entered_at"),
    c.ACTIVITIES: ("deal_id", "at", "type"),
    c.ASSIGNMENTS: ("experiment_id", "unit_id", "unit_type", "variant", "assigned_at"),
    c.REPS: ("rep_id",),
    c.SPEND: ("period", "channel", "sales_cost", "marketing_cost"),
    c.FEEDBACK: ("deal_id", "source", "text"),
    # Not in DESIGN.md's table: issue 14 ("change history as data") asks for deal,
    # changed_at, field and the new value at least.
    c.DEAL_CHANGES: ("deal_id", "changed_at", "field", "new_value"),
    # DESIGN.md's table lists lead_id, created_at and source; issue 16's brief keeps
    # source optional (a lead without a channel counts in an "unknown" group rather than
    # being quarantined as missing_required).
    c.LEADS: ("lead_id", "created_at"),
    # Issue 17 item 1: an order is who bought, when; a subscription change is whose
    # recurring revenue changed, when, how, and to what.
    c.ORDERS: ("order_id", "customer_id", "ordered_at"),
    c.SUBSCRIPTIONS: ("customer_id", "effective_at", "change_type", "mrr_after"),
    # Issue 17 item 1 ("optional onboarding milestones (kick-off, go-live)"): only the won
    # deal is required; both milestones may be missing (not held yet).
    c.ONBOARDING: ("deal_id",),
}

# How docs/data-model.md names each declared dtype (its "Types" table).
DOC_TYPE = {
    str(s.TIMESTAMP): "timestamp[us, UTC]",
    s.STRING: "string",
    s.FLOAT: "float64",
    s.INT: "Int64",
    s.BOOL: "boolean",
}

T0 = pd.Timestamp("2024-03-01 09:30", tz="UTC")
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def stages() -> tuple[str, ...]:
    return load_stages().pipeline().all_stages


def utc(n: int, unit: str = "us") -> pd.Series:
    """n distinct UTC timestamps, one day apart, at the given resolution."""
    return pd.Series(pd.date_range(T0, periods=n, freq="D")).dt.as_unit(unit)


def valid_frame(table: str, unit: str = "us") -> pd.DataFrame:
    """Three valid rows with every column (required and optional) of a table."""
    n = 3
    frames = {
        c.DEALS: {
            c.DEAL_ID: ["D1", "D2", "D3"],
            c.CREATED_AT: utc(n, unit),
            c.OUTCOME: ["won", "lost", "open"],
            c.AMOUNT: [1200.0, 0.0, np.nan],
            c.SEGMENT: ["B2B", "B2C", "B2B"],
            c.CLOSED_AT: [T0 + 10 * DAY, T0 + DAY, pd.NaT],  # D2: closed same day it was created
            c.EXPECTED_CLOSE_AT: [pd.NaT, pd.NaT, T0 + 30 * DAY],
            c.BACKDATED: [False, False, None],
            c.CURRENCY: ["EUR", None, "USD"],
            c.AMOUNT_ORIGINAL: [1100.0, 0.0, None],
            c.PIPELINE: ["default", None, "default"],
            c.STAGE: ["won", "lost", "discovery"],
            c.SOURCE: ["inbound", "referral", None],
            c.OWNER_ID: ["R1", "R2", None],
            c.ACCOUNT_ID: ["A1", "A1", "A2"],
            c.PRODUCT: ["GTX Pro", None, "MG Special"],
            c.REGION: ["EMEA", "NA", None],
            c.N_DECISION_MAKERS: [3, 1, None],
            c.LOSS_REASON: [None, "price", None],
            c.COMPETITOR: [None, "Acme", None],
            c.QUAL_BUDGET: [True, False, None],
            c.QUAL_AUTHORITY: [True, None, False],
            c.QUAL_NEED: [True, True, True],
            c.QUAL_TIMELINE: [False, None, None],
            c.LEAD_SCORE: [72.5, 10, None],
            c.PROBABILITY: [1.0, 0.0, 0.35],
            c.FORECAST_CATEGORY: ["Closed", "Omitted", "Best Case"],
        },
        c.STAGE_EVENTS: {
            c.DEAL_ID: ["D1", "D1", "D1"],
            c.STAGE: ["prospecting", "qualification", "prospecting"],  # moves back: allowed
            c.ENTERED_AT: [T0, T0 + DAY, pd.NaT],
            c.OWNER_ID: ["R1", None, "R1"],
            c.DERIVED: [False, False, True],
        },
        c.ACTIVITIES: {
            c.DEAL_ID: ["D1", "D1", "D2"],
            c.AT: utc(n, unit),
            c.ACTIVITY_TYPE: ["email", "call", "meeting"],
            c.REP_ID: ["R1", "R1", None],
            c.TEMPLATE_ID: ["T-A", None, None],
            c.SCRIPT_ID: [None, "S-1", None],
            c.REPLIED: [True, None, None],
            c.CONNECTED: [None, False, None],
        },
        c.ASSIGNMENTS: {
            c.EXPERIMENT_ID: ["E1", "E1", "E2"],
            c.UNIT_ID: ["D1", "D2", "R1"],
            c.UNIT_TYPE: ["deal", "deal", "rep"],
            c.VARIANT: ["control", "B", "control"],
            c.ASSIGNED_AT: utc(n, unit),
            c.STAGE: ["discovery", "discovery", None],
        },
        c.REPS: {
            c.REP_ID: ["R1", "R2", "R3"],
            c.NAME: ["Ada", "Bo", None],
            c.TEAM: ["East", "West", None],
            c.REGION: ["EMEA", None, "NA"],
            c.HIRED_AT: utc(n, unit),
            c.QUOTA: [500_000.0, 0.0, None],
        },
        c.SPEND: {
            c.PERIOD: utc(n, unit),
            c.CHANNEL: ["paid", "paid", "events"],
            c.SALES_COST: [100.0, 0.0, None],
            c.MARKETING_COST: [50.0, None, 0.0],
        },
        c.FEEDBACK: {
            c.DEAL_ID: ["D1", "D2", "D2"],
            c.SOURCE: ["customer", "rep", "customer"],
            c.TEXT: ["Great demo", "Lost on price", "Too slow"],
            c.COLLECTED_AT: [T0, None, T0 + DAY],
            c.RATING: [5.0, None, 2],
        },
        c.DEAL_CHANGES: {
            c.DEAL_ID: ["D3", "D3", "D3"],
            c.CHANGED_AT: utc(n, unit),
            c.FIELD: ["amount", "expected_close_at", "probability"],
            c.OLD_VALUE: [None, "2024-03-20T00:00:00+00:00", "0.2"],
            c.NEW_VALUE: ["900.0", "2024-04-10T00:00:00+00:00", "0.35"],
            c.CHANGED_BY: ["R1", None, "R1"],
        },
        c.LEADS: {
            c.LEAD_ID: ["L1", "L2", "L3"],
            c.CREATED_AT: utc(n, unit),
            c.SOURCE: ["inbound", None, "paid"],
            c.CAMPAIGN: ["Spring webinar", None, None],
            c.OWNER_ID: ["R1", None, "R2"],
            c.SEGMENT: ["B2B", None, "B2C"],
            c.LEAD_STATUS: ["converted", "new", "disqualified"],
            c.MQL_AT: [T0 + DAY, pd.NaT, T0 + 3 * DAY],
            c.ACCEPTED_AT: [T0 + 2 * DAY, pd.NaT, pd.NaT],
            c.SQL_AT: [T0 + 3 * DAY, pd.NaT, pd.NaT],
            c.DISQUALIFIED_AT: [pd.NaT, pd.NaT, T0 + 4 * DAY],
            c.DISQUALIFY_REASON: [None, None, "no budget"],
            c.RECYCLED_AT: [pd.NaT, pd.NaT, pd.NaT],
            c.FIRST_RESPONSE_AT: [T0 + DAY, pd.NaT, T0 + 3 * DAY],
            c.CONVERTED_AT: [T0 + 4 * DAY, pd.NaT, pd.NaT],
            c.CONVERTED_DEAL_ID: ["D1", None, None],
            c.STEPS_OUT_OF_ORDER: [False, False, None],
        },
        c.ORDERS: {
            c.ORDER_ID: ["O1", "O2", "O3"],
            c.CUSTOMER_ID: ["A1", "A1", "C9"],
            c.ORDERED_AT: utc(n, unit),
            c.DEAL_ID: ["D1", None, None],
            c.AMOUNT: [120.0, 35.5, None],
            c.CURRENCY: ["USD", "USD", None],
            c.PRODUCT: ["Pro", None, "Basic"],
            c.BEFORE_DEAL_CLOSED: [False, None, None],
        },
        c.SUBSCRIPTIONS: {
            c.CUSTOMER_ID: ["A1", "A1", "A1"],
            c.EFFECTIVE_AT: utc(n, unit),
            c.CHANGE_TYPE: ["new", "expansion", "churn"],
            c.MRR_AFTER: [100.0, 150.0, 0.0],
            c.MRR_BEFORE: [0.0, 100.0, 150.0],
            c.DEAL_ID: ["D1", None, None],
            c.DISCOUNT: [0.15, None, None],
            c.CURRENCY: ["USD", "USD", "USD"],
            c.MRR_INCONSISTENT: [False, False, False],
            c.BEFORE_DEAL_CLOSED: [False, None, None],
        },
        c.ONBOARDING: {
            c.DEAL_ID: ["D1", "D2", "D3"],
            c.CUSTOMER_ID: ["A1", None, "A3"],
            c.KICKOFF_AT: utc(n, unit),
            c.GO_LIVE_AT: pd.Series([T0 + 30 * DAY, None, None]).dt.as_unit(unit),  # null: not yet
            c.STEPS_OUT_OF_ORDER: [False, False, None],
            c.BEFORE_DEAL_CLOSED: [False, None, None],
        },
    }
    return pd.DataFrame(frames[table])


def failures(schema: pa.DataFrameSchema, df: pd.DataFrame) -> pd.DataFrame:
    """failure_cases of a lazy validation that is expected to fail."""
    with pytest.raises(pa.errors.SchemaErrors) as info:
        schema.validate(df, lazy=True)
    return info.value.failure_cases


# --- valid data and dtypes ----------------------------------------------------------


@pytest.mark.parametrize("table", c.TABLES)
@pytest.mark.parametrize("unit", ["ns", "us"])
def test_valid_frame_passes_and_is_coerced(table: str, unit: str, stages: tuple[str, ...]) -> None:
    df = valid_frame(table, unit)
    out = s.table_schema(table, stages).validate(df)
    assert len(out) == len(df)
    expected = s.column_dtypes(table)
    assert list(out.columns) == list(df.columns)
    for name in out.columns:
        assert out[name].dtype == expected[name], name
    # The pandas 3 pitfall (DESIGN.md): every timestamp ends up at us, UTC.
    for name, dtype in expected.items():
        if dtype == s.TIMESTAMP:
            assert str(out[name].dtype) == "datetime64[us, UTC]"


def test_ns_and_us_input_give_identical_output(stages: tuple[str, ...]) -> None:
    schema = s.table_schema(c.DEALS, stages)
    ns = schema.validate(valid_frame(c.DEALS, "ns"))
    us = schema.validate(valid_frame(c.DEALS, "us"))
    pd.testing.assert_frame_equal(ns, us)


def test_parsed_csv_validates_with_instants_kept(stages: tuple[str, ...]) -> None:
    # Real parsed input: pd.read_csv (pandas 3 str columns) + pd.to_datetime(utc=True)
    # with mixed offsets. Expected instants by hand: 10:30+01:00 == 09:30Z,
    # 2024-03-02 00:15-05:00 == 2024-03-02 05:15Z.
    text = (
        "deal_id,created_at,outcome,amount,segment,closed_at,n_decision_makers\n"
        "101,2024-03-01T10:30:00+01:00,won,1200.5,B2B,2024-03-05T00:00:00Z,2\n"
        "102,2024-03-02 00:15:00-05:00,open,,B2C,,\n"
    )
    raw = pd.read_csv(io.StringIO(text))
    for col in (c.CREATED_AT, c.CLOSED_AT):
        raw[col] = pd.to_datetime(raw[col], utc=True, format="mixed")
    out = s.table_schema(c.DEALS, stages).validate(raw)
    assert str(out[c.CREATED_AT].dtype) == "datetime64[us, UTC]"
    assert out[c.CREATED_AT].tolist() == [
        pd.Timestamp("2024-03-01 09:30", tz="UTC"),
        pd.Timestamp("2024-03-02 05:15", tz="UTC"),
    ]
    assert out[c.DEAL_ID].tolist() == ["101", "102"]  # numeric ids become strings
    assert out[c.N_DECISION_MAKERS].dtype == "Int64"
    assert out[c.N_DECISION_MAKERS].tolist()[0] == 2
    assert pd.isna(out[c.N_DECISION_MAKERS].iloc[1])
    assert pd.isna(out[c.AMOUNT].iloc[1])


def test_other_time_zone_is_converted_to_utc() -> None:
    df = valid_frame(c.REPS)
    # 01:00 in Berlin (UTC+1 in January) is 00:00 UTC.
    df[c.HIRED_AT] = pd.to_datetime(["2024-01-01 01:00"] * 3).tz_localize("Europe/Berlin")
    out = s.table_schema(c.REPS).validate(df)
    assert out[c.HIRED_AT].iloc[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert str(out[c.HIRED_AT].dtype) == "datetime64[us, UTC]"


def test_round_trip_through_parquet_keeps_dtypes(tmp_path, stages: tuple[str, ...]) -> None:
    schema = s.table_schema(c.DEALS, stages)
    out = schema.validate(valid_frame(c.DEALS))
    path = tmp_path / "deals.parquet"
    out.to_parquet(path, index=False)
    back = pd.read_parquet(path)
    assert str(back[c.CREATED_AT].dtype) == "datetime64[us, UTC]"
    pd.testing.assert_frame_equal(schema.validate(back), out)


# --- each check fails with its reason code ------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "bad", "check"),
    [
        # check names are the reason codes of schema.py (docs/data-model.md table)
        (c.DEALS, c.AMOUNT, -5.0, s.NEGATIVE_AMOUNT),
        (c.DEALS, c.AMOUNT_ORIGINAL, -1.0, s.NEGATIVE_AMOUNT),
        (c.DEALS, c.OUTCOME, "maybe", s.BAD_OUTCOME),
        (c.DEALS, c.OUTCOME, "Won", s.BAD_OUTCOME),  # exact strings: ingest maps spellings
        (c.DEALS, c.SEGMENT, "SMB", s.BAD_VALUE),
        (c.DEALS, c.STAGE, "Closed Won", s.UNKNOWN_STAGE),  # aliases resolve before validation
        (c.STAGE_EVENTS, c.STAGE, "onboarding", s.UNKNOWN_STAGE),
        (c.ACTIVITIES, c.ACTIVITY_TYPE, "sms", s.BAD_VALUE),
        (c.ASSIGNMENTS, c.UNIT_TYPE, "team", s.BAD_VALUE),
        (c.REPS, c.QUOTA, -1.0, s.NEGATIVE_AMOUNT),
        (c.SPEND, c.SALES_COST, -0.01, s.NEGATIVE_AMOUNT),
        (c.SPEND, c.MARKETING_COST, -3.0, s.NEGATIVE_AMOUNT),
        (c.DEALS, c.PROBABILITY, 1.5, s.BAD_VALUE),  # a share; ingest turns percent into one
        (c.DEAL_CHANGES, c.FIELD, "owner", s.BAD_VALUE),  # not a tracked field
        (c.LEADS, c.LEAD_STATUS, "Working - Contacted", s.BAD_VALUE),  # ingest maps CRM words
        (c.LEADS, c.SEGMENT, "SMB", s.BAD_VALUE),
        (c.LEADS, c.LEAD_ID, None, "not_nullable"),
        (c.FEEDBACK, c.SOURCE, "partner", s.BAD_VALUE),
        # pandera built-ins: not_nullable -> missing_required
        (c.DEALS, c.DEAL_ID, None, "not_nullable"),
        (c.DEALS, c.CREATED_AT, pd.NaT, "not_nullable"),
        (c.DEALS, c.SEGMENT, None, "not_nullable"),
        (c.STAGE_EVENTS, c.STAGE, None, "not_nullable"),
        (c.ACTIVITIES, c.AT, pd.NaT, "not_nullable"),
        (c.ASSIGNMENTS, c.VARIANT, None, "not_nullable"),
        (c.SPEND, c.PERIOD, pd.NaT, "not_nullable"),
        (c.FEEDBACK, c.TEXT, None, "not_nullable"),
    ],
)
def test_check_fails_with_reason_code(
    table: str, column: str, bad: object, check: str, stages: tuple[str, ...]
) -> None:
    df = valid_frame(table)
    df[column] = df[column].astype(object)
    df.loc[1, column] = bad
    cases = failures(s.table_schema(table, stages), df)
    assert cases["check"].tolist() == [check]
    assert cases["column"].tolist() == [column]
    assert cases["index"].tolist() == [1]  # the broken row, so ingest can quarantine it


@pytest.mark.parametrize(
    ("table", "key"),
    [(c.DEALS, c.DEAL_ID), (c.REPS, c.REP_ID), (c.LEADS, c.LEAD_ID), (c.ONBOARDING, c.DEAL_ID)],
)
def test_duplicate_id_is_field_uniqueness(table: str, key: str, stages) -> None:
    df = valid_frame(table)
    df.loc[2, key] = df.loc[0, key]
    cases = failures(s.table_schema(table, stages), df)
    # pandera reports every row sharing the id (report_duplicates="all").
    assert set(cases["check"]) == {"field_uniqueness"}
    assert sorted(cases["index"]) == [0, 2]


def test_closed_before_created(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS)
    df.loc[0, c.CLOSED_AT] = df.loc[0, c.CREATED_AT] - pd.Timedelta(seconds=1)
    cases = failures(s.table_schema(c.DEALS, stages), df)
    # A table-wide check: pandera reports one failure case per column of row 0.
    assert set(cases["check"]) == {s.CLOSED_BEFORE_CREATED}
    assert set(cases["index"]) == {0}


def test_closed_equal_to_created_and_open_deals_pass(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS)
    df[c.CLOSED_AT] = df[c.CLOSED_AT].astype(object)
    df.loc[0, c.CLOSED_AT] = df.loc[0, c.CREATED_AT]  # same instant: allowed (>=)
    df.loc[1, c.CLOSED_AT] = pd.NaT
    s.table_schema(c.DEALS, stages).validate(df)


def test_closed_check_without_closed_at_column(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS).drop(columns=[c.CLOSED_AT])
    s.table_schema(c.DEALS, stages).validate(df)


def test_several_failures_are_reported_together(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS)
    df[c.OUTCOME] = df[c.OUTCOME].astype(object)
    df.loc[0, c.AMOUNT] = -1.0
    df.loc[2, c.OUTCOME] = None
    cases = failures(s.table_schema(c.DEALS, stages), df)
    got = set(zip(cases["check"], cases["index"], strict=True))
    assert got == {(s.NEGATIVE_AMOUNT, 0), ("not_nullable", 2)}


def test_decision_makers_below_one_fails(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS)
    df.loc[1, c.N_DECISION_MAKERS] = 0
    cases = failures(s.table_schema(c.DEALS, stages), df)
    assert cases["index"].tolist() == [1]
    assert cases["check"].tolist() == [s.BAD_VALUE]


def test_uncoercible_value_fails_coercion(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS)
    df[c.AMOUNT] = ["1200", "1,200", None]  # ingest parses money; the schema does not
    cases = failures(s.table_schema(c.DEALS, stages), df)
    assert "coerce_dtype('float64')" in set(cases["check"])


def test_stage_check_uses_the_given_stages() -> None:
    df = valid_frame(c.STAGE_EVENTS)
    s.table_schema(c.STAGE_EVENTS, ["prospecting", "qualification"]).validate(df)
    cases = failures(s.table_schema(c.STAGE_EVENTS, ["prospecting"]), df)
    assert cases["check"].tolist() == [s.UNKNOWN_STAGE]
    assert cases["index"].tolist() == [1]


def test_stage_events_allow_reentry_and_empty_entered_at(stages: tuple[str, ...]) -> None:
    # Data model: one row per entry; derived events may lack entered_at.
    df = valid_frame(c.STAGE_EVENTS)
    assert df[c.STAGE].duplicated().any() and df[c.ENTERED_AT].isna().any()
    s.table_schema(c.STAGE_EVENTS, stages).validate(df)


# --- strictness and allow_null ------------------------------------------------------


def test_strict_rejects_unknown_column(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS).assign(dealsize=[1, 2, 3])
    cases = failures(s.table_schema(c.DEALS, stages), df)
    rejected = cases[cases["check"] == "column_in_schema"]
    assert rejected["failure_case"].tolist() == ["dealsize"]


def test_missing_required_column_is_reported(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS).drop(columns=[c.SEGMENT])
    cases = failures(s.table_schema(c.DEALS, stages), df)
    assert cases[["check", "failure_case"]].values.tolist() == [["column_in_dataframe", c.SEGMENT]]


def test_optional_columns_may_be_absent(stages: tuple[str, ...]) -> None:
    for table in c.TABLES:
        df = valid_frame(table)[list(s.required_columns(table))]
        out = s.table_schema(table, stages).validate(df)
        assert list(out.columns) == list(s.required_columns(table))


def test_allow_null_relaxes_created_at(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS)
    df.loc[2, c.CREATED_AT] = pd.NaT
    cases = failures(s.table_schema(c.DEALS, stages), df)
    assert cases["check"].tolist() == ["not_nullable"]
    out = s.table_schema(c.DEALS, stages, allow_null=[c.CREATED_AT]).validate(df)
    assert pd.isna(out.loc[2, c.CREATED_AT])
    assert str(out[c.CREATED_AT].dtype) == "datetime64[us, UTC]"


def test_allow_null_relaxes_only_the_named_column(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.DEALS)
    df[c.SEGMENT] = df[c.SEGMENT].astype(object)
    df.loc[2, c.SEGMENT] = None
    cases = failures(s.table_schema(c.DEALS, stages, allow_null=[c.CREATED_AT]), df)
    assert cases["column"].tolist() == [c.SEGMENT]


def test_unknown_table_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="canonical tables are deals"):
        s.table_schema("opportunities")


# --- column sets agree with DESIGN.md -----------------------------------------------


@pytest.mark.parametrize("table", c.TABLES)
def test_required_columns_match_design(table: str) -> None:
    assert s.required_columns(table) == DESIGN_REQUIRED[table]


def test_deals_optional_columns() -> None:
    # Provenance: DESIGN.md deals optional columns, with currency split into
    # currency + amount_original, the current stage, and the qualification fields
    # spelled out (columns.QUALIFICATION_FIELDS).
    assert s.optional_columns(c.DEALS) == (
        "closed_at", "expected_close_at", "backdated", "currency", "amount_original", "pipeline", "stage", "source",
        "owner_id", "account_id", "product", "region", "n_decision_makers",
        "loss_reason", "competitor", *c.QUALIFICATION_FIELDS,
        "probability", "forecast_category",  # issue 14: the rep's chance and forecast category
    )  # fmt: skip


def test_leads_optional_columns() -> None:
    # Provenance: issue 16 item 1 (source/channel, campaign, status with the time of each
    # lifecycle step, disqualification reason, first response, converted deal, owner), plus
    # segment as on deals and the ingest flag steps_out_of_order.
    assert s.optional_columns(c.LEADS) == (
        "source", "campaign", "owner_id", "segment", "lead_status", "mql_at", "accepted_at",
        "sql_at", "disqualified_at", "disqualify_reason", "recycled_at", "first_response_at",
        "converted_at", "converted_deal_id", "steps_out_of_order",
    )  # fmt: skip


def test_orders_and_subscriptions_optional_columns() -> None:
    # Provenance: issue 17 item 1 (orders: the deal it came from, amount, currency,
    # product; subscriptions: MRR before, the deal, discount, currency) plus the ingest
    # flags before_deal_closed and mrr_inconsistent.
    # With --fx-rates ingest keeps the exported values: amount_original, mrr_*_original.
    assert s.optional_columns(c.ORDERS) == (
        "deal_id", "amount", "amount_original", "currency", "product", "before_deal_closed",
    )  # fmt: skip
    assert s.optional_columns(c.SUBSCRIPTIONS) == (
        "mrr_before", "mrr_after_original", "mrr_before_original", "deal_id", "discount",
        "currency", "mrr_inconsistent", "before_deal_closed",
    )  # fmt: skip


def test_onboarding_optional_columns_and_key() -> None:
    # Provenance: issue 17 item 1 (the account, kick-off, go-live) plus the ingest flags
    # steps_out_of_order (go-live before kick-off) and before_deal_closed; one onboarding
    # per won deal, so the deal is the key.
    assert s.optional_columns(c.ONBOARDING) == (
        "customer_id", "kickoff_at", "go_live_at", "steps_out_of_order", "before_deal_closed",
    )  # fmt: skip
    assert s.PRIMARY_KEYS[c.ONBOARDING] == ("deal_id",)


def test_onboarding_without_milestones_passes(stages: tuple[str, ...]) -> None:
    # A won deal whose kick-off is not held yet: both milestones null, still valid.
    df = valid_frame(c.ONBOARDING)
    df[c.KICKOFF_AT] = pd.Series([None] * 3, dtype=s.TIMESTAMP)
    df[c.GO_LIVE_AT] = pd.Series([None] * 3, dtype=s.TIMESTAMP)
    s.table_schema(c.ONBOARDING, stages).validate(df)


@pytest.mark.parametrize(
    ("table", "column", "value", "reason"),
    [
        (c.ORDERS, c.AMOUNT, -5.0, s.NEGATIVE_AMOUNT),
        (c.SUBSCRIPTIONS, c.MRR_AFTER, -1.0, s.NEGATIVE_AMOUNT),
        (c.SUBSCRIPTIONS, c.MRR_BEFORE, -1.0, s.NEGATIVE_AMOUNT),
        (c.SUBSCRIPTIONS, c.CHANGE_TYPE, "upsell", s.BAD_VALUE),  # ingest maps CRM words first
        (c.SUBSCRIPTIONS, c.DISCOUNT, 15.0, s.BAD_VALUE),  # a share, not a percent
    ],
)
def test_post_sale_checks_name_their_reason(table, column, value, reason, stages) -> None:
    df = valid_frame(table)
    df[column] = df[column].astype(object)
    df.loc[1, column] = value
    cases = failures(s.table_schema(table, stages), df)
    assert cases[["column", "check", "index"]].values.tolist() == [[column, reason, 1]]


def test_repeated_order_id_fails_uniqueness(stages: tuple[str, ...]) -> None:
    df = valid_frame(c.ORDERS)
    df.loc[2, c.ORDER_ID] = "O1"
    cases = failures(s.table_schema(c.ORDERS, stages), df)
    assert set(cases["check"]) == {"field_uniqueness"}


@pytest.mark.parametrize("table", c.TABLES)
def test_required_and_optional_partition_the_dtypes(table: str) -> None:
    required, optional = s.required_columns(table), s.optional_columns(table)
    assert not set(required) & set(optional)
    assert (*required, *optional) == tuple(s.column_dtypes(table))


def test_primary_keys_are_required_non_nullable_columns() -> None:
    for table, key in s.PRIMARY_KEYS.items():
        specs = s.column_specs(table)
        for name in key:
            _, required, nullable, _, _ = specs[name]
            assert required and not nullable, (table, name)


def test_reason_codes_are_distinct() -> None:
    codes = [
        s.MISSING_REQUIRED, s.DUPLICATE_ID, s.NEGATIVE_AMOUNT, s.BAD_OUTCOME,
        s.UNKNOWN_STAGE, s.CLOSED_BEFORE_CREATED, s.BAD_VALUE,
    ]  # fmt: skip
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z_]+", code) for code in codes)


def test_every_check_reports_a_reason_code(stages: tuple[str, ...]) -> None:
    # failure_cases["check"] shows a check's `error` when set, else its `name`.
    codes = {
        s.NEGATIVE_AMOUNT, s.BAD_OUTCOME, s.UNKNOWN_STAGE, s.CLOSED_BEFORE_CREATED, s.BAD_VALUE,
    }  # fmt: skip
    for table in c.TABLES:
        schema = s.table_schema(table, stages)
        checks = list(schema.checks)
        for column in schema.columns.values():
            checks += column.checks
        labels = {check.error or check.name for check in checks}
        assert labels <= codes, (table, labels - codes)


# --- the documentation covers the schema --------------------------------------------


def doc_sections() -> dict[str, str]:
    """Text of each '### `table`' section of docs/data-model.md."""
    text = DATA_MODEL_DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### `(\w+)`\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def doc_rows(section: str) -> dict[str, list[str]]:
    """Column-table rows of a section: backticked name -> remaining cells."""
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| `(\w+)` \|(.*)\|$", line)
        if m:
            rows[m.group(1)] = [cell.strip() for cell in m.group(2).split("|")]
    return rows


def test_doc_has_a_section_per_table() -> None:
    assert list(doc_sections()) == list(c.TABLES)


@pytest.mark.parametrize("table", c.TABLES)
def test_every_column_is_documented(table: str) -> None:
    section = doc_sections()[table]
    mentioned = set(re.findall(r"`(\w+)`", section))
    missing = set(s.column_dtypes(table)) - mentioned
    assert not missing, f"docs/data-model.md, section {table}, lacks {sorted(missing)}"


@pytest.mark.parametrize("table", c.TABLES)
def test_doc_column_table_matches_schema(table: str) -> None:
    rows = doc_rows(doc_sections()[table])
    specs = s.column_specs(table)
    assert list(rows) == list(specs), "document exactly the schema's columns, in order"
    for name, (dtype, required, nullable, _, _) in specs.items():
        doc_type, doc_required, doc_nullable = rows[name][:3]
        assert doc_type == f"`{DOC_TYPE[str(dtype)]}`", name
        assert doc_required == ("required" if required else "optional"), name
        assert doc_nullable.startswith("yes" if nullable else "no"), name


def test_doc_names_every_primary_key() -> None:
    sections = doc_sections()
    for table, key in s.PRIMARY_KEYS.items():
        line = next(x for x in sections[table].splitlines() if "**Primary key:**" in x)
        assert all(f"`{name}`" in line for name in key), table


def test_doc_reason_table_follows_ingest_priority() -> None:
    # Provenance: analysis.ingest.reasons.PRIORITY decides a row's one reason; the
    # doc's reason table must list exactly those codes, in that order.
    from analysis.ingest import reasons

    text = DATA_MODEL_DOC.read_text(encoding="utf-8")
    section = text.split("## Quarantine reason codes", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert tuple(documented) == reasons.PRIORITY
    schema_codes = {
        s.MISSING_REQUIRED, s.DUPLICATE_ID, s.NEGATIVE_AMOUNT, s.BAD_OUTCOME,
        s.UNKNOWN_STAGE, s.CLOSED_BEFORE_CREATED, s.BAD_VALUE,
    }  # fmt: skip
    assert schema_codes <= set(documented)
