"""Bad input to a CLI: run it in a subprocess and check the one error line (exit code 2)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: ``run(code=GUARDS[...] + ...)``: what a CLI must not reach while it checks its arguments.
#: ``torch``: any ``import torch`` fails (the arguments are checked before torch is imported);
#: ``model``: the weight and model loaders of golden.models exit with code 99.
GUARDS = {
    "torch": "import sys; sys.modules['torch'] = None\n",
    "model": ("import sys, golden.models as m\n"
              "def _loaded(*a, **k):\n"
              "    print('error: the model or the weights were loaded', file=sys.stderr)\n"
              "    sys.exit(99)\n"
              "m.load_minilm = m.load_hf_model = m.load_safetensors = _loaded\n"),
}


def run(*args, code=None):
    cmd = [sys.executable, *(["-c", code] if code else []), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def run_guarded(guard, module, *args):
    """``python -m module args`` with :data:`GUARDS` ``[guard]`` installed first."""
    code = (GUARDS[guard] + f"import runpy; sys.argv = [{module!r}] + sys.argv[1:]\n"
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n")
    return run(*args, code=code)


def one_error_line(out, *needles):
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    for n in needles:
        assert n in lines[0], lines[0]
