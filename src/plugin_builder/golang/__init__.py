"""The Go toolchain and what it reads: exact releases (:mod:`.toolchains`, fetched from the
module proxy by :mod:`.goproxy`, used only as provisioned by :mod:`.goroot`), go.mod and
go.work files, the go command's environment and flags, the sources a build read.
"""
