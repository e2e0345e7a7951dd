"""Loader for the operator's contract payloads (``../shared/contracts/api-entreprise``).

Each endpoint directory holds YAML files (``*.yaml`` or ``*.yml``) with ``params``
(the path parameters), ``status`` (HTTP status) and ``payload`` (the JSON body, as
a string). Contract tests parametrise over :func:`load_cases`::

    from contracts import API_ENTREPRISE, load_cases

    CASES = load_cases(API_ENTREPRISE / "api_entreprise_v4_insee_etablissements")
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["API_ENTREPRISE", "Case", "load_cases"]

API_ENTREPRISE = Path(__file__).resolve().parents[1].parent / "shared" / "contracts" / (
    "api-entreprise"
)
"""The API Entreprise contracts, in ../shared beside the repo root."""


@dataclass(frozen=True)
class Case:
    """One contract file: what was asked (``params``), the status and the decoded payload."""

    name: str
    params: dict[str, str]
    status: int
    payload: dict[str, Any]
    path: Path
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def load_cases(endpoint_dir: Path) -> list[Case]:
    """Every ``*.yaml`` and ``*.yml`` case of ``endpoint_dir``, sorted by file name.

    Raises ``FileNotFoundError`` when the directory is missing or empty (a
    contract test must never pass by having nothing to check).
    """
    folder = Path(endpoint_dir)
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise FileNotFoundError(f"no contract cases in {endpoint_dir}")
    cases = []
    for path in files:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        payload = raw["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        if not isinstance(payload, dict):
            raise ValueError(f"{path}: payload is not a JSON object")
        known = {"params", "status", "payload", "description"}
        cases.append(
            Case(
                name=path.stem,
                params={str(k): str(v) for k, v in (raw.get("params") or {}).items()},
                status=int(raw["status"]),
                payload=payload,
                path=path,
                description=str(raw.get("description") or ""),
                extra={k: v for k, v in raw.items() if k not in known},
            )
        )
    return cases
