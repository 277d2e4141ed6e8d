"""The sync engine (installed as ``localhub.sync``): push the outbox, pull remote changes."""
