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
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/internal/values"
)

// newNamespace creates a namespace for a test's Tinkerbells. The tests share one apiserver, which is one
// cluster to Kubetink: the Tinkerbells a test leaves behind would be sites beside the next test's (taking the
// CRDs as the newest release, refusing one that serves every namespace). So at the end of the test its
// Tinkerbells are deleted, and their finalizer removed if no manager runs any more to do it.
func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tb-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTinkerbells(t, ns.Name) })
	return ns.Name
}

func removeTinkerbells(t testing.TB, ns string) {
	t.Helper()
	ctx := context.Background()
	if err := k8sClient.DeleteAllOf(ctx, &kubetinkv1alpha1.Tinkerbell{}, client.InNamespace(ns)); err != nil {
		t.Errorf("failed to delete the Tinkerbells of %s: %v", ns, err)
		return
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		list := &kubetinkv1alpha1.TinkerbellList{}
		if err := k8sClient.List(ctx, list, client.InNamespace(ns)); err != nil || len(list.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for i := range list.Items {
				tb := &list.Items[i]
				tb.Finalizers = nil
				_ = k8sClient.Update(ctx, tb)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newTinkerbell returns a valid Tinkerbell for the current unified chart; each test gets its own target
// namespace so tests never conflict.
func newTinkerbell(ns, name string, mutate ...func(*kubetinkv1alpha1.Tinkerbell)) *kubetinkv1alpha1.Tinkerbell {
	tb := &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: kubetinkv1alpha1.TinkerbellSpec{
			Version:             "v0.25.0",
			TargetNamespace:     ns + "-" + name,
			PublicIP:            "192.168.2.10",
			ArtifactsFileServer: "http://192.168.2.11:7173",
			TrustedProxies:      []kubetinkv1alpha1.CIDR{"10.244.0.0/16"},
			// One site of a cluster that may have several.
			Scope: kubetinkv1alpha1.ScopeNamespace,
		},
	}
	for _, m := range mutate {
		m(tb)
	}
	return tb
}

// withPublicIP gives a site its own public IP: two sites of a cluster cannot share one.
func withPublicIP(ip string) func(*kubetinkv1alpha1.Tinkerbell) {
	return func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.PublicIP = kubetinkv1alpha1.IPv4Address(ip) }
}

func create(t *testing.T, g *WithT, tb *kubetinkv1alpha1.Tinkerbell) {
	t.Helper()
	g.Expect(k8sClient.Create(context.Background(), tb)).To(Succeed())
}

func key(o client.Object) client.ObjectKey { return client.ObjectKeyFromObject(o) }

// expectedObjects renders the Tinkerbell as the CLI would, for comparison with what the reconciler applied.
func expectedObjects(g Gomega, tb *kubetinkv1alpha1.Tinkerbell, facts values.Facts) *render.Result {
	res, err := render.Render(tb, facts)
	g.Expect(err).NotTo(HaveOccurred())
	return res
}

// live fetches a rendered object from the apiserver as unstructured; nil when it does not exist.
func live(g Gomega, u *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{}
	out.SetGroupVersionKind(u.GroupVersionKind())
	err := k8sClient.Get(context.Background(), key(u), out)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return out
}

// byComponent returns the rendered objects of the given components, in rendered order.
func byComponent(res *render.Result, components ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range res.Objects {
		if slices.Contains(components, u.GetLabels()[render.LabelComponent]) {
			out = append(out, u)
		}
	}
	return out
}

func byKind(res *render.Result, kind string) *unstructured.Unstructured {
	for _, u := range res.Objects {
		if u.GetKind() == kind {
			return u
		}
	}
	return nil
}

// setFluxStatus writes a Flux object's status the way its controller does: status.observedGeneration and the
// given conditions, all for the object's current generation.
// A write that raced with Kubetink's apply is retried on the fresh object, as a controller would.
func setFluxStatus(g Gomega, u *unstructured.Unstructured, conds ...metav1.Condition) {
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := live(g, u)
		g.Expect(obj).NotTo(BeNil(), "%s %s does not exist", u.GetKind(), u.GetName())
		gen := obj.GetGeneration()
		list := make([]any, 0, len(conds))
		for _, c := range conds {
			list = append(list, map[string]any{
				"type": c.Type, "status": string(c.Status), "reason": c.Reason, "message": c.Message,
				"observedGeneration": gen, "lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
			})
		}
		g.Expect(unstructured.SetNestedSlice(obj.Object, list, "status", "conditions")).To(Succeed())
		g.Expect(unstructured.SetNestedField(obj.Object, gen, "status", "observedGeneration")).To(Succeed())
		setRevisions(g, obj)
		return k8sClient.Status().Update(context.Background(), obj)
	})).To(Succeed())
}

// setRevisions plays the revisions the Flux controllers record (testutil.SetFluxRevisions).
func setRevisions(g Gomega, obj *unstructured.Unstructured) {
	_, err := testutil.SetFluxRevisions(obj, testutil.SourcesFrom(context.Background(), k8sClient))
	if !errors.Is(err, testutil.ErrNoArtifact) { // else it is Ready without revisions, as the test asked
		g.Expect(err).NotTo(HaveOccurred())
	}
}

func readyCondition(msg string) metav1.Condition {
	return metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: meta.SucceededReason, Message: msg}
}

func markReady(g Gomega, u *unstructured.Unstructured) { setFluxStatus(g, u, readyCondition("ok")) }

// driveToReady plays Flux: it marks the sources and CRD Kustomization ready, waits for the HelmRelease Kubetink
// holds back until then, marks it ready, and waits for the Tinkerbell to be Ready.
func driveToReady(t testing.TB, g *WithT, tb *kubetinkv1alpha1.Tinkerbell, res *render.Result) {
	t.Helper()
	for _, u := range res.Objects {
		if u.GetLabels()[render.LabelComponent] == render.ComponentRelease {
			continue
		}
		g.Eventually(func(g Gomega) { g.Expect(live(g, u)).NotTo(BeNil()) }, timeout, interval).Should(Succeed())
		markReady(g, u)
	}
	for _, u := range byComponent(res, render.ComponentRelease) {
		g.Eventually(func(g Gomega) { g.Expect(live(g, u)).NotTo(BeNil()) }, timeout, interval).Should(Succeed())
		markReady(g, u)
	}
	waitReady(g, tb)
}

func getTinkerbell(g Gomega, tb *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
	out := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(k8sClient.Get(context.Background(), key(tb), out)).To(Succeed())
	return out
}

func waitReady(g *WithT, tb *kubetinkv1alpha1.Tinkerbell) *kubetinkv1alpha1.Tinkerbell {
	var got *kubetinkv1alpha1.Tinkerbell
	g.Eventually(func(g Gomega) {
		got = getTinkerbell(g, tb)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		c := conditionOf(got, meta.ReadyCondition)
		g.Expect(c).To(HaveField("Status", metav1.ConditionTrue), "Ready: %+v", c)
	}, timeout, interval).Should(Succeed())
	return got
}

func conditionOf(tb *kubetinkv1alpha1.Tinkerbell, t string) *metav1.Condition {
	for i := range tb.Status.Conditions {
		if tb.Status.Conditions[i].Type == t {
			return &tb.Status.Conditions[i]
		}
	}
	return &metav1.Condition{Type: t, Status: "Absent"}
}

func newFluxObject(generation, observed int64, conds ...metav1.Condition) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion("helm.toolkit.fluxcd.io/v2")
	u.SetKind("HelmRelease")
	u.SetGeneration(generation)
	list := make([]any, 0, len(conds))
	for _, c := range conds {
		list = append(list, map[string]any{"type": c.Type, "status": string(c.Status), "reason": "R", "message": c.Message,
			"observedGeneration": c.ObservedGeneration, "lastTransitionTime": "2026-01-01T00:00:00Z"})
	}
	_ = unstructured.SetNestedSlice(u.Object, list, "status", "conditions")
	_ = unstructured.SetNestedField(u.Object, observed, "status", "observedGeneration")
	return u
}

// editTinkerbell changes a Tinkerbell the way a user (or Flux applying Git) does: read, change, write, and
// retry when the write raced with the reconciler's status patch.
func editTinkerbell(g Gomega, tb *kubetinkv1alpha1.Tinkerbell, mutate func(*kubetinkv1alpha1.Tinkerbell)) *kubetinkv1alpha1.Tinkerbell {
	var out *kubetinkv1alpha1.Tinkerbell
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		out = &kubetinkv1alpha1.Tinkerbell{}
		if err := k8sClient.Get(context.Background(), key(tb), out); err != nil {
			return err
		}
		mutate(out)
		return k8sClient.Update(context.Background(), out)
	})).To(Succeed())
	return out
}

// expectNoOpReconcile runs the reconciler on a Tinkerbell that is as it should be, with a client counting write
// requests around the manager's cache-backed client, and expects none at all: no apply, no status patch, no event.
func expectNoOpReconcile(g *WithT, tb *kubetinkv1alpha1.Tinkerbell) {
	own := &atomic.Int64{}
	r := &TinkerbellReconciler{
		Client:                    &countingClient{Client: mgrClient, writes: own},
		APIReader:                 testReconciler.APIReader,
		ControllerName:            "kubetink",
		DependencyRequeueInterval: testReconciler.DependencyRequeueInterval,
	}
	req := ctrl.Request{NamespacedName: key(tb)}
	// The cache may lag a moment behind the last status patch; once it has caught up, a pass writes nothing.
	g.Eventually(func() int64 {
		own.Store(0)
		_, err := r.Reconcile(context.Background(), req)
		g.Expect(err).NotTo(HaveOccurred())
		return own.Load()
	}, timeout, interval).Should(BeZero())
	for range 5 {
		res, err := r.Reconcile(context.Background(), req)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.RequeueAfter).To(BeNumerically(">", 0), "the periodic fallback stays scheduled")
	}
	g.Expect(own.Load()).To(BeZero(), "a no-op reconcile must not write")
}
