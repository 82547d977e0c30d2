"""Token-endpoint grants, one module per grant type."""
