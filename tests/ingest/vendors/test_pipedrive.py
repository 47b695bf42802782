"""Round trip: the sample CRM written as a Pipedrive export ingests back to the sample.

Provenance of every expected value: the canonical sample tables
(``analysis.sample.generate_sample``) and what the Pipedrive writer says it
planted (``analysis.sample.crm_exports.write_pipedrive``): deleted deals and
their updates, value/expected-close/status updates, NUL bytes, the stage
names of its two pipelines, the rates file, the export's time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from vendor_helpers import processed_deals, sample_deals

import analysis
from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import load_stages
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.ingest.read import find_table_files
from analysis.ingest.vendors import ExportFiles, pipedrive
from analysis.sample import generate_sample
from analysis.sample.crm_exports import pipedrive as pd_export
from analysis.sample.crm_exports import write_pipedrive
from analysis.sample.crm_exports._warts import with_fourth_currency

N_DEALS, SEED = 300, 7


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    crm = generate_sample(N_DEALS, seed=SEED)
    root = tmp_path_factory.mktemp("pipedrive")
    planted = write_pipedrive(crm, root / "export", seed=SEED)
    # No --from and no --map: the export is recognised by its "Deal - " labels.
    result = ingest(
        root / "export",
        root / "processed",
        timezone=planted.timezone,
        fx_rates=planted.rates_file,
    )
    return crm, planted, result, root / "processed"


def _journeys(crm) -> pd.DataFrame:
    """The sample's stage entries per deal, consecutive repeats of one stage collapsed.

    Pipedrive logs a stage change only when the stage differs.
    """
    ev = crm.tables[c.STAGE_EVENTS].sort_values([c.DEAL_ID, c.ENTERED_AT], kind="stable")
    return ev[ev.groupby(c.DEAL_ID)[c.STAGE].shift() != ev[c.STAGE]]


def _assert_same_events(folder, crm, planted) -> None:
    """Per deal the sample's stages (named as ingest names them) entered at the same times."""
    got = pd.read_parquet(folder / "stage_events.parquet")
    truth = _journeys(crm)
    segment = truth[c.DEAL_ID].map(crm.tables[c.DEALS].set_index(c.DEAL_ID)[c.SEGMENT])
    stages = [pd_export.SLUGS[s][st] for s, st in zip(segment, truth[c.STAGE], strict=True)]
    expected = pd.DataFrame(
        {
            c.DEAL_ID: truth[c.DEAL_ID].map(planted.ids).to_numpy(),
            c.STAGE: stages,
            c.ENTERED_AT: truth[c.ENTERED_AT].dt.floor("s").to_numpy(),
        }
    )
    key = [c.DEAL_ID, c.ENTERED_AT, c.STAGE]
    left = got[key].sort_values(key).reset_index(drop=True)
    right = expected[key].sort_values(key).reset_index(drop=True)
    assert len(left) == len(right)
    assert left[c.DEAL_ID].tolist() == right[c.DEAL_ID].tolist()
    assert left[c.STAGE].tolist() == right[c.STAGE].tolist()
    assert (left[c.ENTERED_AT] == right[c.ENTERED_AT]).all()
    assert not got[c.DERIVED].any()  # read from the flow and the deals' own times


def _assert_same_deals(folder, crm, planted) -> pd.DataFrame:
    """Outcomes, segments, owners, pipelines, stages and times as in the sample."""
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    assert sorted(got.index) == sorted(truth.index)
    truth = truth.loc[got.index]
    assert (got[c.OUTCOME] == truth[c.OUTCOME]).all()  # from status
    assert (got[c.SEGMENT] == truth[c.SEGMENT]).all()  # from the custom field Segmento
    assert (got[c.OWNER_ID] == truth[c.OWNER_ID].map(planted.user_ids)).all()
    assert (got[c.PIPELINE] == truth[c.SEGMENT].map(pd_export.PIPELINE_NAMES)).all()
    stages = [
        pd_export.SLUGS[s][st] for s, st in zip(truth[c.SEGMENT], truth[c.STAGE], strict=True)
    ]
    assert (got[c.STAGE] == stages).all()  # won and lost deals: their terminal stage
    assert (got[c.CURRENCY] == with_fourth_currency(truth)[c.CURRENCY]).all()  # LATAM in pesos
    assert (got[c.CREATED_AT] == truth[c.CREATED_AT].dt.floor("s")).all()
    closed = truth[c.OUTCOME] != c.OPEN
    assert (got.loc[closed, c.CLOSED_AT] == truth.loc[closed, c.CLOSED_AT].dt.floor("s")).all()
    assert got.loc[~closed, c.CLOSED_AT].isna().all()
    return got


def test_detected_and_every_row_accounted_for(round_trip):
    crm, planted, result, _ = round_trip
    m = result.manifest
    assert m["vendor"] == "pipedrive"
    assert m["ignored_files"] == [planted.rates_file.name]
    deals = m["tables"][c.DEALS]
    assert deals["rows_in"] == N_DEALS + planted.deleted
    assert deals["quarantine_reasons"] == {r.DELETED_IN_SOURCE: planted.deleted}
    events = m["tables"][c.STAGE_EVENTS]
    assert events["rows_clean"] + events["rows_quarantined"] == events["rows_in"]
    # Rows in: the flow's rows, then one first-stage entry per live deal and one won/lost
    # entry per closed deal, which the adapter adds (the flow logs neither).
    flow = pd.read_csv(planted.folder / "deal_flow.csv")
    closed = int((crm.tables[c.DEALS][c.OUTCOME] != c.OPEN).sum())
    assert events["rows_in"] == len(flow) + N_DEALS + closed
    assert events["quarantine_reasons"] == {
        r.NOT_A_STAGE_CHANGE: planted.edits + planted.status_changes,
        r.DELETED_IN_SOURCE: planted.deleted_updates,
    }
    assert m["tables"][c.REPS]["rows_clean"] == len(crm.tables[c.REPS])
    # Every NUL byte stripped and counted, the deleted deals' copies included.
    assert m["stripped_characters"] == {
        f"{planted.deals_file}.{planted.nul_column}": planted.nul_rows
    }
    assert m["as_of"] == planted.as_of.isoformat().replace("+00:00", "Z")


def test_outcomes_segments_owners_and_times_match_the_sample(round_trip):
    crm, planted, _, folder = round_trip
    # Owners by name, times in the company's zone: read back to user ids and UTC seconds.
    got = _assert_same_deals(folder, crm, planted)
    truth = sample_deals(crm, planted).loc[got.index]
    lost = truth[c.OUTCOME] == c.LOST
    reasons = got.loc[lost, c.LOSS_REASON].fillna("")
    assert (reasons == truth.loc[lost, c.LOSS_REASON].fillna("")).all()
    assert not got[c.BACKDATED].any()
    # An open deal's expected close is after the export; a closed deal's is dropped.
    opened = truth[c.OUTCOME] == c.OPEN
    assert opened.sum() > 0
    assert (got.loc[opened, c.EXPECTED_CLOSE_AT] > planted.as_of).all()
    assert got.loc[~opened, c.EXPECTED_CLOSE_AT].isna().all()


def test_four_currencies_convert_back_with_the_rates_file(round_trip):
    crm, planted, result, folder = round_trip
    got, truth = processed_deals(folder), sample_deals(crm, planted)
    truth = truth.loc[got.index]
    assert result.manifest["reporting_currency"] == "USD"  # the rate-1 currency of the file
    assert set(got[c.CURRENCY].dropna()) == {"USD", "EUR", "GBP", "MXN"}
    # The sample rounds amount = amount_original * rate to cents; pesos are amount * 17.5.
    np.testing.assert_allclose(got[c.AMOUNT], truth[c.AMOUNT], atol=0.011)
    pesos = got[c.CURRENCY] == "MXN"
    np.testing.assert_allclose(
        got.loc[pesos, c.AMOUNT_ORIGINAL], (truth.loc[pesos, c.AMOUNT] * 17.5).round(2)
    )


def test_stage_events_are_the_sample_s_entries(round_trip):
    crm, planted, _, folder = round_trip
    _assert_same_events(folder, crm, planted)


def test_both_pipelines_are_kept_in_the_company_s_language(round_trip):
    _, _, result, folder = round_trip
    config = load_stages(folder / "stages.yaml")
    assert list(config.pipelines) == [
        pd_export.PIPELINE_NAMES[c.B2B],
        pd_export.PIPELINE_NAMES[c.B2C],
    ]
    assert result.manifest["pipelines"] == list(config.pipelines)
    canonical = load_stages().pipeline().stages
    for segment, name in pd_export.PIPELINE_NAMES.items():
        pipeline = config.pipelines[name]
        # Open stages in order_nr; the deleted stage no deal used is left out.
        assert pipeline.stages == tuple(pd_export.SLUGS[segment][s] for s in canonical)
        assert (pipeline.won, pipeline.lost) == (c.WON, c.LOST)
    assert config.pipelines["vendas_empresas"].normalise("Proposta enviada") == "proposta_enviada"


def test_planted_truth_is_recovered_through_the_workspace(round_trip):
    crm, planted, _, folder = round_trip
    seen: dict[str, dict[str, int]] = {}
    for name in load_stages(folder / "stages.yaml").pipelines:
        ws = analysis.connect(folder, pipeline=name)
        assert ws.money.currency == "USD" and ws.money.comparable
        deals = ws.execute(ws.deals)
        for segment, rows in deals.groupby(c.SEGMENT):
            counts = seen.setdefault(str(segment), {"deals": 0, "won": 0})
            counts["deals"] += len(rows)
            counts["won"] += int((rows[c.OUTCOME] == c.WON).sum())
    for segment, facts in crm.truth["outcomes_realised"].items():
        assert seen[segment] == {"deals": facts["deals"], "won": facts["won"]}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("deal_id,created_at,outcome", False),  # the workbench's own deals.csv
        ("Record ID,Deal Name,Deal Stage,Pipeline,Create Date,Close Date,Amount", False),  # HubSpot
        ("hs_object_id,dealname,dealstage,pipeline,createdate,closedate,amount", False),  # HubSpot
        ("id,title,status,stage_id,pipeline_id,add_time,won_time", True),  # Pipedrive's API
        ("Deal - ID;Deal - Title;Deal - Status;Deal - Stage", True),  # Pipedrive's web export
    ],
)
def test_detection_needs_pipedrive_s_own_fields(tmp_path, header, expected):
    (tmp_path / "deals.csv").write_text(header + "\n")
    (tmp_path / "stages.csv").write_text("id,name,pipeline_id\n1,a,1\n")
    assert pipedrive.detect(ExportFiles(tmp_path, find_table_files(tmp_path))) is expected


@pytest.fixture(scope="module")
def api_round_trip(tmp_path_factory):
    crm = generate_sample(120, seed=3)
    root = tmp_path_factory.mktemp("pipedrive_api")
    planted = write_pipedrive(crm, root / "export", seed=3, deals_from="api")
    # No --timezone (the API's times are UTC) and no --fx-rates.
    result = ingest(root / "export", root / "processed")
    return crm, planted, result, root / "processed"


def test_the_api_s_field_names_read_the_same(api_round_trip):
    crm, planted, result, folder = api_round_trip
    m = result.manifest
    assert m["vendor"] == "pipedrive"
    assert {i["file"] for i in m["inputs"]} == {
        "deals.csv",
        "dealFields.csv",
        "deal_flow.csv",
        "pipelines.csv",
        "stages.csv",
        "users.csv",
    }
    # Ids for stage, pipeline and owner; the segment under a hashed key named in dealFields.
    _assert_same_deals(folder, crm, planted)
    _assert_same_events(folder, crm, planted)
    assert m["stripped_characters"] == {f"deals.csv.{planted.nul_column}": planted.nul_rows}
    assert m["tables"][c.DEALS]["quarantine_reasons"] == {r.DELETED_IN_SOURCE: planted.deleted}


def test_without_rates_amounts_stay_as_exported(api_round_trip):
    crm, planted, result, folder = api_round_trip
    got = processed_deals(folder)
    # Four currencies and no rates: nothing converted, no reporting currency claimed.
    assert result.manifest["reporting_currency"] is None
    assert any("no exchange rates" in note for note in result.manifest["notes"])
    np.testing.assert_array_equal(got[c.AMOUNT], got[c.AMOUNT_ORIGINAL])
    assert not analysis.connect(folder).money.comparable


def _export_without(tmp_path, drop_column: str | None = None, drop_file: str | None = None):
    crm = generate_sample(40, seed=1)
    planted = write_pipedrive(crm, tmp_path / "export", seed=1)
    path = planted.folder / planted.deals_file
    if drop_file == "deals":
        path.unlink()
    if drop_column is not None:
        frame = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str)
        frame.drop(columns=[drop_column]).to_csv(path, sep=";", encoding="cp1252", index=False)
    return planted


def test_a_deals_file_without_status_names_file_and_column(tmp_path):
    planted = _export_without(tmp_path, drop_column="Deal - Status")
    with pytest.raises(InputError) as err:
        ingest(planted.folder, tmp_path / "out", vendor="pipedrive")
    assert err.value.file == str(planted.folder / planted.deals_file)
    assert err.value.column == "Deal - Status"
    assert not (tmp_path / "out").exists()


def test_an_export_without_deals_names_the_missing_file(tmp_path):
    planted = _export_without(tmp_path, drop_file="deals")
    with pytest.raises(InputError) as err:
        ingest(planted.folder, tmp_path / "out", vendor="pipedrive")
    assert err.value.file == str(planted.folder / "deals")
    assert "no deals file" in err.value.message


@pytest.mark.parametrize(("value", "row"), [(None, None), ("second", 2)])
def test_a_stage_order_that_is_missing_or_not_a_number_is_named(tmp_path, value, row):
    planted = write_pipedrive(generate_sample(40, seed=3), tmp_path / "export", seed=3)
    path = planted.folder / "stages.csv"
    stages = pd.read_csv(path, dtype=str)
    if value is None:
        stages = stages.drop(columns="order_nr")
    else:
        stages.loc[1, "order_nr"] = value
    stages.to_csv(path, index=False)
    with pytest.raises(InputError, match="order_nr") as info:
        ingest(planted.folder, tmp_path / "out", timezone=planted.timezone)
    assert info.value.file.endswith("stages.csv")
    assert (info.value.column, info.value.row) == ("order_nr", row)
