#!/usr/bin/env bash
# Runs every test stage of deltacdc and keeps going past a failing stage:
#   setup, unit tests, unit tests under ASan+UBSan, the threaded unit tests
#   under TSan, fuzz corpus replay,
#   lint (layering), interop tests (pytest: pyarrow/DuckDB as judges).
# Ends with one line "N passed, N failed" summing the unit-test counts of both
# runs, pytest's counts, and fuzz replay / lint as one check each; exits
# non-zero when anything failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LOGS=build/test-logs
mkdir -p "$LOGS"
PASSED=0
FAILED=0
SKIPPED=0
declare -a REPORT=()

stage() { echo; echo "==== $* ===="; }
note() { REPORT+=("$1"); }

# Runs "$@" with output shown and saved in $LOGS/$name.log; returns its status.
run_logged() {
    local name="$1"; shift
    "$@" 2>&1 | tee "$LOGS/$name.log"
    return "${PIPESTATUS[0]}"
}

# Adds a pass/fail check that counts as one test.
one_check() {
    local name="$1" rc="$2"
    if [[ "$rc" -eq 0 ]]; then
        PASSED=$((PASSED + 1)); note "$name: ok"
    else
        FAILED=$((FAILED + 1)); note "$name: FAILED (exit $rc)"
    fi
}

# Unit-test stage: build target, run binary (with an optional name filter),
# add its "N passed, N failed".
unit_stage() {
    local name="$1" target="$2" filter="${3:-}" rc line p f
    stage "$name"
    run_logged "$name-build" make -j2 "$target"
    rc=$?
    if [[ $rc -ne 0 ]]; then
        FAILED=$((FAILED + 1)); note "$name: build FAILED (exit $rc)"
        return
    fi
    # UNIT_SHARDS processes, each running every Nth test: most of a unit
    # run is waiting (Kafka's mock cluster, retry pauses), not CPU.
    local k pids=() sp=0 sf=0 bad=0 krc
    for ((k = 0; k < UNIT_SHARDS; k++)); do
        UBSAN_OPTIONS=print_stacktrace=1 TSAN_OPTIONS=halt_on_error=1 DC_TEST_SHARD="$k/$UNIT_SHARDS" \
            "./$target" $filter >"$LOGS/$name.$k.log" 2>&1 &
        pids+=($!)
    done
    rc=0
    : >"$LOGS/$name.log"
    for ((k = 0; k < UNIT_SHARDS; k++)); do
        wait "${pids[$k]}"; krc=$?
        cat "$LOGS/$name.$k.log" | tee -a "$LOGS/$name.log"
        line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOGS/$name.$k.log" | tail -n 1)"
        if [[ -z "$line" ]]; then
            bad=$((bad + 1)); echo "test.sh: $name shard $k: no summary line (exit $krc; crashed?)"
            continue
        fi
        p="${line%% passed*}"
        f="${line#*passed, }"; f="${f%% failed*}"
        # A runner that exits non-zero with no failed test (a crash after the
        # summary, a leak report from ASan) still counts as one failure.
        if [[ $krc -ne 0 && $f -eq 0 ]]; then f=1; fi
        if [[ $krc -ne 0 ]]; then rc=$krc; fi
        sp=$((sp + p)); sf=$((sf + f))
    done
    rm -f "$LOGS/$name".[0-9]*.log
    sf=$((sf + bad))
    PASSED=$((PASSED + sp)); FAILED=$((FAILED + sf))
    note "$name: $sp passed, $sf failed (exit $rc, $UNIT_SHARDS shards)"
}

# Interop stage: pytest with a JUnit report, counts read from it.
pytest_stage() {
    local xml="$LOGS/interop-junit.xml" rc counts p f s
    stage "interop (pytest)"
    # The robustness tests run the ASan+UBSan binary when it is there.
    run_logged interop-build make -j2 build/deltacdc build-san/deltacdc build-tsan/deltacdc \
        || echo "test.sh: building the deltacdc binaries failed; interop tests will say why"
    rm -f "$xml"
    run_logged interop .venv/bin/python -m pytest -q -rfEx --junitxml="$xml" tests/interop
    rc=$?
    if [[ ! -s "$xml" ]]; then
        FAILED=$((FAILED + 1)); note "interop: no JUnit report (pytest exit $rc)"
        return
    fi
    counts="$(.venv/bin/python - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
    s += int(su.get("skipped", 0))
print(t - f - s, f, s)
PY
)"
    read -r p f s <<<"$counts"
    # Exit 5 is "no tests collected": the interop suite must never be empty.
    if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
    note "interop: $p passed, $f failed, $s skipped/xfailed (pytest exit $rc)"
}

# Unit-test processes run at once (DC_TEST_SHARD); 1 runs them one by one.
UNIT_SHARDS="${UNIT_SHARDS:-4}"

START=$(date +%s)

stage "setup"
run_logged setup ./scripts/setup.sh
rc=$?
if [[ $rc -ne 0 ]]; then one_check setup "$rc"; fi

unit_stage unit build/unit_tests
unit_stage unit-san build-san/unit_tests
# The threaded paths (ingest.threads) under ThreadSanitizer: the unit tests
# whose names hold "thread" only (all of them under TSan would add minutes);
# tests/interop/test_ingest_threads.py runs build-tsan/deltacdc.
unit_stage unit-tsan build-tsan/unit_tests thread

stage "fuzz-replay"
run_logged fuzz-replay make -j2 fuzz-replay
one_check fuzz-replay $?

stage "lint"
run_logged lint make lint
one_check lint $?

if [[ -x .venv/bin/python ]]; then
    pytest_stage
else
    FAILED=$((FAILED + 1)); note "interop: no .venv (setup failed)"
fi

echo
echo "==== summary ($(( $(date +%s) - START ))s) ===="
for r in "${REPORT[@]}"; do echo "  $r"; done
[[ $SKIPPED -gt 0 ]] && echo "  ($SKIPPED interop tests skipped or xfailed, counted as neither)"
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
