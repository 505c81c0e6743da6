"""The OCPI roaming platform (seed 003): sessions at Virta EVSEs, user JWTs, signed webhooks."""
