"""Running `deltacdc ingest` on a pipe for the tests that race it against
other writers: start it, feed it lines, let it finish at the end of its
input and get its log."""
import contextlib
import subprocess
import threading
import time

from conftest import DC_BIN


@contextlib.contextmanager
def running_daemon(tmp_path, t, cfg, *args):
    """`deltacdc ingest --once` reading a pipe (its log in
    tmp_path/daemon.log), killed on the way out if it is still running."""
    log = open(tmp_path / "daemon.log", "wb")
    cfg_args = ["-c", str(cfg)] if cfg else []
    daemon = subprocess.Popen([str(DC_BIN), "ingest", *cfg_args, "--source", "file:-",
                               "--table", str(t), "--key", "id", *args, "--once"],
                              stdin=subprocess.PIPE, stderr=log)
    try:
        yield daemon
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()


def feed(daemon, lines, chunk, pause):
    """Writes lines[] in chunks, sleeping pause(i) (or pause) after each."""
    for i in range(0, len(lines), chunk):
        daemon.stdin.write("".join(l + "\n" for l in lines[i:i + chunk]).encode())
        daemon.stdin.flush()
        time.sleep(pause(i) if callable(pause) else pause)


def finish(daemon, tmp_path, timeout=300):
    """Ends the input, waits for the daemon to commit it and exit 0; its log."""
    daemon.stdin.close()
    daemon.wait(timeout=timeout)
    err = (tmp_path / "daemon.log").read_text()
    assert daemon.returncode == 0, err[-3000:]
    return err


def race(tmp_path, t, cfg, args, lines, chunk, pause, other):
    """Feeds lines to the daemon while other(stop) runs in a thread. Returns
    the daemon's log."""
    with running_daemon(tmp_path, t, cfg, *args) as daemon:
        stop = threading.Event()
        th = threading.Thread(target=other, args=(stop,))
        th.start()
        try:
            feed(daemon, lines, chunk, pause)
            daemon.stdin.close()
            daemon.wait(timeout=300)
        finally:
            stop.set()
            th.join()
    err = (tmp_path / "daemon.log").read_text()
    assert daemon.returncode == 0, err[-3000:]
    return err
