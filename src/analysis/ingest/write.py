"""Atomic output of an ingest run: canonical Parquet, quarantine and manifest.

Everything is first written to a temporary folder beside ``out``
(:class:`OutputStage`), which then replaces ``out`` by renaming, so a failed run leaves ``out`` exactly as it was
and readers never see a half-written folder. Rows are sorted by a stable key
and Parquet files carry no run time, so the same input gives byte-identical
files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.core import columns as c
from analysis.core import paths
from analysis.core.errors import InputError, writing

# Sort order of each written table: its key, then times, for a stable layout.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    c.DEALS: (c.DEAL_ID,),
    c.STAGE_EVENTS: (c.DEAL_ID, c.ENTERED_AT, c.STAGE),
    c.ACTIVITIES: (c.DEAL_ID, c.AT),
    c.ASSIGNMENTS: (c.EXPERIMENT_ID, c.UNIT_ID),
    c.REPS: (c.REP_ID,),
    c.SPEND: (c.PERIOD, c.CHANNEL),
    c.FEEDBACK: (c.DEAL_ID, c.COLLECTED_AT),
    c.DEAL_CHANGES: (c.DEAL_ID, c.CHANGED_AT, c.FIELD),
    c.LEADS: (c.LEAD_ID,),
    c.ORDERS: (c.CUSTOMER_ID, c.ORDERED_AT, c.ORDER_ID),
    c.SUBSCRIPTIONS: (c.CUSTOMER_ID, c.EFFECTIVE_AT, c.CHANGE_TYPE),
    c.ONBOARDING: (c.DEAL_ID,),
}
_OURS = {paths.MANIFEST_FILENAME, paths.QUARANTINE_DIRNAME, paths.STAGES_COPY_FILENAME}


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_out_dir(out: str | Path, source: str | Path) -> Path:
    """Resolve the output folder and refuse places ingest must not write.

    Raises
    ------
    InputError
        When ``out`` is inside ``paths.RAW_DIR`` (raw data is immutable),
        equals or contains the source folder, or is an existing folder that
        holds files other than a previous ingest output (replacing it would
        delete them).
    """
    out = Path(out).expanduser().resolve()
    source = Path(source).expanduser().resolve()
    raw_dir = Path(paths.RAW_DIR).expanduser().resolve()
    if _is_within(out, raw_dir):
        raise InputError(
            f"refusing to write into the raw data folder ({raw_dir}); raw inputs are "
            "immutable. Choose another --out, e.g. data/processed.",
            file=out,
        )
    if _is_within(source, out):
        raise InputError(
            "the output folder is or contains the source folder; ingest replaces the "
            "output folder as a whole, so choose a separate --out.",
            file=out,
        )
    if out.exists() and not out.is_dir():
        raise InputError("the output path exists and is not a folder.", file=out)
    _check_writable_place(out)
    if out.is_dir():
        foreign = [
            p.name
            for p in out.iterdir()
            if not p.name.startswith(".") and p.name not in _OURS and p.suffix != ".parquet"
        ]
        if foreign and not (out / paths.MANIFEST_FILENAME).exists():
            raise InputError(
                f"the output folder holds other files ({', '.join(sorted(foreign)[:3])}); "
                "ingest replaces the folder as a whole, so give an empty or new folder.",
                file=out,
            )
    return out


def _check_writable_place(out: Path) -> None:
    """Refuse, before any work, an output the final rename or the staging cannot reach.

    The output is built beside ``out`` and renamed over it: that needs a
    folder (not a file) above it that this user may write, and ``out`` must
    not be a mount point (a rename cannot replace one).
    """
    if os.path.ismount(out):
        raise InputError(
            "the output folder is a mount point, which ingest cannot replace as a whole; "
            "give a folder inside it, e.g. --out <mount>/processed.",
            file=out,
        )
    parent = next((p for p in out.parents if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise InputError(
            f"the output folder would be under {parent}, which is a file, not a folder.",
            file=out,
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"this user may not write in {parent}; choose an --out you can write to.",
            file=out,
        )


def _sort_codes(values: pd.Series, order: Mapping[str, int] | None) -> np.ndarray:
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy(dtype="datetime64[us]").view(np.int64)  # NaT sorts first
    if order is not None:
        codes, uniques = pd.factorize(values)
        ranks = np.array([order.get(u, len(order)) for u in uniques] + [-1], dtype=np.int64)
        return ranks[codes]  # code -1 (missing) takes the last entry: -1, first
    return pd.factorize(values, sort=True, use_na_sentinel=True)[0]


def sort_table(
    table: str,
    frame: pd.DataFrame,
    stage_order: Mapping[str, int] | None = None,
    *,
    deal_codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rows ordered by :data:`SORT_KEYS` (stable: ties keep their input order).

    Parameters
    ----------
    table : str
        Canonical table name.
    frame : pandas.DataFrame
        Canonical rows.
    stage_order : Mapping[str, int], optional
        Pipeline position of each stage, to order same-time stage events.
    deal_codes : numpy.ndarray, optional
        For tables keyed by ``deal_id`` first: each row's position among the
        sorted deal ids, when the caller already has it (saves hashing
        millions of strings again).
    """
    keys = [k for k in SORT_KEYS.get(table, ()) if k in frame]
    if not keys or len(frame) < 2:
        return frame.reset_index(drop=True)
    codes = []
    for k in keys:
        if k == c.DEAL_ID and deal_codes is not None and k == keys[0]:
            codes.append(np.asarray(deal_codes, dtype=np.int64))
        else:
            codes.append(_sort_codes(frame[k], stage_order if k == c.STAGE else None))
    if _is_sorted(codes):  # exports often arrive in key order: skip the sort and the copy
        return frame.reset_index(drop=True)
    return frame.iloc[np.lexsort(codes[::-1])].reset_index(drop=True)


def _is_sorted(codes: list[np.ndarray]) -> bool:
    """Whether rows are already in lexicographic order of ``codes`` (one O(n) pass per key)."""
    undecided = np.ones(len(codes[0]) - 1, dtype=bool)
    for key in codes:
        step = np.diff(key)
        if (undecided & (step < 0)).any():
            return False
        undecided &= step == 0
    return True


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)


class OutputStage:
    """A temporary output folder beside ``out`` that replaces ``out`` on :meth:`commit`.

    Use as a context manager: tables are written as soon as they are ready
    (so a run never holds every table in memory), and leaving the block
    without committing, or with an exception, deletes the temporary folder so
    ``out`` stays exactly as it was.

    Parameters
    ----------
    out : Path
        Output folder (checked with :func:`check_out_dir`); replaced as a
        whole. Hidden files in it (``.gitkeep``) are carried over.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.tmp: Path | None = None
        self._created: list[Path] = []  # parent folders made here, removed on failure
        self.recovered: list[str] = []  # what was tidied from a killed ingest

    def __enter__(self) -> OutputStage:
        missing = [p for p in (self.out.parent, *self.out.parent.parents) if not p.exists()]
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._created = missing
        self.recovered = recover_leftovers(self.out)
        with self._writing():
            self.tmp = Path(
                tempfile.mkdtemp(
                    prefix=f".{self.out.name}.ingest-{os.getpid()}-", dir=self.out.parent
                )
            )
        return self

    def _writing(self):
        """OS errors (a full disk) become an OutputError; __exit__ then removes the staging."""
        return writing(self.out, f"{self.out.name} is left as it was")

    def __exit__(self, *exc_info: object) -> None:
        if self.tmp is not None:  # not committed: leave everything as it was
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
            for folder in self._created:  # innermost first
                try:
                    folder.rmdir()
                except OSError:
                    break

    def write_table(self, name: str, frame: pd.DataFrame) -> None:
        """Write a canonical table as ``<out>/<name>.parquet``."""
        with self._writing():
            _write_parquet(frame, self.tmp / f"{name}.parquet")

    def write_quarantine(self, name: str, frame: pd.DataFrame) -> None:
        """Write quarantined rows as ``<out>/quarantine/<name>.parquet`` (skipped when empty)."""
        if len(frame):
            qdir = self.tmp / paths.QUARANTINE_DIRNAME
            with self._writing():
                qdir.mkdir(exist_ok=True)
                _write_parquet(frame, qdir / f"{name}.parquet")

    def copy_file(self, source: Path, name: str) -> None:
        """Copy ``source`` into the output folder as ``name`` (e.g. the stage config used)."""
        with self._writing():
            shutil.copyfile(source, self.tmp / name)

    def write_text(self, text: str, name: str) -> None:
        """Write ``text`` into the output folder as ``name`` (e.g. a stage config read from the export)."""
        with self._writing():
            (self.tmp / name).write_text(text, encoding="utf-8")

    def commit(self, manifest: dict) -> Path:
        """Write the manifest and move the folder into place; return ``out``."""
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        with self._writing():
            (self.tmp / paths.MANIFEST_FILENAME).write_text(text, encoding="utf-8")
            if self.out.is_dir():
                for hidden in self.out.glob(".*"):  # keep e.g. .gitkeep
                    if hidden.is_file():
                        shutil.copy2(hidden, self.tmp / hidden.name)
            _swap(self.tmp, self.out)
        self.tmp = None
        return self.out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def recover_leftovers(out: Path) -> list[str]:
    """Tidy what a killed ingest left beside ``out``; what was done, in words.

    * ``.<out>.old-*``: the previous output, moved aside for the final swap.
      Without ``out`` (killed between the two renames) the newest is put
      back; with ``out`` it is a copy nobody needs and is deleted.
    * ``.<out>.ingest-<pid>-*``: the staging folder of an ingest whose
      process no longer runs; deleted (a running ingest's is left alone).
    """
    done: list[str] = []
    parent = out.parent
    olds = sorted(parent.glob(f".{out.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not out.exists():
        os.replace(olds.pop(), out)
        done.append(f"restored {out.name} from a swap an earlier ingest did not finish")
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
        done.append(f"removed {old.name}")
    for staging in parent.glob(f".{out.name}.ingest-*"):
        pid = staging.name.rsplit(".ingest-", 1)[1].split("-", 1)[0]
        if not pid.isdigit() or not _pid_alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)
            done.append(f"removed {staging.name}")
    return done


def _swap(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``, moving an existing ``out`` aside first."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp creates 0o700; give the usual folder mode
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
