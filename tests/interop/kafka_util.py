"""Producing to Kafka from the tests and benchmarks: kafka_produce.c (a
small librdkafka producer, built on first use into build/) fed with
"PARTITION<TAB>KEY<TAB>VALUE" lines."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = Path(__file__).resolve().parent / "kafka_produce.c"
EXE = REPO / "build" / "kafka_produce"


def producer_exe() -> Path:
    if not EXE.exists() or EXE.stat().st_mtime < SRC.stat().st_mtime:
        EXE.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-o", str(EXE), str(SRC), "-lrdkafka"],
                       check=True)
    return EXE


def _line(partition, key, value):
    def field(x):
        if x is None:
            return "\\N"
        assert "\t" not in x and "\n" not in x, "values are one-line JSON"
        return x
    return f"{partition}\t{field(key)}\t{field(value)}\n"


def produce(bootstrap, topic, records, *, create=None, rate=0, stamp=False, timeout=600):
    """records: iterable of (partition, key, value) (key/value None for null).
    Returns the number produced; raises on any delivery failure."""
    args = [str(producer_exe()), bootstrap, topic, "--rate", str(rate)]
    if create:
        args += ["--create", str(create)]
    if stamp:
        args.append("--stamp")
    data = "".join(_line(*r) for r in records).encode()
    proc = subprocess.run(args, input=data, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"kafka_produce failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return int(proc.stdout.split()[-1])


def produce_async(bootstrap, topic, records, *, rate=0, stamp=False, create=None, log=None):
    """Starts producing in the background; returns the Popen (stdin fed by a
    thread). log: a file receiving "INDEX SEND_MS" per record."""
    args = [str(producer_exe()), bootstrap, topic, "--rate", str(rate)]
    if log:
        args += ["--log", str(log)]
    if create:
        args += ["--create", str(create)]
    if stamp:
        args.append("--stamp")
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    data = "".join(_line(*r) for r in records).encode()
    import threading

    def feed():
        try:
            proc.stdin.write(data)
        finally:
            proc.stdin.close()
    threading.Thread(target=feed, daemon=True).start()
    return proc
