"""Ingest on several threads (ingest.threads, --threads) under ThreadSanitizer:
the file is read and its records decoded ahead by a reader thread (helped by
the threads beyond two; ingest_ahead.c) and handed to the batch in the
source's order, so a random stream (schema blocks on half the records,
c/u/d/r, tombstones, a truncate, late events) ingested with --threads 2 and 3
gives the state an independent reading of the stream expects, and the same
rows as --threads 1. The binary is build-tsan/deltacdc (`make tsan`;
DC_TSAN_BIN overrides it): a data race stops it with TSan's report and exit
66. Kept small: TSan runs 5-15x slower."""
import os
import subprocess
from pathlib import Path

import pytest

import cdcgen
from conftest import REPO, assert_crash_free, assert_ok, stderr_text

DC_TSAN_BIN = Path(os.environ.get("DC_TSAN_BIN", REPO / "build-tsan" / "deltacdc"))
TSAN_ENV = {"TSAN_OPTIONS": "halt_on_error=1:exitcode=66:second_deadlock_stack=1"}


def run_tsan(args, timeout=300):
    if not DC_TSAN_BIN.exists():
        pytest.fail(f"{DC_TSAN_BIN} is missing: run `make tsan` (scripts/test.sh builds it)")
    env = dict(os.environ, **TSAN_ENV)
    proc = subprocess.run([str(DC_TSAN_BIN)] + [str(a) for a in args], capture_output=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    assert "ThreadSanitizer" not in stderr_text(proc), stderr_text(proc)[-4000:]
    assert_crash_free(proc, "ingest (tsan)")
    assert_ok(proc, "ingest (tsan)")
    return proc


def stream(seed):
    s = cdcgen.Stream(seed=seed, n_keys=400)
    s.snapshot(300)
    s.run(1500)
    s.truncate()
    s.run(1500)
    return s


@pytest.mark.parametrize("batch", ["1000000", "500"])
def test_threads_under_tsan_give_the_expected_state(tmp_path, batch):
    s = stream(seed=7 + len(batch))
    src = s.write(tmp_path / "s.jsonl")
    rows = {}
    for threads in ("1", "2", "3"):
        t = tmp_path / f"t{threads}"
        proc = run_tsan(["ingest", "--source", f"file:{src}", "--table", t, "--key", "id",
                         "--once", "--max-batch", batch, "--threads", threads])
        if threads != "1":
            assert f"decoding on {threads} threads" in stderr_text(proc)
        got = cdcgen.read_table(t, ("id",))
        d = cdcgen.diff_states(got, cdcgen.expected_state(s.values, ("id",)))
        assert not d, f"--threads {threads}: {d}"
        rows[threads] = got
    assert rows["2"] == rows["1"] and rows["3"] == rows["1"]


def test_threads_under_tsan_raw_and_typed_twins(tmp_path):
    """[raw, typed]: one decoded event feeds both tables (the typed one keeps
    its schema blocks for a replay)."""
    s = cdcgen.Stream(seed=11, n_keys=200, schema_ratio=1.0)
    s.snapshot(200)
    s.run(1200)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "t"
    run_tsan(["ingest", "--source", f"file:{src}", "--table", t, "--key", "id", "--once",
              "--format", "raw,typed", "--threads", "2"])
    d = cdcgen.diff_states(cdcgen.read_table(t, ("id",)),
                           cdcgen.expected_state(s.values, ("id",)))
    assert not d, d
    typed = tmp_path / "t_typed"
    assert (typed / "_delta_log").is_dir()


def test_threads_under_tsan_with_maintenance(tmp_path):
    """Small batches on 2 threads with checkpoints and OPTIMIZE on the
    maintenance thread: its handoffs (a rewrite committed between batches,
    the key index written after a checkpoint) wait while the committer
    thread holds the table's batch (ingest_commit.c), and the state is the
    expected one."""
    s = stream(seed=23)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "t"
    cfg = tmp_path / "p.yaml"
    cfg.write_text("maintenance:\n  optimize: auto\n  optimize_interval: 0s\n"
                   "  optimize_small_files: 4\n  checkpoint_interval: 5\n")
    proc = run_tsan(["ingest", "-c", cfg, "--source", f"file:{src}", "--table", t, "--key",
                     "id", "--once", "--max-batch", "150", "--threads", "2", "--log-level",
                     "info"])
    err = stderr_text(proc)
    assert "merged and committed on a thread of their own" in err
    assert "checkpoint at version" in err
    d = cdcgen.diff_states(cdcgen.read_table(t, ("id",)),
                           cdcgen.expected_state(s.values, ("id",)))
    assert not d, d
