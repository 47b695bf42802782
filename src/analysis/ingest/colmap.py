"""Column maps: how an export's files and columns map onto the canonical tables.

A column map is a YAML file (format in ``docs/column-maps.md``). Loading is
strict: unknown keys, unknown tables or columns, and required columns that
no entry maps are :class:`~analysis.core.errors.ConfigError` naming the key, so a
typo never silently drops a column. Without a map, :func:`identity_map`
describes an export whose files and columns carry the canonical names.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analysis.core import columns as c
from analysis.core import schema
from analysis.core.errors import ConfigError
from analysis.core.fileio import sha256_file
from analysis.core.yamlconfig import check_keys, load_yaml_strict

_TOP_KEYS = {"description", "pipeline", "options", "stage_aliases", "tables"}
_TABLE_KEYS = {"file", "options", "columns", "derive_stage_events", "changes_only", "optional"}
_COLUMN_KEYS = {"from", "constant", "values", "default", "allow_null"}
_DERIVE_KEYS = {"from", "dates"}
BACKDATED_CHOICES = ("quarantine", "flag")


@dataclass(frozen=True)
class ReadOptions:
    """How to read and parse one table's file.

    Attributes
    ----------
    timezone : str
        Zone of timestamps written without an offset.
    dayfirst : bool
        Whether ``03/04/2024`` is 3 April.
    decimal : str
        Decimal separator of numbers and money (``"."`` or ``","``).
    encoding, delimiter : str or None
        Text file encoding and delimiter; None detects them.
    backdated : {"quarantine", "flag"}
        What happens to a deal closed before it was created (after a
        date-only close on the creation day has become the end of that day):
        quarantined as ``closed_before_created``, or kept with ``backdated``
        set and no ``closed_at`` (outcome and amount count, durations skip
        it). CRM adapters flag: there such deals were logged after the fact.
    """

    timezone: str = "UTC"
    dayfirst: bool = False
    decimal: str = "."
    encoding: str | None = None
    delimiter: str | None = None
    backdated: str = "quarantine"


@dataclass(frozen=True)
class ColumnSpec:
    """Where one canonical column comes from.

    Attributes
    ----------
    source : str or None
        Source column name; None when ``constant`` is used.
    constant : object
        Value for every row when the export has no such column.
    values : Mapping or None
        Source value to canonical value (matched ignoring case and
        surrounding spaces); a value mapped to null becomes missing.
    default : object
        Canonical value for present source values not listed in ``values``;
        None lets them pass through unchanged.
    allow_null : bool
        The source may leave this required column empty.
    """

    source: str | None = None
    constant: object = None
    values: Mapping[str, object] | None = None
    default: object = None
    allow_null: bool = False


@dataclass(frozen=True)
class DeriveSpec:
    """Derive ``stage_events`` from the deals' current stage.

    Attributes
    ----------
    stage_column : str
        Canonical deals column holding the current stage.
    dates : Mapping[str, str]
        Stage to the canonical deals column or source column giving its
        entry time; stages not listed get no entry time.
    """

    stage_column: str = c.STAGE
    dates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableMap:
    """How one canonical table is read.

    Attributes
    ----------
    table : str
        Canonical table name.
    file : str
        File stem in the source folder.
    options : ReadOptions
    columns : Mapping[str, ColumnSpec] or None
        Canonical column to its spec; None means the file's columns carry
        canonical names (every canonical column present is taken as is).
    derive : DeriveSpec or None
        Only on ``deals``: derive stage events from the current stage.
    changes_only : bool
        Only on ``stage_events``: the file is a change history of every
        field (Salesforce's OpportunityHistory exported by hand), so a row
        whose stage equals the deal's previous row's is set aside as
        ``not_a_stage_change`` instead of splitting the stay.
    optional : bool
        The file may be absent from the source folder: the table is then
        skipped with a note (never on ``deals``).
    """

    table: str
    file: str
    options: ReadOptions = field(default_factory=ReadOptions)
    columns: Mapping[str, ColumnSpec] | None = None
    derive: DeriveSpec | None = None
    changes_only: bool = False
    optional: bool = False

    @property
    def allow_null(self) -> tuple[str, ...]:
        """Required columns this source may leave empty."""
        return tuple(k for k, v in (self.columns or {}).items() if v.allow_null)


@dataclass(frozen=True)
class ColumnMap:
    """A whole column map.

    Attributes
    ----------
    tables : Mapping[str, TableMap]
        The tables to read, by canonical name.
    path : Path or None
        The YAML file, or None for the identity map.
    sha256 : str or None
        Checksum of the YAML file.
    description : str
    pipeline : str or None
        Pipeline of the stage config to use (None: the default one).
    stage_aliases : Mapping[str, str]
        Extra stage aliases of this source.
    """

    tables: Mapping[str, TableMap]
    path: Path | None = None
    sha256: str | None = None
    description: str = ""
    pipeline: str | None = None
    stage_aliases: Mapping[str, str] = field(default_factory=dict)


def identity_map(stems: list[str]) -> ColumnMap:
    """The map of an export whose files and columns carry canonical names.

    Parameters
    ----------
    stems : list of str
        File stems found in the source folder; each must be a canonical table
        (the caller checks this).
    """
    tables = {s: TableMap(table=s, file=s) for s in stems if s in c.TABLES}
    return ColumnMap(tables=MappingProxyType(tables))


def _fail(message: str, path: Path, key: str) -> ConfigError:
    return ConfigError(message, file=path, column=key)


def _mapping(value: object, where: str, path: Path) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(f"{where} must be a mapping.", path, where)
    return value


def known_zone(name: object) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows."""
    if not isinstance(name, str) or not name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        return False
    return True


def _known_codec(name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return getattr(info, "_is_text_encoding", True)  # not base64, zlib, ...


# Option -> (is the value valid, what a valid value is), checked when the map is
# loaded so that a bad option never reaches a reader or parser.
_OPTION_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "timezone": (
        known_zone,
        "is not a known IANA time zone; use a name such as UTC, Europe/Berlin or America/New_York.",
    ),
    "dayfirst": (lambda v: isinstance(v, bool), "must be true or false."),
    "decimal": (lambda v: v in (".", ","), 'must be "." or "," (quoted).'),
    "encoding": (
        lambda v: v is None or _known_codec(v),
        "is not a text encoding Python knows; use e.g. utf-8, utf-8-sig or cp1252, or null "
        "to detect it.",
    ),
    "delimiter": (
        lambda v: v is None or (isinstance(v, str) and len(v) == 1),
        'must be one character such as "," or ";" (quoted), or null to detect it.',
    ),
    "backdated": (
        lambda v: v in BACKDATED_CHOICES,
        "must be quarantine or flag.",
    ),
}


def _options(raw: object, base: ReadOptions, where: str, path: Path) -> ReadOptions:
    spec = _mapping(raw, where, path)
    check_keys(spec, _OPTION_RULES, where, path)
    for key, value in spec.items():
        valid, rule = _OPTION_RULES[key]
        if not valid(value):
            raise _fail(f"{key} {value!r} {rule}", path, f"{where}.{key}")
    return replace(base, **{str(k): v for k, v in spec.items()})


def _column(raw: object, where: str, path: Path) -> ColumnSpec:
    if isinstance(raw, str):
        return ColumnSpec(source=raw)
    spec = _mapping(raw, where, path)
    check_keys(spec, _COLUMN_KEYS, where, path)
    if ("from" in spec) == ("constant" in spec):
        raise _fail("give exactly one of 'from' (source column) or 'constant'.", path, where)
    values = spec.get("values")
    if values is not None and not isinstance(values, Mapping):
        raise _fail("values must map source values to canonical ones.", path, f"{where}.values")
    if "default" in spec and values is None:
        raise _fail("'default' needs a 'values' mapping.", path, f"{where}.default")
    for key in values or {}:
        if isinstance(key, bool) or key is None:
            raise _fail(
                f"the key {key!r} under values is not text: YAML reads unquoted Yes/No/On/"
                'Off/true/false/null as booleans or null; quote it ("Yes": won).',
                path,
                f"{where}.values",
            )
    if not isinstance(spec.get("allow_null", False), bool):
        raise _fail("allow_null must be true or false.", path, f"{where}.allow_null")
    return ColumnSpec(
        source=None if "from" not in spec else str(spec["from"]),
        constant=spec.get("constant"),
        values=None if values is None else MappingProxyType({str(k): v for k, v in values.items()}),
        default=spec.get("default"),
        allow_null=bool(spec.get("allow_null", False)),
    )


def _columns(table: str, raw: object, where: str, path: Path) -> dict[str, ColumnSpec]:
    spec = _mapping(raw, where, path)
    known = schema.column_specs(table)
    check_keys(spec, set(known), where, path)
    cols = {str(k): _column(v, f"{where}.{k}", path) for k, v in spec.items()}
    for name in schema.required_columns(table):
        if name not in cols:
            raise _fail(
                f"required column {name!r} of table {table!r} is not mapped; map it from a "
                "source column or give a constant.",
                path,
                f"{where}.{name}",
            )
    for name, col in cols.items():
        if col.allow_null and name not in schema.required_columns(table):
            raise _fail(
                f"allow_null applies to required columns only; {name!r} is optional.",
                path,
                f"{where}.{name}.allow_null",
            )
    return cols


def _derive(raw: object, cols: Mapping[str, ColumnSpec] | None, where: str, path: Path):
    spec = _mapping(raw, where, path)
    check_keys(spec, _DERIVE_KEYS, where, path)
    stage_col = str(spec.get("from", c.STAGE))
    if stage_col not in schema.column_specs(c.DEALS):
        raise _fail(f"{stage_col!r} is not a deals column.", path, f"{where}.from")
    if cols is not None and stage_col not in cols:
        raise _fail(
            f"deals column {stage_col!r} is not mapped, so there is no stage to derive from.",
            path,
            f"{where}.from",
        )
    dates = _mapping(spec.get("dates"), f"{where}.dates", path)
    return DeriveSpec(
        stage_column=stage_col,
        dates=MappingProxyType({str(k): str(v) for k, v in dates.items()}),
    )


def _table(table: str, raw: object, base: ReadOptions, path: Path) -> TableMap:
    where = f"tables.{table}"
    spec = _mapping(raw, where, path)
    check_keys(spec, _TABLE_KEYS, where, path)
    if "changes_only" in spec and (
        table != c.STAGE_EVENTS or not isinstance(spec["changes_only"], bool)
    ):
        raise _fail(
            "changes_only belongs under stage_events and is true or false.",
            path,
            f"{where}.changes_only",
        )
    if "optional" in spec and (table == c.DEALS or not isinstance(spec["optional"], bool)):
        raise _fail(
            "optional is true or false, and deals are never optional.", path, f"{where}.optional"
        )
    if "derive_stage_events" in spec and table != c.DEALS:
        raise _fail(
            "derive_stage_events belongs under deals.", path, f"{where}.derive_stage_events"
        )
    cols = (
        None
        if spec.get("columns") is None
        else _columns(table, spec["columns"], f"{where}.columns", path)
    )
    derive = None
    if "derive_stage_events" in spec:
        derive = _derive(spec["derive_stage_events"], cols, f"{where}.derive_stage_events", path)
    return TableMap(
        table=table,
        file=str(spec.get("file", table)),
        options=_options(spec.get("options"), base, f"{where}.options", path),
        columns=None if cols is None else MappingProxyType(cols),
        derive=derive,
        changes_only=bool(spec.get("changes_only", False)),
        optional=bool(spec.get("optional", False)),
    )


def load_column_map(path: str | Path) -> ColumnMap:
    """Load and validate a column map.

    Parameters
    ----------
    path : str or Path
        The YAML file (format: ``docs/column-maps.md``).

    Returns
    -------
    ColumnMap

    Raises
    ------
    ConfigError
        On unknown keys, tables or columns, a required column that is not
        mapped, a map without ``deals``, or malformed entries; the message
        names the file and key.
    """
    path = Path(path)
    raw = load_yaml_strict(path)
    if not isinstance(raw, Mapping):
        raise ConfigError("a column map must be a mapping with 'tables'.", file=path)
    check_keys(raw, _TOP_KEYS, "", path)
    base = _options(raw.get("options"), ReadOptions(), "options", path)
    tables_raw = _mapping(raw.get("tables"), "tables", path)
    check_keys(tables_raw, set(c.TABLES), "tables", path)
    if c.DEALS not in tables_raw:
        raise _fail("the map has no 'deals' table; deals are mandatory.", path, "tables.deals")
    tables = {str(t): _table(str(t), spec, base, path) for t, spec in tables_raw.items()}
    aliases = _mapping(raw.get("stage_aliases"), "stage_aliases", path)
    pipeline = raw.get("pipeline")
    return ColumnMap(
        tables=MappingProxyType(tables),
        path=path,
        sha256=sha256_file(path),
        description=str(raw.get("description") or ""),
        pipeline=None if pipeline is None else str(pipeline),
        stage_aliases=MappingProxyType({str(k): str(v) for k, v in aliases.items()}),
    )
