"""Handing a prepared mail to Django's SMTP backend without its per-message work.

``EmailBackend.send_messages`` sanitises both addresses with the ``email`` package's
parser, asks the message for its bytes and calls ``smtplib``'s ``sendmail``, which waits
for the server's answer to each of MAIL, RCPT, DATA and the content: four round trips
per message. A ``PreparedMail`` already holds its bytes, so ``hand_over`` gives them to
the backend's open ``smtplib`` client itself: the sender is sanitised once per send, a
plain address (``local@domain`` in letters, digits and ``._+-``) is its own sanitised
form (``address``; ``tests/emails/test_handover.py`` proves both against Django's), and
when the server offers PIPELINING (RFC 2920: Postfix, Exim and most MTAs do) MAIL, RCPT
and DATA go out in one write, so a message costs two round trips. The answers and the
exceptions are ``sendmail``'s, and ``fail_silently`` is honoured as Django does.

Any other backend, a subclass of Django's (it may do more per message), and any other
mail go through ``send_messages`` unchanged.
"""

from __future__ import annotations

import re
import smtplib
from functools import lru_cache

from django.conf import settings
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

from .mime import PreparedMail

_PLAIN = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
)


def address(value, encoding: str) -> str:
    """``sanitize_address(value, encoding)``, without parsing a plain address."""
    if value.__class__ is str and _PLAIN.fullmatch(value):
        return value
    return _sanitised(value, encoding)


@lru_cache(maxsize=64)
def _sanitised(value, encoding: str) -> str:
    return sanitize_address(value, encoding)


def hand_over(connection, mail) -> None:
    """Send ``mail`` on ``connection``, opened by the caller, as
    ``connection.send_messages([mail])`` would; raises what it would raise."""
    client = getattr(connection, "connection", None)
    if (
        type(connection) is not smtp.EmailBackend
        or not isinstance(mail, PreparedMail)
        or not client
    ):
        connection.send_messages([mail])
        return
    recipients = mail.recipients()
    if not recipients:
        return
    encoding = mail.encoding or settings.DEFAULT_CHARSET
    sender = _sanitised(mail.from_email, encoding)
    to = [address(a, encoding) for a in recipients]
    message = mail.message()
    data = message.as_bytes(linesep="\r\n")
    with connection._lock:
        try:
            client.ehlo_or_helo_if_needed()
            if client.does_esmtp and client.has_extn("pipelining"):
                send_pipelined(client, sender, to, data, dotted=getattr(message, "dotted", True))
            else:
                client.sendmail(sender, to, data)
        except smtplib.SMTPException:
            if not connection.fail_silently:
                raise


def send_pipelined(
    client: smtplib.SMTP, sender: str, recipients: list[str], data: bytes, *, dotted: bool = True
) -> dict:
    """``client.sendmail(sender, recipients, data)`` with MAIL, RCPT and DATA in one
    write (RFC 2920), the server having offered PIPELINING: the same commands, the same
    exceptions for the same answers, and the recipients refused (``sendmail``'s result).
    ``dotted=False`` says no line of ``data`` starts with a dot (``SerialisedMessage``
    knows it from its pieces): there is nothing to stuff, and no need to look."""
    size = f" size={len(data)}" if client.has_extn("size") else ""
    commands = [f"mail FROM:{_quoted(sender)}{size}\r\n"]
    commands += [f"rcpt TO:{_quoted(r)}\r\n" for r in recipients]
    client.send("".join(commands) + "data\r\n")
    mail = _reply(client)
    if mail[0] == 421:
        raise smtplib.SMTPSenderRefused(*mail, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for recipient in recipients:
        answer = _reply(client)
        if answer[0] not in (250, 251):
            refused[recipient] = answer
        if answer[0] == 421:
            raise smtplib.SMTPRecipientsRefused(refused)
    go = _reply(client)
    if go[0] == 421:
        raise smtplib.SMTPDataError(*go)
    if go[0] == 354 and (mail[0] != 250 or len(refused) == len(recipients)):
        client.send(b".\r\n")  # a server that said go ahead despite all: send nothing
        client.getreply()
    if mail[0] != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
    if len(refused) == len(recipients):
        client.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    if go[0] != 354:
        raise smtplib.SMTPDataError(*go)
    body = stuffed(data) if dotted else data
    client.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
    code, answer = client.getreply()
    if code != 250:
        if code == 421:
            client.close()
        else:
            client.rset()
        raise smtplib.SMTPDataError(code, answer)
    return refused


def stuffed(data: bytes) -> bytes:
    """smtplib's dot-stuffing (``_quote_periods``: ``re.sub(rb"(?m)^\\.", b"..", data)``),
    done by ``bytes.replace``: a regex anchored at every line start walks a 40 KB mail
    byte by byte, and quoted-printable lines often start with a dot."""
    body = data.replace(b"\n.", b"\n..")
    return b"." + body if body[:1] == b"." else body


def _quoted(value: str) -> str:
    """``smtplib.quoteaddr(value)``, without parsing a plain address."""
    return f"<{value}>" if _PLAIN.fullmatch(value) else smtplib.quoteaddr(value)


def _reply(client: smtplib.SMTP) -> tuple[int, bytes]:
    """The next answer; a 421 (the server is closing) closes the client, as ``sendmail``
    does before raising."""
    answer = client.getreply()
    if answer[0] == 421:
        client.close()
    return answer
