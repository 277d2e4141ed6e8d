"""``localhub doctor``: checks of the database, the config file and the remotes.

The database is opened read-only with plain ``sqlite3``: the doctor never creates, migrates or
changes the file it examines.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .config import Config, Remote, load_config
from .credentials import diagnose
from .db import APPLICATION_ID, SCHEMA_VERSION
from .errors import (
    ConfigError,
    LocalHubError,
    RemoteAuthError,
    RemoteCertificateError,
    RemoteError,
    RemoteProtocolError,
    RemoteUnreachableError,
)
from .rest_client import RemoteRegistry

__all__ = ["Check", "check_config", "check_database", "check_remote", "probe_remote",
           "run_checks", "secret_checks"]

Status = Literal["OK", "WARN", "FAIL"]
API_PATH = "/api/model_registry/v1/registered_models?pageSize=1"


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, its status, and what to do about it."""

    name: str
    status: Status
    message: str
    fix: str = ""


def _writable(path: Path) -> Check:
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return Check("database.writable", "FAIL", f"{path} is not writable",
                     f"chmod u+w {path}, or choose another file with --db")
    if not folder.exists():
        # A first write creates the missing folders (as `localhub register` does): what
        # matters is that the nearest existing one is writable.
        parent = next((p for p in folder.parents if p.exists()), Path(folder.anchor))
        if os.access(parent, os.W_OK | os.X_OK):
            return Check("database.writable", "OK", f"folder {folder} does not exist yet; it is "
                         "created on the first write")
        return Check("database.writable", "FAIL", f"folder {folder} does not exist and "
                     f"{parent} is not writable, so it cannot be created",
                     f"create {folder} (or make {parent} writable), or choose another location "
                     "with --db")
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check("database.writable", "FAIL", f"folder {folder} is not writable (SQLite "
                     "needs it for its WAL and journal files)",
                     f"make {folder} writable, or choose another location with --db")
    return Check("database.writable", "OK", f"{path} and its folder are writable")


def check_database(path: Path) -> list[Check]:
    """Existence, permissions, integrity, schema version and journal mode of the database."""
    if not path.exists():
        folder_ok = _writable(path)
        return [Check("database.file", "WARN", f"{path} does not exist yet",
                      "it is created on the first write (e.g. `localhub register`); check --db / "
                      "LOCALHUB_DB if you expected an existing registry"), folder_ok]
    checks = [_writable(path)]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return checks + [Check("database.open", "FAIL", f"cannot open {path}: {exc}",
                               "check the file's permissions, or restore it from a backup")]
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            return checks + [Check("database.identity", "FAIL",
                                   f"{path} belongs to another application",
                                   "point --db / LOCALHUB_DB at a localhub database")]
        result = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        if result == ["ok"]:
            checks.append(Check("database.integrity", "OK", "integrity_check: ok"))
        else:
            checks.append(Check("database.integrity", "FAIL",
                                f"integrity_check: {'; '.join(result[:3])}",
                                "restore the database from a backup (or `localhub export` what "
                                "still reads, then import into a fresh file)"))
        if version == SCHEMA_VERSION:
            checks.append(Check("database.schema", "OK", f"schema version {version}"))
        elif version > SCHEMA_VERSION:
            checks.append(Check("database.schema", "FAIL",
                                f"schema version {version} is newer than this localhub "
                                f"supports ({SCHEMA_VERSION})", "upgrade localhub"))
        else:
            checks.append(Check("database.schema", "WARN",
                                f"schema version {version}, older than {SCHEMA_VERSION}",
                                "it is migrated forward on the next write; back it up first"))
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        checks.append(Check("database.wal", "OK", "journal mode WAL") if mode == "wal" else
                      Check("database.wal", "WARN", f"journal mode {mode}, not WAL",
                            "any write by localhub switches it to WAL"))
    except sqlite3.DatabaseError as exc:
        checks.append(Check("database.integrity", "FAIL", f"{path} is not a usable database "
                            f"({exc})", "restore it from a backup or choose another --db"))
    finally:
        conn.close()
    return checks


def check_config() -> tuple[list[Check], Config | None]:
    """Whether the config file parses; returns the config for the remote checks."""
    try:
        config = load_config()
    except ConfigError as exc:
        return [Check("config", "FAIL", str(exc), "fix or remove the file")], None
    where = config.path
    if where is None or not where.exists():
        return [Check("config", "OK", f"no config file ({where}); no remotes configured")], config
    return [Check("config", "OK", f"{where} parses; {len(config.remotes)} remote(s)")], config


def secret_checks(remote: Remote) -> list[Check]:
    """The findings of :func:`localhub.credentials.diagnose` (the diagnosis ``remote add``,
    ``sync`` and ``status`` show too), one check each."""
    return [Check(f"remote.{remote.name}.{'ca' if f.message.startswith('CA ') else 'auth'}",
                  f.level, f.message, f.fix) for f in diagnose(remote)]


def probe_remote(remote: Remote, *, timeout: float = 2.0) -> Check:
    """One GET of the model list through the client sync uses (same redirect, CA and token
    rules), with a short timeout; what answered is checked to be a Model Registry list."""
    name = f"remote.{remote.name}"
    shown = remote.shown_url
    try:
        client = RemoteRegistry(remote.url, token=remote.token(),
                                verify=remote.ca or True, timeout=(timeout, timeout),
                                allow_insecure_token=remote.allow_insecure_token)
    except LocalHubError as exc:
        return Check(name, "FAIL", str(exc), "see `localhub remote add --help`")
    try:
        data, _ = client.request("GET", "/registered_models", params={"pageSize": 1})
        client._items(data)
    except RemoteCertificateError as exc:
        return Check(name, "FAIL", f"{shown}: TLS certificate not trusted ({exc.message})",
                     f"`localhub remote add {remote.name} {shown} --ca PATH` with the CA that "
                     "signed the server's certificate")
    except RemoteUnreachableError as exc:
        return Check(name, "WARN", f"{shown} is unreachable ({exc.message})",
                     "fine while offline; changes stay queued until `localhub sync` reaches it")
    except RemoteAuthError as exc:
        how = (f"check the token in ${remote.token_env}" if remote.token_env else
               f"check the token in {remote.token_file}" if remote.token_file else
               f"`localhub remote add {remote.name} {shown} --token-env VAR`")
        return Check(name, "FAIL", f"{shown} refused the credentials (HTTP {exc.status})", how)
    except RemoteProtocolError as exc:
        status = f"HTTP {exc.status}" if exc.status else "HTTP 2xx"
        return Check(name, "FAIL", f"{shown} answered ({status}) with something that is not "
                     f"a Model Registry answer: {exc.message}",
                     "check that the URL is the registry's base URL and that no login page or "
                     "proxy stands in front of it")
    except RemoteError as exc:
        return Check(name, "WARN", f"{shown} answered HTTP {exc.status} for {API_PATH}",
                     "check that the URL is the registry's base URL (without /api/...)")
    except LocalHubError as exc:
        return Check(name, "FAIL", str(exc), "see `localhub remote add --help`")
    finally:
        client.close()
    return Check(name, "OK", f"{shown} reachable (HTTP 200)")


def check_remote(remote: Remote, *, network: bool = True, timeout: float = 2.0) -> Check:
    """The first failing secret check, else (when ``network``) the reachability probe."""
    failing = [c for c in secret_checks(remote) if c.status == "FAIL"]
    if failing:
        return failing[0]
    if not network:
        return Check(f"remote.{remote.name}", "OK",
                     f"{remote.shown_url} (reachability not checked)")
    return probe_remote(remote, timeout=timeout)


def run_checks(db_path: Path, *, network: bool = True,
               remote_check: Callable[[Remote], Check] | None = None) -> list[Check]:
    """Every check, in order: database, config, each configured remote."""
    checks = check_database(db_path)
    config_checks, config = check_config()
    checks += config_checks
    if config is not None:
        probe = remote_check or (lambda r: check_remote(r, network=network))
        for name in sorted(config.remotes):
            remote = config.remotes[name]
            found = secret_checks(remote)
            checks += found
            if not any(c.status == "FAIL" for c in found):
                checks.append(probe(remote))
    return checks
