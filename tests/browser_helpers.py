"""Open report pages in headless Chromium with the network off and record what broke.

Each page is opened in three views: a desktop window, a phone-width window
and print emulation. In each we record console errors, requests that failed
or tried to leave the machine, charts that did not draw, and whether the page
is wider than the window (a reader on a phone would have to scroll sideways,
and a printout would be cut off). A full-page screenshot of every view is
saved for a person to look at.

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


@dataclass(frozen=True)
class View:
    """A window to open a page in."""

    name: str
    width: int
    height: int
    media: str = "screen"


# An iPhone-sized phone; for print, what fits on A4 at 96 dpi inside the
# theme's 14 mm @page margins (210 - 2 * 14 mm = 688 px; 297 mm = 1123 px).
VIEWS = (
    View("desktop", 1200, 900),
    View("phone", 390, 844),
    View("print", 688, 1017, media="print"),
)

# Every image that should show a chart: decoded, with a real size on screen.
_EMPTY_IMAGES_JS = """
() => Array.from(document.images)
    .filter(img => !img.complete || img.naturalWidth === 0 ||
                   img.getBoundingClientRect().height < 20)
    .map(img => (img.alt || img.src.slice(0, 40)))
"""

# How far the page is wider than the window, and the outermost elements that
# stick out past its right edge. Elements inside a box that scrolls or clips
# sideways are left out: a wide table scrolls inside its own box by design.
_OVERFLOW_JS = """
() => {
  const edge = window.innerWidth + 1;
  const excess = document.documentElement.scrollWidth - window.innerWidth;
  if (excess <= 1) return {excess: 0, elements: []};
  const contained = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (a === document.body) return false;
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const out = el => el.getBoundingClientRect().right > edge;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.length ? '.' + Array.from(el.classList).join('.') : '');
  const elements = Array.from(document.body.querySelectorAll('*'))
    .filter(el => out(el) && !(el.parentElement && out(el.parentElement)) && !contained(el))
    .slice(0, 5)
    .map(el => `${name(el)} (${Math.round(el.getBoundingClientRect().width)}px wide)`);
  return {excess, elements};
}
"""


@dataclass
class ViewCheck:
    """What one view of a page showed."""

    view: str
    screenshot: Path
    excess_px: int = 0  # how much wider than the window the page is
    sticking_out: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        if self.excess_px <= 0:
            return []
        culprits = ", ".join(self.sticking_out) or "no element box: overflowing text?"
        return [f"{self.view}: page is {self.excess_px}px wider than the window ({culprits})"]


@dataclass
class PageCheck:
    """What a page did when opened offline, in every view."""

    name: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    empty_images: list[str] = field(default_factory=list)
    images: int = 0
    text: str = ""
    views: dict[str, ViewCheck] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return (
            [f"console: {m}" for m in self.console_errors]
            + [f"failed load: {u}" for u in self.failed_requests]
            + [f"outside request: {u}" for u in self.blocked_requests]
            + [f"empty chart: {i}" for i in self.empty_images]
            + [p for v in self.views.values() for p in v.problems]
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
    """Open each page from disk in every view with networking disabled.

    Screenshots land in ``screenshot_dir`` as ``<page stem>--<view>.png``.
    """
    from playwright.sync_api import sync_playwright

    screenshot_dir.mkdir(parents=True, exist_ok=True)
    checks = [PageCheck(path.stem) for path in pages]
    with sync_playwright() as pw:
        # One browser for the whole run; one context per view, reused for every page.
        browser = pw.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            for view in VIEWS:
                context = browser.new_context(
                    offline=True,
                    viewport={"width": view.width, "height": view.height},
                    device_scale_factor=1,
                )
                for path, check in zip(pages, checks, strict=True):
                    _open(context.new_page(), path, view, check, screenshot_dir)
                context.close()
        finally:
            browser.close()
    return checks


def _open(page, path: Path, view: View, check: PageCheck, screenshot_dir: Path) -> None:
    """Load one page in one view and add what it showed to ``check``."""
    page.on(
        "console",
        lambda m: check.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: check.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: check.failed_requests.append(r.url))

    def only_local(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            check.blocked_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.emulate_media(media=view.media)
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    check.empty_images += [f"{i} ({view.name})" for i in page.evaluate(_EMPTY_IMAGES_JS)]
    if view.name == "desktop":
        check.images = page.evaluate("() => document.images.length")
        check.text = page.inner_text("body")
    overflow = page.evaluate(_OVERFLOW_JS)
    shot = screenshot_dir / f"{path.stem}--{view.name}.png"
    page.screenshot(path=str(shot), full_page=True)
    check.views[view.name] = ViewCheck(
        view.name, shot, excess_px=overflow["excess"], sticking_out=overflow["elements"]
    )
    page.close()
