"""Test your code that uses dlnuf: fake companies and fake upstreams, offline.

* :func:`make_company` / :class:`FakeCompany`: companies of every kind (active,
  closed, association, sole trader diffusible or not...) with valid identifiers;
* :class:`FakeUpstreams`: Recherche d'entreprises, API Entreprise and INSEE Sirene
  answering in their real payload shapes, with their quotas, fault injection and
  request counters;
* the pytest fixture ``dlnuf_fake`` (registered by installing dlnuf) fakes them all
  for one test; ``python -m dlnuf.testing.server`` serves them over real HTTP.

See ``docs/testing.md``.
"""

from .companies import (
    KINDS,
    FakeAddress,
    FakeCompany,
    FakePerson,
    make_companies,
    make_company,
    make_siren,
    make_siret,
)
from .fake import BASE_URLS, DEFAULT_QUOTAS, SOURCES, FakeUpstreams
from .payloads import register_api_entreprise

__all__ = [
    "BASE_URLS",
    "DEFAULT_QUOTAS",
    "KINDS",
    "SOURCES",
    "FakeAddress",
    "FakeCompany",
    "FakePerson",
    "FakeUpstreams",
    "make_companies",
    "make_company",
    "make_siren",
    "make_siret",
    "register_api_entreprise",
]
