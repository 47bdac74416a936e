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

package metrics

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// The collectors are on controller-runtime's registry, which the manager serves.
func TestCollectorsAreRegistered(t *testing.T) {
	g := NewWithT(t)
	ObserveStep("render", 3*time.Millisecond)
	SetComponents("ns", "registered", []kubetinkv1alpha1.ComponentStatus{{Kind: "HelmRelease", Name: "tinkerbell", Ready: true}})
	t.Cleanup(func() { DeleteTinkerbell("ns", "registered") })

	families, err := ctrlmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	names := make([]string, 0, len(families))
	for _, f := range families {
		names = append(names, f.GetName())
	}
	g.Expect(names).To(ContainElements(StepDurationName, ComponentReadyName, MigrationRunsName))
}

func TestSetComponents_ReplacesTheTinkerbellsSeries(t *testing.T) {
	g := NewWithT(t)
	t.Cleanup(func() { DeleteTinkerbell("flux-system", "tb") })
	SetComponents("flux-system", "tb", []kubetinkv1alpha1.ComponentStatus{
		{Kind: "Kustomization", Name: "tb-crds", Ready: true},
		{Kind: "HelmRelease", Name: "tb", Ready: false},
	})
	g.Expect(testutil.ToFloat64(componentReady.WithLabelValues("flux-system", "tb", "Kustomization", "tb-crds"))).To(Equal(1.0))
	g.Expect(testutil.ToFloat64(componentReady.WithLabelValues("flux-system", "tb", "HelmRelease", "tb"))).To(Equal(0.0))

	// The Kustomization is no longer generated (say crds.managed turned false): its series goes.
	SetComponents("flux-system", "tb", []kubetinkv1alpha1.ComponentStatus{{Kind: "HelmRelease", Name: "tb", Ready: true}})
	g.Expect(testutil.CollectAndCount(componentReady, ComponentReadyName)).To(Equal(1))
	g.Expect(testutil.ToFloat64(componentReady.WithLabelValues("flux-system", "tb", "HelmRelease", "tb"))).To(Equal(1.0))

	// Another Tinkerbell's series are left alone; a deleted Tinkerbell's go.
	SetComponents("other", "tb", []kubetinkv1alpha1.ComponentStatus{{Kind: "HelmRelease", Name: "tb", Ready: true}})
	DeleteTinkerbell("flux-system", "tb")
	g.Expect(testutil.CollectAndCount(componentReady, ComponentReadyName)).To(Equal(1))
	DeleteTinkerbell("other", "tb")
	g.Expect(testutil.CollectAndCount(componentReady, ComponentReadyName)).To(Equal(0))
}

func TestMigrationRuns_StartAtZeroAndCount(t *testing.T) {
	g := NewWithT(t)
	g.Expect(testutil.CollectAndCount(migrationRuns, MigrationRunsName)).To(Equal(4), "pre/post x succeeded/failed exist from the start")
	before := testutil.ToFloat64(migrationRuns.WithLabelValues(PhasePost, ResultFailed))
	RecordMigrationRun(PhasePost, ResultFailed)
	g.Expect(testutil.ToFloat64(migrationRuns.WithLabelValues(PhasePost, ResultFailed))).To(Equal(before + 1))
}

func TestObserveStep(t *testing.T) {
	g := NewWithT(t)
	ObserveStep("prune", 20*time.Millisecond)
	err := testutil.CollectAndCompare(stepDuration, strings.NewReader(""), StepDurationName)
	g.Expect(err).To(HaveOccurred(), "the histogram has samples")
	g.Expect(err.Error()).To(ContainSubstring(`step="prune"`))
}
