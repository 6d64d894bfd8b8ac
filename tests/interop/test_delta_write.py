"""Tables written by deltacdc, judged by delta-rs (`deltalake`): appends,
partitions, schema evolution, deletion-vector deletes, removes and
checkpoints read identically — at the latest and at older versions — and
delta-rs loads them through our checkpoint once the JSON commits it covers
are deleted. Two processes committing in a loop lose nothing.

deltacdc is driven through `deltacdc delta-test` (a test/dev tool, see
src/cli/cli_deltatest.c) and `deltacdc checkpoint`.
"""
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, QueryBuilder

from conftest import DC_BIN, assert_ok, run_dc

SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "name", "type": "string", "nullable": True, "metadata": {}},
    {"name": "amount", "type": "double", "nullable": True, "metadata": {}},
    {"name": "day", "type": "date", "nullable": True, "metadata": {}},
    {"name": "p", "type": "string", "nullable": True, "metadata": {}},
]}
SCHEMA2 = {"type": "struct", "fields": SCHEMA["fields"] + [
    {"name": "extra", "type": "integer", "nullable": True, "metadata": {}}]}


def write_json(path: Path, obj):
    path.write_text(json.dumps(obj))
    return path


def write_rows(path: Path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make_rows(lo, hi, parts=("a", "b c", None)):
    return [{"id": i, "name": f"n{i}" if i % 7 else None, "amount": i * 1.5,
             "day": f"2024-01-{1 + i % 28:02d}", "p": parts[i % len(parts)]} for i in range(lo, hi)]


def dc(*args):
    proc = run_dc(["delta-test", *args])
    assert_ok(proc, "delta-test " + " ".join(map(str, args)))
    return int(proc.stdout.decode().strip().splitlines()[-1])


def read_rows(table, version=None, columns="*"):
    """Rows as delta-rs sees them (DataFusion scan, honours DVs), by id."""
    dt = DeltaTable(str(table), version=version) if version is not None else DeltaTable(str(table))
    res = QueryBuilder().register("t", dt).execute(f"select {columns} from t").read_all()
    rows = pa.table(res).to_pylist()
    for r in rows:
        if r.get("day") is not None:
            r["day"] = r["day"].isoformat()
    return sorted(rows, key=lambda r: r["id"])


def expected(rows, extra=False):
    out = []
    for r in rows:
        e = dict(r)
        if extra:
            e.setdefault("extra", None)
        out.append(e)
    return sorted(out, key=lambda r: r["id"])


def live_file_rows(table: Path, part_dir: str):
    """(file name, ids in physical row order) of the single file under part_dir."""
    files = sorted((table / part_dir).glob("*.parquet"))
    assert len(files) == 1
    return files[0].name, pq.read_table(files[0]).column("id").to_pylist()


def test_appends_partitioned_and_time_travel(tmp_path):
    t = tmp_path / "t"
    schema = write_json(tmp_path / "s.json", SCHEMA)
    batches = [make_rows(0, 50), make_rows(50, 120), make_rows(120, 121)]
    versions = []
    for i, b in enumerate(batches):
        versions.append(dc("append", t, write_rows(tmp_path / f"b{i}.jsonl", b), "--schema", schema,
                           "--partition-by", "p"))
    assert versions == [1, 2, 3]
    dt = DeltaTable(str(t))
    assert dt.metadata().partition_columns == ["p"]
    assert (dt.protocol().min_reader_version, dt.protocol().min_writer_version) == (1, 2)
    seen = []
    for v, b in zip(versions, batches):
        seen += b
        assert read_rows(t, v) == expected(seen)
    assert read_rows(t, 0) == []
    # Partition directories are Hive-style, null as __HIVE_DEFAULT_PARTITION__.
    assert {d.name for d in t.iterdir() if d.is_dir()} == {
        "_delta_log", "p=a", "p=b c", "p=__HIVE_DEFAULT_PARTITION__"}
    # Stats delta-rs can use: numRecords and min/max per file.
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    assert sum(a["num_records"] for a in adds) == 121
    for a in adds:
        assert a["min.id"] <= a["max.id"]


def test_schema_evolution(tmp_path):
    t = tmp_path / "t"
    s1 = write_json(tmp_path / "s1.json", SCHEMA)
    s2 = write_json(tmp_path / "s2.json", SCHEMA2)
    b1 = make_rows(0, 10)
    b2 = [dict(r, extra=r["id"] * 10) for r in make_rows(10, 20)]
    assert dc("append", t, write_rows(tmp_path / "b1.jsonl", b1), "--schema", s1,
              "--partition-by", "p") == 1
    assert dc("append", t, write_rows(tmp_path / "b2.jsonl", b2), "--schema", s2) == 2
    assert read_rows(t) == expected(b1 + b2, extra=True)
    assert read_rows(t, 1) == expected(b1)
    assert [f.name for f in DeltaTable(str(t), version=1).schema().fields] == \
        ["id", "name", "amount", "day", "p"]
    # A non-nullable new column is refused, and nothing is committed.
    bad = dict(SCHEMA2, fields=SCHEMA2["fields"] + [
        {"name": "nn", "type": "long", "nullable": False, "metadata": {}}])
    proc = run_dc(["delta-test", "append", t, write_rows(tmp_path / "b3.jsonl", b1[:1]),
                   "--schema", write_json(tmp_path / "s3.json", bad)])
    assert proc.returncode != 0 and b"nullable" in proc.stderr
    assert DeltaTable(str(t)).version() == 2


def test_deletion_vectors_and_removes(tmp_path):
    t = tmp_path / "t"
    schema = write_json(tmp_path / "s.json", SCHEMA)
    rows = make_rows(0, 30, parts=("a", "b"))
    assert dc("append", t, write_rows(tmp_path / "b.jsonl", rows), "--schema", schema,
              "--partition-by", "p", "--dv") == 1
    dt = DeltaTable(str(t))
    assert "deletionVectors" in dt.protocol().reader_features
    assert "deletionVectors" in dt.protocol().writer_features
    fa, ids_a = live_file_rows(t, "p=a")
    fb, ids_b = live_file_rows(t, "p=b")
    gone = set()
    history = {1: expected(rows)}

    def delete(fname, ids, targets):
        idx = [i for i, x in enumerate(ids) if x in targets]
        v = dc("delete-rows", t, fname, ",".join(map(str, idx)))
        gone.update(targets)
        history[v] = expected([r for r in rows if r["id"] not in gone])
        return v

    delete(fa, ids_a, {ids_a[1], ids_a[3]})
    delete(fb, ids_b, {ids_b[0]})
    delete(fa, ids_a, {ids_a[3], ids_a[7]})  # the DV grows: remove(old DV) + add(new DV)
    v = dc("remove", t, fb)
    gone.update(ids_b)
    history[v] = expected([r for r in rows if r["id"] not in gone])
    for ver, want in history.items():
        assert read_rows(t, ver) == want, f"version {ver}"
    # DV files are the only new files; every DV descriptor is storage type u.
    assert list(t.glob("deletion_vector_*.bin"))
    log = [json.loads(line) for f in sorted((t / "_delta_log").glob("*.json"))
           for line in f.read_text().splitlines()]
    dvs = [a["add"]["deletionVector"] for a in log if "add" in a and "deletionVector" in a["add"]]
    assert dvs and all(d["storageType"] == "u" and len(d["pathOrInlineDv"]) == 20 for d in dvs)
    assert dvs[-1]["cardinality"] == 3
    stats = [json.loads(a["add"]["stats"]) for a in log if "add" in a and "deletionVector" in a["add"]]
    assert all(s["numRecords"] == len(ids_a) or s["numRecords"] == len(ids_b) for s in stats)
    assert all(s["tightBounds"] is False for s in stats)


def test_checkpoint_replaces_json_commits(tmp_path):
    t = tmp_path / "t"
    schema = write_json(tmp_path / "s.json", SCHEMA)
    rows = []
    for i in range(4):
        b = make_rows(i * 20, i * 20 + 20)
        rows += b
        dc("append", t, write_rows(tmp_path / f"b{i}.jsonl", b), "--schema", schema,
           "--partition-by", "p", "--dv")
    fname, ids = live_file_rows(t, "p=a") if len(list((t / "p=a").glob("*.parquet"))) == 1 else (None, None)
    first = sorted((t / "p=a").glob("*.parquet"))[0]
    ids = pq.read_table(first).column("id").to_pylist()
    v = dc("delete-rows", t, first.name, "0,2")
    gone = {ids[0], ids[2]}
    proc = run_dc(["checkpoint", t])
    assert_ok(proc, "checkpoint")
    assert f"version {v}".encode() in proc.stdout
    last = json.loads((t / "_delta_log" / "_last_checkpoint").read_text())
    assert last["version"] == v
    assert last["numOfAddFiles"] == len(DeltaTable(str(t)).file_uris())
    assert last["size"] >= last["numOfAddFiles"] + 2
    assert last["sizeInBytes"] == (t / "_delta_log" / f"{v:020d}.checkpoint.parquet").stat().st_size
    want = expected([r for r in rows if r["id"] not in gone])
    for f in (t / "_delta_log").glob("*.json"):
        if int(f.name.split(".")[0]) <= v:
            f.unlink()
    dt = DeltaTable(str(t))
    assert dt.version() == v
    assert read_rows(t) == want
    # And one more commit on top of the checkpoint.
    more = make_rows(500, 505)
    v2 = dc("append", t, write_rows(tmp_path / "more.jsonl", more))
    assert v2 == v + 1
    assert read_rows(t) == expected(want + more)


def _writer_loop(table: Path, tmp: Path, wid: int, stop_at: float, committed: list, errors: list):
    i = 0
    while time.time() < stop_at:
        ids = [wid * 1_000_000 + i * 10 + k for k in range(3)]
        f = tmp / f"w{wid}_{i}.jsonl"
        write_rows(f, [{"id": x, "name": f"w{wid}", "amount": None, "day": None, "p": f"w{wid}"}
                       for x in ids])
        proc = subprocess.run([str(DC_BIN), "delta-test", "append", str(table), str(f),
                               "--txn", f"writer-{wid}={i}"], capture_output=True, timeout=60)
        if proc.returncode == 0:
            committed.extend(ids)
        else:
            errors.append(proc.stderr.decode())
        i += 1


def test_two_processes_commit_concurrently(tmp_path):
    t = tmp_path / "t"
    schema = write_json(tmp_path / "s.json", SCHEMA)
    dc("create", t, "--schema", schema, "--partition-by", "p")
    committed = [[], []]
    errors = []
    stop_at = time.time() + float(os.environ.get("DC_CONCURRENCY_SECONDS", "4"))
    threads = [threading.Thread(target=_writer_loop,
                                args=(t, tmp_path, w, stop_at, committed[w], errors))
               for w in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    ids = [r["id"] for r in read_rows(t, columns="id")]
    assert len(ids) == len(set(ids)), "a row was committed twice"
    assert sorted(ids) == sorted(committed[0] + committed[1])
    assert committed[0] and committed[1]
    versions = sorted(int(f.name.split(".")[0]) for f in (t / "_delta_log").glob("*.json"))
    assert versions == list(range(len(versions))), "versions are not contiguous"
    assert len(versions) == 1 + len(committed[0]) // 3 + len(committed[1]) // 3
