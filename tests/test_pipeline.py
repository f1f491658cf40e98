"""Pure wiring helpers: stable shares of the accounts for a CI matrix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from generator.pipeline import in_shard

slugs = st.lists(
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True), unique=True, max_size=60
)


@given(slugs, st.integers(min_value=1, max_value=12))
def test_shards_split_the_accounts_exactly_once(names: list[str], count: int) -> None:
    for name in names:
        owners = [k for k in range(1, count + 1) if in_shard(name, (k, count))]
        assert len(owners) == 1


def test_a_thousand_accounts_spread_evenly_over_four_runners() -> None:
    names = [f"account-{i:04d}" for i in range(1000)]
    sizes = [sum(in_shard(n, (k, 4)) for n in names) for k in range(1, 5)]
    assert sum(sizes) == 1000
    assert min(sizes) > 200 and max(sizes) < 300
