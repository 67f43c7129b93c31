"""What the run prints, and BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench import stack
from bench.pages_report import pages_section, verdict

if TYPE_CHECKING:
    from bench.pages import PagesResult
    from bench.sweeps import SweepsResult
    from bench.usage import UsageResult
    from bench.webhooks import WebhooksResult

# The standing analysis under the figures: what each figure measures, what the profiles say is
# left, and what was changed to get there. Prose, kept as Markdown beside this module.
ANALYSIS_FILE = Path(__file__).with_name("analysis.md")


def analysis() -> str:
    return ANALYSIS_FILE.read_text(encoding="utf-8")


USAGE_TARGET = 0.25
USAGE_APPLIED_TARGET = 0.15
SWEEP_LIMIT = 2.0


def command_line(argv: list[str] | None) -> str:
    if os.environ.get("BENCH_COMMAND"):
        return os.environ["BENCH_COMMAND"]
    words = sys.argv[1:] if argv is None else argv
    return shlex.join([".venv/bin/python", "-m", "bench.run", *words])


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8", errors="replace")
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    postgres = subprocess.run(  # noqa: S603 (fixed arguments)
        ["psql", f"{stack.DATABASE_SERVER}/postgres", "-tAc", "SHOW server_version"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
    return {
        "CPU": model.group(1).strip() if model else "unknown",
        "nproc": str(os.cpu_count() or 0),
        "memory": f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "unknown",
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "PostgreSQL": postgres or "unknown",
        "wrk": (wrk.stdout or wrk.stderr).split("\n")[0].split(" Copyright")[0].strip(),
    }


@dataclass
class Report:
    command: str
    started_at: datetime
    quick: bool = False
    seconds: float = 0.0
    pages: PagesResult | None = None
    usage: UsageResult | None = None
    sweeps: SweepsResult | None = None
    webhooks: WebhooksResult | None = None
    notes: list[str] = field(default_factory=list)


# --- Printed as the run goes ----------------------------------------------------------------


def print_usage(result: UsageResult) -> None:
    copies = ", ".join(f"{seconds:.2f}" for seconds in result.copy_seconds)
    print(f"  accepted {result.accept_rate:10.0f} records/s ({result.accept_seconds:.2f} s)", flush=True)
    print(f"  applied  {result.applied_rate:10.0f} records/s ({result.applied_seconds:.2f} s)", flush=True)
    print(f"  COPY     {result.copy_rate:10.0f} records/s (runs: {copies} s)", flush=True)
    print(f"  ratios: accepted {result.accept_ratio:.3f}, applied {result.applied_ratio:.3f}", flush=True)
    print(f"  COPY into an indexed copy of plans_usagerecord / COPY: {result.copy_indexed_ratio:.3f}", flush=True)
    print(f"  the same as before plans 0006 / COPY: {result.copy_before_ratio:.3f}", flush=True)


def print_webhooks(result: WebhooksResult) -> None:
    print(
        f"  answered {result.rate:.1f} events/s ({result.events} in {result.seconds:.2f} s), with the worker at work"
        f" {result.busy_rate:.1f}; fulfilled {result.fulfilled_rate:.1f} events/s ({result.fulfilled_seconds:.2f} s);"
        f" /ping {result.ping_rate:.0f} req/s; ratios {result.ratio:.4f} answered, {result.busy_ratio:.4f}"
        f" with the worker, {result.fulfilled_ratio:.4f} fulfilled",
        flush=True,
    )


def print_sweeps(result: SweepsResult) -> None:
    for name in ("reminders_seconds", "auto_renew_seconds", "reminders_select_seconds", "auto_renew_select_seconds"):
        print(
            f"  {name}: {result.sizes[-1].lines:,} lines / {result.sizes[0].lines:,} lines = {result.ratio(name):.2f}"
        )
    print(f"  the line reads use indexes: {result.indexes_used}", flush=True)


# --- BENCHMARKS.md --------------------------------------------------------------------------


def _usage_section(result: UsageResult) -> list[str]:
    copies = ", ".join(f"{seconds:.2f}" for seconds in result.copy_seconds)
    return [
        "## 2. Usage ingest",
        "",
        f"{result.records:,} records over {result.lines:,} lines (each with a live bucket), in"
        f" {result.records // result.batch} signed batches of {result.batch:,} through `POST /api/usage/`, sent by"
        f" {result.client_threads} client threads (Python, requests), with a {stack.usage_workers_description()},"
        " production settings and Redis db 13 as the broker, running on the same machine all along. Two figures from"
        " the one pass: **accepted**, from the first request to the last answer, every batch answered 202 and"
        " stored (the records checked, one `plans_usagebatch` row a batch, its task queued); and **applied**, from"
        " the first request until the worker had applied every batch (polled in the database), checked afterwards:"
        " every batch applied, every record accepted (none a duplicate or rejected) and in plans_usagerecord."
        " Reference: PostgreSQL's `COPY` of the same rows (the same columns and values) into a table of the same"
        " shape without index, key or constraint"
        " (`CREATE TABLE ... (LIKE plans_usagerecord INCLUDING DEFAULTS INCLUDING IDENTITY)`), one"
        " transaction, from the bench process; the median of three COPYs, two before the API and one after.",
        "",
        "| figure | ratio to COPY | target |",
        "| --- | ---: | --- |",
        f"| (a) records/s accepted through the API (202, stored) | **{result.accept_ratio:.3f}** |"
        f" ≥ {USAGE_TARGET:.2f}: {verdict(result.accept_ratio >= USAGE_TARGET)} |",
        f"| (b) records/s end to end, until every batch is applied | **{result.applied_ratio:.3f}** |"
        f" ≥ {USAGE_APPLIED_TARGET:.2f}: {verdict(result.applied_ratio >= USAGE_APPLIED_TARGET)} |",
        f"| for scale: COPY of the same rows into a table with plans_usagerecord's primary key, unique"
        f" index and check constraint | {result.copy_indexed_ratio:.3f} | |",
        f"| for scale: the same as the table was before plans migration 0006, with its `(line_id, at)`"
        f" index and its foreign key to plans_line | {result.copy_before_ratio:.3f} | |",
        "",
        f"Absolute: accepted {result.accept_rate:,.0f} records/s ({result.accept_seconds:.1f} s);"
        f" applied {result.applied_rate:,.0f} records/s ({result.applied_seconds:.1f} s);"
        f" COPY {result.copy_rate:,.0f} records/s (runs {copies} s).",
        "",
    ]


def _sweeps_section(result: SweepsResult) -> list[str]:
    lines = [
        "## 3. Sweeps",
        "",
        "`renewal_reminders_send` and `auto_renew_run` called in-process (as the Celery tasks do) with the",
        "line table grown to each size by `INSERT ... SELECT generate_series`; the same 1,000 lines are due",
        "for each sweep at every size (reminders: 7 days before expiry, no auto-renew; auto-renew: a saved",
        "card, expiring in 24-33 hours, charged on localstripe). Lines not due expire 10 days to a year",
        "ahead, or expired over a month ago, or are unassigned stock; a fifth have auto-renew on.",
        "Between runs the reminders, notices, emails, orders and buckets a run made are deleted and the",
        "expiries put back; before each auto-renew run localstripe is emptied and the 10 customers' cards",
        "made again (it keeps everything in memory and slows down as intents pile up: that would be",
        "localstripe's growth, not the app's). *select* is the sweep's reads of `plans_line` alone,",
        "run again.",
        "",
        "| sweep | ratio 1,000,000 lines / 10,000 lines | limit |",
        "| --- | ---: | --- |",
    ]
    names = {
        "reminders_seconds": "renewal_reminders_send (whole sweep)",
        "auto_renew_seconds": "auto_renew_run (whole sweep, 1,000 charges)",
        "reminders_select_seconds": "renewal_reminders_send: its line selects",
        "auto_renew_select_seconds": "auto_renew_run: its line select",
    }
    for key, label in names.items():
        ratio = result.ratio(key)
        lines.append(f"| {label} | **{ratio:.2f}** | ≤ {SWEEP_LIMIT:.0f}: {verdict(ratio <= SWEEP_LIMIT)} |")
    lines += [
        "",
        "Absolute medians (seconds; select in milliseconds):",
        "",
        "| lines | reminders | reminders select (ms) | auto-renew | auto-renew select (ms) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in result.sizes:
        lines.append(
            f"| {size.lines:,} | {size.median(size.reminders_seconds):.3f}"
            f" | {size.median(size.reminders_select_seconds) * 1000:.2f}"
            f" | {size.median(size.auto_renew_seconds):.2f}"
            f" | {size.median(size.auto_renew_select_seconds) * 1000:.2f} |"
        )
    if result.disturbed_runs:
        lines += [
            "",
            f"{result.disturbed_runs} run(s) were thrown away and run again: Redis (shared with other work on"
            " this machine) stopped answering meanwhile, and every email the sweep queued waited on it.",
        ]
    reads = "use indexes (no sequential scan of plans_line)" if result.indexes_used else "**scan plans_line**"
    lines += ["", f"At {result.sizes[-1].lines:,} lines the sweeps' reads {reads}:", ""]
    for name, plan in result.explains.items():
        lines += [f"<details><summary>{name}</summary>", "", "```", plan, "```", "", "</details>", ""]
    return lines


def _webhooks_section(result: WebhooksResult) -> list[str]:
    pings = ", ".join(f"{run.requests_per_second:.0f}" for run in result.ping)
    return [
        "## 4. Webhooks",
        "",
        f"Two rounds of {result.events} signed `payment_intent.succeeded` events, one per pending order whose"
        " intent really succeeded on localstripe, each POSTed once to `/stripe/webhook/` by wrk (one thread,"
        f" {result.connections} connections kept alive, as for `/ping`; a Lua script sends the events, signed"
        " just before, checks each answer and stops at the last: bench/load.py, `wrk_post_each`). The"
        " webhook verifies the signature,"
        " stores the event (one `INSERT ... ON CONFLICT DO NOTHING RETURNING`), queues its processing on"
        " Redis and answers 200; a task on the `billing` queue then fulfils the order from the intent the"
        " signed event carries (a bucket, a notice and an email written, the event marked processed in the"
        " same transaction, under the order's lock). Round 1: a"
        f" {stack.billing_workers_description()} started first, on the same machine; the answers timed, and"
        " **fulfilled** runs from the first event sent until every order of the round is fulfilled. Round 2:"
        " no worker taking events while they arrive (in production the workers have hosts of their own):"
        " **answered**, the target figure (Stripe waits only for the answer); a worker started afterwards"
        " processes them. Checked: every answer a 200 saying received (none a duplicate), every"
        " event processed once with its order fulfilled, one bucket per order. Reference: wrk on `/ping`"
        " before round 1 and after round 2 (median).",
        "",
        "| figure | ratio to /ping |",
        "| --- | ---: |",
        f"| events answered/s (target 0.15) | **{result.ratio:.4f}** |",
        f"| events answered/s, the worker at work on the same cores | {result.busy_ratio:.4f} |",
        f"| events fulfilled/s, end to end | {result.fulfilled_ratio:.4f} |",
        "",
        f"Absolute: answered {result.rate:.1f} events/s ({result.events} in {result.seconds:.1f} s), with the"
        f" worker at work {result.busy_rate:.1f}; fulfilled {result.fulfilled_rate:.1f} events/s (all in"
        f" {result.fulfilled_seconds:.1f} s); /ping {pings} req/s.",
        "",
    ]


# What profiling showed (pyinstrument in-process, py-spy on the gunicorn workers), written when the
# bench was made; the figures above are re-measured by every run, this text is not.


def markdown(report: Report) -> str:
    facts = machine()
    out = [
        "# Benchmarks",
        "",
        "Made by `make bench` (bench/run.py). Every figure is a **ratio** against a reference",
        "measured in the same run on the same machine: the machines are shared and noisy, so",
        "absolute times are given only to read the ratios by.",
        "",
        f"- command: `{report.command}`" + (" (quick mode: smaller data, shorter runs)" if report.quick else ""),
        f"- date: {report.started_at:%Y-%m-%d %H:%M} UTC; the run took {report.seconds / 60:.1f} minutes",
        f"- machine: {facts['CPU']}, nproc {facts['nproc']}, {facts['memory']} memory, Linux {facts['kernel']}",
        f"- software: Python {facts['Python']}, PostgreSQL {facts['PostgreSQL']}, {facts['wrk']}",
        f"- server: {stack.gunicorn_description()}, DJANGO_ENV=production (test secrets),"
        " SECURE_SSL_REDIRECT=False, whitenoise after collectstatic; PostgreSQL database `boombench`"
        " on 127.0.0.1:5432, Redis 127.0.0.1:6379 db 13; localstripe for Stripe",
        "",
    ]
    if report.pages:
        out += pages_section(report.pages)
    if report.usage:
        out += _usage_section(report.usage)
    if report.sweeps:
        out += _sweeps_section(report.sweeps)
    if report.webhooks:
        out += _webhooks_section(report.webhooks)
    out.append(analysis())
    if report.notes:
        out += ["## What else the machine was doing", "", *report.notes, ""]
    return "\n".join(out)
