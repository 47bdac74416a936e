/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package localenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/kubetink/kubetink/test/upstreamcharts"
)

// Media types of a Helm chart stored in an OCI registry (what "helm push" writes).
const (
	helmConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
	helmChartMediaType  = upstreamcharts.ChartLayerMediaType
	ociManifestType     = upstreamcharts.ManifestMediaType
)

// ociRegistry is an in-memory OCI distribution registry on 127.0.0.1 (plain HTTP).
type ociRegistry struct {
	host   string
	server *http.Server
}

func startRegistry(logw io.Writer) (*ociRegistry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &ociRegistry{host: l.Addr().String()}
	r.server = &http.Server{
		Handler:           registry.New(registry.Logger(log.New(logw, "registry: ", log.LstdFlags))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = r.server.Serve(l) }()
	return r, nil
}

func (r *ociRegistry) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.server.Shutdown(ctx)
}

// pushChart stores the packaged chart as tinkerbell/charts/<name>:<version>, upstream's repository path, the way
// "helm push" does: an OCI image manifest whose config is Chart.yaml as JSON and whose single layer is the chart
// archive, unchanged. It returns the repository URL.
func (r *ociRegistry) pushChart(ctx context.Context, dir string, c Chart) (string, error) {
	archive, err := upstreamcharts.Archive(ctx, dir, c)
	if err != nil {
		return "", err
	}
	config, err := chartConfig(archive, c)
	if err != nil {
		return "", err
	}
	repo := strings.TrimPrefix(upstreamcharts.Repository, "ghcr.io/") + "/" + c.Name
	cfgDesc, err := r.pushBlob(ctx, repo, helmConfigMediaType, config)
	if err != nil {
		return "", err
	}
	layerDesc, err := r.pushBlob(ctx, repo, helmChartMediaType, archive)
	if err != nil {
		return "", err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociManifestType,
		"config":        cfgDesc,
		"layers":        []any{layerDesc},
		"annotations": map[string]string{
			"org.opencontainers.image.title":   c.Name,
			"org.opencontainers.image.version": c.Version,
		},
	})
	if err != nil {
		return "", err
	}
	url := fmt.Sprintf("http://%s/v2/%s/manifests/%s", r.host, repo, c.Version)
	if err := r.do(ctx, http.MethodPut, url, ociManifestType, manifest, http.StatusCreated); err != nil {
		return "", fmt.Errorf("failed to push the manifest of %s:%s: %w", repo, c.Version, err)
	}
	return fmt.Sprintf("oci://%s/%s", r.host, repo), nil
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

// pushBlob uploads content in one request (a monolithic upload).
func (r *ociRegistry) pushBlob(ctx context.Context, repo, mediaType string, content []byte) (descriptor, error) {
	d := descriptor{MediaType: mediaType, Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(content)), Size: len(content)}
	url := fmt.Sprintf("http://%s/v2/%s/blobs/uploads/?digest=%s", r.host, repo, d.Digest)
	if err := r.do(ctx, http.MethodPost, url, "application/octet-stream", content, http.StatusCreated); err != nil {
		return d, fmt.Errorf("failed to push blob %s to %s: %w", d.Digest, repo, err)
	}
	return d, nil
}

func (r *ociRegistry) do(ctx context.Context, method, url, contentType string, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, msg)
	}
	return nil
}
