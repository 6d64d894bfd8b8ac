#!/usr/bin/env python3
"""bench/soak: continuous ingest with automatic maintenance (issue 5).

A generator writes Debezium record values (MySQL envelope, no schema block)
at a steady rate into `deltacdc ingest --source file:-` (a pipe): first a
snapshot of --initial-keys rows ('r'), then --update-share updates of a
uniformly random live key, the rest inserts of new keys, and --delete-share
of the updates as deletes followed later by re-creates. The daemon commits
every --trigger (1 s) with maintenance.optimize auto. Every --every the
harness prints, for the window since the last line:

  events/s sent, batches committed, batch commit latency p50/p99/max (the
  daemon's "batch ... ms" log lines), the longest gap between two batch
  commits (an OPTIMIZE holds the next batch up), OPTIMIZE runs and their
  duration p50/max, live files and files with a deletion vector, live rows,
  and the log: number of _delta_log files and their bytes.

If the daemon falls behind, the pipe fills and the generator blocks: the
events/s column then shows the rate actually taken in, not the target.

    python3 bench/soak/soak.py [--duration 1h] [--every 5m] [--rate 10000]
        [--initial-keys 100000] [--fast-snapshot] [--trigger 1s] [--dir DIR] [--keep]
        [--set maintenance.optimize_interval=30s ...]
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BATCH_RE = re.compile(r"^(\S+) info\s+ingest\s+batch .*?, (?:merged in )?([0-9.]+) ms, "
                      r"version (-?\d+)")
OPT_RE = re.compile(r"^(\S+) info\s+optimize optimize .*?: version (\d+), (\d+) files .*?-> "
                    r"(\d+) files .*?, (\d+) rows, (\d+) deleted rows purged, ([0-9.]+) ms")


def duration(s):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"'{s}': expected e.g. 500ms, 30s, 10m, 1h")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


# -------------------------------------------------------------- generator

class Generator:
    """Debezium MySQL values for shop.customers keyed by id."""

    def __init__(self, seed, initial_keys, update_share, delete_share):
        self.rnd = random.Random(seed)
        self.ts = 1714557600000
        self.next_id = 0
        self.live = []              # ids, for uniform picks
        self.pos = {}               # id -> index in live
        self.dead = []              # deleted ids, re-created later
        self.initial = initial_keys
        self.update_share = update_share
        self.delete_share = delete_share
        self.sent = 0
        self.last = {}              # id -> n of its newest row image (the expected state):
        #                             for a deleted id, the 'd' row the table keeps (seed
        #                             semantics) with the before image
        self.deleted = set()        # ids whose newest event is a delete

    def _row(self, i):
        n = self.rnd.getrandbits(30)
        self.last[i] = n
        return ('{"id":%d,"first_name":"f%d","last_name":"l%d","email":"u%d@example.com",'
                '"score":%d,"note":"%s"}' % (i, n % 997, n % 1009, n, n % 1000 - 500,
                                            "x" * (n % 40)))

    def _env(self, op, before, after):
        self.ts += 1
        return ('{"before":%s,"after":%s,"source":{"version":"2.5.0.Final","connector":"mysql",'
                '"name":"mysql1","ts_ms":%d,"db":"shop","table":"customers","server_id":1,'
                '"file":"mysql-bin.000003","pos":%d,"row":0},"op":"%s","ts_ms":%d,'
                '"transaction":null}' % (before or "null", after or "null", self.ts - 3,
                                         self.sent, op, self.ts))

    def _add_live(self, i):
        self.pos[i] = len(self.live)
        self.live.append(i)

    def _drop_live(self, i):
        k = self.pos.pop(i)
        last = self.live.pop()
        if last != i:
            self.live[k] = last
            self.pos[last] = k

    def event(self):
        self.sent += 1
        if self.next_id < self.initial:
            i = self.next_id
            self.next_id += 1
            self._add_live(i)
            return self._env("r", None, self._row(i))
        x = self.rnd.random()
        if x < self.update_share and self.live:
            i = self.live[self.rnd.randrange(len(self.live))]
            if self.rnd.random() < self.delete_share:
                self._drop_live(i)
                self.dead.append(i)
                self.deleted.add(i)
                return self._env("d", self._row(i), None)
            return self._env("u", self._row(i), self._row(i))
        if self.dead and self.rnd.random() < 0.5:
            i = self.dead.pop(self.rnd.randrange(len(self.dead)))
        else:
            i = self.next_id
            self.next_id += 1
        self._add_live(i)
        self.deleted.discard(i)
        return self._env("c", None, self._row(i))


def feed(proc, gen, rate, stop, counter, fast_snapshot, sched):
    """Writes `rate` events a second in 20 ms slices until stop is set; the
    initial snapshot as fast as the daemon takes it when fast_snapshot.
    Keeps to the schedule like a Kafka topic would: when the daemon stalls,
    the pipe fills and the generator blocks, then writes the backlog as fast
    as the daemon takes it. sched[0] is the schedule's start (monotonic)."""
    tick = 0.02
    per = max(1, int(rate * tick))
    try:
        while fast_snapshot and gen.next_id < gen.initial and not stop.is_set():
            proc.stdin.write("".join(gen.event() + "\n" for _ in range(1000)).encode())
            counter[0] += 1000
        t_next = time.monotonic()
        sched[0] = t_next
        while not stop.is_set():
            chunk = "".join(gen.event() + "\n" for _ in range(per)).encode()
            proc.stdin.write(chunk)   # blocks when the daemon falls behind
            counter[0] += per
            counter[1] += per
            t_next += tick
            delay = t_next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        proc.stdin.close()
    except BrokenPipeError:
        pass


# ---------------------------------------------------------------- reading

def log_time(stamp):
    """Seconds of a log line's "2026-11-25T14:39:34.040Z" stamp (UTC)."""
    from datetime import datetime, timezone
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


class LogTail:
    """Follows the daemon's log file and collects batch and optimize lines,
    with the times the daemon stamped them (window membership uses the
    harness's clock when the line was read)."""

    def __init__(self, path):
        self.f = open(path, "r", errors="replace")
        self.batches = []   # (read at, ms, stamped at)
        self.opts = []      # (t, ms, files_in, files_out)
        self.opt_stamps = []  # daemon's stamps of the OPTIMIZE commits
        self.errors = []

    def poll(self):
        for line in self.f:
            m = BATCH_RE.match(line)
            if m:
                self.batches.append((time.monotonic(), float(m.group(2)),
                                     log_time(m.group(1))))
                continue
            m = OPT_RE.match(line)
            if m:
                self.opts.append((time.monotonic(), float(m.group(7)), int(m.group(3)),
                                  int(m.group(4))))
                self.opt_stamps.append(log_time(m.group(1)))
                continue
            if " error " in line or " warn " in line:
                self.errors.append(line.rstrip())


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def table_stats(table):
    p = subprocess.run([str(ROOT / "build" / "deltacdc"), "inspect", str(table), "--json"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        return None
    j = json.loads(p.stdout)
    rows = (j.get("numRecords") or 0) - (j.get("numDeletedRows") or 0)
    log = Path(table) / "_delta_log"
    names = [e for e in os.scandir(log) if e.is_file()]
    return {"version": j.get("version"), "files": j.get("numFiles"),
            "dv_files": j.get("numDeletionVectors"), "rows": rows,
            "log_files": len(names), "log_bytes": sum(e.stat().st_size for e in names)}


HEADER = ("  elapsed  events/s  behind  batches  commit_p50  commit_p99  commit_max  gap_max  "
          "optimizes  opt_p50  opt_max  files  dv_files       rows  log_files  log_MiB  rss_MiB")


def rss_mib(pid):
    """Resident memory of the daemon (VmRSS), MiB."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def report(t0, tail, win_start, sent_in_win, win_len, st, behind, rss):
    b = [ms for t, ms, _ in tail.batches if t >= win_start]
    ts = [st for t, _, st in tail.batches if t >= win_start]
    gaps = [y - x for x, y in zip(ts, ts[1:])]
    o = [ms for t, ms, _, _ in tail.opts if t >= win_start]
    print(f"{time.monotonic() - t0:8.0f}s {sent_in_win / win_len:9.0f} {behind:6.1f}s {len(b):8d} "
          f"{pct(b, 50):9.1f}ms {pct(b, 99):9.1f}ms {max(b, default=float('nan')):9.1f}ms "
          f"{max(gaps, default=float('nan')):7.2f}s {len(o):10d} {pct(o, 50):7.0f}ms "
          f"{max(o, default=float('nan')):7.0f}ms "
          + (f"{st['files']:6d} {st['dv_files']:9d} {st['rows'] or 0:10d} {st['log_files']:10d} "
             f"{st['log_bytes'] / 1048576:8.1f}" if st else "   (table not readable)")
          + f" {rss:8.0f}", flush=True)


def gap_summary(tail, trigger_s):
    """Gaps between consecutive batch commits (the daemon's stamps), over the
    run and around each OPTIMIZE commit (the gap that holds its log line),
    against the target trigger + 200 ms (issue 13)."""
    ts = sorted(st for _, _, st in tail.batches)
    gaps = [y - x for x, y in zip(ts, ts[1:])]
    if not gaps:
        print("commit gaps: no batches")
        return
    around = []
    for stamp in tail.opt_stamps:
        for x, y in zip(ts, ts[1:]):
            if x <= stamp <= y:
                around.append(y - x)
                break
    target = trigger_s + 0.2
    worst = max(around, default=float("nan"))
    print(f"commit gaps: p50 {pct(gaps, 50) * 1000:.0f} ms, p99 {pct(gaps, 99) * 1000:.0f} ms, "
          f"max {max(gaps) * 1000:.0f} ms over {len(gaps)} gaps; during OPTIMIZE "
          f"({len(around)} commits) max {worst * 1000:.0f} ms; target trigger + 200 ms = "
          f"{target * 1000:.0f} ms: max/target {max(gaps) / target:.2f}, during OPTIMIZE "
          f"{worst / target:.2f}", flush=True)


def verify(table, gen):
    """The final table, read by delta-rs, against the generator's expected
    state: every id sent, with its newest row image and operation (a deleted
    id keeps a 'd' row with the before image, as the seed's table does)."""
    try:
        import pyarrow as pa
        from deltalake import DeltaTable, QueryBuilder
    except ImportError:
        print("verify: skipped (deltalake not importable; run with .venv/bin/python)")
        return False
    # QueryBuilder applies deletion vectors (to_pyarrow_table refuses them)
    t = pa.table(QueryBuilder().register("t", DeltaTable(str(table)))
                 .execute("select id, operation_type, json_record from t").read_all())
    email = re.compile(r'"email":"([^"]*)"')
    got = {}
    for i, op, rec in zip(t.column("id").to_pylist(), t.column("operation_type").to_pylist(),
                          t.column("json_record").to_pylist()):
        m = email.search(rec or "")
        got[int(i)] = (op == "d", m.group(1) if m else None)
    want = {i: (i in gen.deleted, "u%d@example.com" % n) for i, n in gen.last.items()}
    dup = t.num_rows - len(got)
    missing = sum(1 for i in want if i not in got)
    extra = sum(1 for i in got if i not in want)
    stale = sum(1 for i, e in want.items() if i in got and got[i] != e)
    ok = dup == 0 and missing == 0 and extra == 0 and stale == 0
    print(f"verify (delta-rs): {t.num_rows} rows ({len(gen.deleted)} deleted ids kept as 'd' "
          f"rows), expected {len(want)}; duplicate keys {dup}, "
          f"missing {missing}, extra {extra}, stale values {stale}: "
          f"{'EQUAL' if ok else 'DIFFERENT'}", flush=True)
    return ok


# ------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=duration, default=3600)
    ap.add_argument("--minutes", type=float, help="the run's length in minutes (--duration)")
    ap.add_argument("--every", type=duration, default=300)
    ap.add_argument("--rate", type=int, default=10000, help="events per second")
    ap.add_argument("--initial-keys", type=int, default=100000)
    ap.add_argument("--fast-snapshot", action="store_true",
                    help="send the initial rows as fast as the daemon takes them (a Debezium "
                         "snapshot), then the steady rate")
    ap.add_argument("--update-share", type=float, default=0.9)
    ap.add_argument("--delete-share", type=float, default=0.02,
                    help="share of the updates that are deletes")
    ap.add_argument("--trigger", default="1s")
    ap.add_argument("--mode", default="dv", choices=["dv", "cow"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a maintenance.* setting of the pipeline file")
    ap.add_argument("--dir", help="work directory (default: a fresh temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the table afterwards")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--replay-verify", type=int, metavar="EVENTS",
                    help="no run: regenerate the first EVENTS events (the same --seed, "
                         "--initial-keys, --update-share, --delete-share) and verify the "
                         "table of an earlier run kept in --dir")
    a = ap.parse_args()
    if a.minutes is not None:
        a.duration = a.minutes * 60
    if a.replay_verify is not None:
        if not a.dir:
            ap.error("--replay-verify needs the --dir of the run")
        gen = Generator(a.seed, a.initial_keys, a.update_share, a.delete_share)
        for _ in range(a.replay_verify):
            gen.event()
        return 0 if verify(Path(a.dir) / "t", gen) else 1

    subprocess.run(["make", "-s", "-j2", "-C", str(ROOT), "build/deltacdc"], check=True)
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="deltacdc-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    table, logp, cfg = work / "t", work / "daemon.log", work / "soak.yaml"
    # OPTIMIZE, checkpoints and VACUUM all on (VACUUM at its shortest interval, so
    # that a run of minutes sees it; the table's 7-day retention deletes nothing young)
    settings = {"optimize": "auto", "checkpoint_interval": 10, "vacuum": "auto",
                "vacuum_interval": "1m"}
    for kv in a.set:
        k, _, v = kv.partition("=")
        settings[k.removeprefix("maintenance.")] = v
    cfg.write_text("maintenance:\n" + "".join(f"  {k}: {v}\n" for k, v in settings.items()))
    print(f"soak: {a.rate} events/s ({a.update_share:.0%} updates of uniformly random keys, "
          f"{a.initial_keys} initial rows), trigger {a.trigger}, mode {a.mode}, "
          f"{a.duration:.0f} s, report every {a.every:.0f} s; maintenance {settings}; "
          f"table {table}", flush=True)
    log = open(logp, "wb")
    daemon = subprocess.Popen([str(ROOT / "build" / "deltacdc"), "ingest", "-c", str(cfg),
                               "--source", "file:-", "--table", str(table), "--key", "id",
                               "--mode", a.mode, "--trigger", a.trigger],
                              stdin=subprocess.PIPE, stderr=log)
    gen = Generator(a.seed, a.initial_keys, a.update_share, a.delete_share)
    stop, counter, sched = threading.Event(), [0, 0], [None]
    th = threading.Thread(target=feed, args=(daemon, gen, a.rate, stop, counter, a.fast_snapshot,
                                             sched), daemon=True)
    t0 = time.monotonic()
    th.start()
    tail = LogTail(logp)
    print(HEADER, flush=True)
    win_start, sent0 = t0, 0
    try:
        while time.monotonic() - t0 < a.duration and daemon.poll() is None:
            time.sleep(min(1.0, max(0.0, win_start + a.every - time.monotonic())))
            tail.poll()
            if time.monotonic() - win_start >= a.every:
                now = time.monotonic()
                # seconds of events the schedule has offered and the daemon not yet taken
                behind = ((now - sched[0]) * a.rate - counter[1]) / a.rate if sched[0] else 0.0
                report(t0, tail, win_start, counter[0] - sent0, now - win_start,
                       table_stats(table), behind, rss_mib(daemon.pid))
                win_start, sent0 = now, counter[0]
    finally:
        stop.set()
        th.join(timeout=60)
        # stdin is closed: a few triggers for the daemon to drain the pipe and
        # commit it (file:- keeps following after EOF), then SIGTERM
        time.sleep(5)
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=300)
            except subprocess.TimeoutExpired:
                daemon.kill()
        log.close()
    tail.poll()
    b = [ms for _, ms, _ in tail.batches]
    o = [ms for _, ms, _, _ in tail.opts]
    print(f"total: {counter[0]} events in {time.monotonic() - t0:.0f} s; {len(b)} batches, "
          f"commit p50 {pct(b, 50):.1f} ms p99 {pct(b, 99):.1f} ms; {len(o)} optimizes, "
          f"p50 {pct(o, 50):.0f} ms max {max(o, default=0):.0f} ms; daemon exit "
          f"{daemon.returncode}; warnings/errors {len(tail.errors)}", flush=True)
    for e in tail.errors[:10]:
        print("  " + e[:300])
    gap_summary(tail, duration(a.trigger))
    st = table_stats(table)
    if st:
        print(f"final: version {st['version']}, {st['files']} files ({st['dv_files']} with DVs), "
              f"{st['rows']} rows, log {st['log_files']} files {st['log_bytes'] / 1048576:.1f} "
              f"MiB", flush=True)
    ok = daemon.returncode == 0 and verify(table, gen)
    if not a.keep and not a.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
