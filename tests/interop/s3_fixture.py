"""A real S3-compatible server for the S3 tests: moto's standalone server
(PyPI moto[server], pinned in tests/requirements.txt) on 127.0.0.1.

moto >= 5.1 enforces conditional writes: a PutObject with `If-None-Match: *`
on an existing key answers 412 PreconditionFailed (checked by
test_s3.py::test_server_enforces_conditional_put before anything relies on
it). It does not check SigV4 signatures, so the signing itself is judged by
the requests being well-formed enough for botocore-compatible parsing.

`UnsafeProxy` is a store that does NOT enforce conditional writes, as older
S3-compatible stores behave: a reverse proxy in front of moto that drops the
If-None-Match header of every request.
"""
import http.client
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEY_ID = "AKIDDELTACDCTEST"
# A secret no output or log may contain (test_s3.py greps for it).
SECRET = "s3cr3t-Delta-CDC-do-not-print-9f2e"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    def __init__(self, log_path: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")
        exe = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/moto-api/")
                c.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def env(self, **extra):
        """Environment for deltacdc: the standard AWS variables only."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION=REGION,
                 AWS_ENDPOINT_URL=self.endpoint, HOME=os.environ.get("HOME", "/tmp"))
        e.update(extra)
        return e

    def storage_options(self, endpoint=None):
        """delta-rs (object_store) options for this server."""
        return {"AWS_ENDPOINT_URL": endpoint or self.endpoint, "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
                "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)

    def make_bucket(self, name):
        self.client().create_bucket(Bucket=name)
        return name


class UnsafeProxy:
    """Forwards to moto, dropping If-None-Match / x-oss-forbid-overwrite
    (strip=True), and/or losing the reply of the first `lose_reply` PUTs
    whose path ends with `lose_suffix`: the request takes effect at moto,
    then the connection is closed without an answer (a reply lost in the
    network, the case that makes a commit's outcome unknown)."""

    def __init__(self, target_port: int, *, strip=True, lose_suffix=None, lose_reply=0):
        tp = target_port
        proxy = self
        self.lost = 0

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _fwd(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                drop = ("connection",) + (("if-none-match", "x-oss-forbid-overwrite")
                                          if strip else ())
                hdrs = {k: v for k, v in self.headers.items() if k.lower() not in drop}
                c = http.client.HTTPConnection("127.0.0.1", tp, timeout=30)
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                if (lose_suffix and self.command == "PUT" and proxy.lost < lose_reply
                        and self.path.split("?")[0].endswith(lose_suffix)):
                    proxy.lost += 1
                    self.close_connection = True
                    c.close()
                    return
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                c.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _fwd

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    srv = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield srv
    srv.stop()
