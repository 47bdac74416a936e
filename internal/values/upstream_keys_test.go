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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubetink/kubetink/internal/catalog"
)

// upstreamFiles maps every catalog release to the upstream values.yaml (in testdata/upstream) that its generated
// keys are checked against. Releases without a saved file of their own use the nearest file of the same era:
//   - v0.19.1 and v0.19.2 use v0.19.0's file, the older one, whose keys v0.19.3 only adds to
//     (optional.migration.enabled, tinkServer.autoDiscoveryAutoEnrollmentEnabled): checking against the older
//     file is the stricter check;
//   - v0.20.0 uses v0.20.1's file and v0.22.0 uses v0.22.1's: the only files of those eras.
//
// The legacy stack chart is the umbrella values.yaml with each subchart's values.yaml under its name.
var upstreamFiles = map[string][]string{
	"0.6.2":   {"tinkerbell-charts-repo-v0.6.2.stack.values.yaml"},
	"v0.19.0": {"tinkerbell-chart-v0.19.0.values.yaml"},
	"v0.19.1": {"tinkerbell-chart-v0.19.0.values.yaml"},
	"v0.19.2": {"tinkerbell-chart-v0.19.0.values.yaml"},
	"v0.19.3": {"tinkerbell-chart-v0.19.3.values.yaml"},
	"v0.20.0": {"tinkerbell-chart-v0.20.1.values.yaml"},
	"v0.20.1": {"tinkerbell-chart-v0.20.1.values.yaml"},
	"v0.21.0": {"tinkerbell-chart-v0.21.0.values.yaml"},
	"v0.22.0": {"tinkerbell-chart-v0.22.1.values.yaml"},
	"v0.22.1": {"tinkerbell-chart-v0.22.1.values.yaml"},
	"v0.23.0": {"tinkerbell-chart-v0.23.0.values.yaml"},
	"v0.24.0": {"tinkerbell-chart-v0.24.0.values.yaml"},
	"v0.25.0": {"tinkerbell-chart-v0.25.0.values.yaml"},
}

// stackSubcharts are the subcharts of the legacy stack chart 0.6.2 and their values files.
var stackSubcharts = map[string]string{
	"smee":  "tinkerbell-charts-repo-v0.6.2.smee.values.yaml",
	"hegel": "tinkerbell-charts-repo-v0.6.2.hegel.values.yaml",
	"rufio": "tinkerbell-charts-repo-v0.6.2.rufio.values.yaml",
	"tink":  "tinkerbell-charts-repo-v0.6.2.tink.values.yaml",
}

// commentedKeys are keys the charts document only as a commented-out example in values.yaml (the templates read
// them, the default is unset). Each is accepted only when that comment is really in the file.
var commentedKeys = map[string]string{
	"deployment.init.sourceInterface": "# sourceInterface: eno1",
	"optional.kubevip.interface":      "# interface: enp0s8",
	"stack.relay.sourceInterface":     "# sourceInterface: eno1",
	"stack.kubevip.interface":         "# interface: enp0s8",
}

// upstream is one release's upstream values: the parsed document and its raw text.
type upstream struct {
	values map[string]any
	text   string
}

func loadUpstream(t *testing.T, version string) upstream {
	t.Helper()
	files, ok := upstreamFiles[version]
	if !ok {
		t.Fatalf("no upstream values.yaml mapped for catalog release %s: add one to testdata/upstream and upstreamFiles", version)
	}
	read := func(name string) (map[string]any, string) {
		data, err := os.ReadFile(filepath.Join("testdata", "upstream", name))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m, string(data)
	}
	u := upstream{values: map[string]any{}}
	for _, f := range files {
		m, text := read(f)
		mergeValues(u.values, m)
		u.text += text
	}
	if version == "0.6.2" {
		for _, name := range sortedKeys(stackSubcharts) {
			sub, text := read(stackSubcharts[name])
			// The umbrella chart's values override the subchart's own.
			if over, ok := u.values[name].(map[string]any); ok {
				mergeValues(sub, over)
			}
			u.values[name] = sub
			u.text += text
		}
	}
	return u
}

// missingKeys returns the generated paths that the upstream values do not have.
func (u upstream) missingKeys(paths []string) []string {
	var missing []string
	for _, p := range paths {
		if _, ok := valueAt(u.values, p); ok {
			continue
		}
		if comment, ok := commentedKeys[p]; ok && strings.Contains(u.text, comment) {
			continue
		}
		missing = append(missing, p)
	}
	sort.Strings(missing)
	return missing
}

// TestUpstreamKeys checks that every key Kubetink generates (spec.values excluded) exists in the release's
// upstream values.yaml, for every catalog release and every example, plus a spec that sets every field the
// release supports and one that turns everything off.
func TestUpstreamKeys(t *testing.T) {
	examples := loadExamples(t)
	for _, rel := range catalog.Releases() {
		u := loadUpstream(t, rel.Version)
		t.Run(rel.Version, func(t *testing.T) {
			for _, name := range sortedKeys(examples) {
				obj := examples[name].DeepCopy()
				obj.Spec.Version = rel.Version
				tr, err := generate(rel, obj, testFacts)
				if err != nil {
					// Some examples use settings older releases lack; that must be a clear error, not a key.
					if !strings.Contains(err.Error(), "spec.") {
						t.Errorf("%s: error does not name a spec field: %v", name, err)
					}
					continue
				}
				if missing := u.missingKeys(tr.paths); len(missing) > 0 {
					t.Errorf("%s: keys not in the upstream values.yaml of %s: %v", name, rel.Version, missing)
				}
			}
			for name, obj := range map[string]func() (*tree, error){
				"rich": func() (*tree, error) { return generate(rel, richObj(rel), testFacts) },
				"off":  func() (*tree, error) { return generate(rel, offObj(rel.Version), testFacts) },
			} {
				tr, err := obj()
				if err != nil {
					t.Fatalf("%s spec: %v", name, err)
				}
				if len(tr.paths) < 10 {
					t.Fatalf("%s spec generated only %d keys", name, len(tr.paths))
				}
				if missing := u.missingKeys(tr.paths); len(missing) > 0 {
					t.Errorf("%s spec: keys not in the upstream values.yaml of %s: %v", name, rel.Version, missing)
				}
			}
		})
	}
}

// TestUpstreamKeysCatchesUnknownKeys makes sure the check above can fail.
func TestUpstreamKeysCatchesUnknownKeys(t *testing.T) {
	u := loadUpstream(t, "v0.25.0")
	got := u.missingKeys([]string{"deployment.image", "optional.hookos.port", "deployment.envs.smee.ipxeHttpScriptBindPort", "service.ports.httpSmee"})
	want := []string{"deployment.envs.smee.ipxeHttpScriptBindPort", "service.ports.httpSmee"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("missingKeys = %v, want %v", got, want)
	}
	if got := loadUpstream(t, "v0.22.1").missingKeys([]string{"optional.osie.port"}); len(got) != 1 {
		t.Fatalf("optional.osie.port should be unknown to v0.22.1, got %v", got)
	}
}

// TestCatalogImagesMatchUpstream checks the catalog's default images against each release's values.yaml, and
// that every image key in that file is rewritten by spec.registry.mirror.
func TestCatalogImagesMatchUpstream(t *testing.T) {
	for _, rel := range catalog.Releases() {
		t.Run(rel.Version, func(t *testing.T) {
			u := loadUpstream(t, rel.Version)
			keys := stackImages
			if !rel.Legacy {
				keys = unifiedLayouts[rel.Era].images
			}
			covered := map[string]bool{}
			for _, k := range keys {
				covered[k.key] = true
				img, ok := rel.Image(k.name)
				if !ok {
					t.Errorf("catalog has no %s image", k.name)
					continue
				}
				want := img.Ref()
				if k.repositoryOnly {
					want = img.Repository
				}
				if got, _ := valueAt(u.values, k.key); got != want {
					t.Errorf("%s = %v in values.yaml, catalog says %q", k.key, got, want)
				}
			}
			for _, p := range imageKeys(u.values, "") {
				if !covered[p] {
					t.Errorf("values.yaml has image key %s that the registry mirror does not rewrite", p)
				}
			}
			if len(rel.Images) != len(keys) {
				t.Errorf("catalog lists %d images, the values layout %d", len(rel.Images), len(keys))
			}
		})
	}
}

// imageKeys returns the paths of every key whose name ends in "image" (any case) and holds a non-empty string.
func imageKeys(m map[string]any, prefix string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case map[string]any:
			out = append(out, imageKeys(v, prefix+k+".")...)
		case string:
			if strings.HasSuffix(strings.ToLower(k), "image") && v != "" {
				out = append(out, prefix+k)
			}
		}
	}
	return out
}
