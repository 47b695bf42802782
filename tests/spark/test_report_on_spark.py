"""The whole report suite runs on Spark local (``sales-workbench report --backend spark``)."""

from __future__ import annotations

import json

import pytest
from conftest import make_processed_folder

from analysis.cli import main
from analysis.engine.spark import BACKEND_VARIABLE


@pytest.fixture
def spark_env(monkeypatch):
    # The CLI sets the variable for its kernels; restore this process's after the test.
    monkeypatch.delenv(BACKEND_VARIABLE, raising=False)
    return monkeypatch


def test_every_report_runs_on_spark(tmp_path, spark_env, capsys):
    data = make_processed_folder(tmp_path / "processed", n_deals=800, seed=5)
    code = main([
        "report", "--backend", "spark", "--workers", "2", "--run-id", "spark",
        "--data-dir", str(data), "--reports-dir", str(tmp_path / "reports"),
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    run = tmp_path / "reports" / "spark"
    pages = sorted(p.parent.name for p in run.glob("*/*.html"))
    assert len(pages) == 10, pages  # one per notebook of config/reports.yaml
    assert "FAILED" not in out
    overview = json.loads((run / "00_data_overview" / "summary.json").read_text())
    assert "800 deals" in overview["data"]  # make_processed_folder wrote 800 deals
