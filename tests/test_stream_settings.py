"""The `stream:` config section: the shipped example loads, flags win, errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stream_monitor.cli import main
from stream_monitor.errors import ConfigError
from stream_monitor.stream.settings import GlobalSettings, StreamSettings, load_stream_settings

EXAMPLE = Path(__file__).parent.parent / "config" / "stream.example.yaml"


def test_shipped_example_loads_with_documented_defaults() -> None:
    """The annotated example loads, and its defaults equal the code's defaults."""
    settings = load_stream_settings(EXAMPLE)
    defaults = StreamSettings()
    assert settings.input_topics == ("loan-applications",)
    assert settings.monitor == "credit-model"
    for key in (
        "batch_size",
        "window_rows",
        "adwin",
        "page_hinkley",
        "numeric_methods",
        "repeat_after_rows",
        "metrics_host",
        "alert_topic",
        "commit_interval_s",
    ):
        assert getattr(settings, key) == getattr(defaults, key), key


def test_flags_override_the_file() -> None:
    """A flag's value wins over the file's."""
    settings = load_stream_settings(EXAMPLE, {"group_id": ("g2", "--group-id")})
    assert settings.group_id == "g2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stream:\n  batch_size: 0\n", "stream.batch_size: must be a positive integer"),
        ("stream:\n  colour: red\n", "stream.colour: unknown key"),
        ("stream:\n  numeric_methods: {psy: 0.1}\n", "unknown method 'psy'"),
        ("stream:\n  processing_guarantee: maybe\n", "must be one of at_least_once"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    """A bad value is reported with the file and the key that holds it."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_stream_settings(path)
    assert str(path) in str(info.value)


def test_run_without_profile_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`run` with no profile exits 2 with one line naming the flag."""
    assert main(["run", "--source", "x.parquet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--profile" in err[0]


def test_kafka_secrets_come_from_env_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``{env: NAME}`` and ``{file: PATH}`` are replaced by the secret; other values pass
    through; the settings' repr never shows them."""
    (tmp_path / "secret").write_text("from-a-file\n")
    monkeypatch.setenv("SM_TEST_PASSWORD", "from-the-env")
    config = tmp_path / "c.yaml"
    config.write_text(
        "stream:\n  kafka:\n"
        "    security.protocol: SASL_SSL\n"
        "    sasl.password: {env: SM_TEST_PASSWORD}\n"
        f"    ssl.key.password: {{file: {tmp_path / 'secret'}}}\n"
        "    socket.timeout.ms: 5000\n"
    )
    settings = load_stream_settings(config)
    assert settings.kafka == {
        "security.protocol": "SASL_SSL",
        "sasl.password": "from-the-env",
        "ssl.key.password": "from-a-file",
        "socket.timeout.ms": 5000,
    }
    assert "from-" not in repr(settings)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{env: A, file: B}", "a secret reference is {env: NAME} or {file: PATH}"),
        ("{vault: x}", "a secret reference is {env: NAME} or {file: PATH}"),
        ("{env: ''}", "env must name a variable or file"),
        ("[1, 2]", "must be a string, number, boolean, {env: NAME} or {file: PATH}"),
    ],
)
def test_bad_secret_references_name_the_key(tmp_path: Path, value: str, message: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"stream:\n  kafka:\n    sasl.password: {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_stream_settings(config)
    assert str(caught.value) == f"{config}: stream.kafka.sasl.password: {message}"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (None, None),
        (False, None),
        (True, GlobalSettings(60_000, 10_000, 60_000, 3)),
        (
            {"window": "5m", "allowed_lateness": "1.5s", "idle_timeout": "2h", "resolve_after": 5},
            GlobalSettings(300_000, 1_500, 7_200_000, 5),
        ),
        ({"window": "10s", "allowed_lateness": 0}, GlobalSettings(10_000, 0, 60_000, 3)),
    ],
)
def test_global_windows_are_read_with_their_durations(
    tmp_path: Path, written: object, expected: GlobalSettings | None
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"stream": {"global": written}}))
    assert load_stream_settings(config).global_windows == expected


@pytest.mark.parametrize(
    ("written", "named"),
    [
        ({"window": "5 minutes"}, "stream.global.window: expected a duration"),
        ({"window": "0s"}, "stream.global.window: must be positive"),
        ({"windw": "1m"}, "stream.global.windw: unknown key"),
        ({"resolve_after": 0}, "stream.global.resolve_after: must be a positive integer"),
        ("yes", "stream.global: expected true, false or a mapping"),
    ],
)
def test_a_wrong_global_setting_names_the_key(tmp_path: Path, written: object, named: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"stream": {"global": written}}))
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_stream_settings(config)
