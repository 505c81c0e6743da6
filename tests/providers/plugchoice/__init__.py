"""Tests of bff.providers.plugchoice."""
