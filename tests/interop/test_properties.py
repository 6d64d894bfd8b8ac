"""`deltacdc properties`: printing and changing table properties, judged by
delta-rs (the metadata it loads, the rows unchanged) and by what the
maintenance that reads the properties then does (checkpoints at the new
interval, log cleanup with the new retention). Refusals commit nothing."""
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder, write_deltalake

import cdcgen
from conftest import assert_clean_failure, assert_ok, run_dc
from daemon_harness import feed, finish, running_daemon


def ingest(src, table, *extra):
    assert_ok(run_dc(["ingest", "--source", f"file:{src}", "--table", str(table), "--key", "id",
                      "--once", *extra], timeout=300), "ingest")


def version(table):
    return DeltaTable(str(table)).version()


def rows(table):
    res = QueryBuilder().register("t", DeltaTable(str(table))).execute(
        "select id, json_record from t order by id").read_all()
    return pa.table(res).to_pylist()


@pytest.fixture
def table(tmp_path):
    s = cdcgen.Stream(seed=3, n_keys=40)
    s.snapshot(40)
    s.run(200)
    t = tmp_path / "t"
    ingest(s.write(tmp_path / "a.jsonl"), t, "--max-batch", "100")
    return t


def test_set_unset_and_print(table):
    before, v0 = rows(table), version(table)
    p = run_dc(["properties", str(table), "delta.logRetentionDuration=interval 2 days",
                "delta.checkpointInterval=5", "owner=team a"], san=True)
    assert_ok(p, "set")
    out = p.stdout.decode()
    assert f"version {v0 + 1}" in out and "set 3 properties" in out, out
    conf = DeltaTable(str(table)).metadata().configuration
    assert conf["delta.logRetentionDuration"] == "interval 2 days"
    assert conf["delta.checkpointInterval"] == "5"
    assert conf["owner"] == "team a"
    assert conf["delta.enableDeletionVectors"] == "true", "the other properties stay"
    assert rows(table) == before, "a metadata commit changes no row"
    info = DeltaTable(str(table)).history(1)[0]
    assert info["operation"] == "SET TBLPROPERTIES", info
    assert json.loads(info["operationParameters"]["properties"])["owner"] == "team a", info

    p = run_dc(["properties", str(table)], san=True)
    assert_ok(p, "print")
    out = p.stdout.decode()
    assert "owner=team a\n" in out and "delta.checkpointInterval=5\n" in out, out

    again = run_dc(["properties", str(table), "delta.checkpointInterval=5"])
    assert_ok(again, "same value")
    assert "nothing to change" in again.stdout.decode() and version(table) == v0 + 1

    p = run_dc(["properties", str(table), "--unset", "owner"], san=True)
    assert_ok(p, "unset")
    assert "owner" not in DeltaTable(str(table)).metadata().configuration
    assert DeltaTable(str(table)).history(1)[0]["operation"] == "UNSET TBLPROPERTIES"
    assert version(table) == v0 + 2


@pytest.mark.parametrize("args,msg", [
    (["delta.checkpointInterval=0"], "delta.checkpointInterval='0'"),
    (["delta.logRetentionDuration=interval 2 fortnights"], "delta.logRetentionDuration"),
    (["delta.parquet.compression.codec=lzo"], "'lzo' is not one of"),
    (["delta.targetFileSize=12x"], "delta.targetFileSize"),
    (["delta.checkpoint.writeStatsAsJson=yes"], "is not true or false"),
    (["delta.enableDeletionVectors=false"], "changes the table's protocol"),
    (["delta.columnMapping.mode=name"], "changes the table's protocol"),
    (["delta.logRetentionDurations=1d"], "is not a Delta property deltacdc sets"),
    (["--unset", "owner"], "'owner' is not set"),
    (["a=1", "a=2"], "'a' given twice"),
    (["a=1", "--unset", "b"], "not both"),
    (["novalue"], "expected KEY=VALUE"),
])
def test_refusals_commit_nothing(table, args, msg):
    v0 = version(table)
    p = run_dc(["properties", str(table), *args], san=True)
    assert_clean_failure(p, " ".join(args))
    assert msg in p.stderr.decode(), p.stderr.decode()
    assert version(table) == v0


def test_daemon_checkpoints_at_the_new_interval(tmp_path, table):
    assert_ok(run_dc(["properties", str(table), "delta.checkpointInterval=3"]), "set")
    v0 = version(table)
    s = cdcgen.Stream(seed=9, n_keys=40, ts0=1814557600000)
    s.run(300)
    ingest(s.write(tmp_path / "b.jsonl"), table, "--max-batch", "30")
    v1 = version(table)
    assert v1 >= v0 + 6
    log = Path(table) / "_delta_log"
    cps = sorted(int(p.name[:20]) for p in log.glob("*.checkpoint.parquet"))
    new = [c for c in cps if c > v0]
    # at every multiple of 3, or at the next commit when the multiple was a
    # commit that does not checkpoint (ours here, VACUUM's, another writer's)
    assert new and all(c % 3 in (0, 1) for c in new), (v0, v1, cps)
    for m in range(v0 + 1, v1):
        if m % 3 == 0:
            assert m in cps or m + 1 in cps, (m, v0, v1, cps)
    assert json.loads((log / "_last_checkpoint").read_text())["version"] == max(cps)
    assert DeltaTable(str(table)).version() == v1   # loads through the checkpoint


def test_cleanup_uses_the_new_retention(table):
    assert_ok(run_dc(["properties", str(table), "delta.logRetentionDuration=interval 3 days"]),
              "set")
    p = run_dc(["cleanup", str(table), "--dry-run"])
    assert_ok(p, "cleanup")
    assert "retention 3d" in p.stdout.decode(), p.stdout.decode()


def test_on_a_table_delta_rs_wrote(tmp_path):
    t = tmp_path / "rs"
    write_deltalake(str(t), pa.table({"x": pa.array([1, 2, 3], pa.int64())}),
                    configuration={"delta.logRetentionDuration": "interval 30 days"})
    assert_ok(run_dc(["properties", str(t), "delta.logRetentionDuration=interval 7 days",
                      "delta.deletedFileRetentionDuration=interval 1 days"]), "set")
    dt = DeltaTable(str(t))
    conf = dt.metadata().configuration
    assert conf["delta.logRetentionDuration"] == "interval 7 days"
    assert conf["delta.deletedFileRetentionDuration"] == "interval 1 days"
    assert dt.to_pyarrow_table().column("x").to_pylist() == [1, 2, 3]
    # delta-rs writes on after our metadata commit
    write_deltalake(str(t), pa.table({"x": pa.array([4], pa.int64())}), mode="append")
    assert sorted(DeltaTable(str(t)).to_pyarrow_table().column("x").to_pylist()) == [1, 2, 3, 4]


def test_a_running_daemon_follows_a_property_change_without_rebuilding(tmp_path):
    """`deltacdc properties` while the daemon ingests: the daemon's next
    commit loses the race or follows the new metadata; only the schema,
    partitioning or deletion vectors would need its key index rebuilt, so
    it keeps the index, and the maintenance uses the new value from then on
    (checkpoints every 4 commits)."""
    s = cdcgen.Stream(seed=17, n_keys=50)
    s.snapshot(50)
    s.run(600)
    lines = s.lines()
    t = tmp_path / "t"
    half = len(lines) // 2
    with running_daemon(tmp_path, t, None, "--trigger", "50ms", "--max-batch", "20") as daemon:
        feed(daemon, lines[:half], 20, 0.03)
        assert_ok(run_dc(["properties", str(t), "delta.checkpointInterval=4"]), "set")
        changed_at = version(t)
        feed(daemon, lines[half:], 20, 0.03)
        err = finish(daemon, tmp_path, timeout=120)
    # Losing the commit race to the properties commit is allowed (the batch
    # reloads the log and retries); rebuilding the key index is not: one
    # build at start-up, none after the change.
    builds = [l for l in err.splitlines() if "key index of" in l and " built in " in l]
    assert len(builds) == 1 and "rebuilding" not in err, err[-3000:]
    cps = sorted(int(p.name[:20]) for p in (t / "_delta_log").glob("*.checkpoint.parquet"))
    after = [c for c in cps if c > changed_at + 1]
    assert after and all(c % 4 in (0, 1) for c in after), (changed_at, cps)
    got = cdcgen.read_table(t)
    assert not cdcgen.diff_states(got, cdcgen.expected_state(s.values))


def test_pipeline_file_properties(tmp_path):
    """tables[].properties: a table the daemon creates starts with them; on
    an existing table the daemon sets the ones that differ at start-up (one
    SET TBLPROPERTIES commit, nothing when they already match) and leaves
    the others alone; a bad value stops the run before anything is written."""
    s = cdcgen.Stream(seed=2, n_keys=30)
    s.snapshot(30)
    s.run(100)
    src = s.write(tmp_path / "a.jsonl")
    t = tmp_path / "lake" / "t"

    def pipeline(**props):
        cfg = tmp_path / "p.yaml"
        cfg.write_text("pipeline: p\ntables:\n  - match: '*'\n    path: " + str(t) +
                       "\n    key: [id]\n    properties:\n" +
                       "".join(f"      {k}: \"{v}\"\n" for k, v in props.items()))
        return run_dc(["ingest", "-c", str(cfg), "--source", f"file:{src}", "--once"],
                      timeout=300)

    assert_ok(pipeline(**{"delta.logRetentionDuration": "interval 2 days", "team": "a"}), "1")
    dt = DeltaTable(str(t))
    assert dt.history()[-1]["operation"] == "CREATE TABLE"
    conf = dt.metadata().configuration
    assert conf["delta.logRetentionDuration"] == "interval 2 days" and conf["team"] == "a"
    assert conf["delta.enableDeletionVectors"] == "true"
    assert_ok(run_dc(["properties", str(t), "other=kept"]), "set by hand")
    v = version(t)

    p = pipeline(**{"delta.logRetentionDuration": "interval 2 days", "team": "a"})
    assert_ok(p, "same")
    assert version(t) == v, "nothing to change, nothing committed"

    p = pipeline(**{"delta.logRetentionDuration": "interval 3 days", "team": "a"})
    assert_ok(p, "changed")
    assert "properties changed to those of tables[].properties" in p.stderr.decode()
    assert version(t) == v + 1
    assert DeltaTable(str(t)).history(1)[0]["operation"] == "SET TBLPROPERTIES"
    conf = DeltaTable(str(t)).metadata().configuration
    assert conf["delta.logRetentionDuration"] == "interval 3 days"
    assert conf["other"] == "kept" and conf["team"] == "a"

    for bad, msg in [({"delta.checkpointInterval": "0"}, "delta.checkpointInterval='0'"),
                     ({"delta.appendOnly": "true"}, "changes the table's protocol")]:
        p = pipeline(**bad)
        last = p.stderr.decode().strip().splitlines()[-1]
        assert p.returncode == 1 and "tables[].properties" in last and msg in last, last
        assert version(t) == v + 1
    shutil.rmtree(t)
    p = pipeline(**{"delta.checkpointInterval": "x"})
    assert p.returncode == 1 and "delta.checkpointInterval='x'" in p.stderr.decode()
    assert not (t / "_delta_log").exists(), "no table created"
