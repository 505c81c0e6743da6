"""Charging BFF: one GraphQL endpoint over several EV-charging providers."""
