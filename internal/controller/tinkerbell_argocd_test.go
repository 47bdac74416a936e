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
	"slices"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// No Argo CD runs here: the tests write Applications' status as its application controller does (Applications
// have no status subresource) and play its resources finalizer.

// onArgoCD switches a test Tinkerbell to Argo CD, with its Applications in their own namespace.
func onArgoCD(argoNS string) func(*kubetinkv1alpha1.Tinkerbell) {
	return func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Engine = kubetinkv1alpha1.EngineArgoCD
		tb.Spec.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: argoNS}
	}
}

// setArgoStatus writes an Application's status as Argo CD does, for the spec it carries now.
func setArgoStatus(g Gomega, u *unstructured.Unstructured, st argoStatus) {
	setArgoStatusWith(k8sClient, g, u, st)
}

func setArgoStatusWith(c client.Client, g Gomega, u *unstructured.Unstructured, st argoStatus) {
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := liveWith(c, g, u)
		g.Expect(obj).NotTo(BeNil(), "Application %s does not exist", u.GetName())
		withStatus := withArgoStatus(obj, st)
		obj.Object["status"] = withStatus.Object["status"]
		if op, ok := withStatus.Object["operation"]; ok {
			obj.Object["operation"] = op
		} else {
			delete(obj.Object, "operation")
		}
		return c.Update(context.Background(), obj)
	})).To(Succeed())
}

// liveWith fetches an object through a client as unstructured; nil when it does not exist.
func liveWith(c client.Client, g Gomega, u *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{}
	out.SetGroupVersionKind(u.GroupVersionKind())
	err := c.Get(context.Background(), key(u), out)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return out
}

// markAppHealthy waits until an Application carries the rendered spec, then reports it Healthy and Synced.
func markAppHealthy(g *WithT, u *unstructured.Unstructured) {
	markAppHealthyWith(k8sClient, g, u)
}

func markAppHealthyWith(c client.Client, g *WithT, u *unstructured.Unstructured) {
	g.Eventually(func(g Gomega) {
		obj := liveWith(c, g, u)
		g.Expect(obj).NotTo(BeNil(), "Application %s not created", u.GetName())
		want, _, _ := unstructured.NestedFieldCopy(u.Object, "spec")
		got, _, _ := unstructured.NestedFieldCopy(obj.Object, "spec")
		g.Expect(isSubset(normalize(want), normalize(got))).To(BeTrue(), "Application %s does not carry the rendered spec yet", u.GetName())
	}, timeout, interval).Should(Succeed())
	rev, _, _ := unstructured.NestedString(u.Object, "spec", "source", "targetRevision")
	setArgoStatusWith(c, g, u, argoStatus{health: "Healthy", sync: "Synced", revision: rev, phase: "Succeeded"})
}

// driveArgoToReady plays Argo CD: the CRDs' Applications first, then the chart's, which Kubetink holds back
// until the CRDs are in; it waits for the Tinkerbell to be Ready.
func driveArgoToReady(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, res *render.Result) *kubetinkv1alpha1.Tinkerbell {
	for _, u := range byComponent(res, render.ComponentCRDs) {
		markAppHealthy(g, u)
	}
	for _, u := range byComponent(res, render.ComponentRelease) {
		markAppHealthy(g, u)
	}
	return waitReady(g, tb)
}

func chartApp(res *render.Result) *unstructured.Unstructured {
	return byComponent(res, render.ComponentRelease)[0]
}

func TestTinkerbellReconciler_ArgoCDInstall(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS))
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	g.Expect(res.Objects).To(HaveLen(2))
	crds, chart := res.Objects[0], chartApp(res)

	// The CRDs' Application comes first; the chart's waits until it is Healthy and Synced.
	g.Eventually(func(g Gomega) { g.Expect(live(g, crds)).NotTo(BeNil()) }, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) { g.Expect(live(g, chart)).To(BeNil()) }, time.Second, interval).Should(Succeed())
	got := driveArgoToReady(g, tb, res)

	for _, u := range res.Objects {
		app := live(g, u)
		g.Expect(app.GetNamespace()).To(Equal(argoNS))
		g.Expect(app.GetOwnerReferences()).To(BeEmpty(), "no owner reference across namespaces")
		g.Expect(app.GetLabels()).To(And(HaveKeyWithValue(render.LabelName, "site"), HaveKeyWithValue(render.LabelNamespace, ns)))
		want, _, _ := unstructured.NestedFieldCopy(u.Object, "spec")
		g.Expect(normalize(app.Object["spec"])).To(Equal(normalize(want)))
	}
	g.Expect(live(g, chart).GetFinalizers()).To(ConsistOf(render.ArgoCDResourcesFinalizer))
	g.Expect(live(g, crds).GetFinalizers()).To(BeEmpty())

	g.Expect(got.Status.Components).To(HaveLen(2))
	g.Expect(got.Status.Components).To(HaveEach(And(HaveField("Kind", "Application"), HaveField("Namespace", argoNS), HaveField("Ready", true))))
	g.Expect(got.Status.Inventory.Entries).To(HaveLen(2))
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	g.Expect(conditionOf(got, kubetinkv1alpha1.ComponentsReadyCondition)).To(HaveField("Status", metav1.ConditionTrue))
}

// The watch on Applications maps their status changes back to the Tinkerbell; Degraded health and a failed sync
// of the current spec stall it, with the way out in the message.
func TestTinkerbellReconciler_ArgoCDReadiness(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS))
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveArgoToReady(g, tb, res)
	chart := chartApp(res)

	setArgoStatus(g, chart, argoStatus{health: "Degraded", healthMessage: "Deployment tinkerbell exceeded its progress deadline", sync: "Synced", phase: "Succeeded"})
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", kubetinkv1alpha1.DependencyStalledReason),
			HaveField("Message", And(ContainSubstring("exceeded its progress deadline"), ContainSubstring("argocd app sync "+argoNS+"/"+chart.GetName())))))
		g.Expect(got.Status.Components).To(ContainElement(And(HaveField("Name", chart.GetName()), HaveField("Ready", false))))
	}, timeout, interval).Should(Succeed())

	// Argo CD recovers on its own: the Tinkerbell follows.
	setArgoStatus(g, chart, argoStatus{health: "Healthy", sync: "Synced", revision: "v0.25.0", phase: "Succeeded"})
	waitReady(g, tb)

	setArgoStatus(g, chart, argoStatus{health: "Healthy", sync: "OutOfSync", phase: "Failed", opMessage: "one or more objects failed to apply (retried 3 times)"})
	waitReason(g, tb, meta.StalledCondition, kubetinkv1alpha1.DependencyStalledReason, "sync failed: one or more objects failed to apply")

	// A new spec gets a new chance: the failure was for the old values.
	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Components = &kubetinkv1alpha1.Components{Tootles: &kubetinkv1alpha1.TootlesComponent{ComponentCommon: kubetinkv1alpha1.ComponentCommon{LogLevel: new(int32(2))}}}
	})
	waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.ComponentsNotReadyReason, "waiting for Argo CD to compare the current spec")
	got := getTinkerbell(g, tb)
	g.Expect(conditionOf(got, meta.StalledCondition)).To(HaveField("Status", metav1.ConditionStatus("Absent")), "the Stalled condition of the old spec is gone")
	g.Expect(conditionOf(got, meta.ReconcilingCondition)).To(HaveField("Status", metav1.ConditionTrue))
	driveArgoToReady(g, tb, expectedObjects(g, getTinkerbell(g, tb), values.Facts{}))
}

func TestTinkerbellReconciler_ArgoCDDeletionPolicyDelete(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS))
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveArgoToReady(g, tb, res)
	hw := createHardware(t, g, ns)

	g.Expect(k8sClient.Delete(context.Background(), getTinkerbell(g, tb))).To(Succeed())
	// The chart's Application is deleted with its resources finalizer: Argo CD uninstalls, then lets it go. The
	// CRDs' Application goes at once and leaves the CRDs.
	chart := chartApp(res)
	g.Eventually(func(g Gomega) {
		app := live(g, chart)
		g.Expect(app).NotTo(BeNil())
		g.Expect(app.GetDeletionTimestamp()).NotTo(BeNil())
		g.Expect(app.GetFinalizers()).To(ConsistOf(render.ArgoCDResourcesFinalizer))
		g.Expect(live(g, res.Objects[0])).To(BeNil())
	}, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Finalizers).To(ContainElement(kubetinkv1alpha1.Finalizer), "the Tinkerbell waits for the uninstall")
	}, time.Second, interval).Should(Succeed())

	// Argo CD finished deleting the resources.
	removeFinalizer(g, chart, render.ArgoCDResourcesFinalizer)
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(context.Background(), key(tb), &kubetinkv1alpha1.Tinkerbell{})).NotTo(Succeed())
		g.Expect(live(g, chart)).To(BeNil())
	}, timeout, interval).Should(Succeed())
	crdsPresent(g)
	g.Expect(live(g, hw)).NotTo(BeNil(), "the Hardware object must survive")
}

func TestTinkerbellReconciler_ArgoCDDeletionPolicyOrphan(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS), func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.DeletionPolicy = kubetinkv1alpha1.DeletionPolicyOrphan
	})
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveArgoToReady(g, tb, res)

	g.Expect(k8sClient.Delete(context.Background(), getTinkerbell(g, tb))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(context.Background(), key(tb), &kubetinkv1alpha1.Tinkerbell{})).NotTo(Succeed())
	}, timeout, interval).Should(Succeed())
	// The Applications keep running, and deleting them later uninstalls nothing.
	for _, u := range res.Objects {
		app := live(g, u)
		g.Expect(app).NotTo(BeNil(), "%s was deleted", u.GetName())
		g.Expect(app.GetDeletionTimestamp()).To(BeNil())
		g.Expect(app.GetFinalizers()).To(BeEmpty())
	}
}

// removeFinalizer removes one finalizer from a live object, as the controller that owns it does.
func removeFinalizer(g Gomega, u *unstructured.Unstructured, finalizer string) {
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := live(g, u)
		if obj == nil {
			return nil
		}
		obj.SetFinalizers(slices.DeleteFunc(obj.GetFinalizers(), func(f string) bool { return f == finalizer }))
		return k8sClient.Update(context.Background(), obj)
	})).To(Succeed())
}

// addFinalizer adds a finalizer to a live object, as a controller that holds it does.
func addFinalizer(g Gomega, u *unstructured.Unstructured, finalizer string) {
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := live(g, u)
		g.Expect(obj).NotTo(BeNil())
		obj.SetFinalizers(append(obj.GetFinalizers(), finalizer))
		return k8sClient.Update(context.Background(), obj)
	})).To(Succeed())
}

func automatedSync(g Gomega, u *unstructured.Unstructured) bool {
	app := live(g, u)
	g.Expect(app).NotTo(BeNil())
	_, found, _ := unstructured.NestedMap(app.Object, "spec", "syncPolicy", "automated")
	return found
}

func targetRevision(g Gomega, u *unstructured.Unstructured) string {
	app := live(g, u)
	g.Expect(app).NotTo(BeNil())
	rev, _, _ := unstructured.NestedString(app.Object, "spec", "source", "targetRevision")
	return rev
}

// Upgrades under Argo CD run the same migration Jobs; automated sync of the installed version is paused while
// the pre-upgrade Job runs, after any sync already running has finished.
func TestTinkerbellReconciler_ArgoCDUpgradeRunsMigrationJobs(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS), atVersion("v0.19.0"))
	create(t, g, tb)
	oldRes := expectedObjects(g, tb, values.Facts{})
	driveArgoToReady(g, tb, oldRes)
	chart := chartApp(oldRes)

	// A sync is running when the upgrade starts: the migration waits for it.
	setArgoStatus(g, chart, argoStatus{health: "Progressing", sync: "OutOfSync", revision: "v0.19.0", phase: "Running", opMessage: "waiting for healthy state"})
	editTinkerbell(g, tb, atVersion("v0.25.0"))
	waitReason(g, tb, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationInProgressReason, "to finish its running sync or reconciliation")
	g.Expect(automatedSync(g, chart)).To(BeFalse(), "automated sync is paused first")
	g.Expect(getJob(g, ns, jobName(tb, "v0.25.0", migration.PreUpgrade))).To(BeNil())

	setArgoStatus(g, chart, argoStatus{health: "Healthy", sync: "Synced", revision: "v0.19.0", phase: "Succeeded"})
	pre := waitJob(g, ns, jobName(tb, "v0.25.0", migration.PreUpgrade))
	g.Expect(pre.Spec.Template.Spec.Containers[0].Args).To(ContainElements("migrate", "--from=v0.19.0", "--to=v0.25.0", "--phase=pre"))
	// While it runs, the installed version stays, paused.
	g.Consistently(func(g Gomega) {
		g.Expect(automatedSync(g, chart)).To(BeFalse())
		g.Expect(targetRevision(g, chart)).To(Equal("v0.19.0"))
	}, time.Second, interval).Should(Succeed())

	finishJob(g, pre, true)
	newRes := expectedObjects(g, atVersionCopy(tb, "v0.25.0"), values.Facts{})
	for _, u := range newRes.Objects {
		markAppHealthy(g, u)
	}
	if mustPlan(g, "v0.19.0", "v0.25.0").Has(migration.PostUpgrade) {
		finishJob(g, waitJob(g, ns, jobName(tb, "v0.25.0", migration.PostUpgrade)), true)
	}
	got := waitReady(g, tb)
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	g.Expect(automatedSync(g, chart)).To(BeTrue(), "the new version restores automated sync")
	g.Expect(targetRevision(g, chart)).To(Equal("v0.25.0"))
	g.Expect(conditionOf(got, kubetinkv1alpha1.MigratedCondition)).To(HaveField("Reason", kubetinkv1alpha1.MigrationSucceededReason))
}

func mustPlan(g Gomega, from, to string) migration.UpgradePlan {
	plan, err := migration.NewUpgradePlan(from, to)
	g.Expect(err).NotTo(HaveOccurred())
	return plan
}

// watchEvents records every version of the objects of a kind in a namespace, from now on; the returned function
// reads what arrived until the stream has been quiet for a moment.
func watchEvents(t *testing.T, g *WithT, apiVersion, kind, ns string) func() []*unstructured.Unstructured {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(apiVersion)
	list.SetKind(kind + "List")
	w, err := watchClient.Watch(context.Background(), list, client.InNamespace(ns))
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(w.Stop)
	var seen []*unstructured.Unstructured
	return func() []*unstructured.Unstructured {
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					return seen
				}
				if u, ok := ev.Object.(*unstructured.Unstructured); ok {
					seen = append(seen, u)
				}
			case <-time.After(300 * time.Millisecond):
				return seen
			}
		}
	}
}

// Switching a live Tinkerbell from Flux to Argo CD: the HelmRelease is suspended before it is deleted (so
// helm-controller does not uninstall), the Applications are created only once it is gone, and the CRDs stay.
func TestTinkerbellReconciler_SwitchFluxToArgoCD(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site")
	create(t, g, tb)
	fluxRes := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, fluxRes)
	hr := byKind(fluxRes, "HelmRelease")
	// helm-controller holds its HelmReleases with a finalizer until it handled their deletion.
	addFinalizer(g, hr, "finalizers.fluxcd.io")
	hrEvents := watchEvents(t, g, "helm.toolkit.fluxcd.io/v2", "HelmRelease", ns)

	editTinkerbell(g, tb, onArgoCD(argoNS))
	argoRes := expectedObjects(g, getTinkerbell(g, tb), values.Facts{})
	g.Eventually(func(g Gomega) {
		obj := live(g, hr)
		g.Expect(obj).NotTo(BeNil())
		g.Expect(obj.GetDeletionTimestamp()).NotTo(BeNil())
		suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend")
		g.Expect(suspended).To(BeTrue())
	}, timeout, interval).Should(Succeed())
	waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.EngineSwitchInProgressReason, "HelmRelease "+ns+"/"+hr.GetName())
	// The other Flux objects go (the CRD Kustomization orphans the CRDs); no Application while the release
	// is still Flux's.
	g.Eventually(func(g Gomega) {
		for _, u := range fluxRes.Objects {
			if u.GetKind() != "HelmRelease" {
				g.Expect(live(g, u)).To(BeNil(), "%s %s", u.GetKind(), u.GetName())
			}
		}
	}, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) {
		for _, u := range argoRes.Objects {
			g.Expect(live(g, u)).To(BeNil(), "Application %s created while the HelmRelease exists", u.GetName())
		}
	}, time.Second, interval).Should(Succeed())

	// helm-controller handles the deletion: suspended, so it removes its finalizer without uninstalling.
	for _, ev := range hrEvents() {
		suspended, _, _ := unstructured.NestedBool(ev.Object, "spec", "suspend")
		g.Expect(ev.GetDeletionTimestamp() == nil || suspended).To(BeTrue(), "the HelmRelease was deleted while not suspended")
	}
	removeFinalizer(g, hr, "finalizers.fluxcd.io")
	got := driveArgoToReady(g, tb, argoRes)
	g.Expect(got.Status.Inventory.Entries).To(HaveLen(len(argoRes.Objects)))
	g.Expect(got.Status.Inventory.Entries).To(HaveEach(HaveField("ID", HaveSuffix("_argoproj.io_Application"))))
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	crdsPresent(g)
}

// Switching back from Argo CD to Flux: the chart's Application loses its resources finalizer before it is
// deleted (so Argo CD deletes nothing), and the Flux objects are created only once it is gone.
func TestTinkerbellReconciler_SwitchArgoCDToFlux(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS))
	create(t, g, tb)
	argoRes := expectedObjects(g, tb, values.Facts{})
	driveArgoToReady(g, tb, argoRes)
	chart := chartApp(argoRes)
	// Another finalizer (such as Argo CD's post-delete hooks) keeps the Application visible while it is deleted.
	addFinalizer(g, chart, "kubetink.io/test-hold")
	appEvents := watchEvents(t, g, render.ArgoCDAPIVersion, render.ApplicationKind, argoNS)

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Engine = kubetinkv1alpha1.EngineFlux })
	fluxRes := expectedObjects(g, getTinkerbell(g, tb), values.Facts{})
	g.Eventually(func(g Gomega) {
		app := live(g, chart)
		g.Expect(app).NotTo(BeNil())
		g.Expect(app.GetDeletionTimestamp()).NotTo(BeNil())
		g.Expect(app.GetFinalizers()).To(ConsistOf("kubetink.io/test-hold"))
		g.Expect(live(g, argoRes.Objects[0])).To(BeNil(), "the CRDs' Application goes, without its CRDs")
	}, timeout, interval).Should(Succeed())
	waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.EngineSwitchInProgressReason, "Application "+argoNS+"/"+chart.GetName())
	g.Consistently(func(g Gomega) {
		for _, u := range fluxRes.Objects {
			g.Expect(live(g, u)).To(BeNil(), "%s %s created while the Application exists", u.GetKind(), u.GetName())
		}
	}, time.Second, interval).Should(Succeed())
	for _, ev := range appEvents() {
		if ev.GetName() == chart.GetName() && ev.GetDeletionTimestamp() != nil {
			g.Expect(ev.GetFinalizers()).NotTo(ContainElement(render.ArgoCDResourcesFinalizer), "the Application was deleted with its resources finalizer")
		}
	}

	removeFinalizer(g, chart, "kubetink.io/test-hold")
	driveToReady(t, g, tb, fluxRes)
	got := waitReady(g, tb)
	g.Expect(got.Status.Inventory.Entries).To(HaveLen(len(fluxRes.Objects)))
	g.Expect(live(g, chart)).To(BeNil())
	crdsPresent(g)
}

// Moving the Applications to another namespace releases the old ones instead of uninstalling through them.
func TestTinkerbellReconciler_ArgoCDNamespaceMove(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS, newArgoNS := newNamespace(t), newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS))
	create(t, g, tb)
	oldRes := expectedObjects(g, tb, values.Facts{})
	driveArgoToReady(g, tb, oldRes)

	got := editTinkerbell(g, tb, onArgoCD(newArgoNS))
	newRes := expectedObjects(g, got, values.Facts{})
	g.Eventually(func(g Gomega) {
		for _, u := range oldRes.Objects {
			g.Expect(live(g, u)).To(BeNil(), "%s/%s is still there", u.GetNamespace(), u.GetName())
		}
	}, timeout, interval).Should(Succeed())
	got = driveArgoToReady(g, tb, newRes)
	g.Expect(got.Status.Inventory.Entries).To(HaveEach(HaveField("ID", HavePrefix(newArgoNS+"_"))))
}

// Applications of all Tinkerbells share a namespace: one never takes over another's.
func TestTinkerbellReconciler_ArgoCDApplicationOfAnotherTinkerbell(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS))
	res := expectedObjects(g, tb, values.Facts{})
	theirs := res.Objects[0].DeepCopy()
	labels := theirs.GetLabels()
	labels[render.LabelNamespace] = "elsewhere"
	theirs.SetLabels(labels)
	g.Expect(k8sClient.Create(context.Background(), theirs)).To(Succeed())

	create(t, g, tb)
	waitReason(g, tb, meta.StalledCondition, kubetinkv1alpha1.OwnershipConflictReason, "already exists and belongs to Tinkerbell elsewhere/site")
	g.Expect(live(g, theirs).GetLabels()).To(HaveKeyWithValue(render.LabelNamespace, "elsewhere"))
}

// The legacy stack chart is replaced, not upgraded, under Argo CD too: its Application is deleted with the
// resources finalizer (Argo CD uninstalls the legacy release), and the unified chart's comes once it is gone.
func TestTinkerbellReconciler_ArgoCDLegacyReinstall(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS), atVersion("0.6.2"))
	create(t, g, tb)
	legacy := expectedObjects(g, tb, values.Facts{})
	driveArgoToReady(g, tb, legacy)
	legacyApp := chartApp(legacy)
	g.Expect(legacyApp.GetName()).To(Equal(render.ApplicationName(ns, "site", legacy.Release)))

	editTinkerbell(g, tb, atVersion("v0.19.0"))
	pre := waitJob(g, ns, jobName(tb, "v0.19.0", migration.PreUpgrade))
	g.Expect(automatedSync(g, legacyApp)).To(BeFalse(), "the legacy release is paused while the pre-upgrade migrations run")
	finishJob(g, pre, true)

	// The legacy Application is deleted with its resources finalizer: Argo CD uninstalls the stack release.
	g.Eventually(func(g Gomega) {
		app := live(g, legacyApp)
		g.Expect(app).NotTo(BeNil())
		g.Expect(app.GetDeletionTimestamp()).NotTo(BeNil())
		g.Expect(app.GetFinalizers()).To(ConsistOf(render.ArgoCDResourcesFinalizer))
	}, timeout, interval).Should(Succeed())
	newRes := expectedObjects(g, atVersionCopy(tb, "v0.19.0"), values.Facts{})
	g.Consistently(func(g Gomega) { g.Expect(live(g, chartApp(newRes))).To(BeNil()) }, time.Second, interval).Should(Succeed())
	removeFinalizer(g, legacyApp, render.ArgoCDResourcesFinalizer)

	for _, u := range newRes.Objects {
		markAppHealthy(g, u)
	}
	if mustPlan(g, "0.6.2", "v0.19.0").Has(migration.PostUpgrade) {
		finishJob(g, waitJob(g, ns, jobName(tb, "v0.19.0", migration.PostUpgrade)), true)
	}
	got := waitReady(g, tb)
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.19.0"))
	for _, u := range legacy.Objects {
		g.Expect(live(g, u)).To(BeNil(), "legacy Application %s is still there", u.GetName())
	}
	g.Expect(got.Status.Inventory.Entries).To(HaveLen(len(newRes.Objects)))
	crdsPresent(g)
}

// Under Argo CD too, a pass that finds everything as it should be sends no write request.
func TestTinkerbellReconciler_ArgoCDNoOpReconcileMakesZeroWrites(t *testing.T) {
	g := NewWithT(t)
	ns, argoNS := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS))
	create(t, g, tb)
	driveArgoToReady(g, tb, expectedObjects(g, tb, values.Facts{}))

	expectNoOpReconcile(g, tb)
}
