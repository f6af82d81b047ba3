"""Bad input to every ``python -m`` CLI: exit code 2, one line ``error: ...`` naming the argument
and the value, no traceback (issue 13, part 4).

``torch`` cases run with ``import torch`` made impossible and ``model`` cases with the model and
weight loaders replaced by an exit with code 99 (tests/cli_errors.py): the CLI refuses the value
before it reaches them, by the order of its checks (arguments first, then the text pool or
method names, then the weights and the model).
"""
import pytest

from tests.cli_errors import one_error_line, run, run_guarded, run_many

FGMP = [
    (["--p", "2"], ["--p", "'2'"]),
    (["--p", "nan"], ["--p", "'nan'"]),
    (["--p", "-0.1"], ["--p", "'-0.1'"]),
    (["--threads", "0"], ["--threads", "'0'"]),
    (["--batch", "0"], ["--batch", "'0'"]),
    (["--cal-batch", "0"], ["--cal-batch", "'0'"]),
    (["--cal-batch", "1"], ["--cal-batch", "'1'"]),
    (["--n-cal", "0"], ["--n-cal", "'0'"]),
    (["--n-cal", "-5"], ["--n-cal", "'-5'"]),
    (["--n-eval", "0"], ["--n-eval", "'0'"]),
    (["--n-eval", "-1"], ["--n-eval", "'-1'"]),
    (["--act-rows", "0"], ["--act-rows", "'0'"]),
    (["--act-rows", "-7"], ["--act-rows", "'-7'"]),
    (["--max-len", "0"], ["--max-len", "'0'"]),
    (["--max-len", "100000"], ["--max-len", "'100000'"]),
    (["--seed", "-1"], ["--seed", "'-1'"]),
    (["--threads", "two"], ["--threads", "'two'"]),
    (["--policies", "best"], ["--policies", "'best'"]),
    (["--bogus"], ["unrecognized", "--bogus"]),
]


@pytest.mark.parametrize("args,needles", FGMP, ids=[" ".join(a) for a, _ in FGMP])
def test_fgmp_cli_refuses_before_importing_torch(args, needles):
    one_error_line(run_guarded("torch", "golden.eval", "fgmp", *args), *needles)


def test_fgmp_cli_text_pool_checked_before_the_model():
    one_error_line(run_guarded("model", "golden.eval", "fgmp", "--n-cal", "100000"),
                   "--n-cal 100000", "not enough docstrings")


def test_fgmp_cli_policies_match_the_golden_model():
    from golden.eval.fgmp_cli import POLICIES
    from golden.fgmp.policy import POLICIES as GOLDEN
    assert POLICIES == GOLDEN


@pytest.fixture(scope="module")
def bad_weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    (d / "text.safetensors").write_text("just some text, not a safetensors file\n")
    (d / "empty.safetensors").write_bytes(b"")
    (d / "short.safetensors").write_bytes((1000).to_bytes(8, "little") + b"{}")
    return d


FINEQ = [
    (["--weights", "{d}/text.safetensors"], ["--weights", "text.safetensors", "no safetensors header"]),
    (["--weights", "{d}/empty.safetensors"], ["--weights", "empty.safetensors", "empty"]),
    (["--weights", "{d}/short.safetensors"], ["--weights", "short.safetensors"]),
    (["--weights", "{d}/missing.safetensors"], ["--weights", "missing.safetensors", "does not exist"]),
    (["--layers", "("], ["--layers", "'('"]),
    (["--layers", "a[z"], ["--layers", "'a[z'"]),
    (["--methods", ","], ["--methods", "','"]),
    (["--methods", ""], ["--methods", "''"]),
    (["--tokens", "-5"], ["--tokens", "'-5'"]),
    (["--tokens", "0"], ["--tokens", "'0'"]),
    (["--texts", "0"], ["--texts", "'0'"]),
    (["--threads", "0"], ["--threads", "'0'"]),
    (["--group-size", "0"], ["--group-size", "'0'"]),
    (["--activations", "real"], ["--activations", "'real'"]),
]


@pytest.mark.parametrize("args,needles", FINEQ, ids=[" ".join(a) for a, _ in FINEQ])
def test_fineq_cli_refuses_before_importing_torch(bad_weights, args, needles):
    args = [a.format(d=bad_weights) for a in args]
    if "--weights" not in args:
        args = ["--weights", "minilm", *args]
    one_error_line(run_guarded("torch", "golden.eval", "fineq", *args), *needles)


FINEQ_NAMES = [
    (["--methods", "fineq-999"], ["--methods", "'fineq-999'"]),
    (["--methods", "int9"], ["--methods", "'int9'"]),
    (["--methods", "int0"], ["--methods", "'int0'"]),
    (["--methods", "fineq-330,,nope"], ["--methods", "'nope'"]),
    (["--group-size", "4"], ["--group-size", "4"]),
]


@pytest.mark.parametrize("args,needles", FINEQ_NAMES, ids=[" ".join(a) for a, _ in FINEQ_NAMES])
def test_fineq_cli_names_checked_before_the_weights(args, needles):
    one_error_line(run_guarded("model", "golden.eval", "fineq", "--weights", "minilm", *args),
                   *needles)


def test_rtl_generate_output_folder(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("")
    one_error_line(run("-m", "rtl.generate", "e2m1_decoder", "-o", str(f)),
                   "--out", repr(str(f)), "not a folder")
    one_error_line(run("-m", "rtl.generate", "e2m1_decoder", "-o", str(f / "sub")),
                   "--out", repr(str(f / "sub")), "cannot create")
    one_error_line(run("-m", "rtl.generate", "--all", "-o", str(f)), "--out", "not a folder")
    one_error_line(run("-m", "rtl.generate", "e2m1_decoder", "--bogus"), "unrecognized", "--bogus")


OTHERS = [
    ("golden.eval", [], ["give a subcommand", "fgmp"]),
    ("golden.eval", ["nosuch"], ["unknown subcommand 'nosuch'"]),
    ("verif.lint", ["e2m1_decoder", "--out", "{f}"], ["--out", "not a folder"]),
    ("verif.lint", ["nope"], ["nope"]),
    ("verif.formal", ["--timeout", "0"], ["--timeout", "'0'"]),
    ("verif.formal", ["--mode", "fp2"], ["--mode", "'fp2'"]),
    ("verif.mutate", ["--mutants", "0"], ["--mutants", "'0'"]),
    ("verif.mutate", ["--blocks", "vmac,nosuch"], ["--blocks", "'nosuch'"]),
    ("verif.mutate", ["--target", "2"], ["--target", "'2'"]),
    ("verif.mutate", ["--depth", "0"], ["--depth", "'0'"]),
    ("verif.regress", ["--seeds", "x", "--list"], ["--seeds", "'x'"]),
    ("verif.regress", ["--seeds", "3-1", "--list"], ["--seeds", "'3-1'"]),
    ("verif.regress", ["--seeds", ",", "--list"], ["--seeds", "','"]),
    ("verif.regress", ["--jobs", "0", "--list"], ["--jobs", "'0'"]),
    ("verif.regress", ["--db", "{d}", "--list"], ["--db", "is a folder"]),
    ("verif.regress", ["--json", "{f}/x.json", "--list"], ["--json", "not a folder"]),
    ("synth.report", ["--jobs", "0"], ["--jobs", "'0'"]),
    ("synth.report", ["--out", "{f}"], ["--out", "not a folder"]),
    ("synth.report", ["--library", "tsmc"], ["--library", "'tsmc'"]),
    ("synth.report", ["--family", "fgmq"], ["--family", "'fgmq'"]),
    ("synth.report", ["--design", "fgmp/nope/*"], ["--design", "matches no design"]),
    ("synth.sweep", ["--sizes", "0"], ["--sizes", "'0'"]),
    ("synth.sweep", ["--sizes", "a,4"], ["--sizes", "'a'"]),
    ("synth.sweep", ["--p", "nan"], ["--p", "'nan'"]),
    ("synth.sweep", ["--p", "1.5"], ["--p", "'1.5'"]),
    ("synth.sweep", ["--lanes", "0"], ["--lanes", "'0'"]),
    ("synth.sweep", ["--jobs", "0"], ["--jobs", "'0'"]),
    ("synth.sweep", ["--families", "fineq,bogus"], ["--families", "'bogus'"]),
    ("synth.sweep", ["--codings", "foo"], ["coding", "'foo'"]),
    ("synth.sweep", ["--weight-bits", "3"], ["weight_bits", "3"]),
    ("synth.sweep", ["--set", "nope.rows=1"], ["--set nope.rows", "'nope'"]),
    ("synth.sweep", ["--set", "temporal_array.rows=0"], ["rows", "0"]),
    ("synth.sweep", ["--out", "{f}"], ["--out", "not a folder"]),
    ("synth.area", ["e2m1_decoder", "--bogus"], ["unrecognized", "--bogus"]),
    ("synth.results", ["--db", "{d}"], ["--db", "no results database"]),
    ("synth.baseline", ["--bogus"], ["unrecognized", "--bogus"]),
    ("synth.fineq_compare", ["--rows", "abc"], ["--rows", "'abc'"]),
    ("synth.sky130", ["--bogus"], ["unrecognized", "--bogus"]),
    ("synth.liberty", ["--bogus"], ["unrecognized", "--bogus"]),
]


@pytest.fixture(scope="module")
def other_results(tmp_path_factory):
    """Every OTHERS case, one interpreter per module (tests/cli_errors.py:run_many)."""
    d = tmp_path_factory.mktemp("cli")
    f = d / "a_file"
    f.write_text("")
    by_module = {}
    for i, (module, args, _) in enumerate(OTHERS):
        args = [a.format(f=f, d=d) for a in args]
        if module == "synth.sweep":
            args += ["--no-energy", "--libraries", "mpaccel45"]
        by_module.setdefault(module, []).append((i, args))
    res = {}
    for module, cases in by_module.items():
        outs = run_many("synth", module, [a for _, a in cases])
        res.update(zip([i for i, _ in cases], outs))
    return res


@pytest.mark.parametrize("i", range(len(OTHERS)),
                         ids=[f"{m} {' '.join(a)}" for m, a, _ in OTHERS])
def test_other_clis_refuse_before_any_synthesis(other_results, i):
    one_error_line(other_results[i], *OTHERS[i][2])


@pytest.mark.parametrize("module,var", [("synth.report", "SYNTH_JOBS"), ("synth.sweep", "SYNTH_JOBS"),
                                        ("verif.regress", "JOBS")])
def test_bad_jobs_environment_variable(module, var):
    """The --jobs default comes from the environment: checked like the option (it used to be a
    traceback while the parser was built)."""
    one_error_line(run_guarded("synth", module, "--list" if module != "synth.report" else "--full",
                               env={var: "abc"}), "--jobs", "'abc'")
