"""Acceptance walk over SSH: a new clerk handles DOMAIN.md's five worked examples in the TUI.

A private ``sshd`` on 127.0.0.1 (a free port, its own host key, one authorized client key, all
in a temporary directory), ``ssh -tt root@127.0.0.1 sealdesk`` inside tmux at 80×24, and the
keyboard walk of ``tests/tui_walk.py``: switch jurisdiction and decision date from the command
palette, decide, answer questions, assert circumstances, record with a resident, print the paper.
Everything the script asserts is read off the terminal screen.

    .venv/bin/python bench/tui_ssh_walkthrough.py [--timeout 20] [--keep]

Prints, per example, the outcome seen and the seconds taken, and the total; exits non-zero on
failure (with the last screen). sshd, the tmux session and the temporary directory are removed
whatever happens (``--keep`` keeps the directory: register, papers, sshd log).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import tui_walk  # noqa: E402
from tui_walk import Tmux, frame, walk_worked_examples  # noqa: E402

SSHD = "/usr/sbin/sshd"  # sshd re-executes itself: it must be started by its absolute path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sealdesk-walk", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)


class PrivateSshd:
    """sshd -D on 127.0.0.1:port, configured entirely from files in ``tmp``."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        self.host_key = tmp / "host_ed25519"
        self.client_key = tmp / "client_ed25519"
        self.config = tmp / "sshd_config"
        self.log = tmp / "sshd.log"
        self.proc: subprocess.Popen | None = None
        self.made_run_dir = False

    def start(self, timeout: float = 10) -> None:
        keygen(self.host_key)
        keygen(self.client_key)
        authorized = self.tmp / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        self.config.write_text("\n".join([
            "ListenAddress 127.0.0.1",
            f"Port {self.port}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {authorized}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            f"PidFile {self.tmp / 'sshd.pid'}",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin yes",
            "AcceptEnv LANG LC_*",
            "PrintMotd no",
            "PrintLastLog no",
            "LogLevel INFO",
            "",
        ]))
        run_dir = Path("/run/sshd")  # the privilege separation directory sshd insists on
        if not run_dir.exists():
            run_dir.mkdir(mode=0o755, parents=True)
            self.made_run_dir = True
        test = subprocess.run([SSHD, "-t", "-f", str(self.config)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"sshd -t rejects the configuration: {test.stderr.strip()}")
        self.proc = subprocess.Popen([SSHD, "-D", "-f", str(self.config), "-E", str(self.log)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not listen on {self.port} within {timeout}s:\n{self.log_tail()}")
                time.sleep(0.05)

    def ssh_argv(self, remote: str, tty: bool = True) -> list[str]:
        return ["ssh", *(["-tt"] if tty else ["-T"]), "-F", "/dev/null",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
                "-i", str(self.client_key), "-p", str(self.port), "root@127.0.0.1", remote]

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no sshd log)"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # by its pid: the listener we started
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.made_run_dir:
            try:
                Path("/run/sshd").rmdir()
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timeout", type=float, default=20, help="seconds to wait for any one thing on screen")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (register, papers, sshd log)")
    args = ap.parse_args(argv)

    if not shutil.which("tmux") or not shutil.which("ssh") or not Path(SSHD).exists():
        print("needs tmux, ssh and /usr/sbin/sshd", file=sys.stderr)
        return 2
    sealdesk = ROOT / ".venv" / "bin" / "sealdesk"
    if not sealdesk.exists():
        sealdesk = Path(sys.executable).with_name("sealdesk")

    tmp = Path(tempfile.mkdtemp(prefix="sealdesk-ssh-walk-"))
    tmp.chmod(0o755)
    home, demo = tmp / "home", tmp / "demo"
    home.mkdir()
    demo.mkdir()
    sshd = PrivateSshd(tmp)
    tm = Tmux(f"ssh-walk-{os.getpid()}", 80, 24)
    ok = False
    t_all = time.monotonic()
    try:
        t0 = time.monotonic()
        sshd.start()
        check = subprocess.run(sshd.ssh_argv("echo ok", tty=False), capture_output=True, text=True, timeout=30)
        if check.stdout.strip() != "ok":
            raise RuntimeError(f"ssh to 127.0.0.1:{sshd.port} failed ({check.returncode}): {check.stderr.strip()}\n"
                               f"{sshd.log_tail()}")
        print(f"sshd on 127.0.0.1:{sshd.port} up, key login checked ({time.monotonic() - t0:.1f} s)")

        remote = " ".join(shlex.quote(a) for a in [
            "env", f"SEALDESK_HOME={home}", f"SEALDESK_DEMO_HOME={demo}", "LANG=C.UTF-8", str(sealdesk)])
        t0 = time.monotonic()
        tm.start(sshd.ssh_argv(remote), env={"TERM": "tmux-256color", "LANG": "C.UTF-8"})
        tui_walk.wait_counter_ready(tm, args.timeout)
        print(f"TUI up over SSH in tmux 80×24 ({time.monotonic() - t0:.1f} s)")

        walked = walk_worked_examples(tm, timeout=args.timeout)
        tm.keys("C-q")
        status = tm.wait_exit(args.timeout)
        total = time.monotonic() - t_all

        print()
        print(f"#  {_pad('辖区', 8)}{_pad('证明', 16)}{_pad('结果', 10)}{'登记号':>4} 文书 {'秒':>5}")
        for w in walked:
            ex = w.example
            print(f"{ex.number:<2} {_pad(ex.jurisdiction, 8)}{_pad(ex.request, 16)}{_pad(w.outcome, 10)}"
                  f"{w.entry:>7}  {_pad('是' if w.paper else '—', 4)}{w.seconds:>5.1f}")
        print(f"total {total:.1f} s (examples {sum(w.seconds for w in walked):.1f} s); ssh exit status {status}")
        notes = [f"example {w.example.number}: {n}" for w in walked for n in w.notes]
        if notes:
            print("\nnoticed on the way:")
            for n in notes:
                print(f"  - {n}")
        if status != 0:
            raise RuntimeError(f"ssh session ended with status {status}")
        ok = True
    except Exception as exc:  # report, clean up, exit non-zero
        print(f"\nFAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        if tm.started and "┌" not in str(exc):  # the walk's errors carry the screen already
            try:
                print(frame(tm.screen()), file=sys.stderr)
            except Exception:
                pass
        print(f"sshd log (tail):\n{sshd.log_tail()}", file=sys.stderr)
    finally:
        tm.kill()
        sshd.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


def _pad(text: str, cells: int) -> str:
    """Pad to a width in terminal cells (汉字 are two)."""
    import unicodedata

    width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, cells - width)


if __name__ == "__main__":
    sys.exit(main())
