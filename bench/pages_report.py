"""The pages' part of the report: what the run prints of them, and their section of BENCHMARKS.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.pages import PagesResult

PAGE_TARGET = 0.30
PAGE_COLD_TARGET = 0.12  # the first view after a change to the customer's data


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _redrawn(result: PagesResult, name: str) -> str:
    if name not in result.redrawn:
        return "-"
    return f"{result.redrawn_ratio(name):.3f} ({result.redrawn_ms(name):.2f})"


def _under_wrk(result: PagesResult, change: str, name: str) -> str:
    """The page's cold rate under wrk after ``change``, at least, over /ping's (what the target is
    judged by); in brackets the rate measured and the share of its views that built the page."""
    if name not in result.after.get(change, {}):
        return "-"
    measured, share = result.after_ratio(change, name), result.built.get(change, {}).get(name, 0.0)
    return f"**{result.after_cold_ratio(change, name):.3f}** ({measured:.3f}, {share:.0%} built)"


def _met_under_wrk(result: PagesResult, name: str) -> bool:
    """The cold target under wrk, after every kind of change the bench makes."""
    from bench.pages import CHANGES

    return all(
        name in result.after.get(change.name, {}) and result.after_cold_ratio(change.name, name) >= PAGE_COLD_TARGET
        for change in CHANGES
    )


def print_pages(result: PagesResult) -> None:
    for name in result.runs:
        ratio = "" if name == "ping" else f"  ratio {result.ratio(name):.3f}, cold {result.cold_ratio(name):.3f}"
        for change in result.after:
            if name in result.after[change]:
                ratio += f", {change} under wrk {result.after_ratio(change, name):.3f}"
        print(
            f"  {name:10} {result.rate(name):9.1f} req/s  cold {result.cold_ms(name):.2f} ms"
            f"  {result.queries[name]} queries{ratio}",
            flush=True,
        )
    if result.bare:
        print(f"  /ping over /bare/ping (no middleware): {result.stack_ratio():.3f}", flush=True)
    if result.stack is not None:
        for path, anonymous, logged_in in result.stack.added_us:
            print(f"  {path:55} {anonymous:7.1f} µs {logged_in:7.1f} µs logged in", flush=True)


def pages_section(result: PagesResult) -> list[str]:
    from bench.pages import CHANGES, COLD_ROUNDS, COLD_VIEWS
    from bench.stack import LOAD_CONNECTIONS, WORKER_CONNECTIONS

    lines = [
        "## 1. Pages",
        "",
        f"Requests per second under wrk (1 thread, {LOAD_CONNECTIONS} connections, keep-alive; each gunicorn worker",
        f"takes at most {WORKER_CONNECTIONS}, so they are spread evenly) with the logged-in",
        "customer's session cookie, against `GET /ping` (a constant `ok`, anonymous: the whole",
        "middleware stack and no database) on the same server. The pages take turns in each round;",
        "a ratio is the median over the rounds of the page's rate over /ping's in the same round.",
        "Queries: counted in-process with `CaptureQueriesContext`, *cold* (the customer's session",
        "and page cache dropped from Redis first), *after a change* (the customer's data changed:",
        "`pages_changed`, as a payment or a usage batch applied calls it; the session and the",
        "account stay cached, and a notice or a change to the account reads the user too, one query",
        "more) and *warm* (the same request again). wrk's loop measures the warm page: a",
        "customer coming back to it with nothing changed meanwhile. The **cold** ratio is the first",
        "view after a change: in-process with Django's test client, the customer's data changed",
        f"before every view (not timed), {COLD_ROUNDS} rounds of {COLD_VIEWS} views per page taking turns; the median",
        "time of an anonymous `/ping` in the same process over the page's median time: it charges",
        "the view every round trip to PostgreSQL and Redis as waiting. **Under wrk** is the same",
        "view as a rate on the server, as the warm one: wrk on the page under `/changed/`",
        "(bench/wsgi.py changes the customer's data, `pages_changed`, before each request, in the",
        "request: a usage batch, a payment's order) and under `/noticed/` (`customers_changed`: a",
        "notice, as a payment also makes, renews the account too, so the user and the bell are read",
        "again) right after the warm run in each round, over /ping's rate in the round: the server's",
        "other threads use the core while one waits. With 16 connections on one customer, a view",
        "may meet the page built by another since its own change: the share of views that built it",
        "is counted from Redis's keyspace events in a run of the same after the rounds",
        "(`bench.pages._built_share`), and the figure in bold is the cold rate at least",
        "(`PagesResult.after_cold_ratio`: those other views taken out as if each had cost a warm",
        "view), with the rate measured and that share in brackets. The target under wrk is met",
        "where the page meets it after both kinds of change.",
        "The change touches no row,",
        "so what each process keeps drawn under what it shows (the page's frame, the line cards,",
        "the forms: `boomcard.page_fragments.drawn_once`) is found again; **drawn anew** is the cold",
        "view in-process with those dropped too: the first view after a change to what the page",
        "itself shows (a usage batch on the home page's lines, say), every part drawn again.",
        "",
        "| page | path | queries (cold / after a change / warm) | warm ratio to /ping | cold ratio"
        " (ms in-process) | after a change, under wrk | after a notice, under wrk | drawn anew (ms) | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    paths = {name: runs[0].url.split("/", 3)[-1] for name, runs in result.runs.items()}
    for name in result.runs:
        if name == "ping":
            continue
        target = (
            f"≥ {PAGE_TARGET:.2f} warm: {verdict(result.ratio(name) >= PAGE_TARGET)};"
            f" ≥ {PAGE_COLD_TARGET:.2f} cold: {verdict(result.cold_ratio(name) >= PAGE_COLD_TARGET)} in-process,"
            f" {verdict(_met_under_wrk(result, name))} under wrk"
        )
        under_wrk = " | ".join(_under_wrk(result, change.name, name) for change in CHANGES)
        lines.append(
            f"| {name} | `/{paths[name]}` | {result.queries[name]} | **{result.ratio(name):.3f}** |"
            f" **{result.cold_ratio(name):.3f}** ({result.cold_ms(name):.2f}) |"
            f" {under_wrk} | {_redrawn(result, name)} | {target} |"
        )
    lines.append(f"\n`/ping` in-process (anonymous): {result.cold_ms('ping'):.2f} ms.")
    lines += [
        "",
        "Absolute rates, for reading the ratios only (this machine is shared and noisy):",
        "",
        "| page | req/s per round | p50 / p99 latency (ms, last round) |",
        "| --- | --- | --- |",
    ]
    for name, runs in result.runs.items():
        rates = ", ".join(f"{run.requests_per_second:.0f}" for run in runs)
        last = runs[-1]
        lines.append(f"| {name} | {rates} | {last.latency_p50_ms:.1f} / {last.latency_p99_ms:.1f} |")
        for change in CHANGES:
            if name in result.after.get(change.name, {}):
                cold_runs = result.after[change.name][name]
                rates = ", ".join(f"{run.requests_per_second:.0f}" for run in cold_runs)
                last = cold_runs[-1]
                latency = f"{last.latency_p50_ms:.1f} / {last.latency_p99_ms:.1f}"
                lines.append(f"| {name}, after {change.label} | {rates} | {latency} |")
    return [*lines, "", *_stack_section(result)]


def _stack_section(result: PagesResult) -> list[str]:
    """The middleware figure: /ping against the same view behind no middleware."""
    if not result.bare or result.stack is None:
        return []
    stack = result.stack
    lines = [
        "### The middleware stack",
        "",
        "`GET /ping` through the whole stack against `GET /bare/ping`, the same view behind no",
        "middleware at all, served by the same gunicorn (bench/wsgi.py routes `/bare/` to Django's",
        "handler built without middleware), measured right after /ping in each round:",
        f"**/ping runs at {result.stack_ratio():.3f} of the bare view's rate** (bare:",
        f"{', '.join(f'{run.requests_per_second:.0f}' for run in result.bare)} req/s).",
        "",
        "What each middleware adds, in-process (bench/middleware.py: Django's WSGI handler built",
        "with the stack cut after each entry, minus the stack cut before it; each stack's fastest",
        "of 15 interleaved runs of 100 requests; a few µs either way is noise). *Logged in* sends the customer's",
        "cookies (the session's and the one naming the customer) to /ping, so the session, the user",
        "and what depends on them are read.",
        "",
        "| middleware | anonymous (µs) | logged in (µs) |",
        "| --- | ---: | ---: |",
        f"| *(no middleware: the handler and the view)* | {stack.bare_us['anonymous']:.0f} | "
        f"{stack.bare_us['logged in']:.0f} |",
    ]
    for path, anonymous, logged_in in stack.added_us:
        lines.append(f"| `{path}` | {anonymous:.0f} | {logged_in:.0f} |")
    lines.append(
        f"| **the whole stack** | **{stack.whole_us('anonymous'):.0f}** | **{stack.whole_us('logged in'):.0f}** |"
    )
    return [*lines, ""]
