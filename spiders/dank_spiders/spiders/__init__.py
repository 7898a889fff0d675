"""The spiders: one module per site."""
