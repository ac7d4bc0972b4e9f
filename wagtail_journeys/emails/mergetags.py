"""Merge tags: the sandboxed language editors personalise emails with.

``{{ contact.first_name|default("there") }}``, ``{% if event.total > 50 %}…{% endif %}``,
``{% for item in event.items %}{{ item.name }} {{ item.price|money("EUR") }}{% endfor %}``.
The engine is Jinja2's ``SandboxedEnvironment`` with stricter rules on top: a name is one
of a fixed table (``contact.first_name``…, ``event.<property>``, the enrolment's values),
a loop variable or ``loop.index``/``first``/``last``/``length``; attributes are looked up
in plain dicts only, never with ``getattr`` on a Python object; the filters are ours alone;
the only template tags are ``if``/``elif``/``else`` and ``for``/``else``. Anything else is
a validation error, reported to the editor on save (``validate``), never rendered.

Contact values are data: they are escaped in HTML (autoescape) and never parsed as a
template. A template is compiled once per source (``template``, cached) and rendered per
contact. The merge scope of a send (``docs/reference/merge-tags.md``): ``contact.…`` is
the contact, ``event.<property>`` the event that started the enrolment, a bare name
(``promo_code``, the ``EMAIL_CONTEXT_VARIABLES``) one of the enrolment's values, plus the
built-ins.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from jinja2 import Undefined, nodes, pass_context
from jinja2.exceptions import TemplateError
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from .. import conf

# Tempered tokens: a tag never spans another opening, so scanning is linear even for text
# made of thousands of unclosed "{{" (a lazy ``.*?`` would rescan to the end from each).
TAG = re.compile(
    r"\{\{((?:(?!\}\}|\{\{).)*)\}\}|\{%(?:(?!%\}|\{%).)*%\}|\{#(?:(?!#\}|\{#).)*#\}", re.S
)
MAX_TAG = 1000  # characters inside one {{ … }} or {% … %}
MAX_DEPTH = 20  # {% if %} and {% for %} inside one another
MAX_ITEMS = 100  # items of a list a loop goes through
SEGMENT = re.compile(r"[a-z][a-z0-9_]*\Z")
STATEMENTS = ("if", "elif", "else", "endif", "for", "endfor")
LOOP_FIELDS = ("index", "first", "last", "length")

CONTACT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "contact.first_name": lambda c: c.first_name,
    "contact.last_name": lambda c: c.last_name,
    "contact.full_name": lambda c: c.full_name,
    "contact.email": lambda c: c.email,
    "contact.civility": lambda c: c.get_civility_display() if c.civility else "",
    "contact.birth_date": lambda c: c.birth_date,
    "contact.locale": lambda c: c.locale,
}
BUILTINS = ("today", "unsubscribe_url", "preferences_url", "confirm_url", "site_name")
#: Enrolment values every email may name: the code an Update-contact step issued (given by
#: the sender otherwise). ``voucher_code`` is its older name: either name finds the value
#: given under the other, so existing emails and callers keep working.
VALUES = ("promo_code",)
ALIASES = {"voucher_code": "promo_code", "promo_code": "voucher_code"}
ATTRIBUTE_PREFIX = "contact.attributes."
EVENT_PREFIX = "event."
#: Names a site may not give its own values (``EMAIL_CONTEXT_VARIABLES``).
RESERVED = frozenset({"contact", "event", *BUILTINS, *VALUES, *ALIASES})


class MergeTagError(ValueError):
    """A merge tag that is not in the documented language (with a hint for the editor)."""


def _empty(value: Any) -> bool:
    if value is None or isinstance(value, Undefined):
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict) and not value


def _text(value: Any) -> str:
    """``value`` as text that can be mailed: no NUL, lone surrogates replaced."""
    text = value if value.__class__ is str else "" if value is None else str(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "") if "\x00" in text else text


def shown(value: Any) -> Any:
    """What a ``{{ … }}`` shows of a value: text, a number, a date in words; nothing for
    an absent value, a list or a mapping (the ``finalize`` of both environments)."""
    if value.__class__ is str:
        return _text(value)
    if isinstance(value, Markup):
        return value
    if value is None or isinstance(value, Undefined | list | dict | tuple):
        return ""
    if isinstance(value, dt.date):
        return _date_text(value, None, None)
    if isinstance(value, int | float | Decimal):
        return value
    return _text(value)


def _locale(context) -> str:
    return context.get("_locale") or ""


def _date_text(value: dt.date, fmt: str | None, locale: str | None) -> str:
    try:
        if locale:
            with translation.override(locale):
                return dateformat.format(value, fmt or "j F Y")
        return dateformat.format(value, fmt or "j F Y")
    except (TypeError, ValueError, AttributeError):  # a time format on a date (refused on save)
        return dateformat.format(value, "j F Y")


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


@pass_context
def _date(context, value: Any, fmt: str | None = None) -> str:
    """A date (or an ISO ``2026-07-14…`` text) in Django's date format, in the contact's
    language."""
    day = _as_date(value)
    if day is None:
        return "" if _empty(value) else _text(value)
    return _date_text(day, fmt, _locale(context))


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or isinstance(value, Undefined):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() and abs(number) < Decimal("1e15") else None


def _babel_locale(name: str) -> str:
    from babel import Locale, UnknownLocaleError
    from django.conf import settings

    for candidate in (name, getattr(settings, "LANGUAGE_CODE", ""), "en"):
        try:
            return str(Locale.parse((candidate or "").replace("-", "_")))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return "en"


@pass_context
def _money(context, value: Any, currency: str = "EUR") -> str:
    """An amount with its currency, in the contact's locale: ``€34.90``, ``34,90 €``."""
    from babel.numbers import UnknownCurrencyError, format_currency

    number = _decimal(value)
    if number is None:
        return "" if _empty(value) else _text(value)
    try:
        return format_currency(number, currency.upper(), locale=_babel_locale(_locale(context)))
    except (UnknownCurrencyError, ValueError):
        return format_currency(number, "EUR", locale=_babel_locale(_locale(context)))


@pass_context
def _number(context, value: Any, digits: int | None = None) -> str:
    """A number in the contact's locale (``1,234.5``, ``1 234,5``), optionally rounded."""
    from babel.numbers import format_decimal

    number = _decimal(value)
    if number is None:
        return "" if _empty(value) else _text(value)
    if isinstance(digits, int) and not isinstance(digits, bool) and 0 <= digits <= 6:
        number = round(number, digits)
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(number, format=pattern, locale=_babel_locale(_locale(context)))
    return format_decimal(number, locale=_babel_locale(_locale(context)))


@pass_context
def _required(context, value: Any, name: str = "") -> Any:
    """Marks the send held when ``value`` is empty here (the name is filled in on compile)."""
    if _empty(value):
        missing = context.get("_missing")
        if isinstance(missing, list):
            missing.append(name)
    return value


#: name: (argument types it takes, at least how many, the function)
FILTERS: dict[str, tuple[tuple[type, ...], int, Callable]] = {
    "default": ((str, int, float), 1, lambda v, arg: arg if _empty(v) else v),
    "upper": ((), 0, lambda v: _text(shown(v)).upper()),
    "lower": ((), 0, lambda v: _text(shown(v)).lower()),
    "title": ((), 0, lambda v: _text(shown(v)).title()),
    "capfirst": ((), 0, lambda v: _text(shown(v))[:1].upper() + _text(shown(v))[1:]),
    "date": ((str,), 0, _date),
    "urlencode": ((), 0, lambda v: quote(_text(shown(v)), safe="")),
    "money": ((str,), 0, _money),
    "number": ((int,), 0, _number),
    "required": ((), 0, _required),
}
COMPARISONS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gteq": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lteq": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


def _compare(left: Any, op: str, right: Any) -> bool:
    """``left op right`` that never raises: a text holding a number compares as a number,
    an absent value as an empty text, and values that cannot be compared are not equal."""
    values = []
    for value in (left, right):
        if value is None or isinstance(value, Undefined):
            value = ""
        values.append(value)
    if op not in ("in", "notin"):
        numbers = [_decimal(v) if not isinstance(v, bool) else None for v in values]
        if None not in numbers:
            values = numbers
    elif not isinstance(values[1], str | list):
        values[1] = _text(shown(values[1]))
    if op in ("in", "notin") and isinstance(values[1], str) and not isinstance(values[0], str):
        values[0] = _text(shown(values[0]))
    try:
        return bool(COMPARISONS[op](*values))
    except TypeError:
        return op in ("ne", "notin")


class _Undefined(Undefined):
    """An absent value: shows as nothing, compares false, loops zero times."""

    __slots__ = ()

    def __eq__(self, other):
        return isinstance(other, Undefined)

    def __ne__(self, other):
        return not isinstance(other, Undefined)

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self):
        return 0


class Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, stricter: attributes are keys of plain dicts (and the four fields
    of ``loop``), no Python attribute or method is ever reached, and nothing may be called
    (filters are the only functions a template runs)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def getattr(self, obj: Any, attribute: str) -> Any:
        if obj.__class__ is dict:
            value = obj.get(attribute, self.undefined)
            return self.undefined(name=attribute) if value is self.undefined else value
        if isinstance(obj, LoopContext) and attribute in LOOP_FIELDS:
            return getattr(obj, attribute)
        return self.undefined(name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str):
            return self.getattr(obj, argument)
        return self.undefined(name=str(argument)[:40])

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        return self.undefined(name=operator)


def _environment(*, html: bool) -> Sandbox:
    env = Sandbox(
        autoescape=html,
        keep_trailing_newline=True,
        finalize=shown,
        undefined=_Undefined,
        cache_size=0,
    )
    env.filters = {name: function for name, (_types, _least, function) in FILTERS.items()}
    env.filters["_list"] = lambda v: v[:MAX_ITEMS] if isinstance(v, list) else []
    env.filters["_compare"] = _compare
    # The compiler's own link holes (never an editor's: the checker knows only FILTERS).
    env.filters["_link"] = pass_context(
        lambda ctx, hole, *values: ctx["_links"].html(hole, *values)
    )
    env.filters["_text_link"] = pass_context(lambda ctx, hole: ctx["_links"].text(hole))
    env.tests = {}
    env.globals = {}
    env.intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))
    return env


HTML_ENV = _environment(html=True)
TEXT_ENV = _environment(html=False)


def known_names() -> list[str]:
    """Every name an editor may use (plus ``contact.attributes.<key>`` and
    ``event.<property>``)."""
    extra = [n for n in conf.get("EMAIL_CONTEXT_VARIABLES") if n not in RESERVED]
    return list(dict.fromkeys([*CONTACT_FIELDS, *BUILTINS, *VALUES, *ALIASES, *extra]))


def _keyed(name: str) -> bool:
    """``contact.attributes.<key>`` or ``event.<property>``: one key, looked up in a dict."""
    if name.startswith(ATTRIBUTE_PREFIX):
        return name.count(".") == 2
    return name.startswith(EVENT_PREFIX) and name.count(".") == 1


def _path(node: nodes.Node) -> str | None:
    """``contact.first_name`` of a chain of names and attributes, else ``None``."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name):
        parts.append(node.name)
        return ".".join(reversed(parts))
    return None


def _unknown(name: str) -> MergeTagError:
    close = difflib.get_close_matches(name, known_names(), n=1)
    if close:
        return MergeTagError(
            _("Unknown merge tag “%(name)s”. Did you mean “%(close)s”?")
            % {"name": name, "close": close[0]}
        )
    return MergeTagError(_("Unknown merge tag “%(name)s”.") % {"name": name})


class _Checker:
    """Walks a parsed template and refuses what is not in the language."""

    def __init__(self):
        self.loop_names: list[str] = []

    def name(self, node: nodes.Node) -> str:
        name = _path(node)
        if name is None:
            raise MergeTagError(_("A merge tag names a value, as in {{ contact.first_name }}."))
        if not all(SEGMENT.match(part) for part in name.split(".")):
            raise MergeTagError(_("“{{ %(name)s }}” is not a merge tag.") % {"name": name[:80]})
        root, _dot, rest = name.partition(".")
        if root in self.loop_names:
            if rest.count(".") == 0:
                return name
            raise _unknown(name)
        if root == "loop" and self.loop_names and rest in LOOP_FIELDS:
            return name
        if name in known_names() or _keyed(name):
            return name
        raise _unknown(name)

    def expression(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Const):
            if not isinstance(node.value, str | int | float | bool | None):
                raise MergeTagError(_("A merge tag holds names, filters and plain values only."))
        elif isinstance(node, nodes.Name | nodes.Getattr):
            self.name(node)
        elif isinstance(node, nodes.Filter):
            self.filter(node)
        elif isinstance(node, nodes.Compare):
            if len(node.ops) != 1:
                raise MergeTagError(_("Compare two values at a time, as in event.total > 50."))
            self.expression(node.expr)
            for operand in node.ops:
                if operand.op not in COMPARISONS:
                    raise MergeTagError(
                        _("The comparison “%(op)s” is not allowed.") % {"op": operand.op}
                    )
                self.expression(operand.expr)
        elif isinstance(node, nodes.And | nodes.Or):
            self.expression(node.left)
            self.expression(node.right)
        elif isinstance(node, nodes.Not):
            self.expression(node.node)
        else:
            raise MergeTagError(
                _(
                    "A merge tag holds names, filters and comparisons only, "
                    'as in {{ contact.first_name|default("there") }}.'
                )
            )

    def filter(self, node: nodes.Filter) -> None:
        known = ", ".join(FILTERS)
        if node.name not in FILTERS:
            raise MergeTagError(
                _("Unknown filter “%(name)s” (known filters: %(known)s).")
                % {"name": node.name[:40], "known": known}
            )
        types, least, _function = FILTERS[node.name]
        if node.node is None or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise MergeTagError(
                _("The %(name)s filter is written name|%(name)s(…).") % {"name": node.name}
            )
        self.expression(node.node)
        if len(node.args) < least:
            raise MergeTagError(_('The default filter needs a value, as in default("there").'))
        if len(node.args) > len(types):
            if not types:
                raise MergeTagError(_("The %(name)s filter takes no value.") % {"name": node.name})
            raise MergeTagError(_("The %(name)s filter takes one value.") % {"name": node.name})
        for arg, kind in zip(node.args, types, strict=False):
            if (
                not isinstance(arg, nodes.Const)
                or not isinstance(arg.value, kind)
                or isinstance(arg.value, bool)
            ):
                raise MergeTagError(
                    _("The %(name)s filter's value is not of the right kind.") % {"name": node.name}
                )
        if node.name == "date" and node.args:
            try:
                dateformat.format(dt.date(2000, 1, 1), node.args[0].value)
            except (TypeError, ValueError, AttributeError) as exc:
                raise MergeTagError(
                    _("The date filter's format “%(format)s” is not a date format (%(error)s).")
                    % {"format": node.args[0].value[:40], "error": exc}
                ) from None
        if node.name == "number" and node.args and not 0 <= node.args[0].value <= 6:
            raise MergeTagError(_("The number filter rounds to 0 to 6 digits."))

    def body(self, body: list[nodes.Node], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise MergeTagError(
                _("Too many {%% if %%}/{%% for %%} inside one another (%(most)s at most).")
                % {"most": MAX_DEPTH}
            )
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if not isinstance(child, nodes.TemplateData):
                        self.expression(child)
            elif isinstance(node, nodes.If):
                self.expression(node.test)
                self.body(node.body, depth + 1)
                for branch in node.elif_:
                    self.expression(branch.test)
                    self.body(branch.body, depth + 1)
                self.body(node.else_, depth + 1)
            elif isinstance(node, nodes.For):
                self.loop(node, depth)
            else:
                raise MergeTagError(
                    _(
                        "The only template tags are {% if … %}…{% endif %} and "
                        "{% for item in … %}…{% endfor %}."
                    )
                )

    def loop(self, node: nodes.For, depth: int) -> None:
        if node.recursive or node.test is not None or not isinstance(node.target, nodes.Name):
            raise MergeTagError(_("A loop is written {% for item in event.items %}…{% endfor %}."))
        variable = node.target.name
        if not SEGMENT.match(variable) or variable in ("loop", "contact", "event"):
            raise MergeTagError(
                _("“%(name)s” cannot name a loop's item.") % {"name": variable[:40]}
            )
        if variable in known_names():
            raise MergeTagError(
                _("“%(name)s” is already a merge tag: name the item otherwise.")
                % {"name": variable}
            )
        self.name(node.iter)
        self.loop_names.append(variable)
        try:
            self.body(node.body, depth + 1)
        finally:
            self.loop_names.pop()
        self.body(node.else_, depth + 1)


def scan(text: str) -> list[str]:
    """Problems visible without parsing: tag length, comments, unknown template tags and
    unclosed tags."""
    problems = []
    for match in TAG.finditer(text):
        inside = match[0][2:-2].strip()
        if len(inside) > MAX_TAG:
            problems.append(
                _("A merge tag is too long (%(most)s characters at most).") % {"most": MAX_TAG}
            )
        elif match[0].startswith("{#"):
            problems.append(
                _(
                    "“%(tag)s”: comments are not allowed in emails; "
                    "only merge tags such as {{ contact.first_name }}."
                )
                % {"tag": match[0][:40]}
            )
        elif match[0].startswith("{%") and (inside.split() or [""])[0] not in STATEMENTS:
            problems.append(
                _(
                    "“%(tag)s”: the only template tags are {%% if … %%}…{%% endif %%} "
                    "and {%% for item in … %%}…{%% endfor %%}."
                )
                % {"tag": match[0][:40]}
            )
    rest = TAG.sub("", text)
    if "{{" in rest or "{%" in rest or "{#" in rest:
        problems.append(_("A merge tag is not closed (“{{” without “}}”)."))
    return problems


def check(source: str, env: Sandbox = TEXT_ENV, *, scanned: bool = False) -> nodes.Template:
    """The parsed, checked template of ``source``; ``MergeTagError`` with an editor's
    message otherwise. ``scanned`` when the caller scanned each tag itself."""
    problems = [] if scanned else scan(source)
    if problems:
        raise MergeTagError(problems[0])
    tree = _parse(source, env)
    _Checker().body(tree.body, 0)
    return tree


def _parse(source: str, env: Sandbox) -> nodes.Template:
    """The syntax tree of ``source``; ``MergeTagError`` when Jinja cannot read it."""
    try:
        return env.parse(source)
    except TemplateError as exc:
        raise MergeTagError(
            _("A merge tag cannot be read: %(error)s.") % {"error": exc.message or exc}
        ) from None
    except RecursionError:
        raise MergeTagError(_("A merge tag is nested too deeply.")) from None


def validate(text: str) -> list[str]:
    """Every problem with the merge tags of ``text`` (an empty list when all is well; the
    first problem the parser meets when the text cannot be parsed)."""
    text = str(text or "")
    problems = scan(text)
    if problems:
        return problems
    try:
        check(text, scanned=True)
    except MergeTagError as exc:
        return [str(exc)]
    return []


def _prepare(tree: nodes.Template) -> nodes.Template:
    """Name each ``required`` filter's value (for the held reason) and bound each loop to
    a list of at most ``MAX_ITEMS`` (anything else loops zero times)."""
    for node in list(tree.find_all(nodes.Filter)):
        if node.name == "required":
            node.args = [nodes.Const(_path(node.node) or "value", lineno=node.lineno)]
    for node in list(tree.find_all(nodes.Compare)):
        if len(node.ops) == 1:  # comparisons go through ``_compare`` (never raises)
            (operand,) = node.ops
            node.expr = nodes.Filter(
                node.expr, "_compare", [nodes.Const(operand.op), operand.expr], [], None, None
            )
            node.ops = [nodes.Operand("eq", nodes.Const(True))]
    for node in list(tree.find_all(nodes.For)):
        node.iter = nodes.Filter(node.iter, "_list", [], [], None, None, lineno=node.lineno)
    return tree


@lru_cache(maxsize=512)
def template(source: str, *, html: bool = False, checked: bool = True):
    """The compiled template of ``source`` (once per source and process). ``checked=False``
    is for the compiler's own templates, whose editor-written parts it checked itself."""
    env = HTML_ENV if html else TEXT_ENV
    tree = check(source, env) if checked else _parse(source, env)
    try:
        code = env.compile(_prepare(tree))
        return env.template_class.from_code(env, code, env.make_globals(None))
    except RecursionError:
        raise MergeTagError(_("A merge tag is nested too deeply.")) from None


def fill_template(source: str, variables: dict[str, Any], *, html: bool = False) -> str:
    """A compiler-made template filled with ``Scope.variables()`` (shared, not copied:
    the fills of one email share them); a source without tags is its own text."""
    if "{" not in source:
        return source
    compiled = template(source, html=html, checked=False)
    context = compiled.new_context(variables, shared=True)
    return compiled.environment.concat(compiled.root_render_func(context))


def fill_pieces(source: str, variables: dict[str, Any], *, html: bool = False) -> list[str]:
    """``fill_template``'s text in the pieces the template yields, joined they are that
    text: its fixed text comes as the same ``str`` objects for every contact, so what is
    derived from them (their quoted-printable bytes, ``emails.mime``) can be kept."""
    if "{" not in source:
        return [source]
    compiled = template(source, html=html, checked=False)
    return list(compiled.root_render_func(compiled.new_context(variables, shared=True)))


def _scalars(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    return {
        key: value
        for key, value in data.items()
        if isinstance(key, str) and isinstance(value, (str, int, float))
    }


def _event(data: Any) -> dict[str, Any]:
    """The trigger event as a merge tag sees it: text, numbers, and lists (of values or of
    flat objects, such as a cart's items) a loop can go through."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, str | int | float):
            out[key] = value
        elif isinstance(value, list):
            out[key] = [
                _scalars(item) if isinstance(item, dict) else item
                for item in value[:MAX_ITEMS]
                if isinstance(item, dict | str | int | float)
            ]
    return out


_VALUE_TYPES = (str, int, float, dt.date)


class Scope:
    """What merge tags can see for one contact: fixed getters, and the send's context —
    the enrolment's values by name, and the trigger event's properties under ``event``
    (``engine.values.send_context`` builds it)."""

    __slots__ = ("contact", "context", "urls", "today")

    def __init__(self, contact, context: dict[str, Any] | None, urls: dict[str, str]):
        self.contact = contact
        self.context = context or {}
        self.urls = urls
        self.today = None

    def variables(self) -> dict[str, Any]:
        """The template's variables (plain dicts, text, numbers and dates only)."""
        contact = self.contact
        fields: dict[str, Any] = {}
        if contact is not None:
            for name, getter in CONTACT_FIELDS.items():
                fields[name[8:]] = getter(contact)
            fields["attributes"] = _scalars(getattr(contact, "attributes", None) or {})
        today = self.today
        if today is None:
            from django.utils import timezone

            today = timezone.localdate()
        out: dict[str, Any] = {
            key: value
            for key, value in self.context.items()
            if isinstance(key, str) and key not in RESERVED and isinstance(value, _VALUE_TYPES)
        }
        for name in (*VALUES, *ALIASES):
            value = self.context.get(name, "")
            if _empty(value) and name in ALIASES:
                value = self.context.get(ALIASES[name], "")
            out[name] = value if isinstance(value, _VALUE_TYPES) else ""
        out.update(self.urls)
        out.update(
            contact=fields,
            event=_event(self.context.get("event")),
            today=today,
            _locale=(getattr(contact, "locale", "") or "") if contact is not None else "",
            _missing=[],
        )
        return out

    def lookup(self, name: str) -> Any:
        """The value of one dotted name (``""`` when absent)."""
        value: Any = self.variables()
        for part in name.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value if isinstance(value, str | int | float | dt.date) else ""


def render(source: str, scope: Scope, *, html: bool = False) -> tuple[str, list[str]]:
    """``source`` filled for ``scope``, and the names of ``required`` tags left empty.
    Raises ``MergeTagError`` only for a source that is not valid (checked on save)."""
    variables = scope.variables()
    try:
        text = template(source, html=html).render(variables)
    except MergeTagError:
        raise
    except Exception as exc:  # noqa: BLE001 — data the template did not expect
        raise MergeTagError(
            (_("The email could not be filled: %(error)s") % {"error": exc})[:300]
        ) from None
    return _text(text), variables["_missing"]
