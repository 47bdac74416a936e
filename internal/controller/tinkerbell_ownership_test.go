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
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/inventory"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/internal/values"
)

// rechecked makes a Tinkerbell look again every second while an object is in its way.
func rechecked(tb *kubetinkv1alpha1.Tinkerbell) {
	tb.Spec.Interval = &metav1.Duration{Duration: time.Second}
}

// foreignCopy returns a rendered object as someone else would have made it: same kind, namespace, name and
// spec, without Kubetink's labels.
func foreignCopy(u *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(),
		"metadata": map[string]any{"namespace": u.GetNamespace(), "name": u.GetName(), "labels": map[string]any{"team": "other"}},
		"spec":     u.Object["spec"],
	}}
	return out.DeepCopy()
}

// An object of each generated kind that exists under the expected name and was not created by Kubetink is
// never written to: the Tinkerbell is Stalled with OwnershipConflict, naming it, and the object keeps its
// resourceVersion. Once it is deleted, the Tinkerbell installs.
func TestTinkerbellReconciler_ForeignObjectIsLeftAlone(t *testing.T) {
	for _, kind := range []string{"OCIRepository", "GitRepository", "Kustomization", "HelmRelease", "Application"} {
		t.Run(kind, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t)
			mutate := []func(*kubetinkv1alpha1.Tinkerbell){rechecked}
			if kind == "Application" {
				mutate = append(mutate, onArgoCD(newNamespace(t)))
			}
			tb := newTinkerbell(ns, "site", mutate...)
			res := expectedObjects(g, tb, values.Facts{})
			var target *unstructured.Unstructured
			for _, u := range res.Objects {
				if u.GetKind() == kind && target == nil {
					target = u
				}
			}
			if kind == "Application" {
				target = chartApp(res)
			}
			theirs := foreignCopy(target)
			g.Expect(k8sClient.Create(context.Background(), theirs)).To(Succeed())
			rv := theirs.GetResourceVersion()

			create(t, g, tb)
			msg := fmt.Sprintf("%s %s/%s already exists and was not created by Kubetink", kind, target.GetNamespace(), target.GetName())
			waitReason(g, tb, meta.StalledCondition, kubetinkv1alpha1.OwnershipConflictReason, msg)
			waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.OwnershipConflictReason, msg)
			// Several passes (one a second) write nothing to it.
			g.Consistently(func(g Gomega) {
				g.Expect(live(g, theirs).GetResourceVersion()).To(Equal(rv))
			}, 3*time.Second, 100*time.Millisecond).Should(Succeed())
			got := getTinkerbell(g, tb)
			if got.Status.Inventory != nil {
				g.Expect(got.Status.Inventory.Entries).NotTo(ContainElement(HaveField("ID", inventory.Ref(target).ID)), "another's object is in the inventory")
			}

			g.Expect(k8sClient.Delete(context.Background(), theirs)).To(Succeed())
			if kind == "Application" {
				driveArgoToReady(g, tb, res)
			} else {
				driveToReady(t, g, tb, res)
			}
			g.Expect(live(g, target).GetLabels()).To(HaveKeyWithValue(render.LabelName, "site"))
		})
	}
}

// A Tinkerbell named x-stack on the unified chart renders the names of a Tinkerbell x on the legacy stack
// chart (OCIRepository x-stack-chart, HelmRelease x-stack) in the same namespace. The two cannot run side by side
// (their releases straddle a CRD epoch, package sites), but x deleted with deletionPolicy Orphan leaves its
// objects behind: x-stack is refused with a message naming x, and they stay as they are.
func TestTinkerbellReconciler_SameNamespaceNameCollision(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	first := newTinkerbell(ns, "x", atVersion("0.6.2"), withPublicIP("192.168.5.10"), func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.DeletionPolicy = kubetinkv1alpha1.DeletionPolicyOrphan
	})
	create(t, g, first)
	chart := byKind(expectedObjects(g, first, values.Facts{}), "OCIRepository")
	g.Expect(chart.GetName()).To(Equal("x-stack-chart"))
	g.Eventually(func(g Gomega) {
		inv := getTinkerbell(g, first).Status.Inventory
		g.Expect(inv).NotTo(BeNil())
		g.Expect(inv.Entries).To(ContainElement(HaveField("ID", inventory.Ref(chart).ID)))
	}, timeout, interval).Should(Succeed())
	g.Expect(k8sClient.Delete(context.Background(), first)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(context.Background(), key(first), &kubetinkv1alpha1.Tinkerbell{})).NotTo(Succeed())
		g.Expect(live(g, chart).GetOwnerReferences()).To(BeEmpty())
	}, timeout, interval).Should(Succeed())
	rv := live(g, chart).GetResourceVersion()

	second := newTinkerbell(ns, "x-stack", withPublicIP("192.168.5.11"), rechecked)
	g.Expect(byKind(expectedObjects(g, second, values.Facts{}), "OCIRepository").GetName()).To(Equal(chart.GetName()))
	create(t, g, second)
	waitReason(g, second, meta.StalledCondition, kubetinkv1alpha1.OwnershipConflictReason,
		"OCIRepository "+ns+"/x-stack-chart already exists and belongs to Tinkerbell "+ns+"/x")
	g.Consistently(func(g Gomega) {
		obj := live(g, chart)
		g.Expect(obj.GetResourceVersion()).To(Equal(rv))
		g.Expect(obj.GetLabels()).To(HaveKeyWithValue(render.LabelName, "x"))
	}, 2*time.Second, 100*time.Millisecond).Should(Succeed())
}

// A Flux object that carries the Tinkerbell's labels but is controlled by something else (here an earlier
// Tinkerbell of the same name, by its UID) is not taken over either.
func TestTinkerbellReconciler_ObjectControlledByAnotherOwner(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", rechecked)
	chart := byKind(expectedObjects(g, tb, values.Facts{}), "OCIRepository")
	theirs := chart.DeepCopy()
	theirs.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: kubetinkv1alpha1.GroupVersion.String(), Kind: kubetinkv1alpha1.TinkerbellKind, Name: "site",
		UID: "00000000-0000-0000-0000-000000000001", Controller: new(true),
	}})
	g.Expect(k8sClient.Create(context.Background(), theirs)).To(Succeed())
	rv := theirs.GetResourceVersion()

	create(t, g, tb)
	waitReason(g, tb, meta.StalledCondition, kubetinkv1alpha1.OwnershipConflictReason,
		"OCIRepository "+ns+"/site-chart already exists and belongs to an earlier Tinkerbell "+ns+"/site (uid 00000000-0000-0000-0000-000000000001)")
	g.Consistently(func(g Gomega) {
		g.Expect(live(g, theirs).GetResourceVersion()).To(Equal(rv))
	}, 2*time.Second, 100*time.Millisecond).Should(Succeed())
}

// Objects an earlier Kubetink version created carry the same labels and owner: the current one adopts them and
// brings them to the rendered spec.
func TestTinkerbellReconciler_AdoptsObjectsOfEarlierVersions(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Suspend = true })
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	// The CRDs' source is applied at once (the chart's source waits for the CRDs).
	chart := byKind(res, "GitRepository")
	old := chart.DeepCopy()
	old.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: kubetinkv1alpha1.GroupVersion.String(), Kind: kubetinkv1alpha1.TinkerbellKind, Name: "site",
		UID: getTinkerbell(g, tb).UID, Controller: new(true), BlockOwnerDeletion: new(true),
	}})
	g.Expect(unstructured.SetNestedField(old.Object, "1h", "spec", "interval")).To(Succeed())
	g.Expect(k8sClient.Create(context.Background(), old, client.FieldOwner("kubetink-old"))).To(Succeed())

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Suspend = false })
	want, _, _ := unstructured.NestedString(chart.Object, "spec", "interval")
	g.Eventually(func(g Gomega) {
		got, _, _ := unstructured.NestedString(live(g, chart).Object, "spec", "interval")
		g.Expect(got).To(Equal(want))
	}, timeout, interval).Should(Succeed())
	driveToReady(t, g, tb, res)
}

// Tinkerbells a-b/c and a/b-c used to share Applications named a-b-c: now each gets its own.
func TestTinkerbellReconciler_ApplicationNamesAcrossNamespaces(t *testing.T) {
	g := NewWithT(t)
	prefix, argoNS := newNamespace(t), newNamespace(t)
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-b"}}
	g.Expect(k8sClient.Create(context.Background(), other)).To(Succeed())
	t.Cleanup(func() { removeTinkerbells(t, other.Name) })

	// Their default target namespaces would be the same (<namespace>-<name>): each gets its own.
	one := newTinkerbell(other.Name, "c", onArgoCD(argoNS), withPublicIP("192.168.6.10"), func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.TargetNamespace = prefix + "-one" })
	two := newTinkerbell(prefix, "b-c", onArgoCD(argoNS), withPublicIP("192.168.6.11"), func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.TargetNamespace = prefix + "-two" })
	create(t, g, one)
	create(t, g, two)
	resOne, resTwo := driveSiteArgoToReady(g, one), driveSiteArgoToReady(g, two)

	g.Expect(chartApp(resOne).GetName()).NotTo(Equal(chartApp(resTwo).GetName()))
	for _, pair := range []struct {
		tb  *kubetinkv1alpha1.Tinkerbell
		res *render.Result
	}{{one, resOne}, {two, resTwo}} {
		for _, u := range pair.res.Objects {
			app := live(g, u)
			g.Expect(app).NotTo(BeNil())
			g.Expect(app.GetLabels()).To(And(HaveKeyWithValue(render.LabelName, pair.tb.Name), HaveKeyWithValue(render.LabelNamespace, pair.tb.Namespace)))
		}
	}
	g.Expect(conditionOf(getTinkerbell(g, one), meta.ReadyCondition).Status).To(Equal(metav1.ConditionTrue))
}

// driveSiteArgoToReady plays Argo CD for one site of several: it renders what the site's status says (the
// primary site applies the CRDs) once the site has applied something.
func driveSiteArgoToReady(g *WithT, tb *kubetinkv1alpha1.Tinkerbell) *render.Result {
	var res *render.Result
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(got.Status.Inventory).NotTo(BeNil(), "nothing applied yet")
		res = expectedObjects(g, tb, values.Facts{PrimarySite: got.Status.PrimarySite})
	}, timeout, interval).Should(Succeed())
	driveArgoToReady(g, tb, res)
	return res
}

// An install by an earlier Kubetink version has its Applications under their former names (<namespace>-<name>…),
// the chart's with Argo CD's resources finalizer. They move to the new names the safe way: each old one loses
// the resources finalizer before it is deleted (so Argo CD deletes nothing), the new ones come once the old
// ones are gone, and nothing else is deleted.
func TestTinkerbellReconciler_ApplicationsMoveToTheirNewNames(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS), func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Suspend = true })
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	former := render.FormerApplicationNames(tb, res.Release)

	// What the earlier version left: its Applications, its inventory, the version it installed.
	olds := make([]*unstructured.Unstructured, 0, len(res.Objects))
	for _, u := range res.Objects {
		old := u.DeepCopy()
		old.SetName(former[u.GetName()])
		g.Expect(old.GetName()).NotTo(Equal(u.GetName()))
		g.Expect(k8sClient.Create(context.Background(), old)).To(Succeed())
		olds = append(olds, old)
	}
	oldChart := olds[len(olds)-1]
	g.Expect(oldChart.GetFinalizers()).To(ContainElement(render.ArgoCDResourcesFinalizer))
	addFinalizer(g, oldChart, "kubetink.io/test-hold")
	bystander := foreignCopy(oldChart)
	bystander.SetName("bystander")
	g.Expect(k8sClient.Create(context.Background(), bystander)).To(Succeed())
	got := getTinkerbell(g, tb)
	got.Status.Inventory = inventory.New(olds...)
	got.Status.LastAppliedVersion = got.Spec.Version
	g.Expect(k8sClient.Status().Update(context.Background(), got)).To(Succeed())
	appEvents := watchEvents(t, g, render.ArgoCDAPIVersion, render.ApplicationKind, argoNS)

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Suspend = false })
	g.Eventually(func(g Gomega) {
		app := live(g, oldChart)
		g.Expect(app).NotTo(BeNil())
		g.Expect(app.GetDeletionTimestamp()).NotTo(BeNil())
		g.Expect(app.GetFinalizers()).To(ConsistOf("kubetink.io/test-hold"))
	}, timeout, interval).Should(Succeed())
	waitReason(g, tb, meta.ReadyCondition, meta.ProgressingReason, "moving Applications to their new names")
	g.Consistently(func(g Gomega) {
		g.Expect(live(g, chartApp(res))).To(BeNil(), "the new chart Application was created while the old one exists")
	}, time.Second, interval).Should(Succeed())

	removeFinalizer(g, oldChart, "kubetink.io/test-hold")
	got = driveArgoToReady(g, tb, res)
	g.Expect(got.Status.Inventory).To(Equal(inventory.New(res.Objects...)))
	for _, old := range olds {
		g.Expect(live(g, old)).To(BeNil())
	}
	for _, ev := range appEvents() {
		if ev.GetName() == oldChart.GetName() && ev.GetDeletionTimestamp() != nil {
			g.Expect(ev.GetFinalizers()).NotTo(ContainElement(render.ArgoCDResourcesFinalizer), "the old Application was deleted with its resources finalizer")
		}
		if ev.GetName() == bystander.GetName() {
			g.Expect(ev.GetDeletionTimestamp()).To(BeNil(), "another Application was deleted")
		}
	}
	g.Expect(live(g, bystander).GetResourceVersion()).To(Equal(bystander.GetResourceVersion()))
}

// With the manager's cache holding only Kubetink's objects (as cmd/kubetink sets it up), an unlabelled object
// in the way is invisible to the cache: it is found on the apiserver before anything is created over it.
func TestTinkerbellReconciler_ForeignObjectOutsideTheCache(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	own := labels.SelectorFromSet(labels.Set{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy})
	byObject := map[client.Object]cache.ByObject{}
	for _, obj := range OwnedKinds() {
		if _, ok := obj.(*unstructured.Unstructured); !ok {
			byObject[obj] = cache.ByObject{Label: own}
		}
	}
	e := startEngineEnvWith(t, g, testutil.Options{FluxCRDs: true, TinkerbellCRDs: tinkerbellCRDs}, cache.Options{ByObject: byObject})
	ns := e.namespace(g)
	tb := newTinkerbell(ns, "site", rechecked)
	chart := byKind(expectedObjects(g, tb, values.Facts{}), "OCIRepository")
	theirs := foreignCopy(chart)
	g.Expect(e.c.Create(context.Background(), theirs)).To(Succeed())

	g.Expect(e.c.Create(context.Background(), tb)).To(Succeed())
	e.waitReason(g, tb, meta.StalledCondition, kubetinkv1alpha1.OwnershipConflictReason,
		"OCIRepository "+ns+"/site-chart already exists and was not created by Kubetink")
	g.Consistently(func(g Gomega) {
		g.Expect(liveWith(e.c, g, theirs).GetResourceVersion()).To(Equal(theirs.GetResourceVersion()))
	}, 2*time.Second, 100*time.Millisecond).Should(Succeed())
}

// An Application under its former name in the namespace the cluster admin pinned is renamed (moved by
// retireEngine), not pruned, also when spec.argoCD.namespace is unset and names another namespace by default.
func TestRenamedInPinnedNamespace(t *testing.T) {
	g := NewWithT(t)
	tb := newTinkerbell("ops", "site", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Engine = kubetinkv1alpha1.EngineArgoCD })
	facts := values.Facts{ArgoCDNamespace: "pinned"}
	g.Expect(tb.GetArgoCDNamespace()).NotTo(Equal(facts.ArgoCDNamespace))
	res, err := render.Render(tb, facts)
	g.Expect(err).NotTo(HaveOccurred())
	s := &scope{obj: tb, facts: facts, result: res}
	former := render.FormerApplicationNames(tb, res.Release)
	for _, u := range res.Objects {
		old := u.DeepCopy()
		old.SetName(former[u.GetName()])
		g.Expect(renamed(s, old)).To(BeTrue(), "%s/%s", old.GetNamespace(), old.GetName())
		old.SetNamespace(tb.GetArgoCDNamespace())
		g.Expect(renamed(s, old)).To(BeFalse(), "%s/%s", old.GetNamespace(), old.GetName())
	}
}
