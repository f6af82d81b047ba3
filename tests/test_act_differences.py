"""The reachable candidate differences of the activation quantizer
(verif/vectors/act_differences.py): the enumeration is closed under every other stimulus, and
the directed groups put every value into every element position."""
import math
import random

import pytest
import torch

from golden.fgmp import hw
from golden.formats import UE4M3, decode
import verif.vectors.fgmp as V
from verif.vectors.act_differences import (act_difference_groups, differences_of,
                                           reachable_differences)


def test_reachable_differences_fit_the_squarer():
    reach = reachable_differences()
    assert len(reach) == 272
    assert max(reach) == 1 << 19          # |d| < 2^20 = D_BITS (rtl/fgmp/act_quant.py)
    assert min(reach) == 0


def _uniform_blocks(rng, n):
    """Blocks with a random block scale and elements uniform in [−amax, amax]."""
    rows = []
    for _ in range(n):
        sc = rng.randrange(0, UE4M3.max_code + 1)
        amax = 6 * float(decode(UE4M3, torch.tensor(sc, dtype=torch.uint8))) * rng.uniform(0.9, 1.1)
        rows.append([rng.uniform(-amax, amax) for _ in range(16)])
    return torch.tensor(rows, dtype=torch.float64).to(torch.float32)


@pytest.mark.parametrize("seed", [1, 2])
def test_every_difference_of_other_stimuli_is_enumerated(seed):
    """No stimulus finds a |d| outside the enumeration: uniform blocks over every block scale,
    and the regression's random, tie, saturation and subnormal groups."""
    rng = random.Random(seed)
    reach = set(reachable_differences())
    found = set(differences_of(_uniform_blocks(rng, 4000), 0).flatten().tolist())
    groups = (V.act_random_groups(rng, n_blocks=300) + V.act_tie_groups(rng)
              + V.act_saturation_groups(rng) + V.act_subnormal_groups(rng))
    for g in groups:
        found |= set(differences_of(g.x, g.k).flatten().tolist())
    assert found <= reach, f"|d| outside the enumeration: {sorted(found - reach)[:5]}"


def test_difference_groups_cover_every_value_in_every_position():
    (g,) = act_difference_groups(random.Random(5))
    reach = set(reachable_differences())
    d = differences_of(g.x, g.k)
    for pos in range(16):
        missing = reach - set(d[:, pos].tolist())
        assert not missing, f"element {pos}: |d| {sorted(missing)[:5]} never appears"
    assert bool((g.fbar > 0).all()), "a zero F̄ would hide that element's square"
    assert not bool(torch.isnan(g.x).any())
    assert len(set(hw.act_quant_blocks(g.x, math.ldexp(1.0, g.k), g.fbar,
                                       hw.TAU_FORCE_NVFP4)[3].tolist())) > 100
