"""Tests for analysis.overview.summary against hand counts and statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

import analysis
from analysis.core import columns as c
from analysis.core import paths
from analysis.overview import summary as overview


@pytest.fixture
def ws() -> analysis.Workspace:
    # 12 deals: B2B 3 won / 2 lost / 1 open; B2C 1 won / 3 lost / 2 open (hand-built).
    outcomes = [c.WON] * 3 + [c.LOST] * 2 + [c.OPEN] + [c.WON] + [c.LOST] * 3 + [c.OPEN] * 2
    segments = [c.B2B] * 6 + [c.B2C] * 6
    created = pd.date_range("2025-01-15", periods=12, freq="7D", tz="UTC")
    deals = pd.DataFrame(
        {
            c.DEAL_ID: [f"D{i:02d}" for i in range(12)],
            c.CREATED_AT: created,
            c.OUTCOME: outcomes,
            c.AMOUNT: np.arange(1, 13, dtype=float) * 100,
            c.SEGMENT: segments,
        }
    )
    # Two events per deal; the later one is the current stage. D00 re-enters prospecting last.
    events = pd.DataFrame(
        {
            c.DEAL_ID: np.repeat(deals[c.DEAL_ID].to_numpy(), 2),
            c.STAGE: ["prospecting", "qualification"] * 12,
            c.ENTERED_AT: created.repeat(2) + pd.to_timedelta(np.tile([0, 5], 12), unit="D"),
        }
    )
    events.loc[0, c.ENTERED_AT] = created[0] + pd.Timedelta(days=9)
    return analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events})


def test_outcome_summary_excludes_open_deals_from_win_rate(ws):
    table = overview.outcome_summary(ws, c.SEGMENT).to_frame().set_index(c.SEGMENT)
    # B2B: 3 won / (3 + 2) closed = 0.6, not 3/6 = 0.5 (the open-as-loss mistake).
    assert table.loc[c.B2B, ["deals", "won", "lost", "open"]].tolist() == [6, 3, 2, 1]
    assert table.loc[c.B2B, c.WIN_RATE] == pytest.approx(0.6)
    assert table.loc[c.B2C, c.WIN_RATE] == pytest.approx(0.25)
    assert table.loc[c.B2C, c.OPEN_SHARE] == pytest.approx(2 / 6)
    # Interval reference: statsmodels Wilson for 3/5.
    low, high = proportion_confint(3, 5, method="wilson")
    assert table.loc[c.B2B, c.CI_LOW] == pytest.approx(low)
    assert table.loc[c.B2B, c.CI_HIGH] == pytest.approx(high)


def test_outcome_summary_overall_and_period_filter(ws):
    overall = overview.outcome_summary(ws, None).to_frame()
    assert overall.loc[0, "deals"] == 12 and overall.loc[0, c.WIN_RATE] == pytest.approx(4 / 9)
    # Deals created before 2025-02-12: 2025-01-15, -22, -29, 02-05 -> the first four (all B2B).
    early = overview.outcome_summary(ws, None, window=(None, "2025-02-12")).to_frame()
    assert early.loc[0, "deals"] == 4 and early.loc[0, "won"] == 3


def test_current_stage_is_the_latest_event(ws):
    current = ws.execute(overview.current_stage(ws)).set_index(c.DEAL_ID)[c.STAGE]
    assert current["D00"] == "prospecting"  # re-entered prospecting after qualification
    assert current["D01"] == "qualification"


def test_deal_mix_reconciles_to_all_deals(ws):
    mix = overview.deal_mix(ws)
    assert mix[c.N_DEALS].sum() == 12
    assert mix[c.AMOUNT_TOTAL].sum() == pytest.approx(sum(range(1, 13)) * 100)


def test_monthly_created_counts(ws):
    monthly = overview.monthly_created(ws)
    assert monthly[c.N_DEALS].sum() == 12
    # January 2025 holds the deals of 01-15, 01-22, 01-29 (hand count).
    jan = monthly[monthly[c.MONTH] == pd.Timestamp("2025-01-01", tz="UTC")]
    assert jan[c.N_DEALS].sum() == 3


def test_table_volumes(ws):
    volumes = overview.table_volumes(ws).set_index("table")["rows"]
    assert volumes.to_dict() == {c.DEALS: 12, c.STAGE_EVENTS: 24}


def test_quarantine_summary_from_manifest():
    manifest = {
        "tables": {
            "deals": {
                "rows_in": 10,
                "rows_clean": 7,
                "rows_quarantined": 3,
                "quarantine_reasons": {"negative_amount": 1, "duplicate_id": 2},
            },
            "reps": {
                "rows_in": 4,
                "rows_clean": 4,
                "rows_quarantined": 0,
                "quarantine_reasons": {},
            },
        }
    }
    table = overview.quarantine_summary(manifest)
    assert table["reason"].tolist() == ["duplicate_id", "negative_amount", ""]
    assert overview.quarantine_summary(None).empty


def test_current_stage_breaks_time_ties_by_pipeline_order():
    # Two events at the same instant: the later pipeline stage is the current one,
    # whatever order the rows arrive in (determinism).
    when = pd.Timestamp("2025-03-01", tz="UTC")
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["A"],
            c.CREATED_AT: [when],
            c.OUTCOME: [c.OPEN],
            c.AMOUNT: [1.0],
            c.SEGMENT: [c.B2B],
        }
    )
    for stages in (["discovery", "qualification"], ["qualification", "discovery"]):
        events = pd.DataFrame({c.DEAL_ID: ["A", "A"], c.STAGE: stages, c.ENTERED_AT: [when, when]})
        ws = analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events})
        assert ws.execute(overview.current_stage(ws))[c.STAGE].tolist() == ["discovery"]


def test_group_without_closed_deals_gets_nan_and_a_message_code():
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["A", "B"],
            c.CREATED_AT: pd.to_datetime(["2025-01-01"] * 2, utc=True),
            c.OUTCOME: [c.OPEN, c.WON],
            c.AMOUNT: [1.0, 2.0],
            c.SEGMENT: [c.B2B, c.B2C],
        }
    )
    table = overview.outcome_summary(analysis.connect({c.DEALS: deals})).to_frame()
    b2b = table.set_index(c.SEGMENT).loc[c.B2B]
    assert np.isnan(b2b[c.WIN_RATE]) and b2b[c.NOTE] == c.NOTE_NO_CLOSED_DEALS
    assert table.set_index(c.SEGMENT).loc[c.B2C, c.NOTE] == ""


def test_won_amount_sums_won_deals_only(ws):
    table = overview.outcome_summary(ws, c.SEGMENT).to_frame().set_index(c.SEGMENT)
    # B2B won deals are D00-D02 with amounts 100, 200, 300 (fixture, hand sum).
    assert table.loc[c.B2B, c.WON_AMOUNT] == pytest.approx(600.0)


MAVEN = paths.SHARED_DATASETS_DIR / "maven_crm"


@pytest.mark.skipif(
    not MAVEN.exists(), reason=f"real data set absent: {MAVEN} (shared/ not beside the project)"
)
def test_maven_crm_figures_from_the_datasets_readme(tmp_path):
    # Published figures in shared/datasets/README.md for Maven's sales_pipeline.csv.
    from analysis.ingest import ingest

    ingest(MAVEN, tmp_path / "processed", map_path=paths.MAVEN_MAP_FILE)
    ws = analysis.connect(tmp_path / "processed")
    row = overview.outcome_summary(ws, None).to_frame().iloc[0]
    assert (row[c.N_WON], row[c.N_LOST], row[c.N_OPEN]) == (4238, 2473, 2089)
    assert row[c.WIN_RATE] == pytest.approx(0.6315, abs=5e-5)  # not won/all = 48.16%
    assert row[c.WON_AMOUNT] == pytest.approx(10_005_534)
    assert row[c.WON_AMOUNT] / row[c.N_WON] == pytest.approx(2360.91, abs=0.005)
    # By regional office, through the reps table (sales_teams.csv).
    deals, reps = ws.deals, ws.reps
    joined = deals.join(reps, deals[c.OWNER_ID] == reps[c.REP_ID])
    by_office = (
        overview.outcome_summary(
            analysis.connect({c.DEALS: ws.execute(joined.select(*deals.columns, reps[c.REGION]))}),
            c.REGION,
        )
        .to_frame()
        .set_index(c.REGION)[c.WIN_RATE]
    )
    assert by_office.to_dict() == pytest.approx(
        {"Central": 0.6256, "East": 0.6302, "West": 0.6394}, abs=5e-5
    )


def _currency_deals(converted: bool) -> pd.DataFrame:
    # Hand-built: EUR won 100 + 200, EUR open 50; MXN won 1,750; USD lost 10.
    original = [100.0, 200.0, 50.0, 1750.0, 10.0]
    return pd.DataFrame(
        {
            c.DEAL_ID: ["D1", "D2", "D3", "D4", "D5"],
            c.CREATED_AT: pd.date_range("2025-01-01", periods=5, freq="D", tz="UTC"),
            c.OUTCOME: [c.WON, c.WON, c.OPEN, c.WON, c.LOST],
            c.AMOUNT: [125.0, 250.0, 62.5, 100.0, 10.0] if converted else original,
            c.AMOUNT_ORIGINAL: original,
            c.CURRENCY: ["EUR", "EUR", "EUR", "MXN", "USD"],
            c.SEGMENT: [c.B2B] * 5,
        }
    )


def test_money_by_currency_never_adds_across_unconverted_currencies():
    ws = analysis.connect({c.DEALS: _currency_deals(converted=False)})
    table = overview.money_by_currency(ws).to_frame().set_index(c.CURRENCY)
    assert table[c.WON_AMOUNT].to_dict() == {"EUR": 300.0, "MXN": 1750.0, "USD": 0.0}
    assert table[c.OPEN_AMOUNT].to_dict() == {"EUR": 50.0, "MXN": 0.0, "USD": 0.0}
    assert set(table[c.NOTE]) == {c.NOTE_MIXED_CURRENCY}
    from analysis.overview.findings import money_by_currency_sentence

    (sentence,) = money_by_currency_sentence(table.reset_index())
    assert "3 currencies with no exchange rates (mixed_currency)" in sentence
    assert "EUR 300 (2 won)" in sentence and "MXN 1,750 (1 won)" in sentence


def test_money_by_currency_of_converted_amounts_has_no_note():
    ws = analysis.connect({c.DEALS: _currency_deals(converted=True)})
    result = overview.money_by_currency(ws)
    assert result.converted and set(result.table[c.NOTE]) == {""}
    # Amounts per currency stay in that currency (amount_original), not the reporting one.
    assert result.table.set_index(c.CURRENCY)[c.WON_AMOUNT]["EUR"] == 300.0


def test_won_revenue_is_unknown_not_zero_when_amounts_cannot_be_added():
    # Hand-built deals of _currency_deals: EUR, MXN and USD amounts, no rates.
    ws = analysis.connect({c.DEALS: _currency_deals(converted=False)})
    overall = overview.outcome_summary(ws, None).to_frame()
    assert overall[c.N_WON].iloc[0] == 3 and pd.isna(overall[c.WON_AMOUNT].iloc[0])
    converted = analysis.connect({c.DEALS: _currency_deals(converted=True)})
    # Converted: 125 + 250 + 100 won (the hand-built amounts in USD).
    assert overview.outcome_summary(converted, None).to_frame()[c.WON_AMOUNT].iloc[0] == 475.0
