"""Tests of the localhub core: facades, store, validation, database handling."""
