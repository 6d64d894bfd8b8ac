"""Table maintenance judged by delta-rs (`deltalake`): VACUUM (with and
without --force, dry runs, orphans of a crashed writer, DV files), time
travel to versions before a rewrite until VACUUM removes their files, log
cleanup (delta-rs loads every retained version through the checkpoint that
is kept), symlink manifests (exactly the live files; refused with deletion
vectors), and automatic checkpoints at the interval.

Ages are simulated by setting modification times back with os.utime.
Tables are built with `deltacdc delta-test` (a test/dev tool, see
src/cli/cli_deltatest.c).
"""
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

from conftest import assert_clean_failure, assert_crash_free, assert_ok, run_dc
from s3_fixture import BACKENDS, backend, s3  # noqa: F401 (fixtures)

DAY = 86400

SCHEMA = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "name", "type": "string", "nullable": True, "metadata": {}},
    {"name": "p", "type": "string", "nullable": True, "metadata": {}},
]}


# ------------------------------------------------------------------ helpers

def rows_of(lo, hi, parts=("a", "b c", None)):
    return [{"id": i, "name": f"n{i}", "p": parts[i % len(parts)]} for i in range(lo, hi)]


def dc(*args):
    """`deltacdc delta-test ...`; returns the version it committed."""
    proc = run_dc(["delta-test", *args])
    assert_ok(proc, "delta-test " + " ".join(map(str, args)))
    return int(proc.stdout.decode().strip().splitlines()[-1])


def dc_cmd(*args):
    """A maintenance command; returns (stdout, stderr) text, asserting exit 0."""
    proc = run_dc(list(args))
    assert_crash_free(proc, " ".join(map(str, args)))
    assert_ok(proc, " ".join(map(str, args)))
    return proc.stdout.decode(), proc.stderr.decode()


def append(tmp_path, table, rows, *extra):
    src = tmp_path / f"rows-{time.monotonic_ns()}.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    return dc("append", table, src, "--schema", schema, *extra)


def read_rows(table, version=None):
    """Rows as delta-rs sees them (DataFusion scan, honours DVs), by id."""
    dt = DeltaTable(str(table), version=version) if version is not None else DeltaTable(str(table))
    res = QueryBuilder().register("t", dt).execute("select id, name, p from t").read_all()
    return sorted(pa.table(res).to_pylist(), key=lambda r: r["id"])


def expected(rows):
    return sorted(rows, key=lambda r: r["id"])


def visible_files(table: Path):
    """Files VACUUM may look at: everything but _delta_log and hidden names
    (the partition directories here do not start with '_' or '.')."""
    out = set()
    for root, dirs, files in os.walk(table):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        out |= {os.path.join(root, f) for f in files if not f.startswith(("_", "."))}
    return out


def live_uris(table):
    return set(DeltaTable(str(table)).file_uris())


def age_everything(table: Path, seconds_ago):
    """Sets every data/DV file (not the log) back in time."""
    t = time.time() - seconds_ago
    for f in visible_files(table):
        os.utime(f, (t, t))


def live_file(table, part_value=None):
    """Path (as logged) of one live file of the latest version."""
    dt = DeltaTable(str(table))
    for a in pa.table(dt.get_add_actions(flatten=True)).to_pylist():
        if part_value is None or a.get("partition.p") == part_value:
            return a["path"]
    raise AssertionError(f"no live file with p={part_value}")


# ------------------------------------------------------------------- VACUUM

def test_time_travel_until_vacuum_removes_the_files(tmp_path):
    """Versions before a rewrite keep their rows until VACUUM removes the
    files they need; the default retention (1 week) protects fresh
    tombstones, --retain below it is refused without --force, and with
    --force exactly the live files are left."""
    t = tmp_path / "t"
    all_rows = rows_of(0, 30)
    v1 = append(tmp_path, t, all_rows[:15], "--partition-by", "p")
    append(tmp_path, t, all_rows[15:])
    before = read_rows(t)
    assert before == expected(all_rows)
    # "Rewrite" partition a: remove its files, append its rows again.
    a_rows = [r for r in all_rows if r["p"] == "a"]
    while True:
        try:
            dc("remove", t, live_file(t, "a"))
        except AssertionError:
            break
    v_rewrite = append(tmp_path, t, a_rows)
    assert read_rows(t) == expected(all_rows)
    removed_files = visible_files(t) - live_uris(t)
    assert len(removed_files) == 2, removed_files
    # A crashed writer's file, never committed.
    orphan = t / "p=b c" / "part-99999-crashed.c000.zstd.parquet"
    orphan.write_bytes(b"PAR1 not really")
    age_everything(t, 10 * DAY)

    out, _ = dc_cmd("vacuum", t)
    assert "removed 1 files" in out, out
    assert not orphan.exists()
    assert read_rows(t, v1) == expected(all_rows[:15])      # time travel still works
    assert read_rows(t, v_rewrite - 1) == expected([r for r in all_rows if r["p"] != "a"])

    proc = run_dc(["vacuum", t, "--retain", "1h"])
    err = assert_clean_failure(proc, "vacuum --retain 1h")
    assert "--force" in err and "delta.deletedFileRetentionDuration" in err
    assert removed_files <= visible_files(t)                 # nothing deleted

    out, _ = dc_cmd("vacuum", t, "--retain", "0h", "--force")
    assert "removed 2 files" in out, out
    assert visible_files(t) == live_uris(t)                  # exactly the live files
    # Both runs are in the history as delta-rs reads it, newest first.
    hist = DeltaTable(str(t)).history()
    ops = [h["operation"] for h in hist[:4]]
    assert ops == ["VACUUM END", "VACUUM START", "VACUUM END", "VACUUM START"], ops
    assert hist[1]["operationParameters"]["retentionCheckEnabled"] == "false"
    assert hist[1]["operationMetrics"]["numFilesToDelete"] in (2, "2")
    assert hist[0]["operationMetrics"]["numDeletedFiles"] in (2, "2")
    assert read_rows(t) == expected(all_rows)
    with pytest.raises(Exception):
        read_rows(t, v1)                                     # its files are gone


def test_vacuum_honours_the_table_retention(tmp_path):
    """A table whose delta.deletedFileRetentionDuration is 1 second: VACUUM
    without --force removes tombstoned files once both the tombstone and the
    file are older than that, and keeps files of a write in flight."""
    t = tmp_path / "t"
    append(tmp_path, t, rows_of(0, 10), "--prop", "delta.deletedFileRetentionDuration=interval 1 second")
    append(tmp_path, t, rows_of(10, 20))
    gone = live_file(t)
    dc("remove", t, gone)
    in_flight = t / "part-00000-in-flight.c000.zstd.parquet"
    in_flight.write_bytes(b"being written")
    time.sleep(1.2)
    age_everything(t, 60)
    os.utime(in_flight)                                     # just written
    out, _ = dc_cmd("vacuum", t)
    assert "removed 1 files" in out and "retention 1s" in out, out
    assert in_flight.exists()
    assert visible_files(t) == live_uris(t) | {str(in_flight)}


def test_dry_run_deletes_nothing_and_lists_what_would_go(tmp_path):
    t = tmp_path / "t"
    append(tmp_path, t, rows_of(0, 12), "--partition-by", "p")
    dc("remove", t, live_file(t, "b c"))
    for i in range(3):
        (t / f"orphan-{i}.parquet").write_bytes(b"x" * (i + 1))
    age_everything(t, 10 * DAY)
    before = visible_files(t)
    out, _ = dc_cmd("vacuum", t, "--retain", "0s", "--force", "--dry-run")
    assert visible_files(t) == before
    listed = {str(t / line) for line in out.splitlines() if not line.startswith("vacuum ")}
    assert listed == before - live_uris(t)
    assert "would remove 4 files" in out, out
    dc_cmd("vacuum", t, "--retain", "0s", "--force")
    assert visible_files(t) == before - listed == live_uris(t)


def test_vacuum_keeps_exactly_the_live_files_and_their_dvs(tmp_path):
    """Deletion vectors: each delete-rows writes a new DV file; after VACUUM
    only the live files and the DVs they reference are left, and delta-rs
    still reads the right rows (so no DV it needs was removed)."""
    t = tmp_path / "t"
    append(tmp_path, t, rows_of(0, 20), "--dv")
    append(tmp_path, t, rows_of(20, 40))
    f0, f1 = sorted(a["path"] for a in
                    pa.table(DeltaTable(str(t)).get_add_actions(flatten=True)).to_pylist())
    dc("delete-rows", t, f0, "0,1")
    dc("delete-rows", t, f0, "2")             # a new DV file supersedes the first
    dc("delete-rows", t, f1, "3")
    dc("remove", t, f1)                       # its DV goes with it
    age_everything(t, 10 * DAY)
    dv_before = {f for f in visible_files(t) if "deletion_vector_" in f}
    assert len(dv_before) == 3
    want = read_rows(t)
    dc_cmd("vacuum", t, "--retain", "0s", "--force")
    left = visible_files(t)
    data_left = {f for f in left if "deletion_vector_" not in f}
    dv_left = left - data_left
    assert data_left == live_uris(t)
    assert dv_left                               # a live file still has a DV
    assert dv_left == live_dv_files(t) and dv_left < dv_before
    assert read_rows(t) == want


Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85_decode(s):
    out = b""
    for i in range(0, len(s), 5):
        n = 0
        for c in s[i:i + 5]:
            n = n * 85 + Z85.index(c)
        out += n.to_bytes(4, "big")
    return out


def live_dv_files(t: Path):
    """DV files the live adds reference, by replaying the JSON log
    (reconciliation keyed by path and DV, as PROTOCOL.md says)."""
    def key(a):
        dv = a.get("deletionVector") or {}
        return a["path"], dv.get("pathOrInlineDv"), dv.get("offset")
    live = {}
    for commit in sorted((t / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            act = json.loads(line)
            if "add" in act:
                live[key(act["add"])] = act["add"]
            elif "remove" in act:
                live.pop(key(act["remove"]), None)
    out = set()
    for a in live.values():
        dv = a.get("deletionVector")
        if dv and dv["storageType"] == "u":
            s = dv["pathOrInlineDv"]
            u = z85_decode(s[-20:]).hex()
            name = f"deletion_vector_{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}.bin"
            out.add(str(t / s[:-20] / name) if len(s) > 20 else str(t / name))
    return out


def test_vacuum_progress_and_help(tmp_path):
    t = tmp_path / "t"
    append(tmp_path, t, rows_of(0, 3))
    for i in range(600):
        (t / f"orphan-{i:04d}.parquet").write_bytes(b"y")
    age_everything(t, 10 * DAY)
    out, err = dc_cmd("vacuum", t, "--progress")
    assert "removed 600 files (600 B)" in out, out
    assert "vacuum: deleting 600/600 files" in err, err
    out, err = dc_cmd("vacuum", t)
    assert err == ""                   # not a terminal, no --progress: quiet
    for cmd in ("vacuum", "cleanup", "manifest"):
        out, _ = dc_cmd(cmd, "--help")
        assert out.startswith(f"usage: deltacdc {cmd} TABLE")
    proc = run_dc(["vacuum", t, "--retain", "soon"])
    assert "duration 'soon'" in assert_clean_failure(proc, "vacuum --retain soon")


# -------------------------------------------------------------- log cleanup

def commit_path(t, v):
    return t / "_delta_log" / f"{v:020d}.json"


def test_log_cleanup_keeps_every_retained_version_loadable(tmp_path):
    t = tmp_path / "t"
    all_rows = rows_of(0, 60)
    for i in range(12):                          # version 0 creates, 1..12 append
        append(tmp_path, t, all_rows[i * 5:(i + 1) * 5])
        if i in (4, 8):
            dc_cmd("checkpoint", t)               # checkpoints at 5 and 9
    old = time.time() - 40 * DAY
    for v in range(0, 7):                        # commits 0..6 are 40 days old
        os.utime(commit_path(t, v), (old, old))
    out, _ = dc_cmd("cleanup", t, "--dry-run")
    assert "would remove 5 log files" in out and "below checkpoint 5" in out, out
    assert "cutoff commit 6" in out
    out, _ = dc_cmd("cleanup", t)
    assert "removed 5 log files" in out, out
    assert not commit_path(t, 4).exists() and commit_path(t, 5).exists()
    for v in range(5, 13):
        assert read_rows(t, v) == expected(all_rows[:v * 5]), v
    with pytest.raises(Exception):
        read_rows(t, 4)
    # delta-rs loads the latest through the newest checkpoint even with the
    # commits it covers gone (delete them to prove it).
    for v in range(5, 10):
        commit_path(t, v).unlink()
    assert read_rows(t) == expected(all_rows)


def test_log_cleanup_respects_enable_expired_log_cleanup(tmp_path):
    t = tmp_path / "t"
    append(tmp_path, t, rows_of(0, 3), "--prop", "delta.enableExpiredLogCleanup=false")
    for i in range(1, 4):
        append(tmp_path, t, rows_of(i * 3, i * 3 + 3))
    dc_cmd("checkpoint", t)                       # at 4
    old = time.time() - 40 * DAY
    for v in range(0, 5):
        os.utime(commit_path(t, v), (old, old))
    out, _ = dc_cmd("cleanup", t)
    assert "nothing removed" in out
    assert commit_path(t, 0).exists()
    err = assert_clean_failure(run_dc(["cleanup", t, "--retain", "1d"]), "cleanup --retain 1d")
    assert "--force" in err
    out, _ = dc_cmd("cleanup", t, "--force")
    assert "removed 4 log files" in out, out
    assert not commit_path(t, 3).exists() and commit_path(t, 4).exists()
    assert read_rows(t) == expected(rows_of(0, 12))


# ---------------------------------------------------------------- manifests

def manifest_paths(t: Path):
    out = {}
    for m in (t / "_symlink_format_manifest").rglob("manifest"):
        rel = str(m.parent.relative_to(t / "_symlink_format_manifest"))
        out[rel] = [line for line in m.read_text().splitlines()]
    return out


def test_manifest_lists_exactly_the_live_files(tmp_path):
    t = tmp_path / "t"
    append(tmp_path, t, rows_of(0, 30), "--partition-by", "p")
    append(tmp_path, t, rows_of(30, 60))
    dc("remove", t, live_file(t, "a"))
    out, _ = dc_cmd("manifest", t)
    m = manifest_paths(t)
    assert set(m) == {"p=a", "p=b c", "p=__HIVE_DEFAULT_PARTITION__"}
    lines = [line for ls in m.values() for line in ls]
    assert all(line.startswith("file:/") for line in lines)
    assert {line[len("file:"):] for line in lines} == live_uris(t)
    assert len(lines) == len(live_uris(t))
    for part, ls in m.items():                   # each file under its partition
        assert all(f"/{part}/" in line for line in ls)
    # Drop partition a entirely: its manifest goes, the others stay put.
    while True:
        try:
            dc("remove", t, live_file(t, "a"))
        except AssertionError:
            break
    out, _ = dc_cmd("manifest", t)
    assert "1 stale removed" in out and "2 unchanged" in out, out
    assert set(manifest_paths(t)) == {"p=b c", "p=__HIVE_DEFAULT_PARTITION__"}
    # The rows the manifests point at are the table's rows (pyarrow reads
    # them the way a Hive external table would, partition from the path).
    import pyarrow.parquet as pq
    ids = sorted(i for ls in manifest_paths(t).values() for line in ls
                 for i in pq.read_table(line[len("file:"):]).column("id").to_pylist())
    assert ids == [r["id"] for r in read_rows(t)]


def test_manifest_refused_on_a_dv_table(tmp_path):
    t = tmp_path / "t"
    append(tmp_path, t, rows_of(0, 10), "--dv")
    err = assert_clean_failure(run_dc(["manifest", t]), "manifest on a DV table")
    assert "deletion vectors" in err
    dc("delete-rows", t, live_file(t), "1")
    err = assert_clean_failure(run_dc(["manifest", t]), "manifest on a DV table")
    assert "1 live files with a DV" in err
    assert not (t / "_symlink_format_manifest").exists()


def test_vacuum_and_manifest_on_a_table_written_by_delta_rs(tmp_path):
    """delta-rs escapes partition values in directory names and escapes the
    '%' again in the log ("p=x%2520y/..."): VACUUM must decode the log path
    to the file's real name, or it would delete live files."""
    from deltalake import write_deltalake
    t = tmp_path / "drs"
    data = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"], "p": ["x y", "z/w", "a%b"]})
    write_deltalake(str(t), data, partition_by=["p"])
    write_deltalake(str(t), pa.table({"id": [4], "name": ["d"], "p": ["x y"]}),
                    mode="overwrite", partition_by=["p"])
    age_everything(t, 10 * DAY)
    want = read_rows(t)
    out, _ = dc_cmd("vacuum", t, "--retain", "0s", "--force")
    assert "removed 3 files" in out, out
    assert visible_files(t) == live_uris(t)
    assert read_rows(t) == want == [{"id": 4, "name": "d", "p": "x y"}]
    dc_cmd("manifest", t)
    lines = [line for ls in manifest_paths(t).values() for line in ls]
    assert {line[len("file:"):] for line in lines} == live_uris(t)


# ------------------------------------------------- inside the ingest daemon

def _cdc_stream(seed=5, n=900):
    import cdcgen
    s = cdcgen.Stream(seed=seed, n_keys=60)
    s.snapshot(40)
    s.run(n)
    return s


def _ingest(tmp_path, src, t, maintenance, *extra, env=None):
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text("maintenance:\n" + "".join(f"  {k}: {v}\n" for k, v in maintenance.items()))
    proc = run_dc(["ingest", "-c", cfg, "--source", f"file:{src}", "--table", t, "--key", "id",
                   "--once", *extra], timeout=300, env=env)
    assert_crash_free(proc, "ingest")
    assert_ok(proc, "ingest")
    return proc.stderr.decode()


def _check_state(t, s, storage_options=None):
    import cdcgen
    d = cdcgen.diff_states(cdcgen.read_table(t, storage_options=storage_options),
                           cdcgen.expected_state(s.values))
    assert not d, d


def _checkpoints(backend, t):
    return sorted(int(k.split("/")[1].split(".")[0]) for k in backend.objects(t)
                  if k.startswith("_delta_log/") and k.endswith(".checkpoint.parquet"))


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_daemon_checkpoints_at_the_interval_and_delta_rs_loads_through_them(tmp_path, backend):
    """Small batches make many commits; the daemon checkpoints at every 10th
    (the table's default interval, known without reading _last_checkpoint
    each commit), cleans nothing young, and delta-rs loads the table
    through the newest checkpoint with every commit it covers deleted. On
    the local disk and on S3."""
    s = _cdc_stream()
    src = s.write(tmp_path / "s.jsonl")
    t = backend.table("t")
    so, env = backend.storage_options, backend.env()
    log = _ingest(tmp_path, src, t, {"optimize": "off", "vacuum": "off"}, "--max-batch", "25",
                  env=env)
    latest = DeltaTable(t, storage_options=so).version()
    assert latest >= 30, latest
    cps = _checkpoints(backend, t)
    # at multiples of 10, the newest one there; the maintenance thread leaves
    # out a due one when it is a whole interval behind (a later one is due)
    assert cps and all(v % 10 == 0 for v in cps) and cps[-1] == latest // 10 * 10, cps
    assert f"checkpoint at version {cps[-1]}" in log
    assert f"{len(cps)} checkpoints" in log
    last = json.loads(backend.read(t, "_delta_log/_last_checkpoint"))
    assert last["version"] == cps[-1]
    assert "_delta_log/" + commit_path(Path(""), 0).name in backend.objects(t)  # none 30 days old
    want = DeltaTable(t, storage_options=so).get_add_actions(flatten=True).num_rows
    for v in range(0, cps[-1] + 1):
        backend.delete(t, f"_delta_log/{v:020d}.json")
    dt = DeltaTable(t, storage_options=so)
    assert dt.version() == latest and dt.get_add_actions(flatten=True).num_rows == want
    _check_state(t, s, so)
    # deltacdc's own reader too, and an interval of ours overrides the table's.
    assert_ok(run_dc(["cat", t], env=env), "cat")
    t2 = backend.table("t2")
    _ingest(tmp_path, src, t2, {"optimize": "off", "vacuum": "off", "checkpoint_interval": 7},
            "--max-batch", "100", env=env)
    v2 = DeltaTable(t2, storage_options=so).version()
    cps2 = _checkpoints(backend, t2)
    assert cps2 and all(v % 7 == 0 for v in cps2) and cps2[-1] == v2 // 7 * 7, cps2
    _check_state(t2, s, so)


def test_daemon_vacuums_orphans_and_keeps_the_manifest(tmp_path):
    """A file left by a crashed writer 10 days ago goes at the daemon's first
    VACUUM (recorded in the history); with maintenance.manifest the manifest
    lists exactly the live files after the run (copy-on-write: no DVs)."""
    s = _cdc_stream(seed=9)
    lines = s.lines()
    src = tmp_path / "s.jsonl"
    src.write_text("".join(l + "\n" for l in lines[:300]))
    t = tmp_path / "t"
    _ingest(tmp_path, src, t, {"optimize": "off", "vacuum": "off"}, "--mode", "cow")
    orphan = t / "part-00000-crashed-before-commit.c000.zstd.parquet"
    orphan.write_bytes(b"never committed")
    old = time.time() - 10 * DAY
    os.utime(orphan, (old, old))
    with open(src, "a") as f:
        f.write("".join(l + "\n" for l in lines[300:]))
    log = _ingest(tmp_path, src, t, {"optimize": "off", "manifest": "true"}, "--mode", "cow",
                  "--max-batch", "200")
    assert not orphan.exists()
    assert "vacuum removed 1 files" in log, log
    ops = [h["operation"] for h in DeltaTable(str(t)).history()]
    assert "VACUUM START" in ops and "VACUUM END" in ops
    lines_m = [line for ls in manifest_paths(t).values() for line in ls]
    assert {line[len("file:"):] for line in lines_m} == live_uris(t)
    _check_state(t, s)


def test_daemon_manifest_on_a_dv_table_warns_and_ingests(tmp_path):
    s = _cdc_stream(seed=3, n=300)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "t"
    log = _ingest(tmp_path, src, t, {"optimize": "off", "manifest": "true"}, "--mode", "dv",
                  "--max-batch", "100")
    assert "symlink manifest refused" in log
    assert not (t / "_symlink_format_manifest").exists()
    _check_state(t, s)
