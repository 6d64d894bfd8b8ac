"""The persisted key index (_deltacdc/keyindex/<version>.dcx) across restarts
of `deltacdc ingest`, judged by delta-rs against the expected state of the
whole stream (tests/interop/cdcgen.py): a restart loads the file the last
clean stop wrote ("loaded from" in the log, no "built in") and follows the
commits made after it; a corrupt file, or a process killed with SIGKILL
while the file is being written (its bytes half written, or written and not
yet published), makes the next start build the index instead; the results
are the same in every case, and Delta readers never see the file."""
import os
import random
import signal
import subprocess
import time

import pytest
from deltalake import DeltaTable

import cdcgen
from conftest import DC_BIN, assert_ok, run_dc, stderr_text
from s3_fixture import s3  # noqa: F401 (fixture)

LOADED = "loaded from _deltacdc/keyindex/"
BUILT = "key index of"


def index_files(t):
    d = t / "_deltacdc" / "keyindex"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def published(t):
    return [n for n in index_files(t) if n.endswith(".dcx") and not n.startswith(".")]


class Run:
    """A growing stream in a file and the ingest command over it."""

    def __init__(self, tmp_path, seed, mode="dv", keys=400):
        self.rnd = random.Random(seed)
        self.s = cdcgen.Stream(seed=seed, n_keys=keys, schema_ratio=0.5)
        self.s.snapshot(keys // 2)
        self.src = tmp_path / "stream.jsonl"
        self.t = tmp_path / "t"
        self.written = 0
        self.args = ["ingest", "--source", f"file:{self.src}", "--table", self.t, "--key", "id",
                     "--mode", mode, "--max-batch", "150", "--once", "--log-level", "info"]

    def grow(self, n):
        self.s.run(n)
        with open(self.src, "a") as f:
            for line in self.s.lines()[self.written:]:
                f.write(line + "\n")
        self.written = len(self.s.values)

    def ingest(self):
        proc = run_dc(self.args, timeout=300)
        assert_ok(proc, "ingest")
        return stderr_text(proc)

    def check(self):
        want = cdcgen.expected_state(self.s.values)
        got = cdcgen.read_table(self.t)
        d = cdcgen.diff_states(got, want)
        assert not d, f"after {self.written} records: {d}"
        files = DeltaTable(str(self.t)).file_uris()
        assert files and not any("_deltacdc" in f for f in files)


@pytest.mark.parametrize("mode", ["dv", "cow"])
def test_restart_loads_the_persisted_index(tmp_path, mode):
    r = Run(tmp_path, 1301 + (mode == "cow"), mode)
    r.grow(1500)
    log = r.ingest()
    assert LOADED not in log
    assert len(published(r.t)) == 1, index_files(r.t)
    for i in range(3):
        r.grow(800)
        log = r.ingest()
        assert LOADED in log, log[-3000:]
        assert "built in" not in log, log[-3000:]
        assert len(published(r.t)) == 1, index_files(r.t)  # older ones removed
        r.check()


def test_a_stale_file_is_followed_and_a_corrupt_one_rebuilt(tmp_path):
    r = Run(tmp_path, 1310)
    r.grow(1500)
    r.ingest()
    kept = published(r.t)[0]
    saved = (r.t / "_deltacdc" / "keyindex" / kept).read_bytes()
    r.grow(800)
    r.ingest()
    # An older file (commits after it followed from the log) ...
    for n in published(r.t):
        (r.t / "_deltacdc" / "keyindex" / n).unlink()
    (r.t / "_deltacdc" / "keyindex" / kept).write_bytes(saved)
    r.grow(500)
    log = r.ingest()
    assert LOADED in log and "and followed to version" in log, log[-3000:]
    r.check()
    # ... and a corrupt one: refused, built, same result.
    p = r.t / "_deltacdc" / "keyindex" / published(r.t)[0]
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0x40
    p.write_bytes(bytes(b))
    r.grow(500)
    log = r.ingest()
    assert "not used" in log and "built in" in log and LOADED not in log, log[-3000:]
    r.check()


@pytest.mark.parametrize("op", ["writer_write", "writer_commit"])
def test_sigkill_while_the_index_is_written(tmp_path, op):
    """The write hangs (fault backend) after the table's last commit; the
    process is killed there. The half-written or unpublished bytes are never
    loaded: the next start uses the previous file, or builds."""
    r = Run(tmp_path, 1320 + (op == "writer_commit"))
    r.grow(1500)
    r.ingest()  # a good file at the first version
    before = published(r.t)
    r.grow(800)
    env = dict(os.environ)
    env["DC_STORAGE_FAULTS"] = f"test-only,{op}@_deltacdc/:hang:#1+,hang_ms=20000"
    p = subprocess.Popen([str(DC_BIN), *map(str, r.args)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    d = r.t / "_deltacdc" / "keyindex"
    deadline = time.monotonic() + 120
    # the batches are committed, then the stop writes the index and hangs
    while time.monotonic() < deadline and p.poll() is None:
        if any(n != f for n in index_files(r.t) for f in before):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    assert p.poll() is None, stderr_text_popen(p)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert published(r.t) == before, index_files(r.t)  # nothing new was published
    leftovers = [n for n in os.listdir(d) if n not in before]
    assert leftovers, "the write never started"
    r.grow(300)
    log = r.ingest()
    assert LOADED in log, log[-3000:]  # the older file, followed to the table's version
    r.check()
    log = r.ingest()
    assert LOADED in log
    r.check()
    assert index_files(r.t) == published(r.t), index_files(r.t)  # leftovers cleaned


def stderr_text_popen(p):
    p.kill()
    return p.stderr.read().decode("utf-8", "replace")[-3000:]


def test_on_s3_the_index_is_written_and_loaded(s3, tmp_path):  # noqa: F811 (fixture)
    """The same through the S3 backend (moto): the file is a published object
    under the table's prefix, a restart loads it with ranged GETs, and a
    corrupt object is refused."""
    from test_s3 import check_state as s3_check, dc, fresh_table, keys_of
    b, t = fresh_table(s3)
    s = cdcgen.Stream(seed=1330, n_keys=200, schema_ratio=0.5)
    s.snapshot(100)
    src = tmp_path / "s.jsonl"
    args = ["ingest", "--source", f"file:{src}", "--table", t, "--key", "id", "--max-batch",
            "100", "--once", "--log-level", "info"]
    logs = []
    for n in (600, 400, 300):
        s.run(n)
        src.write_text("".join(line + "\n" for line in s.lines()))
        p = dc(s3, args)
        assert_ok(p, "ingest to s3")
        logs.append(stderr_text(p))
        s3_check(s3, t, s.values)
    assert LOADED not in logs[0] and LOADED in logs[1] and LOADED in logs[2], logs[2][-3000:]
    prefix = t.split("/", 3)[3] + "/_deltacdc/keyindex/"
    objs = keys_of(s3, b, prefix)
    assert len(objs) == 1 and objs[0].endswith(".dcx"), objs
    c = s3.client()
    body = bytearray(c.get_object(Bucket=b, Key=objs[0])["Body"].read())
    body[200] ^= 1
    c.put_object(Bucket=b, Key=objs[0], Body=bytes(body))
    s.run(200)
    src.write_text("".join(line + "\n" for line in s.lines()))
    p = dc(s3, args)
    assert_ok(p, "ingest to s3")
    log = stderr_text(p)
    assert "not used" in log and LOADED not in log, log[-3000:]
    s3_check(s3, t, s.values)


def test_written_after_checkpoints_then_sigkill(tmp_path):
    """index.persist_interval: the daemon writes the index after checkpoints
    while it runs; killed with SIGKILL, it never wrote at a stop, and the
    restart loads the last file written after a checkpoint and follows the
    commits made after it."""
    r = Run(tmp_path, 1340)
    r.grow(3000)
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"pipeline: kx\nsource:\n  file: {r.src}\ntables:\n  - path: {r.t}\n"
                   f"    key: id\ntrigger:\n  max_records: 100\nmaintenance:\n"
                   f"  checkpoint_interval: 3\nindex:\n  persist_interval: 1ms\n"
                   f"log_level: info\n")
    p = subprocess.Popen([str(DC_BIN), "ingest", "-c", str(cfg)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        files = published(r.t)
        if files and int(files[0][:20]) >= 9:
            break
        time.sleep(0.05)
    assert p.poll() is None, stderr_text_popen(p)
    time.sleep(0.5)  # a few more commits after that file
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    files = published(r.t)
    assert files, index_files(r.t)
    v = int(files[0][:20])
    r.grow(500)
    cfg.write_text(cfg.read_text().replace("maintenance:", "maintenance:\n  vacuum: off"))
    proc = run_dc(["ingest", "-c", cfg, "--once"], timeout=300)
    assert_ok(proc, "ingest after SIGKILL")
    log = stderr_text(proc)
    assert f"{v:020d}.dcx and followed" in log, log[-3000:]
    want = cdcgen.expected_state(r.s.values)
    d = cdcgen.diff_states(cdcgen.read_table(r.t), want)
    assert not d, d
