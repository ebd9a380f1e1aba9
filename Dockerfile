# connrecon's container image, for samples/k8s-cronjob.yaml.
#
# Built offline by `make image`: the Makefile builds a static binary
# (CGO_ENABLED=0) and copies it, with this machine's CA bundle and a
# passwd/group naming the non-root user, into bin/image/; this file
# puts them on an empty base. No registry is reached.
#
#   make image                    # podman (CONTAINER=buildah or docker work too)
#   podman run --rm --read-only connrecon:latest version
#
# The context must be bin/image/ (the Makefile passes it), not the
# repository. For a build from the repository alone, with a Go image
# and a CA bundle from a registry, see README.md, "Running unattended"
# (a multi-stage Dockerfile).
#
# What is in the image: /usr/local/bin/connrecon, /etc/ssl/certs/ca-certificates.crt,
# /etc/passwd and /etc/group (user and group 65532, "nonroot"), and
# empty /reports (the working directory, owned by 65532) and /tmp. No
# shell: `--auth cli` (which runs `az`) cannot work here; use --auth
# default (environment, workload identity, managed identity), msi or token.
FROM scratch

COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY passwd /etc/passwd
COPY group /etc/group
COPY connrecon /usr/local/bin/connrecon
# Empty directories: /reports for the reports volume (owned by the user,
# so a fresh named volume mounted there is writable), /tmp for an
# emptyDir or tmpfs (the root file system is read-only in the CronJob).
COPY --chown=65532:65532 empty/ /reports/
COPY --chown=65532:65532 empty/ /tmp/

# Go's crypto/x509 finds the bundle at this path on its own; SSL_CERT_FILE
# says so for anyone reading the image's configuration.
ENV PATH=/usr/local/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOME=/tmp \
    TMPDIR=/tmp

# Numeric, so a kubelet's runAsNonRoot can check it without /etc/passwd.
USER 65532:65532
WORKDIR /reports
ENTRYPOINT ["connrecon"]
CMD ["help"]

ARG VERSION=dev
LABEL org.opencontainers.image.title="connrecon" \
      org.opencontainers.image.description="Keeps Entra application proxy connectors in the connector groups a mapping file names" \
      org.opencontainers.image.version="${VERSION}"
