"""The OAuth 2.1 protocol engine: framework-free, storage behind :mod:`warden.oauth.ports`."""
