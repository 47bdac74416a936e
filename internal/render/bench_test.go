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
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRender renders examples from a decoded object to Flux objects (the controller's work per
// reconciliation). Budget: 200µs/op.
func BenchmarkRender(b *testing.B) {
	for _, name := range []string{"minimal", "air-gapped", "ha-placement", "legacy-stack-0.6.2"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", name+".yaml"))
		if err != nil {
			b.Fatal(err)
		}
		obj, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(obj, goldenFacts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderYAML adds the YAML encoding "kubetink render" does.
func BenchmarkRenderYAML(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "ha-placement.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	obj, err := Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Render(obj, goldenFacts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ToYAML(res.Objects); err != nil {
			b.Fatal(err)
		}
	}
}
