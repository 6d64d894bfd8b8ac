"""`deltacdc optimize` and the daemon's automatic OPTIMIZE, judged by
delta-rs (the table's rows, its versions, its files), DuckDB (the expected
state: the seed's ranking over every event, tests/interop/cdcgen.py),
pyarrow (the new files are sorted by key) and a replay of the JSON log
written here (no deletion vector left, dataChange=false):

- after a long ingest in small batches (dv and cow), optimize leaves a
  handful of files, no deletion vectors and the same rows; time travel to
  versions before it still returns their rows;
- a table delta-rs wrote (partitioned, many appends, a delete) is compacted
  per partition and sorted by --key;
- the daemon with automatic maintenance while a second deltacdc runs
  OPTIMIZE on the same table in a loop: the final table is the expected
  state whoever won each race;
- the command line: dry run, nothing to do, errors.
"""
import json
import os
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, QueryBuilder, write_deltalake

import cdcgen
from conftest import DC_BIN, assert_ok, run_dc
from daemon_harness import feed, finish, race, running_daemon
from s3_fixture import (BACKENDS, SLOW_S3, LocalBackend, backend, rel_of,  # noqa: F401
                        s3)

LOCAL = LocalBackend(None)  # the helpers' default: tables given as local paths


def ingest(src, table, *extra, config=None, env=None):
    args = ["ingest", "--source", f"file:{src}", "--table", table, "--once", *extra]
    if config:
        args = ["ingest", "-c", config] + args[1:]
    proc = run_dc(args, timeout=600, env=env)
    assert_ok(proc, "ingest")
    return proc


def write_config(path, **maint):
    lines = ["maintenance:"] + [f"  {k}: {v}" for k, v in maint.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def log_state(table, be=LOCAL):
    """Live adds and the last version, by replaying the JSON commits (our own
    reading of PROTOCOL.md, independent of deltacdc): path -> add."""
    names = [k[len("_delta_log/"):] for k in be.objects(table) if k.startswith("_delta_log/")]
    versions = sorted(int(n[:20]) for n in names if n.endswith(".json") and n[:20].isdigit()
                      and len(n) == 25)
    live = {}
    for v in versions:
        for line in be.read(table, f"_delta_log/{v:020d}.json").decode().splitlines():
            a = json.loads(line)
            if "add" in a:
                live[a["add"]["path"]] = a["add"]
            elif "remove" in a:
                live.pop(a["remove"]["path"], None)
    return live, versions[-1]


def commit_actions(table, version, be=LOCAL):
    text = be.read(table, f"_delta_log/{version:020d}.json").decode()
    return [json.loads(l) for l in text.splitlines()]


def rows_at(table, version=None, key_cols=("id",), so=None):
    """delta-rs's reading at a version, keyed like cdcgen.read_table."""
    dt = DeltaTable(str(table), version=version, storage_options=so)
    res = QueryBuilder().register("t", dt).execute("select * from t").read_all()
    out = {}
    for r in pa.table(res).to_pylist():
        out[tuple(str(r[k]) for k in key_cols)] = (r["ts_ms"], r["json_record"],
                                                   r["operation_type"], r["offset"])
    return out


def assert_sorted_files(table, col, be=LOCAL):
    for uri in DeltaTable(str(table), storage_options=be.storage_options).file_uris():
        data = pa.BufferReader(be.read(table, rel_of(table, uri)))
        ids = pq.read_table(data, columns=[col]).column(col).to_pylist()
        assert ids == sorted(ids), f"{uri}: not sorted by {col}"


def check_state(table, values, key_cols=("id",), so=None):
    want = cdcgen.expected_state(values, key_cols)
    got = cdcgen.read_table(table, key_cols, storage_options=so)
    d = cdcgen.diff_states(got, want)
    assert not d, f"{table}: {d}"


# ----------------------------------------------------- after a long ingest

@pytest.mark.parametrize("backend", SLOW_S3, indirect=True)
@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_optimize_after_long_ingest(tmp_path, mode, backend):
    s = cdcgen.Stream(seed=17 + (mode == "cow"), n_keys=250)
    s.snapshot(200)
    s.run(2500)
    s.truncate()
    s.run(1500)
    src = s.write(tmp_path / "s.jsonl")
    t, be = backend.table("t"), backend
    so, env = be.storage_options, be.env()
    cfg = write_config(tmp_path / "p.yaml", optimize="off")
    ingest(src, t, "--key", "id", "--mode", mode, "--max-batch", "40", config=cfg, env=env)
    live0, v0 = log_state(t, be)
    assert len(live0) >= 20, "many small files before"
    if mode == "dv":
        assert any(a.get("deletionVector") for a in live0.values())
    v_mid = v0 // 2
    rows_mid, rows_before = rows_at(t, v_mid, so=so), rows_at(t, so=so)

    proc = run_dc(["optimize", t, "--progress"], env=env)
    assert_ok(proc, "optimize")
    summary = proc.stdout.decode()
    assert f"version {v0 + 1}:" in summary and "removed" in summary, summary

    live1, v1 = log_state(t, be)
    assert v1 == v0 + 1
    assert 1 <= len(live1) <= 3, f"a handful of files: {len(live1)}"
    assert not any(a.get("deletionVector") for a in live1.values())
    acts = commit_actions(t, v1, be)
    info = next(a["commitInfo"] for a in acts if "commitInfo" in a)
    assert info["operation"] == "OPTIMIZE"
    assert all(a["add"]["dataChange"] is False for a in acts if "add" in a)
    assert all(a["remove"]["dataChange"] is False for a in acts if "remove" in a)
    assert {a["remove"]["path"] for a in acts if "remove" in a} == set(live0)
    dt = DeltaTable(t, storage_options=so)
    assert dt.version() == v1
    assert dt.history(1)[0]["operation"] == "OPTIMIZE"
    assert len(dt.file_uris()) == len(live1)
    # The same rows, the expected ones, sorted by key in the new files.
    assert rows_at(t, so=so) == rows_before
    check_state(t, s.values, so=so)
    assert_sorted_files(t, "id", be)
    # Time travel to versions before the optimize.
    assert rows_at(t, v0, so=so) == rows_before
    assert rows_at(t, v_mid, so=so) == rows_mid
    # Ingesting on top of the optimized table still merges right.
    s.run(600)
    src2 = s.write(tmp_path / "s2.jsonl")
    ingest(src2, t, "--key", "id", "--mode", mode, "--max-batch", "40", config=cfg, env=env)
    check_state(t, s.values, so=so)


# ---------------------------------------------------- a delta-rs table

def test_optimize_table_written_by_delta_rs(tmp_path):
    t = tmp_path / "rs"
    schema = pa.schema([("day", pa.string()), ("id", pa.int64()), ("name", pa.string()),
                        ("tags", pa.list_(pa.string())),
                        ("s", pa.struct([("a", pa.int32()), ("b", pa.float64())]))])
    n = 0
    for batch in range(24):
        ids = [(n + i * 37) % 1000 + 1000 * batch for i in range(25)]
        n += 25
        rows = [{"day": f"2024-01-0{i % 3 + 1}", "id": i, "name": None if i % 7 == 0 else f"n{i}",
                 "tags": None if i % 5 == 0 else [f"t{i % 3}", None],
                 "s": None if i % 11 == 0 else {"a": i % 100, "b": i / 3}} for i in ids]
        write_deltalake(str(t), pa.Table.from_pylist(rows, schema=schema), mode="append",
                        partition_by=["day"])
    DeltaTable(str(t)).delete("id % 10 = 3")
    before = DeltaTable(str(t)).to_pyarrow_table().sort_by("id").to_pylist()
    files0 = len(DeltaTable(str(t)).file_uris())
    assert files0 >= 24
    proc = run_dc(["optimize", t, "--key", "id"])
    assert_ok(proc, "optimize")
    dt = DeltaTable(str(t))
    assert len(dt.file_uris()) == 3, "one file per partition"
    after = dt.to_pyarrow_table().sort_by("id").to_pylist()
    assert after == before
    assert_sorted_files(t, "id")
    live, _ = log_state(t)
    assert sorted(a["partitionValues"]["day"] for a in live.values()) == \
        ["2024-01-01", "2024-01-02", "2024-01-03"]
    # delta-rs writes on top and optimizes our files in turn.
    write_deltalake(str(t), pa.Table.from_pylist(before[:5], schema=schema), mode="append",
                    partition_by=["day"])
    DeltaTable(str(t)).optimize.compact()
    assert DeltaTable(str(t)).to_pyarrow_table().num_rows == len(before) + 5


# ------------------------------------------------------------- the CLI

@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_optimize_cli(tmp_path, backend):
    s = cdcgen.Stream(seed=5, n_keys=40)
    s.run(400)
    src = s.write(tmp_path / "s.jsonl")
    t, be, env = backend.table("t"), backend, backend.env()
    ingest(src, t, "--key", "id", "--max-batch", "20",
           config=write_config(tmp_path / "p.yaml", optimize="off"), env=env)
    _, v0 = log_state(t, be)
    dry = run_dc(["optimize", t, "--dry-run"], env=env)
    assert_ok(dry, "dry run")
    assert "dry run" in dry.stdout.decode() and "would rewrite" in dry.stdout.decode()
    assert log_state(t, be)[1] == v0
    ok = run_dc(["optimize", t, "--target-file-size", "64MiB", "--max-deleted-ratio", "0.1"],
                env=env)
    assert_ok(ok, "optimize")
    again = run_dc(["optimize", t], env=env)
    assert_ok(again, "optimize again")
    assert "nothing to do" in again.stdout.decode()
    assert log_state(t, be)[1] == v0 + 1
    bad = [(["optimize"], 2), (["optimize", t, "--target-file-size", "lots"], 2),
           (["optimize", t, "--max-deleted-ratio", "0"], 2), (["optimize", t, "--bogus", "1"], 2),
           (["optimize", be.table("nope")], 1),
           (["optimize", t, "--key", "nosuch"], 1)]
    for args, code in bad:
        p = run_dc(args, env=env)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert p.stderr, args
    nosuch = run_dc(["optimize", t, "--key", "nosuch", "--min-file-size", "1GiB",
                     "--target-file-size", "1GiB"], env=env)
    assert b"sort column 'nosuch'" in nosuch.stderr


# ------------------------------- the daemon against a concurrent OPTIMIZE

def test_daemon_auto_optimize_with_concurrent_optimize(tmp_path):
    """The daemon ingests from a pipe with automatic OPTIMIZE every few
    batches while a second deltacdc runs OPTIMIZE on the same table in a
    loop. Either side may lose a race (the daemon replays its batch, an
    OPTIMIZE gives up or plans again): the final table is the state DuckDB
    computes from every event."""
    s = cdcgen.Stream(seed=23, n_keys=200)
    s.snapshot(150)
    s.run(3000)
    s.truncate()
    s.run(2000)
    lines = s.lines()
    t = tmp_path / "t"
    cfg = write_config(tmp_path / "p.yaml", optimize="auto", optimize_interval="0s",
                       optimize_small_files=4, optimize_deleted_percent=20)
    codes = []

    def optimizer(stop):
        # back to back, then a pause that lets the daemon's own runs through
        pauses = [0, 0, 0, 0, 0, 0.3]
        while not stop.is_set():
            if (t / "_delta_log" / f"{0:020d}.json").exists():
                p = subprocess.run([str(DC_BIN), "optimize", str(t), "--retries", "1",
                                    "--min-file-size", "1MiB"], capture_output=True, timeout=120)
                codes.append((p.returncode, p.stderr.decode()[-300:]))
            time.sleep(pauses[len(codes) % len(pauses)])

    err = race(tmp_path, t, cfg, ["--trigger", "100ms", "--max-batch", "60"], lines, 50, 0.04,
               optimizer)
    assert codes, "the second process ran"
    assert all(c in (0, 3) for c, _ in codes), [c for c in codes if c[0] not in (0, 3)]
    ours = sum(c == 0 for c, _ in codes)
    check_state(t, s.values)
    # Both kinds of OPTIMIZE committed, and the files stayed few.
    _, v = log_state(t)
    ops = [json.loads(l)["commitInfo"]["operationParameters"].get("auto")
           for ver in range(v + 1)
           for l in (t / "_delta_log" / f"{ver:020d}.json").read_text().splitlines()
           if '"commitInfo"' in l and '"OPTIMIZE"' in l]
    assert "true" in ops, "the daemon optimized"
    assert "false" in ops, "the second process optimized"
    assert ours >= 1
    assert len(DeltaTable(str(t)).file_uris()) <= 12
    assert "had already removed" not in err, "no false alarm on a correct concurrent writer"
    print(f"daemon optimizes {ops.count('true')} (gave up {err.count('plans again')}), "
          f"external {ops.count('false')} (gave up {sum(c == 3 for c, _ in codes)}), "
          f"external re-plans {sum('planning again' in e for _, e in codes)}, daemon commit "
          f"races lost {err.count('lost a commit race')}, batches replayed "
          f"{err.count('replaying')}")


# ------------------------- the daemon against another engine's DELETE and OPTIMIZE

def test_daemon_with_concurrent_delta_rs_delete_and_optimize(tmp_path):
    """The daemon ingests (cow mode: delta-rs cannot write to a table with
    deletion vectors) while delta-rs, in this process, deletes the rows of
    keys the stream never touches again and compacts the table in a loop,
    retrying whenever it loses a commit race. The daemon must see
    delta-rs's commits by the conflict rules (replaying its batch,
    re-reading the files under its index): the final table is the expected
    state of every event minus the rows delta-rs deleted, with no deleted
    row brought back and no row lost.

    The daemon's own OPTIMIZE is off here, as for a table another engine
    compacts: delta-rs 1.6.6 commits a compaction planned on a stale
    snapshot even when a concurrent compaction already removed the same
    files (its conflict checker lets removes with dataChange=false through,
    delta-rs PR 3982), which duplicates rows; two delta-rs compactions do
    the same to each other. That is delta-rs's check to make, not ours."""
    from deltalake.exceptions import CommitFailedError, DeltaError
    s = cdcgen.Stream(seed=41, n_keys=200)
    s.snapshot(1200)
    s.run(4000)
    lines = s.lines()
    # delta-rs deletes snapshot rows the stream never touches again, so the
    # expected state does not depend on who commits first
    touched = set()
    for v in s.values[1200:]:
        j = json.loads(v) if v else {}
        p = j.get("payload", j) if isinstance(j, dict) else {}
        p = p if isinstance(p, dict) else {}
        for img in (p.get("before"), p.get("after")):
            if isinstance(img, dict) and "id" in img:
                touched.add(img["id"])
    cold = [i for i in range(1000, 1200) if i not in touched]
    assert len(cold) > 100
    pred = f"id in ({', '.join(map(str, cold))})"
    t = tmp_path / "t"
    cfg = write_config(tmp_path / "p.yaml", optimize="off")
    done = {"delete": 0, "compact": 0, "lost": 0}

    def other_engine(stop):
        def cold_rows():   # the snapshot's rows of keys 1000.. committed so far
            try:
                r = QueryBuilder().register("t", DeltaTable(str(t))).execute(
                    f"select count(*) as n from t where {pred}").read_all()
                return pa.table(r).column("n")[0].as_py()
            except Exception:   # no table yet
                return 0
        while not stop.is_set() and cold_rows() < len(cold):
            time.sleep(0.05)
        while not stop.is_set():
            try:
                if not done["delete"]:
                    DeltaTable(str(t)).delete(pred)
                    done["delete"] += 1
                else:
                    DeltaTable(str(t)).optimize.compact()
                    done["compact"] += 1
            except (CommitFailedError, DeltaError) as e:
                if "onflict" not in str(e) and "ommit" not in str(e):
                    raise
                done["lost"] += 1
            time.sleep(0.05)

    # slower until delta-rs's DELETE is in: the race must happen
    err = race(tmp_path, t, cfg, ["--mode", "cow", "--trigger", "100ms", "--max-batch", "80"],
               lines, 40, lambda i: 0.03 if done["delete"] or i > len(lines) // 2 else 0.06,
               other_engine)
    assert done["delete"] == 1, done
    assert done["compact"] >= 1, done
    want = cdcgen.expected_state(s.values)
    want = {k: v for k, v in want.items() if int(k[0]) not in set(cold)}
    got = cdcgen.read_table(t)
    d = cdcgen.diff_states(got, want)
    assert not d, f"{t}: {d}"
    ops = [json.loads(l)["commitInfo"].get("operation")
           for p in sorted((t / "_delta_log").glob("*.json"))
           for l in p.read_text().splitlines() if '"commitInfo"' in l]
    assert "DELETE" in ops and ops.count("OPTIMIZE") >= 1, ops
    assert len(DeltaTable(str(t)).file_uris()) <= 12
    assert "had already removed" not in err, "no false alarm on a correct concurrent writer"
    print(f"delta-rs: {done}; daemon: commit races lost {err.count('lost a commit race')}, "
          f"index re-reads {err.count('re-reading them')}, rebuilds {err.count('rebuilding')}")


def test_daemon_warns_about_a_commit_that_removes_files_twice(tmp_path):
    """A writer whose conflict check misses a concurrent compaction commits
    its own compaction of the same files (what delta-rs 1.6.6 does, above):
    the rows are then live twice. The daemon cannot undo another writer's
    commit, but it says so, naming the version and the engine, when it
    follows the log past it. The bad commit is made by hand here (a copy of
    a real OPTIMIZE with a new file name), so the test does not depend on
    delta-rs keeping its bug."""
    s = cdcgen.Stream(seed=5, n_keys=60)
    s.snapshot(60)
    s.run(400)
    lines = s.lines()
    t = tmp_path / "t"
    cfg = write_config(tmp_path / "p.yaml", optimize="off")
    logp = tmp_path / "daemon.log"
    with running_daemon(tmp_path, t, cfg, "--mode", "cow", "--trigger", "50ms",
                        "--max-batch", "50") as daemon:
        half = len(lines) // 2
        feed(daemon, lines[:half], 50, 0.1)
        deadline = time.time() + 60
        while time.time() < deadline and "version" not in logp.read_text():
            time.sleep(0.05)
        time.sleep(0.3)   # the daemon is idle: its last batch is committed
        assert_ok(run_dc(["optimize", str(t), "--min-file-size", "1MiB"]), "optimize")
        _, v = log_state(t)
        acts = commit_actions(t, v)
        assert any("remove" in a for a in acts) and any("add" in a for a in acts), acts
        # the stale twin: the same removes, its own copy of the compacted file
        twin = []
        for a in acts:
            if "commitInfo" in a:
                a["commitInfo"]["engineInfo"] = "other-engine/1.0"
                a["commitInfo"]["readVersion"] = v - 1
            if "add" in a:
                new = "part-00000-twin-" + a["add"]["path"].split("-", 2)[2]
                os.link(t / a["add"]["path"], t / new)
                a["add"]["path"] = new
            twin.append(json.dumps(a))
        tmp = t / "_delta_log" / ".twin.tmp"
        tmp.write_text("\n".join(twin) + "\n")
        os.link(tmp, t / "_delta_log" / f"{v + 1:020d}.json")
        tmp.unlink()
        feed(daemon, lines[half:], 50, 0.05)
        err = finish(daemon, tmp_path, timeout=120)
    warn = [l for l in err.splitlines() if "had already removed" in l]
    assert len(warn) == 1, err[-3000:]
    assert f"version {v + 1} (OPTIMIZE by other-engine/1.0)" in warn[0], warn[0]
    assert " warn " in warn[0] and "may now be in the table twice" in warn[0], warn[0]
