# Builder image of one combination: the libc's builder base (libc.<name>.builder_base),
# the exact Go toolchain from the toolchain store the local backend uses, and the C
# compiler of the libc, and the programs builds run beside go (tools/: the GOCACHEPROG
# program of [cache], when there is one). Build commands run in it as the invoking user,
# so the cache folders (named volumes are seeded from them) are writable by anyone.
ARG BASE
FROM ${BASE}
ARG CC
COPY go /usr/local/go
COPY tools/ /usr/local/bin/
# One RUN, so the image stays four layers (the vfs storage driver copies every layer).
RUN set -e; \
    if ! command -v "$CC" >/dev/null; then \
        echo "the builder base has no C compiler '$CC': use a base with it installed" \
             "(invoke bootstrap-base makes one) or set libc.<name>.builder_base" >&2; \
        exit 1; \
    fi; \
    mkdir -p /cache/gocache /cache/gomodcache /cache/home; \
    chmod 1777 /cache /cache/gocache /cache/gomodcache /cache/home
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    GOTOOLCHAIN=local HOME=/cache/home GOCACHE=/cache/gocache GOMODCACHE=/cache/gomodcache
