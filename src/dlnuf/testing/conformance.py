"""A conformance test a source runs against itself: ``class TestToy(SourceConformance)``.

Subclass :class:`SourceConformance` in a test module, say which source it checks and
give it a sample answer and sample error bodies; pytest then runs every check below
(the class's ``test_*`` methods) against that source::

    from dlnuf.testing.conformance import ErrorSample, SourceConformance

    class TestToy(SourceConformance):
        source_class = Toy
        options = {"api_key": "test-key"}             # what it needs to build a request
        ident = "73282932000074"
        sample = {"id": "73282932000074", "name": "TOY SA"}   # a 200 body parse() reads
        error_samples = [ErrorSample(429, {"error": {"code": "T429"}}, RateLimited)]

What is checked: the class is a source (members, ``name``, ``provides``), it is
registered by an entry point under its name (``registered = False`` for a class
that is not), its ``Options`` are a :class:`~dlnuf.sources.SourceOptions` read from
``DLNUF_<NAME>_*`` (base URL and quota variables, secrets masked in every repr, a bad
value named without being echoed), ``request`` is pure (sends nothing, the same
request twice, under ``base_url``, never a secret in the URL), ``parse`` reads the
sample into the kind asked, the ``error`` hook maps each sample error body to its
typed error (its secrets redacted), and the quota option sets the pool.

The checks use only the public kit (:mod:`dlnuf.sources`): a source that passes them
works in ``Client(sources=[...])``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, get_args
from unittest.mock import patch

import httpx
import pytest
from pydantic import SecretStr

from ..errors import ConfigurationError, UpstreamError
from ..facts.base import Fact
from ..identifiers import parse_siret_or_siren
from ..ratelimit import Quota
from ..sources.base import ENTRY_POINT_GROUP, Source, check_source, source_error
from ..sources.options import Rate, SourceOptions, env_prefix

__all__ = ["ErrorSample", "SourceConformance"]

_SECRET = "conformance-secret-value-1234"  # noqa: S105 - a marker, not a credential
"""What every secret option is set to by the checks (then looked for where it must not be)."""


@dataclass(frozen=True)
class ErrorSample:
    """An error answer (``status``, JSON ``body``, ``headers``) and the class it must map to;
    ``code`` and ``retry_after`` are checked when given."""

    status: int
    body: Any
    expected: type[UpstreamError]
    code: str | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class SourceConformance:
    """Checks every source must pass; subclass it (its name starting with ``Test``).

    Set :attr:`source_class`; the other attributes have defaults.
    """

    source_class: ClassVar[type[Any]]
    """The source under test."""
    options: ClassVar[Mapping[str, Any]] = {}
    """Options that let it build a request (a fake key, a purpose...)."""
    registered: ClassVar[bool] = True
    """Whether an entry point registers it under its ``name`` (``False``: not checked)."""
    kind: ClassVar[type[Fact] | None] = None
    """The kind asked in the request and parse checks (default: any it provides)."""
    ident: ClassVar[str] = "73282932000074"
    """The SIRET (or SIREN) asked."""
    sample: ClassVar[Any] = None
    """A 200 JSON body ``parse`` must read into :attr:`kind` (``None``: a local source,
    which builds no request: the request and parse checks are about ``answer``)."""
    error_samples: ClassVar[Sequence[ErrorSample]] = ()
    """Error answers and the typed error each must give."""

    # -- helpers --------------------------------------------------------------------------

    def build(
        self, options: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> Any:
        """The source with :attr:`options` (and ``options``), reading only ``env``."""
        return self.source_class(options={**self.options, **(options or {})}, env=env or {})

    def asked(self) -> type[Fact]:
        """The kind the checks ask for."""
        return self.kind or sorted(self.source_class.provides, key=lambda k: k.__name__)[0]

    def secret_options(self) -> list[str]:
        """The options typed as secrets."""
        options_cls: type[SourceOptions] = self.source_class.Options
        return [
            name for name, info in options_cls.model_fields.items()
            if info.annotation is SecretStr or SecretStr in get_args(info.annotation)
        ]

    def response(self, status: int, body: Any, headers: Mapping[str, str] | None = None
                 ) -> httpx.Response:
        """An answer to the source's own request (built with every secret set)."""
        source = self.build(dict.fromkeys(self.secret_options(), _SECRET))
        request = (
            source.request(self.asked(), parse_siret_or_siren(self.ident))
            if self.sample is not None
            else httpx.Request("GET", f"{source.base_url or 'https://local.invalid'}/")
        )
        return httpx.Response(status, json=body, headers=dict(headers or {}), request=request)

    # -- the checks -----------------------------------------------------------------------

    def test_is_a_source(self) -> None:
        """Every member, a snake_case ``name``, and fact classes in ``provides``."""
        check_source(self.source_class)
        source = self.build()
        check_source(source)
        assert isinstance(source, Source)
        name = self.source_class.name
        assert isinstance(name, str), name
        assert name.isidentifier(), name
        assert name == name.lower(), name
        provides = self.source_class.provides
        assert provides, "provides is empty"
        assert all(isinstance(k, type) and issubclass(k, Fact) for k in provides), provides
        assert isinstance(source.scope, str), source.scope
        assert source.scope, "scope is empty"

    def test_registered_by_its_entry_point(self) -> None:
        """An entry point ``dlnuf.sources`` names this very class under its ``name``."""
        if not self.registered:
            return
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP)
                 if ep.name == self.source_class.name]
        assert found, (
            f"no entry point {self.source_class.name!r} in the group {ENTRY_POINT_GROUP!r}: "
            "add it to pyproject.toml, then `pip install -e .` again"
        )
        assert found[0].load() is self.source_class

    def test_options_read_their_variables(self) -> None:
        """``Options`` is a :class:`SourceOptions`; ``DLNUF_<NAME>_URL`` sets the base URL
        and ``DLNUF_<NAME>_QUOTA`` (when it has that option) the quota."""
        options_cls = self.source_class.Options
        assert issubclass(options_cls, SourceOptions)
        name = self.source_class.name
        prefix = env_prefix(name)
        if self.sample is not None:
            assert self.build().base_url, "a source that sends requests needs a default base_url"
            source = self.build(env={prefix + "URL": "https://mirror.example.org/api/"})
            assert source.base_url == "https://mirror.example.org/api"
        if "quota" in options_cls.model_fields:
            source = self.build(env={prefix + "QUOTA": "123/min"})
            assert source.quota(self.asked()) == Quota(name, 123, 60.0)

    def test_a_bad_option_is_named_not_echoed(self) -> None:
        """A bad value raises ConfigurationError naming the variable, never the value."""
        options_cls = self.source_class.Options
        prefix = env_prefix(self.source_class.name)
        option = "quota" if "quota" in options_cls.model_fields else "no_such_option"
        bad = "fast-" + _SECRET
        env, given = ({prefix + "QUOTA": bad}, {}) if option == "quota" else ({}, {option: bad})
        with pytest.raises(ConfigurationError) as caught:
            self.build(given, env=env)
        said = str(caught.value)
        assert option in said, said
        if option == "quota":
            assert prefix + "QUOTA" in said, said
        assert _SECRET not in said, "the bad value was echoed"

    def test_secrets_are_masked(self) -> None:
        """Every secret option is a SecretStr, read from its variable, never in a repr."""
        secrets = self.secret_options()
        source_env = {
            self.source_class.Options.variable(self.source_class.name, name): _SECRET
            for name in secrets
        }
        others = {k: v for k, v in self.options.items() if k not in secrets}
        source = self.source_class(options=others, env=source_env)
        for name in secrets:
            value = getattr(source.options, name)
            assert isinstance(value, SecretStr), f"{name} is not read as a SecretStr"
            assert value.get_secret_value() == _SECRET, f"{name} is not read from its variable"
        for shown in (repr(source), repr(source.options), str(source.options)):
            assert _SECRET not in shown, "a secret is shown"

    def test_request_is_pure(self) -> None:
        """``request`` sends nothing: the same request twice, under ``base_url``, with no
        secret in its URL (a local source answers through ``answer`` instead)."""
        source = self.build(dict.fromkeys(self.secret_options(), _SECRET))
        if self.sample is None:
            assert callable(getattr(source, "answer", None)), "a source without a sample " \
                "must be local (answer()); give `sample` for an HTTP source"
            return
        ident = parse_siret_or_siren(self.ident)
        with (
            patch.object(httpx.HTTPTransport, "handle_request", _refuse),
            patch.object(httpx.AsyncHTTPTransport, "handle_async_request", _refuse),
        ):
            first = source.request(self.asked(), ident)
            second = source.request(self.asked(), ident)
        assert isinstance(first, httpx.Request)
        assert (first.method, first.url, first.content) == (second.method, second.url,
                                                            second.content)
        assert str(first.url).startswith(source.base_url)
        assert _SECRET not in str(first.url)

    def test_parse_reads_the_sample(self) -> None:
        """``parse`` turns the sample into the kind asked, with this source's provenance."""
        if self.sample is None:
            return
        source = self.build(dict.fromkeys(self.secret_options(), _SECRET))
        fact = source.parse(
            self.asked(), parse_siret_or_siren(self.ident), self.response(200, self.sample)
        )
        assert isinstance(fact, self.asked())
        assert fact.provenance.source == source.name

    def test_error_hook_maps_the_samples(self) -> None:
        """Each sample error answer gives its typed error, about this source, redacted."""
        source = self.build(dict.fromkeys(self.secret_options(), _SECRET))
        for sample in self.error_samples:
            response = self.response(sample.status, sample.body, sample.headers)
            hook = getattr(source, "error", None)
            if hook is not None:
                found = hook(response)
                assert found is None or isinstance(found, UpstreamError)
            error = source_error(source, response)
            assert type(error) is sample.expected, (sample, error)
            assert error.source == source.name, error.source
            assert error.status == sample.status, error.status
            if sample.code is not None:
                assert error.code == sample.code
            if sample.retry_after is not None:
                assert error.retry_after == sample.retry_after
            assert _SECRET not in str(error), "a secret is in the error's message"
            assert _SECRET not in repr(error), "a secret is in the error's repr"

    def test_quota_is_an_option(self) -> None:
        """Every kind has a quota pool; the ``quota`` option (when there is one) sets it."""
        source = self.build()
        for kind in self.source_class.provides:
            assert isinstance(source.quota(kind), Quota)
        if "quota" in self.source_class.Options.model_fields:
            faster = self.build({"quota": "1000/s"})
            assert faster.quota(self.asked()) == Rate(1000, 1.0).quota(source.name)


def _refuse(transport: object, request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"request() sent {request.method} {request.url.path}")
