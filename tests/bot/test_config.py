"""Settings: one precedence rule (command line > environment > file > defaults), the config file
search, `paperboy config`, range checks naming the key, the token's sources, the log settings."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import config
from bot.cli import main
from bot.config import ConfigError, Settings, discord_token, env_name, load_settings, resolve, rule_of

TOKEN = "MTIz.secret-token-value.abcdef"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment: no PAPERBOY_/DISCORD_ variables, HOME and /etc in tmp_path, cwd there."""
    for var in list(os.environ):
        if var.startswith(("PAPERBOY_", "DISCORD_", "XDG_")) or var in ("CREDENTIALS_DIRECTORY", "JOURNAL_STREAM"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(config, "SYSTEM_CONFIG", tmp_path / "etc" / "paperboy" / "paperboy.toml")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_paperboy", False)]:  # main() installed them
        root.removeHandler(handler)
        handler.close()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _config_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    capsys.readouterr()
    assert main([*argv, "config", "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


# -- precedence -------------------------------------------------------------------------------

def test_environment_beats_the_file_for_both_names_of_the_database_path(home: Path) -> None:
    """Issue #20: `[database] path` in the file beat PAPERBOY_DB, while PAPERBOY_DATABASE_PATH beat it."""
    conf = _write(home / "p.toml", '[database]\npath = "file.db"\n')
    assert load_settings(conf, env={}).db_path == "file.db"
    assert load_settings(conf, env={"PAPERBOY_DB": "env.db"}).db_path == "env.db"
    assert load_settings(conf, env={"PAPERBOY_DATABASE_PATH": "env.db"}).db_path == "env.db"
    same = {"PAPERBOY_DB": "env.db", "PAPERBOY_DATABASE_PATH": "env.db"}
    assert load_settings(conf, env=same).db_path == "env.db"
    with pytest.raises(ConfigError, match="PAPERBOY_DB and PAPERBOY_DATABASE_PATH"):
        load_settings(conf, env={"PAPERBOY_DB": "a.db", "PAPERBOY_DATABASE_PATH": "b.db"})
    cli = resolve(conf, env={"PAPERBOY_DB": "env.db"}, command_line={"database.url": "cli.db"})
    assert cli.settings.db_path == "cli.db" and str(cli.origins["database.url"]) == "command line"


def test_paperboy_config_says_where_each_value_came_from(home: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _write(home / "p.toml", '[database]\npath = "file.db"\n[fetch]\nretries = 4\ntimeout_seconds = 9\n')
    monkeypatch.setenv("PAPERBOY_FETCH_TIMEOUT_SECONDS", "12.5")
    monkeypatch.setenv("PAPERBOY_FETCH_TIMEOUT", "1")  # a typo: no such setting
    report = _config_json(capsys, "--config", str(conf), "--db", str(home / "cli.db"))
    settings = report["settings"]
    assert isinstance(settings, dict)
    assert settings["database"]["url"] == {"value": str(home / "cli.db"), "source": "command line"}
    assert settings["database"]["path"] == {"value": "file.db", "source": "file", "where": str(conf)}
    assert settings["fetch"]["retries"] == {"value": 4, "source": "file", "where": str(conf)}
    assert settings["fetch"]["timeout_seconds"] == {"value": 12.5, "source": "env",
                                                    "where": "PAPERBOY_FETCH_TIMEOUT_SECONDS"}
    assert settings["fetch"]["interval_minutes"] == {"value": 15.0, "source": "default"}
    assert report["config_file"] == str(conf) and report["database"] == str(home / "cli.db")
    assert report["ignored_environment"] == ["PAPERBOY_FETCH_TIMEOUT"]


def test_paperboy_config_text_is_a_config_file_with_origins_and_no_secret(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("PAPERBOY_DISCORD_API_BASE", "https://user:hunter2@proxy.example/api/v10")
    monkeypatch.setenv("PAPERBOY_DATABASE_PATH", str(home / "x.db"))
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out and "hunter2" not in out
    assert f"Discord token: (hidden, {len(TOKEN)} characters), from env DISCORD_TOKEN" in out
    assert 'api_base = "https://user:********@proxy.example/api/v10"  # env PAPERBOY_DISCORD_API_BASE' in out
    assert "busy_timeout_ms = 5000  # default" in out
    parsed = tomllib.loads(out)
    expected = Settings()
    expected.database.path = str(home / "x.db")
    expected.discord.api_base = "https://user:********@proxy.example/api/v10"
    assert parsed == dataclasses.asdict(expected)


# -- where the file is found ------------------------------------------------------------------

@pytest.mark.parametrize(("present", "expected"), [
    (["etc"], "etc"),
    (["user", "etc"], "user"),
    (["xdg", "user", "etc"], "xdg"),
    (["cwd", "xdg", "etc"], "cwd"),
    (["env", "cwd", "etc"], "env"),
    (["option", "env", "cwd"], "option"),
])
def test_the_config_file_is_the_first_found(home: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], present: list[str],
                                             expected: str) -> None:
    places = {"option": home / "opt.toml", "env": home / "env.toml", "cwd": home / "config" / "paperboy.toml",
              "xdg": home / "xdg" / "paperboy" / "paperboy.toml",
              "user": home / "home" / ".config" / "paperboy" / "paperboy.toml", "etc": config.SYSTEM_CONFIG}
    for name in present:
        _write(places[name], f'[fetch]\ncontact = "{name}"\n')
    if "xdg" in present:
        monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg"))
    if "env" in present:
        monkeypatch.setenv("PAPERBOY_CONFIG", str(places["env"]))
    argv = ["--config", str(places["option"])] if "option" in present else []
    report = _config_json(capsys, *argv)
    assert Path(str(report["config_file"])).resolve() == places[expected].resolve()
    assert report["settings"]["fetch"]["contact"]["value"] == expected  # type: ignore[index]


def test_a_named_config_file_must_exist(home: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(home / "nope.toml"), "stats"]) == 2
    assert "nope.toml: config file not found (given by --config)" in capsys.readouterr().err
    monkeypatch.setenv("PAPERBOY_CONFIG", str(home))
    assert main(["stats"]) == 2
    assert "not a regular file (given by PAPERBOY_CONFIG)" in capsys.readouterr().err


# -- range checks (issue #12) -----------------------------------------------------------------

@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("PAPERBOY_FETCH_TIMEOUT_SECONDS", "0", "must be a number above 0 and at most 3600"),
    ("PAPERBOY_FETCH_TIMEOUT_SECONDS", "-1", "must be a number above 0"),
    ("PAPERBOY_FETCH_TIMEOUT_SECONDS", "nan", "must be a finite number"),
    ("PAPERBOY_FETCH_TIMEOUT_SECONDS", "inf", "must be a finite number"),
    ("PAPERBOY_FETCH_RETRIES", "-1", "must be a whole number from 0 to 20"),
    ("PAPERBOY_FETCH_INTERVAL_MINUTES", "-5", "must be a number above 0"),
    ("PAPERBOY_INGEST_CHUNK_SIZE", "0", "must be a whole number from 1"),
    ("PAPERBOY_FETCH_MAX_RESPONSE_BYTES", "-1", "must be a whole number from 1"),
    ("PAPERBOY_FETCH_HF_PAGE_SIZE", "101", "from 1 to 100"),
    ("PAPERBOY_DATABASE_BUSY_TIMEOUT_MS", "1e3", "expected a whole number"),
    ("PAPERBOY_SCHEDULE_RATE_PER_SECOND", "0", "must be a number above 0"),
    ("PAPERBOY_SUBSCRIPTIONS_DEFAULT_CAP", "26", "from 1 to 25"),
    ("PAPERBOY_FETCH_TIMEZONE", "Mars/Olympus", "is not an IANA time zone"),
    ("PAPERBOY_FETCH_WINDOW_START", "25:00", "is not a time like 06:30"),
    ("PAPERBOY_DISCORD_API_BASE", "ftp://discord.com", "is not a URL starting with http:// or https://"),
    ("PAPERBOY_DISCORD_API_BASE", "http://[::1", "is not a URL starting with http://"),
    ("PAPERBOY_DISCORD_API_BASE", "http://x:99999999/", "is not a URL starting with http://"),
    ("PAPERBOY_DISCORD_GATEWAY_URL", "gateway.discord.gg", "is not a URL starting with ws:// or wss://"),
    ("PAPERBOY_INGEST_ANNOUNCE_TYPES", "new,bogus", "'bogus' must be one of"),
    ("PAPERBOY_INGEST_ANNOUNCE_TYPES", "", "must list at least one value"),
    ("PAPERBOY_FETCH_ARXIV_RSS_CATEGORIES", "cs.LG, cs LG", "'cs LG' is not an arXiv category"),
    ("PAPERBOY_LOGGING_LEVEL", "loud", 'must be one of "debug", "info", "warning", "error"'),
    ("PAPERBOY_LOGGING_DESTINATION", "syslog", 'must be one of "file", "stderr"'),
    ("PAPERBOY_LLM_BASE_URL", "localhost:11434/v1", "is not a URL starting with http:// or https://"),
    ("PAPERBOY_LLM_MODEL", " ", "must not be blank"),
    ("PAPERBOY_LLM_MAX_CONCURRENCY", "0", "must be a whole number from 1 to 64"),
    ("PAPERBOY_LLM_ENABLED", "maybe", "expected true or false"),
])
def test_a_setting_out_of_range_stops_the_cli_with_one_line_naming_it(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        variable: str, value: str, problem: str) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["--db", str(home / "p.db"), "stats"]) == 2
    err = capsys.readouterr().err
    section, key = variable.lower().removeprefix("paperboy_").split("_", 1)
    assert err.count("\n") == 1 and err.startswith(f"paperboy: environment variable {variable}: [{section}] {key} = ")
    assert problem in err
    assert not (home / "p.db").exists()


def test_a_bad_value_in_the_file_names_the_file_and_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = _write(home / "p.toml", "[database]\nbusy_timeout_ms = 10\n\n[fetch]\ntimeout_seconds = nan\n")
    assert main(["--config", str(conf), "stats"]) == 2
    assert capsys.readouterr().err == (f"paperboy: {conf} line 5: [fetch] timeout_seconds = nan: "
                                       "must be a finite number\n")


def _numeric_settings() -> list[tuple[str, str]]:
    defaults = Settings()
    return [(section.name, key) for section in dataclasses.fields(defaults)
            for key, value in dataclasses.asdict(getattr(defaults, section.name)).items()
            if isinstance(value, int | float) and not isinstance(value, bool)]


@pytest.mark.parametrize(("section", "key"), _numeric_settings())
def test_every_number_has_a_range_its_default_is_inside(section: str, key: str) -> None:
    kind = type(getattr(Settings(), section))
    rule = rule_of(kind, key)
    assert rule is not None and rule.low is not None and rule.high is not None, f"[{section}] {key} has no range"
    assert rule.problem(getattr(getattr(Settings(), section), key)) is None
    variable = env_name(section, key)
    is_float = isinstance(getattr(getattr(Settings(), section), key), float)
    below = rule.low if rule.above else rule.low - 1
    bad = [below, rule.high + 1, *(["nan", "inf", "-inf"] if is_float else [])]
    for value in bad:
        with pytest.raises(ConfigError, match=rf"{variable}: \[{section}\] {key} = "):
            load_settings(env={variable: str(int(value) if not is_float and not isinstance(value, str)
                                             else value)})
    edge = rule.high if not is_float else float(rule.high)
    larger = {env_name(s, big): str(rule_of(kind, big).high)  # type: ignore[union-attr]
              for s, small, big in config.ORDERED if (s, small) == (section, key)}
    assert getattr(getattr(load_settings(env={variable: str(edge), **larger}), section), key) == edge


def test_values_that_must_be_in_order_are_named_together(home: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[fetch\] retry_base_seconds = 120 \(env PAPERBOY_FETCH_RETRY_BASE_"
                                          r"SECONDS\) is more than retry_max_seconds = 60 \(default\)"):
        load_settings(env={"PAPERBOY_FETCH_RETRY_BASE_SECONDS": "120"})
    assert math.isclose(load_settings(env={"PAPERBOY_FETCH_RETRY_BASE_SECONDS": "60"}).fetch.retry_base_seconds, 60)


# -- the token --------------------------------------------------------------------------------

def test_the_llm_api_key_comes_from_its_variable_only_and_is_not_a_setting(home: Path) -> None:
    assert config.llm_api_key({}) is None and config.llm_api_key({"PAPERBOY_LLM_API_KEY": "  "}) is None
    key = config.llm_api_key({"PAPERBOY_LLM_API_KEY": "sk-abcdef0123456789"})
    assert key is not None and key.value == "sk-abcdef0123456789" and str(key.origin) == "env PAPERBOY_LLM_API_KEY"
    assert "sk-abcdef0123456789" not in repr(key)
    resolved = resolve(env={"PAPERBOY_LLM_API_KEY": "sk-abcdef0123456789"})
    assert resolved.ignored_env == [] and not hasattr(resolved.settings.llm, "api_key")
    assert resolved.settings.llm.enabled is False  # off by default


def test_the_token_comes_from_the_environment_a_file_or_a_systemd_credential(tmp_path: Path) -> None:
    secret_file = _write(tmp_path / "token", TOKEN + "\n")
    assert discord_token({}) is None
    from_env = discord_token({"DISCORD_TOKEN": TOKEN})
    assert from_env is not None and from_env.value == TOKEN and str(from_env.origin) == "env DISCORD_TOKEN"
    from_file = discord_token({"DISCORD_TOKEN_FILE": str(secret_file)})
    assert from_file is not None and from_file.value == TOKEN and from_file.origin.where == str(secret_file)
    _write(tmp_path / "creds" / "discord_token", TOKEN)
    credential = discord_token({"CREDENTIALS_DIRECTORY": str(tmp_path / "creds")})
    assert credential is not None and credential.value == TOKEN and credential.origin.kind == "credential"
    assert TOKEN not in repr(credential)
    with pytest.raises(ConfigError, match="both DISCORD_TOKEN and DISCORD_TOKEN_FILE are set"):
        discord_token({"DISCORD_TOKEN": TOKEN, "DISCORD_TOKEN_FILE": str(secret_file)})
    with pytest.raises(ConfigError, match="is empty"):
        discord_token({"DISCORD_TOKEN_FILE": str(_write(tmp_path / "empty", "\n"))})
    with pytest.raises(ConfigError, match="DISCORD_TOKEN_FILE: .*missing: no such file"):
        discord_token({"DISCORD_TOKEN_FILE": str(tmp_path / "missing")})


def test_run_without_any_token_names_every_way_to_give_one(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(home / "p.db"), "run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DISCORD_TOKEN is not set" in err and "DISCORD_TOKEN_FILE" in err


# -- logging ----------------------------------------------------------------------------------

def test_stderr_mode_logs_to_standard_error_only(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PAPERBOY_LOGGING_DESTINATION", "stderr")
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    assert main(["--db", str(home / "p.db"), "stats"]) == 0
    err = capsys.readouterr().err
    assert "<6>INFO storage.sqlite.db: applied migration 0001_archive.sql" in err
    assert not (home / "paperboy.log").exists()


def test_file_mode_keeps_details_in_the_file_at_the_chosen_level(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PAPERBOY_LOG_FILE", str(home / "logs" / "pb.log"))  # the older name still works
    assert main(["--db", str(home / "p.db"), "stats"]) == 0
    assert "applied migration" not in capsys.readouterr().err
    assert "applied migration 0001_archive.sql" in (home / "logs" / "pb.log").read_text(encoding="utf-8")
    monkeypatch.setenv("PAPERBOY_LOGGING_LEVEL", "warning")
    assert main(["--db", str(home / "q.db"), "stats"]) == 0
    assert "q.db" not in (home / "logs" / "pb.log").read_text(encoding="utf-8")


def test_a_token_file_others_can_read_is_warned_about(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from bot.cli.run import token_from_env

    secret_file = _write(home / "token", TOKEN)
    secret_file.chmod(0o644)
    monkeypatch.setenv("DISCORD_TOKEN_FILE", str(secret_file))
    assert token_from_env() == TOKEN
    assert "can be read by every user" in caplog.text and TOKEN not in caplog.text
    secret_file.chmod(0o600)
    caplog.clear()
    assert token_from_env() == TOKEN and not caplog.text


# -- the database address (#16) ---------------------------------------------------------------

PASSWORD = "pg-s3cret-password"


def test_url_wins_over_path_wherever_each_is_set(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = _write(home / "p.toml", f'[database]\nurl = "sqlite:///{home}/file-url.db"\n')
    env = {"PAPERBOY_DATABASE_PATH": str(home / "env-path.db")}
    settings = load_settings(conf, env=env)
    assert settings.db_address == f"sqlite:///{home}/file-url.db" and settings.db_path == str(home / "file-url.db")
    assert load_settings(conf, env={"PAPERBOY_DATABASE_URL": "pg.db"}).db_path == "pg.db"
    assert load_settings(env={"PAPERBOY_DB": "old.db"}).db_address == "old.db"
    postgres = load_settings(env={"PAPERBOY_DATABASE_URL": "postgresql://pb@db.example/paperboy"})
    assert postgres.db_address == "postgresql://pb@db.example/paperboy"
    assert postgres.db_path == os.path.join(str(home / "data"), "paperboy", "paperboy.db")  # the log's folder
    # The log, the inbox and the lock never go to a folder named after the URL: [database] path's
    # folder when it names a file (the systemd unit's state directory), else the default one.
    beside = load_settings(env={"PAPERBOY_DATABASE_URL": "postgresql://pb@db.example/paperboy",
                                "PAPERBOY_DATABASE_PATH": "/var/lib/paperboy/paperboy.db"})
    assert beside.db_address == "postgresql://pb@db.example/paperboy"
    assert beside.db_path == "/var/lib/paperboy/paperboy.db"
    as_path = load_settings(env={"PAPERBOY_DATABASE_PATH": "postgresql://pb@db.example/paperboy"})
    assert as_path.db_address == "postgresql://pb@db.example/paperboy"
    assert as_path.db_path == os.path.join(str(home / "data"), "paperboy", "paperboy.db")
    capsys.readouterr()
    assert main(["--config", str(conf), "config"]) == 0
    out = capsys.readouterr().out
    assert f"# database: {home}/file-url.db, from url (file {conf})" in out


@pytest.mark.parametrize("argv", [["--db", "postgresql://pb@db.example:54x/paperboy"], ["--db", "mysql://db/paperboy"],
                                  ["--db", "postgresql://[::1/paperboy"]])
def test_a_bad_database_address_is_one_line_naming_it(home: Path, capsys: pytest.CaptureFixture[str],
                                                      argv: list[str]) -> None:
    assert main([*argv, "stats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paperboy: command line (--db): [database] url = ") and err.count("\n") == 1


def test_a_password_in_the_config_file_or_on_the_command_line_is_refused_unshown(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://paperboy:{PASSWORD}@db.example:5432/paperboy"
    conf = _write(home / "p.toml", f'[fetch]\nretries = 2\n[database]\nurl = "{url}"\n')
    assert main(["--config", str(conf), "stats"]) == 2
    err = capsys.readouterr().err
    assert f"{conf} line 4: [database] url = " in err and "holds a password, and a config file is no place" in err
    assert "PAPERBOY_DATABASE_URL" in err and PASSWORD not in err
    assert main(["--db", url, "stats"]) == 2
    err = capsys.readouterr().err
    assert "holds a password, and a command line is seen by every user" in err and PASSWORD not in err


def test_postgres_from_the_environment_is_used_and_its_password_never_shown(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    # The throw-away server trusts loopback connections: the password is accepted and not needed.
    with_password = pg_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    log_file = home / "paperboy.log"
    monkeypatch.setenv("PAPERBOY_DATABASE_URL", with_password)
    monkeypatch.setenv("PAPERBOY_DATABASE_PATH", str(home / "ignored.db"))
    monkeypatch.setenv("PAPERBOY_LOGGING_FILE", str(log_file))
    monkeypatch.setenv("PAPERBOY_LOGGING_LEVEL", "debug")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert f'url = "{pg_url.replace("postgres@", "postgres:********@", 1)}"  # env PAPERBOY_DATABASE_URL' in out
    assert f"# database: {pg_url}, from url (env PAPERBOY_DATABASE_URL) (url wins: [database] path" in out
    assert main(["config", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["database"] == pg_url
    assert main(["backup", str(home)]) == 1
    captured = capsys.readouterr()
    assert "paperboy backup copies a SQLite file, and the database is PostgreSQL" in captured.err
    assert PASSWORD not in captured.out + captured.err + log_file.read_text(encoding="utf-8")
    assert not (home / "ignored.db").exists()


def test_status_says_which_database_without_a_password(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = home / "status.db"
    assert main(["--db", f"sqlite:///{db}", "status"]) == 0
    assert f"\nDatabase\n  SQLite at {db}\n" in capsys.readouterr().out
    assert main(["--db", str(db), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["database"] == {"backend": "SQLite", "location": str(db)}


def test_an_unreachable_postgres_is_one_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "postgresql://paperboy@127.0.0.1:1/paperboy", "stats"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("paperboy: cannot reach PostgreSQL at postgresql://") and err.count("\n") == 1
