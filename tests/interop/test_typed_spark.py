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


@pytest.mark.timeout(1500)  # Spark's first read took ~500 s at load 15 on 2 cores
@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_spark_reads_renamed_and_dropped_columns(tmp_path, spark, mode):  # noqa: F811
    """The committed real-Debezium capture ingested with its schema-change
    records (--schema-changes): a table with column mapping mode name, a
    column renamed (note -> remark) and one dropped in place. Spark reads the
    logical names, and the same values as delta-rs, for every row."""
    import json
    from pathlib import Path
    from deltalake import DeltaTable, QueryBuilder
    import pyarrow as pa
    data = Path(__file__).resolve().parents[1] / "data"
    t = tmp_path / "alltypes"
    ingest_ok(data / "debezium_mariadb_alltypes.jsonl", t, "--key", "id", "--mode", mode,
              "--max-batch", "7", "--schema-changes",
              f"file:{data / 'debezium_mariadb_schema_changes.jsonl'}")
    cols = ["id", "remark", "added_col", "c_int", "c_dec", "c_varchar", "c_text", "__op"]
    df = spark.read.format("delta").load(str(t))
    assert "remark" in df.columns and "note" not in df.columns and "drop_me" not in df.columns
    got = sorted((r.asDict() for r in df.select(*cols).collect()), key=lambda r: r["id"])
    dt = DeltaTable(str(t))
    res = QueryBuilder().register("t", dt).execute(
        f"select {', '.join(cols)} from t order by id").read_all()
    want = pa.table(res).to_pylist()
    assert got == want
    final = json.loads((data / "debezium_mariadb_final_state.json").read_text())
    remarks = {int(r["id"]): r["remark"] for r in final["alltypes"]["rows"]}
    assert {r["id"]: r["remark"] for r in got} == remarks
