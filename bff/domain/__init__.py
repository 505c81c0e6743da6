"""Provider-neutral domain: plain frozen dataclasses and pure functions.

Imports neither Strawberry nor any provider package.
"""
