"""End to end with real components: a private MariaDB 10.11 (Debian's
mariadb-server, mariadb_fixture.py), real Debezium 3.5.0.Final (the MariaDB
connector in the embedded engine, debezium_fixture.py), the scripted workload
of every MySQL type of issue 9 (mariadb_workload.py), then `deltacdc ingest`
of the captured stream, judged against MariaDB's own final `SELECT *`:
the live keys of the table must be MariaDB's keys, and every live row's
`json_record` must decode (debezium_decode.py, independent of deltacdc, with
the Debezium schema of the record that wrote the row) to MariaDB's values.
The runner also produces the records to the Kafka fixture's broker, and the
same judgement is made on a table ingested from Kafka.

Marker `e2e` (run alone: `.venv/bin/python -m pytest -q -m e2e tests/interop`).
The captured stream of one run is committed in tests/data/debezium_mariadb_*
(e2e_capture.py rewrites it); test_committed_capture checks the committed
copy decodes to the committed final state without MariaDB or Java.

Debezium defaults that silently change data (seen on this workload's real
output; the fixture turns each off, test_debezium_defaults_change_data shows
each with the default left on):
  * Kafka Connect's JsonConverter writes a NULL column as the column's DEFAULT
    (`replace.null.with.default=true`): `UPDATE ... SET c_defaulted = NULL`
    on a column `INT NULL DEFAULT 42` arrives as 42. Set it to false on the
    converter (our runner does; in Kafka Connect: value.converter.replace.null.with.default).
  * BIGINT UNSIGNED above 2^63 - 1 arrives as a negative int64
    (`bigint.unsigned.handling.mode=long`, the default):
    18446744073709551615 arrives as -1. `precise` sends a Decimal(20,0).
  * TRUNCATE is not sent at all unless `skipped.operations=none` (the default
    skips `t`): a sink then keeps every row the truncate removed.

What else arrives differently from MariaDB's value, with every setting right
(pinned in KNOWN_DIVERGENCES, so a change in Debezium shows):
  * YEAR 0000 arrives as 1900 (the binlog stores the year minus 1900 and
    Debezium does not special-case 0).
  * The zero date and zero DATETIME ('0000-00-00 ...') arrive as null.
Row images also lag schema changes: a row not written since `ADD COLUMN x
DEFAULT 'dflt'` has x = 'dflt' in MariaDB but no x in its last record; a row
not written since a RENAME carries the old name. The comparison maps renames
(mariadb_workload.RENAMED) and checks such added columns against the DEFAULT.
"""
import json
import shutil
import time
from pathlib import Path

import pytest

import debezium_fixture as dbzf
import e2e_capture
import mariadb_workload as wl
from conftest import REPO, assert_crash_free, assert_ok, run_dc, stderr_text
from debezium_decode import canonical_mariadb, decode, field_schemas, float32, same
from kafka_fixture import kafka_broker  # noqa: F401  (the fixture)
from mariadb_fixture import mariadb, require_or_skip  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

DATA = REPO / "tests" / "data"
TOPIC = {t: f"{dbzf.TOPIC_PREFIX}.{wl.DB}.{t}" for t in wl.TABLES}

# (table, key, column) -> (MariaDB's canonical value, Debezium's), as repr().
KNOWN_DIVERGENCES = {
    ("alltypes", "14", "c_year"): ("0", "1900"),
    ("alltypes", "17", "c_date"): ("'0000-00-00'", "None"),
    ("alltypes", "17", "c_dt0"): ("-62169984000000000", "None"),
    ("alltypes", "17", "c_dt6"): ("-62169984000000000", "None"),
}


def _key_str(row, key_cols):
    return ",".join(str(row[k]) for k in key_cols)


def _unquote_default(d):
    """information_schema COLUMN_DEFAULT literal -> the rendered text value."""
    if d is None or d == "NULL":
        return None
    if len(d) >= 2 and d[0] == d[-1] == "'":
        return d[1:-1].replace("''", "'")
    return d


def last_records(records, key_cols):
    """{key string: (line, record)} of the last data record per key (a
    truncate forgets every key before it); tombstones and deletes included."""
    last = {}
    for i, rec in enumerate(records):
        if rec is None:
            continue
        p = rec["payload"]
        if p["op"] == "t":
            last.clear()
            continue
        img = p["after"] if p["after"] is not None else p["before"]
        last[_key_str(img, key_cols)] = (i, rec)
    return last


def compare_row(table, key, record, image, mariadb_row, columns):
    """Differences between one record image (decoded with the record's schema)
    and MariaDB's row: a list of ((table, key, column), (mariadb, debezium))."""
    fs = field_schemas(record["schema"])
    renamed = wl.RENAMED.get(table, {})
    out = []
    for name, ctype, default in columns:
        src = name if name in fs else renamed.get(name, name)
        want = canonical_mariadb(ctype, mariadb_row[name])
        if src not in fs:
            # added after this row's last event: MariaDB filled in the DEFAULT
            got = canonical_mariadb(ctype, _unquote_default(default))
        else:
            got = decode(fs[src], image[src])
        if not same(want, got):
            out.append(((table, key, name), (repr(want), repr(got))))
    return out


def raw_table_rows(path, key_cols):
    from deltalake import DeltaTable, QueryBuilder
    import pyarrow as pa
    dt = DeltaTable(str(path))
    res = QueryBuilder().register("t", dt).execute("select * from t").read_all()
    return pa.table(res).to_pylist()


def check_raw_table(table, path, records, final, first_offset=1):
    """The raw Delta table at `path`, ingested from `records`, against MariaDB's
    final state of `table`: returns the divergences found (asserts the rest).
    first_offset: the `offset` of records[0] (the file source counts lines
    from 1, a Kafka partition from 0)."""
    st = final[table]
    key_cols = st["key"]
    rows = raw_table_rows(path, key_cols)
    live = {}
    for r in rows:
        k = _key_str(r, key_cols)
        assert k not in live or r["operation_type"] == "d", f"{table}: key {k} twice"
        if r["operation_type"] != "d":
            live[k] = r
    want_keys = {_key_str(r, key_cols) for r in st["rows"]}
    assert set(live) == want_keys, (f"{table}: live keys {sorted(set(live) - want_keys)} "
                                    f"not in MariaDB, {sorted(want_keys - set(live))} missing")
    diverged = []
    for mrow in st["rows"]:
        k = _key_str(mrow, key_cols)
        r = live[k]
        rec = records[r["offset"] - first_offset]
        assert rec is not None and rec["payload"]["after"] is not None, \
            f"{table} key {k}: offset {r['offset']} is not a record with an after image"
        image = json.loads(r["json_record"])
        assert image == rec["payload"]["after"], \
            f"{table} key {k}: json_record differs from the record at offset {r['offset']}"
        diverged += compare_row(table, k, rec, image, mrow, st["columns"])
    return diverged


def ingest_raw(src, table_path, key_cols, san=False, mode="dv", max_batch=None):
    """san: the ASan+UBSan binary when built (real Debezium bytes under it)."""
    args = ["ingest", "--source", f"file:{src}", "--table", table_path,
            "--key", ",".join(key_cols), "--format", "raw", "--mode", mode, "--once"]
    if max_batch:
        args += ["--max-batch", str(max_batch)]
    proc = run_dc(args, timeout=300, san=san)
    assert_crash_free(proc, "ingest")
    assert_ok(proc, f"ingest {src}")


def read_records(path):
    return [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines()]


def _divergences_of(table, diverged):
    want = {k: v for k, v in KNOWN_DIVERGENCES.items() if k[0] == table}
    return dict(diverged), want


# ------------------------------------------------------------ typed table

def canonical_typed(column_type, v):
    """A typed-table value as delta-rs/pyarrow give it (to_pylist) -> the
    canonical value of debezium_decode (the typed table's encodings as issue 9
    lists them: BIT(n>1) as the bytes Debezium sent, SET as array<string>,
    TIME as long microseconds or text, DECIMAL(p>38) as text)."""
    import datetime
    import decimal
    if v is None:
        return None
    t = column_type.lower().split("(")[0].split(" ")[0]
    if t == "bit" and isinstance(v, (bytes, bytearray)):
        return int.from_bytes(v, "little")
    if isinstance(v, bool):
        return int(v)
    if t == "bigint" and "unsigned" in column_type.lower():
        return decimal.Decimal(v) if not isinstance(v, decimal.Decimal) else v
    if t == "decimal":
        return v if isinstance(v, decimal.Decimal) else decimal.Decimal(v)
    if t == "float":
        return float32(v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        d = v - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    if isinstance(v, datetime.date):
        return v.isoformat()
    if t == "time" and isinstance(v, str):
        from debezium_decode import micros_of_time_text
        return micros_of_time_text(v)
    if t == "set" and isinstance(v, list):
        return ",".join(v)
    if isinstance(v, dict) and "wkb" in v:
        return (bytes(v["wkb"]), int(v.get("srid") or 0))
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    return v


def compare_typed_table(table, path, records, final, skip_columns=()):
    """For the typed-table work (issue 9): the typed Delta table at `path`,
    ingested from `records` (parsed record values of one table topic), against
    MariaDB's final state `final` (e2e_capture.capture()["final"] or the
    committed debezium_mariadb_final_state.json). Returns a list of
    differences as text (empty when equal), beyond KNOWN_DIVERGENCES, where
    the table must hold what Debezium sent.

    Expected per column: MariaDB's value; for a row whose last event predates
    an ADD COLUMN, null (no event carried the DEFAULT MariaDB filled in).
    Columns the table has beyond MariaDB's (dropped ones, `__` metadata) are
    not compared; rows are matched by key, deleted rows must be absent (or
    `__deleted = true`)."""
    st = final[table]
    key_cols = st["key"]
    # delta-rs's SQL path applies deletion vectors (to_pyarrow_table refuses them)
    rows = raw_table_rows(path, key_cols)
    rows = [r for r in rows if not r.get("__deleted")]
    got = {_key_str(r, key_cols): r for r in rows}
    want = {_key_str(r, key_cols): r for r in st["rows"]}
    diffs = []
    if set(got) != set(want):
        diffs.append(f"{table}: keys only in the table {sorted(set(got) - set(want))}, "
                     f"only in MariaDB {sorted(set(want) - set(got))}")
    last = last_records(records, key_cols)
    renamed = wl.RENAMED.get(table, {})
    for k in sorted(set(got) & set(want)):
        fs = field_schemas(last[k][1]["schema"])
        for name, ctype, _ in st["columns"]:
            if name in skip_columns:
                continue
            expect = canonical_mariadb(ctype, want[k][name])
            if name not in fs and renamed.get(name, name) not in fs:
                expect = None
            known = KNOWN_DIVERGENCES.get((table, k, name))
            if known and repr(expect) == known[0]:
                expect = eval(known[1])  # noqa: S307 - our own repr() of a canonical value
            if name not in got[k]:
                diffs.append(f"{table} key {k}: no column {name}")
                continue
            have = canonical_typed(ctype, got[k][name])
            if not same(expect, have):
                diffs.append(f"{table} key {k} column {name}: table {have!r:.120} "
                             f"MariaDB {expect!r:.120}")
    return diffs


# ------------------------------------------------------------ the live run

@pytest.fixture(scope="module")
def e2e(mariadb, tmp_path_factory, request):  # noqa: F811
    """One capture of the workload, to files and (when the Kafka broker can
    run here) to Kafka topics as well."""
    why = dbzf.missing_components()
    if why:
        require_or_skip(why)
    try:
        kafka, kafka_skip = request.getfixturevalue("kafka_broker"), ""
    except pytest.skip.Exception as e:
        kafka, kafka_skip = None, str(e)
    work = tmp_path_factory.mktemp("e2e")
    t0 = time.monotonic()
    res = e2e_capture.capture(mariadb, work, kafka=kafka)
    res["kafka"], res["kafka_skip"] = kafka, kafka_skip
    res["records"] = {t: read_records(res["files"][topic]) for t, topic in TOPIC.items()}
    res["schema_changes"] = read_records(res["files"][dbzf.TOPIC_PREFIX])
    res["capture_s"] = round(time.monotonic() - t0, 1)
    yield res
    shutil.rmtree(work, ignore_errors=True)


def _shape(records, key_cols):
    out = []
    for rec in records:
        if rec is None:
            out.append("null")
            continue
        p = rec["payload"]
        img = p["after"] if p["after"] is not None else p["before"]
        out.append((p["op"], _key_str(img, key_cols) if img else None))
    return out


def test_runner_stopped_cleanly(e2e):
    """SIGTERM closes the engine and the JVM exits 143 (not killed, not an
    engine error), and no runner or server process is left behind."""
    assert e2e["runner_exit"] == 143, Path(e2e["log"]).read_text(errors="replace")[-3000:]
    assert not dbzf._LIVE


def test_capture_is_like_committed(e2e):
    """The live run's records have the committed capture's ops, keys and
    order (ts_ms and binlog positions aside), and the same DDL on the
    schema-change topic: tests/data is what this workload produces."""
    for t, key_cols in wl.TABLES.items():
        committed = read_records(DATA / e2e_capture.FILES[TOPIC[t]])
        assert _shape(e2e["records"][t], key_cols) == _shape(committed, key_cols), t
    ddl = [r["payload"]["ddl"] for r in e2e["schema_changes"]]
    committed = [r["payload"]["ddl"] for r in read_records(
        DATA / e2e_capture.FILES[dbzf.TOPIC_PREFIX])]
    assert ddl == committed
    assert e2e["final"] == json.loads((DATA / e2e_capture.FINAL_STATE).read_text())


def test_snapshot_stream_truncate_and_ddl_all_arrived(e2e):
    """The ops the workload must produce, as Debezium sent them."""
    ops = [r["payload"]["op"] for r in e2e["records"]["alltypes"] if r]
    assert ops[:2] == ["r", "r"] and {"c", "u", "d", "t"} <= set(ops)
    assert ops.count("t") == 1
    assert sum(r is None for r in e2e["records"]["alltypes"]) == ops.count("d")
    ddl = " ".join(r["payload"]["ddl"] for r in e2e["schema_changes"])
    for stmt in ("ADD COLUMN added_col", "MODIFY COLUMN c_int BIGINT", "RENAME COLUMN note TO remark",
                 "DROP COLUMN drop_me"):
        assert stmt in ddl, stmt


@pytest.mark.parametrize("table", list(wl.TABLES))
def test_raw_table_equals_mariadb(e2e, tmp_path, table):
    """`deltacdc ingest --format raw` of the live capture: live keys are
    MariaDB's keys; each live row's json_record is its record's after image
    and decodes to MariaDB's values (KNOWN_DIVERGENCES aside, which must show
    exactly)."""
    src = e2e["files"][TOPIC[table]]
    path = tmp_path / f"{table}_raw"
    ingest_raw(src, path, wl.TABLES[table])
    got, want = _divergences_of(table, check_raw_table(table, path, e2e["records"][table],
                                                       e2e["final"]))
    assert got == want


@pytest.mark.parametrize("table", list(wl.TABLES))
def test_raw_table_from_kafka_equals_mariadb(e2e, tmp_path, table):
    """The same capture through Kafka (Debezium -> broker -> `deltacdc ingest
    --source kafka://...`): the same judgement. orderlines takes its key
    columns from the Kafka record key (no --key)."""
    kafka = e2e["kafka"]
    if kafka is None:
        pytest.skip(f"no Kafka broker: {e2e['kafka_skip']}")
    topic = TOPIC[table]
    assert sum(kafka.end_offsets(topic).values()) == len(e2e["records"][table])
    path = tmp_path / f"{table}_raw"
    args = ["ingest", "--source", f"kafka://{kafka.bootstrap}/{topic}?group=e2e-{table}",
            "--table", path, "--format", "raw", "--once"]
    if table == "alltypes":
        args += ["--key", "id"]
    proc = run_dc(args, timeout=300)
    assert_crash_free(proc, "ingest from Kafka")
    assert_ok(proc, "ingest from Kafka")
    got, want = _divergences_of(table, check_raw_table(table, path, e2e["records"][table],
                                                       e2e["final"], first_offset=0))
    assert got == want


@pytest.mark.parametrize("mode,max_batch", [("dv", None), ("cow", 5)])
@pytest.mark.parametrize("table", list(wl.TABLES))
def test_committed_capture(tmp_path, table, mode, max_batch):
    """The committed capture (tests/data) ingested raw (by the ASan+UBSan
    binary when built; in one batch in dv mode, in batches of 5 in cow mode)
    equals the committed final state the same way (no MariaDB or Java needed)."""
    final = json.loads((DATA / e2e_capture.FINAL_STATE).read_text())
    src = DATA / e2e_capture.FILES[TOPIC[table]]
    path = tmp_path / f"{table}_raw"
    ingest_raw(src, path, wl.TABLES[table], san=True, mode=mode, max_batch=max_batch)
    got, want = _divergences_of(table, check_raw_table(table, path, read_records(src), final))
    assert got == want


def _typed_refused(proc):
    return proc.returncode != 0 and "typed is not supported" in stderr_text(proc)


@pytest.mark.parametrize("table", list(wl.TABLES))
def test_typed_table_equals_mariadb(e2e, tmp_path, table):
    """`deltacdc ingest --format typed` of the live capture equals MariaDB
    (compare_typed_table). Skipped while the binary refuses --format typed."""
    src = e2e["files"][TOPIC[table]]
    path = tmp_path / f"{table}_typed"
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", path,
                   "--key", ",".join(wl.TABLES[table]), "--format", "typed", "--once"],
                  timeout=300)
    assert_crash_free(proc, "ingest --format typed")
    if _typed_refused(proc):
        pytest.skip("deltacdc refuses --format typed (not built yet): "
                    + stderr_text(proc).strip().splitlines()[-1])
    assert_ok(proc, "ingest --format typed")
    # A rename is a drop plus an add to the record's schema block: following
    # it in place needs the schema-change topic (--schema-changes), so renamed
    # columns are judged by test_typed_table_follows_renames.
    diffs = compare_typed_table(table, path, e2e["records"][table], e2e["final"],
                                skip_columns=set(wl.RENAMED.get(table, {})))
    assert not diffs, "\n".join(diffs[:20])


def ingest_typed_following(src, schema_changes, path, key_cols, mode="dv", max_batch=None,
                           san=False):
    """`deltacdc ingest --format typed --schema-changes file:...` (renames and
    in-place drops followed through column mapping, issue 9)."""
    args = ["ingest", "--source", f"file:{src}", "--table", path, "--key", ",".join(key_cols),
            "--format", "typed", "--mode", mode, "--once",
            "--schema-changes", f"file:{schema_changes}"]
    if max_batch:
        args += ["--max-batch", str(max_batch)]
    proc = run_dc(args, timeout=300, san=san)
    assert_crash_free(proc, "ingest --format typed --schema-changes")
    assert_ok(proc, "ingest --format typed --schema-changes")


def check_follows_renames(path, table, records, final):
    """The table equals MariaDB (renamed columns too: a row written before
    RENAME COLUMN note TO remark has its note under remark), the dropped
    column is gone from the schema, and the table has column mapping."""
    from deltalake import DeltaTable
    diffs = compare_typed_table(table, path, records, final)
    assert not diffs, "\n".join(diffs[:20])
    dt = DeltaTable(str(path))
    names = [f.name for f in dt.schema().fields]
    assert "remark" in names and "note" not in names and "drop_me" not in names, names
    assert dt.metadata().configuration.get("delta.columnMapping.mode") == "name"


def test_typed_table_follows_renames(e2e, tmp_path):
    """The live capture with its schema-change topic: RENAME COLUMN and DROP
    COLUMN followed in place (the typed table equals MariaDB's SELECT *)."""
    table = "alltypes"
    path = tmp_path / f"{table}_typed"
    ingest_typed_following(e2e["files"][TOPIC[table]], e2e["files"][dbzf.TOPIC_PREFIX], path,
                           wl.TABLES[table])
    check_follows_renames(path, table, e2e["records"][table], e2e["final"])


@pytest.mark.parametrize("mode,max_batch", [("dv", None), ("cow", 5), ("dv", 3)])
def test_committed_capture_follows_renames(tmp_path, mode, max_batch):
    """The committed capture (no MariaDB or Java needed) with its committed
    schema-change records (by the ASan+UBSan binary when built), in one batch
    and in small batches (a rename and
    the records around it in different commits; cow rewrites files written
    before the drop)."""
    table = "alltypes"
    final = json.loads((DATA / e2e_capture.FINAL_STATE).read_text())
    src = DATA / e2e_capture.FILES[TOPIC[table]]
    path = tmp_path / f"{table}_typed"
    ingest_typed_following(src, DATA / e2e_capture.FILES[dbzf.TOPIC_PREFIX], path,
                           wl.TABLES[table], mode=mode, max_batch=max_batch, san=True)
    check_follows_renames(path, table, read_records(src), final)


@pytest.mark.parametrize("cut", [20, 36, 38])
def test_committed_capture_follows_renames_across_runs(tmp_path, cut):
    """Two runs: the first `cut` records, then the rest (the file grown):
    the renames and the drop before, at and after the cut are each applied
    once (the watermark says which the table already has)."""
    table = "alltypes"
    final = json.loads((DATA / e2e_capture.FINAL_STATE).read_text())
    full = DATA / e2e_capture.FILES[TOPIC[table]]
    changes = DATA / e2e_capture.FILES[dbzf.TOPIC_PREFIX]
    src = tmp_path / "grows.jsonl"
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    src.write_text("".join(lines[:cut]), encoding="utf-8")
    path = tmp_path / f"{table}_typed"
    ingest_typed_following(src, changes, path, wl.TABLES[table])
    src.write_text("".join(lines), encoding="utf-8")
    ingest_typed_following(src, changes, path, wl.TABLES[table])
    check_follows_renames(path, table, read_records(full), final)


def test_renamed_table_through_optimize_checkpoint_and_cat(tmp_path):
    """OPTIMIZE (sorting by the key, found by its physical name), a
    checkpoint and `cat` on a table with a renamed and a dropped column: the
    table still equals MariaDB, and cat prints the logical names."""
    table = "alltypes"
    final = json.loads((DATA / e2e_capture.FINAL_STATE).read_text())
    src = DATA / e2e_capture.FILES[TOPIC[table]]
    path = tmp_path / f"{table}_typed"
    ingest_typed_following(src, DATA / e2e_capture.FILES[dbzf.TOPIC_PREFIX], path,
                           wl.TABLES[table], max_batch=3)
    assert_ok(run_dc(["optimize", path, "--key", "id"]), "optimize")
    assert_ok(run_dc(["checkpoint", path]), "checkpoint")
    check_follows_renames(path, table, read_records(src), final)
    proc = run_dc(["cat", path, "--columns", "id,remark"])
    assert_ok(proc, "cat")
    rows = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
    want = {int(r["id"]): r["remark"] for r in final[table]["rows"]}
    assert {r["id"]: r["remark"] for r in rows} == want


def test_running_pipeline_rereads_the_schema_changes(tmp_path):
    """A running pipeline (stdin, no --once) whose schema-change file grows:
    the records before the RENAME are committed first; then the DDL's
    records reach the file, then the records after them; the next batch
    reads the file again and follows the rename and the drop."""
    import subprocess
    from conftest import DC_BIN
    from deltalake import DeltaTable
    table = "alltypes"
    final = json.loads((DATA / e2e_capture.FINAL_STATE).read_text())
    full = DATA / e2e_capture.FILES[TOPIC[table]]
    data = full.read_text(encoding="utf-8").splitlines(keepends=True)
    sc = (DATA / e2e_capture.FILES[dbzf.TOPIC_PREFIX]).read_text(
        encoding="utf-8").splitlines(keepends=True)
    changes = tmp_path / "changes.jsonl"
    changes.write_text("".join(sc[:10]), encoding="utf-8")  # up to the MODIFY
    path = tmp_path / f"{table}_typed"
    proc = subprocess.Popen([str(DC_BIN), "ingest", "--source", "file:-", "--table", str(path),
                             "--key", "id", "--format", "typed", "--trigger", "300ms",
                             "--trigger-min", "50ms", "--schema-changes", f"file:{changes}"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write("".join(data[:30]).encode())
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if len(DeltaTable(str(path)).schema().fields) and \
                        "note" in [f.name for f in DeltaTable(str(path)).schema().fields] and \
                        DeltaTable(str(path)).version() >= 1:
                    break
            except Exception:  # noqa: BLE001 - not created yet
                pass
            time.sleep(0.2)
        assert "note" in [f.name for f in DeltaTable(str(path)).schema().fields]
        with changes.open("a", encoding="utf-8") as f:
            f.write("".join(sc[10:]))
        proc.stdin.write("".join(data[30:]).encode())
        proc.stdin.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and \
                "remark" not in [f.name for f in DeltaTable(str(path)).schema().fields]:
            time.sleep(0.2)
        time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        err = proc.stderr.read().decode(errors="replace")
    assert proc.returncode == 0, err[-3000:]
    assert "renamed to remark" in err, err[-3000:]
    check_follows_renames(path, table, read_records(full), final)


def test_rename_refused_on_a_table_without_column_mapping(tmp_path):
    """A typed table created without --schema-changes has no column mapping:
    a rename reaching it later is refused by name, nothing committed."""
    from deltalake import DeltaTable
    table = "alltypes"
    full = DATA / e2e_capture.FILES[TOPIC[table]]
    src = tmp_path / "grows.jsonl"
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    src.write_text("".join(lines[:20]), encoding="utf-8")
    path = tmp_path / f"{table}_typed"
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", path, "--key", "id",
                   "--format", "typed", "--once"])
    assert_ok(proc, "ingest without schema changes")
    version = DeltaTable(str(path)).version()
    src.write_text("".join(lines), encoding="utf-8")
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", path, "--key", "id",
                   "--format", "typed", "--once", "--schema-changes",
                   f"file:{DATA / e2e_capture.FILES[dbzf.TOPIC_PREFIX]}"])
    assert_crash_free(proc, "ingest")
    err = stderr_text(proc)
    assert proc.returncode != 0 and "RENAME COLUMN note TO remark" in err, err
    assert "no column mapping" in err, err
    assert DeltaTable(str(path)).version() == version


# ------------------------------------------------------------ the defaults

def test_debezium_defaults_change_data(mariadb, tmp_path):  # noqa: F811
    """With Debezium's defaults left on, the three data changes the module doc
    lists happen: NULL -> DEFAULT, BIGINT UNSIGNED > 2^63 negative, TRUNCATE
    not sent. The runner stops by itself once idle, with exit 0."""
    why = dbzf.missing_components()
    if why:
        require_or_skip(why)
    db = "dflt"
    mariadb.execute(f"DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; "
                    f"CREATE TABLE {db}.t (id INT PRIMARY KEY, d INT NULL DEFAULT 42, "
                    f"u BIGINT UNSIGNED); INSERT INTO {db}.t VALUES (1, 7, 1);")
    extra = {"converter.replace.null.with.default": "true",
             "bigint.unsigned.handling.mode": "long",
             "skipped.operations": "t"}
    topic = f"{dbzf.TOPIC_PREFIX}.{db}.t"
    # idle_s: this runner also shows the idle stop (exit 0 after 5 s without a record)
    with dbzf.DebeziumRunner(mariadb, tmp_path / "dbz", databases=[db], extra=extra,
                             idle_s=5) as dbz:
        dbz.wait_for(topic, lambda r: r and r["payload"]["op"] == "r")
        mariadb.execute("UPDATE t SET d = NULL, u = 18446744073709551615 WHERE id = 1;"
                        "TRUNCATE TABLE t; INSERT INTO t VALUES (2, NULL, 2);", database=db)
        dbz.wait_for(topic, lambda r: r and (r["payload"]["after"] or {}).get("id") == 2)
        assert dbz.wait_exit(timeout=60) == 0, dbz.log_tail()
    recs = [r for r in dbz.records(topic) if r]
    upd = next(r["payload"]["after"] for r in recs if r["payload"]["op"] == "u")
    assert upd["d"] == 42, "NULL should have arrived as the DEFAULT 42"
    assert upd["u"] == -1, "18446744073709551615 should have arrived as -1"
    assert "t" not in [r["payload"]["op"] for r in recs], "the truncate should be skipped"
    ins = next(r["payload"]["after"] for r in recs if (r["payload"]["after"] or {}).get("id") == 2)
    assert ins["d"] == 42


# ------------------------------------------------------------ the judges judged

def _arrow_type(ctype):
    """Issue 9's Delta type of a MariaDB column, as a pyarrow type."""
    import pyarrow as pa
    t = ctype.lower().split("(")[0].split(" ")[0]
    unsigned = "unsigned" in ctype.lower()
    if ctype.lower().startswith("tinyint(1)"):
        return pa.int16()
    if ctype.lower() == "bit(1)":
        return pa.bool_()
    simple = {"tinyint": pa.int16(), "smallint": pa.int16(), "mediumint": pa.int32(),
              "year": pa.int32(), "float": pa.float32(), "double": pa.float64(),
              "date": pa.date32(), "datetime": pa.timestamp("us"),
              "timestamp": pa.timestamp("us", tz="UTC"), "time": pa.int64(),
              "bit": pa.binary(), "set": pa.list_(pa.string())}
    if t == "int":
        return pa.int64() if unsigned else pa.int32()
    if t == "bigint":
        return pa.decimal128(20, 0) if unsigned else pa.int64()
    if t == "decimal":
        p, s = (int(x) for x in ctype[ctype.index("(") + 1:ctype.index(")")].split(","))
        return pa.decimal128(p, s) if p <= 38 else pa.string()
    if t in simple:
        return simple[t]
    if t in ("binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob"):
        return pa.binary()
    if t in ("geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
             "multipolygon", "geometrycollection"):
        return pa.struct([("wkb", pa.binary()), ("srid", pa.int32())])
    return pa.string()


def _arrow_value(ctype, v):
    """A canonical value (debezium_decode) as the pyarrow value of _arrow_type."""
    import datetime
    import pyarrow as pa
    if v is None:
        return None
    t = ctype.lower().split("(")[0].split(" ")[0]
    epoch = datetime.datetime(1970, 1, 1)
    if t == "bit" and ctype.lower() != "bit(1)":
        n = int(ctype[ctype.index("(") + 1:ctype.index(")")])
        return v.to_bytes((n + 7) // 8, "little")
    if ctype.lower() == "bit(1)":
        return bool(v)
    if t == "decimal" and pa.types.is_string(_arrow_type(ctype)):
        return format(v, "f")
    if t == "date":
        return datetime.date.fromisoformat(v)
    if t == "datetime":
        return epoch + datetime.timedelta(microseconds=v)
    if t == "timestamp":
        return (epoch + datetime.timedelta(microseconds=v)).replace(tzinfo=datetime.timezone.utc)
    if t == "set":
        return v.split(",") if v else []
    if isinstance(v, tuple):
        return {"wkb": v[0], "srid": v[1]}
    return v


def _typed_table_from_capture(path, table, records, final, change=None):
    """A typed table such as issue 9 asks for, written by delta-rs from the
    decoded last record of each live key (our decoder, not deltacdc): the
    fixture that shows compare_typed_table accepts a right table and catches a
    wrong one. change: (key, column, canonical value) to plant an error."""
    import pyarrow as pa
    from deltalake import write_deltalake
    st = final[table]
    last = last_records(records, st["key"])
    renamed = wl.RENAMED.get(table, {})
    cols = {name: [] for name, _, _ in st["columns"]}
    for mrow in st["rows"]:
        k = _key_str(mrow, st["key"])
        rec = last[k][1]
        fs = field_schemas(rec["schema"])
        for name, ctype, _ in st["columns"]:
            src = name if name in fs else renamed.get(name, name)
            v = decode(fs[src], rec["payload"]["after"][src]) if src in fs else None
            if change and change[:2] == (k, name):
                v = change[2]
            cols[name].append(_arrow_value(ctype, v))
    arrays = {name: pa.array(cols[name], type=_arrow_type(ctype))
              for name, ctype, _ in st["columns"]}
    write_deltalake(str(path), pa.table(arrays))


@pytest.mark.parametrize("table", list(wl.TABLES))
def test_compare_typed_table_judges(tmp_path, table):
    """compare_typed_table (the typed-table judge) passes a right typed table
    built from the committed capture and names a planted wrong value."""
    import decimal
    final = json.loads((DATA / e2e_capture.FINAL_STATE).read_text())
    records = read_records(DATA / e2e_capture.FILES[TOPIC[table]])
    _typed_table_from_capture(tmp_path / "ok", table, records, final)
    assert compare_typed_table(table, tmp_path / "ok", records, final) == []
    key = _key_str(final[table]["rows"][0], final[table]["key"])
    col, bad = (("c_dec65", decimal.Decimal("0E-30")) if table == "alltypes"
                else ("price", decimal.Decimal("0.000")))
    _typed_table_from_capture(tmp_path / "bad", table, records, final, (key, col, bad))
    diffs = compare_typed_table(table, tmp_path / "bad", records, final)
    assert len(diffs) == 1 and f"key {key} column {col}" in diffs[0], diffs


def test_raw_check_catches_a_changed_value(tmp_path):
    """check_raw_table finds a value that differs from MariaDB's (the judge
    can fail): one DOUBLE in the final state nudged by one ulp."""
    import math
    final = json.loads((DATA / e2e_capture.FINAL_STATE).read_text())
    row = next(r for r in final["alltypes"]["rows"] if r["c_double"] is not None)
    row["c_double"] = repr(math.nextafter(float(row["c_double"]), math.inf))
    src = DATA / e2e_capture.FILES[TOPIC["alltypes"]]
    ingest_raw(src, tmp_path / "t", wl.TABLES["alltypes"])
    got = dict(check_raw_table("alltypes", tmp_path / "t", read_records(src), final))
    assert ("alltypes", row["id"], "c_double") in got


def test_runner_exits_on_engine_failure(mariadb, tmp_path):  # noqa: F811
    """An engine that cannot start (a wrong password) ends the runner with
    exit 1 and the reason in its log: no JVM left waiting."""
    why = dbzf.missing_components()
    if why:
        require_or_skip(why)
    dbz = dbzf.DebeziumRunner(mariadb, tmp_path / "dbz", databases=["nothing"],
                              extra={"database.password": "wrong"})
    try:
        dbz.start()
        assert dbz.wait_exit(timeout=120) == 1
    finally:
        dbz.stop()
    assert "Access denied" in dbz.log_tail(), dbz.log_tail()
