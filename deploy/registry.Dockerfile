# registry:2 rebuilt from Debian's docker-registry binary and its libraries, FROM scratch.
# Build it with deploy/build-registry-image.sh, which stages rootfs/; from any other
# context the first COPY fails. Settings: REGISTRY_* variables, as with registry:2.
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 data/ /var/lib/registry/
RUN ["/usr/bin/docker-registry", "--version"]
USER 65532:65532
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
