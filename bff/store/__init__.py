"""What the BFF keeps in Redis about sessions (beyond live snapshots)."""
