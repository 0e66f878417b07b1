# oigd container image: a build stage that installs the build dependencies with the same script
# CI uses (deploy/install-deps.sh) and compiles a release binary, and a runtime stage with only
# that binary and its shared libraries (install-deps.sh --runtime), run as an unprivileged user
# with the database on a volume. Build: docker build -t oigd .   Run: see deploy/README.md.

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY deploy/install-deps.sh deploy/install-deps.sh
# (the package lists stay: check-runtime-libs.sh asks apt-cache; this stage is discarded)
RUN bash deploy/install-deps.sh --build
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build -j"$(nproc)" --target oigd \
 && bash deploy/check-runtime-libs.sh /build/oigd

FROM debian:bookworm-slim AS runtime
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh --runtime \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && groupadd --gid 10001 oigd \
 && useradd --uid 10001 --gid oigd --home-dir /var/lib/oigd --no-create-home --shell /usr/sbin/nologin oigd \
 && mkdir -p /var/lib/oigd && chown oigd:oigd /var/lib/oigd && chmod 0750 /var/lib/oigd
COPY --from=build /build/oigd /usr/local/bin/oigd
RUN oigd --version

# inside the container the daemon listens on every interface; the database lives on the volume
ENV OIGD_LISTEN=0.0.0.0:8080 \
    OIGD_DB=/var/lib/oigd/oigd.db
VOLUME ["/var/lib/oigd"]
WORKDIR /var/lib/oigd
EXPOSE 8080
USER 10001:10001
# the runtime image has no curl: oigd's own client GETs /healthz at $OIGD_LISTEN
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["oigd", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["oigd"]
CMD ["serve"]
