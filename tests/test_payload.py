"""verif.payload: pack/unpack against Amaranth's own constant layout (``layout.const``)."""
import random

import pytest
from amaranth import Shape, signed, unsigned
from amaranth.lib import data

from rtl.fgmp.act_quant import out_layout
from rtl.fgmp.vmac import w_layout
from rtl.fineq.array import TemporalSystolicArray
from verif.payload import pack, unpack, width

INNER = data.StructLayout({"mag": unsigned(3), "sign": 1, "delta": signed(5)})
NESTED = data.StructLayout({
    "lanes": data.ArrayLayout(INNER, 3),
    "grid": data.ArrayLayout(data.ArrayLayout(signed(4), 2), 3),
    "flag": 1,
    "score": signed(63),
})


def _random_value(shape, rng):
    if isinstance(shape, data.StructLayout):
        return {name: _random_value(f.shape, rng) for name, f in shape}
    if isinstance(shape, data.ArrayLayout):
        return [_random_value(shape.elem_shape, rng) for _ in range(shape.length)]
    s = Shape.cast(shape)
    w, sg = s.width, s.signed
    return rng.randint(-(1 << (w - 1)), (1 << (w - 1)) - 1) if sg else rng.getrandbits(w)


def _amaranth_word(shape, value) -> int:
    return shape.const(value).as_value().value & ((1 << shape.size) - 1)


@pytest.mark.parametrize("shape", [INNER, NESTED, w_layout(3, acc_init=True), out_layout(True),
                                   TemporalSystolicArray(rows=4, cols=3).o_shape,
                                   TemporalSystolicArray(rows=5, cols=2, coding="unary").w_shape],
                         ids=["struct", "nested", "vmac_w_acc", "act_quant_o", "fineq_o",
                              "fineq_w"])
def test_pack_matches_amaranth_const_and_round_trips(shape):
    rng = random.Random(1)
    for _ in range(200):
        value = _random_value(shape, rng)
        word = pack(shape, value)
        assert word == _amaranth_word(shape, value)
        assert unpack(shape, word) == value
        assert 0 <= word < 1 << width(shape)


def test_signed_fields_round_trip_their_extremes():
    shape = data.StructLayout({"lo": 2, "s": signed(5), "hi": 1})
    for v in (-16, -1, 0, 1, 15):
        word = pack(shape, {"lo": 3, "s": v, "hi": 1})
        assert (word >> shape["s"].offset) & 0x1F == v & 0x1F
        assert unpack(shape, word) == {"lo": 3, "s": v, "hi": 1}
    assert pack(signed(8), -128) == 0x80 and unpack(signed(8), 0x80) == -128


def test_array_of_structs_places_element_i_at_i_times_its_size():
    shape = data.ArrayLayout(INNER, 3)
    value = [{"mag": 0, "sign": 0, "delta": 0}] * 3
    value = [dict(v) for v in value]
    value[2]["sign"] = 1
    assert pack(shape, value) == 1 << (2 * INNER.size + INNER["sign"].offset)


@pytest.mark.parametrize("shape,value,match", [
    (INNER, {"mag": 8, "sign": 0, "delta": 0}, r"payload\.mag: 8 does not fit"),
    (INNER, {"mag": 0, "sign": 0, "delta": 16}, r"payload\.delta: 16 does not fit"),
    (INNER, {"mag": 0, "sign": 0, "delta": -17}, r"payload\.delta: -17"),
    (INNER, {"mag": -1, "sign": 0, "delta": 0}, r"payload\.mag: -1"),
    (INNER, {"mag": 0, "sign": 0}, r"missing \['delta'\]"),
    (INNER, {"mag": 0, "sign": 0, "delta": 0, "last": 1}, r"unknown \['last'\]"),
    (data.ArrayLayout(INNER, 2), [{"mag": 0, "sign": 0, "delta": 0}], "array of 2"),
    (NESTED["grid"].shape, [[0, 0], [0, 8], [0, 0]], r"payload\[1\]\[1\]: 8"),
])
def test_pack_refuses_values_that_do_not_fit(shape, value, match):
    with pytest.raises(ValueError, match=match):
        pack(shape, value)


def test_unpack_refuses_a_word_wider_than_the_payload():
    with pytest.raises(ValueError, match="not a 9-bit payload"):
        unpack(INNER, 1 << 9)
    with pytest.raises(ValueError, match="not a 9-bit payload"):
        unpack(INNER, -1)
