"""Where a remote's secrets may live, and one diagnosis of them shared by every command.

A bearer token comes from an environment variable (``token_env``) or a file (``token_file``),
never from the remote's URL nor from the command line. :func:`diagnose` is the single judge of a
remote's token settings: ``remote add`` prints its findings as warnings, ``sync`` prints them on
stderr, ``status`` and ``doctor`` show them as checks.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "Finding",
    "diagnose",
    "is_loopback",
    "looks_like_token",
    "redact_url",
    "token_over_plain_http",
    "url_credentials",
]

Level = Literal["WARN", "FAIL"]

#: Query parameters that carry a secret (compared lower-case, ``-`` read as ``_``).
SECRET_PARAMS = frozenset({
    "access_token", "token", "id_token", "refresh_token", "auth", "auth_token", "authorization",
    "api_key", "apikey", "key", "password", "passwd", "pwd", "secret", "client_secret",
    "sig", "signature", "x_amz_signature", "x_amz_credential", "jwt", "session", "sessionid",
})
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Prefixes of well-known token formats (GitHub, GitLab, Slack, OpenShift, API keys).
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat", "xox",
                   "sk_", "sk-", "sha256~", "eyj")


class _HasTokenSettings(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def token_env(self) -> str | None: ...
    @property
    def token_file(self) -> str | None: ...
    @property
    def ca(self) -> str | None: ...
    @property
    def allow_insecure_token(self) -> bool: ...


@dataclass(frozen=True)
class Finding:
    """One problem with a remote's secrets: its level, what is wrong, what to do."""

    level: Level
    message: str
    fix: str


def _secret_param(name: str) -> bool:
    return name.lower().replace("-", "_") in SECRET_PARAMS


def url_credentials(url: str) -> list[str]:
    """What in ``url`` is a credential: ``user:password@``, ``?access_token=``... (names only)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        found.append("a user name or password before the host")
    found += [f"the query parameter {name!r}"
              for name, _ in parse_qsl(parts.query, keep_blank_values=True)
              if _secret_param(name)]
    return found


def redact_url(url: str) -> str:
    """``url`` with any user info and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_param(name) for name, _ in pairs):
            query = urlencode([(n, "***" if _secret_param(n) else v) for n, v in pairs],
                              safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, url: str) -> str:
    """``text`` with every occurrence of ``url`` (and its secrets) redacted."""
    safe = redact_url(url)
    if safe == url:
        return text
    out = text.replace(url, safe)
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    for secret in (parts.password, parts.username):
        if secret:
            out = out.replace(secret, "***")
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _secret_param(name) and value:
            out = out.replace(value, "***")
    return out


def looks_like_token(value: str) -> bool:
    """Whether a ``--token-env`` value is a token pasted by mistake rather than a variable name.

    Anything that is not a variable name counts, and so do names shaped like secrets: a known
    token prefix, or 24+ characters mixing letters and digits without any ``_`` between words.
    """
    if not _VAR_NAME.match(value):
        return True
    lower = value.lower()
    if lower.startswith(_TOKEN_PREFIXES):
        return True
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return len(value) >= 24 and has_digit and has_alpha and "_" not in value.strip("_")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def token_over_plain_http(url: str) -> bool:
    """Whether a token sent to ``url`` would cross the network unencrypted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "http" and not is_loopback(parts.hostname)


def _token_file_findings(remote: _HasTokenSettings, path: Path) -> list[Finding]:
    add = f"`localhub remote add {remote.name} URL --token-file PATH`"
    try:
        info = path.stat()
    except OSError as exc:
        return [Finding("FAIL", f"token file {path} cannot be read ({exc.strerror})",
                        f"create it with the token (chmod 600), or {add}")]
    if not stat.S_ISREG(info.st_mode):
        return [Finding("FAIL", f"token file {path} is not a regular file",
                        f"point --token-file at a file holding the token: {add}")]
    if not os.access(path, os.R_OK):
        return [Finding("FAIL", f"token file {path} is not readable by this user",
                        f"chmod 600 {path} (as its owner)")]
    out: list[Finding] = []
    if info.st_mode & 0o077:
        out.append(Finding("WARN", f"token file {path} is readable by other users (mode "
                                   f"{stat.S_IMODE(info.st_mode):04o})", f"chmod 600 {path}"))
    if info.st_size == 0:
        out.append(Finding("WARN", f"token file {path} is empty: no token will be sent",
                           f"write the token into {path}"))
    return out


def diagnose(remote: _HasTokenSettings) -> list[Finding]:
    """Every problem with the secrets of ``remote``: URL credentials, token source, CA file.

    Reads the token source's metadata (variable set or not, file mode) but never prints,
    returns or logs the token itself.
    """
    out: list[Finding] = []
    where = url_credentials(remote.url)
    if where:
        out.append(Finding("WARN", f"the URL of remote {remote.name!r} holds credentials "
                                   f"({', '.join(where)}); they are sent as they are and "
                                   "shown redacted", "re-add the remote without them: "
                                   f"`localhub remote add {remote.name} "
                                   f"{redact_url(remote.url).replace('***@', '')} "
                                   "--token-env VAR` (or --token-file PATH)"))
    has_token = False
    if remote.token_env:
        if looks_like_token(remote.token_env):
            out.append(Finding("FAIL", "token_env does not hold an environment variable name "
                                       "(it looks like a token)",
                               f"`localhub remote add {remote.name} URL --token-env VAR`"))
        elif not os.environ.get(remote.token_env):
            out.append(Finding("FAIL", f"token variable {remote.token_env} is not set: no "
                                       "token will be sent",
                               f"export {remote.token_env}=<token> before syncing"))
        else:
            has_token = True
    elif remote.token_file:
        path = Path(remote.token_file).expanduser()
        found = _token_file_findings(remote, path)
        out += found
        has_token = not any(f.level == "FAIL" for f in found)
    if has_token and token_over_plain_http(remote.url) and not remote.allow_insecure_token:
        out.append(Finding("FAIL", f"remote {remote.name!r} uses plain http to a host that is "
                                   "not this machine: the token would cross the network "
                                   "unencrypted, so it is not sent",
                           "use an https:// URL, or accept the risk with `localhub remote add "
                           f"{remote.name} URL ... --allow-insecure-token`"))
    if remote.ca and not Path(remote.ca).expanduser().is_file():
        out.append(Finding("FAIL", f"CA file {remote.ca} does not exist",
                           f"`localhub remote add {remote.name} URL --ca PATH`"))
    return out
