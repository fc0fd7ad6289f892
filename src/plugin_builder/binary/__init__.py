"""What a built binary says, read in pure Python: ELF headers and tables, libc and arch,
Go's build information and the package fingerprints the runtime compares.

Nothing here judges a binary; :mod:`plugin_builder.verify` does, from what this reads.
"""
