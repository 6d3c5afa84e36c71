"""matcher: the gallery (watchlists, members, templates), its search index and 1:N search."""
