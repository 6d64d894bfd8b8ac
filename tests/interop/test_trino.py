"""Trino (the seed's "Presto" successor) reads the tables deltacdc writes,
through its Delta Lake connector with a file-based metastore, and returns the
same rows as delta-rs (slow: starts a JVM; tests/interop/trino_fixture.py).

The seed's third pain was "Hive and Presto cannot directly query Spark-created
Delta tables". Each table here is registered with
`CALL delta.system.register_table(...)` and read with `SELECT *`; every row
of Trino's answer must equal delta-rs's reading of the same snapshot, value by
value, after both are put in Trino's JSON form (to_trino). Covered: raw tables
(dv mode with deletion vectors that grew over many batches, cow mode, a
Parquet checkpoint after OPTIMIZE), typed tables (every type the typed format
writes: the real MariaDB capture in tests/data, and a generated stream with a
widened column), a table partitioned by `data_date` (the nightly dated
snapshot's layout) with deletion vectors in one partition, and the dated
table `deltacdc snapshot` writes (when the build has that command).

One mapping Trino chooses and we cannot change: a Delta `timestamp` column is
`timestamp(3) with time zone` in Trino (milliseconds, the connector's
documented mapping), so for those columns delta-rs's microseconds are cut to
milliseconds before comparing; `timestamp_ntz` keeps its microseconds.

    .venv/bin/python -m pytest -q -m slow tests/interop/test_trino.py
"""
import base64
import datetime as dt
import json
import math
import struct
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

import cdcgen
import typedgen
from conftest import assert_ok, run_dc
from trino_fixture import trino  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data"


# ------------------------------------------------------------ both sides

def delta_rs_rows(table):
    """delta-rs's reading of the table's latest snapshot (deletion vectors
    honoured), as Python values."""
    res = QueryBuilder().register("t", DeltaTable(str(table))).execute(
        "select * from t").read_all()
    return pa.table(res).to_pylist()


def _ts_text(v: dt.datetime, digits: int) -> str:
    """Trino's text of a timestamp: 'YYYY-MM-DD HH:MM:SS' and `digits`
    fraction digits, rounded half up as Trino rounds micros to millis."""
    unit = 10 ** (6 - digits)
    us = v.microsecond + unit // 2 if unit > 1 else v.microsecond
    v = v.replace(microsecond=0) + dt.timedelta(microseconds=us - us % unit)
    frac = f"{v.microsecond:06d}"[:digits]
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
            f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}" + (f".{frac}" if digits else ""))


def to_trino(v, sig):
    """A delta-rs (pyarrow) value in the JSON form Trino's REST protocol gives
    a value of type signature `sig` (Trino's `typeSignature` of the column)."""
    if v is None:
        return None
    raw, args = sig["rawType"], sig.get("arguments", [])
    if raw in ("tinyint", "smallint", "integer", "bigint", "boolean", "varchar"):
        return v
    if raw == "real":
        return _f32(v)
    if raw == "double":
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if raw == "decimal":
        scale = args[1]["value"]
        return format(Decimal(v).quantize(Decimal(1).scaleb(-scale)), "f")
    if raw == "date":
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    if raw == "timestamp":
        return _ts_text(v, args[0]["value"])
    if raw == "timestamp with time zone":
        return _ts_text(v.astimezone(dt.timezone.utc), args[0]["value"]) + " UTC"
    if raw == "varbinary":
        return base64.b64encode(bytes(v)).decode()
    if raw == "array":
        return [to_trino(x, args[0]["value"]) for x in v]
    if raw == "row":
        return [to_trino(v[a["value"]["fieldName"]["name"]], a["value"]["typeSignature"])
                for a in args]
    raise AssertionError(f"no conversion for Trino type {raw} (value {v!r})")


def _f32(x):
    """A float as float32 (Trino's REAL), so a JSON double and pyarrow's
    widened float32 compare equal; NaN/Infinity as Trino spells them."""
    if isinstance(x, str):
        return x
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return struct.unpack("<f", struct.pack("<f", x))[0]


def trino_side(value, sig):
    """Trino's JSON value, with REAL values made float32 like to_trino's."""
    if value is None:
        return None
    raw, args = sig["rawType"], sig.get("arguments", [])
    if raw == "real":
        return _f32(value)
    if raw == "array":
        return [trino_side(x, args[0]["value"]) for x in value]
    if raw == "row":
        if isinstance(value, dict):  # a protocol that names the fields
            value = [value[a["value"]["fieldName"]["name"]] for a in args]
        return [trino_side(x, a["value"]["typeSignature"]) for x, a in zip(value, args)]
    return value


def _sorted(rows):
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def assert_same_rows(trino, table, schema, name):  # noqa: F811
    """Registers `table` as delta.<schema>.<name> and asserts Trino's
    `SELECT *` equals delta-rs's rows. Returns the rows (Trino's form) and
    Trino's columns."""
    trino.register(schema, name, table)
    cols, rows = trino.query(f"SELECT * FROM delta.{schema}.{name}")
    mine = delta_rs_rows(table)
    names = [c["name"] for c in cols]
    assert mine, f"{table}: delta-rs reads no rows (a vacuous comparison)"
    assert set(names) == set(mine[0]), \
        f"columns: Trino {sorted(names)}, delta-rs {sorted(mine[0])}"
    sigs = [c["typeSignature"] for c in cols]
    got = _sorted([{n: trino_side(v, s) for n, v, s in zip(names, r, sigs)} for r in rows])
    want = _sorted([{n: to_trino(r[n], s) for n, s in zip(names, sigs)} for r in mine])
    assert len(got) == len(want), f"{name}: Trino {len(got)} rows, delta-rs {len(want)}"
    for g, w in zip(got, want):
        bad = {c: (g[c], w[c]) for c in names if g[c] != w[c]}
        assert not bad, f"{name}: Trino vs delta-rs differ in {bad} (row {w})"
    return got, cols


def ingest_ok(src, table, *extra):
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", table, "--once", *extra])
    assert_ok(proc, "ingest")
    return proc


def log_actions(table, kind):
    """Every `kind` action (add, remove, ...) of the table's JSON commits."""
    out = []
    for f in sorted((Path(table) / "_delta_log").glob("*.json")):
        for line in f.read_text().splitlines():
            a = json.loads(line)
            if kind in a:
                out.append(a[kind])
    return out


# ------------------------------------------------------------ raw tables

@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_raw_table(trino, tmp_path, mode):  # noqa: F811
    """The raw format (json_record and the seed's columns), many small
    batches: in dv mode deletion vectors that grew batch after batch, in cow
    mode rewritten files; then OPTIMIZE and a Parquet checkpoint, read again
    under a second name (Trino reads the checkpoint, not only JSON commits)."""
    s = cdcgen.Stream(seed=11 + (mode == "cow"), n_keys=80)
    s.snapshot(60)
    s.run(700)
    s.truncate()
    s.run(900)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "raw"
    ingest_ok(src, t, "--key", "id", "--mode", mode, "--max-batch", "37")
    want = cdcgen.expected_state(s.values)
    assert not cdcgen.diff_states(cdcgen.read_table(t), want)
    if mode == "dv":
        dvs = [a for a in log_actions(t, "add") if a.get("deletionVector")]
        assert len(dvs) >= 10, "the dv table should carry deletion vectors"
    rows, _ = assert_same_rows(trino, t, "raw", mode)
    assert len(rows) == len(want)

    assert_ok(run_dc(["optimize", t]), "optimize")
    assert_ok(run_dc(["checkpoint", t]), "checkpoint")
    assert list((t / "_delta_log").glob("*.checkpoint.parquet"))
    rows2, _ = assert_same_rows(trino, t, "raw", f"{mode}_optimized")
    assert rows2 == rows


# ------------------------------------------------------------ typed tables

@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_typed_mariadb_capture(trino, tmp_path, mode):  # noqa: F811
    """Every type the typed format writes, from real Debezium output of
    MariaDB (tests/data/debezium_mariadb_alltypes.jsonl: integers of each
    width, unsigned BIGINT as decimal(20,0), DECIMAL(65,30) as string,
    FLOAT/DOUBLE, DATE, DATETIME as timestamp_ntz, TIMESTAMP, TIME, text,
    ENUM, SET as array<string>, binary, BIT, geometry structs, added,
    renamed and widened columns), in batches of 5 so updates and deletes hit
    earlier files."""
    t = tmp_path / "alltypes"
    ingest_ok(DATA / "debezium_mariadb_alltypes.jsonl", t, "--format", "typed", "--key", "id",
              "--mode", mode, "--max-batch", "5")
    rows, cols = assert_same_rows(trino, t, "typed", f"alltypes_{mode}")
    types = {c["name"]: c["type"] for c in cols}
    # the types Trino sees (its Delta mapping of ours), so a change shows here
    for col, want in {"c_tiny": "smallint", "c_int": "bigint", "c_ubig": "decimal(20, 0)",
                      "c_dec": "decimal(12, 2)", "c_dec65": "varchar", "c_float": "real",
                      "c_double": "double", "c_date": "date", "c_dt6": "timestamp(6)",
                      "c_ts6": "timestamp(3) with time zone", "c_set": "array(varchar)",
                      "c_blob": "varbinary", "c_bit1": "boolean",
                      "c_point": "row(x double, y double, wkb varbinary, srid integer)"}.items():
        assert types[col] == want, (col, types[col])
    by_id = {r["id"]: r for r in rows}
    assert by_id[12]["c_ubig"] == str(2**64 - 2)
    assert by_id[12]["c_dec65"] == "99999999999999999999999999999999999." + "9" * 30
    assert by_id[12]["c_dt6"] == "9999-12-31 23:59:59.999999"
    # TIMESTAMP(6) 03:14:07.999999: Trino's millisecond reading rounds it up
    assert by_id[12]["c_ts6"] == "2038-01-19 03:14:08.000 UTC"


def test_typed_widened_stream(trino, tmp_path):  # noqa: F811
    """A generated typed stream (typedgen) with a column added, one dropped
    and two widened mid-stream (the widening rewrites every live file), dv
    mode: Trino equals delta-rs, and both equal the expected state."""
    s = typedgen.TypedStream(seed=43)
    s.snapshot(30)
    s.run(150)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "items"
    ingest_ok(src, t, "--format", "typed", "--key", "id", "--max-batch", "40")
    s.add_column("note")
    s.run(100)
    s.drop_column("ok")
    s.widen("qty", "int64")
    s.run(100)
    s.write(src)
    ingest_ok(src, t, "--format", "typed", "--max-batch", "40")
    assert not typedgen.diff(typedgen.read_typed(t), typedgen.expected(s.values))
    rows, cols = assert_same_rows(trino, t, "typed", "items")
    assert {c["name"]: c["type"] for c in cols}["qty"] == "bigint"
    assert len(rows) == len(typedgen.expected(s.values))


# ------------------------------------------------------------ partitioned

PART_SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "name", "type": "string", "nullable": True, "metadata": {}},
    {"name": "amount", "type": "decimal(12,2)", "nullable": True, "metadata": {}},
    {"name": "seen", "type": "timestamp_ntz", "nullable": True, "metadata": {}},
    {"name": "__op", "type": "string", "nullable": True, "metadata": {}},
    {"name": "data_date", "type": "string", "nullable": True, "metadata": {}},
]}


def test_partitioned_dated_table(trino, tmp_path):  # noqa: F811
    """A table partitioned by data_date (the nightly snapshot's
    `.../{table}/data_date=YYYY-MM-DD` layout), written by deltacdc's Delta
    writer: two dates, a deletion vector in one of them; Trino equals
    delta-rs, and a partition filter reads one date only."""
    t = tmp_path / "orders_snapshot"
    (tmp_path / "schema.json").write_text(json.dumps(PART_SCHEMA))
    for d, base in (("2026-12-05", 0), ("2026-12-06", 100)):
        rows = [{"id": base + i, "name": f"n{i}" if i % 7 else None, "amount": f"{i}.{i % 100:02d}",
                 "seen": f"2026-12-0{5 + base // 100}T0{i % 10}:00:00.{i:06d}Z", "__op": "r",
                 "data_date": d} for i in range(40)]
        (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        assert_ok(run_dc(["delta-test", "append", t, tmp_path / "rows.jsonl", "--schema",
                          tmp_path / "schema.json", "--partition-by", "data_date", "--dv"]),
                  "delta-test append")
    adds = log_actions(t, "add")
    assert any("data_date=2026-12-06/" in a["path"] for a in adds), [a["path"] for a in adds]
    second = next(a["path"] for a in adds if "data_date=2026-12-06" in a["path"])
    assert_ok(run_dc(["delta-test", "delete-rows", t, second, "0,5,39"]), "delete-rows")
    rows, _ = assert_same_rows(trino, t, "snap", "orders")
    assert len(rows) == 77
    _, one = trino.query("SELECT count(*), min(id), max(id) FROM delta.snap.orders "
                         "WHERE data_date = '2026-12-06'")
    assert one == [[37, 101, 138]]


def _has_snapshot_command():
    proc = run_dc(["snapshot", "--help"])
    return proc.returncode == 0 and b"--history" in proc.stdout + proc.stderr


def test_dated_snapshot_from_deltacdc_snapshot(request, tmp_path):
    """The nightly dated snapshot as `deltacdc snapshot` writes it (history
    ∪ CDC → latest row per key, partition data_date=D replaced atomically):
    two dates and a rerun of the first; Trino equals delta-rs over the whole
    table and per date. Skipped on a build without the snapshot command (it
    comes from another branch; test_partitioned_dated_table covers the layout
    meanwhile)."""
    if not _has_snapshot_command():
        pytest.skip("this deltacdc has no `snapshot` command")
    trino = request.getfixturevalue("trino")  # noqa: F811 (started only when needed)
    s = typedgen.TypedStream(seed=47, n_keys=60)
    s.snapshot(40)
    h, c, out = tmp_path / "h", tmp_path / "c", tmp_path / "out"
    ingest_ok(s.write(tmp_path / "h.jsonl"), h, "--format", "typed", "--key", "id")
    s.values = []
    s.run(300)
    ingest_ok(s.write(tmp_path / "c1.jsonl"), c, "--format", "typed", "--key", "id",
              "--soft-deletes", "true", "--max-batch", "50")
    for date in ("2026-12-05", "2026-12-06", "2026-12-05"):
        assert_ok(run_dc(["snapshot", "--history", h, "--cdc", c, "--out", out,
                          "--date", date], timeout=300), f"snapshot {date}")
    rows, cols = assert_same_rows(trino, out, "nightly", "items")
    assert "data_date" in {col["name"] for col in cols}
    dates = {r["data_date"] for r in rows}
    assert dates == {"2026-12-05", "2026-12-06"}, dates
    for d in dates:
        _, got = trino.query(f"SELECT count(*) FROM delta.nightly.items WHERE data_date = '{d}'")
        assert got == [[sum(r["data_date"] == d for r in rows)]]
