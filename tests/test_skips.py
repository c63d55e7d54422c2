"""The only skips in the test suite are what a user must supply: files, and the browser.

A package the tests need is in the ``dev`` extra, and a feature of the supported platform
(Linux, with torch.distributed) is tested, not skipped: a missing piece fails, visibly. The
HTML report's browser tests need Debian's `chromium`, a system package that pip cannot bring;
`.ci/run` installs it, so CI runs them.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SKIP = re.compile(r"pytest\.skip\b|importorskip|\.skipif\b|mark\.skip\b|\bxfail\b")
#: where a skip is allowed: a dataset whose file the user supplies is absent (the skip names it)
USER_FILE_SKIPS = {"test_datasets_registry.py"}
#: skip lines allowed elsewhere, by file: the system browser a user installs
USER_SYSTEM_SKIPS = {"test_report_html_browser.py": "Chromium is not installed"}


def test_no_test_is_skipped_except_for_a_missing_user_file():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name in USER_FILE_SKIPS or path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SKIP.search(line) and USER_SYSTEM_SKIPS.get(path.name, "\0") not in line:
                found.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
