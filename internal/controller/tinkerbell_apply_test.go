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

package controller

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestIsSubset(t *testing.T) {
	g := NewWithT(t)
	live := map[string]any{
		"metadata": map[string]any{"name": "tb", "labels": map[string]any{"a": "1", "extra": "x"}},
		"spec": map[string]any{"interval": "10m", "timeout": "5m", "values": map[string]any{"replicas": float64(2)},
			"list": []any{map[string]any{"k": "v", "default": true}}},
	}
	g.Expect(isSubset(normalize(map[string]any{"spec": map[string]any{"values": map[string]any{"replicas": int64(2)}}}), live)).To(BeTrue())
	g.Expect(isSubset(map[string]any{"metadata": map[string]any{"labels": map[string]any{"a": "1"}}}, live)).To(BeTrue())
	g.Expect(isSubset(map[string]any{"spec": map[string]any{"list": []any{map[string]any{"k": "v"}}}}, live)).To(BeTrue())
	g.Expect(isSubset(map[string]any{"spec": map[string]any{"interval": "1h"}}, live)).To(BeFalse())
	g.Expect(isSubset(map[string]any{"spec": map[string]any{"missing": "x"}}, live)).To(BeFalse())
	g.Expect(isSubset(map[string]any{"spec": map[string]any{"list": []any{}}}, live)).To(BeFalse())
	g.Expect(isSubset(map[string]any{"spec": map[string]any{"values": "flat"}}, live)).To(BeFalse())
}
