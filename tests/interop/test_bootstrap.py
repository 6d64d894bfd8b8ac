"""`deltacdc bootstrap` (issue 10) against a private MariaDB (mariadb_fixture):
every value of the every-type workload table and of the composite-key table
equal to MariaDB's SELECT * (read back with delta-rs), column types equal to
what the typed ingest builds from the real Debezium capture of the same
table, a 1M-row table, kill -9 and resume (same result, no row twice),
--dry-run writing nothing, a wrong password named without the password, and
history reconciled with CDC by source position."""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

import mariadb_workload as wl
from conftest import REPO, _binary, assert_ok, run_dc
from debezium_decode import canonical_mariadb, same
from mariadb_fixture import mariadb  # noqa: F401  (the fixture)
from test_debezium_e2e import canonical_typed

USER, PASSWORD = "boot", "boot-Secret-42"
DB = "bshop"


@pytest.fixture(scope="module")
def src(mariadb):  # noqa: F811
    """The workload's tables in database bshop: the snapshot rows and every
    row kind of the stream (max, min, odd, zero dates), before any ALTER."""
    create = re.sub(rf"\b{wl.DB}\b", DB, wl.CREATE)
    mariadb.execute(create)
    rows = ", ".join(wl._row(i, k) for i, k in
                     [(1, "typical"), (2, "nulls"), (3, "max"), (4, "min"), (5, "odd")])
    mariadb.execute(f"INSERT INTO alltypes ({wl._COLS}) VALUES {rows};" + wl._zero_date_row(7) +
                    "INSERT INTO orderlines VALUES (1, 1, 'apple', 3, 0.5), "
                    "(1, 2, 'pear', 1, 1.25), (2, 1, 'plum', 10, NULL), (3, 1, 'fig', 2, 99.999),"
                    " (3, 20, 'kiwi', 5, -0.001);", database=DB)
    mariadb.create_user(USER, PASSWORD, grants="SELECT, RELOAD, REPLICATION CLIENT")
    return mariadb


def boot(db, table, path, *extra, password=PASSWORD, timeout=300, database=DB, san=False):
    env = dict(os.environ, MYSQL_PWD=password)
    cmd = [str(_binary(san)), "bootstrap", "--db", db.url(USER, database),
           "--source-table", table, "--table", str(path), *extra]
    return subprocess.run(cmd, capture_output=True, env=env, timeout=timeout)


def columns(db, table):
    return [(r[0], r[1], r[2]) for r in db.query(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA = '{DB}' AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION")]


def mariadb_rows(db, table, key):
    """MariaDB's SELECT * rendered as mariadb_workload.RENDERING says."""
    cols = columns(db, table)
    pairs = ", ".join(f"'{c}', {wl._render_expr(c, t)}" for c, t, _ in cols)
    raw = db.query(f"SET time_zone = '+00:00'; SELECT JSON_OBJECT({pairs}) FROM {DB}.{table} "
                   f"ORDER BY {', '.join(key)}")
    out = []
    for (text,) in raw:
        row = json.loads(text)
        for c, t, _ in cols:
            if t in wl._GEOM and isinstance(row[c], str):
                row[c] = json.loads(row[c])
        out.append(row)
    return cols, out


def delta_rows(path):
    """Rows of a Delta table read by delta-rs (QueryBuilder applies deletion
    vectors; to_pyarrow_table refuses them)."""
    import pyarrow as pa
    from deltalake import QueryBuilder
    dt = DeltaTable(str(path))
    return pa.table(QueryBuilder().register("t", dt).execute("select * from t").read_all()
                    ).to_pylist()


def compare(db, table, key, path):
    """Differences between the Delta table and MariaDB's rows, as text."""
    cols, want = mariadb_rows(db, table, key)
    got = delta_rows(path)
    k = lambda r: tuple(str(r[c]) for c in key)  # noqa: E731
    gmap, wmap = {k(r): r for r in got}, {k(r): r for r in want}
    diffs = []
    if len(got) != len(gmap):
        diffs.append(f"{table}: {len(got)} rows for {len(gmap)} keys")
    if set(gmap) != set(wmap):
        diffs.append(f"{table}: keys {sorted(set(gmap) ^ set(wmap))} differ")
    for kk in sorted(set(gmap) & set(wmap)):
        for name, _, ctype in cols:
            text = wmap[kk][name]
            # the zero date has no value in Debezium's encodings: null, as Debezium sends it
            zero = isinstance(text, str) and text.startswith("0000-00-00")
            exp = None if zero else canonical_mariadb(ctype, text)
            have = canonical_typed(ctype, gmap[kk][name])
            if not same(exp, have):
                diffs.append(f"{table} {kk} {name}: table {have!r:.100} MariaDB {exp!r:.100}")
        if gmap[kk]["__op"] != "r" or ":0:snapshot" not in gmap[kk]["__source_pos"]:
            diffs.append(f"{table} {kk}: __op {gmap[kk]['__op']} __source_pos "
                         f"{gmap[kk]['__source_pos']}")
    return diffs


def test_alltypes_every_value(src, tmp_path):
    path = tmp_path / "alltypes"
    p = boot(src, "alltypes", path)
    assert_ok(p, "bootstrap alltypes")
    d = compare(src, "alltypes", ["id"], path)
    assert d == [], "\n".join(d)
    err = p.stderr.decode()
    assert "6 rows in 1 chunks" in err and "done" in err and PASSWORD not in err


def test_under_sanitizers(src, tmp_path):
    """The ASan+UBSan binary (when built) bootstraps both tables, in chunks
    of 2 rows (the reader thread and the merge on every path), values equal."""
    san = REPO / "build-san" / "deltacdc"
    if not san.exists():
        pytest.skip("build-san/deltacdc not built (make build-san/deltacdc)")
    for table, key in (("alltypes", ["id"]), ("orderlines", ["order_id", "line_no"])):
        path = tmp_path / table
        p = boot(src, table, path, "--chunk-rows", "2", san=True)
        assert_ok(p, f"bootstrap {table} under sanitizers")
        assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
        d = compare(src, table, key, path)
        assert d == [], "\n".join(d)


def test_orderlines_composite_key_chunks(src, tmp_path):
    path = tmp_path / "orderlines"
    p = boot(src, "orderlines", path, "--chunk-rows", "2")
    assert_ok(p, "bootstrap orderlines")
    assert "5 rows in 3 chunks" in p.stderr.decode()
    assert compare(src, "orderlines", ["order_id", "line_no"], path) == []
    dt = DeltaTable(str(path))
    params = [h.get("operationParameters", {}) for h in dt.history()]
    chunks = sorted(int(p["bootstrap.chunk"]) for p in params if "bootstrap.chunk" in p)
    assert chunks == [1, 2, 3]
    last = [p for p in params if p.get("bootstrap.chunk") == "3"][0]
    assert json.loads(last["bootstrap.lastKey"]) == ["3", "20"]
    assert last["bootstrap.done"] == "true"
    # run again: finished, nothing read, nothing committed
    v = dt.version()
    assert_ok(boot(src, "orderlines", path), "second bootstrap")
    assert DeltaTable(str(path)).version() == v
    # the plan of an existing table names its resume point
    out = boot(src, "orderlines", path, "--dry-run").stdout.decode()
    assert "exists" in out and "after chunk 3 (5 rows)" in out and "(done)" in out


FAST_CREATE = (
    "CREATE TABLE fastcols (id INT NOT NULL PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED, "
    "mi MEDIUMINT, i INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, z INT(6) ZEROFILL, "
    "vc VARCHAR(40), tx TEXT, d38 DECIMAL(38,10), d0 DECIMAL(10,0), db DOUBLE, "
    "dt DATE, t0 DATETIME, t3 DATETIME(3), t6 DATETIME(6), ts TIMESTAMP(6) NULL) ENGINE=InnoDB;")
FAST_ROWS = [
    "(1, 1, 2, 3, 4, 5, 6, 123456, 'plain', 'text', 1.5, 7, 0.25, '2024-02-29', "
    "'2024-02-29 23:59:59', '2024-01-01 00:00:00.001', '1970-01-01 00:00:00.000001', "
    "'2024-05-01 12:00:00.5')",
    "(2, 127, 65535, 8388607, 4294967295, 9223372036854775807, 18446744073709551615, 999999, "
    "'quote \" back \\\\ nl \\n tab \\t \U0001F4A1 é', REPEAT('x', 300), "
    "9999999999999999999999999999.9999999999, 9999999999, 1.7976931348623157e308, "
    "'9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999', "
    "'9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999')",
    "(3, -128, 0, -8388608, 0, -9223372036854775808, 0, 0, '', '', "
    "-9999999999999999999999999999.9999999999, -9999999999, -2.2250738585072014e-308, "
    "'0001-01-01', '0001-01-01 00:00:00', '1000-01-01 00:00:00.000', "
    "'1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000')",
    "(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL)",
    "(5, 0, 1, -1, 1, -1, 1, 1, 'zero dates', 'z', -0.0000000001, 0, -0.5, '0000-00-00', "
    "'0000-00-00 00:00:00', '0000-00-00 00:00:00.000', '0000-00-00 00:00:00.000000', NULL)",
]


def test_short_way_values_equal_mariadb(src, tmp_path):
    """Integers, strings, decimals up to 38 digits, doubles, dates, DATETIME
    and TIMESTAMP go from the server's text straight into the typed row
    (boot_fast.c); their extremes, escapes and nulls equal MariaDB's values,
    and rows the short way does not take (a zero date, a ZEROFILL leading zero)
    go the long way with the same result (timestamps both ways: --datetime)."""
    src.execute(FAST_CREATE + f"INSERT INTO fastcols VALUES {', '.join(FAST_ROWS)};",
                database=DB)
    for extra in ([], ["--datetime", "timestamp"]):
        path = tmp_path / f"fast{len(extra)}"
        p = boot(src, "fastcols", path, "--log-level", "debug", *extra)
        assert_ok(p, "bootstrap fastcols")
        m = re.search(r"chunk 1 of 5 rows \((\d+) read the short way\)", p.stderr.decode())
        # row 3's ZEROFILL 0 is "000000" (a leading zero) and row 5 holds zero dates: the
        # long way; rows 1, 2 and 4 the short way
        assert m and int(m.group(1)) == 3, p.stderr.decode()[-2000:]
        d = compare(src, "fastcols", ["id"], path)
        assert d == [], "\n".join(d)


def test_short_way_columns_equal_mariadb(src, tmp_path):
    """A table whose every row takes the short way is written from the
    reader's Parquet columns (merge_hcols.c), chunk by chunk; the extremes,
    escapes and nulls of the short-way rows equal MariaDB's values both ways
    (--datetime), and a second bootstrap of the same keys into the same table
    (another source table: every key is there already, at an older position)
    replaces them from columns too, one row per key."""
    create = FAST_CREATE.replace("fastcols", "fastonly")
    rows = [FAST_ROWS[0], FAST_ROWS[1], FAST_ROWS[3]]  # the short way's rows
    src.execute(create + create.replace("fastonly", "fastonly2") +
                f"INSERT INTO fastonly VALUES {', '.join(rows)};"
                "INSERT INTO fastonly2 SELECT * FROM fastonly;"
                "CREATE TABLE fastonly_bump (x INT);", database=DB)
    for extra in ([], ["--datetime", "timestamp"]):
        path = tmp_path / f"cols{len(extra)}"
        for table in ("fastonly", "fastonly2"):
            # a later binlog position for the second run: its rows are newer
            src.execute("INSERT INTO fastonly_bump VALUES (1);", database=DB)
            p = boot(src, table, path, "--log-level", "debug", "--chunk-rows", "2", *extra)
            assert_ok(p, f"bootstrap {table}")
            err = p.stderr.decode()
            assert re.findall(r"new file of (\d+) rows written from columns", err) == ["2", "1"], \
                err[-3000:]
            d = compare(src, "fastonly", ["id"], path)
            assert d == [], "\n".join(d)
        assert sorted(r["__source_pos"] for r in delta_rows(path))[0] == \
            sorted(r["__source_pos"] for r in delta_rows(path))[-1]  # all from the 2nd run


def test_columns_refused_read_again_with_images(src, tmp_path):
    """A chunk read as columns alone (no images) that the merge can not write
    as it is — a key the table holds from a CDC event newer than the chunk's
    snapshot — is read again with its images: the newer row stays, every
    other key takes the chunk's row, one row per key."""
    import typedgen
    src.execute("CREATE TABLE refuse_a (id INT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;"
                "CREATE TABLE refuse_b LIKE refuse_a;"
                "INSERT INTO refuse_a SELECT seq, seq FROM seq_1_to_6;"
                "INSERT INTO refuse_b SELECT seq, seq * 10 FROM seq_1_to_6;", database=DB)
    path = tmp_path / "refuse"
    assert_ok(boot(src, "refuse_a", path, "--chunk-rows", "2"), "bootstrap refuse_a")
    h = chunk_history(path)[0][1]["operationParameters"]
    f, pos = h["bootstrap.position"].rsplit(":", 1)
    schema = typedgen.schema_block([("id", ("int32", None, None)), ("v", ("int32", None, None))],
                                   db=DB, table="refuse_a")
    ev = {"schema": schema, "payload": {  # far after any position of the runs here
        "before": {"id": 4, "v": 4}, "after": {"id": 4, "v": -4}, "op": "u", "ts_ms": 1,
        "source": {"file": f, "pos": int(pos) + 10**12, "row": 0}}}
    stream = tmp_path / "cdc.jsonl"
    stream.write_text(json.dumps(ev) + "\n")
    assert_ok(run_dc(["ingest", "--source", f"file:{stream}", "--table", str(path),
                      "--format", "typed", "--once"]), "CDC into the table")
    # a later binlog position for the second run: its rows are newer than the first's
    src.execute("CREATE TABLE refuse_bump (x INT); INSERT INTO refuse_bump VALUES (1);",
                database=DB)
    p = boot(src, "refuse_b", path, "--chunk-rows", "2", "--log-level", "debug")
    assert_ok(p, "bootstrap refuse_b")
    err = p.stderr.decode()
    assert "chunk 2 is read again with its images" in err, err[-3000:]
    # chunks 1 and 3 written from columns (3 with its images too: kept from the refusal
    # on), chunk 2 from its images: 1 row (key 4 is stale)
    assert re.findall(r"new file of (\d+) rows written from columns", err) == ["2", "2"], \
        err[-3000:]
    got = sorted((r["id"], r["v"]) for r in delta_rows(path))
    assert got == [(1, 10), (2, 20), (3, 30), (4, -4), (5, 50), (6, 60)], got


def test_progress_only_when_asked(src, tmp_path):
    """Progress (rows, rows/s, ETA) goes to stderr with --progress; without
    it and without a terminal only the summary line is printed."""
    p = boot(src, "orderlines", tmp_path / "a", "--chunk-rows", "2", "--progress")
    assert_ok(p, "with --progress")
    err = p.stderr.decode()
    assert "bshop.orderlines: 5 rows," in err and "rows/s, ETA" in err
    p = boot(src, "orderlines", tmp_path / "b", "--chunk-rows", "2")
    err = p.stderr.decode()
    assert "ETA" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("bootstrap orderlines: 5 rows in 3 chunks")


def test_types_agree_with_debezium(src, tmp_path):
    """ONE mapping: the bootstrap's column types are the ones the typed ingest
    gives the same columns from the real Debezium capture (its snapshot
    records, before the workload's ALTERs)."""
    cap = REPO / "tests" / "data" / "debezium_mariadb_alltypes.jsonl"
    snap = [l for l in cap.read_text().splitlines()
            if l != "null" and json.loads(l)["payload"]["op"] == "r"]
    assert snap, "the capture has snapshot records"
    f = tmp_path / "snap.jsonl"
    f.write_text("\n".join(snap) + "\n")
    dbz = tmp_path / "from_debezium"
    assert_ok(run_dc(["ingest", "--source", f"file:{f}", "--table", str(dbz), "--key", "id",
                      "--format", "typed", "--once"]), "typed ingest of the capture")
    ours = tmp_path / "from_bootstrap"
    assert_ok(boot(src, "alltypes", ours), "bootstrap")
    a = {f.name: f.type for f in DeltaTable(str(dbz)).schema().fields}
    b = {f.name: f.type for f in DeltaTable(str(ours)).schema().fields}
    assert list(a) == list(b)
    assert a == b


def test_datetime_and_time_options(src, tmp_path):
    """--datetime timestamp / --time string give the ingest options' types."""
    path = tmp_path / "opts"
    assert_ok(boot(src, "alltypes", path, "--datetime", "timestamp", "--time", "string"),
              "bootstrap with options")
    f = {f.name: f.type.type for f in DeltaTable(str(path)).schema().fields}
    assert f["c_dt6"] == "timestamp" and f["c_time6"] == "string" and f["c_ts6"] == "timestamp"
    r = [x for x in delta_rows(path) if x["id"] == 1][0]
    assert r["c_time6"] == "-01:02:03.456789"


def test_dry_run_writes_nothing(src, tmp_path):
    path = tmp_path / "dry"
    p = boot(src, "alltypes", path, "--dry-run", "--chunk-rows", "4")
    assert_ok(p, "dry run")
    out = p.stdout.decode()
    assert "bshop.alltypes" in out and "to be created" in out and "4 rows each" in out
    assert not path.exists()


def test_wrong_password_is_clear(src, tmp_path):
    p = boot(src, "alltypes", tmp_path / "t", password="not-the-Password-9")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "Access denied" in err and f"{USER}@127.0.0.1" in err
    assert "not-the-Password-9" not in err and "not-the-Password-9" not in p.stdout.decode()
    assert not (tmp_path / "t").exists()


def test_usage_errors(src, tmp_path):
    p = boot(src, "alltypes", tmp_path / "t", "--chunk-rows", "0")
    assert p.returncode == 2 and b"--chunk-rows" in p.stderr
    p = run_dc(["bootstrap", "--table", str(tmp_path / "t")])
    assert p.returncode == 2 and b"--db is required" in p.stderr
    p = run_dc(["bootstrap", "--db", "mysql://u:pw@127.0.0.1:1/x", "--source-table", "t",
                "--table", str(tmp_path / "t")])
    assert p.returncode == 1 and b"password in the URL" in p.stderr and b"pw@" not in p.stderr


def test_pipeline_file_form(src, tmp_path):
    """`bootstrap -c pipeline.yaml`: every base table a format typed tables[]
    entry matches, into the path that entry names (the daemon's tables), with
    the connection from source.mysql and the password from the variable
    source.mysql.pwd_env names; raw entries are skipped; --table picks
    one source table."""
    wh = tmp_path / "lake"
    cfg = tmp_path / "pipeline.yaml"

    def write(entries):
        cfg.write_text(f"""pipeline: boot-test
source:
  mysql:
    url: "{src.url(USER, DB)}"
    pwd_env: BOOT_TEST_SECRET
bootstrap:
  chunk_rows: 2
warehouse: "{wh}"
tables:
{entries}""")

    def run(*extra, password=PASSWORD):
        env = dict(os.environ, BOOT_TEST_SECRET=password)
        env.pop("MYSQL_PWD", None)
        return subprocess.run([str(_binary(False)), "bootstrap", "-c", str(cfg), *extra],
                              capture_output=True, env=env, timeout=300)

    write('  - match: "bshop.alltypes"\n    format: raw\n'
          '  - match: "bshop.order*"\n    format: typed\n'
          '    path: "{warehouse}/{db}.db/{table}_typed"\n')
    p = run("--dry-run")
    assert_ok(p, "bootstrap -c --dry-run")
    assert "bshop.orderlines" in p.stdout.decode() and not wh.exists()
    p = run()
    assert_ok(p, "bootstrap -c")
    err = p.stderr.decode()
    assert "bshop.alltypes: its tables[] entry (line" in err and "format raw: skipped" in err
    assert "bootstrap bshop.orderlines: 5 rows in 3 chunks" in err and PASSWORD not in err
    path = wh / "bshop.db" / "orderlines_typed"
    assert compare(src, "orderlines", ["order_id", "line_no"], path) == []
    assert not (wh / "bshop.db" / "alltypes").exists()
    # --table names one source table; a raw one is not bootstrapped
    p = run("--table", "bshop.alltypes")
    assert p.returncode == 1 and b"--table bshop.alltypes: no such typed table" in p.stderr
    write('  - match: "bshop.*"\n    format: typed\n    key: [id]\n')
    p = run("--table", "bshop.alltypes")
    assert_ok(p, "bootstrap -c --table")
    assert compare(src, "alltypes", ["id"], wh / "bshop.db" / "alltypes") == []
    assert not (wh / "bshop.db" / "orderlines").exists()
    p = run(password="not-the-Password-9")
    assert p.returncode == 1 and b"Access denied" in p.stderr
    assert b"not-the-Password-9" not in p.stderr + p.stdout


# ------------------------------------------------------------ big tables

BIG_ROWS = 1_000_000


@pytest.fixture(scope="module")
def big(src):
    """1M rows from the sequence engine (about 12 s on the loaded machine)."""
    src.execute("CREATE TABLE big (id INT NOT NULL PRIMARY KEY, a BIGINT, b VARCHAR(32), "
                "c DECIMAL(12,2), d DATETIME(6)) ENGINE=InnoDB;"
                "INSERT INTO big SELECT seq, seq * 7, CONCAT('row-', seq), seq / 100, "
                f"TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_{BIG_ROWS};",
                database=DB, timeout=600)
    return src


def count_distinct(path):
    import pyarrow as pa
    from deltalake import QueryBuilder
    dt = DeltaTable(str(path))
    r = pa.table(QueryBuilder().register("t", dt).execute(
        "select count(*) as n, count(distinct id) as k, min(id) as lo, max(id) as hi, "
        "sum(a) as sa from t").read_all()).to_pylist()[0]
    return r


def chunk_history(path):
    return sorted((int(h["operationParameters"]["bootstrap.chunk"]), h)
                  for h in DeltaTable(str(path)).history()
                  if "bootstrap.chunk" in h.get("operationParameters", {}))


@pytest.mark.e2e
def test_million_rows(big, tmp_path):
    path = tmp_path / "big"
    p = boot(big, "big", path, timeout=900)
    assert_ok(p, "bootstrap of 1M rows")
    r = count_distinct(path)
    assert r == {"n": BIG_ROWS, "k": BIG_ROWS, "lo": 1, "hi": BIG_ROWS,
                 "sa": 7 * BIG_ROWS * (BIG_ROWS + 1) // 2}
    assert [c for c, _ in chunk_history(path)] == [1, 2, 3, 4]


@pytest.mark.e2e
def test_kill_9_and_resume(big, tmp_path):
    """kill -9 after some chunks; rows change in the source meanwhile; the
    resumed run reads after the last committed key from a new snapshot: no
    row twice, every row present, each chunk committed once, the rows of the
    first run at its position and the rest at the later one."""
    path = tmp_path / "killed"
    env = dict(os.environ, MYSQL_PWD=PASSWORD)
    cmd = [str(_binary(False)), "bootstrap", "--db", big.url(USER, DB), "--source-table", "big",
           "--table", str(path), "--chunk-rows", "50000"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = path / "_delta_log"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_dir() and len(list(log.glob("*.json"))) >= 4:  # create + 3 chunks
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the bootstrap ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = chunk_history(path)
    done_keys = int(json.loads(first[-1][1]["operationParameters"]["bootstrap.lastKey"])[0])
    assert 0 < done_keys < BIG_ROWS
    # the source changes between the runs: one row already copied, one not yet
    big.execute(f"UPDATE big SET b = 'changed' WHERE id IN (1, {BIG_ROWS});", database=DB)
    try:
        p = boot(big, "big", path, "--chunk-rows", "50000", timeout=900)
        assert_ok(p, "resumed bootstrap")
        r = count_distinct(path)
        assert r["n"] == BIG_ROWS and r["k"] == BIG_ROWS
        hist = chunk_history(path)
        assert [c for c, _ in hist] == list(range(1, BIG_ROWS // 50000 + 1))
        ins = sum(int(h["operationMetrics"]["numTargetRowsInserted"]) for _, h in hist)
        upd = sum(int(h["operationMetrics"]["numTargetRowsUpdated"]) for _, h in hist)
        assert (ins, upd) == (BIG_ROWS, 0)
        pos1 = first[0][1]["operationParameters"]["bootstrap.position"]
        last = hist[-1][1]["operationParameters"]
        assert last["bootstrap.firstPosition"] == pos1
        assert last["bootstrap.position"] != pos1
        rows = {r["id"]: r for r in delta_rows(path) if r["id"] in (1, done_keys, done_keys + 1,
                                                                 BIG_ROWS)}
        assert rows[1]["b"] == "row-1"                   # read before the change
        assert rows[BIG_ROWS]["b"] == "changed"          # read after it
        assert rows[done_keys]["__source_pos"].startswith(pos1 + ":0:snapshot")
        assert rows[done_keys + 1]["__source_pos"].startswith(
            last["bootstrap.position"] + ":0:snapshot")
    finally:
        big.execute(f"UPDATE big SET b = CONCAT('row-', id) WHERE id IN (1, {BIG_ROWS});",
                    database=DB)


# ------------------------------------------------- history and the stream

def _pos(rec):
    s = rec["payload"]["source"]
    return (int(s["file"].rsplit(".", 1)[1]), int(s["pos"]))


@pytest.mark.e2e
def test_history_reconciled_with_cdc(src, tmp_path):
    """Debezium streams (snapshot.mode no_data) while the bootstrap runs and
    the source keeps changing; then the Debezium stream — events before the
    snapshot's position and after it — is ingested into the bootstrapped
    typed table: the result equals MariaDB's final state."""
    import random
    import threading
    import debezium_fixture as dbzf
    from mariadb_fixture import require_or_skip
    why = dbzf.missing_components()
    if why:
        require_or_skip(why)
    db = src
    db.execute("DROP DATABASE IF EXISTS rshop; CREATE DATABASE rshop; USE rshop;"
               "CREATE TABLE acct (id INT NOT NULL PRIMARY KEY, v INT NOT NULL, s VARCHAR(20));"
               "CREATE TABLE marker (id INT PRIMARY KEY);"
               "INSERT INTO acct SELECT seq, 0, CONCAT('s', seq) FROM seq_1_to_20000;")
    dbz = dbzf.DebeziumRunner(db, tmp_path / "dbz", databases=["rshop"],
                              extra={"snapshot.mode": "no_data"})
    topic = f"{dbzf.TOPIC_PREFIX}.rshop.acct"
    mtopic = f"{dbzf.TOPIC_PREFIX}.rshop.marker"
    path = tmp_path / "acct"
    stop = threading.Event()
    rng = random.Random(7)

    def writer():
        n = 0
        while not stop.is_set() or n < 10:
            n += 1
            k = rng.randint(1, 20000)
            db.execute(f"UPDATE acct SET v = v + 1, s = 'u{n}' WHERE id = {k};"
                       f"DELETE FROM acct WHERE id = {rng.randint(1, 20000)};"
                       f"INSERT INTO acct VALUES ({20000 + n}, {n}, 'new');"
                       f"INSERT IGNORE INTO acct VALUES ({rng.randint(1, 20000)}, -1, 'back');"
                       f"UPDATE acct SET v = v * 2 WHERE id = {rng.randint(1, 20000 + n)};",
                       database="rshop")

    try:
        dbz.start()
        # streaming once a marker row inserted after its start arrives
        for i in range(1, 100):
            db.execute(f"INSERT INTO marker VALUES ({i})", database="rshop")
            try:
                dbz.wait_for(mtopic, lambda r: r is not None, timeout=3)
                break
            except RuntimeError:
                if dbz.proc.poll() is not None:
                    raise
        # a key created and deleted before the snapshot: absent from the history
        db.execute("INSERT INTO acct VALUES (90001, 1, 'gone'); DELETE FROM acct WHERE id = 90001;",
                   database="rshop")
        t = threading.Thread(target=writer)
        t.start()
        try:
            time.sleep(0.5)
            p = boot(db, "acct", path, "--chunk-rows", "1000", database="rshop")
        finally:
            stop.set()
            t.join()
        assert_ok(p, "bootstrap under writes")
        db.execute("INSERT INTO marker VALUES (1000)", database="rshop")
        dbz.wait_for(mtopic, lambda r: r is not None and r["payload"]["after"]["id"] == 1000,
                     timeout=180)
    finally:
        dbz.stop()
    recs = [r for r in dbz.records(topic) if r is not None]
    params = [h["operationParameters"] for h in DeltaTable(str(path)).history()
              if "bootstrap.chunk" in h.get("operationParameters", {})]
    f, pos = params[0]["bootstrap.position"].rsplit(":", 1)
    bpos = (int(f.rsplit(".", 1)[1]), int(pos))
    before = sum(1 for r in recs if _pos(r) < bpos)
    after = sum(1 for r in recs if _pos(r) >= bpos)
    assert before > 0 and after > 0, (before, after)  # the test means something
    # events at or before the snapshot's position change nothing: not even the
    # creates of keys the history does not hold (the table's history floor)
    hist_rows = sorted(delta_rows(path), key=lambda r: r["id"])
    pre = [r for r in recs if _pos(r) < bpos and r["payload"]["op"] == "c"]
    assert any(r["payload"]["after"]["id"] == 90001 for r in pre)
    pre_file = tmp_path / "pre.jsonl"
    pre_file.write_text("".join(json.dumps(r) + "\n" for r in pre))
    assert_ok(run_dc(["ingest", "--source", f"file:{pre_file}", "--table", str(path),
                      "--format", "typed", "--once"]), "events before the snapshot")
    assert sorted(delta_rows(path), key=lambda r: r["id"]) == hist_rows
    stream = tmp_path / "acct.jsonl"
    stream.write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert_ok(run_dc(["ingest", "--source", f"file:{stream}", "--table", str(path),
                      "--format", "typed", "--once"]), "CDC into the bootstrapped table")
    want = {int(r[0]): (int(r[1]), r[2]) for r in db.query("SELECT id, v, s FROM rshop.acct")}
    got = {r["id"]: (r["v"], r["s"]) for r in delta_rows(path)}
    assert len(got) == len(delta_rows(path))
    wrong = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
    assert not wrong, f"{len(wrong)} keys differ, e.g. {list(wrong.items())[:5]}"


# ------------------------------------------------------ typed key kinds

# Tables keyed by the kinds typed tables take besides integers and strings
# (issue 9): name -> (DDL, rows, Debezium field spec of each key column). The
# values make chunk edges where order matters: dates before 1970, negative
# decimals, binary keys that are prefixes of others, with quotes, backslashes
# and zero bytes, one date repeated with several second key values.
KEYED = {
    "kdate": ("k DATE NOT NULL PRIMARY KEY",
              ["'1969-12-31'", "'1000-01-01'", "'9999-12-31'", "'1970-01-01'"] +
              [f"'2024-01-01' + INTERVAL {i * 37} DAY" for i in range(19)],
              [("k", ("int32", "io.debezium.time.Date", None))]),
    "kdt6": ("k DATETIME(6) NOT NULL PRIMARY KEY",
             ["'1969-12-31 23:59:59.999999'", "'1970-01-01 00:00:00.000001'",
              "'2024-02-29 12:00:00'"] +
             [f"'2024-03-01 10:00:00.000007' + INTERVAL {i * 977} SECOND" for i in range(20)],
             [("k", ("int64", "io.debezium.time.MicroTimestamp", None))]),
    "kdt0": ("k DATETIME NOT NULL PRIMARY KEY",
             ["'1969-12-31 23:59:59'", "'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'"] +
             [f"'2024-03-01 10:00:00' + INTERVAL {i * 3607} SECOND" for i in range(20)],
             [("k", ("int64", "io.debezium.time.Timestamp", None))]),
    # an explicit default: no ON UPDATE CURRENT_TIMESTAMP moving the key
    "kts3": ("k TIMESTAMP(3) NOT NULL DEFAULT '2000-01-01 00:00:00' PRIMARY KEY",
             ["'1970-01-01 00:00:01.000'", "'2038-01-19 03:14:07.999'"] +
             [f"'2024-03-01 10:00:00.007' + INTERVAL {i * 977} SECOND" for i in range(21)],
             [("k", ("string", "io.debezium.time.ZonedTimestamp", None))]),
    "kdec": ("k DECIMAL(10,2) NOT NULL PRIMARY KEY",
             ["-99999999.99", "99999999.99", "0.00", "-0.01", "0.01"] +
             [f"{(i * 12345 - 98765) / 100:.2f}" for i in range(18)],
             [("k", ("bytes", "org.apache.kafka.connect.data.Decimal",
                     {"scale": "2", "connect.decimal.precision": "10"}))]),
    "kbin": ("k VARBINARY(16) NOT NULL PRIMARY KEY",
             ["X''", "X'00'", "X'0000'", "X'FF'", "X'FFFF00'", "X'27'", "X'5C'", "X'2722'",
              "'a'", "'a\\0'", "'A'"] + [f"X'{i:02X}{255 - i:02X}0A'" for i in range(12)],
             [("k", ("bytes", None, None))]),
    "kdn": ("d DATE NOT NULL, n INT NOT NULL, PRIMARY KEY (d, n)",
            [f"'2023-12-{1 + i // 5:02d}', {i % 5 * 7 - 10}" for i in range(23)],
            [("d", ("int32", "io.debezium.time.Date", None)),
             ("n", ("int32", None, None))]),
}


def _keyed(name):
    ddl, keys, spec = KEYED[name]
    return ddl, keys, [c for c, _ in spec], spec


@pytest.fixture(scope="module")
def keyed(src):
    sql = []
    for name in KEYED:
        ddl, keys, _, _ = _keyed(name)
        rows = ", ".join(f"({k}, {i * 3 + 1})" for i, k in enumerate(keys))
        sql.append(f"CREATE TABLE {name} ({ddl}, v INT NOT NULL); INSERT INTO {name} VALUES {rows};")
    src.execute("".join(sql), database=DB)
    return src


def canon_state(db, table, key, path):
    """(MariaDB's rows, the Delta table's rows) as sets of canonical tuples,
    and the Delta table's row count (a key twice would show there)."""
    cols, want = mariadb_rows(db, table, key)
    got = delta_rows(path)
    w = {tuple(canonical_mariadb(t, r[c]) for c, _, t in cols) for r in want}
    g = {tuple(canonical_typed(t, r[c]) for c, _, t in cols) for r in got}
    return w, g, len(got)


@pytest.mark.parametrize("table", list(KEYED))
def test_typed_key_kinds_in_chunks(keyed, tmp_path, table):
    """Chunks of 4 rows over a table keyed by a date, a DATETIME(6), a
    decimal, a binary column or (date, int): every row once, every value
    equal to MariaDB's; each chunk's lastKey the last key read (resuming
    after it reads the next one); a rerun reads nothing."""
    _, keys, key, _ = _keyed(table)
    path = tmp_path / table
    p = boot(keyed, table, path, "--chunk-rows", "4")
    assert_ok(p, f"bootstrap {table}")
    n = len(keys)
    assert f"{n} rows in {n // 4 + 1} chunks" in p.stderr.decode()
    w, g, count = canon_state(keyed, table, key, path)
    assert count == n and g == w, (sorted(g ^ w, key=repr)[:6])
    for r in delta_rows(path):
        assert r["__op"] == "r"
    dt = DeltaTable(str(path))
    hist = chunk_history(path)
    assert [c for c, _ in hist] == list(range(1, n // 4 + 2))
    # every chunk's lastKey, given back to MariaDB as the chunk query gives
    # it, names exactly the rows of the chunks up to it
    for c, h in hist:
        lits = json.loads(h["operationParameters"]["bootstrap.lastKey"])
        assert len(lits) == len(key)
        cond = " OR ".join("(" + " AND ".join(f"{key[j]} {'>' if j == i else '='} {lits[j]}"
                                                for j in range(i + 1)) + ")"
                           for i in range(len(key)))
        (left,), = keyed.query(f"SET time_zone = '+00:00'; SELECT COUNT(*) FROM {DB}.{table} "
                               f"WHERE NOT ({cond})")
        assert int(left) == min(4 * c, n), (c, lits)
    v = dt.version()
    assert_ok(boot(keyed, table, path, "--chunk-rows", "4"), "second bootstrap")
    assert DeltaTable(str(path)).version() == v


def test_typed_key_kinds_under_sanitizers(keyed, tmp_path):
    """The ASan+UBSan binary (when built) over every keyed table in chunks
    of 4: the key encodings and lastKey literals on every path, values equal."""
    if not (REPO / "build-san" / "deltacdc").exists():
        pytest.skip("build-san/deltacdc not built (make build-san/deltacdc)")
    for table in KEYED:
        _, _, key, _ = _keyed(table)
        path = tmp_path / table
        p = boot(keyed, table, path, "--chunk-rows", "4", san=True)
        assert_ok(p, f"bootstrap {table} under sanitizers")
        assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
        w, g, count = canon_state(keyed, table, key, path)
        assert count == len(w) and g == w, (table, sorted(g ^ w, key=repr)[:6])


def _debezium_key(spec, text):
    """MariaDB's rendered key value → the JSON value Debezium sends for it."""
    import base64
    import datetime as dtm
    import decimal
    from typedgen import dec_b64
    t, name, params = spec
    if name == "io.debezium.time.Date":
        return (dtm.date.fromisoformat(text) - dtm.date(1970, 1, 1)).days
    if name == "io.debezium.time.MicroTimestamp":
        return canonical_mariadb("datetime(6)", text)
    if name == "io.debezium.time.Timestamp":
        return canonical_mariadb("datetime", text) // 1000
    if name == "io.debezium.time.ZonedTimestamp":
        return text.replace(" ", "T") + "Z"
    if name == "org.apache.kafka.connect.data.Decimal":
        return dec_b64(int(decimal.Decimal(text).scaleb(int(params["scale"]))))
    if t == "bytes":
        return base64.b64encode(bytes.fromhex(text)).decode()
    return int(text)


@pytest.mark.parametrize("table", list(KEYED))
def test_typed_key_kinds_cdc_on_top(keyed, tmp_path, table):
    """CDC events after the bootstrap's position, keyed in Debezium's
    encoding, find the bootstrapped rows of their key: updates replace them,
    deletes remove them (no row twice, none left behind), as in MariaDB."""
    import typedgen
    _, _, key, spec = _keyed(table)
    db = keyed
    db.execute(f"DROP TABLE IF EXISTS {table}_c; CREATE TABLE {table}_c LIKE {table}; "
               f"INSERT INTO {table}_c SELECT * FROM {table}", database=DB)
    path = tmp_path / table
    assert_ok(boot(db, f"{table}_c", path, "--chunk-rows", "5"), "bootstrap")
    h = chunk_history(path)[0][1]["operationParameters"]
    f, pos = h["bootstrap.position"].rsplit(":", 1)
    cols, rows = mariadb_rows(db, f"{table}_c", key)
    schema = typedgen.schema_block(spec + [("v", ("int32", None, None))], key=tuple(key),
                                   db=DB, table=f"{table}_c")
    out, p = [], int(pos)
    for i, r in enumerate(rows):
        if i % 3 == 2:
            continue
        k = {c: _debezium_key(s, r[c]) for c, s in spec}
        before = dict(k, v=int(r["v"]))
        after = None if i % 3 == 1 else dict(k, v=-i)
        p += 10
        out.append({"schema": schema, "payload": {
            "before": before, "after": after, "op": "d" if after is None else "u",
            "ts_ms": 1, "source": {"file": f, "pos": p, "row": 0}}})
        types = {c: t for c, t, _ in cols}
        lit = " AND ".join(f"{c} = {_sql_lit(types[c], r[c])}" for c in key)
        db.execute("SET time_zone = '+00:00';" +
                   (f"DELETE FROM {table}_c WHERE {lit}" if after is None else
                    f"UPDATE {table}_c SET v = {-i} WHERE {lit}"), database=DB)
    stream = tmp_path / "cdc.jsonl"
    stream.write_text("".join(json.dumps(r) + "\n" for r in out))
    assert_ok(run_dc(["ingest", "--source", f"file:{stream}", "--table", str(path),
                      "--format", "typed", "--once"]), "CDC into the bootstrapped table")
    w, g, count = canon_state(db, f"{table}_c", key, path)
    assert count == len(w) and g == w, (sorted(g ^ w, key=repr)[:6])
    assert len(w) < len(rows)  # the deletes happened


def _sql_lit(data_type, text):
    """A rendered value back as an SQL literal of its column."""
    if data_type in ("binary", "varbinary"):
        return f"X'{text}'"
    return "'" + text.replace("'", "''") + "'"


KDN_ROWS = 300_003  # the last chunk not full


def test_kill_9_and_resume_date_int_key(src, tmp_path):
    """kill -9 in the middle of a bootstrap keyed by (DATE, INT), chunks
    ending inside a date's run of rows; the resumed run starts after the
    last committed (date, int) literal pair: every row once, each chunk once,
    values summing to MariaDB's."""
    src.execute("DROP TABLE IF EXISTS kdn_big; CREATE TABLE kdn_big (d DATE NOT NULL, "
                "n INT NOT NULL, v BIGINT NOT NULL, PRIMARY KEY (d, n));"
                "INSERT INTO kdn_big SELECT DATE'1960-01-01' + INTERVAL (seq DIV 7) DAY, "
                f"CAST(seq MOD 7 AS SIGNED) - 3, seq FROM seq_0_to_{KDN_ROWS - 1};", database=DB, timeout=600)
    path = tmp_path / "kdn_big"
    env = dict(os.environ, MYSQL_PWD=PASSWORD)
    cmd = [str(_binary(False)), "bootstrap", "--db", src.url(USER, DB), "--source-table",
           "kdn_big", "--table", str(path), "--chunk-rows", "10000"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = path / "_delta_log"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_dir() and len(list(log.glob("*.json"))) >= 4:  # create + 3 chunks
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the bootstrap ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = [c for c, _ in chunk_history(path)]
    assert 3 <= len(first) < KDN_ROWS // 10000
    p = boot(src, "kdn_big", path, "--chunk-rows", "10000", timeout=900)
    assert_ok(p, "resumed bootstrap")
    hist = chunk_history(path)
    assert [c for c, _ in hist] == list(range(1, KDN_ROWS // 10000 + 2))
    ins = sum(int(h["operationMetrics"]["numTargetRowsInserted"]) for _, h in hist)
    upd = sum(int(h["operationMetrics"]["numTargetRowsUpdated"]) for _, h in hist)
    assert (ins, upd) == (KDN_ROWS, 0)
    import pyarrow as pa
    from deltalake import QueryBuilder
    r = pa.table(QueryBuilder().register("t", DeltaTable(str(path))).execute(
        "select count(*) as c, count(distinct (d, n)) as k, sum(v) as s, min(d) as lo, "
        "max(d) as hi from t").read_all()).to_pylist()[0]
    (lo, hi), = src.query(f"SELECT MIN(d), MAX(d) FROM {DB}.kdn_big")
    assert (r["c"], r["k"], r["s"]) == (KDN_ROWS, KDN_ROWS, KDN_ROWS * (KDN_ROWS - 1) // 2)
    assert (str(r["lo"]), str(r["hi"])) == (lo, hi)


@pytest.mark.parametrize("ddl,ctype", [("k DECIMAL(20,2)", "decimal(20,2)"),
                                       ("k TIME", "time"), ("k DOUBLE", "double"),
                                       ("k BIGINT UNSIGNED", "bigint(20) unsigned")])
def test_key_kinds_refused_by_name(src, tmp_path, ddl, ctype):
    """Key types typed tables do not take are refused before anything is
    written, naming the column and its type."""
    src.execute(f"DROP TABLE IF EXISTS knot; CREATE TABLE knot ({ddl} NOT NULL PRIMARY KEY, "
                "v INT); INSERT INTO knot VALUES (1, 1);", database=DB)
    path = tmp_path / "knot"
    p = boot(src, "knot", path)
    err = p.stderr.decode()
    assert p.returncode != 0 and "key column 'k'" in err and ctype in err, err
    assert not (path / "_delta_log").exists()
