"""FGMP VMAC: L dot-product lanes sharing one activation block per cycle (SPEC §5,
docs/fgmp_rtl.md). ``Vmac`` computes the four modes FP4×FP4, FP4×FP8, FP8×FP4, FP8×FP8 (weight
format first, selected per lane by the two meta bits) on one of three datapaths
(``DATAPATHS``); ``Fp8Vmac`` is the all-FP8 baseline with the same interface.

Arithmetic per block pair and lane (bit-exact with golden ``hw.vmac``, docs/fgmp.md §3):

1. every element decodes to ``M·2^(sh − off)`` (rtl/common/minifloat.py: E2M1 off 1, E4M3 off 9);
   FP4 fields sit in the low bits of the FP8-wide fields (M < 4, sh < 3), the rest is 0;
2. a dot-product unit forms the 16 terms ``t_i = (Mw·Ma) << (shw + sha)`` (units of 2^E_unit,
   E_unit = −2, −10, −18 for FP4×FP4, mixed, FP8×FP8) and sums them exactly in carry-save form
   without sign extension: a negative term enters as its one's complement within the mode's
   term width w_m (8, 22, 36 bits) and D = Σ enc + n_neg − n_neg·2^w_m (n_neg = negative
   non-zero terms), so the bits above w_m stay 0 in the narrow modes;
3. block scales decode to ``M_s·2^(sh_s − 9)`` (UE4M3; an FP8 block's implicit 6 = 3·2^1), so
   P·2^20 = |D|·(M_sw·M_sa) << s with s = sh_sw + sh_sa − 8·(w8 + a8) ∈ [0, 28], an integer
   below 2^47 (P is a multiple of 2^-20);
4. P is added exactly to a 64-bit carry-save accumulator (two's complement; ±P every cycle, no
   carry propagation); the FP8-only lane adds the tree's carry-save words directly (its block
   scale is the constant 36, applied once at the end);
5. after the last block pair the accumulator (and the start value, with ``acc_init``) is
   rounded once to FP32 by ``F32FixedRound`` (rtl/common/float32.py); a NaN element code of an
   FP8 block or a NaN scale (0x7F) of an NVFP4 block anywhere in the dot product gives
   0x7FC00000.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.hdl import Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common import (F32FixedRound, csa_reduce, e2m1_fields, e4m3_fields, fast_add, tree_sum,
                      ue4m3_fields)
from ..common.float32 import stage_names_fixed_round
from ..hierarchy import add_unit
from .common import BLOCK, check_choice, check_int

__all__ = ["Vmac", "Fp8Vmac", "VmacLane", "DotUnit", "ScaleAccumulate", "Fp8Accumulate",
           "BlockProduct", "MUTANTS",
           "UNITS", "UNIT_NAMES", "ISOLATION", "DATAPATHS", "DATAPATH_UNITS", "DATAPATH_TREE",
           "DATAPATH_ACC", "ACCS", "TREES", "a_layout",
           "w_layout", "term_width", "ACC_WIDTH", "P_UNIT_EXP", "MAX_PAIRS"]

#: dot-product modes as (weight is FP8, activation is FP8); index = 2·w_meta + a_meta
UNITS = ((0, 0), (0, 1), (1, 0), (1, 1))
UNIT_NAMES = ("fp4xfp4", "fp4xfp8", "fp8xfp4", "fp8xfp8")
#: operand isolation of the dot-product units of a multi-unit datapath
ISOLATION = ("hold", "and", "none")
#: the dot-product units of each datapath (each unit: the modes it computes)
DATAPATH_UNITS = {
    "shared": (UNITS,),                                        # one FP8-capable unit
    "shared_fp4": (((0, 0),), ((0, 1), (1, 0), (1, 1))),       # + a narrow FP4xFP4 unit
    "split": tuple((u,) for u in UNITS),                       # four units side by side
    "shared_ss": (UNITS,),                                     # shared, sign-separated tree
    "shared_sa": (UNITS,),                 # shared, sign-separated accumulator
    "shared_ss_sa": (UNITS,),              # sign-separated tree and accumulator
    "shared_nc": (UNITS,),                 # shared, accumulator with a negative count
}
DATAPATHS = tuple(DATAPATH_UNITS)
#: how each datapath's dot units sum signed terms (``DotUnit`` ``tree``)
DATAPATH_TREE = {"shared": "ones", "shared_fp4": "ones", "split": "ones", "shared_ss": "signsep",
                 "shared_sa": "ones", "shared_ss_sa": "signsep", "shared_nc": "ones"}
#: how each datapath accumulates signed block products (``ScaleAccumulate`` ``acc``)
DATAPATH_ACC = {dp: "signsep" if dp.endswith("_sa") else "count" if dp.endswith("_nc") else
                "twos" for dp in DATAPATH_UNITS}
#: datapaths with one dot unit (no operand isolation)
SINGLE_UNIT = tuple(dp for dp, u in DATAPATH_UNITS.items() if len(u) == 1)

#: exact block products are integers in units of 2^P_UNIT_EXP (golden hw.P_UNIT_EXP)
P_UNIT_EXP = -20
#: block pairs per dot product the accumulators are sized for (golden hw.MAX_PAIRS)
MAX_PAIRS = 1 << 16
#: |P·2^20| < 2^47, so Σ over MAX_PAIRS fits 64 bits two's complement
ACC_WIDTH = 64
_P_BITS = 47

_OFF = {0: 1, 1: 9}              # value = M·2^(sh − off)
_MMAX = {0: 3, 1: 15}            # largest decoded mantissa
_SHMAX = {0: 2, 1: 14}           # largest decoded shift
_FBITS = {0: 2, 1: 4}            # field width of M and sh
#: (M_s, sh_s) of the implicit block scale 6 of an FP8 block (UE4M3 0x4C)
_FP8_SCALE = (3, 10)


def term_width(w8: int, a8: int) -> int:
    """Bits of one term (Mw·Ma) << (shw + sha) of a mode: 8, 22, 22, 36."""
    return (_MMAX[w8] * _MMAX[a8]).bit_length() + _SHMAX[w8] + _SHMAX[a8]


def unit_exp(w8: int, a8: int) -> int:
    """The block sum of a mode is in units of 2^unit_exp."""
    return -(_OFF[w8] + _OFF[a8])


def a_layout():
    """Activation stream payload: a block plus ``last`` (end of the dot product)."""
    return data.StructLayout({"codes": 128, "scale": 8, "meta": 1, "last": 1})


def w_lane_layout(acc_init: bool):
    fields = {"codes": 128, "scale": 8, "meta": 1}
    if acc_init:
        fields["acc"] = 32
    return data.StructLayout(fields)


def w_layout(lanes: int, acc_init: bool = False):
    """Weight stream payload: one block per lane (lane l at [l·W + W−1 : l·W])."""
    return data.ArrayLayout(w_lane_layout(acc_init), lanes)


def o_layout(lanes: int):
    """Result stream payload: the FP32 result of every lane (lane l at [32l+31 : 32l])."""
    return data.ArrayLayout(32, lanes)


def operand_layout(fp8: bool):
    """Decoded operand block: per element sign, mantissa M and shift sh (FP4: 2-bit fields)."""
    b = _FBITS[int(fp8)]
    return data.ArrayLayout(data.StructLayout({"s": 1, "m": b, "sh": b}), BLOCK)


def decode_block(codes, meta, fmts) -> list:
    """(sign, M, sh) of each element of a code bus, as 9-bit (FP8-capable) or 5-bit Cat values
    matching ``operand_layout``: ``fmts`` = formats the block may have ({0}, {1} or {0, 1});
    an FP4 element has its fields in the low bits and zeros above."""
    out = []
    for i in range(BLOCK):
        if 1 in fmts:
            s8, m8, sh8, _ = e4m3_fields(codes[8 * i:8 * i + 8])
        if 0 in fmts:
            s4, m4, sh4 = e2m1_fields(codes[4 * i:4 * i + 4])
        if fmts == {1}:
            out.append(Cat(s8, m8, sh8))
        elif fmts == {0}:
            out.append(Cat(s4, m4, sh4))
        else:
            out.append(Mux(meta, Cat(s8, m8, sh8), Cat(s4, m4[:2], Const(0, 2), sh4[:2],
                                                       Const(0, 2))))
    return out


def block_nan(meta, codes, scale, fp8_only: bool = False):
    """NaN flag of a block: an E4M3 NaN code in an FP8 block, or scale 0x7F in an NVFP4 one."""
    fp8_nan = Cat(*[codes[8 * i:8 * i + 7] == 0x7F for i in range(BLOCK)]).any()
    if fp8_only:
        return fp8_nan
    return Mux(meta, fp8_nan, scale[:7] == 0x7F)


def scale_fields(meta, scale):
    """(M_s, sh_s) of a block scale (4 bits each): the implicit 6 = 3·2^1 of an FP8 block."""
    mant, sh = ue4m3_fields(scale)
    return Mux(meta, _FP8_SCALE[0], mant)[:4], Mux(meta, _FP8_SCALE[1], sh)[:4]


def _reg(m, value, ld, name, shape=None):
    """A ``reset_less`` register loading ``value`` when ``ld``."""
    value = Value.cast(value)
    r = Signal(shape if shape is not None else value.shape(), name=name, reset_less=True)
    with m.If(ld):
        m.d.sync += r.eq(value)
    return r


_reg_always = _reg


def _reg_or_wire(m, value, ld, name, shape=None):
    """The combinational stand-in of ``_reg`` (units built for the equivalence proof)."""
    value = Value.cast(value)
    r = Signal(shape if shape is not None else value.shape(), name=name)
    m.d.comb += r.eq(value)
    return r


#: deliberately broken variants of the shared unit, for the formal check's negative test
MUTANTS = ("mask21",)
#: how a dot unit sums its signed terms: "ones" (one's complements within the mode's term
#: width, one tree), "signsep" (positive and negative magnitudes in two trees, D = P − N)
TREES = ("ones", "signsep")
#: how ScaleAccumulate adds signed block products: "twos" (one two's complement carry-save
#: accumulator, ± by one's complements), "signsep" (two magnitude accumulators, P − N at the end),
#: "count" (one's complements within the 47 product bits only, negative pairs counted and
#: subtracted once at the end)
ACCS = ("twos", "signsep", "count")


def _inv(v, width: int) -> Value:
    """One's complement of ``v`` zero-extended to ``width`` bits."""
    v = Value.cast(v)
    return ~Cat(v, Const(0, max(0, width - len(v))))[:width]


def _mode_is(mode, modes) -> Value:
    """1 when the 2-bit mode index is one of ``modes``."""
    if set(modes) == set(UNITS):
        return Const(1, 1)
    return Cat(*[mode == UNITS.index(u) for u in modes]).any()


# ------------------------------------------------------------------------------------------------
# units
# ------------------------------------------------------------------------------------------------

class DotUnit(wiring.Component):
    """Exact block sum of one or more modes, pipelined.

    Parameters: ``modes`` (tuple of (w8, a8) it computes; one unit of the split datapath has
    one mode, the shared one all four); ``output``: ``"d"`` (the signed block sum D, three
    stages) or ``"carry_save"`` (two non-negative carry-save words and the negative-term count,
    two stages: the FP8-only lane accumulates them as they are); ``tree``: ``"ones"`` (below)
    or ``"signsep"`` (``output="d"`` only: the sign-separated tree of the ``shared_ss``
    datapath).

    Stage 1 (``ld[0]``, products): per element p = Mw·Ma, sh = shw + sha, the sign of a
    non-zero product; n_neg = their count. Stage 2 (``ld[1]``, tree): terms p << sh, negative
    ones as one's complements within the mode's width w_m = ``term_width`` (bits above w_m
    stay 0), a Wallace tree of 3:2 compressors to two words; with ``output="d"`` the rows
    n_neg and ~(n_neg << w_m) + 1 join the tree, so the words add up to
    D = Σ enc + n_neg − n_neg·2^w_m (mod 2^d_width). Stage 3 (``ld[2]``, sum, ``"d"`` only):
    D by one carry-propagate adder.

    ``tree="signsep"``: stage 2 puts every term as a magnitude into one of two Wallace trees,
    positive terms into P and negative ones into N (the other tree sees 0), and a 4:2 step
    forms P + ~N_s + ~N_c + 2 = P − N (mod 2^d_width) as the two words: no term is ever
    complemented, so a term's bits above its own magnitude are 0 whatever its sign and mode,
    and the unit needs no mode (no masks, no correction rows).

    Ports: ``w``, ``a`` (``operand_layout``; stage-0 inputs), ``mode`` (2-bit mode index,
    stage 0), ``ld``; outputs ``d`` (signed ``d_width`` = 41, units 2^unit_exp(mode)) or ``s``,
    ``c`` (``sum_width`` bits) and ``n_neg`` (5 bits).
    """

    OUTPUTS = ("d", "carry_save")

    def __init__(self, *, modes, output: str = "d", registered: bool = True,
                 mutant: str | None = None, tree: str = "ones"):
        modes = tuple(sorted(set(tuple(u) for u in modes)))
        if not modes or any(u not in UNITS for u in modes):
            raise ValueError(f"modes must be a non-empty subset of {list(UNITS)}, got {modes!r}")
        self.modes = modes
        self.output = check_choice("output", output, self.OUTPUTS)
        self.registered = registered
        self.mutant = check_choice("mutant", mutant, (None,) + tuple(MUTANTS))
        self.tree = check_choice("tree", tree, TREES)
        if tree == "signsep" and (output != "d" or mutant is not None):
            raise ValueError("tree='signsep' needs output='d' and no mutant")
        self.w_fp8 = any(w8 for w8, _ in modes)
        self.a_fp8 = any(a8 for _, a8 in modes)
        members = {"w": In(operand_layout(self.w_fp8)), "a": In(operand_layout(self.a_fp8)),
                   "mode": In(2), "ld": In(self.stages)}
        if output == "d":
            members["d"] = Out(signed(self.d_width))
        else:
            members.update(s=Out(self.sum_width), c=Out(self.sum_width), n_neg=Out(5))
        super().__init__(members)

    @property
    def stages(self) -> int:
        return 3 if self.output == "d" else 2

    @property
    def term_bits(self) -> int:
        return max(term_width(*u) for u in self.modes)

    @property
    def sum_width(self) -> int:
        """Σ of 16 non-negative terms below 2^term_bits."""
        return self.term_bits + 4

    @property
    def d_width(self) -> int:
        """Signed width of D: 41 bits in every unit (|D| < 2^40 for FP8xFP8). A narrow unit's
        tree and adder are as wide as the shared unit's (the bits above its terms only carry the
        correction's constant ones and the sign), so that the shared and split datapaths are
        the same circuit mode by mode wherever they can be and the equivalence proof
        (verif/formal.py) is structural instead of a search through two adders."""
        return ScaleAccumulate.D_WIDTH

    @property
    def mode_names(self) -> list[str]:
        return [UNIT_NAMES[UNITS.index(u)] for u in self.modes]

    @property
    def unit_name(self) -> str:
        if len(self.modes) == 4:
            return "dot_shared" + ("_ss" if self.tree == "signsep" else "")
        if len(self.modes) == 1:
            return f"dot_{self.mode_names[0]}"
        return "dot_" + "_".join(self.mode_names)

    @property
    def unit_key(self):
        return (self.modes, self.output, self.registered, self.mutant, self.tree)

    def elaborate(self, platform):
        m = Module()
        ld_p, ld_t = self.ld[0], self.ld[1]
        T = self.term_bits
        _reg = _reg_or_wire if not self.registered else _reg_always
        signsep = self.tree == "signsep"
        mode1 = (_reg(m, self.mode, ld_p, "mode1") if len(self.modes) > 1 and not signsep
                 else None)
        terms, negs = [], []
        for i in range(BLOCK):
            wf, af = self.w[i], self.a[i]
            neg = (wf.s ^ af.s) & (wf.m != 0) & (af.m != 0)     # zero products are positive
            p1 = _reg(m, wf.m * af.m, ld_p, f"p{i}")
            sh1 = _reg(m, wf.sh + af.sh, ld_p, f"sh{i}")
            n1 = _reg(m, neg, ld_p, f"n{i}")
            term = Signal(T, name=f"t{i}")
            m.d.comb += term.eq((p1 << sh1)[:T])
            terms.append(term)
            negs.append(n1)
        if signsep:
            return self._signsep(m, terms, negs, _reg)
        nneg0 = Signal(5, name="nneg0")
        m.d.comb += nneg0.eq(tree_sum([(self.w[i].s ^ self.a[i].s) & (self.w[i].m != 0)
                                       & (self.a[i].m != 0) for i in range(BLOCK)]))
        nneg1 = _reg(m, nneg0, ld_p, "nneg1")
        # complement mask: bit b belongs to the field of the current mode iff b < w_m(mode)
        widths = sorted({term_width(*u) for u in self.modes})
        mask_parts, lo = [], 0
        for w in widths:
            active = [u for u in self.modes if term_width(*u) >= w]
            sel = _mode_is(mode1, active) if mode1 is not None else Const(1, 1)
            mask_parts.append(sel.replicate(w - lo))
            lo = w
        mask = Signal(T, name="cmask")
        if self.mutant == "mask21" and len(widths) > 1:
            # deliberately broken (formal test): mixed modes complement only 21 of 22 bits
            mixed = _mode_is(mode1, [u for u in self.modes if term_width(*u) == 22])
            mask_parts[1] = Cat(mask_parts[1][:13], mask_parts[1][13] & ~mixed)
        m.d.comb += mask.eq(Cat(*mask_parts))
        rows = [terms[i] ^ (mask & negs[i].replicate(T)) for i in range(BLOCK)]
        if self.output == "carry_save":
            s, c = csa_reduce(m, rows, self.sum_width, name="tree")
            m.d.comb += [self.s.eq(_reg(m, s, ld_t, "s2")), self.c.eq(_reg(m, c, ld_t, "c2")),
                         self.n_neg.eq(_reg(m, nneg1, ld_t, "nneg2"))]
            return m
        WD = self.d_width
        corr = Signal(WD, name="corr")                 # ~(n_neg << w_m) within WD bits
        if mode1 is None or len(widths) == 1:
            m.d.comb += corr.eq(_inv(nneg1 << widths[-1], WD))
        else:
            with m.Switch(mode1):
                for u in self.modes:
                    with m.Case(UNITS.index(u)):
                        m.d.comb += corr.eq(_inv(nneg1 << term_width(*u), WD))
        s, c = csa_reduce(m, rows + [nneg1, corr], WD, name="tree", carry_in=[Const(1, 1)])
        s2, c2 = _reg(m, s, ld_t, "s2"), _reg(m, c, ld_t, "c2")
        d = fast_add(m, s2, c2, WD, name="dsum").as_signed()
        m.d.comb += self.d.eq(_reg(m, d, self.ld[2], "d3"))
        return m

    def _signsep(self, m, terms, negs, _reg):
        """Stages 2-3 of the sign-separated tree: P and N as magnitudes, D = P − N."""
        WD = self.d_width
        pos = [t & (~n).replicate(len(t)) for t, n in zip(terms, negs)]
        neg = [t & n.replicate(len(t)) for t, n in zip(terms, negs)]
        ps, pc = csa_reduce(m, pos, WD, name="ptree")
        ns, nc = csa_reduce(m, neg, WD, name="ntree")
        # P − N = ps + pc + ~ns + ~nc + 2 (mod 2^WD); |D| < 2^40
        s, c = csa_reduce(m, [ps, pc, _inv(ns, WD), _inv(nc, WD)], WD, name="pmn",
                          carry_in=[Const(1, 1), Const(1, 1)])
        s2, c2 = _reg(m, s, self.ld[1], "s2"), _reg(m, c, self.ld[1], "c2")
        d = fast_add(m, s2, c2, WD, name="dsum").as_signed()
        m.d.comb += self.d.eq(_reg(m, d, self.ld[2], "d3"))
        return m


def scale_words(m, d, mm):
    """X = |D|·mm as two carry-save words (``X_WIDTH`` bits) without a negation adder:
    partial products of D ⊕ sign(D) (= |D| − sign) plus the row sign·mm. Returns
    (x1, x2, sign)."""
    WD = len(d)
    sgn = d[WD - 1]
    dx = (d ^ sgn.replicate(WD))[:WD - 1]
    rows = [(dx & mm[j].replicate(WD - 1)) << j for j in range(8)]
    rows.append(mm & sgn.replicate(8))
    x1, x2 = csa_reduce(m, rows, WD - 1 + 8, name="scl")
    return x1, x2, sgn


class ScaleAccumulate(wiring.Component):
    """Block scale and exact accumulation of one lane (two stages after the dot unit).

    Stage ``scale`` (``ld[0]``): X = |D|·mm as two carry-save words (partial products of
    D ⊕ sign(D) plus the row sign·mm: no negation adder). Stage ``accumulate`` (``ld[1]``):
    ``acc="twos"``: acc ← (first ? 0 : acc) ± (X << s), a 64-bit two's complement carry-save
    accumulator (two words; a negative addend enters as one's complements + 2 carry-ins);
    ``acc="signsep"``: two magnitude accumulators, P for the positive products and N for the
    negative ones (two carry-save words each): X << s enters the one its sign selects, the other
    sees zeros and holds its words (loaded only with ``first``, which clears both); the
    rounding takes z = P − N = P_s + P_c + ~N_s + ~N_c + 2 (mod 2^64; each magnitude sum is
    below 2^63). No addend is ever complemented, so the bits above a product's magnitude stay 0
    whatever its sign.

    Ports: ``d`` (signed ``D_WIDTH``, the pair entering ``scale``), ``mm`` (M_sw·M_sa, 8 bits)
    of that pair, ``shift`` (s, 5 bits) of that pair, ``first`` (the pair entering
    ``accumulate`` starts a dot product), ``ld``; ``acc`` (the accumulator words, ``ACC_WIDTH``
    bits each: 2, or 4 with ``signsep`` (P_s, P_c, N_s, N_c)); ``nn`` (``count`` only).

    ``acc="count"``: a negative product enters as the one's complements of its two words within
    their 47 bits (+ 2 carry-ins), i.e. −y = ~y + 1 − 2^47 per word; the missing −2^48 per
    negative pair is counted in ``nn`` = −n mod 2^16 and the rounding adds the row nn·2^48
    (mod 2^64). Bits 47..63 of the addends are always 0.
    """

    D_WIDTH = 41                     # |D| < 2^40 (FP8xFP8: 16·225·2^28)
    NN_WIDTH = ACC_WIDTH - _P_BITS - 1    # −(negative products) mod 2^16 ("count")

    def __init__(self, *, acc: str = "twos"):
        self.acc_kind = check_choice("acc", acc, ACCS)
        members = {"d": In(signed(self.D_WIDTH)), "mm": In(8), "shift": In(5),
                   "first": In(1), "ld": In(2),
                   "acc": Out(data.ArrayLayout(ACC_WIDTH, self.words))}
        if self.acc_kind == "count":
            members["nn"] = Out(self.NN_WIDTH)
        super().__init__(members)

    @property
    def words(self) -> int:
        return 4 if self.acc_kind == "signsep" else 2

    @property
    def unit_key(self):
        return self.acc_kind

    @property
    def unit_name(self) -> str:
        return "scale_accumulate" + {"twos": "", "signsep": "_ss", "count": "_nc"}[self.acc_kind]

    def rows(self) -> list[Value]:
        """The rows whose sum (mod 2^ACC_WIDTH) is the accumulated value z (the rounding's
        input; P − N as P_s + P_c + ~N_s + ~N_c + 2 with ``signsep``)."""
        if self.acc_kind == "twos":
            return [self.acc[0], self.acc[1]]
        if self.acc_kind == "count":      # acc − n·2^48 = acc + (−n mod 2^16)·2^48
            return [self.acc[0], self.acc[1], Cat(Const(0, _P_BITS + 1), self.nn)]
        return [self.acc[0], self.acc[1], ~self.acc[2], ~self.acc[3], Const(2, ACC_WIDTH)]

    def elaborate(self, platform):
        m = Module()
        x1, x2, sgn = scale_words(m, self.d, self.mm)
        x1r = _reg(m, x1, self.ld[0], "x1")
        x2r = _reg(m, x2, self.ld[0], "x2")
        neg4 = _reg(m, sgn, self.ld[0], "neg4")
        sh4 = _reg(m, self.shift, self.ld[0], "sh4")
        # ---- accumulate: acc ± (X << s)
        A = ACC_WIDTH
        y, mags = [], []
        for n, x in enumerate((x1r, x2r)):
            ys = Signal(_P_BITS, name=f"y{n}")       # |P·2^20| < 2^47 (both words <= X)
            m.d.comb += ys.eq((x << sh4)[:_P_BITS])
            y.append(Cat(ys, Const(0, A - _P_BITS)) ^ neg4.replicate(A))
            mags.append(ys)
        if self.acc_kind == "twos":
            acc_s = Signal(A, name="acc_s", reset_less=True)
            acc_c = Signal(A, name="acc_c", reset_less=True)
            keep = (~self.first).replicate(A)
            ns, nc = csa_reduce(m, [acc_s & keep, acc_c & keep, y[0], y[1]], A, name="acc",
                                carry_in=[neg4, neg4])
            with m.If(self.ld[1]):
                m.d.sync += [acc_s.eq(ns), acc_c.eq(nc)]
            m.d.comb += [self.acc[0].eq(acc_s), self.acc[1].eq(acc_c)]
            return m
        if self.acc_kind == "count":
            # −(X_w << s) = ~y_47 + 1 − 2^47 per word: the one's complement stays within the
            # 47 product bits; the two 2^47 of a negative pair are counted down in nn
            # (= −n mod 2^16) and added once by the rounding as the row nn·2^48 (mod 2^64)
            yc = [Cat(v ^ neg4.replicate(_P_BITS), Const(0, A - _P_BITS)) for v in mags]
            acc_s = Signal(A, name="acc_s", reset_less=True)
            acc_c = Signal(A, name="acc_c", reset_less=True)
            nn = Signal(self.NN_WIDTH, name="nn", reset_less=True)
            keep = (~self.first).replicate(A)
            ns, nc = csa_reduce(m, [acc_s & keep, acc_c & keep, yc[0], yc[1]], A, name="acc",
                                carry_in=[neg4, neg4])
            with m.If(self.ld[1]):
                m.d.sync += [acc_s.eq(ns), acc_c.eq(nc),
                             nn.eq(Mux(self.first, 0, nn) - neg4)]
            m.d.comb += [self.acc[0].eq(acc_s), self.acc[1].eq(acc_c), self.nn.eq(nn)]
            return m
        keep = (~self.first).replicate(A)
        for k, (name, sel) in enumerate((("p", ~neg4), ("n", neg4))):
            a_s = Signal(A, name=f"{name}acc_s", reset_less=True)
            a_c = Signal(A, name=f"{name}acc_c", reset_less=True)
            yy = [Cat(v & sel.replicate(_P_BITS), Const(0, A - _P_BITS)) for v in mags]
            ns, nc = csa_reduce(m, [a_s & keep, a_c & keep, yy[0], yy[1]], A, name=f"{name}acc")
            with m.If(self.ld[1] & (sel | self.first)):
                m.d.sync += [a_s.eq(ns), a_c.eq(nc)]
            m.d.comb += [self.acc[2 * k].eq(a_s), self.acc[2 * k + 1].eq(a_c)]
        return m


class Fp8Accumulate(wiring.Component):
    """Exact accumulation of the FP8-only lane (one stage after the dot unit): the tree's
    non-negative carry-save words go straight into a carry-save accumulator (no sign, no carry
    propagation) and the negative-term counts into a small counter; the constant block scale
    36 and the correction −N·(2^36 − 1) are applied once, by the final rounding.

    Ports: ``s``, ``c`` (``sum_width``), ``n_neg`` (5), ``first``, ``ld``; ``acc`` (two words,
    ``WIDTH`` bits), ``nn`` (Σ n_neg, ``NN_WIDTH`` bits).
    """

    WIDTH = 56                      # Σ enc < 2^40 per pair, MAX_PAIRS pairs
    NN_WIDTH = 21                   # Σ n_neg <= 16·MAX_PAIRS

    def __init__(self, *, sum_width: int):
        self.sum_width = sum_width
        super().__init__({"s": In(sum_width), "c": In(sum_width), "n_neg": In(5), "first": In(1),
                          "ld": In(1), "acc": Out(data.ArrayLayout(self.WIDTH, 2)),
                          "nn": Out(self.NN_WIDTH)})

    @property
    def unit_key(self):
        return self.sum_width

    def elaborate(self, platform):
        m = Module()
        A = self.WIDTH
        acc_s = Signal(A, name="acc_s", reset_less=True)
        acc_c = Signal(A, name="acc_c", reset_less=True)
        nn = Signal(self.NN_WIDTH, name="nn", reset_less=True)
        keep = (~self.first).replicate(A)
        ns, nc = csa_reduce(m, [acc_s & keep, acc_c & keep, self.s, self.c], A, name="acc")
        with m.If(self.ld[0]):
            m.d.sync += [acc_s.eq(ns), acc_c.eq(nc),
                         nn.eq(Mux(self.first, 0, nn) + self.n_neg)]
        m.d.comb += [self.acc[0].eq(acc_s), self.acc[1].eq(acc_c), self.nn.eq(nn)]
        return m


# ------------------------------------------------------------------------------------------------
# lane
# ------------------------------------------------------------------------------------------------

def lane_stages(units, isolation: str, acc_init: bool) -> tuple[str, ...]:
    """Register stages of a lane, from the input to the output register (docs/fgmp_rtl.md)."""
    pre = ("operands",) if len(units) > 1 and isolation == "hold" else ()
    fp8_only = tuple(units) == (((1, 1),),)
    core = ("products", "tree") + (("accumulate",) if fp8_only else
                                   ("sum", "scale", "accumulate"))
    return pre + core + stage_names_fixed_round(acc_init, FP8_Z_SCALE if fp8_only else 1)


#: the FP8-only lane's final rounding: P·2^16 = 9·D (block scale 36 = 9·2^2, D in 2^-18)
FP8_Z_SCALE = 9
FP8_Z_WIDTH = 61                 # |9·Σ D| < 2^60


class VmacLane(wiring.Component):
    """One output channel: its dot-product unit(s), block scale and exact accumulation, and the
    final FP32 rounding (``F32FixedRound``); the pipeline control comes from the top.

    Parameters: ``units`` (tuple of mode tuples, one per dot unit), ``isolation`` (multi-unit
    datapaths), ``acc_init``, ``tree`` (the dot units' ``DotUnit`` tree).

    Ports (stage 0 = the input cycle):
        ``w``: the lane's weight block; ``a_ops``: the decoded activation block; ``a_meta``,
        ``a_nan``, ``a_ms``, ``a_sh``: activation meta bit, NaN flag and decoded block scale.
        ``ld``: register loads, one bit per stage (``stage_names``); ``first``: the pair
        entering ``accumulate`` starts a dot product; ``capture``: the accumulator holds a
        finished dot product (registered).
        ``out``: the lane's FP32 result (the final rounding's output register).
    """

    def __init__(self, *, units, isolation: str, acc_init: bool, tree: str = "ones",
                 acc: str = "twos"):
        self.units = tuple(tuple(u) for u in units)
        self.isolation = isolation
        self.acc_init = acc_init
        self.tree = check_choice("tree", tree, TREES)
        self.acc = check_choice("acc", acc, ACCS)
        self.modes = tuple(sorted({m for u in self.units for m in u}))
        super().__init__({
            "w": In(w_lane_layout(acc_init)), "a_ops": In(operand_layout(self.a_fp8)),
            "a_meta": In(1), "a_nan": In(1), "a_ms": In(4), "a_sh": In(4),
            "ld": In(len(self.stage_names)), "first": In(1), "capture": In(1), "out": Out(32),
        })
        self.unit_probes = {}

    @property
    def fp8_only(self) -> bool:
        return self.modes == ((1, 1),)

    @property
    def a_fp8(self) -> bool:
        return any(a8 for _, a8 in self.modes)

    @property
    def operand_stage(self) -> bool:
        """Multi-unit datapaths with ``hold`` isolation register each unit's operands first."""
        return len(self.units) > 1 and self.isolation == "hold"

    @property
    def stage_names(self) -> tuple[str, ...]:
        return lane_stages(self.units, self.isolation, self.acc_init)

    @property
    def unit_key(self):
        return (self.units, self.isolation, self.acc_init, self.tree, self.acc)

    @property
    def unit_name(self) -> str:
        if self.fp8_only:
            return "fp8_lane"
        kind = {1: "shared", 2: "shared_fp4", 4: "split"}[len(self.units)]
        kind += "_ss" if self.tree == "signsep" else ""
        kind += {"twos": "", "signsep": "_sa", "count": "_nc"}[self.acc]
        return f"lane_{kind}" + ("" if len(self.units) == 1 else f"_{self.isolation}")

    def elaborate(self, platform):
        m = Module()
        names = self.stage_names
        ld = {n: self.ld[i] for i, n in enumerate(names)}
        wl = self.w
        pre = self.operand_stage
        fp8_only = self.fp8_only
        # ---- stage 0: mode, scale, NaN, operands
        mode0 = Cat(self.a_meta, wl.meta) if not fp8_only else Const(3, 2)
        wfmts = {w8 for w8, _ in self.modes}
        w_ops = Cat(*decode_block(wl.codes, wl.meta, wfmts))
        nan0 = self.a_nan | block_nan(wl.meta, wl.codes, wl.scale, fp8_only)
        ctx = {"mode": mode0, "nan": nan0}
        if not fp8_only:
            w_ms, w_sh = scale_fields(wl.meta, wl.scale)
            ctx["mm"] = (w_ms * self.a_ms)[:8]
            ctx["shift"] = (w_sh + self.a_sh - Cat(Const(0, 3), wl.meta + self.a_meta))[:5]
        if self.acc_init:
            ctx["init"] = wl.acc
        core = names[:names.index("accumulate") + 1]
        ctxs = {}
        prev = ctx
        for n in core[:-1]:
            prev = {k: _reg(m, v, ld[n], f"{k}_{n}") for k, v in prev.items()}
            ctxs[n] = prev
        unit_stages = ("products", "tree") if fp8_only else ("products", "tree", "sum")
        # ---- dot-product unit(s)
        dots = {}
        for unit_modes in self.units:
            unit = DotUnit(modes=unit_modes, output="carry_save" if fp8_only else "d",
                           tree=self.tree)
            name = unit.unit_name
            sel0 = _mode_is(mode0, unit_modes)
            wu = Signal(operand_layout(unit.w_fp8), name=f"{name}_w")
            au = Signal(operand_layout(unit.a_fp8), name=f"{name}_a")
            w_src = _narrow(Value.cast(w_ops), 1 in wfmts, unit.w_fp8)
            a_src = _narrow(Value.cast(self.a_ops), self.a_fp8, unit.a_fp8)
            if pre:                                  # hold: per-unit operand registers
                with m.If(ld["operands"] & sel0):
                    m.d.sync += [wu.eq(w_src), au.eq(a_src)]
                umode = ctxs["operands"]["mode"]
                # its pipeline registers load only for its own block pairs
                seen = ["operands"] + list(unit_stages)
                uld = Cat(*[ld[st] & _mode_is(ctxs[seen[i]]["mode"], unit_modes)
                            for i, st in enumerate(unit_stages)])
            else:
                src_w, src_a = w_src, a_src
                if self.isolation == "and" and len(self.units) > 1:
                    src_w = w_src & sel0.replicate(len(w_src))
                    src_a = a_src & sel0.replicate(len(a_src))
                m.d.comb += [wu.eq(src_w), au.eq(src_a)]
                umode, uld = mode0, Cat(*[ld[st] for st in unit_stages])
            dot = add_unit(m, name, unit, platform)
            m.d.comb += [dot.w.eq(wu), dot.a.eq(au), dot.mode.eq(umode), dot.ld.eq(uld)]
            dots[unit_modes] = dot
            for mode in unit.mode_names:
                out = (dot.s, dot.c) if fp8_only else (dot.d, dot.d)
                self.unit_probes[mode] = (wu, au) + out
        # ---- accumulation
        if fp8_only:
            (dot,) = dots.values()
            accu = add_unit(m, "accumulate", Fp8Accumulate(sum_width=dot.sum_width), platform)
            m.d.comb += [accu.s.eq(dot.s), accu.c.eq(dot.c), accu.n_neg.eq(dot.n_neg),
                         accu.first.eq(self.first), accu.ld.eq(ld["accumulate"])]
            # z = acc − N·(2^36 − 1) (units 2^-18); P·2^16 = 9·D
            W = FP8_Z_WIDTH
            nn = accu.nn
            rows = [accu.acc[0], accu.acc[1], nn, _inv(nn << 36, W), Const(1, 1)]
            z_exp, scale = P_UNIT_EXP + 4, FP8_Z_SCALE
        else:
            d_sel = Signal(signed(ScaleAccumulate.D_WIDTH), name="d_sel")
            if len(dots) == 1:
                (dot,) = dots.values()
                m.d.comb += d_sel.eq(dot.d)
            else:
                with m.Switch(ctxs["sum"]["mode"]):
                    for unit_modes, dot in dots.items():
                        for u in unit_modes:
                            with m.Case(UNITS.index(u)):
                                m.d.comb += d_sel.eq(dot.d)
            sa_unit = ScaleAccumulate(acc=self.acc)
            sa = add_unit(m, "scale_acc", sa_unit, platform)
            m.d.comb += [sa.d.eq(d_sel), sa.mm.eq(ctxs["sum"]["mm"]),
                         sa.shift.eq(ctxs["sum"]["shift"]), sa.first.eq(self.first),
                         sa.ld.eq(Cat(ld["scale"], ld["accumulate"]))]
            W = ACC_WIDTH
            rows = sa_unit.rows()
            z_exp, scale = P_UNIT_EXP, 1
        # ---- NaN and start value of the open dot product (held with the accumulator)
        nan_acc = Signal(name="nan_acc", reset_less=True)
        with m.If(ld["accumulate"]):
            m.d.sync += nan_acc.eq(Mux(self.first, 0, nan_acc) | ctxs[core[-2]]["nan"])
        rnd = add_unit(m, "fp32_round", F32FixedRound(width=W, z_exp=z_exp, rows=len(rows),
                                                      start=self.acc_init, scale=scale),
                       platform)
        m.d.comb += [rnd.z[i].eq(r) for i, r in enumerate(rows)]
        m.d.comb += [rnd.nan.eq(nan_acc), rnd.capture.eq(self.capture),
                     rnd.ld.eq(Cat(*[ld[n] for n in names[len(core):]])), self.out.eq(rnd.o)]
        if self.acc_init:
            init_acc = Signal(32, name="init_acc", reset_less=True)
            with m.If(ld["accumulate"] & self.first):
                m.d.sync += init_acc.eq(ctxs[core[-2]]["init"])
            m.d.comb += rnd.init.eq(init_acc)
        return m


def _narrow(ops: Value, src_fp8: bool, dst_fp8: bool) -> Value:
    """Operand fields in the source layout -> a unit's layout (FP4 units take the low bits)."""
    if src_fp8 == dst_fp8:
        return ops
    sb, db = _FBITS[int(src_fp8)], _FBITS[int(dst_fp8)]
    se, de = 1 + 2 * sb, 1 + 2 * db
    parts = []
    for i in range(BLOCK):
        e = ops[se * i:se * i + se]
        parts += [e[0], e[1:1 + db], e[1 + sb:1 + sb + db]]
    return Cat(*parts)


class BlockProduct(wiring.Component):
    """One lane's block product, combinational, for the equivalence proof (verif/formal.py):
    the lane's stage-0 decoding, its dot-product unit(s) with the pipeline registers replaced
    by wires, the mode multiplexer and the block-scale step of ``ScaleAccumulate``:
    ``p`` = P·2^20 = ±(|D|·M_sw·M_sa << s) (signed 48 bits) and ``nan``.

    Parameters: ``datapath`` (as Vmac), ``mode`` (one of ``UNIT_NAMES``: the meta bits are
    ignored and the pair is taken in that mode, so that a proof can go mode by mode),
    ``mutant`` (a deliberately broken shared unit, ``MUTANTS``; the proof must fail on it).
    Ports: ``w`` (a lane's weight block), ``a`` (activation block: codes, scale, meta);
    ``p``, ``nan``, and the intermediate ``d`` (block sum, units 2^unit_exp(mode)), ``mm``
    (M_sw·M_sa), ``shift`` (s).
    """

    def __init__(self, *, datapath: str = "shared", mode: str | None = None,
                 mutant: str | None = None):
        self.datapath = check_choice("datapath", datapath, DATAPATHS)
        self.mode = check_choice("mode", mode, (None,) + UNIT_NAMES)
        self.mutant = check_choice("mutant", mutant, (None,) + tuple(MUTANTS))
        super().__init__({"w": In(w_lane_layout(False)),
                          "a": In(data.StructLayout({"codes": 128, "scale": 8, "meta": 1})),
                          "p": Out(signed(_P_BITS + 1)), "nan": Out(1),
                          "d": Out(signed(ScaleAccumulate.D_WIDTH)), "mm": Out(8),
                          "shift": Out(5)})

    def elaborate(self, platform):
        m = Module()
        units = DATAPATH_UNITS[self.datapath]
        wl, al = self.w, self.a
        if self.mode is None:
            w_meta, a_meta = wl.meta, al.meta
        else:
            w8, a8 = UNITS[UNIT_NAMES.index(self.mode)]
            w_meta, a_meta = Const(w8, 1), Const(a8, 1)
        mode = Cat(a_meta, w_meta)
        w_ops = Cat(*decode_block(wl.codes, w_meta, {0, 1}))
        a_ops = Cat(*decode_block(al.codes, a_meta, {0, 1}))
        d = Signal(signed(ScaleAccumulate.D_WIDTH), name="d")
        with m.Switch(mode):
            for unit_modes in units:
                unit = DotUnit(modes=unit_modes, registered=False,
                               mutant=self.mutant if len(unit_modes) > 1 else None,
                               tree=DATAPATH_TREE[self.datapath])
                m.submodules[unit.unit_name] = unit
                m.d.comb += [unit.w.eq(_narrow(w_ops, True, unit.w_fp8)),
                             unit.a.eq(_narrow(a_ops, True, unit.a_fp8)), unit.mode.eq(mode),
                             unit.ld.eq(-1)]
                for u in unit_modes:
                    with m.Case(UNITS.index(u)):
                        m.d.comb += d.eq(unit.d)
        w_ms, w_sh = scale_fields(w_meta, wl.scale)
        a_ms, a_sh = scale_fields(a_meta, al.scale)
        mm = (w_ms * a_ms)[:8]
        shift = (w_sh + a_sh - Cat(Const(0, 3), w_meta + a_meta))[:5]
        m.d.comb += [self.d.eq(d), self.mm.eq(mm), self.shift.eq(shift)]
        x1, x2, sgn = scale_words(m, d, mm)
        mag = Signal(_P_BITS, name="pmag")
        m.d.comb += mag.eq(((x1 + x2) << shift)[:_P_BITS])
        m.d.comb += [self.p.eq(Mux(sgn, -mag, mag)),
                     self.nan.eq(block_nan(a_meta, al.codes, al.scale)
                                 | block_nan(w_meta, wl.codes, wl.scale))]
        return m


# ------------------------------------------------------------------------------------------------
# top level
# ------------------------------------------------------------------------------------------------

class _VmacBase(wiring.Component):
    """Common top level of Vmac and Fp8Vmac (module docstring, docs/fgmp_rtl.md).

    Ports:
        ``a``: stream of struct ``codes`` (128), ``scale`` (8), ``meta`` (1), ``last`` (1): the
            activation block of this cycle, shared by all lanes; ``last`` = final block of the
            dot product.
        ``w``: stream of an array of ``lanes`` structs ``codes``, ``scale``, ``meta`` (and
            ``acc``, 32 bits, with ``acc_init``): lane l's weight block.
        ``o``: stream of an array of ``lanes`` FP32 bit patterns: the results of a dot product
            (after its block pair with ``last`` = 1). The next block pair starts a new one.

    ``a`` and ``w`` are joined: a block pair transfers when both are valid and the pipeline
    advances. The pipeline (``stages``) stalls as a whole only when a result is waiting
    (``o.valid`` and not ``o.ready``) and the next result reaches the output register; a
    result is valid ``latency`` cycles after the handshake of its ``last`` block pair.
    """

    def __init__(self, *, lanes: int, units, isolation: str, acc_init: bool,
                 tree: str = "ones", acc: str = "twos"):
        self.tree = tree
        self.acc = acc
        self.lanes = check_int("lanes", lanes, 1, 64)
        self.isolation = check_choice("isolation", isolation, ISOLATION)
        if not isinstance(acc_init, bool):
            raise ValueError(f"acc_init must be a bool, got {acc_init!r}")
        self.acc_init = acc_init
        self.units = tuple(tuple(u) for u in units)
        self._lanes = []
        super().__init__({
            "a": In(stream.Signature(a_layout())),
            "w": In(stream.Signature(w_layout(lanes, acc_init))),
            "o": Out(stream.Signature(o_layout(lanes))),
        })

    metadata_properties = ("lanes", "datapath", "isolation", "acc_init", "modes", "stages",
                           "latency", "dot_units", "accumulator", "max_pairs", "throughput",
                           "protocol")

    def _lane(self) -> VmacLane:
        return VmacLane(units=self.units, isolation=self.isolation, acc_init=self.acc_init,
                        tree=self.tree, acc=self.acc)

    @property
    def stages(self) -> list[str]:
        """Register stages of a block pair, input to output register."""
        return list(lane_stages(self.units, self.isolation, self.acc_init))

    @property
    def latency(self) -> int:
        """Cycles from the handshake of a ``last`` block pair to its result on ``o``."""
        return len(self.stages)

    throughput = "1 block pair per cycle per lane, every mode"
    max_pairs = MAX_PAIRS
    protocol = ("a and w joined; o after the last=1 block pair, latency cycles after its "
                "handshake; the next block pair starts a new dot product (from w.acc with "
                "acc_init)")

    @property
    def accumulator(self) -> str:
        if self.acc == "count":
            return ("exact: 64-bit carry-save, units 2^-20, negative products as one's complements "
                    "within 47 bits + a count of them subtracted once; one FP32 rounding per dot "
                    "product")
        if self.acc == "signsep":
            return ("exact: two 64-bit carry-save magnitude accumulators (positive and negative "
                    "block products), units 2^-20, P - N and one FP32 rounding per dot product")
        return ("exact: 64-bit two's complement carry-save, units 2^-20, one FP32 rounding per "
                "dot product" if not self.fp8_only else
                "exact: 56-bit carry-save of the FP8 block sums (units 2^-18) + negative-term "
                "count, scale 36 and one FP32 rounding per dot product")

    @property
    def modes(self) -> list[str]:
        return [UNIT_NAMES[UNITS.index(u)] for u in sorted({m for u in self.units for m in u})]

    @property
    def dot_units(self) -> list[list[str]]:
        return [[UNIT_NAMES[UNITS.index(m)] for m in u] for u in self.units]

    @property
    def fp8_only(self) -> bool:
        return self.units == (((1, 1),),)

    @property
    def unit_probes(self) -> dict:
        """(lane, mode) -> (weight operand, activation operand, tree words s, c) of the unit that
        computes the mode, from the last elaboration (tests observe operand isolation)."""
        return {(n, mode): probe for n, lane in enumerate(self._lanes)
                for mode, probe in lane.unit_probes.items()}

    def elaborate(self, platform):
        m = Module()
        L = self.lanes
        a_in, w_in = self.a.payload, self.w.payload
        fp8_only = self.fp8_only
        names = self.stages
        S = len(names)
        # ---- control: one valid bit per stage; the whole pipeline advances with ``en``
        v = [Signal(name=f"v_{n}") for n in names]
        last = [Signal(name=f"last_{n}", reset_less=True) for n in names]
        en = Signal()
        take = Signal()
        acc_i = names.index("accumulate")
        out_i = S - 1
        m.d.comb += [
            en.eq(~(self.o.valid & ~self.o.ready & v[out_i - 1])),
            take.eq(self.a.valid & self.w.valid & en),
            self.a.ready.eq(self.w.valid & en),
            self.w.ready.eq(self.a.valid & en),
        ]
        # stages up to the accumulator carry every block pair; the rounding stages only the
        # results (pairs with last = 1)
        ins = [take] + v[:-1]
        lasts = [a_in.last] + last[:-1]
        ld = Signal(S, name="ld")
        for i in range(S):
            enter = v[acc_i] & last[acc_i] if i == acc_i + 1 else ins[i]     # capture
            m.d.comb += ld[i].eq(en & enter)
            with m.If(en):
                m.d.sync += v[i].eq(enter)
            if i < out_i:
                with m.If(ld[i]):
                    m.d.sync += last[i].eq(lasts[i])
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(ld[out_i]):
            m.d.sync += self.o.valid.eq(1)
        capture = Signal(name="capture")      # the accumulators hold a finished dot product
        m.d.comb += capture.eq(v[acc_i] & last[acc_i])
        first = Signal(init=1)              # the pair entering ``accumulate`` starts a product
        with m.If(ld[acc_i]):
            m.d.sync += first.eq(last[acc_i - 1])

        # ---- stage 0: the activation block, decoded once for every lane
        afmts = {1} if fp8_only else {0, 1}
        a_ops = Cat(*decode_block(a_in.codes, a_in.meta, afmts))
        a_nan = block_nan(a_in.meta, a_in.codes, a_in.scale, fp8_only)
        a_ms, a_sh = scale_fields(a_in.meta, a_in.scale)
        self._lanes = []
        for n in range(L):
            lane = add_unit(m, f"lane_{n}", self._lane(), platform)
            self._lanes.append(lane)
            m.d.comb += [lane.w.eq(w_in[n]), lane.a_ops.eq(a_ops), lane.a_meta.eq(a_in.meta),
                         lane.a_nan.eq(a_nan), lane.a_ms.eq(a_ms), lane.a_sh.eq(a_sh),
                         lane.ld.eq(ld), lane.first.eq(first), lane.capture.eq(capture),
                         self.o.payload[n].eq(lane.out)]
        return m


class Vmac(_VmacBase):
    """FGMP VMAC: ``lanes`` lanes computing FP4×FP4, FP4×FP8, FP8×FP4 and FP8×FP8 block pairs
    (selected per lane by the two meta bits) with exact block sums, exact accumulation and one
    FP32 rounding per dot product (docs/fgmp_rtl.md).

    Parameters (keyword-only):
        lanes: output channels sharing the activation block (1..64).
        datapath: ``"shared"`` (default: one FP8-capable dot-product unit per lane; FP4
            operands on its low bit slices, whose other bits stay 0), ``"shared_fp4"`` (the
            shared unit for the three modes with an FP8 operand plus a narrow FP4×FP4 integer
            unit), ``"split"`` (four units side by side, the baseline).
        isolation: operand isolation of the unused units of a multi-unit datapath: ``"hold"``
            (each unit registers its own operands, loaded only when the unit is selected: one
            more pipeline stage), ``"and"`` (unit inputs forced to 0 when unselected),
            ``"none"``. The shared datapaths have one unit and accept only ``"hold"``.
            ``"shared_ss"``: the shared unit with a sign-separated tree (positive and negative
            terms as magnitudes in two trees, D = P − N; no one's-complement sign fill).
            ``"shared_sa"`` / ``"shared_ss_sa"``: ``"shared"`` / ``"shared_ss"`` with a
            sign-separated accumulator (positive and negative block products in two magnitude
            accumulators, P − N at the rounding; ``ScaleAccumulate`` ``acc="signsep"``).
        acc_init: add a 32-bit ``acc`` field per lane to ``w``: the FP32 start value of the dot
            product, read with its first block pair (partial-sum reload).
    """

    def __init__(self, *, lanes: int = 4, datapath: str = "shared", isolation: str = "hold",
                 acc_init: bool = False):
        self.datapath = check_choice("datapath", datapath, DATAPATHS)
        if datapath in SINGLE_UNIT and isolation != "hold":
            raise ValueError(f"isolation {isolation!r} needs a multi-unit datapath ('split' or "
                             f"'shared_fp4'); datapath={datapath!r} has one unit "
                             "(isolation='hold')")
        super().__init__(lanes=lanes, units=DATAPATH_UNITS[datapath], isolation=isolation,
                         acc_init=acc_init, tree=DATAPATH_TREE[datapath],
                         acc=DATAPATH_ACC[datapath])


class Fp8Vmac(_VmacBase):
    """All-FP8 VMAC baseline: the interface of ``Vmac``, every block taken as FP8 (the meta and
    scale fields are ignored; implicit block scale 6), one FP8×FP8 unit per lane whose
    carry-save block sums are accumulated exactly as they are; the constant scale 36 is applied
    once per dot product by the final rounding.

    Parameters (keyword-only): lanes (1..64), acc_init (as Vmac).
    """

    datapath = "fp8"

    def __init__(self, *, lanes: int = 4, acc_init: bool = False):
        super().__init__(lanes=lanes, units=(((1, 1),),), isolation="hold", acc_init=acc_init)
