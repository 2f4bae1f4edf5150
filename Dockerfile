# mqedge on Debian 12, from Debian packages only. Targets:
#   edge   (default) the edge server, the demo page and the dev token tool: the Debian package
#          built in the first stage, installed with its dependencies (docker/install-runtime.sh,
#          which tests/package/debian-root.sh runs in a Debian 12 root: the image is tested there)
#   broker Mosquitto from Debian, for docker-compose.yml
FROM debian:12 AS build
WORKDIR /src
COPY scripts scripts
RUN scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt README.md BENCHMARKS.md ./
COPY edge edge
COPY bridge bridge
COPY include include
COPY examples examples
COPY tests tests
COPY docs docs
COPY packaging packaging
RUN scripts/package.sh build

FROM debian:12-slim AS broker
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /mosquitto/data && chown mosquitto /mosquitto/data
USER mosquitto
EXPOSE 1883
CMD ["mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]

FROM debian:12-slim AS edge
# the package creates the mqedge user and /var/lib/mqedge, installs /usr/bin/mqedge, mqedge-token
# and the demo in /usr/share/mqedge/web
COPY --from=build /src/build/mqedge_*.deb /tmp/
COPY docker/install-runtime.sh /tmp/
# postinst's generated JWT secret would be baked into the image, the same for everyone who pulls
# it: removed; the image's config takes the secret from MQEDGE_JWT_SECRET(_FILE) at run time
RUN /tmp/install-runtime.sh /tmp/mqedge_*.deb && rm /tmp/mqedge_*.deb /tmp/install-runtime.sh \
 && rm /etc/mqedge/jwt-secret
COPY docker/mqedge.conf /etc/mqedge/mqedge.conf
USER mqedge
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=2s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["mqedge", "--config", "/etc/mqedge/mqedge.conf", "--bind", "0.0.0.0", "--port", "8080", \
            "--data-dir", "/var/lib/mqedge", "--web-root", "/usr/share/mqedge/web"]
