"""Build canonical-typed pandas columns from numpy arrays, fast.

The generator works in numpy (times as float days since the start of the
history); these helpers turn its arrays into the dtypes of the data model:
``datetime64[us, UTC]`` floored to whole seconds, ``str``, ``boolean`` and
``Int64``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.core.types import SECONDS_PER_DAY

_US = 1_000_000


def seconds(days: np.ndarray) -> np.ndarray:
    """Whole seconds since the origin of float ``days`` (floored; NaN counts as 0)."""
    days = np.asarray(days, dtype=float)
    return np.floor(np.where(np.isnan(days), 0.0, days) * SECONDS_PER_DAY).astype(np.int64)


def timestamps(origin: pd.Timestamp, days: np.ndarray) -> pd.Series:
    """UTC timestamps ``origin + days``, floored to the second; NaN days become NaT."""
    days = np.asarray(days, dtype=float)
    return timestamps_at(origin, seconds(days), missing=np.isnan(days))


def timestamps_at(
    origin: pd.Timestamp, secs: np.ndarray, missing: np.ndarray | None = None
) -> pd.Series:
    """UTC timestamps ``origin + secs`` (whole seconds); entries where ``missing`` are NaT."""
    micros = origin.value // 1_000 + np.asarray(secs, dtype=np.int64) * _US  # value is in ns
    values = micros.astype("datetime64[us]")
    if missing is not None:
        values[np.asarray(missing, dtype=bool)] = np.datetime64("NaT")
    return pd.Series(values).dt.tz_localize("UTC")


def iso_text(origin: pd.Timestamp, secs: np.ndarray) -> pa.Array:
    """``2026-05-31T23:59:59+00:00`` text of ``origin + secs`` (what ``Timestamp.isoformat``
    writes for a UTC time in whole seconds), as an Arrow string array."""
    micros = origin.value // 1_000 + np.asarray(secs, dtype=np.int64) * _US
    plain = pc.cast(pa.array(micros.astype("datetime64[us]")).cast(pa.timestamp("s")), pa.string())
    return pc.binary_join_element_wise(pc.replace_substring(plain, " ", "T"), "+00:00", "")


def decimal_text(values: np.ndarray) -> pa.Array:
    """Plain decimal text of floats, as Python's ``repr`` writes them (``12500.0``, ``0.35``)."""
    unique, index = np.unique(np.asarray(values, dtype=float), return_inverse=True)
    return pa.array(unique.astype(str), type=pa.string()).take(pa.array(index.ravel()))


def strings(values: np.ndarray | list, missing: np.ndarray | None = None) -> pd.Series:
    """A ``str`` column; entries where ``missing`` is true (or None) are NaN."""
    values = np.asarray(values, dtype=object)
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    return pd.Series(pa.array(values, type=pa.string(), mask=mask), dtype="str")


def codes(
    labels: list | tuple | np.ndarray, index: np.ndarray, missing: np.ndarray | None = None
) -> pd.Series:
    """``labels[index]`` as a ``str`` column, for columns with few distinct values."""
    return take_strings(pa.array(list(labels), type=pa.string()), index, missing)


def take_strings(
    labels: pa.Array, index: np.ndarray, missing: np.ndarray | None = None
) -> pd.Series:
    """``labels[index]`` as a ``str`` column (``index < 0`` or ``missing`` gives NaN)."""
    index = np.asarray(index, dtype=np.int64)
    mask = index < 0 if missing is None else (missing | (index < 0))
    taken = labels.take(pa.array(np.where(mask, 0, index), mask=mask))
    return pd.Series(taken, dtype="str")


def booleans(values: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """A nullable ``boolean`` column."""
    values = np.asarray(values, dtype=bool)
    mask = np.zeros(values.shape, dtype=bool) if missing is None else np.asarray(missing, bool)
    return pd.Series(pd.arrays.BooleanArray(values, mask))


def integers(values: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """A nullable ``Int64`` column."""
    values = np.asarray(values, dtype=np.int64)
    mask = np.zeros(values.shape, dtype=bool) if missing is None else np.asarray(missing, bool)
    return pd.Series(pd.arrays.IntegerArray(values, mask))


def floats(values: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """A ``float64`` column; entries where ``missing`` is true are NaN."""
    out = np.asarray(values, dtype=float).copy()
    if missing is not None:
        out[np.asarray(missing, bool)] = np.nan
    return pd.Series(out)


def _id_labels(prefix: str, count: int, width: int) -> pa.Array:
    """Ids ``prefix + zero-padded 1..count`` as an Arrow string array."""
    numbers = pd.Series(np.arange(1, count + 1, dtype=np.int64)).astype("str")
    return pa.array((prefix + numbers.str.zfill(width)).to_numpy(dtype=object), type=pa.string())


def id_width(count: int) -> int:
    """Digits of zero-padded ids: at least 6, enough for ``count``."""
    return max(6, len(str(count)))


def prefixed_ids(prefix: str, count: int) -> pa.Array:
    """Ids ``prefix`` + zero-padded ``1..count`` (at least six digits), in order."""
    return _id_labels(prefix, count, id_width(count))


def deal_ids(n_deals: int) -> pa.Array:
    """Deal ids ``D000001`` ... in creation order."""
    return _id_labels("D", n_deals, id_width(n_deals))


def categorical_draw(
    rng: np.random.Generator, weights: dict[str, float] | np.ndarray, size: int
) -> np.ndarray:
    """Indices drawn with the given (normalised) weights."""
    w = np.asarray(list(weights.values()) if isinstance(weights, dict) else weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())
