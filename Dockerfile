# mqedge on Debian 12, from Debian packages only. Targets:
#   edge   (default) the edge server, the demo page and the dev token tool
#   broker Mosquitto from Debian, for docker-compose.yml
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config libwebsockets-dev \
      libmosquitto-dev libcjson-dev libsqlite3-dev libjwt-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY edge edge
COPY bridge bridge
COPY include include
COPY examples examples
COPY tests tests
COPY scripts scripts
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j"$(nproc)" --target mqedge mqedge-token

FROM debian:12-slim AS broker
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /mosquitto/data && chown mosquitto /mosquitto/data
USER mosquitto
EXPOSE 1883
CMD ["mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]

FROM debian:12-slim AS edge
RUN apt-get update \
 && apt-get install -y --no-install-recommends libwebsockets17 libmosquitto1 libcjson1 libsqlite3-0 libjwt0 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/mqedge --create-home mqedge
COPY --from=build /src/build/bin/mqedge /src/build/bin/mqedge-token /usr/local/bin/
COPY examples/web /usr/share/mqedge/web
COPY docker/mqedge.conf /etc/mqedge/mqedge.conf
USER mqedge
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=2s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["mqedge", "--config", "/etc/mqedge/mqedge.conf", "--bind", "0.0.0.0", "--port", "8080", \
            "--data-dir", "/var/lib/mqedge", "--web-root", "/usr/share/mqedge/web"]
