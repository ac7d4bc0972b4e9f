"""The language of an email's own words (its footer) and of the unsubscribe page: the
contact's, from their ``locale``. Words are translated once per language and process,
never per contact, so one compiled email serves every language."""

from __future__ import annotations

import functools
import html

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_noop

#: The email's own words (the footer's links): holes of the compiled email (``jmttx0z``…),
#: filled by ``render.fill`` in the contact's language.
TEXTS = (gettext_noop("Unsubscribe"), gettext_noop("Email preferences"))


def language_of(contact) -> str:
    """The language of the email's own words (footer) for ``contact``: their ``locale``
    when the site knows it (``fr-FR`` gives ``fr``), else the site's ``LANGUAGE_CODE``."""
    locale = (getattr(contact, "locale", "") or "").replace("_", "-").lower()
    if locale:
        try:
            return translation.get_supported_language_variant(locale)
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


@functools.lru_cache(maxsize=64)
def texts_in(language: str) -> tuple[str, ...]:
    """``TEXTS`` in ``language``, html-escaped then raw: translated once
    per language and process, never per contact."""
    with translation.override(language):
        words = tuple(translation.gettext(text) for text in TEXTS)
    return tuple(html.escape(word) for word in words) + words
