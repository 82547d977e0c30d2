"""The resource-server library MCP servers import (RFC 9728, RFC 6750, RFC 9068 validation)."""
