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

package charts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/migration"
)

// upstreamCRDs are upstream's Tinkerbell CRDs this workspace keeps, by release: the served v1alpha1 CRDs of
// tinkerbell/tinkerbell at the tag (crd/bases, crd/bases/v1alpha1 from v0.24.0) and those of the charts repo's
// stack 0.6.2 (tink and rufio subcharts' crds/). Other releases' CRDs are not kept here.
var upstreamCRDs = map[string]string{
	"0.6.2":   "charts-repo-v0.6.2.*.yaml",
	"v0.19.0": "tinkerbell-repo-v0.19.0.v1alpha1.*.yaml",
	"v0.22.1": "tinkerbell-repo-v0.22.1.v1alpha1.*.yaml",
	"v0.25.0": "tinkerbell-repo-v0.25.0.v1alpha1.*.yaml",
}

// crdFields returns the field paths of every served version of every CRD in the files matching pattern, as
// "<crd>/<version>:<path>".
func crdFields(t *testing.T, dir, pattern string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs match %s in %s (%v)", pattern, dir, err)
	}
	out := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			walkSchema(v.Schema.OpenAPIV3Schema, crd.Name+"/"+v.Name+":", out)
		}
	}
	return out
}

func walkSchema(s *apiextensionsv1.JSONSchemaProps, path string, out map[string]bool) {
	for name, p := range s.Properties {
		out[path+"."+name] = true
		walkSchema(&p, path+"."+name, out)
	}
	if s.Items != nil && s.Items.Schema != nil {
		walkSchema(s.Items.Schema, path+"[]", out)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walkSchema(s.AdditionalProperties.Schema, path+"{}", out)
	}
}

// TestCRDsAdditiveWithinEpochs backs the rule by which several sites share the CRDs of the newest one
// (internal/sites): between two releases of one CRD epoch, the newer CRDs keep every field of the older ones, so
// a site runs on them without losing what it writes; and every epoch boundary that lies between two kept
// releases does drop fields, so the boundary is needed.
func TestCRDsAdditiveWithinEpochs(t *testing.T) {
	dir := filepath.Join(repoRoot, "..", "shared", "upstream", "crds")
	if env := os.Getenv("UPSTREAM_CRDS_DIR"); env != "" {
		dir = env
	}
	versions := make([]string, 0, len(upstreamCRDs))
	for v := range upstreamCRDs {
		versions = append(versions, v)
	}
	slices.SortFunc(versions, catalog.Compare)
	for i := 1; i < len(versions); i++ {
		older, newer := versions[i-1], versions[i]
		before, after := crdFields(t, dir, upstreamCRDs[older]), crdFields(t, dir, upstreamCRDs[newer])
		var dropped []string
		for f := range before {
			if !after[f] {
				dropped = append(dropped, f)
			}
		}
		slices.Sort(dropped)
		var boundary string
		for _, b := range migration.CRDBoundaries() {
			if catalog.Compare(older, b) < 0 && catalog.Compare(b, newer) <= 0 {
				boundary = b
			}
		}
		switch {
		case boundary == "" && len(dropped) > 0:
			t.Errorf("%s -> %s is within one CRD epoch, but the newer CRDs drop %s: a site at %s would lose them on the shared CRDs",
				older, newer, strings.Join(dropped, ", "), older)
		case boundary != "" && len(dropped) == 0:
			t.Errorf("%s -> %s crosses the CRD epoch boundary %s, but the newer CRDs drop nothing", older, newer, boundary)
		default:
			t.Logf("%s -> %s (boundary %q): %d fields dropped %v", older, newer, boundary, len(dropped), dropped)
		}
	}
}
