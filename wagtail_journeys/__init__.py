"""Marketing automation for Wagtail: contacts, segments, emails and scenarios as pages."""

__version__ = "0.4.0.dev0"
