"""The declarative list of designs the reports compare: block + parameters + energy workloads.

A :class:`Design` names a registered block (``rtl.generate --list``), its parameters, the energy
workloads to run on its gate-level netlist (``synth.stimulus`` names + arguments) and whether it
belongs to the default set of ``make area`` (the rest run with ``make area-full`` or
``python -m synth.sweep``). A block that is not registered yet is reported as "not available
yet"; nothing else needs to change when it lands.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Design", "DESIGNS", "FINEQ_SIZES", "DEFAULT_FINEQ_SIZES", "design", "designs",
           "FGMP_P", "FINEQ_CODINGS", "FINEQ_DATAFLOWS", "FINEQ_DEFAULT", "FINEQ_PREVIOUS",
           "FINEQ_VARIANT_SIZE", "fineq_key", "fineq_label", "FGMP_SEQS", "FGMP_VARIANTS",
           "fgmp_seq_name", "FGMP_ORDERS", "FGMP_ORDER", "fgmp_p_name", "fgmp_fp8_name",
           "FAMILIES"]

FINEQ_SIZES = (4, 8, 16, 32)
DEFAULT_FINEQ_SIZES = (4, 8, 16)
#: Every FineQ array variant (coding x dataflow) and both baselines in every dataflow are
#: measured at this size; the other sizes only for the default variant and the baselines in its
#: dataflow (make area's time).
FINEQ_VARIANT_SIZE = 16
FINEQ_CODINGS = ("select", "csd", "unary")
FINEQ_DATAFLOWS = ("broadcast", "systolic")
#: the default variant of temporal_array / fineq_core, and the previous default (the baseline
#: row of the FineQ table)
FINEQ_DEFAULT = ("select", "broadcast")
FINEQ_PREVIOUS = ("csd", "systolic")
FGMP_P = (0.7, 0.9)
FGMP_LANES = (1, 4)
DEFAULT_FGMP_LANES = (1,)


@dataclass(frozen=True)
class Design:
    key: str
    block: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    family: str = "blocks"
    energy: dict[str, tuple[str, dict]] = field(default_factory=dict)   # name -> (stimulus, args)
    default: bool = True

    def as_json(self) -> dict:
        return {"key": self.key, "block": self.block, "params": self.params, "label": self.label,
                "family": self.family, "energy": {k: list(v) for k, v in self.energy.items()},
                "default": self.default}

    def params_text(self) -> str:
        return json.dumps(self.params, sort_keys=True)


def fineq_key(kind: str, dataflow: str, n: int) -> str:
    """Design key of a FineQ array: ``kind`` = a coding (the multiplier-free array) or
    ``int4``/``int8`` (binary baselines)."""
    return f"fineq/{kind}-{dataflow}/{n}x{n}"


def fineq_label(kind: str, dataflow: str) -> str:
    if kind.startswith("int"):
        return f"INT8xINT{kind[3:]} {dataflow}"
    tag = " (default)" if (kind, dataflow) == FINEQ_DEFAULT else \
        " (previous default)" if (kind, dataflow) == FINEQ_PREVIOUS else ""
    return f"FineQ {kind} {dataflow}{tag}"


def _fineq() -> list[Design]:
    out = []
    e = {"minilm": ("fineq_array", {})}
    for n in FINEQ_SIZES:
        for dataflow in FINEQ_DATAFLOWS:
            for kind in FINEQ_CODINGS + ("int4", "int8"):
                every = n == FINEQ_VARIANT_SIZE
                main = dataflow == FINEQ_DEFAULT[1] and kind in (FINEQ_DEFAULT[0], "int4", "int8")
                if not (every or main):
                    continue
                if kind.startswith("int"):
                    block, params = "binary_array", {"weight_bits": int(kind[3:])}
                else:
                    block, params = "temporal_array", {"coding": kind}
                out.append(Design(fineq_key(kind, dataflow, n), block,
                                  {"rows": n, "cols": n, **params, "dataflow": dataflow},
                                  f"{fineq_label(kind, dataflow)} {n}x{n}", "fineq", e,
                                  n in DEFAULT_FINEQ_SIZES))
    # one PE of each array (bottom row: widest partial sum), compared with each other
    out += [Design("fineq/pe/select", "temporal_pe", {}, "FineQ PE (select, broadcast)", "fineq-pe"),
            Design("fineq/pe/csd-systolic", "temporal_pe", {"coding": "csd", "dataflow": "systolic"},
                   "FineQ PE (csd, systolic: previous default)", "fineq-pe"),
            Design("fineq/pe/int4", "binary_pe", {"weight_bits": 4}, "INT8xINT4 PE (broadcast)",
                   "fineq-pe"),
            Design("fineq/pe/int8", "binary_pe", {"weight_bits": 8}, "INT8xINT8 PE (broadcast)",
                   "fineq-pe")]
    out.append(Design("fineq/decoder", "fineq_decoder", {}, "FineQ decoder", "fineq-extra"))
    out.append(Design("fineq/core/4x4", "fineq_core", {"rows": 4, "cols": 4},
                      "FineQ core 4x4 (decoder + array)", "fineq-extra"))
    out.append(Design("fineq/core/16x16", "fineq_core", {"rows": 16, "cols": 16},
                      "FineQ core 16x16 (decoder + array)", "fineq-extra", {}, False))
    return out


#: mode sequences of the energy runs: each pair alternates block pair by block pair; the
#: same modes repeated are the per-mode runs (mode-change cost = alternating − mean of both)
FGMP_SEQS = (("fp4xfp4", "fp8xfp8"), ("fp4xfp4", "fp4xfp8"), ("fp4xfp4", "fp8xfp4"))
#: VMAC datapath variants: (key suffix, parameters, label, in the default set)
FGMP_VARIANTS = (
    ("vmac", {"datapath": "shared"}, "FGMP VMAC shared", True),
    ("vmac_split", {"datapath": "split"}, "FGMP VMAC split (hold)", True),
    ("vmac_shared_ss", {"datapath": "shared_ss"}, "FGMP VMAC shared, sign-separated tree", True),
    ("vmac_shared_sa", {"datapath": "shared_sa"}, "FGMP VMAC shared, sign-separated accumulator",
     False),
    ("vmac_shared_ss_sa", {"datapath": "shared_ss_sa"},
     "FGMP VMAC shared, sign-separated tree + accumulator", False),
    ("vmac_shared_nc", {"datapath": "shared_nc"},
     "FGMP VMAC shared, accumulator with a negative count", False),
    ("vmac_shared_fp4", {"datapath": "shared_fp4"}, "FGMP VMAC shared + FP4 tree (hold)", False),
    ("vmac_split_and", {"datapath": "split", "isolation": "and"}, "FGMP VMAC split (and)",
     False),
    ("vmac_split_none", {"datapath": "split", "isolation": "none"}, "FGMP VMAC split (none)",
     False),
)


#: block-pair orders the p runs are measured in (synth.stimulus.ORDERS); FGMP_ORDER is the
#: headline of the report's targets and claims (the other order's figures stand beside it)
FGMP_ORDERS = ("natural", "grouped")
FGMP_ORDER = "grouped"


def fgmp_p_name(p: float, order: str = "natural") -> str:
    """Energy workload name of a VMAC run at NVFP4 fraction p: "p0.7", "p0.7_grouped"."""
    return f"p{p}" + ("" if order == "natural" else f"_{order}")


def fgmp_fp8_name(p: float | None = None, order: str = "natural") -> str:
    """Energy workload name of the FP8-only baseline: "all_fp8" (K order), or the same block
    pairs in the order a VMAC run at fraction p issues them ("all_fp8_grouped_p0.7")."""
    return "all_fp8" if order == "natural" else f"all_fp8_{order}_p{p}"


def fgmp_seq_name(seq) -> str:
    return "seq_" + "_".join(seq)


def _fgmp() -> list[Design]:
    vm = {f"mode_{m}": ("fgmp_vmac", {"mode": m})
          for m in ("fp4xfp4", "fp4xfp8", "fp8xfp4", "fp8xfp8")}
    for p in FGMP_P:
        vm[f"p{p}"] = ("fgmp_vmac", {"p": p})
    vm["p0.5"] = ("fgmp_vmac", {"p": 0.5})      # datapath at p = 0.5 for synth/system
    for seq in FGMP_SEQS:
        vm[fgmp_seq_name(seq)] = ("fgmp_vmac", {"seq": list(seq)})
    # the FP8-only baseline runs the same tokens and weight rows, every block FP8, in K order
    # and in each p run's mode-grouped order (the same permutation, for fairness)
    fp8 = {"all_fp8": ("fgmp_vmac", {"all_fp8": True})}
    for order in FGMP_ORDERS[1:]:
        for p in FGMP_P:
            vm[fgmp_p_name(p, order)] = ("fgmp_vmac", {"p": p, "order": order})
            fp8[fgmp_fp8_name(p, order)] = ("fgmp_vmac", {"all_fp8": True, "p": p,
                                                         "order": order})
    # Default set: 1 lane (the per-lane datapath) for the shared and split VMAC and the FP8-only
    # baseline; 4 lanes (the block's default) and the other variants in the full set.
    out = []
    for lanes in FGMP_LANES:
        dflt = lanes in DEFAULT_FGMP_LANES
        s = "s" * (lanes > 1)
        vm_l, fp8_l = dict(vm), dict(fp8)
        if lanes > 1:
            # experiment: output rows mapped onto lanes by their FP8 block positions (the
            # grouped order then lines the lanes' modes up; synth/stimulus.py lane_map)
            vm_l[fgmp_p_name(0.7, "grouped") + "_clustered"] = (
                "fgmp_vmac", {"p": 0.7, "order": "grouped", "lane_map": "clustered"})
            fp8_l[fgmp_fp8_name(0.7, "grouped") + "_clustered"] = (
                "fgmp_vmac", {"all_fp8": True, "p": 0.7, "order": "grouped",
                              "lane_map": "clustered"})
        for key, params, label, in_default in FGMP_VARIANTS:
            out.append(Design(f"fgmp/{key}/{lanes}", "vmac", {"lanes": lanes, **params},
                              f"{label} ({lanes} lane{s})", "fgmp", vm_l,
                              dflt and in_default))
        out.append(Design(f"fgmp/fp8_vmac/{lanes}", "fp8_vmac", {"lanes": lanes},
                          f"FP8-only VMAC ({lanes} lane{s})", "fgmp", fp8_l, dflt))
    out.append(Design("fgmp/act_quant", "act_quant", {}, "activation quantizer", "fgmp",
                      {"minilm": ("fgmp_act_quant", {})}))
    return out


def _formats() -> list[Design]:
    return [Design(f"formats/{b}", b, {}, b, "formats") for b in
            ("e4m3_encoder", "e2m1_encoder", "e4m3_decoder", "e2m1_decoder")]


DESIGNS: list[Design] = _fineq() + _fgmp() + _formats()
FAMILIES = tuple(sorted({d.family for d in DESIGNS}))


def design(key: str) -> Design:
    for d in DESIGNS:
        if d.key == key:
            return d
    raise KeyError(f"unknown design {key!r}")


def designs(full: bool = False) -> list[Design]:
    return [d for d in DESIGNS if full or d.default]
