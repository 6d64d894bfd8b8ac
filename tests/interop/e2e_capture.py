"""One end-to-end capture: a private MariaDB, the workload's snapshot part,
Debezium started (snapshot), the workload's stream part, Debezium stopped once
the end marker arrived, and MariaDB's final state.

`capture(db, workdir)` does it on a running MariaDB (the test uses the
session's server); run as a script it starts its own server and rewrites the
committed copies in tests/data/:

    .venv/bin/python tests/interop/e2e_capture.py            # writes tests/data/
    .venv/bin/python tests/interop/e2e_capture.py --out DIR   # elsewhere

    debezium_mariadb_alltypes.jsonl     record values of topic e2e.shop.alltypes
    debezium_mariadb_orderlines.jsonl   record values of topic e2e.shop.orderlines
    debezium_mariadb_schema_changes.jsonl   the schema-change topic (e2e)
    debezium_mariadb_final_state.json   MariaDB's SELECT * (mariadb_workload.RENDERING)
    debezium_mariadb_versions.json      Debezium and MariaDB versions, connector settings
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mariadb_workload as wl  # noqa: E402
from debezium_fixture import (CONNECTOR_DEFAULTS, DEBEZIUM_VERSION, TOPIC_PREFIX,  # noqa: E402
                              DebeziumRunner)
from mariadb_fixture import MariaDB  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"

# topic -> committed file name
FILES = {f"{TOPIC_PREFIX}.{wl.DB}.alltypes": "debezium_mariadb_alltypes.jsonl",
         f"{TOPIC_PREFIX}.{wl.DB}.orderlines": "debezium_mariadb_orderlines.jsonl",
         TOPIC_PREFIX: "debezium_mariadb_schema_changes.jsonl"}
FINAL_STATE = "debezium_mariadb_final_state.json"
VERSIONS = "debezium_mariadb_versions.json"


def _is_end_marker(rec):
    after = (rec or {}).get("payload", {}).get("after") or {}
    return all(after.get(k) == v for k, v in wl.END_MARKER.items())


def _snapshot_done(dbz):
    """True once a table record says it is the snapshot's last."""
    for topic in FILES:
        if topic == TOPIC_PREFIX:
            continue
        for rec in dbz.records(topic):
            src = ((rec or {}).get("payload") or {}).get("source") or {}
            if src.get("snapshot") == "last":
                return True
    return False


def capture(db, workdir, timeout=180, kafka=None):
    """Runs the workload on `db` (a running MariaDB; the workload's database is
    dropped first) under Debezium; returns {"files": {topic: Path}, "final":
    final_state, "seconds": {...}}. With `kafka` (a kafka_fixture.KafkaBroker)
    the records also go to topics of the same names, created here."""
    workdir = Path(workdir)
    t0 = time.monotonic()
    wl.run_snapshot_part(db)
    if kafka is not None:
        for topic in FILES:
            kafka.create_topic(topic)
    dbz = DebeziumRunner(db, workdir / "debezium", databases=[wl.DB],
                         kafka_bootstrap=kafka.bootstrap if kafka is not None else None)
    try:
        dbz.start()
        deadline = time.monotonic() + timeout
        while not _snapshot_done(dbz):
            if time.monotonic() > deadline or not dbz.proc or dbz.proc.poll() is not None:
                raise RuntimeError("Debezium snapshot did not finish:\n" + dbz.log_tail())
            time.sleep(0.2)
        t_snap = time.monotonic()
        wl.run_stream_part(db)
        dbz.wait_for(f"{TOPIC_PREFIX}.{wl.DB}.orderlines", _is_end_marker, timeout=timeout)
        t_stream = time.monotonic()
    finally:
        rc = dbz.stop()
    final = wl.final_state(db)
    return {"files": {t: dbz.topic_file(t) for t in FILES}, "final": final,
            "runner_exit": rc, "log": dbz.log,
            "seconds": {"snapshot": round(t_snap - t0, 1),
                        "stream": round(t_stream - t_snap, 1)}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DATA)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dc-e2e-capture-"))
    try:
        with MariaDB(work / "mariadb") as db:
            res = capture(db, work)
            version = db.version
        args.out.mkdir(parents=True, exist_ok=True)
        for topic, name in FILES.items():
            shutil.copyfile(res["files"][topic], args.out / name)
        (args.out / FINAL_STATE).write_text(
            json.dumps(res["final"], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (args.out / VERSIONS).write_text(json.dumps({
            "debezium": DEBEZIUM_VERSION,
            "connector": "io.debezium:debezium-connector-mariadb (embedded engine)",
            "mariadb": version,
            "converter": {"class": "org.apache.kafka.connect.json.JsonConverter",
                          "schemas.enable": True, "replace.null.with.default": False},
            "connector_settings": CONNECTOR_DEFAULTS,
        }, indent=1) + "\n")
        print(f"captured into {args.out}: {res['seconds']}, runner exit {res['runner_exit']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
