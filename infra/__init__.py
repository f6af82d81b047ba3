"""Base layer below golden: build paths, the one cache helper and the Yosys runner.

Every layer (golden < rtl < verif < synth) may import it; it imports none of them.
"""
