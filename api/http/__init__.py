"""The HTTP kit every resource shares: HAL, links, problems, dependencies, metrics, health, docs."""
