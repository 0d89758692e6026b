"""The one BCP-47 check, canonical case and primary subtag."""

from __future__ import annotations

import pytest

from ingest.languages import InvalidLanguage, canonical_language, is_language_tag, primary_subtag


@pytest.mark.parametrize(("tag", "canonical"), [
    ("en", "en"), ("EN-us", "en-US"), ("pt_br", "pt-BR"), ("zh-hant-tw", "zh-Hant-TW"),
    ("es-419", "es-419"), ("SGN-ASE", "sgn-ase"),
])
def test_canonical_language(tag: str, canonical: str) -> None:
    assert canonical_language(tag) == canonical


@pytest.mark.parametrize("tag", ["", "e", "english", "en/../x", "en-", "en--US", "en US", "1a"])
def test_canonical_language_refuses(tag: str) -> None:
    with pytest.raises(InvalidLanguage) as caught:
        canonical_language(tag)
    assert caught.value.code == "invalid_language"
    assert not is_language_tag(tag)


def test_is_language_tag_takes_any_case_but_no_underscore() -> None:
    assert [is_language_tag(t) for t in ("en", "pt-BR", "zh-Hant-TW", "pt_BR", "auto")] == [
        True, True, True, False, False]


@pytest.mark.parametrize(("tag", "primary"), [
    ("en", "en"), ("pt-BR", "pt"), ("PT_br", "pt"), ("zh-Hant-TW", "zh"),
])
def test_primary_subtag(tag: str, primary: str) -> None:
    assert primary_subtag(tag) == primary
