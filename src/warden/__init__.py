"""Warden: the OAuth 2.1 authorization server and resource-server toolkit for AI agents."""

__version__ = "0.1.0"
