"""`format: [raw, typed]`: one pipeline entry writes a raw and a typed table
from one stream, each with its own txn. Judged by delta-rs: the raw table
against the seed's ranking (cdcgen.expected_state, DuckDB), the typed one
against typedgen.expected; after kill -9 at random moments each table is
exactly-once on its own (its txn version is the last offset)."""
import random
import time

import pytest
from deltalake import DeltaTable

import cdcgen
import typedgen
from conftest import assert_ok, run_dc
from test_ingest_crash import _run_and_kill

MODES = ["dv", "cow"]


def check_both(raw, typed, values):
    d = cdcgen.diff_states(cdcgen.read_table(raw), cdcgen.expected_state(values))
    assert not d, f"raw table {raw}: {d}"
    d = typedgen.diff(typedgen.read_typed(typed), typedgen.expected(values))
    assert not d, f"typed table {typed}: {d}"


def stream(seed, n=500):
    s = typedgen.TypedStream(seed=seed)
    s.snapshot(25)
    s.run(n)
    s.crash_repeat(40)
    s.truncate()
    s.run(200)
    return s


@pytest.mark.parametrize("mode", MODES)
def test_both_from_flags(tmp_path, mode):
    """--format raw,typed with --table: the typed table defaults to PATH_typed."""
    s = stream(31)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "items"
    p = run_dc(["ingest", "--source", f"file:{src}", "--table", t, "--format", "raw,typed",
                "--key", "id", "--mode", mode, "--max-batch", "45", "--once"], timeout=300)
    assert_ok(p, "ingest")
    assert b"(raw) and" in p.stderr and b"items_typed (typed)" in p.stderr
    check_both(t, tmp_path / "items_typed", s.values)
    app = f"deltacdc/file:{src.resolve()}/0"
    for table in (t, tmp_path / "items_typed"):
        assert DeltaTable(str(table)).transaction_version(app) == len(s.values)


def test_both_from_pipeline_file(tmp_path):
    """format: [raw, typed] in the pipeline file, the paths from templates."""
    s = stream(32)
    src = s.write(tmp_path / "s.jsonl")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"warehouse: {tmp_path}/lake\n"
                   f"source:\n  file: {src}\n"
                   "tables:\n"
                   "  - match: '*'\n"
                   "    path: '{warehouse}/raw/items'\n"
                   "    typed_path: '{warehouse}/typed/items'\n"
                   "    format: [typed, raw]\n"
                   "    key: id\n")
    shown = run_dc(["config", "show", "-c", cfg])
    assert_ok(shown, "config show")
    assert b"format: raw,typed" in shown.stdout
    assert_ok(run_dc(["ingest", "-c", cfg, "--once", "--max-batch", "60"], timeout=300))
    check_both(tmp_path / "lake/raw/items", tmp_path / "lake/typed/items", s.values)
    # A second run over a longer stream goes on in both.
    s.run(150)
    s.write(src)
    assert_ok(run_dc(["ingest", "-c", cfg, "--once", "--max-batch", "60"], timeout=300))
    check_both(tmp_path / "lake/raw/items", tmp_path / "lake/typed/items", s.values)


def test_one_path_for_both_is_refused(tmp_path):
    s = stream(33, n=20)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "items"
    p = run_dc(["ingest", "--source", f"file:{src}", "--table", t, "--format", "raw,typed",
                "--typed-table", "{path}", "--key", "id", "--once"])
    assert p.returncode != 0
    assert b"both a raw and a typed table" in p.stderr, p.stderr
    assert not (t / "_delta_log").exists()


def test_a_typed_table_added_later_catches_up(tmp_path):
    """A raw table exists; switching the entry to [raw, typed] builds the
    typed table from the start of the stream while the raw one skips what it
    has (its own txn)."""
    s = stream(34)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "items"
    base = ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id", "--once"]
    assert_ok(run_dc([*base, "--format", "raw"], timeout=300))
    v = DeltaTable(str(t)).version()
    p = run_dc([*base, "--format", "raw,typed"], timeout=300)
    assert_ok(p, "ingest both")
    assert DeltaTable(str(t)).version() == v, "the raw table was written again"
    check_both(t, tmp_path / "items_typed", s.values)


@pytest.mark.parametrize("mode", MODES)
def test_sigkill_both(tmp_path, mode):
    """kill -9 at random moments (between the two tables' commits too) over
    a growing stream: each table ends exactly-once on its own."""
    rnd = random.Random(4242 + (mode == "cow"))
    s = typedgen.TypedStream(seed=rnd.randrange(1 << 30), n_keys=120)
    s.snapshot(80)
    src = tmp_path / "s.jsonl"
    t = tmp_path / "items"

    def grow(n):
        s.run(n)
        if rnd.random() < 0.3:
            s.crash_repeat(rnd.randrange(5, 40))
        s.write(src)

    grow(600)
    args = ["ingest", "--source", f"file:{src}", "--table", t, "--format", "raw,typed",
            "--key", "id", "--mode", mode, "--max-batch", "35", "--once", "--log-level", "warn"]
    kills = runs = 0
    start = time.monotonic()
    versions = set()
    while kills < 15:
        runs += 1
        delay = rnd.uniform(0.001, 0.05) if rnd.random() < 0.3 else rnd.uniform(0.05, 0.6)
        if _run_and_kill(args, delay):
            kills += 1
            if kills % 4 == 0:  # the stream goes on meanwhile, too
                grow(rnd.randrange(50, 200))
            # a table exists from its first commit (a kill may fall between
            # the log directory and that commit)
            if all(any((d / "_delta_log").glob("*.json")) for d in (t, tmp_path / "items_typed")):
                app = f"deltacdc/file:{src.resolve()}/0"
                versions.add(DeltaTable(str(t)).transaction_version(app) !=
                             DeltaTable(str(tmp_path / "items_typed")).transaction_version(app))
        else:
            grow(rnd.randrange(100, 400))
        assert time.monotonic() - start < 200, f"too slow: {kills} kills in {runs} runs"
    assert_ok(run_dc(args, timeout=300), "final ingest")
    check_both(t, tmp_path / "items_typed", s.values)
    app = f"deltacdc/file:{src.resolve()}/0"
    for table in (t, tmp_path / "items_typed"):
        assert DeltaTable(str(table)).transaction_version(app) == len(s.values)
    print(f"{mode}: {kills} kills in {runs} runs; tables apart after a kill: {True in versions}")
