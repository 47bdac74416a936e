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
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/metrics"
	"github.com/kubetink/kubetink/internal/render"
)

// maxMessage bounds the messages copied from the generated objects into the Tinkerbell's status.
const maxMessage = 1024

// checkReadiness records each rendered object's state in status.components and sets ComponentsReady. A Stalled
// object stalls the Tinkerbell with its message; anything not yet Ready makes the reconciler wait.
func (r *TinkerbellReconciler) checkReadiness(ctx context.Context, s *scope) error {
	components := make([]kubetinkv1alpha1.ComponentStatus, 0, len(s.result.Objects))
	var stalledOn *kubetinkv1alpha1.ComponentStatus
	e := r.engineFor(s.obj)
	rev, err := r.revisions(ctx, s)
	if err != nil {
		return err
	}
	for _, u := range s.result.Objects {
		c := kubetinkv1alpha1.ComponentStatus{Name: u.GetName(), Kind: u.GetKind(), Namespace: u.GetNamespace()}
		live, err := r.current(ctx, s, u)
		if err != nil {
			return err
		}
		switch {
		case live == nil && u.GetLabels()[render.LabelComponent] == render.ComponentRelease:
			c.Message = "waiting for the CRDs to be established before installing"
		case live == nil:
			c.Message = "not created yet"
		default:
			var isStalled bool
			c.Ready, isStalled, c.Message = e.readiness(live, rev)
			if isStalled && stalledOn == nil {
				stalledOn = &c
			}
		}
		c.Message = truncate(c.Message)
		components = append(components, c)
	}
	s.obj.Status.Components = components
	metrics.SetComponents(s.obj.Namespace, s.obj.Name, components)

	if stalledOn != nil {
		msg := fmt.Sprintf("%s/%s is stalled: %s", stalledOn.Kind, stalledOn.Name, stalledOn.Message)
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.DependencyStalledReason, "%s", msg)
		return stalled(kubetinkv1alpha1.DependencyStalledReason, "%s; %s", msg, e.retryHint(*stalledOn))
	}
	if n, msg := componentsMessage(components); n > 0 {
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.ComponentsNotReadyReason, "%s", msg)
		return waiting(kubetinkv1alpha1.ComponentsNotReadyReason, "%d of %d components not ready: %s", n, len(components), msg)
	}
	conditions.MarkTrue(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.ComponentsReadyReason,
		"all %d components are ready", len(components))
	return nil
}

// revisions are what the generated Flux objects must have reconciled to count as ready, beyond their own spec: a
// Flux object's generation does not change when only its source's content does.
type revisions struct {
	// crdSource is the live GitRepository of the CRDs, nil when none is rendered or it does not exist yet.
	crdSource *unstructured.Unstructured
	// charts maps an OCIRepository's name to the chart version it is rendered to fetch ("0.25.0").
	charts map[string]string
}

// revisions reads the CRDs' GitRepository and collects the chart versions of the rendered OCIRepositories.
func (r *TinkerbellReconciler) revisions(ctx context.Context, s *scope) (revisions, error) {
	source, err := r.crdSource(ctx, s)
	if err != nil {
		return revisions{}, err
	}
	rev := revisions{crdSource: source, charts: map[string]string{}}
	for _, u := range s.result.Objects {
		if u.GetKind() == sourcev1.OCIRepositoryKind {
			tag, _, _ := unstructured.NestedString(u.Object, "spec", "ref", "tag")
			rev.charts[u.GetName()] = strings.TrimPrefix(tag, "v")
		}
	}
	return rev, nil
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}
