"""open_cache: every URL form, the default path, and the Redis backend as an optional module."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from dlnuf.cache import Cache, MemoryCache, SQLiteCache, default_cache_path, open_cache
from dlnuf.errors import ConfigurationError


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home, so that no test touches the real ~/.cache."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return home


def test_none_means_no_cache() -> None:
    assert open_cache(None) is None


@pytest.mark.parametrize("url", ["memory", "memory://", " MEMORY "])
def test_memory(url: str) -> None:
    cache = open_cache(url)
    assert isinstance(cache, MemoryCache)
    assert isinstance(cache, Cache)


def test_default_path_is_under_home_cache(home: Path) -> None:
    assert default_cache_path() == home / ".cache" / "dlnuf" / "cache.db"


def test_default_path_follows_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "dlnuf" / "cache.db"


def test_relative_xdg_cache_home_is_ignored(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert default_cache_path() == home / ".cache" / "dlnuf" / "cache.db"


def test_sqlite_alone_opens_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = open_cache("sqlite")
    assert isinstance(cache, SQLiteCache)
    cache.close()
    assert (tmp_path / "xdg" / "dlnuf" / "cache.db").is_file()


def test_three_slashes_is_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cache = open_cache("sqlite:///data/c.db")
    assert isinstance(cache, SQLiteCache)
    cache.close()
    assert cache.path == Path("data/c.db")
    assert (tmp_path / "data" / "c.db").is_file()


def test_four_slashes_is_an_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "c.db"
    cache = open_cache(f"sqlite:///{target}")  # target starts with "/": four slashes
    assert isinstance(cache, SQLiteCache)
    cache.close()
    assert target.is_file()


def test_tilde_is_the_home_directory(home: Path) -> None:
    cache = open_cache("sqlite:///~/dlnuf/c.db")
    assert isinstance(cache, SQLiteCache)
    cache.close()
    assert (home / "dlnuf" / "c.db").is_file()


@pytest.mark.parametrize(
    "url",
    ["", "sqlite://", "sqlite:///", "sqlite://host/c.db", "memory://x", "memcached://h:1",
     "cache.db", "file:///tmp/c.db", "redis"],
)
def test_anything_else_is_a_configuration_error_listing_the_accepted_forms(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        open_cache(url)
    message = str(info.value)
    assert "'memory'" in message
    assert "sqlite:////absolute/path.db" in message
    assert "redis://" in message


def test_a_bad_url_does_not_echo_its_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        open_cache("postgres://user:s3cr3t@db.example/cache")
    assert "s3cr3t" not in str(info.value)
    assert "db.example" in str(info.value)


def test_redis_without_its_module_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlnuf.cache.redis", None)  # makes the import fail
    with pytest.raises(ConfigurationError, match=r"pip install dlnuf\[redis\]") as info:
        open_cache("redis://:s3cr3t@localhost:6379/0")
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://cache.example:6380/1"])
def test_redis_url_goes_to_the_redis_module(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    sentinel = MemoryCache()

    class RedisCache:
        @classmethod
        def from_url(cls, given: str) -> Cache:
            opened.append(given)
            return sentinel

    module = types.ModuleType("dlnuf.cache.redis")
    module.RedisCache = RedisCache  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dlnuf.cache.redis", module)
    assert open_cache(url) is sentinel
    assert opened == [url]
