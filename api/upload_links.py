"""The speaker's links of an upload slot, and the capability token each of them carries.

The token is an HMAC over `upload:{slot id}` and the slot's expiry (api/tokens.py), so it
opens exactly one slot, until that slot expires, and nothing else.
"""

from __future__ import annotations

from urllib.parse import quote

from api import tokens
from api.schemas import UploadPublic
from config import Settings
from ingest.uploads.errors import InvalidUploadToken
from ingest.uploads.models import UploadSlot


def _subject(slot_id: str) -> str:
    return f"upload:{slot_id}"


def token_for(secret: str, slot: UploadSlot) -> str:
    token, _ = tokens.issue(secret, _subject(slot.id), 0, now=slot.expires_at.timestamp())
    return token


def check_token(secret: str, slot_id: str, token: str | None) -> None:
    """InvalidUploadToken unless ``token`` was made for this slot (its expiry is the slot's,
    checked by the slot's own status so an expired link says so)."""
    if not tokens.verify(secret, _subject(slot_id), token, now=1.0):
        raise InvalidUploadToken("This upload link is not valid for this upload (check that it "
                                 "was copied whole).")


def page_path(slot_id: str) -> str:
    return f"/u/{slot_id}"


def tus_path(slot_id: str) -> str:
    return f"/u/{slot_id}/tus"


def transfer_path(slot_id: str, transfer_id: str) -> str:
    return f"/u/{slot_id}/tus/{transfer_id}"


def put_path(slot_id: str) -> str:
    return f"/u/{slot_id}/file"


def with_token(base: str, path: str, token: str) -> str:
    return f"{base.rstrip('/')}{path}?token={quote(token, safe='')}"


def public(slot: UploadSlot, settings: Settings) -> UploadPublic:
    """The slot as producers see it, with the three links to send the speaker."""
    token = token_for(settings.playback_secret, slot)
    base = settings.public_url
    return UploadPublic(
        id=slot.id, status=slot.status.value, title=slot.title, speaker=slot.speaker,
        language=slot.language, max_duration_s=slot.max_duration_s, created_at=slot.created_at,
        expires_at=slot.expires_at, locked=slot.locked, asset_id=slot.asset_id, error=slot.error,
        url=with_token(base, page_path(slot.id), token),
        tus_endpoint=with_token(base, tus_path(slot.id), token),
        put_url=with_token(base, put_path(slot.id), token),
    )
