"""What a notebook shows: short reprs, self-contained escaped HTML, DataFrames of facts.

Everything comes from the offline sandbox through the public client.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

import dlnuf
from dlnuf.batch import collect
from dlnuf.display import WITHHELD_TEXT
from dlnuf.forms import DC2
from dlnuf.forms.reasons import WITHHELD
from dlnuf.records import to_frame

SNCF = "55204944776279"
PLUMBER = "31931807700017"  # every kind of evidence, all delivered
BAKERY = "80467560100012"  # URSSAF refused the attestation
SOLE_TRADER_ND = "42797966100019"  # name, trade name and street withheld on the public path
EVIDENCE = [
    dlnuf.Identity, dlnuf.TaxCertificate, dlnuf.SocialCertificate, dlnuf.RegistryExtract,
    dlnuf.Turnover, dlnuf.QualibatCertification, dlnuf.VatNumber, dlnuf.Headcount,
]


@pytest.fixture
def client() -> Iterator[dlnuf.Client]:
    with dlnuf.Client(sources=["sandbox"], cache=None) as c:
        yield c


@pytest.fixture
def authenticated() -> Iterator[dlnuf.Client]:
    with dlnuf.Client(sources=["sandbox"], cache=None, authenticated=True) as c:
        yield c


class Page(HTMLParser):
    """Every tag, attribute and text node of an HTML fragment."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.classes: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []
        self.text: list[str] = []
        self._row: tuple[str, list[str]] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        cls = dict(attrs).get("class") or ""
        self.classes += cls.split()
        if tag == "tr":
            self._row = (cls, [])
            self.rows.append(self._row)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row is not None and data.strip():
            self._row[1].append(data.strip())

    @property
    def all_text(self) -> str:
        return " ".join(self.text)


def assert_self_contained(markup: str) -> Page:
    page = Page(markup)
    assert not {"script", "link", "img", "iframe", "object", "embed", "style"} & set(page.tags)
    names = {name for name, _ in page.attrs}
    assert not names & {"src", "href", "srcset", "action"}
    assert not [name for name in names if name.startswith("on")]
    assert "url(" not in markup
    assert "@import" not in markup
    return page


# -- repr ---------------------------------------------------------------------------------


def test_identity_repr_says_name_siret_status_and_source_first(client: dlnuf.Client) -> None:
    text = repr(client.identity(SNCF))
    assert text.startswith("<Identity 55204944776279: SOCIETE NATIONALE SNCF | active | sandbox")
    assert "provenance" not in text
    assert len(text) < 120


def test_closed_and_withheld_identities(client: dlnuf.Client, authenticated: dlnuf.Client) -> None:
    assert "| closed since 1995-11-15 |" in repr(client.identity("35005144700018"))
    real_name = authenticated.identity(SOLE_TRADER_ND).legal_name
    assert real_name
    text = repr(client.identity(SOLE_TRADER_ND))
    assert f": {WITHHELD_TEXT} |" in text
    assert real_name not in text


def test_every_evidence_fact_has_a_one_line_repr(client: dlnuf.Client) -> None:
    dossier = client.collect(PLUMBER, kinds=EVIDENCE)
    assert dossier.ok, dossier.errors
    texts = {kind.__name__: repr(fact) for kind, fact in dossier.facts.items()}
    for name, text in texts.items():
        assert text.startswith(f"<{name}"), text
        assert "sandbox, fetched " in text
        assert len(text) < 160, text
        assert "\n" not in text
    social = dossier[dlnuf.SocialCertificate]
    assert f"delivered | valid {social.valid_from} to {social.valid_until} |" in texts[
        "SocialCertificate"
    ]
    assert "RCS NANTES 319 318 077" in texts["RegistryExtract"]
    assert "€ (" in texts["Turnover"]
    refused = client.get(BAKERY, dlnuf.SocialCertificate)
    assert repr(refused).startswith("<SocialCertificate: refused |")


def test_dossier_draft_and_batch_reprs(client: dlnuf.Client) -> None:
    dossier = client.collect(SNCF, kinds=[dlnuf.Identity, dlnuf.SocialCertificate, dlnuf.Turnover])
    assert repr(dossier) == (
        "<Dossier 55204944776279 SOCIETE NATIONALE SNCF: 2 fact(s) (Identity, SocialCertificate);"
        " 1 error(s) (Turnover NotFound)>"
    )
    draft = client.prefill(DC2, SNCF)
    text = repr(draft)
    assert text.startswith(f"<Draft DC2 for {SNCF}: {len(draft.values)} value(s), "
                           f"{len(draft.missing)} missing (email, phone, fax, ")
    assert len(text) < 200
    results = collect(client.many([SNCF, "not a siret", "35005144700018"]))
    assert repr(results) == "<BatchResults 3 result(s): 2 ok, 1 with errors (InvalidSiret 1)>"
    assert [repr(r) for r in results] == [
        "<BatchResult #0 55204944776279 SOCIETE NATIONALE SNCF: ok>",
        "<BatchResult #1 'not a siret': Identity InvalidSiret>",
        "<BatchResult #2 35005144700018 SCI SERGENT (closed since 1995-11-15): ok>",
    ]


# -- HTML ---------------------------------------------------------------------------------


def test_identity_card_is_self_contained_and_escaped(client: dlnuf.Client) -> None:
    identity = client.identity(SNCF)
    page = assert_self_contained(identity._repr_html_())
    assert "dlnuf-identity" in page.classes
    assert "SOCIETE NATIONALE SNCF" in page.all_text
    assert "552 049 447 76279" in page.all_text
    assert "/v4/insee/sirene/etablissements/" in page.all_text  # the source
    hostile = identity.model_copy(update={"legal_name": "<script>alert(1)</script> & co"})
    markup = hostile._repr_html_()
    assert_self_contained(markup)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in markup


def test_withheld_values_are_shown_as_withheld_never_as_values(
    client: dlnuf.Client, authenticated: dlnuf.Client
) -> None:
    full = authenticated.identity(SOLE_TRADER_ND)
    secret = [full.legal_name, full.trade_name, full.address.street_name]
    assert all(secret)
    markup = client.identity(SOLE_TRADER_ND)._repr_html_()
    page = assert_self_contained(markup)
    assert page.all_text.count("withheld (not diffusible)") >= 3  # name, trade name, address
    assert [s for s in secret if s and s in markup] == []
    draft = client.prefill(DC2, SOLE_TRADER_ND)
    withheld = [m.name for m in draft.missing if m.reason == WITHHELD]
    assert "legal_name" in withheld
    markup = draft._repr_html_()
    assert [s for s in secret if s and s in markup] == []
    rows = [cells for cls, cells in Page(markup).rows if "dlnuf-missing" in cls]
    assert sum("withheld (not diffusible)" in cells for cells in rows) == len(withheld)


def test_draft_html_is_the_form_with_sources_and_highlighted_missing_fields(
    client: dlnuf.Client,
) -> None:
    draft = client.prefill(DC2, SNCF)
    page = assert_self_contained(draft._repr_html_())
    missing = [cells for cls, cells in page.rows if "dlnuf-missing" in cls]
    found = [cells for cls, cells in page.rows[1:] if "dlnuf-missing" not in cls]
    assert len(missing) == len(draft.missing)
    assert len(found) == len(draft.values)
    for item, cells in zip(draft.missing, missing, strict=True):
        assert cells[0].startswith(item.label)
        assert cells[-1] == item.reason
    legal = next(cells for cells in found if cells[0] == "Dénomination sociale")
    assert legal[1] == "SOCIETE NATIONALE SNCF"
    assert legal[-1] == draft.describe("legal_name")


def test_dossier_html_is_a_table_of_kinds(client: dlnuf.Client) -> None:
    dossier = client.collect(SNCF, kinds=[dlnuf.Identity, dlnuf.SocialCertificate, dlnuf.Turnover])
    page = assert_self_contained(dossier._repr_html_())
    header, *rows = [cells for _, cells in page.rows]
    assert header == ["kind", "status", "validity", "value", "source"]
    by_kind = {cells[0]: cells for cells in rows}
    social = dossier[dlnuf.SocialCertificate]
    assert by_kind["SocialCertificate"][1:3] == [
        "delivered", f"valid {social.valid_from} to {social.valid_until}"
    ]
    assert by_kind["Turnover"][1] == "NotFound"
    assert by_kind["Identity"][-1].startswith("sandbox, fetched ")


def test_evidence_and_batch_html(client: dlnuf.Client) -> None:
    refused = client.get(BAKERY, dlnuf.SocialCertificate)
    page = assert_self_contained(refused._repr_html_())
    assert "refused" in page.all_text
    results = collect(client.many([SNCF, "not a siret"]))
    page = assert_self_contained(results._repr_html_())
    assert page.classes.count("dlnuf-error") == 1
    assert "InvalidSiret" in page.all_text
    assert_self_contained(results[0]._repr_html_())


# -- DataFrames ---------------------------------------------------------------------------


def test_dossier_to_pandas_has_one_row_per_fact_with_provenance(client: dlnuf.Client) -> None:
    pytest.importorskip("pandas")
    dossier = client.collect(SNCF, kinds=[dlnuf.Identity, dlnuf.SocialCertificate, dlnuf.Turnover])
    frame = dossier.to_pandas()
    assert list(frame["kind"]) == ["Identity", "SocialCertificate", "Turnover"]
    assert list(frame.columns[:5]) == ["ident", "kind", "ok", "error_type", "error"]
    assert list(frame["ok"]) == [True, True, False]
    social = frame.set_index("kind").loc["SocialCertificate"]
    assert social["valid_until"] == dossier[dlnuf.SocialCertificate].valid_until.isoformat()
    assert social["provenance.source"] == "sandbox"
    assert frame.set_index("kind").loc["Turnover", "error_type"] == "NotFound"
    assert frame.set_index("kind").loc["Identity", "address.city"] == "SAINT-DENIS"
    assert frame.columns[-1].startswith("provenance.")


def test_a_list_of_facts_to_a_frame(client: dlnuf.Client) -> None:
    pd = pytest.importorskip("pandas")
    identities = [client.identity(s) for s in (SNCF, "35005144700018", SOLE_TRADER_ND)]
    frame = to_frame(identities)
    assert list(frame["siret"]) == [SNCF, "35005144700018", SOLE_TRADER_ND]
    assert list(frame["active"]) == [True, False, True]
    assert pd.isna(frame["legal_name"].iloc[2])
    assert "legal_name" in frame["withheld"].iloc[2].split("; ")
    assert set(frame["provenance.source"]) == {"sandbox"}
