# modelwire-server in a container (docs/operations.md). Two stages: build with the Swift toolchain,
# run on slim Debian as a non-root user with the model repository on a volume.
#   docker build -t modelwire-server .
#   docker run -p 7411:7411 -p 8080:8080 -v modelwire:/var/lib/modelwire modelwire-server
# The binary port is 7411, the HTTP port (metrics, probes, the V2 inference API) 8080; bound to all
# interfaces inside the container, so a token file is required (mount it, see deploy/kubernetes/).

FROM swift:6.3.1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libprotobuf-c-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Fuzz ./Fuzz
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product modelwire-server \
    && install -D "$(swift build -c release --show-bin-path)/modelwire-server" /out/modelwire-server

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libprotobuf-c1 zlib1g libstdc++6 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 modelwire \
    && useradd --system --uid 10001 --gid modelwire --home-dir /var/lib/modelwire --shell /usr/sbin/nologin modelwire \
    && install -d -o modelwire -g modelwire -m 0750 /var/lib/modelwire
COPY --from=build /out/modelwire-server /usr/local/bin/modelwire-server
USER 10001:10001
VOLUME ["/var/lib/modelwire"]
EXPOSE 7411 8080
ENTRYPOINT ["/usr/local/bin/modelwire-server", "--host", "0.0.0.0", "--repository", "/var/lib/modelwire", "--http-port", "8080"]
CMD ["--auth-file", "/etc/modelwire/tokens.json"]
