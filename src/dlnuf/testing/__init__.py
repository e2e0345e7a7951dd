"""Test your code that uses dlnuf: fake companies and fake upstreams, offline.

* :func:`make_company` / :class:`FakeCompany`: companies of every kind (active,
  closed, association, sole trader diffusible or not...) with valid identifiers;
* :class:`FakeUpstreams`: Recherche d'entreprises, API Entreprise and INSEE Sirene
  answering in their real payload shapes, with their quotas, fault injection and
  request counters;
* the pytest fixture ``dlnuf_fake`` (registered by installing dlnuf) fakes them all
  for one test; ``python -m dlnuf.testing.server`` serves them over real HTTP;
* :mod:`dlnuf.testing.upstreams`: one fake per upstream (its paths, payloads and
  error bodies), found through the entry points ``dlnuf.fakes``, so that a package
  shipping a source ships its fake too.

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
from .upstreams.api_entreprise import api_entreprise_quotas, register_api_entreprise

__all__ = [
    "BASE_URLS",
    "DEFAULT_QUOTAS",
    "KINDS",
    "SOURCES",
    "FakeAddress",
    "FakeCompany",
    "FakePerson",
    "FakeUpstreams",
    "api_entreprise_quotas",
    "make_companies",
    "make_company",
    "make_siren",
    "make_siret",
    "register_api_entreprise",
]
