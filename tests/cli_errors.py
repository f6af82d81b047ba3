"""Bad input to a CLI: run it in a subprocess and check the one error line (exit code 2)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: ``run(code=GUARDS[...] + ...)``: what a CLI must not reach while it checks its arguments.
#: ``torch``: any ``import torch`` fails (the arguments are checked before torch is imported);
#: ``model``: the weight and model loaders of golden.models exit with code 99; ``synth``: so do
#: the synthesis job runners of synth.jobs.
GUARDS = {
    "torch": "import sys; sys.modules['torch'] = None\n",
    "model": ("import sys, golden.models as m\n"
              "def _loaded(*a, **k):\n"
              "    print('error: the model or the weights were loaded', file=sys.stderr)\n"
              "    sys.exit(99)\n"
              "m.load_minilm = m.load_hf_model = m.load_safetensors = _loaded\n"),
    "synth": ("import sys, synth.jobs as j\n"
              "def _ran(*a, **k):\n"
              "    print('error: synthesis started', file=sys.stderr)\n"
              "    sys.exit(99)\n"
              "j.run_jobs = j.run_points = _ran\n"),
}


def run(*args, code=None, env=None):
    cmd = [sys.executable, *(["-c", code] if code else []), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=None if env is None else {**os.environ, **env})


def run_guarded(guard, module, *args, env=None):
    """``python -m module args`` with :data:`GUARDS` ``[guard]`` installed first."""
    code = (GUARDS[guard] + f"import runpy; sys.argv = [{module!r}] + sys.argv[1:]\n"
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n")
    return run(*args, code=code, env=env)


_MANY = """
import contextlib, io, json, runpy, traceback, warnings
warnings.filterwarnings("ignore", message=".*found in sys.modules after import of package")
module, cases, results = sys.argv[1], json.loads(sys.argv[2]), []
for args in cases:
    out, err, code = io.StringIO(), io.StringIO(), 0
    sys.argv = [module, *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write(json.dumps(results))
"""


def run_many(guard, module, cases):
    """:func:`run_guarded` for several argument lists in one interpreter (the module is run
    afresh, as ``python -m``, for each); one ``CompletedProcess`` per case."""
    out = run(module, json.dumps(cases), code=GUARDS[guard] + _MANY)
    assert out.returncode == 0, out.stderr
    return [subprocess.CompletedProcess([module, *a], c, o, e)
            for a, (c, o, e) in zip(cases, json.loads(out.stdout))]


def one_error_line(out, *needles):
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    assert not out.stdout.strip(), out.stdout      # the error line is the whole output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    for n in needles:
        assert n in lines[0], lines[0]
