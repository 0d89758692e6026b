"""The signing secret is never one anyone could compute."""

from __future__ import annotations

import pytest

from config.settings import Settings


def test_without_a_signing_key_or_s3_secret_there_is_no_playback_secret() -> None:
    s = Settings(signing_key=None, s3_secret_key=None)
    with pytest.raises(ValueError, match="PODIUM_SIGNING_KEY"):
        _ = s.playback_secret
    with pytest.raises(ValueError):
        _ = s.rtmp_hook_secret


def test_the_secret_comes_from_the_signing_key_or_the_s3_secret() -> None:
    assert Settings(signing_key="k" * 32, s3_secret_key=None).playback_secret == "k" * 32
    derived = Settings(signing_key=None, s3_secret_key="s3-secret").playback_secret
    assert derived != Settings(signing_key=None, s3_secret_key="other").playback_secret
    assert "s3-secret" not in derived


def test_the_api_refuses_to_start_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.routes import health

    app = create_app()
    bare = Settings(signing_key=None, s3_secret_key=None)
    monkeypatch.setattr(health, "get_settings", lambda: bare)
    with pytest.raises(ValueError, match="PODIUM_SIGNING_KEY"), TestClient(app):
        pass
