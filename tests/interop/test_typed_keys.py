"""Typed tables keyed by a date, a timestamp (Debezium's Timestamp ms,
MicroTimestamp µs, ZonedTimestamp ISO-8601), a decimal or a binary column
(issue 9): the key index holds the column's value (days, µs, the unscaled
decimal, the bytes), the same whether it comes from an event (decoded from
its Debezium encoding) or from the table's files (a restart, copy-on-write,
OPTIMIZE). Judged by delta-rs against the latest event per key computed
here from the stream, independently of deltacdc.

The streams mix encodings of one value where Debezium's can differ: a
ZonedTimestamp of one instant in several offsets ("...+02:00" and the same
instant in "Z"), a decimal with redundant sign bytes. Each stream goes in
small batches (updates of keys in earlier files: the index must find them),
in two runs (the second rebuilds the index from the table) and in dv and cow.
"""
import base64
import datetime as dt
import json
import random
from decimal import Decimal

import pytest

import typedgen
from conftest import assert_crash_free, assert_ok, run_dc, stderr_text

EPOCH = dt.datetime(1970, 1, 1)
UTC = dt.timezone.utc

# kind -> (Debezium type, name, parameters)
KINDS = {
    "date": ("int32", "io.debezium.time.Date", None),
    "ts_ms": ("int64", "io.debezium.time.Timestamp", None),
    "ts_us": ("int64", "io.debezium.time.MicroTimestamp", None),
    "zoned": ("string", "io.debezium.time.ZonedTimestamp", None),
    "decimal": ("bytes", "org.apache.kafka.connect.data.Decimal",
                {"scale": "2", "connect.decimal.precision": "12"}),
    "binary": ("bytes", None, None),
}


def key_value(kind, i, rnd):
    """(the JSON value Debezium sends for key i, the value delta-rs reads)."""
    if kind == "date":
        d = 37 * i - 20000
        return d, dt.date(1970, 1, 1) + dt.timedelta(days=d)
    if kind == "ts_ms":
        ms = 123_456_789 * i - 5_000_000_000
        return ms, EPOCH + dt.timedelta(milliseconds=ms)
    if kind == "ts_us":
        us = 1_000_001 * i - 10**12
        return us, EPOCH + dt.timedelta(microseconds=us)
    if kind == "zoned":
        t = dt.datetime(2024, 3, 1, 10, tzinfo=UTC) + dt.timedelta(minutes=97 * i,
                                                                  microseconds=i)
        off = rnd.choice([0, 2, -5])  # one instant, several spellings
        local = t.astimezone(dt.timezone(dt.timedelta(hours=off)))
        text = local.isoformat().replace("+00:00", "Z")
        return text, t
    if kind == "decimal":
        unscaled = 12345 * i - 500_000
        n = max(1, (unscaled.bit_length() + 8) // 8) + rnd.choice([0, 0, 2])  # sign padding
        return (base64.b64encode(unscaled.to_bytes(n, "big", signed=True)).decode(),
                Decimal(unscaled).scaleb(-2))
    raw = bytes([0, 255, i % 256, i // 256]) + b"k"
    return base64.b64encode(raw).decode(), raw


def stream(kind, n_keys=30, n_events=240, seed=5):
    """Debezium records with schema blocks over a table (k KIND key, v int32),
    and the expected {value read: v} state."""
    rnd = random.Random(seed)
    cols = [("k", KINDS[kind]), ("v", ("int32", None, None))]
    schema = typedgen.schema_block(cols, key=("k",), table="keyed")
    live, out, pos = {}, [], 1000
    for e in range(n_events):
        i = rnd.randrange(n_keys)
        sent, read = key_value(kind, i, rnd)
        if i in live and rnd.random() < 0.2:
            op, before, after = "d", {"k": sent, "v": live[i]}, None
            del live[i]
        else:
            op = "u" if i in live else "c"
            v = rnd.randrange(1 << 30)
            before, after = ({"k": sent, "v": live[i]} if i in live else None), {"k": sent, "v": v}
            live[i] = v
        pos += rnd.randrange(10, 99)
        payload = {"before": before, "after": after, "op": op, "ts_ms": 1714557600000 + e,
                   "source": {"file": "mysql-bin.000003", "pos": pos, "row": 0}}
        out.append(json.dumps({"schema": schema, "payload": payload}, separators=(",", ":")))
    want = {key_value(kind, i, random.Random(0))[1]: v for i, v in live.items()}
    return out, want


def ingest(src, path, mode, max_batch=40):
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", path, "--key", "k",
                   "--format", "typed", "--mode", mode, "--once", "--max-batch", str(max_batch)],
                  timeout=300, san=True)
    assert_crash_free(proc, "ingest")
    assert_ok(proc, "ingest")


def table_state(path):
    rows = typedgen.read_table(path).to_pylist()
    got = {}
    for r in rows:
        assert r["k"] not in got, f"key {r['k']!r} twice"
        got[r["k"]] = r["v"]
    return got


@pytest.mark.parametrize("mode", ["dv", "cow"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_typed_key_kinds(tmp_path, kind, mode):
    values, want = stream(kind)
    half = len(values) // 2
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(values[:half]) + "\n")
    path = tmp_path / "t"
    ingest(src, path, mode)
    src.write_text("\n".join(values) + "\n")  # a second run: the index from the table
    ingest(src, path, mode)
    assert_ok(run_dc(["optimize", path, "--key", "k"]), "optimize")
    got = table_state(path)
    assert got == want, (sorted(set(got) ^ set(want), key=repr)[:5], len(got), len(want))


def test_decimal_key_beyond_18_digits_refused(tmp_path):
    """A decimal(20,0) key (BIGINT UNSIGNED, precise mode) is refused by
    name, nothing committed."""
    cols = [("k", ("bytes", "org.apache.kafka.connect.data.Decimal",
                   {"scale": "0", "connect.decimal.precision": "20"})), ("v", ("int32", None, None))]
    schema = typedgen.schema_block(cols, key=("k",), table="keyed")
    payload = {"before": None, "after": {"k": "AQ==", "v": 1}, "op": "c", "ts_ms": 1,
               "source": {"file": "mysql-bin.000003", "pos": 5, "row": 0}}
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"schema": schema, "payload": payload}) + "\n")
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", tmp_path / "t", "--key", "k",
                   "--format", "typed", "--once"])
    assert_crash_free(proc, "ingest")
    assert proc.returncode != 0
    assert "key column 'k': a decimal key holds at most 18 digits" in stderr_text(proc)
    assert not (tmp_path / "t" / "_delta_log").exists()
