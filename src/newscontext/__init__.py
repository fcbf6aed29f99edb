"""newscontext: Wikipedia's Current Events Portal as an open, self-updating news archive."""

__version__ = "0.1.0"

from .archive import Archive
from .settings import Settings

__all__ = ["Archive", "Settings", "__version__"]
