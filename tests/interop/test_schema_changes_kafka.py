"""Renames and in-place drops followed from Debezium's schema-change topic on
the project's real broker (kafka_fixture), issue 9: `tables[].schema_changes_topic`
/ `--schema-changes` given as kafka://HOST:PORT/TOPIC, or as a bare topic
name when the source is Kafka.

The input is the committed capture the file tests use (tests/data/
debezium_mariadb_alltypes.jsonl and its schema-change records; MariaDB's
final state beside them): its data records go to one topic and the
schema-change records to another, and the typed table, read by delta-rs,
must equal MariaDB's final `SELECT *` with the renamed column under its new
name, the dropped one gone, and column mapping on (check_follows_renames,
the file tests' judge).

The ordering that matters: a schema change at source position P applies to
the data records after P only. The records around the RENAME and the DROP
are split over several batches (--max-batch), and in the running-pipeline
test the DDL records reach the topic only after the records before them were
committed, as Debezium writes them.
"""
import json
import signal
import subprocess
import time

import pytest
from deltalake import DeltaTable

import debezium_fixture as dbzf
import e2e_capture
import kafka_util
import mariadb_workload as wl
from conftest import DC_BIN, REPO, assert_crash_free, assert_ok, run_dc, stderr_text
from kafka_fixture import kafka_broker  # noqa: F401  (the session fixture; skips without jars)
from test_debezium_e2e import check_follows_renames, read_records

DATA = REPO / "tests" / "data"
TABLE = "alltypes"
DATA_FILE = DATA / e2e_capture.FILES[f"{dbzf.TOPIC_PREFIX}.{wl.DB}.{TABLE}"]
SC_FILE = DATA / e2e_capture.FILES[dbzf.TOPIC_PREFIX]


def lines(path):
    return [l for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def produce(broker, topic, values, create=None):
    kafka_util.produce(broker.bootstrap, topic,
                       [(0, None, None if v == "null" else v) for v in values], create=create)


def topics(tag):
    return f"{tag}.{wl.DB}.{TABLE}", f"{tag}.schemachanges"


def final_state():
    return json.loads((DATA / e2e_capture.FINAL_STATE).read_text())


@pytest.mark.parametrize("mode,max_batch", [("dv", None), ("dv", 3), ("cow", 5)])
def test_kafka_schema_change_topic_followed(tmp_path, kafka_broker, mode, max_batch):
    """--schema-changes kafka://HOST:PORT/TOPIC: the whole capture in one
    batch and in small batches (the RENAME and the records around it in
    different commits)."""
    data_topic, sc_topic = topics(f"scq{mode}{max_batch or 0}{int(time.time() * 1000) % 10**7}")
    produce(kafka_broker, sc_topic, lines(SC_FILE), create=1)
    produce(kafka_broker, data_topic, lines(DATA_FILE), create=1)
    path = tmp_path / f"{TABLE}_typed"
    args = ["ingest", "--source", f"kafka://{kafka_broker.bootstrap}/{data_topic}?group=g1",
            "--table", path, "--key", "id", "--format", "typed", "--mode", mode, "--once",
            "--schema-changes", f"kafka://{kafka_broker.bootstrap}/{sc_topic}"]
    if max_batch:
        args += ["--max-batch", str(max_batch)]
    proc = run_dc(args, timeout=300, san=True)
    assert_crash_free(proc, "ingest --schema-changes kafka://")
    assert_ok(proc, "ingest --schema-changes kafka://")
    err = stderr_text(proc)
    assert "renamed to remark" in err and "dropped" in err, err[-3000:]
    check_follows_renames(path, TABLE, read_records(DATA_FILE), final_state())
    if max_batch:
        assert DeltaTable(str(path)).version() >= 5, "the stream went in several commits"


def test_running_pipeline_follows_ddl_arriving_mid_stream(tmp_path, kafka_broker):
    """A pipeline file naming the schema-change topic by its bare name (the
    source's broker): the records before the MODIFY/RENAME/DROP are
    committed first, with only the earlier DDL records in the topic; then
    the later DDL records arrive, then the data records after them (Debezium's
    order). The daemon reads the topic on to its high watermark before those
    records go to a batch, so the rename applies to them and not to the
    rows written before."""
    data_topic, sc_topic = topics(f"scrun{int(time.time() * 1000) % 10**7}")
    data, sc = lines(DATA_FILE), lines(SC_FILE)
    produce(kafka_broker, sc_topic, sc[:10], create=1)  # up to the MODIFY
    produce(kafka_broker, data_topic, data[:30], create=1)
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text(f"""pipeline: scrun
source:
  kafka:
    bootstrap_servers: "{kafka_broker.bootstrap}"
    topics: ["{data_topic}"]
warehouse: {tmp_path / 'lake'}
tables:
  - match: "*"
    path: "{{warehouse}}/{{db}}.db/{{table}}_typed"
    format: typed
    key: [id]
    schema_changes_topic: "{sc_topic}"
trigger:
  interval: 300ms
  min_interval: 50ms
""")
    path = tmp_path / "lake" / f"{wl.DB}.db" / f"{TABLE}_typed"
    proc = subprocess.Popen([str(DC_BIN), "ingest", "-c", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                dt = DeltaTable(str(path))
                if dt.transaction_version(f"scrun/{data_topic}/0") == 29:
                    break
            except Exception:  # noqa: BLE001 - not created yet
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            time.sleep(0.2)
        names = [f.name for f in DeltaTable(str(path)).schema().fields]
        assert "note" in names and "remark" not in names, names
        produce(kafka_broker, sc_topic, sc[10:])
        produce(kafka_broker, data_topic, data[30:])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and \
                DeltaTable(str(path)).transaction_version(f"scrun/{data_topic}/0") != \
                len(data) - 1:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        err = err.decode(errors="replace")
    assert proc.returncode == 0, err[-3000:]
    assert "renamed to remark" in err, err[-3000:]
    check_follows_renames(path, TABLE, read_records(DATA_FILE), final_state())


def test_bad_schema_change_record_names_topic_and_offset(tmp_path, kafka_broker):
    """A schema-change record that is not Debezium's JSON stops the run
    naming the topic, partition and offset; nothing is committed."""
    data_topic, sc_topic = topics(f"scbad{int(time.time() * 1000) % 10**7}")
    sc = lines(SC_FILE)
    produce(kafka_broker, sc_topic, sc[:3] + ['{"payload": {"tableChanges": 7'] + sc[3:], create=1)
    produce(kafka_broker, data_topic, lines(DATA_FILE), create=1)
    path = tmp_path / f"{TABLE}_typed"
    proc = run_dc(["ingest", "--source", f"kafka://{kafka_broker.bootstrap}/{data_topic}",
                   "--table", path, "--key", "id", "--format", "typed", "--once",
                   "--schema-changes", f"kafka://{kafka_broker.bootstrap}/{sc_topic}"],
                  timeout=300)
    assert_crash_free(proc, "ingest with a bad schema-change record")
    assert proc.returncode != 0
    err = stderr_text(proc)
    assert f"schema-change topic {sc_topic} [0] offset 3" in err, err[-2000:]
    assert not (path / "_delta_log" / "00000000000000000001.json").exists()


def test_kafka_spec_refused_when_malformed(tmp_path):
    """kafka:// with no topic, or with several, is refused by name."""
    for spec in ("kafka://127.0.0.1:1/", "kafka://127.0.0.1:1/a,b"):
        proc = run_dc(["ingest", "--source", f"file:{DATA_FILE}", "--table",
                       tmp_path / "t", "--key", "id", "--format", "typed", "--once",
                       "--schema-changes", spec], timeout=120)
        assert_crash_free(proc, spec)
        assert proc.returncode != 0
        assert "expected kafka://HOST:PORT[,HOST:PORT]/TOPIC" in stderr_text(proc), \
            stderr_text(proc)[-2000:]
