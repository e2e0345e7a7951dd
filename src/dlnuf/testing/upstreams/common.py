"""What the built-in upstreams' payloads share: INSEE's diffusion codes and its mask, dates."""

from __future__ import annotations

from datetime import date

from ..companies import FakeCompany

__all__ = ["ND", "diffusion_code", "error_reason", "iso_date", "iso_time", "or_none"]

ND = "[ND]"
"""API Entreprise (public endpoints) and INSEE's mark for a withheld value."""

_DIFFUSION_CODE = {"diffusible": "O", "partiellement_diffusible": "P", "non_diffusible": "N"}


def diffusion_code(c: FakeCompany) -> str:
    """INSEE's diffusion status of ``c``: ``O``, ``P`` or ``N``."""
    return _DIFFUSION_CODE[c.diffusion]


def iso_date(day: date | None) -> str | None:
    """``2024-01-31``, or ``None``."""
    return day.isoformat() if day is not None else None


def iso_time(day: date | None) -> str | None:
    """``2024-01-31T00:00:00``, or ``None``."""
    return f"{day.isoformat()}T00:00:00" if day is not None else None


def or_none(text: str) -> str | None:
    """``text``, or ``None`` when empty."""
    return text or None


def error_reason(status: int) -> str:
    """The message of an error ``status`` in Recherche d'entreprises' and INSEE's bodies."""
    return {429: "Trop de requêtes, réessayez plus tard", 503: "Service indisponible"}.get(
        status, f"Erreur HTTP {status}"
    )
