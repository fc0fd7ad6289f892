# glibc arm64 runtime base, made offline by `invoke bootstrap-base`: nothing but the arm64
# glibc loader and libc.so.6, taken from the cross toolchain's libc6-arm64-cross in the
# debootstrapped builder base (of the engine's platform), on scratch. Built with the
# platform linux/arm64, at the paths an arm64 Debian has them.
ARG BOOTSTRAP
ARG BOOTSTRAP_PLATFORM
FROM --platform=${BOOTSTRAP_PLATFORM} ${BOOTSTRAP} AS debian
FROM scratch
COPY --from=debian /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 /lib/ld-linux-aarch64.so.1
COPY --from=debian /usr/aarch64-linux-gnu/lib/libc.so.6 /lib/aarch64-linux-gnu/libc.so.6
