"""Chromium for the browser tests: Debian's build and how it is launched (the `browser`
fixture is in conftest.py), the widths pages are looked at, and text contrast (WCAG 2)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Elements -> [what, text colour, colour of the nearest opaque background behind it (its
# own or an ancestor's)], for `page.eval_on_selector_all`; `f"els => ({COLOURS})(FILTER)"`
# measures only the elements an expression on `els` keeps.
COLOURS = """els => els.map(el => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  let back = el;
  while (back && rgb(getComputedStyle(back).backgroundColor)[3] === 0) back = back.parentElement;
  const bg = back ? getComputedStyle(back).backgroundColor : "rgb(255, 255, 255)";
  return [el.tagName + "." + el.className, rgb(getComputedStyle(el).color), rgb(bg)];
})"""


def contrast(rgb1: list[float], rgb2: list[float]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""
    def luminance(rgb: list[float]) -> float:
        parts = [c / 255 for c in rgb]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(rgb1), luminance(rgb2)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def low_contrast(found: list) -> set[tuple[str, float]]:
    """Of `COLOURS`' rows, the texts that read below 4.5:1 on their background, with the
    ratio."""
    return {(what, round(contrast(fg[:3], bg[:3]), 2)) for what, fg, bg in found
            if contrast(fg[:3], bg[:3]) < 4.5}
