"""The completeness monitor (issue 11, the seed's second job) against a private
MariaDB (mariadb_fixture): a typed table built faithfully by `deltacdc
bootstrap` is green in every mode (the every-type workload table included, so
the canonical row text of each type agrees between MariaDB's SQL and
deltacdc); rows changed behind deltacdc's back (deleted from the Delta table
with delta-rs; inserted, updated and deleted in MariaDB with the binlog off so
no CDC sees them) are reported as exactly those ranges and keys; a difference
while the table has not reached the source's position is pending, not a
mismatch; exit codes; and the daemon's schedule POSTs an alert, then a
recovery, to a webhook. Keys whose first column is not an integer (a
composite (VARCHAR latin1, INT) key, a CHAR key, a (DATE, DATETIME, DECIMAL,
VARBINARY, TIMESTAMP, TIME) key) are compared in buckets of the key's hash:
this file computes each key's bucket itself (MD5 of the canonical key text)
and expects exactly those buckets and keys."""
import datetime
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request

import pytest
from deltalake import DeltaTable

import mariadb_workload as wl
from conftest import REPO, _binary, assert_ok, run_dc
from mariadb_fixture import mariadb  # noqa: F401  (the fixture)

USER, PASSWORD = "cmon", "cmon-Secret-7"
DB = "cshop"
N_ITEMS = 1000


@pytest.fixture(scope="module")
def src(mariadb):  # noqa: F811
    """The every-type table (all row kinds, a zero date) and `items`
    (ids 1..N_ITEMS) in database cshop."""
    mariadb.execute(re.sub(rf"\b{wl.DB}\b", DB, wl.CREATE))
    rows = ", ".join(wl._row(i, k) for i, k in
                     [(1, "typical"), (2, "nulls"), (3, "max"), (4, "min"), (5, "odd")])
    mariadb.execute(f"INSERT INTO alltypes ({wl._COLS}) VALUES {rows};" + wl._zero_date_row(7) +
                    "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40), "
                    "price DECIMAL(9,2), seen DATETIME(6), f DOUBLE);"
                    "INSERT INTO items SELECT seq, CONCAT('item ', seq), seq * 1.25, "
                    "TIMESTAMPADD(SECOND, seq, '2024-01-01'), seq / 7 "
                    f"FROM seq_1_to_{N_ITEMS};", database=DB)
    mariadb.create_user(USER, PASSWORD, grants="SELECT, RELOAD, REPLICATION CLIENT")
    return mariadb


def _env():
    return dict(os.environ, MYSQL_PWD=PASSWORD)


def boot(db, table, path):
    p = subprocess.run([str(_binary(False)), "bootstrap", "--db", db.url(USER, DB),
                        "--source-table", table, "--table", str(path)],
                       capture_output=True, env=_env(), timeout=300)
    assert_ok(p, f"bootstrap {table}")


def check(db, table, path, *extra, env=None):
    return subprocess.run([str(_binary(False)), "check", "--table", str(path), "--db",
                           db.url(USER, DB), "--source-table", table, *extra],
                          capture_output=True, env=env or _env(), timeout=300)


def check_json(db, table, path, *extra):
    p = check(db, table, path, "--json", *extra)
    assert p.returncode in (0, 1, 4), p.stderr.decode()
    return p.returncode, json.loads(p.stdout)


@pytest.mark.parametrize("mode", ["ranges", "count", "max_id"])
def test_faithful_alltypes_is_verified(src, tmp_path, mode):
    path = tmp_path / "alltypes"
    boot(src, "alltypes", path)
    p = check(src, "alltypes", path, "--mode", mode, "--range-size", "2", "--keys")
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    pos = re.search(r"source position P (\S+:\d+)", out).group(1)
    assert f"OK: equal, verified through source position {pos}" in out
    rc, r = check_json(src, "alltypes", path, "--mode", mode)
    assert rc == 0 and r["state"] == "ok" and r["verified_through"] == pos
    assert r["source_rows"] == r["table_rows"] == 6 and r["behind"] is False


def _keys(r):
    return sorted((k["key"], k["diff"]) for k in r["keys"])


def test_changes_behind_deltacdcs_back(src, tmp_path):
    path = tmp_path / "items"
    boot(src, "items", path)
    rc, r = check_json(src, "items", path, "--range-size", "100")
    assert rc == 0 and r["ranges_compared"] == 11  # ids 1..1000: ranges 0..10
    # the table loses two rows; the source gains one, changes one, loses one
    DeltaTable(str(path)).delete("id = 17 OR id = 555")
    src.execute("SET sql_log_bin = 0; INSERT INTO items VALUES (2001, 'ghost', 1, NULL, 0);"
                "UPDATE items SET price = price + 0.01 WHERE id = 300;"
                "DELETE FROM items WHERE id = 800;", database=DB)
    try:
        rc, r = check_json(src, "items", path, "--range-size", "100", "--keys")
        assert rc == 1 and r["state"] == "mismatch" and r["verified_through"] is None
        got = [(g["lo"], g["hi"], g["source_rows"], g["table_rows"], g["status"])
               for g in r["ranges"]]
        assert got == [(0, 99, 99, 98, "mismatch"), (300, 399, 100, 100, "mismatch"),
                       (500, 599, 100, 99, "mismatch"), (800, 899, 99, 100, "mismatch"),
                       (2000, 2099, 1, 0, "mismatch")], got
        assert _keys(r) == [("17", "missing"), ("2001", "missing"), ("300", "values"),
                            ("555", "missing"), ("800", "extra")]
        # without --keys: the ranges only; the table form names them too
        rc, r = check_json(src, "items", path, "--range-size", "100")
        assert rc == 1 and r["keys"] == [] and len(r["ranges"]) == 5
        p = check(src, "items", path, "--range-size", "1000", "--keys")
        out = p.stdout.decode()
        assert p.returncode == 1 and "FAIL: 2 of 3 ranges differ" in out, out
        assert re.search(r"key 555 +missing in table", out) and re.search(r"key 800 +extra", out)
        assert re.search(r"key 300 +different values", out)
        # the probes: count (1000 in the source, 998 in the table), max id
        rc, r = check_json(src, "items", path, "--mode", "count")
        assert rc == 1 and (r["source_rows"], r["table_rows"]) == (1000, 998)
        rc, r = check_json(src, "items", path, "--mode", "max_id")
        assert rc == 1 and (r["source_max"], r["table_max"]) == (2001, 1000)
    finally:
        src.execute("SET sql_log_bin = 0; DELETE FROM items WHERE id = 2001;"
                    "UPDATE items SET price = price - 0.01 WHERE id = 300;"
                    "INSERT INTO items VALUES (800, 'item 800', 1000.00, "
                    "'2024-01-01 00:13:20', 800 / 7);", database=DB)


# Keys that are not integers: each table's keys as the INSERT below makes them
# (so this file knows every key without asking either side).
N_CKEYS, N_SKEYS, N_MKEYS = 500, 300, 100


def _code(i):
    return f"c{i % 37}{'é' if i % 5 == 0 else ''}{' ' if i % 11 == 0 else ''}"


def _sku(i):
    return f"{'Ü' if i % 3 == 0 else 'u'}-{i:05d}"


@pytest.fixture(scope="module")
def keyed(src):
    """ckeys: PRIMARY KEY (code VARCHAR latin1, n INT), codes with 'é' and a
    trailing space; skeys: sku CHAR(16) (utf8mb4, a case-insensitive
    collation); mkeys: PRIMARY KEY (d DATE, ts DATETIME(3), amt
    DECIMAL(10,2), tag VARBINARY(4), at TIMESTAMP(6)): every kind a typed
    table takes as a key (not TIME: a non-key column here)."""
    src.execute(
        "SET NAMES utf8mb4;"
        "CREATE TABLE ckeys (code VARCHAR(20) CHARACTER SET latin1 NOT NULL, n INT NOT NULL, "
        "note VARCHAR(40), amount DECIMAL(9,2), PRIMARY KEY (code, n));"
        "INSERT INTO ckeys SELECT CONCAT('c', seq % 37, IF(seq % 5 = 0, 'é', ''), "
        "IF(seq % 11 = 0, ' ', '')), seq, CONCAT('note ', seq), seq * 0.5 "
        f"FROM seq_1_to_{N_CKEYS};"
        "CREATE TABLE skeys (sku CHAR(16) NOT NULL PRIMARY KEY, title VARCHAR(40), qty INT);"
        "INSERT INTO skeys SELECT CONCAT(IF(seq % 3 = 0, 'Ü', 'u'), '-', LPAD(seq, 5, '0')), "
        f"CONCAT('title ', seq), seq % 17 FROM seq_1_to_{N_SKEYS};"
        "CREATE TABLE mkeys (d DATE NOT NULL, ts DATETIME(3) NOT NULL, amt DECIMAL(10,2) NOT NULL, "
        "tag VARBINARY(4) NOT NULL, at TIMESTAMP(6) NOT NULL, t TIME(6) NOT NULL, v INT, "
        "PRIMARY KEY (d, ts, amt, tag, at));"
        "SET time_zone = '+00:00';"
        "INSERT INTO mkeys SELECT DATE_ADD('2024-01-01', INTERVAL seq DAY), "
        "TIMESTAMPADD(SECOND, seq, '2024-01-01 00:00:00.125'), seq * 1.5, "
        "UNHEX(LPAD(HEX(seq), 8, '0')), FROM_UNIXTIME(1700000000 + seq + 0.5), "
        f"SEC_TO_TIME(seq * 61), seq FROM seq_1_to_{N_MKEYS};", database=DB)
    return src


def _ckey(i):
    return (_code(i), str(i))


def _canon(vals):
    """The canonical key text: "<bytes>:<text>" per key column."""
    return b"".join(b"%d:%s" % (len(v.encode()), v.encode()) for v in vals)


def _bucket(vals, buckets):
    return int(hashlib.md5(_canon(vals)).hexdigest()[:16], 16) % buckets


def _mkey(i):
    """(d, ts, amt, tag, at) in canonical form: dates and times as
    "YYYY-MM-DD[ HH:MM:SS.ffffff]" (UTC), the decimal with its scale,
    binary in upper-case hex."""
    at = datetime.datetime.fromtimestamp(1700000000 + i + 0.5, datetime.timezone.utc)
    ts = datetime.datetime(2024, 1, 1, 0, 0, 0, 125000) + datetime.timedelta(seconds=i)
    return ((datetime.date(2024, 1, 1) + datetime.timedelta(days=i)).isoformat(),
            ts.strftime("%Y-%m-%d %H:%M:%S.%f"), f"{i * 1.5:.2f}", f"{i:08X}",
            at.strftime("%Y-%m-%d %H:%M:%S.%f"))


KEYED = {"ckeys": (N_CKEYS, _ckey), "skeys": (N_SKEYS, lambda i: (_sku(i),)),
         "mkeys": (N_MKEYS, _mkey)}


@pytest.mark.parametrize("table", sorted(KEYED))
def test_faithful_any_key_is_verified(keyed, tmp_path, table):
    """Green on a faithful table whatever the key; its buckets are the hash
    buckets of the keys' canonical text, as this file computes them."""
    n, key = KEYED[table]
    path = tmp_path / table
    boot(keyed, table, path)
    p = check(keyed, table, path, "--range-size", "50", "--keys")
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    buckets = -(-n // 50)
    assert f"{buckets} buckets by the key's hash" in out and "OK: equal, verified" in out, out
    rc, r = check_json(keyed, table, path, "--range-size", "50", "--keys")
    assert rc == 0 and r["ranges_by"] == "key_hash" and r["buckets"] == buckets, r
    assert r["ranges_compared"] == len({_bucket(key(i), buckets) for i in range(1, n + 1)})
    assert r["source_rows"] == r["table_rows"] == n and r["keys"] == []
    rc, r = check_json(keyed, table, path, "--mode", "count")
    assert rc == 0 and r["table_rows"] == n


def _expect(buckets, missing=(), extra=(), values=()):
    """The differing buckets {bucket: source rows - table rows} and keys."""
    want = {}
    for keys, d in ((missing, 1), (extra, -1), (values, 0)):
        for k in keys:
            b = _bucket(k, buckets)
            want[b] = want.get(b, 0) + d
    keys = sorted([(",".join(k), "missing") for k in missing] +
                  [(",".join(k), "extra") for k in extra] +
                  [(",".join(k), "values") for k in values])
    return want, keys


def _got(r):
    return {g["bucket"]: g["source_rows"] - g["table_rows"] for g in r["ranges"]}


@pytest.mark.parametrize("table", ["ckeys", "skeys"])
def test_any_key_changes_behind_deltacdcs_back(keyed, tmp_path, table):
    """Rows deleted from the table with delta-rs, and inserted, updated and
    deleted in MariaDB with the binlog off: exactly their buckets and keys."""
    n, key = KEYED[table]
    path = tmp_path / table
    boot(keyed, table, path)
    if table == "ckeys":
        gone = [_ckey(3), _ckey(10)]                       # 'c10é'
        new, changed, dropped = ("zz-new", "9999"), _ckey(22), _ckey(7)  # 'c22 ': trailing space
        DeltaTable(str(path)).delete("(code = 'c3' AND n = 3) OR (code = 'c10é' AND n = 10)")
        sql = ("SET NAMES utf8mb4; SET sql_log_bin = 0;"
               "INSERT INTO ckeys VALUES ('zz-new', 9999, 'ghost', 1);"
               "UPDATE ckeys SET amount = amount + 0.01 WHERE code = 'c22 ' AND n = 22;"
               "DELETE FROM ckeys WHERE code = 'c7' AND n = 7;")
        undo = ("SET NAMES utf8mb4; SET sql_log_bin = 0; DELETE FROM ckeys WHERE n = 9999;"
                "UPDATE ckeys SET amount = amount - 0.01 WHERE code = 'c22 ' AND n = 22;"
                "INSERT INTO ckeys VALUES ('c7', 7, 'note 7', 3.5);")
    else:
        gone = [(_sku(1),), (_sku(6),)]                    # 'u-00001', 'Ü-00006'
        new, changed, dropped = ("new-sku",), (_sku(9),), (_sku(2),)
        DeltaTable(str(path)).delete("sku = 'u-00001' OR sku = 'Ü-00006'")
        sql = ("SET NAMES utf8mb4; SET sql_log_bin = 0;"
               "INSERT INTO skeys VALUES ('new-sku', 'ghost', 1);"
               "UPDATE skeys SET qty = qty + 100 WHERE sku = 'Ü-00009';"
               "DELETE FROM skeys WHERE sku = 'u-00002';")
        undo = ("SET NAMES utf8mb4; SET sql_log_bin = 0; DELETE FROM skeys WHERE sku = 'new-sku';"
                "UPDATE skeys SET qty = qty - 100 WHERE sku = 'Ü-00009';"
                "INSERT INTO skeys VALUES ('u-00002', 'title 2', 2);")
    keyed.execute(sql, database=DB)
    try:
        buckets = -(-n // 50)  # one row in, one out: the source still has n
        want, want_keys = _expect(buckets, missing=gone + [new], extra=[dropped],
                                  values=[changed])
        rc, r = check_json(keyed, table, path, "--range-size", "50", "--keys")
        assert rc == 1 and r["state"] == "mismatch" and r["buckets"] == buckets, r
        assert _got(r) == want and all(g["status"] == "mismatch" for g in r["ranges"]), r
        assert [g["bucket"] for g in r["ranges"]] == sorted(want)
        assert _keys(r) == want_keys, _keys(r)
        assert (r["source_rows"], r["table_rows"]) == (n, n - 2)
        # without --keys: the buckets only; the table form names them too
        rc, r = check_json(keyed, table, path, "--range-size", "50")
        assert rc == 1 and r["keys"] == [] and _got(r) == want
        p = check(keyed, table, path, "--range-size", "50", "--keys")
        out = p.stdout.decode()
        assert p.returncode == 1, out
        assert f"FAIL: {len(want)} of {r['ranges_compared']} buckets differ" in out, out
        for b in want:
            assert re.search(rf"^bucket {b} +\d+ +\d+ ", out, re.M), out
        assert f"key {','.join(dropped):<26} extra in table" in out, out
        # other bucket counts name other buckets, the same keys
        rc, r = check_json(keyed, table, path, "--range-size", "7", "--keys")
        want7, _ = _expect(-(-n // 7), missing=gone + [new], extra=[dropped], values=[changed])
        assert rc == 1 and _got(r) == want7 and _keys(r) == want_keys
        # max_id: refused for a key that is not an integer
        p = check(keyed, table, path, "--mode", "max_id")
        assert p.returncode == 3 and b"max_id needs an integer first key column" in p.stderr
        assert b"count and ranges take any key" in p.stderr
    finally:
        keyed.execute(undo, database=DB)


def test_max_id_reads_the_files_stats(src, tmp_path):
    """max_id takes the table's greatest key from the files' maxValues when
    no deletion vector can hide it (its data files hidden, it still
    answers); a deletion vector in the file holding the greatest key makes
    it read the rows."""
    path = tmp_path / "items"
    boot(src, "items", path)
    _hide_data_files(path)
    rc, r = check_json(src, "items", path, "--mode", "max_id")
    assert rc == 0 and (r["source_max"], r["table_max"], r["table_rows"]) == \
        (N_ITEMS, N_ITEMS, N_ITEMS), r
    import typedgen

    def stream(name, tail):
        """25 snapshot rows (one batch, one file: ids 0..24), then tail's
        changes in a second batch (deletes leave deletion vectors)."""
        s = typedgen.TypedStream(seed=5)
        s.snapshot(25)
        tail(s)
        t = tmp_path / name
        p = run_dc(["ingest", "--source", f"file:{s.write(tmp_path / (name + '.jsonl'))}",
                    "--table", t, "--format", "typed", "--key", "id", "--mode", "dv",
                    "--max-batch", "25", "--once"], timeout=300)
        assert_ok(p, "ingest")
        log = "".join(f.read_text() for f in (t / "_delta_log").glob("*.json"))
        assert '"deletionVector":{' in log
        return t, sorted(s.live)

    def delete(s, k):
        s._emit("d", s.live.pop(k), None)
        s.values.append(None)

    def create(s, k):
        s.live[k] = s._row(k)
        s._emit("c", None, s.live[k])

    # the greatest key (30) in a file without a vector: the stats answer
    t, live = stream("clean_max", lambda s: (delete(s, 3), create(s, 30)))
    src.execute(f"DROP TABLE IF EXISTS maxed; CREATE TABLE maxed (id BIGINT PRIMARY KEY);"
                f"INSERT INTO maxed VALUES {', '.join(f'({k})' for k in live)};", database=DB)
    _hide_data_files(t)
    rc, r = check_json(src, "maxed", t, "--mode", "max_id")
    assert rc == 0 and (r["table_max"], r["table_rows"]) == (30, len(live)), r
    # the file's max (24) deleted by its vector: only the rows tell (23)
    t, live = stream("dv_max", lambda s: delete(s, 24))
    src.execute(f"DELETE FROM maxed; INSERT INTO maxed VALUES "
                f"{', '.join(f'({k})' for k in live)};", database=DB)
    rc, r = check_json(src, "maxed", t, "--mode", "max_id")
    assert rc == 0 and r["table_max"] == 23, r
    _hide_data_files(t)
    assert check(src, "maxed", t, "--mode", "max_id").returncode == 3


def test_pending_while_the_table_is_behind(src, tmp_path):
    path = tmp_path / "items"
    boot(src, "items", path)
    # a change the binlog records (no CDC runs here): the source's position
    # moves past the table's, and the difference is not (yet) a mismatch
    src.execute("INSERT INTO items VALUES (5000, 'late', 1, NULL, 0);", database=DB)
    try:
        rc, r = check_json(src, "items", path, "--keys")
        assert rc == 4 and r["state"] == "pending" and r["behind"] is True, r
        assert r["verified_through"] is None and r["table_reached"] != r["source_position"]
        t0 = time.time()
        p = check(src, "items", path, "--wait", "1s")
        assert p.returncode == 4 and time.time() - t0 >= 1.0
        assert "PENDING: differs, but the table has not reached source position" in \
            p.stdout.decode()
        # equal again at a later position: verified through it (the table's
        # rows are the source's there, whatever position it recorded)
        src.execute("DELETE FROM items WHERE id = 5000;", database=DB)
        rc, r = check_json(src, "items", path)
        assert rc == 0 and r["state"] == "ok" and r["behind"] is True
    finally:
        src.execute("DELETE FROM items WHERE id = 5000;", database=DB)


def test_rows_changed_after_p_are_not_judged(src, tmp_path):
    """A table row whose __source_pos is after the snapshot's position (a
    change the source made after P, merged already) makes its range
    'changed after P': pending, not a mismatch; the other ranges are judged."""
    path = tmp_path / "items"
    boot(src, "items", path)
    rc, r = check_json(src, "items", path)
    assert rc == 0
    file = r["source_position"].split(":")[0]
    later = file[:file.rindex(".") + 1] + "999999:4:0"
    DeltaTable(str(path)).update(predicate="id = 5", updates={"name": "'changed later'",
                                           "__source_pos": f"'{later}'"})
    rc, r = check_json(src, "items", path, "--range-size", "100", "--keys")
    assert rc == 4 and r["state"] == "pending" and r["behind"] is False, r
    assert r["rows_changed_after_p"] == 1
    assert [(g["lo"], g["status"]) for g in r["ranges"]] == [(0, "changed_after_p")]
    assert [(k["key"], k["diff"], k["changed_after_p"]) for k in r["keys"]] == \
        [("5", "values", True)]
    # a real difference elsewhere is still a mismatch
    DeltaTable(str(path)).delete("id = 250")
    rc, r = check_json(src, "items", path, "--range-size", "100")
    assert rc == 1 and [(g["lo"], g["status"]) for g in r["ranges"]] == \
        [(0, "changed_after_p"), (200, "mismatch")]


def test_under_sanitizers(src, tmp_path):
    """The ASan+UBSan binary (when built) checks the every-type table in every
    mode, and names the range and key of a row deleted behind its back."""
    san = REPO / "build-san" / "deltacdc"
    if not san.exists():
        pytest.skip("build-san/deltacdc not built (make build-san/deltacdc)")
    path = tmp_path / "alltypes"
    boot(src, "alltypes", path)
    DeltaTable(str(path)).delete("id = 3")
    for mode, want in (("ranges", 1), ("count", 1), ("max_id", 0)):
        p = subprocess.run([str(san), "check", "--table", str(path), "--db", src.url(USER, DB),
                            "--source-table", "alltypes", "--mode", mode, "--range-size", "2",
                            "--keys", "--json"], capture_output=True, env=_env(), timeout=300)
        assert p.returncode == want, p.stderr.decode()
        assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
        if mode == "ranges":
            r = json.loads(p.stdout)
            assert [(g["lo"], g["hi"]) for g in r["ranges"]] == [(2, 3)]
            assert _keys(r) == [("3", "missing")]


def test_any_key_under_sanitizers(keyed, tmp_path):
    """The ASan+UBSan binary on the composite (VARCHAR latin1, INT) key: the
    bucket and key of a row deleted behind its back."""
    san = REPO / "build-san" / "deltacdc"
    if not san.exists():
        pytest.skip("build-san/deltacdc not built (make build-san/deltacdc)")
    path = tmp_path / "ckeys"
    boot(keyed, "ckeys", path)
    DeltaTable(str(path)).delete("code = 'c10é' AND n = 10")
    p = subprocess.run([str(san), "check", "--table", str(path), "--db", keyed.url(USER, DB),
                        "--source-table", "ckeys", "--range-size", "50", "--keys", "--json"],
                       capture_output=True, env=_env(), timeout=300)
    assert p.returncode == 1, p.stderr.decode()
    assert b"runtime error" not in p.stderr and b"AddressSanitizer" not in p.stderr
    r = json.loads(p.stdout)
    assert [g["bucket"] for g in r["ranges"]] == [_bucket(_ckey(10), 10)]
    assert _keys(r) == [("c10é,10", "missing")]


def _typed(tmp_path, name, *extra):
    """A typed table ingested (mode dv, small batches, so updates and
    deletes leave deletion vectors) from a generated Debezium stream; its
    live rows as delta-rs reads them."""
    import typedgen
    s = typedgen.TypedStream(seed=41)
    s.snapshot(25)
    s.run(300)
    path = tmp_path / name
    p = run_dc(["ingest", "--source", f"file:{s.write(tmp_path / (name + '.jsonl'))}",
                "--table", path, "--format", "typed", "--key", "id", "--mode", "dv",
                "--max-batch", "20", "--once", *extra], timeout=300)
    assert_ok(p, "ingest")
    return path, typedgen.read_typed(path)


def _hide_data_files(path):
    for f in path.glob("*.parquet"):
        f.rename(f.with_suffix(".hidden"))


def test_count_reads_the_log_not_the_rows(src, tmp_path):
    """count mode takes the table's rows from its log (numRecords less each
    deletion vector's cardinality): right on a table with deletion vectors,
    and still answering with its data files gone; a table that keeps
    soft-deleted rows is read, and they do not count."""
    path, rows = _typed(tmp_path, "dvs")
    log = "".join(f.read_text() for f in (path / "_delta_log").glob("*.json"))
    assert '"deletionVector":{' in log, "the stream left no deletion vector"
    live = len(rows)
    src.execute(f"DROP TABLE IF EXISTS counted; CREATE TABLE counted (id BIGINT PRIMARY KEY);"
                f"INSERT INTO counted SELECT seq FROM seq_1_to_{live};", database=DB)
    _hide_data_files(path)
    rc, r = check_json(src, "counted", path, "--mode", "count")
    assert rc == 0 and r["state"] == "ok" and r["table_rows"] == live, r
    soft, rows = _typed(tmp_path, "soft", "--soft-deletes", "true")
    live = sum(not r["__deleted"] for r in rows.values())
    assert live < len(rows), "no soft-deleted row"
    src.execute(f"DELETE FROM counted; INSERT INTO counted SELECT seq FROM seq_1_to_{live};",
                database=DB)
    rc, r = check_json(src, "counted", soft, "--mode", "count")
    assert rc == 0 and r["state"] == "ok" and r["table_rows"] == live, r
    _hide_data_files(soft)
    assert check(src, "counted", soft, "--mode", "count").returncode == 3


def test_exit_codes_and_errors(src, tmp_path):
    path = tmp_path / "items"
    boot(src, "items", path)
    dc = str(_binary(False))
    p = subprocess.run([dc, "check", "--table", str(path), "--db", src.url(USER, DB)],
                       capture_output=True, env=_env())
    assert p.returncode == 2 and b"--source-table" in p.stderr
    p = subprocess.run([dc, "check", "--table", str(path), "--db", src.url(USER, DB),
                        "--source-table", "items", "--mode", "sum"], capture_output=True,
                       env=_env())
    assert p.returncode == 2 and b"count, max_id or ranges" in p.stderr
    p = check(src, "items", path, env=dict(os.environ, MYSQL_PWD="wrong-Secret-1"))
    assert p.returncode == 3 and b"wrong-Secret-1" not in p.stderr + p.stdout
    p = check(src, "nosuch", path)
    assert p.returncode == 3 and b"nosuch" in p.stderr
    p = check(src, "items", tmp_path / "absent")
    assert p.returncode == 3 and b"absent" in p.stderr
    assert PASSWORD.encode() not in p.stderr + p.stdout


class _Hook(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        _Hook.got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def _wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_daemon_alerts_then_recovers(src, tmp_path):
    path = tmp_path / "items"
    boot(src, "items", path)
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    (tmp_path / "empty.jsonl").write_text("")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"source:\n  file: {tmp_path / 'empty.jsonl'}\n"
                   f"warehouse: {tmp_path}\n"
                   f"tables:\n  - path: {tmp_path / 'other'}\n"
                   "monitors:\n  interval: 1s\n"
                   f"  webhook: http://127.0.0.1:{hook.server_port}/hook\n"
                   "  completeness:\n    mode: ranges\n"
                   f"    db: {src.url(USER, DB)}\n    range_size: 100\n"
                   "    tables:\n      items: '{warehouse}/items'\n")
    # check -c runs the same monitor once, by name
    p = subprocess.run([str(_binary(False)), "check", "-c", str(cfg), "--monitor", "items"],
                       capture_output=True, env=_env(), timeout=120)
    assert p.returncode == 0 and b"verified through source position" in p.stdout, p.stderr
    DeltaTable(str(path)).delete("id = 42")
    log = open(tmp_path / "daemon.log", "wb")
    d = subprocess.Popen([str(_binary(False)), "ingest", "-c", str(cfg), "--http",
                          "127.0.0.1:0"], stderr=log, env=_env())
    try:
        assert _wait_for(lambda: any(g["event"] == "alert" for g in _Hook.got), 30), _Hook.got
        alert = next(g for g in _Hook.got if g["event"] == "alert")
        assert alert["monitor"] == "completeness" and alert["name"] == "items"
        assert alert["state"] == "mismatch" and [(g["lo"], g["hi"]) for g in alert["ranges"]] \
            == [(0, 99)]
        assert [(k["key"], k["diff"]) for k in alert["keys"]] == [("42", "missing")]
        p = subprocess.run([str(_binary(False)), "check", "-c", str(cfg)],
                           capture_output=True, env=_env(), timeout=120)
        assert p.returncode == 1 and b"key 42" in p.stdout
        # the metric: state 1 (mismatch), one differing range
        port = re.search(r"listening on http://127\.0\.0\.1:(\d+)/",
                         (tmp_path / "daemon.log").read_text()).group(1)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        series = {m.group(1): float(m.group(2)) for m in re.finditer(
            rb'deltacdc_(monitor_completeness_\w+)\{table="[^"]*items"\} (\S+)', metrics)}
        assert series[b"monitor_completeness_state"] == 1, series
        assert series[b"monitor_completeness_differing_ranges"] == 1
        assert series[b"monitor_completeness_alerts_total"] >= 1
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                               capture_output=True, timeout=60)
            assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr
        # the source loses the row too (binlog off): equal again -> one recovery
        src.execute("SET sql_log_bin = 0; DELETE FROM items WHERE id = 42;", database=DB)
        assert _wait_for(lambda: any(g["event"] == "recovery" for g in _Hook.got), 30), \
            _Hook.got
        rec = next(g for g in _Hook.got if g["event"] == "recovery")
        assert rec["state"] == "ok" and rec["verified_through"] == rec["source_position"]
        n = len(_Hook.got)
        time.sleep(2.5)  # green stays quiet: no more posts
        assert len(_Hook.got) == n
    finally:
        d.terminate()
        d.wait(30)
        hook.shutdown()
        src.execute("SET sql_log_bin = 0; INSERT INTO items VALUES (42, 'item 42', 52.50, "
                    "'2024-01-01 00:00:42', 6);", database=DB)
    text = (tmp_path / "daemon.log").read_text()
    assert "completeness items: " in text and "differs from items" in text
    assert "(recovered)" in text and PASSWORD not in text


def test_pipeline_monitor_defaults_to_bootstraps_source(src, tmp_path):
    """Without monitors.completeness.db the monitor reads source.mysql.url,
    the source bootstrap -c uses (one source, one setting), its password
    from source.mysql.pwd_env."""
    path = tmp_path / "items"
    boot(src, "items", path)
    (tmp_path / "empty.jsonl").write_text("")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"source:\n  file: {tmp_path / 'empty.jsonl'}\n"
                   f"  mysql:\n    url: {src.url(USER, DB)}\n    pwd_env: DC_TEST_PW\n"
                   f"warehouse: {tmp_path}\n"
                   "monitors:\n  completeness:\n    mode: count\n"
                   "    tables:\n      items: '{warehouse}/items'\n")
    env = _env()
    env["DC_TEST_PW"] = env.pop("MYSQL_PWD")
    p = subprocess.run([str(_binary(False)), "check", "-c", str(cfg), "--monitor", "items"],
                       capture_output=True, env=env, timeout=120)
    assert p.returncode == 0 and b"verified through source position" in p.stdout, p.stderr
