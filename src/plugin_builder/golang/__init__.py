"""The Go toolchain and what it reads: exact releases (:mod:`.toolchains`), go.mod and
go.work files, the go command's environment and flags, the sources a build read.
"""
