"""Issue 11's overhead target, with the monitors really running: the daemon
with HTTP and both monitors on stays within 5% of its events/s without them.
Called by `bench/ingest_file --compare-monitors`.

The freshness monitor needs a Kafka source, so the stream (the same records
as the file benchmark) is produced once to a topic of a broker started for
the run (bench_kafka.py), and each run is `deltacdc ingest -c PIPELINE --once`
from it into a fresh dv table, pinned to core 0 with all its threads (the
monitors' and the HTTP server's too, so their CPU competes with ingest).

without: HTTP off, monitors.freshness off, no completeness monitor.
with:    HTTP on (scraped: /metrics and /status every second, as a busy
         Prometheus and a dashboard would), monitors.interval 1s (the
         minimum; the default is 15 min), the freshness monitor (its own Kafka
         connection: watermarks, the latest record's timestamp), and, when
         mariadbd is installed, a completeness monitor in count mode against a
         private MariaDB (mariadb_fixture.py) holding a table of N/5 rows: a
         consistent snapshot and count(*) at the source, then the table's
         position and its row count (from its log: numRecords less the
         deletion vectors) every second.

With --monitor-idle S each daemon runs S seconds instead of --once (then
SIGTERM): after the ingest it idles while the monitors keep checking the
full table, so the difference in CPU between with and without over about S
monitor rounds is their cost per round.

The machine may be shared: runs alternate without/with, --repeat rounds,
and each round's ratio is printed with the spread (min, median, max) and the
ratio of the best run of each kind (least CPU time, least wall clock).
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import resource
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "interop"))

DC = Path(os.environ.get("DC_BIN", REPO / "build" / "deltacdc"))
TOPIC = "bench-shop-customers"
PASSWORD = "bench-Secret-1"


def produce(bootstrap, src: Path):
    import kafka_util
    args = [str(kafka_util.producer_exe()), bootstrap, TOPIC, "--rate", "0", "--create", "1"]
    t0 = time.perf_counter()
    # "PARTITION<TAB>KEY<TAB>VALUE" lines, streamed: the file may be large
    with subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as p, open(src, "rb") as f:
        for line in f:
            v = line.rstrip(b"\n")
            p.stdin.write(b"0\t\\N\t" + (b"\\N" if v == b"null" else v) + b"\n")
        p.stdin.close()
        out, err = p.stdout.read(), p.stderr.read()
        if p.wait() != 0:
            sys.exit(f"kafka_produce failed: {err.decode()[-2000:]}")
    print(f"produced {int(out.split()[-1])} records to {TOPIC} in "
          f"{time.perf_counter() - t0:.1f} s")


def start_mariadb(workdir: Path, rows: int):
    """A private MariaDB with bench.customers of `rows` rows, or None."""
    import mariadb_fixture
    if mariadb_fixture.binaries_missing():
        print("mariadbd not installed: the completeness monitor is left out")
        return None
    db = mariadb_fixture.MariaDB(workdir)
    db.start()
    db.execute("CREATE DATABASE bench; CREATE TABLE bench.customers (id BIGINT PRIMARY KEY, "
               "first_name VARCHAR(40), email VARCHAR(80));"
               f"INSERT INTO bench.customers SELECT seq, concat('f', seq), "
               f"concat(seq, '@x') FROM bench.seq_1_to_{rows}")
    db.create_user("bench", PASSWORD, grants="SELECT, RELOAD, REPLICATION CLIENT")
    return db


def pipeline(path: Path, bootstrap, table: Path, group, max_batch, on: bool, db, a):
    text = f"""pipeline: bench
source:
  kafka:
    bootstrap_servers: "{bootstrap}"
    topics: [{TOPIC}]
    group_id: {group}
warehouse: {table.parent}
tables:
  - match: "*"
    path: {table}
    key: [id]
    mode: dv
trigger:
  interval: 1h
  max_records: {max_batch}
monitors:
  freshness: {'auto' if on and 'freshness' in a.monitors else 'off'}
  interval: {a.monitor_interval}
"""
    if on and db and "completeness" in a.monitors:
        text += f"""  completeness:
    mode: count
    db: {db.url('bench', 'bench')}
    tables:
      customers: {table}
"""
    if on:
        text += "http:\n  listen: 127.0.0.1:0\n"
    path.write_text(text)


class Scraper(threading.Thread):
    """GETs /metrics and /status every second once the daemon says where."""

    def __init__(self, log: Path):
        super().__init__(daemon=True)
        self.log, self.done, self.n = log, threading.Event(), 0
        self.last = ""  # the last /metrics body

    def run(self):
        import re
        base = None
        while not self.done.is_set():
            if base is None and self.log.exists():
                m = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", self.log.read_text())
                base = m.group(1) if m else None
            for p in ("/metrics", "/status") if base else ():
                try:
                    body = urllib.request.urlopen(base + p, timeout=5).read().decode()
                    self.last = body if p == "/metrics" else self.last
                    self.n += 1
                except OSError:
                    pass
            self.done.wait(1.0 if base else 0.05)


def run_once(d: Path, bootstrap, r, on, max_batch, db, a):
    table = d / "lake" / "t"
    shutil.rmtree(table, ignore_errors=True)
    cfg, log = d / "pipeline.yaml", d / f"run{r}{'on' if on else 'off'}.log"
    pipeline(cfg, bootstrap, table, f"bench-{r}-{int(on)}-{time.time_ns()}", max_batch, on, db, a)
    env = dict(os.environ, MYSQL_PWD=PASSWORD)
    scraper = Scraper(log) if on else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "wb") as lf:
        once = [] if a.monitor_idle else ["--once"]
        proc = subprocess.Popen(["taskset", "-c", "0", str(DC), "ingest", "-c", str(cfg),
                                 *once, "--log-level", "info"], stderr=lf, env=env)
        if scraper:
            scraper.start()
        if a.monitor_idle:  # ingests, then idles with the monitors running
            time.sleep(a.monitor_idle)
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if scraper:
        scraper.done.set()
        scraper.join()
    if rc != 0:
        sys.exit(f"deltacdc failed ({rc}): {log.read_text()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    runs = ""
    if scraper:  # the monitors' own counters, as last scraped: they did run
        import re
        got = {m.group(1): m.group(2) for m in re.finditer(
            r"^deltacdc_(monitor_runs_total|monitor_completeness_runs_total)\{[^}]*\} (\S+)$",
            scraper.last, re.M)}
        runs = ", ".join(f"{k} {v}" for k, v in got.items())
    return wall, cpu, (scraper.n if scraper else 0), runs


def spread(xs):
    return f"min {min(xs):.3f}, median {statistics.median(xs):.3f}, max {max(xs):.3f}"



def compare(src: Path, a):
    import bench_kafka
    n = a.records
    with tempfile.TemporaryDirectory(prefix="dc-bench-mon-", dir=a.dir) as d:
        d = Path(d)
        with bench_kafka.broker(a.bootstrap, d / "kafka") as bootstrap:
            produce(bootstrap, src)
            want_db = "completeness" in a.monitors and not a.no_mariadb
            db = start_mariadb(d / "mariadb", max(1, n // 5)) if want_db else None
            print(f"with = HTTP (scraped every second) + {a.monitors} every "
                  f"{a.monitor_interval}" + ("" if db or not want_db else " (no MariaDB)"))
            try:
                res = {False: [], True: []}
                for r in range(a.repeat):
                    for on in (False, True) if r % 2 == 0 else (True, False):
                        wall, cpu, scrapes, runs = run_once(d, bootstrap, r, on, a.max_batch, db, a)
                        res[on].append((wall, cpu))
                        print(f"round {r + 1} {'with' if on else 'without'}: wall {wall:.2f} s "
                              f"({n / wall:,.0f} events/s), cpu {cpu:.2f} s "
                              f"({n / cpu:,.0f} events/s per CPU second)"
                              + (f", {scrapes} HTTP scrapes ({runs})" if on else ""))
                log = (d / f"run{a.repeat - 1}on.log").read_text()
            finally:
                if db:
                    db.stop()
    mon = [l for l in log.splitlines() if " monitor " in l][:6]
    print("monitor lines of the last 'with' run:\n  " + "\n  ".join(mon))
    ratios_wall = [off[0] / on[0] for off, on in zip(res[False], res[True])]
    ratios_cpu = [off[1] / on[1] for off, on in zip(res[False], res[True])]
    print(f"events/s with / without, per round: wall clock {spread(ratios_wall)}; "
          f"per CPU second {spread(ratios_cpu)}")
    bw = min(x[0] for x in res[False]) / min(x[0] for x in res[True])
    bc = min(x[1] for x in res[False]) / min(x[1] for x in res[True])
    print(f"best run of each: wall clock {bw:.3f} ({(bw - 1) * 100:+.1f}%), per CPU second "
          f"{bc:.3f} ({(bc - 1) * 100:+.1f}%) (target: >= 0.95)")
    if a.monitor_idle:
        extra = statistics.mean(x[1] for x in res[True]) - statistics.mean(x[1] for x in res[False])
        print(f"CPU of 'with' beyond 'without' over {a.monitor_idle:.0f} s runs: {extra:+.3f} s "
              f"per run (mean), {extra * 1000 / a.monitor_idle:+.1f} ms per second of monitors")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes "
          f"share core 0, so wall clocks and even CPU times vary run to run)")
