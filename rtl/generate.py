"""Generate Verilog for a registered block.

    python -m rtl.generate --list
    python -m rtl.generate BLOCK [--param NAME=VALUE ...] -o DIR
    python -m rtl.generate --all -o DIR          # every block, default configuration

Writes ``DIR/BLOCK.v`` (Verilog-2005, top module named BLOCK) and ``DIR/BLOCK.json`` (resolved
parameters, ports with widths and directions, latency). Unknown block, unknown parameter or bad
value: one line on stderr and exit code 2.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from amaranth.hdl import Fragment

from infra.cli import Parser, fail, out_dir
from infra.paths import build_dir

from .registry import BlockError, BlockSpec, blocks, get_block

__all__ = ["elaborate", "GeneratedBlock", "main"]


class GeneratedBlock:
    """A block configuration turned into Verilog (and RTLIL, for synthesis)."""

    def __init__(self, spec: BlockSpec, params: dict[str, Any]):
        self.spec = spec
        self.params = spec.resolve(params)
        self.component = spec.build(self.params)
        self._fresh = True

    @property
    def name(self) -> str:
        return self.spec.name

    def _component(self):
        # Each conversion gets its own instance: an elaboratable belongs to one design.
        if self._fresh:
            self._fresh = False
            return self.component
        return self.spec.build(self.params)

    def hierarchy(self):
        """The design as modules: one per distinct unit (rtl/hierarchy.py), the block on top."""
        from .hierarchy import convert
        return convert(self._component(), self.name)

    def verilog(self) -> str:
        from amaranth.back.verilog import _convert_rtlil_text
        return _convert_rtlil_text(self.rtlil())

    def rtlil(self) -> str:
        return self.hierarchy().rtlil()

    def metadata(self) -> dict[str, Any]:
        """BLOCK.json: parameters, ports, latency and the component's ``metadata_properties``.

        Ports are described by the component, not parsed from the Verilog: the clock and reset
        of every clock domain the design uses without defining it (Amaranth's converter creates
        such a domain and adds its ``clk``/``rst`` as inputs; a purely combinational block has
        none), then the signature's ports as Amaranth flattens them
        (``Component.metadata.as_json()``: ``a__payload``, ...). ``verif.lint`` checks the list
        against the ports of every block's generated Verilog.
        """
        comp = self.component
        meta: dict[str, Any] = {
            "block": self.name,
            "description": self.spec.description,
            "params": self.params,
            "ports": self._clock_ports() + _signature_ports(comp.metadata.as_json()["interface"]),
            "latency": getattr(comp, "latency", None),
        }
        for extra in getattr(comp, "metadata_properties", ()):
            meta[extra] = getattr(comp, extra)
        return meta

    def _clock_ports(self) -> list[dict[str, Any]]:
        # Elaborating is needed to see which domains the design drives; ``prepare`` with no
        # ports lists exactly the clock/reset inputs it adds for the domains it creates.
        design = Fragment.get(self._component(), None).prepare()
        return [{"name": name, "direction": direction.value, "width": len(signal),
                 "signed": False} for name, signal, direction in design.ports]

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        text = self.verilog()
        v_path = out_dir / f"{self.name}.v"
        j_path = out_dir / f"{self.name}.json"
        _write_if_changed(v_path, text)
        _write_if_changed(j_path, json.dumps(self.metadata(), indent=2, sort_keys=True) + "\n")
        return v_path, j_path


def _signature_ports(member) -> list[dict[str, Any]]:
    """Ports of a member of ``ComponentMetadata.as_json()`` (port, interface or array)."""
    if isinstance(member, list):
        return [p for m in member for p in _signature_ports(m)]
    if member.get("type") == "port":
        direction = {"in": "input", "out": "output"}[member["dir"]]
        return [{"name": member["name"], "direction": direction, "width": member["width"],
                 "signed": member["signed"]}]
    return [p for m in member["members"].values() for p in _signature_ports(m)]


def _write_if_changed(path: Path, text: str) -> None:
    """Keep the file's mtime when its content is unchanged (lets build tools skip work)."""
    if path.exists() and path.read_text() == text:
        return
    path.write_text(text)


def elaborate(name: str, params: dict[str, Any] | None = None) -> GeneratedBlock:
    return GeneratedBlock(get_block(name), params or {})


def main(argv: list[str] | None = None) -> int:
    ap = Parser(prog="python -m rtl.generate", description=__doc__.split("\n")[0])
    ap.add_argument("block", nargs="?", help="block name (see --list)")
    ap.add_argument("--list", action="store_true", help="print one block name per line")
    ap.add_argument("--all", action="store_true", help="every block in its default configuration")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("-o", "--out", type=out_dir, default=None, help="default $BUILD_DIR/verilog")
    args = ap.parse_args(argv)
    args.out = args.out or build_dir("verilog")
    try:
        if args.list:
            for name in blocks():
                print(name)
            return 0
        if args.all:
            if args.block or args.param:
                raise BlockError("--all takes no block name and no --param")
            for name in blocks():
                v, _ = elaborate(name).write(args.out)
                print(v)
            return 0
        if not args.block:
            raise BlockError("give a block name, --list or --all")
        spec = get_block(args.block)
        gen = GeneratedBlock(spec, spec.parse(args.param))
        v, j = gen.write(args.out)
        print(v)
        print(j)
        return 0
    except BlockError as e:
        return fail(str(e))
    except OSError as e:
        return fail(f"--out {str(args.out)!r}: cannot write {e.filename or ''}: "
                    f"{e.strerror or type(e).__name__}")


if __name__ == "__main__":
    sys.exit(main())
