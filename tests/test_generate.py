"""BLOCK.json ports come from the component (rtl/generate.py); verif.lint checks them against the
generated Verilog for every registered block (tests/test_cli.py::test_lint_every_block_clean).
Here: that check itself, and the clock/reset rule, on small blocks."""
import pytest

from rtl.generate import elaborate
from verif.lint import port_problems, verilog_ports

TEXT = ("module sub(a);\n  input [3:0] a;\nendmodule\n"
        "module top(clk, x, y);\n  input clk;\n  input signed [8:0] x;\n"
        "  output [127:0] y;\n  wire [3:0] z;\nendmodule\n")


def _meta(*ports):
    return {"ports": [{"name": n, "direction": d, "width": w, "signed": False}
                      for n, d, w in ports]}


def test_verilog_ports_reads_only_the_named_module():
    assert verilog_ports(TEXT, "top") == {"clk": ("input", 1), "x": ("input", 9),
                                          "y": ("output", 128)}
    assert verilog_ports(TEXT, "sub") == {"a": ("input", 4)}
    with pytest.raises(ValueError, match="no module nope"):
        verilog_ports(TEXT, "nope")


@pytest.mark.parametrize("ports,needle", [
    ([("clk", "input", 1), ("x", "input", 9)], "only in top.v [('y', ('output', 128))]"),
    ([("clk", "input", 1), ("x", "input", 8), ("y", "output", 128)],
     "only in top.json [('x', ('input', 8))]"),
    ([("clk", "input", 1), ("x", "input", 9), ("y", "input", 128)], "('y', ('input', 128))"),
    ([("clk", "input", 1), ("x", "input", 9), ("y", "output", 128), ("rst", "input", 1)],
     "only in top.json [('rst', ('input', 1))]"),
    ([("clk", "input", 1), ("clk", "input", 1), ("x", "input", 9), ("y", "output", 128)],
     "lists a port twice"),
])
def test_port_check_names_every_difference(ports, needle):
    assert port_problems("top", TEXT, _meta(("clk", "input", 1), ("x", "input", 9),
                                            ("y", "output", 128))) == []
    problems = port_problems("top", TEXT, _meta(*ports))
    assert len(problems) == 1 and needle in problems[0], problems


@pytest.mark.parametrize("name,params,clocked", [("e2m1_decoder", {}, False),
                                                 ("fineq_decoder", {}, True),
                                                 ("temporal_pe", {"row": 0}, True)])
def test_metadata_ports_match_the_verilog(name, params, clocked):
    """clk/rst only for designs with a clock domain (temporal_pe: registers without reset
    still get rst, as Amaranth's default domain has one)."""
    gen = elaborate(name, params)
    meta = gen.metadata()
    names = [p["name"] for p in meta["ports"]]
    assert (names[:2] == ["clk", "rst"]) == clocked and ("clk" in names) == clocked
    assert port_problems(name, gen.verilog(), meta) == []
