"""Plugins for a host you did not build: a released binary, an image holding it, or the
recipe its project publishes (what Go and the ELF recorded, as :mod:`.recipe` reads it)."""
