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


def test_the_merge_scope_table_names_every_merge_tag_and_filter():
    from wagtail_journeys.emails import mergetags

    text = (DOCS / "reference" / "merge-tags.md").read_text()
    fixed = [*mergetags.CONTACT_FIELDS, *mergetags.BUILTINS, *mergetags.VALUES]
    for name in [*fixed, *mergetags.ALIASES, "event.<property>", "contact.attributes.<key>"]:
        assert f"`{{{{ {name} }}}}`" in text, name
    for name in conf.get("EMAIL_CONTEXT_VARIABLES"):
        assert f"`{name}`" in text or f"{{{{ {name} }}}}" in text, name
    for name in mergetags.FILTERS:
        assert f"| `{name}" in text or f", `{name}`" in text, name
    index = (DOCS / "index.md").read_text() + (DOCS / "how-to" / "write-emails.md").read_text()
    assert index.count("merge-tags.md") >= 2
