"""Before any write to a linked remote id: is the entity there still ours?

A remote id is a fact about one server database at one time. A registry restored from an
older backup hands the same ids to other people's entities, so a stored link is checked
against what the remote holds now, on the read the update makes anyway:

* **kind**: an artifact's ``artifactType`` (a model or version path only answers its kind);
* **name**: the name the link last saw (names cannot be changed over the REST API);
* **parent**: a version's ``registeredModelId`` is the linked id of its local model; an
  artifact is looked up by name and type in its linked version, and must be found with our id
  (``/artifacts/{id}`` does not say which version holds an artifact: one request more);
* **creation**: ``createTimeSinceEpoch`` above the update time we last saw for ours: an
  entity created since under a reused id;
* **time**: ``lastUpdateTimeSinceEpoch`` below the base's, with content other than the base:
  the remote went back to an older state of the entity (a restore), and a merge would take
  that older content for someone else's change.

Any of these is a ``remote-mismatch``: nothing is written, the link is kept for the user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localhub.types import Artifact, ModelVersion

from .snapshot import content_hash, snapshot

if TYPE_CHECKING:
    import sqlite3

    from localhub.rest_client import Fetched
    from localhub.types import BaseResource

    from .contract import RemoteClient
    from .ledger import Ledger, Link, Local

__all__ = ["KIND", "mismatch", "pulled_mismatch", "record"]

#: The conflict kind of a link whose remote entity is not ours any more.
KIND = "remote-mismatch"


def mismatch(remote: RemoteClient, local: Local, link: Link, current: Fetched,
             parent_id: str | None) -> str | None:
    """Why the remote entity ``current`` (read at the link's id) is not ours, or None.
    ``parent_id``: the linked remote id of the local parent (None when it has none)."""
    theirs = current.entity
    where = f"the remote's {local.entity.kind} at id {link.remote_id}"
    if getattr(theirs, "kind", None) != local.entity.kind:
        return f"{where} is a {getattr(theirs, 'kind', '?')}, not a {local.entity.kind}"
    name = link.base.get("name")
    if name is not None and getattr(theirs, "name", None) != name:
        return f"{where} is named {getattr(theirs, 'name', None)!r}, not {name!r}"
    if isinstance(local.entity, ModelVersion) and parent_id is not None:
        owner = str(getattr(theirs, "registered_model_id", None) or "")
        if owner and owner != parent_id:
            return (f"{where} belongs to registered model {owner}, not to {parent_id} (the "
                    "model it is linked under)")
    created = int(getattr(theirs, "create_time_since_epoch", None) or 0)
    if link.base_update_time and created > link.base_update_time:
        return (f"{where} was created at {created}, after the {link.base_update_time} at "
                "which we last saw ours: it is another entity under a reused id")
    updated = int(getattr(theirs, "last_update_time_since_epoch", None) or 0)
    if updated and updated < link.base_update_time \
            and content_hash(snapshot(theirs)) != link.base_hash:
        return (f"{where} was last updated at {updated}, before the {link.base_update_time} "
                "we last saw, and holds older content: the remote went back in time (restored "
                "from a backup?)")
    if isinstance(local.entity, Artifact) and parent_id is not None and name is not None:
        found = remote.find_artifact(str(name), parent_id, local.entity.kind)
        if found is None or str(found.entity.id) != link.remote_id:
            return (f"{where} is not the {name!r} of remote version {parent_id} "
                    + ("(the version has none)" if found is None
                       else f"(that is id {found.entity.id})"))
    return None


def pulled_mismatch(conn: sqlite3.Connection, ledger: Ledger, local: Local, link: Link,
                    theirs: BaseResource) -> bool:
    """For the pull, before it merges a listed entity into the local one linked to its id:
    True (and a conflict recorded) when the link is in doubt or the entity is named otherwise
    than the link last saw; the pull then leaves the local entity and the link alone."""
    if any(c["kind"] == KIND for c in ledger.open_conflicts(conn, link.uid)):
        return True
    name = link.base.get("name")
    if name is None or getattr(theirs, "name", None) == name:
        return False
    record(conn, ledger, local, link, theirs,
           f"the remote's {local.entity.kind} at id {link.remote_id} is named "
           f"{getattr(theirs, 'name', None)!r}, not {name!r}")
    return True


def record(conn: sqlite3.Connection, ledger: Ledger, local: Local, link: Link,
           theirs: BaseResource, why: str) -> None:
    """A ``remote-mismatch`` conflict (one open per entity); a policy never settles it."""
    if any(c["kind"] == KIND for c in ledger.open_conflicts(conn, local.uid)):
        return
    ledger.add_conflict(conn, local=local, kind=KIND, fields_=[], base=link.base,
                        mine=snapshot(local.entity), theirs=snapshot(theirs),
                        remote_id=link.remote_id, message=f"{why}; nothing was written")
