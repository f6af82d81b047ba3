"""Model in the loop: the nn.Linear layers of a real model (all-MiniLM-L6-v2) mapped onto the
generated FineQ core and the FGMP act_quant -> vmac datapath, simulated (Verilator by default),
every output compared for equality with the golden model, with cycles, utilization and energy.

* ``verif.e2e.fineq``: tiling of ``y = x·Wᵀ`` onto a ``fineq_core`` (FineQPlan).
* ``verif.e2e.fgmp``: act_quant + vmac lanes (FgmpPlan).
* ``verif.e2e.sim``: one simulation streams a whole layer (verif/tb/e2e.py plays it).
* ``verif.e2e.energy``: energy per token from ``make area``'s report.
* ``verif.e2e.model``: the three forward passes (FP32, golden, RTL) and the figures.
* ``python -m verif.e2e`` (``make e2e``): the command line; docs/e2e.md.

This package's ``__init__`` imports nothing, so that the command line checks its arguments
before torch is imported.
"""
