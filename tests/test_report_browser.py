"""The report page in a real headless Chromium (Debian's ``chromium`` package): it loads from disk
without console errors and shows the table and every figure.

A copy of the page with a small probe script is opened next to the original (so relative image
paths resolve): the probe records every error event (scripts, failed image loads) and, on load,
writes the image count and how many decoded (naturalWidth > 0) into the DOM that ``--dump-dom``
prints. Chromium's own console log (``--enable-logging=stderr``) must show no message from the page.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from benchmark.report import write_report
from tests.report_fixtures import make_messy_run

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(e.target && e.target.src ? 'failed to load ' + e.target.src
                                                        : String(e.message)), true);
const original = console.error;
console.error = (...args) => { window.__errors.push(args.join(' ')); original(...args); };
window.addEventListener('load', () => {
  const images = [...document.images];
  const probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify({images: images.length,
    decoded: images.filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute('src')),
    tables: document.querySelectorAll('table').length, errors: window.__errors});
  document.body.appendChild(probe);
});
</script>"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        message = "no Chromium on PATH; install Debian's package: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.mark.timeout(180)
def test_report_page_loads_in_headless_chromium(tmp_path):
    chromium = _chromium()
    page = write_report([make_messy_run(tmp_path / "run")])
    html = page.read_text()
    checked = page.with_name("_probe.html")
    checked.write_text(html.replace("<head>", "<head>\n" + PROBE, 1))
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                           "--virtual-time-budget=5000", "--dump-dom", checked.as_uri()],
                          capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, "the page did not finish loading: " + done.stdout[-500:]
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    expected = re.findall(r'<img src="([^"]+)"', html)
    assert len(expected) == 3          # CD diagram, resources, anytime curves on iris
    assert probe["errors"] == []
    assert probe["images"] == len(expected) and sorted(probe["decoded"]) == sorted(expected)
    assert probe["tables"] >= 6
    assert 'id="paper-table"' in done.stdout and "0.8720 ± 0.0016" in done.stdout
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
