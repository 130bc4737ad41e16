"""Render Mermaid blocks as GitHub does: mermaid v11 (tests/template/render/package.json) in headless Chromium.

One page per call: the blocks go in as JSON, `mermaid.render` runs on each, and the results (SVG or
the parse/render error) come back through the DOM that Chromium dumps. No network: the flags keep
Chromium from calling home, and mermaid is loaded from node_modules by file URL.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
MERMAID = HERE / "node_modules/mermaid/dist/mermaid.min.js"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",
    "--virtual-time-budget=20000",
    "--dump-dom",
]
PAGE = """<!doctype html><html><body><pre id="result">pending</pre>
<script src="{mermaid}"></script>
<script>
const blocks = {blocks};
mermaid.initialize({{startOnLoad: false}});
(async () => {{
  const out = [];
  for (const [i, text] of blocks.entries()) {{
    try {{ const {{svg}} = await mermaid.render("chart" + i, text); out.push({{ok: true, svg}}); }}
    catch (e) {{ out.push({{ok: false, error: String((e && e.message) || e)}}); }}
  }}
  document.getElementById("result").textContent = JSON.stringify(out);
}})();
</script></body></html>"""


def mermaid_blocks(markdown: str) -> list[str]:
    """The bodies of the ```mermaid fenced blocks, as GitHub hands them to mermaid."""
    return re.findall(r"^```mermaid\n(.*?)^```$", markdown, flags=re.S | re.M)


def render(blocks: list[str]) -> list[dict]:
    """[{ok: True, svg: ...} | {ok: False, error: ...}] per block, in order."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise RuntimeError("chromium not found: install Debian's chromium (.ci/install-system.sh does)")
    if not MERMAID.is_file():
        raise RuntimeError(f"{MERMAID} missing: run `npm ci` in {HERE} (.ci/install-system.sh does)")
    with tempfile.TemporaryDirectory(prefix="mlgate-mermaid-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(PAGE.format(mermaid=MERMAID.as_uri(), blocks=json.dumps(blocks)))
        dom = subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={tmp}/profile", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, flags=re.S)
    if not found or found.group(1) == "pending":
        raise RuntimeError(f"mermaid did not finish in Chromium: {dom[-300:]!r}")
    return json.loads(html.unescape(found.group(1)))
