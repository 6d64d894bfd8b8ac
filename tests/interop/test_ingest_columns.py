"""tables[].columns: a typed table fed records without Debezium schema blocks
(JsonConverter schemas.enable=false) is created from the column types the
pipeline file gives, and its values decode exactly (judged by delta-rs
against typedgen's independent decoding); with no schema block, no table and
no columns, the run stops with a clear refusal and nothing written."""
from deltalake import DeltaTable

import typedgen
from conftest import assert_ok, run_dc

COLUMNS = ("    columns:\n      id: int64\n      name: string\n      qty: int32\n"
           "      price: decimal(10,2)\n      born: date\n      seen: micro_timestamp\n"
           "      ok: boolean\n")


def pipeline(tmp_path, src, columns=COLUMNS, fmt="typed"):
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f"source:\n  file: {src}\n"
                   f"tables:\n  - path: {tmp_path}/items\n    format: {fmt}\n    key: id\n"
                   + columns)
    return cfg


def test_columns_create_the_typed_table(tmp_path):
    s = typedgen.TypedStream(seed=51, schema=False)
    s.snapshot(30)
    s.run(400)
    s.truncate()
    s.run(100)
    src = s.write(tmp_path / "s.jsonl")
    cfg = pipeline(tmp_path, src)
    assert_ok(run_dc(["ingest", "-c", cfg, "--once", "--max-batch", "60"], timeout=300))
    got = typedgen.read_typed(tmp_path / "items")
    d = typedgen.diff(got, typedgen.expected(s.values))
    assert not d, d
    schema = {f.name: str(f.type) for f in typedgen.read_table(tmp_path / "items").schema}
    assert schema["price"] == "decimal128(10, 2)" and schema["born"] == "date32[day]"
    assert schema["qty"] == "int32" and schema["seen"].startswith("timestamp[us")
    assert [f.name for f in DeltaTable(str(tmp_path / "items")).schema().fields][:7] == \
        ["id", "name", "qty", "price", "born", "seen", "ok"]


def test_columns_with_both_formats(tmp_path):
    """[raw, typed] on a stream without schema blocks: the typed table from
    columns, the raw one as always (no schemas to keep)."""
    s = typedgen.TypedStream(seed=52, schema=False)
    s.snapshot(20)
    s.run(200)
    src = s.write(tmp_path / "s.jsonl")
    cfg = pipeline(tmp_path, src, fmt="[raw, typed]")
    assert_ok(run_dc(["ingest", "-c", cfg, "--once"], timeout=300))
    d = typedgen.diff(typedgen.read_typed(tmp_path / "items_typed"), typedgen.expected(s.values))
    assert not d, d
    assert not list((tmp_path / "items").glob("_deltacdc_schemas/*"))


def test_no_schema_no_table_no_columns_is_refused(tmp_path):
    s = typedgen.TypedStream(seed=53, schema=False)
    s.snapshot(5)
    src = s.write(tmp_path / "s.jsonl")
    cfg = pipeline(tmp_path, src, columns="")
    p = run_dc(["ingest", "-c", cfg, "--once"])
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "tables[].columns gives no column types" in err and "offset 1" in err, err
    assert not (tmp_path / "items" / "_delta_log").exists()


def test_bad_column_type_names_its_line(tmp_path):
    s = typedgen.TypedStream(seed=54, schema=False)
    s.snapshot(5)
    src = s.write(tmp_path / "s.jsonl")
    cfg = pipeline(tmp_path, src, columns="    columns:\n      id: int64\n      qty: integr\n")
    p = run_dc(["ingest", "-c", cfg, "--once"])
    assert p.returncode != 0
    err = p.stderr.decode()
    assert "p.yaml:9: qty:" in err and "'integr' is not a column type" in err, err
