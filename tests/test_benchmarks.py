"""Tests for analysis.benchmarks: the shipped file loads, and the loader is strict."""

from __future__ import annotations

import pytest
import yaml

from analysis import config
from analysis.benchmarks import Benchmark, load_benchmarks
from analysis.errors import ConfigError

GOOD = {
    "metric": "stage_conversion",
    "stage": "proposal",
    "segment": "B2B",
    "value": 0.6,
    "source": "Example Publisher, 'Example report'",
    "year": 2025,
    "url": "https://example.org/report",
    "definition": "advanced / (advanced + lost)",
    "note": "",
}


def _write(tmp_path, entries, top="benchmarks"):
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump({top: entries}, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_file_loads_with_cited_definitions():
    bench = load_benchmarks()
    assert bench.path == str(config.BENCHMARKS_FILE)
    frame = bench.to_frame()
    assert list(frame.columns) == [
        "metric", "stage", "segment", "value", "source", "year", "url", "definition", "note",
    ]  # fmt: skip
    assert len(frame) >= 2
    assert frame["value"].between(0, 1).all()
    assert (frame["url"].str.startswith("https://")).all()
    assert (frame["definition"].str.len() > 0).all()
    # The two figures the lead verified on salesmotion.io (a reported HubSpot survey).
    win = frame[frame["metric"] == "win_rate"].set_index("definition")["value"]
    assert win["won / qualified opportunities"] == pytest.approx(0.29)
    assert win.filter(like="won / all opportunities").iloc[0] == pytest.approx(0.21)


def test_a_good_entry_loads_with_whitespace_collapsed(tmp_path):
    entry = {**GOOD, "source": "Example   Publisher,\n 'Example report'"}
    bench = load_benchmarks(_write(tmp_path, [entry]))
    assert bench.entries == (
        Benchmark(**{**GOOD, "source": "Example Publisher, 'Example report'"}),
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"sorce": "x"}, "benchmarks[1].sorce"),  # unknown key
        ({"value": 1.5}, "benchmarks[1].value"),  # outside [0, 1]
        ({"value": -0.1}, "benchmarks[1].value"),
        ({"value": "21%"}, "benchmarks[1].value"),
        ({"stage": "closing"}, "benchmarks[1].stage"),  # not in the pipeline
        ({"stage": None}, "benchmarks[1].stage"),  # stage conversion needs a stage
        ({"metric": "win_rate"}, "benchmarks[1].stage"),  # a win rate has no stage
        ({"metric": "close_rate"}, "benchmarks[1].metric"),
        ({"segment": "SMB"}, "benchmarks[1].segment"),
        ({"year": "2025"}, "benchmarks[1].year"),
        ({"url": "example.org"}, "benchmarks[1].url"),
        ({"definition": " "}, "benchmarks[1].definition"),
    ],
)
def test_bad_entry_names_its_index_and_key(tmp_path, change, key):
    path = _write(tmp_path, [GOOD, {**GOOD, **change}])
    with pytest.raises(ConfigError) as err:
        load_benchmarks(path)
    assert err.value.column == key
    assert err.value.file == str(path)


@pytest.mark.parametrize("missing", ["source", "definition", "year", "stage", "note"])
def test_missing_field_is_named(tmp_path, missing):
    entry = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        load_benchmarks(_write(tmp_path, [entry]))
    assert err.value.column == f"benchmarks[0].{missing}"


def test_duplicate_and_unknown_top_level_keys_are_rejected(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("benchmarks: []\nbenchmarks: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key"):
        load_benchmarks(path)
    path.write_text("benchmarks: []\nextra: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_benchmarks(path)
    assert err.value.column == "extra"
    with pytest.raises(ConfigError):
        load_benchmarks(_write(tmp_path, [GOOD], top="figures"))
    with pytest.raises(ConfigError) as err:
        load_benchmarks(_write(tmp_path, ["not a mapping"]))
    assert err.value.column == "benchmarks[0]"
