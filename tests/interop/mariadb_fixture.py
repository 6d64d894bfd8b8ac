"""A private MariaDB server (Debian's mariadb-server) for the end-to-end tests.

`mariadb-install-db` into a temporary datadir, then `mariadbd` on 127.0.0.1 with
a free port and its own socket, the binary log on in ROW format with FULL row
images (what Debezium needs), server_id set, UTC as the server time zone (so
TIMESTAMP text and Debezium's ZonedTimestamp agree), and no system service
involved. It runs as the current user; as root it needs `--user=root` (mariadbd
refuses root otherwise). A user `debezium` gets the grants Debezium's
MariaDB connector needs for a snapshot and the binlog stream. The server —
its whole process group — is stopped in a finalizer, SIGKILL if it does not
stop in time, and killed at interpreter exit if a run is interrupted.

Use it from a test module::

    from mariadb_fixture import mariadb  # noqa: F401  (the fixture)

    def test_x(mariadb):
        mariadb.execute("CREATE DATABASE mine; CREATE TABLE mine.t (id INT PRIMARY KEY)")
        rows = mariadb.query("SELECT id FROM mine.t")   # [[ "1" ], ...] as text, None for NULL

`mariadb` is session-scoped: tests sharing it use their own databases (the
Debezium workload owns `shop`). `create_user`, `url` and `tcp_query` serve
commands that connect over TCP (`mysql://USER@127.0.0.1:PORT/DB`, password in
MYSQL_PWD). Bulk rows come fastest from MariaDB's sequence engine:
`INSERT INTO db.t SELECT seq, ... FROM db.seq_1_to_1000000` (any database
holds the virtual table seq_FROM_to_TO; 1M narrow rows took 12 s on the
loaded 2-core test machine).
`MariaDB(workdir)` can be used directly (`with MariaDB(d) as db:`).

Where scripts/setup.sh ran (it installs mariadb-server and mariadb-client),
a missing `mariadbd` is a failure, not a skip: set DC_E2E_ALLOW_SKIP=1 to skip
instead on a machine that is not meant to run these tests.
"""
import atexit
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from procgroup import free_port, die_with_parent, kill_group, stop_group

import pytest

START_TIMEOUT_S = 60     # a loaded CI machine; normally ~2 s after install-db
STOP_TIMEOUT_S = 30      # SIGTERM (clean shutdown), then SIGKILL

DEBEZIUM_USER = "debezium"
DEBEZIUM_PASSWORD = "dbz-secret"
# What Debezium's MariaDB connector needs: SELECT and LOCK TABLES/RELOAD for the
# snapshot, SHOW DATABASES to list them, REPLICATION SLAVE to read the binlog,
# BINLOG MONITOR (MariaDB's REPLICATION CLIENT) for SHOW BINLOG STATUS.
DEBEZIUM_GRANTS = ("SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, "
                   "BINLOG MONITOR")

SERVER_ID = 4201


def binaries_missing():
    """The MariaDB programs that are not on PATH (empty when all are)."""
    return [b for b in ("mariadbd", "mariadb-install-db", "mariadb")
            if not shutil.which(b) and not Path("/usr/sbin", b).exists()]


def _which(name):
    return shutil.which(name) or str(Path("/usr/sbin", name))


class MariaDB:
    """One private mariadbd in its own process group."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.datadir = self.workdir / "data"
        self.socket = self.workdir / "mysqld.sock"
        self.port = free_port()
        self.error_log = self.workdir / "error.log"
        self.proc = None
        self.version = None

    # ------------------------------------------------------------ lifecycle

    def _install(self):
        cmd = [_which("mariadb-install-db"), "--no-defaults", f"--datadir={self.datadir}",
               "--auth-root-authentication-method=normal", "--skip-test-db"]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({r.returncode}):\n"
                               f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}")

    def _server_cmd(self):
        cmd = [_which("mariadbd"), "--no-defaults",
               f"--datadir={self.datadir}", f"--socket={self.socket}",
               f"--pid-file={self.workdir / 'mariadbd.pid'}",
               "--bind-address=127.0.0.1", f"--port={self.port}",
               f"--log-error={self.error_log}",
               f"--log-bin={self.datadir / 'binlog'}", "--binlog-format=ROW",
               "--binlog-row-image=FULL", f"--server-id={SERVER_ID}",
               "--default-time-zone=+00:00", "--skip-name-resolve",
               "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
               # a test server: small memory, no fsync per commit
               "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
               "--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0",
               "--performance-schema=OFF"]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        return cmd

    def start(self):
        """Initialises the datadir the first time, starts the server and waits
        until it answers; creates the Debezium user. Returns self."""
        missing = binaries_missing()
        if missing:
            raise RuntimeError(f"MariaDB programs missing: {missing} "
                               "(scripts/setup.sh installs mariadb-server and mariadb-client)")
        if self.proc and self.proc.poll() is None:
            return self
        first = not self.datadir.exists()
        if first:
            self._install()
        out = open(self.workdir / "mariadbd.out", "ab")
        try:
            self.proc = subprocess.Popen(
                self._server_cmd(), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=die_with_parent, cwd=self.workdir)
        finally:
            out.close()
        _LIVE.add(self)
        self._wait_ready()
        if first:
            self.execute(
                f"CREATE USER '{DEBEZIUM_USER}'@'%' IDENTIFIED BY '{DEBEZIUM_PASSWORD}';"
                f"GRANT {DEBEZIUM_GRANTS} ON *.* TO '{DEBEZIUM_USER}'@'%';")
        self.version = self.query("SELECT VERSION()")[0][0]
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            r = subprocess.run(self._client() + ["-e", "SELECT 1"], capture_output=True,
                               timeout=30)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mariadbd not ready after {START_TIMEOUT_S} s:\n" + self.log_tail())

    def stop(self):
        """Stops the server's process group (SIGTERM: a clean shutdown, then
        SIGKILL); keeps the datadir."""
        p, self.proc = self.proc, None
        _LIVE.discard(self)
        stop_group(p, STOP_TIMEOUT_S)

    def kill(self):
        """SIGKILL to the server's process group (a crash)."""
        p, self.proc = self.proc, None
        _LIVE.discard(self)
        kill_group(p, STOP_TIMEOUT_S)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no error log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ SQL

    def _client(self, database=None):
        cmd = [_which("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot",
               "--default-character-set=utf8mb4", "--batch", "--raw", "--skip-column-names"]
        if database:
            cmd.append(f"--database={database}")
        return cmd

    def execute(self, sql, database=None, timeout=120):
        """Runs SQL statements (separated by `;`) as root through the client;
        raises with the server's message on an error."""
        r = subprocess.run(self._client(database), input=sql.encode("utf-8"),
                           capture_output=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"SQL failed: {r.stderr.decode('utf-8', 'replace').strip()}\n"
                               f"in: {sql[:2000]}")
        return r.stdout.decode("utf-8")

    def query(self, sql, database=None):
        """Rows of one SELECT as lists of text values (None for NULL).

        The client's --raw batch output has no escaping, so values must not hold
        tabs or newlines: wrap such columns (HEX(), JSON_OBJECT()) in the query."""
        out = self.execute(sql, database)
        rows = []
        for line in out.split("\n")[:-1]:
            rows.append([None if v == "NULL" else v for v in line.split("\t")])
        return rows

    @property
    def jdbc_host(self):
        return "127.0.0.1"

    def create_user(self, user, password, grants="SELECT", on="*.*"):
        """A user that connects over TCP from 127.0.0.1 (any host: the server
        runs with --skip-name-resolve) with `grants` on `on`."""
        self.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}';"
                     f"GRANT {grants} ON {on} TO '{user}'@'%';")

    def url(self, user, database=""):
        """mysql://USER@127.0.0.1:PORT/DB, the form deltacdc's --db takes
        (the password goes in MYSQL_PWD, never in the URL)."""
        return f"mysql://{user}@127.0.0.1:{self.port}/{database}"

    def tcp_query(self, sql, user, password, database=None):
        """Rows of one SELECT run over TCP as `user` (MYSQL_PWD carries the
        password, as deltacdc's flags-only commands expect)."""
        cmd = [_which("mariadb"), "--no-defaults", "--protocol=TCP", "-h", "127.0.0.1",
               "-P", str(self.port), "-u", user, "--default-character-set=utf8mb4",
               "--batch", "--raw", "--skip-column-names"]
        if database:
            cmd.append(f"--database={database}")
        env = dict(os.environ, MYSQL_PWD=password)
        r = subprocess.run(cmd, input=sql.encode("utf-8"), capture_output=True, env=env,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"SQL over TCP as {user} failed: "
                               f"{r.stderr.decode('utf-8', 'replace').strip()}")
        return [[None if v == "NULL" else v for v in line.split("\t")]
                for line in r.stdout.decode("utf-8").split("\n")[:-1]]


# Servers still running when the interpreter exits (an interrupted run).
_LIVE = set()


@atexit.register
def _kill_leftovers():
    for s in list(_LIVE):
        s.kill()


def require_or_skip(missing_what):
    """A missing component fails the test (setup.sh installs it), unless
    DC_E2E_ALLOW_SKIP=1 says this machine is not meant to run the e2e tests."""
    if os.environ.get("DC_E2E_ALLOW_SKIP") == "1":
        pytest.skip(missing_what)
    pytest.fail(f"{missing_what}: run scripts/setup.sh (or set DC_E2E_ALLOW_SKIP=1 to skip)")


@pytest.fixture(scope="session")
def mariadb():
    """A running private MariaDB server shared by the session (see module doc)."""
    missing = binaries_missing()
    if missing:
        require_or_skip(f"MariaDB programs missing: {', '.join(missing)}")
    work = Path(tempfile.mkdtemp(prefix="dc-mariadb-"))
    server = MariaDB(work)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
