"""Mutations: each returns a named union of a success type and typed errors."""
