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

package values

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/testutil"
)

// TestGoldenReleases renders the values of the rich test spec for every catalog release. Consecutive releases
// with identical values share one golden file, named after the first of them and listing all of them, so a new
// file appears exactly where the values layout changes.
func TestGoldenReleases(t *testing.T) {
	type group struct {
		versions []string
		out      []byte
	}
	var groups []*group
	for _, rel := range catalog.Releases() {
		v, err := Generate(rel, richObj(rel), testFacts)
		if err != nil {
			t.Fatalf("%s: %v", rel.Version, err)
		}
		out, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(groups); n > 0 && bytes.Equal(groups[n-1].out, out) {
			groups[n-1].versions = append(groups[n-1].versions, rel.Version)
			continue
		}
		groups = append(groups, &group{versions: []string{rel.Version}, out: out})
	}

	dir := filepath.Join("testdata", "releases")
	want := map[string]bool{}
	for _, g := range groups {
		name := g.versions[0] + ".golden.yaml"
		want[name] = true
		header := fmt.Sprintf("# Helm values for the rich test spec (testdata: richObj) on %s.\n", strings.Join(g.versions, ", "))
		testutil.CompareGolden(t, filepath.Join(dir, name), append([]byte(header), g.out...))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.golden.yaml"))
	for _, f := range files {
		if !want[filepath.Base(f)] {
			if testutil.ShouldGenGolden() {
				_ = os.Remove(f)
				continue
			}
			t.Errorf("stale golden file %s: regenerate with GEN_GOLDEN=true", f)
		}
	}
	if len(groups) < 4 {
		t.Errorf("only %d distinct values layouts across the catalog; expected the legacy chart and several eras", len(groups))
	}
}
