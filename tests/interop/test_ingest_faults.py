"""Exactly once under storage faults: `deltacdc ingest` runs again and again
over one stream with the fault-injecting storage backend on
(DC_STORAGE_FAULTS, a test-only knob: src/storage/storage_fault.c), a new
seed each run, until a run drains the input. Commit PUTs take effect with
the reply lost, get lost on their way, or hang; data files, checkpoints and
log reads fail before or after taking effect. Most runs die on a fault;
each one resumes from what the table holds. The final table, read by
delta-rs, equals the expected state of the whole stream: nothing lost,
nothing doubled, every referenced file present, the position the last line.
Both on the local disk and on an S3-compatible server (moto, s3_fixture.py:
DC_STORAGE_FAULTS wraps every root dc_storage_open opens, s3:// ones too;
marked slow there), where delta-rs reads the result from the server.
"""
import os
import random
import time

import pytest
from deltalake import DeltaTable

import cdcgen
from conftest import assert_ok, run_dc, stderr_text
from s3_fixture import SLOW_S3, backend, files_present, s3  # noqa: F401 (fixtures)

FAULTS = ",".join([
    "test-only",
    "put_if_absent@_delta_log/:after:0.12",   # the commit is in, the reply lost
    "put_if_absent@_delta_log/:lost:0.04",    # no reply, nothing done
    "put_if_absent@_delta_log/:hang:0.03",    # a time-out, done or not
    "put_if_absent:before:0.01",              # commits and DV files: refused, nothing done
    "read@_delta_log/:before:0.03",           # the log can not be read (now and then
                                              # while resolving: the outcome stays unknown)
    "writer_commit:after:0.04",               # a data file in place, the reply lost
    "writer_commit:before:0.02",
    "writer_write:before:0.002",
    "write:after:0.05",                       # checkpoints, _last_checkpoint
    "remove:after:0.05",                      # log cleanup
    "hang_ms=5",
])
MAX_RUNS = int(os.environ.get("DC_FAULT_RUNS", "400"))


@pytest.mark.parametrize("backend", SLOW_S3, indirect=True)
@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_ingest_drains_under_storage_faults(tmp_path, mode, backend):
    rnd = random.Random(4207 + (mode == "cow"))
    s = cdcgen.Stream(seed=rnd.randrange(1 << 30), n_keys=250, schema_ratio=0.5)
    # On the server every restart and batch takes several round trips: a
    # shorter stream (still dozens of commits) keeps the run minutes long.
    scale = 1 if backend.name == "local" else 0.5
    s.snapshot(int(150 * scale))
    s.run(int(1200 * scale))
    s.truncate()
    s.run(int(600 * scale))
    src = tmp_path / "stream.jsonl"
    src.write_text("".join(line + "\n" for line in s.lines()))
    written = len(s.values)
    t = backend.table("t")
    so = backend.storage_options
    args = ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id", "--mode", mode,
            "--max-batch", "40", "--once", "--log-level", "warn"]
    app = f"deltacdc/file:{src.resolve()}/0"
    runs = failed = resolved = unknown = 0
    start = time.monotonic()
    while True:
        runs += 1
        assert runs <= MAX_RUNS, f"not drained after {MAX_RUNS} runs ({failed} failed)"
        assert time.monotonic() - start < 300 / scale, f"too slow: {runs} runs"
        env = backend.env(DC_STORAGE_FAULTS=f"{FAULTS},seed={rnd.randrange(1 << 40)}")
        p = run_dc(args, timeout=120, env=env)
        err = stderr_text(p)
        assert p.returncode >= 0, f"killed by signal {-p.returncode}: {err[-2000:]}"
        assert "injecting faults" in err  # the knob was on, and said so
        resolved += err.count("the reply was lost, but the commit is in the log")
        unknown += err.count("may or may not be committed")
        if p.returncode != 0:
            failed += 1
            assert "injected fault" in err, f"run {runs} failed without a fault: {err[-2000:]}"
            continue
        if DeltaTable(str(t), storage_options=so).transaction_version(app) == written:
            break
    print(f"{backend.name} {mode}: {runs} runs, {failed} failed on a fault, {resolved} lost replies resolved, "
          f"{unknown} left unknown, {written} records, "
          f"version {DeltaTable(str(t), storage_options=so).version()}")
    assert resolved > 0, "no commit reply was lost: the schedule did not test the resolution"
    assert failed > 0
    # The drained table, read by delta-rs: every file present, the expected rows.
    want = cdcgen.expected_state(s.values)
    n_files = files_present(backend, t, len(want))
    got = cdcgen.read_table(t, storage_options=so)
    d = cdcgen.diff_states(got, want)
    assert not d, f"after {runs} runs ({failed} failed) over {written} records: {d}"
    assert DeltaTable(str(t), storage_options=so).transaction_version(app) == written
    # A run without faults finds nothing to do.
    before = DeltaTable(str(t), storage_options=so).version()
    assert_ok(run_dc(args, timeout=120, env=backend.env()), "ingest without faults")
    assert DeltaTable(str(t), storage_options=so).version() == before
    assert n_files == files_present(backend, t, len(want))


def test_fault_knob_refused_without_test_only(tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text("")
    env = dict(os.environ)
    os.environ["DC_STORAGE_FAULTS"] = "put_if_absent:after:1"
    try:
        p = run_dc(["ingest", "--source", f"file:{src}", "--table", tmp_path / "t", "--key",
                    "id", "--once"])
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert p.returncode != 0
    assert "test-only knob" in stderr_text(p)
