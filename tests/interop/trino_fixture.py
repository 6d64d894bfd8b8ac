"""A private Trino server (the seed's "Presto" successor) with its Delta Lake
connector, to read the tables deltacdc writes.

`trino-server` comes from Maven Central (scripts/setup.sh unpacks it into
.cache/trino, keeping only the delta-lake plugin; DC_TRINO_HOME overrides). It
needs a Java newer than Debian 12's 17 (Trino 476 wants 24+): the Temurin 25
JDK of these machines (/usr/lib/jvm/temurin-25-jdk-amd64; DC_TRINO_JAVA_HOME
overrides). One coordinator on 127.0.0.1 with a free port, a 1 GiB heap, the
catalog `delta` on a file-based metastore (`hive.metastore=file`) in the
fixture's directory, the native local file system for table data, and the
`register_table` procedure on. Started in its own process group and stopped
with tests/interop/procgroup.py; the startup wait is bounded (START_TIMEOUT_S).

Queries go through Trino's REST protocol (POST /v1/statement, then follow
nextUri), so no client jar or PyPI client is needed::

    from trino_fixture import trino  # noqa: F401  (the fixture)

    def test_x(trino):
        trino.register("s", "t", "/abs/path/to/table")
        cols, rows = trino.query("SELECT * FROM delta.s.t")

Where scripts/setup.sh ran, a missing server or Java is a failure, not a skip:
set DC_TRINO_ALLOW_SKIP=1 to skip instead on a machine not meant to run it.
"""
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO
from procgroup import die_with_parent, free_port, kill_group, stop_group

TRINO_VERSION = "476"        # scripts/setup.sh fetches the same (TRINO_VERSION there)
START_TIMEOUT_S = 240        # a loaded 2-core machine; ~30-60 s when idle
STOP_TIMEOUT_S = 30          # SIGTERM (clean shutdown), then SIGKILL
QUERY_TIMEOUT_S = 300        # one statement, all its pages
HEAP = "-Xmx1G"              # the tables here are small; the machine is shared

TRINO_HOME = Path(os.environ.get("DC_TRINO_HOME",
                                 REPO / ".cache" / "trino" / f"trino-server-{TRINO_VERSION}"))
JAVA_HOME = Path(os.environ.get("DC_TRINO_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"))


class TrinoError(RuntimeError):
    """A statement Trino failed, with its error name and message."""


def missing():
    """What is missing to start Trino here (empty when nothing is)."""
    out = []
    if not (TRINO_HOME / "lib").is_dir() or not (TRINO_HOME / "plugin" / "delta-lake").is_dir():
        out.append(f"trino-server with its delta-lake plugin in {TRINO_HOME} "
                   "(run scripts/setup.sh)")
    if not (JAVA_HOME / "bin" / "java").exists():
        out.append(f"a Java 24+ at {JAVA_HOME} (set DC_TRINO_JAVA_HOME)")
    return out


class Trino:
    """One private Trino coordinator (also its only worker)."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.etc = self.workdir / "etc"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    # ------------------------------------------------------------ lifecycle

    def _write_config(self):
        (self.etc / "catalog").mkdir(parents=True, exist_ok=True)
        (self.workdir / "metastore").mkdir(exist_ok=True)
        files = {
            "node.properties": ["node.environment=deltacdc_test",
                                "node.id=deltacdc-test-1",
                                # listen on loopback only
                                "node.bind-ip=127.0.0.1",
                                "node.internal-address=127.0.0.1",
                                f"node.data-dir={self.workdir / 'data'}"],
            "jvm.config": ["-server", HEAP, "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
                           "-Djdk.attach.allowAttachSelf=true", "-Duser.timezone=UTC",
                           "-XX:TieredStopAtLevel=1", "-Xss2M"],
            "config.properties": ["coordinator=true",
                                  "node-scheduler.include-coordinator=true",
                                  f"http-server.http.port={self.port}",
                                  f"discovery.uri={self.url}",
                                  "query.max-memory=512MB",
                                  "query.max-memory-per-node=512MB",
                                  "task.concurrency=2",
                                  "task.max-worker-threads=4",
                                  "catalog.management=static"],
            "log.properties": ["io.trino=WARN", "io.airlift=WARN"],
            "catalog/delta.properties": [
                "connector.name=delta_lake",
                "hive.metastore=file",
                f"hive.metastore.catalog.dir=local://{self.workdir / 'metastore'}",
                "fs.native-local.enabled=true",
                "local.location=/",
                "delta.register-table-procedure.enabled=true",
                "delta.enable-non-concurrent-writes=true"],
        }
        for name, lines in files.items():
            (self.etc / name).write_text("\n".join(lines) + "\n")

    def start(self):
        """Writes the configuration, starts the server and waits (at most
        START_TIMEOUT_S) until it runs queries. Returns self."""
        gone = missing()
        if gone:
            raise RuntimeError("cannot start Trino, missing: " + "; ".join(gone))
        self._write_config()
        env = dict(os.environ, JAVA_HOME=str(JAVA_HOME),
                   PATH=f"{JAVA_HOME / 'bin'}:{os.environ.get('PATH', '')}")
        cmd = [str(TRINO_HOME / "bin" / "launcher"), "run", f"--etc-dir={self.etc}",
               f"--data-dir={self.workdir / 'data'}"]
        out = open(self.workdir / "server.log", "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True, preexec_fn=die_with_parent,
                                         cwd=self.workdir)
        finally:
            out.close()
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Trino exited ({self.proc.returncode}) while starting:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(self.url + "/v1/info", timeout=5) as r:
                    info = json.load(r)
                if not info.get("starting", True):
                    # The coordinator answers before its worker has registered
                    # (scans then fail NO_NODES_AVAILABLE): wait for an active node.
                    _, rows = self.query("SELECT count(*) FROM system.runtime.nodes "
                                         "WHERE state = 'active'")
                    if rows and rows[0][0] >= 1:
                        return
            except (OSError, ValueError, TrinoError) as e:
                last = e
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"Trino not ready within {START_TIMEOUT_S} s ({last}):\n"
                           + self.log_tail())

    def log_tail(self, n=4000):
        p = self.workdir / "server.log"
        return p.read_text(errors="replace")[-n:] if p.exists() else "(no server.log)"

    def stop(self):
        stop_group(self.proc, STOP_TIMEOUT_S)

    def kill(self):
        kill_group(self.proc, STOP_TIMEOUT_S)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ queries

    def _request(self, method, url, body=None):
        req = urllib.request.Request(url, data=body, method=method,
                                     headers={"X-Trino-User": "deltacdc",
                                              "X-Trino-Time-Zone": "UTC",
                                              # timestamps at their own precision,
                                              # not rounded to milliseconds
                                              "X-Trino-Client-Capabilities":
                                                  "PARAMETRIC_DATETIME"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    def query(self, sql):
        """Runs one statement to its end. Returns (columns, rows): columns as
        Trino describes them ({"name", "type", ...}), rows as lists of the JSON
        values of Trino's protocol (numbers, strings for decimals, dates and
        timestamps, base64 for varbinary). Raises TrinoError when it fails."""
        deadline = time.monotonic() + QUERY_TIMEOUT_S
        page = self._request("POST", self.url + "/v1/statement", sql.encode())
        cols, rows = None, []
        while True:
            if "error" in page:
                e = page["error"]
                if e.get("errorName") == "NO_NODES_AVAILABLE" and not rows \
                        and time.monotonic() < deadline:
                    # A node that dropped out of the coordinator's view for a
                    # moment on a loaded machine: the same statement again.
                    time.sleep(1)
                    page = self._request("POST", self.url + "/v1/statement", sql.encode())
                    continue
                raise TrinoError(f"{e.get('errorName')}: {e.get('message')} [in: {sql}]")
            cols = page.get("columns", cols)
            rows.extend(page.get("data", []))
            nxt = page.get("nextUri")
            if not nxt:
                return cols or [], rows
            if time.monotonic() > deadline:
                raise TrinoError(f"still running after {QUERY_TIMEOUT_S} s: {sql}")
            page = self._request("GET", nxt)

    def register(self, schema, name, location):
        """Registers the Delta table at `location` (a local directory) as
        delta.<schema>.<name>, creating the schema first."""
        self.query(f"CREATE SCHEMA IF NOT EXISTS delta.{schema}")
        loc = "local://" + str(Path(location).resolve())
        self.query(f"CALL delta.system.register_table(schema_name => '{schema}', "
                   f"table_name => '{name}', table_location => '{loc}')")


@pytest.fixture(scope="module")
def trino(tmp_path_factory):
    gone = missing()
    if gone:
        msg = "Trino not available: " + "; ".join(gone)
        if os.environ.get("DC_TRINO_ALLOW_SKIP"):
            pytest.skip(msg)
        pytest.fail(msg)
    t = Trino(tmp_path_factory.mktemp("trino"))
    t.start()
    try:
        yield t
    finally:
        t.stop()
