"""Tokenizer of the rule language (hand-written; reads nothing but the text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trialdesk.rules.errors import RuleSyntaxError
from trialdesk.rules.nodes import KEYWORDS

TokenKind = Literal["number", "string", "name", "keyword", "op", "end"]

_TWO_CHAR_OPS = ("<=", ">=", "==", "!=")
_ONE_CHAR_OPS = "()[],+-*/<>"
_DIGITS = "0123456789"
_NAME_START = "abcdefghijklmnopqrstuvwxyz_"
# words are read in any case so that an upper-case letter gets its own message
_LETTERS_ANY_CASE = _NAME_START + _NAME_START.upper()
_WORD_CHARS_ANY_CASE = _LETTERS_ANY_CASE + _DIGITS
_WHITESPACE = " \t\r\n"

# characters people type by habit, with what to write instead
_HINTS = {
    "=": "use '==' to compare",
    "!": "use 'not' (or '!=')",
    "&": "use 'and'",
    "|": "use 'or'",
    "%": "write percentages as plain numbers (20 for 20 %)",
    "≤": "use '<='",
    "≥": "use '>='",
    "≠": "use '!='",
    "×": "use '*'",
}


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the token as written (for strings: the decoded value)
    start: int  # 0-based offset
    end: int

    @property
    def column(self) -> int:
        return self.start + 1

    def describe(self) -> str:
        if self.kind == "end":
            return "end of the expression"
        if self.kind == "string":
            return "text '" + self.text[:20] + ("…" if len(self.text) > 20 else "") + "'"
        return f"'{self.text}'"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
            continue
        start = i
        if ch in _DIGITS:
            while i < n and text[i] in _DIGITS:
                i += 1
            if i < n and text[i] == ".":
                i += 1
                if i >= n or text[i] not in _DIGITS:
                    raise RuleSyntaxError(f"expected a digit after '.' at column {i + 1}", i + 1, text)
                while i < n and text[i] in _DIGITS:
                    i += 1
            if i < n and text[i] in _LETTERS_ANY_CASE:
                raise RuleSyntaxError(
                    f"unexpected '{text[i]}' right after the number at column {i + 1}", i + 1, text
                )
            tokens.append(Token("number", text[start:i], start, i))
            continue
        if ch in _LETTERS_ANY_CASE:
            while i < n and text[i] in _WORD_CHARS_ANY_CASE:
                i += 1
            # A qualified name reads beyond the record: ``previous.weight_kg``, ``subject.consent_date``
            # (one dot, a word on each side; which qualifiers exist is the protocol validator's business).
            # Both parts start with a letter: never ``x.__class__``.
            if i + 1 < n and text[i] == "." and text[i + 1].isascii() and text[i + 1].isalpha() and ch != "_":
                i += 1
                while i < n and text[i] in _WORD_CHARS_ANY_CASE:
                    i += 1
                if i < n and text[i] == ".":
                    raise RuleSyntaxError(
                        f"a name has at most one '.' (qualifier.field), at column {i + 1}", i + 1, text
                    )
            word = text[start:i]
            if word != word.lower():
                raise RuleSyntaxError(
                    f"'{word}' at column {start + 1} must be written in lower case ('{word.lower()}'): "
                    "field codes, keywords and functions are lower case",
                    start + 1,
                    text,
                )
            kind: TokenKind = "keyword" if word in KEYWORDS else "name"
            tokens.append(Token(kind, word, start, i))
            continue
        if ch in "'\"":
            quote = ch
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise RuleSyntaxError(
                        f"unterminated string starting at column {start + 1}", start + 1, text
                    )
                c = text[i]
                if c == quote:
                    i += 1
                    break
                if c == "\\":
                    if i + 1 >= n:
                        raise RuleSyntaxError(
                            f"unterminated string starting at column {start + 1}", start + 1, text
                        )
                    nxt = text[i + 1]
                    if nxt not in "\\'\"":
                        raise RuleSyntaxError(
                            f"unknown escape '\\{nxt}' at column {i + 1} (only \\\\, \\' and \\\" are allowed)",
                            i + 1,
                            text,
                        )
                    chars.append(nxt)
                    i += 2
                    continue
                chars.append(c)
                i += 1
            tokens.append(Token("string", "".join(chars), start, i))
            continue
        two = text[i : i + 2]
        if two in _TWO_CHAR_OPS:
            tokens.append(Token("op", two, start, i + 2))
            i += 2
            continue
        if ch in _ONE_CHAR_OPS:
            tokens.append(Token("op", ch, start, i + 1))
            i += 1
            continue
        hint = _HINTS.get(ch)
        shown = ch if ch.isprintable() else repr(ch)
        message = f"unexpected character '{shown}' at column {start + 1}"
        if hint:
            message += f" ({hint})"
        raise RuleSyntaxError(message, start + 1, text)
    tokens.append(Token("end", "", n, n))
    return tokens
