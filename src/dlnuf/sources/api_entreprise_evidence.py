"""Moved to :mod:`dlnuf.sources.api_entreprise.evidence`; this name stays for old imports."""

import sys

from .api_entreprise import evidence

sys.modules[__name__] = evidence
