"""The pipeline file through the CLI: the committed reference and example are
what the key table generates, secrets never reach stdout/stderr, and errors
are one line naming file, line and key."""
import os
import subprocess
import time

import pytest

from conftest import DC_BIN, REPO, assert_clean_failure, assert_ok, run_dc


def test_generated_files_are_current():
    for sub, path in (("reference", REPO / "docs" / "CONFIGURATION.md"),
                      ("example", REPO / "examples" / "pipeline.yaml")):
        proc = run_dc(["config", sub])
        assert_ok(proc, f"config {sub}")
        assert path.read_bytes() == proc.stdout, \
            f"{path.relative_to(REPO)} is stale: run `make docs` and commit it"


def test_example_pipeline_is_valid():
    proc = run_dc(["config", "check", "-c", REPO / "examples" / "pipeline.yaml"])
    assert_ok(proc, "config check examples/pipeline.yaml")


def test_show_masks_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("DC_TEST_KAFKA_PASSWORD", "s3cr3t-value")
    p = tmp_path / "p.yaml"
    p.write_text("source:\n  kafka:\n    bootstrap_servers: 127.0.0.1:1\n    topics: t\n"
                 "    properties:\n      sasl.username: ingest\n"
                 "      sasl.password: ${DC_TEST_KAFKA_PASSWORD}\n"
                 "      sasl.jaas.config: 'org.apache.kafka.common.security.plain.PlainLoginModule"
                 " required password=\"${DC_TEST_KAFKA_PASSWORD}\";'\n")
    proc = run_dc(["config", "show", "-c", p], san=True)
    assert_ok(proc, "config show")
    out = proc.stdout.decode() + proc.stderr.decode()
    assert "s3cr3t-value" not in out
    assert 'sasl.password: "*****"' in out and "sasl.username: ingest" in out
    # The daemon logs nothing secret either: run it (debug logs, no broker on
    # the port) for a few seconds, then stop it.
    p.write_text(p.read_text().replace("      sasl.jaas.config", "      #"))
    out, err = _run_briefly(["ingest", "-c", p, "--table", tmp_path / "t", "--log-level", "debug"])
    assert b"sasl.password" in err, "the debug log should show the (masked) property"
    assert b"s3cr3t-value" not in out + err


def test_show_masks_s3_credentials(tmp_path, monkeypatch):
    """storage.s3.secret_access_key and session_token are secrets (issue 12)."""
    monkeypatch.setenv("DC_TEST_S3_SECRET", "s3cr3t-s3-value")
    p = tmp_path / "p.yaml"
    p.write_text("warehouse: s3://bucket/lake\nstorage:\n  s3:\n"
                 "    endpoint: http://127.0.0.1:1\n    access_key_id: AKIDEXAMPLE\n"
                 "    secret_access_key: ${DC_TEST_S3_SECRET}\n"
                 "    session_token: ${DC_TEST_S3_SECRET}\n")
    proc = run_dc(["config", "show", "-c", p], san=True)
    assert_ok(proc, "config show")
    out = proc.stdout.decode() + proc.stderr.decode()
    assert "s3cr3t-s3-value" not in out
    assert 'secret_access_key: "*****"' in out and 'session_token: "*****"' in out
    assert "access_key_id: AKIDEXAMPLE" in out
    # Nor does the daemon print it while it fails to reach the store.
    out, err = _run_briefly(["ingest", "-c", p, "--source", f"file:{REPO}/examples/debezium/"
                             "sample.jsonl", "--table", "s3://bucket/lake/t", "--log-level",
                             "trace", "--once"], seconds=3)
    assert b"s3cr3t-s3-value" not in out + err
    assert b"s3://bucket" in err


def _run_briefly(args, seconds=3):
    proc = subprocess.Popen([str(DC_BIN), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(seconds)
    proc.terminate()
    return proc.communicate(timeout=30)


def test_rejected_secret_property_not_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("DC_TEST_KAFKA_PASSWORD", "s3cr3t-value")
    p = tmp_path / "p.yaml"
    p.write_text("source:\n  kafka:\n    bootstrap_servers: 127.0.0.1:1\n    topics: t\n"
                 "    properties:\n      sasl.jaas.config: 'PlainLoginModule required "
                 "password=\"${DC_TEST_KAFKA_PASSWORD}\";'\n")
    out, err = _run_briefly(["ingest", "-c", p, "--table", tmp_path / "t"], seconds=1)
    assert b"s3cr3t-value" not in out + err


@pytest.mark.parametrize("text,want", [
    ("trigger:\n  interval: 10x\n", "p.yaml:2: trigger.interval: '10x' is not a duration"),
    ("tables:\n  - match: a\n    colour: red\n", "p.yaml:3: tables[].colour: unknown key"),
    ("trigger:\n  max_records: 0\n", "p.yaml:2: trigger.max_records: 0 is out of bounds"),
    ("warehouse: ${DC_TEST_SURELY_UNSET}\n",
     "p.yaml:1: warehouse: environment variable DC_TEST_SURELY_UNSET is not set"),
    ("http:\n  port: 9464\n", "p.yaml:2: http.port: unknown key"),
    ("a: [\n", "p.yaml:2"),
])
def test_errors_name_file_line_and_key(tmp_path, text, want):
    os.environ.pop("DC_TEST_SURELY_UNSET", None)
    p = tmp_path / "p.yaml"
    p.write_text(text)
    for args in (["config", "check", "-c", p], ["ingest", "-c", p, "--once"]):
        err = assert_clean_failure(run_dc(args, san=True), " ".join(map(str, args)))
        assert want in err, err
