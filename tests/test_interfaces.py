"""The interfaces promised in the issues, exactly as written there, on the offline sandbox.

These are the names users code against: if one of these tests fails, a public
name or behaviour changed.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import dlnuf
from dlnuf.forms import DC1, DC2, Cerfa12156Identity, DumeEconomicOperator


@pytest.fixture
def client(tmp_path: Path) -> dlnuf.Client:
    with dlnuf.Client(sources=["sandbox"], cache=f"sqlite:///{tmp_path}/cache.db") as c:
        yield c


def test_core_interface(tmp_path: Path) -> None:
    client = dlnuf.Client(
        sources=["api_entreprise", "recherche_entreprises"],
        api_entreprise_token="...",
        recipient="13002526500013",
        context="Marché public",
        object="Consultation 2026-042",
        authenticated=False,
        insee_api_key=None,
        cache=f"sqlite:///{tmp_path}/cache.db",
        base_urls={"api_entreprise": "https://staging.entreprise.api.gouv.fr"},
    )
    assert [s.name for s in client.sources] == ["api_entreprise", "recherche_entreprises"]
    assert client.sources[0].base_url == "https://staging.entreprise.api.gouv.fr"
    client.close()
    with dlnuf.Client(sources=["sandbox"], cache=None) as offline:
        ident = offline.identity("552 049 447 76279")
    assert isinstance(ident, dlnuf.Identity)
    assert ident.siret == "55204944776279"
    for name in ("InvalidSiret", "NotFound", "RateLimited", "DlnufError"):
        assert issubclass(getattr(dlnuf, name), Exception)


async def test_async_core_interface() -> None:
    async with dlnuf.AsyncClient(sources=["sandbox"], cache=None) as c:
        ident = await c.identity("55204944776279")
    assert ident.legal_name == "SOCIETE NATIONALE SNCF"


def test_evidence_interface(client: dlnuf.Client) -> None:
    dossier = client.collect(
        "55204944776279",
        kinds=[dlnuf.Identity, dlnuf.TaxCertificate, dlnuf.SocialCertificate],
    )
    for kind in (dlnuf.Identity, dlnuf.TaxCertificate, dlnuf.SocialCertificate):
        if kind in dossier.facts:
            assert dossier.facts[kind].provenance.source == "sandbox"
        else:
            assert isinstance(dossier.errors[kind], dlnuf.DlnufError)
    assert isinstance(dossier.valid_on(datetime.date(2026, 12, 1)), dict)
    cert = client.get("418166096", dlnuf.TaxCertificate)  # a staging DGFIP SIREN
    assert cert.document is not None
    pdf: bytes = cert.document.fetch()
    assert pdf.startswith(b"%PDF")


def test_forms_interface(client: dlnuf.Client) -> None:
    assert {DC1, DC2, DumeEconomicOperator, Cerfa12156Identity}
    draft = client.prefill(DC2, "55204944776279")
    assert draft.values["legal_name"] == "SOCIETE NATIONALE SNCF"
    assert draft.values["siret"] == "55204944776279"
    names = [m.name for m in draft.missing]
    assert "email" in names
    email = next(m for m in draft.missing if m.name == "email")
    assert email.label == "Adresse électronique"
    assert email.reason
    assert draft.provenance["legal_name"].source == "sandbox"
    # A public DC2 asks the turnover (protected DGFIP data) of the company itself.
    turnover = next(m for m in draft.missing if m.name == "turnover")
    assert "authenticated" in turnover.reason
    years = [{"end": "2025-12-31", "amount": 1_000_000}]
    form = draft.complete(email="marches@example.fr", phone="+33 1 23 45 67 89", turnover=years)
    assert isinstance(form, DC2)
    assert form.legal_name == "SOCIETE NATIONALE SNCF"
    exported = client.answers.export("552049447")
    assert "marches@example.fr" in str(exported)
    assert client.prefill(DC2, "55204944776279").provenance["email"].source == "declared"
    # Told once: another form for the same company does not ask it again.
    dc1 = client.prefill(DC1, "55204944776279")
    assert {"email", "phone"}.isdisjoint(m.name for m in dc1.missing)
    assert dc1.values["email"] == "marches@example.fr"
    client.answers.erase("552049447")
    assert "marches@example.fr" not in str(client.answers.export("552049447"))


def test_batch_interface(client: dlnuf.Client) -> None:
    sirets = ["55204944776279", "not a siret", "55204944776279", "35005144700018"]
    results = list(client.many(sirets, kinds=[dlnuf.Identity]))
    assert sorted(r.index for r in results) == [0, 1, 2, 3]
    by_index = {r.index: r for r in results}
    assert isinstance(by_index[1].errors[dlnuf.Identity], dlnuf.InvalidSiret)
    assert by_index[0].siret == by_index[2].siret == "55204944776279"
    assert by_index[3].facts[dlnuf.Identity].active is False
