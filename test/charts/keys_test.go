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
	"bytes"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/internal/render"
)

// digPattern matches a sprig dig over .Values, such as dig "hookos" "service" "lbClass" nil .Values.optional,
// which reads .Values.optional.hookos.service.lbClass.
var digPattern = regexp.MustCompile(`dig((?:\s+"[^"]+")+)\s+\S+\s+\.Values((?:\.\w+)*)`)

// TestEveryGeneratedKeyIsRead checks that each release's templates read every values key Kubetink writes for the
// examples and scenarios: a key no template reads is silently ignored, whatever values.yaml lists. A key counts
// as read when a template names it under .Values, or a prefix of it of two or more segments (a map or list taken
// whole); keys of the stack's subcharts are looked up in the subchart's templates, where the subchart's own
// top-level keys count as prefixes.
func TestEveryGeneratedKeyIsRead(t *testing.T) {
	examples := loadExamples(t)
	objs := make([]*kubetinkv1alpha1.Tinkerbell, 0, len(examples)+len(scenarios))
	for _, ex := range examples {
		objs = append(objs, ex.obj)
	}
	for _, name := range slices.Sorted(maps.Keys(scenarios)) {
		obj, err := render.Decode([]byte(scenarios[name].manifest))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, obj)
	}
	for _, rel := range catalog.Releases() {
		t.Run(rel.Version, func(t *testing.T) {
			t.Parallel()
			chrt, err := loader.LoadArchive(bytes.NewReader(chartArchive(t, rel)))
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]bool{}
			for _, base := range objs {
				if exRel, err := catalog.Lookup(base.Spec.Version); err != nil || exRel.Legacy != rel.Legacy {
					continue
				}
				if _, _, hr, err := renderFor(t, base, rel.Version, facts); err == nil {
					vals, _, _ := unstructuredValues(hr)
					collectKeys(vals, "", keys)
				}
			}
			if len(keys) == 0 {
				t.Fatalf("no values rendered for %s", rel.Version)
			}
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				if !keyRead(chrt, k) {
					t.Errorf("%s: Kubetink writes %s, which no template of the chart reads", rel.Version, k)
				}
			}
		})
	}
}

// collectKeys adds the dotted path of every leaf of v (maps are descended, lists are leaves) to keys.
func collectKeys(v any, prefix string, keys map[string]bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		if prefix != "" {
			keys[prefix] = true
		}
		return
	}
	for k, child := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		collectKeys(child, p, keys)
	}
}

// keyRead reports whether chrt's templates read key. A key under one of the chart's dependencies (smee.*,
// tink.*) is the dependency's key without the first segment; global.* is read anywhere.
func keyRead(chrt *chartv2.Chart, key string) bool {
	first, rest, _ := strings.Cut(key, ".")
	if first == "global" {
		for _, c := range append([]*chartv2.Chart{chrt}, chrt.Dependencies()...) {
			if templatesRead(c, key, 2) {
				return true
			}
		}
		return false
	}
	for _, dep := range chrt.Dependencies() {
		if dep.Name() == first {
			// The subchart's name was the first segment: its top-level keys count as prefixes.
			return templatesRead(dep, rest, 1)
		}
	}
	return templatesRead(chrt, key, 2)
}

// templatesRead reports whether one of c's own templates reads key or a prefix of it of at least minSegments
// segments (a key shorter than that only by itself).
func templatesRead(c *chartv2.Chart, key string, minSegments int) bool {
	segs := strings.Split(key, ".")
	minSegments = min(minSegments, len(segs))
	for _, tpl := range c.Templates {
		text := digPattern.ReplaceAllStringFunc(string(tpl.Data), func(m string) string {
			sub := digPattern.FindStringSubmatch(m)
			path := strings.ReplaceAll(strings.Join(strings.Fields(sub[1]), "."), `"`, "")
			return ".Values" + sub[2] + "." + path
		})
		for n := len(segs); n >= minSegments; n-- {
			re := regexp.MustCompile(`\.Values\.` + regexp.QuoteMeta(strings.Join(segs[:n], ".")) + `(?:[^\w.]|$)`)
			if re.MatchString(text) {
				return true
			}
		}
	}
	return false
}
