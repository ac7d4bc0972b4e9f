"""The docs still match the code."""

from __future__ import annotations

import re
from pathlib import Path

from wagtail_journeys import conf

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented_and_nothing_else():
    text = (DOCS / "reference" / "settings.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.MULTILINE))
    assert documented == set(conf.DEFAULTS)


def test_docs_links_resolve():
    for page in DOCS.rglob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page}: broken link {target}"
