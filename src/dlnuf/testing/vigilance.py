"""Suppliers whose evidence follows a clock you control, for testing supplier vigilance.

:class:`SupplierWorld` teaches a :class:`~dlnuf.testing.FakeUpstreams` the
attestation, Kbis and VAT endpoints rendered for the world's ``today`` (so a
certificate fetched in June is valid until December), with the refusals and
changes you set::

    world = SupplierWorld(fake, today=date(2026, 1, 5))
    with world.installed():
        world.refuse(siren, "SocialCertificate")
        world.change(siret, closed=date(2026, 2, 1))
        world.today += timedelta(days=30)

Each document URL names the day it was issued (``.../files/<day>/...``), so two
issues of a certificate are two different PDFs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from ..facts.base import Fact
from ..facts.evidence import RegistryExtract, SocialCertificate, TaxCertificate, VatNumber
from .companies import FakeCompany
from .evidence import FILES_URL, render
from .fake import FakeUpstreams
from .upstreams import api_entreprise as ae_fake

__all__ = ["WORLD_KINDS", "SupplierWorld"]

WORLD_KINDS: tuple[type[Fact], ...] = (TaxCertificate, SocialCertificate, RegistryExtract,
                                       VatNumber)
"""The endpoints a :class:`SupplierWorld` answers."""


class SupplierWorld:
    """Evidence of ``fake``'s companies as of :attr:`today`, with refusals and changes.

    ``files_url`` is where document URLs point (the fake serves ``/files/...``:
    mock that origin too, or use the loopback server's URL).
    """

    def __init__(self, fake: FakeUpstreams, today: date, files_url: str = FILES_URL) -> None:
        self.fake = fake
        self.today = today
        """The day the upstreams believe it is (move it forward as you please)."""
        self.files_url = files_url.rstrip("/")
        self.refused: set[tuple[str, str]] = set()
        self.vat: dict[str, str] = {}

    def refuse(self, siren: str, kind: str) -> None:
        """From now on, ``kind`` (``SocialCertificate`` or ``TaxCertificate``) is refused."""
        self.refused.add((siren, kind))

    def deliver(self, siren: str, kind: str) -> None:
        """From now on, ``kind`` is delivered again."""
        self.refused.discard((siren, kind))

    def change(self, siret: str, **changes: Any) -> FakeCompany:
        """Change a company (``closed=``, ``ceased=``, ``legal_form=``, ``address=``...)."""
        company = self.fake.get(siret)
        if company is None:
            raise KeyError(siret)
        return self.fake.add(company.with_(**changes))

    def set_vat(self, siren: str, number: str) -> None:
        """The VAT number the upstream gives from now on for ``siren``."""
        self.vat[siren] = number

    def _render(self, kind: type[Fact], company: FakeCompany) -> tuple[int, Any]:
        refused = (company.siren, kind.__name__) in self.refused
        status, payload = render(kind, company, today=self.today, refused=refused,
                                 files_url=f"{self.files_url}/{self.today.isoformat()}")
        if kind is VatNumber and company.siren in self.vat:
            payload["data"]["tva_number"] = self.vat[company.siren]
        return status, payload

    @contextmanager
    def installed(self) -> Iterator[SupplierWorld]:
        """Answer the evidence endpoints from this world (restored afterwards)."""
        from ..sources.api_entreprise import ENDPOINTS

        saved = list(ae_fake.API_ENTREPRISE_ROUTES)
        try:
            for kind in WORLD_KINDS:
                endpoint = ENDPOINTS[kind]

                def answer(company: FakeCompany, asked: str,
                           kind: type[Fact] = kind) -> tuple[int, Any]:
                    return self._render(kind, company)

                quota = (endpoint.quota.limit, endpoint.quota.period)
                for template in dict.fromkeys((endpoint.path, endpoint.template(public=True))):
                    ae_fake.register_api_entreprise(template, answer, pool=endpoint.quota.pool,
                                                    quota=quota)
            yield self
        finally:
            ae_fake.API_ENTREPRISE_ROUTES[:] = saved
