"""Tests of analysis.ingest.colmap: strict loading of column maps."""

from __future__ import annotations

from textwrap import dedent

import pytest

from analysis.core import columns as c
from analysis.core import paths
from analysis.core.errors import ConfigError
from analysis.ingest.colmap import ColumnSpec, identity_map, load_column_map

BASE = """\
options: {decimal: ",", dayfirst: true}
tables:
  deals:
    file: opps
    options: {dayfirst: false}
    columns:
      deal_id: Id
      created_at: {from: Created, allow_null: true}
      outcome: {from: Status, values: {Won: won}, default: open}
      amount: Amount
      segment: {constant: B2B}
"""


def _load(tmp_path, text):
    path = tmp_path / "map.yaml"
    path.write_text(dedent(text))
    return load_column_map(path)


def test_valid_map(tmp_path):
    cmap = _load(tmp_path, BASE)
    deals = cmap.tables[c.DEALS]
    assert deals.file == "opps"
    assert deals.options.decimal == "," and deals.options.dayfirst is False  # table override
    assert deals.columns[c.DEAL_ID] == ColumnSpec(source="Id")
    assert deals.columns[c.SEGMENT].constant == "B2B"
    assert deals.columns[c.OUTCOME].values == {"Won": "won"}
    assert deals.allow_null == (c.CREATED_AT,)
    assert len(cmap.sha256) == 64


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (BASE + "colour: red\n", "colour"),
        (BASE.replace("options: {decimal", "options: {decimals"), "options.decimals"),
        (BASE.replace("    file: opps", "    fiel: opps"), "tables.deals.fiel"),
        (BASE + "  prospects: {file: x}\n", "tables.prospects"),
        (BASE + "  leads: {file: x, optional: maybe}\n", "tables.leads.optional"),
        (
            BASE.replace("    file: opps", "    file: opps\n    optional: true"),
            "tables.deals.optional",
        ),
        (BASE.replace("amount: Amount", "amout: Amount"), "tables.deals.columns.amout"),
        (BASE.replace("      amount: Amount\n", ""), "tables.deals.columns.amount"),
        (
            BASE.replace("{constant: B2B}", "{constant: B2B, from: x}"),
            "tables.deals.columns.segment",
        ),
        (
            BASE.replace(
                "{from: Status, values: {Won: won}, default: open}", "{from: S, default: open}"
            ),
            "tables.deals.columns.outcome.default",
        ),
        (
            BASE.replace("{from: Created, allow_null: true}", "{from: C, allow_null: yes please}"),
            "tables.deals.columns.created_at.allow_null",
        ),
        (BASE.replace('decimal: ","', 'decimal: ";"'), "options.decimal"),
        (
            BASE + "      region: {from: r, allow_null: true}\n",
            "tables.deals.columns.region.allow_null",
        ),
        (
            BASE.replace("tables:\n  deals:", "tables:\n  reps:\n    file: r\n  x_deals:"),
            "tables.x_deals",
        ),
    ],
)
def test_errors_name_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert info.value.column == key
    assert info.value.file.endswith("map.yaml")


def test_unquoted_yes_key_is_an_error(tmp_path):
    text = BASE.replace("values: {Won: won}", "values: {Yes: won}")
    with pytest.raises(ConfigError, match="quote it") as info:
        _load(tmp_path, text)
    assert info.value.column == "tables.deals.columns.outcome.values"
    quoted = _load(tmp_path, BASE.replace("values: {Won: won}", 'values: {"Yes": won}'))
    assert quoted.tables[c.DEALS].columns[c.OUTCOME].values == {"Yes": "won"}


def test_map_without_deals(tmp_path):
    with pytest.raises(ConfigError, match="deals are mandatory") as info:
        _load(tmp_path, "tables:\n  reps: {file: teams}\n")
    assert info.value.column == "tables.deals"


def test_duplicate_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="duplicate key"):
        _load(tmp_path, BASE + "      amount: Other\n")


def test_derive_spec(tmp_path):
    cmap = _load(
        tmp_path,
        BASE
        + "      stage: Phase\n"
        + "    derive_stage_events:\n      dates: {qualification: Created}\n",
    )
    derive = cmap.tables[c.DEALS].derive
    assert derive.stage_column == c.STAGE and derive.dates == {"qualification": "Created"}


def test_derive_needs_a_mapped_stage(tmp_path):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, BASE + "    derive_stage_events: {}\n")
    assert info.value.column == "tables.deals.derive_stage_events.from"


def test_derive_only_under_deals(tmp_path):
    text = BASE + "  reps:\n    file: r\n    derive_stage_events: {}\n"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert info.value.column == "tables.reps.derive_stage_events"


def test_columns_may_be_omitted(tmp_path):
    cmap = _load(tmp_path, "tables:\n  deals: {file: export}\n")
    assert cmap.tables[c.DEALS].columns is None


def test_identity_map():
    cmap = identity_map(["deals", "reps"])
    assert set(cmap.tables) == {"deals", "reps"} and cmap.path is None


@pytest.mark.parametrize("path", [paths.MAVEN_MAP_FILE, paths.SAMPLE_MAP_FILE])
def test_shipped_maps_load(path):
    cmap = load_column_map(path)
    assert c.DEALS in cmap.tables


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timezone", "Europe/Berln"),
        ("timezone", "5"),
        ("timezone", "Europe"),
        ("delimiter", '";;"'),
        ("delimiter", "5"),
        ("delimiter", '""'),
        ("encoding", "utf-9"),
        ("encoding", "8"),
        ("encoding", "base64"),
        ("decimal", '";"'),
        ("dayfirst", '"yes"'),
    ],
)
@pytest.mark.parametrize("level", ["options", "tables.deals.options"])
def test_bad_options_name_the_key(tmp_path, option, value, level):
    top = {"decimal": '","', "dayfirst": "true"}
    table = {"dayfirst": "false"}
    (top if level == "options" else table)[option] = value

    def flow(spec):
        return "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"

    text = BASE.replace('options: {decimal: ",", dayfirst: true}', f"options: {flow(top)}")
    text = text.replace("options: {dayfirst: false}", f"options: {flow(table)}")
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert info.value.column == f"{level}.{option}"
    assert info.value.file.endswith("map.yaml")


def test_good_options_are_kept(tmp_path):
    text = BASE.replace(
        "options: {dayfirst: false}",
        'options: {timezone: Europe/Berlin, delimiter: ";", encoding: cp1252}',
    )
    opts = _load(tmp_path, text).tables[c.DEALS].options
    assert (opts.timezone, opts.delimiter, opts.encoding) == ("Europe/Berlin", ";", "cp1252")
    assert opts.decimal == "," and opts.dayfirst is True  # inherited from the top level
