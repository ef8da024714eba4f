"""Spark sessions, reading data files, and the one way work runs on the executors.

PySpark is imported here, lazily: nothing else in the package imports it, so
``stream-monitor --help`` and the Polars engine never load it. Work on the rows runs as
``map_partitions(frame, work, columns)``: each partition's Arrow batches become one Polars
DataFrame, ``work`` turns it into a partial state (any picklable value), and the driver gets
one state per partition, to merge exactly.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from stream_monitor.errors import ConfigError, DataFileError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "map_batches",
    "map_partitions",
    "partition_index",
    "polars_schema",
    "read_data",
    "session",
    "session_settings",
]

_T = TypeVar("_T")

#: ``spark.master`` when neither ``--spark-master``, the config nor ``SPARK_MASTER`` says.
DEFAULT_MASTER = "local[*]"
INSTALL_HINT = "--engine spark needs PySpark: pip install 'stream-monitor[spark]'"


def session_settings(master: str) -> dict[str, str]:
    """The settings of a session this process starts on ``master``.

    A local session listens on 127.0.0.1 only and serves no web UI (a Spark driver binds
    every interface by default, and its UI port 4040 with it); ``SPARK_LOCAL_IP`` set by
    the user wins. A cluster's driver must be reachable from the executors: its address is
    left to Spark's own configuration (``spark-defaults.conf``, ``--conf``).

    >>> session_settings("local[2]")["spark.driver.bindAddress"]
    '127.0.0.1'
    >>> "spark.driver.host" in session_settings("spark://head:7077")
    False
    """
    settings = {"spark.ui.showConsoleProgress": "false"}
    if master.startswith("local") and not os.environ.get("SPARK_LOCAL_IP"):
        settings |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
        }
    return settings


def session(master: str | None = None) -> SparkSession:
    """The active Spark session, or a new one on ``master`` (``SPARK_MASTER``, else local).

    Under ``spark-submit`` the session it configured is used as it is.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise ConfigError(INSTALL_HINT) from error
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Executors on this machine run this interpreter, which has stream-monitor installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    chosen = master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER
    builder = SparkSession.builder.appName("stream-monitor").master(chosen)
    for key, value in session_settings(chosen).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_data(path: Path, master: str | None = None) -> DataFrame:
    """Read a Parquet (file or directory), CSV or NDJSON path with ``spark.read``.

    A directory is read as Parquet unless its files end in ``.csv`` or ``.ndjson``/``.jsonl``.
    CSV integers are read as 64-bit, as Polars reads them.
    """
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st

    text = str(path)
    is_remote = "://" in text
    if not is_remote and not path.exists():
        raise DataFileError(f"{path}: no such file or directory")
    spark = session(master)
    suffix = path.suffix.lower()
    if not suffix and not is_remote and path.is_dir():
        suffixes = {p.suffix.lower() for p in path.iterdir() if not p.name.startswith(("_", "."))}
        suffix = next(iter(suffixes & {".csv", ".ndjson", ".jsonl", ".json"}), ".parquet")
    try:
        if suffix == ".parquet":
            frame = spark.read.parquet(text)
        elif suffix == ".csv":
            frame = spark.read.csv(text, header=True, inferSchema=True)
            frame = frame.select(
                *[
                    sf.col(f"`{f.name}`").cast(st.LongType()).alias(f.name)
                    if isinstance(f.dataType, st.IntegerType | st.ShortType | st.ByteType)
                    else sf.col(f"`{f.name}`")
                    for f in frame.schema.fields
                ]
            )
        elif suffix in (".ndjson", ".jsonl", ".json"):
            frame = spark.read.json(text)
        else:
            raise DataFileError(
                f"{path}: unknown file extension {suffix!r}; expected .parquet, .csv or .ndjson"
            )
    except PySparkException as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataFileError(f"{path}: {first}") from error
    if not frame.columns:
        raise DataFileError(f"{path}: no columns")
    return frame


def polars_schema(frame: DataFrame) -> pl.Schema:
    """The Polars types the Polars engine would see, from Spark's."""
    from pyspark.sql import types as st

    simple: dict[type[Any], pl.DataType] = {
        st.ByteType: pl.Int8(),
        st.ShortType: pl.Int16(),
        st.IntegerType: pl.Int32(),
        st.LongType: pl.Int64(),
        st.FloatType: pl.Float32(),
        st.DoubleType: pl.Float64(),
        st.DecimalType: pl.Float64(),
        st.StringType: pl.String(),
        st.BooleanType: pl.Boolean(),
        st.DateType: pl.Date(),
        st.TimestampType: pl.Datetime("us", "UTC"),
        st.TimestampNTZType: pl.Datetime("us"),
        st.NullType: pl.Null(),
    }
    return pl.Schema(
        {f.name: simple.get(type(f.dataType), pl.Binary()) for f in frame.schema.fields}
    )


def map_partitions(
    frame: DataFrame, work: Callable[[pl.DataFrame], _T], columns: Sequence[str]
) -> list[_T]:
    """``work`` applied to each partition of ``frame``'s ``columns``, one result per partition.

    An empty partition gets ``work`` of an empty frame, so every partition answers.
    """
    from pyspark.sql import functions as sf

    selected = frame.select(*(sf.col(f"`{name}`") for name in columns))

    def run(batches: Iterable[Any]) -> Iterable[Any]:
        import pyarrow as pa

        tables = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
        if tables:
            data = pl.from_arrow(pa.concat_tables(tables))
        else:
            empty = pa.schema([(f.name, f.type) for f in selected_arrow_schema])
            data = pl.from_arrow(empty.empty_table())
        assert isinstance(data, pl.DataFrame)
        state = pickle.dumps(work(data), protocol=pickle.HIGHEST_PROTOCOL)
        yield pa.RecordBatch.from_pydict({"state": [state]})

    from pyspark.sql.pandas.types import to_arrow_schema

    selected_arrow_schema = to_arrow_schema(selected.schema)
    rows = selected.mapInArrow(run, "state binary").collect()
    return [pickle.loads(row["state"]) for row in rows]


def map_batches(
    frame: DataFrame,
    work: Callable[[pl.DataFrame], pl.DataFrame],
    columns: Sequence[str],
    schema: str,
) -> DataFrame:
    """A frame of ``work`` applied to each Arrow batch of ``frame``'s ``columns``: a lazy
    Spark frame of the columns ``schema`` (a DDL string) names, computed row by row again
    whenever a job reads it, so ``work`` must give a row the same values in any batch."""
    from pyspark.sql import functions as sf

    selected = frame.select(*(sf.col(f"`{name}`") for name in columns))

    def run(batches: Iterable[Any]) -> Iterable[Any]:
        for batch in batches:
            data = pl.from_arrow(batch)
            assert isinstance(data, pl.DataFrame)
            yield from work(data).to_arrow().to_batches()

    return selected.mapInArrow(run, schema)


def partition_index() -> int:
    """The index of the partition ``work`` runs on, inside ``map_partitions`` (0 outside)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return 0 if context is None else int(context.partitionId())
