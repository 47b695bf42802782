"""Round trip: the sample CRM written as a Salesforce export ingests back to the sample.

Provenance of every expected value: the canonical sample tables
(``analysis.sample.generate_sample``) and what the Salesforce writer says it
planted (``analysis.sample.crm_exports.write_salesforce``): deleted rows,
history edits, NUL bytes, backdated deals, the fourth currency's rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from vendor_helpers import processed_deals, sample_deals

import analysis
from analysis.core import columns as c
from analysis.core.stages import load_stages
from analysis.engine.journey import data_cutoff
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.sample import generate_sample
from analysis.sample.crm_exports import salesforce as sf
from analysis.sample.crm_exports import write_salesforce

N_DEALS, SEED = 600, 5


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    crm = generate_sample(N_DEALS, seed=SEED)
    root = tmp_path_factory.mktemp("salesforce")
    planted = write_salesforce(crm, root / "export", seed=SEED)
    # No --from and no --map: the export is recognised by its Opportunity file.
    result = ingest(root / "export", root / "processed", timezone=planted.timezone)
    return crm, planted, result, root / "processed"


def test_detected_and_every_row_accounted_for(round_trip):
    _, planted, result, _ = round_trip
    m = result.manifest
    assert m["vendor"] == "salesforce"
    deals = m["tables"][c.DEALS]
    assert deals["rows_in"] == N_DEALS + planted.deleted
    assert deals["quarantine_reasons"] == {r.DELETED_IN_SOURCE: planted.deleted}
    events = m["tables"][c.STAGE_EVENTS]
    assert events["rows_clean"] + events["rows_quarantined"] == events["rows_in"]
    acts = m["tables"][c.ACTIVITIES]
    assert acts["quarantine_reasons"] == {r.OUT_OF_SCOPE: planted.out_of_scope_tasks}
    # Every NUL byte stripped, counted, and no file rejected.
    assert m["stripped_characters"] == {"Opportunity.csv.Description": planted.nul_rows}


def test_outcomes_segments_and_owners_match_the_sample(round_trip):
    crm, planted, _, folder = round_trip
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    assert sorted(got.index) == sorted(truth.index)
    truth = truth.loc[got.index]
    assert (got[c.OUTCOME] == truth[c.OUTCOME]).all()  # from IsClosed/IsWon
    assert (got[c.SEGMENT] == truth[c.SEGMENT]).all()  # from Account.IsPersonAccount
    users = dict(zip(crm.tables[c.REPS][c.REP_ID], range(1, 99), strict=False))
    assert (got[c.OWNER_ID] == truth[c.OWNER_ID].map(lambda o: f"005{users[o]:012d}AAA")).all()
    assert (got[c.SOURCE].str.lower() == truth[c.SOURCE]).all()
    lost = truth[c.OUTCOME] == c.LOST
    assert (
        got.loc[lost, c.LOSS_REASON].fillna("") == truth.loc[lost, c.LOSS_REASON].fillna("")
    ).all()


def test_four_currencies_convert_back_to_the_sample_s_dollars(round_trip):
    crm, planted, result, folder = round_trip
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    truth = truth.loc[got.index]
    assert result.manifest["reporting_currency"] == "USD"
    assert set(got[c.CURRENCY].dropna()) == {"USD", "EUR", "GBP", "MXN"}
    # The sample rounds amount = amount_original * rate to cents; pesos are amount * 17.5.
    np.testing.assert_allclose(got[c.AMOUNT], truth[c.AMOUNT], atol=0.011)
    pesos = got[c.CURRENCY] == "MXN"
    np.testing.assert_allclose(
        got.loc[pesos, c.AMOUNT_ORIGINAL], (truth.loc[pesos, c.AMOUNT] * 17.5).round(2)
    )


def test_dates_same_day_wins_backdated_and_expected_closes(round_trip):
    crm, planted, result, folder = round_trip
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    truth = truth.loc[got.index]
    backdated = truth[c.DEAL_ID].isin(planted.backdated)
    assert got[c.BACKDATED].sum() == len(planted.backdated) > 0
    assert got.loc[backdated, c.BACKDATED].all()
    assert got.loc[backdated, c.CLOSED_AT].isna().all()  # left out of durations
    ok = ~backdated
    assert (got.loc[ok, c.CREATED_AT] == truth.loc[ok, c.CREATED_AT].dt.floor("s")).all()
    closed = ok & (truth[c.OUTCOME] != c.OPEN)
    # CloseDate is the local day: read as its end, so within a day after the true close.
    lag = got.loc[closed, c.CLOSED_AT] - truth.loc[closed, c.CLOSED_AT]
    assert (lag >= pd.Timedelta(0)).all() and (lag < pd.Timedelta(days=1)).all()
    # Same-day wins survive (the bug issue 12 reported: quarantined as closed_before_created).
    same_day = closed & (
        truth[c.CLOSED_AT].dt.tz_convert(planted.timezone).dt.date
        == truth[c.CREATED_AT].dt.tz_convert(planted.timezone).dt.date
    )
    assert same_day.sum() > 0
    assert (got.loc[same_day, c.CLOSED_AT] >= got.loc[same_day, c.CREATED_AT]).all()
    opened = truth[c.OUTCOME] == c.OPEN
    assert got.loc[opened, c.CLOSED_AT].isna().all()
    assert (got.loc[opened, c.EXPECTED_CLOSE_AT] > planted.as_of).all()
    assert result.manifest["as_of"] == planted.as_of.isoformat().replace("+00:00", "Z")


def test_stage_history_keeps_only_stage_changes(round_trip):
    crm, planted, result, folder = round_trip
    got = pd.read_parquet(folder / "stage_events.parquet")
    truth = crm.tables[c.STAGE_EVENTS].sort_values([c.DEAL_ID, c.ENTERED_AT], kind="stable")
    # A re-entry of the stage a deal is already in is not a change in Salesforce.
    repeat = truth.groupby(c.DEAL_ID)[c.STAGE].shift() == truth[c.STAGE]
    truth = truth[~repeat]
    q = result.manifest["tables"][c.STAGE_EVENTS]["quarantine_reasons"]
    assert q == {r.NOT_A_STAGE_CHANGE: planted.edits + int(repeat.sum())}
    assert len(got) == len(truth)
    expected = truth.assign(
        **{c.DEAL_ID: truth[c.DEAL_ID].map(planted.ids), c.STAGE: truth[c.STAGE].map(sf.SLUGS)}
    )
    key = [c.DEAL_ID, c.ENTERED_AT]
    left = got.sort_values(key).reset_index(drop=True)
    right = expected.sort_values(key).reset_index(drop=True)
    assert left[c.DEAL_ID].tolist() == right[c.DEAL_ID].tolist()
    assert left[c.STAGE].tolist() == right[c.STAGE].tolist()
    assert (left[c.ENTERED_AT] == right[c.ENTERED_AT].dt.floor("s")).all()


def test_pipeline_comes_from_the_org_in_its_own_language(round_trip):
    _, _, _, folder = round_trip
    pipeline = load_stages(folder / "stages.yaml").pipeline()
    canonical = load_stages().pipeline()
    assert pipeline.stages == tuple(
        sf.SLUGS[s] for s in canonical.stages
    )  # inactive stage left out
    assert pipeline.normalise("Closed Won") == "won"  # the API name is an alias too
    assert pipeline.normalise("Cerrada perdida") == "lost"


def test_planted_truth_is_recovered_through_the_workspace(round_trip):
    crm, planted, _, folder = round_trip
    ws = analysis.connect(folder)
    assert ws.pipeline.stages[0] == "prospección"
    assert ws.money.currency == "USD" and ws.money.comparable
    assert data_cutoff(ws) == planted.as_of
    deals = ws.execute(ws.deals)
    for segment, facts in crm.truth["outcomes_realised"].items():
        rows = deals[deals[c.SEGMENT] == segment]
        assert len(rows) == facts["deals"]
        assert int((rows[c.OUTCOME] == c.WON).sum()) == facts["won"]


def _small_export(tmp_path):
    planted = write_salesforce(generate_sample(60, seed=4), tmp_path / "export", seed=4)
    return planted, planted.folder / "CurrencyType.csv"


def test_an_unusable_org_rate_stops_ingest_naming_file_column_and_row(tmp_path):
    from analysis.core.errors import InputError

    planted, rates = _small_export(tmp_path)
    frame = pd.read_csv(rates, dtype=str)
    frame.loc[1, "ConversionRate"] = "0"
    frame.to_csv(rates, index=False)
    with pytest.raises(InputError, match="above zero") as info:
        ingest(planted.folder, tmp_path / "out", timezone=planted.timezone)
    assert info.value.file.endswith("CurrencyType.csv")
    assert (info.value.column, info.value.row) == ("ConversionRate", 2)


def test_without_iscorporate_the_corporate_currency_is_the_one_at_rate_1(tmp_path):
    planted, rates = _small_export(tmp_path)
    pd.read_csv(rates, dtype=str).drop(columns="IsCorporate").to_csv(rates, index=False)
    result = ingest(planted.folder, tmp_path / "out", timezone=planted.timezone)
    # The writer gives USD the rate 1 (sample.crm_exports._warts.rates_to_usd).
    assert result.manifest["reporting_currency"] == "USD"


def test_an_open_stage_named_like_the_won_stage_is_refused():
    from analysis.core.errors import InputError
    from analysis.ingest.vendors.stages import StageRow, pipeline_from_stages

    rows = [StageRow("Prospecting", 1, False, False), StageRow("Won", 2, False, False)]
    with pytest.raises(InputError, match="'Won' of pipeline 'p' is an open stage"):
        pipeline_from_stages("p", [*rows, StageRow("Closed Won", 3, True, True)])


def test_field_history_becomes_deal_changes(tmp_path):
    # A hand-made org export: two opportunities and their OpportunityFieldHistory, as the
    # Salesforce Object Reference describes it (Field, OldValue, NewValue, CreatedDate).
    export = tmp_path / "export"
    export.mkdir()
    (export / "Opportunity.csv").write_text(
        "Id,StageName,CreatedDate,IsClosed,IsWon,Amount,CloseDate,Probability,"
        "ForecastCategoryName,Segment__c\n"
        "006A,Proposal,2024-01-02T10:00:00.000+0000,false,false,1500,2024-03-31,60,"
        "Best Case,B2B\n"
        "006B,Closed Won,2024-01-05T10:00:00.000+0000,true,true,800,2024-02-10,100,Closed,B2C\n"
    )
    (export / "OpportunityFieldHistory.csv").write_text(
        "OpportunityId,Field,OldValue,NewValue,CreatedDate,CreatedById\n"
        "006A,created,,,2024-01-02T10:00:00.000+0000,005X\n"
        "006A,StageName,Prospecting,Proposal,2024-01-20T09:00:00.000+0000,005X\n"
        "006A,CloseDate,2024-02-29,2024-03-31,2024-02-25T09:00:00.000+0000,005X\n"
        "006A,Amount,1200,1500,2024-02-25T09:05:00.000+0000,005X\n"
        "006A,Probability,10,60,2024-01-20T09:00:00.000+0000,005X\n"
        "006A,Description,old text,new text,2024-01-21T09:00:00.000+0000,005X\n"
        "006B,StageName,Prospecting,Closed Won,2024-02-10T09:00:00.000+0000,005Y\n"
    )
    result = ingest(export, tmp_path / "out", timezone="UTC")
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet").set_index(c.DEAL_ID)
    assert deals.loc["006A", c.PROBABILITY] == 0.6  # Probability is percent in Salesforce
    assert deals.loc["006A", c.FORECAST_CATEGORY] == "Best Case"
    changes = pd.read_parquet(tmp_path / "out" / "deal_changes.parquet")
    seen = changes[[c.DEAL_ID, c.FIELD, c.OLD_VALUE, c.NEW_VALUE]].fillna("").values.tolist()
    # Hand-converted: CloseDate is the end of that day (UTC here), as on the deals.
    assert ["006A", "expected_close_at", "2024-02-29T23:59:59.999999+00:00",
            "2024-03-31T23:59:59.999999+00:00"] in seen  # fmt: skip
    assert ["006A", "amount", "1200.0", "1500.0"] in seen
    assert ["006A", "probability", "0.1", "0.6"] in seen
    assert ["006B", "stage", "prospecting", "won"] in seen
    assert len(changes) == 5  # the created marker and the Description edit are not changes
    table = result.manifest["tables"][c.DEAL_CHANGES]
    assert table["quarantine_reasons"] == {r.OUT_OF_SCOPE: 2}
    assert set(changes[c.CHANGED_BY]) == {"005X", "005Y"}
