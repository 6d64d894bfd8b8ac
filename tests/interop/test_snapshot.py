"""`deltacdc snapshot`, the seed's nightly merge, judged by DuckDB running the
seed's own merge SQL (adapted to the typed layout: history rows are op 'c'
with ts_ms 0, rank per key by ts_ms desc) on the same inputs read by delta-rs,
row for row. Inputs are typed tables built by `deltacdc ingest --format typed`
from generated Debezium records (typedgen.py): deletes, re-inserts (a deleted
key created again), several dates, reruns of a date (one atomic replacement),
--as-of (a version and a time), spills under a small memory budget, the
pipeline-file form, source-position ranking (a CDC row at or before the
history's position does not regress it), and bad inputs refused with one
line and nothing committed."""
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

import typedgen
from conftest import assert_clean_failure, assert_crash_free, assert_ok, run_dc

SRC_COLS = ["id", "name", "qty", "price", "born", "seen", "ok"]


def ingest(values, table, tmp_path, *extra):
    src = tmp_path / f"in-{len(list(tmp_path.iterdir()))}.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for v in values:
            f.write(("null" if v is None else v) + "\n")
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", str(table), "--format",
                   "typed", "--once", "--key", "id", *extra], timeout=300)
    assert_ok(proc, f"ingest into {table}")
    return DeltaTable(str(table)).version()


def snapshot(*args, ok=True):
    """Under ASan+UBSan when build-san/deltacdc is there (leaks, overflows)."""
    proc = run_dc(["snapshot", *[str(a) for a in args]], san=True, timeout=300)
    assert_crash_free(proc, "snapshot")
    if ok:
        assert_ok(proc, "snapshot")
    return proc


def arrow(table, version=None):
    dt = DeltaTable(str(table), version=version)
    return pa.table(QueryBuilder().register("t", dt).execute("select * from t").read_all())


def seed_sql(cdc, hist=None, cols=SRC_COLS):
    """The seed's nightly merge in DuckDB: rows as sorted dicts."""
    con = duckdb.connect()
    con.register("c", cdc)
    cl = ", ".join(cols)
    union = f"SELECT {cl}, __op AS _operation_type, __ts_ms AS ts_ms FROM c"
    if hist is not None:
        con.register("h", hist)
        union += f" UNION ALL SELECT {cl}, 'c' AS _operation_type, 0 AS ts_ms FROM h"
    sql = f"""
        SELECT {cl} FROM (
          SELECT {cl}, _operation_type,
                 ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts_ms DESC) AS rank_num_
          FROM ({union}) union_rank
        ) ranked_data
        WHERE rank_num_ = 1 AND _operation_type <> 'd'
        ORDER BY id"""
    res = con.sql(sql).arrow()
    if hasattr(res, "read_all"):  # a RecordBatchReader in newer DuckDB
        res = res.read_all()
    return res.to_pylist()


def partition(out, date, cols=SRC_COLS, version=None):
    dt = DeltaTable(str(out), version=version)
    q = QueryBuilder().register("t", dt).execute(
        f"select {', '.join(cols)} from t where data_date = '{date}' order by id")
    return pa.table(q.read_all()).to_pylist()


def stream(seed, n_hist=40, n_keys=60):
    s = typedgen.TypedStream(seed=seed, n_keys=n_keys)
    s.snapshot(n_hist)
    hist = s.values[:]
    s.values = []
    return s, hist


def summary(proc):
    return proc.stderr.decode().strip().splitlines()[-1]


def test_snapshot_equals_seed_sql_over_dates(tmp_path):
    s, hist_values = stream(11)
    h, c, out = tmp_path / "h", tmp_path / "c", tmp_path / "out"
    ingest(hist_values, h, tmp_path)
    s.run(400)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    n1 = len(s.values)
    snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-01")
    want1 = seed_sql(arrow(c), arrow(h))
    got1 = partition(out, "2024-05-01")
    assert got1 == want1
    assert len(got1) > 20
    # deletes happened, and some keys deleted were created again
    evs = [json.loads(v)["payload"] for v in s.values if v]
    assert sum(e["op"] == "d" for e in evs) > 10
    deleted, reinserted = set(), set()
    for e in evs:
        key = (e["after"] or e["before"])["id"]
        if e["op"] == "d":
            deleted.add(key)
        elif e["op"] == "c" and key in deleted:
            reinserted.add(key)
    assert reinserted, "the stream re-creates no deleted key"
    assert reinserted & {r["id"] for r in got1}
    # the next day: more changes, including re-inserts of deleted keys
    s.run(400)
    ingest(s.values[n1:], c, tmp_path, "--soft-deletes", "true")
    snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-02")
    want2 = seed_sql(arrow(c), arrow(h))
    assert partition(out, "2024-05-02") == want2
    assert want2 != want1
    # the first date is untouched; delta-rs reads the whole table
    assert partition(out, "2024-05-01") == got1
    whole = arrow(out).to_pylist()
    assert len(whole) == len(want1) + len(want2)
    assert {r["data_date"] for r in whole} == {"2024-05-01", "2024-05-02"}
    dt = DeltaTable(str(out))
    assert dt.metadata().partition_columns == ["data_date"]
    assert dt.metadata().configuration.get("deltacdc.key") == "id"
    # the symlink manifest lists each partition's files
    for d in ("2024-05-01", "2024-05-02"):
        lines = (out / "_symlink_format_manifest" / f"data_date={d}" / "manifest").read_text()
        files = [ln for ln in lines.splitlines() if ln]
        assert files and all(f"data_date={d}/" in f and Path(f[5:]).exists() for f in files)


def test_rerun_replaces_the_partition_atomically(tmp_path):
    s, hist_values = stream(12)
    h, c, out = tmp_path / "h", tmp_path / "c", tmp_path / "out"
    ingest(hist_values, h, tmp_path)
    s.run(300)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-01")
    snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-02")
    v_before = DeltaTable(str(out)).version()
    first = partition(out, "2024-05-01")
    old_files = {u.split(str(out) + "/", 1)[1] for u in DeltaTable(str(out)).file_uris()
                 if "data_date=2024-05-01/" in u}
    proc = snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-01")
    assert "replaced 1 files" in summary(proc)
    dt = DeltaTable(str(out))
    assert dt.version() == v_before + 1            # one commit
    again = partition(out, "2024-05-01")
    assert again == first                          # idempotent
    ids = [r["id"] for r in again]
    assert len(ids) == len(set(ids))               # no duplicates
    assert partition(out, "2024-05-02") == first   # the other date untouched (same inputs)
    # that one commit removed every old file of the date and added the new ones
    log = (out / "_delta_log" / f"{dt.version():020d}.json").read_text().splitlines()
    actions = [json.loads(x) for x in log]
    removed = {a["remove"]["path"] for a in actions if "remove" in a}
    added = [a["add"] for a in actions if "add" in a]
    assert removed == old_files
    assert added and all(a["partitionValues"] == {"data_date": "2024-05-01"} for a in added)
    # readers of the previous version still see the old partition
    assert partition(out, "2024-05-01", version=v_before) == first


def test_as_of_version_and_time(tmp_path):
    s, hist_values = stream(13)
    h, c, out = tmp_path / "h", tmp_path / "c", tmp_path / "out"
    ingest(hist_values, h, tmp_path)
    s.run(250)
    v1 = ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    n1 = len(s.values)
    s.run(250)
    v2 = ingest(s.values[n1:], c, tmp_path, "--soft-deletes", "true")
    assert v2 > v1
    want1 = seed_sql(arrow(c, v1), arrow(h))
    assert want1 != seed_sql(arrow(c), arrow(h))
    proc = snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-01",
                    "--as-of", v1)
    assert f"(version {v1})" in summary(proc)
    assert partition(out, "2024-05-01") == want1
    # a time: commit file times set apart, the as-of between them
    log = c / "_delta_log"
    for v in range(v2 + 1):
        t = 1_700_000_000 + 3600 * v
        os.utime(log / f"{v:020d}.json", (t, t))
    t1 = 1_700_000_000 + 3600 * v1 + 1800   # half an hour after v1, before v2
    import datetime as dt
    when = dt.datetime.fromtimestamp(t1, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    proc = snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-02",
                    "--as-of", when)
    assert f"(version {v1})" in summary(proc)
    assert partition(out, "2024-05-02") == want1
    # before the first commit: refused
    proc = snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-03",
                    "--as-of", "2000-01-01", ok=False)
    assert "no commit at or before" in assert_clean_failure(proc, "as-of too early")


def test_small_memory_budget_spills_and_agrees(tmp_path):
    s, hist_values = stream(14, n_hist=8000, n_keys=10000)
    h, c = tmp_path / "h", tmp_path / "c"
    ingest(hist_values, h, tmp_path)
    s.run(14000)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    big = snapshot("--history", h, "--cdc", c, "--out", tmp_path / "o1", "--date", "2024-05-01")
    assert "0 runs spilled" in summary(big)
    small = snapshot("--history", h, "--cdc", c, "--out", tmp_path / "o2", "--date",
                     "2024-05-01", "--memory", "1MiB", "--tmp-dir", tmp_path)
    m = re.search(r"(\d+) runs spilled", summary(small))
    assert m and int(m.group(1)) >= 2, summary(small)
    cols = SRC_COLS + ["__op", "__ts_ms", "__offset", "__source_pos"]
    got = partition(tmp_path / "o2", "2024-05-01", cols)
    assert got == partition(tmp_path / "o1", "2024-05-01", cols)
    assert [{k: r[k] for k in SRC_COLS} for r in got] == seed_sql(arrow(c), arrow(h))
    # the spilled runs were unlinked
    assert not list(tmp_path.glob("deltacdc-snapshot-*"))


def test_binary_rows_and_json_rows_agree(tmp_path):
    """Rows of flat typed tables go from their Parquet columns to the output's
    as binary values (snap_bin.c); a partitioned history is read as JSON rows
    instead. Both give the same partition, the seed's rows, metadata included."""
    from deltalake import write_deltalake
    s, hist_values = stream(21, n_hist=300, n_keys=400)
    h, c = tmp_path / "h", tmp_path / "c"
    ingest(hist_values, h, tmp_path)
    s.run(900)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    cols = SRC_COLS + ["__op", "__ts_ms", "__offset", "__source_pos", "__deleted"]
    fast = snapshot("--history", h, "--cdc", c, "--out", tmp_path / "o1", "--date",
                    "2024-05-01", "--log-level", "info")
    assert "rows read as JSON" not in fast.stderr.decode()
    want = partition(tmp_path / "o1", "2024-05-01", cols)
    assert [{k: r[k] for k in SRC_COLS} for r in want] == seed_sql(arrow(c), arrow(h))
    assert len(want) > 200
    hp = tmp_path / "hp"
    write_deltalake(str(hp), arrow(h), partition_by=["ok"])
    slow = snapshot("--history", hp, "--cdc", c, "--out", tmp_path / "o2", "--date",
                    "2024-05-01", "--log-level", "info")
    assert "rows read as JSON" in slow.stderr.decode()
    assert partition(tmp_path / "o2", "2024-05-01", cols) == want


def test_binary_rows_widen_narrower_files(tmp_path):
    """A history written by another engine (delta-rs) whose files store id as
    int32 while the table's type says long (a widened column, as Spark's type
    widening leaves older files): the binary rows widen the values, and the
    partition is the seed's rows."""
    import pyarrow.compute as pc
    from deltalake import write_deltalake
    s, hist_values = stream(22, n_hist=200, n_keys=300)
    h, c, hw = tmp_path / "h", tmp_path / "c", tmp_path / "hw"
    ingest(hist_values, h, tmp_path)
    s.run(500)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    t = arrow(h)
    t = t.set_column(t.schema.get_field_index("id"), "id", pc.cast(t["id"], pa.int32()))
    write_deltalake(str(hw), t)
    log = hw / "_delta_log" / "00000000000000000000.json"
    text = log.read_text()
    narrow = '\\"name\\":\\"id\\",\\"type\\":\\"integer\\"'
    assert narrow in text
    log.write_text(text.replace(narrow, narrow.replace("integer", "long")))
    proc = snapshot("--history", hw, "--cdc", c, "--out", tmp_path / "o", "--date",
                    "2024-05-01", "--log-level", "info")
    assert "rows read as JSON" not in proc.stderr.decode(), proc.stderr.decode()[-1500:]
    got = partition(tmp_path / "o", "2024-05-01")
    assert got == seed_sql(arrow(c), arrow(h)) and len(got) > 150


def test_history_in_key_order_streams_else_sorts(tmp_path):
    """A history whose files lie in key order (each ascending, their ranges
    apart, whatever the log's order of the files) is merged from its files as
    they are ("in key order: streamed": neither held nor sorted nor spilled);
    one whose rows are shuffled, or whose files' ranges interleave, goes
    through the sorter, and spills under a small budget. All give the seed's
    rows."""
    import random
    import pyarrow.compute as pc
    from deltalake import write_deltalake
    s, hist_values = stream(23, n_hist=8000, n_keys=10000)
    h, c = tmp_path / "h", tmp_path / "c"
    ingest(hist_values, h, tmp_path)
    for key in range(100, 400, 3):   # rows the history's deletion vectors leave out
        s._emit("d", s.live.pop(key), None)
    ingest(s.values, h, tmp_path)
    assert "deletionVector" in "".join(p.read_text() for p in (h / "_delta_log").glob("*.json"))
    s.values = []
    s.run(6000)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    t = arrow(h)
    t = t.cast(pa.schema([f.with_type(pa.string()) if f.type == pa.string_view() else f
                          for f in t.schema])).sort_by("id")
    n = t.num_rows
    want = seed_sql(arrow(c), t)
    assert len(want) > 5000
    ranges = tmp_path / "ranges"          # key order, the last range appended first
    for a, b in ((2 * n // 3, n), (n // 3, 2 * n // 3), (0, n // 3)):
        write_deltalake(str(ranges), t.slice(a, b - a), mode="append")
    shuffled = tmp_path / "shuffled"
    idx = list(range(n))
    random.Random(5).shuffle(idx)
    write_deltalake(str(shuffled), t.take(idx))
    interleaved = tmp_path / "interleaved"  # each file ascending, ranges overlap
    odd = pc.equal(pc.bit_wise_and(t["id"], 1), 1)
    write_deltalake(str(interleaved), t.filter(pc.invert(odd)), mode="append")
    write_deltalake(str(interleaved), t.filter(odd), mode="append")
    cases = [(h, True, []), (ranges, True, ["--memory", "1MiB"]), (shuffled, False, []),
             (interleaved, False, []), (shuffled, False, ["--memory", "1MiB"])]
    for i, (hist, streamed, extra) in enumerate(cases):
        out = tmp_path / f"o{i}"
        proc = snapshot("--history", hist, "--cdc", c, "--out", out, "--date", "2024-05-01",
                        "--tmp-dir", tmp_path, "--log-level", "info", *extra)
        line = summary(proc)
        assert "rows read as JSON" not in proc.stderr.decode(), line
        assert ("in key order: streamed" in line) == streamed, (hist, line)
        if extra and not streamed:
            m = re.search(r"(\d+) runs spilled", line)
            assert m and int(m.group(1)) >= 2, line
        assert partition(out, "2024-05-01") == want, (hist, line)
    assert not list(tmp_path.glob("deltacdc-snapshot-*"))


def test_cdc_table_holding_its_history_needs_none(tmp_path):
    """A typed table fed from the start (bootstrap-style r events, then the
    stream), hard deletes: snapshot without --history = the table's rows."""
    s, hist_values = stream(15)
    s.run(400)
    c, out = tmp_path / "c", tmp_path / "out"
    ingest(hist_values + s.values, c, tmp_path)
    snapshot("--cdc", c, "--out", out, "--date", "2024-05-01")
    want = typedgen.expected(hist_values + s.values)
    got = partition(out, "2024-05-01", SRC_COLS + ["__source_pos"])
    assert [r["id"] for r in got] == sorted(want)
    assert got == seed_sql(arrow(c), None, SRC_COLS + ["__source_pos"])


def _floor_rank(record):
    """A Debezium record's payload.source as the (hi, lo) txn versions of a
    bootstrap's history floor (merge_typed.c's order-preserving encoding)."""
    src = json.loads(record)["payload"]["source"]
    hi = int(src["file"].rsplit(".", 1)[1])
    lo = ((src["pos"] << 32) | (1 << 31) | src["row"]) ^ (1 << 63)
    return hi, lo - (1 << 64) if lo >= 1 << 63 else lo


def test_source_position_ranks_history_and_cdc(tmp_path):
    """A CDC table that lags behind the history (ingestion was late): the
    history, at a later binlog position, holds changes the CDC table has not
    seen yet. A CDC row at or before the history's position must not regress
    it, and one of a key deleted before the history (not in it) must not
    bring it back (the history floor, as `deltacdc bootstrap` records it).
    The seed's ts_ms 0 rule lets every CDC row win: it goes wrong here."""
    s = typedgen.TypedStream(seed=16, n_keys=50)
    s.snapshot(30)
    s.run(300)
    cdc_values = s.values[:]
    s.run(150)                       # changes the CDC table has not caught up with
    s.values = []
    for key in sorted(s.live):
        s._emit("r", None, s.live[key])
    h, c, out = tmp_path / "h", tmp_path / "c", tmp_path / "out"
    ingest(s.values, h, tmp_path)
    hi, lo = _floor_rank(s.values[0])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for app, v in (("hi", hi), ("lo", lo)):
        proc = run_dc(["delta-test", "append", str(h), str(empty), "--txn",
                       f"deltacdc.history#pos.{app}={v}"])
        assert_ok(proc, "set the history floor")
    ingest(cdc_values, c, tmp_path, "--soft-deletes", "true")
    proc = snapshot("--history", h, "--cdc", c, "--out", out, "--date", "2024-05-01")
    assert "at or before the history's position" in summary(proc)
    got = partition(out, "2024-05-01")
    truth = typedgen.expected(s.values)   # the history: the source's state now
    assert [r["id"] for r in got] == sorted(truth)
    hist_rows = sorted(({k: r[k] for k in SRC_COLS} for r in arrow(h).to_pylist()),
                       key=lambda r: r["id"])
    assert got == hist_rows
    assert got != seed_sql(arrow(c), arrow(h))  # where the seed's rule goes wrong


def test_pipeline_file(tmp_path):
    s, hist_values = stream(17)
    wh = tmp_path / "lake"
    c, h = wh / "shop.db" / "items", wh / "history" / "shop.db" / "items"
    ingest(hist_values, h, tmp_path)
    s.run(300)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text(f"""pipeline: shop
source:
  file: /dev/null
warehouse: {wh}
tables:
  - match: "shop.items"
    format: typed
    soft_deletes: true
snapshot:
  history: "{{warehouse}}/history/{{db}}.db/{{table}}"
  memory: 8MiB
""")
    proc = snapshot("-c", cfg, "--date", "2024-05-01", "--print-ddl")
    out = wh / "snapshot" / "shop.db" / "items"
    assert (out / "data_date=2024-05-01").is_dir()
    assert partition(out, "2024-05-01") == seed_sql(arrow(c), arrow(h))
    ddl = proc.stdout.decode()
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `shop`.`items`" in ddl
    assert "PARTITIONED BY (`data_date` STRING)" in ddl
    assert "`price` DECIMAL(10,2)" in ddl and "`born` DATE" in ddl
    assert f"LOCATION 'file:{out}/_symlink_format_manifest/'" in ddl
    assert summary(proc).startswith("snapshot shop.items:")


def test_bad_inputs_are_refused_without_a_commit(tmp_path):
    s, hist_values = stream(18)
    h, c, hard, out = tmp_path / "h", tmp_path / "c", tmp_path / "hard", tmp_path / "out"
    ingest(hist_values, h, tmp_path)
    s.run(200)
    ingest(s.values, c, tmp_path, "--soft-deletes", "true")
    ingest(s.values, hard, tmp_path)
    base = ["--history", h, "--cdc", c, "--out", out]
    cases = [
        (["--history", h, "--cdc", tmp_path / "nope", "--out", out, "--date", "2024-05-01"],
         "CDC table"),
        (["--history", tmp_path / "nope", "--cdc", c, "--out", out, "--date", "2024-05-01"],
         "history table"),
        (base + ["--date", "2024-02-30"], "--date"),
        (base + ["--date", "yesterday"], "--date"),
        (base + ["--date", "2024-05-01", "--key", "nokey"], "nokey"),
        (base + ["--date", "2024-05-01", "--as-of", "99"], "99"),
        (base + ["--date", "2024-05-01", "--as-of", "noon"], "--as-of"),
        (["--history", h, "--cdc", hard, "--out", out, "--date", "2024-05-01"],
         "removes deleted rows"),
    ]
    for args, words in cases:
        proc = snapshot(*args, ok=False)
        err = assert_clean_failure(proc, " ".join(map(str, args)))
        assert words in err, err
        assert not out.exists(), f"{args}: the output table was created"
    # a raw (seed layout) table without its Debezium schemas: refused by name
    raw, raw_src = tmp_path / "raw", tmp_path / "raw.jsonl"
    raw_src.write_text("\n".join("null" if v is None else v for v in s.values) + "\n")
    proc = run_dc(["ingest", "--source", f"file:{raw_src}", "--table", str(raw),
                   "--once", "--key", "id"], timeout=120)
    assert_ok(proc, "raw ingest")
    shutil.rmtree(raw / "_deltacdc_schemas")
    proc = snapshot("--cdc", raw, "--out", out, "--date", "2024-05-01", ok=False)
    assert "keeps no Debezium schemas" in assert_clean_failure(proc, "raw CDC table")
    assert not out.exists()
    # a key mismatch: a history keyed by another column
    other = tmp_path / "other"
    proc = run_dc(["ingest", "--source", f"file:{raw_src}", "--table", str(other), "--format",
                   "typed", "--once", "--key", "name"], timeout=120)
    assert_ok(proc, "ingest keyed by name")
    proc = snapshot("--history", other, "--cdc", c, "--out", out, "--date", "2024-05-01",
                    ok=False)
    assert "key mismatch" in assert_clean_failure(proc, "key mismatch")
    # an existing output: a failed run leaves its version as it was
    snapshot(*base, "--date", "2024-05-01")
    v = DeltaTable(str(out)).version()
    proc = snapshot(*base, "--date", "2024-05-01", "--as-of", "12345", ok=False)
    assert_clean_failure(proc, "as-of missing version")
    assert DeltaTable(str(out)).version() == v


# ------------------------------------------------------------ raw input


def raw_ingest(values, table, tmp_path):
    """The stream so far, from one file per table (one topic: its line
    numbers are the offsets, ingest resumes after the last committed)."""
    src = tmp_path / f"{table.name}.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for v in values:
            f.write(("null" if v is None else v) + "\n")
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", str(table), "--once",
                   "--key", "id", "--max-batch", "100"], timeout=300)
    assert_ok(proc, f"raw ingest into {table}")


def seed_sql_raw(raw, hist=None, cols=SRC_COLS):
    """The seed's nightly SQL over a raw table in DuckDB: which row wins per
    key (ts_ms desc; history rows 'c' with ts_ms 0) and which are dropped
    ('d'); the winners' json_record decoded here, from the Debezium
    encodings (typedgen._decode), not by deltacdc."""
    con = duckdb.connect()
    con.register("c", raw)
    union = 'SELECT id, json_record, operation_type AS _operation_type, ts_ms FROM c'
    hist_rows = {}
    if hist is not None:
        con.register("h", hist)
        union += " UNION ALL SELECT id, NULL, 'c' AS _operation_type, 0 AS ts_ms FROM h"
        hist_rows = {r["id"]: r for r in hist.to_pylist()}
    sql = f"""
        SELECT id, json_record FROM (
          SELECT id, json_record, _operation_type,
                 ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts_ms DESC) AS rank_num_
          FROM ({union}) union_rank
        ) ranked_data
        WHERE rank_num_ = 1 AND _operation_type <> 'd'
        ORDER BY id"""
    out = []
    for key, rec in con.sql(sql).fetchall():
        if rec is None:
            out.append({c: hist_rows[key].get(c) for c in cols})
            continue
        img = json.loads(rec)
        out.append({c: typedgen._decode(c, typedgen.COLS[c], img.get(c)) for c in cols})
    return out


def test_raw_cdc_table_decoded_with_its_schemas(tmp_path):
    """A raw (seed layout) CDC table whose stream changed schema twice (a
    column added, one widened): each json_record decoded with the schema
    its record carried, equal to the seed's SQL with an independent
    decoder; with a typed history too."""
    s, hist_values = stream(19, n_keys=80)
    h, raw, out = tmp_path / "h", tmp_path / "raw", tmp_path / "out"
    ingest(hist_values, h, tmp_path)
    s.run(300)
    s.add_column("note")
    s.run(300)
    raw_ingest(s.values, raw, tmp_path)
    n_schemas = len(list((raw / "_deltacdc_schemas").glob("S-*.json")))
    assert n_schemas == 2, n_schemas
    cols = SRC_COLS + ["note"]
    # with the typed history (same column types)
    proc = snapshot("--history", h, "--cdc", raw, "--out", out, "--date", "2024-05-01")
    got = partition(out, "2024-05-01", cols)
    want = seed_sql_raw(arrow(raw), arrow(h), cols)
    assert got == want
    assert len(got) > 40 and any(r["note"] for r in got) and any(r["note"] is None for r in got)
    assert "+ 40 history rows" in summary(proc)
    # widened: alone (a history with the narrower type would be refused)
    s.widen("qty", "int64")
    s.run(300)
    raw_ingest(s.values, raw, tmp_path)
    out2 = tmp_path / "out2"   # the first output has qty as integer: a new one
    snapshot("--cdc", raw, "--out", out2, "--date", "2024-05-02")
    got = partition(out2, "2024-05-02", cols)
    assert got == seed_sql_raw(arrow(raw), None, cols)
    types = {f.name: str(f.type) for f in arrow(out2).schema}
    assert types["qty"] == "int64" and types["price"] == "decimal128(10, 2)", types
    assert types["born"] == "date32[day]" and types["__ts_ms"] == "int64", types
    # the narrower history is refused, naming the column
    proc = snapshot("--history", h, "--cdc", raw, "--out", out2, "--date", "2024-05-03",
                    ok=False)
    assert "'qty'" in assert_clean_failure(proc, "widened raw vs history")
