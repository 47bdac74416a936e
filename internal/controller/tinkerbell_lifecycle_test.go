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
	"os/exec"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions/check"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// statusChecker verifies kstatus conformance of the Tinkerbell's conditions.
func statusChecker(g *WithT) *check.Checker {
	return check.NewChecker(k8sClient, &check.Conditions{
		NegativePolarity: []string{meta.StalledCondition, meta.ReconcilingCondition},
		PositivePolarity: []string{meta.ReadyCondition, kubetinkv1alpha1.ComponentsReadyCondition},
	}).WithT(g)
}

func TestTinkerbellReconciler_Lifecycle(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site")
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	hr := byKind(res, "HelmRelease")
	g.Expect(hr).NotTo(BeNil())

	// The chart source and the CRD objects come first, owned by the Tinkerbell.
	for _, u := range res.Objects {
		if u == hr {
			continue
		}
		g.Eventually(func(g Gomega) {
			obj := live(g, u)
			g.Expect(obj).NotTo(BeNil())
			g.Expect(obj.GetOwnerReferences()).To(ConsistOf(HaveField("Name", "site")))
			g.Expect(*obj.GetOwnerReferences()[0].Controller).To(BeTrue())
			g.Expect(obj.GetLabels()).To(HaveKeyWithValue("kubetink.io/name", "site"))
		}, timeout, interval).Should(Succeed())
	}
	// The HelmRelease waits for the CRDs; the Tinkerbell says so.
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(got.Finalizers).To(ContainElement(kubetinkv1alpha1.Finalizer))
		g.Expect(conditionOf(got, meta.ReadyCondition)).To(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", kubetinkv1alpha1.ComponentsNotReadyReason)))
		g.Expect(conditionOf(got, meta.ReconcilingCondition)).To(HaveField("Status", metav1.ConditionTrue))
		g.Expect(got.Status.Components).To(ContainElement(And(
			HaveField("Kind", "HelmRelease"), HaveField("Ready", false),
			HaveField("Message", ContainSubstring("waiting for the CRDs")))))
	}, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) *unstructured.Unstructured { return live(g, hr) }, time.Second, interval).Should(BeNil())

	driveToReady(t, g, tb, res)
	got := waitReady(g, tb)
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	g.Expect(got.Status.Upgrade).To(BeZero(), "an install is no upgrade")
	g.Expect(got.Status.LastAppliedValuesDigest).To(Equal(res.ValuesDigest))
	g.Expect(got.Status.TrustedProxies).To(Equal([]string{"10.244.0.0/16"}))
	g.Expect(got.Status.PublicIP).To(Equal("192.168.2.10"))
	g.Expect(got.Status.Inventory.Entries).To(HaveLen(len(res.Objects)))
	g.Expect(got.Status.Components).To(HaveLen(len(res.Objects)))
	g.Expect(got.Status.Components).To(HaveEach(HaveField("Ready", true)))
	g.Expect(conditionOf(got, kubetinkv1alpha1.ComponentsReadyCondition)).To(HaveField("Status", metav1.ConditionTrue))
	g.Expect(conditionOf(got, meta.ReconcilingCondition).Status).To(Equal(metav1.ConditionStatus("Absent")))
	statusChecker(g).CheckErr(context.Background(), got)

	// The HelmRelease carries exactly the values "kubetink render" prints.
	want, _, _ := unstructured.NestedFieldCopy(hr.Object, "spec", "values")
	liveHR := live(g, hr)
	gotValues, _, _ := unstructured.NestedFieldCopy(liveHR.Object, "spec", "values")
	g.Expect(normalize(gotValues)).To(Equal(normalize(want)))

	// A user waits for it the usual way.
	out, err := exec.Command("kubectl", "--kubeconfig", testEnv.Kubeconfig, "-n", ns, "wait",
		"--for=condition=Ready", "tinkerbell/site", "--timeout=10s").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).To(ContainSubstring("condition met"))
	out, err = exec.Command("kubectl", "--kubeconfig", testEnv.Kubeconfig, "-n", ns, "get", "tinkerbells").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).To(MatchRegexp(`site\s+v0\.25\.0\s+True\s+Tinkerbell v0\.25\.0 is ready`))
}

func TestTinkerbellReconciler_ReadinessAndStallPropagation(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site")
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, res)
	hr := byKind(res, "HelmRelease")

	// An upgrade in progress makes the Tinkerbell not ready, with Flux's message.
	setFluxStatus(g, hr, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: "Running 'upgrade' action"},
		metav1.Condition{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingReason, Message: "Running 'upgrade' action"})
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.ReadyCondition)).To(And(HaveField("Status", metav1.ConditionFalse),
			HaveField("Message", ContainSubstring("Running 'upgrade' action"))))
		g.Expect(conditionOf(got, meta.ReconcilingCondition)).To(HaveField("Status", metav1.ConditionTrue))
	}, timeout, interval).Should(Succeed())

	// Retries exhausted: helm-controller stalls, and so does the Tinkerbell, with the cause.
	setFluxStatus(g, hr, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: "UpgradeFailed", Message: "Helm upgrade failed: timed out waiting for the condition"},
		metav1.Condition{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: "RetriesExceeded", Message: "Failed to upgrade after 3 attempt(s)"})
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", kubetinkv1alpha1.DependencyStalledReason),
			HaveField("Message", ContainSubstring("HelmRelease/site is stalled: Failed to upgrade after 3 attempt(s)"))))
		g.Expect(conditionOf(got, meta.ReadyCondition)).To(HaveField("Status", metav1.ConditionFalse))
		g.Expect(conditionOf(got, meta.ReconcilingCondition).Status).To(Equal(metav1.ConditionStatus("Absent")))
		statusChecker(NewWithT(t)).CheckErr(context.Background(), got)
	}, timeout, interval).Should(Succeed())

	// The user retries through the Tinkerbell: the request reaches the HelmRelease, whose recovery clears the stall.
	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "retry-1", "reconcile.fluxcd.io/resetAt": "retry-1"}
	})
	g.Eventually(func(g Gomega) {
		a := live(g, hr).GetAnnotations()
		g.Expect(a).To(HaveKeyWithValue(meta.ReconcileRequestAnnotation, "retry-1"))
		g.Expect(a).To(HaveKeyWithValue("reconcile.fluxcd.io/resetAt", "retry-1"))
	}, timeout, interval).Should(Succeed())
	markReady(g, hr)
	got := waitReady(g, tb)
	g.Expect(got.Status.LastHandledReconcileAt).To(Equal("retry-1"))
	g.Expect(conditionOf(got, meta.StalledCondition).Status).To(Equal(metav1.ConditionStatus("Absent")))
}

func TestTinkerbellReconciler_DriftIsReverted(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site")
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, res)
	hr := byKind(res, "HelmRelease")
	want, _, _ := unstructured.NestedFieldCopy(hr.Object, "spec", "values")

	// Someone edits the generated HelmRelease by hand.
	edited := live(g, hr)
	g.Expect(unstructured.SetNestedField(edited.Object, map[string]any{"publicIP": "10.0.0.66"}, "spec", "values")).To(Succeed())
	g.Expect(unstructured.SetNestedField(edited.Object, "1h", "spec", "interval")).To(Succeed())
	g.Expect(k8sClient.Update(context.Background(), edited)).To(Succeed())

	g.Eventually(func(g Gomega) {
		obj := live(g, hr)
		got, _, _ := unstructured.NestedFieldCopy(obj.Object, "spec", "values")
		g.Expect(normalize(got)).To(Equal(normalize(want)))
		interval, _, _ := unstructured.NestedString(obj.Object, "spec", "interval")
		g.Expect(interval).NotTo(Equal("1h"))
	}, timeout, interval).Should(Succeed())
}

func TestTinkerbellReconciler_UnsupportedVersionStalls(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Version = "v0.99.0" })
	create(t, g, tb)
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", kubetinkv1alpha1.UnsupportedVersionReason),
			HaveField("Message", And(ContainSubstring("v0.99.0"), ContainSubstring("v0.25.0"), ContainSubstring("0.6.2")))))
		g.Expect(conditionOf(got, meta.ReadyCondition)).To(HaveField("Status", metav1.ConditionFalse))
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, interval).Should(Succeed())
	g.Expect(getTinkerbell(g, tb).Status.Inventory).To(BeNil(), "nothing is applied for an unsupported version")

	// Fixing the spec recovers.
	got := editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Version = "v0.25.0" })
	driveToReady(t, g, got, expectedObjects(g, got, values.Facts{}))
}

func TestTinkerbellReconciler_DowngradeRefused(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site")
	create(t, g, tb)
	driveToReady(t, g, tb, expectedObjects(g, tb, values.Facts{}))

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Version = "v0.24.0" })
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Reason", kubetinkv1alpha1.DowngradeRefusedReason),
			HaveField("Message", ContainSubstring("spec.upgrade.allowDowngrade"))))
	}, timeout, interval).Should(Succeed())
	// Nothing was rolled back: the chart source still pins the installed version.
	oci := live(g, byKind(expectedObjects(g, tb, values.Facts{}), "OCIRepository"))
	tag, _, _ := unstructured.NestedString(oci.Object, "spec", "ref", "tag")
	g.Expect(tag).To(Equal("v0.25.0"))
	g.Expect(getTinkerbell(g, tb).Status.LastAppliedVersion).To(Equal("v0.25.0"), "the installed version stays")

	// Allowing the downgrade lets it through.
	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Upgrade = &kubetinkv1alpha1.UpgradePolicy{AllowDowngrade: true}
	})
	// Flux fetches and applies the v0.24.0 CRDs; then the chart source moves.
	for _, u := range byComponent(expectedObjects(g, atVersionCopy(tb, "v0.24.0"), values.Facts{}), render.ComponentCRDs) {
		markReadyOnceCurrent(g, u)
	}
	g.Eventually(func(g Gomega) {
		tag, _, _ := unstructured.NestedString(live(g, oci).Object, "spec", "ref", "tag")
		g.Expect(tag).To(Equal("v0.24.0"))
	}, timeout, interval).Should(Succeed())
}
