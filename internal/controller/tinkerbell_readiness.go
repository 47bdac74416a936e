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

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/metrics"
	"github.com/kubetink/kubetink/internal/render"
)

// maxMessage bounds the messages copied from Flux objects into the Tinkerbell's status.
const maxMessage = 1024

// checkReadiness records each rendered object's state in status.components and sets ComponentsReady. A Stalled
// object stalls the Tinkerbell with its message; anything not yet Ready makes the reconciler wait.
func (r *TinkerbellReconciler) checkReadiness(ctx context.Context, s *scope) error {
	components := make([]kubetinkv1alpha1.ComponentStatus, 0, len(s.result.Objects))
	var stalledOn *kubetinkv1alpha1.ComponentStatus
	for _, u := range s.result.Objects {
		c := kubetinkv1alpha1.ComponentStatus{Name: u.GetName(), Kind: u.GetKind(), Namespace: u.GetNamespace()}
		live, err := r.getLive(ctx, u)
		if err != nil {
			return err
		}
		switch {
		case live == nil && u.GetLabels()[render.LabelComponent] == componentRelease:
			c.Message = "waiting for the CRDs to be established before installing"
		case live == nil:
			c.Message = "not created yet"
		default:
			var isStalled bool
			c.Ready, isStalled, c.Message = objectReadiness(live)
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
		if stalledOn.Kind == render.ApplicationKind {
			// Argo CD does not retry a failed sync of the same spec on its own.
			return stalled(kubetinkv1alpha1.DependencyStalledReason,
				"%s; fix the cause, then sync the Application again (argocd app sync %s/%s)", msg, stalledOn.Namespace, stalledOn.Name)
		}
		return stalled(kubetinkv1alpha1.DependencyStalledReason,
			"%s; fix the cause, then request a reconciliation (annotate the Tinkerbell with reconcile.fluxcd.io/requestedAt and reconcile.fluxcd.io/resetAt)", msg)
	}
	if n, msg := componentsMessage(components); n > 0 {
		conditions.MarkFalse(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.ComponentsNotReadyReason, "%s", msg)
		return waiting(kubetinkv1alpha1.ComponentsNotReadyReason, "%d of %d components not ready: %s", n, len(components), msg)
	}
	conditions.MarkTrue(s.obj, kubetinkv1alpha1.ComponentsReadyCondition, kubetinkv1alpha1.ComponentsReadyReason,
		"all %d components are ready", len(components))
	return nil
}

// readiness applies the generation-aware rule to a Flux object: Ready only when the Ready condition is True for
// the current generation, status.observedGeneration has caught up, and it is neither Reconciling nor Stalled.
// Stalled counts only when observed for the current generation (a new spec gets a new chance).
func readiness(live *unstructured.Unstructured) (ready, isStalled bool, message string) {
	getter := conditions.UnstructuredGetter(live)
	gen := live.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
	cond := conditions.Get(getter, meta.ReadyCondition)

	switch {
	case cond == nil:
		return false, false, "waiting for the controller to report status"
	case conditions.IsStalled(getter) && observed == gen:
		return false, true, conditions.GetMessage(getter, meta.StalledCondition)
	case cond.Status == metav1.ConditionTrue && (cond.ObservedGeneration != gen || observed != gen):
		return false, false, fmt.Sprintf("waiting for generation %d to be reconciled", gen)
	case cond.Status == metav1.ConditionTrue && conditions.IsReconciling(getter):
		return false, false, conditions.GetMessage(getter, meta.ReconcilingCondition)
	case cond.Status == metav1.ConditionTrue:
		return true, false, cond.Message
	default:
		return false, false, cond.Message
	}
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}
