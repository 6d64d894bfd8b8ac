"""Exactly once under SIGKILL: `deltacdc ingest` is killed at random moments
(while opening the table, reading, writing files, committing) at least 50
times over one growing stream from a file and restarted each time; the final
table, read by delta-rs, equals the expected state of the whole stream (the
seed's SQL with the three fixes in DuckDB): nothing lost, nothing doubled,
and the table's position is the last line. Both on the local disk and on an
S3-compatible server (moto, s3_fixture.py; fewer kills there, and marked
slow), where every file the table references must be on the server too. Once more
with --threads 2 (the file read ahead, a batch committed on a thread of its
own while the next one fills): the same final state."""
import os
import random
import signal
import subprocess
import time

import pytest
from deltalake import DeltaTable

import cdcgen
from conftest import DC_BIN, assert_ok, run_dc
from s3_fixture import SLOW_S3, backend, files_present, s3  # noqa: F401 (fixtures)

KILLS = int(os.environ.get("DC_CRASH_KILLS", "50"))
# Each run against the server is slower: fewer kills keep the test minutes long.
KILLS_S3 = int(os.environ.get("DC_CRASH_KILLS_S3", "20"))


def _run_and_kill(args, delay, env=None):
    """Starts deltacdc; SIGKILLs it after `delay` s. True when it was killed
    while running, False when it had already finished (then it must have
    succeeded)."""
    p = subprocess.Popen([str(DC_BIN), *map(str, args)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        return True
    err = p.stderr.read().decode()
    assert p.returncode == 0, f"deltacdc exited {p.returncode}: {err[-2000:]}"
    return False


@pytest.mark.parametrize("backend", SLOW_S3, indirect=True)
@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_sigkill_at_random_moments(tmp_path, mode, backend):
    kill_and_check(tmp_path, backend, random.Random(20240501 + (mode == "cow")), mode,
                   ["--max-batch", "40"], KILLS if backend.name == "local" else KILLS_S3)


@pytest.mark.parametrize("backend", ["local"], indirect=True)
@pytest.mark.parametrize("batch", ["40", "400"])
def test_sigkill_with_threads(tmp_path, batch, backend):
    """--threads 2: the file is read and decoded ahead, and a raw table's
    batch is merged and committed on a thread of its own while the loop
    fills the next one (ingest_commit.c): kills land in either; the
    table's commits and txn positions stay those of one thread."""
    kill_and_check(tmp_path, backend, random.Random(20261208 + int(batch)), "dv",
                   ["--max-batch", batch, "--threads", "2"], KILLS)


def kill_and_check(tmp_path, backend, rnd, mode, extra, kills_wanted):
    """SIGKILLs `deltacdc ingest` (args + extra) at random moments over a
    growing stream until kills_wanted kills, then checks the final table."""
    s = cdcgen.Stream(seed=rnd.randrange(1 << 30), n_keys=300, schema_ratio=0.5)
    s.snapshot(200)
    src = tmp_path / "stream.jsonl"
    t = backend.table("t")
    env = backend.env()
    so = backend.storage_options
    # A batch on the server takes several requests: longer lives, so that the
    # kills land in commits and data-file uploads, not mostly in start-up.
    pace = 1 if backend.name == "local" else 6
    written = 0

    def grow(n):
        nonlocal written
        s.run(n)
        if rnd.random() < 0.15:
            s.truncate()
        with open(src, "a") as f:
            for line in s.lines()[written:]:
                f.write(line + "\n")
        written = len(s.values)

    grow(1500)
    args = ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id", "--mode", mode,
            "--once", "--log-level", "warn", *extra]
    kills = runs = 0
    start = time.monotonic()
    while kills < kills_wanted:
        runs += 1
        # Mostly short lives (open, first batches), sometimes long ones.
        delay = pace * (rnd.uniform(0.001, 0.05) if rnd.random() < 0.3 else rnd.uniform(0.05, 0.8))
        if _run_and_kill(args, delay, env):
            kills += 1
        else:
            grow(rnd.randrange(200, 1200))  # drained: the stream goes on
        assert time.monotonic() - start < 240 * max(1, pace / 2), \
            f"too slow: {kills} kills in {runs} runs"
    before = DeltaTable(str(t), storage_options=so).version() if backend.exists(t) else None
    print(f"{backend.name} {mode} {' '.join(extra)}: {kills} kills in {runs} runs, {written} records, "
          f"version {before}")
    assert_ok(run_dc(args, timeout=300, env=env), "final ingest")
    want = cdcgen.expected_state(s.values)
    got = cdcgen.read_table(t, storage_options=so)
    d = cdcgen.diff_states(got, want)
    assert not d, f"after {kills} kills in {runs} runs over {written} records: {d}"
    app = f"deltacdc/file:{src.resolve()}/0"
    assert DeltaTable(str(t), storage_options=so).transaction_version(app) == written
    files_present(backend, t, len(want))
    # deltacdc's own reader sees the same number of rows as delta-rs.
    cat = run_dc(["cat", t], env=env)
    assert_ok(cat, "cat")
    assert len(cat.stdout.splitlines()) == len(got)
