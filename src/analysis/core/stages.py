"""The pipeline definition: ordered open stages, terminal stages and aliases.

``config/stages.yaml`` is the single source of stage names. Loading it is
strict (duplicate stages, unknown keys and aliases that point nowhere are
errors naming the key) because a silently mis-mapped stage corrupts every
funnel number downstream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import pandas as pd
import pyarrow as pa
import yaml

from analysis.core import paths
from analysis.core.errors import ConfigError
from analysis.core.fileio import sha256_file
from analysis.core.yamlconfig import check_keys, load_yaml_strict

_TOP_KEYS = {"default_pipeline", "pipelines"}
_PIPELINE_KEYS = {"stages", "won", "lost", "aliases", "exit_criteria"}
_SPACES = re.compile(r"\s+")


def normalise_label(label: str) -> str:
    """Return the matching key of a stage label: case-folded, spaces collapsed."""
    return _SPACES.sub(" ", str(label)).strip().casefold()


@dataclass(frozen=True)
class Pipeline:
    """One sales pipeline.

    Attributes
    ----------
    name : str
        Pipeline name (``default`` unless the config defines more).
    stages : tuple of str
        Open stages in process order.
    won, lost : str
        Terminal stage names.
    aliases : Mapping[str, str]
        CRM label (as written in the config) to canonical stage.
    exit_criteria : Mapping[str, tuple of str]
        Open stage to the deal fields that must be set (a flag true, any other
        field non-blank) before a deal advances out of that stage; empty when
        the config names none (``analysis.pipeline.process_adherence``).
    """

    name: str
    stages: tuple[str, ...]
    won: str
    lost: str
    aliases: Mapping[str, str] = field(default_factory=dict)
    exit_criteria: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def all_stages(self) -> tuple[str, ...]:
        """Open stages followed by the won and lost stages."""
        return (*self.stages, self.won, self.lost)

    @property
    def terminal_stages(self) -> tuple[str, str]:
        """The won and lost stages."""
        return (self.won, self.lost)

    def order(self, stage: str) -> int:
        """Position of a canonical stage; won and lost share the last position."""
        if stage in self.terminal_stages:
            return len(self.stages)
        if stage not in self.stages:
            raise ValueError(
                f"{stage!r} is not a stage of pipeline {self.name!r}: {', '.join(self.all_stages)}."
            )
        return self.stages.index(stage)

    @cached_property
    def _lookup(self) -> dict[str, str]:
        table = {normalise_label(s): s for s in self.all_stages}
        table.update({normalise_label(k): v for k, v in self.aliases.items()})
        return table

    def normalise(self, label: object) -> str | None:
        """Map a CRM stage label to its canonical stage, or None if unknown."""
        if label is None or (isinstance(label, float) and pd.isna(label)):
            return None
        return self._lookup.get(normalise_label(str(label)))

    def normalise_series(
        self, labels: pd.Series, *, unknown: Literal["missing", "keep"] = "missing"
    ) -> pd.Series:
        """Vectorised :meth:`normalise` of a column of CRM stage labels.

        Parameters
        ----------
        labels : pandas.Series
            Stage labels as exported (any text or object dtype).
        unknown : {"missing", "keep"}
            What a label that is neither a stage nor an alias becomes: missing,
            or the label itself without surrounding spaces (so that validation
            can report it as an unknown stage).

        Returns
        -------
        pandas.Series
            Canonical stage names, dtype ``string``, on the index of
            ``labels``; missing labels stay missing.

        Notes
        -----
        Each distinct label is looked up once (``pandas.factorize``) and the
        results are spread back to the rows with one Arrow ``take``: exports
        repeat a few labels millions of times, so the cost is one hash pass.
        """
        if unknown not in ("missing", "keep"):
            raise ValueError(f'unknown must be "missing" or "keep", not {unknown!r}.')
        codes, uniques = pd.factorize(labels, use_na_sentinel=True)
        lookup = self._lookup
        mapped = [lookup.get(normalise_label(u)) for u in uniques]
        if unknown == "keep":
            mapped = [
                str(u).strip() if m is None else m for m, u in zip(mapped, uniques, strict=True)
            ]
        taken = pa.array(mapped, type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
        return pd.Series(pd.array(taken, dtype=pd.StringDtype("pyarrow")), index=labels.index)


@dataclass(frozen=True)
class StageConfig:
    """All pipelines of a stage configuration file."""

    pipelines: Mapping[str, Pipeline]
    default: str
    sha256: str = ""

    def pipeline(self, name: str | None = None) -> Pipeline:
        """Return the named pipeline, or the default one."""
        key = self.default if name is None else name
        if key not in self.pipelines:
            known = ", ".join(sorted(self.pipelines))
            raise ValueError(f"Unknown pipeline {key!r}; the stage config defines: {known}.")
        return self.pipelines[key]


def _parse_pipeline(name: str, spec: object, path: Path) -> Pipeline:
    where = f"pipelines.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a mapping.", file=path, column=where)
    check_keys(spec, _PIPELINE_KEYS, where, path)
    for key in ("stages", "won", "lost"):
        if key not in spec:
            raise ConfigError(f"{where} lacks {key!r}.", file=path, column=f"{where}.{key}")
    stages = spec["stages"]
    if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
        raise ConfigError(
            f"{where}.stages must be a non-empty list of stage names.",
            file=path,
            column=f"{where}.stages",
        )
    for key in ("won", "lost"):
        if not isinstance(spec[key], str) or not spec[key].strip():
            raise ConfigError(
                f"{where}.{key} must be a stage name.", file=path, column=f"{where}.{key}"
            )
    won, lost = spec["won"], spec["lost"]
    names = [*stages, won, lost]
    seen: set[str] = set()
    for stage in names:
        if stage in seen:
            raise ConfigError(
                f"stage {stage!r} is listed twice in {where}; each stage appears once.",
                file=path,
                column=f"{where}.stages",
            )
        seen.add(stage)
    aliases = spec.get("aliases") or {}
    if not isinstance(aliases, Mapping):
        raise ConfigError(
            f"{where}.aliases must be a mapping.", file=path, column=f"{where}.aliases"
        )
    canonical = {normalise_label(s): s for s in names}
    folded: dict[str, str] = {}
    for label, target in aliases.items():
        key = f"{where}.aliases.{label}"
        if target not in seen:
            raise ConfigError(
                f"alias {label!r} points to {target!r}, which is not a stage of {where} "
                f"({', '.join(names)}).",
                file=path,
                column=key,
            )
        norm = normalise_label(label)
        if norm in canonical and canonical[norm] != target:
            raise ConfigError(
                f"alias {label!r} is spelled like the stage {canonical[norm]!r} but points to "
                f"{target!r}; a stage name cannot be remapped.",
                file=path,
                column=key,
            )
        if norm in folded:
            raise ConfigError(
                f"aliases {folded[norm]!r} and {label!r} are the same label once case and "
                "spaces are ignored; keep one.",
                file=path,
                column=key,
            )
        folded[norm] = str(label)
    return Pipeline(
        name=name,
        stages=tuple(stages),
        won=won,
        lost=lost,
        aliases=MappingProxyType({str(k): str(v) for k, v in aliases.items()}),
        exit_criteria=_parse_exit_criteria(spec.get("exit_criteria"), stages, where, path),
    )


def _parse_exit_criteria(
    spec: object, stages: list[str], where: str, path: Path
) -> Mapping[str, tuple[str, ...]]:
    """``{open stage: [field, ...]}``: the fields that must be set before leaving the stage."""
    where = f"{where}.exit_criteria"
    if spec is None:
        return MappingProxyType({})
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{where} must map open stages to lists of deal fields.", file=path, column=where
        )
    out: dict[str, tuple[str, ...]] = {}
    for stage, fields in spec.items():
        key = f"{where}.{stage}"
        if stage not in stages:
            raise ConfigError(
                f"exit criteria name {stage!r}, which is not an open stage of this pipeline "
                f"({', '.join(stages)}); a deal leaves only open stages.",
                file=path,
                column=key,
            )
        if isinstance(fields, str):
            fields = [fields]
        if (
            not isinstance(fields, list)
            or not fields
            or not all(isinstance(f, str) and f.strip() for f in fields)
        ):
            raise ConfigError(
                f"{key} must be a non-empty list of deal field names.", file=path, column=key
            )
        if len(set(fields)) < len(fields):
            raise ConfigError(f"{key} lists a field twice.", file=path, column=key)
        out[str(stage)] = tuple(fields)
    return MappingProxyType(out)


def load_stages(path: str | Path | None = None) -> StageConfig:
    """Load and validate a stage configuration.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; defaults to ``config/stages.yaml``.

    Returns
    -------
    StageConfig

    Raises
    ------
    ConfigError
        On duplicate stages or keys, unknown keys, aliases pointing to no stage,
        or a default pipeline that is not defined; the message names the key.
    """
    path = Path(path) if path is not None else paths.STAGES_FILE
    raw = load_yaml_strict(path)
    if not isinstance(raw, Mapping):
        raise ConfigError("the stage config must be a mapping with 'pipelines'.", file=path)
    check_keys(raw, _TOP_KEYS, "", path)
    specs = raw.get("pipelines")
    if not isinstance(specs, Mapping) or not specs:
        raise ConfigError(
            "'pipelines' must define at least one pipeline.", file=path, column="pipelines"
        )
    pipelines = {str(n): _parse_pipeline(str(n), s, path) for n, s in specs.items()}
    default = str(raw.get("default_pipeline", next(iter(pipelines))))
    if default not in pipelines:
        raise ConfigError(
            f"default_pipeline {default!r} is not defined under 'pipelines'.",
            file=path,
            column="default_pipeline",
        )
    return StageConfig(
        pipelines=MappingProxyType(pipelines), default=default, sha256=sha256_file(path)
    )


def stages_yaml(config: StageConfig, header: str = "") -> str:
    """The YAML text of a stage configuration, readable by :func:`load_stages`.

    Ingest writes it beside the processed data when the pipeline comes from
    the export itself (a CRM's own stage list), so every later reader uses
    the pipeline the data was checked against.
    """
    doc = {
        "default_pipeline": config.default,
        "pipelines": {
            name: {
                "stages": list(p.stages),
                "won": p.won,
                "lost": p.lost,
                "aliases": dict(p.aliases),
                **(
                    {"exit_criteria": {k: list(v) for k, v in p.exit_criteria.items()}}
                    if p.exit_criteria
                    else {}
                ),
            }
            for name, p in config.pipelines.items()
        },
    }
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
