"""`deltacdc check` — the seed's freshness monitor (issue 11) — against a real
Kafka broker (kafka_fixture, loopback): green while the table holds every
partition's latest record, red (exit 1) naming the late partition with its
lag in records and seconds once records wait unmerged past the tolerance,
green again after the daemon caught up; a broker or topic it can not reach
is exit 3 with the reason, not a verdict. Inside the daemon the same check
runs on a schedule (monitors:), logs, counts and POSTs late partitions to a
webhook; one that hangs past its timeout holds up no batch."""
import datetime
import http.server
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request

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

    # -c: the pipeline's topics (a list, or the broker's topics its pattern matches) against
    # the tables the daemon writes them to, with the monitors' tolerances
    for topics in (f"[{TOPIC}]", "cdc-chec{db}-fresh"):
        cfg = tmp_path / "p.yaml"
        cfg.write_text(f"source:\n  kafka:\n    bootstrap_servers: {b.bootstrap}\n"
                       f"    topics: {topics!r}\n" if "{" in topics else
                       f"source:\n  kafka:\n    bootstrap_servers: {b.bootstrap}\n"
                       f"    topics: {topics}\n")
        cfg.write_text(cfg.read_text() + f"tables:\n  - match: '*'\n    path: {table}\n"
                       "monitors:\n  max_lag: 1s\n")
        p = subprocess.run([str(DC_BIN), "check", "-c", str(cfg), "--json"],
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
        lines = p.stdout.decode().splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["topic"] == TOPIC, lines
        assert json.loads(lines[0])["max_lag_seconds"] == 1.0
    b.produce(TOPIC, [_rec(200)], partition=0)
    time.sleep(1.5)
    p = subprocess.run([str(DC_BIN), "check", "-c", str(cfg)], capture_output=True, timeout=120)
    assert p.returncode == 1 and b"LATE" in p.stdout, p.stdout + p.stderr


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


class _Hook(http.server.BaseHTTPRequestHandler):
    """A webhook that hangs past the daemon's timeout on every first attempt
    of an alert (then answers the retry), recording what it got."""
    got = []
    hang_s = 2.5

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.got.append((time.time(), body))
        if len(_Hook.got) % 2 == 1:
            time.sleep(_Hook.hang_s)  # the client has given up by now
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_daemon_monitor_alerts_without_slowing_batches(kafka_broker, tmp_path):  # noqa: F811
    b = kafka_broker
    topic = "cdc-check-daemon"
    b.create_topic(topic, partitions=1)
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    cfg = tmp_path / "p.yaml"
    # batches every 3 s (min_interval too: no commit as soon as caught up), so
    # records wait up to 3 s unmerged: late beyond 1 s
    cfg.write_text(f"source:\n  kafka:\n    bootstrap_servers: {b.bootstrap}\n"
                   f"    topics: [{topic}]\n    group_id: g-mon\n"
                   f"tables:\n  - match: '*'\n    path: {tmp_path / 't'}\n    key: [id]\n"
                   "trigger:\n  interval: 3s\n  min_interval: 3s\n"
                   "monitors:\n  interval: 1s\n  max_lag: 1s\n"
                   f"  webhook: http://127.0.0.1:{hook.server_port}/alert\n"
                   "  webhook_timeout: 1s\n  webhook_retries: 2\n")
    log = open(tmp_path / "daemon.log", "wb")
    d = subprocess.Popen([str(DC_BIN), "ingest", "-c", str(cfg), "--http", "127.0.0.1:0"],
                         stderr=log)
    stop = threading.Event()

    def produce():
        p, i = b.producer(), 0
        while not stop.is_set():
            k, v = _rec(1000 + i)
            p.produce(topic, key=k, value=v)
            p.poll(0)
            i += 1
            time.sleep(0.05)
        p.flush(10)

    th = threading.Thread(target=produce)
    th.start()
    try:
        deadline = time.time() + 90
        # four alert POSTs and five batches (a recovery POST, when a round finds
        # the partition fresh again, shifts which POSTs hang: alerts alone
        # could come before the batches' rhythm is seen)
        while time.time() < deadline and (
                sum(b'"event":"alert"' in g[1] for g in _Hook.got) < 4 or
                (tmp_path / "daemon.log").read_text().count(" info  ingest  batch ") < 5):
            time.sleep(0.2)
    finally:
        stop.set()
        th.join()
        # caught up again: the red partition's monitor POSTs a recovery
        deadline = time.time() + 30
        while time.time() < deadline and not any(b'"event":"recovery"' in g[1]
                                                  for g in _Hook.got):
            time.sleep(0.2)
        text = (tmp_path / "daemon.log").read_text()
        port = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", text)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics",
                                         timeout=10).read().decode() if port else ""
        d.terminate()
        d.wait(timeout=60)
        log.close()
        hook.shutdown()
    text = (tmp_path / "daemon.log").read_text()
    assert len(_Hook.got) >= 4, text[-3000:]
    alert = json.loads(_Hook.got[0][1])
    assert alert["monitor"] == "freshness" and alert["ok"] is False and alert["topic"] == topic
    assert alert["partitions"][0]["lag_records"] > 0 and alert["partitions"][0]["lag_seconds"] > 1
    assert "freshness: " in text and "is late:" in text and "webhook: attempt 1 of 3" in text
    assert alert["event"] == "alert"
    rec = [json.loads(g[1]) for g in _Hook.got if b'"event":"recovery"' in g[1]]
    assert rec and rec[0]["ok"] is True and rec[0]["topic"] == topic, _Hook.got
    assert "is fresh again" in text
    assert re.search(r'deltacdc_monitor_alerts_total\{table="[^"]+"\} [1-9]', metrics), metrics
    assert re.search(r'deltacdc_monitor_freshness_ok\{table="[^"]+",topic="cdc-check-daemon",'
                     r'partition="0"\} [01]', metrics), metrics
    # the daemon's own consumer lag, from the watermark of its last fetch
    assert re.search(r'deltacdc_consumer_lag_records\{table="[^"]+",topic="cdc-check-daemon",'
                     r'partition="0"\} \d+', metrics), metrics
    if shutil.which("promtool"):  # the monitor and lag families pass the linter too
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics.encode(),
                           capture_output=True, timeout=60)
        assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr
    # the hanging webhook held up no batch: batches kept their 3 s rhythm meanwhile
    stamps = [datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
              for m in re.finditer(r"^(\S+) info  ingest  batch ", text, re.M)]
    assert len(stamps) >= 4, text[-3000:]
    gaps = [y - x for x, y in zip(stamps, stamps[1:])]
    assert max(gaps) < 4.5, gaps
