"""Shared helpers of the interop tests: where the deltacdc binary and the
parquet-testing corpus are, how to run deltacdc, and the judges' side of the
comparison — `to_conventions` turns a pyarrow Table (read by pyarrow or DuckDB)
into the rows deltacdc prints (the JSON value conventions of
src/parquet/parquet.h), so both sides can be compared value for value.
"""
import base64
import decimal
import json
import os
import re
import struct
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]


def _find_shared() -> Path:
    """shared/ sits beside the repository (CI, /work/main); a worktree under
    /work/wt/ has it two levels up. DC_SHARED overrides."""
    if os.environ.get("DC_SHARED"):
        return Path(os.environ["DC_SHARED"])
    for cand in (REPO.parent / "shared", REPO.parent.parent / "shared"):
        if (cand / "corpus").is_dir():
            return cand
    return REPO.parent / "shared"


SHARED = _find_shared()
CORPUS = SHARED / "corpus" / "parquet-testing"

# Release binary for output comparisons; the ASan+UBSan binary (when built)
# for the robustness tests, where a memory error must not hide behind a
# "clean" exit status.
DC_BIN = Path(os.environ.get("DC_BIN", REPO / "build" / "deltacdc"))
DC_SAN_BIN = Path(os.environ.get("DC_SAN_BIN", REPO / "build-san" / "deltacdc"))

SAN_ENV = {
    "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1:allocator_may_return_null=1",
    "UBSAN_OPTIONS": "abort_on_error=1:print_stacktrace=1:halt_on_error=1",
}

DEFAULT_TIMEOUT = 120


# ------------------------------------------------------------ running deltacdc

def _binary(san: bool) -> Path:
    if san and DC_SAN_BIN.exists():
        return DC_SAN_BIN
    if not DC_BIN.exists():
        pytest.fail(f"{DC_BIN} is missing: run `make` (or scripts/setup.sh) first")
    return DC_BIN


def run_dc(args, *, san=False, timeout=DEFAULT_TIMEOUT, stdin=None, env=None):
    """Runs deltacdc with `args`; returns the CompletedProcess (bytes output).
    env: the environment (default: this process's)."""
    exe = _binary(san)
    env = dict(os.environ if env is None else env)
    if exe == DC_SAN_BIN:
        env.update(SAN_ENV)
    try:
        return subprocess.run([str(exe)] + [str(a) for a in args], stdin=stdin or subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"deltacdc {' '.join(map(str, args))} did not finish in {timeout}s (hang?)")


def stderr_text(proc) -> str:
    return proc.stderr.decode("utf-8", "replace")


def assert_ok(proc, what=""):
    """Exit 0, or fail showing deltacdc's stderr."""
    if proc.returncode != 0:
        pytest.fail(f"deltacdc {what} exited {proc.returncode}: {stderr_text(proc).strip()[:2000]}")


def assert_crash_free(proc, what=""):
    """No signal, no abort, no sanitizer report."""
    err = stderr_text(proc)
    assert proc.returncode >= 0, f"deltacdc {what} killed by signal {-proc.returncode}: {err[:2000]}"
    assert proc.returncode not in (134, 139), f"deltacdc {what} crashed ({proc.returncode}): {err[:2000]}"
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer"):
        assert marker not in err, f"deltacdc {what}: sanitizer report:\n{err[:4000]}"


def assert_clean_failure(proc, what=""):
    """A refusal as DESIGN.md wants it: non-zero exit, one line on stderr."""
    assert_crash_free(proc, what)
    err = stderr_text(proc).strip()
    assert proc.returncode != 0, f"deltacdc {what} accepted bad input (exit 0)"
    assert err, f"deltacdc {what} exited {proc.returncode} with nothing on stderr"
    assert "\n" not in err, f"deltacdc {what}: stderr is not one line:\n{err[:2000]}"
    return err


def _parse_int(s):
    """JSON "-0" is negative zero (only float columns may print it)."""
    return -0.0 if s == "-0" else int(s)


def parse_json_lines(data: bytes, what=""):
    text = data.decode("utf-8")  # the output must be valid UTF-8
    rows = []
    for i, line in enumerate(text.split("\n")):
        if line == "" and i == text.count("\n"):
            break
        try:
            rows.append(json.loads(line, parse_int=_parse_int))
        except ValueError as e:
            pytest.fail(f"deltacdc {what} output line {i + 1} is not JSON ({e}): {line[:300]!r}")
    return rows


def dc_cat(path, *, san=False, timeout=DEFAULT_TIMEOUT):
    """`deltacdc parquet cat PATH` as a list of row dicts (asserts exit 0)."""
    proc = run_dc(["parquet", "cat", path], san=san, timeout=timeout)
    assert_crash_free(proc, f"parquet cat {path}")
    assert_ok(proc, f"parquet cat {path}")
    return parse_json_lines(proc.stdout, f"parquet cat {path}")


def dc_write(schema, rows_or_path, out, tmp_path, codec=None, *, ensure_ascii=None):
    """Writes rows (JSON-convention dicts) or an existing JSONL file with
    `deltacdc parquet write`; returns the CompletedProcess."""
    schema_path = tmp_path / f"{Path(out).stem}.schema.json"
    schema_path.write_text(json.dumps(schema))
    if isinstance(rows_or_path, (str, Path)):
        jsonl = Path(rows_or_path)
    else:
        jsonl = tmp_path / f"{Path(out).stem}.jsonl"
        write_jsonl(jsonl, rows_or_path, ensure_ascii=ensure_ascii)
    args = ["parquet", "write", "--schema", schema_path, jsonl, out]
    if codec:
        args += ["--codec", codec]
    return run_dc(args)


def write_jsonl(path, rows, ensure_ascii=None):
    """One JSON object per line. ensure_ascii None alternates per row, so the
    writer sees both raw UTF-8 and \\u escapes (with surrogate pairs)."""
    with open(path, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            asc = (i % 2 == 1) if ensure_ascii is None else ensure_ascii
            f.write(json.dumps(r, ensure_ascii=asc, allow_nan=False))
            f.write("\n")


# ------------------------------------------------- pyarrow -> JSON conventions

def civil_from_days(days: int):
    """Proleptic Gregorian (y, m, d) of a day count since 1970-01-01."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def format_year(y: int) -> str:
    return f"{y:04d}" if y >= 0 else f"-{-y:04d}"


def format_date(days: int) -> str:
    y, m, d = civil_from_days(days)
    return f"{format_year(y)}-{m:02d}-{d:02d}"


_PER_SECOND = {"s": 1, "ms": 1000, "us": 1000_000, "ns": 1000_000_000}


def format_clock(ticks_in_day: int, unit: str) -> str:
    """HH:MM:SS.ffffff (9 digits for nanoseconds) of ticks since midnight."""
    per_s = _PER_SECOND[unit]
    secs, frac = divmod(ticks_in_day, per_s)
    if unit == "ns":
        frac_s = f"{frac:09d}"
    else:
        frac_s = f"{frac * (1000_000 // per_s):06d}"
    h, rem = divmod(secs, 3600)
    mi, s = divmod(rem, 60)
    return f"{h:02d}:{mi:02d}:{s:02d}.{frac_s}"


def format_timestamp(v: int, unit: str, utc: bool) -> str:
    per_day = 86400 * _PER_SECOND[unit]
    days, rem = divmod(v, per_day)
    return f"{format_date(days)}T{format_clock(rem, unit)}{'Z' if utc else ''}"


def format_float(v):
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "Infinity"
    if v == float("-inf"):
        return "-Infinity"
    return float(v)


def format_decimal(d: decimal.Decimal, scale: int) -> str:
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        q = d.quantize(decimal.Decimal(1).scaleb(-scale))
    s = format(q, "f")
    return s


def format_uuid(b: bytes) -> str:
    h = b.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _validity(arr):
    return arr.is_valid().to_pylist()


def _apply_nulls(arr, values):
    if arr.null_count == 0:
        return values
    return [v if ok else None for v, ok in zip(values, _validity(arr))]


def convert_array(arr: pa.Array, utc_naive=False) -> list:
    """One pyarrow Array as a list of JSON-convention values. utc_naive:
    print naive timestamps as UTC (columns that were INT96 in the file)."""
    t = arr.type
    if isinstance(t, pa.BaseExtensionType):
        storage = arr.storage
        if t.extension_name == "arrow.uuid":
            return [None if v is None else format_uuid(v) for v in storage.to_pylist()]
        return convert_array(storage, utc_naive)
    if pa.types.is_dictionary(t):
        return convert_array(arr.dictionary_decode(), utc_naive)
    if pa.types.is_null(t):
        return [None] * len(arr)
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return arr.to_pylist()
    if pa.types.is_floating(t):
        return [None if v is None else format_float(v) for v in arr.to_pylist()]
    if pa.types.is_decimal(t):
        return [None if v is None else format_decimal(v, t.scale) for v in arr.to_pylist()]
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.to_pylist()
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or pa.types.is_binary_view(t)):
        return [None if v is None else b64(v) for v in arr.to_pylist()]
    if pa.types.is_date32(t):
        ints = arr.cast(pa.int32()).to_pylist()
        return [None if v is None else format_date(v) for v in ints]
    if pa.types.is_date64(t):
        ints = arr.cast(pa.int64()).to_pylist()
        return [None if v is None else format_date(v // 86400_000) for v in ints]
    if pa.types.is_timestamp(t):
        ints = arr.cast(pa.int64()).to_pylist()
        utc = t.tz is not None or utc_naive
        return [None if v is None else format_timestamp(v, t.unit, utc) for v in ints]
    if pa.types.is_time32(t) or pa.types.is_time64(t):
        ints = arr.cast(pa.int64() if pa.types.is_time64(t) else pa.int32()).to_pylist()
        return [None if v is None else format_clock(v, t.unit) for v in ints]
    if pa.types.is_struct(t):
        names = [t.field(i).name for i in range(t.num_fields)]
        cols = [convert_array(arr.field(i), utc_naive) for i in range(t.num_fields)]
        rows = [dict(zip(names, vals)) for vals in zip(*cols)] if cols else [{} for _ in range(len(arr))]
        return _apply_nulls(arr, rows)
    if pa.types.is_map(t):
        entries = arr.values
        keys = convert_array(entries.field(0), utc_naive)
        items = convert_array(entries.field(1), utc_naive)
        offs = arr.offsets.to_pylist()
        rows = [[{"key": keys[j], "value": items[j]} for j in range(offs[i], offs[i + 1])]
                for i in range(len(arr))]
        return _apply_nulls(arr, rows)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        vals = convert_array(arr.values, utc_naive)
        offs = arr.offsets.to_pylist()
        rows = [vals[offs[i]:offs[i + 1]] for i in range(len(arr))]
        return _apply_nulls(arr, rows)
    if pa.types.is_fixed_size_list(t):
        vals = convert_array(arr.flatten(), utc_naive)
        n = t.list_size
        rows = []
        pos = 0
        for ok in _validity(arr):
            if ok:
                rows.append(vals[pos:pos + n])
                pos += n
            else:
                rows.append(None)
        return rows
    raise NotImplementedError(f"to_conventions: no conversion for arrow type {t}")


def to_conventions(table: pa.Table, utc_columns=()) -> list:
    """A pyarrow Table as the list of row dicts `deltacdc parquet cat` prints.
    utc_columns: top-level columns whose naive timestamps are UTC instants
    (INT96 columns, which pyarrow reads as naive)."""
    names = table.schema.names
    cols = []
    for i, name in enumerate(names):
        values = []
        for chunk in table.column(i).chunks:
            values.extend(convert_array(chunk, utc_naive=name in utc_columns))
        cols.append(values)
    return [dict(zip(names, vals)) for vals in zip(*cols)] if cols else [{} for _ in range(table.num_rows)]


def int96_columns(path) -> set:
    """Top-level names of columns stored as INT96 (Spark reads them as UTC)."""
    schema = pq.ParquetFile(path).schema
    return {schema.column(j).path.split(".")[0] for j in range(len(schema))
            if schema.column(j).physical_type == "INT96"}


def pyarrow_read(path) -> pa.Table:
    return pq.read_table(path, coerce_int96_timestamp_unit="us")


class Unjudged:
    """An expected value no judge can give: pyarrow 26 overflows converting
    INT96 timestamps beyond the int64-nanosecond range (years past 2262)
    whatever unit it is asked for, and DuckDB refuses them. Such a cell is
    only checked to be a well-formed UTC timestamp; it is found by reading
    the column in three units and seeing them disagree, never assumed."""
    TIMESTAMP = re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def __init__(self, why):
        self.why = why

    def matches(self, v):
        return isinstance(v, str) and bool(self.TIMESTAMP.match(v))

    def __repr__(self):
        return f"<unjudged: {self.why}>"


def _int96_overflows(path, names):
    """{(column, row)} where pyarrow's INT96 readings in us/ms/s disagree."""
    out = set()
    if not names:
        return out
    reads = {u: pq.read_table(path, columns=sorted(names), coerce_int96_timestamp_unit=u)
             for u in ("us", "ms", "s")}
    for name in names:
        us, ms, s = (reads[u].column(name).cast(pa.int64()).to_pylist() for u in ("us", "ms", "s"))
        for i, (a, b, c) in enumerate(zip(us, ms, s)):
            if a is not None and not (a // 1000 == b and b // 1000 == c):
                out.add((name, i))
    return out


def pyarrow_rows(path):
    """(rows in JSON conventions, arrow schema) of a file as pyarrow reads it."""
    table = pyarrow_read(path)
    int96 = int96_columns(path)
    rows = to_conventions(table, int96)
    top_level_ts = {n for n in int96 if pa.types.is_timestamp(table.schema.field(n).type)}
    for name, i in _int96_overflows(path, top_level_ts):
        rows[i][name] = Unjudged(f"pyarrow overflows INT96 {name}[{i}]")
    return rows, table.schema


def duckdb_table(path) -> pa.Table:
    import duckdb
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        return con.sql("select * from read_parquet($1)", params=[str(path)]).to_arrow_table()
    finally:
        con.close()


def duckdb_rows(path):
    table = duckdb_table(path)
    return to_conventions(table), table.schema


# --------------------------------------------------------------- comparison

def _round_float(v, fmt):
    try:
        return struct.unpack(fmt, struct.pack(fmt, v))[0]
    except (OverflowError, struct.error):
        return v


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _normalizer(t: pa.DataType):
    """A function bringing a JSON value of arrow type t to the precision of
    that type (float32/float16 rounded, integers in float columns made floats),
    or None when values of t need nothing. Built once per schema: the
    comparison runs over millions of values."""
    if isinstance(t, pa.BaseExtensionType):
        return None if t.extension_name == "arrow.uuid" else _normalizer(t.storage_type)
    if pa.types.is_dictionary(t):
        return _normalizer(t.value_type)
    if pa.types.is_floating(t):
        fmt = {pa.float32(): "<f", pa.float16(): "<e"}.get(t)
        if fmt:
            return lambda v: _round_float(float(v), fmt) if _is_number(v) else v
        return lambda v: float(v) if _is_number(v) else v
    if pa.types.is_struct(t):
        subs = {t.field(i).name: _normalizer(t.field(i).type) for i in range(t.num_fields)}
        subs = {k: f for k, f in subs.items() if f}
        if not subs:
            return None

        def norm_struct(v):
            if not isinstance(v, dict):
                return v
            return {k: (subs[k](x) if k in subs and x is not None else x) for k, x in v.items()}
        return norm_struct
    if pa.types.is_map(t):
        kf, vf = _normalizer(t.key_type), _normalizer(t.item_type)
        if not kf and not vf:
            return None
        kf = kf or (lambda x: x)
        vf = vf or (lambda x: x)

        def norm_map(v):
            if not isinstance(v, list):
                return v
            return [{"key": None if e["key"] is None else kf(e["key"]),
                     "value": None if e["value"] is None else vf(e["value"])}
                    if isinstance(e, dict) and list(e) == ["key", "value"] else e for e in v]
        return norm_map
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        ef = _normalizer(t.value_type)
        if not ef:
            return None
        return lambda v: [None if x is None else ef(x) for x in v] if isinstance(v, list) else v
    return None


def normalize_value(v, t: pa.DataType):
    f = _normalizer(t)
    return v if f is None or v is None else f(v)


def normalize_rows(rows, schema: pa.Schema):
    funcs = {f.name: _normalizer(f.type) for f in schema}
    funcs = {k: f for k, f in funcs.items() if f}
    if not funcs:
        return rows
    out = []
    for r in rows:
        if isinstance(r, dict):
            out.append({k: (funcs[k](v) if k in funcs and v is not None else v)
                        for k, v in r.items()})
        else:
            out.append(r)
    return out


def _dumps(v):
    """Canonical text: tells 1 from 1.0 from true, -0.0 from 0.0, keeps
    member order; a fast exact-equality test."""
    return json.dumps(v, ensure_ascii=False, allow_nan=True, default=repr)


def strict_equal(a, b) -> bool:
    """JSON equality that tells bool from int and int from float, and keeps
    the order of object members (structs print in schema order)."""
    if isinstance(b, Unjudged):
        return b.matches(a)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return a == b


def first_difference(a, b, path=""):
    if isinstance(b, Unjudged):
        return None if b.matches(a) else f"{path or '.'}: {a!r:.200} vs {b!r}"
    if type(a) is not type(b):
        return f"{path or '.'}: {a!r:.200} vs {b!r:.200}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path or '.'}: members {list(a)} vs {list(b)}"
        for k in a:
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path or '.'}: {len(a)} elements vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path or '.'}: {a!r:.200} vs {b!r:.200}"


def assert_rows_equal(actual, expected, schema: pa.Schema, what="", actual_name="deltacdc",
                      expected_name="expected"):
    """Same rows in the same order (floats compared at their column's width)."""
    actual = normalize_rows(actual, schema)
    expected = normalize_rows(expected, schema)
    if len(actual) != len(expected):
        pytest.fail(f"{what}: {actual_name} has {len(actual)} rows, {expected_name} {len(expected)}")
    bad = []
    per_column = {}
    for i, (a, e) in enumerate(zip(actual, expected)):
        if _dumps(a) == _dumps(e) or strict_equal(a, e):
            continue
        if isinstance(a, dict) and isinstance(e, dict) and list(a) == list(e):
            for k in a:
                if not strict_equal(a[k], e[k]):
                    n, first = per_column.get(k, (0, None))
                    per_column[k] = (n + 1, first or f"row {i}: {first_difference(a[k], e[k], k)}")
        if len(bad) < 5:
            bad.append(f"row {i}: {first_difference(a, e)} ({actual_name} vs {expected_name})")
    if bad:
        n_bad = sum(1 for a, e in zip(actual, expected)
                    if _dumps(a) != _dumps(e) and not strict_equal(a, e))
        msg = f"{what}: {n_bad} of {len(actual)} rows differ ({actual_name} vs {expected_name})"
        if per_column:
            msg += "\n  columns that differ:\n    " + "\n    ".join(
                f"{k}: {n} rows, first {first}" for k, (n, first) in per_column.items())
        pytest.fail(msg + "\n  first rows:\n    " + "\n    ".join(bad))
