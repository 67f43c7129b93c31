"""Lighthouse (npm ``lighthouse@12``, mobile) on the customer's pages, in Chinese and English,
against the bench's gunicorn: accessibility, best practices, SEO, layout shift (CLS), total
blocking time (TBT) and the main thread's style-and-layout time. Written to the "Lighthouse"
section of BENCHMARKS.md.

    make bench BENCH_ARGS="--only lighthouse"
    BENCH_LIGHTHOUSE_PAGES="pay,recommend" make bench BENCH_ARGS="--only lighthouse"   # some pages

The logged-in pages are the demo customer's (as ``seed_demo`` makes it), with a paid order and one waiting to
be paid; the session cookie and the language go to Lighthouse as ``--extra-headers``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import stack

LIGHTHOUSE = stack.ROOT / "var" / "node" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu"
REPORT_DIR = stack.LOG_DIR / "lighthouse"
HEADING = "## Lighthouse"
LANGUAGES = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en"}
CATEGORIES = ("accessibility", "best-practices", "seo", "performance")
ATTEMPTS = 3
RECOMMEND_QUERY = "data_gb=12&minutes=300&sms=50&trip1_country=JP&trip1_days=7"


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    logged_in: bool = True


@dataclass(frozen=True)
class Result:
    target: Target
    language: str
    scores: dict[str, int]  # category: 0-100
    cls: float
    tbt_ms: float
    style_layout_ms: float
    failing: list[str]  # audits under 1 in the three categories that must be 100


def targets() -> list[Target]:
    """The demo customer's pages, with a paid order and one waiting to be paid."""
    from accounts import demo
    from billing.demo import demo_orders_create
    from plans import demo as plans_demo
    from plans.models import Line

    # What seed_demo does, which refuses to run under production settings (the bench's own
    # database, dropped at the end, holds the demo's published passwords for the run only).
    customer = demo.seed_accounts().customer
    plans_demo.seed_lines(customer)
    plans_demo.seed_line_plans(customer, plans_demo.seed_catalogue())
    line = Line.objects.get(msisdn="+8617012345678")
    assert line.owner is not None
    made = demo_orders_create(paid_line=line)
    paid, pending = made.paid, made.pending
    return [
        Target("log in", "/accounts/login/", logged_in=False),
        Target("register", "/accounts/register/", logged_in=False),
        Target("password reset", "/accounts/password/reset/", logged_in=False),
        Target("help (logged out)", "/support/", logged_in=False),
        Target("home", "/"),
        Target("line", f"/lines/{line.pk}/"),
        Target("plans", "/plans/"),
        Target("plan", "/plans/basic-30/"),
        Target("recommend", f"/plans/recommend/?{RECOMMEND_QUERY}"),
        Target("buy a suggestion", f"/plans/recommend/buy/?item=basic-30.1&item=topup-5.2&currency=CNY&line={line.pk}"),
        Target("renew", f"/lines/{line.pk}/renew/"),
        Target("pay", f"/billing/orders/{pending.public_id}/pay/"),
        Target("order", f"/billing/orders/{paid.public_id}/"),
        Target("orders", "/billing/orders/"),
        Target("receipt", f"/billing/orders/{paid.public_id}/receipt/"),
        Target("notices", "/notices/"),
        Target("account", "/accounts/settings/"),
        Target("security", "/accounts/security/"),
        Target("auto-renew", f"/lines/{line.pk}/auto-renew/"),
        Target("help", "/support/"),
    ]


def run(url: str, headers: dict[str, str], output: Path) -> dict[str, Any]:
    """One Lighthouse run (mobile, its default throttling); its JSON report."""
    if not LIGHTHOUSE.exists():
        raise RuntimeError(f"{LIGHTHOUSE} is missing: make bench installs it (npm, lighthouse@12, under var/node)")
    command = [
        str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}", "--form-factor=mobile",
        f"--chrome-flags={CHROME_FLAGS}", f"--extra-headers={json.dumps(headers)}",
    ]  # fmt: skip
    for attempt in range(1, ATTEMPTS + 1):
        # A loaded machine now and then loses the trace (NO_NAVSTART): that run is made again.
        answer = subprocess.run(command, check=False, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)  # noqa: S603
        report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8")) if answer.returncode == 0 else {}
        if report and not report.get("runtimeError"):
            return report
        print(f"    Lighthouse failed on {url} (try {attempt} of {ATTEMPTS})", flush=True)
    raise RuntimeError(f"Lighthouse failed {ATTEMPTS} times on {url}")


def result(target: Target, language: str, report: dict[str, Any]) -> Result:
    categories, audits = report["categories"], report["audits"]
    failing = [
        f"{name}: {ref['id']}"
        for name in CATEGORIES[:3]
        for ref in categories[name]["auditRefs"]
        if ref["weight"] > 0 and audits[ref["id"]]["score"] is not None and audits[ref["id"]]["score"] < 1
    ]
    breakdown = (audits["mainthread-work-breakdown"].get("details") or {}).get("items", [])
    return Result(
        target=target,
        language=language,
        scores={name: round((categories[name]["score"] or 0) * 100) for name in CATEGORIES},
        cls=float(audits["cumulative-layout-shift"]["numericValue"]),
        tbt_ms=float(audits["total-blocking-time"]["numericValue"]),
        style_layout_ms=sum(item["duration"] for item in breakdown if item["group"] == "styleLayout"),
        failing=failing,
    )


def measure(base_url: str) -> list[Result]:
    from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
    from accounts.models import User
    from bench.pages import log_in
    from boomcard.page_cache import customers_changed

    pages = targets()
    chosen = [name.strip() for name in os.environ.get("BENCH_LIGHTHOUSE_PAGES", "").split(",") if name.strip()]
    if chosen:  # a few pages only: a full run is about a minute a page on a busy 2-core machine
        pages = [target for target in pages if target.name in chosen]
    cookies = log_in(base_url, DEMO_PHONE, DEMO_PASSWORD)
    session = "; ".join(f"{name}={value}" for name, value in cookies.items())
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    results = []
    for language, accept in LANGUAGES.items():
        User.objects.filter(phone=DEMO_PHONE).update(language=language)
        customers_changed(User.objects.filter(phone=DEMO_PHONE).values_list("pk", flat=True))
        for target in pages:
            headers = {"Accept-Language": accept} | ({"Cookie": session} if target.logged_in else {})
            slug = target.name.replace(" ", "-").replace("(", "").replace(")", "")
            started = time.monotonic()
            report = run(base_url + target.path, headers, REPORT_DIR / f"{slug}-{language}.json")
            results.append(result(target, language, report))
            print_result(results[-1], time.monotonic() - started)
    return results


def print_result(result: Result, seconds: float) -> None:
    scores = " ".join(f"{name} {score}" for name, score in result.scores.items())
    print(
        f"  {result.target.name} [{result.language}]: {scores}; CLS {result.cls:.3f}, TBT {result.tbt_ms:.0f} ms,"
        f" style & layout {result.style_layout_ms:.0f} ms ({seconds:.0f} s)",
        flush=True,
    )
    for failing in result.failing:
        print(f"    below 1: {failing}", flush=True)


def version() -> str:
    package = LIGHTHOUSE.parent.parent / "lighthouse" / "package.json"
    return str(json.loads(package.read_text(encoding="utf-8"))["version"])


def section(results: list[Result], command: str) -> str:
    perfect = all(r.scores[name] == 100 for r in results for name in CATEGORIES[:3])
    lines = [
        HEADING,
        "",
        f"Lighthouse {version()}, mobile (its default emulation and simulated throttling), Chromium"
        f" headless, against the bench's gunicorn; {len(results)} runs. Command: `{command}`;"
        f" {time.strftime('%Y-%m-%d %H:%M')} local time. The JSON reports are in var/bench/lighthouse/.",
        "TBT and style & layout (the main thread's time on style and layout, from"
        " mainthread-work-breakdown) are times on a shared 2-core machine under load: read them by"
        " their order of size.",
        "",
        f"Accessibility, best practices and SEO 100 on every page: **{'yes' if perfect else 'no'}**.",
        "",
        "| Page | Language | Accessibility | Best practices | SEO | Performance | CLS | TBT ms | Style & layout ms |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        s = r.scores
        lines.append(
            f"| {r.target.name} | {r.language} | {s['accessibility']} | {s['best-practices']} | {s['seo']}"
            f" | {s['performance']} | {r.cls:.3f} | {r.tbt_ms:.0f} | {r.style_layout_ms:.0f} |"
        )
    failing = [f"- {r.target.name} [{r.language}]: {', '.join(r.failing)}" for r in results if r.failing]
    if failing:
        lines += ["", "Audits under 1:", "", *failing]
    return "\n".join(lines) + "\n"


def replace_section(text: str, new: str) -> str:
    """``text`` with its Lighthouse section replaced by ``new`` (or ``new`` added before the end)."""
    before, found, after = text.partition(f"\n{HEADING}\n")
    if not found:
        return text.rstrip("\n") + "\n\n" + new
    rest = after.split("\n## ", 1)
    tail = "\n## " + rest[1] if len(rest) == 2 else ""
    return before.rstrip("\n") + "\n\n" + new + tail


def kept_section(text: str) -> str:
    """The Lighthouse section of an existing BENCHMARKS.md, to carry over when the file is rewritten."""
    _before, found, after = text.partition(f"\n{HEADING}\n")
    if not found:
        return ""
    return "\n" + HEADING + "\n" + after.split("\n## ", 1)[0].rstrip("\n") + "\n"
