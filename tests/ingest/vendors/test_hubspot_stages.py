"""HubSpot stage metadata and Date-entered columns, on hand-made inputs.

Expected values follow HubSpot's own conventions (CRM deal properties and
Pipelines API reference): ``hs_v2_date_entered_<stage id>`` is labelled
``Date entered "<stage> (<pipeline>)"`` and supersedes
``hs_date_entered_<stage id>`` (``Date entered '<stage> (<pipeline>)'``);
a closed stage with probability 1 is closed won.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest.read import find_table_files
from analysis.ingest.vendors import ExportFiles, VendorOptions, hubspot
from analysis.ingest.vendors import hubspot_fields as hf
from analysis.ingest.vendors import hubspot_stages as hs


def test_split_stage_label_keeps_brackets_inside_the_stage_label():
    text = "Unit 3 (Final) In Production (Plans Pipeline)"
    assert hs.split_stage_label(text, ["Plans Pipeline"]) == (
        "Unit 3 (Final) In Production",
        "Plans Pipeline",
    )
    # An unknown pipeline: the last bracketed part is taken as the pipeline.
    assert hs.split_stage_label("Angebot (Vertrieb)", []) == ("Angebot", "Vertrieb")


def test_entered_columns_prefer_the_v2_property_and_skip_the_current_stage():
    headers = [
        "Record ID",
        "Date entered 'Angebot (Vertrieb)'",  # older property
        'Date entered "Angebot (Vertrieb)"',  # v2, same stage
        "Date entered current stage",
        "hs_date_entered_closedwon",
        "hs_v2_date_entered_current_stage",
    ]
    found = {(e.header, e.stage, e.pipeline, e.v2) for e in hs.entered_columns(headers, [])}
    assert found == {
        ('Date entered "Angebot (Vertrieb)"', "Angebot", "Vertrieb", True),
        ("hs_date_entered_closedwon", "closedwon", None, False),  # no v2 column for it
    }


def _stage(sid, label, order, closed, probability, archived=False):
    meta = {"isClosed": str(closed).lower(), "probability": str(probability)}
    return {
        "id": sid,
        "label": label,
        "displayOrder": order,
        "metadata": meta,
        "archived": archived,
    }


def test_pipelines_json_as_the_api_returns_it(tmp_path):
    stages = [
        _stage("s1", "Neu", 0, False, 0.1),
        _stage("s9", "Pause", 1, False, 0.2, archived=True),
        _stage("s2", "Angebot", 2, False, 0.6),
        _stage("won", "Gewonnen", 3, True, 1.0),
        _stage("lost", "Verloren", 4, True, 0.0),
    ]
    data = {
        "results": [{"id": "default", "label": "Vertrieb", "displayOrder": 0, "stages": stages}]
    }
    (tmp_path / "pipelines.json").write_text(json.dumps(data), encoding="utf-8")
    files = ExportFiles(tmp_path, find_table_files(tmp_path))
    meta = hs.read_pipelines(files)
    assert files.used["pipelines"].name == "pipelines.json"
    assert meta["won"].tolist() == [False, False, False, True, False]  # closed, probability 1
    pipes = hs.from_metadata(meta, used={"neu", "s2"})
    (pipeline,) = pipes.pipelines
    assert pipeline.name == "vertrieb"
    assert pipeline.stages == ("neu", "angebot")  # the archived, unused stage left out
    assert pipeline.normalise("won") == "won" and pipeline.normalise("Verloren") == "lost"
    assert pipeline.normalise("s2") == "angebot"  # the stage id is an alias
    assert pipes.names == {"default": "vertrieb", "vertrieb": "vertrieb"}
    # Used by a deal, the archived stage stays.
    assert "pause" in hs.from_metadata(meta, used={"s9"}).pipelines[0].stages


def test_pipelines_csv_without_probability_names_the_column(tmp_path):
    frame = pd.DataFrame(
        {"pipeline_label": ["Vertrieb"], "stage_label": ["Neu"], "is_closed": ["false"]}
    )
    frame.to_csv(tmp_path / "pipelines.csv", index=False)
    with pytest.raises(InputError) as err:
        hs.read_pipelines(ExportFiles(tmp_path, find_table_files(tmp_path)))
    assert err.value.column == "probability"
    assert err.value.file == str(tmp_path / "pipelines.csv")


@pytest.mark.parametrize(
    "data",
    [
        {"results": [{"id": "p", "label": "Vertrieb", "stages": "not a list"}]},
        {"results": [{"id": "p", "label": "Vertrieb", "stages": ["not an object"]}]},
    ],
)
def test_a_malformed_pipelines_file_is_an_input_error(tmp_path, data):
    (tmp_path / "pipelines.json").write_text(json.dumps(data), encoding="utf-8")
    files = ExportFiles(tmp_path, find_table_files(tmp_path))
    with pytest.raises(InputError, match="no pipeline with stages") as info:
        hs.read_pipelines(files)
    assert info.value.file.endswith("pipelines.json")


def _two_pipelines_sharing_a_label(folder):
    """ "Vertrag" is the won stage of Neukunden and an open stage of Bestand."""
    neu = [
        _stage("s1", "Neu", 0, False, 0.1),
        _stage("s2", "Vertrag", 1, True, 1.0),
        _stage("s3", "Verloren", 2, True, 0.0),
    ]
    bestand = [
        _stage("s4", "Vertrag", 0, False, 0.5),
        _stage("s5", "Gewonnen", 1, True, 1.0),
        _stage("s6", "Verloren", 2, True, 0.0),
    ]
    data = {
        "results": [
            {"id": "p1", "label": "Neukunden", "displayOrder": 0, "stages": neu},
            {"id": "p2", "label": "Bestand", "displayOrder": 1, "stages": bestand},
        ]
    }
    (folder / "pipelines.json").write_text(json.dumps(data), encoding="utf-8")


def test_a_label_closed_in_one_pipeline_and_open_in_another_reads_each_deals_pipeline(tmp_path):
    # No hs_is_closed* columns: the outcome comes from the stage's flags in the deal's pipeline.
    _two_pipelines_sharing_a_label(tmp_path)
    deals = pd.DataFrame(
        {
            "hs_object_id": ["1", "2", "3", "4"],
            "dealstage": ["Vertrag", "Vertrag", "s4", "Verloren"],
            "pipeline": ["Neukunden", "Bestand", "p2", "Bestand"],
            "createdate": ["2026-01-05"] * 4,
        }
    )
    deals.to_csv(tmp_path / "deals.csv", index=False)
    files = ExportFiles(tmp_path, find_table_files(tmp_path))
    export = hubspot.adapt(files, VendorOptions())
    raw = export.tables[c.DEALS].raw
    # Won in Neukunden; open in Bestand (by label, and by its stage id s4); lost in both.
    assert raw[hf.OUTCOME].tolist() == [c.WON, c.OPEN, c.OPEN, c.LOST]
    assert raw[hubspot.PIPELINE].tolist() == ["neukunden", "bestand", "bestand", "bestand"]


def test_without_the_deals_pipeline_only_a_label_alike_in_every_pipeline_gives_the_outcome(
    tmp_path,
):
    _two_pipelines_sharing_a_label(tmp_path)
    pipes = hs.from_metadata(hs.read_pipelines(ExportFiles(tmp_path, {})), used=set())
    assert pipes.flags[("neukunden", "vertrag")] == (True, True)
    assert pipes.flags[("bestand", "vertrag")] == (False, False)
    deals = pd.DataFrame({"dealstage": ["Vertrag", "Verloren", "Neu"]})
    got = hf.outcomes(deals, pipes.flags, Path("deals.csv"))
    # Vertrag differs between the pipelines: unknown (ingest quarantines it), never guessed.
    assert pd.isna(got.iloc[0])
    assert got.tolist()[1:] == [c.LOST, c.OPEN]
