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

// Package upstreamcharts finds Tinkerbell's released Helm charts, as upstream publishes them, for the tests that
// install or template the real charts: this workspace's copies when they are there, upstream's registry otherwise.
package upstreamcharts

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

const (
	// Repository is where Tinkerbell publishes its charts (oci://ghcr.io/tinkerbell/charts/<name>).
	Repository = "ghcr.io/tinkerbell/charts"
	// SharedDir is where this workspace keeps the real packaged charts (<name>-<version>.tgz), as "helm package"
	// made them from upstream's release tags; it stands in for ghcr.io, which this machine cannot reach. It is
	// relative to the repository root.
	SharedDir = "../shared/upstream/charts"
	// ChartLayerMediaType is the media type of a chart archive in an OCI registry (what "helm push" writes).
	ChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	// ManifestMediaType is the OCI image manifest that holds a chart.
	ManifestMediaType = "application/vnd.oci.image.manifest.v1+json"
)

// Chart is a released upstream chart: tinkerbell at a "vX.Y.Z" tag or the legacy stack at "0.x.y".
type Chart struct {
	// Name is the chart's name: "tinkerbell" or "stack".
	Name string
	// Version is the tag, as published (the unified chart's tags start with "v").
	Version string
}

// Archive returns the packaged chart: from dir (<name>-<version>.tgz) when dir holds it, otherwise pulled from
// upstream's registry.
func Archive(ctx context.Context, dir string, c Chart) ([]byte, error) {
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
	host, repo, _ := strings.Cut(Repository+"/"+c.Name, "/")
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("failed to pull the chart oci://%s/%s:%s (and no local copy of it in %s): %w",
			host, repo, c.Version, SharedDir, err)
	}
	var token struct {
		Token string `json:"token"`
	}
	if err := getJSON(ctx, fmt.Sprintf("https://%s/token?scope=repository:%s:pull", host, repo), "", "", &token); err != nil {
		return fail(err)
	}
	var manifest struct {
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	if err := getJSON(ctx, fmt.Sprintf("https://%s/v2/%s/manifests/%s", host, repo, c.Version), token.Token, ManifestMediaType, &manifest); err != nil {
		return fail(err)
	}
	for _, l := range manifest.Layers {
		if l.MediaType != ChartLayerMediaType {
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
	return fail(fmt.Errorf("no layer of type %s", ChartLayerMediaType))
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
