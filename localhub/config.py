"""``$LOCALHUB_HOME/config.toml``: the remotes and the default remote.

Read with ``tomllib``, written here as simple TOML. Tokens are never stored: a remote keeps the
name of an environment variable (``token_env``) or the path of a file (``token_file``).

Precedence: flags > environment (``LOCALHUB_REMOTE``, ``LOCALHUB_CONFIG``) > this file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .credentials import looks_like_token, redact_url, url_credentials
from .errors import ConfigError
from .paths import atomic_write, data_dir, private_dir
from .urls import looks_like_url, normalize_remote_url, not_a_url

__all__ = [
    "Config",
    "Remote",
    "add_remote",
    "config_path",
    "to_toml",
    "load_config",
    "parse_toml",
    "remove_remote",
    "resolve_remote",
    "save_config",
    "set_default_remote",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_REMOTE_KEYS = {"url", "token_env", "token_file", "ca", "uri_map", "allow_insecure_token"}


@dataclass(frozen=True, repr=False)
class Remote:
    """A registry server this database may sync with."""

    name: str
    url: str
    token_env: str | None = None
    token_file: str | None = None
    ca: str | None = None
    uri_map: tuple[tuple[str, str], ...] = ()
    #: Send the token even over plain http to another machine (``--allow-insecure-token``).
    allow_insecure_token: bool = False

    def __repr__(self) -> str:
        return f"Remote(name={redact_url(self.name)!r}, url={self.shown_url!r})"

    @property
    def shown_url(self) -> str:
        """The URL as every output shows it: credentials in it replaced by ``***``."""
        return redact_url(self.url)

    def token(self) -> str | None:
        """The bearer token, read now from the variable or the file (None if not configured)."""
        if self.token_env:
            return os.environ.get(self.token_env) or None
        if self.token_file:
            try:
                return Path(self.token_file).expanduser().read_text().strip() or None
            except OSError as exc:
                raise ConfigError(f"remote {self.name!r}: cannot read token file "
                                  f"{self.token_file} ({exc.strerror}); fix the path with "
                                  f"`localhub remote add {self.name} URL --token-file PATH`"
                                  ) from exc
        return None


@dataclass(frozen=True)
class Config:
    """The parsed config file."""

    remotes: dict[str, Remote] = field(default_factory=dict)
    default_remote: str | None = None
    path: Path | None = None


def config_path() -> Path:
    """``$LOCALHUB_CONFIG``, else ``config.toml`` in the data folder."""
    explicit = os.environ.get("LOCALHUB_CONFIG")
    return Path(explicit).expanduser() if explicit else data_dir() / "config.toml"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"invalid remote name {name!r}: use letters, digits, '.', '_' or '-' "
                          "(at most 63 characters, starting with a letter or digit)")
    return name


def _check_url(name: str, url: str, *, stored: bool = False) -> str:
    """``url`` normalised (:func:`localhub.urls.normalize_remote_url`); ConfigError if bad.

    Credentials in the URL are refused, unless ``stored`` (a config file written before this
    rule: its URL is then only ever shown redacted, and ``doctor`` says how to move them).
    """
    shown = redact_url(url)
    try:
        normal = normalize_remote_url(url)
    except ValueError as exc:
        text = str(exc).replace(url, shown).replace(repr(url), repr(shown))
        raise ConfigError(text if name == url else f"remote {name!r}: {text}") from None
    found = url_credentials(normal)
    if found and not stored:
        where = "" if name == url else f"remote {name!r}: "
        raise ConfigError(f"{where}the URL {shown!r} holds credentials ({', '.join(found)}), "
                          "which would be stored in config.toml and shown in outputs; give the "
                          "URL without them and the token with --token-env VAR (the name of a "
                          "variable holding it) or --token-file PATH")
    return normal


def _uri_map(name: str, items: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"remote {name!r}: uri_map must be a list of \"FROM=TO\" strings")
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            source, target = str(item[0]), str(item[1])
        elif isinstance(item, str) and "=" in item:
            source, _, target = item.partition("=")
        else:
            raise ConfigError(f"remote {name!r}: uri_map entry {item!r} is not FROM=TO, e.g. "
                              "file:///data/models/=s3://team-models/")
        if not source or not target:
            raise ConfigError(f"remote {name!r}: uri_map entry {item!r} has an empty side")
        out.append((source, target))
    return tuple(out)


def _remote_from(name: str, data: Any, where: str) -> Remote:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [remotes.{name}] must be a table", path=where)
    unknown = sorted(set(data) - _REMOTE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: [remotes.{name}] has unknown key(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(sorted(_REMOTE_KEYS))}", path=where)
    if "url" not in data or not isinstance(data["url"], str):
        raise ConfigError(f"{where}: [remotes.{name}] needs url = \"https://...\"", path=where)
    for key in ("token_env", "token_file", "ca"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{where}: [remotes.{name}] {key} must be a string", path=where)
    if not isinstance(data.get("allow_insecure_token", False), bool):
        raise ConfigError(f"{where}: [remotes.{name}] allow_insecure_token must be true or "
                          "false", path=where)
    if data.get("token_env") and data.get("token_file"):
        raise ConfigError(f"{where}: [remotes.{name}] has both token_env and token_file; "
                          "keep one", path=where)
    return Remote(name=_check_name(name), url=_check_url(name, data["url"], stored=True),
                  token_env=data.get("token_env"), token_file=data.get("token_file"),
                  ca=data.get("ca"), uri_map=_uri_map(name, data.get("uri_map", [])),
                  allow_insecure_token=data.get("allow_insecure_token", False))


def parse_toml(text: str) -> dict[str, Any]:
    """TOML text as data (``tomllib``; ``tomli`` on Python 3.10); ValueError when invalid."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ImportError:
            raise ConfigError("reading config.toml on Python 3.10 needs `pip install tomli` "
                              "(or use Python 3.11+)") from None
    return tomllib.loads(text)


def load_config(path: Path | None = None) -> Config:
    """The config file parsed and checked; an empty config when the file does not exist."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(path=path)
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror}); check its permissions",
                          path=str(path)) from exc
    try:
        data = parse_toml(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove the file",
                          path=str(path)) from exc
    unknown = sorted(set(data) - {"remotes", "default_remote"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: "
                          "default_remote, [remotes.NAME]", path=str(path))
    tables = data.get("remotes", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: remotes must be a table of [remotes.NAME]", path=str(path))
    remotes = {name: _remote_from(name, value, str(path)) for name, value in tables.items()}
    default = data.get("default_remote")
    if default is not None and (not isinstance(default, str) or default not in remotes):
        raise ConfigError(f"{path}: default_remote {default!r} is not a configured remote; "
                          "run `localhub remote set-default NAME`", path=str(path))
    return Config(remotes=remotes, default_remote=default, path=path)


def _key(text: str) -> str:
    return text if _BARE_KEY.match(text) else json.dumps(text)


def _value(value: str | list[str]) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)


def to_toml(config: Config) -> str:
    """The config as TOML text."""
    lines = ["# localhub configuration (written by `localhub remote ...`).",
             "# Tokens are never stored here: only an environment variable name or a file path."]
    if config.default_remote:
        lines.append(f"default_remote = {_value(config.default_remote)}")
    for name in sorted(config.remotes):
        remote = config.remotes[name]
        lines += ["", f"[remotes.{_key(name)}]", f"url = {_value(remote.url)}"]
        for key in ("token_env", "token_file", "ca"):
            value = getattr(remote, key)
            if value:
                lines.append(f"{key} = {_value(value)}")
        if remote.uri_map:
            lines.append(f"uri_map = {_value([f'{a}={b}' for a, b in remote.uri_map])}")
        if remote.allow_insecure_token:
            lines.append("allow_insecure_token = true")
    return "\n".join(lines) + "\n"


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write the config atomically (a private temporary file, then rename; mode 0600 and a
    new folder 0700 whatever the umask); returns the path."""
    path = path or config.path or config_path()
    try:
        private_dir(path.parent)
        atomic_write(path, to_toml(config).encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot write {path} ({exc.strerror}); check that the folder is "
                          "writable or set LOCALHUB_HOME / LOCALHUB_CONFIG", path=str(path)
                          ) from exc
    return path


def add_remote(config: Config, name: str, url: str, *, token_env: str | None = None,
               token_file: str | None = None, ca: str | None = None,
               uri_map: tuple[str, ...] = (), allow_insecure_token: bool = False) -> Config:
    """A copy of ``config`` with remote ``name`` added or replaced (first one is the default)."""
    if token_env and token_file:
        raise ConfigError("give either --token-env or --token-file, not both")
    if token_env and looks_like_token(token_env):
        # Never echo the value: it is most likely the token itself.
        raise ConfigError("the value given to --token-env is not an environment variable name "
                          "(it looks like a token; it was not stored); put the token in a "
                          "variable and pass the variable's NAME, e.g. `--token-env "
                          "REGISTRY_TOKEN`, or use --token-file PATH")
    remote = Remote(
        name=_check_name(name), url=_check_url(name, url), token_env=token_env or None,
        token_file=str(Path(token_file).expanduser().resolve()) if token_file else None,
        ca=str(Path(ca).expanduser().resolve()) if ca else None,
        uri_map=_uri_map(name, list(uri_map)), allow_insecure_token=allow_insecure_token)
    remotes = dict(config.remotes)
    remotes[name] = remote
    default = config.default_remote or name
    return replace(config, remotes=remotes, default_remote=default)


def remove_remote(config: Config, name: str) -> Config:
    """A copy of ``config`` without remote ``name``."""
    if name not in config.remotes:
        raise ConfigError(f"no remote named {name!r}; see `localhub remote list`")
    remotes = {k: v for k, v in config.remotes.items() if k != name}
    default = None if config.default_remote == name else config.default_remote
    return replace(config, remotes=remotes, default_remote=default)


def set_default_remote(config: Config, name: str) -> Config:
    """A copy of ``config`` whose default remote is ``name``."""
    if name not in config.remotes:
        raise ConfigError(f"no remote named {name!r}; add it with `localhub remote add "
                          f"{name} URL` or see `localhub remote list`")
    return replace(config, default_remote=name)


def resolve_remote(config: Config, name_or_url: str | None = None) -> Remote:
    """The remote to use: the flag's value, else ``$LOCALHUB_REMOTE``, else the default.

    A value with ``://`` is an ad-hoc URL (no token); anything else names a configured remote.
    """
    choice = name_or_url or os.environ.get("LOCALHUB_REMOTE") or config.default_remote
    if not choice:
        raise ConfigError("no remote configured; add one with `localhub remote add NAME URL` "
                          "or pass --remote URL")
    if choice not in config.remotes and looks_like_url(choice):
        if "://" not in choice:
            raise ConfigError(not_a_url(choice))
        url = _check_url(choice, choice)
        return Remote(name=url, url=url)
    if choice not in config.remotes:
        raise ConfigError(f"no remote named {choice!r}; see `localhub remote list`")
    return config.remotes[choice]
