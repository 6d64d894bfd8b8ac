"""`deltacdc ingest` from the file source, end to end, judged by delta-rs
(the table) against DuckDB running the seed's ranking SQL with the issue's
three fixes (tests/interop/cdcgen.py): every Debezium shape (with and
without the schema block, c/u/d/r/t, tombstones, heartbeats and schema
changes, primary-key changes, out-of-order ts_ms, delete -> re-create,
replays), both modes, small and large batches; resuming a grown file;
bad input stopping the run with topic/partition/offset and no commit, or
going to the dead-letter table; the flags."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

import cdcgen
from conftest import DC_BIN, REPO, assert_clean_failure, assert_crash_free, assert_ok, run_dc

SAMPLE = REPO / "examples" / "debezium" / "sample.jsonl"
MODES = ["dv", "cow"]


def ingest(src, table, *extra, san=False, timeout=300):
    args = ["ingest", "--source", f"file:{src}", "--table", table, "--once", *extra]
    proc = run_dc(args, san=san, timeout=timeout)
    assert_crash_free(proc, "ingest")
    return proc


def ingest_ok(src, table, *extra, san=False):
    proc = ingest(src, table, *extra, san=san)
    assert_ok(proc, f"ingest {src}")
    return proc


def version(table):
    return DeltaTable(str(table)).version()


def check_state(table, values, key_cols=("id",)):
    want = cdcgen.expected_state(values, key_cols)
    got = cdcgen.read_table(table, key_cols)
    d = cdcgen.diff_states(got, want)
    assert not d, f"{table}: {d}"
    return got


def sample_values():
    return [None if l.strip() == "null" else l.rstrip("\n")
            for l in SAMPLE.read_text().splitlines()]


@pytest.mark.parametrize("mode", MODES)
def test_sample_stream(tmp_path, mode):
    """The shipped sample: snapshot reads, c/u/d, tombstones, a heartbeat-like
    record, PK change, out-of-order ts_ms, delete -> re-create, truncate."""
    t = tmp_path / "shop.db" / "customers"
    ingest_ok(SAMPLE, t, "--key", "id", "--mode", mode, "--max-batch", "4", san=True)
    check_state(t, sample_values())
    # Whole-file batch gives the same table.
    t2 = tmp_path / "one_batch"
    ingest_ok(SAMPLE, t2, "--key", "id", "--mode", mode)
    assert cdcgen.read_table(t2) == cdcgen.read_table(t)
    # deltacdc's own reader agrees with delta-rs.
    cat = run_dc(["cat", t])
    assert_ok(cat, "cat")
    rows = {r["id"]: r for r in map(json.loads, cat.stdout.decode().splitlines())}
    assert {(k,) for k in map(str, rows)} == set(cdcgen.read_table(t))
    if mode == "cow":
        assert DeltaTable(str(t)).protocol().min_reader_version == 1


def _stream(seed, **kw):
    s = cdcgen.Stream(seed=seed, n_keys=80, **kw)
    s.snapshot(60)
    s.run(700)
    s.truncate()
    s.run(900)
    return s


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch", ["37", "1000000"])
def test_random_stream(tmp_path, mode, batch):
    s = _stream(seed=int(batch) % 97 + (mode == "cow"))
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "t"
    proc = ingest_ok(src, t, "--key", "id", "--mode", mode, "--max-batch", batch)
    check_state(t, s.values)
    if batch == "37":
        n_batches = sum("batch " in l for l in proc.stderr.decode().splitlines())
        assert n_batches >= len(s.values) // 37, "one log line per batch"


@pytest.mark.parametrize("kind", ["composite", "string"])
def test_other_key_shapes(tmp_path, kind):
    s = cdcgen.Stream(seed=7, n_keys=40, composite=kind == "composite",
                      string_key=kind == "string")
    s.snapshot(20)
    s.run(500)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "t"
    ingest_ok(src, t, "--key", ",".join(s.key_fields), "--max-batch", "50", san=True)
    check_state(t, s.values, s.key_fields)


@pytest.mark.parametrize("mode", MODES)
def test_replay_and_resume(tmp_path, mode):
    """The same file twice: the second run commits nothing. The file grown:
    the next run resumes after the last committed line. The key columns are
    found in the existing table's schema (no --key)."""
    s = _stream(seed=11)
    src = tmp_path / "s.jsonl"
    lines = s.lines()
    half = len(lines) // 2
    src.write_text("".join(l + "\n" for l in lines[:half]))
    t = tmp_path / "t"
    ingest_ok(src, t, "--key", "id", "--mode", mode, "--max-batch", "100")
    check_state(t, s.values[:half])
    v = version(t)
    proc = ingest_ok(src, t, "--mode", mode)
    assert version(t) == v, "a replayed file must commit nothing"
    assert b"inserted" not in proc.stderr or b"0 inserted, 0 updated, 0 deleted" in proc.stderr
    with open(src, "a") as f:
        f.write("".join(l + "\n" for l in lines[half:]))
    proc = ingest_ok(src, t, "--mode", mode, "--max-batch", "100")
    assert b"resuming at line %d" % (half + 1) in proc.stderr
    check_state(t, s.values)
    app = f"deltacdc/file:{src.resolve()}/0"
    assert DeltaTable(str(t)).transaction_version(app) == len(lines)


def test_stdin(tmp_path):
    s = cdcgen.Stream(seed=3, n_keys=30)
    s.run(300)
    t = tmp_path / "t"
    with open(s.write(tmp_path / "s.jsonl"), "rb") as f:
        proc = subprocess.run([str(DC_BIN), "ingest", "--source", "file:-", "--table", str(t),
                               "--key", "id", "--once"], stdin=f, capture_output=True,
                              timeout=120)
    assert_ok(proc, "ingest file:-")
    check_state(t, s.values)


def test_other_input_under_the_same_name_is_refused(tmp_path):
    """The position is kept with the input's identity (bytes and hash of the
    lines up to it): a different stream on stdin, or a rewritten file, is
    refused instead of silently skipping its first lines; another pipeline
    name starts over on it."""
    t = tmp_path / "t"
    a = cdcgen.Stream(seed=5, n_keys=20)
    a.run(120)
    b = cdcgen.Stream(seed=6, n_keys=20)
    b.run(200)

    def stdin_run(stream, *extra):
        with open(stream.write(tmp_path / "in.jsonl"), "rb") as f:
            return subprocess.run([str(DC_BIN), "ingest", "--source", "file:-", "--table", str(t),
                                   "--key", "id", "--once", "--log-level", "error", *extra],
                                  stdin=f,
                                  capture_output=True, timeout=120)

    assert_ok(stdin_run(a), "first stream")
    v = version(t)
    p = stdin_run(b)  # another stream, longer than the position
    err = assert_clean_failure(p, "another stream on stdin")
    assert "file:-: not the input the table's position was recorded for" in err
    assert "--pipeline" in err
    assert version(t) == v, "nothing of the other stream may be committed"
    assert_ok(stdin_run(a), "the same stream again")  # resumes at its end: nothing new
    assert version(t) == v
    # A rewritten file: same path, other content.
    src = tmp_path / "f.jsonl"
    src.write_text("".join(l + "\n" for l in a.lines()))
    ingest_ok(src, t)
    v = version(t)
    src.write_text("".join(l + "\n" for l in b.lines()))
    err = assert_clean_failure(ingest(src, t, "--log-level", "error"), "a rewritten file")
    assert "not the input the table's position was recorded for" in err
    assert version(t) == v
    # The documented way to start over: another pipeline name.
    assert_ok(stdin_run(b, "--pipeline", "second"), "another pipeline name")
    assert DeltaTable(str(t)).transaction_version("second/file:-/0") == len(b.values)


# ------------------------------------------------------------- bad input

BAD = [
    ("not-json", '{"payload": {"op": "c", "after": {"id": 1}', "json"),
    ("no-key", cdcgen.envelope("c", None, {"name": "x"}, 5, schema=False), "id"),
    ("null-key", cdcgen.envelope("c", None, {"id": None}, 5, schema=False), "id"),
    ("unknown-op", json.dumps({"op": "x", "before": None, "after": {"id": 1}, "ts_ms": 5}), "op"),
    ("ts-not-int", json.dumps({"op": "c", "before": None, "after": {"id": 1}, "ts_ms": "x"}),
     "ts_ms"),
    ("wrong-key-type", cdcgen.envelope("c", None, {"id": "abc"}, 5, schema=False), "id"),
]


@pytest.mark.parametrize("name,bad,what", BAD, ids=[b[0] for b in BAD])
def test_bad_record_stops_with_position_and_no_commit(tmp_path, name, bad, what):
    s = cdcgen.Stream(seed=5, n_keys=20, schema_ratio=0.0)
    s.run(30)
    good = s.lines()
    src = tmp_path / "s.jsonl"
    # Batches of 10: lines 1..10 commit, the bad record is line 15.
    lines = good[:14] + [bad] + good[14:]
    src.write_text("".join(l + "\n" for l in lines))
    t = tmp_path / "t"
    proc = ingest(src, t, "--key", "id", "--max-batch", "10", san=True)
    assert proc.returncode != 0
    last = proc.stderr.decode().strip().splitlines()[-1]
    assert f"topic file:{src.resolve()} partition 0 offset 15" in last, last
    assert what in last.lower(), last
    # Only the first batch is in the table; the bad batch left nothing.
    check_state(t, s.values[:10])
    assert DeltaTable(str(t)).transaction_version(f"deltacdc/file:{src.resolve()}/0") == 10
    # Fixing nothing and running again stops at the same place, committing nothing.
    v = version(t)
    proc = ingest(src, t, "--max-batch", "10")
    assert proc.returncode != 0 and version(t) == v


def test_dead_letter(tmp_path):
    s = cdcgen.Stream(seed=9, n_keys=25)
    s.run(200)
    good = s.lines()
    bads = {7: BAD[0][1], 50: BAD[1][1], 51: BAD[3][1], 199: BAD[5][1]}
    lines, values = [], []
    for i, l in enumerate(good):
        if i in bads:
            lines.append(bads[i])
        lines.append(l)
    src = tmp_path / "s.jsonl"
    src.write_text("".join(l + "\n" for l in lines))
    bad_offsets = [i + 1 for i, l in enumerate(lines) if l in bads.values()]
    dlq = tmp_path / "dlq"
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"pipeline: dl-test\nsource:\n  file: {src}\nwarehouse: {tmp_path}\n"
                   f"tables:\n  - path: {tmp_path}/t\n    key: id\non_error: dead_letter\n"
                   f"dead_letter:\n  path: {dlq}\ntrigger:\n  max_records: 40\n")
    for run in range(2):
        proc = run_dc(["ingest", "-c", cfg, "--once"], san=True)
        assert_crash_free(proc, "ingest")
        assert_ok(proc, "ingest -c (dead_letter)")
    vals = [None if l == "null" else l for l in lines]
    good_vals = [v if (i + 1) not in bad_offsets else "null" for i, v in enumerate(vals)]
    check_state(tmp_path / "t", good_vals)
    dt = DeltaTable(str(dlq))
    rows = pa.table(QueryBuilder().register("d", dt).execute(
        "select * from d order by \"offset\"").read_all()).to_pylist()
    assert [r["offset"] for r in rows] == bad_offsets, "each bad record once, in order"
    for r in rows:
        assert r["topic"] == f"file:{src.resolve()}" and r["partition"] == 0
        assert r["raw"].decode() == lines[r["offset"] - 1]
        assert f"offset {r['offset']}" in r["error"]
        assert r["ts"] is not None


def test_sigterm_commits_the_batch_in_hand(tmp_path):
    """stdin kept open, a long trigger: SIGTERM finishes and commits what was
    read, exit 0."""
    s = cdcgen.Stream(seed=4, n_keys=30)
    s.run(200)
    t = tmp_path / "t"
    p = subprocess.Popen([str(DC_BIN), "ingest", "--source", "file:-", "--table", str(t),
                          "--key", "id", "--trigger", "1h", "--trigger-min", "1h"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write("".join(l + "\n" for l in s.lines()).encode())
    p.stdin.flush()
    time.sleep(1.5)
    assert p.poll() is None, "still running: the batch waits for its trigger"
    assert not (t / "_delta_log").exists() or version(t) == 0
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    p.stdin.close()
    assert p.returncode == 0, err.decode()
    check_state(t, s.values)


def test_commits_as_soon_as_caught_up(tmp_path):
    """A slow writer on stdin, a 1 h trigger: each burst of records is
    committed once the daemon has read everything there is and the batch is
    trigger.min_interval (default 50 ms) old, not an hour later; bursts
    become separate commits, and the daemon is still running meanwhile."""
    s = cdcgen.Stream(seed=9, n_keys=40)
    s.run(90)
    lines = s.lines()
    t = tmp_path / "t"
    p = subprocess.Popen([str(DC_BIN), "ingest", "--source", "file:-", "--table", str(t),
                          "--key", "id", "--trigger", "1h"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        cuts = [0, len(lines) // 3, 2 * len(lines) // 3, len(lines)]
        for burst in range(3):
            part = lines[cuts[burst]:cuts[burst + 1]]
            p.stdin.write("".join(l + "\n" for l in part).encode())
            p.stdin.flush()
            want = cuts[burst + 1]  # the txn position covers the burst's last line
            deadline = time.monotonic() + 20  # generous: a loaded machine; the trigger is 1 h
            got = None
            while time.monotonic() < deadline:
                try:
                    got = DeltaTable(str(t)).transaction_version(f"deltacdc/file:-/0")
                except Exception:
                    got = None
                if got == want:
                    break
                time.sleep(0.05)
            assert got == want, f"burst {burst}: position {got}, want {want}"
            assert p.poll() is None, "the daemon keeps running"
        # one commit per burst (a burst written at once is read and committed
        # together; the table's creation is version 0)
        assert version(t) >= 3
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        p.stdin.close()
    assert p.returncode == 0, err.decode()
    check_state(t, s.values)


# ----------------------------------------------------------------- flags

@pytest.mark.parametrize("args,want", [
    (["--source", "file:/nonexistent.jsonl", "--table", "T", "--once"], "nonexistent"),
    (["--source", "ftp://x", "--table", "T"], "--source"),
    (["--table", "T", "--once"], "no source"),
    (["--source", "file:SAMPLE", "--once"], "--table"),
    (["--source", "file:SAMPLE", "--table", "T", "--trigger", "soon"], "--trigger"),
    (["--source", "file:SAMPLE", "--table", "T", "--max-batch", "0"], "--max-batch"),
    (["--source", "file:SAMPLE", "--table", "T", "--mode", "mor"], "--mode"),
    (["--source", "file:SAMPLE", "--table", "T", "--format", "typed", "--key", "id",
      "--soft-deletes", "maybe", "--once"], "--soft-deletes"),
    (["--source", "file:SAMPLE", "--table", "T", "--once"], "--key"),
    (["--source", "file:SAMPLE", "--table", "T", "--bogus"], "--bogus"),
    (["--source", "file:SAMPLE", "--table", "T", "--trigger"], "needs a value"),
    (["--source", "file:SAMPLE", "--table", "T", "--log-level", "loud"], "--log-level"),
])
def test_flag_errors(tmp_path, args, want):
    args = [str(a).replace("SAMPLE", str(SAMPLE)).replace("T", str(tmp_path / "t"))
            if a in ("T", "file:SAMPLE") else a for a in args]
    quiet = [] if "--log-level" in args else ["--log-level", "error"]
    proc = run_dc(["ingest", *quiet, *args], san=True)
    err = assert_clean_failure(proc, "ingest " + " ".join(args))
    assert want in err, err


def test_help():
    proc = run_dc(["ingest", "--help"])
    assert_ok(proc, "ingest --help")
    out = proc.stdout.decode()
    for flag in ("-c", "--source", "--table", "--key", "--format", "--mode", "--trigger",
                 "--trigger-min",
                 "--max-batch", "--once", "--log-level"):
        assert flag in out
