"""The raw table keeps its Debezium schemas (_deltacdc_schemas/: each schema
once, change points tying offsets to them), and `deltacdc retype RAW TYPED`
rebuilds the typed table from it. Judged by delta-rs: the retyped table
equals what `ingest --format typed` gives for the same stream (source columns,
__op, __ts_ms, __offset; __source_pos is null: the raw table keeps none), and
typed ingest goes on from the raw table's positions."""
import json

import pytest
from deltalake import DeltaTable

import typedgen
from conftest import assert_ok, run_dc

MODES = ["dv", "cow"]


def stream(seed):
    s = typedgen.TypedStream(seed=seed)
    s.snapshot(25)
    s.run(300)
    s.add_column("note")      # a new column mid-stream: a second schema
    s.run(200)
    s.widen("qty", "int64")   # a widened type: a third
    s.run(100)
    s.drop_column("name")     # and a dropped one: a fourth
    s.run(150)
    return s


def schema_files(t):
    d = t / "_deltacdc_schemas"
    return (sorted(p.name for p in d.glob("S-*.json")),
            [json.loads(p.read_text()) for p in sorted(d.glob("P-*.json"))])


def ingest(src, t, fmt, *extra):
    p = run_dc(["ingest", "--source", f"file:{src}", "--table", t, "--format", fmt, "--key",
                "id", "--once", *extra], timeout=300)
    assert_ok(p, f"ingest {fmt}")


def same_rows(got, want, drop=("__source_pos",)):
    assert set(got) == set(want), (sorted(set(got) ^ set(want)))[:10]
    for k in got:
        g = {c: v for c, v in got[k].items() if c not in drop}
        w = {c: v for c, v in want[k].items() if c not in drop}
        assert g == w, f"key {k}: retyped {g} typed ingest {w}"


def test_raw_table_keeps_each_schema_once(tmp_path):
    s = stream(41)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "raw"
    ingest(src, t, "raw", "--max-batch", "50")
    schemas, points = schema_files(t)
    blocks = {json.dumps(json.loads(v)["schema"], sort_keys=True)
              for v in s.values if v is not None and '"schema"' in v}
    assert len(schemas) == len(blocks) == 4
    # each point names a kept schema, and its offset starts that schema's run
    ids = {n[2:-5] for n in schemas}
    assert {p["schema"] for p in points} == ids
    for p in points:
        rec = json.loads(s.values[p["offset"] - 1])
        assert "schema" in rec
    # a second run over the same stream adds nothing new (content-addressed)
    ingest(src, t, "raw")
    assert schema_files(t)[0] == schemas
    # OPTIMIZE and VACUUM leave them alone
    assert_ok(run_dc(["optimize", t, "--key", "id", "--min-file-size", "1MiB"]), "optimize")
    assert_ok(run_dc(["vacuum", t, "--retain", "0s", "--force"]), "vacuum")
    assert schema_files(t)[0] == schemas
    DeltaTable(str(t)).vacuum(retention_hours=0, enforce_retention_duration=False,
                              dry_run=False)
    assert schema_files(t)[0] == schemas


@pytest.mark.parametrize("mode", MODES)
def test_retype_equals_typed_ingest(tmp_path, mode):
    s = stream(42)
    src = s.write(tmp_path / "s.jsonl")
    raw, typed, retyped = tmp_path / "raw", tmp_path / "typed", tmp_path / "retyped"
    ingest(src, raw, "raw", "--max-batch", "70")
    ingest(src, typed, "typed", "--mode", mode)
    p = run_dc(["retype", raw, retyped, "--mode", mode], timeout=300)
    assert_ok(p, "retype")
    assert b"positions copied" in p.stdout
    got, want = typedgen.read_typed(retyped), typedgen.read_typed(typed)
    same_rows(got, want)
    assert all(r["__source_pos"] is None for r in got.values())
    tg = {f.name: str(f.type) for f in typedgen.read_table(retyped).schema}
    tw = {f.name: str(f.type) for f in typedgen.read_table(typed).schema}
    assert tg == tw
    # also against the independent model
    d = typedgen.diff(got, typedgen.expected(s.values))
    assert all("__source_pos" in x for x in d) or not d, d
    # typed ingest goes on from the raw table's position: the stream grows
    n = len(s.values)
    s.run(200)
    s.write(src)
    ingest(src, retyped, "typed", "--mode", mode)
    ingest(src, typed, "typed", "--mode", mode)
    same_rows(typedgen.read_typed(retyped), typedgen.read_typed(typed),
              drop=("__source_pos",))
    later = [r for r in typedgen.read_typed(retyped).values() if r["__offset"] > n]
    assert later and all(r["__source_pos"] for r in later)


def test_retype_soft_deletes(tmp_path):
    s = stream(43)
    src = s.write(tmp_path / "s.jsonl")
    raw, typed, retyped = tmp_path / "raw", tmp_path / "typed", tmp_path / "retyped"
    ingest(src, raw, "raw")
    ingest(src, typed, "typed", "--soft-deletes", "true")
    assert_ok(run_dc(["retype", raw, retyped, "--soft-deletes"], timeout=300), "retype")
    got = typedgen.read_typed(retyped)
    assert any(r["__deleted"] for r in got.values())
    same_rows(got, typedgen.read_typed(typed))


def test_retype_refusals(tmp_path):
    s = stream(44)
    src = s.write(tmp_path / "s.jsonl")
    raw, typed = tmp_path / "raw", tmp_path / "typed"
    ingest(src, raw, "raw")
    ingest(src, typed, "typed")
    p = run_dc(["retype", raw, typed])
    assert p.returncode == 1 and b"exists" in p.stderr, p.stderr
    # a raw table from a stream without schema blocks keeps none: refused
    s2 = typedgen.TypedStream(seed=45, schema=False)
    s2.snapshot(10)
    src2 = s2.write(tmp_path / "s2.jsonl")
    ingest(src2, tmp_path / "raw2", "raw")
    p = run_dc(["retype", tmp_path / "raw2", tmp_path / "t2"])
    assert p.returncode == 1 and b"keeps no Debezium schemas" in p.stderr, p.stderr
    assert not (tmp_path / "t2" / "_delta_log").exists()
    # a typed table is not a raw table
    p = run_dc(["retype", typed, tmp_path / "t3"])
    assert p.returncode == 1 and b"not a raw table" in p.stderr, p.stderr


@pytest.mark.parametrize("width,delta", [("int32", "int32"), ("int16", "int16"),
                                         ("int8", "int8"), ("int64", "int64")])
def test_raw_key_keeps_its_schema_type(tmp_path, width, delta):
    """A raw table's integer key column is created with its schema type (an
    INT32 key is an integer column, not a long), and works as before: dv and
    cow batches, OPTIMIZE, a restart (the key index read back), retype."""
    import cdcgen
    s = typedgen.TypedStream(seed=46, n_keys=60 if width != "int8" else 40)
    s.cols = [("id", (width, None, None))] + s.cols[1:]
    s.snapshot(20)
    s.run(300)
    src = s.write(tmp_path / "s.jsonl")
    t = tmp_path / "raw"
    mode = "cow" if width == "int16" else "dv"
    ingest(src, t, "raw", "--max-batch", "40", "--mode", mode)
    schema = {f.name: str(f.type) for f in typedgen.read_table(t).schema}
    assert schema["id"] == delta, schema
    assert_ok(run_dc(["optimize", t, "--key", "id", "--min-file-size", "1MiB"]), "optimize")
    s.run(200)
    s.write(src)
    ingest(src, t, "raw", "--max-batch", "40", "--mode", mode)
    d = cdcgen.diff_states(cdcgen.read_table(t), cdcgen.expected_state(s.values))
    assert not d, d
    assert_ok(run_dc(["retype", t, tmp_path / "typed"]), "retype")
    got = typedgen.read_typed(tmp_path / "typed")
    want = typedgen.expected(s.values)
    assert set(got) == set(want)


@pytest.mark.parametrize("kind", ["date", "decimal"])
def test_retype_of_a_raw_table_keyed_by_a_date(tmp_path, kind):
    """A raw table keyed by a Debezium Date (days; or a decimal, base64) column,
    retyped in two runs of the stream (the index rebuilt from the raw table
    in between): the typed table keyed by the date (the decimal) holds the
    latest row of each key once, equal to typed ingest of the same stream and
    to the model computed from the stream; typed ingest then goes on."""
    from test_typed_keys import stream as keyed_stream, table_state
    values, want = keyed_stream(kind)
    src = tmp_path / "in.jsonl"
    half = len(values) // 2
    raw, typed, retyped = tmp_path / "raw", tmp_path / "typed", tmp_path / "retyped"

    def ing(t, fmt):
        assert_ok(run_dc(["ingest", "--source", f"file:{src}", "--table", t, "--format", fmt,
                          "--key", "k", "--once", "--max-batch", "40"], timeout=300),
                  f"ingest {fmt}")
    src.write_text("\n".join(values[:half]) + "\n")
    ing(raw, "raw")
    src.write_text("\n".join(values) + "\n")
    ing(raw, "raw")
    ing(typed, "typed")
    assert_ok(run_dc(["retype", raw, retyped], timeout=300), "retype")
    got = table_state(retyped)
    assert got == want, (sorted(set(got) ^ set(want), key=repr)[:5], len(got), len(want))
    assert got == table_state(typed)
    kt = {f.name: str(f.type) for f in typedgen.read_table(retyped).schema}["k"]
    assert kt == {f.name: str(f.type) for f in typedgen.read_table(typed).schema}["k"]
    assert kt.startswith("date" if kind == "date" else "decimal"), kt
    # the retyped table's key index, rebuilt from its files, matches later events
    more, want2 = keyed_stream(kind, n_events=320, seed=5)
    assert more[:len(values)] == values and want2 != want
    src.write_text("\n".join(more) + "\n")
    ing(retyped, "typed")
    ing(typed, "typed")
    assert table_state(retyped) == table_state(typed) == want2
