"""Typed rows (issue 9), judged by pyarrow against an independent decoder.

`deltacdc typed-rows` (a hidden dev command) turns Debezium records into
typed rows and their Delta schema; `deltacdc parquet write --schema` writes
them to Parquet; pyarrow reads the file back and every value must equal the
one computed here, in Python, from the Debezium JSON alone: base64 and
int.from_bytes for decimals, datetime arithmetic for dates and times, as
Debezium documents its MariaDB/MySQL encodings
(https://debezium.io/documentation/reference/stable/connectors/mariadb.html#mariadb-data-types).
Nothing here shares code with the C decoder.

Inputs: the real Debezium 3.5 MariaDB capture in tests/data (from the e2e
branch), and synthetic records of the extremes the capture lacks (NanoTime,
NanoTimestamp, ms Timestamp, Time, negative decimals, decimal.format
NUMERIC, dates before 1000, DATETIME read as UTC, TIME as a string).
"""
import base64
import datetime as dt
import decimal
import json
import struct
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, assert_ok, run_dc, stderr_text

DATA = REPO / "tests" / "data"
UTC = dt.timezone.utc
decimal.getcontext().prec = 200  # exact: DECIMAL(65,30) has 65 digits
EPOCH = dt.datetime(1970, 1, 1)


# ----------------------------------------------------- the independent decoder

def f32(x):
    """The float32 nearest to x, as a Python float (what pyarrow gives back)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def decode_value(field, v, opts):
    """One column's JSON value → the Python value pyarrow must read back."""
    if v is None:
        return None
    t, name = field["type"], field.get("name")
    if isinstance(v, Decimal) and t in ("float", "double"):
        v = float(v)  # numbers are read as Decimal so decimals stay exact
    params = field.get("parameters") or {}
    if name == "org.apache.kafka.connect.data.Decimal":
        scale = int(params["scale"])
        if isinstance(v, str):
            unscaled = int.from_bytes(base64.b64decode(v, validate=True), "big", signed=True)
            d = Decimal(unscaled).scaleb(-scale)
        else:
            d = Decimal(v).quantize(Decimal(1).scaleb(-scale))
        p = int(params.get("connect.decimal.precision", "0"))
        return d if 1 <= p <= 38 else format(d, "f")
    if name in ("io.debezium.time.Date", "org.apache.kafka.connect.data.Date"):
        return dt.date(1970, 1, 1) + dt.timedelta(days=v)
    if name in ("io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp",
                "io.debezium.time.NanoTimestamp", "org.apache.kafka.connect.data.Timestamp"):
        us = {"io.debezium.time.MicroTimestamp": v, "io.debezium.time.NanoTimestamp": v // 1000}.get(
            name, v * 1000)
        ts = EPOCH + dt.timedelta(microseconds=us)
        return ts.replace(tzinfo=UTC) if opts.get("utc") else ts
    if name == "io.debezium.time.ZonedTimestamp":
        return dt.datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC)
    if name in ("io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime",
                "org.apache.kafka.connect.data.Time"):
        us = {"io.debezium.time.MicroTime": v, "io.debezium.time.NanoTime": v // 1000}.get(name, v * 1000)
        if not opts.get("time_str"):
            return us
        sign, a = ("-" if us < 0 else ""), abs(us)
        return f"{sign}{a // 3600000000:02d}:{a // 60000000 % 60:02d}:{a // 1000000 % 60:02d}.{a % 1000000:06d}"
    if name == "io.debezium.data.EnumSet":
        return v.split(",") if v else []
    if t == "struct":
        return {f["field"]: decode_value(f, v.get(f["field"]), opts) for f in field["fields"]}
    if t == "bytes":
        return base64.b64decode(v, validate=True)
    if t == "float":
        return f32(v)
    return v  # booleans, integers, doubles, strings (Enum, Json and plain)


def source_pos(src):
    """__source_pos as the issue's bootstrap will read it: FILE:POS:ROW..."""
    if not src or not isinstance(src.get("file"), str) or "pos" not in src:
        return None
    snap = src.get("snapshot")
    s = f"{src['file']}:{src['pos']}:{src.get('row') or 0}"
    if snap is True or (isinstance(snap, str) and snap != "false"):
        s += ":snapshot"
    if isinstance(src.get("gtid"), str):
        s += f" gtid={src['gtid']}"
    return s


def expected_rows(lines, opts):
    """The row each change event gives: after (before for a delete)."""
    rows = []
    for line in lines:
        rec = json.loads(line, parse_float=Decimal)
        if rec is None or rec.get("payload") is None:
            continue
        p = rec["payload"]
        if p.get("op") not in ("c", "u", "d", "r"):
            continue
        img_name = "before" if p["op"] == "d" else "after"
        struct_schema = next(f for f in rec["schema"]["fields"] if f["field"] == img_name)
        img = p[img_name]
        row = {"__op": p["op"], "__source_pos": source_pos(p.get("source"))}
        for f in struct_schema["fields"]:
            row[f["field"]] = decode_value(f, img.get(f["field"]), opts)
        rows.append(row)
    return rows


# --------------------------------------------------------------- the C side

def typed_parquet_rows(tmp_path, jsonl: Path, flags=()):
    """typed-rows, then parquet write per segment; all rows read by pyarrow."""
    prefix = tmp_path / "seg"
    assert_ok(run_dc(["typed-rows", jsonl, "--out-prefix", prefix, "--pos", *flags]))
    rows, n = [], 0
    while (tmp_path / f"seg.{n}.schema.json").exists():
        out = tmp_path / f"seg.{n}.parquet"
        assert_ok(run_dc(["parquet", "write", "--schema", tmp_path / f"seg.{n}.schema.json",
                          tmp_path / f"seg.{n}.rows.jsonl", out]))
        rows += pq.read_table(out).to_pylist()
        n += 1
    return rows, n


def compare(got, want):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.keys() == w.keys(), f"row {i}: columns differ"
        for k in w:
            assert g[k] == w[k] and type(g[k]) is type(w[k]), \
                f"row {i} ({w['__op']}) column {k}: parquet {g[k]!r}, expected {w[k]!r}"


def test_real_debezium_capture(tmp_path):
    """Every row of the real MariaDB capture, value for value (5 schema segments:
    the workload's ALTER TABLEs)."""
    src = DATA / "debezium_mariadb_alltypes.jsonl"
    got, segments = typed_parquet_rows(tmp_path, src)
    want = expected_rows(src.read_text().splitlines(), {})
    assert segments >= 3
    compare(got, want)
    by_id = {r["id"]: r for r in got if r["__op"] == "c"}
    assert by_id[3]["c_ubig"] == Decimal(2**64 - 1)
    assert by_id[3]["c_dec65"] == "99999999999999999999999999999999999." + "9" * 30


def test_real_debezium_orderlines(tmp_path):
    src = DATA / "debezium_mariadb_orderlines.jsonl"
    got, _ = typed_parquet_rows(tmp_path, src, ["--key", "order_id,line_no"])
    compare(got, expected_rows(src.read_text().splitlines(), {}))


# ---------------------------------------------------------- synthetic extremes

def b64_unscaled(d: Decimal, scale: int) -> str:
    """Debezium's Decimal: the unscaled value's minimal big-endian two's complement."""
    n = int(d.scaleb(scale))
    length = max(1, (n + (n < 0)).bit_length() // 8 + 1)
    return base64.b64encode(n.to_bytes(length, "big", signed=True)).decode()


def field(name, type_, sem=None, params=None, optional=True):
    f = {"type": type_, "optional": optional, "field": name}
    if sem:
        f["name"] = sem
    if params:
        f["parameters"] = params
    return f


FIELDS = [
    field("id", "int64", optional=False),
    field("tiny", "int8"),
    field("dec", "bytes", "org.apache.kafka.connect.data.Decimal", {"scale": "4", "connect.decimal.precision": "18"}),
    field("dec65", "bytes", "org.apache.kafka.connect.data.Decimal", {"scale": "30", "connect.decimal.precision": "65"}),
    field("ubig", "bytes", "org.apache.kafka.connect.data.Decimal", {"scale": "0", "connect.decimal.precision": "20"}),
    field("f", "float"),
    field("d", "int32", "io.debezium.time.Date"),
    field("ts_ms", "int64", "io.debezium.time.Timestamp"),
    field("ts_us", "int64", "io.debezium.time.MicroTimestamp"),
    field("ts_ns", "int64", "io.debezium.time.NanoTimestamp"),
    field("zts", "string", "io.debezium.time.ZonedTimestamp"),
    field("t_ms", "int32", "io.debezium.time.Time"),
    field("t_us", "int64", "io.debezium.time.MicroTime"),
    field("t_ns", "int64", "io.debezium.time.NanoTime"),
    field("s", "string"),
    field("e", "string", "io.debezium.data.Enum", {"allowed": "x,y,z"}),
    field("set", "string", "io.debezium.data.EnumSet", {"allowed": "a,b,c"}),
    field("bits", "bytes", "io.debezium.data.Bits", {"length": "12"}),
    field("j", "string", "io.debezium.data.Json"),
]

VALUES = [
    {"id": 1, "tiny": -128, "dec": Decimal("-12345678901234.5678"), "dec65": Decimal("-" + "9" * 35 + "." + "9" * 30),
     "ubig": Decimal(2**63), "f": -3.4028234663852886e38, "d": -354285, "ts_ms": -62135596800000,
     "ts_us": 253402300799999999, "ts_ns": -1000, "zts": "0001-01-01T00:00:00Z", "t_ms": -2147483648,
     "t_us": -3020399000000, "t_ns": 3020399000000000, "s": "", "e": "", "set": "", "bits": b"\xff\x0f",
     "j": "{}"},
    {"id": 2, "tiny": 127, "dec": Decimal("0.0001"), "dec65": Decimal("0." + "0" * 29 + "1"),
     "ubig": Decimal(2**64 - 1), "f": 1.4e-45, "d": 2932896, "ts_ms": 253402300799999, "ts_us": -1,
     "ts_ns": 1709296496789012000, "zts": "2024-02-29T23:59:59.999999-05:30", "t_ms": 86399999,
     "t_us": 86400000000, "t_ns": -1000, "s": "\U0001F600 ünï \u0000 \"q\"", "e": "z", "set": "a,b,c",
     "bits": b"", "j": "[1, {\"k\": null}]"},
    {"id": 3, **{f["field"]: None for f in FIELDS[1:]}},
]


def encode(col, v):
    """The Debezium JSON of a Python value (the synthetic records' writer)."""
    if v is None:
        return None
    name = col.get("name", "")
    if name.endswith("Decimal"):
        return b64_unscaled(v, int(col["parameters"]["scale"]))
    if col["type"] == "bytes":
        return base64.b64encode(v).decode()
    return v


def synthetic(tmp_path, numeric=False):
    lines = []
    schema = {"type": "struct", "optional": False, "name": "t.Envelope", "fields": [
        {"type": "struct", "optional": True, "name": "t.Value", "field": "before", "fields": FIELDS},
        {"type": "struct", "optional": True, "name": "t.Value", "field": "after", "fields": FIELDS},
        {"type": "string", "optional": False, "field": "op"}]}
    for i, vals in enumerate(VALUES):
        after = {}
        for col in FIELDS:
            v = vals[col["field"]]
            after[col["field"]] = (float(v) if numeric and isinstance(v, Decimal) else encode(col, v))
            if numeric and isinstance(v, Decimal):
                after[col["field"]] = None  # replaced by a raw number below
        text = json.dumps({"schema": schema, "payload": {
            "before": None, "after": after, "op": "c", "ts_ms": 1,
            "source": {"file": "mysql-bin.000009", "pos": 100 + i, "row": i, "snapshot": "false",
                       "gtid": f"0-1-{i}"}}})
        if numeric:  # decimal.format=NUMERIC: exact JSON numbers
            for col in FIELDS:
                v = vals[col["field"]]
                if isinstance(v, Decimal):
                    text = text.replace(f'"{col["field"]}": null', f'"{col["field"]}": {v}', 1)
        lines.append(text)
    path = tmp_path / ("synthetic_numeric.jsonl" if numeric else "synthetic.jsonl")
    path.write_text("\n".join(lines) + "\n")
    return path, lines


@pytest.mark.parametrize("numeric", [False, True])
def test_synthetic_extremes(tmp_path, numeric):
    path, lines = synthetic(tmp_path, numeric)
    got, segments = typed_parquet_rows(tmp_path, path)
    assert segments == 1
    compare(got, expected_rows(lines, {}))
    assert got[1]["__source_pos"] == "mysql-bin.000009:101:1 gtid=0-1-1"
    assert got[0]["ts_ms"] == dt.datetime(1, 1, 1)
    assert got[1]["zts"] == dt.datetime(2024, 3, 1, 5, 29, 59, 999999, tzinfo=UTC)


def test_synthetic_options(tmp_path):
    """DATETIME read as UTC timestamps, TIME as strings."""
    path, lines = synthetic(tmp_path)
    got, _ = typed_parquet_rows(tmp_path, path, ["--datetime-as-timestamp", "--time-as-string"])
    compare(got, expected_rows(lines, {"utc": True, "time_str": True}))
    assert got[0]["t_us"] == "-838:59:59.000000"
    assert got[1]["t_us"] == "24:00:00.000000"


@pytest.mark.parametrize("col,value,message", [
    ("dec", '"AQI"', "column 'dec': expected a Decimal as base64 of its unscaled value"),
    ("ubig", '"AQIDBAUGBwgJCgsM"', "digits exceed the precision 20 of decimal(20,0)"),
    ("d", "2932897", "column 'd': date out of range 0001-01-01..9999-12-31"),
    ("e", '"w"', "column 'e': 'w' is not one of the allowed values x,y,z"),
    ("tiny", '"1"', "column 'tiny': expected an int8 (-128..127)"),
    ("bits", '"@@@@"', "column 'bits': expected bytes as a base64 string"),
])
def test_bad_values_refused(tmp_path, col, value, message):
    path, lines = synthetic(tmp_path)
    rec = json.loads(lines[2])
    rec["payload"]["after"][col] = "__X__"
    path.write_text(json.dumps(rec).replace('"__X__"', value) + "\n")
    proc = run_dc(["typed-rows", path, "--out-prefix", tmp_path / "bad"])
    assert proc.returncode == 1
    assert message in stderr_text(proc)
    assert f"{path}:1:" in stderr_text(proc)
