"""The daemon's HTTP endpoint (issue 11), judged by programs nobody here wrote:
promtool checks /metrics, a real Prometheus scrapes it and answers a query,
headless Chromium renders the status page. Also: /healthz turns 503 when a
table stops on an error, the bearer token is required when set, and a
truncate's removed rows show in the batch line, commitInfo and /metrics.

Everything listens on 127.0.0.1 with ports the kernel picks."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cdcgen import envelope, truncate
from conftest import DC_BIN, REPO

LOGS = REPO / "build" / "test-logs"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token=None, timeout=10):
    """(status, body text) of a GET."""
    req = urllib.request.Request(url)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _row(i, ts):
    return {"id": i, "first_name": f"f{i}", "last_name": "l", "email": f"{i}@x",
            "score": i, "note": None}


class Daemon:
    """`deltacdc ingest` reading a pipe, with HTTP on a kernel-picked port."""

    def __init__(self, tmp_path, *extra, cfg=None, env=None):
        self.table = tmp_path / "t"
        self.log_path = tmp_path / "daemon.log"
        self.log = open(self.log_path, "wb")
        args = [str(DC_BIN), "ingest", "--source", "file:-", "--table", str(self.table),
                "--key", "id", "--trigger", "200ms", "--http", "127.0.0.1:0", *extra]
        if cfg:
            args[2:2] = ["-c", str(cfg)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=self.log,
                                     env={**os.environ, **(env or {})})
        self.port = self._port()
        self.base = f"http://127.0.0.1:{self.port}"

    def _port(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.text())
            if m:
                return int(m.group(1))
            assert self.proc.poll() is None, self.text()
            time.sleep(0.05)
        raise AssertionError("no 'listening on' line: " + self.text())

    def text(self):
        return self.log_path.read_text()

    def feed(self, lines):
        self.proc.stdin.write("".join(l + "\n" for l in lines).encode())
        self.proc.stdin.flush()

    def status(self, token=None):
        code, body = _get(self.base + "/status", token)
        assert code == 200, body
        return json.loads(body)

    def wait_records(self, n, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            t = self.status()["tables"]
            if t and t[0]["records_in"] >= n:
                return t[0]
            time.sleep(0.1)
        raise AssertionError(f"{n} records not committed in {timeout}s: {self.status()}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path)
    yield d
    d.close()


def _truncate_stream(d):
    """Batch 1: 873 rows. Batch 2: a truncate, 7 deletes of absent keys (7
    tombstone rows), 2 creates — the issue's 873 removed / 7 deleted case."""
    d.feed([envelope("c", None, _row(i, 1000 + i), 1000 + i) for i in range(1, 874)])
    d.wait_records(873)
    d.feed([truncate(5000)]
           + [envelope("d", _row(i, 0), None, 5001 + i) for i in range(1, 8)]
           + [envelope("c", None, _row(i, 0), 5100 + i) for i in (1000, 1001)])
    return d.wait_records(873 + 10)


def test_truncate_counted_in_batch_line_commitinfo_and_metrics(daemon):
    t = _truncate_stream(daemon)
    assert t["rows_truncated"] == 873 and t["rows_deleted"] == 7 and t["rows_inserted"] == 875
    m = re.search(r"batch \S+: 10 records in, 2 inserted, 0 updated, 7 deleted, 0 stale, "
                  r"truncate removed 873 rows, merged in [0-9.]+ ms, version (\d+)", daemon.text())
    assert m, daemon.text()
    version = int(m.group(1))  # batch 1 may come in two (pipe timing), VACUUM commits too
    assert t["version"] == version and t["rows"] == 9 and t["state"] == "running"
    commit = [json.loads(l) for l in
              (daemon.table / "_delta_log" / f"{version:020d}.json").read_text().splitlines()]
    metrics = next(a["commitInfo"] for a in commit if "commitInfo" in a)["operationMetrics"]
    assert metrics["numTargetRowsTruncated"] == "873", metrics
    assert metrics["numTargetRowsDeleted"] == "7", metrics
    code, text = _get(daemon.base + "/metrics")
    assert code == 200
    table = str(daemon.table)
    assert f'deltacdc_rows_truncated_total{{table="{table}"}} 873\n' in text
    assert f'deltacdc_rows_deleted_total{{table="{table}"}} 7\n' in text
    assert f'deltacdc_table_version{{table="{table}"}} {version}\n' in text
    assert f'deltacdc_table_rows{{table="{table}"}} 9\n' in text


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian prometheus) missing")
def test_promtool_accepts_metrics(daemon):
    _truncate_stream(daemon)
    code, text = _get(daemon.base + "/metrics")
    assert code == 200
    # a label value that needs escaping is in the output too: the file topic's path
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert p.stdout.strip() == b"" and p.stderr.strip() == b"", "promtool lint: " + \
        p.stdout.decode() + p.stderr.decode()


@pytest.mark.skipif(not shutil.which("prometheus"), reason="prometheus (Debian) missing")
def test_prometheus_scrapes_and_answers(daemon, tmp_path):
    _truncate_stream(daemon)
    port = _free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                   "scrape_configs:\n  - job_name: deltacdc\n    static_configs:\n"
                   f"      - targets: ['127.0.0.1:{daemon.port}']\n")
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen(["prometheus", f"--config.file={cfg}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=log)
    try:
        q = urllib.parse.quote('deltacdc_rows_truncated_total{job="deltacdc"}')
        deadline, result = time.time() + 90, []
        while time.time() < deadline and not result:
            time.sleep(1)
            try:
                code, body = _get(f"http://127.0.0.1:{port}/api/v1/query?query={q}", timeout=5)
            except OSError:
                continue  # not listening yet
            if code == 200:
                result = json.loads(body)["data"]["result"]
        assert result, (tmp_path / "prometheus.log").read_text()[-3000:]
        assert result[0]["metric"]["table"] == str(daemon.table)
        assert result[0]["value"][1] == "873"
        code, body = _get(f"http://127.0.0.1:{port}/api/v1/targets")
        health = [t["health"] for t in json.loads(body)["data"]["activeTargets"]]
        assert health == ["up"], body
    finally:
        prom.terminate()
        prom.wait(timeout=30)
        log.close()


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not _chromium(), reason="chromium (Debian) missing")
def test_status_page_in_headless_chromium(daemon, tmp_path):
    _truncate_stream(daemon)
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chrome'}",
            "--window-size=1280,1000"]
    env = {**os.environ, "HOME": str(tmp_path)}
    p = subprocess.run(base + ["--dump-dom", daemon.base + "/"], capture_output=True,
                       timeout=120, env=env)
    dom = p.stdout.decode()
    assert p.returncode == 0 and "</html>" in dom, p.stderr.decode()[-2000:]
    # the rendered DOM: one row per table, one plot per measure
    assert len(re.findall(r'<tr class="table-row">', dom)) == 1, dom
    assert len(re.findall(r"<svg\b", dom)) == 3, dom
    for title in ("Freshness", "Consumer lag", "Throughput"):
        assert f'aria-label="{title}"' in dom
    row = re.search(r'<tr class="table-row">(.*?)</tr>', dom, re.S).group(1)
    assert str(daemon.table) in row and ">running<" in row
    LOGS.mkdir(parents=True, exist_ok=True)
    shot = LOGS / "http_status_page.png"
    if shot.exists():
        shot.unlink()
    p = subprocess.run(base + [f"--screenshot={shot}", daemon.base + "/"],
                       capture_output=True, timeout=120, env=env)
    assert p.returncode == 0 and shot.exists() and shot.stat().st_size > 5000, \
        p.stderr.decode()[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_healthz_503_when_the_table_fails(tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("on_error: fail\nhttp:\n  fail_linger: 4s\n")
    d = Daemon(tmp_path, cfg=cfg)
    try:
        d.feed([envelope("c", None, _row(1, 1), 1)])
        d.wait_records(1)
        assert _get(d.base + "/healthz") == (200, "ok\n")
        t0 = time.time()
        d.feed(['{"payload": {"op": "c", "after": {"id": "no-int"}, "ts_ms": 5}}'])
        deadline, code, body = time.time() + 30, 200, ""
        while time.time() < deadline and code == 200:
            time.sleep(0.1)
            code, body = _get(d.base + "/healthz")
        assert code == 503, body
        assert f"failed: {d.table}: topic file:" in body and "offset 2" in body, body
        st = json.loads(_get(d.base + "/status")[1])
        assert st["healthy"] is False and st["tables"][0]["state"] == "failed"
        assert d.proc.wait(timeout=60) == 1
        assert time.time() - t0 >= 3.5  # it served the failure for http.fail_linger
        assert "serving /healthz (503) for 4000 ms" in d.text()
    finally:
        d.close()


def test_bearer_token_required_and_never_printed(tmp_path):
    token = "tok-3e1f-secret"
    cfg = tmp_path / "p.yaml"
    cfg.write_text("http:\n  token: ${DC_TEST_HTTP_TOKEN}\n")
    d = Daemon(tmp_path, cfg=cfg, env={"DC_TEST_HTTP_TOKEN": token})
    try:
        for path in ("/", "/metrics", "/status", "/healthz"):
            assert _get(d.base + path)[0] == 401
            assert _get(d.base + path, token="wrong")[0] == 401
            assert _get(d.base + path, token=token + "x")[0] == 401
            assert _get(d.base + path, token=token)[0] == 200
        assert "bearer token required" in d.text()
        assert token not in d.text()
    finally:
        d.close()
    p = subprocess.run([str(DC_BIN), "config", "show", "-c", str(cfg)], capture_output=True,
                       env={**os.environ, "DC_TEST_HTTP_TOKEN": token}, timeout=30)
    assert p.returncode == 0 and b'token: "*****"' in p.stdout and token.encode() not in p.stdout


def test_listen_errors_are_clean(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        for addr, want in ((f"127.0.0.1:{busy.getsockname()[1]}", "can not listen"),
                           ("example.org:80", "is not an IPv4 address")):
            p = subprocess.run([str(DC_BIN), "ingest", "--source", "file:-", "--table",
                                str(tmp_path / "t"), "--http", addr], capture_output=True,
                               timeout=30, stdin=subprocess.DEVNULL)
            assert p.returncode == 1 and want.encode() in p.stderr, p.stderr
    finally:
        busy.close()
