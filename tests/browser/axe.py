"""axe-core in a Playwright page: every rule on, the AAA contrast rule (color-contrast-enhanced)
and the experimental ones included.

axe.min.js comes from npm (``axe-core@4``); ``make test`` installs it under ``var/node/``
(Makefile target ``node-packages``). The page's context must be made with ``bypass_csp=True``:
the site's Content-Security-Policy would refuse the injected script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

REPO_DIR = Path(__file__).resolve().parents[2]
AXE_JS = REPO_DIR / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"

# Run in the page once axe is there: every rule axe knows, enabled. The card element is Stripe's
# (an iframe from js.stripe.com in production, localstripe's bare stand-in here), not the site's.
RUN_ALL_RULES = """async () => {
  const rules = Object.fromEntries(axe.getRules().map((rule) => [rule.ruleId, { enabled: true }]));
  const result = await axe.run({ exclude: [["#card-element"]] }, { rules, resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


def axe_source() -> str:
    if not AXE_JS.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE_JS}). `make test` installs it with npm "
            "(npm install --prefix var/node axe-core@4).",
            pytrace=False,
        )
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Page, source: str) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, every rule on."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=source)
    found: list[dict[str, Any]] = page.evaluate(RUN_ALL_RULES)
    return found


def describe(where: str, found: list[dict[str, Any]]) -> list[str]:
    """One readable line per node that fails a rule."""
    return [
        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']} at {node['target']}: "
        + " ".join(str(node["summary"]).split())
        for violation in found
        for node in violation["nodes"]
    ]
