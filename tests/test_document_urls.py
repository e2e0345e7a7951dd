"""Document downloads: the URL policy (every hop) and the size cap, over real loopback HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

import dlnuf
from dlnuf.cache import MemoryCache
from dlnuf.documents import document_key
from dlnuf.errors import ConfigurationError, RefusedUrl, ResponseTooLarge
from dlnuf.facts.evidence import Document
from dlnuf.testing.hostile import Hostile, raw, redirect
from dlnuf.urlpolicy import UrlPolicy, is_local_host

PDF = b"%PDF-1.4 a small certificate"


def _client(**given: object) -> dlnuf.Client:
    return dlnuf.Client(sources=["sandbox"], cache=MemoryCache(), **given)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.org/doc.pdf", "not https"),
        ("https://127.0.0.1/doc.pdf", "non-public address 127.0.0.1"),
        ("https://169.254.169.254/latest/meta-data", "non-public address 169.254.169.254"),
        ("https://10.1.2.3/doc.pdf", "non-public address 10.1.2.3"),
        ("https://[::1]/doc.pdf", "non-public address ::1"),
        ("https://localhost/doc.pdf", "non-public address"),
    ],
)
def test_a_document_url_outside_the_default_policy_is_refused(url: str, why: str) -> None:
    with _client() as client, pytest.raises(RefusedUrl, match=why) as caught:
        client.fetch_document(Document(url=url + "?X-Amz-Signature=secret"))
    assert "secret" not in str(caught.value)
    assert "document_urls" in str(caught.value)  # says how to widen it


def test_a_redirect_hop_to_a_private_address_is_refused(origin: Hostile, foreign: Hostile) -> None:
    """The first URL is allowed (its host listed), the hop to another origin host is not."""
    foreign.route("/doc.pdf", raw(PDF, content_type="application/pdf"))
    origin.route("/start.pdf", redirect(f"{foreign.url}/doc.pdf"))
    with _client(document_urls="public-https,127.0.0.1") as client, pytest.raises(
        RefusedUrl, match=r"127\.0\.0\.2"
    ):
        client.fetch_document(Document(url=f"{origin.url}/start.pdf"))
    assert foreign.seen == []


def test_a_local_base_url_allows_its_own_host(origin: Hostile) -> None:
    """A fake server on loopback, configured as a source's base URL, serves documents."""
    origin.route("/doc.pdf", raw(PDF, content_type="application/pdf"))
    with _client(base_urls={"api_entreprise": origin.url}) as client:
        assert client.fetch_document(Document(url=f"{origin.url}/doc.pdf")) == PDF


def test_a_followed_hop_within_the_policy_sends_no_credential(
    origin: Hostile, foreign: Hostile
) -> None:
    foreign.route("/doc.pdf", raw(PDF, content_type="application/pdf"))
    origin.route("/start.pdf", redirect(f"{foreign.url}/doc.pdf"))
    with _client(document_urls="any") as client:
        assert client.fetch_document(Document(url=f"{origin.url}/start.pdf")) == PDF
    assert all("authorization" not in h for h in foreign.headers_seen())


def test_a_document_over_the_cap_is_dropped_and_not_kept(origin: Hostile) -> None:
    origin.route("/big.pdf", raw(b"%PDF" + b"0" * 300_000, content_type="application/pdf"))
    document = Document(url=f"{origin.url}/big.pdf")
    with _client(document_urls="any", max_document_bytes=100_000) as client:
        with pytest.raises(ResponseTooLarge, match="max_document_bytes"):
            client.fetch_document(document)
        assert client.cache is not None
        assert client.cache.get(document_key(document)) is None


def test_the_async_client_applies_the_same_policy(origin: Hostile) -> None:
    origin.route("/doc.pdf", raw(PDF, content_type="application/pdf"))

    async def run() -> None:
        async with dlnuf.AsyncClient(sources=["sandbox"], cache=None) as client:
            with pytest.raises(RefusedUrl, match="not https"):
                await client.fetch_document(Document(url=f"{origin.url}/doc.pdf"))

    asyncio.run(run())


def test_the_policy_setting_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="document_urls"):
        UrlPolicy.parse("everything")
    policy = UrlPolicy.parse("https, Files.Example.org")
    assert policy.mode == "https"
    assert "files.example.org" in policy.hosts
    policy.check(httpx.URL("http://files.example.org/a.pdf"))  # listed: allowed
    assert is_local_host("127.0.0.5")
    assert not is_local_host("entreprise.api.gouv.fr")


def test_download_names_come_from_the_kind_siret_and_date_never_the_url(
    origin: Hostile, tmp_path: Path
) -> None:
    """`dlnuf evidence --download`: hostile URLs (NUL, newline, backslashes, 300 characters)
    neither abort the foreign downloads nor shape a file name."""
    from dlnuf.cli.evidence import _download
    from dlnuf.dossier import Dossier
    from dlnuf.facts import Provenance, Qualification, RgeCertification
    from dlnuf.identifiers import Siret

    origin.route("*", raw(PDF, content_type="application/pdf"))
    names = ["a%00b.pdf", "line%0Abreak.pdf", "..%5C..%5Cevil.pdf", "x" * 300 + ".pdf"]
    fact = RgeCertification(
        details=tuple(
            Qualification(code=str(90 + i), document=Document(url=f"{origin.url}/{name}"))
            for i, name in enumerate(names)
        ),
        provenance=Provenance(source="api_entreprise", endpoint="/v3/ademe/x"),
    )
    siret = Siret("55204944776279")
    dossier = Dossier(siret, facts={RgeCertification: fact})
    folder = tmp_path / "out"
    with _client(document_urls="any") as client:
        saved = _download(client, dossier, folder)
    files = sorted(p.name for p in folder.iterdir())
    day = f"{fact.provenance.fetched_at:%Y-%m-%d}"
    assert files == sorted(
        f"RgeCertification-{siret}-{day}{'' if n == 1 else f'-{n}'}.pdf" for n in range(1, 5)
    )
    assert all((folder / name).read_bytes() == PDF for name in files)
    assert len(saved["RgeCertification"]) == 4
    assert list(tmp_path.iterdir()) == [folder]  # nothing escaped the folder


def test_reserved_names_are_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """``*.invalid`` (the sandbox's in-process host) never resolves and ``*.localhost`` is
    loopback (RFC 6761): neither costs a DNS query, so offline runs stay offline."""
    import socket

    looked_up: list[str] = []

    def refuse(host: str, *args: object, **kwargs: object) -> list[object]:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "offline")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    policy = UrlPolicy.parse("public-https")
    policy.check(httpx.URL("https://sandbox.dlnuf.invalid/files/a.pdf"))
    with pytest.raises(RefusedUrl, match=r"127\.0\.0\.1"):
        policy.check(httpx.URL("https://app.localhost/a.pdf"))
    assert looked_up == []
    with _client() as client:  # the sandbox's documents are fetched without DNS
        fact = client.get("31931807700017", dlnuf.SocialCertificate)
        assert fact.document is not None
        assert fact.document.fetch().startswith(b"%PDF")
    assert looked_up == []
