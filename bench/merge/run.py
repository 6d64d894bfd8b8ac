#!/usr/bin/env python3
"""bench/merge: latency of a 10k-event batch (90% updates of random existing
keys, 10% inserts) into raw dv tables of 1M, 10M and 50M rows, the 50M/1M
ratio (target <= 1.5), the key index's bytes per row (target <= 24), the
time to open a table and build its index, and a restart: each table's index
is persisted after the batches, then each table is opened again in a fresh
process that loads it (target <= 3 s for 50M rows), its peak RSS printed
per row (with --restart-build, also a restart that builds instead). The tables
are open in one process and their batches interleaved, so every size sees
the same machine load; wall and CPU medians are printed.

Tables are generated quickly (Parquet files of 1M rows written directly, one
row group each, committed as adds in one commit: 50M rows = 50 files).

    python3 bench/merge/run.py [--sizes 1,10,50] [--batches 7] [--events 10000]
                               [--keep DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build():
    subprocess.run(["make", "-s", "-j2", "-C", str(ROOT), "build/libdeltacdc.a"], check=True)
    # the library's own dependencies (storage needs libcurl and libcrypto): the Makefile's
    pkgs = ["libzstd", "snappy", "zlib", "liblz4", "libbrotlidec", "libbrotlienc", "rdkafka",
            "yaml-0.1", "libcurl", "libcrypto", "libmicrohttpd", "libmariadb"]
    libs = subprocess.run(["pkg-config", "--libs", *pkgs], capture_output=True, text=True,
                          check=True).stdout.split()
    exe = ROOT / "build" / "bench_merge"
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-o", str(exe), str(ROOT / "bench/merge/bench_merge.c"),
                    str(ROOT / "build/libdeltacdc.a"), *libs, "-lroaring", "-lm", "-pthread"], check=True)
    return exe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,10,50", help="table sizes in millions of rows")
    ap.add_argument("--batches", type=int, default=7, help="measured batches per size")
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--updates", type=int, default=90, help="percent of updates")
    ap.add_argument("--keep", help="generate tables under this directory and keep them")
    ap.add_argument("--restart-build", action="store_true",
                    help="also time a restart that builds the index (and its peak RSS)")
    a = ap.parse_args()
    exe = build()
    base = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="dc_bench_merge_"))
    base.mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in a.sizes.split(",")]
    try:
        tables = []
        for m in sizes:
            table = base / f"t{m}m"
            if not (table / "_delta_log").exists():
                subprocess.run([str(exe), "gen", str(table), str(m * 1_000_000), "1000000"],
                               check=True)
            tables.append(str(table))
        out = subprocess.run([str(exe), "run", str(a.batches), str(a.events), str(a.updates),
                              *tables], capture_output=True, text=True, check=True)
        res, cpu = {}, {}
        for m, line in zip(sizes, out.stdout.splitlines()):
            rows, open_s, open_cpu, bpr, med, lo, hi, med_cpu, persist_s = line.split()
            res[m], cpu[m] = float(med), float(med_cpu)
            print(f"{int(rows):>10,} rows: batch of {a.events} events median {float(med):6.1f} ms "
                  f"wall (min {float(lo):.1f}, max {float(hi):.1f}), {float(med_cpu):5.1f} ms cpu; "
                  f"open + index build {float(open_s):5.2f} s wall, {float(open_cpu):5.2f} s cpu; "
                  f"index {float(bpr):.2f} bytes/row; index file written in "
                  f"{float(persist_s):.2f} s", flush=True)
        for m, table in zip(sizes, tables):
            for how in (["load", "build"] if a.restart_build else ["load"]):
                args = [str(exe), "restart", table] + (["build"] if how == "build" else [])
                o = subprocess.run(args, capture_output=True, text=True, check=True).stdout
                rows, open_s, open_cpu, loaded, peak = o.split()
                print(f"{int(rows):>10,} rows: restart ({how}) ready in {float(open_s):5.2f} s wall, "
                      f"{float(open_cpu):5.2f} s cpu, {'loaded' if loaded == '1' else 'built'}, "
                      f"peak RSS {int(peak) / 2**20:.0f} MiB = {int(peak) / int(rows):.1f} "
                      f"bytes/row", flush=True)
        if 1 in res and len(res) > 1:
            big = max(res)
            print(f"ratio {big}M/1M batch latency: {res[big] / res[1]:.2f} wall, "
                  f"{cpu[big] / cpu[1]:.2f} cpu (target <= 1.5)")
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    sys.exit(main())
