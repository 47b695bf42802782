"""The canonical tables on Spark: a session, and a processed folder's Parquet read into it.

pyspark is an optional extra (``pip install -e '.[spark]'``, ``make
setup-spark``); nothing here is imported until a workspace asks for Spark.
Row-level work then runs on the cluster (or the local session) through
ibis's PySpark backend, unchanged; the statistics run locally on the small
aggregates that come back, as they do on DuckDB.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import ibis

from analysis.core import columns as c
from analysis.core.errors import InputError

SPARK_REMOTE = "SPARK_REMOTE"  # a Spark Connect URL such as sc://host:15002
BACKEND_VARIABLE = "WORKBENCH_BACKEND"  # "spark": analysis.connect(folder) reads on Spark


def _pyspark():
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:  # the optional extra is not installed
        raise InputError(
            "Spark needs pyspark: run `make setup-spark` (or `pip install -e '.[spark]'`) and "
            "make sure a Java runtime is on the PATH."
        ) from err
    return SparkSession


def spark_session(remote: str | None = None):
    """The Spark session the workbench uses: Spark Connect when a URL is given, else local.

    Parameters
    ----------
    remote : str, optional
        A Spark Connect URL (``sc://host:15002``); default ``$SPARK_REMOTE``.
        Without one, the session running in this process (``getOrCreate``):
        ``local[*]`` with times in UTC, the UI off and few shuffle partitions,
        which suits the aggregates the analyses send.
    """
    session_class = _pyspark()
    remote = remote or os.environ.get(SPARK_REMOTE)
    builder = session_class.builder.appName("sales-workbench")
    if remote:
        return builder.remote(remote).config("spark.sql.session.timeZone", "UTC").getOrCreate()
    session = (
        builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def is_spark_session(source: object) -> bool:
    """Whether ``source`` is a pyspark session (classic or Connect), without importing pyspark."""
    module = type(source).__module__ or ""
    return module.startswith("pyspark.") and type(source).__name__ == "SparkSession"


def spark_backend(session=None) -> ibis.BaseBackend:
    """ibis's PySpark backend on ``session`` (default :func:`spark_session`)."""
    return ibis.pyspark.connect(session if session is not None else spark_session())


def folder_on_spark(files: dict[str, Path], session=None) -> ibis.BaseBackend:
    """A processed folder's canonical Parquet files as temporary views of a Spark session.

    Each file becomes a view named after its table (``deals``, ...), so the
    analyses read them as they read DuckDB's; the files stay where they are.
    """
    session = session if session is not None else spark_session()
    for name, path in files.items():
        if name in c.TABLES:
            session.read.parquet(str(Path(path).resolve())).createOrReplaceTempView(name)
    return spark_backend(session)


def frames_on_spark(frames: dict, session=None) -> ibis.BaseBackend:
    """pandas DataFrames as temporary views of a Spark session (tests, small inputs).

    Each frame goes through a Parquet file in a temporary folder (kept while the
    process runs), so Spark reads exactly the types DuckDB reads from a
    processed folder: zoned times, nullable integers and strings included.
    """
    folder = Path(tempfile.mkdtemp(prefix="workbench-spark-"))
    files = {}
    for name, frame in frames.items():
        files[name] = folder / f"{name}.parquet"
        # Spark reads no nanosecond timestamps: write microseconds (truncating nothing
        # that came from Parquet or a CRM export).
        frame.to_parquet(files[name], index=False, coerce_timestamps="us",
                         allow_truncated_timestamps=True)  # fmt: skip
    return folder_on_spark(files, session)
