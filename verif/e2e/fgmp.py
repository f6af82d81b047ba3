"""``y = x·Wᵀ`` of one nn.Linear on the FGMP datapath: act_quant RTL -> vmac RTL lanes.

Mapping (docs/e2e.md):

* Weights: a golden :class:`golden.fgmp.blocks.FGMPTensor` ``[N, K]`` (blocks of 16 along K,
  meta/codes/scales, tensor scale S_w) from the FGMP policy. Activations: FP32 ``x[T, K]``,
  zero-padded to whole blocks, quantized on the fly with the layer's activation parameters
  (power-of-two tensor scale S_a = 2^k, per-channel F̄ codes, threshold τ_q).
* Stage 1, ``act_quant``: one block of 16 FP32 values + its 16 F̄ codes per cycle (``last`` on
  a token's final block), ports ``scale_exp`` = k and ``tau`` = τ_q; every output (meta, codes,
  scale, score) is compared with golden ``hw.act_quant_blocks``.
* Stage 2, ``vmac`` with L lanes: the activation payloads are the act_quant RTL outputs
  themselves (unpacked with act_quant's ``out_layout`` and repacked with vmac's ``a_layout``:
  codes, scale, meta, last), never the golden ones. For every token t and every group of L
  output rows, the token's blocks stream in order with lane l holding weight row g·L + l (a
  zero block for rows beyond N; their results are dropped): one dot product per lane, FP32
  result after the ``last`` block. Each result is compared with golden ``hw.vmac`` on the golden
  activation blocks.
* Output: ``y = f32(vmac) · (S_w·S_a)`` (one FP32 rounding of the FP64 product; the same function
  for the RTL and the golden model); the bias is added by the caller.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from golden.fgmp import hw
from golden.fgmp.blocks import BLOCK, FGMPTensor
from verif.payload import pack, signature_shapes, unpack

__all__ = ["VmacConfig", "FgmpPlan", "scale_output"]


@dataclass(frozen=True)
class VmacConfig:
    lanes: int = 8
    datapath: str = "shared"

    @property
    def params(self) -> dict:
        return {"lanes": self.lanes, "datapath": self.datapath}

    def shapes(self) -> dict:
        from rtl.registry import get_block
        comp = get_block("vmac").build(self.params)
        comp._MustUse__silence = True       # built for its signature only
        return signature_shapes(comp.signature)


def act_shapes() -> dict:
    from rtl.registry import get_block
    comp = get_block("act_quant").build({})
    comp._MustUse__silence = True       # built for its signature only
    return signature_shapes(comp.signature)


def scale_output(bits: torch.Tensor, s_w: float, s_a: float) -> torch.Tensor:
    """FP32 ``y`` from VMAC FP32 bit patterns (int64 tensor): ``f32(bits)·(S_w·S_a)`` in FP64,
    rounded once to FP32."""
    f = bits.to(torch.int64).to(torch.int32).view(torch.float32).double()
    return (f * (float(s_w) * float(s_a))).to(torch.float32)


def _f32_bits(x: torch.Tensor) -> list[int]:
    return (x.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF).tolist()


@dataclass
class FgmpPlan:
    cfg: VmacConfig
    wq: FGMPTensor                     # [N, K]
    x: torch.Tensor                    # float32 [T, K]
    scale_exp: int                     # S_a = 2**scale_exp
    fbar: torch.Tensor                 # uint8 [nb * 16]
    tau: int                           # τ_q
    xb: torch.Tensor = field(init=False)

    def __post_init__(self):
        n, k = self.wq.shape
        if not isinstance(self.x, torch.Tensor) or self.x.dim() != 2 or self.x.shape[1] != k:
            raise ValueError(f"activations must be [T, {k}], got {tuple(self.x.shape)}")
        if self.x.shape[0] < 1:
            raise ValueError("at least one token is needed")
        nb = self.wq.meta.shape[-1]
        if self.fbar.numel() != nb * BLOCK:
            raise ValueError(f"fbar has {self.fbar.numel()} codes, expected {nb * BLOCK}")
        xp = torch.zeros((self.tokens, nb * BLOCK), dtype=torch.float32)
        xp[:, :k] = self.x.to(torch.float32)
        self.xb = xp.reshape(self.tokens, nb, BLOCK)

    @property
    def tokens(self) -> int:
        return self.x.shape[0]

    @property
    def nb(self) -> int:
        return self.wq.meta.shape[-1]

    @property
    def groups(self) -> int:
        return -(-self.wq.shape[0] // self.cfg.lanes)

    @property
    def macs(self) -> int:
        n, k = self.wq.shape
        return self.tokens * n * k

    @property
    def s_a(self) -> float:
        return math.ldexp(1.0, self.scale_exp)

    # -- stage 1: act_quant -----------------------------------------------------------------
    def act_stream(self, shapes: dict) -> list[int]:
        fb = self.fbar.reshape(self.nb, BLOCK).tolist()
        out = []
        for t in range(self.tokens):
            for b in range(self.nb):
                out.append(pack(shapes["i"], {"x": _f32_bits(self.xb[t, b]), "fbar": fb[b],
                                              "last": int(b == self.nb - 1)}))
        return out

    def act_ports(self) -> dict:
        return {"scale_exp": self.scale_exp, "tau": self.tau}

    def golden_act(self):
        """(meta [T, nb], codes [T, nb, 16], scales [T, nb], score [T, nb])."""
        return hw.act_quant_blocks(self.xb, self.s_a, self.fbar.reshape(self.nb, BLOCK), self.tau)

    def act_mismatches(self, outs: list[int], shapes: dict) -> tuple[list[dict], int]:
        """Unpacked act_quant RTL outputs and the number of blocks whose meta, codes, scale,
        score or last differ from golden."""
        meta, codes, scales, score = self.golden_act()
        fields = [unpack(shapes["o"], w) for w in outs]
        bad = 0
        for j, f in enumerate(fields):
            t, b = divmod(j, self.nb)
            m = int(meta[t, b])
            exp = {"meta": m, "codes": hw.codes_to_bus(m, codes[t, b]), "scale": int(scales[t, b]),
                   "last": int(b == self.nb - 1)}
            got = {k: f[k] for k in exp}
            if "score" in f:
                exp["score"], got["score"] = int(score[t, b]), f["score"]
            bad += int(got != exp)
        return fields, bad

    # -- stage 2: vmac ----------------------------------------------------------------------
    def _w_words(self, shapes: dict) -> list[list[int]]:
        """Packed weight payloads per (row group, block)."""
        n = self.wq.shape[0]
        L = self.cfg.lanes
        meta, codes, scales = self.wq.meta, self.wq.codes, self.wq.scales
        zero = {"codes": 0, "scale": 0, "meta": 0}
        lanes_cache = {}
        words = []
        for g in range(self.groups):
            row = []
            for b in range(self.nb):
                lanes = []
                for lane in range(L):
                    r = g * L + lane
                    if r >= n:
                        lanes.append(zero)
                        continue
                    key = (r, b)
                    if key not in lanes_cache:
                        m = int(meta[r, b])
                        lanes_cache[key] = {"codes": hw.codes_to_bus(m, codes[r, b]),
                                            "scale": int(scales[r, b]), "meta": m}
                    lanes.append(lanes_cache[key])
                row.append(pack(shapes["w"], lanes))
            words.append(row)
        return words

    def vmac_streams(self, act_fields: list[dict], shapes: dict) -> dict[str, list[int]]:
        """``a`` from the act_quant RTL outputs, ``w`` from the weight blocks."""
        a_names = [name for name, _ in shapes["a"]]
        a_words = [pack(shapes["a"], {k: f[k] for k in a_names}) for f in act_fields]
        w_words = self._w_words(shapes)
        a_out, w_out = [], []
        for t in range(self.tokens):
            row = a_words[t * self.nb:(t + 1) * self.nb]
            for g in range(self.groups):
                a_out.extend(row)
                w_out.extend(w_words[g])
        return {"a": a_out, "w": w_out}

    @property
    def n_vmac_out(self) -> int:
        return self.tokens * self.groups

    def vmac_bits(self, outs: list[int], shapes: dict) -> torch.Tensor:
        """RTL results -> FP32 bit patterns ``[T, N]`` (int64)."""
        n, L = self.wq.shape[0], self.cfg.lanes
        if len(outs) != self.n_vmac_out:
            raise AssertionError(f"{len(outs)} results, expected {self.n_vmac_out}")
        vals = torch.tensor([unpack(shapes["o"], w) for w in outs], dtype=torch.int64)
        return vals.reshape(self.tokens, self.groups * L)[:, :n]

    def golden_bits(self) -> torch.Tensor:
        """Golden ``hw.vmac`` of every (token, row) on the golden activation blocks ``[T, N]``."""
        meta, codes, scales, _ = self.golden_act()
        wb = hw.Blocks(self.wq.meta, self.wq.codes, self.wq.scales)
        rows = [hw.vmac(wb, hw.Blocks(meta[t], codes[t], scales[t])) for t in range(self.tokens)]
        return torch.stack(rows)

    def output(self, bits: torch.Tensor) -> torch.Tensor:
        return scale_output(bits, self.wq.tensor_scale, self.s_a)

    def mode_counts(self, act_meta: torch.Tensor) -> dict[str, int]:
        """Useful block pairs per mode (weight format first), rows < N only."""
        wm = self.wq.meta.to(torch.int64)                     # [N, nb]
        am = act_meta.to(torch.int64)                         # [T, nb]
        w8 = wm.sum(0)                                        # FP8 weight blocks per column b
        n = self.wq.shape[0]
        counts = {}
        for wf in (0, 1):
            wcount = w8 if wf else n - w8
            for af in (0, 1):
                acount = am.sum(0) if af else self.tokens - am.sum(0)
                counts[f"fp{8 if wf else 4}xfp{8 if af else 4}"] = int((wcount * acount).sum())
        return counts

    def cycle_breakdown(self, act_played, vmac_played) -> dict:
        """VMAC cycles: block pairs (one per cycle per lane), fill/drain (after the last pair)
        and stalls (the rest); act_quant cycles separately (it runs ahead of the VMAC in the
        hardware, so its cycles overlap)."""
        pairs = len(vmac_played.in_cycles["a"])
        total = vmac_played.out_cycles[-1] + 1
        last_in = vmac_played.in_cycles["a"][-1]
        drain = vmac_played.out_cycles[-1] - last_in
        return {"cycles": total, "block_cycles": pairs, "fill_drain": drain,
                "stall": total - pairs - drain, "weight_load": 0,
                "act_quant_cycles": act_played.out_cycles[-1] + 1,
                "act_quant_blocks": len(act_played.in_cycles["i"])}
