# Build: the same `make build` target the Makefile uses outside containers (static, CGO off, version-stamped).
FROM golang:1.26 AS builder
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY Makefile ./
COPY hack/ hack/
COPY api/ api/
COPY config/crd/ config/crd/
COPY cmd/ cmd/
COPY internal/ internal/
RUN make build VERSION=${VERSION}

# Run: no shell, no package manager, non-root.
FROM gcr.io/distroless/static:nonroot
COPY --from=builder /src/bin/kubetink /usr/local/bin/kubetink
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kubetink"]
CMD ["manager"]
