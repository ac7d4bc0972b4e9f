"""Handing a prepared mail to Django's SMTP backend without its per-message work.

``EmailBackend.send_messages`` sanitises both addresses with the ``email`` package's
parser, asks the message for its bytes and calls ``smtplib``'s ``sendmail``, which waits
for the server's answer to each of MAIL, RCPT, DATA and the content: four round trips
per message. A ``PreparedMail`` already holds its bytes, so ``hand_over`` gives them to
the backend's open ``smtplib`` client itself: the sender is sanitised once per send, a
plain address (``local@domain`` in letters, digits and ``._+-``) is its own sanitised
form (``address``; ``tests/emails/test_handover.py`` proves both against Django's), and
when the server offers PIPELINING (RFC 2920: Postfix, Exim and most MTAs do) MAIL, RCPT
and DATA go out in one write, so a message costs two round trips. ``hand_over_all``
sends a chunk of mails so: one round trip per mail, each mail's content and final dot
followed by the next mail's envelope before the answer is read. The answers and the
exceptions are ``sendmail``'s, and ``fail_silently`` is honoured as Django does.

Any other backend, a subclass of Django's (it may do more per message), and any other
mail go through ``send_messages`` unchanged.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
from collections.abc import Iterator, Sequence
from functools import lru_cache

from django.conf import settings
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

from .mime import PreparedMail, stuffed

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
    parts = _parts(mail, connection) if type(connection) is smtp.EmailBackend and client else None
    if parts is None:
        connection.send_messages([mail])
        return
    sender, to, data, body = parts
    with connection._lock:
        try:
            client.ehlo_or_helo_if_needed()
            if client.does_esmtp and client.has_extn("pipelining"):
                send_pipelined(client, sender, to, data, body=body)
            else:
                client.sendmail(sender, to, data)
        except smtplib.SMTPException:
            if not connection.fail_silently:
                raise


def hand_over_all(connection, mails: Sequence) -> Iterator[Exception | None]:
    """Send ``mails`` in order on ``connection``, opened by the caller, as ``hand_over``
    would send each; yield each one's outcome, in order, once it is known: ``None`` when
    the server took it (or ``fail_silently`` hid its refusal), else the exception
    ``hand_over`` would have raised. Stop iterating after an error that ended the
    connection: the mails after it were not handed over.

    On a server that offers PIPELINING, a mail's content and final dot go out, the next
    mail is serialised while the server reads them, and its MAIL, RCPT and DATA follow
    before the answer to that dot is read (RFC 2920 lets the content lead a group of
    commands): one round trip per mail, not two. A mail counts as handed over only once
    its dot is answered 250, as with ``hand_over``; a connection lost before that answer
    is that mail's error, and the next mail, whose content was not sent, is untouched."""
    client = getattr(connection, "connection", None)
    if (
        type(connection) is not smtp.EmailBackend
        or not client
        or not _offers_pipelining(connection, client)
    ):
        for mail in mails:
            yield _outcome(connection, hand_over, connection, mail)
        return
    with contextlib.suppress(OSError, AttributeError):  # the envelope must not wait (Nagle)
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    waiting = False  # a mail's content and dot were sent, its answer not read yet
    for mail in mails:
        try:
            parts = _parts(mail, connection)
        except Exception as exc:  # noqa: BLE001 (this mail's own error, as hand_over raises it)
            parts = exc
        if not isinstance(parts, tuple):  # on its own, once the last one is answered
            if waiting:
                waiting = False
                yield _outcome(connection, _answer, connection, client, rset=True)
            yield parts or _outcome(connection, hand_over, connection, mail)
            continue
        sender, to, data, body = parts
        lost = _outcome(connection, _send, connection, client, _envelope(client, sender, to, data))
        if waiting:
            waiting = False
            yield _outcome(connection, _answer, connection, client, rset=False)
        if lost is not None or client.sock is None:  # the connection is gone
            yield lost or smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            return
        error = _outcome(connection, _go_ahead, connection, client, sender, to, body)
        if error is not None:  # refused, or the connection lost
            yield error
            if client.sock is None:
                return
            continue
        waiting = True
    if waiting:
        yield _outcome(connection, _answer, connection, client, rset=True)


def _parts(mail, connection) -> tuple[str, list[str], bytes, bytes] | None:
    """The sender, recipients, bytes and content as DATA sends it (dot-stuffed: the
    ``SerialisedMessage`` has it from its pieces, a message Django built is stuffed
    here) of a prepared mail with recipients, for Django's own SMTP backend; ``None``
    for anything ``send_messages`` should send."""
    if type(connection) is not smtp.EmailBackend or not isinstance(mail, PreparedMail):
        return None
    recipients = mail.recipients()
    if not recipients:
        return None
    encoding = mail.encoding or settings.DEFAULT_CHARSET
    message = mail.message()
    data = message.as_bytes(linesep="\r\n")
    to = [address(a, encoding) for a in recipients]
    body = getattr(message, "smtp", None)
    if body is None:
        body = stuffed(data)
    return _sanitised(mail.from_email, encoding), to, data, body


def _offers_pipelining(connection, client) -> bool:
    try:
        with connection._lock:
            client.ehlo_or_helo_if_needed()
    except (smtplib.SMTPException, OSError):
        return False  # each mail then fails on its own, as ``hand_over`` fails
    return client.does_esmtp and client.has_extn("pipelining")


def _outcome(connection, function, *args, **kwargs) -> Exception | None:
    """``None`` if ``function(*args, **kwargs)`` went through, else the error it raised
    (``None`` for an SMTP error on Django's backend made ``fail_silently``, as
    ``hand_over`` does; other backends are silent or not by themselves)."""
    try:
        function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 (the caller records each error on its mail)
        if (
            type(connection) is smtp.EmailBackend
            and connection.fail_silently
            and isinstance(exc, smtplib.SMTPException)
        ):
            return None
        return exc
    return None


def _send(connection, client: smtplib.SMTP, data: str | bytes) -> None:
    with connection._lock:
        client.send(data)


def _go_ahead(connection, client, sender: str, to: list[str], body: bytes):
    """Read the answers to a mail's envelope (sent); if the server goes ahead, send its
    content and final dot without waiting for the answer."""
    with connection._lock:
        _envelope_answers(client, sender, to)
        client.send(_content(body))


def _answer(connection, client: smtplib.SMTP, *, rset: bool) -> None:
    """Read the answer to a mail's final dot, raising as ``sendmail`` does; no RSET after
    a refusal when the next mail's envelope is already on its way (the refusal ended the
    transaction, and RSET would end the next one)."""
    with connection._lock:
        _final_answer(client, rset=rset)


def send_pipelined(
    client: smtplib.SMTP,
    sender: str,
    recipients: list[str],
    data: bytes,
    *,
    body: bytes | None = None,
) -> dict:
    """``client.sendmail(sender, recipients, data)`` with MAIL, RCPT and DATA in one
    write (RFC 2920), the server having offered PIPELINING: the same commands, the same
    exceptions for the same answers, and the recipients refused (``sendmail``'s result).
    ``body`` is ``data`` dot-stuffed when the caller has it (``SerialisedMessage.smtp``),
    so that a 40 KB mail is not searched for dots again."""
    client.send(_envelope(client, sender, recipients, data))
    refused = _envelope_answers(client, sender, recipients)
    client.send(_content(stuffed(data) if body is None else body))
    _final_answer(client)
    return refused


def _final_answer(client: smtplib.SMTP, *, rset: bool = True) -> None:
    """The answer to the final dot: a refusal raises as ``sendmail`` does (a 421 closes
    the client, another ends the transaction with RSET when ``rset``)."""
    code, answer = client.getreply()
    if code != 250:
        if code == 421:
            client.close()
        elif rset:
            client.rset()
        raise smtplib.SMTPDataError(code, answer)


def _envelope(client: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> str:
    """MAIL, RCPT and DATA, to go out in one write."""
    size = f" size={len(data)}" if client.has_extn("size") else ""
    commands = [f"mail FROM:{_quoted(sender)}{size}\r\n"]
    commands += [f"rcpt TO:{_quoted(r)}\r\n" for r in recipients]
    return "".join(commands) + "data\r\n"


def _envelope_answers(client: smtplib.SMTP, sender: str, recipients: list[str]) -> dict:
    """Read the answers to MAIL, each RCPT and DATA; raise as ``sendmail`` does when the
    server will not take the content (after ending the transaction). Returns the
    recipients refused when some were taken."""
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
    return refused


def _content(body: bytes) -> bytes:
    """The content as it goes after DATA (``body``, dot-stuffed), ended by the final dot."""
    return body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n")


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
