"""cocotb's results file (JUnit XML, results.xml) read back into one verdict per test, so that a
failing configuration names every failing test and its first message.

    cases = read_results(run_dir / "results.xml")
    problem = failure_report(cases)      # None when at least one test ran and none failed
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

__all__ = ["CaseResult", "read_results", "failure_report"]

#: Lines of a failure message shown per test (a Mismatches message: the header and the first
#: differences; the full text stays in results.xml and the log).
MESSAGE_LINES = 4
MESSAGE_CHARS = 400


@dataclass(frozen=True)
class CaseResult:
    name: str
    status: str        # "passed", "failed", "error" or "skipped"
    message: str = ""  # "<exception type>: <message>" of a failure or error


def read_results(path: Path) -> list[CaseResult]:
    """Every ``testcase`` of a JUnit results file, in file order."""
    cases = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        status, message = "passed", ""
        for tag, verdict in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            element = case.find(tag)
            if element is not None:
                status = verdict
                if verdict != "skipped":
                    text = element.get("message") or (element.text or "").strip()
                    kind = element.get("type")
                    message = f"{kind}: {text}" if kind else text
                break
        cases.append(CaseResult(case.get("name", "?"), status, message))
    return cases


def _head(message: str) -> str:
    lines = [line[:MESSAGE_CHARS] for line in message.splitlines()[:MESSAGE_LINES]]
    return "\n      ".join(lines) or "(no message)"


def failure_report(cases: list[CaseResult]) -> str | None:
    """None when at least one test ran and none failed; otherwise what went wrong, naming every
    failing test with the head of its message. Skipped tests do not count as run."""
    failed = [c for c in cases if c.status in ("failed", "error")]
    ran = [c for c in cases if c.status != "skipped"]
    skipped = len(cases) - len(ran)
    if failed:
        lines = [f"{len(failed)} of {len(ran)} cocotb tests failed"
                 + (f" ({skipped} skipped)" if skipped else "") + ":"]
        lines += [f"  {c.name} {c.status.upper()}: {_head(c.message)}" for c in failed]
        return "\n".join(lines)
    if not ran:
        return f"no cocotb test ran ({skipped} skipped)"
    return None
