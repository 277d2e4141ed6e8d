"""Helpers the tests share: real serve and proxy processes, the official spec."""
