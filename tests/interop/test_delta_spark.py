"""Spark + delta-spark read tables deltacdc wrote (slow: starts a JVM).

Proves Spark's reading of our deletion vectors (several DVs per file, a DV
that grew), removes, time travel, and our Parquet checkpoint once the JSON
commits it covers are deleted. pyspark comes from PyPI (tests/requirements.txt),
the delta-spark jars from Maven Central (scripts/setup.sh puts them in
.cache/spark-jars; DC_SPARK_JARS overrides).

    .venv/bin/python -m pytest -q -m slow tests/interop/test_delta_spark.py
"""
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, assert_ok, run_dc

pytestmark = pytest.mark.slow

JARS = Path(os.environ.get("DC_SPARK_JARS", REPO / ".cache" / "spark-jars"))

SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "name", "type": "string", "nullable": True, "metadata": {}},
    {"name": "amount", "type": "decimal(10,2)", "nullable": True, "metadata": {}},
    {"name": "ts", "type": "timestamp", "nullable": True, "metadata": {}},
    {"name": "p", "type": "string", "nullable": True, "metadata": {}},
]}


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark")
    jars = sorted(JARS.glob("*.jar"))
    if not any("delta-spark" in j.name for j in jars):
        pytest.skip(f"delta-spark jars not in {JARS} (run scripts/setup.sh)")
    from pyspark.sql import SparkSession
    s = (SparkSession.builder.master("local[1]").appName("deltacdc-interop")
         .config("spark.jars", ",".join(map(str, jars)))
         .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
         .config("spark.sql.catalog.spark_catalog",
                 "org.apache.spark.sql.delta.catalog.DeltaCatalog")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "1")
         .getOrCreate())
    yield s
    s.stop()
    del pyspark


def dc(*args):
    proc = run_dc(["delta-test", *args])
    assert_ok(proc, "delta-test " + " ".join(map(str, args)))
    return int(proc.stdout.decode().strip().splitlines()[-1])


def rows_of(spark, path, version=None):
    r = spark.read.format("delta")
    if version is not None:
        r = r.option("versionAsOf", version)
    out = []
    for row in r.load(str(path)).collect():
        d = row.asDict()
        d["amount"] = None if d["amount"] is None else f"{d['amount']:.2f}"
        d["ts"] = None if d["ts"] is None else d["ts"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.append(d)
    return sorted(out, key=lambda d: d["id"])


def test_spark_reads_dvs_and_checkpoint(spark, tmp_path):
    t = tmp_path / "t"
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    rows = [{"id": i, "name": None if i % 5 == 0 else f"n{i}", "amount": f"{i}.25",
             "ts": f"2024-03-0{1 + i % 9}T10:00:00.{i:06d}Z", "p": ["a", "b"][i % 2]}
            for i in range(40)]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert dc("append", t, tmp_path / "r.jsonl", "--schema", tmp_path / "s.json",
              "--partition-by", "p", "--dv") == 1
    fa = next((t / "p=a").glob("*.parquet"))
    fb = next((t / "p=b").glob("*.parquet"))
    ids_a = pq.read_table(fa).column("id").to_pylist()
    ids_b = pq.read_table(fb).column("id").to_pylist()
    gone = {ids_a[0], ids_a[4], ids_a[9]}
    dc("delete-rows", t, fa.name, "0,4")
    v = dc("delete-rows", t, fa.name, "4,9")  # DV grows
    dc("append", t, tmp_path / "r.jsonl")      # a second copy of every row...
    second = {f.name for f in (t / "p=b").glob("*.parquet")} - {fb.name}
    last = dc("remove", t, fb.name)            # ...minus the first file of p=b
    gone_b = set(ids_b)

    want_v = sorted([r for r in rows if r["id"] not in gone], key=lambda d: d["id"])
    assert rows_of(spark, t, v) == want_v
    assert rows_of(spark, t, 1) == sorted(rows, key=lambda d: d["id"])
    want_last = sorted([r for r in rows if r["id"] not in gone and r["id"] not in gone_b] + rows,
                       key=lambda d: d["id"])
    assert rows_of(spark, t) == want_last
    assert second

    proc = run_dc(["checkpoint", t])
    assert_ok(proc, "checkpoint")
    # Metadata cleanup as the protocol describes it: every JSON commit before
    # the checkpoint goes (the one at its version stays; Spark wants it).
    for f in (t / "_delta_log").glob("*.json"):
        if int(f.name.split(".")[0]) < last:
            f.unlink()
    spark.catalog.clearCache()
    assert rows_of(spark, t) == want_last
    # Spark can append to the table after our checkpoint, and we read on.
    spark.createDataFrame([(1000, "spark", None, None, "a")],
                          "id long, name string, amount decimal(10,2), ts timestamp, p string") \
        .write.format("delta").mode("append").save(str(t))
    assert len(rows_of(spark, t)) == len(want_last) + 1
