"""Cover pictures: an article's og:image fetched once, politely, and kept as one small copy.

A publisher's picture is untrusted input like the page that named it: it may be huge (in
bytes or, worse, in pixels: a small PNG can declare a 100,000 x 100,000 canvas), truncated,
an HTML page or an SVG served as `image/jpeg`, CMYK, animated, sideways with an EXIF
orientation, or full of metadata (GPS, camera serials). So it is fetched through
`fetch.Fetcher` (robots.txt, per-host limits, SSRF guard, a byte cap, image types only),
decoded only by the raster formats news sites use, refused before decoding when it declares
more pixels than `image_max_pixels`, and re-encoded: at most COPY_WIDTH pixels wide (never
upscaled), upright, in sRGB, the first frame only, as WebP with no metadata. The copy is
what the site serves (with its width and height, so pages do not shift as it loads).

Nothing here raises for a bad picture: `fetch_image` returns how it ended, and a failed
picture never fails its article or the crawl.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from ..settings import Settings
from ..store.articles import ImageCopy
from .fetch import Fetcher, Outcome

__all__ = [
    "COPY_TYPE", "COPY_WIDTH", "IMAGE_TYPES", "RETRY", "ImageResult", "Unreadable",
    "fetch_image", "small_copy",
]

# Wide enough for the page's column on a phone at 2x and on a desktop at 1x; a 640 px WebP
# of a news photo is 20-60 kB.
COPY_WIDTH = 640
# A copy no taller than this many widths: an infographic strip stays readable, not huge.
MAX_ASPECT = 2.5
# WebP quality: 75 is libwebp's default and where artefacts stop showing in photos.
QUALITY = 75
COPY_TYPE = "image/webp"
# A picture smaller than this on either side is a tracking pixel or an icon, not a cover.
MIN_SIDE = 48
# What news sites serve as og:image; Pillow reads nothing else (no EPS through Ghostscript,
# no PSD, no formats of other trades).
IMAGE_TYPES = ("image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp",
               "image/gif")
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# Outcomes worth another try on a later crawl (a server that was down, a timeout); others
# (gone, refused, not a picture) are final.
RETRY = ("timeout", "error")
MAX_ATTEMPTS = 3
# Statuses of pictures that are not pictures we can use.
NOT_IMAGE = "not_image"
UNREADABLE = "unreadable"
TOO_SMALL = "too_small"
TOO_LARGE = "too_large"
STORED = "stored"


class Unreadable(Exception):
    """A picture that cannot be made into a copy; the message says why."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ImageResult:
    """How fetching one picture ended: `copy` when it was made, the size of the picture as
    served when it could be read."""

    url: str
    status: str
    width: int | None = None
    height: int | None = None
    copy: ImageCopy | None = None
    message: str | None = None


def small_copy(data: bytes, max_pixels: int, width: int = COPY_WIDTH,
               quality: int = QUALITY) -> tuple[ImageCopy, tuple[int, int]]:
    """The site's copy of a picture, and the picture's own size (upright). Raises
    `Unreadable` for anything that is not a picture we can safely read."""
    try:
        with warnings.catch_warnings():
            # Pillow warns of a decompression bomb below its own hard limit: an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _small_copy(data, max_pixels, width, quality)
    except Unreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Unreadable(TOO_LARGE, f"too many pixels ({exc})") from None
    except Image.UnidentifiedImageError:
        raise Unreadable(NOT_IMAGE, "not a JPEG, PNG, WebP or GIF picture") from None
    except MemoryError:
        raise Unreadable(TOO_LARGE, "too large to decode") from None
    except Exception as exc:  # a decoder's complaint about bad data, whatever its class
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise Unreadable(UNREADABLE, f"cannot decode it: {reason}") from None


def _small_copy(data: bytes, max_pixels: int, width: int, quality: int
                ) -> tuple[ImageCopy, tuple[int, int]]:
    with Image.open(io.BytesIO(data), formats=FORMATS) as probe:
        _check_size(probe.size, max_pixels)  # from the header, before any pixel is decoded
        probe.verify()  # the file's structure (PNG chunk checksums, ...)
    with Image.open(io.BytesIO(data), formats=FORMATS) as image:
        turned = image.getexif().get(0x0112) in (5, 6, 7, 8)  # Orientation: a quarter turn
        served = image.size[::-1] if turned else image.size
        target = _fit(served, width)
        if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale where that suffices
            image.draft(None, target[::-1] if turned else target)
        image.seek(0)  # an animation: its first frame
        image.load()
        icc = image.info.get("icc_profile")
        frame = ImageOps.exif_transpose(image)
    frame = _to_srgb(frame, icc)
    if frame.size != target:
        frame = frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    frame.info = {}  # no EXIF, XMP or ICC profile in the copy: it is sRGB, upright, anonymous
    out = io.BytesIO()
    frame.save(out, "WEBP", quality=quality, method=4)
    content = out.getvalue()
    copy = ImageCopy(hashlib.sha256(content).hexdigest(), content, COPY_TYPE, *frame.size)
    return copy, served


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w * h > max_pixels:
        raise Unreadable(TOO_LARGE, f"{w:,} x {h:,} pixels, more than the {max_pixels:,} a "
                                    "picture may have (NEWSCONTEXT_IMAGE_MAX_PIXELS)")
    if min(w, h) < MIN_SIDE:
        raise Unreadable(TOO_SMALL, f"{w} x {h} pixels: an icon or a tracking pixel")


def _fit(size: tuple[int, int], width: int) -> tuple[int, int]:
    """The copy's size: at most `width` wide and MAX_ASPECT widths tall, never larger than
    the picture, its proportions kept."""
    w, h = size
    scale = min(1.0, width / w, width * MAX_ASPECT / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB, or RGBA where the picture has transparency, in sRGB: an embedded colour profile
    (Adobe RGB, Display P3, a CMYK press profile) is applied, since the copy has none."""
    alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if alpha else "RGB"
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
                image = image.convert(mode)
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"),
                outputMode="RGBA" if image.mode == "RGBA" else "RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the pixels as they are
    if image.mode == "I;16" or image.mode == "I":  # 16-bit greyscale PNGs
        image = image.point(lambda v: v / 256).convert("L")
    return image if image.mode == mode else image.convert(mode)


async def fetch_image(fetcher: Fetcher, url: str, settings: Settings) -> ImageResult:
    """Fetch a picture politely and make its copy (decoding runs in a worker thread: it
    is CPU work)."""
    result = await fetcher.fetch(url, accept=IMAGE_TYPES, max_bytes=settings.image_max_bytes)
    if not result.ok or result.content is None:
        status = NOT_IMAGE if result.outcome is Outcome.NOT_HTML else str(result.outcome)
        return ImageResult(url, status, message=result.message)
    try:
        copy, (width, height) = await asyncio.to_thread(
            small_copy, result.content, settings.image_max_pixels)
    except Unreadable as exc:
        return ImageResult(url, exc.status, message=str(exc))
    return ImageResult(url, STORED, width, height, copy)
