"""Is an untrusted report fit to post as a PR comment? (The comment workflow's last check.)

The report comes from a PR run's artifact, which a fork's code wrote: it may be huge, binary or missing.
GitHub rejects comments over 65,536 characters; an oversized report is not truncated but not posted.
"""

from __future__ import annotations

from pathlib import Path

MAX_CHARS = 60_000


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
