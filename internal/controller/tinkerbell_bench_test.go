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
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/values"
)

// BenchmarkConvergence measures, against the real apiserver and the running manager, the time from a persisted
// spec change to the HelmRelease carrying the new values and the Tinkerbell's status reflecting the new
// generation, both observed through watches.
// It reports p50 and p99 in milliseconds (targets: 50 ms and 250 ms).
func BenchmarkConvergence(b *testing.B) {
	g := NewWithT(b)
	ctx := context.Background()
	ns := newNamespace(b)
	tb := newTinkerbell(ns, "bench")
	g.Expect(k8sClient.Create(ctx, tb)).To(Succeed())
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(b, g, tb, res)
	hr := byKind(res, "HelmRelease")

	watchOne := func(list client.ObjectList, name string) watch.Interface {
		w, err := watchClient.Watch(ctx, list, client.InNamespace(ns),
			client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", name)})
		g.Expect(err).NotTo(HaveOccurred())
		return w
	}
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		level := int32(i%9 + 1)
		hrWatch := watchOne(&unstructured.UnstructuredList{Object: map[string]any{"apiVersion": hr.GetAPIVersion(), "kind": hr.GetKind() + "List"}}, hr.GetName())
		tbWatch := watchOne(&kubetinkv1alpha1.TinkerbellList{}, tb.Name)

		cur := editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Spec.Components = &kubetinkv1alpha1.Components{Tootles: &kubetinkv1alpha1.TootlesComponent{
				ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: &level}}}
		})
		start := time.Now() // the spec change is persisted: from here on it is the operator's work
		wantGen := cur.Generation

		hrDone, tbDone := false, false
		for !hrDone || !tbDone {
			select {
			case ev := <-hrWatch.ResultChan():
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && u.GetAnnotations()[digestAnnotation] != "" &&
					u.GetGeneration() > 1 && tootlesLogLevel(u) == int64(level) {
					hrDone = true
				}
			case ev := <-tbWatch.ResultChan():
				if t, ok := ev.Object.(*kubetinkv1alpha1.Tinkerbell); ok && t.Generation == wantGen &&
					slices.ContainsFunc(t.Status.Components, func(c kubetinkv1alpha1.ComponentStatus) bool {
						return c.Kind == "HelmRelease" && !c.Ready
					}) {
					tbDone = true
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("no convergence within 10s (HelmRelease %v, status %v)", hrDone, tbDone)
			}
		}
		samples = append(samples, time.Since(start))
		hrWatch.Stop()
		tbWatch.Stop()
		b.StopTimer()
		markReady(g, hr) // play helm-controller so the next change starts from Ready
		waitReady(g, tb)
		b.StartTimer()
	}
	slices.Sort(samples)
	b.ReportMetric(float64(percentile(samples, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(samples, 99).Microseconds())/1000, "p99-ms")
}

func tootlesLogLevel(hr *unstructured.Unstructured) int64 {
	v, _, _ := unstructured.NestedFieldNoCopy(hr.Object, "spec", "values", "deployment", "envs", "tootles", "logLevel")
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}
