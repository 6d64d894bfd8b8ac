"""Real Debezium (3.5.0.Final, MariaDB connector, embedded engine) for the
end-to-end tests: `DebeziumRunner` runs tests/debezium/DebeziumToJsonl.java
against a `MariaDB` (mariadb_fixture.py) and leaves one JSON-lines file of
record values per topic in its output directory.

The jars come from Maven Central (tests/debezium/pom.xml; scripts/setup.sh
copies them into .cache/debezium-jars); the runner is compiled with javac into
.cache/debezium-classes/<hash of the source>/ the first time it is needed.

Connector settings (CONNECTOR_DEFAULTS) and the converter settings fixed in
the runner are chosen so Debezium does not change data on the way; see the
module doc of test_debezium_e2e.py for the defaults that would.

With `kafka_bootstrap` the runner also produces every record (key and value
through the same converter) to the Kafka topic of the same name.

Usage::

    with DebeziumRunner(mariadb, workdir, databases=["shop"]) as dbz:
        ...  # run a workload
        dbz.wait_for("e2e.shop.t", lambda rec: rec is not None and ...)
    lines = dbz.records("e2e.shop.t")     # parsed values, None for tombstones

Missing jars or java fail loudly (setup.sh installs them) unless
DC_E2E_ALLOW_SKIP=1.
"""
import atexit
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from procgroup import die_with_parent, kill_group, stop_group

from mariadb_fixture import DEBEZIUM_PASSWORD, DEBEZIUM_USER

REPO = Path(__file__).resolve().parents[2]
JARS = Path(os.environ.get("DC_DEBEZIUM_JARS", REPO / ".cache" / "debezium-jars"))
RUNNER_SRC = REPO / "tests" / "debezium" / "DebeziumToJsonl.java"
CLASSES_ROOT = REPO / ".cache" / "debezium-classes"

DEBEZIUM_VERSION = "3.5.0.Final"
TOPIC_PREFIX = "e2e"
STOP_TIMEOUT_S = 40

JVM_OPTS = ["-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dorg.slf4j.simpleLogger.showDateTime=true"]

# The connector's settings beyond connection and storage. The three marked
# "keep data" turn off Debezium defaults that change or drop data.
CONNECTOR_DEFAULTS = {
    "connector.class": "io.debezium.connector.mariadb.MariaDbConnector",
    "topic.prefix": TOPIC_PREFIX,
    "database.server.id": "5401",
    "database.ssl.mode": "disable",
    "snapshot.mode": "initial",
    "include.schema.changes": "true",
    "bigint.unsigned.handling.mode": "precise",   # keep data: else > 2^63 is negative
    "skipped.operations": "none",                 # keep data: else truncates are skipped
    "decimal.handling.mode": "precise",
    "time.precision.mode": "adaptive_time_microseconds",
    "binary.handling.mode": "bytes",
    "tombstones.on.delete": "true",
    "max.batch.size": "512",
    "poll.interval.ms": "50",
    "offset.flush.interval.ms": "0",
    "errors.max.retries": "0",
}


def missing_components():
    """Why Debezium cannot run here ("" when it can)."""
    if not shutil.which("java") or not shutil.which("javac"):
        return "no java/javac on PATH (scripts/setup.sh installs openjdk-17)"
    if not list(JARS.glob("debezium-connector-mariadb-*.jar")):
        return f"no Debezium jars in {JARS} (scripts/setup.sh fetches them)"
    return ""


def compiled_runner():
    """The directory holding DebeziumToJsonl.class, compiled once per source
    version (the directory is named after the source's hash, so worktrees and
    edits never share a stale class)."""
    digest = hashlib.sha256(RUNNER_SRC.read_bytes()).hexdigest()[:16]
    out = CLASSES_ROOT / digest
    if (out / "DebeziumToJsonl.class").exists():
        return out
    tmp = CLASSES_ROOT / f".{digest}.{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["javac", "-d", str(tmp), "-cp", str(JARS / "*"), str(RUNNER_SRC)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"javac {RUNNER_SRC} failed:\n{r.stdout}\n{r.stderr}")
    try:
        tmp.rename(out)
    except OSError:  # another process compiled it first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def read_jsonl(path):
    """Parsed record values of a runner output file (None for `null`)."""
    if not Path(path).exists():
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n"):
                out.append(json.loads(line))
    return out


class DebeziumRunner:
    """One DebeziumToJsonl JVM in its own process group."""

    def __init__(self, db, workdir, databases, tables=None, extra=None, idle_s=0,
                 kafka_bootstrap=None):
        self.db = db
        self.workdir = Path(workdir)
        self.out_dir = self.workdir / "out"
        self.log = self.workdir / "debezium.log"
        self.idle_s = idle_s
        self.proc = None
        props = dict(CONNECTOR_DEFAULTS)
        props.update({
            "name": "deltacdc-e2e",
            "database.hostname": db.jdbc_host,
            "database.port": str(db.port),
            "database.user": DEBEZIUM_USER,
            "database.password": DEBEZIUM_PASSWORD,
            "database.include.list": ",".join(databases),
            "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
            "offset.storage.file.filename": str(self.workdir / "offsets.dat"),
            "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
            "schema.history.internal.file.filename": str(self.workdir / "schema-history.dat"),
        })
        if tables:
            props["table.include.list"] = ",".join(tables)
        if kafka_bootstrap:
            # also produce every record to the Kafka topic of its name (the
            # topics must exist: the test broker does not create them)
            props["sink.kafka.bootstrap.servers"] = kafka_bootstrap
        props.update(extra or {})
        self.props = props

    def topic_file(self, topic):
        """The output file of a topic: table topics are PREFIX.DB.TABLE, the
        schema-change topic is PREFIX."""
        return self.out_dir / f"{topic}.jsonl"

    def records(self, topic):
        return read_jsonl(self.topic_file(topic))

    def start(self):
        why = missing_components()
        if why:
            raise RuntimeError(why)
        classes = compiled_runner()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        pf = self.workdir / "connector.properties"
        pf.write_text("".join(f"{k}={v}\n" for k, v in self.props.items()))
        cmd = (["java"] + JVM_OPTS + ["-cp", f"{JARS}/*:{classes}", "DebeziumToJsonl",
                                      str(pf), str(self.out_dir), str(self.idle_s)])
        log = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=die_with_parent, cwd=self.workdir)
        finally:
            log.close()
        _LIVE.add(self)
        return self

    def wait_for(self, topic, pred, timeout=120):
        """Waits until a record of `topic` satisfies pred(value); returns it.
        Fails with the runner's log when it stops or the time runs out."""
        deadline = time.monotonic() + timeout
        path = self.topic_file(topic)
        while time.monotonic() < deadline:
            for rec in read_jsonl(path):
                if pred(rec):
                    return rec
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"Debezium runner stopped (exit "
                                   f"{self.proc.returncode if self.proc else '?'}) before "
                                   f"{topic} had the record awaited:\n{self.log_tail()}")
            time.sleep(0.2)
        raise RuntimeError(f"Debezium: no awaited record on {topic} after {timeout} s:\n"
                           + self.log_tail())

    def wait_exit(self, timeout=60):
        """Waits for the runner to stop by itself (idle_s without a record);
        returns its exit status (0: clean). Fails with the log on a timeout."""
        p = self.proc
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Debezium runner still running after {timeout} s:\n"
                               + self.log_tail())
        self.proc = None
        _LIVE.discard(self)
        return rc

    def stop(self):
        """SIGTERM (the runner closes the engine and flushes), then SIGKILL.
        Returns the exit status (143 after SIGTERM is a clean stop)."""
        p, self.proc = self.proc, None
        _LIVE.discard(self)
        return stop_group(p, STOP_TIMEOUT_S)

    def kill(self):
        p, self.proc = self.proc, None
        _LIVE.discard(self)
        kill_group(p, STOP_TIMEOUT_S)

    def log_tail(self, n=60):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no runner log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# Runners still alive when the interpreter exits (an interrupted run).
_LIVE = set()


@atexit.register
def _kill_leftovers():
    for r in list(_LIVE):
        r.kill()
