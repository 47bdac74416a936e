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
	"os"
	"path/filepath"
	"strings"
	"testing"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/testutil"
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

// argoCDGoldenPath is the golden file of an example rendered with spec.engine ArgoCD.
func argoCDGoldenPath(example string) string {
	return filepath.Join("testdata", "argocd", strings.TrimSuffix(filepath.Base(example), ".yaml")+".golden.yaml")
}

// renderFile renders an example file to YAML.
func renderFile(t testing.TB, path string) []byte {
	t.Helper()
	return renderFileWith(t, path, "")
}

// renderFileWith renders an example file to YAML with the given engine, or the example's own when empty. An
// example that uses what the engine cannot do renders to a YAML comment with the refusal, so the golden file
// records it.
func renderFileWith(t testing.TB, path string, engine kubetinkv1alpha1.Engine) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeAll(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, obj := range objs {
		if engine != "" {
			obj.Spec.Engine = engine
		}
		if engine == kubetinkv1alpha1.EngineArgoCD {
			if refusal := argoCDSupports(obj); refusal != nil {
				return []byte("# kubetink render --engine argocd refuses this example:\n# " + refusal.Error() + "\n")
			}
		}
	}
	results, err := Sites(objs, goldenFacts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []byte
	for _, res := range results {
		for _, u := range res.Objects {
			// Everything must be JSON-shaped: DeepCopy panics otherwise.
			_ = u.DeepCopy()
		}
		y, err := ToYAML(res.Objects)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, y...)
	}
	return out
}

// TestRenderExamplesArgoCD renders every example with spec.engine ArgoCD and compares it with its golden file
// in testdata/argocd.
func TestRenderExamplesArgoCD(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := renderFileWith(t, f, kubetinkv1alpha1.EngineArgoCD)
			if again := renderFileWith(t, f, kubetinkv1alpha1.EngineArgoCD); !bytes.Equal(got, again) {
				t.Fatal("two renders of the same input differ")
			}
			testutil.CompareGolden(t, argoCDGoldenPath(f), got)
		})
	}
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
	argo, _ := filepath.Glob(filepath.Join("testdata", "argocd", "*.golden.yaml"))
	goldens = append(goldens, argo...)
	want := map[string]bool{}
	for _, f := range exampleFiles(t) {
		want[goldenPath(f)] = true
		want[argoCDGoldenPath(f)] = true
	}
	for _, g := range goldens {
		if !want[g] {
			t.Errorf("golden file %s has no example", g)
		}
	}
}
