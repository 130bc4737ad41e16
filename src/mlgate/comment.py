"""Is an untrusted report fit to post as a PR comment, and what exactly is posted? (The comment workflow.)

The report comes from a PR run's artifact, which a fork's code wrote: it may be huge, binary or missing,
and its escaping (mlgate.report.escape) may have been replaced. GitHub rejects comments over 65,536
characters; an oversized report is not truncated but not posted. What is posted is `inert(report)`:
the bot's comment mentions no one, references no issue and runs no HTML but the report's own folds.
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_CHARS = 60_000
ZWJ = "\u200d"  # invisible: after @ or #, GitHub links no user, team or issue; after <, no tag opens
# @user, @org/team; #12, owner/repo#12 (not a colour such as #0072B2); HTML other than the report's folds
# and its marker (a fence is no shelter: GitHub and a line scanner may disagree where one ends); images;
# entities (GitHub links the decoded text: &#64; is an @); GH-12 and issue, pull request or discussion URLs
# (references too, each a cross-reference in that issue).
_ACTIVE = re.compile(
    r"(@)(?=\w)|(#)(?=\d+\b)|(<)(?!/?details>|/?summary>|!-- mlgate-report -->)(?=[a-z!/?])|(!)(?=\[)"
    r"|(&)(?=#?\w+;)|(?<![\w-])(GH)(?=-\d)|(?<=/)(issues/|pull/|pulls/|discussions/)(?=\d)",
    re.IGNORECASE,
)


def inert(report: str) -> str:
    """The report with an invisible joiner after every mention, issue reference, foreign tag, image and entity:
    it reads the same, and mlgate's own reports (already escaped) come out unchanged."""
    return _ACTIVE.sub(lambda m: m.group(0) + ZWJ, report)


def postable(report: Path, max_chars: int = MAX_CHARS) -> tuple[bool, str]:
    """(ok, why): the report exists, is UTF-8 text and at most `max_chars` characters."""
    if not report.is_file():
        return False, f"{report}: no report in the artifact: posting nothing"
    size = report.stat().st_size
    if size > 4 * max_chars:  # not even read: UTF-8 is at most 4 bytes a character
        return False, f"{report}: {size} bytes, over the {max_chars}-character limit: posting nothing"
    try:
        text = report.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False, f"{report}: not UTF-8 text: posting nothing"
    if len(text) > max_chars:
        return False, f"{report}: {len(text)} characters, over the {max_chars}-character limit: posting nothing"
    return True, f"{report}: {len(text)} characters"
