"""One table's error stops that table, not the daemon (on_table_error:
stop_table, the default), with a real Kafka broker: two topics into two
tables, a record that is not JSON in one of them (on_error: fail). The
other table keeps ingesting, records produced after the failure included;
the stopped table's log ends before the batch that held the bad record
(its txn position is below it and its rows are those of the records up to
that position); /healthz answers 503 naming it, /status and /metrics show
its state and error; SIGTERM exits 1 saying a table stopped. A restart with
on_error: dead_letter resumes the stopped table from its own txn position:
both tables then hold exactly the expected rows (delta-rs reads them, DuckDB
computes what they must be), nothing lost and nothing doubled. With
on_table_error: stop_daemon the same bad record stops the daemon."""
import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

from deltalake import DeltaTable

import cdcgen
import kafka_util
from conftest import DC_BIN

from kafka_fixture import kafka_broker  # noqa: F401  (the session fixture; skips without jars)

BAD = "{this is not json"


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _pipeline(tmp_path, bootstrap, tag, extra=""):
    p = tmp_path / "pipeline.yaml"
    p.write_text(f"""pipeline: ts
source:
  kafka:
    bootstrap_servers: "{bootstrap}"
    topics: "{tag}-{{db}}-{{table}}"
    group_id: ts-{tag}
warehouse: {tmp_path / 'lake'}
tables:
  - match: "shop.*"
    key: [id]
trigger:
  interval: 300ms
  min_interval: 50ms
  max_records: 100
http:
  listen: 127.0.0.1:0
  fail_linger: 0s
{extra}""")
    return p


class Daemon:
    def __init__(self, cfg, log):
        self.log_path = log
        self.proc = subprocess.Popen([str(DC_BIN), "ingest", "-c", str(cfg)],
                                     stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
        deadline = time.time() + 30
        while True:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.text())
            if m:
                self.base = f"http://127.0.0.1:{m.group(1)}"
                return
            assert time.time() < deadline and self.proc.poll() is None, self.text()
            time.sleep(0.05)

    def text(self):
        return self.log_path.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def _txn(path, app):
    try:
        return DeltaTable(str(path)).transaction_version(app)
    except Exception:
        return None


def _wait(pred, what, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not pred():
        assert proc.poll() is None, f"the daemon exited while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _streams():
    good = cdcgen.Stream(seed=51, n_keys=40, db="shop", table="good")
    good.run(600)
    bad = cdcgen.Stream(seed=52, n_keys=30, db="shop", table="bad")
    bad.run(500)
    return good.values, bad.values


def test_one_table_stops_the_other_goes_on(tmp_path, kafka_broker):
    bootstrap = kafka_broker.bootstrap
    tag = f"tstop{int(time.time() * 1000) % 10000000}"
    good_t, bad_t = f"{tag}-shop-good", f"{tag}-shop-bad"
    good, bad = _streams()
    bad_off = 250  # the bad record's offset: the 251st record of its topic
    bad_values = bad[:bad_off] + [BAD] + bad[bad_off:]
    good_path, bad_path = tmp_path / "lake" / "shop.db" / "good", tmp_path / "lake" / "shop.db" / "bad"
    kafka_util.produce(bootstrap, good_t, [(0, None, v) for v in good[:300]], create=1)
    # the rest of the bad topic (bad_values[bad_off + 1:]) comes later
    kafka_util.produce(bootstrap, bad_t, [(0, None, v) for v in bad_values[:bad_off + 1]],
                       create=1)

    d = Daemon(_pipeline(tmp_path, bootstrap, tag), tmp_path / "run1.log")
    try:
        _wait(lambda: _get(d.base + "/healthz")[0] == 503, "/healthz 503", d.proc)
        code, body = _get(d.base + "/healthz")
        assert f"failed: {bad_path}: topic {bad_t} partition 0 offset {bad_off}" in body, body
        assert str(good_path) not in body, body
        # The other table goes on, with records produced after the failure.
        kafka_util.produce(bootstrap, good_t, [(0, None, v) for v in good[300:]])
        kafka_util.produce(bootstrap, bad_t, [(0, None, v) for v in bad[bad_off:bad_off + 20]])
        _wait(lambda: _txn(good_path, f"ts/{good_t}/0") == len(good) - 1,
              "the good table to take every record", d.proc)
        assert d.proc.poll() is None
        st = json.loads(_get(d.base + "/status")[1])
        by_path = {t["table"]: t for t in st["tables"]}
        assert st["healthy"] is False
        assert by_path[str(bad_path)]["state"] == "failed"
        assert f"offset {bad_off}" in by_path[str(bad_path)]["error"]
        assert by_path[str(good_path)]["state"] == "running"
        metrics = _get(d.base + "/metrics")[1]
        assert f'deltacdc_table_failed{{table="{bad_path}"}} 1' in metrics
        assert f'deltacdc_table_failed{{table="{good_path}"}} 0' in metrics
        # Paused: the bad table stays where it stopped.
        stopped_at = _txn(bad_path, f"ts/{bad_t}/0")
        time.sleep(2)
        assert _txn(bad_path, f"ts/{bad_t}/0") == stopped_at
    finally:
        rc = d.stop()
    log = d.text()
    assert rc == 1, log[-3000:]
    assert "1 of 2 tables stopped on an error" in log, log[-3000:]
    assert f"topic {bad_t} paused" in log, log[-3000:]

    # The stopped table never committed past what it wrote: below the bad
    # record, and its rows are exactly those of the records up to its position.
    assert stopped_at is not None and stopped_at < bad_off, stopped_at
    got = cdcgen.read_table(bad_path)
    assert not cdcgen.diff_states(got, cdcgen.expected_state(bad_values[:stopped_at + 1],
                                                             first_offset=0))
    assert not cdcgen.diff_states(cdcgen.read_table(good_path),
                                  cdcgen.expected_state(good, first_offset=0))

    # A restart resumes the stopped table from its own position; the bad
    # record goes to the dead-letter table this time.
    kafka_util.produce(bootstrap, bad_t, [(0, None, v) for v in bad[bad_off + 20:]])
    cfg = _pipeline(tmp_path, bootstrap, tag, "on_error: dead_letter\n")
    d = Daemon(cfg, tmp_path / "run2.log")
    try:
        _wait(lambda: _txn(bad_path, f"ts/{bad_t}/0") == len(bad_values) - 1,
              "the bad table to catch up", d.proc)
        assert _get(d.base + "/healthz") == (200, "ok\n")
    finally:
        rc = d.stop()
    assert rc == 0, d.text()[-3000:]
    offsets = [o for o in range(len(bad_values)) if o != bad_off]
    want = cdcgen.expected_state([v for v in bad_values if v != BAD], offsets=offsets)
    assert not cdcgen.diff_states(cdcgen.read_table(bad_path), want)
    assert not cdcgen.diff_states(cdcgen.read_table(good_path),
                                  cdcgen.expected_state(good, first_offset=0))
    dl = DeltaTable(str(tmp_path / "lake" / "_dead_letter" / "ts")).to_pyarrow_table().to_pylist()
    assert [(r["topic"], r["offset"]) for r in dl] == [(bad_t, bad_off)]


def test_stop_daemon_keeps_the_old_behaviour(tmp_path, kafka_broker):
    bootstrap = kafka_broker.bootstrap
    tag = f"tstopd{int(time.time() * 1000) % 10000000}"
    good, bad = _streams()
    kafka_util.produce(bootstrap, f"{tag}-shop-good", [(0, None, v) for v in good], create=1)
    kafka_util.produce(bootstrap, f"{tag}-shop-bad", [(0, None, v) for v in bad[:50] + [BAD]],
                       create=1)
    d = Daemon(_pipeline(tmp_path, bootstrap, tag, "on_table_error: stop_daemon\n"),
               tmp_path / "run.log")
    try:
        rc = d.proc.wait(timeout=120)
    finally:
        d.stop()
    assert rc == 1, d.text()[-3000:]
    assert f"topic {tag}-shop-bad partition 0 offset 50" in d.text()


def test_the_last_table_stopping_ends_the_run(tmp_path, kafka_broker):
    """stop_table with one table: nothing is left to ingest, the daemon exits
    1 by itself with the record's error."""
    bootstrap = kafka_broker.bootstrap
    tag = f"tstopl{int(time.time() * 1000) % 10000000}"
    _, bad = _streams()
    kafka_util.produce(bootstrap, f"{tag}-shop-bad", [(0, None, v) for v in bad[:50] + [BAD]],
                       create=1)
    d = Daemon(_pipeline(tmp_path, bootstrap, tag), tmp_path / "run.log")
    try:
        rc = d.proc.wait(timeout=120)
    finally:
        d.stop()
    assert rc == 1, d.text()[-3000:]
    last = d.text().strip().splitlines()[-1]
    assert last.startswith(f"deltacdc ingest: topic {tag}-shop-bad partition 0 offset 50"), last


def test_once_ends_with_a_stopped_table(tmp_path, kafka_broker):
    """--once does not wait for the paused topic: it ends once the other
    table caught up, with status 1 naming the stopped table."""
    bootstrap = kafka_broker.bootstrap
    tag = f"tstopo{int(time.time() * 1000) % 10000000}"
    good, bad = _streams()
    good_t, bad_t = f"{tag}-shop-good", f"{tag}-shop-bad"
    kafka_util.produce(bootstrap, good_t, [(0, None, v) for v in good], create=1)
    kafka_util.produce(bootstrap, bad_t, [(0, None, v) for v in bad[:80] + [BAD] + bad[80:]],
                       create=1)
    cfg = _pipeline(tmp_path, bootstrap, tag)
    p = subprocess.run([str(DC_BIN), "ingest", "-c", str(cfg), "--once"], capture_output=True,
                       timeout=180)
    err = p.stderr.decode()
    assert p.returncode == 1, err[-3000:]
    last = err.strip().splitlines()[-1]
    bad_path = tmp_path / "lake" / "shop.db" / "bad"
    assert last.startswith("deltacdc ingest: 1 of 2 tables stopped on an error"), last
    assert f"table {bad_path}: topic {bad_t} partition 0 offset 80" in last, last
    good_path = tmp_path / "lake" / "shop.db" / "good"
    assert _txn(good_path, f"ts/{good_t}/0") == len(good) - 1
    assert not cdcgen.diff_states(cdcgen.read_table(good_path),
                                  cdcgen.expected_state(good, first_offset=0))
    assert (_txn(bad_path, f"ts/{bad_t}/0") or -1) < 80
