"""A Spark session for the whole test session, and the same sample on DuckDB and on Spark.

Spark is optional (``make setup-spark``): without pyspark or a Java runtime these
tests skip with the reason. Start-up (a JVM, 5-10 s) is paid once per session.
"""

from __future__ import annotations

import shutil

import pytest

import analysis
from analysis.sample import generate_sample

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (make setup-spark)")
if shutil.which("java") is None:
    pytest.skip("no Java runtime on the PATH (Spark needs one)", allow_module_level=True)

# Small enough for Spark local on 2 cores, large enough for every analysis to have rows.
N_DEALS, SEED = 1_500, 11
AS_OF = "2026-07-01"  # the sample's export time (truth["generator"]["cutoff"])


@pytest.fixture(scope="session")
def spark():
    from analysis.engine.spark import spark_session

    return spark_session()


@pytest.fixture(scope="session")
def pair(spark):
    """The same sample as (DuckDB workspace, Spark workspace)."""
    crm = generate_sample(N_DEALS, seed=SEED)
    frames = dict(crm.tables)
    return analysis.connect(frames), analysis.connect(frames, backend="spark")
