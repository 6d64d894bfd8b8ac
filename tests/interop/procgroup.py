"""Starting and stopping a test fixture's server (Kafka broker, mariadbd, the
Debezium runner, moto), each started in its own process group so that its
children go with it: one way to pick a port, tie a server to the test process
and stop it, shared by the fixtures."""
import os
import signal
import socket
import subprocess


def free_port():
    """A TCP port on 127.0.0.1 that is free now (the server binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """preexec_fn: the server gets SIGKILL if the test process dies first."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def stop_group(p, timeout):
    """SIGTERM to p's process group (a clean shutdown), SIGKILL if it is still
    there after `timeout` seconds. Returns p's exit status (None for no p)."""
    if not p:
        return None
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=timeout)
        except ProcessLookupError:
            pass
    return p.returncode


def kill_group(p, timeout):
    """SIGKILL to p's process group (a crash: no clean shutdown)."""
    if p and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=timeout)
