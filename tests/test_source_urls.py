"""``dlnuf.sources.url_for``: the URL a full parse gives, for any base URL, path and query."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnuf.sources import url_for

BASES = [
    "https://entreprise.api.gouv.fr",
    "https://api.insee.fr/api-sirene/3.11",
    "http://127.0.0.1:8080",
    "http://mirror.example/api/",
    "HTTPS://Example.COM:443/X",
    "http://[::1]:8000",
    "http://user:secret@mirror.example",  # credentials: the full parse keeps them
    "http://mirror.example/?tenant=a",  # a query of its own
    "http://mirror.example/a b",  # a path to encode
    "https://münchen.example",  # an IDNA host
    "http://mirror.example/a/./b/../c",  # dot segments, normalised once
]

# Every printable ASCII character and a few others: plain ones take the shortcut, the
# others must give what the full parse gives.
TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("éß€\t"),
    max_size=40,
)


def _same(got: httpx.URL, expected: httpx.URL) -> None:
    assert got == expected
    assert str(got) == str(expected)
    assert (got.scheme, got.host, got.port, got.raw_path, got.query) == (
        expected.scheme, expected.host, expected.port, expected.raw_path, expected.query
    )


@pytest.mark.parametrize("base", BASES)
def test_the_url_of_an_endpoint_is_the_full_parse(base: str) -> None:
    path = "/v3/insee/sirene/etablissements/55204944776279"
    query = "recipient=13002526500013&context=March%C3%A9+public&object=Consultation"
    _same(url_for(base, path, query), httpx.URL(f"{base}{path}?{query}"))
    _same(url_for(base, "/siret/55204944776279"), httpx.URL(f"{base}/siret/55204944776279"))


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from(BASES), path=TEXT, query=st.none() | TEXT)
def test_any_path_and_query_give_the_full_parse(base: str, path: str, query: str | None) -> None:
    path = "/" + path
    full = f"{base}{path}" + ("" if query is None else f"?{query}")
    try:
        expected = httpx.URL(full)
    except httpx.InvalidURL:
        with pytest.raises(httpx.InvalidURL):
            url_for(base, path, query)
        return
    _same(url_for(base, path, query), expected)


def test_dot_segments_are_normalised_as_httpx_does() -> None:
    base = "https://entreprise.api.gouv.fr/v3"
    _same(url_for(base, "/a/../siret/1"), httpx.URL(f"{base}/a/../siret/1"))


def test_an_invalid_base_url_fails_as_a_full_parse_does() -> None:
    with pytest.raises(httpx.InvalidURL):
        url_for("http://mirror.example:port", "/siret/1")


def test_a_request_to_the_url_goes_to_its_host_and_path() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        http.send(httpx.Request("GET", url_for("http://mirror.example:81/api", "/siret/1", "a=1")))
    assert [str(u) for u in seen] == ["http://mirror.example:81/api/siret/1?a=1"]
