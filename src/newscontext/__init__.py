"""newscontext: Wikipedia's Current Events Portal as an open, self-updating news archive."""

__version__ = "0.1.0"
