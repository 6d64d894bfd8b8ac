"""`deltacdc check` — the seed's freshness monitor (issue 11) — against a real
Kafka broker (kafka_fixture, loopback): green while the table holds every
partition's latest record, red (exit 1) naming the late partition with its
lag in records and seconds once records wait unmerged past the tolerance,
green again after the daemon caught up; a broker or topic it can not reach
is exit 3 with the reason, not a verdict."""
import json
import subprocess
import time

from cdcgen import envelope
from conftest import DC_BIN

from kafka_fixture import kafka_broker  # noqa: F401  (the session fixture; skips without jars)

TOPIC = "cdc-check-fresh"


def _rec(i):
    row = {"id": i, "first_name": "f", "last_name": "l", "email": "e", "score": i, "note": None}
    return (json.dumps({"id": i}), envelope("c", None, row, 1000 + i))


def _ingest(b, table):
    p = subprocess.run([str(DC_BIN), "ingest", "--source",
                        f"kafka://{b.bootstrap}/{TOPIC}?group=g-check", "--table", str(table),
                        "--key", "id", "--once"], capture_output=True, timeout=180)
    assert p.returncode == 0, p.stderr.decode()[-3000:]


def _check(b, table, *extra, topic=TOPIC, kafka=None):
    p = subprocess.run([str(DC_BIN), "check", "--table", str(table), "--kafka",
                        kafka or b.bootstrap, "--topic", topic, "--json", *extra],
                       capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_freshness_green_red_green(kafka_broker, tmp_path):  # noqa: F811
    b = kafka_broker
    b.create_topic(TOPIC, partitions=2)
    b.produce(TOPIC, [_rec(i) for i in range(0, 10)], partition=0)
    b.produce(TOPIC, [_rec(i) for i in range(10, 16)], partition=1)
    table = tmp_path / "t"
    _ingest(b, table)

    code, out, err = _check(b, table, "--max-lag", "1s")
    assert code == 0, out + err
    r = json.loads(out)
    assert r["ok"] is True and [p["lag_records"] for p in r["partitions"]] == [0, 0]
    assert [p["committed_offset"] for p in r["partitions"]] == [9, 5]
    assert [p["latest_offset"] for p in r["partitions"]] == [9, 5]

    b.produce(TOPIC, [_rec(i) for i in range(100, 105)], partition=1)
    time.sleep(2.5)
    code, out, err = _check(b, table, "--max-lag", "1s")
    assert code == 1, out + err
    r = json.loads(out)
    p0, p1 = r["partitions"]
    assert r["ok"] is False and p0["ok"] is True and p1["ok"] is False
    assert p1["lag_records"] == 5 and p1["committed_offset"] == 5 and p1["latest_offset"] == 10
    assert 2.0 <= p1["lag_seconds"] < 120, p1

    # within either tolerance: 5 records allowed, or a minute of age
    assert _check(b, table, "--max-lag", "1s", "--max-lag-records", "5")[0] == 0
    assert _check(b, table, "--max-lag", "1m")[0] == 0

    # the human table names the late partition
    p = subprocess.run([str(DC_BIN), "check", "--table", str(table), "--kafka", b.bootstrap,
                        "--topic", TOPIC, "--max-lag", "1s"], capture_output=True, timeout=120)
    assert p.returncode == 1 and b"LATE" in p.stdout and b"FAIL" in p.stdout, p.stdout

    _ingest(b, table)
    code, out, err = _check(b, table, "--max-lag", "1s")
    assert code == 0 and json.loads(out)["partitions"][1]["committed_offset"] == 10, out + err


def test_check_errors_are_not_verdicts(kafka_broker, tmp_path):  # noqa: F811
    b = kafka_broker
    code, out, err = _check(b, tmp_path / "none", topic="cdc-check-missing-topic",
                            *("--timeout", "5s"))
    assert code == 3 and "cdc-check-missing-topic" in err, err
    b.create_topic("cdc-check-notable", partitions=1)
    code, out, err = _check(b, tmp_path / "none", topic="cdc-check-notable")
    assert code == 3 and "table " in err and str(tmp_path / "none") in err, err
    code, out, err = _check(b, tmp_path / "none", kafka="127.0.0.1:1", *("--timeout", "2s"))
    assert code == 3 and "kafka" in err, err
    p = subprocess.run([str(DC_BIN), "check", "--table", "x"], capture_output=True, timeout=30)
    assert p.returncode == 2 and b"--kafka" in p.stderr
