"""Tests of analysis.core.yamlconfig: the strict YAML loading shared by stage configs and maps.

Expected messages and keys are read off the YAML written in each test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.core.errors import ConfigError
from analysis.core.stages import load_stages
from analysis.core.yamlconfig import check_keys, load_yaml_strict
from analysis.ingest.colmap import load_column_map


def test_check_keys_names_the_dotted_key_and_the_allowed_ones(tmp_path):
    check_keys({"a": 1}, {"a", "b"}, "tables.deals", tmp_path / "x.yaml")  # no error
    with pytest.raises(ConfigError) as info:
        check_keys({"a": 1, "zz": 2, "c": 3}, {"a", "b"}, "tables.deals", tmp_path / "x.yaml")
    assert info.value.column == "tables.deals.c"  # the first unknown key in sorted order
    assert "unknown key 'c' in tables.deals; allowed keys here: a, b." in str(info.value)
    assert info.value.file == str(tmp_path / "x.yaml")
    with pytest.raises(ConfigError) as info:
        check_keys({5: 1}, {"a"}, "", tmp_path / "x.yaml")  # non-text keys too
    assert info.value.column == "5" and "in the top level" in str(info.value)


def test_load_yaml_strict_rejects_duplicate_keys(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb:\n  c: 2\n  c: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key 'c' \\(line 4\\)") as info:
        load_yaml_strict(path)
    assert info.value.file == str(path) and info.value.column == "c"


def _error(loader, path: Path, text: str) -> ConfigError:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        loader(path)
    return info.value


def test_stage_config_and_column_map_report_unknown_keys_alike(tmp_path):
    stages = _error(
        load_stages,
        tmp_path / "stages.yaml",
        "pipelines:\n  default:\n    stages: [a]\n    won: won\n    lost: lost\n    stagse: [b]\n",
    )
    cmap = _error(
        load_column_map, tmp_path / "map.yaml", "tables:\n  deals:\n    file: d\n    fiel: x\n"
    )
    assert stages.column == "pipelines.default.stagse"
    assert cmap.column == "tables.deals.fiel"
    assert "unknown key 'stagse' in pipelines.default; allowed keys here:" in stages.message
    assert "unknown key 'fiel' in tables.deals; allowed keys here:" in cmap.message


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]
"""


def test_aliases_are_refused_so_nested_ones_cannot_exhaust_memory(tmp_path):
    # Issue 20: nine nested levels took 3.3 GB and ended in a MemoryError traceback.
    path = tmp_path / "map.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"aliases \(\*a, line 2\) are not allowed") as info:
        load_yaml_strict(path)
    assert info.value.file == str(path)


def test_an_oversized_config_file_is_refused_before_parsing(tmp_path):
    from analysis.core.yamlconfig import MAX_CONFIG_BYTES

    path = tmp_path / "stages.yaml"
    path.write_text("x: " + "y" * MAX_CONFIG_BYTES, encoding="utf-8")
    with pytest.raises(ConfigError, match="more than a config file needs"):
        load_yaml_strict(path)
