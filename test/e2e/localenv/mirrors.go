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
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CRD mirrors: Git repositories laid out like the upstream repositories Kubetink reads the Tinkerbell CRDs from
// (tinkerbell/tinkerbell crd/bases, tinkerbell/charts tinkerbell/{tink,rufio}/crds), tagged per release, holding
// the upstream CRD copies kept in the Kubetink repository.
const (
	// TinkerbellMirror mirrors github.com/tinkerbell/tinkerbell (tags v0.19.0 and v0.25.0).
	TinkerbellMirror = "tinkerbell"
	// ChartsMirror mirrors github.com/tinkerbell/charts (tag v0.6.2).
	ChartsMirror = "charts"
)

// CreateCRDMirrors creates the CRD mirrors and returns them by name.
func (e *Env) CreateCRDMirrors() (map[string]*Repo, error) {
	crds := func(elem ...string) string {
		return filepath.Join(append([]string{e.opts.RepoRoot, "internal"}, elem...)...)
	}
	tb, err := e.NewRepo(TinkerbellMirror)
	if err != nil {
		return nil, err
	}
	// v0.19.0 has every CRD in crd/bases; v0.24.0 moved them to crd/bases/v1alpha1 beside v1alpha2.
	steps := []struct {
		tag, src, dst string
	}{
		{"v0.19.0", crds("migration", "testdata", "crds", "v0.19.0"), "crd/bases"},
		{"v0.25.0", crds("controller", "testdata", "crds"), "crd/bases/v1alpha1"},
	}
	for _, s := range steps {
		if err := tb.Remove("crd"); err != nil {
			return nil, err
		}
		if err := tb.CopyFiles(s.src, s.dst); err != nil {
			return nil, err
		}
		if err := tb.WriteFile("README.md", []byte("Mirror of the Tinkerbell CRDs at "+s.tag+" for the Kubetink e2e tests.\n")); err != nil {
			return nil, err
		}
		if _, err := tb.Commit("Tinkerbell " + s.tag); err != nil {
			return nil, err
		}
		if err := tb.Tag(s.tag); err != nil {
			return nil, err
		}
	}

	charts, err := e.NewRepo(ChartsMirror)
	if err != nil {
		return nil, err
	}
	src := crds("migration", "testdata", "crds", "stack-0.6.2")
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	for _, f := range entries {
		// The copies are named <chart>.<upstream file name>.
		chart, name, ok := strings.Cut(f.Name(), ".")
		if !ok || (chart != "tink" && chart != "rufio") {
			return nil, fmt.Errorf("unexpected CRD file %s in %s", f.Name(), src)
		}
		data, err := os.ReadFile(filepath.Join(src, f.Name()))
		if err != nil {
			return nil, err
		}
		if err := charts.WriteFile("tinkerbell/"+chart+"/crds/"+name, data); err != nil {
			return nil, err
		}
	}
	if _, err := charts.Commit("charts v0.6.2"); err != nil {
		return nil, err
	}
	if err := charts.Tag("v0.6.2"); err != nil {
		return nil, err
	}
	return map[string]*Repo{TinkerbellMirror: tb, ChartsMirror: charts}, nil
}
