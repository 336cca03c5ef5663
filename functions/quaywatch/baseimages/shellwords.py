"""Words and variables of Dockerfile instructions, read as BuildKit's shell lexer reads them.

An instruction's arguments split into words at whitespace outside quotes; a word's quotes
are removed (single quotes keep ``$`` literal, the escape character keeps the next character
literal) and its variables expanded: ``$VAR``, ``${VAR}``, ``${VAR:-word}``, ``${VAR-word}``,
``${VAR:+word}``, ``${VAR+word}``, ``${VAR:?message}``, ``${VAR?message}``, nested in each
other as deep as ``MAX_NESTING``.

The text is a user's, read inside the API: every character is looked at a bounded number of
times (one pass with an index, no backtracking pattern), and what expansion produces is
counted against an ``ExpansionBudget`` (a value may not pass ``MAX_VALUE``, one line's
expansions ``MAX_LINE_EXPANSION``, a file's ``MAX_FILE_EXPANSION``), so ``ARG`` lines that
double a value forty times are refused at the line where it passes the limit instead of
filling memory.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_VALUE = 64 << 10
MAX_LINE_EXPANSION = 64 << 10
MAX_FILE_EXPANSION = 1 << 20
MAX_NESTING = 16
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_WHITESPACE = frozenset(" \t\r\n\f\v")

# A variable's value: a string, or None for an ARG declared without a default (unset).
Scope = Mapping[str, "str | None"]


class WordError(ValueError):
    """The words cannot be read: an unclosed quote or brace, an unsupported form, a limit."""


class ExpansionBudget:
    """How much variable expansion a Dockerfile may still produce, per line and in all."""

    def __init__(self) -> None:
        self._file_left = MAX_FILE_EXPANSION
        self._line_left = MAX_LINE_EXPANSION

    def new_line(self) -> None:
        self._line_left = MAX_LINE_EXPANSION

    def spend(self, size: int) -> None:
        self._line_left -= size
        self._file_left -= size
        if self._line_left < 0:
            raise WordError(f"its variables expand to more than {MAX_LINE_EXPANSION >> 10} KiB")
        if self._file_left < 0:
            raise WordError(f"the Dockerfile's variables expand to more than {MAX_FILE_EXPANSION >> 20} MiB in all")


def split_words(text: str, escape: str = "\\") -> list[str]:
    """The words of an instruction's arguments, quotes and escapes kept for ``expand``."""
    words: list[str] = []
    start: int | None = None
    quote: str | None = None
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if quote is not None:
            if char == escape and quote == '"' and index + 1 < length:
                index += 1
            elif char == quote:
                quote = None
        elif char in _WHITESPACE:
            if start is not None:
                words.append(text[start:index])
                start = None
        else:
            if start is None:
                start = index
            if char == escape and index + 1 < length:
                index += 1
            elif char in "\"'":
                quote = char
        index += 1
    if quote is not None:
        raise WordError(f"a {quote} quote is never closed")
    if start is not None:
        words.append(text[start:])
    return words


def expand(word: str, scope: Scope, budget: ExpansionBudget, escape: str = "\\") -> str:
    """``word`` with its quotes removed and its variables replaced by their values."""
    value = _Lexer(word, scope, budget, escape).process(stop=None, depth=0)
    if len(value) > MAX_VALUE:
        raise WordError(f"a value expands to more than {MAX_VALUE >> 10} KiB")
    return value


class _Lexer:
    def __init__(self, text: str, scope: Scope, budget: ExpansionBudget, escape: str) -> None:
        self.text = text
        self.scope = scope
        self.budget = budget
        self.escape = escape
        self.index = 0

    def process(self, stop: str | None, depth: int) -> str:
        """Read up to ``stop`` (outside quotes; consumed) or the end; the expanded text."""
        text, length = self.text, len(self.text)
        out: list[str] = []
        size = 0
        while self.index < length:
            char = text[self.index]
            if char == stop:
                self.index += 1
                return "".join(out)
            if char == "'":
                end = text.find("'", self.index + 1)
                if end < 0:
                    raise WordError("a ' quote is never closed")
                piece = text[self.index + 1:end]
                self.index = end + 1
            elif char == '"':
                self.index += 1
                piece = self._double_quoted(depth)
            elif char == self.escape and self.index + 1 < length:
                piece = text[self.index + 1]
                self.index += 2
            elif char == "$":
                piece = self._variable(depth)
            else:
                piece = char
                self.index += 1
            out.append(piece)
            size += len(piece)
            if size > MAX_VALUE:
                raise WordError(f"a value expands to more than {MAX_VALUE >> 10} KiB")
        if stop is not None:
            raise WordError(f"a {'${'} is never closed with {stop}")
        return "".join(out)

    def _double_quoted(self, depth: int) -> str:
        text, length = self.text, len(self.text)
        out: list[str] = []
        while self.index < length:
            char = text[self.index]
            if char == '"':
                self.index += 1
                return "".join(out)
            if char == self.escape and self.index + 1 < length and text[self.index + 1] in ('"', "$", self.escape):
                out.append(text[self.index + 1])
                self.index += 2
            elif char == "$":
                out.append(self._variable(depth))
            else:
                out.append(char)
                self.index += 1
        raise WordError('a " quote is never closed')

    def _variable(self, depth: int) -> str:
        """At a ``$``: the expansion of the variable that follows (or ``$`` itself)."""
        text, length = self.text, len(self.text)
        self.index += 1
        if self.index < length and text[self.index] == "{":
            self.index += 1
            return self._braced(depth)
        start = self.index
        if self.index >= length or text[self.index] not in _NAME_START:
            return "$"
        while self.index < length and text[self.index] in _NAME_CHARS:
            self.index += 1
        return self._value(self.scope.get(text[start:self.index]))

    def _braced(self, depth: int) -> str:
        text, length = self.text, len(self.text)
        if depth >= MAX_NESTING:
            raise WordError(f"variables nest deeper than {MAX_NESTING} levels")
        start = self.index
        while self.index < length and text[self.index] in _NAME_CHARS:
            self.index += 1
        name = text[start:self.index]
        if not name or name[0] not in _NAME_START:
            raise WordError("a ${...} holds no variable name")
        if self.index >= length:
            raise WordError("a ${ is never closed with }")
        value = self.scope.get(name)
        operator = text[self.index]
        if operator == "}":
            self.index += 1
            return self._value(value)
        if operator == ":" and self.index + 1 < length and text[self.index + 1] in "-+?":
            operator = text[self.index:self.index + 2]
        elif operator not in "-+?":
            raise WordError(f"${{{name}{operator}...}} is a form quaywatch does not read (use :-, -, :+, +, :? or ?)")
        self.index += len(operator)
        word = self.process(stop="}", depth=depth + 1)
        present = bool(value) if operator.startswith(":") else value is not None
        if operator.endswith("-"):
            return self._value(value) if present else word
        if operator.endswith("+"):
            return word if present else ""
        if not present:  # ? and :?
            raise WordError(f"{name} is not set: {word or 'it is required'}"[:300])
        return self._value(value)

    def _value(self, value: str | None) -> str:
        if value:
            self.budget.spend(len(value))
            return value
        return ""
