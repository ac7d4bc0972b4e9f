"""Domain exceptions: raised by the domain code, mapped to 4xx at the API edge."""


class JourneysError(Exception):
    """Base class of every error this app raises on purpose."""

    status_code = 400


class InvalidInput(JourneysError):
    """A value from outside (API body, CSV row, form) cannot be accepted as it is."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class Erased(InvalidInput):
    """The address was erased at its owner's request and ``SUPPRESS_ERASED`` keeps it
    out: no contact may be created with it again."""

    status_code = 409

    def __init__(self, message: str = "", *, field: str | None = "email"):
        super().__init__(
            message or "This address was erased at its owner's request: it may not be added again.",
            field=field,
        )


class InvalidVisitor(JourneysError):
    """A visitor id that the server did not sign (forged, altered or truncated)."""

    status_code = 403


class NotAllowed(JourneysError):
    """The caller may not do this (a browser naming a contact by email, say)."""

    status_code = 403


class PayloadTooLarge(JourneysError):
    """A request body above ``MAX_BODY_BYTES``."""

    status_code = 413


class Suppressed(JourneysError):
    """The contact may not receive this email (unsubscribed, bounced, complained, or
    pending double opt-in for a marketing email)."""

    status_code = 409


class EmailNotReady(JourneysError):
    """The email cannot be rendered: an MJML error or an invalid merge tag."""

    status_code = 422


class InvalidRule(InvalidInput):
    """A segment rule that cannot be compiled (unknown field, bad number, cycle…).

    Raised by the segment compiler instead of letting the database fail; the admin shows
    it on the rule, the API maps it to 422.
    """


class NotFound(JourneysError):
    """The named object does not exist (or is not live)."""

    status_code = 404


class ScenarioInvalid(JourneysError):
    """A change to a scenario's pages (publish, unpublish, move, copy, delete) would leave
    a live scenario failing the checker; nothing was changed. ``problems`` holds
    ``(scenario title, message)`` pairs."""

    status_code = 409

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{title}: {message}" for title, message in problems))
