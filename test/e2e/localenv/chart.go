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
	"errors"
	"fmt"
	"io"
	"path"

	"sigs.k8s.io/yaml"

	"github.com/kubetink/kubetink/test/upstreamcharts"
)

// Chart is a released upstream chart. The local registry serves it under upstream's repository path
// (upstreamcharts.Repository), so only the host differs from what users pull.
type Chart = upstreamcharts.Chart

// E2ECharts are the charts the end-to-end tests and the demo serve: the releases they install and upgrade
// between (v0.24.0 and v0.25.0 have a real binary; v0.19.0 and the legacy stack are upgraded from).
var E2ECharts = []Chart{
	{Name: "tinkerbell", Version: "v0.19.0"},
	{Name: "tinkerbell", Version: "v0.24.0"},
	{Name: "tinkerbell", Version: "v0.25.0"},
	{Name: "stack", Version: "0.6.2"},
}

// SharedChartsDir is where this workspace keeps the real packaged charts, relative to the repository root.
const SharedChartsDir = upstreamcharts.SharedDir

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
