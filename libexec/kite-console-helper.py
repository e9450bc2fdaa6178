#!/usr/bin/env python3
"""kite console helper: a terminal (tty) exec session into a runc container.

runc hands the pty master of a `runc exec -t -d` process to whoever listens on --console-socket, as an fd passed
with SCM_RIGHTS. Node.js cannot receive fds over unix sockets, so this helper does it and relays bytes:

    kite-console-helper.py SOCKET PIDFILE -- runc --root R exec -d -t --console-socket SOCKET --pid-file PIDFILE ID argv...

fd 0: input for the terminal; fd 1: terminal output; fd 3 (optional): resize messages, one "COLS ROWS" per line.
The helper is a child subreaper, so the exec'd process (orphaned when `runc exec -d` returns) is reparented to
it and its exit status is not lost; the helper exits with that status (128+N for signal N). Errors go to stderr.
"""
import ctypes
import errno
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import termios
import time

PR_SET_CHILD_SUBREAPER = 36


def status_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 255


def write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            select.select([], [fd], [], 1)
            continue
        data = data[n:]


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write("usage: kite-console-helper.py SOCKET PIDFILE -- runc ... exec -d -t ...\n")
        return 2
    sock_path, pid_file, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("kite-console-helper: cannot become a subreaper\n")
        return 255

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    runc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    # Receive the pty master; runc exits (non-zero) without connecting if the exec fails.
    master = None
    while master is None:
        r, _, _ = select.select([srv], [], [], 0.05)
        if r:
            conn, _ = srv.accept()
            _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
            conn.close()
            if fds:
                master = fds[0]
        elif runc.poll() is not None and runc.returncode != 0:
            return runc.returncode or 255
    srv.close()
    rc = runc.wait()
    if rc != 0:
        return rc
    with open(pid_file) as f:
        target = int(f.read().strip())

    os.set_blocking(master, False)
    inputs = [0, master]
    try:
        os.fstat(3)
        inputs.append(3)
        os.set_blocking(3, False)
    except OSError:
        pass
    resize_buf = b""
    exit_code = None
    drain_deadline = None

    while True:
        # Reap every orphan we inherited; remember the target's status.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == target:
                exit_code = status_code(status)
                drain_deadline = time.monotonic() + 0.3
        if master is None or (drain_deadline is not None and time.monotonic() > drain_deadline):
            break
        try:
            ready, _, _ = select.select([fd for fd in inputs if fd is not None], [], [], 0.1)
        except InterruptedError:
            continue
        for fd in ready:
            if fd == master:
                try:
                    data = os.read(master, 65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if not data:  # every holder of the pty slave is gone
                    inputs.remove(master)
                    os.close(master)
                    master = None
                    break
                write_all(1, data)
                if drain_deadline is not None:
                    drain_deadline = time.monotonic() + 0.3
            elif fd == 0:
                data = os.read(0, 65536)
                if not data:
                    inputs.remove(0)
                    continue
                write_all(master, data)
            elif fd == 3:
                data = os.read(3, 4096)
                if not data:
                    inputs.remove(3)
                    continue
                resize_buf += data
                while b"\n" in resize_buf:
                    line, resize_buf = resize_buf.split(b"\n", 1)
                    parts = line.split()
                    if len(parts) == 2 and master is not None:
                        cols, rows = int(parts[0]), int(parts[1])
                        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if master is None and exit_code is None:
            # Output is done; wait for the process itself.
            try:
                _, status = os.waitpid(target, 0)
                exit_code = status_code(status)
            except ChildProcessError:
                exit_code = 255
            break
    return 255 if exit_code is None else exit_code


if __name__ == "__main__":
    sys.exit(main())
