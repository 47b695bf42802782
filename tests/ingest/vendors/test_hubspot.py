"""Round trip: the sample CRM written as a HubSpot export ingests back to the sample.

Both header styles are checked: the UI export (property labels, local times,
date-only close dates, amounts in company currency) and the API export
(internal names, UTC times, ids, archived deals, rates from ``--fx-rates``).

Provenance of every expected value: the canonical sample tables
(``analysis.sample.generate_sample``) and what the HubSpot writer says it
planted (``analysis.sample.crm_exports.write_hubspot``): record and owner
ids, pipeline and stage names (``hubspot.SLUGS``, ``hubspot.PIPELINE_NAMES``),
archived rows, NUL bytes, backdated deals, the fourth currency's rate.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from vendor_helpers import processed_deals, sample_deals

import analysis
from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import load_stages
from analysis.engine.journey import data_cutoff
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.ingest.read import find_table_files
from analysis.ingest.vendors import ExportFiles, hubspot
from analysis.ingest.vendors.stages import stage_slug
from analysis.sample import generate_sample
from analysis.sample.crm_exports import hubspot as hs
from analysis.sample.crm_exports import write_hubspot, write_pipedrive
from analysis.sample.crm_exports._warts import rates_to_usd

N_DEALS, SEED = 300, 11


@pytest.fixture(scope="module")
def crm():
    return generate_sample(N_DEALS, seed=SEED)


@pytest.fixture(scope="module", params=["labels", "names"])
def round_trip(request, crm, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"hubspot_{request.param}")
    planted = write_hubspot(crm, root / "export", seed=SEED, header=request.param)
    options = {}
    if request.param == "names":  # no amount in company currency: rates from a file
        rates = rates_to_usd(crm.truth)  # USD per unit: the sample's rates plus MXN
        table = pd.DataFrame({"currency": list(rates), "rate": [1 / v for v in rates.values()]})
        table.to_csv(root / "rates.csv", index=False)
        options["fx_rates"] = root / "rates.csv"
    # No --from and no --map: the export is recognised by its deals file's header.
    result = ingest(root / "export", root / "processed", timezone=planted.timezone, **options)
    return planted, result, root / "processed"


def _as_read(ts: pd.Series, planted) -> pd.Series:
    """A time as the export writes it and ingest reads it back.

    API exports write UTC to the millisecond; the UI writes local time to the
    second without offset, which ingest reads as the first of two equal
    local times when clocks go back.
    """
    if planted.header == "names":
        return ts.dt.floor("ms")
    local = ts.dt.tz_convert(planted.timezone).dt.tz_localize(None).dt.floor("s")
    first = np.ones(len(local), dtype=bool)
    return local.dt.tz_localize(planted.timezone, ambiguous=first).dt.tz_convert("UTC")


def test_detected_and_every_row_accounted_for(crm, round_trip):
    planted, result, _ = round_trip
    m = result.manifest
    assert m["vendor"] == "hubspot"
    assert {i["table"] for i in m["inputs"]} == {"deals", "pipelines", "owners"}
    deals = m["tables"][c.DEALS]
    # The sample's deals plus the archived copies the writer added (API export only).
    assert deals["rows_in"] == N_DEALS + planted.archived
    archived = {r.DELETED_IN_SOURCE: planted.archived} if planted.archived else {}
    assert deals["quarantine_reasons"] == archived
    events = m["tables"][c.STAGE_EVENTS]
    assert events["rows_clean"] + events["rows_quarantined"] == events["rows_in"]
    # One event per (deal, stage) the sample entered; the archived copies' cells are deleted.
    latest = hs.latest_entries(crm.tables[c.STAGE_EVENTS])
    assert events["rows_in"] == len(latest) + planted.archived_entries
    deleted = {r.DELETED_IN_SOURCE: planted.archived_entries} if planted.archived else {}
    assert events["quarantine_reasons"] == deleted
    # Every NUL byte stripped and counted (the writer counts the rows it planted).
    column = "Deal Description" if planted.header == "labels" else "description"
    assert m["stripped_characters"] == {f"{planted.deals_file}.{column}": planted.nul_rows}
    assert planted.nul_rows > 0
    # The export's time is its latest Last Modified Date, which the writer set to as_of.
    assert pd.Timestamp(m["as_of"]) == _as_read(pd.Series([planted.as_of]), planted)[0]


def test_outcomes_segments_owners_and_reasons_match_the_sample(crm, round_trip):
    planted, _, folder = round_trip
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    assert sorted(got.index) == sorted(truth.index)
    truth = truth.loc[got.index]
    assert (got[c.OUTCOME] == truth[c.OUTCOME]).all()  # from Is Closed Won / Is Deal Closed?
    if planted.header == "names":  # the custom deal_segment property
        assert (got[c.SEGMENT] == truth[c.SEGMENT]).all()
    else:  # the UI export has no segment property: allowed empty
        assert got[c.SEGMENT].isna().all()
    # UI exports name the owner, API exports give the id: both become the owner id.
    assert (got[c.OWNER_ID] == truth[c.OWNER_ID].map(planted.owner_ids)).all()
    assert (got[c.SOURCE] == truth[c.SOURCE]).all()  # the Lead Source custom property
    lost = truth[c.OUTCOME] == c.LOST
    assert (
        got.loc[lost, c.LOSS_REASON].fillna("") == truth.loc[lost, c.LOSS_REASON].fillna("")
    ).all()
    reps = pd.read_parquet(folder / "reps.parquet").set_index(c.REP_ID)
    sample_reps = crm.tables[c.REPS].set_index(c.REP_ID)
    sample_reps.index = sample_reps.index.map(planted.owner_ids)
    assert (reps[c.NAME] == sample_reps.loc[reps.index, c.NAME]).all()  # first + last name
    assert (reps[c.TEAM] == sample_reps.loc[reps.index, c.TEAM]).all()


def test_four_currencies_convert_back_to_the_sample_s_dollars(crm, round_trip):
    planted, result, folder = round_trip
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


def test_dates_same_day_wins_backdated_and_expected_closes(crm, round_trip):
    planted, _, folder = round_trip
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    truth = truth.loc[got.index]
    backdated = truth[c.DEAL_ID].isin(planted.backdated)
    assert got[c.BACKDATED].sum() == len(planted.backdated) > 0
    assert got.loc[backdated, c.BACKDATED].all()
    assert got.loc[backdated, c.CLOSED_AT].isna().all()  # left out of durations
    ok = ~backdated
    assert (got.loc[ok, c.CREATED_AT] == _as_read(truth.loc[ok, c.CREATED_AT], planted)).all()
    closed = ok & (truth[c.OUTCOME] != c.OPEN)
    if planted.header == "names":  # closedate is a time in API exports
        assert (
            got.loc[closed, c.CLOSED_AT] == _as_read(truth.loc[closed, c.CLOSED_AT], planted)
        ).all()
    else:  # a date in the UI export: the end of that day in the portal's zone
        day = truth.loc[closed, c.CLOSED_AT].dt.tz_convert(planted.timezone).dt.tz_localize(None)
        end = day.dt.normalize() + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        assert (got.loc[closed, c.CLOSED_AT] == end.dt.tz_localize(planted.timezone)).all()
    # Same-day wins survive (issue 12: quarantined as closed_before_created).
    local = {
        k: truth[k].dt.tz_convert(planted.timezone).dt.date for k in (c.CREATED_AT, c.CLOSED_AT)
    }
    same_day = closed & (local[c.CREATED_AT] == local[c.CLOSED_AT])
    assert same_day.sum() > 0
    assert (got.loc[same_day, c.CLOSED_AT] >= got.loc[same_day, c.CREATED_AT]).all()
    opened = truth[c.OUTCOME] == c.OPEN
    assert got.loc[opened, c.CLOSED_AT].isna().all()
    assert (got.loc[opened, c.EXPECTED_CLOSE_AT] > planted.as_of).all()


def test_every_deal_reaches_the_sample_s_stages_at_their_latest_entry(crm, round_trip):
    planted, _, folder = round_trip
    got = pd.read_parquet(folder / "stage_events.parquet")
    # HubSpot's Date entered keeps a stage's latest entry; stages are named per pipeline.
    truth = hs.latest_entries(crm.tables[c.STAGE_EVENTS])
    segment = truth[c.DEAL_ID].map(crm.tables[c.DEALS].set_index(c.DEAL_ID)[c.SEGMENT])
    expected = truth.assign(
        **{
            c.DEAL_ID: truth[c.DEAL_ID].map(planted.ids),
            c.STAGE: [hs.SLUGS[s][k] for s, k in zip(segment, truth[c.STAGE], strict=True)],
            c.ENTERED_AT: _as_read(truth[c.ENTERED_AT], planted),
        }
    )
    reach = got.groupby(c.DEAL_ID)[c.STAGE].apply(frozenset)
    assert reach.to_dict() == expected.groupby(c.DEAL_ID)[c.STAGE].apply(frozenset).to_dict()
    key = [c.DEAL_ID, c.STAGE]
    left = got.sort_values(key).reset_index(drop=True)
    right = expected.sort_values(key).reset_index(drop=True)
    assert (left[c.ENTERED_AT] == right[c.ENTERED_AT]).all()
    assert not got[c.DERIVED].any()  # observed, not implied


def test_both_pipelines_are_kept_in_their_own_language(crm, round_trip):
    planted, result, folder = round_trip
    config = load_stages(folder / "stages.yaml")
    assert list(config.pipelines) == list(hs.PIPELINE_NAMES.values())  # display order
    assert result.manifest["pipelines"] == list(hs.PIPELINE_NAMES.values())
    canonical = load_stages().pipeline()
    for segment, name in hs.PIPELINE_NAMES.items():
        pipeline = config.pipeline(name)
        # The writer's stages in display order; the archived stage is left out.
        assert pipeline.stages == tuple(hs.SLUGS[segment][s] for s in canonical.stages)
        won_label, won_id, _ = hs.STAGES[segment][c.WON]
        assert pipeline.normalise(won_label) == pipeline.normalise(won_id) == "won"
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    assert (got[c.PIPELINE] == truth.loc[got.index, c.SEGMENT].map(hs.PIPELINE_NAMES)).all()


def test_planted_truth_is_recovered_through_the_workspace(crm, round_trip):
    planted, result, folder = round_trip
    for segment, facts in crm.truth["outcomes_realised"].items():
        ws = analysis.connect(folder, pipeline=hs.PIPELINE_NAMES[segment])
        assert ws.pipeline.stages[0] == hs.SLUGS[segment]["prospecting"]
        assert ws.money.currency == "USD" and ws.money.comparable
        deals = ws.execute(ws.deals)
        # Each pipeline holds one segment's deals (the writer's split).
        assert len(deals) == facts["deals"]
        assert int((deals[c.OUTCOME] == c.WON).sum()) == facts["won"]
    cutoff = pd.Timestamp(result.manifest["as_of"])
    assert data_cutoff(analysis.connect(folder)) == cutoff


def test_without_pipelines_file_stage_order_is_learnt_from_the_dates(crm, round_trip, tmp_path):
    planted, _, _ = round_trip
    shutil.copytree(planted.folder, tmp_path / "export")
    for name in ("pipelines.csv", "pipelines.json"):
        (tmp_path / "export" / name).unlink(missing_ok=True)
    result = ingest(tmp_path / "export", tmp_path / "out", timezone=planted.timezone)
    assert any("no pipelines file" in n for n in result.manifest["notes"])
    config = load_stages(tmp_path / "out" / "stages.yaml")
    canonical = load_stages().pipeline()
    for segment, (pid, plabel, _) in hs.PIPELINES.items():
        pipeline = config.pipeline(stage_slug(plabel if planted.header == "labels" else pid))
        # Stage names are the labels (UI) or ids (API); their order is the sample's.
        index = 0 if planted.header == "labels" else 1
        expected = [hs.STAGES[segment][s][index] for s in canonical.stages]
        assert [pipeline.normalise(x) for x in expected] == list(pipeline.stages)
    got, truth = processed_deals(tmp_path / "out"), sample_deals(crm, planted)
    assert (got[c.OUTCOME] == truth.loc[got.index, c.OUTCOME]).all()


def _detected(folder) -> bool:
    return hubspot.detect(ExportFiles(folder, find_table_files(folder)))


def test_detection_leaves_canonical_and_pipedrive_deals_alone(crm, tmp_path):
    crm.tables[c.DEALS].head(5).to_csv(tmp_path / "deals.csv", index=False)  # canonical header
    assert not _detected(tmp_path)
    for header in (
        "Deal - ID,Deal - Title,Deal - Stage,Deal - Status",
        "id,title,stage_id,add_time",
    ):
        (tmp_path / "deals.csv").write_text(header + "\n1,a,2,open\n", encoding="utf-8")
        assert not _detected(tmp_path)
    for deals_from in ("web", "api"):  # the Pipedrive writer's own exports
        write_pipedrive(crm, tmp_path / deals_from, seed=SEED, deals_from=deals_from)
        assert not _detected(tmp_path / deals_from)


def test_missing_deals_file_or_column_names_the_file_and_column(crm, tmp_path):
    planted = write_hubspot(crm, tmp_path / "export", seed=SEED, header="labels")
    deals_path = planted.folder / planted.deals_file
    frame = pd.read_csv(deals_path, encoding="utf-8-sig", dtype=str)
    deals_path.unlink()
    with pytest.raises(InputError) as missing_file:
        ingest(planted.folder, tmp_path / "out", vendor="hubspot")
    assert missing_file.value.file == str(planted.folder / "deals")
    frame.drop(columns=["Create Date"]).to_csv(deals_path, index=False)
    with pytest.raises(InputError) as missing_column:
        ingest(planted.folder, tmp_path / "out", vendor="hubspot")
    assert missing_column.value.file == str(deals_path)
    assert missing_column.value.column == "Create Date"
    frame.drop(columns=["Is Closed Won", "Is Deal Closed?"]).to_csv(deals_path, index=False)
    (planted.folder / "pipelines.csv").unlink()
    with pytest.raises(InputError) as no_outcome:  # never guessed from stage labels
        ingest(planted.folder, tmp_path / "out", vendor="hubspot")
    assert no_outcome.value.column == "Is Closed Won"
