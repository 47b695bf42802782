"""Strict loading of hand-edited YAML configuration files.

The stage config (``config/stages.yaml``) and column maps
(``config/maps/*.yaml``) are written by hand, and a misspelt or repeated key
that is silently ignored corrupts every number computed from them. Both are
loaded with :func:`load_yaml_strict` (a repeated key is an error) and checked
with :func:`check_keys` (a key the format does not define is an error), so
every such mistake is reported the same way: a
:class:`~analysis.core.errors.ConfigError` naming the file and the dotted key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from analysis.core.errors import ConfigError

MAX_CONFIG_BYTES = 2_000_000
"""Largest config file read; hand-edited configs are a few kilobytes."""


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects duplicate mapping keys and aliases.

    Aliases (``*name`` repeating an ``&name`` anchor) are refused outright:
    hand-edited configs do not need them, and nested ones expand
    exponentially ("billion laughs": nine levels took 3.3 GB and ended in a
    MemoryError).
    """

    def compose_node(self, parent, index):  # PyYAML calls it for every node
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ConfigError(
                f"YAML aliases (*{event.anchor}, line {event.start_mark.line + 1}) are not "
                "allowed in config files; write the values out.",
                file=getattr(self, "name", None),
                column=f"*{event.anchor}",
            )
        return super().compose_node(parent, index)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} (line {key_node.start_mark.line + 1}); "
                "each key may appear once.",
                file=getattr(loader, "name", None),
                column=str(key),
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_strict(path: str | Path) -> object:
    """Parse a YAML file, rejecting duplicate keys.

    Parameters
    ----------
    path : str or Path
        The YAML file (read as UTF-8).

    Returns
    -------
    object
        The parsed document (a mapping for every config format here).

    Raises
    ------
    ConfigError
        When the file cannot be read, is larger than :data:`MAX_CONFIG_BYTES`,
        is not valid YAML, repeats a key in one mapping or uses an alias; the
        message names the file (and the key and line).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"the file has {size:,} bytes, more than a config file needs "
                f"({MAX_CONFIG_BYTES:,} at most); is it the right file?",
                file=path,
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file ({exc.strerror}).", file=path) from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except ConfigError as exc:
        raise ConfigError(exc.message, file=path, column=exc.column) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=path) from exc


def check_keys(found: Mapping, allowed: Iterable[str], where: str, path: str | Path) -> None:
    """Reject keys of a config mapping that its format does not define.

    Parameters
    ----------
    found : Mapping
        The mapping as parsed.
    allowed : iterable of str
        The keys the format defines at this place.
    where : str
        Dotted key path of the mapping (``"tables.deals"``); ``""`` for the
        top level of the file.
    path : str or Path
        The config file, for the message.

    Raises
    ------
    ConfigError
        Naming the first unknown key (in sorted order) as ``column``, as the
        dotted path ``where.key``, with the keys allowed there.
    """
    allowed = {str(k) for k in allowed}
    extra = sorted(str(k) for k in found if str(k) not in allowed)
    if extra:
        key = f"{where}.{extra[0]}" if where else extra[0]
        raise ConfigError(
            f"unknown key {extra[0]!r} in {where or 'the top level'}; allowed keys here: "
            f"{', '.join(sorted(allowed))}.",
            file=path,
            column=key,
        )
