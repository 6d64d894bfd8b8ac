"""Bad input makes deltacdc refuse cleanly: non-zero exit, one line on
stderr that says where and what, no crash, no output file left behind.

Missing files, files that are not Parquet, every corpus file cut at several
points (and damaged with its footer kept), bad schema JSON, JSON lines that do
not match the schema (the message names the line and the field), unknown
codecs. Run with the ASan+UBSan binary when it is built.
"""
import random
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import (CORPUS, assert_clean_failure, assert_crash_free, assert_ok,
                      dc_cat, run_dc)

READ_CMDS = ["cat", "schema", "meta", "scan"]


def refuse(args, what=None):
    proc = run_dc(args, san=True)
    return assert_clean_failure(proc, what or " ".join(map(str, args)))


# ------------------------------------------------------------- reading side

@pytest.mark.parametrize("cmd", READ_CMDS)
def test_missing_file(tmp_path, cmd):
    path = tmp_path / "no-such-file.parquet"
    err = refuse(["parquet", cmd, path])
    assert "no-such-file.parquet" in err, f"message does not name the file: {err}"


@pytest.mark.parametrize("cmd", READ_CMDS)
def test_directory_as_file(tmp_path, cmd):
    refuse(["parquet", cmd, tmp_path])


def _not_parquet_payloads():
    rng = random.Random(3)
    footer_garbage = bytes(rng.getrandbits(8) for _ in range(200))
    return {
        "empty": b"",
        "one_byte": b"P",
        "magic_only": b"PAR1",
        "two_magics": b"PAR1PAR1",
        "short_magics": b"PAR1\x00PAR1",
        "text": b"id,name\n1,alpha\n2,beta\n",
        "json": b'{"type":"struct","fields":[]}\n',
        "wrong_tail_magic": b"PAR1" + b"\x00" * 100 + b"PAR2",
        "footer_len_zero": b"PAR1" + b"\x00" * 16 + (0).to_bytes(4, "little") + b"PAR1",
        "footer_len_huge": b"PAR1" + b"\x00" * 16 + (0xFFFFFFF0).to_bytes(4, "little") + b"PAR1",
        "footer_len_past_start": b"PAR1" + b"\x00" * 16 + (21).to_bytes(4, "little") + b"PAR1",
        "footer_garbage": b"PAR1" + footer_garbage + len(footer_garbage).to_bytes(4, "little")
                          + b"PAR1",
        "random_with_magics": b"PAR1" + bytes(rng.getrandbits(8) for _ in range(4000))
                              + (1000).to_bytes(4, "little") + b"PAR1",
        "encrypted_magic": b"PAR1" + b"\x00" * 40 + (20).to_bytes(4, "little") + b"PARE",
    }


@pytest.mark.parametrize("name", list(_not_parquet_payloads()))
def test_not_parquet(tmp_path, name):
    path = tmp_path / f"{name}.parquet"
    path.write_bytes(_not_parquet_payloads()[name])
    for cmd in READ_CMDS:
        refuse(["parquet", cmd, path])


@pytest.mark.parametrize("name", ["bloom_filter.bin", "bloom_filter.xxhash.bin",
                                  "delta_byte_array_expect.csv"])
def test_corpus_non_parquet_files(name):
    path = CORPUS / "data" / name
    if not path.exists():
        pytest.fail(f"{path} missing from the corpus")
    for cmd in READ_CMDS:
        refuse(["parquet", cmd, path])


def _truncation_sources():
    data = CORPUS / "data"
    files = sorted(p for p in data.glob("*.parquet") if p.stat().st_size < 1_000_000
                   and p.name != "large_string_map.brotli.parquet") if data.is_dir() else []
    return files


def cut_points(n):
    pts = {0, 1, 3, 4, 5, 8, 12, n // 4, n // 2, (3 * n) // 4, n - 12, n - 9, n - 8, n - 5,
           n - 4, n - 1}
    return sorted(p for p in pts if 0 <= p < n)


def _check_truncations(tmp_path, blob, label):
    cut = tmp_path / f"cut-{label}.parquet"
    for k in cut_points(len(blob)):
        cut.write_bytes(blob[:k])
        refuse(["parquet", "cat", cut], f"parquet cat {label} cut to {k} of {len(blob)} bytes")


def _damaged_variants(blob, seed):
    """Copies of blob with the footer intact and the data region damaged:
    64 bytes zeroed, 12 bits flipped, a 0x7fffffff written somewhere."""
    rng = random.Random(seed)
    footer_len = int.from_bytes(blob[-8:-4], "little")
    data_end = len(blob) - 8 - footer_len
    if data_end - 4 < 80:
        return []
    out = []
    b = bytearray(blob)
    start = 4 + (data_end - 4) // 3
    b[start:start + 64] = bytes(64)
    out.append(bytes(b))
    b = bytearray(blob)
    for _ in range(12):
        b[rng.randrange(4, data_end)] ^= 1 << rng.randrange(8)
    out.append(bytes(b))
    b = bytearray(blob)
    i = rng.randrange(4, data_end - 4)
    b[i:i + 4] = b"\xff\xff\xff\x7f"
    out.append(bytes(b))
    return out


def _check_damage(tmp_path, blob, label, seed):
    """Any outcome but a crash or a hang; a refusal is one line."""
    dmg = tmp_path / f"dmg-{label}.parquet"
    for j, v in enumerate(_damaged_variants(blob, seed)):
        dmg.write_bytes(v)
        proc = run_dc(["parquet", "cat", dmg], san=True, timeout=120)
        what = f"parquet cat {label} damaged (variant {j})"
        assert_crash_free(proc, what)
        if proc.returncode != 0:
            assert_clean_failure(proc, what)


@pytest.mark.parametrize("path", _truncation_sources(), ids=lambda p: p.name)
def test_truncated_corpus_file(tmp_path, path):
    _check_truncations(tmp_path, path.read_bytes(), path.name)


@pytest.mark.parametrize("path", _truncation_sources(), ids=lambda p: p.name)
def test_damaged_corpus_file(tmp_path, path):
    _check_damage(tmp_path, path.read_bytes(), path.name, seed=len(path.name))


def test_truncated_own_and_pyarrow_files(tmp_path):
    rng = random.Random(9)
    t = pa.table({"id": pa.array(range(3000), pa.int64()),
                  "s": pa.array([f"v{rng.getrandbits(40)}" for _ in range(3000)]),
                  "l": pa.array([[i, None] if i % 3 else None for i in range(3000)],
                                pa.list_(pa.int32()))})
    for name, kw in (("v1", {}), ("v2", {"data_page_version": "2.0", "compression": "zstd"})):
        path = tmp_path / f"pyarrow-{name}.parquet"
        pq.write_table(t, path, data_page_size=2048, **kw)
        _check_truncations(tmp_path, path.read_bytes(), path.name)
        _check_damage(tmp_path, path.read_bytes(), path.name, seed=1)
    schema = tmp_path / "s.json"
    schema.write_text('{"type":"struct","fields":[{"name":"id","type":"long","nullable":false,'
                      '"metadata":{}},{"name":"s","type":"string","nullable":true,"metadata":{}}]}')
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(f'{{"id": {i}, "s": "x{i * 7}"}}\n' for i in range(3000)))
    own = tmp_path / "own.parquet"
    assert_ok(run_dc(["parquet", "write", "--schema", schema, jsonl, own]), "parquet write")
    _check_truncations(tmp_path, own.read_bytes(), "deltacdc-written")
    _check_damage(tmp_path, own.read_bytes(), "deltacdc-written", seed=2)


# ------------------------------------------------------------- writing side

GOOD_SCHEMA = ('{"type":"struct","fields":[{"name":"qty","type":"integer","nullable":true,'
               '"metadata":{}}]}')


def write_args(tmp_path, schema_text, lines, extra=()):
    schema = tmp_path / "schema.json"
    schema.write_text(schema_text)
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(lines)
    out = tmp_path / "out.parquet"
    return ["parquet", "write", "--schema", schema, jsonl, out, *extra], out


BAD_SCHEMAS = {
    "not_json": '{"type":"struct","fields":[',
    "empty": "",
    "not_an_object": "[1,2,3]",
    "top_not_struct": '{"type":"array","elementType":"integer","containsNull":true}',
    "no_fields": '{"type":"struct"}',
    "fields_not_list": '{"type":"struct","fields":{}}',
    "field_without_name": '{"type":"struct","fields":[{"type":"integer","nullable":true}]}',
    "field_without_type": '{"type":"struct","fields":[{"name":"qty","nullable":true}]}',
    "unknown_type": '{"type":"struct","fields":[{"name":"qty","type":"varchar","nullable":true}]}',
    "decimal_precision_too_big":
        '{"type":"struct","fields":[{"name":"qty","type":"decimal(40,2)","nullable":true}]}',
    "decimal_scale_above_precision":
        '{"type":"struct","fields":[{"name":"qty","type":"decimal(5,6)","nullable":true}]}',
    "decimal_zero_precision":
        '{"type":"struct","fields":[{"name":"qty","type":"decimal(0,0)","nullable":true}]}',
    "decimal_malformed":
        '{"type":"struct","fields":[{"name":"qty","type":"decimal(5;2)","nullable":true}]}',
    "array_without_element":
        '{"type":"struct","fields":[{"name":"qty","type":{"type":"array","containsNull":true},'
        '"nullable":true}]}',
    "map_without_key":
        '{"type":"struct","fields":[{"name":"qty","type":{"type":"map","valueType":"integer",'
        '"valueContainsNull":true},"nullable":true}]}',
    "nested_unknown_type":
        '{"type":"struct","fields":[{"name":"qty","type":{"type":"struct","fields":[{"name":"x",'
        '"type":"uuid","nullable":true}]},"nullable":true}]}',
    "nullable_not_bool":
        '{"type":"struct","fields":[{"name":"qty","type":"integer","nullable":"yes"}]}',
}


@pytest.mark.parametrize("name", list(BAD_SCHEMAS))
def test_bad_schema(tmp_path, name):
    args, out = write_args(tmp_path, BAD_SCHEMAS[name], '{"qty": 1}\n')
    refuse(args, f"parquet write with schema {name}")
    assert not out.exists(), "an output file was left behind"


def test_missing_schema_file(tmp_path):
    args, out = write_args(tmp_path, GOOD_SCHEMA, '{"qty": 1}\n')
    args[3] = tmp_path / "absent.json"
    err = refuse(args)
    assert "absent.json" in err
    assert not out.exists()


def test_missing_input_file(tmp_path):
    args, out = write_args(tmp_path, GOOD_SCHEMA, "")
    args[4] = tmp_path / "absent.jsonl"
    err = refuse(args)
    assert "absent.jsonl" in err
    assert not out.exists()


def test_output_directory_missing(tmp_path):
    args, out = write_args(tmp_path, GOOD_SCHEMA, '{"qty": 1}\n')
    args[5] = tmp_path / "no" / "such" / "dir" / "out.parquet"
    refuse(args)


def _schema(*fields):
    import json
    return json.dumps({"type": "struct", "fields": [
        {"name": n, "type": t, "nullable": nl, "metadata": {}} for n, t, nl in fields]})


# (schema fields, bad line, field the message must name)
BAD_LINES = {
    "string_for_integer": ([("qty", "integer", True)], '{"qty": "abc"}', "qty"),
    "fraction_for_integer": ([("qty", "integer", True)], '{"qty": 1.5}', "qty"),
    "byte_out_of_range": ([("tiny", "byte", True)], '{"tiny": 300}', "tiny"),
    "short_out_of_range": ([("small", "short", True)], '{"small": -40000}', "small"),
    "integer_out_of_range": ([("qty", "integer", True)], '{"qty": 2147483648}', "qty"),
    "long_out_of_range": ([("big", "long", True)], '{"big": 9223372036854775808}', "big"),
    "number_for_boolean": ([("flag", "boolean", True)], '{"flag": 1}', "flag"),
    "number_for_string": ([("name", "string", True)], '{"name": 5}', "name"),
    "word_for_float": ([("ratio", "float", True)], '{"ratio": "abc"}', "ratio"),
    "unknown_member": ([("qty", "integer", True)], '{"qty": 1, "zebra": 2}', "zebra"),
    "null_in_required": ([("qty", "integer", False)], '{"qty": null}', "qty"),
    "missing_required": ([("qty", "integer", False), ("name", "string", True)],
                         '{"name": "x"}', "qty"),
    "decimal_too_many_digits": ([("price", "decimal(5,2)", True)], '{"price": "12345.6"}',
                                "price"),
    "decimal_too_many_fraction_digits": ([("price", "decimal(5,2)", True)],
                                         '{"price": "1.234"}', "price"),
    "decimal_not_a_number": ([("price", "decimal(5,2)", True)], '{"price": "1.2.4"}', "price"),
    "bad_date": ([("day", "date", True)], '{"day": "2021-02-30"}', "day"),
    "malformed_date": ([("day", "date", True)], '{"day": "21-1-1"}', "day"),
    "bad_timestamp": ([("at", "timestamp", True)], '{"at": "yesterday"}', "at"),
    "bad_timestamp_ntz": ([("at", "timestamp_ntz", True)], '{"at": "2021-01-01T25:00:00"}', "at"),
    "bad_base64": ([("blob", "binary", True)], '{"blob": "!!!not base64"}', "blob"),
    "struct_member_wrong": ([("pos", '{"type":"struct","fields":[{"name":"lat","type":"double",'
                                     '"nullable":true,"metadata":{}}]}', True)],
                            '{"pos": {"lat": "north"}}', "lat"),
    "struct_not_object": ([("pos", '{"type":"struct","fields":[{"name":"lat","type":"double",'
                                   '"nullable":true,"metadata":{}}]}', True)],
                          '{"pos": [1]}', "pos"),
    "array_element_wrong": ([("tags", '{"type":"array","elementType":"integer",'
                                      '"containsNull":true}', True)],
                            '{"tags": [1, "x"]}', "tags"),
    "array_null_element_not_allowed": ([("tags", '{"type":"array","elementType":"integer",'
                                                 '"containsNull":false}', True)],
                                       '{"tags": [1, null]}', "tags"),
    "array_not_array": ([("tags", '{"type":"array","elementType":"integer",'
                                  '"containsNull":true}', True)], '{"tags": 7}', "tags"),
    "map_null_key": ([("attrs", '{"type":"map","keyType":"string","valueType":"integer",'
                                '"valueContainsNull":true}', True)],
                     '{"attrs": [{"key": null, "value": 1}]}', "attrs"),
    "map_entry_malformed": ([("attrs", '{"type":"map","keyType":"string","valueType":"integer",'
                                       '"valueContainsNull":true}', True)],
                            '{"attrs": [{"k": "a", "v": 1}]}', "attrs"),
    "invalid_json": ([("qty", "integer", True)], '{"qty": }', None),
    "not_an_object": ([("qty", "integer", True)], '[1, 2]', None),
    "trailing_garbage": ([("qty", "integer", True)], '{"qty": 1} x', None),
}


@pytest.mark.parametrize("name", list(BAD_LINES))
def test_bad_json_line(tmp_path, name):
    import json
    fields, line, field = BAD_LINES[name]
    parsed = [(n, json.loads(t) if t.startswith("{") else t, nl) for n, t, nl in fields]
    good = {}
    for n, t, nl in parsed:
        if not isinstance(t, str):
            continue
        good[n] = {"integer": 7, "byte": 1, "short": 1, "long": 1, "boolean": True,
                   "string": "ok", "float": 1.5, "decimal(5,2)": "1.25", "date": "2020-01-01",
                   "timestamp": "2020-01-01T00:00:00.000000Z",
                   "timestamp_ntz": "2020-01-01T00:00:00.000000", "binary": "AAE="}.get(t)
    good_line = json.dumps({k: v for k, v in good.items() if v is not None})
    lines = f"{good_line}\n{good_line}\n{line}\n{good_line}\n"
    args, out = write_args(tmp_path, _schema(*parsed), lines)
    err = refuse(args, f"parquet write with bad line ({name})")
    assert re.search(r"(?<![0-9])3(?![0-9])", err), f"message does not name line 3: {err}"
    if field:
        assert field in err, f"message does not name the field {field!r}: {err}"
    assert not out.exists(), "an output file was left behind"


@pytest.mark.parametrize("codec", ["lzo", "ZSTD2", "", "brotli-9"])
def test_unknown_codec(tmp_path, codec):
    args, out = write_args(tmp_path, GOOD_SCHEMA, '{"qty": 1}\n', ["--codec", codec])
    refuse(args, f"parquet write --codec {codec!r}")
    assert not out.exists()


def test_codec_without_value(tmp_path):
    args, out = write_args(tmp_path, GOOD_SCHEMA, '{"qty": 1}\n', ["--codec"])
    proc = run_dc(args, san=True)
    assert_crash_free(proc)
    assert proc.returncode != 0 and proc.stderr.strip()


@pytest.mark.parametrize("args", [["parquet"], ["parquet", "frobnicate", "x"],
                                  ["parquet", "write"], ["parquet", "cat"],
                                  ["parquet", "cat", "a", "b", "c"], ["no-such-command"]])
def test_usage_errors(args):
    proc = run_dc(args, san=True)
    assert_crash_free(proc, " ".join(args))
    assert proc.returncode != 0, f"{args}: exit 0"
    assert proc.stderr.strip(), f"{args}: nothing on stderr"


def test_stdin_input(tmp_path):
    """IN may be '-': the same file as from a path."""
    schema = tmp_path / "schema.json"
    schema.write_text(GOOD_SCHEMA)
    out = tmp_path / "stdin.parquet"
    src = tmp_path / "in.jsonl"
    src.write_text("".join(f'{{"qty": {i}}}\n' for i in range(100)))
    with open(src, "rb") as f:
        proc = run_dc(["parquet", "write", "--schema", schema, "-", out], stdin=f)
    assert_ok(proc, "parquet write from stdin")
    assert dc_cat(out) == [{"qty": i} for i in range(100)]
