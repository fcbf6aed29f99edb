"""newscontext: Wikipedia's Current Events Portal as an open, self-updating news archive."""

__version__ = "0.1.0"

from .archive import Archive  # noqa: E402  (Archive's modules read __version__)
from .settings import Settings  # noqa: E402

__all__ = ["Archive", "Settings", "__version__"]
