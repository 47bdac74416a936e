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

// Package upstreamcrds finds the CustomResourceDefinitions that upstream releases install, unchanged, for the
// tests that need the real ones: Tinkerbell's, per release, and Argo CD's Application CRD. They are read from
// this workspace's copies of upstream's files, which stand in for upstream's repositories; the repository never
// keeps copies of its own. A missing directory or file is an error that says where they were looked for: tests
// fail rather than skip.
package upstreamcrds

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// SharedDir holds upstream's Tinkerbell CRD files, relative to the repository root. The files are named
	//   - charts-repo-v<X.Y.Z>.<chart>.<file> for tinkerbell/charts at tag vX.Y.Z, from
	//     tinkerbell/<chart>/crds/<file> (chart tink or rufio; the legacy stack chart X.Y.Z installs them);
	//   - tinkerbell-repo-<vX.Y.Z>.<api version>.<file> for tinkerbell/tinkerbell at tag vX.Y.Z, from crd/bases
	//     (crd/bases/<api version> from v0.24.0 on).
	SharedDir = "../shared/upstream/crds"
	// DirEnv names an environment variable that, when set, replaces SharedDir (a checkout elsewhere).
	DirEnv = "UPSTREAM_CRDS_DIR"
	// ArgoCDSharedDir holds Argo CD's CRD files (argo-cd-<version>.application-crd.yaml), relative to the
	// repository root.
	ArgoCDSharedDir = "../shared/upstream/argocd"
	// ArgoCDDirEnv names an environment variable that, when set, replaces ArgoCDSharedDir.
	ArgoCDDirEnv = "UPSTREAM_ARGOCD_DIR"
	// ArgoCDVersion is the Argo CD release whose Application CRD the tests install (the types Kubetink writes and
	// reads follow it).
	ArgoCDVersion = "v3.6.1"
)

// File is one upstream CRD file of a release.
type File struct {
	// Path is where this workspace keeps it.
	Path string
	// Name is its name upstream: "tinkerbell.org_workflows.yaml" for tinkerbell/tinkerbell, "<chart>.<file>"
	// for tinkerbell/charts (e.g. "tink.workflow-crd.yaml").
	Name string
}

// Dir returns the directory holding upstream's Tinkerbell CRDs: $UPSTREAM_CRDS_DIR when set, otherwise SharedDir
// under repoRoot.
func Dir(repoRoot string) (string, error) {
	return dir(repoRoot, SharedDir, DirEnv, "Tinkerbell")
}

func dir(repoRoot, shared, env, what string) (string, error) {
	d := filepath.Join(repoRoot, shared)
	if v := os.Getenv(env); v != "" {
		d = v
	}
	info, err := os.Stat(d)
	if err != nil {
		return "", fmt.Errorf("upstream's %s CRDs are not there: %w (the tests read them from %s next to the repository, or from $%s)",
			what, err, shared, env)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("upstream's %s CRDs: %s is not a directory", what, d)
	}
	return d, nil
}

// Files returns the CRD files the Tinkerbell release installs, sorted by name: for a legacy stack release
// ("0.6.2") those of tinkerbell/charts at the same tag, for a unified release ("v0.19.0") the served v1alpha1
// CRDs of tinkerbell/tinkerbell at that tag (the v1alpha2 files of v0.24.0 and later are not installed). A
// release this workspace keeps no CRDs of is an error.
func Files(repoRoot, release string) ([]File, error) {
	d, err := Dir(repoRoot)
	if err != nil {
		return nil, err
	}
	prefix := "tinkerbell-repo-" + release + ".v1alpha1."
	if !strings.HasPrefix(release, "v") {
		prefix = "charts-repo-v" + release + "."
	}
	paths, err := filepath.Glob(filepath.Join(d, prefix+"*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no CRDs of Tinkerbell %s in %s (want files named %s*.yaml)", release, d, prefix)
	}
	slices.Sort(paths)
	out := make([]File, 0, len(paths))
	for _, p := range paths {
		out = append(out, File{Path: p, Name: strings.TrimPrefix(filepath.Base(p), prefix)})
	}
	return out, nil
}

// Paths returns the paths of files.
func Paths(files []File) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

// Find returns the path of the release's CRD file called name upstream (see File.Name).
func Find(repoRoot, release, name string) (string, error) {
	files, err := Files(repoRoot, release)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if f.Name == name {
			return f.Path, nil
		}
	}
	return "", fmt.Errorf("no CRD file %s in Tinkerbell %s (its files: %s)", name, release, strings.Join(names(files), ", "))
}

func names(files []File) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

// ArgoCDApplication returns the path of Argo CD's Application CRD at ArgoCDVersion: in $UPSTREAM_ARGOCD_DIR when
// set, otherwise in ArgoCDSharedDir under repoRoot.
func ArgoCDApplication(repoRoot string) (string, error) {
	d, err := dir(repoRoot, ArgoCDSharedDir, ArgoCDDirEnv, "Argo CD")
	if err != nil {
		return "", err
	}
	p := filepath.Join(d, "argo-cd-"+ArgoCDVersion+".application-crd.yaml")
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no Application CRD of Argo CD %s in %s", ArgoCDVersion, d)
	} else if err != nil {
		return "", err
	}
	return p, nil
}
