#!/usr/bin/env python3
"""bench/delta: snapshot load of a table with 100k files, without and with a
checkpoint, deltacdc against delta-rs (`deltalake`) in one run; prints the
times and the ratio (delta-rs time / deltacdc time: above 1 means deltacdc
is faster).

    python3 bench/delta/run.py [--files 100000] [--per-commit 1000] [--repeat 3]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build():
    subprocess.run(["make", "-s", "-C", str(ROOT), "build/libdeltacdc.a"], check=True)
    libs = subprocess.run(["pkg-config", "--libs", "libzstd", "snappy", "zlib", "liblz4",
                           "libbrotlidec", "libbrotlienc"], capture_output=True, text=True,
                          check=True).stdout.split()
    exe = ROOT / "build" / "bench_snapshot"
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-o", str(exe),
                    str(ROOT / "bench/delta/bench_snapshot.c"), str(ROOT / "build/libdeltacdc.a"),
                    *libs, "-lroaring", "-lm"], check=True)
    return exe


def dc_load(exe, table, repeat):
    out = subprocess.run([str(exe), "load", str(table), str(repeat)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def rs_load(table, repeat):
    from deltalake import DeltaTable
    best, files = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        dt = DeltaTable(str(table))
        files = len(dt.file_uris())
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best, files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--per-commit", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    exe = build()
    tmp = Path(tempfile.mkdtemp(prefix="dc_bench_delta_"))
    try:
        table = tmp / "t"
        t0 = time.perf_counter()
        subprocess.run([str(exe), "create", str(table), str(a.files), str(a.per_commit)], check=True)
        print(f"built a table of {a.files} files in {a.files // a.per_commit} commits "
              f"({time.perf_counter() - t0:.1f} s)")
        for label in ("JSON commits only", "with a checkpoint"):
            if label == "with a checkpoint":
                t0 = time.perf_counter()
                out = subprocess.run([str(exe), "checkpoint", str(table)], capture_output=True,
                                     text=True, check=True).stdout.split()
                print(f"checkpoint of version {out[0]}: {int(out[1]) / 1e6:.1f} MB in "
                      f"{time.perf_counter() - t0:.2f} s")
            dc_ms, dc_files = dc_load(exe, table, a.repeat)
            rs_ms, rs_files = rs_load(table, a.repeat)
            assert dc_files == rs_files == a.files, (dc_files, rs_files)
            print(f"{label:18s}: deltacdc {dc_ms:9.1f} ms   delta-rs {rs_ms:9.1f} ms   "
                  f"ratio {rs_ms / dc_ms:5.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
