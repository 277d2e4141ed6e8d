"""``localhub doctor``: checks of the database, the config file and the remotes.

The database is opened read-only with plain ``sqlite3``: the doctor never creates, migrates or
changes the file it examines.
"""

from __future__ import annotations

import http.client
import os
import sqlite3
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .config import Config, Remote, load_config
from .errors import ConfigError

__all__ = ["Check", "check_config", "check_database", "check_remote", "run_checks"]

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
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check("database.writable", "FAIL", f"folder {folder} is not writable (SQLite "
                     "needs it for its WAL and journal files)",
                     f"make {folder} writable, or choose another location with --db")
    return Check("database.writable", "OK", f"{path} and its folder are writable")


def check_database(path: Path) -> list[Check]:
    """Existence, permissions, integrity, schema version and journal mode of the database."""
    from .db import APPLICATION_ID, SCHEMA_VERSION

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


def _auth_problem(remote: Remote) -> Check | None:
    if remote.token_env and not os.environ.get(remote.token_env):
        return Check(f"remote.{remote.name}.auth", "FAIL",
                     f"token variable {remote.token_env} is not set",
                     f"export {remote.token_env}=<token> before syncing")
    if remote.token_file and not os.access(Path(remote.token_file).expanduser(), os.R_OK):
        return Check(f"remote.{remote.name}.auth", "FAIL",
                     f"token file {remote.token_file} is not readable",
                     f"create it, or `localhub remote add {remote.name} {remote.url} "
                     "--token-file PATH`")
    if remote.ca and not Path(remote.ca).expanduser().is_file():
        return Check(f"remote.{remote.name}.ca", "FAIL", f"CA file {remote.ca} does not exist",
                     f"`localhub remote add {remote.name} {remote.url} --ca PATH`")
    return None


def check_remote(remote: Remote, *, network: bool = True, timeout: float = 2.0) -> Check:
    """Token and CA settings, then (when ``network``) one GET with a short timeout."""
    import urllib.error
    import urllib.request

    name = f"remote.{remote.name}"
    problem = _auth_problem(remote)
    if problem is not None:
        return problem
    if not network:
        return Check(name, "OK", f"{remote.url} (reachability not checked)")
    request = urllib.request.Request(remote.url + API_PATH, method="GET")
    token = remote.token()
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=remote.ca) if remote.ca else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(name, "WARN", f"{remote.url} is unreachable ({reason})",
                     "fine while offline; changes stay queued until `localhub sync` reaches it")
    if status in (401, 403):
        how = (f"check the token in ${remote.token_env}" if remote.token_env else
               f"check the token in {remote.token_file}" if remote.token_file else
               f"`localhub remote add {remote.name} {remote.url} --token-env VAR`")
        return Check(name, "FAIL", f"{remote.url} refused the credentials (HTTP {status})", how)
    if status >= 400:
        return Check(name, "WARN", f"{remote.url} answered HTTP {status} for {API_PATH}",
                     "check that the URL is the registry's base URL (without /api/...)")
    return Check(name, "OK", f"{remote.url} reachable (HTTP {status})")


def run_checks(db_path: Path, *, network: bool = True,
               remote_check: Callable[[Remote], Check] | None = None) -> list[Check]:
    """Every check, in order: database, config, each configured remote."""
    checks = check_database(db_path)
    config_checks, config = check_config()
    checks += config_checks
    if config is not None:
        probe = remote_check or (lambda r: check_remote(r, network=network))
        for name in sorted(config.remotes):
            checks.append(probe(config.remotes[name]))
    return checks
