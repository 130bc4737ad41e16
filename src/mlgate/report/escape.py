"""Untrusted text (column names, params, check messages, labels) made inert for a GitHub comment.

A PR controls its data, params and branch name, and the report puts them into a comment that
GitHub renders as Markdown with HTML: unescaped, a column name can fake the verdict, ping people,
show images or break the tables. `text` makes any value one line of plain text, and `cap` keeps the
whole comment under GitHub's size limit.
"""

from __future__ import annotations

import re
import unicodedata

VALUE_CHARS = 500  # one cell or label; a longer value is cut with an ellipsis
COMMENT_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
ZWJ = "\u200d"  # after @ or #, so GitHub links no user, team, issue or PR

# Backslash-escaped: HTML (`<`, `>`, entities), code, emphasis, links/images, tables, strikethrough, math,
# and `:` before a non-space (URL autolinks, emoji shortcodes). `_` between two letters or digits is inert.
_MARKDOWN = re.compile(r"([\\`*\[\]|~$<>&]|:(?=\S)|(?<![^\W_])_|_(?![^\W_]))")
_REFERENCE = re.compile(r"([@#])(?=\w)|(?<![\w-])(GH)(?=-\d)", re.IGNORECASE)  # GH-12 is issue 12 too
_WWW = re.compile(r"(?i)(www)\.")


def _one_line(value: object) -> str:
    """Control, format and line-separator characters become spaces; runs of whitespace one space."""
    chars = (" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in str(value))
    return " ".join("".join(chars).split())


def text(value: object, limit: int = VALUE_CHARS) -> str:
    """`value` as one line of literal text in Markdown, a table cell or an HTML block alike."""
    plain = _one_line(value)
    if len(plain) > limit:
        plain = plain[: limit - 1] + "…"
    # References first: escaped first, "@_x" would read "@\_x" and leave its @ unmarked.
    escaped = _MARKDOWN.sub(r"\\\1", _REFERENCE.sub(lambda m: m.group(0) + ZWJ, plain))
    return _WWW.sub(r"\1\\.", escaped)


def table_code(value: object, limit: int = VALUE_CHARS) -> str:
    """`value` as an inline code span in a table cell: shown verbatim, nothing in it is interpreted."""
    plain = _one_line(value)
    if not plain:
        return ""
    if len(plain) > limit:
        plain = plain[: limit - 1] + "…"
    # GFM splits cells before code spans (`\|` is a literal `|` there); a ZWJ keeps `<!--` from reading as our marker.
    plain = _REFERENCE.sub(lambda m: m.group(0) + ZWJ, plain).replace("|", "\\|").replace("<", "<" + ZWJ)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", plain)), default=0) + 1)
    pad = " " if plain.startswith("`") or plain.endswith("`") else ""
    return f"{fence}{pad}{plain}{pad}{fence}"


def cap(head: str, body: str, tail: str, note: str, limit: int = COMMENT_CHARS) -> str:
    """head + body + tail, with the body cut at a line and `note` added when the whole would pass `limit`.

    An unclosed code fence or <details> in the kept part is closed, so the tail renders as itself."""
    whole = head + body + tail
    if len(whole) <= limit:
        return whole
    budget = limit - len(head) - len(tail) - len(note) - 64
    kept = body[: max(budget, 0)].rsplit("\n", 1)[0]
    lines = kept.splitlines()  # the report's own fences and folds start a line; escaped text never does
    closing = "\n```" if sum(line.startswith("```") for line in lines) % 2 else ""
    if sum(line.startswith("<details>") for line in lines) > sum(line.startswith("</details>") for line in lines):
        closing += "\n\n</details>"
    return head + kept + closing + "\n\n" + note + tail
