"""Claim matching against an archive: candidates from the database's search index."""
