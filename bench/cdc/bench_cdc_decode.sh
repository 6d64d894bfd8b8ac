#!/bin/sh
# Builds bench/cdc/bench_cdc_decode.c with -O2 (no sanitizers) against
# build/libdeltacdc.a and prints records/s and MB/s of dc_cdc_decode.
#   bench/cdc/bench_cdc_decode.sh [SECONDS_PER_CASE]
set -e
cd "$(dirname "$0")/../.."
make -s build/libdeltacdc.a
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -o build/bench_cdc_decode \
    bench/cdc/bench_cdc_decode.c build/libdeltacdc.a -lm
exec build/bench_cdc_decode "${1:-2}" examples/debezium/sample.jsonl
