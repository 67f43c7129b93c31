"""``make bench``: Boom's throughput on the production stack, as ratios against references
measured in the same run, written to BENCHMARKS.md.

    .venv/bin/python -m bench.run [--quick] [--only pages,usage,sweeps,webhooks,lighthouse] [--output FILE]

It creates and migrates the ``boombench`` PostgreSQL database (dropped at the end unless
``--keep``), uses Redis database 13, starts localstripe and gunicorn (production settings, test
secrets), makes the data in bulk SQL, measures, and stops what it started. ``--only lighthouse``
rewrites only the Lighthouse section of the report (bench/lighthouse.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):  # run as a file: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bank, lighthouse, stack

if TYPE_CHECKING:
    from bench.report import Report

FIGURES = ("pages", "usage", "sweeps", "webhooks", "lighthouse")
# Client threads sending usage batches: enough to keep both workers busy.
USAGE_THREADS = 4


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(FIGURES), help="comma-separated figures to measure")
    parser.add_argument("--quick", action="store_true", help="smaller data and shorter runs, to try the script")
    parser.add_argument("--output", default=str(stack.ROOT / "BENCHMARKS.md"), help="the report to write")
    parser.add_argument("--keep", action="store_true", help="keep the boombench database afterwards")
    arguments = parser.parse_args(argv)
    arguments.figures = [name.strip() for name in arguments.only.split(",") if name.strip()]
    unknown = set(arguments.figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    return arguments


def _step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.contextmanager
def _figure(results: Report, name: str, message: str) -> Iterator[None]:
    """One figure, with what else the machine was doing noted: the load average before and after
    (other work on a shared machine), and whether Redis answered (it is shared too)."""
    _step(f"{name}: {message}")
    load_before, redis_before = os.getloadavg()[0], stack.redis_up()
    yield
    load_after, redis_after = os.getloadavg()[0], stack.redis_up()
    redis = "answered before and after" if redis_before and redis_after else "**was not answering** at one end"
    results.notes.append(
        f"- {name}: 1-minute load average {load_before:.1f} before, {load_after:.1f} after; Redis {redis}."
    )


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    started = time.monotonic()
    ports = stack.Ports()
    env = stack.environment(ports)
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    from bench import pages_report, report, seed

    _step("database boombench: create and migrate; collectstatic; Redis db 13 flushed")
    stack.database_create()
    stack.redis_flush()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)

    from plans.demo import seed_catalogue

    plans = seed_catalogue()
    results = report.Report(command=report.command_line(argv), started_at=datetime.now(UTC), quick=arguments.quick)
    lighthouse_section = ""
    try:
        with stack.localstripe(ports, env), stack.gunicorn(ports, env):
            _step(f"localstripe on {ports.stripe_url}; {stack.gunicorn_description()} on {ports.web_url}")
            if "pages" in arguments.figures:
                from bench import pages

                with _figure(results, "pages", "a customer with 3 lines, 200 orders, 100,000 usage records"):
                    customer = seed.page_customer(plans)
                    seed.analyze()
                    results.pages = pages.measure(
                        ports.web_url,
                        customer,
                        rounds=2 if arguments.quick else 4,
                        seconds=3 if arguments.quick else 6,
                        connections=stack.LOAD_CONNECTIONS,
                    )
                pages_report.print_pages(results.pages)
            if "lighthouse" in arguments.figures:
                # Before the bulk figures, on a quiet database: the demo customer's pages.
                with _figure(results, "lighthouse", "the customer's pages, mobile, in Chinese and English"):
                    lighthouse_section = lighthouse.section(lighthouse.measure(ports.web_url), results.command)
            if "usage" in arguments.figures:
                from bench import usage

                records, lines = (50_000, 500) if arguments.quick else (500_000, 2_000)
                with _figure(results, "usage", f"{records:,} records over {lines:,} lines in 5,000-record batches"):
                    results.usage = usage.measure(
                        ports.web_url, plans, records=records, lines=lines, batch=5_000, threads=USAGE_THREADS
                    )
                report.print_usage(results.usage)
            if "webhooks" in arguments.figures:
                from bench import webhooks

                events = 200 if arguments.quick else 2_000
                with _figure(results, "webhooks", f"2 rounds of {events} orders paid at localstripe, an event each"):
                    results.webhooks = webhooks.measure(
                        ports.web_url,
                        plans,
                        events=events,
                        connections=stack.LOAD_CONNECTIONS,
                        ping_seconds=3 if arguments.quick else 5,
                    )
                report.print_webhooks(results.webhooks)
            if "sweeps" in arguments.figures:
                from bench import sweeps

                # Last: it leaves a million lines behind.
                sizes = (5_000, 10_000, 20_000) if arguments.quick else (10_000, 100_000, 1_000_000)
                message = f"{', '.join(f'{n:,}' for n in sizes)} lines, the same {sweeps.DUE:,} due for each sweep"
                with _figure(results, "sweeps", message):
                    results.sweeps = sweeps.measure(plans, sizes=sizes, repeats=1 if arguments.quick else 3)
                report.print_sweeps(results.sweeps)
    finally:
        with contextlib.suppress(Exception):
            stack.redis_flush()
        if not arguments.keep:
            stack.database_drop()
    results.seconds = time.monotonic() - started
    output = Path(arguments.output)
    old = output.read_text(encoding="utf-8") if output.exists() else "# Benchmarks\n"
    if arguments.figures == ["lighthouse"]:
        text = old  # the other figures stay as they were measured
    else:
        text = report.markdown(results) + lighthouse.kept_section(old) + bank.kept_section(old)  # make bank's
    if lighthouse_section:
        text = lighthouse.replace_section(text, lighthouse_section)
    output.write_text(text, encoding="utf-8")
    _step(f"wrote {arguments.output} ({results.seconds / 60:.1f} minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
