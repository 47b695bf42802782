"""Tests of analysis.core.stages: the shipped pipeline definition and strict loading."""

from __future__ import annotations

import hashlib
from pathlib import Path
from textwrap import dedent

import pandas as pd
import pytest

from analysis.core import paths
from analysis.core.errors import ConfigError, InputError
from analysis.core.stages import Pipeline, StageConfig, load_stages, normalise_label, stages_yaml

# Provenance: DESIGN.md, "Canonical data model": "the ordered open stages
# (prospecting, qualification, discovery, presentation, proposal, negotiation
# by default), the terminal won/lost stages".
DESIGN_OPEN_STAGES = (
    "prospecting",
    "qualification",
    "discovery",
    "presentation",
    "proposal",
    "negotiation",
)

VALID = """\
default_pipeline: default
pipelines:
  default:
    stages: [prospecting, qualification, proposal]
    won: won
    lost: lost
    aliases:
      Lead: prospecting
      Closed Won: won
"""


def write(tmp_path: Path, text: str, name: str = "stages.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped() -> StageConfig:
    return load_stages()


@pytest.fixture(scope="module")
def pipeline(shipped: StageConfig) -> Pipeline:
    return shipped.pipeline()


# --- the shipped config -----------------------------------------------------------


def test_shipped_config_loads_from_config_dir(shipped: StageConfig) -> None:
    # Provenance: paths.STAGES_FILE is the default path; it declares one pipeline
    # named "default" and default_pipeline: default.
    assert paths.STAGES_FILE.name == "stages.yaml"
    assert list(shipped.pipelines) == ["default"]
    assert shipped.default == "default"
    assert shipped.pipeline() is shipped.pipeline("default")


def test_default_pipeline_order(pipeline: Pipeline) -> None:
    assert pipeline.stages == DESIGN_OPEN_STAGES
    assert (pipeline.won, pipeline.lost) == ("won", "lost")
    assert pipeline.all_stages == (*DESIGN_OPEN_STAGES, "won", "lost")
    assert pipeline.terminal_stages == ("won", "lost")


def test_order_positions(pipeline: Pipeline) -> None:
    # Provenance: Pipeline.order docstring: open stages by index, won and lost
    # share the last position (= number of open stages, 6 here).
    assert [pipeline.order(s) for s in DESIGN_OPEN_STAGES] == [0, 1, 2, 3, 4, 5]
    assert pipeline.order("won") == pipeline.order("lost") == 6
    with pytest.raises(ValueError):
        pipeline.order("not-a-stage")


def test_every_shipped_alias_targets_a_stage(pipeline: Pipeline) -> None:
    assert pipeline.aliases  # the shipped file defines CRM spellings
    assert set(pipeline.aliases.values()) <= set(pipeline.all_stages)


def test_canonical_stage_names_match_themselves(pipeline: Pipeline) -> None:
    for stage in pipeline.all_stages:
        assert pipeline.normalise(stage) == stage
        assert pipeline.normalise(stage.upper()) == stage


def test_unknown_pipeline_name(shipped: StageConfig) -> None:
    with pytest.raises(ValueError, match="Unknown pipeline 'nope'.*default"):
        shipped.pipeline("nope")


# --- matching ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        # Provenance: config/stages.yaml aliases "Closed Won: won",
        # "Engaging: qualification", "Proposal/Price Quote: proposal",
        # "Demo Scheduled: presentation"; matching ignores case and repeated or
        # surrounding spaces (stages.yaml header comment).
        ("closed  WON", "won"),
        ("  Closed Won ", "won"),
        ("Engaging", "qualification"),
        ("engaging", "qualification"),
        ("PROPOSAL/price quote", "proposal"),
        ("demo\tscheduled", "presentation"),
        ("Closed Lost", "lost"),
        ("negotiation", "negotiation"),
    ],
)
def test_alias_matching_ignores_case_and_spaces(
    pipeline: Pipeline, label: str, expected: str
) -> None:
    assert pipeline.normalise(label) == expected


@pytest.mark.parametrize("label", ["Closed Maybe", "", "won-ish", None, float("nan")])
def test_unknown_or_missing_label_is_none(pipeline: Pipeline, label: object) -> None:
    assert pipeline.normalise(label) is None


def test_normalise_label() -> None:
    # Hand calculation: casefold, collapse whitespace runs, strip.
    assert normalise_label("  Closed \t  WON ") == "closed won"
    assert normalise_label("Straße") == "strasse"  # casefold, not lower


def test_normalise_series_vectorised_with_na(pipeline: Pipeline) -> None:
    labels = pd.Series(
        ["closed  WON", None, "Engaging", "no such stage", pd.NA, "Lead"],
        index=[10, 11, 12, 13, 14, 15],
        dtype=object,
    )
    out = pipeline.normalise_series(labels)
    assert list(out.index) == [10, 11, 12, 13, 14, 15]  # index kept for row tracing
    assert out.dtype == "string"
    # Provenance: aliases in config/stages.yaml; unknown or missing become NA.
    assert out.tolist() == ["won", pd.NA, "qualification", pd.NA, pd.NA, "prospecting"]


def test_normalise_series_agrees_with_normalise(pipeline: Pipeline) -> None:
    labels = pd.Series([*pipeline.aliases, *pipeline.all_stages, "x", None], dtype="str")
    out = pipeline.normalise_series(labels)
    expected = [pipeline.normalise(v) for v in labels]
    assert [None if pd.isna(v) else v for v in out] == expected


def test_normalise_series_empty(pipeline: Pipeline) -> None:
    out = pipeline.normalise_series(pd.Series([], dtype="str"))
    assert out.empty
    assert out.dtype == "string"


# --- strict loading ---------------------------------------------------------------


def test_valid_minimal_config(tmp_path: Path) -> None:
    cfg = load_stages(write(tmp_path, VALID))
    p = cfg.pipeline()
    assert p.all_stages == ("prospecting", "qualification", "proposal", "won", "lost")
    assert p.normalise("lead") == "prospecting"


def test_default_pipeline_defaults_to_first(tmp_path: Path) -> None:
    text = VALID.replace("default_pipeline: default\n", "").replace("  default:", "  main:")
    cfg = load_stages(write(tmp_path, text))
    assert cfg.default == "main"


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_stages(path)
    exc = info.value
    assert isinstance(exc, InputError)  # the CLI turns it into exit code 2
    assert exc.file == str(path)
    assert str(path) in str(exc)
    return exc


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param(
            VALID.replace(
                "    stages: [prospecting, qualification, proposal]",
                "    stages: [prospecting, qualification, prospecting]",
            ),
            "'prospecting'",
            id="duplicate-stage-in-list",
        ),
        pytest.param(
            VALID.replace("    lost: lost", "    lost: proposal"),
            "'proposal'",
            id="terminal-repeats-open-stage",
        ),
        pytest.param(
            VALID.replace("    won: won\n", "    won: won\n    won: closed_won\n"),
            "'won'",
            id="duplicate-yaml-key-won",
        ),
        pytest.param(
            VALID.replace(
                "      Lead: prospecting\n", "      Lead: prospecting\n      Lead: qualification\n"
            ),
            "'Lead'",
            id="duplicate-alias-key",
        ),
        pytest.param(VALID + "colour: blue\n", "'colour'", id="unknown-top-level-key"),
        pytest.param(
            VALID.replace("    won: won\n", "    won: won\n    stagse: [a]\n"),
            "'stagse'",
            id="unknown-pipeline-key",
        ),
        pytest.param(
            VALID.replace("      Lead: prospecting", "      Demo: presentation"),
            "'Demo'",
            id="alias-pointing-nowhere",
        ),
        pytest.param(
            VALID.replace("default_pipeline: default", "default_pipeline: enterprise"),
            "default_pipeline",
            id="default-pipeline-undefined",
        ),
        pytest.param(
            VALID.replace("[prospecting, qualification, proposal]", "[]"),
            "pipelines.default.stages",
            id="empty-stages",
        ),
        pytest.param(
            VALID.replace("    lost: lost\n", ""), "pipelines.default.lost", id="missing-lost"
        ),
        pytest.param("default_pipeline: default\npipelines: {}\n", "pipelines", id="no-pipelines"),
        pytest.param(
            "pipelines:\n  default:\n    stages: [a]\n    won: won\n    lost: lost\n"
            "    aliases: [Lead]\n",
            "pipelines.default.aliases",
            id="aliases-not-a-mapping",
        ),
    ],
)
def test_strictness_names_the_key_and_file(tmp_path: Path, text: str, key: str) -> None:
    exc = _error(write(tmp_path, text))
    assert key in str(exc)


def test_duplicate_key_error_gives_line(tmp_path: Path) -> None:
    # Hand count: the second `won:` is line 6 (VALID's `won: won` is line 5).
    path = write(tmp_path, VALID.replace("    won: won\n", "    won: won\n    won: lost\n"))
    exc = _error(path)
    assert exc.column == "won"
    assert "line 6" in str(exc)


def test_alias_error_column_is_the_alias_path(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("Closed Won: won", "Closed Won: closed_won"))
    exc = _error(path)
    assert exc.column == "pipelines.default.aliases.Closed Won"
    assert "'closed_won'" in str(exc)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    _error(write(tmp_path, "pipelines: [unclosed\n"))
    _error(write(tmp_path, "- just\n- a list\n"))
    exc = _error(tmp_path / "absent.yaml")
    assert "cannot read" in str(exc)


# --- checksum ---------------------------------------------------------------------


def test_sha256_is_the_file_digest_and_changes_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    first = load_stages(path).sha256
    # Provenance: hashlib on the same bytes (independent computation).
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(VALID + "# a comment changes the file, so the digest\n", encoding="utf-8")
    second = load_stages(path).sha256
    assert second != first
    assert second == hashlib.sha256(path.read_bytes()).hexdigest()


def test_shipped_sha256_matches_file(shipped: StageConfig) -> None:
    assert shipped.sha256 == hashlib.sha256(paths.STAGES_FILE.read_bytes()).hexdigest()


# --- known gaps (see the foundation review) -----------------------------------------


def test_alias_cannot_remap_a_canonical_stage(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("Closed Won: won", "Lost: won"))
    with pytest.raises(ConfigError, match="Lost"):
        load_stages(path)


def test_aliases_colliding_after_folding_are_rejected(tmp_path: Path) -> None:
    text = VALID.replace(
        "      Closed Won: won\n", "      Closed Won: won\n      closed  won: lost\n"
    )
    with pytest.raises(ConfigError, match="closed"):
        load_stages(write(tmp_path, text))


def test_null_terminal_stage_is_rejected(tmp_path: Path) -> None:
    # `won: null` used to load as a stage called "None".
    path = write(tmp_path, VALID.replace("won: won", "won: null", 1))
    with pytest.raises(ConfigError, match="won"):
        load_stages(path)


def test_order_of_unknown_stage_names_the_pipeline() -> None:
    pipeline = load_stages().pipeline()
    with pytest.raises(ValueError, match="not a stage of pipeline 'default'"):
        pipeline.order("closing")


# --- exit criteria (process adherence) ------------------------------------------------


def test_exit_criteria_are_optional(tmp_path: Path) -> None:
    assert dict(load_stages(write(tmp_path, VALID)).pipeline().exit_criteria) == {}


def test_shipped_exit_criteria_name_open_stages_and_sample_flags(pipeline: Pipeline) -> None:
    # Provenance: issue 16 item 6 - budget confirmed before proposal, decision maker
    # identified before negotiation (the sample's qual_budget and qual_authority).
    assert dict(pipeline.exit_criteria) == {
        "presentation": ("qual_budget",),
        "proposal": ("qual_authority",),
    }


def test_exit_criteria_load_and_round_trip(tmp_path: Path) -> None:
    text = VALID + "    exit_criteria:\n      qualification: [qual_budget, qual_need]\n"
    config = load_stages(write(tmp_path, text))
    assert dict(config.pipeline().exit_criteria) == {"qualification": ("qual_budget", "qual_need")}
    again = load_stages(write(tmp_path, stages_yaml(config), "copy.yaml"))
    assert dict(again.pipeline().exit_criteria) == dict(config.pipeline().exit_criteria)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("      won: [qual_budget]\n", "not an open stage"),
        ("      closing: [qual_budget]\n", "not an open stage"),
        ("      qualification: []\n", "non-empty list"),
        ("      qualification: [qual_budget, qual_budget]\n", "twice"),
        ("      qualification: {a: b}\n", "non-empty list"),
    ],
)
def test_bad_exit_criteria_name_the_key(tmp_path: Path, spec: str, match: str) -> None:
    text = VALID + "    exit_criteria:\n" + spec
    with pytest.raises(ConfigError, match=match) as err:
        load_stages(write(tmp_path, text))
    assert "exit_criteria" in str(err.value)


def test_exit_criteria_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must map open stages"):
        load_stages(write(tmp_path, VALID + "    exit_criteria: [qual_budget]\n"))
