"""Matter conformance expressions (the spec's notation) and their evaluation, for the conformance test.

The data model writes, for every feature, attribute, command, event and cluster, when it must, may or must not
be there. `spec_facts` transcribes those expressions in the notation the specification's tables use:

    M             mandatory                      O            optional
    X             disallowed                     D            deprecated (treated as optional)
    P             provisional (treated as optional: a provisional element is never required)
    desc          described in prose (treated as optional: the test cannot evaluate prose)
    LT            mandatory if LT is true        [LT]         optional if LT is true
    !OFFONLY  HEAT & COOL  LF | TL  (A | B) & !C             feature codes, conditions, element names
    AUTO, O       "otherwise": the first term whose condition holds decides; none holding means disallowed

A name is true when it is a feature code the cluster's FeatureMap sets, an element (attribute/command) name the
cluster serves, or a condition the caller passes as true; anything else is false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Conformance", "evaluate", "MANDATORY", "OPTIONAL", "DISALLOWED"]

MANDATORY = "M"
OPTIONAL = "O"
DISALLOWED = "X"

_TOKEN = re.compile(r"\s*(\(|\)|\[|\]|!|&|\||,|[A-Za-z_][A-Za-z0-9_.\-]*)")


class ConformanceError(ValueError):
    """An expression in the facts table does not parse (a typo in the table, not a device defect)."""


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConformanceError(f"conformance {text!r}: cannot read at {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


@dataclass(frozen=True)
class _Name:
    name: str


@dataclass(frozen=True)
class _Not:
    inner: object


@dataclass(frozen=True)
class _And:
    terms: tuple


@dataclass(frozen=True)
class _Or:
    terms: tuple


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise ConformanceError(f"conformance {self.text!r}: expected {expected or 'a term'}, got {tok!r}")
        self.i += 1
        return tok

    def otherwise(self) -> list[tuple[str, object]]:
        """A list of (kind, expression): kind M (mandatory if expr), O (optional if expr), or a fixed X/D/P."""
        items = [self.item()]
        while self.peek() == ",":
            self.take(",")
            items.append(self.item())
        if self.peek() is not None:
            raise ConformanceError(f"conformance {self.text!r}: unexpected {self.peek()!r}")
        return items

    def item(self) -> tuple[str, object]:
        tok = self.peek()
        if tok == "[":
            self.take("[")
            expr = self.expr()
            self.take("]")
            return ("O", expr)
        if tok in ("M", "O", "X", "D", "P", "desc") and (self.i + 1 == len(self.toks) or self.toks[self.i + 1] == ","):
            self.take()
            return {"M": ("M", None), "O": ("O", None), "X": ("X", None), "D": ("D", None), "P": ("P", None),
                    "desc": ("O", None)}[tok]
        return ("M", self.expr())

    def expr(self):
        terms = [self.conj()]
        while self.peek() == "|":
            self.take("|")
            terms.append(self.conj())
        return terms[0] if len(terms) == 1 else _Or(tuple(terms))

    def conj(self):
        terms = [self.unary()]
        while self.peek() == "&":
            self.take("&")
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else _And(tuple(terms))

    def unary(self):
        tok = self.peek()
        if tok == "!":
            self.take("!")
            return _Not(self.unary())
        if tok == "(":
            self.take("(")
            e = self.expr()
            self.take(")")
            return e
        if tok is None or not re.match(r"[A-Za-z_]", tok):
            raise ConformanceError(f"conformance {self.text!r}: expected a name, got {tok!r}")
        return _Name(self.take())


def _truth(expr, names: frozenset[str]) -> bool:
    if expr is None:
        return True
    if isinstance(expr, _Name):
        return expr.name in names
    if isinstance(expr, _Not):
        return not _truth(expr.inner, names)
    if isinstance(expr, _And):
        return all(_truth(t, names) for t in expr.terms)
    if isinstance(expr, _Or):
        return any(_truth(t, names) for t in expr.terms)
    raise TypeError(expr)


class Conformance:
    """A parsed conformance expression. `evaluate(true_names)` gives M, O or X."""

    _cache: dict[str, "Conformance"] = {}

    def __init__(self, text: str):
        self.text = text
        self.items = _Parser(text).otherwise()

    @classmethod
    def of(cls, text: str) -> "Conformance":
        c = cls._cache.get(text)
        if c is None:
            c = cls._cache[text] = Conformance(text)
        return c

    def names(self) -> set[str]:
        out: set[str] = set()

        def walk(e):
            if isinstance(e, _Name):
                out.add(e.name)
            elif isinstance(e, _Not):
                walk(e.inner)
            elif isinstance(e, (_And, _Or)):
                for t in e.terms:
                    walk(t)
        for _, e in self.items:
            walk(e)
        return out

    def evaluate(self, true_names) -> str:
        names = frozenset(true_names)
        for kind, expr in self.items:
            if kind in ("X",):
                return DISALLOWED
            if kind in ("D", "P"):
                return OPTIONAL
            if _truth(expr, names):
                return MANDATORY if kind == "M" else OPTIONAL
        return DISALLOWED

    def __repr__(self) -> str:
        return f"Conformance({self.text!r})"


def evaluate(text: str, true_names) -> str:
    """M, O or X for conformance `text` given the set of names that are true."""
    return Conformance.of(text).evaluate(true_names)
