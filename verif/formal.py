"""Formal proofs of the RTL (docs/verification.md "Formal proofs"; ``make formal``).

    python -m verif.formal [-k REGEX] [--list] [--quick] [--mutant NAME] [--timeout S]
                           [--datapath ...] [--mode ...] [--output d|p]

Runs a list of properties (``properties()``), each a Yosys script whose SAT solver either proves
the property or returns a counterexample, and prints one table row per property: its name, the
block, the kind (``full`` = for every input and every state; ``bounded k`` = every input
sequence of k cycles from reset), the solver, the run time and the result. Families:

* ``ref.*``: a unit equals an independent reference written in plain behavioural Verilog from
  SPEC.md and docs/ (verif/formal_ref/*.v): the E4M3/E2M1 encoders (every FP32 input, every
  scale port value) and decoders, the activation quantizer's FP8 and NVFP4 candidates and its
  FP4/FP8 decision, the VMAC's final FP32 rounding. Combinational units: a ``miter -equiv``
  (full proof). Pipelined units: the pipeline unrolled with ``sat -seq`` (every stage loading),
  the output after the last stage compared with the reference of the first step's inputs; the
  registers start in any state, so this too holds for every input (full proof of the function).
* ``vmac.equiv.*``: the shared VMAC datapaths equal the split one (``prove``, block-product
  stage, every input; the ``--datapath``/``--mode``/``--output`` options pick these rows).
* ``stream.*``: the stream rules of every streaming block under any back-pressure, bounded
  model checking from reset (``stream_harness``): payload and valid held while not ready,
  nothing valid in the cycle after a reset, never more results than input sets since the last
  reset (none duplicated, none left over from before a reset), and all results delivered once
  the consumer has been ready for longer than the latency (none lost); every producer may stall
  and withdraw nothing, reset may come in any cycle. A cover run shows the depth reaches a
  delivered result after a quiet drain, so the last assertion is not vacuous.
* ``mutant.*``: checks of the checker. A deliberately broken unit must make its proof fail with
  a counterexample: the E4M3 encoder with ``mutant="sticky_lsb"`` (rtl/formats/codec.py) and
  the shared VMAC unit with ``mutant="mask21"``. Their expected result is "refuted".

Exit code 0 when every selected row gives its expected result, 1 otherwise (a proof that runs
past its time limit is undecided: 1), 2 for bad arguments.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from amaranth.back import rtlil

from infra.cli import Parser, int_range, regex
from infra.paths import ROOT, build_dir
from infra.yosys import YosysError, run_script
from rtl.fgmp.vmac import DATAPATHS, MUTANTS, UNIT_NAMES, BlockProduct

__all__ = ["prove", "main", "SCRIPT", "Property", "properties", "run_property", "REF_DIR",
           "stream_harness", "STREAM_CONFIGS", "SOLVER",
           "scale_inputs_proof"]

REF_DIR = ROOT / "verif" / "formal_ref"
#: the SAT solver behind Yosys's ``sat`` pass (its default back end)
SOLVER = "Yosys sat (MiniSat)"

# ---------------------------------------------------------------------------------------------
# VMAC datapath equivalence (shared vs split block-product stage)

# gold and gate flattened apart, then a miter proven by SAT ({read_gold}: how gold is read)
_MITER_TEMPLATE = """\
{read_gold}
hierarchy -top gold
proc
flatten
opt_clean
write_rtlil gold_flat.il
design -reset
read_rtlil gate.il
hierarchy -top gate
proc
flatten
opt_clean
write_rtlil gate_flat.il
design -reset
read_rtlil gold_flat.il
read_rtlil gate_flat.il
{cut}miter -equiv -flatten -make_assert gold gate miter
hierarchy -top miter
opt -fast
sat -verify -prove-asserts -show-inputs -timeout {timeout}
"""
SCRIPT = _MITER_TEMPLATE.replace("{read_gold}", "read_rtlil gold.il")


def _verdict(work: Path, timeout: int, script: str, *, success: str = "SUCCESS!") -> dict:
    """Run ``script`` in ``work``; {"proven", "seconds", "log", "counterexample", "timed_out"}."""
    t0 = time.monotonic()
    timed_out = False
    try:
        run_script(script, work, timeout=timeout + 600)
        proven = True
    except YosysError:
        proven = False
    except subprocess.TimeoutExpired:       # the solver ignored its own limit: undecided
        proven, timed_out = False, True
    log = (work / "yosys.log").read_text() if (work / "yosys.log").exists() else ""
    if proven and success not in log:
        proven = False
    if not proven and re.search(r"Interrupted SAT solver: timeout|SAT solver timed out|"
                                r"timed out", log.rsplit("Executing SAT pass", 1)[-1]):
        timed_out = True
    # the solver answered (a model, or none) unless Yosys stopped before or inside the pass
    answered = "model found" in log
    error = not proven and not timed_out and not answered
    cex = ""
    if timed_out:
        cex = f"undecided: no answer within the time limit ({timeout} s)"
    elif error:
        cex = "Yosys error: " + "\n".join(log.strip().splitlines()[-4:])
    elif not proven:
        m = re.search(r"Time Signal\s+Dec\s+Hex\s+Bin.*?(?=\n\n)", log, re.S) or \
            re.search(r"Signal Name\s+Dec\s+Hex\s+Bin.*?(?=\n\n)", log, re.S)
        cex = m.group(0) if m else log[-2000:]
    return {"proven": proven, "seconds": round(time.monotonic() - t0, 1),
            "log": str(work / "yosys.log"), "counterexample": cex, "timed_out": timed_out,
            "error": error}


def prove(gate: str, mode: str, *, output: str = "d", mutant: str | None = None,
          gold: str = "split", timeout: int = 1200, work: Path | None = None) -> dict:
    """Prove ``gate`` ≡ ``gold`` (``BlockProduct`` of each) in ``mode``. ``output``: ``"d"``
    (D, mm, s, NaN) or ``"p"`` (those and P). Returns {"proven": bool, "seconds", "log",
    "counterexample" (the solver's input values, when it found one)}.

    For every input (no bound: the block-product stage is combinational once its pipeline
    registers are replaced by wires, ``rtl.fgmp.vmac.BlockProduct``): for one lane and one mode,
    the shared datapath (or ``shared_fp4``, ``shared_ss``) computes the same block sum D, the
    same block-scale factors (M_sw·M_sa, s), the same NaN flag and (``output="p"``) the same
    block product P·2^20 = ±(|D|·M_sw·M_sa << s) as the split datapath. P is proven through a
    cut at D by default: it is the same ``scale_words`` netlist applied to D, mm, s on both
    sides."""
    if output not in ("d", "p"):
        raise ValueError(f"output must be 'd' or 'p', got {output!r}")
    if mode not in UNIT_NAMES:
        raise ValueError(f"mode must be one of {list(UNIT_NAMES)}, got {mode!r}")
    tag = f"{gate}-{mode}-{output}" + (f"-{mutant}" if mutant else "")
    work = work or build_dir("formal", tag)
    work.mkdir(parents=True, exist_ok=True)
    (work / "gold.il").write_text(rtlil.convert(BlockProduct(datapath=gold, mode=mode),
                                                name="gold", emit_src=False))
    (work / "gate.il").write_text(rtlil.convert(
        BlockProduct(datapath=gate, mode=mode, mutant=mutant), name="gate", emit_src=False))
    cut = "delete -port gold/p gate/p\n" if output == "d" else ""
    r = _verdict(work, timeout, SCRIPT.format(cut=cut, timeout=timeout))
    r.update(gate=gate, gold=gold, mode=mode, output=output, mutant=mutant)
    return r


def scale_inputs_harness(datapath: str = "shared", *, tighter: int = 0):
    """``BlockProduct(datapath)`` (every mode, by the meta bits) and the output ``ok``: the
    block-scale step's inputs stay in the ranges its width assumes: in each mode
    |D| < 2^(term_width + log2 BLOCK) (16 terms), and M_sw·M_sa = 9 in fp8xfp8 (both block
    scales are the implicit 6 = 3·2^1). ``tighter``: bits taken off every bound (a check of
    the check: 1 must be refuted)."""
    from amaranth import Cat, Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from rtl.fgmp.vmac import _FP8_SCALE, BLOCK, UNITS, term_width
    mm_fp8 = _FP8_SCALE[0] * _FP8_SCALE[0]

    class ScaleInputsHarness(wiring.Component):
        def __init__(self):
            self.bp = BlockProduct(datapath=datapath)
            members = self.bp.signature.members
            super().__init__({"w": In(members["w"].shape), "a": In(members["a"].shape),
                              "ok": Out(1)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.bp = bp = self.bp
            m.d.comb += [bp.w.eq(self.w), bp.a.eq(self.a)]
            conds = []
            for w8, a8 in UNITS:
                bound = 1 << (term_width(w8, a8) + (BLOCK - 1).bit_length() - tighter)
                in_mode = (self.w.meta == w8) & (self.a.meta == a8)
                fine = (bp.d < bound) & (bp.d > -bound)
                if (w8, a8) == (1, 1):
                    fine &= bp.mm == mm_fp8
                conds.append(~in_mode | fine)
            m.d.comb += self.ok.eq(Cat(*conds).all())
            return m

    return ScaleInputsHarness()


def scale_inputs_proof(*, datapath: str = "shared", tighter: int = 0, timeout: int = 1200,
                       work: Path | None = None) -> dict:
    """``scale_inputs_harness``: ``ok`` = 1 for all 2^274 inputs (combinational, full)."""
    work = work or build_dir("formal", f"scale_inputs-{datapath}-{tighter}")
    work.mkdir(parents=True, exist_ok=True)
    harness = scale_inputs_harness(datapath, tighter=tighter)
    (work / "harness.il").write_text(rtlil.convert(harness, name="harness", emit_src=False))
    script = ("read_rtlil harness.il\nhierarchy -top harness\nproc\nflatten\nopt -fast\n"
              f"sat -verify -prove ok 1 -show-inputs -timeout {timeout}\n")
    return _verdict(work, timeout, script)


# ---------------------------------------------------------------------------------------------
# Properties against the references of verif/formal_ref/

def _copy_refs(work: Path, names) -> None:
    """Yosys (WebAssembly) sees only its working directory: the references are copied in."""
    work.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copyfile(REF_DIR / n, work / n)


def _write_gates(work: Path, gates: dict) -> list[str]:
    """Amaranth RTLIL of each ``{module name: component}``; returns the file names."""
    files = []
    for name, comp in gates.items():
        f = f"{name}.il"
        (work / f).write_text(rtlil.convert(comp, name=name, emit_src=False))
        files.append(f)
    return files


MITER = _MITER_TEMPLATE.replace("{read_gold}", "read_verilog {refs}").replace("{cut}", "")


def miter_ref(work: Path, gate, refs: list[str], wrapper: str, timeout: int) -> dict:
    """Full proof that the combinational component ``gate`` equals the Verilog module ``gold``
    (``wrapper``, instantiating the references ``refs``) for every input."""
    _copy_refs(work, refs)
    (work / "gold.v").write_text(wrapper)
    (work / "gate.il").write_text(rtlil.convert(gate, name="gate", emit_src=False))
    return _verdict(work, timeout, MITER.format(refs=" ".join(refs + ["gold.v"]),
                                                timeout=timeout))


HARNESS = """\
{read_gates}
{prep}read_verilog -formal {refs}
hierarchy -top {top}
proc
chformal -lower
flatten
opt -fast
sat -seq {seq} -prove-skip {skip}{hold} -prove-asserts -set-assumes -show-inputs -verify -timeout {timeout}
"""


def harness_ref(work: Path, gates: dict, refs: list[str], top: str, seq: int, skip: int,
                timeout: int, prep: str = "", hold: str = "") -> dict:
    """The assertions of the harness ``top`` (a file in ``refs``) hold at every step after
    ``skip`` of ``seq`` unrolled steps, for every input sequence and every initial state."""
    _copy_refs(work, refs)
    files = _write_gates(work, gates)
    script = HARNESS.format(read_gates="\n".join(f"read_rtlil {f}" for f in files),
                            refs=" ".join(refs), top=top, seq=seq, skip=skip, timeout=timeout,
                            prep=prep, hold=hold)
    return _verdict(work, timeout, script)


def _encoder_wrapper(fmt: str, scale_width: int, scale_exp: int) -> str:
    from golden.formats import E2M1, E4M3
    f = {"e4m3": E4M3, "e2m1": E2M1}[fmt]
    nanc = f.nan_code if f.nan_code is not None else f.max_code
    sw = max(scale_width, 1)
    port = f"input signed [{sw - 1}:0] scale, " if scale_width else ""
    conn = "scale" if scale_width else "1'b0"
    return (f"module gold(input [31:0] i, {port}output [{f.width - 1}:0] o);\n"
            f"  minifloat_encode_ref #(.MB({f.man_bits}), .EMIN({f.emin}), .MAXC({f.max_code}), "
            f".NANC({nanc}), .SW({sw}), .SCALE_EXP({scale_exp}), .W({f.width}))\n"
            f"    r(.i(i), .scale({conn}), .o(o));\nendmodule\n")


def _decoder_wrapper(fmt: str) -> str:
    from golden.formats import E2M1, E4M3
    f = {"e4m3": E4M3, "e2m1": E2M1}[fmt]
    has_nan = int(f.nan_code is not None)
    return (f"module gold(input [{f.width - 1}:0] i, output [31:0] o);\n"
            f"  minifloat_decode_ref #(.MB({f.man_bits}), .EMIN({f.emin}), .HAS_NAN({has_nan}), "
            f".NANC({f.nan_code or 0}), .W({f.width})) r(.i(i), .o(o));\nendmodule\n")


def encoder_proof(fmt: str, *, scale_width: int = 8, scale_exp: int = 0,
                  mutant: str | None = None, timeout: int = 1200,
                  work: Path | None = None) -> dict:
    """``FloatEncoder(fmt, scale_exp, scale_width)`` equals minifloat_encode_ref.v for every
    FP32 input and every value of the scale port."""
    from rtl.formats import FloatEncoder
    tag = f"enc-{fmt}-sw{scale_width}-se{scale_exp}" + (f"-{mutant}" if mutant else "")
    work = work or build_dir("formal", tag)
    gate = FloatEncoder(fmt=fmt, scale_exp=scale_exp, scale_width=scale_width, mutant=mutant)
    return miter_ref(work, gate, ["minifloat_encode_ref.v"],
                     _encoder_wrapper(fmt, scale_width, scale_exp), timeout)


def decoder_proof(fmt: str, *, timeout: int = 1200, work: Path | None = None) -> dict:
    """``FloatDecoder(fmt)`` equals minifloat_decode_ref.v for every code."""
    from rtl.formats import FloatDecoder
    work = work or build_dir("formal", f"dec-{fmt}")
    return miter_ref(work, FloatDecoder(fmt=fmt), ["minifloat_decode_ref.v"],
                     _decoder_wrapper(fmt), timeout)


def _hold_later(names, seq: int) -> str:
    """``-set-at`` options fixing the inputs ``names`` to 0 after step 1: the checked output of
    the last step depends on step 1's inputs alone, so this only shrinks the SAT problem."""
    return "".join(f" -set-at {s} {n} 0" for s in range(2, seq + 1) for n in names)


def act_quant_fp8_proof(*, timeout: int = 1200, work: Path | None = None) -> dict:
    """act_quant's FP8 candidate (Fp8Candidate, stages A1-A2) equals fp8_candidate_ref for
    every FP32 x and every 9-bit k (act_quant_fp8_harness)."""
    from rtl.fgmp.act_quant import Fp8Candidate
    work = work or build_dir("formal", "act_quant-fp8")
    return harness_ref(work, {"gate_fp8_candidate": Fp8Candidate()},
                       ["minifloat_encode_ref.v", "fgmp_quant_ref.v",
                        "act_quant_candidates_harness.v"],
                       "act_quant_fp8_harness", seq=3, skip=2, timeout=timeout,
                       hold=_hold_later(["x", "k"], 3))


def act_quant_fp4_proof(*, timeout: int = 1200, work: Path | None = None) -> dict:
    """act_quant's NVFP4 candidate (Fp8Candidate, BlockScale, Fp4Candidate: stages A1-B2)
    equals fp4_candidate_ref for every non-NaN x, every k and every block scale the element
    can meet (act_quant_fp4_harness)."""
    from rtl.fgmp.act_quant import BlockScale, Fp4Candidate, Fp8Candidate, _midpoint_layout
    tw = _midpoint_layout().size
    if tw != 45:        # the harness declares the midpoint bus with 45 bits
        raise RuntimeError(f"act_quant midpoint layout is {tw} bits; update the harness")
    work = work or build_dir("formal", "act_quant-fp4")
    gates = {"gate_fp8_candidate": Fp8Candidate(), "gate_block_scale": BlockScale(),
             "gate_fp4_candidate": Fp4Candidate()}
    return harness_ref(work, gates, ["minifloat_encode_ref.v", "fgmp_quant_ref.v",
                                     "act_quant_candidates_harness.v"],
                       "act_quant_fp4_harness", seq=5, skip=4, timeout=timeout,
                       hold=_hold_later(["x", "k", "sc"], 5))


def act_quant_decision_proof(*, timeout: int = 1200, work: Path | None = None) -> dict:
    """act_quant's decision I > τ_q and its score output, from the registered carry-save rows
    of the score, equal decision_ref for every τ_q and every pair of rows whose sum is below
    2^62 (every reachable pair: I < 2^62)."""
    from rtl.fgmp.act_quant import BlockScore
    work = work or build_dir("formal", "act_quant-decision")
    # the two registered rows become free inputs (expose -cut: the register drives the output
    # cs0_d2, its readers the new input cs0_d2_i): the proof starts at them
    prep = ("hierarchy -top gate_block_score\nproc\n"
            "expose -cut -sep _ gate_block_score/w:cs0_d2 gate_block_score/w:cs1_d2\n")
    return harness_ref(work, {"gate_block_score": BlockScore()},
                       ["fgmp_quant_ref.v", "act_quant_decision_harness.v"],
                       "act_quant_decision_harness", seq=1, skip=0, timeout=timeout, prep=prep)


def f32_round_proof(*, timeout: int = 1200, work: Path | None = None) -> dict:
    """The VMAC lane's final rounding ``F32FixedRound(width=64, z_exp=-20, rows=2)`` equals
    f32_round_ref.v for every pair of accumulator words and NaN flag."""
    from rtl.common.float32 import F32FixedRound
    work = work or build_dir("formal", "f32_round")
    return harness_ref(work, {"gate_f32_round": F32FixedRound(width=64, z_exp=-20, rows=2)},
                       ["f32_round_ref.v", "f32_round_harness.v"], "f32_round_harness",
                       seq=4, skip=3, timeout=timeout, hold=_hold_later(["zs", "zc"], 4))


# ---------------------------------------------------------------------------------------------
# Stream rules (bounded model checking from reset)

@dataclass(frozen=True)
class StreamConfig:
    """A streaming block in a small configuration for the stream-rule check.

    ``counts``: the input stream whose handshakes are the input sets (one result each);
    ``last_bit``: bit of that stream's payload that must be set for a handshake to count (VMAC:
    only the block pair with ``last`` closes a dot product), or None; ``depth``: BMC steps."""
    block: str
    params: dict
    counts: str
    depth: int
    last_bit: int | None = None
    label: str = ""
    drain: int | None = None        # cycles of quiet after which nothing may be pending;
                                    # None: latency + 2 (tests set less to see the check fail)

    @property
    def name(self) -> str:
        return f"{self.block}.{self.label}" if self.label else self.block

    @property
    def tag(self) -> str:
        p = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.block}({p})" if p else self.block


def _vmac_last_bit() -> int:
    from rtl.fgmp.vmac import a_layout
    return a_layout()["last"].offset


#: the streaming blocks and the configurations whose stream rules ``make formal`` checks
STREAM_CONFIGS = (
    StreamConfig("fineq_decoder", {}, counts="i", depth=8),
    StreamConfig("temporal_array", {"rows": 2, "cols": 2}, counts="a", depth=14, label="2x2"),
    StreamConfig("temporal_array", {"rows": 2, "cols": 2, "coding": "unary",
                                    "dataflow": "systolic"}, counts="a", depth=20,
                 label="2x2_unary_systolic"),
    StreamConfig("binary_array", {"rows": 2, "cols": 2, "dataflow": "systolic"}, counts="a",
                 depth=14, label="2x2_systolic"),
    StreamConfig("fineq_core", {"rows": 2, "cols": 2}, counts="a", depth=16, label="2x2"),
    StreamConfig("vmac", {"lanes": 1}, counts="a", depth=13, last_bit=_vmac_last_bit(),
                 label="1lane"),
    StreamConfig("vmac", {"lanes": 1, "datapath": "split"}, counts="a", depth=14,
                 last_bit=_vmac_last_bit(), label="1lane_split"),
    StreamConfig("fp8_vmac", {"lanes": 1}, counts="a", depth=12, last_bit=_vmac_last_bit(),
                 label="1lane"),
    StreamConfig("act_quant", {}, counts="i", depth=13),
)


def stream_harness(cfg: StreamConfig, *, cover: bool = False) -> tuple[str, str, int]:
    """(RTLIL of the block, Verilog of its stream harness, drain bound) for ``cfg``.

    The harness (module ``stream_harness``) instantiates the block and, per cycle:

    * assumes of every input stream X what a producer promises: once X.valid is high without
      X.ready, X.valid and X.payload stay unchanged in the next cycle, unless a reset intervened;
    * asserts of every output stream O the same rule (O.valid and O.payload held until
      O.ready), and that O.valid is low in the cycle after a reset;
    * counts, since the last reset, the input sets taken (handshakes of ``counts``, with
      ``last_bit`` set if given) ``n_in`` and the results taken ``n_out``: asserts
      n_out <= n_in (no result without its input set, none duplicated, none from before the
      reset) and n_out == n_in once ``quiet`` >= drain (quiet: cycles since the last input
      handshake or the last cycle with O.ready low; drain = latency + 2): none lost.
    * ``drained`` (used by the cover run): an input set was taken and the block drained.

    ``cover=True`` adds assumptions that every input payload is 0 except the counted stream's
    ``last_bit`` (a witness with zero data is a witness; the datapath then folds to constants).
    """
    from rtl.generate import elaborate
    g = elaborate(cfg.block, dict(cfg.params))
    meta = g.metadata()
    comp = g.component if getattr(g, "component", None) is not None else None
    ports = {p["name"]: p for p in meta["ports"]}
    streams = sorted({n[:-len("__valid")] for n in ports if n.endswith("__valid")})
    ins = [s for s in streams if ports[f"{s}__valid"]["direction"] == "input"]
    outs = [s for s in streams if ports[f"{s}__valid"]["direction"] == "output"]
    if cfg.counts not in ins or len(outs) != 1:
        raise ValueError(f"{cfg.tag}: expected input stream {cfg.counts!r} and one output "
                         f"stream, got inputs {ins} and outputs {outs}")
    drain = int(meta["latency"]) + 2 if cfg.drain is None else cfg.drain
    (o,) = outs
    w = lambda n: ports[n]["width"]                                    # noqa: E731
    decl = ["    input clk,", "    input rst,"]
    for name, p in ports.items():
        if name in ("clk", "rst"):
            continue
        if p["direction"] == "input":
            decl.append(f"    input [{p['width'] - 1}:0] {name},")
    decl[-1] = decl[-1].rstrip(",")
    lines = [f"// Stream rules of {cfg.tag} (generated by verif/formal.py stream_harness; see",
             "// docs/verification.md \"Formal proofs\"). Checked by BMC from a reset in step 1.",
             "module stream_harness (", *decl, ");"]
    for name, p in ports.items():
        if p["direction"] == "output":
            lines.append(f"    wire [{p['width'] - 1}:0] {name};")
    conns = ", ".join(f".{n}({n})" for n in ports)
    lines.append(f"    {cfg.block} dut ({conns});")
    lines += ["", "    reg p_rst;                  // the previous cycle's reset",
              "    always @(posedge clk) p_rst <= rst;"]
    for s in ins + outs:
        pw = w(f"{s}__payload")
        lines += [f"    reg p_{s}_wait;             // {s}: offered and not taken last cycle",
                  f"    reg [{pw - 1}:0] p_{s}_payload;",
                  "    always @(posedge clk) begin",
                  f"        p_{s}_wait <= {s}__valid && !{s}__ready;",
                  f"        p_{s}_payload <= {s}__payload;",
                  "    end"]
    take = f"{cfg.counts}__valid && {cfg.counts}__ready"
    if cfg.last_bit is not None:
        take += f" && {cfg.counts}__payload[{cfg.last_bit}]"
    any_in = " || ".join(f"({s}__valid && {s}__ready)" for s in ins)
    lines += ["",
              "    reg [7:0] n_in, n_out, quiet;",
              "    always @(posedge clk) begin",
              "        if (rst) begin",
              "            n_in <= 0; n_out <= 0; quiet <= 0;",
              "        end else begin",
              f"            if ({take}) n_in <= n_in + 1;",
              f"            if ({o}__valid && {o}__ready) n_out <= n_out + 1;",
              f"            if ({any_in} || !{o}__ready) quiet <= 0;",
              "            else if (quiet != 8'hFF) quiet <= quiet + 1;",
              "        end",
              "    end",
              f"    (* keep *) wire drained = n_in != 0 && quiet >= {drain};",
              "",
              "    always @* begin"]
    for s in ins:
        lines += [f"        if (!p_rst && p_{s}_wait)",
                  f"            assume ({s}__valid && {s}__payload == p_{s}_payload);"]
        if cover:
            pw = w(f"{s}__payload")
            mask = (1 << pw) - 1
            if s == cfg.counts and cfg.last_bit is not None:
                mask &= ~(1 << cfg.last_bit)
            lines.append(f"        assume (({s}__payload & {pw}'h{mask:x}) == 0);   // cover only")
    lines += [f"        if (!p_rst && p_{o}_wait)",
              f"            assert ({o}__valid && {o}__payload == p_{o}_payload);",
              f"        if (p_rst) assert (!{o}__valid);",
              "        if (!p_rst) assert (n_out <= n_in);",
              f"        if (!p_rst && quiet >= {drain}) assert (n_out == n_in);",
              "    end",
              "endmodule", ""]
    return g.rtlil(), "\n".join(lines), drain


STREAM_SCRIPT = """\
read_rtlil dut.il
read_verilog -formal harness.v
hierarchy -top stream_harness
proc
chformal -lower
flatten
memory
opt -fast
{sat}
"""


def stream_proof(cfg: StreamConfig, *, cover: bool = False, timeout: int = 1200,
                 work: Path | None = None) -> dict:
    """BMC of the stream rules of ``cfg`` over ``cfg.depth`` steps, reset in step 1 (every
    assertion from step 2 on). ``cover=True``: instead, find a trace whose last step has an
    input set taken and drained (proven = found)."""
    work = work or build_dir("formal", f"stream-{cfg.name}" + ("-cover" if cover else ""))
    work.mkdir(parents=True, exist_ok=True)
    il, harness, _ = stream_harness(cfg, cover=cover)
    (work / "dut.il").write_text(il)
    (work / "harness.v").write_text(harness)
    n = cfg.depth
    if cover:
        sat = (f"sat -seq {n} -set-assumes -set-at 1 rst 1 -set-at {n} drained 1 "
               f"-show-inputs -timeout {timeout}")
        return _verdict(work, timeout, STREAM_SCRIPT.format(sat=sat),
                        success="SAT solving finished - model found")
    sat = (f"sat -seq {n} -prove-asserts -prove-skip 1 -set-assumes -set-at 1 rst 1 "
           f"-show-inputs -verify -timeout {timeout}")
    return _verdict(work, timeout, STREAM_SCRIPT.format(sat=sat))


# ---------------------------------------------------------------------------------------------
# The property list and the table

@dataclass(frozen=True)
class Property:
    """One row of ``make formal``: ``run(timeout)`` returns a ``_verdict`` dict; ``expect``:
    True (must be proven) or False (a mutant: must be refuted with a counterexample)."""
    name: str
    block: str
    kind: str
    statement: str
    run: Callable[[int], dict] = field(compare=False)
    expect: bool = True
    quick: bool = False


def properties(*, datapaths=("shared",), modes=tuple(UNIT_NAMES), output: str = "d") -> list:
    """Every property ``make formal`` runs, in order."""
    props = [
        Property("ref.e4m3_encoder", "e4m3_encoder", "full",
                 "= minifloat_encode_ref for all 2^32 FP32 inputs x all 256 scale values",
                 lambda t: encoder_proof("e4m3", timeout=t)),
        Property("ref.e4m3_encoder.noscale", "e4m3_encoder(scale_width=0)", "full",
                 "= minifloat_encode_ref for all 2^32 FP32 inputs (FP32 subnormals -> 0 branch)",
                 lambda t: encoder_proof("e4m3", scale_width=0, timeout=t)),
        Property("ref.e2m1_encoder", "e2m1_encoder", "full",
                 "= minifloat_encode_ref for all 2^32 FP32 inputs x all 256 scale values",
                 lambda t: encoder_proof("e2m1", timeout=t), quick=True),
        Property("ref.e4m3_decoder", "e4m3_decoder", "full",
                 "= minifloat_decode_ref for all 256 codes",
                 lambda t: decoder_proof("e4m3", timeout=t), quick=True),
        Property("ref.e2m1_decoder", "e2m1_decoder", "full",
                 "= minifloat_decode_ref for all 16 codes",
                 lambda t: decoder_proof("e2m1", timeout=t), quick=True),
        Property("ref.act_quant.fp8_candidate", "act_quant: Fp8Candidate (A1-A2)", "full",
                 "q8 = E4M3(x/(6*2^k)) for all FP32 x, all 512 k",
                 lambda t: act_quant_fp8_proof(timeout=t)),
        Property("ref.act_quant.fp4_candidate",
                 "act_quant: Fp8Candidate + BlockScale + Fp4Candidate (A1-B2)", "full",
                 "q4 = E2M1(x/(s_b*2^k)) for all non-NaN x, all k, all sc >= |q8| (sc != 0x7F)",
                 lambda t: act_quant_fp4_proof(timeout=t)),
        Property("ref.act_quant.decision", "act_quant: BlockScore (E)", "full",
                 "meta = I > tau and score = I from the registered rows, all tau, all rows "
                 "with I < 2^62", lambda t: act_quant_decision_proof(timeout=t), quick=True),
        Property("vmac.scale_inputs", "vmac: BlockProduct(shared)", "full",
                 "|D| < 2^(term bits + 4) in each mode, M_sw*M_sa = 9 in fp8xfp8, all 2^274 "
                 "inputs", lambda t: scale_inputs_proof(timeout=t)),
        Property("ref.vmac.fp32_round", "vmac: F32FixedRound(64, -20)", "full",
                 "FP32 RNE of (zs + zc)*2^-20 and NaN flag, all 2^129 inputs",
                 lambda t: f32_round_proof(timeout=t)),
    ]
    for dp in datapaths:
        for mode in modes:
            props.append(Property(
                f"vmac.equiv.{dp}.{mode}", f"vmac: BlockProduct({dp})", "full",
                f"= split in {mode}: " + ("D, mm, s, NaN" if output == "d" else
                                          "D, mm, s, NaN, P") + " for all 2^272 inputs",
                lambda t, dp=dp, mode=mode: prove(dp, mode, output=output, timeout=t)))
    for cfg in STREAM_CONFIGS:
        quick = cfg.block == "fineq_decoder"
        props.append(Property(
            f"stream.{cfg.name}", cfg.tag, f"bounded {cfg.depth}",
            "valid/payload held until ready; no valid after reset; n_out <= n_in; "
            "none lost after the drain", lambda t, cfg=cfg: stream_proof(cfg, timeout=t),
            quick=quick))
        props.append(Property(
            f"stream.{cfg.name}.cover", cfg.tag, f"cover {cfg.depth}",
            "a trace with an input set taken and drained exists (the rules are not vacuous)",
            lambda t, cfg=cfg: stream_proof(cfg, cover=True, timeout=t), quick=quick))
    props += [
        Property("mutant.e4m3_encoder.sticky_lsb", "e4m3_encoder(mutant=sticky_lsb)", "full",
                 "the broken encoder must differ from minifloat_encode_ref",
                 lambda t: encoder_proof("e4m3", mutant="sticky_lsb", timeout=t),
                 expect=False),
        Property("mutant.vmac.mask21", "vmac: BlockProduct(shared, mutant=mask21)", "full",
                 "the broken shared unit must differ from split in fp8xfp4",
                 lambda t: prove("shared", "fp8xfp4", mutant="mask21", timeout=t),
                 expect=False),
    ]
    return props


def run_property(p: Property, timeout: int) -> dict:
    """Run one property; adds ``ok`` (the result is the expected one) and ``result`` (text)."""
    r = p.run(timeout)
    if r["timed_out"]:
        r["result"] = "UNDECIDED (time limit)"
    elif r["error"]:
        r["result"] = "ERROR (see log)"
    elif p.kind.startswith("cover"):
        r["result"] = "reached" if r["proven"] else "NOT REACHED"
    elif p.expect:
        r["result"] = "proven" if r["proven"] else "FAILED (counterexample)"
    else:
        r["result"] = "refuted as expected" if not r["proven"] else "NOT REFUTED"
    r["ok"] = (r["proven"] == p.expect) and not r["timed_out"] and not r["error"]
    return r


_COLS = ("property", "block", "kind", "solver", "time", "result")


def _widths(props) -> list[int]:
    """Column widths from the selected properties (the rows print as the proofs finish)."""
    longest = {"property": max(len(p.name) for p in props),
               "block": max(len(p.block) for p in props), "kind": 10,
               "solver": len(SOLVER), "time": 8, "result": 24}
    return [max(len(c), longest[c]) for c in _COLS]


def _row(values, widths) -> str:
    return "  ".join(str(v).ljust(w) for v, w in zip(values, widths)).rstrip()


def main(argv: list[str] | None = None) -> int:
    ap = Parser(prog="python -m verif.formal", description=__doc__.split("\n")[0])
    ap.add_argument("-k", dest="select", type=regex, default=None,
                    help="run only the properties whose name matches this regular expression")
    ap.add_argument("--list", action="store_true", help="list the properties and exit")
    ap.add_argument("--quick", action="store_true",
                    help="only the properties that take seconds (the ones make test runs)")
    ap.add_argument("--mutant", choices=["sticky_lsb", *MUTANTS],
                    help="only the mutant check of this mutant")
    ap.add_argument("--datapath", nargs="+", default=["shared"],
                    choices=[dp for dp in DATAPATHS if dp != "split"],
                    help="VMAC datapaths proven equal to split (vmac.equiv rows)")
    ap.add_argument("--mode", nargs="+", default=list(UNIT_NAMES), choices=list(UNIT_NAMES),
                    help="VMAC modes of the vmac.equiv rows")
    ap.add_argument("--output", default="d", choices=["d", "p"],
                    help="vmac.equiv: compare D, mm, s, NaN (d) or also P (p)")
    ap.add_argument("--timeout", type=int_range(1), default=1800,
                    help="seconds per SAT problem")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    props = properties(datapaths=args.datapath, modes=args.mode, output=args.output)
    if args.select:
        props = [p for p in props if re.search(args.select, p.name)]
    if args.quick:
        props = [p for p in props if p.quick]
    if args.mutant:
        props = [p for p in props if p.name.startswith("mutant.") and
                 p.name.endswith("." + args.mutant)]
    if args.list:
        for p in props:
            w = max(len(q.name) for q in props)
            print(f"{p.name:{w}s}  {p.kind:10s}  {p.block}: {p.statement}")
        return 0
    if not props:
        print("no property selected", file=sys.stderr)
        return 1
    widths = _widths(props)
    print(_row(_COLS, widths))
    print(_row(["-" * w for w in widths], widths), flush=True)
    ok_all = True
    failures = []
    t0 = time.monotonic()
    for p in props:
        r = run_property(p, args.timeout)
        print(_row([p.name, p.block, p.kind, SOLVER, f"{r['seconds']:.1f} s", r["result"]],
                   widths), flush=True)
        if not r["ok"]:
            ok_all = False
            failures.append((p, r))
        elif not p.expect:
            failures.append((p, r))          # show the counterexample the mutant produced
    total = time.monotonic() - t0
    print(f"\n{len(props)} propert{'y' if len(props) == 1 else 'ies'}, "
          f"{sum(1 for p in props if p.expect)} to prove; "
          f"total {total:.0f} s; {'all as expected' if ok_all else 'NOT all as expected'}")
    for p, r in failures:
        print(f"\n{p.name} ({r['result']}; log {r['log']}):\n{r['counterexample']}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
