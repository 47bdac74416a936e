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

package install

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkCommand runs the shipped binary (built as the Dockerfile builds it) as a process, the way a user or a
// CI job runs it, and reports its wall time per run: ns/op is the mean, ms-p50 and ms-p90 the median and 90th
// percentile. Budget for "kubetink render" of one example: 100 ms. It was 30 ms before render validated each
// Tinkerbell against the CRD as the apiserver does: compiling the CRD's CEL rules (internal/crdschema) takes
// about two thirds of a run now (24 ms before, 81 ms after on 2 cores, mean of 15 interleaved runs).
func BenchmarkCommand(b *testing.B) {
	bin, err := builtBinary()
	if err != nil {
		b.Fatal(err)
	}
	example := func(name string) string { return filepath.Join(repoRoot, "examples", name+".yaml") }
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"render/minimal", []string{"render", "-f", example("minimal")}},
		{"render/ha-placement", []string{"render", "-f", example("ha-placement"), "--node-cidr", "10.244.0.0/24"}},
		{"render/legacy-stack", []string{"render", "-f", example("legacy-stack-0.6.2")}},
		{"render/argocd", []string{"render", "-f", example("minimal"), "--engine", "argocd"}},
		{"version", []string{"version"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var walls []time.Duration
			for b.Loop() {
				var stdout, stderr bytes.Buffer
				cmd := exec.Command(bin, bc.args...)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				start := time.Now()
				err := cmd.Run()
				walls = append(walls, time.Since(start))
				if err != nil || stdout.Len() == 0 {
					b.Fatalf("kubetink %v: %v, %d bytes of output\n%s", bc.args, err, stdout.Len(), stderr.String())
				}
			}
			slices.Sort(walls)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(walls[len(walls)/2]), "ms-p50")
			b.ReportMetric(ms(walls[len(walls)*9/10]), "ms-p90")
		})
	}
}
