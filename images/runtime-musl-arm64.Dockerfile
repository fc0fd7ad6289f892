# musl arm64 runtime base, made offline by `invoke bootstrap-base`: only the arm64 musl
# loader, which is musl's libc itself (Debian's musl:arm64, installed in the
# debootstrapped builder base through dpkg multiarch), on scratch. Built with the
# platform linux/arm64.
ARG BOOTSTRAP
ARG BOOTSTRAP_PLATFORM
FROM --platform=${BOOTSTRAP_PLATFORM} ${BOOTSTRAP} AS debian
FROM scratch
COPY --from=debian /usr/lib/aarch64-linux-musl/libc.so /lib/ld-musl-aarch64.so.1
