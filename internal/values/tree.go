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
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// tree is a Helm values document under construction. It records the key path of every value Kubetink sets, which
// is what the upstream-keys test checks against each chart's values.yaml.
type tree struct {
	root  map[string]any
	paths []string
}

func newTree() *tree {
	return &tree{root: map[string]any{}}
}

// set stores v at the dot-separated path, creating the maps on the way. v must already be JSON-shaped (see
// jsonValue); maps and lists are stored as one opaque value, so their inner keys are not recorded as paths.
func (t *tree) set(path string, v any) {
	keys := strings.Split(path, ".")
	m := t.root
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
	t.paths = append(t.paths, path)
}

// valueAt returns the value at a dot-separated path of Helm values (nil when absent), and whether it is there.
func valueAt(root map[string]any, path string) (any, bool) {
	var cur any = root
	for key := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// mergeValues deep-merges src into dst the way Helm merges values files: maps merge key by key, anything else
// (lists, scalars, null) replaces what dst holds.
func mergeValues(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeValues(dm, sm)
				continue
			}
			dm := map[string]any{}
			mergeValues(dm, sm)
			dst[k] = dm
			continue
		}
		dst[k] = sv
	}
}

// jsonValue converts a typed Kubernetes struct (affinity) into the JSON shape Helm values and unstructured
// objects use: map[string]any, []any, string, bool, int64, float64 and nil.
func jsonValue(v any) (map[string]any, error) {
	return runtime.DefaultUnstructuredConverter.ToUnstructured(v)
}

// tolerations converts tolerations into JSON shape, with the keys their JSON encoding has.
func tolerations(in []corev1.Toleration) []any {
	out := make([]any, 0, len(in))
	for _, t := range in {
		m := map[string]any{}
		if t.Key != "" {
			m["key"] = t.Key
		}
		if t.Operator != "" {
			m["operator"] = string(t.Operator)
		}
		if t.Value != "" {
			m["value"] = t.Value
		}
		if t.Effect != "" {
			m["effect"] = string(t.Effect)
		}
		if t.TolerationSeconds != nil {
			m["tolerationSeconds"] = *t.TolerationSeconds
		}
		out = append(out, m)
	}
	return out
}

// resources converts resource requirements into JSON shape: limits and requests as quantity strings. With
// replace, what the spec leaves out is null: the unified charts have default limits (deployment.resources.limits:
// cpu 500m, memory 128Mi, v0.19.0 to v0.25.0) and Helm merges values maps, so without the nulls a Tinkerbell that
// sets only requests would keep those limits, and a request above them would make its Pods invalid; a null makes
// Helm drop the chart's default, and the chart passes the map on whole (toYaml). The stack chart 0.6.2 cannot take
// that: its subcharts read resources.limits.cpu and .memory one by one, and fail on a null.
func resources(r *corev1.ResourceRequirements, replace bool) map[string]any {
	out := map[string]any{}
	for _, part := range []struct {
		key  string
		list corev1.ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		if len(part.list) == 0 {
			if replace {
				out[part.key] = nil
			}
			continue
		}
		m := map[string]any{}
		if replace {
			m[string(corev1.ResourceCPU)], m[string(corev1.ResourceMemory)] = nil, nil
		}
		for name, q := range part.list {
			m[string(name)] = q.String()
		}
		out[part.key] = m
	}
	return out
}

// stringMap converts a map of strings into JSON shape.
func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stringList converts a list of strings into JSON shape.
func stringList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// userValues decodes spec.values, which must be a JSON object.
func userValues(raw []byte) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	if err := utiljson.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("spec.values: %w", err)
	}
	switch m := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return m, nil
	default:
		return nil, fmt.Errorf("spec.values must be an object of Helm values, not %T", v)
	}
}
