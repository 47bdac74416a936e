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

package render

import (
	"bytes"
	"github.com/kubetink/kubetink/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubetink/kubetink/internal/values"
)

// goldenFacts are the cluster facts of every golden test: duplicated, unsorted pod CIDRs and the IP a
// spec.publicIPFrom Service would have.
var goldenFacts = values.Facts{
	NodePodCIDRs:   []string{"10.244.1.0/24", "10.244.0.0/24", "10.244.1.0/24"},
	LoadBalancerIP: "192.168.2.50",
}

// exampleFiles returns examples/*.yaml.
func exampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil || len(files) < 7 {
		t.Fatalf("expected at least 7 examples, found %d (%v)", len(files), err)
	}
	return files
}

// GoldenPath is the golden file of an example file.
func goldenPath(example string) string {
	return filepath.Join("testdata", strings.TrimSuffix(filepath.Base(example), ".yaml")+".golden.yaml")
}

// renderFile renders an example file to YAML.
func renderFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	res, err := Render(obj, goldenFacts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, u := range res.Objects {
		// Everything must be JSON-shaped: DeepCopy panics otherwise.
		_ = u.DeepCopy()
	}
	out, err := ToYAML(res.Objects)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRenderExamples renders every example and compares it with its golden file.
func TestRenderExamples(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := renderFile(t, f)
			if again := renderFile(t, f); !bytes.Equal(got, again) {
				t.Fatal("two renders of the same input differ")
			}
			testutil.CompareGolden(t, goldenPath(f), got)
		})
	}
	// Every golden file belongs to an example.
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.golden.yaml"))
	want := map[string]bool{}
	for _, f := range exampleFiles(t) {
		want[goldenPath(f)] = true
	}
	for _, g := range goldens {
		if !want[g] {
			t.Errorf("golden file %s has no example", g)
		}
	}
}
