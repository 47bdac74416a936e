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
	"errors"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// finalizeStatus makes the conditions kstatus-compliant once a reconciliation ends: Reconciling is present
// only while work is pending, Stalled only while nothing can progress, and observedGeneration moves on when
// the generation was fully handled (Ready or Stalled).
func finalizeStatus(obj *kubetinkv1alpha1.Tinkerbell, err error) {
	if v, ok := meta.ReconcileAnnotationValue(obj.GetAnnotations()); ok {
		obj.Status.SetLastHandledReconcileRequest(v)
	}
	switch {
	case obj.Spec.Suspend:
		// A suspended object keeps the conditions it had.
	case conditions.IsTrue(obj, meta.ReadyCondition):
		conditions.Delete(obj, meta.ReconcilingCondition)
		conditions.Delete(obj, meta.StalledCondition)
		obj.Status.ObservedGeneration = obj.Generation
	case conditions.IsTrue(obj, meta.StalledCondition):
		conditions.Delete(obj, meta.ReconcilingCondition)
		obj.Status.ObservedGeneration = obj.Generation
	default:
		conditions.Delete(obj, meta.StalledCondition)
		reason := meta.ProgressingReason
		var we *waitingError
		if err != nil && !errors.As(err, &we) {
			reason = meta.ProgressingWithRetryReason
		}
		msg := conditions.GetMessage(obj, meta.ReadyCondition)
		if msg == "" {
			msg = "reconciliation in progress"
		}
		conditions.MarkReconciling(obj, reason, "%s", msg)
		if !conditions.Has(obj, meta.ReadyCondition) {
			conditions.MarkUnknown(obj, meta.ReadyCondition, reason, "%s", msg)
		}
	}
}

// recordTransition emits one event when the Ready condition changes status or reason, never on a no-op.
func (r *TinkerbellReconciler) recordTransition(before, after *kubetinkv1alpha1.Tinkerbell) {
	if r.EventRecorder == nil {
		return
	}
	now := conditions.Get(after, meta.ReadyCondition)
	if now == nil {
		return
	}
	if old := conditions.Get(before, meta.ReadyCondition); old != nil && old.Status == now.Status && old.Reason == now.Reason {
		return
	}
	eventType := corev1.EventTypeNormal
	if now.Status == "False" {
		eventType = corev1.EventTypeWarning
	}
	r.EventRecorder.Eventf(after, nil, eventType, now.Reason, "Reconcile", "%s (version %s)", now.Message, after.Spec.Version)
}

// componentsMessage summarises the objects that are not ready, in render order.
func componentsMessage(components []kubetinkv1alpha1.ComponentStatus) (notReady int, msg string) {
	for _, c := range components {
		if c.Ready {
			continue
		}
		notReady++
		if msg != "" {
			msg += "; "
		}
		msg += c.Kind + "/" + c.Name
		if c.Message != "" {
			msg += ": " + c.Message
		}
	}
	return notReady, msg
}
