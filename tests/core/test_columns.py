"""Tests of analysis.core.columns: the constants the whole package refers to."""

from __future__ import annotations

from analysis.core import columns as c
from analysis.core import schema as s


def _constants() -> dict[str, object]:
    return {k: v for k, v in vars(c).items() if k.isupper()}


def test_tables_are_those_of_the_data_model() -> None:
    # Provenance: DESIGN.md "Canonical data model" table, in its order, then the change
    # history issue 14 adds (docs/data-model.md, deal_changes), then the leads of
    # DESIGN.md's table that issue 16 brings in (docs/data-model.md, leads), then what
    # follows the close, issue 17 (docs/data-model.md, orders, subscriptions and
    # onboarding).
    assert c.TABLES == (
        "deals", "stage_events", "activities", "assignments", "reps", "spend", "feedback",
        "deal_changes", "leads", "orders", "subscriptions", "onboarding",
    )  # fmt: skip


def test_category_values() -> None:
    # Provenance: DESIGN.md data model: outcome (won/lost/open), segment (B2B/B2C),
    # type (email/call/meeting), unit_type (deal/account/rep), source (customer/rep).
    assert c.OUTCOMES == ("won", "lost", "open")
    assert c.SEGMENTS == ("B2B", "B2C")
    assert c.ACTIVITY_TYPES == ("email", "call", "meeting")
    assert c.UNIT_TYPES == ("deal", "account", "rep")
    assert c.FEEDBACK_SOURCES == ("customer", "rep")
    # Provenance: issue 16 item 1 (MQL, accepted, SQL, disqualified/recycled, converted).
    assert c.LEAD_STATUSES == (
        "new", "mql", "accepted", "sql", "converted", "disqualified", "recycled",
    )  # fmt: skip
    assert c.LEAD_STEPS == ("mql_at", "accepted_at", "sql_at", "converted_at")
    # Provenance: issue 17 item 1 (reason: new, expansion, contraction, churn, renewal).
    assert c.CHANGE_TYPES == ("new", "expansion", "contraction", "churn", "renewal")


def test_every_schema_column_is_a_constant() -> None:
    names = {v for v in _constants().values() if isinstance(v, str)}
    for table in c.TABLES:
        assert set(s.column_dtypes(table)) <= names, table


def test_column_names_are_snake_case_and_unique_per_table() -> None:
    for table in c.TABLES:
        cols = list(s.column_dtypes(table))
        assert len(cols) == len(set(cols))
        assert all(name.isidentifier() and name == name.lower() for name in cols)


def test_bookkeeping_columns_do_not_clash_with_canonical_columns() -> None:
    # Quarantine rows keep their canonical columns plus these three.
    bookkeeping = {c.REASON, c.SOURCE_FILE, c.SOURCE_ROW}
    for table in c.TABLES:
        assert not bookkeeping & set(s.column_dtypes(table)), table
