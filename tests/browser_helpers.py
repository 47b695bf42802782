"""Open a report page in headless Chromium with the network off and record what broke.

Playwright drives the system's Chromium (Debian's ``chromium`` package, which
``.ci/run`` installs); no browser is downloaded. Tests skip with a reason when
either is missing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Every image that should show a chart: decoded, with a real size on screen.
_EMPTY_IMAGES_JS = """
() => Array.from(document.images)
    .filter(img => !img.complete || img.naturalWidth === 0 ||
                   img.getBoundingClientRect().height < 20)
    .map(img => (img.alt || img.src.slice(0, 40)))
"""


@dataclass
class PageCheck:
    """What a page did when opened offline."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    empty_images: list[str] = field(default_factory=list)
    images: int = 0
    text: str = ""

    @property
    def problems(self) -> list[str]:
        return (
            [f"console: {m}" for m in self.console_errors]
            + [f"failed load: {u}" for u in self.failed_requests]
            + [f"outside request: {u}" for u in self.blocked_requests]
            + [f"empty chart: {i}" for i in self.empty_images]
        )


def chromium_or_skip() -> str:
    """Path of a Chromium binary; skip the test (with the reason) when there is none."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make setup)")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on PATH (Debian: apt-get install chromium; .ci/run does this)")


def open_offline(pages: list[Path], screenshot_dir: Path, executable: str) -> list[PageCheck]:
    """Open each page from disk with networking disabled; screenshot each one."""
    from playwright.sync_api import sync_playwright

    checks = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
            for path in pages:
                check = PageCheck()
                page = context.new_page()
                page.on(
                    "console",
                    lambda m, c=check: (
                        c.console_errors.append(m.text) if m.type == "error" else None
                    ),
                )
                page.on("pageerror", lambda e, c=check: c.console_errors.append(str(e)))
                page.on("requestfailed", lambda r, c=check: c.failed_requests.append(r.url))

                def only_local(route, c=check):
                    if route.request.url.startswith(("file:", "data:")):
                        route.continue_()
                    else:
                        c.blocked_requests.append(route.request.url)
                        route.abort()

                page.route("**/*", only_local)
                page.goto(path.resolve().as_uri(), wait_until="load")
                page.wait_for_timeout(300)
                check.images = page.evaluate("() => document.images.length")
                check.empty_images = page.evaluate(_EMPTY_IMAGES_JS)
                check.text = page.inner_text("body")
                page.screenshot(path=str(screenshot_dir / f"{path.stem}.png"), full_page=True)
                page.close()
                checks.append(check)
        finally:
            browser.close()
    return checks
