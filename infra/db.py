"""The results database: one embedded SQLite file, ``$BUILD_DIR/results.sqlite``.

Each layer owns its tables (synth.results: design points and their energy runs;
verif.regress: regression runs); this module only opens the file, creates or widens a table and
writes a row once. Rows are keyed by the content-addressed key of the work that made them
(infra.cache), so a retried or repeated task never adds a second row. Only the process that
submits the tasks writes (SQLite is not for many hosts on a shared file system); workers return
their results to it.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterable

from .paths import build_dir

__all__ = ["default_path", "connect", "ensure_table", "insert_once", "rows"]


def default_path() -> Path:
    return build_dir("results.sqlite")


def connect(path: Path | None = None) -> sqlite3.Connection:
    p = Path(path) if path is not None else default_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(p, timeout=60)
    conn.row_factory = sqlite3.Row
    return conn


def ensure_table(conn: sqlite3.Connection, table: str, columns: dict[str, str],
                 primary: Iterable[str]) -> None:
    """Create ``table`` (columns: name -> SQL type) or add the columns it lacks."""
    cols = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    pk = ", ".join(f'"{c}"' for c in primary)
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols}, PRIMARY KEY ({pk}))')
    have = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
    for c, t in columns.items():
        if c not in have:
            conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{c}" {t}')
    conn.commit()


def insert_once(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless a row with its primary key exists; True if it was inserted."""
    names = list(row)
    cols = ", ".join('"%s"' % n for n in names)
    marks = ", ".join("?" for _ in names)
    cur = conn.execute(f'INSERT OR IGNORE INTO "{table}" ({cols}) VALUES ({marks})',
                       [row[n] for n in names])
    return cur.rowcount == 1


def rows(conn: sqlite3.Connection, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, list(args))]
