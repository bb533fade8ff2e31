"""Check a request body field by field and say, in words, what is wrong with every field.

msgspec stops at the first error and words it for programmers (``Expected `str` matching
regex ...``); a person filling a form wants every bad field at once, and the allowed
values. :func:`body_errors` converts each field on its own, then applies the text rules
the field's type names (``Meta(extra={"rule": ...})``, see :mod:`common.text`).
"""

from __future__ import annotations

import re
import typing
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi
from msgspec import Struct

from .text import LIST_RULES, RULES

__all__ = ["FieldError", "body_errors", "field_problem", "first_problem", "words"]

PATTERN_WORDS = {
    r"^[A-Za-z_][A-Za-z0-9_]*$": "a variable name (letters, digits and _, not starting "
                                  "with a digit)",
}
_JSON_NAMES = {"str": "a string", "int": "a whole number", "float": "a number",
               "bool": "true or false", "array": "a list", "object": "an object",
               "null": "null"}
_AT = re.compile(r" - at `(?P<where>[^`]*)`(?: in `(?P<in>[^`]*)`)?$")


class FieldError(Struct):
    """One entry of ``details.errors``: the field (``None``: the body as a whole), and the
    text rule it broke (``None``: its type or limits)."""

    field: str | None
    message: str
    rule: str | None = None


def _allowed(info: mi.Type) -> list[Any]:
    if isinstance(info, mi.Metadata):
        return _allowed(info.type)
    if isinstance(info, mi.LiteralType):
        return list(info.values)
    if isinstance(info, mi.EnumType):
        return [m.value for m in info.cls]
    if isinstance(info, mi.UnionType):
        return [v for t in info.types for v in _allowed(t)]
    return []


def _element(info: mi.Type, where: str) -> mi.Type:
    """The type at ``where`` (``$[3]``, ``$[...]``) inside ``info``, for its limits."""
    while isinstance(info, (mi.Metadata, mi.UnionType)):
        if isinstance(info, mi.Metadata):
            info = info.type
        else:
            real = [t for t in info.types if not isinstance(t, mi.NoneType)]
            if len(real) != 1:
                return info
            info = real[0]
    if where.startswith("$[") and isinstance(info, (mi.ListType, mi.DictType)):
        return info.item_type if isinstance(info, mi.ListType) else info.value_type
    return info


def words(message: str, info: mi.Type | None = None) -> str:
    """msgspec's ``message`` about a value of type ``info`` as a sentence for people."""
    where = ""
    at = _AT.search(message)
    if at:
        message = message[: at.start()]
        spot = at.group("where")
        if at.group("in") and spot == "key":
            where = " (a key)"
        elif spot.startswith("$[") and spot != "$[...]":
            index = spot[2:-1]
            where = f" (item {int(index) + 1})" if index.isdigit() else f" (entry {index})"
        if info is not None and spot.startswith("$["):
            info = _element(info, spot)
    if message.startswith("Invalid enum value"):
        allowed = _allowed(info) if info is not None else []
        sent = message.removeprefix("Invalid enum value").strip()
        choice = ", ".join(str(v) for v in allowed)
        return (f"{sent} is not allowed{where}; use one of: {choice}" if allowed
                else f"{sent} is not an allowed value{where}")
    match = re.fullmatch(r"Expected `(\w+)` matching regex '(.*)'", message)
    if match:
        form = PATTERN_WORDS.get(match.group(2), "the documented form")
        return f"must be {form}{where}"
    match = re.fullmatch(r"Expected `(\w+)` of length ([<>]=) (\d+)", message)
    if match:
        kind, op, size = match.groups()
        if op == ">=" and size == "1":
            return f"must not be empty{where}"
        bound = f"at {'most' if op == '<=' else 'least'} {int(size):,}"
        if kind == "str":
            return f"must be {bound} characters long{where}"
        return f"must hold {bound} {'entries' if kind == 'object' else 'items'}{where}"
    match = re.fullmatch(r"Expected `(\w+)` ([<>]=?) (\S+)", message)
    if match:
        kind, op, bound = match.groups()
        what = {"<=": "at most", ">=": "at least", "<": "less than", ">": "more than"}[op]
        return f"must be {_JSON_NAMES.get(kind, kind)} {what} {bound}{where}"
    match = re.fullmatch(r"Expected `([\w |]+)`, got `(\w+)`", message)
    if match:
        wanted = " or ".join(_JSON_NAMES.get(k.strip(), k.strip())
                             for k in match.group(1).split("|"))
        return f"must be {wanted}, not {_JSON_NAMES.get(match.group(2), match.group(2))}{where}"
    return f"{message}{where}"


def _rule_problem(info: mi.Type, value: Any) -> tuple[str, str] | None:
    """``(rule, words)`` for the first text rule of ``info`` (or its items) ``value`` breaks."""
    if value is None or value is msgspec.UNSET:
        return None
    if isinstance(info, mi.Metadata):
        rule = (info.extra or {}).get("rule")
        problem = None
        if isinstance(value, str) and rule in RULES:
            problem = RULES[rule](value)
        elif isinstance(value, list) and rule in LIST_RULES:
            problem = LIST_RULES[rule](value)
        if problem and rule:
            return rule, problem
        return _rule_problem(info.type, value)
    if isinstance(info, mi.UnionType):
        for option in info.types:
            if not isinstance(option, mi.NoneType):
                return _rule_problem(option, value)
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        for key, item in value.items():
            found = _rule_problem(info.key_type, key) or _rule_problem(info.value_type, item)
            if found:
                return found[0], f"{found[1]} (key {key!r})"
    return None


def field_problem(info: mi.Type, value: Any) -> str | None:
    """The text rule of ``info`` (and of its items) applied to a converted ``value``."""
    found = _rule_problem(info, value)
    return found[1] if found else None


def _dict_key(value: Any, annotation: Any) -> str:
    """Which entry of a dict ``value`` fails to convert, as `` (key 'X')``."""
    if isinstance(value, dict):
        inner = typing.get_args(annotation)[0] if typing.get_origin(annotation) else annotation
        for key, item in value.items():
            try:
                msgspec.convert({key: item}, inner, strict=False)
            except msgspec.ValidationError:
                return f" (key {key!r})"
    return ""


@cache
def _fields(struct_type: type[Struct]) -> tuple[tuple[mi.Field, Any], ...]:
    info = mi.type_info(struct_type)
    assert isinstance(info, mi.StructType)
    hints = typing.get_type_hints(struct_type, include_extras=True)
    return tuple((f, hints[f.name]) for f in info.fields)


def _forbids_unknown(struct_type: type[Struct]) -> bool:
    return bool(struct_type.__struct_config__.forbid_unknown_fields)


def first_problem(struct: Struct) -> str | None:
    """The first rule a constructed Struct breaks, as ``field: words`` (for ``__post_init__``)."""
    for field, _ in _fields(type(struct)):
        problem = field_problem(field.type, getattr(struct, field.name))
        if problem:
            return f"`{field.encode_name}` {problem}"
    return None


def body_errors(struct_type: type[Struct], body: Any) -> list[FieldError]:
    """Every problem with ``body`` (decoded JSON) as a ``struct_type``; empty when fine."""
    fields = _fields(struct_type)
    names = [f.encode_name for f, _ in fields]
    if not isinstance(body, dict):
        return [FieldError(None, f"the body must be a JSON object with the fields "
                                 f"{', '.join(names)}")]
    errors: list[FieldError] = []
    for field, annotation in fields:
        if field.encode_name not in body:
            if field.required:
                errors.append(FieldError(field.encode_name, "is required"))
            continue
        try:
            value = msgspec.convert(body[field.encode_name], annotation, strict=False)
        except msgspec.ValidationError as error:
            message = words(str(error), field.type)
            if "(item " not in message:
                message += _dict_key(body[field.encode_name], annotation)
            errors.append(FieldError(field.encode_name, message.replace(" (a key)", "")))
            continue
        found = _rule_problem(field.type, value)
        if found:
            errors.append(FieldError(field.encode_name, found[1], rule=found[0]))
    if _forbids_unknown(struct_type):
        for key in body:
            if key not in names:
                errors.append(FieldError(str(key), f"is not a field of this request; the "
                                                   f"fields are {', '.join(names)}"))
    return errors
