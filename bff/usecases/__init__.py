"""Use cases over the providers: search, history, session lookup and driver actions.

Speaks the domain only; the GraphQL layer maps results to its types.
"""
