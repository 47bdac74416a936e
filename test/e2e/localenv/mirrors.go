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
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kubetink/kubetink/test/upstreamcrds"
)

// CRD mirrors: Git repositories laid out like the upstream repositories Kubetink reads the Tinkerbell CRDs from
// (tinkerbell/tinkerbell crd/bases, tinkerbell/charts tinkerbell/{tink,rufio}/crds), tagged per release, holding
// upstream's CRDs of that release.
const (
	// TinkerbellMirror mirrors github.com/tinkerbell/tinkerbell (tags v0.19.0, v0.24.0 and v0.25.0).
	TinkerbellMirror = "tinkerbell"
	// ChartsMirror mirrors github.com/tinkerbell/charts (tag v0.6.2).
	ChartsMirror = "charts"
)

// CreateCRDMirrors creates the CRD mirrors and returns them by name.
//
// Where the CRDs come from: v0.24.0 and v0.25.0 from upstream's Go module at that tag (its crd/bases is the
// repository's, unchanged; "go mod download" fetches it through the module proxy); v0.19.0 and the charts
// repository's v0.6.2, whose modules the proxy refuses, from this workspace's copies of upstream's files
// (test/upstreamcrds: ../shared/upstream/crds, or $UPSTREAM_CRDS_DIR).
func (e *Env) CreateCRDMirrors(ctx context.Context) (map[string]*Repo, error) {
	tb, err := e.NewRepo(TinkerbellMirror)
	if err != nil {
		return nil, err
	}
	// v0.19.0 has every CRD in crd/bases; v0.24.0 moved them to crd/bases/v1alpha1 beside v1alpha2.
	for _, tag := range []string{"v0.19.0", "v0.24.0", "v0.25.0"} {
		if err := tb.Remove("crd"); err != nil {
			return nil, err
		}
		if tag == "v0.19.0" {
			if err := writeUpstreamCRDs(tb, e.opts.RepoRoot, tag, func(name string) string { return "crd/bases/" + name }); err != nil {
				return nil, err
			}
		} else {
			mod, err := downloadModule(ctx, "github.com/tinkerbell/tinkerbell", tag)
			if err != nil {
				return nil, err
			}
			if err := tb.CopyFiles(filepath.Join(mod, "crd", "bases"), "crd/bases"); err != nil {
				return nil, err
			}
		}
		if err := tb.WriteFile("README.md", []byte("Mirror of the Tinkerbell CRDs at "+tag+" for the Kubetink e2e tests.\n")); err != nil {
			return nil, err
		}
		if _, err := tb.Commit("Tinkerbell " + tag); err != nil {
			return nil, err
		}
		if err := tb.Tag(tag); err != nil {
			return nil, err
		}
	}

	charts, err := e.NewRepo(ChartsMirror)
	if err != nil {
		return nil, err
	}
	// The charts repository's files are named <chart>.<upstream file name> (tink or rufio).
	err = writeUpstreamCRDs(charts, e.opts.RepoRoot, "0.6.2", func(name string) string {
		chart, file, _ := strings.Cut(name, ".")
		return "tinkerbell/" + chart + "/crds/" + file
	})
	if err != nil {
		return nil, err
	}
	if _, err := charts.Commit("charts v0.6.2"); err != nil {
		return nil, err
	}
	if err := charts.Tag("v0.6.2"); err != nil {
		return nil, err
	}
	return map[string]*Repo{TinkerbellMirror: tb, ChartsMirror: charts}, nil
}

// writeUpstreamCRDs writes upstream's CRD files of release into repo, each at path(its upstream name).
func writeUpstreamCRDs(repo *Repo, repoRoot, release string, path func(name string) string) error {
	files, err := upstreamcrds.Files(repoRoot, release)
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		if err := repo.WriteFile(path(f.Name), data); err != nil {
			return err
		}
	}
	return nil
}

// downloadModule returns the directory of a module version in the module cache, downloading it through the module
// proxy when it is not there yet.
func downloadModule(ctx context.Context, path, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", path+"@"+version)
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v %s %s", path, version, err, info.Error, out)
	}
	return info.Dir, nil
}
