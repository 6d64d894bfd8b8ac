"""Tables on an S3-compatible object store (issue 12): deltacdc writes
s3://bucket/prefix on a real server (moto's, s3_fixture.py) and delta-rs,
reading from the same server, judges the result; maintenance and the read
commands work there; two writers racing lose nothing; a store that ignores
conditional PUTs is refused unless single-writer mode is on; the secret key
never shows in any output or log.
"""
import http.client
import json
import re
import os
import subprocess
import time
import uuid

import pytest
from deltalake import DeltaTable

import cdcgen
from conftest import DC_BIN, REPO, assert_ok
from s3_fixture import UnsafeProxy, list_keys, s3  # noqa: F401 (fixture)

SAMPLE = REPO / "examples" / "debezium" / "sample.jsonl"


def dc(srv, args, *, env=None, timeout=300, endpoint=None):
    e = srv.env(**(env or {}))
    if endpoint:
        e["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run([str(DC_BIN)] + [str(a) for a in args], capture_output=True,
                          timeout=timeout, env=e, stdin=subprocess.DEVNULL)


def no_secret(srv, *outputs):
    for o in outputs:
        text = o if isinstance(o, str) else o.decode("utf-8", "replace")
        assert srv.secret not in text, "the secret key was printed"


def fresh_table(srv):
    b = srv.make_bucket(f"b-{uuid.uuid4().hex[:12]}")
    return b, f"s3://{b}/lake/shop.db/customers"


def sample_values():
    return [None if l.strip() == "null" else l.rstrip("\n")
            for l in SAMPLE.read_text().splitlines()]


def check_state(srv, table, values, key_cols=("id",)):
    want = cdcgen.expected_state(values, key_cols)
    got = cdcgen.read_table(table, key_cols, storage_options=srv.storage_options())
    d = cdcgen.diff_states(got, want)
    assert not d, f"{table}: {d}"
    return got


def keys_of(srv, bucket, prefix):
    return list_keys(srv, bucket, prefix)


# ------------------------------------------------------------- the server

def test_server_enforces_conditional_put(s3):
    """The fixture is only a fair judge if it enforces If-None-Match: *."""
    b = s3.make_bucket("enforce-check")
    c = s3.client()
    c.put_object(Bucket=b, Key="k", Body=b"one", IfNoneMatch="*")
    with pytest.raises(Exception) as ei:
        c.put_object(Bucket=b, Key="k", Body=b"two", IfNoneMatch="*")
    assert "PreconditionFailed" in str(ei.value) or "412" in str(ei.value)
    assert c.get_object(Bucket=b, Key="k")["Body"].read() == b"one"


# ----------------------------------------------------------------- ingest

@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_ingest_sample_read_by_delta_rs(s3, tmp_path, mode):
    _, t = fresh_table(s3)
    p = dc(s3, ["ingest", "--source", f"file:{SAMPLE}", "--table", t, "--key", "id",
                "--mode", mode, "--max-batch", "4", "--once", "--log-level", "debug"])
    assert_ok(p, "ingest to s3")
    no_secret(s3, p.stdout, p.stderr)
    check_state(s3, t, sample_values())
    # Requests are counted in the debug batch line.
    assert "requests: GET" in p.stderr.decode(), p.stderr.decode()[-2000:]
    # deltacdc's own reader over S3 agrees with delta-rs.
    cat = dc(s3, ["cat", t])
    assert_ok(cat, "cat")
    rows = {str(json.loads(l)["id"]) for l in cat.stdout.decode().splitlines()}
    assert {(k,) for k in rows} == set(cdcgen.read_table(t, storage_options=s3.storage_options()))


def test_random_stream_and_resume(s3, tmp_path):
    s = cdcgen.Stream(seed=5, n_keys=60)
    s.snapshot(40)
    s.run(500)
    lines = s.lines()
    half = len(lines) // 2
    src = tmp_path / "s.jsonl"
    src.write_text("".join(l + "\n" for l in lines[:half]))
    _, t = fresh_table(s3)
    assert_ok(dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id",
                      "--max-batch", "60", "--once"]), "first half")
    check_state(s3, t, s.values[:half])
    with open(src, "a") as f:
        f.write("".join(l + "\n" for l in lines[half:]))
    p = dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--max-batch", "60", "--once"])
    assert_ok(p, "second half")
    assert b"resuming at line %d" % (half + 1) in p.stderr
    check_state(s3, t, s.values)


def test_pipeline_file_warehouse_and_secrets(s3, tmp_path):
    """warehouse: s3://..., credentials from the pipeline file through ${ENV};
    config show masks them; no output or log holds the secret."""
    b = s3.make_bucket(f"wh-{uuid.uuid4().hex[:10]}")
    tmp = s3.temporary_credentials()
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"""
pipeline: s3test
source:
  file: {SAMPLE}
warehouse: s3://{b}/wh
tables:
  - match: "*"
    path: "{{warehouse}}/shop.db/customers"
    key: [id]
storage:
  s3:
    endpoint: {s3.endpoint}
    region: us-east-1
    access_key_id: {tmp['AccessKeyId']}
    secret_access_key: ${{MY_S3_SECRET}}
    session_token: ${{MY_S3_TOKEN}}
log_level: trace
""")
    env = {"MY_S3_SECRET": tmp["SecretAccessKey"], "MY_S3_TOKEN": tmp["SessionToken"],
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ENDPOINT_URL": ""}
    show = dc(s3, ["config", "show", "-c", cfg], env=env)
    assert_ok(show, "config show")
    out = show.stdout.decode()
    assert "secret_access_key: \"*****\"" in out and "session_token: \"*****\"" in out, out
    no_secret(s3, show.stdout, show.stderr)
    p = dc(s3, ["ingest", "-c", cfg, "--once"], env=env)
    assert_ok(p, "ingest with a pipeline file")
    no_secret(s3, p.stdout, p.stderr)
    for t_secret in (tmp["SecretAccessKey"], tmp["SessionToken"]):
        assert t_secret.encode() not in p.stdout + p.stderr + show.stdout + show.stderr
    log = tmp_path.parent / "moto0" / "moto.log"
    t = f"s3://{b}/wh/shop.db/customers"
    check_state(s3, t, sample_values())
    del log
    # A wrong secret: the server refuses the signature; the error says so and
    # names the table, and prints neither the wrong nor the right secret.
    env_bad = dict(env, MY_S3_SECRET="wrong-" + tmp["SecretAccessKey"])
    p = dc(s3, ["ingest", "-c", cfg, "--once"], env=env_bad, timeout=120)
    assert p.returncode != 0
    no_secret(s3, p.stdout, p.stderr)
    assert tmp["SecretAccessKey"].encode() not in p.stdout + p.stderr
    assert b"SignatureDoesNotMatch" in p.stderr and f"s3://{b}/wh".encode() in p.stderr


# ------------------------------------------------------------ maintenance

def test_checkpoint_optimize_vacuum_history(s3, tmp_path):
    s = cdcgen.Stream(seed=9, n_keys=50)
    s.snapshot(50)
    s.run(400)
    src = s.write(tmp_path / "s.jsonl")
    b, t = fresh_table(s3)
    assert_ok(dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id",
                      "--max-batch", "40", "--once"]), "ingest")
    check_state(s3, t, s.values)
    assert_ok(dc(s3, ["checkpoint", t]), "checkpoint")
    prefix = "lake/shop.db/customers/"
    assert any(k.endswith(".checkpoint.parquet") for k in keys_of(s3, b, prefix + "_delta_log/"))
    n_before = len(DeltaTable(t, storage_options=s3.storage_options()).file_uris())
    opt = dc(s3, ["optimize", t, "--min-file-size", "1MiB"])
    assert_ok(opt, "optimize")
    dt = DeltaTable(t, storage_options=s3.storage_options())
    assert len(dt.file_uris()) < n_before
    check_state(s3, t, s.values)
    # The retention check holds on S3 too.
    v = dc(s3, ["vacuum", t, "--retain", "0h"])
    assert v.returncode != 0 and b"retention" in v.stderr
    data_before = [k for k in keys_of(s3, b, prefix) if k.endswith(".parquet")
                   and "/_delta_log/" not in k]
    v = dc(s3, ["vacuum", t, "--retain", "0h", "--force"])
    assert_ok(v, "vacuum")
    data_after = [k for k in keys_of(s3, b, prefix) if k.endswith(".parquet")
                  and "/_delta_log/" not in k]
    live = {u.rsplit("/", 1)[1] for u in
            DeltaTable(t, storage_options=s3.storage_options()).file_uris()}
    assert len(data_after) < len(data_before)
    assert {k.rsplit("/", 1)[1] for k in data_after} == live, "exactly the live files remain"
    check_state(s3, t, s.values)
    hist = dc(s3, ["history", t])
    assert_ok(hist, "history")
    ops = hist.stdout.decode()
    for op in ("OPTIMIZE", "VACUUM END", "MERGE", "CREATE TABLE"):
        assert op in ops, ops
    insp = dc(s3, ["inspect", t])
    assert_ok(insp, "inspect")
    assert b"version" in insp.stdout
    # No probe object left behind.
    assert not [k for k in keys_of(s3, b, prefix) if "_deltacdc_probe" in k]


# ------------------------------------------------------ racing writers

def _inserts(path, ids, ts0):
    with open(path, "w") as f:
        for i, k in enumerate(ids):
            row = {"id": k, "first_name": f"n{k}", "last_name": "x", "email": f"{k}@e",
                   "score": k % 100, "note": None}
            f.write(cdcgen.envelope("c", None, row, ts0 + i) + "\n")


@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_two_writers_race_lose_nothing(s3, tmp_path, mode):
    """Two deltacdc processes commit small batches into one table at once:
    conflicts are resolved by the conditional PUT; every row lands once."""
    _, t = fresh_table(s3)
    seed = tmp_path / "seed.jsonl"
    _inserts(seed, [0], 1714557600000)
    assert_ok(dc(s3, ["ingest", "--source", f"file:{seed}", "--table", t, "--key", "id",
                      "--mode", mode, "--once"]), "create")
    srcs = []
    for w in range(2):
        p = tmp_path / f"w{w}.jsonl"
        _inserts(p, range(1 + w * 1000, 1 + w * 1000 + 300), 1714557700000 + w * 10000)
        srcs.append(p)
    procs = [subprocess.Popen([str(DC_BIN), "ingest", "--source", f"file:{p}", "--table", t,
                               "--key", "id", "--mode", mode, "--max-batch", "10", "--once"],
                              env=s3.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for p in srcs]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (o, e) in zip(procs, outs):
        assert p.returncode == 0, e.decode()[-3000:]
    got = cdcgen.read_table(t, storage_options=s3.storage_options())
    want = {(str(k),) for k in [0] + list(range(1, 301)) + list(range(1001, 1301))}
    assert set(got) == want
    conflicts = sum(e.count(b"conflict") for _, e in outs)
    print(f"conflicts seen: {conflicts}")


def test_delta_rs_and_deltacdc_race(s3, tmp_path):
    """delta-rs appends while deltacdc merges: both sets of rows survive."""
    import pyarrow as pa
    from deltalake import write_deltalake
    _, t = fresh_table(s3)
    src = tmp_path / "s.jsonl"
    _inserts(src, range(1, 201), 1714557600000)
    seed = tmp_path / "seed.jsonl"
    _inserts(seed, [0], 1714557500000)
    assert_ok(dc(s3, ["ingest", "--source", f"file:{seed}", "--table", t, "--key", "id",
                      "--once"]), "create")
    proc = subprocess.Popen([str(DC_BIN), "ingest", "--source", f"file:{src}", "--table", t,
                             "--key", "id", "--max-batch", "10", "--once"], env=s3.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    schema = DeltaTable(t, storage_options=s3.storage_options()).schema().to_arrow()
    so = s3.storage_options()
    so.pop("AWS_S3_ALLOW_UNSAFE_RENAME")
    so["conditional_put"] = "etag"
    for i in range(10):
        k = 5000 + i
        rec = {"id": k, "first_name": "rs", "last_name": "rs", "email": "rs", "score": 1,
               "note": None}
        batch = pa.table({"id": pa.array([k], pa.int64()),
                          "ts_ms": pa.array([1714557900000], pa.int64()),
                          "json_record": pa.array([json.dumps(rec)]),
                          "operation_type": pa.array(["c"]),
                          "offset": pa.array([i], pa.int64())})
        batch = batch.select([f.name for f in schema]).cast(pa.schema(schema))
        for attempt in range(20):
            try:
                write_deltalake(t, batch, mode="append", storage_options=so)
                break
            except Exception as ex:  # a lost race: delta-rs reports a commit conflict
                if "onflict" not in str(ex) and "exists" not in str(ex):
                    raise
                time.sleep(0.05)
    o, e = proc.communicate(timeout=600)
    assert proc.returncode == 0, e.decode()[-3000:]
    got = cdcgen.read_table(t, storage_options=s3.storage_options())
    want = {(str(k),) for k in [0] + list(range(1, 201)) + list(range(5000, 5010))}
    assert set(got) == want


# ------------------------------------------- stores without enforcement

def test_store_without_conditional_put_is_refused(s3, tmp_path):
    proxy = UnsafeProxy(s3)
    try:
        b = s3.make_bucket(f"unsafe-{uuid.uuid4().hex[:8]}")
        t = f"s3://{b}/t"
        p = dc(s3, ["ingest", "--source", f"file:{SAMPLE}", "--table", t, "--key", "id",
                    "--once"], endpoint=proxy.endpoint)
        assert p.returncode != 0
        err = p.stderr.decode()
        assert "does not enforce conditional PUTs" in err and "allow_unsafe_single_writer" in err
        assert not [k for k in keys_of(s3, b, "t/") if "_delta_log/" in k], "nothing committed"
        # Opted in: single-writer mode writes (and says so).
        p = dc(s3, ["ingest", "--source", f"file:{SAMPLE}", "--table", t, "--key", "id",
                    "--once"], endpoint=proxy.endpoint, env={"AWS_S3_ALLOW_UNSAFE_RENAME": "true"})
        assert_ok(p, "single-writer mode")
        assert b"single-writer mode" in p.stderr
        check_state(s3, t, sample_values())
        assert not [k for k in keys_of(s3, b, "t/") if "_deltacdc_probe" in k]
    finally:
        proxy.stop()


def test_errors_name_the_location(s3, tmp_path):
    p = dc(s3, ["cat", "s3://no-such-bucket-here/t"])
    assert p.returncode != 0
    assert b"no-such-bucket-here" in p.stderr
    p = dc(s3, ["inspect", "s3://BadBucket/t"])
    assert p.returncode != 0 and b"bucket" in p.stderr
    # Nothing listening: a network error, retried then reported, fast.
    t0 = time.time()
    p = dc(s3, ["cat", "s3://some-bucket/t"], endpoint="http://127.0.0.1:1",
           env={"AWS_MAX_ATTEMPTS": "2"})
    assert p.returncode != 0 and b"s3://some-bucket" in p.stderr, p.stderr
    assert b"after 2 attempts" in p.stderr, p.stderr
    assert time.time() - t0 < 60
    no_secret(s3, p.stdout, p.stderr)


# ------------------------------------- dead letters, manifests, cleanup

def test_dead_letter_table_on_s3(s3, tmp_path):
    s = cdcgen.Stream(seed=3, n_keys=20)
    s.run(120)
    lines = s.lines()
    bad = '{"payload": {"op": "u", "after": {"id": "not-a-number"}}'
    lines.insert(30, bad)
    src = tmp_path / "s.jsonl"
    src.write_text("".join(l + "\n" for l in lines))
    b = s3.make_bucket(f"dl-{uuid.uuid4().hex[:10]}")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"pipeline: dl-s3\nsource:\n  file: {src}\nwarehouse: s3://{b}/wh\n"
                   f"tables:\n  - path: \"{{warehouse}}/t\"\n    key: id\n"
                   f"on_error: dead_letter\ntrigger:\n  max_records: 40\n")
    for _ in range(2):  # the second run finds everything done: no duplicate dead letter
        assert_ok(dc(s3, ["ingest", "-c", cfg, "--once"]), "ingest with dead letters")
    dlq = f"s3://{b}/wh/_dead_letter/dl-s3"
    rows = DeltaTable(dlq, storage_options=s3.storage_options()).to_pyarrow_table().to_pylist()
    assert [r["offset"] for r in rows] == [31]
    assert r_raw(rows[0]) == bad
    vals = [None if l == "null" else l for l in lines]
    vals[30] = "null"
    check_state(s3, f"s3://{b}/wh/t", vals)


def r_raw(row):
    raw = row["raw"]
    return raw.decode() if isinstance(raw, (bytes, bytearray)) else raw


def test_manifest_and_log_cleanup_on_s3(s3, tmp_path):
    s = cdcgen.Stream(seed=4, n_keys=30)
    s.snapshot(30)
    s.run(150)
    src = s.write(tmp_path / "s.jsonl")
    b, t = fresh_table(s3)
    assert_ok(dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id",
                      "--mode", "cow", "--max-batch", "15", "--once"]), "ingest cow")
    assert_ok(dc(s3, ["manifest", t]), "manifest")
    prefix = "lake/shop.db/customers/"
    body = s3.client().get_object(Bucket=b, Key=prefix + "_symlink_format_manifest/manifest")[
        "Body"].read().decode()
    live = sorted(DeltaTable(t, storage_options=s3.storage_options()).file_uris())
    assert sorted(body.split()) == live, (body, live)
    assert all(l.startswith(f"s3://{b}/{prefix}") for l in body.split())
    # Log cleanup with a zero retention keeps what the newest checkpoint needs.
    assert_ok(dc(s3, ["checkpoint", t]), "checkpoint")
    log_before = keys_of(s3, b, prefix + "_delta_log/")
    p = dc(s3, ["cleanup", t, "--retain", "0d", "--force"])
    assert_ok(p, "cleanup")
    log_after = keys_of(s3, b, prefix + "_delta_log/")
    assert len(log_after) <= len(log_before)
    check_state(s3, t, s.values)


def test_large_data_file_is_a_multipart_upload(s3, tmp_path):
    """A data file above the 8 MiB part size goes up in parts; delta-rs reads it."""
    import random
    rnd = random.Random(12)
    src = tmp_path / "big.jsonl"
    n = 8000
    with open(src, "w") as f:
        for k in range(n):
            row = {"id": k, "first_name": "f", "last_name": "l", "email": "e", "score": 1,
                   "note": "%x" % rnd.getrandbits(8 * 1200)}  # ~2.4 KB, incompressible
            f.write(cdcgen.envelope("c", None, row, 1714557600000 + k) + "\n")
    b, t = fresh_table(s3)
    p = dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id", "--once",
                "--log-level", "debug"])
    assert_ok(p, "ingest of a large batch")
    objs = s3.client().list_objects_v2(Bucket=b, Prefix="lake/shop.db/customers/part-")
    sizes = [o["Size"] for o in objs.get("Contents", [])]
    assert max(sizes) > 8 * 1024 * 1024, sizes
    head = s3.client().head_object(Bucket=b, Key=objs["Contents"][0]["Key"])
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]  # a 2-part upload's ETag
    got = cdcgen.read_table(t, storage_options=s3.storage_options())
    assert len(got) == n
    assert got[("7999",)]["json_record"]["id"] == 7999
    # A restart builds the key index from that file: only its key, ts_ms,
    # offset and operation_type chunks are downloaded, not json_record.
    with open(src, "a") as f:
        row = {"id": 5, "first_name": "g", "last_name": "l", "email": "e", "score": 2,
               "note": "x"}
        f.write(cdcgen.envelope("u", None, row, 1714557600000 + n + 1) + "\n")
    p = dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--once", "--log-level",
                "debug"])
    assert_ok(p, "resume over a large file")
    m = re.search(r"requests: GET (\d+).*?(\d+) bytes in", p.stderr.decode())
    assert m, p.stderr.decode()[-2000:]
    assert int(m.group(2)) < max(sizes) // 4, f"{m.group(2)} bytes read for the index"
    got = cdcgen.read_table(t, storage_options=s3.storage_options())
    assert got[("5",)]["json_record"]["first_name"] == "g"
    # Readers of every column get a large file by range too, a column chunk
    # at a time, never in one whole-object GET: cat, and a cow rewrite.
    proxy = UnsafeProxy(s3, strip=False)
    try:
        cat = dc(s3, ["cat", t], endpoint=proxy.endpoint)
        assert_ok(cat, "cat")
        assert len(cat.stdout.splitlines()) == n
        with open(src, "a") as f:
            row = {"id": 6, "first_name": "h", "last_name": "l", "email": "e", "score": 3,
                   "note": "y"}
            f.write(cdcgen.envelope("u", None, row, 1714557600000 + n + 2) + "\n")
        p = dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--mode", "cow",
                    "--once"], endpoint=proxy.endpoint)
        assert_ok(p, "cow rewrite of a large file")
    finally:
        proxy.stop()
    big = max(objs["Contents"], key=lambda o: o["Size"])["Key"]
    gets = [rng for m_, path, rng in proxy.requests if m_ == "GET" and path.endswith(big)]
    # cat: frame + 4 columns, the rewrite the same again (small files: one GET).
    assert len(gets) >= 6 and all(gets), gets
    got = cdcgen.read_table(t, storage_options=s3.storage_options())
    assert got[("6",)]["json_record"]["first_name"] == "h" and len(got) == n


def test_commit_reply_lost_nothing_lost(s3, tmp_path):
    """The PUT of commit 1 takes effect but its reply is lost; the retry then
    finds the object present (412), which may be our own. The storage says
    DC_EUNKNOWN, never "someone else won": whatever the run does next, every
    file the log references must still exist and the rows must be right."""
    proxy = UnsafeProxy(s3, strip=False, lose_suffix="_delta_log/00000000000000000001.json",
                        lose_reply=1)
    try:
        b, t = fresh_table(s3)
        p = dc(s3, ["ingest", "--source", f"file:{SAMPLE}", "--table", t, "--key", "id",
                    "--once", "--log-level", "debug"], endpoint=proxy.endpoint)
        err = p.stderr.decode()
        assert proxy.lost == 1, "the proxy did not see the commit PUT"
        if p.returncode != 0:
            assert "object may be ours" in err, err[-3000:]
        # The commit is in place: the files it names must be too.
        dt = DeltaTable(t, storage_options=s3.storage_options())
        assert dt.version() >= 1
        keys = set(keys_of(s3, b, "lake/shop.db/customers/"))
        for u in dt.file_uris():
            assert u.split(f"s3://{b}/", 1)[1] in keys, f"{u} referenced but missing"
        if p.returncode == 0:
            check_state(s3, t, sample_values())
    finally:
        proxy.stop()


def _uploads(srv, bucket):
    r = srv.client().list_multipart_uploads(Bucket=bucket)
    return {(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])}


def test_vacuum_aborts_stale_multipart_uploads(s3, tmp_path):
    """A writer killed in a multipart upload leaves it open: invisible to
    LIST, billed until aborted. VACUUM aborts those under the table started
    before its retention, and no other."""
    b, t = fresh_table(s3)
    assert_ok(dc(s3, ["ingest", "--source", f"file:{SAMPLE}", "--table", t, "--key", "id",
                      "--once"]), "ingest")
    c = s3.client()
    prefix = "lake/shop.db/customers/"
    crashed = prefix + "part-00000-crashed.zstd.parquet"
    up = c.create_multipart_upload(Bucket=b, Key=crashed)["UploadId"]
    c.upload_part(Bucket=b, Key=crashed, UploadId=up, PartNumber=1, Body=b"x" * 1024)
    # Not this table's: a sibling whose name extends the prefix, and elsewhere.
    sib = "lake/shop.db/customers2/part-1.parquet"
    other = {(sib, c.create_multipart_upload(Bucket=b, Key=sib)["UploadId"]),
             ("elsewhere/part-2.parquet",
              c.create_multipart_upload(Bucket=b, Key="elsewhere/part-2.parquet")["UploadId"])}
    assert _uploads(s3, b) == other | {(crashed, up)}
    # moto reports every upload as initiated 2010-11-10T20:48:33Z: a retention
    # of 7000 days (back to 2007) keeps it, the table's week does not.
    v = dc(s3, ["vacuum", t, "--retain", "7000d"])
    assert_ok(v, "vacuum")
    assert b"unfinished multipart" not in v.stdout, v.stdout.decode()
    assert _uploads(s3, b) == other | {(crashed, up)}
    # A dry run says what it would do and does nothing.
    v = dc(s3, ["vacuum", t, "--dry-run"])
    assert_ok(v, "vacuum --dry-run")
    assert b"would abort 1 unfinished multipart uploads" in v.stdout, v.stdout
    assert _uploads(s3, b) == other | {(crashed, up)}
    v = dc(s3, ["vacuum", t])
    assert_ok(v, "vacuum")
    assert b"aborted 1 unfinished multipart uploads" in v.stdout, v.stdout
    assert _uploads(s3, b) == other
    check_state(s3, t, sample_values())


def test_table_commands_take_the_pipeline_file(s3, tmp_path):
    """-c pipeline.yaml for the table commands: S3 settings and credentials
    come from the file (the AWS environment is empty), and --table db.table
    is resolved through the file's path template, as the daemon writes it."""
    b = s3.make_bucket(f"pc-{uuid.uuid4().hex[:10]}")
    t = f"s3://{b}/wh/shop.db/customers"
    s = cdcgen.Stream(seed=21, n_keys=40)
    s.snapshot(40)
    s.run(300)
    src = s.write(tmp_path / "s.jsonl")
    assert_ok(dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id",
                      "--max-batch", "30", "--once"]), "ingest")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"""
pipeline: maint
warehouse: s3://{b}/wh
storage:
  s3:
    endpoint: {s3.endpoint}
    region: us-east-1
    access_key_id: {s3.key_id}
    secret_access_key: ${{MY_S3_SECRET}}
""")
    env = {"MY_S3_SECRET": s3.secret, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
           "AWS_ENDPOINT_URL": ""}
    # Without the file there is neither an endpoint nor a key: refused.
    p = dc(s3, ["inspect", t], env=env, timeout=120)
    assert p.returncode != 0
    pc = ["-c", cfg, "--table", "shop.customers"]
    for args in (["checkpoint"], ["optimize", "--min-file-size", "1MiB"],
                 ["properties", "delta.logRetentionDuration=interval 31 days"],
                 ["vacuum", "--dry-run"], ["cleanup", "--dry-run"], ["history"], ["inspect"]):
        p = dc(s3, [args[0], *pc, *args[1:]], env=env)
        assert_ok(p, " ".join(map(str, args)))
        no_secret(s3, p.stdout, p.stderr)
    cat = dc(s3, ["cat", *pc], env=env)
    assert_ok(cat, "cat")
    assert len(cat.stdout.splitlines()) == len(check_state(s3, t, s.values))
    # A location works too, with the file's settings.
    assert_ok(dc(s3, ["history", "-c", cfg, t], env=env), "history LOCATION")
    hist = dc(s3, ["history", *pc], env=env).stdout.decode()
    for op in ("OPTIMIZE", "SET TBLPROPERTIES", "MERGE"):
        assert op in hist, hist
    dt = DeltaTable(t, storage_options=s3.storage_options())
    assert dt.metadata().configuration.get("delta.logRetentionDuration") == "interval 31 days"
    assert any(k.endswith(".checkpoint.parquet")
               for k in keys_of(s3, b, "wh/shop.db/customers/_delta_log/"))
    # A name the template does not resolve to a table is an error naming it.
    p = dc(s3, ["inspect", "-c", cfg, "--table", "shop.nope"], env=env, timeout=120)
    assert p.returncode != 0 and b"shop.db/nope" in p.stderr, p.stderr
    # --help says so.
    h = dc(s3, ["vacuum", "--help"])
    assert b"--config FILE" in h.stdout and b"--table NAME" in h.stdout


# ------------------------------------------------------------ typed tables

@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_typed_ingest_and_maintenance_on_s3(s3, tmp_path, mode):
    """--format typed on S3: the daemon's OPTIMIZE and checkpoints, a manual
    OPTIMIZE, then a restart that rebuilds the index from the typed columns
    and treats the connector's repeats as no-ops; delta-rs judges each step
    against the expected typed state."""
    import typedgen
    s = typedgen.TypedStream(seed=20)
    s.snapshot(25)
    s.run(500)
    src = s.write(tmp_path / "s.jsonl")
    b, t = fresh_table(s3)
    cfg = tmp_path / "p.yaml"
    cfg.write_text("maintenance:\n  optimize: auto\n  optimize_interval: 0s\n"
                   "  optimize_small_files: 4\n  optimize_deleted_percent: 20\n"
                   "  checkpoint_interval: 5\n")
    p = dc(s3, ["ingest", "-c", cfg, "--source", f"file:{src}", "--table", t, "--format",
                "typed", "--key", "id", "--mode", mode, "--max-batch", "30", "--once"])
    assert_ok(p, "typed ingest")
    so = s3.storage_options()

    def check_typed():
        d = typedgen.diff(typedgen.read_typed(t, so), typedgen.expected(s.values))
        assert not d, d

    check_typed()
    ops = [h["operation"] for h in DeltaTable(t, storage_options=so).history()]
    assert "OPTIMIZE" in ops, ops
    assert any(k.endswith(".checkpoint.parquet")
               for k in keys_of(s3, b, "lake/shop.db/customers/_delta_log/"))
    schema = {f.name: str(f.type) for f in typedgen.read_table(t, so).schema}
    assert schema["price"] == "decimal128(10, 2)" and schema["born"] == "date32[day]"
    assert_ok(dc(s3, ["optimize", t, "--key", "id", "--min-file-size", "1MiB"]), "optimize")
    n = len(s.values)
    s.crash_repeat(60)
    s.run(100)
    s.write(src)
    p = dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--format", "typed",
                "--mode", mode, "--max-batch", "30", "--once"])
    assert_ok(p, "typed ingest after a restart")
    check_typed()
    repeats = sum(int(m) for m in re.findall(rb"repeats (\d+)", p.stderr))
    assert repeats == sum(v is not None for v in s.values[n:n + 60])


def test_snapshot_on_s3(s3, tmp_path):
    """deltacdc snapshot with its CDC table and its dated table on the
    server: the partition holds the CDC table's live rows (hard deletes
    dropped), a rerun of the date replaces it in one commit, and delta-rs
    reads both from the server."""
    import typedgen
    s = typedgen.TypedStream(seed=21)
    s.snapshot(40)
    s.run(300)
    src = s.write(tmp_path / "s.jsonl")
    b, t = fresh_table(s3)
    out = f"s3://{b}/snapshot/shop.db/customers"
    assert_ok(dc(s3, ["ingest", "--source", f"file:{src}", "--table", t, "--format", "typed",
                      "--key", "id", "--max-batch", "50", "--once"]), "typed ingest")
    so = s3.storage_options()
    live = typedgen.read_typed(t, so)
    assert live
    versions = []
    for run in (1, 2):
        p = dc(s3, ["snapshot", "--cdc", t, "--out", out, "--date", "2024-05-01"])
        assert_ok(p, f"snapshot run {run}")
        no_secret(s3, p.stdout, p.stderr)
        versions.append(DeltaTable(out, storage_options=so).version())
    assert versions[1] == versions[0] + 1, f"the rerun is one commit: {versions}"
    dt = DeltaTable(out, storage_options=so)
    assert dt.metadata().partition_columns == ["data_date"]
    rows = typedgen.read_table(out, so).to_pylist()
    # The rerun replaced the partition: each live key once, not twice.
    assert len(rows) == len(live), (len(rows), len(live))
    for r in rows:
        assert str(r.pop("data_date")) == "2024-05-01"
        want = {k: v for k, v in live[r["id"]].items() if k in r}
        assert r == want, (r, want)
