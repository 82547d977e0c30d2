"""``warden demo`` and ``warden mcp-demo``: Warden shown end to end with a real MCP server.

- :mod:`warden.demo.mcp_server`: an official-SDK MCP server with three tools of different
  scopes, protected by :mod:`warden.resource` (``warden mcp-demo``);
- :mod:`warden.demo.walk`: the official SDK client walking through discovery, registration,
  consent, tokens and step-up, narrated by :mod:`warden.demo.narration`;
- :mod:`warden.demo.person`: the person at the browser, played headlessly;
- :mod:`warden.demo.servers`: uvicorn in background threads on pre-bound loopback ports;
- :mod:`warden.demo.runner`: all of it together (``warden demo``).

Submodules import the ``mcp`` SDK; import them, not this package, for what you need.
"""

__all__: list[str] = []
