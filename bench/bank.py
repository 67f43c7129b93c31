"""The "## Bank test" section of BENCHMARKS.md, from the counts tests/reliability/test_bank.py
wrote (``BANK_SUMMARY``). ``make bank`` runs the test scaled up and then this:

    python -m bench.bank SUMMARY.json EXIT_STATUS "COMMAND" [BENCHMARKS.md]

The section is replaced if present, added at the end if not; the rest of the file is kept (and
``make bench``, which rewrites the file, keeps this section: ``kept_section``).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEADING = "## Bank test"

# The counts shown, in this order, with what each means.
ROWS = (
    ("customers", "customers"),
    ("lines", "lines (2 or 3 per customer)"),
    ("browsers", "browsers (1 or 2 per customer)"),
    ("threads", "browsers renewing at once"),
    ("renewals", "renewals tried (lines x rounds)"),
    ("orders", "orders"),
    ("orders_by_status", "orders by final status"),
    ("payments_at_stripe", "payments captured at Stripe"),
    ("refunds_at_stripe", "refunds at Stripe"),
    ("captured", "money captured (minor units)"),
    ("refunded", "money refunded (minor units)"),
    ("declined", "card declines answered"),
    ("double_clicks", "card payments sent twice at once"),
    ("orders_refunded_by_staff", "orders refunded by staff while fulfilment ran"),
    ("requests", "HTTP requests to the site"),
    ("statuses", "answers by status"),
    ("events_collected", "webhook events localstripe sent"),
    ("webhooks_replayed", "webhook deliveries replayed (2-3 times each, shuffled, 6 threads, and once more)"),
    ("stripe_slow", "Stripe calls answered late (slow)"),
    ("stripe_lost", "Stripe calls whose answer was lost"),
    ("stripe_down", "Stripe calls refused (down)"),
    ("worker_kills", "Celery workers killed (SIGKILL)"),
    ("reconciled_payments", "payments reconciliation"),
    ("reconciled_refunds", "refunds reconciliation"),
    ("emails_sent", "emails written"),
    ("emails_duplicated", "emails written twice (same Message-ID)"),
    ("traffic_seconds", "seconds of traffic"),
    ("seconds", "seconds in all"),
)


def section(summary: dict[str, Any], *, status: int, command: str, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    violations = summary.get("violations", 0)
    verdict = "passed: every invariant held" if status == 0 else f"FAILED (pytest exit status {status})"
    if status and violations:
        verdict += f", {violations} invariant violations"
    lines = [
        HEADING,
        "",
        "The bank test (tests/reliability/test_bank.py) scaled up: customers renew and pay over real"
        " HTTP while refunds race fulfilment, webhooks are replayed out of order, a Celery worker is"
        " killed and Stripe is slow, loses answers and is down; then reconciliation, and the books are"
        " checked against localstripe's (captured - refunded = fulfilled; nothing paid unfulfilled or"
        " fulfilled twice; refunds match; no 5xx; every email once).",
        "",
        f"- command: `{command}`",
        f"- date: {when:%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}; code at commit {_commit()}",
        f"- result: {verdict}",
        "",
        "| count | value |",
        "| --- | ---: |",
    ]
    for key, label in ROWS:
        if key in summary:
            value = summary[key]
            shown = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
            lines.append(f"| {label} | {shown} |")
    if summary.get("violations_first"):
        lines += ["", "Violations (first lines):", ""]
        lines += [f"- {text}" for text in summary["violations_first"]]
    return "\n".join(lines) + "\n"


def _commit() -> str:
    answer = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)  # noqa: S607
    return answer.stdout.strip() or "unknown"


def replace_section(text: str, new: str) -> str:
    """``text`` with its bank section replaced by ``new`` (or ``new`` appended)."""
    before, found, after = text.partition(f"\n{HEADING}\n")
    if not found:
        return text.rstrip("\n") + "\n\n" + new
    rest = after.split("\n## ", 1)
    tail = "\n## " + rest[1] if len(rest) == 2 else ""
    return before.rstrip("\n") + "\n\n" + new + tail


def kept_section(text: str) -> str:
    """The bank section of an existing BENCHMARKS.md, to carry over when the file is rewritten."""
    _before, found, after = text.partition(f"\n{HEADING}\n")
    if not found:
        return ""
    return "\n" + HEADING + "\n" + after.split("\n## ", 1)[0].rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    summary_path, status, command = argv[0], int(argv[1]), argv[2]
    target = Path(argv[3] if len(argv) > 3 else "BENCHMARKS.md")
    path = Path(summary_path)
    if not path.exists():
        print(f"{summary_path} was not written: the test stopped before its counts (see above)", file=sys.stderr)
        return 1
    summary = json.loads(path.read_text(encoding="utf-8"))
    old = target.read_text(encoding="utf-8") if target.exists() else "# Benchmarks\n"
    target.write_text(replace_section(old, section(summary, status=status, command=command)), encoding="utf-8")
    print(f"wrote the {HEADING!r} section of {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
