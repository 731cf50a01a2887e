"""The settings base of every service: environment variables plus an optional TOML file.

A service's settings class derives from :class:`ServiceSettings` and names its environment prefix
(``SKYMIST_``, ``SKYSCAN_``). Every setting is a field with a docstring under it. Precedence,
highest first: explicit overrides (command-line options), environment variables
(``<PREFIX><NAME>``), the TOML file, the defaults. The TOML file is named one way for every
service: the ``--config`` option, else the ``<PREFIX>CONFIG`` variable. A file that is named but
missing or unreadable is an error naming it; it is never silently ignored.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from skybase.setting_limits import allowed

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

#: the TOML file of the settings being built by :meth:`ServiceSettings.load` (None: no file)
_CONFIG_FILE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("config_file", default=None)

MASK = "********"


class SettingsFileError(ValueError):
    """The named settings file does not exist or is not valid TOML."""


class SettingsValueError(ValueError):
    """A setting's value could not be read at all (e.g. an environment variable that should hold JSON
    does not); the message names the setting and the variable, never the value."""


class ServiceSettings(BaseSettings):
    """Settings every service has; a service adds its own and its ``env_prefix``."""

    model_config = SettingsConfigDict(extra="forbid", use_attribute_docstrings=True, validate_default=True)

    log_level: LogLevel = "INFO"
    """Least severe log level written. Logs are JSON lines on standard error (one format for every
    component and the libraries they drive)."""

    log_repeat_interval_s: float = Field(default=60.0, ge=0)
    """A warning or error that repeats (e.g. the database down) is written once per this many
    seconds, with the count of the repeats held back; 0 writes every one."""

    @classmethod
    def config_variable(cls) -> str:
        """The environment variable naming the TOML file, e.g. ``SKYMIST_CONFIG``."""
        return f"{cls.model_config.get('env_prefix', '')}CONFIG"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        path = _CONFIG_FILE.get()
        if path is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=path),)
        return sources

    @classmethod
    def load(cls, config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Self:
        """``overrides`` (None values skipped) > environment > TOML file > defaults."""
        named = config_file if config_file is not None else os.environ.get(cls.config_variable()) or None
        path = None if named is None else _checked_toml(Path(named), cls.config_variable())
        token = _CONFIG_FILE.set(path)
        try:
            return cls(**{key: value for key, value in overrides.items() if value is not None})
        except SettingsError as exc:  # pydantic-settings could not decode a value (bad JSON)
            raise SettingsValueError(_undecodable(cls, exc)) from None
        finally:
            _CONFIG_FILE.reset(token)

    def shown_value(self, name: str) -> str:
        """A setting's value as it may be printed: secrets masked."""
        value = getattr(self, name)
        return MASK if isinstance(value, SecretStr) else repr(value)

    @classmethod
    def allowed(cls, name: str) -> str:
        """What setting ``name`` allows, from its constraints, e.g. ``a number > 0 (seconds)``."""
        return allowed(name, cls.model_fields[name])

    def describe(self) -> Iterator[tuple[str, str, str]]:
        """(name, value with secrets masked, docstring) of every setting."""
        for name, info in type(self).model_fields.items():
            yield name, self.shown_value(name), " ".join((info.description or "").split())


def _undecodable(cls: type[ServiceSettings], exc: SettingsError) -> str:
    """One line for a value pydantic-settings could not decode: which setting, which variable, why."""
    match = re.search(r'field "([^"]+)"', str(exc))
    name = match.group(1) if match else "?"
    variable = f"{cls.model_config.get('env_prefix', '')}{name.upper()}"
    cause = exc.__cause__
    why = (
        f"is not valid JSON ({cause})"
        if isinstance(cause, json.JSONDecodeError)
        else f"cannot be read ({cause})"
    )
    shape = (
        "a JSON object"
        if name in cls.model_fields and "dict" in str(cls.model_fields[name].annotation)
        else ("a JSON list")
    )
    return (
        f"setting {name}: the environment variable {variable} {why}; give {shape} "
        f"(see `config` for what {name} holds) or set {name} in the settings file"
    )


def _checked_toml(path: Path, variable: str) -> Path:
    if path.is_dir():
        raise SettingsFileError(
            f"settings file {str(path)!r} is a folder, not a file (named by --config or {variable}); "
            "name the TOML file itself"
        )
    if not path.is_file():
        raise SettingsFileError(
            f"settings file {str(path)!r} does not exist (named by --config or {variable})"
        )
    try:
        with path.open("rb") as handle:
            tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(f"settings file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise SettingsFileError(f"settings file {str(path)!r} cannot be read: {exc.strerror}") from None
    return path
