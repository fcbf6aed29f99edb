"""Text that every output format can hold.

XML 1.0 (and so RSS, Atom and the XML pages) cannot hold most C0 control characters, lone
surrogates or U+FFFE/U+FFFF; a browser shows them as garbage. They are removed once, where
text enters the archive (parsing a day page, extracting an article), so no page, feed or
export downstream ever meets one.
"""

from __future__ import annotations

import re

# Everything outside XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF].
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (a no-op copy-free path when clean)."""
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text
