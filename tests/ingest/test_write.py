"""Tests of analysis.ingest.write: atomic output, stable sort order, refused folders."""

from __future__ import annotations

import errno
import os

import numpy as np
import pandas as pd
import pytest
from ingest_helpers import clean_export, tree_digest

from analysis.cli import main
from analysis.core import columns as c
from analysis.core import paths
from analysis.core.errors import InputError, OutputError
from analysis.ingest import ingest, read_manifest
from analysis.ingest import write as w


def test_sort_table_orders_by_key_then_time_then_stage():
    t = pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-01", None], utc=True)
    frame = pd.DataFrame(
        {
            c.DEAL_ID: pd.Series(["b", "b", "b", "a"], dtype="str"),
            c.STAGE: pd.Series(["won", "qualification", "prospecting", "prospecting"], dtype="str"),
            c.ENTERED_AT: pd.Series(t).astype("datetime64[us, UTC]"),
        }
    )
    order = {"prospecting": 0, "qualification": 1, "won": 2}
    out = w.sort_table(c.STAGE_EVENTS, frame, order)
    assert out[c.DEAL_ID].tolist() == ["a", "b", "b", "b"]
    assert out[c.STAGE].tolist() == ["prospecting", "prospecting", "qualification", "won"]
    codes = np.array([1, 1, 1, 0])
    assert w.sort_table(c.STAGE_EVENTS, frame, order, deal_codes=codes).equals(out)


def test_sort_table_is_stable_and_skips_sorted_input():
    frame = pd.DataFrame({c.DEAL_ID: pd.Series(["a", "a", "b"], dtype="str"), "x": [2, 1, 0]})
    out = w.sort_table(c.ACTIVITIES, frame)
    assert out["x"].tolist() == [2, 1, 0]  # ties keep input order
    assert w._is_sorted([np.array([0, 0, 1]), np.array([5, 6, 0])])
    assert not w._is_sorted([np.array([0, 0, 1]), np.array([6, 5, 0])])


def test_failure_while_writing_leaves_out_untouched(tmp_path, monkeypatch):
    src = clean_export(tmp_path / "src")
    out = tmp_path / "out"
    ingest(src, out)
    before = tree_digest(out)
    calls = []

    def fail_second(frame, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        frame.to_parquet(path)

    monkeypatch.setattr(w, "_write_parquet", fail_second)
    with pytest.raises(OutputError) as info:
        ingest(src, out)
    assert info.value.describe() == (
        f"Writing {out}: the disk is full; out is left as it was. Free some space and run again."
    )
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def test_a_full_disk_is_exit_1_with_one_sentence(tmp_path, monkeypatch, capsys):
    src = clean_export(tmp_path / "src")

    def full(frame, path):
        # pyarrow's own wording for a full disk (seen on a 300 kB tmpfs)
        raise OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left")

    monkeypatch.setattr(w, "_write_parquet", full)
    code = main(["ingest", "--source", str(src), "--out", str(tmp_path / "out")])
    assert code == 1
    err = capsys.readouterr().err
    assert "the disk is full; out is left as it was" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_new_parent_folders_removed_on_failure(tmp_path):
    src = clean_export(tmp_path / "src")
    (src / "deals.csv").write_bytes(b"")
    with pytest.raises(InputError):
        ingest(src, tmp_path / "a" / "b" / "out")
    assert not (tmp_path / "a").exists()


def test_check_out_dir_accepts_previous_output_and_hidden_files(tmp_path):
    out = tmp_path / "processed"
    out.mkdir()
    (out / ".gitkeep").write_text("")
    assert w.check_out_dir(out, tmp_path / "src") == out.resolve()
    (out / "notes.txt").write_text("x")
    with pytest.raises(InputError):
        w.check_out_dir(out, tmp_path / "src")
    (out / paths.MANIFEST_FILENAME).write_text("{}")
    assert w.check_out_dir(out, tmp_path / "src") == out.resolve()


def test_read_manifest_defaults_to_processed_dir(tmp_path, monkeypatch):
    src = clean_export(tmp_path / "src")
    ingest(src, tmp_path / "processed")
    monkeypatch.setattr(paths, "PROCESSED_DIR", tmp_path / "processed")
    assert read_manifest()["tables"][c.DEALS]["rows_clean"] == 4


def test_an_output_under_a_file_is_refused_before_any_work(tmp_path):
    # Issue 20: ingest did all the work, then failed with a traceback at the final rename.
    (tmp_path / "src").mkdir()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="which is a file, not a folder") as info:
        w.check_out_dir(blocker / "processed", tmp_path / "src")
    assert info.value.file.endswith("processed")


def test_an_output_that_is_a_mount_point_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "mounted"
    out.mkdir()
    (tmp_path / "src").mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda p: str(p) == str(out))
    with pytest.raises(InputError, match="is a mount point"):
        w.check_out_dir(out, tmp_path / "src")


def test_leftovers_of_a_killed_ingest_are_recovered_by_the_next(tmp_path):
    # Issue 20: staging folders survived later runs, and a kill between the two final
    # renames left no output that the next ingest neither restored nor removed.
    out = tmp_path / "processed"
    (tmp_path / ".processed.old-abc").mkdir()  # the previous output, moved aside
    (tmp_path / ".processed.old-abc" / "deals.parquet").write_text("old")
    dead = tmp_path / ".processed.ingest-999999999-xyz"  # no such process
    dead.mkdir()
    alive = tmp_path / f".processed.ingest-{os.getpid()}-xyz"  # a running ingest's
    alive.mkdir()
    done = w.recover_leftovers(out)
    assert (out / "deals.parquet").read_text() == "old"  # put back
    assert not dead.exists() and alive.exists()
    assert done[0].startswith("restored processed") and len(done) == 2
    (tmp_path / ".processed.old-def").mkdir()  # now with an output in place: just removed
    w.recover_leftovers(out)
    assert not (tmp_path / ".processed.old-def").exists() and out.exists()
