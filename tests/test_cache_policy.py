"""CachePolicy: TTL per kind, caps from validity and refresh hours, refusals, not-found."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import pytest

from dlnuf.cache import CachePolicy
from dlnuf.errors import ConfigurationError
from dlnuf.facts import Fact, Identity, Provenance

NOW = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PROVENANCE = Provenance(source="test", endpoint="/test")


class Certificate(Fact):
    """A kind with a validity end, like an RGE certificate."""

    valid_until: date | datetime | None = None
    refused: bool = False


class Attestation(Fact):
    """A kind refreshed upstream every day at 08:00 Paris time."""

    refresh_hour: ClassVar[int | None] = 8
    valid_until: date | None = None


class Yearly(Fact):
    """A kind that declares its own TTL."""

    ttl: ClassVar[timedelta | None] = timedelta(days=7)


class Plain(Fact):
    """A kind nobody configured."""


def identity() -> Identity:
    return Identity(provenance=PROVENANCE, siret="55204944776279", siren="552049447")


def test_identity_is_fresh_one_day_then_stale_thirty_more() -> None:
    assert CachePolicy().expiry(Identity, identity(), NOW) == (NOW + DAY, NOW + 31 * DAY)


def test_results_are_aware_utc_even_for_a_naive_now() -> None:
    expires_at, stale_until = CachePolicy().expiry(Identity, identity(), NOW.replace(tzinfo=None))
    assert expires_at == NOW + DAY
    assert expires_at.tzinfo == UTC
    assert stale_until.tzinfo == UTC


def test_unknown_kind_gets_the_default_ttl() -> None:
    policy = CachePolicy(default_ttl=3 * HOUR, max_stale=DAY)
    assert policy.expiry(Plain, Plain(provenance=PROVENANCE), NOW) == (
        NOW + 3 * HOUR,
        NOW + 3 * HOUR + DAY,
    )


def test_table_entry_sets_the_ttl_of_a_kind() -> None:
    policy = CachePolicy(ttl_by_kind={"Identity": 2 * HOUR})
    assert policy.expiry(Identity, identity(), NOW)[0] == NOW + 2 * HOUR


def test_ttl_declared_by_the_kind_wins_over_the_table() -> None:
    policy = CachePolicy(ttl_by_kind={"Yearly": HOUR})
    assert policy.expiry(Yearly, Yearly(provenance=PROVENANCE), NOW)[0] == NOW + 7 * DAY


def test_table_is_copied_and_read_only() -> None:
    table = {"Identity": 2 * HOUR}
    policy = CachePolicy(ttl_by_kind=table)
    table["Identity"] = HOUR
    assert policy.ttl_for(Identity) == 2 * HOUR
    with pytest.raises(TypeError):
        policy.ttl_by_kind["Identity"] = HOUR  # type: ignore[index]


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_stale"):
        CachePolicy(max_stale=-DAY)
    with pytest.raises(ConfigurationError, match="Identity"):
        CachePolicy(ttl_by_kind={"Identity": -HOUR})


# -- validity ------------------------------------------------------------------------------


def test_validity_far_ahead_does_not_shorten_anything() -> None:
    fact = Certificate(provenance=PROVENANCE, valid_until=date(2026, 1, 1))
    assert CachePolicy().expiry(Certificate, fact, NOW) == (NOW + DAY, NOW + 31 * DAY)


def test_validity_caps_expiry_and_staleness_at_the_end_of_that_day_in_paris() -> None:
    fact = Certificate(provenance=PROVENANCE, valid_until=date(2025, 1, 20))
    end = datetime(2025, 1, 20, 23, 0, tzinfo=UTC)  # midnight in Paris (UTC+1 in January)
    assert CachePolicy().expiry(Certificate, fact, NOW) == (NOW + DAY, end)


def test_validity_ending_today_caps_both() -> None:
    fact = Certificate(provenance=PROVENANCE, valid_until=date(2025, 1, 15))
    end = datetime(2025, 1, 15, 23, 0, tzinfo=UTC)
    assert CachePolicy().expiry(Certificate, fact, NOW) == (end, end)


def test_past_validity_is_never_served_not_even_stale() -> None:
    fact = Certificate(provenance=PROVENANCE, valid_until=date(2025, 1, 10))
    expires_at, stale_until = CachePolicy().expiry(Certificate, fact, NOW)
    assert expires_at == stale_until == datetime(2025, 1, 10, 23, 0, tzinfo=UTC)
    assert stale_until <= NOW


def test_validity_as_a_datetime_is_the_exact_end() -> None:
    end = NOW + 5 * HOUR
    fact = Certificate(provenance=PROVENANCE, valid_until=end)
    assert CachePolicy().expiry(Certificate, fact, NOW) == (end, end)


def test_no_validity_means_no_cap() -> None:
    fact = Certificate(provenance=PROVENANCE, valid_until=None)
    assert CachePolicy().expiry(Certificate, fact, NOW) == (NOW + DAY, NOW + 31 * DAY)


# -- refresh hour ---------------------------------------------------------------------------


def attestation(valid_until: date | None = None) -> Attestation:
    return Attestation(provenance=PROVENANCE, valid_until=valid_until)


@pytest.mark.parametrize(
    ("now", "refresh"),
    [
        # 06:00 UTC is 07:00 in Paris (winter): the refresh is in one hour, today.
        (datetime(2025, 1, 15, 6, 0, tzinfo=UTC), datetime(2025, 1, 15, 7, 0, tzinfo=UTC)),
        # Exactly 08:00 in Paris: the next refresh is tomorrow's.
        (datetime(2025, 1, 15, 7, 0, tzinfo=UTC), datetime(2025, 1, 16, 7, 0, tzinfo=UTC)),
        # Summer time: 08:00 in Paris is 06:00 UTC.
        (datetime(2025, 7, 1, 12, 0, tzinfo=UTC), datetime(2025, 7, 2, 6, 0, tzinfo=UTC)),
        # Saturday 29 March 2025 (CET); clocks go forward that night: 08:00 CEST = 06:00 UTC.
        (datetime(2025, 3, 29, 10, 0, tzinfo=UTC), datetime(2025, 3, 30, 6, 0, tzinfo=UTC)),
        # Saturday 25 October 2025 (CEST); clocks go back that night: 08:00 CET = 07:00 UTC.
        (datetime(2025, 10, 25, 10, 0, tzinfo=UTC), datetime(2025, 10, 26, 7, 0, tzinfo=UTC)),
    ],
)
def test_refresh_hour_caps_expiry_at_the_next_refresh_in_paris(
    now: datetime, refresh: datetime
) -> None:
    expires_at, stale_until = CachePolicy().expiry(Attestation, attestation(), now)
    assert expires_at == refresh
    assert stale_until == refresh + 30 * DAY


def test_refresh_hour_does_not_lengthen_a_shorter_ttl() -> None:
    policy = CachePolicy(ttl_by_kind={"Attestation": HOUR})
    assert policy.expiry(Attestation, attestation(), NOW)[0] == NOW + HOUR


def test_validity_still_caps_a_kind_with_a_refresh_hour() -> None:
    now = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    end = datetime(2025, 1, 15, 23, 0, tzinfo=UTC)
    assert CachePolicy().expiry(Attestation, attestation(date(2025, 1, 15)), now) == (end, end)


def test_an_impossible_refresh_hour_is_a_configuration_error() -> None:
    class Broken(Fact):
        refresh_hour: ClassVar[int | None] = 24

    with pytest.raises(ConfigurationError, match=r"Broken\.refresh_hour"):
        CachePolicy().expiry(Broken, Broken(provenance=PROVENANCE), NOW)


# -- refusals and not-found -------------------------------------------------------------------


def test_a_refusal_is_kept_briefly_and_never_served_stale() -> None:
    fact = Certificate(provenance=PROVENANCE, refused=True)
    assert CachePolicy().expiry(Certificate, fact, NOW) == (NOW + HOUR, NOW + HOUR)
    policy = CachePolicy(refused_ttl=10 * timedelta(minutes=1))
    assert policy.expiry(Certificate, fact, NOW)[0] == NOW + timedelta(minutes=10)


def test_not_found_is_kept_briefly_with_no_stale_period() -> None:
    assert CachePolicy().not_found_expiry(NOW) == (NOW + HOUR, NOW + HOUR)
    assert CachePolicy(not_found_ttl=5 * HOUR).not_found_expiry(NOW) == (
        NOW + 5 * HOUR,
        NOW + 5 * HOUR,
    )
