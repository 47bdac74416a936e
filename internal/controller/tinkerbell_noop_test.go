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

	. "github.com/onsi/gomega"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/values"
)

// A reconciliation that finds everything as it should be sends no write request at all: no apply, no status
// patch, no event. Measured with a counting client around the manager's cache-backed client.
func TestTinkerbellReconciler_NoOpReconcileMakesZeroWrites(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.TrustedProxies = nil })
	create(t, g, tb)
	createNode(t, g, "noop-node", "10.250.0.0/24")
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.TrustedProxies).To(ContainElement("10.250.0.0/24"))
	}, timeout, interval).Should(Succeed())
	driveToReady(t, g, tb, expectedObjects(g, getTinkerbell(g, tb), values.Facts{NodePodCIDRs: getTinkerbell(g, tb).Status.TrustedProxies}))

	expectNoOpReconcile(g, tb)
}
