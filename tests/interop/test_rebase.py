"""`deltacdc rebase`: the seed's mitigation ("replace the Delta data with the
latest merged snapshot and restart consumption") as one safe command. The
CDC table is folded into a new history version and emptied of what was
folded; ingest goes on from its own txn offsets. Judged by DuckDB running
the seed's merge SQL over a reference table that ingested the same stream
without any rebase, and by delta-rs reading every table: nothing lost,
nothing doubled, across rebases, kill -9 in the middle of one, a rebase
interrupted between its two commits, and ingest running during a rebase."""
import json
import os
import random
import shutil
import signal
import subprocess
import time

import pytest
from deltalake import DeltaTable

import typedgen
from conftest import DC_BIN, assert_clean_failure, assert_crash_free, assert_ok, run_dc
from test_snapshot import SRC_COLS, arrow, partition, seed_sql


def write_lines(path, values):
    with open(path, "w", encoding="utf-8") as f:
        for v in values:
            f.write(("null" if v is None else v) + "\n")


def ingest(src, table, *extra):
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", str(table), "--format",
                   "typed", "--once", "--key", "id", "--soft-deletes", "true", "--max-batch",
                   "150", *extra], timeout=300)
    assert_ok(proc, f"ingest into {table}")


def rebase(*args, ok=True, env=None):
    proc = run_dc(["rebase", *[str(a) for a in args]], san=env is None, timeout=300, env=env)
    assert_crash_free(proc, "rebase")
    if ok:
        assert_ok(proc, "rebase")
    return proc


def state(h, c, tmp_path, tag):
    """history + CDC as `deltacdc snapshot` merges them: rows as dicts."""
    out = tmp_path / f"state-{tag}"
    args = ["snapshot", "--cdc", str(c), "--out", str(out), "--date", "2024-05-01"]
    if (h / "_delta_log").is_dir():
        args += ["--history", str(h)]
    assert_ok(run_dc(args, timeout=300), "snapshot of history + CDC")
    return partition(out, "2024-05-01")


def txns(table):
    """appId -> version of the table's txn actions, read from its log."""
    got = {}
    for f in sorted((table / "_delta_log").glob("*.json")):
        for line in f.read_text().splitlines():
            a = json.loads(line)
            if "txn" in a:
                got[a["txn"]["appId"]] = a["txn"]["version"]
    return got


def summary(proc):
    return proc.stderr.decode().strip().splitlines()[-1]


def build(tmp_path, seed=21, n_keys=80, first=600, second=500):
    """A stream in two parts; the CDC table has the first, the reference both."""
    s = typedgen.TypedStream(seed=seed, n_keys=n_keys)
    s.snapshot(n_keys // 2)
    s.run(first)
    n1 = len(s.values)
    s.run(second)
    return s.values, n1


def test_rebase_then_ingest_goes_on(tmp_path):
    values, n1 = build(tmp_path)
    src, ref, c, h = tmp_path / "in.jsonl", tmp_path / "ref", tmp_path / "c", tmp_path / "h"
    write_lines(src, values[:n1])
    ingest(src, c)
    before = txns(c)
    assert any(k.endswith("/0") for k in before), before
    proc = rebase("--cdc", c, "--history", h)
    assert "removed" in summary(proc) and "-> " in summary(proc), summary(proc)
    # the history holds the fold: the seed's merge of the CDC table as it was
    want1 = seed_sql(arrow(c, DeltaTable(str(c)).version() - 1))
    hist = sorted(({k: r[k] for k in SRC_COLS} for r in arrow(h).to_pylist()),
                  key=lambda r: r["id"])
    assert hist == want1
    assert len(want1) > 20
    # the CDC table is empty, its txns (the ingest's offsets) untouched
    assert DeltaTable(str(c)).file_uris() == []
    assert arrow(c).num_rows == 0
    assert txns(c) == before
    hd = DeltaTable(str(h))
    assert hd.metadata().configuration.get("deltacdc.key") == "id"
    cdc_id = DeltaTable(str(c)).metadata().id
    assert txns(h) == {f"deltacdc.rebase/{cdc_id}": DeltaTable(str(c)).version() - 1}
    # a rerun with nothing new commits nothing
    vh, vc = hd.version(), DeltaTable(str(c)).version()
    proc = rebase("--cdc", c, "--history", h)
    assert "nothing to fold" in summary(proc)
    assert (DeltaTable(str(h)).version(), DeltaTable(str(c)).version()) == (vh, vc)
    # ingest goes on from its offsets: the same file, grown
    write_lines(src, values)
    ingest(src, c)
    cdc_rows = arrow(c).num_rows
    later_keys = set()
    for v in values[n1:]:
        if v:
            p = json.loads(v)["payload"]
            later_keys.add((p["after"] or p["before"])["id"])
    assert cdc_rows == len(later_keys)      # only events after the rebase: nothing replayed
    # the judge: the seed's merge over a table that never saw a rebase
    write_lines(tmp_path / "all.jsonl", values)
    ingest(tmp_path / "all.jsonl", ref)
    want = seed_sql(arrow(ref))
    assert state(h, c, tmp_path, "a") == want
    truth = typedgen.expected(values)
    assert [r["id"] for r in want] == sorted(truth)
    # a second rebase folds the rest: the history alone is the state
    rebase("--cdc", c, "--history", h)
    assert arrow(c).num_rows == 0
    hist = sorted(({k: r[k] for k in SRC_COLS} for r in arrow(h).to_pylist()),
                  key=lambda r: r["id"])
    assert hist == want
    assert state(h, c, tmp_path, "b") == want


def test_interrupted_between_its_two_commits(tmp_path):
    """The fold committed, the CDC table's commit failed (storage faults on
    that one commit file): history + CDC still read right, and the next run
    finishes the removal without folding again."""
    values, n1 = build(tmp_path, seed=22)
    src, c, h = tmp_path / "in.jsonl", tmp_path / "c", tmp_path / "h"
    write_lines(src, values)
    ingest(src, c)
    want = state(h, c, tmp_path, "ref")
    vc = DeltaTable(str(c)).version()
    assert vc != 1, "the history's first commit must not share the CDC table's next version"
    env = dict(os.environ, DC_STORAGE_FAULTS=f"test-only,put_if_absent@_delta_log/"
               f"{vc + 1:020d}:before:#1+")
    proc = rebase("--cdc", c, "--history", h, ok=False, env=env)
    assert proc.returncode == 1
    assert "removing the rows folded" in proc.stderr.decode(), proc.stderr.decode()
    assert DeltaTable(str(h)).version() == 1           # the fold committed
    assert DeltaTable(str(c)).version() == vc          # the CDC table untouched
    assert state(h, c, tmp_path, "mid") == want        # folded rows read once
    proc = rebase("--cdc", c, "--history", h)
    err = proc.stderr.decode()
    assert f"finished an interrupted rebase (CDC version {vc})" in err, err
    assert "nothing to fold" in summary(proc)
    assert DeltaTable(str(h)).version() == 1           # not folded again
    assert DeltaTable(str(c)).file_uris() == []
    assert state(h, c, tmp_path, "after") == want


def test_kill9_mid_rebase_then_rerun(tmp_path):
    """kill -9 at random points of a rebase (a fresh copy of the tables each
    time), then a rerun: the same history and state as a run left alone."""
    values, n1 = build(tmp_path, seed=23, n_keys=3000, first=9000, second=10)
    src, c0, h0 = tmp_path / "in.jsonl", tmp_path / "c0", tmp_path / "h0"
    write_lines(src, values[:n1])
    ingest(src, c0, "--max-batch", "1500")
    # one history version to begin with, so the fold reads a history too
    rebase("--cdc", c0, "--history", h0)
    write_lines(src, values)
    ingest(src, c0)
    ref_c, ref_h = tmp_path / "rc", tmp_path / "rh"
    shutil.copytree(c0, ref_c)
    shutil.copytree(h0, ref_h)
    t0 = time.monotonic()
    assert_ok(run_dc(["rebase", "--cdc", str(ref_c), "--history", str(ref_h)]))
    took = time.monotonic() - t0
    want_hist = sorted(arrow(ref_h).to_pylist(), key=lambda r: r["id"])
    want = state(ref_h, ref_c, tmp_path, "ref")
    rnd = random.Random(5)
    outcomes = set()
    # 8 kills, and up to 8 more while they all landed in one phase (a loaded
    # machine can stretch one phase over most of the reference's time)
    for i in range(16):
        if i >= 8 and len(outcomes) >= 2:
            break
        c, h = tmp_path / f"c{i + 1}", tmp_path / f"h{i + 1}"
        shutil.copytree(c0, c)
        shutil.copytree(h0, h)
        p = subprocess.Popen([str(DC_BIN), "rebase", "--cdc", str(c), "--history", str(h)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0, took * (1.0 if i < 8 else 1.3)))
        p.send_signal(signal.SIGKILL)
        p.wait()
        outcomes.add((DeltaTable(str(h)).version(), DeltaTable(str(c)).version(),
                       p.returncode))
        rebase("--cdc", c, "--history", h)
        assert sorted(arrow(h).to_pylist(), key=lambda r: r["id"]) == want_hist, i
        assert arrow(c).num_rows == 0
        assert state(h, c, tmp_path, f"k{i}") == want
        shutil.rmtree(c)
        shutil.rmtree(h)
    assert len(outcomes) >= 2, outcomes   # killed at different points


def test_ingest_running_during_rebase(tmp_path):
    """A rebase while an ingest daemon keeps committing into the CDC table:
    files it adds after the fold stay, its deletion vectors on folded files
    conflict and the removal is planned again; the final state is the
    reference's."""
    values, n1 = build(tmp_path, seed=24, n_keys=400, first=3000, second=3000)
    src, c, h, ref = tmp_path / "in.jsonl", tmp_path / "c", tmp_path / "h", tmp_path / "ref"
    write_lines(src, values[:n1])
    ingest(src, c)
    # the rest arrives while the rebase runs: a follower ingest of a growing file
    p = subprocess.Popen([str(DC_BIN), "ingest", "--source", f"file:{src}", "--table", str(c),
                          "--format", "typed", "--key", "id", "--soft-deletes", "true",
                          "--max-batch", "50", "--trigger", "50ms"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with open(src, "a", encoding="utf-8") as f:
            rest = values[n1:]
            for i in range(0, len(rest), 100):
                for v in rest[i:i + 100]:
                    f.write(("null" if v is None else v) + "\n")
                f.flush()
                if i == 1000:
                    rebase("--cdc", c, "--history", h)
                time.sleep(0.02)
        time.sleep(3)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
    ingest(src, c)   # catch up whatever the follower had not committed
    write_lines(tmp_path / "all.jsonl", values)
    ingest(tmp_path / "all.jsonl", ref)
    want = seed_sql(arrow(ref))
    assert state(h, c, tmp_path, "a") == want
    rebase("--cdc", c, "--history", h)
    assert state(h, c, tmp_path, "b") == want


def test_pipeline_file_and_refusals(tmp_path):
    values, n1 = build(tmp_path, seed=25)
    wh = tmp_path / "lake"
    c, h = wh / "shop.db" / "items", wh / "history" / "shop.db" / "items"
    src = tmp_path / "in.jsonl"
    write_lines(src, values)
    ingest(src, c)
    want = state(h, c, tmp_path, "ref")
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
""")
    proc = rebase("-c", cfg)
    assert summary(proc).startswith("rebase shop.items:"), summary(proc)
    assert state(h, c, tmp_path, "after") == want
    # refusals: one line, nothing committed
    hard = tmp_path / "hard"
    proc = run_dc(["ingest", "--source", f"file:{src}", "--table", str(hard), "--format",
                   "typed", "--once", "--key", "id"], timeout=120)
    assert_ok(proc)
    cases = [
        (["--cdc", hard, "--history", tmp_path / "h2"], "removes deleted rows"),
        (["--cdc", tmp_path / "nope", "--history", tmp_path / "h2"], "nope"),
        (["--cdc", c], "--history is required"),
        (["--cdc", c, "--history", h, "--date", "2024-01-01"], "snapshot option"),
    ]
    for args, words in cases:
        proc = rebase(*args, ok=False)
        err = assert_clean_failure(proc, " ".join(map(str, args)))
        assert words in err, err
    assert not (tmp_path / "h2").exists()
    cfg2 = tmp_path / "nohist.yaml"
    cfg2.write_text(cfg.read_text().split("snapshot:")[0])
    proc = rebase("-c", cfg2, ok=False)
    assert "snapshot.history" in assert_clean_failure(proc, "no history")
    assert "rebase" in run_dc(["--help"]).stdout.decode()
    assert "--history PATH" in run_dc(["rebase", "--help"]).stdout.decode()


def test_raw_cdc_table(tmp_path):
    """The seed's own layout: a raw CDC table folded into a typed history
    (json_record decoded with the schemas the raw table keeps), raw ingest
    going on; history + raw CDC equals the seed's SQL over a raw table that
    never saw a rebase."""
    from test_snapshot import seed_sql_raw
    s = typedgen.TypedStream(seed=26, n_keys=80)
    s.snapshot(40)
    s.run(500)
    n1 = len(s.values)
    s.add_column("note")
    s.run(500)
    values = s.values
    src, c, h, ref = tmp_path / "in.jsonl", tmp_path / "c", tmp_path / "h", tmp_path / "ref"

    def raw(table, path):
        proc = run_dc(["ingest", "--source", f"file:{path}", "--table", str(table), "--once",
                       "--key", "id", "--max-batch", "120"], timeout=300)
        assert_ok(proc, f"raw ingest into {table}")

    write_lines(src, values[:n1])
    raw(c, src)
    before = txns(c)
    rebase("--cdc", c, "--history", h)
    assert arrow(c).num_rows == 0 and txns(c) == before
    types = {f.name: str(f.type) for f in arrow(h).schema}
    assert types["price"] == "decimal128(10, 2)" and types["born"] == "date32[day]", types
    write_lines(src, values)
    raw(c, src)
    write_lines(tmp_path / "all.jsonl", values)
    raw(ref, tmp_path / "all.jsonl")
    cols = SRC_COLS + ["note"]
    want = seed_sql_raw(arrow(ref), None, cols)
    out = tmp_path / "out"
    assert_ok(run_dc(["snapshot", "--history", str(h), "--cdc", str(c), "--out", str(out),
                      "--date", "2024-05-01"]), "snapshot")
    assert partition(out, "2024-05-01", cols) == want
    assert [r["id"] for r in want] == sorted(typedgen.expected(values))
    rebase("--cdc", c, "--history", h)
    hist = sorted(({k: r.get(k) for k in cols} for r in arrow(h).to_pylist()),
                  key=lambda r: r["id"])
    assert hist == want


def test_late_event_after_rebase_does_not_regress(tmp_path):
    """A raw table ranks by (ts_ms, offset): a late event (older ts_ms) for a
    key whose row was folded finds no row in the emptied CDC table and is
    inserted there; the rebased history's row keeps its own rank and wins,
    as the raw MERGE would have decided without the rebase."""
    s = typedgen.TypedStream(seed=27, n_keys=20)
    s.snapshot(20)
    s.run(60)
    src, c, h = tmp_path / "in.jsonl", tmp_path / "c", tmp_path / "h"
    write_lines(src, s.values)
    assert_ok(run_dc(["ingest", "--source", f"file:{src}", "--table", str(c), "--once",
                      "--key", "id"]))
    rebase("--cdc", c, "--history", h)
    hist = {r["id"]: r for r in arrow(h).to_pylist()}
    key = min(hist)
    late = json.loads(next(v for v in s.values if v and json.loads(v)["payload"]["op"] == "r"
                           and json.loads(v)["payload"]["after"]["id"] == key))
    late["payload"]["op"] = "u"
    late["payload"]["before"] = late["payload"]["after"]
    late["payload"]["after"] = dict(late["payload"]["after"], name="late")
    late["payload"]["ts_ms"] = hist[key]["__ts_ms"] - 1
    write_lines(src, s.values + [json.dumps(late)])
    assert_ok(run_dc(["ingest", "--source", f"file:{src}", "--table", str(c), "--once",
                      "--key", "id"]))
    assert arrow(c).num_rows == 1          # the late event is in the CDC table
    got = {r["id"]: r for r in state(h, c, tmp_path, "a")}
    assert got[key]["name"] == hist[key]["name"] != "late"
    rebase("--cdc", c, "--history", h)
    assert {r["id"]: r["name"] for r in arrow(h).to_pylist()}[key] == hist[key]["name"]
