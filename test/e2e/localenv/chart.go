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
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// UpstreamChartRepository is where Tinkerbell publishes its charts (oci://ghcr.io/tinkerbell/charts/<name>). The
// local registry serves them under the same repository path, so only the host differs from what users pull.
const UpstreamChartRepository = "ghcr.io/tinkerbell/charts"

// Chart is a released upstream chart: tinkerbell at a "vX.Y.Z" tag or the legacy stack at "0.x.y".
type Chart struct {
	// Name is the chart's name: "tinkerbell" or "stack".
	Name string
	// Version is the tag, as published (the unified chart's tags start with "v").
	Version string
}

// E2ECharts are the charts the end-to-end tests and the demo serve: the releases they install and upgrade
// between (v0.24.0 and v0.25.0 have a real binary; v0.19.0 and the legacy stack are upgraded from).
var E2ECharts = []Chart{
	{Name: "tinkerbell", Version: "v0.19.0"},
	{Name: "tinkerbell", Version: "v0.24.0"},
	{Name: "tinkerbell", Version: "v0.25.0"},
	{Name: "stack", Version: "0.6.2"},
}

// SharedChartsDir is where this workspace keeps the real packaged charts (<name>-<version>.tgz), as
// "helm package" made them from upstream's release tags; it stands in for ghcr.io, which this machine cannot
// reach. It is resolved against the repository root.
const SharedChartsDir = "../shared/upstream/charts"

// chartArchive returns the packaged chart: from dir (<name>-<version>.tgz) when dir holds it, otherwise pulled
// from upstream's registry.
func chartArchive(ctx context.Context, dir string, c Chart) ([]byte, error) {
	if dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, c.Name+"-"+c.Version+".tgz"))
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return pullChart(ctx, c)
}

// pullChart fetches oci://ghcr.io/tinkerbell/charts/<name>:<version> the way "helm pull" does, with the OCI
// distribution API and an anonymous pull token, and returns its chart layer.
func pullChart(ctx context.Context, c Chart) ([]byte, error) {
	host, repo, _ := strings.Cut(UpstreamChartRepository+"/"+c.Name, "/")
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("failed to pull the chart oci://%s/%s:%s (and no local copy of it in %s): %w",
			host, repo, c.Version, SharedChartsDir, err)
	}
	var token struct {
		Token string `json:"token"`
	}
	if err := getJSON(ctx, fmt.Sprintf("https://%s/token?scope=repository:%s:pull", host, repo), "", "", &token); err != nil {
		return fail(err)
	}
	var manifest struct {
		Layers []descriptor `json:"layers"`
	}
	if err := getJSON(ctx, fmt.Sprintf("https://%s/v2/%s/manifests/%s", host, repo, c.Version), token.Token, ociManifestType, &manifest); err != nil {
		return fail(err)
	}
	for _, l := range manifest.Layers {
		if l.MediaType != helmChartMediaType {
			continue
		}
		body, err := get(ctx, fmt.Sprintf("https://%s/v2/%s/blobs/%s", host, repo, l.Digest), token.Token, "")
		if err != nil {
			return fail(err)
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(body)); got != l.Digest {
			return fail(fmt.Errorf("the chart layer's digest is %s, not %s", got, l.Digest))
		}
		return body, nil
	}
	return fail(fmt.Errorf("no layer of type %s", helmChartMediaType))
}

func get(ctx context.Context, url, token, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

func getJSON(ctx context.Context, url, token, accept string, into any) error {
	body, err := get(ctx, url, token, accept)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, into)
}

// chartConfig returns the archive's <name>/Chart.yaml as JSON: the config blob "helm push" writes. It checks that
// the archive is the chart and version asked for.
func chartConfig(archive []byte, c Chart) ([]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("chart %s %s: %w", c.Name, c.Version, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("chart %s %s has no Chart.yaml", c.Name, c.Version)
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(hdr.Name) != c.Name+"/Chart.yaml" {
			continue
		}
		raw, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		var meta struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		if err := yaml.Unmarshal(raw, &meta); err != nil {
			return nil, err
		}
		if meta.Name != c.Name || meta.Version != c.Version {
			return nil, fmt.Errorf("the archive of chart %s %s holds %s %s", c.Name, c.Version, meta.Name, meta.Version)
		}
		return yaml.YAMLToJSON(raw)
	}
}
