"""The Kafka source against a real Apache Kafka broker (KRaft, from Maven
Central jars: kafka_fixture.py).

The C side is driven through `deltacdc source-dump`, a test/dev command that
prints each record a source yields as one JSON line; the broker and the
records it holds are set up and judged with confluent-kafka (its own
librdkafka build, not ours) and the broker's own answers (watermarks,
committed group offsets).
"""
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import DC_BIN, run_dc
from kafka_fixture import SASL_USERS, kafka_broker  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(300)


def dump(uri, *args, timeout=120):
    """Runs source-dump; returns (records, CompletedProcess)."""
    r = run_dc(["source-dump", uri, *args], timeout=timeout)
    out = r.stdout.decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()], r


def dump_ok(uri, *args, timeout=120):
    recs, r = dump(uri, *args, timeout=timeout)
    assert r.returncode == 0, r.stderr.decode()
    return recs


def positions(recs):
    return sorted((r["partition"], r["offset"]) for r in recs)


def test_fixture_produces_and_source_reads_everything(kafka_broker):
    b = kafka_broker
    b.create_topic("t-basic", partitions=2)
    acks = b.produce("t-basic", [("k1", '{"a":1}'), ("k2", '{"a":2}'), ("k1", None)], partition=0)
    acks += b.produce("t-basic", ['{"b":1}', '{"b":2}'], partition=1)
    assert acks == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert b.end_offsets("t-basic") == {0: 3, 1: 2}

    recs = dump_ok(f"kafka://{b.bootstrap}/t-basic?group=g-basic&start=earliest", "--once")
    assert positions(recs) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    by_pos = {(r["partition"], r["offset"]): r for r in recs}
    assert by_pos[(0, 0)]["key"] == "k1" and by_pos[(0, 0)]["value"] == '{"a":1}'
    assert by_pos[(0, 2)]["key"] == "k1" and by_pos[(0, 2)]["value"] is None  # tombstone
    assert by_pos[(1, 1)]["key"] is None and by_pos[(1, 1)]["value"] == '{"b":2}'
    assert all(r["topic"] == "t-basic" and r["timestamp_ms"] > 0 for r in recs)
    # within a partition, in offset order
    for p in (0, 1):
        offs = [r["offset"] for r in recs if r["partition"] == p]
        assert offs == sorted(offs)


def test_latest_start_reads_nothing_old(kafka_broker):
    b = kafka_broker
    b.create_topic("t-latest")
    b.produce("t-latest", ['{"old":1}'] * 3)
    recs = dump_ok(f"kafka://{b.bootstrap}/t-latest?group=g-latest&start=latest", "--once")
    assert recs == []


def test_pattern_subscription(kafka_broker):
    b = kafka_broker
    for t in ("cdc-shop-orders", "cdc-shop-order-lines", "cdc-shop", "other-shop-orders"):
        b.create_topic(t)
        b.produce(t, [f'{{"t":"{t}"}}'])
    recs = dump_ok(f"kafka://{b.bootstrap}/cdc-{{db}}-{{table}}?group=g-pattern", "--once")
    assert sorted(r["topic"] for r in recs) == ["cdc-shop-order-lines", "cdc-shop-orders"]


def test_resume_offsets_from_the_table(kafka_broker):
    b = kafka_broker
    b.create_topic("t-resume", partitions=2)
    b.produce("t-resume", [f'{{"i":{i}}}' for i in range(10)], partition=0)
    b.produce("t-resume", [f'{{"j":{i}}}' for i in range(4)], partition=1)
    # the group's committed offsets must not matter: commit everything first
    dump_ok(f"kafka://{b.bootstrap}/t-resume?group=g-resume", "--once", "--commit")
    assert b.committed("g-resume", "t-resume", 0) == 10
    recs = dump_ok(f"kafka://{b.bootstrap}/t-resume?group=g-resume", "--once",
                   "--resume", "t-resume:0=7", "--resume", "t-resume:1=0")
    assert positions(recs) == [(0, 7), (0, 8), (0, 9), (1, 0), (1, 1), (1, 2), (1, 3)]


def test_committed_group_offsets(kafka_broker):
    b = kafka_broker
    b.create_topic("t-commit", partitions=2)
    b.produce("t-commit", ["x"] * 5, partition=0)
    b.produce("t-commit", ["y"] * 2, partition=1)
    dump_ok(f"kafka://{b.bootstrap}/t-commit?group=g-commit", "--once", "--commit")
    # Kafka's committed offset is the next to read: last included + 1
    assert b.committed("g-commit", "t-commit", 0) == 5
    assert b.committed("g-commit", "t-commit", 1) == 2


def test_data_loss_fails_by_default_and_goes_on_when_told(kafka_broker):
    from confluent_kafka import TopicPartition
    b = kafka_broker
    b.create_topic("t-loss")
    b.produce("t-loss", [f'{{"i":{i}}}' for i in range(10)])
    # retention took offsets 0..5: the log now starts at 6
    fut = b.admin().delete_records([TopicPartition("t-loss", 0, 6)])
    for f in fut.values():
        f.result(30)
    uri = f"kafka://{b.bootstrap}/t-loss?group=g-loss"
    recs, r = dump(uri, "--once", "--resume", "t-loss:0=2")
    err = r.stderr.decode()
    assert r.returncode == 1
    assert "topic t-loss partition 0" in err and "offset 2" in err, err
    assert "fail_on_data_loss" in err
    recs = dump_ok(uri, "--once", "--resume", "t-loss:0=2", "--no-fail-on-data-loss")
    assert positions(recs) == [(0, i) for i in range(6, 10)]
    # a resume offset past the end (topic recreated) is out of range too
    recs, r = dump(uri, "--once", "--resume", "t-loss:0=50")
    assert r.returncode == 1 and "offset 50" in r.stderr.decode()


def test_sasl_plain_through_pass_through_properties(kafka_broker):
    b = kafka_broker
    b.create_topic("t-sasl")
    b.produce("t-sasl", ['{"s":1}', '{"s":2}'])
    props = []
    for k, v in b.sasl_properties("ingest").items():
        props += ["--prop", f"{k}={v}"]
    recs = dump_ok(f"kafka://{b.sasl_bootstrap}/t-sasl?group=g-sasl", "--once", *props,
                   "--log-level", "debug")
    assert [r["value"] for r in recs] == ['{"s":1}', '{"s":2}']

    # a wrong password is an error, not an endless retry, and no password is printed
    bad = [p.replace(SASL_USERS["ingest"], "not-the-password") for p in props]
    recs, r = dump(f"kafka://{b.sasl_bootstrap}/t-sasl?group=g-sasl", "--once", *bad,
                   "--log-level", "debug", timeout=60)
    err = r.stderr.decode()
    assert r.returncode == 1 and "authentication failed" in err, err
    assert "not-the-password" not in err
    assert "sasl.password=*****" in err


def _reader(proc, sink):
    for line in proc.stdout:
        if line.strip():
            sink.append(json.loads(line))


def test_broker_restart_mid_stream_loses_nothing(kafka_broker):
    """A consumer keeps running while the broker is killed and restarted
    between two bursts: it reconnects by itself and gets every record exactly
    once. Then a second consumer resumes from the positions the first one
    reached (as the table would tell it) and gets exactly the rest."""
    b = kafka_broker
    b.create_topic("t-restart", partitions=3)
    first = [(f"k{i}", f'{{"i":{i}}}') for i in range(300)]
    b.produce("t-restart", first)

    live = subprocess.Popen([str(DC_BIN), "source-dump",
                             f"kafka://{b.bootstrap}/t-restart?group=g-restart",
                             "--timeout-ms", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got = []
    t = threading.Thread(target=_reader, args=(live, got), daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 60
        while len(got) < 300 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(got) == 300
        b.restart(hard=True, down_s=1.0)  # SIGKILL: a crash, not a clean stop
        second = [(f"k{i}", f'{{"i":{i}}}') for i in range(300, 600)]
        b.produce("t-restart", second)
        deadline = time.monotonic() + 90
        while len(got) < 600 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        live.terminate()
        try:
            live.wait(timeout=30)
        except subprocess.TimeoutExpired:
            live.kill()
            live.wait()
        t.join(timeout=10)
    assert live.returncode == 0, live.stderr.read()
    assert len(got) == 600
    assert sorted(json.loads(r["value"])["i"] for r in got) == list(range(600))
    assert len({(r["partition"], r["offset"]) for r in got}) == 600  # none twice

    # resume: a fresh consumer told "the table has everything up to these"
    # positions minus the last 10 of each partition gets exactly those 10
    last = {}
    for r in got:
        last[r["partition"]] = max(last.get(r["partition"], -1), r["offset"])
    resume = []
    for p, off in last.items():
        resume += ["--resume", f"t-restart:{p}={off - 9}"]
    b.produce("t-restart", [("k-late", '{"i":600}')], partition=0)
    recs = dump_ok(f"kafka://{b.bootstrap}/t-restart?group=g-restart-2", "--once", *resume)
    want = sorted([(p, o) for p, off in last.items() for o in range(off - 9, off + 1)]
                  + [(0, last[0] + 1)])
    assert positions(recs) == want


def test_once_stops_while_producers_go_on(kafka_broker):
    """--once stops at the high watermark seen when it caught up, even while a
    producer keeps writing."""
    b = kafka_broker
    b.create_topic("t-busy")
    b.produce("t-busy", ["x"] * 100)
    stop = threading.Event()

    def keep_producing():
        p = b.producer()
        while not stop.is_set():
            p.produce("t-busy", value="y")
            p.poll(0)
            time.sleep(0.005)
        p.flush(10)

    th = threading.Thread(target=keep_producing, daemon=True)
    th.start()
    try:
        recs = dump_ok(f"kafka://{b.bootstrap}/t-busy?group=g-busy", "--once", timeout=60)
    finally:
        stop.set()
        th.join(timeout=20)
    assert len(recs) >= 100
    assert positions(recs) == [(0, i) for i in range(len(recs))]


def test_broker_restart_standalone(tmp_path):
    """A private broker: starts within the time budget, keeps topics and
    records over a clean restart, and leaves no process behind."""
    from kafka_fixture import KafkaBroker, jars_available
    ok, why = jars_available()
    if not ok:
        pytest.skip(why)
    t0 = time.monotonic()
    with KafkaBroker(tmp_path / "k", sasl=False) as b:
        started = time.monotonic() - t0
        b.create_topic("t-private")
        b.produce("t-private", ["a", "b"])
        pids = [b.proc.pid]
        b.restart()
        pids.append(b.proc.pid)
        assert b.end_offsets("t-private") == {0: 2}
        recs = dump_ok(f"kafka://{b.bootstrap}/t-private?group=g", "--once")
        assert [r["value"] for r in recs] == ["a", "b"]
    assert started < 30, f"broker took {started:.1f} s to start"
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
