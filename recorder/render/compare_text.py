"""``recorder compare``'s table: per atom, this run against the baseline, the news first."""

from __future__ import annotations

from recorder.query.compare import AtomDelta, Comparison
from recorder.render.text import fmt_duration, table

ORDER = ("newly fails", "slower", "more attempts", "new", "as usual")


def _against(comparison: Comparison) -> str:
    against = comparison.against
    if against.get("kind") == "history":
        return "against %s earlier run(s) of %s" % (against.get("runs"), against.get("name"))
    return "against %s %s" % (str(against.get("uuid", ""))[:8], against.get("name"))


def _usual(delta: AtomDelta) -> str:
    b = delta.baseline
    return "-" if b is None else ("%g" % b.attempts_per_run)


def compare_table(comparison: Comparison) -> str:
    """Changed atoms first (newly failing, slower, more attempts), then the rest."""
    rows = sorted(comparison.atoms, key=lambda d: (ORDER.index(d.verdict), d.name))
    cells = [
        [
            d.name,
            fmt_duration(d.duration),
            fmt_duration(d.baseline.p50 if d.baseline else None),
            fmt_duration(d.baseline.p95 if d.baseline else None),
            "%d/%s" % (d.attempts, _usual(d)),
            d.verdict,
        ]
        for d in rows
    ]
    header = ["ATOM", "THIS RUN", "P50", "P95", "TRIES/USUAL", "CHANGE"]
    title = "%s %s %s" % (comparison.flow_name, comparison.flow_uuid[:8], _against(comparison))
    lines = [title, ""]
    lines += table(header, cells, [24, 9, 9, 9, 11, 13], [False, True, True, True, True, False])
    changed = len(comparison.changed)
    lines += ["", "%d of %d atom(s) changed" % (changed, len(comparison.atoms))]
    return "\n".join(lines)
