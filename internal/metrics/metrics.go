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

// Package metrics holds Kubetink's own Prometheus collectors. They are registered on controller-runtime's
// registry, so the manager serves them on --metrics-addr beside controller-runtime's and client-go's metrics.
// The README's Metrics section documents each series; keep the two in step.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// Names of the series, as served on /metrics.
const (
	StepDurationName   = "kubetink_reconcile_step_duration_seconds"
	ComponentReadyName = "kubetink_component_ready"
	MigrationRunsName  = "kubetink_migration_runs_total"
)

// Results of a migration run, the values of the result label of kubetink_migration_runs_total.
const (
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
)

// Phases of a migration run, the values of the phase label of kubetink_migration_runs_total; they are
// migration.Phase.Flag() values ("kubetink migrate --phase").
const (
	PhasePre  = "pre"
	PhasePost = "post"
)

var (
	stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: StepDurationName,
		Help: "Duration of each step of a Tinkerbell reconciliation, whatever its outcome; a step that ends the pass (waiting, stalled or failed) is observed too.",
		// Steps range from pure computation (well under a millisecond) to API round trips and cache reads.
		Buckets: []float64{0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"step"})

	componentReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: ComponentReadyName,
		Help: "1 when a Flux object generated for a Tinkerbell is Ready for its current generation, else 0. Labels: the Tinkerbell's namespace and name, the object's kind and name (component).",
	}, []string{"namespace", "name", "kind", "component"})

	migrationRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MigrationRunsName,
		Help: "Migration Jobs finished, by phase (pre, post) and result (succeeded, failed). A failure is counted when the Tinkerbell turns MigrationFailed; successes when the upgrade completes.",
	}, []string{"phase", "result"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(stepDuration, componentReady, migrationRuns)
	// Start every counter at zero, so rate() and increase() see the first run.
	for _, phase := range []string{PhasePre, PhasePost} {
		for _, result := range []string{ResultSucceeded, ResultFailed} {
			migrationRuns.WithLabelValues(phase, result)
		}
	}
}

// ObserveStep records how long one reconcile step took.
func ObserveStep(step string, d time.Duration) {
	stepDuration.WithLabelValues(step).Observe(d.Seconds())
}

// components remembers the series set for each Tinkerbell, so SetComponents can drop the ones of objects no longer
// rendered without a moment where a scrape sees none.
var components = struct {
	sync.Mutex
	byTinkerbell map[types.NamespacedName]map[[2]string]bool
}{byTinkerbell: map[types.NamespacedName]map[[2]string]bool{}}

// SetComponents sets kubetink_component_ready for every object generated for one Tinkerbell and removes the series
// of objects it no longer generates.
func SetComponents(namespace, name string, list []kubetinkv1alpha1.ComponentStatus) {
	key := types.NamespacedName{Namespace: namespace, Name: name}
	current := make(map[[2]string]bool, len(list))
	components.Lock()
	defer components.Unlock()
	for _, c := range list {
		value := 0.0
		if c.Ready {
			value = 1
		}
		componentReady.WithLabelValues(namespace, name, c.Kind, c.Name).Set(value)
		current[[2]string{c.Kind, c.Name}] = true
	}
	for kindName := range components.byTinkerbell[key] {
		if !current[kindName] {
			componentReady.DeleteLabelValues(namespace, name, kindName[0], kindName[1])
		}
	}
	components.byTinkerbell[key] = current
}

// DeleteTinkerbell removes the series of a Tinkerbell that is gone.
func DeleteTinkerbell(namespace, name string) {
	components.Lock()
	defer components.Unlock()
	componentReady.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "name": name})
	delete(components.byTinkerbell, types.NamespacedName{Namespace: namespace, Name: name})
}

// RecordMigrationRun counts one finished migration Job of a phase ("pre" or "post") with its result.
func RecordMigrationRun(phase, result string) {
	migrationRuns.WithLabelValues(phase, result).Inc()
}
