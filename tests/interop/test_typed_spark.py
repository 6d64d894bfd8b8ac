"""Spark + delta-spark read typed tables (slow: starts a JVM): a stream with a
column added, a column dropped and two columns widened mid-stream (the
widening rewrites every file, so Spark needs no type-widening support), in
dv and cow modes, equals the expected state (tests/interop/typedgen.py) row
for row, as delta-rs reads it too.

    .venv/bin/python -m pytest -q -m slow tests/interop/test_typed_spark.py
"""
import pytest

import typedgen
from conftest import assert_ok, run_dc
from test_delta_spark import spark  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow


def ingest_ok(src, table, *extra):
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", table, "--format", "typed",
                   "--once", *extra])
    assert_ok(proc, "ingest")
    return proc


@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_spark_reads_typed_table(tmp_path, spark, mode):  # noqa: F811
    s = typedgen.TypedStream(seed=41)
    s.snapshot(30)
    s.run(150)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "items"
    ingest_ok(src, t, "--key", "id", "--mode", mode, "--max-batch", "40")
    s.add_column("note")
    s.run(100)
    s.drop_column("ok")
    s.widen("qty", "int64")
    s.cols = [(c, (sp[0], sp[1], {"scale": "2", "connect.decimal.precision": "14"})
               if c == "price" else sp) for c, sp in s.cols]
    s.run(100)
    s.crash_repeat(30)
    s.write(src)
    ingest_ok(src, t, "--mode", mode, "--max-batch", "40")
    want = typedgen.expected(s.values)
    df = spark.read.format("delta").load(str(t))
    types = dict(df.dtypes)
    assert types["qty"] == "bigint" and types["price"] == "decimal(14,2)", types
    assert types["seen"] == "timestamp_ntz" and types["born"] == "date", types
    got = {}
    for r in df.collect():
        d = r.asDict()
        assert d["id"] not in got
        got[d["id"]] = d
    diff = typedgen.diff(got, want)
    assert not diff, diff
    assert got == typedgen.read_typed(t)  # delta-rs reads the same rows
