# musl runtime base, made offline by `invoke bootstrap-base`: only the musl loader, which
# is musl's libc itself (Debian's musl package, from the debootstrapped Debian), on
# scratch. A musl Go host needs nothing else. amd64 paths.
ARG BOOTSTRAP
FROM ${BOOTSTRAP} AS debian
FROM scratch
COPY --from=debian /usr/lib/x86_64-linux-musl/libc.so /lib/ld-musl-x86_64.so.1
