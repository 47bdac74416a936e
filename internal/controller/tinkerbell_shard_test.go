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
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/scheme"
)

// TestTinkerbellReconciler_ShardLeavesOthersAlone: a manager started with --watch-label-selector caches only its
// shard's Tinkerbells, but an event of a generated object (or a request) can still name another shard's. It must
// leave that one alone, or two shards would fight over it. A narrow unit test on a fake client: what it checks is
// that no request but the read is sent.
func TestTinkerbellReconciler_ShardLeavesOthersAlone(t *testing.T) {
	g := NewWithT(t)
	shard := labels.SelectorFromSet(labels.Set{"kubetink.io/shard": "a"})
	for name, c := range map[string]struct {
		labels map[string]string
		writes bool
	}{
		"another shard's": {map[string]string{"kubetink.io/shard": "b"}, false},
		"unlabelled":      {nil, false},
		"its own":         {map[string]string{"kubetink.io/shard": "a"}, true},
	} {
		// Suspended, so that a reconciliation of its own shard's object stops after adding the finalizer.
		tb := newTinkerbell("ns", "site", func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Labels, tb.Spec.Suspend = c.labels, true
		})
		writes := 0
		count := func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
			writes++
			return nil
		}
		cl := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(tb).WithStatusSubresource(tb).
			WithInterceptorFuncs(interceptor.Funcs{Patch: count,
				Update: func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error {
					writes++
					return nil
				},
				Delete: func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error {
					writes++
					return nil
				},
				Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
					writes++
					return nil
				},
				// Status writes go through the status subresource, not Patch or Update.
				SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
					writes++
					return nil
				},
				SubResourceUpdate: func(context.Context, client.Client, string, client.Object, ...client.SubResourceUpdateOption) error {
					writes++
					return nil
				},
			}).Build()
		r := &TinkerbellReconciler{Client: cl, APIReader: cl, Selector: shard, ControllerName: "kubetink"}
		_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tb)})
		g.Expect(err).NotTo(HaveOccurred(), name)
		if c.writes {
			g.Expect(writes).To(BeNumerically(">", 0), "%s: the shard reconciles its own Tinkerbell", name)
		} else {
			g.Expect(writes).To(BeZero(), "%s: not one write request", name)
		}
	}
}
