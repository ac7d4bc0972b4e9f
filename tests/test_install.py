"""``pip install .`` into a brand-new venv, then a fresh ``wagtail start`` project with only
the documented settings: it migrates and records a page view.

Everything (the copy of the repo, the venv, the project) lives in one temporary directory
that is removed afterwards; pip may reuse its download cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.db import connection

from tests.processes import ROOT, port_open
from tests.services import services_required

pytestmark = pytest.mark.slow

PACKAGE = "wagtail_journeys"
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    "*.sqlite3*",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".tox",
    ".bench",
    "media",
    "static_collected",
)

#: What a site owner adds to a fresh project, word for word from the installation docs.
SETTINGS_ADDITION = """
INSTALLED_APPS += ["wagtail_journeys", "django_q"]
Q_CLUSTER = {"name": "journeys", "orm": "default", "workers": 2, "timeout": 300,
             "retry": 360, "save_limit": -1}
"""
URLS_ADDITION = 'urlpatterns += [path("journeys/", include("wagtail_journeys.urls"))]\n\n'

#: Run inside the new project (``manage.py shell``): serve its home page as a browser
#: would, post a beacon event with the cookie it got, and report what was stored.
PROBE = """
import json
import wagtail_journeys
from django.contrib.staticfiles import finders
from django.test import Client
from django_q.models import Schedule
from wagtail_journeys.models import Event

browser = Client()
page = browser.get("/", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
cookie = page.cookies.get("journeys_vid")
beacon = browser.post(
    "/journeys/api/events",
    data=json.dumps({"name": "cart.updated", "properties": {"items": 1}}),
    content_type="text/plain",
)
print("PROBE " + json.dumps({
    "package": wagtail_journeys.__file__,
    "status": page.status_code,
    "cookie": cookie.value if cookie else None,
    "beacon_status": beacon.status_code,
    "events": [
        {**e, "visitor_id": e["visitor_id"].hex if e["visitor_id"] else None}
        for e in Event.objects.order_by("id").values("name", "source", "visitor_id", "properties")
    ],
    "schedules": list(Schedule.objects.values_list("name", "func")),
    "tracking_js": finders.find("wagtail_journeys/js/tracking.js"),
}))
"""


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of a shell where only the new venv is active."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
        and not k.startswith("JOURNEYS_")
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PYTHONNOUSERSITE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    """Run a command; fail the test with its output when it fails."""
    try:
        done = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(map(str, args))} timed out after {timeout} s:\n{exc.stdout}")
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        )
    return done.stdout


def package_index_usable() -> bool:
    """PyPI answers, or pip has a download cache to install from."""
    if port_open("pypi.org", 443, timeout=3) and port_open("files.pythonhosted.org", 443, 3):
        return True
    cache = Path(os.environ.get("PIP_CACHE_DIR", Path.home() / ".cache" / "pip"))
    return cache.is_dir() and any(cache.iterdir())


@pytest.fixture
def workdir():
    if connection.vendor != "sqlite":
        pytest.skip("uses no test database: it runs once, in the SQLite pass")
    if not package_index_usable():
        if services_required():
            pytest.fail("PyPI is unreachable and pip has no cache (JOURNEYS_REQUIRE_SERVICES=1)")
        pytest.skip("PyPI is unreachable and pip has no cache to install from")
    base = os.environ.get("JOURNEYS_TEST_TMP")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="journeys-install-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def package_files(source: Path) -> set[str]:
    """Every file of the package in the source tree, as wheel paths."""
    return {
        str(p.relative_to(source)).replace(os.sep, "/")
        for p in (source / PACKAGE).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_pip_install_into_fresh_wagtail_project_records_page_view(workdir: Path):
    source = workdir / "src"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = clean_env(venv)
    python = venv / "bin" / "python"

    # The wheel is complete: code, migrations, templates, static files, translations, py.typed.
    run([python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", workdir / "dist", "."],
        cwd=source, env=env)  # fmt: skip
    (wheel,) = (workdir / "dist").glob("wagtail_journeys-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = package_files(source) - shipped
    assert not missing, f"files of the package missing from the wheel: {sorted(missing)}"
    assert any(re.fullmatch(rf"{PACKAGE}/migrations/0001_\w+\.py", n) for n in shipped)
    assert f"{PACKAGE}/static/wagtail_journeys/js/tracking.js" in shipped
    assert f"{PACKAGE}/templates/wagtail_journeys/tags/tracking.html" in shipped
    assert f"{PACKAGE}/locale/fr/LC_MESSAGES/django.mo" in shipped

    # What the README tells a site owner to do.
    run([python, "-m", "pip", "install", "-q", "."], cwd=source, env=env, timeout=600)
    project = workdir / "project"
    project.mkdir()
    run([venv / "bin" / "wagtail", "start", "mysite", project], cwd=workdir, env=env)
    settings = project / "mysite" / "settings" / "base.py"
    settings.write_text(settings.read_text() + SETTINGS_ADDITION)
    urls = project / "mysite" / "urls.py"
    text, catch_all = urls.read_text(), "urlpatterns = urlpatterns + ["
    assert catch_all in text, "wagtail start's urls.py changed shape"
    urls.write_text(text.replace(catch_all, URLS_ADDITION + catch_all, 1))

    check = run([python, "manage.py", "check"], cwd=project, env=env)
    assert "no issues" in check
    run([python, "manage.py", "migrate", "--noinput"], cwd=project, env=env)
    output = run([python, "manage.py", "shell", "-c", PROBE], cwd=project, env=env)
    (line,) = [x for x in output.splitlines() if x.startswith("PROBE ")]
    probe = json.loads(line.removeprefix("PROBE "))

    # The project runs the installed copy, not this checkout.
    assert Path(probe["package"]).is_relative_to(venv)
    assert Path(probe["tracking_js"]).is_relative_to(venv)
    assert probe["status"] == 200
    assert probe["cookie"], "the page did not set the visitor cookie"
    visitor_hex = probe["cookie"].split(":")[0]
    views = [e for e in probe["events"] if e["name"] == "page_view"]
    assert len(views) == 1
    assert views[0]["source"] == "page"
    assert views[0]["visitor_id"] == visitor_hex
    assert views[0]["properties"]["path"] == "/"
    assert views[0]["properties"]["page_type"] == "home.homepage"
    # The URL include works: the browser's cookie is enough to post an event.
    assert probe["beacon_status"] == 201
    beacons = [e for e in probe["events"] if e["name"] == "cart.updated"]
    assert [(b["source"], b["visitor_id"]) for b in beacons] == [("beacon", visitor_hex)]
    assert ["journeys: process events", "wagtail_journeys.tasks.process_events"] in probe[
        "schedules"
    ]
