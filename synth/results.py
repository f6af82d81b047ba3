"""The design-point results database: one row per evaluated design point in
``$BUILD_DIR/results.sqlite`` (infra.db), written once by the process that ran the sweep or
report (synth.jobs), never twice for one point.

    python -m synth.results [--family fineq] [--block B] [--library sky130hd] [--param rows=16]
                            [--status ok] [--energy] [--csv | --json] [--db PATH]

Table ``points`` (one row per point; ``point_key`` = the task identity of synth.jobs: block,
resolved parameters, library text, flow id, energy workloads, data and the producing code):
design key, family, block, params (JSON), library, flow_id, tool versions (Yosys, Amaranth,
Python), status, area µm², NAND2-eq, transistors, generic and liberty cells, flip-flops, fmax,
critical path, logic depth, energy per MAC of the design's headline workload under the three
delay models (zero-delay, unit-delay, unit-delay + clock gating) and its window T (cycles per
activation vector), wall time, host, time finished, and the whole evaluated row as JSON (what the
report reads back). Table ``energy``: one row per (point, workload) with the same energy fields,
the workload's arguments (``p``, ``mode``) and data source.

By default the listing shows the points of the current flow (``--all-flows`` for every one).
"""
from __future__ import annotations

import csv
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from infra import db
from infra.cli import Parser, fail

__all__ = ["POINT_COLUMNS", "ENERGY_COLUMNS", "open_db", "store", "lookup", "query", "energy_rows",
           "stored_rows", "headline", "HEADLINE_WORKLOAD", "main"]

POINT_COLUMNS = {
    "point_key": "TEXT", "design": "TEXT", "family": "TEXT", "block": "TEXT", "params": "TEXT",
    "library": "TEXT", "flow_id": "TEXT", "yosys_version": "TEXT", "tools": "TEXT",
    "status": "TEXT", "area_um2": "REAL", "nand2_eq": "REAL", "transistors": "INTEGER",
    "cells": "INTEGER", "lib_cells": "INTEGER", "flip_flops": "INTEGER", "fmax_mhz": "REAL",
    "critical_path_ns": "REAL", "logic_depth": "INTEGER", "workload": "TEXT",
    "energy_zero_delay_fj_per_mac": "REAL", "energy_unit_delay_fj_per_mac": "REAL",
    "energy_gated_fj_per_mac": "REAL", "window_t": "REAL", "data": "TEXT",
    "wall_seconds": "REAL", "host": "TEXT", "finished": "TEXT", "row_json": "TEXT",
}
ENERGY_COLUMNS = {
    "point_key": "TEXT", "workload": "TEXT", "stimulus": "TEXT", "args": "TEXT", "p": "REAL",
    "mode": "TEXT", "status": "TEXT", "macs": "INTEGER", "cycles": "INTEGER",
    "energy_zero_delay_fj_per_mac": "REAL", "energy_unit_delay_fj_per_mac": "REAL",
    "energy_gated_fj_per_mac": "REAL", "window_t": "REAL", "data": "TEXT",
}
#: Workloads whose energy is a point's headline, first present wins (else the design's first
#: workload): the VMACs at p = 0.7 in the mode-grouped order, as in the report's claims.
HEADLINE_WORKLOAD = {"vmac": ("p0.7_grouped", "p0.7"), "fp8_vmac": ("all_fp8_grouped_p0.7", "all_fp8")}
#: Columns of the default listing / CSV.
LIST_COLUMNS = ("design", "library", "block", "params", "status", "area_um2", "nand2_eq",
                "transistors", "flip_flops", "fmax_mhz", "workload", "energy_zero_delay_fj_per_mac",
                "energy_unit_delay_fj_per_mac", "energy_gated_fj_per_mac", "window_t",
                "wall_seconds", "host", "flow_id")


#: The plain listing (``--csv`` / ``--json`` have every column): header -> (column, format).
TABLE_POINTS = (("design", "design", "s"), ("library", "library", "s"), ("status", "status", "s"),
                ("area um2", "area_um2", ",.0f"), ("flip-flops", "flip_flops", ",d"),
                ("fmax MHz", "fmax_mhz", ".0f"), ("workload", "workload", "s"),
                ("fJ/MAC zero-d.", "energy_zero_delay_fj_per_mac", ",.1f"),
                ("fJ/MAC unit-d.", "energy_unit_delay_fj_per_mac", ",.1f"),
                ("fJ/MAC gated", "energy_gated_fj_per_mac", ",.1f"), ("wall s", "wall_seconds", ".0f"))
TABLE_ENERGY = (("design", "design", "s"), ("library", "library", "s"), ("workload", "workload", "s"),
                ("status", "status", "s"), ("MACs", "macs", ",d"), ("cycles", "cycles", ",d"),
                ("fJ/MAC zero-d.", "energy_zero_delay_fj_per_mac", ",.1f"),
                ("fJ/MAC unit-d.", "energy_unit_delay_fj_per_mac", ",.1f"),
                ("fJ/MAC gated", "energy_gated_fj_per_mac", ",.1f"))


def table(recs: list[dict], *, energy: bool = False) -> str:
    """Rows as an aligned text table (text left, numbers right, "-" where a value is empty)."""
    spec = TABLE_ENERGY if energy else TABLE_POINTS
    cells = [[h for h, _, _ in spec]]
    for r in recs:
        cells.append(["-" if r.get(c) is None else format(r[c], f) for _, c, f in spec])
    width = [max(len(row[i]) for row in cells) for i in range(len(spec))]
    lines = []
    for row in cells:
        lines.append("  ".join(v.ljust(w) if f == "s" else v.rjust(w)
                               for v, w, (_, _, f) in zip(row, width, spec)).rstrip())
    return "\n".join(lines)


def open_db(path: Path | None = None) -> sqlite3.Connection:
    conn = db.connect(path)
    db.ensure_table(conn, "points", POINT_COLUMNS, ["point_key"])
    db.ensure_table(conn, "energy", ENERGY_COLUMNS, ["point_key", "workload"])
    return conn


def _energy_fields(e: dict) -> dict[str, Any]:
    return {"energy_zero_delay_fj_per_mac": e.get("energy_per_mac_fj"),
            "energy_unit_delay_fj_per_mac": e.get("glitch_energy_per_mac_fj"),
            "energy_gated_fj_per_mac": e.get("gated_glitch_energy_per_mac_fj"),
            "window_t": e.get("cycles_per_vector"), "data": e.get("data")}


def headline(row: dict) -> str | None:
    names = list(row.get("energy") or {})
    for want in HEADLINE_WORKLOAD.get(row.get("block"), ()):
        if want in names:
            return want
    return names[0] if names else None


def store(conn: sqlite3.Connection, point_key: str, row: dict) -> bool:
    """Write the evaluated ``row`` of a point once; True if it was new."""
    from .libraries import characterized
    s = row.get("synth") or {}
    # placeholder delays (sky130hd): no fmax / critical path in the columns (row_json keeps them)
    t = (s.get("timing") or {}) if characterized(row.get("library")) else {}
    wl = headline(row)
    e = (row.get("energy") or {}).get(wl) or {}
    rec = {"point_key": point_key, "design": row["key"], "family": row.get("family"),
           "block": row["block"], "params": json.dumps(s.get("params", row.get("params")), sort_keys=True),
           "library": row.get("library"), "flow_id": s.get("flow_id"),
           "yosys_version": s.get("yosys_version"), "tools": json.dumps(row.get("tools", {}), sort_keys=True),
           "status": row["status"], "area_um2": s.get("area_um2"), "nand2_eq": s.get("nand2_eq"),
           "transistors": s.get("transistors"), "cells": s.get("cells"), "lib_cells": s.get("lib_cells"),
           "flip_flops": s.get("flip_flops"), "fmax_mhz": t.get("fmax_mhz"),
           "critical_path_ns": t.get("critical_path_ns"), "logic_depth": t.get("logic_depth"),
           "workload": wl if e.get("status") == "ok" else None,
           **(_energy_fields(e) if e.get("status") == "ok" else {}),
           "wall_seconds": row.get("seconds"), "host": row.get("host"),
           "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
           "row_json": json.dumps(row, sort_keys=True, default=str)}
    with conn:
        new = db.insert_once(conn, "points", rec)
        if new:
            for name, en in (row.get("energy") or {}).items():
                args = {} if en.get("status") != "ok" else en.get("args") or {}
                db.insert_once(conn, "energy", {
                    "point_key": point_key, "workload": name, "stimulus": en.get("stimulus"),
                    "args": json.dumps(args, sort_keys=True), "p": args.get("p"), "mode": args.get("mode"),
                    "status": en.get("status"), "macs": en.get("macs"), "cycles": en.get("cycles"),
                    **(_energy_fields(en) if en.get("status") == "ok" else {})})
    return new


def lookup(conn: sqlite3.Connection, point_key: str) -> dict | None:
    """The stored evaluated row of a point, or None."""
    r = conn.execute("SELECT row_json FROM points WHERE point_key = ?", (point_key,)).fetchone()
    return json.loads(r[0]) if r else None


def query(conn: sqlite3.Connection, *, family: str | None = None, block: str | None = None,
          library: str | None = None, status: str | None = None, params: dict | None = None,
          flow_id: str | None = None) -> list[dict]:
    """Point rows (dicts of :data:`POINT_COLUMNS`) matching every given filter; ``params``:
    parameter values that must match (compared as JSON values)."""
    where, args = [], []
    for col, val in (("family", family), ("block", block), ("library", library),
                     ("status", status), ("flow_id", flow_id)):
        if val is not None:
            where.append(f'"{col}" = ?')
            args.append(val)
    sql = "SELECT * FROM points" + (" WHERE " + " AND ".join(where) if where else "")
    out = []
    for r in db.rows(conn, sql + " ORDER BY family, block, design, library", args):
        p = json.loads(r["params"] or "{}")
        if params and any(p.get(k) != v for k, v in params.items()):
            continue
        out.append(r)
    return out


def stored_rows(conn: sqlite3.Connection, *, library: str | None = None,
                flow_id: str | None = None, status: str = "ok") -> list[dict]:
    """The evaluated rows (as synth.jobs returns them) of the matching points."""
    return [json.loads(r["row_json"]) for r in query(conn, library=library, flow_id=flow_id,
                                                     status=status)]


def energy_rows(conn: sqlite3.Connection, point_keys: list[str]) -> list[dict]:
    if not point_keys:
        return []
    q = ",".join("?" for _ in point_keys)
    return db.rows(conn, f"SELECT * FROM energy WHERE point_key IN ({q}) ORDER BY point_key, workload",
                   point_keys)


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv=None) -> int:
    ap = Parser(prog="python -m synth.results", description=__doc__.split("\n")[0])
    ap.add_argument("--family", help="fineq, fgmp, fineq-extra, formats ...")
    ap.add_argument("--block")
    ap.add_argument("--library", help="mpaccel45, sky130hd, or a liberty file's stem")
    ap.add_argument("--status", help="ok, error")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="keep points with this parameter value (repeatable)")
    ap.add_argument("--all-flows", action="store_true", help="also points of other flow versions")
    ap.add_argument("--energy", action="store_true", help="one line per energy workload")
    fmt = ap.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--json", action="store_true")
    ap.add_argument("--db", type=Path, help="default $BUILD_DIR/results.sqlite")
    args = ap.parse_args(argv)
    params = {}
    for item in args.param:
        if "=" not in item:
            return fail(f"--param {item!r}: expected NAME=VALUE")
        k, v = item.split("=", 1)
        params[k] = _value(v)
    path = args.db or db.default_path()
    if not path.is_file():
        return fail(f"--db {str(path)!r}: no results database file (run make sweep or make area)")
    conn = open_db(path)
    flow = None
    if not args.all_flows:
        from .flow import flow_id
        flow = flow_id()
    pts = query(conn, family=args.family, block=args.block, library=args.library,
                status=args.status, params=params or None, flow_id=flow)
    if args.energy:
        names = {r["point_key"]: r for r in pts}
        recs = [{"design": names[e["point_key"]]["design"], "library": names[e["point_key"]]["library"],
                 **{k: v for k, v in e.items() if k != "point_key"}}
                for e in energy_rows(conn, list(names))]
        cols = ["design", "library"] + [c for c in ENERGY_COLUMNS if c != "point_key"]
    else:
        recs, cols = pts, list(LIST_COLUMNS)
    if args.json:
        keep = cols if args.energy else [c for c in POINT_COLUMNS if c != "row_json"]
        json.dump([{c: r.get(c) for c in keep} for r in recs], sys.stdout, indent=1)
        print()
    elif args.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
    else:
        print(table(recs, energy=args.energy))
        print(f"({len(recs)} rows; {path})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:          # `... --csv | head`
        sys.exit(0)
