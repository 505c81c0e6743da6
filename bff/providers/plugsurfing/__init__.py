"""Plugsurfing Drive API: geosearch, remote start/stop, history, receipts, retry payment.

Seeds ``000_*`` (session model, token endpoint) and ``001_*`` (sessions guide, stage
environment) are the requirements. Webhooks carry no state: each one is a prompt to
re-fetch the session by id.
"""
