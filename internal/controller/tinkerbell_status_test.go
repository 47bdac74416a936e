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
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

func TestFinalizeStatus(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(*kubetinkv1alpha1.Tinkerbell)
		err          error
		want         []metav1.Condition
		wantObserved int64
	}{
		{
			name: "ready drops reconciling and stalled",
			setup: func(obj *kubetinkv1alpha1.Tinkerbell) {
				conditions.MarkReconciling(obj, meta.ProgressingReason, "working")
				conditions.MarkStalled(obj, "Old", "old")
				conditions.MarkTrue(obj, meta.ReadyCondition, meta.ReconciliationSucceededReason, "Tinkerbell v0.25.0 is ready")
			},
			want:         []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: meta.ReconciliationSucceededReason, Message: "Tinkerbell v0.25.0 is ready"}},
			wantObserved: 3,
		},
		{
			name: "stalled drops reconciling",
			setup: func(obj *kubetinkv1alpha1.Tinkerbell) {
				conditions.MarkReconciling(obj, meta.ProgressingReason, "working")
				conditions.MarkFalse(obj, meta.ReadyCondition, kubetinkv1alpha1.RenderFailedReason, "bad")
				conditions.MarkStalled(obj, kubetinkv1alpha1.RenderFailedReason, "bad")
			},
			err: errors.New("bad"),
			want: []metav1.Condition{
				{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: kubetinkv1alpha1.RenderFailedReason, Message: "bad"},
				{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: kubetinkv1alpha1.RenderFailedReason, Message: "bad"},
			},
			wantObserved: 3,
		},
		{
			name: "waiting is progressing",
			setup: func(obj *kubetinkv1alpha1.Tinkerbell) {
				conditions.MarkFalse(obj, meta.ReadyCondition, kubetinkv1alpha1.ComponentsNotReadyReason, "1 of 4 components not ready")
			},
			err: waiting(kubetinkv1alpha1.ComponentsNotReadyReason, "1 of 4 components not ready"),
			want: []metav1.Condition{
				{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: kubetinkv1alpha1.ComponentsNotReadyReason, Message: "1 of 4 components not ready"},
				{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingReason, Message: "1 of 4 components not ready"},
			},
			wantObserved: 1,
		},
		{
			name: "transient error is progressing with retry",
			setup: func(obj *kubetinkv1alpha1.Tinkerbell) {
				conditions.MarkFalse(obj, meta.ReadyCondition, meta.ReconciliationFailedReason, "conflict")
			},
			err: errors.New("conflict"),
			want: []metav1.Condition{
				{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: meta.ReconciliationFailedReason, Message: "conflict"},
				{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingWithRetryReason, Message: "conflict"},
			},
			wantObserved: 1,
		},
		{
			name: "nothing known yet is unknown",
			want: []metav1.Condition{
				{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingReason, Message: "reconciliation in progress"},
				{Type: meta.ReadyCondition, Status: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: "reconciliation in progress"},
			},
			wantObserved: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := &kubetinkv1alpha1.Tinkerbell{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			obj.Status.ObservedGeneration = 1
			if tt.setup != nil {
				tt.setup(obj)
			}
			finalizeStatus(obj, tt.err)
			g.Expect(obj.Status.Conditions).To(conditions.MatchConditions(tt.want))
			g.Expect(obj.Status.ObservedGeneration).To(Equal(tt.wantObserved))
		})
	}
}
