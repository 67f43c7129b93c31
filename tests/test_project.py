"""The project as a whole: health check, production settings, migrations, languages."""

import ast
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from boomcard import views as boomcard_views
from boomcard.celery import app as celery_app
from boomcard.views import health_checks_forget
from tests.factories import UserFactory
from tests.security.helpers import app_code

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_health_checks():
    """Each test asks the database and the broker itself, not within an earlier test's window."""
    health_checks_forget()
    yield
    health_checks_forget()


@pytest.mark.django_db
def test_healthz_answers_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "status": "ok"}


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_down(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable", "status": "unavailable"}


@pytest.mark.django_db
def test_healthz_opens_one_broker_connection_for_many_probes_within_the_window(client, monkeypatch):
    opened: list[int] = []

    def broker_ok() -> bool:
        opened.append(1)
        return True

    monkeypatch.setattr(boomcard_views, "_broker_ok", broker_ok)

    answers = [client.get("/healthz").status_code for _ in range(20)]

    assert answers == [200] * 20
    assert len(opened) == 1


@pytest.mark.django_db
def test_healthz_reports_a_broker_failure_and_its_recovery_after_the_window(client, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(boomcard_views.time, "monotonic", lambda: clock[0])
    broker_up = [False]
    monkeypatch.setattr(boomcard_views, "_broker_ok", lambda: broker_up[0])

    assert client.get("/healthz").status_code == 503
    broker_up[0] = True
    clock[0] += boomcard_views.HEALTH_CHECK_SECONDS - 1
    assert client.get("/healthz").status_code == 503  # still the answer of a moment ago
    clock[0] += 1
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "status": "ok"}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRIPE_", "SECRET", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 64 + "-a-long-random-production-secret",
    "ALLOWED_HOSTS": "my.boom.example",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.boom.example:587",
    "USAGE_API_KEYS": "network-key-2026,network-key-2025",
}


def test_production_settings_pass_the_deploy_check_without_a_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "ALLOWED_HOSTS", "USAGE_API_KEYS"]
)
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "EMAIL_URL"])
def test_production_refuses_to_start_without_its_database_redis_or_mail_server(missing):
    """No quiet fallback to SQLite, a broker in files or mail to the console, nor when it is empty."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {missing} environment variable" in result.stderr
    assert _manage("check", **{**env, missing: ""}).returncode != 0


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_demo(client):
    from accounts.models import User
    from plans.models import Line

    call_command("seed_demo", verbosity=0)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert User.objects.count() == 2
    assert Line.objects.filter(owner__phone="+8613800138000").count() == 2
    login = reverse("accounts:login")
    assert client.post(login, {"username": "+8613800138000", "password": "boom-demo-2026"}).status_code == 302
    client.post(reverse("accounts:logout"))
    assert client.post(login, {"username": "admin", "password": "boom-admin-2026"}).status_code == 302
    # On a first visit the admin sends staff to set up their authenticator app, then lets them in.
    assert client.get("/admin/", follow=True).redirect_chain[-1][0] == reverse("accounts:security")
    # With the enrolment code seed_demo printed (each run makes a new one).
    enrolment_code = out.getvalue().split("(24 hours, once): ")[1].split()[0]
    client.post(reverse("accounts:two_factor_start"), {"enrolment_code": enrolment_code})
    device = TOTPDevice.objects.get(user__username="admin", confirmed=False)
    assert client.post(reverse("accounts:two_factor_setup"), {"code": app_code(device)}).status_code == 200
    assert client.get("/admin/").status_code == 200


# --- Languages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_browser_language_picks_the_page_language():
    from django.test import Client

    chinese = Client(headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get(reverse("accounts:login"))
    english = Client(headers={"Accept-Language": "en-US,en;q=0.9"}).get(reverse("accounts:login"))
    assert '<html lang="zh-hans">' in chinese.content.decode()
    assert "登录" in chinese.content.decode()
    assert '<html lang="en">' in english.content.decode()
    assert "Log in" in english.content.decode()


@pytest.mark.django_db
def test_switch_overrides_the_browser_and_is_saved_for_a_customer():
    from django.test import Client

    browser = Client(headers={"Accept-Language": "en"})
    customer = UserFactory.create(language="en")
    browser.force_login(customer)
    browser.post(reverse("accounts:language"), {"language": "zh-hans", "next": "/"})
    customer.refresh_from_db()
    assert customer.language == "zh-hans"
    assert '<html lang="zh-hans">' in browser.get("/").content.decode()


@pytest.mark.django_db
def test_customer_setting_wins_over_the_browser():
    from django.test import Client

    browser = Client(headers={"Accept-Language": "en"})
    browser.force_login(UserFactory.create(language="zh-hans"))
    page = browser.get("/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "我的号码" in page


@pytest.mark.django_db
def test_every_string_has_a_chinese_translation():
    """No untranslated or fuzzy entry in the Simplified Chinese catalogue."""
    po = (REPO / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    result = subprocess.run(
        ["msgattrib", "--untranslated", "--no-obsolete", "-"], input=po, capture_output=True, text=True, check=True
    )
    entries = [
        block for block in result.stdout.split("\n\n") if "msgid" in block and 'msgid ""\nmsgstr ""\n"' not in block
    ]
    assert entries == [], f"untranslated: {entries[:5]}"
    fuzzy = subprocess.run(
        ["msgattrib", "--only-fuzzy", "--no-obsolete", "-"], input=po, capture_output=True, text=True, check=True
    )
    assert "msgid" not in fuzzy.stdout.replace('msgid ""\nmsgstr ""', ""), fuzzy.stdout[:500]


# --- Layers -----------------------------------------------------------------------------------
#
# boomcard < accounts < plans < billing: an app imports only from those below it, and its models
# point only down (a lower app hears of a higher one's events through signals or a registry,
# e.g. accounts.line_hooks). Settings may name any app.

LAYERS = ("boomcard", "accounts", "plans", "billing")
MODEL_REFERENCE = re.compile(r"[\"']((?:boomcard|accounts|plans|billing)\.[A-Z]\w*)[\"']")


def _app_modules() -> dict[str, Path]:
    modules = {}
    for app in LAYERS:
        for path in sorted((REPO / app).rglob("*.py")):
            relative = path.relative_to(REPO)
            if "migrations" in relative.parts or relative.parts[:2] == ("boomcard", "settings"):
                continue
            name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def _imports(path: Path) -> list[tuple[str, bool]]:
    """What the module imports from the four apps (also inside functions), and whether at the
    top level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(f"{node.module}.{alias.name}", id(node) in top) for alias in node.names]
    return [(name, at_top) for name, at_top in found if name.split(".")[0] in LAYERS]


def _model_references(path: Path) -> list[str]:
    """String references to another app's model ("plans.Plan") in a models module."""
    return MODEL_REFERENCE.findall(path.read_text(encoding="utf-8"))


def test_apps_import_only_from_the_layers_below():
    upward = set()
    for name, path in _app_modules().items():
        layer = LAYERS.index(name.split(".")[0])
        relative = str(path.relative_to(REPO))
        targets = [target for target, _ in _imports(path)]
        if "models" in name.split("."):
            targets += _model_references(path)
        for target in targets:
            if LAYERS.index(target.split(".")[0]) > layer:
                upward.add((relative, target))
    assert upward == set()


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                other = stack.pop()
                component.add(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_but_a_service_and_its_tasks():
    """Among top-level imports (an import inside a function runs later, when both modules are
    loaded) the only cycles are a service that queues a task and the app's ``tasks`` module that
    calls it back."""
    modules = _app_modules()

    def module_of(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        app = name.split(".")[0]
        targets = {module_of(target) for target, at_top in _imports(path) if at_top}
        # A service queues its task; the task module calls the service: that pair may be a cycle.
        tasks = f"{app}.tasks"
        graph[name] = {t for t in targets if t is not None and t != name and (t != tasks or name == tasks)}
    assert _cycles(graph) == []
