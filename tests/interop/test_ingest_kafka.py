"""`deltacdc ingest` from a real Apache Kafka broker (KRaft, single node,
started by the kafka_fixture on loopback): Debezium records produced to
per-table topics — one with two partitions keyed by the row key, one with a
truncate, one with a composite key — are ingested by the daemon (a pipeline
file: topic pattern cdc-{db}-{table}, per-table keys) into three tables; the
broker is restarted in the middle of the stream; the final tables, read by
delta-rs, equal the expected state computed by DuckDB with the seed's SQL
(cdcgen.py), in both modes, and each table's txn positions are the last
offsets. SIGTERM finishes and commits the batch in hand."""
import json
import signal
import subprocess
import time
import zlib

import pytest
from deltalake import DeltaTable

import cdcgen
import kafka_util
from conftest import DC_BIN

from kafka_fixture import kafka_broker  # noqa: F401  (the session fixture; skips without jars)


class Topic:
    """One table's stream and where its records went (partition, offset)."""

    def __init__(self, name, stream, partitions, key_cols, truncate_at=None):
        self.name, self.stream, self.partitions, self.key_cols = name, stream, partitions, key_cols
        self.truncate_at = truncate_at
        self.placed = []  # (partition, offset, value) in production order
        self.next_off = [0] * partitions
        self.sent = 0

    def records(self, upto):
        """(partition, key, value) of values [sent, upto); keyed partitioning."""
        vals = self.stream.values[self.sent:upto]
        keys = cdcgen.record_keys(self.stream.values, self.key_cols)[self.sent:upto]
        out = []
        for v, k in zip(vals, keys):
            p = zlib.crc32(k.encode()) % self.partitions if k else 0
            out.append((p, k, v))
            self.placed.append((p, self.next_off[p], v))
            self.next_off[p] += 1
        self.sent = upto
        return out

    def expected(self):
        return cdcgen.expected_state([v for _, _, v in self.placed], self.key_cols,
                                     offsets=[o for _, o, _ in self.placed])

    def positions(self, pipeline):
        return {f"{pipeline}/{self.name}/{p}": n - 1 for p, n in enumerate(self.next_off) if n}


def make_topics(seed, tag):
    rnd_seed = seed * 7
    c = cdcgen.Stream(seed=rnd_seed, n_keys=60, db="shop", table="customers")
    c.snapshot(40)
    c.run(600)
    o = cdcgen.Stream(seed=rnd_seed + 1, n_keys=40, db="shop", table="orders")
    o.run(250)
    o.truncate()
    o.run(300)
    a = cdcgen.Stream(seed=rnd_seed + 2, n_keys=30, composite=True, db="crm", table="accounts")
    a.run(400)
    return [Topic(f"{tag}-shop-customers", c, 2, ("id",)),
            Topic(f"{tag}-shop-orders", o, 1, ("id",)),
            Topic(f"{tag}-crm-accounts", a, 1, ("tenant", "id"))]


def table_path(tmp_path, topic):
    _, db, table = topic.name.split("-", 2)
    return tmp_path / "lake" / f"{db}.db" / table


def wait_positions(tmp_path, topics, pipeline, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        behind = []
        for t in topics:
            path = table_path(tmp_path, t)
            try:
                dt = DeltaTable(str(path))
            except Exception:
                behind.append(t.name)
                continue
            for app, want in t.positions(pipeline).items():
                if (dt.transaction_version(app) or -1) < want:
                    behind.append(app)
        if not behind:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"tables not caught up after {timeout}s: {behind}")
        time.sleep(0.5)


def pipeline_file(tmp_path, bootstrap, mode, tag, **extra):
    p = tmp_path / "pipeline.yaml"
    trigger = extra.get("interval", "500ms")
    min_interval = extra.get("min_interval", "50ms")
    p.write_text(f"""pipeline: kt-{mode}
source:
  kafka:
    bootstrap_servers: "{bootstrap}"
    topics: "{tag}-{{db}}-{{table}}"
    group_id: kt-{tag}
warehouse: {tmp_path / 'lake'}
tables:
  - match: "crm.*"
    mode: {mode}
    key: [tenant, id]
  - match: "shop.*"
    mode: {mode}
    # no key: taken from the Kafka record key
trigger:
  interval: {trigger}
  min_interval: {min_interval}
  max_records: 300
""")
    return p


def start(cfg, *extra):
    return subprocess.Popen([str(DC_BIN), "ingest", "-c", str(cfg), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_topics_into_tables_with_broker_restart(tmp_path, kafka_broker, mode):
    broker = kafka_broker
    # Topics "cdc<unique>-<db>-<table>": the pattern sees only this test's.
    tag = f"cdc{mode}{int(time.time() * 1000) % 10000000}"
    topics = make_topics(seed=3 if mode == "dv" else 4, tag=tag)
    for t in topics:
        kafka_util.produce(broker.bootstrap, t.name, t.records(len(t.stream.values) // 2),
                           create=t.partitions)
    cfg = pipeline_file(tmp_path, broker.bootstrap, mode, tag)
    proc = start(cfg)
    try:
        wait_positions(tmp_path, topics, f"kt-{mode}")
        # Second half: part before the restart, the rest after it.
        for t in topics:
            kafka_util.produce(broker.bootstrap, t.name,
                               t.records(len(t.stream.values) * 3 // 4))
        broker.restart()
        for t in topics:
            kafka_util.produce(broker.bootstrap, t.name, t.records(len(t.stream.values)))
        wait_positions(tmp_path, topics, f"kt-{mode}")
        assert proc.poll() is None, "the daemon must ride out the broker restart"
    finally:
        rc, err = stop(proc)
    assert rc == 0, err[-3000:]
    for t in topics:
        path = table_path(tmp_path, t)
        got = cdcgen.read_table(path, t.key_cols)
        d = cdcgen.diff_states(got, t.expected())
        assert not d, f"{t.name} -> {path}: {d}"
    assert err.count("batch ") >= 3, "one log line per batch"


def test_sigterm_commits_batch_in_hand(tmp_path, kafka_broker):
    broker = kafka_broker
    tag = f"cdcterm{int(time.time() * 1000) % 10000000}"
    s = cdcgen.Stream(seed=21, n_keys=50, db="shop", table="items")
    s.run(500)
    t = Topic(f"{tag}-shop-items", s, 1, ("id",))
    kafka_util.produce(broker.bootstrap, t.name, t.records(len(s.values)), create=1)
    cfg = pipeline_file(tmp_path, broker.bootstrap, "dv", tag, interval="1h", min_interval="1h")
    cfg.write_text(cfg.read_text().replace("max_records: 300", "max_records: 100000"))
    proc = start(cfg)
    path = table_path(tmp_path, t)
    # Wait until the records are read: the table is created on the first one,
    # but nothing is committed before the 1 h trigger.
    deadline = time.monotonic() + 60
    while not (path / "_delta_log" / "00000000000000000000.json").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "never started"
        time.sleep(0.2)
    time.sleep(2)
    assert not (path / "_delta_log" / "00000000000000000001.json").exists()
    rc, err = stop(proc)
    assert rc == 0, err[-3000:]
    d = cdcgen.diff_states(cdcgen.read_table(path), t.expected())
    assert not d, d
    assert DeltaTable(str(path)).transaction_version(f"kt-dv/{t.name}/0") == len(s.values) - 1
