"""Text compared as a therapist types it: "Zoe" finds "Zoë", "Muller" finds "Müller"."""

from __future__ import annotations

import re
import unicodedata

# Combining diacritical marks (U+0300 to U+036F): what canonical decomposition splits off "é", "ë",
# "å", "ñ" or "ç".  The title search strips the same range in SQL, so a title and a search fold alike.
_DIACRITICS = re.compile("[\u0300-\u036f]")


def fold_accents(text: str) -> str:
    """``text`` decomposed without its accents: "Café" is "Cafe"; letters that do not decompose stay (ß, ø, ł).

    A name may be typed either way, and stored in either Unicode form; both must be found.
    """
    return _DIACRITICS.sub("", unicodedata.normalize("NFD", text))


def folded_key(text: str) -> str:
    """``text`` as the patient search compares it: accents folded, then case."""
    return fold_accents(text).casefold()
