# iamtrim's container image, for the CronJob in docs/kubernetes/iamtrim-cronjob.yaml.
#   docker build -t iamtrim:0.1.0 .
# Build stage: the dist profile (release with fat LTO, one codegen unit, stripped: 86 MB
# against release's 120), from the locked dependency tree.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked --bin iamtrim

# Runtime: glibc and CA certificates (the AWS SDK's HTTPS), no shell, no package manager, a
# non-root user (uid 65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/dist/iamtrim /usr/local/bin/iamtrim
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/iamtrim"]
CMD ["--help"]
