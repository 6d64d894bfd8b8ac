"""The daemon's OPTIMIZE beside ingestion (issue 13, maintenance.background):
the rewrite runs in the maintenance thread while batches keep committing
updates and deletes of rows in the very files being compacted; the commit
carries those deletes over to the new file as a deletion vector (dv mode)
or leaves the bin out (cow mode, no deletion vectors). Judged by delta-rs
(the rows) against the expected state computed by DuckDB from every event
(cdcgen), and by a replay of the JSON log (no file referenced twice, every
referenced file present). Also: SIGKILL at random moments while OPTIMIZE
runs beside the batches, restarted each time; the final table is exact."""
import random
import re
import signal
import subprocess
import time

import pytest
from deltalake import DeltaTable

import cdcgen
from conftest import DC_BIN
from daemon_harness import feed, finish, running_daemon
from test_optimize import check_state, commit_actions, log_state, rows_at, write_config


def _optimize_commits(t):
    _, v = log_state(t)
    out = []
    for ver in range(v + 1):
        acts = commit_actions(t, ver)
        info = [a["commitInfo"] for a in acts if "commitInfo" in a]
        if info and info[0].get("operation") == "OPTIMIZE":
            out.append((ver, acts))
    return out


def _check_log(t):
    """Every live file once and present on disk; OPTIMIZE commits are
    dataChange=false throughout."""
    live, _ = log_state(t)
    for path in live:
        assert (t / path).exists(), f"{path} is referenced and missing"
    for ver, acts in _optimize_commits(t):
        for a in acts:
            for kind in ("add", "remove"):
                if kind in a:
                    assert a[kind]["dataChange"] is False, (ver, a)


@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_optimize_beside_batches_that_delete_its_rows(tmp_path, mode):
    s = cdcgen.Stream(seed=77 + (mode == "cow"), n_keys=300)
    s.snapshot(300)
    s.run(9000)           # updates and deletes of random keys: every file loses rows
    lines = s.lines()
    t = tmp_path / "t"
    cfg = write_config(tmp_path / "p.yaml", optimize="auto", optimize_interval="0s",
                       optimize_small_files=3, optimize_deleted_percent=10,
                       checkpoint_interval=5)
    with running_daemon(tmp_path, t, cfg, "--mode", mode, "--trigger", "50ms",
                        "--max-batch", "40") as daemon:
        # a backlog: batches commit back to back, so every rewrite (however fast
        # this machine makes it) is committed after a batch that deleted its rows
        feed(daemon, lines, 400, 0)
        err = finish(daemon, tmp_path)
    check_state(t, s.values)
    _check_log(t)
    opts = _optimize_commits(t)
    assert len(opts) >= 3, f"the daemon optimized {len(opts)} times"
    assert "maintenance thread" in err  # checkpoints came from the thread
    carried = len(re.findall(r": [1-9][0-9]* rows deleted meanwhile hidden", err))
    if mode == "dv":
        # some rewrites were committed after batches had deleted their rows
        assert carried >= 1, "no OPTIMIZE raced a batch"
        with_dv = sum(1 for _, acts in opts for a in acts
                      if "add" in a and a["add"].get("deletionVector"))
        assert with_dv >= 1, "no rewritten file got a carried-over deletion vector"
        # delta-rs reads the table at every OPTIMIZE version the same as the one before
        for ver, _ in opts[:5]:
            before, after = rows_at(t, ver - 1), rows_at(t, ver)
            assert before == after, f"OPTIMIZE at {ver} changed the rows"
    else:
        assert "deletionVector" not in "".join(str(a) for _, acts in opts for a in acts)
    left_out = len(re.findall(r" [1-9][0-9]* bins left out", err))
    if mode == "cow":
        assert carried == 0
    print(f"{mode}: {len(opts)} optimizes, {carried} with deletes carried over, "
          f"{left_out} with bins left out")


def test_sigkill_during_background_optimize(tmp_path):
    rnd = random.Random(1313)
    s = cdcgen.Stream(seed=1313, n_keys=400)
    s.snapshot(400)
    s.run(24000)
    src = tmp_path / "s.jsonl"
    src.write_text("".join(l + "\n" for l in s.lines()))
    t = tmp_path / "t"
    cfg = write_config(tmp_path / "p.yaml", optimize="auto", optimize_interval="0s",
                       optimize_small_files=3, optimize_deleted_percent=10,
                       checkpoint_interval=5)
    args = [str(DC_BIN), "ingest", "-c", str(cfg), "--source", f"file:{src}", "--table",
            str(t), "--key", "id", "--max-batch", "60", "--once"]
    kills = optimizes = 0
    written = len(s.values)
    # A run that drains the stream before it is killed (a fast machine) gets
    # more of it, so that kills keep landing in batches and rewrites.
    for i in range(60):
        log = open(tmp_path / f"run{i}.log", "wb")
        p = subprocess.Popen(args, stderr=log)
        try:
            p.wait(timeout=rnd.uniform(0.3, 2.0))
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
            kills += 1
        log.close()
        text = (tmp_path / f"run{i}.log").read_text()
        optimizes += text.count(" info  optimize optimize ")
        if p.returncode == 0:
            if kills >= 8:
                break
            s.run(6000)
            with open(src, "a") as f:
                f.write("".join(l + "\n" for l in s.lines()[written:]))
            written = len(s.values)
            continue
        assert p.returncode == -signal.SIGKILL, text[-2000:]
    else:
        p = subprocess.run(args, capture_output=True, timeout=600)
        assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert kills >= 8, kills
    assert optimizes >= 1, "no OPTIMIZE committed between the kills"
    check_state(t, s.values)
    _check_log(t)
    assert DeltaTable(str(t)).version() >= 1
    print(f"{kills} kills, {optimizes} optimizes committed")
