# glibc runtime base, made offline by `invoke bootstrap-base`: nothing but the glibc
# loader and libc.so.6 (all a dynamically linked Go host and its plugins need) taken from
# the debootstrapped Debian, on scratch. amd64 paths.
ARG BOOTSTRAP
FROM ${BOOTSTRAP} AS debian
FROM scratch
COPY --from=debian /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
COPY --from=debian /usr/lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libc.so.6
