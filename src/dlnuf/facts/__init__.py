"""Canonical models of the facts dlnuf knows about a company.

The model class *is* the kind: ``client.get(siret, Identity)`` returns an
:class:`Identity`. Every fact carries its :class:`Provenance`.
"""

from .base import Fact, Level, Provenance, utcnow
from .identity import Address, Diffusion, Identity

__all__ = ["Address", "Diffusion", "Fact", "Identity", "Level", "Provenance", "utcnow"]
