"""Serialising a personalised email without Django's MIME build, to the same message.

Django builds each message as a tree of ``email.mime`` objects and serialises it with
``email.generator``: ≈ 1.6 ms for 40 KB of HTML and text, most of it writing the bodies
line by line and quoted-printable in pure Python. Most of a send's message is the same
for every contact, so a ``Skeleton`` (one per send: the email's revision, variant and
sender) keeps its fixed header lines as bytes, and ``PreparedMail.message()`` writes
only what differs per contact: the headers it fills (To, Subject, Message-ID, Date,
List-Unsubscribe) and the two bodies with their transfer encodings. Both are chosen as
Django chooses them: a body is utf-8 ``7bit``/``8bit``, or quoted-printable when one of
its lines passes 998 bytes, done by ``binascii``'s C encoder on the pieces the template
yielded, the fixed ones encoded once per send (``encode_body``); a header is written as
Django's build and compat32's folding write it, by the very functions they call (RFC 2047
words, address sanitising, folding, errors included) unless the result is known without
them (``header_line``). The bytes parse to the message Django would have built, and are
the same bytes but for the boundary and the Date where no body is quoted-printable
(``tests/emails/test_mime.py`` proves it for any contact data).

``PreparedMail`` is still an ``EmailMultiAlternatives`` with its subject, bodies and
headers; a mail it cannot write this way (attachments, another charset) is built by
Django. Only Django's SMTP, console, file and locmem backends get one (``fast_backend``):
an ESP's backend (django-anymail) reads parts, not MIME, and gets Django's class.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
import time
from collections.abc import Sequence
from email import base64mime, quoprimime
from email.policy import compat32
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import console, filebased, locmem, smtp
from django.core.mail.message import forbid_multi_line_headers
from django.core.mail.utils import DNS_NAME

#: How the generator folds headers when Django's SMTP backend serialises a message.
_POLICY = compat32.clone(linesep="\r\n")
_MAX_LINE = 78  # compat32's max_line_length
_LONG_LINE = 998  # RFC 5322; Django switches a body to quoted-printable past it
#: The boundary as ``email.generator`` makes it: 15 "=", a zero-padded random number, "==".
_DIGITS = len(repr(sys.maxsize - 1))
_BOUNDARY = "=" * 15 + "%0" + str(_DIGITS) + "d=="
_FAST_BACKENDS = (smtp.EmailBackend, console.EmailBackend, filebased.EmailBackend)
_FAST_BACKENDS += (locmem.EmailBackend,)
#: Headers Django writes itself, before the extra ones.
_OWN = {"from", "to", "cc", "reply-to"}


def fast_backend(connection) -> bool:
    """Does this backend serialise messages with ``message().as_bytes()`` (Django's own
    SMTP, console, file and locmem backends, not subclasses that may do more)?"""
    return type(connection) in _FAST_BACKENDS


def header_line(name: str, value: str, encoding: str = "utf-8") -> bytes:
    """``name: value`` as Django's build and the SMTP backend's generator write it
    (CRLF-terminated, folded, RFC 2047-encoded where needed). Raises ``BadHeaderError``
    for a value with a newline, as Django does.

    Three cases skip ``email.header``'s pure-Python folding, each proven by the
    property test to give the same bytes: printable ASCII that fits its line; printable
    ASCII folded where a value of the same shape was (``_fold_like``); a short printable
    subject that is one RFC 2047 word (``_encoded_word``)."""
    value = str(value)
    if value.isprintable():
        if value.isascii():
            if len(name) + 2 + len(value) <= _MAX_LINE:
                return f"{name}: {value}\r\n".encode("ascii")
            return _fold_like(name, value, encoding)
        if name == "Subject" and encoding == "utf-8":
            word = _encoded_word(value)
            if word is not None:
                return b"Subject: %s\r\n" % word
    return _folded(name, value, encoding)


def _folded(name: str, value: str, encoding: str) -> bytes:
    name, value = forbid_multi_line_headers(name, value, encoding)
    return _POLICY.fold_binary(name, value)


#: How folding laid out an ASCII value, by the value's shape: folding looks only at
#: lengths and at the characters it may break at (``Header``'s split characters).
_FOLDS: dict[tuple[str, str], tuple | None] = {}
_NOT_SPLIT = re.compile(r"[^ \t;,]")
_SHAPES = 1024


def _fold_like(name: str, value: str, encoding: str) -> bytes:
    """A printable ASCII value too long for one line, folded as ``_folded`` folds it:
    laid out as the last value of the same shape (same length, split characters at the
    same places) was, when that folding only added line breaks and spaces and dropped
    trailing spaces (``_layout``)."""
    shape = (name, _NOT_SPLIT.sub("x", value))
    layout = _FOLDS.get(shape, ())
    if layout == ():
        line = _folded(name, value, encoding)
        if len(_FOLDS) > _SHAPES:
            _FOLDS.clear()
        _FOLDS[shape] = _layout(value, line[len(name) + 2 : -2].decode("ascii"))
        return line
    if layout is None:
        return _folded(name, value, encoding)
    out = [value[item[0] : item[1]] if item.__class__ is tuple else item for item in layout]
    return f"{name}: {''.join(out)}\r\n".encode("ascii")


def _layout(value: str, folded: str) -> tuple | None:
    """``folded`` as slices of ``value`` (``(start, end)``) and the whitespace put
    between them, or ``None`` when folding did more than add whitespace (and drop it at
    the end). Every character that is not whitespace is ``value``'s, in order."""
    layout: list = []
    at = 0
    for char in folded:
        if at < len(value) and value[at] == char:
            if layout and layout[-1].__class__ is tuple and layout[-1][1] == at:
                layout[-1] = (layout[-1][0], at + 1)
            else:
                layout.append((at, at + 1))
            at += 1
        elif char in " \t\r\n":
            layout.append(char)
        else:
            return None
    if value[at:].strip(" \t"):
        return None
    return tuple(layout)


_CHROME = len("=?utf-8?q??=")


def _encoded_word(value: str) -> bytes | None:
    """The subject as one RFC 2047 word, as ``email.header`` writes it (the shorter of
    Q and B), when that word fits the ``Subject:`` line; ``None`` otherwise."""
    data = value.encode()
    b_length = base64mime.header_length(data)
    q_length = quoprimime.header_length(data)
    module = base64mime if b_length < q_length else quoprimime
    if min(b_length, q_length) + _CHROME + len("Subject: ") > _MAX_LINE:
        return None
    return module.header_encode(data, charset="utf-8").encode("ascii")


def encode_body(
    text: str,
    pieces: Sequence[str] = (),
    kept: dict[str, bytes] | None = None,
    long: dict[str, bool] | None = None,
) -> tuple[bytes, bytes]:
    """``(Content-Transfer-Encoding, CRLF body)`` of a utf-8 text part, as Django picks
    it: quoted-printable when a line passes 998 bytes, else 7bit (ASCII) or 8bit.

    ``pieces``, joined, are ``text`` (the template's fixed text and the contact's
    values, ``mergetags.fill_pieces``): each is encoded on its own and they are joined
    with soft line breaks, which decoding removes, so the fixed pieces' bytes are kept
    in ``kept`` and only the contact's values are encoded per message; ``long`` keeps
    which pieces hold a line too long (``_long_piece``)."""
    data = text.encode()
    if _long_piece(pieces, long) or _long_lines(text, data):
        if "\r" in text or not pieces or kept is None:  # a CR may end a line in the next piece
            data = text.replace("\r\n", "\n").replace("\r", "\n").encode()
            return b"quoted-printable", _qp(data)
        return b"quoted-printable", b"=\r\n".join(_qp_kept(pieces, kept))
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return (b"7bit" if data.isascii() else b"8bit"), data.replace(b"\n", b"\r\n")


def _long_lines(text: str, data: bytes) -> bool:
    """Django's test (``SafeMIMEText.set_payload``), asked only when a line between
    newlines is too long (``str.splitlines`` splits at more characters than these)."""
    if len(data) <= _LONG_LINE or max(map(len, data.split(b"\n"))) <= _LONG_LINE:
        return False
    lines = text.splitlines()
    return any(len(line.encode(errors="surrogateescape")) > _LONG_LINE for line in lines)


#: A piece this long (in characters) may hold a line past ``_LONG_LINE`` bytes (utf-8
#: takes at most 4 bytes a character); a shorter one cannot.
_MAYBE_LONG = _LONG_LINE // 4


def _long_piece(pieces: Sequence[str], long: dict[str, bool] | None) -> bool:
    """Does one of the pieces already hold a line too long for Django (``_long_lines``)?
    Then the text does: joining pieces only lengthens their lines. The answer for each
    piece long enough to ask is kept in ``long`` (bounded as ``kept``), so a mail whose
    template has long lines is not split line by line again for every contact."""
    if long is None:
        return False
    if len(long) > KEPT_PIECES:
        long.clear()
    for piece in pieces:
        if len(piece) > _MAYBE_LONG:
            known = long.get(piece)
            if known is None:
                known = long[piece] = _long_lines(piece, piece.encode())
            if known:
                return True
    return False


def _qp(data: bytes) -> bytes:
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


#: Pieces kept per send beyond which ``kept`` starts again (the fixed ones come back
#: with the next message; contacts' values are not kept for ever).
KEPT_PIECES = 4096


def _qp_kept(pieces: Sequence[str], kept: dict[str, bytes]) -> list[bytes]:
    if len(kept) > KEPT_PIECES:
        kept.clear()
    out = []
    for piece in pieces:
        if piece:
            encoded = kept.get(piece)
            if encoded is None:
                encoded = kept[piece] = _qp(piece.encode())
            out.append(encoded)
    return out


class Skeleton:
    """What every message of one send shares: header lines written once, as bytes
    (the sender, ``List-Unsubscribe-Post``…), the quoted-printable bytes of the
    template's fixed text, and the Date of the current second."""

    def __deepcopy__(self, memo):  # a cache the send's mails share (locmem copies mails)
        return self

    def __init__(self, encoding: str = "utf-8"):
        self.encoding = encoding
        self.lines: dict[tuple[str, str], bytes] = {}
        self.kept: dict[str, bytes] = {}  # quoted-printable bytes of template pieces
        self.long: dict[str, bool] = {}  # pieces holding a line too long (``_long_piece``)
        self.dots: dict[str, bytes | None] = {}  # pieces' stuffed bytes (``_stuffed``)
        self.date: tuple[int, bytes] = (-1, b"")

    def line(self, name: str, value: str, *, shared: bool = False) -> bytes:
        """A header line; ``shared`` ones (the same for every contact) are kept."""
        if not shared:
            return header_line(name, value, self.encoding)
        key = (name, value)
        if key not in self.lines:
            self.lines[key] = header_line(name, value, self.encoding)
        return self.lines[key]

    def part(
        self, subtype: str, text: str, pieces: Sequence[str] | None
    ) -> tuple[bytes, bytes | None]:
        """A ``text/<subtype>`` part, as it is and as SMTP's DATA sends it (each dot
        that starts a line doubled, ``stuffed``), or ``None`` when no line starts with one.
        ``pieces`` (joined, ``text``) let it reuse the quoted-printable bytes of the
        template's fixed text, and their stuffed bytes: each piece starts a line (it
        follows the part's head or a soft line break), so the stuffed part is the
        stuffed pieces joined, and a 40 KB mail is not searched for dots per contact."""
        if not pieces or sum(map(len, pieces)) != len(text):  # not (or no longer) text's
            pieces = ()
        cte, body = encode_body(text, pieces, self.kept, self.long)
        if cte == b"quoted-printable" and pieces and "\r" not in text:
            # The kept bytes of each piece, joined by soft line breaks (``_qp_kept``).
            if len(self.dots) > KEPT_PIECES:
                self.dots.clear()
            dots = [self._stuffed(piece) for piece in pieces if piece]
            sent = body
            if any(dots):
                sent = b"=\r\n".join(
                    [d or self.kept[p] for d, p in zip(dots, filter(None, pieces), strict=True)]
                )
        else:
            sent = stuffed(body) if starts_a_line_with_a_dot(body) else body
        head = (
            b'Content-Type: text/%s; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
            b"Content-Transfer-Encoding: %s\r\n\r\n" % (subtype.encode(), cte)
        )
        return head + body, (None if sent is body else head + sent)

    def _stuffed(self, piece: str) -> bytes | None:
        """The kept bytes of ``piece``, stuffed, or ``None`` if none of its lines starts
        with a dot (known once per piece)."""
        known = self.dots.get(piece, False)
        if known is False:
            data = self.kept[piece]
            known = self.dots[piece] = stuffed(data) if starts_a_line_with_a_dot(data) else None
        return known

    def date_line(self) -> bytes:
        now = int(time.time())
        if self.date[0] != now:
            value = formatdate(now, localtime=settings.EMAIL_USE_LOCALTIME)
            self.date = (now, header_line("Date", value, self.encoding))
        return self.date[1]

    def serialise(
        self, mail: EmailMultiAlternatives, shared: frozenset[str]
    ) -> tuple[bytes, bytes]:
        """The CRLF bytes of ``mail`` (no attachments, one HTML alternative), headers in
        the order Django writes them, and the same bytes dot-stuffed for SMTP (the same
        object when no line starts with a dot; only a body can: header lines start with
        a name, folded ones with a space, delimiters with a dash); ``shared`` names the
        headers kept across mails."""
        # Bodies first, as Django builds them: the same error first, when both fail.
        pieces = getattr(mail, "pieces", {})
        made = [self.part("plain", mail.body, pieces.get("plain"))] if mail.body else []
        made.append(self.part("html", mail.alternatives[0].content, pieces.get("html")))
        parts = [part for part, _ in made]
        extra = mail.extra_headers
        names = {name.lower() for name in extra}
        out = [
            b"",  # the Content-Type line, once the boundary is known
            b"MIME-Version: 1.0\r\n",
            self.line("Subject", mail.subject, shared="subject" in shared),
            self.line("From", extra.get("From", mail.from_email), shared="from" in shared),
        ]
        for name, values in (("To", mail.to), ("Cc", mail.cc), ("Reply-To", mail.reply_to)):
            if name in extra:
                out.append(self.line(name, extra[name], shared=name.lower() in shared))
            elif values:
                out.append(self.line(name, ", ".join(str(v) for v in values)))
        if "date" not in names:
            out.append(self.date_line())
        if "message-id" not in names:
            out.append(self.line("Message-ID", make_msgid(domain=DNS_NAME)))
        for name, value in extra.items():
            if name.lower() not in _OWN:
                out.append(self.line(name, value, shared=name.lower() in shared))
        boundary = _boundary(parts)
        out[0] = b'Content-Type: multipart/alternative;\r\n boundary="%s"\r\n' % boundary
        delimiter = b"\r\n--" + boundary
        out.append(delimiter + b"\r\n")
        head, between, end = b"".join(out), delimiter + b"\r\n", delimiter + b"--\r\n"
        data = head + between.join(parts) + end
        if all(sent is None for _, sent in made):
            return data, data
        stuffed_parts = [part if sent is None else sent for part, sent in made]
        return data, head + between.join(stuffed_parts) + end


def starts_a_line_with_a_dot(data: bytes) -> bool:
    return data[:1] == b"." or b"\n." in data


def stuffed(data: bytes) -> bytes:
    """smtplib's dot-stuffing (``_quote_periods``: ``re.sub(rb"(?m)^\\.", b"..", data)``),
    done by ``bytes.replace``: a regex anchored at every line start walks a 40 KB mail
    byte by byte, and quoted-printable lines often start with a dot."""
    body = data.replace(b"\n.", b"\n..")
    return b"." + body if body[:1] == b"." else body


def _boundary(parts: list[bytes]) -> bytes:
    """A boundary made as ``email.generator`` makes one, that no part contains."""
    while True:
        boundary = (_BOUNDARY % random.randrange(sys.maxsize)).encode()
        if not any(boundary in part for part in parts):
            return boundary


class SerialisedMessage:
    """What ``PreparedMail.message()`` returns: the message's bytes, for ``as_bytes``
    (all Django's backends ask of it); anything else is answered by the message Django
    would have built, made on demand."""

    def __init__(self, data: bytes, mail: PreparedMail, smtp: bytes | None = None):
        self.data, self.mail, self.built = data, mail, None
        #: The bytes as SMTP's DATA sends them, each dot that starts a line doubled
        #: (``stuffed``), made from the pieces the skeleton keeps stuffed: ``data``
        #: itself when no line starts with a dot. ``handover`` sends them as they are.
        self.smtp = data if smtp is None else smtp

    @property
    def dotted(self) -> bool:
        """Whether a line starts with a dot (SMTP must double it)."""
        return self.smtp is not self.data

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if linesep == "\r\n":
            return self.data
        return self.data.replace(b"\r\n", linesep.encode("ascii"))

    def get_charset(self):
        return None  # a multipart message has none (the console backend asks)

    def _django(self):
        if self.built is None:
            self.built = EmailMultiAlternatives.message(self.mail)
        return self.built

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("data", "mail", "built", "smtp"):
            raise AttributeError(name)  # copying and pickling, before __init__ ran
        return getattr(self._django(), name)

    def __getitem__(self, name: str):
        return self._django()[name]

    def __contains__(self, name: str) -> bool:
        return name in self._django()


class PreparedMail(EmailMultiAlternatives):
    """An ``EmailMultiAlternatives`` whose ``message()`` writes its bytes from the
    send's ``Skeleton``: the same message, without Django's MIME tree. ``shared`` names
    the headers whose value is the same for every mail of the send (lower case);
    ``pieces``, the body (``"plain"``) and the HTML alternative (``"html"``) as their
    templates yielded them (``RenderedEmail.text_pieces``, ``html_pieces``)."""

    def __init__(
        self,
        *args,
        skeleton: Skeleton,
        shared: frozenset[str] = frozenset(),
        pieces: dict[str, Sequence[str]] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.skeleton, self.shared, self.pieces = skeleton, shared, pieces or {}

    def message(self):
        encoding = self.encoding or settings.DEFAULT_CHARSET
        if (
            encoding != "utf-8"  # Django's 8bit/quoted-printable choice is for "utf-8" only
            or self.attachments
            or len(self.alternatives) != 1
            or self.alternatives[0].mimetype != "text/html"
            or self.content_subtype != "plain"
        ):
            return super().message()
        data, smtp = self.skeleton.serialise(self, self.shared)
        return SerialisedMessage(data, self, smtp)
