"""A real S3-compatible server for the S3 tests: moto's standalone server
(PyPI moto[server], pinned in tests/requirements.txt) on 127.0.0.1.

moto >= 5.1 enforces conditional writes: a PutObject with `If-None-Match: *`
on an existing key answers 412 PreconditionFailed (checked by
test_s3.py::test_server_enforces_conditional_put before anything relies on
it). Started with INITIAL_NO_AUTH_ACTION_COUNT, moto also checks every
request's SigV4 signature against an IAM user's key (made by the first three,
unauthenticated, requests), so curl's signing of our requests (encoded keys,
sorted queries, x-amz-content-sha256) is judged too.
"""
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from procgroup import free_port

import pytest

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# Requests moto serves before it checks signatures: the IAM setup below.
SETUP_REQUESTS = 3


class MotoServer:
    def __init__(self, log_path: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")
        exe = Path(sys.executable).with_name("moto_server")
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_REQUESTS))
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while True:
            try:  # a bare connect: an HTTP request would count as a setup request
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.2)
        self._make_key()

    def _make_key(self):
        """An IAM user allowed everything, and its key: from now on moto
        refuses requests not signed with it (SignatureDoesNotMatch)."""
        import boto3
        iam = boto3.client("iam", endpoint_url=self.endpoint, region_name=REGION,
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="deltacdc")
        k = iam.create_access_key(UserName="deltacdc")["AccessKey"]
        iam.put_user_policy(UserName="deltacdc", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        # The secret no output or log may contain (test_s3.py greps for it).
        self.key_id, self.secret = k["AccessKeyId"], k["SecretAccessKey"]

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
        e.update(AWS_ACCESS_KEY_ID=self.key_id, AWS_SECRET_ACCESS_KEY=self.secret,
                 AWS_REGION=REGION,
                 AWS_ENDPOINT_URL=self.endpoint, HOME=os.environ.get("HOME", "/tmp"))
        e.update(extra)
        return e

    def storage_options(self, endpoint=None):
        """delta-rs (object_store) options for this server."""
        return {"AWS_ENDPOINT_URL": endpoint or self.endpoint, "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": self.key_id, "AWS_SECRET_ACCESS_KEY": self.secret,
                "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)

    def temporary_credentials(self):
        """Key, secret and session token of an assumed role (moto checks all
        three on every request signed with them)."""
        import boto3
        kw = dict(endpoint_url=self.endpoint, region_name=REGION,
                  aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)
        iam = boto3.client("iam", **kw)
        name = f"role-{int(time.time() * 1000)}"
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
        ))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        return boto3.client("sts", **kw).assume_role(RoleArn=arn, RoleSessionName="deltacdc")[
            "Credentials"]

    def make_bucket(self, name):
        self.client().create_bucket(Bucket=name)
        return name


class UnsafeProxy:
    """Forwards to moto (srv), ignoring conditional PUTs as stores without
    enforcement do (strip=True: a PUT moto refuses with 412 is made again
    unconditionally, signed with the server's key, and answered 200), and/or
    losing the reply of the first `lose_reply` PUTs whose path ends with
    `lose_suffix`: the request takes effect at moto, then the connection is
    closed without an answer (a reply lost in the network, the case that
    makes a commit's outcome unknown). Headers pass unchanged: they are
    signed. Every request is recorded in `requests` as (method, path, Range
    header or None)."""

    def __init__(self, srv, *, strip=True, lose_suffix=None, lose_reply=0):
        tp = srv.port
        proxy = self
        self.lost = 0
        self.requests = []

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _fwd(self):
                proxy.requests.append((self.command, self.path, self.headers.get("Range")))
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                hdrs = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                c = http.client.HTTPConnection("127.0.0.1", tp, timeout=30)
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                if strip and self.command == "PUT" and r.status == 412:
                    from urllib.parse import unquote
                    bucket, key = unquote(self.path.split("?")[0]).lstrip("/").split("/", 1)
                    srv.client().put_object(Bucket=bucket, Key=key, Body=body or b"")
                    r.status, data = 200, b""
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


# ------------------------------------------------ one test, both backends

def list_keys(srv, bucket, prefix):
    """Every key under prefix, through continuation tokens."""
    c, out, tok = srv.client(), [], None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if tok:
            kw["ContinuationToken"] = tok
        r = c.list_objects_v2(**kw)
        out += [o["Key"] for o in r.get("Contents", [])]
        if not r.get("IsTruncated"):
            return out
        tok = r["NextContinuationToken"]


class LocalBackend:
    """Tables on the local disk, under the test's tmp_path."""
    name = "local"
    storage_options = None

    def __init__(self, tmp_path):
        self.root = tmp_path

    def table(self, name="t"):
        return str(self.root / name)

    def env(self, **extra):
        e = dict(os.environ)
        e.update(extra)
        return e

    def exists(self, table):
        return (Path(table) / "_delta_log").is_dir()

    def objects(self, table):
        """Relative paths of every file under the table."""
        root = Path(table)
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    def read(self, table, rel):
        return (Path(table) / rel).read_bytes()

    def delete(self, table, rel):
        (Path(table) / rel).unlink()


class S3Backend:
    """Tables in a fresh bucket of the moto server; deltacdc gets the
    standard AWS variables, delta-rs the same server's storage options."""
    name = "s3"

    def __init__(self, srv):
        import uuid
        self.srv = srv
        self.bucket = srv.make_bucket(f"be-{uuid.uuid4().hex[:12]}")
        self.storage_options = srv.storage_options()

    def table(self, name="t"):
        return f"s3://{self.bucket}/{name}"

    def env(self, **extra):
        return self.srv.env(**extra)

    def _prefix(self, table):
        assert table.startswith(f"s3://{self.bucket}/"), table
        return table[len(f"s3://{self.bucket}/"):].rstrip("/") + "/"

    def keys(self, prefix):
        return list_keys(self.srv, self.bucket, prefix)

    def exists(self, table):
        return bool(self.keys(self._prefix(table) + "_delta_log/"))

    def objects(self, table):
        p = self._prefix(table)
        return {k[len(p):] for k in self.keys(p)}

    def read(self, table, rel):
        return self.srv.client().get_object(Bucket=self.bucket,
                                            Key=self._prefix(table) + rel)["Body"].read()

    def delete(self, table, rel):
        self.srv.client().delete_object(Bucket=self.bucket, Key=self._prefix(table) + rel)


def rel_of(table, uri):
    """The table-relative path of a file URI delta-rs gives (file:, a plain
    path or s3://), %-escapes decoded."""
    from urllib.parse import unquote, urlparse
    if uri.startswith("file:"):
        uri = urlparse(uri).path
    root = str(table).rstrip("/") + "/"
    return unquote(uri[len(root):]) if uri.startswith(root) else unquote(uri)


def files_present(backend, table, live_rows):
    """delta-rs reads the table from its backend: every file the latest
    version references must exist there. Returns how many there are.
    live_rows: the rows the table should hold; a table expected to hold some
    must name files (so the check is not vacuous), while a stream that ends
    in a truncate or deletes of every key leaves none, rightly."""
    from deltalake import DeltaTable
    dt = DeltaTable(str(table), storage_options=backend.storage_options)
    uris = dt.file_uris()
    assert uris or live_rows == 0, f"the table has no files but should hold {live_rows} rows"
    have = backend.objects(table)
    for u in uris:
        assert rel_of(table, u) in have, f"version {dt.version()} names a missing file {u}"
    return len(uris)


# Parametrize a test with `@pytest.mark.parametrize("backend", BACKENDS,
# indirect=True)`; SLOW_S3 marks the S3 variant slow (the long crash runs).
BACKENDS = ["local", "s3"]
SLOW_S3 = ["local", pytest.param("s3", marks=pytest.mark.slow)]


@pytest.fixture
def backend(request, tmp_path):
    """Where the test's tables live: the local disk or the moto server
    (started once per module, only when an S3 variant runs)."""
    if getattr(request, "param", "local") == "s3":
        return S3Backend(request.getfixturevalue("s3"))
    return LocalBackend(tmp_path)
