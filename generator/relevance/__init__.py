"""Relevance: which stored items speak to an account, and why."""
