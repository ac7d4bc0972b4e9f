"""Marketing automation for Wagtail: contacts, segments, emails as pages, scenarios as page trees."""

__version__ = "0.1.0"
