from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from disbench.config import build_config, convert_value, parse_set_options
from disbench.errors import UsageError
from disbench.registry import Registry, unknown_name_message


@dataclass
class Example:
    steps: int = 10
    rate: float = 0.5
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, ...] = (1, 2)
    name: Optional[str] = None


def test_strings_convert_to_declared_types():
    config = build_config(Example, {"steps": "1e3", "rate": "2", "flag": "yes", "mode": "b", "sizes": "4,5,6"}, "x")
    assert config == Example(steps=1000, rate=2.0, flag=True, mode="b", sizes=(4, 5, 6))


def test_scalar_where_a_list_is_expected_is_a_list_of_one():
    assert build_config(Example, {"sizes": 256}, "x").sizes == (256,)
    assert build_config(Example, {"sizes": "256"}, "x").sizes == (256,)


def test_optional_accepts_none():
    assert build_config(Example, {"name": "none"}, "x").name is None
    assert build_config(Example, {"name": "abc"}, "x").name == "abc"


@pytest.mark.parametrize(
    "values, fragment",
    [
        ({"stesp": "3"}, "unknown key 'stesp'"),
        ({"steps": "three"}, "must be an integer"),
        ({"steps": "2.5"}, "must be an integer"),
        ({"flag": "maybe"}, "true or false"),
        ({"mode": "c"}, "must be one of a, b"),
    ],
)
def test_bad_values_are_usage_errors(values, fragment):
    with pytest.raises(UsageError, match=fragment):
        build_config(Example, values, "method 'x'")


def test_unknown_key_lists_valid_keys():
    with pytest.raises(UsageError) as info:
        build_config(Example, {"bogus": 1}, "method 'x'")
    assert "steps, rate, flag, mode, sizes, name" in str(info.value)


def test_parse_set_options():
    assert parse_set_options(["a=1", "b.c = x=y"]) == {"a": "1", "b.c": "x=y"}
    with pytest.raises(UsageError, match="key=value"):
        parse_set_options(["novalue"])


def test_bool_is_not_a_number():
    with pytest.raises(UsageError):
        convert_value(True, int, "k")


def test_registry_suggests_close_matches():
    registry: Registry = Registry("method")
    for name in ("beta-vae", "beta-tcvae", "pca"):
        registry.register(name)(type(name, (), {}))
    with pytest.raises(UsageError) as info:
        registry.get("beta-vea")
    message = str(info.value)
    assert "Did you mean 'beta-vae'" in message and "Known methods: beta-tcvae, beta-vae, pca" in message
    assert registry.names("beta*") == ["beta-vae", "beta-tcvae"]
    assert registry.names("tc") == ["beta-tcvae"]
    with pytest.raises(ValueError):
        registry.register("pca")(object)


def test_close_match_message_without_matches():
    assert "Did you mean" not in unknown_name_message("metric", "zzz", ["mig", "sap"])


def test_keys_added_later_enter_a_runs_id_only_when_set():
    """Committed runs keep their ids: options added since are left out of the spec at their default."""
    import csv
    from pathlib import Path

    from disbench.suites import load_suite
    from disbench.training.runs import resolve_run_spec

    plain = resolve_run_spec("beta-vae", "dsprites", 0, 10)
    assert "correlations" not in plain.dataset_config and "save_at" not in plain.method_config
    correlated = resolve_run_spec("beta-vae", "dsprites", 0, 10, {"correlations": "x~y=0.1"})
    assert correlated.dataset_config["correlations"] == "x~y=0.1" and correlated.run_id != plain.run_id
    assert resolve_run_spec("beta-vae", "dsprites", 0, 10, {"save_at": [5]}).method_config["save_at"] == [5]

    suite = load_suite("dsprites-vae-cpu")
    with open(Path(__file__).parents[1] / "results" / "dsprites-vae-cpu" / "leaderboard.csv") as handle:
        committed = {row["run_id"] for row in csv.DictReader(handle)}
    assert {suite.spec(entry).run_id for entry in suite.entries()} <= committed
