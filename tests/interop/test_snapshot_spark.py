"""Spark + delta-spark read the dated table `deltacdc snapshot` writes (two
dates, one of them rewritten: a commit with removes) and the history table
`deltacdc rebase` writes, and return what delta-rs returns, row for row,
per partition, and at an older version (time travel). Slow: starts a JVM.

    .venv/bin/python -m pytest -q -m slow tests/interop/test_snapshot_spark.py
"""
import pytest
from deltalake import DeltaTable

import typedgen
from conftest import assert_ok, run_dc
from test_delta_spark import spark  # noqa: F401 (the fixture)
from test_snapshot import arrow

pytestmark = pytest.mark.slow


def ingest(values, table, tmp_path, name):
    src = tmp_path / f"{name}.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for v in values:
            f.write(("null" if v is None else v) + "\n")
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", str(table), "--format",
                   "typed", "--once", "--key", "id", "--soft-deletes", "true"], timeout=300)
    assert_ok(proc, f"ingest into {table}")


def dc_ok(*args):
    proc = run_dc([str(a) for a in args], timeout=300)
    assert_ok(proc, " ".join(map(str, args[:1])))


def by_key(rows, keys=("data_date", "id")):
    return sorted(rows, key=lambda r: tuple(r[k] for k in keys))


def spark_rows(spark, path, version=None, where=None):  # noqa: F811
    r = spark.read.format("delta")
    if version is not None:
        r = r.option("versionAsOf", version)
    df = r.load(str(path))
    if where:
        df = df.where(where)
    return [row.asDict() for row in df.collect()], dict(df.dtypes)


@pytest.mark.timeout(1800)  # Spark's reads took ~10 min at load 25 on 2 cores
def test_spark_reads_the_dated_table_and_the_history(tmp_path, spark):  # noqa: F811
    s = typedgen.TypedStream(seed=31, n_keys=60)
    s.snapshot(30)
    hist = s.values[:]
    s.values = []
    s.run(300)
    h, c, out = tmp_path / "h", tmp_path / "c", tmp_path / "out"
    ingest(hist, h, tmp_path, "h")
    ingest(s.values, c, tmp_path, "c1")
    dc_ok("snapshot", "--history", h, "--cdc", c, "--out", out, "--date", "2024-05-01")
    n1 = len(s.values)
    s.run(300)
    ingest(s.values, c, tmp_path, "c2")
    dc_ok("snapshot", "--history", h, "--cdc", c, "--out", out, "--date", "2024-05-02")
    v_two = DeltaTable(str(out)).version()
    dc_ok("snapshot", "--history", h, "--cdc", c, "--out", out, "--date", "2024-05-01")
    assert n1 < len(s.values)

    got, types = spark_rows(spark, out)
    want = arrow(out).to_pylist()
    assert len(got) == len(want) > 40
    assert by_key(got) == by_key(want)
    assert types["data_date"] == "string" and types["price"] == "decimal(10,2)", types
    assert types["born"] == "date" and types["seen"] == "timestamp_ntz", types
    # the rewritten date now equals the other (same inputs), one row per key
    d1, _ = spark_rows(spark, out, where="data_date = '2024-05-01'")
    d2, _ = spark_rows(spark, out, where="data_date = '2024-05-02'")
    strip = [{k: v for k, v in r.items() if k != "data_date"} for r in by_key(d1)]
    assert strip == [{k: v for k, v in r.items() if k != "data_date"} for r in by_key(d2)]
    assert len({r["id"] for r in d1}) == len(d1)
    # time travel: the version before the rewrite, as delta-rs reads it
    old, _ = spark_rows(spark, out, version=v_two)
    assert by_key(old) == by_key(arrow(out, v_two).to_pylist())
    assert by_key(old) != by_key(got)

    # the history a rebase writes (a commit replacing every file)
    dc_ok("rebase", "--cdc", c, "--history", h)
    got_h, _ = spark_rows(spark, h)
    want_h = arrow(h).to_pylist()
    assert by_key(got_h, ("id",)) == by_key(want_h, ("id",))
    strip_d = [{k: v for k, v in r.items() if k in typedgen.COLS} for r in by_key(d1)]
    assert [{k: v for k, v in r.items() if k in typedgen.COLS} for r in by_key(got_h, ("id",))] \
        == strip_d
