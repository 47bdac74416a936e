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
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"sigs.k8s.io/yaml"
)

// Chart is a Helm chart directory pushed to the local registry under charts/<name>:<version>.
type Chart struct {
	// Dir holds Chart.yaml, values.yaml and templates/.
	Dir string
	// Version replaces version and appVersion in Chart.yaml; it is also the OCI tag.
	Version string
}

var (
	versionLine    = regexp.MustCompile(`(?m)^version:.*$`)
	appVersionLine = regexp.MustCompile(`(?m)^appVersion:.*$`)
)

// packChart returns the chart's name, its Chart.yaml as JSON (the Helm OCI config blob) and the gzipped tar
// archive "helm package" would write: every file under <name>/, with the version set.
func packChart(c Chart) (name string, config, archive []byte, err error) {
	raw, err := os.ReadFile(filepath.Join(c.Dir, "Chart.yaml"))
	if err != nil {
		return "", nil, nil, err
	}
	chartYAML := versionLine.ReplaceAll(raw, []byte("version: "+c.Version))
	chartYAML = appVersionLine.ReplaceAll(chartYAML, []byte("appVersion: "+c.Version))
	var meta struct {
		Name string `json:"name"`
	}
	if err := yaml.Unmarshal(chartYAML, &meta); err != nil || meta.Name == "" {
		return "", nil, nil, fmt.Errorf("%s/Chart.yaml has no name: %v", c.Dir, err)
	}
	if config, err = yaml.YAMLToJSON(chartYAML); err != nil {
		return "", nil, nil, err
	}

	files := map[string][]byte{"Chart.yaml": chartYAML}
	err = filepath.WalkDir(c.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(c.Dir, path)
		if err != nil || rel == "Chart.yaml" {
			return err
		}
		files[filepath.ToSlash(rel)], err = os.ReadFile(path) //nolint:gosec // a test chart directory this program owns (G122)
		return err
	})
	if err != nil {
		return "", nil, nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // reproducible archives
	for _, n := range names {
		hdr := &tar.Header{Name: meta.Name + "/" + n, Mode: 0o644, Size: int64(len(files[n])), ModTime: mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", nil, nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return "", nil, nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", nil, nil, err
	}
	if err := gz.Close(); err != nil {
		return "", nil, nil, err
	}
	return meta.Name, config, buf.Bytes(), nil
}
