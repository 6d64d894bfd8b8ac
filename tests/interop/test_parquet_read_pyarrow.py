"""deltacdc reads what pyarrow and DuckDB write.

The data of the write tests (every Delta type, nested shapes, null patterns)
plus types only foreign files carry (unsigned ints, float16, time, uuid,
nanosecond and millisecond timestamps, other time zones, large and fixed
binaries, null and dictionary columns) are written by pyarrow under many
writer settings (codecs, dictionary on/off, page format v1/v2, byte stream
split, delta encodings, tiny pages, many row groups, INT96, legacy format 1.0)
and by DuckDB; `deltacdc parquet cat` must print exactly what pyarrow reads.
"""
import os
import random
import uuid
from functools import lru_cache

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import datagen as g
from conftest import (assert_clean_failure, assert_rows_equal, dc_cat, duckdb_rows,
                      parse_json_lines, pyarrow_rows, run_dc)

N_ROWS = int(os.environ.get("DC_INTEROP_READ_ROWS", "2000"))


def extra_columns(n, seed=5):
    """Columns of types that Delta has not, as (name, arrow array)."""
    rng = random.Random(seed)

    def maybe(v):
        return None if rng.random() < 0.2 else v
    ns_lo, ns_hi = -(2 ** 63) + 1, 2 ** 63 - 1
    out = [
        ("u8", pa.array([maybe(rng.choice([0, 255, rng.randint(0, 255)])) for _ in range(n)],
                        pa.uint8())),
        ("u16", pa.array([maybe(rng.randint(0, 65535)) for _ in range(n)], pa.uint16())),
        ("u32", pa.array([maybe(rng.choice([0, 2 ** 32 - 1, rng.randint(0, 2 ** 32 - 1)]))
                          for _ in range(n)], pa.uint32())),
        ("u64", pa.array([maybe(rng.choice([0, 2 ** 64 - 1, 2 ** 63, rng.randint(0, 2 ** 64 - 1)]))
                          for _ in range(n)], pa.uint64())),
        ("f16", pa.array([maybe(rng.choice([0.0, -0.0, 1.5, 65504.0, -65504.0, 6e-08,
                                            float("nan"), float("inf"), rng.uniform(-100, 100)]))
                          for _ in range(n)], pa.float16())),
        ("time_ms", pa.array([maybe(rng.randint(0, 86400_000 - 1)) for _ in range(n)],
                             pa.time32("ms"))),
        ("time_us", pa.array([maybe(rng.randint(0, 86400_000_000 - 1)) for _ in range(n)],
                             pa.time64("us"))),
        ("time_ns", pa.array([maybe(rng.randint(0, 86400_000_000_000 - 1)) for _ in range(n)],
                             pa.time64("ns"))),
        ("ts_ms_utc", pa.array([maybe(rng.randint(-(10 ** 14), 10 ** 14)) for _ in range(n)],
                               pa.int64()).cast(pa.timestamp("ms", tz="UTC"))),
        ("ts_ns_utc", pa.array([maybe(rng.randint(ns_lo, ns_hi)) for _ in range(n)],
                               pa.int64()).cast(pa.timestamp("ns", tz="UTC"))),
        ("ts_ns_naive", pa.array([maybe(rng.randint(ns_lo, ns_hi)) for _ in range(n)],
                                 pa.int64()).cast(pa.timestamp("ns"))),
        ("ts_us_new_york", pa.array([maybe(rng.randint(-(10 ** 17), 10 ** 17)) for _ in range(n)],
                                    pa.int64()).cast(pa.timestamp("us", tz="America/New_York"))),
        ("uuid", pa.array([maybe(uuid.UUID(int=rng.getrandbits(128)).bytes) for _ in range(n)],
                          pa.uuid())),
        ("large_string", pa.array([maybe(g.rand_string(rng)) for _ in range(n)], pa.large_string())),
        ("large_binary", pa.array([maybe(rng.randbytes(rng.randint(0, 30))) for _ in range(n)],
                                  pa.large_binary())),
        ("fixed7", pa.array([maybe(rng.randbytes(7)) for _ in range(n)], pa.binary(7))),
        ("null_col", pa.nulls(n)),
        ("dict_string", pa.array([maybe(rng.choice(["x", "yy", "zzz", ""])) for _ in range(n)],
                                 pa.string()).dictionary_encode()),
        ("list_u16", pa.array([maybe([rng.randint(0, 65535) for _ in range(rng.randint(0, 3))])
                               for _ in range(n)], pa.list_(pa.uint16()))),
    ]
    return out


@lru_cache(maxsize=None)
def base_table():
    cols = g.all_columns()
    rows, _ = g.make_rows(cols, N_ROWS, seed=11)
    t = g.arrow_table(cols, rows)
    for name, a in extra_columns(N_ROWS):
        t = t.append_column(pa.field(name, a.type, True), a)
    return t


def physical(t: pa.DataType, dec_as_int: bool) -> str:
    if pa.types.is_dictionary(t):
        return physical(t.value_type, dec_as_int)
    if isinstance(t, pa.BaseExtensionType) or pa.types.is_fixed_size_binary(t) or t == pa.float16():
        return "FIXED_LEN_BYTE_ARRAY"
    if pa.types.is_decimal(t):
        if dec_as_int and t.precision <= 9:
            return "INT32"
        if dec_as_int and t.precision <= 18:
            return "INT64"
        return "FIXED_LEN_BYTE_ARRAY"
    if t in (pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32(),
             pa.date32()) or pa.types.is_time32(t):
        return "INT32"
    if t in (pa.int64(), pa.uint64()) or pa.types.is_timestamp(t) or pa.types.is_time64(t):
        return "INT64"
    if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) \
            or pa.types.is_large_binary(t):
        return "BYTE_ARRAY"
    return {pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN"}.get(t, "OTHER")


def columns_of(table, physicals, dec_as_int=False):
    # pyarrow cannot read delta-encoded pages back into a dictionary column
    return [f.name for f in table.schema if physical(f.type, dec_as_int) in physicals
            and not pa.types.is_dictionary(f.type)]


def _bss(table):
    return {"use_dictionary": False,
            "use_byte_stream_split": columns_of(table, {"FLOAT", "DOUBLE", "INT32", "INT64",
                                                        "FIXED_LEN_BYTE_ARRAY"})}


def _delta(table, byte_array_encoding):
    enc = {c: "DELTA_BINARY_PACKED" for c in columns_of(table, {"INT32", "INT64"}, True)}
    enc.update({c: byte_array_encoding for c in columns_of(table, {"BYTE_ARRAY"})})
    return {"use_dictionary": False, "column_encoding": enc, "store_decimal_as_integer": True}


# id -> function(table) -> pq.write_table keyword arguments
VARIANTS = {
    "zstd": lambda t: {"compression": "zstd"},
    "snappy": lambda t: {"compression": "snappy"},
    "gzip": lambda t: {"compression": "gzip"},
    "none": lambda t: {"compression": "none"},
    "lz4_raw": lambda t: {"compression": "lz4"},
    "brotli": lambda t: {"compression": "brotli"},
    "plain": lambda t: {"use_dictionary": False},
    "v2_pages": lambda t: {"data_page_version": "2.0", "compression": "zstd"},
    "v2_pages_plain_none": lambda t: {"data_page_version": "2.0", "use_dictionary": False,
                                      "compression": "none"},
    "byte_stream_split": lambda t: dict(_bss(t), compression="zstd"),
    "byte_stream_split_v2": lambda t: dict(_bss(t), data_page_version="2.0"),
    "delta_byte_array": lambda t: dict(_delta(t, "DELTA_BYTE_ARRAY"), data_page_version="2.0"),
    "delta_length_byte_array": lambda t: dict(_delta(t, "DELTA_LENGTH_BYTE_ARRAY")),
    "tiny_pages_many_row_groups": lambda t: {"data_page_size": 512, "row_group_size": 300,
                                             "write_page_index": True,
                                             "write_page_checksum": True},
    "tiny_pages_v2": lambda t: {"data_page_size": 700, "row_group_size": 777,
                                "data_page_version": "2.0", "compression": "gzip"},
    "max_rows_per_page": lambda t: {"max_rows_per_page": 37, "compression": "snappy"},
    "dictionary_fallback": lambda t: {"dictionary_pagesize_limit": 2048},
    "decimals_as_integers": lambda t: {"store_decimal_as_integer": True},
    "int96_timestamps": lambda t: {"use_deprecated_int96_timestamps": True},
    "format_1_0_legacy_lists": lambda t: {"version": "1.0", "use_compliant_nested_type": False,
                                          "coerce_timestamps": "us",
                                          "allow_truncated_timestamps": True},
    "format_2_4": lambda t: {"version": "2.4", "coerce_timestamps": "us",
                             "allow_truncated_timestamps": True},
    "no_statistics": lambda t: {"write_statistics": False},
}


def _check(path, fallback_duckdb=False):
    """deltacdc prints what pyarrow reads. For DuckDB's own files that pyarrow
    refuses (DuckDB's V2 writer gives INT32 DELTA_BINARY_PACKED miniblocks a
    bit width of 33; pyarrow 26: "delta bit width larger than integer bit
    width"), deltacdc may refuse cleanly too, or must print what DuckDB reads."""
    try:
        expected, schema = pyarrow_rows(path)
    except (pa.ArrowException, OSError):
        if not fallback_duckdb:
            raise
        proc = run_dc(["parquet", "cat", path])
        if proc.returncode != 0:
            assert_clean_failure(proc, f"parquet cat {path.name}")
            return
        expected, schema = duckdb_rows(path)
        actual = parse_json_lines(proc.stdout, f"parquet cat {path.name}")
        assert_rows_equal(actual, expected, schema, path.name, "deltacdc", "duckdb")
        return
    assert_rows_equal(dc_cat(path), expected, schema, path.name, "deltacdc", "pyarrow")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_pyarrow_written(tmp_path, variant):
    table = base_table()
    kwargs = VARIANTS[variant](table)
    if variant == "int96_timestamps":
        # INT96 holds nanoseconds since 4713 BC: keep timestamps it can carry
        table = table.drop_columns(["ts_ns_utc", "ts_ns_naive"])
    path = tmp_path / f"{variant}.parquet"
    pq.write_table(table, path, **kwargs)
    _check(path)


def test_pyarrow_written_arrow_schema_absent(tmp_path):
    """Without the ARROW:schema footer entry pyarrow reads only Parquet's types."""
    path = tmp_path / "no_arrow_schema.parquet"
    pq.write_table(base_table(), path, store_schema=False)
    _check(path)


def test_pyarrow_written_empty_and_single_row(tmp_path):
    t = base_table()
    for name, sub in (("empty", t.slice(0, 0)), ("one", t.slice(5, 1))):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(sub, path)
        _check(path)


def test_pyarrow_written_all_null_pages(tmp_path):
    """Row groups and pages where every value is null."""
    n = 5000
    t = pa.table({"i": pa.array([None] * 2000 + list(range(n - 2000)), pa.int64()),
                  "s": pa.array([None] * n, pa.string()),
                  "l": pa.array([None] * 1000 + [[1, None]] * (n - 1000), pa.list_(pa.int32()))})
    path = tmp_path / "null_pages.parquet"
    pq.write_table(t, path, data_page_size=256, row_group_size=1000, write_page_index=True)
    _check(path)


# ----------------------------------------------------------------- DuckDB

DUCK_TYPES_SQL = """
select
  i::BIGINT as id,
  (i % 256 - 128)::TINYINT as tiny,
  (i * 37 % 65536 - 32768)::SMALLINT as small,
  case when i % 7 = 0 then null else (i * 2654435761 % 4294967296 - 2147483648)::INTEGER end as int32,
  hash(i) as ubig,
  case when i % 5 = 0 then null else (i * 1.1)::DOUBLE end as dbl,
  (i / 3.0)::FLOAT as flt,
  (i * 12345.678)::DECIMAL(18,3) as dec18,
  (i * 1.5)::DECIMAL(9,1) as dec9,
  (i * 98765432109876.54321)::DECIMAL(38,5) as dec38,
  ('s' || (i % 100)::VARCHAR) as low_card,
  case when i % 3 = 0 then null else md5(i::VARCHAR) end as high_card,
  ('1970-01-01'::DATE + (i * 37 % 100000 - 50000)::INTEGER) as dt,
  ('2000-01-01 00:00:00'::TIMESTAMP + to_microseconds(i * 1234567891)) as ts,
  ('2000-01-01 00:00:00+00'::TIMESTAMPTZ + to_microseconds(i * 987654321)) as tstz,
  ('12:00:00'::TIME + to_microseconds(i * 1000)) as tm,
  (i % 2 = 0) as b,
  md5(i::VARCHAR)::BLOB as blb,
  case when i % 4 = 0 then null else [i, null, i + 1] end as lst,
  case when i % 6 = 0 then null else {'a': i, 'b': md5(i::VARCHAR), 'c': [i % 3]} end as strct,
  case when i % 8 = 0 then null else map([('k' || i::VARCHAR)], [i]) end as mp,
  [[i], [], null] as nested_list,
  gen_random_uuid() as u
from range(0, {n}) t(i)
"""


@pytest.mark.parametrize("options", [
    "COMPRESSION zstd",
    "COMPRESSION snappy",
    "COMPRESSION gzip",
    "COMPRESSION uncompressed",
    "COMPRESSION zstd, PARQUET_VERSION V2",
    "COMPRESSION snappy, PARQUET_VERSION V2, ROW_GROUP_SIZE 1000",
    "COMPRESSION lz4, ROW_GROUP_SIZE 2048",
])
def test_duckdb_written(tmp_path, options):
    import duckdb
    path = tmp_path / "duck.parquet"
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.execute("select setseed(0.5)")
        sql = DUCK_TYPES_SQL.replace("{n}", str(N_ROWS * 3))
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, {options})")
    finally:
        con.close()
    _check(path, fallback_duckdb=True)


def test_duckdb_written_generated_data(tmp_path):
    """The write tests' data, written by DuckDB from an Arrow table."""
    import duckdb
    t = base_table().select([c.name for c in g.all_columns()])
    path = tmp_path / "duck_gen.parquet"
    con = duckdb.connect()
    try:
        con.register("t", t)
        con.execute(f"COPY t TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    _check(path)
