"""Podium's settings: one class, one cached accessor."""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
