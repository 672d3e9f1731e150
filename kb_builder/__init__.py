"""Turn HR's content files into an FAQ site and a search index."""
