"""Language tags (BCP-47, RFC 5646): the one check, the canonical case and the primary subtag."""

from __future__ import annotations

import re

from ingest.errors import InvalidInput

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
"""A primary language subtag and up to three subtags (script, region, variant): the tags
players, Whisper and people use, without the rarely seen extensions and private use."""


class InvalidLanguage(InvalidInput):
    code = "invalid_language"


def is_language_tag(tag: str) -> bool:
    """Whether ``tag`` has the shape of a BCP-47 tag like `en` or `pt-BR` (any case)."""
    return _LANGUAGE_TAG.fullmatch(tag) is not None


def canonical_language(tag: str) -> str:
    """A BCP-47 tag in its conventional case (`pt-br` → `pt-BR`); InvalidLanguage otherwise.

    Underscores (`pt_BR`, as locales write them) are read as dashes.
    """
    tag = tag.strip().replace("_", "-")
    if not is_language_tag(tag):
        raise InvalidLanguage(f"{tag[:20]!r} is not a BCP-47 language tag like 'en' or 'pt-BR'.")
    primary, *rest = tag.split("-")
    parts = [primary.lower()]
    for part in rest:
        if (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            parts.append(part.upper())  # region
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script
        else:
            parts.append(part.lower())
    return "-".join(parts)


def primary_subtag(tag: str) -> str:
    """The language itself, lower case: `pt` of `pt-BR` (and of `pt_BR`)."""
    return tag.replace("_", "-").split("-", 1)[0].lower()


AUTO = "auto"
"""The language of an asset or upload slot whose speech recognition detects what is spoken."""
UNDETERMINED = "und"
"""ISO 639's tag for a language not (yet) known: a failed detection's track."""


def asset_language(tag: str) -> str:
    """A language field of an upload or slot: `auto`, or a BCP-47 tag in canonical case."""
    return AUTO if tag.strip().lower() == AUTO else canonical_language(tag)
