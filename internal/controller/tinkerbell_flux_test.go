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

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReadiness(t *testing.T) {
	// Covered against the real apiserver in the lifecycle tests; here the generation rule in isolation.
	g := NewWithT(t)
	u := newFluxObject(2, 2, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, ObservedGeneration: 1, Message: "old"})
	ready, isStalled, msg := readiness(u)
	g.Expect(ready).To(BeFalse(), "a Ready condition for an older generation is not ready")
	g.Expect(isStalled).To(BeFalse())
	g.Expect(msg).To(ContainSubstring("generation 2"))

	u = newFluxObject(2, 1, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, ObservedGeneration: 2})
	ready, _, _ = readiness(u)
	g.Expect(ready).To(BeFalse(), "status.observedGeneration must have caught up")

	u = newFluxObject(2, 2, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, ObservedGeneration: 2, Message: "Helm install succeeded"})
	ready, _, msg = readiness(u)
	g.Expect(ready).To(BeTrue())
	g.Expect(msg).To(Equal("Helm install succeeded"))

	u = newFluxObject(3, 2, metav1.Condition{Type: meta.StalledCondition, Status: metav1.ConditionTrue, ObservedGeneration: 2, Message: "retries exhausted"},
		metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, ObservedGeneration: 2})
	_, isStalled, _ = readiness(u)
	g.Expect(isStalled).To(BeFalse(), "a stall of an older generation does not count: the new spec gets its chance")
}
