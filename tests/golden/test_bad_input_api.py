"""Bad input to the golden APIs: ValueError naming the argument, never a silent truncation, wrap
or a RuntimeError from deep inside torch (issue 13, part 4); and FineQ / RTN quantization of
groups whose squared error overflows FP32 (it used to return all zeros)."""
import math

import pytest
import torch

from golden.eval import fineq_cli
from golden.fgmp import hw
from golden.fgmp.blocks import quantize_mixed, quantize_nvfp4
from golden.fgmp.hw import Blocks
from golden.fgmp.policy import FGMPConfig
from golden.fineq import LAYOUTS, encode_levels, quantize, quantize_rtn
from golden.formats import bits_to_f32, decode_e4m3, int_codes


def _w(L=2, T=3):
    return Blocks(torch.zeros(L, T, dtype=torch.bool), torch.ones(L, T, 16, dtype=torch.int64),
                  torch.full((L, T), 0x38))


def _a(T=3):
    return Blocks(torch.zeros(T, dtype=torch.bool), torch.ones(T, 16, dtype=torch.int64),
                  torch.full((T,), 0x38))


X = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
FBAR = torch.full((16,), 0x38, dtype=torch.uint8)

CASES = {
    # float codes, scales, meta, acc used to be truncated (3.7 -> 3, 0.5 -> True)
    "vmac float codes": (lambda: hw.vmac(_w()._replace(codes=_w().codes.float() + 0.7), _a()),
                         "w_blocks: codes"),
    "vmac float scales": (lambda: hw.vmac(_w(), _a()._replace(scales=_a().scales + 0.5)),
                          "a_blocks: scales"),
    "vmac float meta": (lambda: hw.vmac(_w()._replace(meta=torch.full((2, 3), 0.5)), _a()),
                        "w_blocks: meta"),
    "vmac meta 2": (lambda: hw.vmac(_w()._replace(meta=torch.full((2, 3), 2)), _a()),
                    "w_blocks: meta"),
    "vmac float acc": (lambda: hw.vmac(_w(), _a(), acc=1.5), "acc"),
    "vmac float acc tensor": (lambda: hw.vmac(_w(), _a(), acc=torch.tensor([1.0, 2.0])), "acc"),
    "vmac negative acc": (lambda: hw.vmac(_w(), _a(), acc=-1), "acc"),
    # wrong lengths used to end in RuntimeError
    "vmac acc length": (lambda: hw.vmac(_w(), _a(), acc=[1, 2, 3]), "acc holds 3"),
    "vmac a_blocks length": (lambda: hw.vmac(_w(), _a(2)), "a_blocks"),
    "vmac trace without cycles": (lambda: hw.vmac(_w(2, 0), _a(0), trace=True), "trace"),
    "act_quant_blocks tau 0.5": (lambda: hw.act_quant_blocks(X, 1.0, FBAR, 0.5), "tau"),
    "act_quant_blocks tau True": (lambda: hw.act_quant_blocks(X, 1.0, FBAR, True), "tau"),
    "act_quant_blocks tau range": (lambda: hw.act_quant_blocks(X, 1.0, FBAR, -2), "tau"),
    "act_quant_blocks float fbar": (lambda: hw.act_quant_blocks(X, 1.0, FBAR.float() + .5, 5),
                                    "fbar"),
    "act_quant_blocks fbar length": (lambda: hw.act_quant_blocks(X, 1.0, FBAR[:5], 5), "fbar"),
    "act_quant float fbar": (lambda: hw.act_quant(X[0], 1.0, [3.7] * 16, 5), "fbar"),
    "act_quant fbar length": (lambda: hw.act_quant(X[0], 1.0, [3] * 15, 5), "fbar"),
    "act_quant tau 5.5": (lambda: hw.act_quant(X[0], 1.0, [3] * 16, 5.5), "tau"),
    # scale code 300 used to wrap to 44 (uint8), a plain 300 ended in RuntimeError
    "quantize_nvfp4 scale_codes 300": (
        lambda: quantize_nvfp4(X, 1.0, scale_codes=torch.full((4, 1), 300)), "scale_codes"),
    "quantize_nvfp4 scale_codes int 300": (
        lambda: quantize_nvfp4(X, 1.0, scale_codes=300), "scale_codes"),
    "quantize_nvfp4 scale_codes -1": (
        lambda: quantize_nvfp4(X, 1.0, scale_codes=torch.full((4, 1), -1)), "scale_codes"),
    "quantize_nvfp4 scale_codes 1.5": (
        lambda: quantize_nvfp4(X, 1.0, scale_codes=torch.full((4, 1), 1.5)), "scale_codes"),
    "quantize_nvfp4 scale_codes NaN code": (
        lambda: quantize_nvfp4(X, 1.0, scale_codes=torch.full((4, 1), 0x7F)), "scale_codes"),
    "quantize_mixed float meta": (
        lambda: quantize_mixed(X, torch.full((4, 1), 0.5), 1.0), "meta"),
    "codes_to_bus float codes": (lambda: hw.codes_to_bus(0, [1.5] * 16), "codes"),
    "codes_to_bus length": (lambda: hw.codes_to_bus(0, [1] * 15), "16 codes"),
    "bits_to_f32 float bits": (lambda: bits_to_f32(torch.tensor([1.5])), "bit patterns"),
    "decode float codes": (lambda: decode_e4m3(torch.tensor([1.0])), "integer codes"),
    # other entry points of the same classes: silent truncation of a count, late failures
    "quantize chunk_elems 1.5": (lambda: quantize(X, chunk_elems=1.5), "chunk_elems"),
    "quantize chunk_elems 0": (lambda: quantize(X, group_size=48, chunk_elems=0), "chunk_elems"),
    "quantize_rtn chunk_elems -5": (lambda: quantize_rtn(X, 3, group_size=48, chunk_elems=-5),
                                    "chunk_elems"),
    "quantize_rtn bits 3.0": (lambda: quantize_rtn(X, 3.0, group_size=48), "bits"),
    "FGMPConfig p_w nan": (lambda: FGMPConfig(p_w=math.nan), "p_w"),
    "FGMPConfig p_a 2": (lambda: FGMPConfig(p_a=2), "p_a"),
    "FGMPConfig policy": (lambda: FGMPConfig(policy="best"), "policy"),
    "FGMPConfig seed 1.5": (lambda: FGMPConfig(seed=1.5), "seed"),
    "FGMPConfig seed -1": (lambda: FGMPConfig(seed=-1), "seed"),
    "FGMPConfig clip_steps 8.0": (lambda: FGMPConfig(clip_steps=8.0), "clip_steps"),
    "FGMPConfig clip 'no'": (lambda: FGMPConfig(clip="no"), "clip"),
    "encode_levels 1.5": (lambda: encode_levels((1.5, 1, 1)), "levels"),     # was: byte of (1, 1, 1)
    "fineq evaluate tokens 0": (lambda: fineq_cli.evaluate("minilm", tokens=0), "tokens"),
    "fineq evaluate n_texts -1": (lambda: fineq_cli.evaluate("minilm", n_texts=-1), "n_texts"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_golden_api_refuses_with_value_error_naming_the_argument(case):
    call, needle = CASES[case]
    with pytest.raises(ValueError) as e:
        call()
    msg = str(e.value)
    assert needle in msg and "\n" not in msg, msg


def test_int_codes_keeps_valid_codes_and_bools_only_when_asked():
    assert int_codes([0, 255], "x", 0, 255).tolist() == [0, 255]
    assert int_codes(torch.tensor([True, False]), "m", 0, 1, bool_ok=True).tolist() == [1, 0]
    with pytest.raises(ValueError, match="x: expected integer codes, got dtype torch.bool"):
        int_codes(torch.tensor([True]), "x", 0, 1)
    with pytest.raises(ValueError, match="x: code 256 outside 0..255"):
        int_codes([256], "x", 0, 255)


def test_valid_inputs_still_accepted():
    assert hw.vmac(_w(2, 0), _a(0)).tolist() == [0, 0]             # T = 0 without trace: acc
    assert hw.vmac(_w(), _a(), acc=torch.tensor(0x3F800000)).shape == (2,)
    assert hw.vmac(_w(), _a(), acc=[0, 0x3F800000]).shape == (2,)
    assert hw.act_quant_blocks(X, 1.0, FBAR, torch.tensor(5))[0].shape == (4,)
    assert quantize_nvfp4(X, 1.0, scale_codes=torch.full((4, 1), 0x7E)).scales.max() == 0x7E


# ---------------------------------------------------------------------------------------------
# FineQ / RTN: groups whose squared error overflows FP32

def _centred_error(W, q):
    """sum (w - q)**2 - sum w**2, exactly enough in FP64 (negative: better than all zeros)."""
    W, q = W.double(), q.double()
    return float((q * (q - 2 * W)).sum())


QUANTIZERS = {
    **{f"fineq-{lay}-{o}": (lambda W, lay=lay, o=o, imp=None:
                            quantize(W, layout=lay, outlier=o, importance=imp))
       for lay in LAYOUTS for o in ("search", "ratio")},
    "rtn-odd": lambda W, imp=None: quantize_rtn(W, 3, grid="odd", importance=imp),
    "rtn-asym": lambda W, imp=None: quantize_rtn(W, 3, grid="asym", importance=imp),
}


@pytest.mark.parametrize("scale", [2e19, 1e30, 3e38])
@pytest.mark.parametrize("method", list(QUANTIZERS))
def test_huge_weights_quantize_to_the_largest_levels(method, scale):
    g = torch.Generator().manual_seed(1)
    W = (torch.randn(2, 96, generator=g) * scale).clamp(-3.4e38, 3.4e38)
    q = QUANTIZERS[method](W).dequantize()
    assert bool(q.ne(0).any()), "all-zero result (the squared error overflowed)"
    nz = q != 0
    assert bool((torch.sign(q[nz]) == torch.sign(W[nz])).all())
    assert _centred_error(W, q) < 0
    # Δ is capped at the largest FP16: the best Δ is the cap and the largest weight of each
    # row saturates at the largest magnitude of the format
    top = q.abs().amax(dim=1)
    assert bool((top >= 3 * 65504 / 2).all()), top


@pytest.mark.parametrize("method", list(QUANTIZERS))
def test_normal_groups_unchanged_next_to_huge_ones(method):
    """Only the overflowing groups take the FP64 centred path: a normal row quantizes bit-exactly
    as before, alone or next to a huge row; a huge importance does not zero the weights."""
    g = torch.Generator().manual_seed(2)
    normal = torch.randn(1, 192, generator=g)
    huge = torch.randn(1, 192, generator=g) * 1e25
    both = QUANTIZERS[method](torch.cat([normal, huge])).dequantize()
    assert torch.equal(both[:1], QUANTIZERS[method](normal).dequantize())
    q = QUANTIZERS[method](normal, imp=torch.full((192,), 3e38)).dequantize()
    assert bool(q.ne(0).any()) and _centred_error(normal, q) < 0
    assert math.isfinite(_centred_error(normal, q))
