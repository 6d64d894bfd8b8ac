"""Failover: three `deltacdc ingest` processes in one consumer group share
the tables of a pipeline (six per-table topics of one partition on the
project's real Kafka broker, KRaft) while events flow; one process is killed
with SIGKILL, then another, and the survivors take the dead ones' tables
over. The final tables, read by delta-rs, equal the expected state computed
by DuckDB with the seed's SQL (cdcgen.py): nothing lost, nothing doubled
(read_table refuses a key twice), and each table's txn is its topic's last
offset. Each table has one writer at a time: a topic is assigned to one
member at a time, every assignment resumes after the position its table
holds. The takeover time of each kill (SIGKILL to the last of the dead
member's topics assigned to a survivor, and to the first commit on those
tables by a survivor) is printed."""
import datetime
import re
import signal
import subprocess
import time

import pytest

import cdcgen
import kafka_util
from conftest import DC_BIN
from test_ingest_kafka import Topic, table_path, wait_positions

from kafka_fixture import kafka_broker  # noqa: F401  (the session fixture; skips without jars)

SESSION_TIMEOUT_MS = 6000   # the broker's group.min.session.timeout.ms (its default)
N_TOPICS = 6
EVENTS = 900                # per topic
RATE = 15                   # records/s per topic: the stream outlasts both kills
# Detection is the session timeout; the rebalance and opening the tables come
# on top, on a machine shared by many processes.
TAKEOVER_BOUND_S = SESSION_TIMEOUT_MS / 1000 + 20

LINE = re.compile(r"^(\S+Z) +\w+ +(\w+) +(.*)$")


def pipeline_file(tmp_path, bootstrap, tag, interval="500ms", min_interval="50ms"):
    p = tmp_path / "pipeline.yaml"
    p.write_text(f"""pipeline: fo
source:
  kafka:
    bootstrap_servers: "{bootstrap}"
    topics: "{tag}-{{db}}-{{table}}"
    group_id: fo-{tag}
    properties:
      session.timeout.ms: "{SESSION_TIMEOUT_MS}"
      heartbeat.interval.ms: "500"
warehouse: {tmp_path / 'lake'}
tables:
  - match: "shop.*"
    key: [id]
trigger:
  interval: {interval}
  min_interval: {min_interval}
  max_records: 200
""")
    return p


class Member:
    """One deltacdc process of the group and its log."""

    def __init__(self, i, cfg, tmp_path):
        self.i = i
        self.log_path = tmp_path / f"member{i}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(DC_BIN), "ingest", "-c", str(cfg)],
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    def events(self):
        """(wall time, facility, message) of each log line so far."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            m = LINE.match(line)
            if m:
                ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
                out.append((ts.replace(tzinfo=datetime.timezone.utc).timestamp(), m.group(2),
                            m.group(3)))
        return out

    def owned(self):
        """Topics assigned to it now, as its log says."""
        have = set()
        for _, fac, msg in self.events():
            if fac != "kafka":
                continue
            m = re.match(r"assigned (\S+) \[0\]", msg)
            if m:
                have.add(m.group(1))
            m = re.match(r"(?:revoked|lost) (\S+) \[0\]", msg)
            if m:
                have.discard(m.group(1))
        return have

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout} s")
        time.sleep(0.1)


def check_one_owner(members):
    """No topic is owned by two live members at once (their logs)."""
    seen = {}
    for m in members:
        if m.alive():
            for t in m.owned():
                assert t not in seen, f"{t} assigned to members {seen[t]} and {m.i}"
                seen[t] = m.i
    return seen


def first_after(members, t0, fac, pattern, names):
    """Wall times, after t0, of log lines of `fac` whose first group is in names."""
    out = []
    for m in members:
        for ts, f, msg in m.events():
            hit = re.match(pattern, msg)
            if ts >= t0 and f == fac and hit and hit.group(1) in names:
                out.append(ts)
    return out


def kill_and_time(victim, survivors, topics_by_name, tmp_path):
    """SIGKILLs victim; waits until survivors own all its topics and commit
    to one of its tables; returns (all assigned, first commit) in seconds
    from the kill, and the topics."""
    theirs = victim.owned()
    assert theirs, f"member {victim.i} owns no topic to take over"
    paths = {str(table_path(tmp_path, topics_by_name[t])) for t in theirs}
    t_kill = time.time()
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait()
    wait_for(lambda: theirs <= set().union(*(s.owned() for s in survivors)),
             TAKEOVER_BOUND_S + 30, f"takeover of {sorted(theirs)}")
    wait_for(lambda: first_after(survivors, t_kill, "ingest", r"batch (\S+): ", paths), 60,
             "a commit on the taken-over tables")
    assigned = first_after(survivors, t_kill, "kafka", r"assigned (\S+) \[0\]", theirs)
    committed = first_after(survivors, t_kill, "ingest", r"batch (\S+): ", paths)
    return max(assigned) - t_kill, min(committed) - t_kill, sorted(theirs)


def test_three_members_two_killed(tmp_path, kafka_broker):
    broker = kafka_broker
    tag = f"fo{int(time.time() * 1000) % 10000000}"
    topics = []
    for i in range(N_TOPICS):
        s = cdcgen.Stream(seed=50 + i, n_keys=40, db="shop", table=f"t{i}")
        s.snapshot(20)
        s.run(EVENTS - 20)
        topics.append(Topic(f"{tag}-shop-t{i}", s, 1, ("id",)))
    by_name = {t.name: t for t in topics}
    # A first part before the members start, the rest flowing meanwhile.
    for t in topics:
        kafka_util.produce(broker.bootstrap, t.name, t.records(EVENTS // 10), create=1)
    cfg = pipeline_file(tmp_path, broker.bootstrap, tag)
    members = []
    producers = []
    try:
        producers = [kafka_util.produce_async(broker.bootstrap, t.name,
                                              t.records(len(t.stream.values)), rate=RATE)
                     for t in topics]
        # One member at a time, each joining once the group is balanced: a
        # join moves topics away from their owners (cooperative-sticky
        # balances 6 over the members), which commit their batches in hand.
        for i in range(3):
            members.append(Member(i, cfg, tmp_path))
            wait_for(lambda: sorted(len(m.owned()) for m in members) ==
                     [N_TOPICS // len(members)] * len(members), 90,
                     f"a balanced group of {len(members)}")
            check_one_owner(members)
        time.sleep(3)
        figures = []
        for _ in range(2):
            live = [m for m in members if m.alive()]
            victim = max(live, key=lambda m: (len(m.owned()), m.i))
            survivors = [m for m in live if m is not victim]
            assigned_s, commit_s, theirs = kill_and_time(victim, survivors, by_name, tmp_path)
            print(f"\nfailover: SIGKILL of member {victim.i} (topics {', '.join(theirs)}): "
                  f"assigned to survivors after {assigned_s:.2f} s, first commit after "
                  f"{commit_s:.2f} s (session.timeout.ms {SESSION_TIMEOUT_MS})")
            figures.append((assigned_s, commit_s))
            check_one_owner(members)
            time.sleep(2)
        for p in producers:  # their stdin is closed by produce_async's feeder
            assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]
        last = [m for m in members if m.alive()]
        assert len(last) == 1
        assert last[0].owned() == set(by_name), "the last member holds every table"
        wait_positions(tmp_path, topics, "fo", timeout=180)
        last[0].proc.send_signal(signal.SIGTERM)
        last[0].proc.wait(timeout=60)
        assert last[0].proc.returncode == 0, last[0].log_path.read_text()[-3000:]
    finally:
        for p in producers:
            if p.poll() is None:
                p.kill()
        for m in members:
            m.close()
    from deltalake import DeltaTable
    for t in topics:
        path = table_path(tmp_path, t)
        got = cdcgen.read_table(path, t.key_cols)
        d = cdcgen.diff_states(got, t.expected())
        assert not d, f"{t.name} -> {path}: {d}"
        assert DeltaTable(str(path)).transaction_version(f"fo/{t.name}/0") == \
            len(t.stream.values) - 1
    for assigned_s, commit_s in figures:
        assert assigned_s <= TAKEOVER_BOUND_S, figures
    first = members[0].log_path.read_text()
    # The joins took 4 of member 0's 6 topics away (one rebalance each), and
    # it closed the tables it had opened for them.
    assert len(re.findall(r"kafka +revoked \S+ \[0\]", first)) >= 4, first[-3000:]
    assert "closed (its partition" in first, first[-3000:]
    # each revoked table's key index was persisted for its next owner to
    # load, at the last version this member committed to it (or later)
    lines = first.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"table (\S+): closed \(its partition", line)
        if not m:
            continue
        mine = [l for l in lines[:i] if f" {m[1]}: " in l]
        committed = [int(v) for l in mine for v in re.findall(r"batch \S+: .*, version (\d+)$", l)]
        persisted = [int(v) for l in mine for v in re.findall(r"keys persisted at version (\d+)", l)]
        if committed:  # a table opened and revoked before its first batch has nothing new
            assert persisted and max(persisted) >= max(committed), (line, mine[-5:])
    # A survivor is not meant to lose its own assignment when another dies;
    # librdkafka < 2.10 did so on a group commit in flight (issue #4059).
    lost = sum(m.log_path.read_text().count("partitions lost") for m in members)
    print(f"failover: {lost} assignments lost by survivors (expected 0)")


def test_stalled_member_loses_its_tables(tmp_path, kafka_broker):
    """A member stopped (SIGSTOP) beyond the session timeout while events
    flow: the other member takes its tables over; when it wakes up its
    assignment is lost and it abandons its batches in hand (a commit it makes
    before noticing conflicts on the txn the new owner moved, and its replay
    skips what the table holds); then the group balances again. The final
    tables equal the expected state."""
    broker = kafka_broker
    tag = f"fs{int(time.time() * 1000) % 10000000}"
    n_topics = 4
    topics = []
    for i in range(n_topics):
        s = cdcgen.Stream(seed=70 + i, n_keys=40, db="shop", table=f"t{i}")
        s.run(600)
        topics.append(Topic(f"{tag}-shop-t{i}", s, 1, ("id",)))
    for t in topics:
        kafka_util.produce(broker.bootstrap, t.name, t.records(60), create=1)
    # Batches of 3 s: the stalled member holds one when it is stopped.
    cfg = pipeline_file(tmp_path, broker.bootstrap, tag, interval="3s", min_interval="3s")
    members, producers = [], []
    try:
        producers = [kafka_util.produce_async(broker.bootstrap, t.name,
                                              t.records(len(t.stream.values)), rate=RATE)
                     for t in topics]
        for i in range(2):
            members.append(Member(i, cfg, tmp_path))
            wait_for(lambda: sorted(len(m.owned()) for m in members) ==
                     [n_topics // len(members)] * len(members), 90,
                     f"a balanced group of {len(members)}")
        stalled, other = members[1], members[0]
        theirs = stalled.owned()
        wait_for(lambda: "records in" in stalled.log_path.read_text(), 60,
                 "a commit by the member to stall")
        time.sleep(1)
        t_stop = time.time()
        stalled.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: first_after([other], t_stop, "kafka", r"assigned (\S+) \[0\]",
                                         theirs) and theirs <= other.owned(),
                     TAKEOVER_BOUND_S + 30, "the takeover of the stalled member's tables")
            took = max(first_after([other], t_stop, "kafka", r"assigned (\S+) \[0\]",
                                   theirs)) - t_stop
            print(f"\nfailover: SIGSTOP of member 1: its topics assigned to member 0 after "
                  f"{took:.2f} s")
            time.sleep(3)  # the new owner commits to them meanwhile
        finally:
            stalled.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: "partitions lost" in stalled.log_path.read_text(), 60,
                 "the stalled member noticing its lost assignment")
        # Woken, it either notices first and abandons its batch in hand, or
        # its trigger fires first and the batch commits with nothing applied:
        # the new owner's txn made every record stale.
        stamp = datetime.datetime.fromtimestamp(t_stop, datetime.timezone.utc)
        stamp = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
        text = "".join(line for line in stalled.log_path.read_text().splitlines(True)
                       if line[:23] >= stamp)
        assert ("abandoning the batch in hand" in text or
                re.search(r"records in, 0 inserted, 0 updated, 0 deleted, [1-9]\d* stale", text)), \
            text[-3000:]
        for p in producers:  # their stdin is closed by produce_async's feeder
            assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]
        wait_positions(tmp_path, topics, "fo", timeout=180)
        check_one_owner(members)
        for m in members:
            m.proc.send_signal(signal.SIGTERM)
        for m in members:
            m.proc.wait(timeout=60)
            assert m.proc.returncode == 0, m.log_path.read_text()[-3000:]
    finally:
        for p in producers:
            if p.poll() is None:
                p.kill()
        for m in members:
            if m.alive():
                m.proc.send_signal(signal.SIGCONT)
            m.close()
    for t in topics:
        path = table_path(tmp_path, t)
        d = cdcgen.diff_states(cdcgen.read_table(path, t.key_cols), t.expected())
        assert not d, f"{t.name} -> {path}: {d}"
