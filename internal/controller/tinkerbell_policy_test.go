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

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/policy"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// lockedPolicy is a cluster admin's policy for the tests: a chart mirror, a CRD mirror, target namespaces
// starting with the test namespace, Applications pinned to argoNS in project tinkerbell.
func lockedPolicy(ns, argoNS string) policy.Settings {
	return policy.Settings{
		ChartURLPrefixes:  []string{"oci://registry.example.com/charts"},
		CRDSourcePrefixes: []string{"https://git.example.com/mirrors"},
		TargetNamespaces:  []string{ns + "-*"},
		ArgoCDNamespace:   argoNS,
		ArgoCDProjects:    []string{"tinkerbell"},
	}
}

// mirrored makes a test Tinkerbell take its chart and CRDs from the mirrors lockedPolicy allows.
func mirrored(tb *kubetinkv1alpha1.Tinkerbell) {
	tb.Spec.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://registry.example.com/charts/tinkerbell"}
	tb.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "https://git.example.com/mirrors/tinkerbell.git"}}
}

// generatedObjects returns the Flux objects in ns and the Applications anywhere that carry tb's labels.
func generatedObjects(g Gomega, tb *kubetinkv1alpha1.Tinkerbell) []string {
	out := make([]string, 0, 8)
	for _, kind := range []struct{ apiVersion, kind string }{
		{"source.toolkit.fluxcd.io/v1", "OCIRepository"}, {"source.toolkit.fluxcd.io/v1", "GitRepository"},
		{"kustomize.toolkit.fluxcd.io/v1", "Kustomization"}, {"helm.toolkit.fluxcd.io/v2", "HelmRelease"},
		{render.ArgoCDAPIVersion, render.ApplicationKind},
	} {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion(kind.apiVersion)
		list.SetKind(kind.kind + "List")
		g.Expect(k8sClient.List(context.Background(), list,
			client.MatchingLabels{render.LabelName: tb.Name, render.LabelNamespace: tb.Namespace})).To(Succeed())
		for _, u := range list.Items {
			out = append(out, u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName())
		}
	}
	return out
}

// expectRefused waits for tb to be Stalled with reason and a message containing msg, and checks that nothing
// was generated for it.
func expectRefused(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, reason, msg string) {
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", reason), HaveField("Message", ContainSubstring(msg))))
		g.Expect(conditionOf(got, meta.ReadyCondition)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", reason)))
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(got.Status.Inventory).To(BeNil())
	}, timeout, interval).Should(Succeed())
	// The status is written at the end of the pass: whatever that pass applied would exist by now.
	g.Expect(generatedObjects(g, tb)).To(BeEmpty())
}

// expectRecovered waits until the objects rendered for tb with facts exist and tb is no longer Stalled.
func expectRecovered(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, facts values.Facts) *render.Result {
	res := expectedObjects(g, getTinkerbell(g, tb), facts)
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).NotTo(HaveField("Status", metav1.ConditionTrue))
		g.Expect(got.Status.Inventory).NotTo(BeNil())
		// The CRDs come first; the chart's objects follow once they are ready, which nothing plays here.
		for _, u := range byComponent(res, render.ComponentCRDs) {
			g.Expect(live(g, u)).NotTo(BeNil(), "%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
		}
	}, timeout, interval).Should(Succeed())
	return res
}

// Each rule of the cluster admin's policy stalls a Tinkerbell that breaks it with its own reason, before anything
// is generated; fixing the spec lets it install.
func TestTinkerbellReconciler_PolicyRefusesAndRecovers(t *testing.T) {
	g := NewWithT(t)
	const manager = "policy"
	argoNS := newNamespace(t)
	ns := newNamespace(t)
	m := startOwnManager(t, g, manager, func(r *TinkerbellReconciler) { r.Policy = lockedPolicy(ns, argoNS) })
	t.Cleanup(func() { m.stop(g) })

	for i, tc := range []struct {
		name   string
		breaks func(*kubetinkv1alpha1.Tinkerbell)
		fixes  func(*kubetinkv1alpha1.Tinkerbell)
		reason string
		msg    string
	}{{
		name: "chart-url",
		breaks: func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Spec.Chart.URL = "oci://registry.example.com.evil.io/charts/tinkerbell"
		},
		fixes: func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Spec.Chart.URL = "oci://registry.example.com/charts/tinkerbell"
		},
		reason: kubetinkv1alpha1.ChartURLNotAllowedReason,
		msg:    `spec.chart.url "oci://registry.example.com.evil.io/charts/tinkerbell" is not allowed by the cluster admin's allowed-chart-url-prefixes: use one under oci://registry.example.com/charts`,
	}, {
		name:   "chart-default",
		breaks: func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Chart = nil },
		fixes: func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Spec.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://registry.example.com/charts/tinkerbell"}
		},
		reason: kubetinkv1alpha1.ChartURLNotAllowedReason,
		msg:    `the chart URL of v0.25.0, "oci://ghcr.io/tinkerbell/charts/tinkerbell", is not allowed`,
	}, {
		name:   "crd-source",
		breaks: func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.CRDs = nil },
		fixes: func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "https://git.example.com/mirrors/tinkerbell.git"}}
		},
		reason: kubetinkv1alpha1.CRDSourceNotAllowedReason,
		msg:    `the CRD source of v0.25.0, "https://github.com/tinkerbell/tinkerbell", is not allowed by the cluster admin's allowed-crd-source-prefixes`,
	}, {
		name: "argocd-namespace",
		breaks: func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Spec.Engine = kubetinkv1alpha1.EngineArgoCD
			tb.Spec.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: ns, Project: "tinkerbell"}
		},
		fixes:  func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.ArgoCD.Namespace = "" },
		reason: kubetinkv1alpha1.ArgoCDNamespaceNotAllowedReason,
		msg:    `spec.argoCD.namespace "` + ns + `" is not allowed by the cluster admin's argocd-namespace: remove it, or set it to ` + argoNS,
	}, {
		name: "argocd-project",
		breaks: func(tb *kubetinkv1alpha1.Tinkerbell) {
			tb.Spec.Engine = kubetinkv1alpha1.EngineArgoCD
			tb.Spec.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Project: "default"}
		},
		fixes:  func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.ArgoCD.Project = "tinkerbell" },
		reason: kubetinkv1alpha1.ArgoCDProjectNotAllowedReason,
		msg:    `spec.argoCD.project "default" is not allowed by the cluster admin's argocd-allowed-projects: use one of tinkerbell`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			tb := newTinkerbell(ns, tc.name, mirrored, tc.breaks, withPublicIP(fmt.Sprintf("192.168.3.%d", 10+i)), func(tb *kubetinkv1alpha1.Tinkerbell) {
				tb.Labels = map[string]string{ownManagerLabel: manager}
			})
			create(t, g, tb)
			// Done with it: the next site must not meet this one's CRDs or public IP.
			t.Cleanup(func() {
				g.Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), tb))).To(Succeed())
				g.Eventually(func() bool { return apierrors.IsNotFound(k8sClient.Get(context.Background(), key(tb), tb)) },
					timeout, interval).Should(BeTrue())
			})
			expectRefused(g, tb, tc.reason, tc.msg)

			editTinkerbell(g, tb, tc.fixes)
			res := expectRecovered(g, tb, values.Facts{ArgoCDNamespace: argoNS})
			if tb.Spec.Engine == kubetinkv1alpha1.EngineArgoCD {
				// The Applications are in the pinned namespace, in the allowed project.
				for _, u := range byComponent(res, render.ComponentCRDs) {
					app := live(g, u)
					g.Expect(app.GetNamespace()).To(Equal(argoNS))
					project, _, _ := unstructured.NestedString(app.Object, "spec", "project")
					g.Expect(project).To(Equal("tinkerbell"))
				}
			}
		})
	}
}

// A Tinkerbell whose target namespace the policy does not allow stalls; spec.targetNamespace is immutable, so
// the way out is the cluster admin's: a manager started with a policy that allows it installs it.
func TestTinkerbellReconciler_PolicyTargetNamespaceRecoversWithTheFlags(t *testing.T) {
	g := NewWithT(t)
	const manager = "policy-ns"
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", mirrored, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Labels = map[string]string{ownManagerLabel: manager}
		tb.Spec.TargetNamespace = "elsewhere-" + ns
	})
	locked := lockedPolicy(ns, "argocd")
	m := startOwnManager(t, g, manager, func(r *TinkerbellReconciler) { r.Policy = locked })
	create(t, g, tb)
	expectRefused(g, tb, kubetinkv1alpha1.TargetNamespaceNotAllowedReason,
		`spec.targetNamespace "elsewhere-`+ns+`" is not allowed by the cluster admin's allowed-target-namespaces: use one matching `+ns+`-*`)
	m.stop(g)

	locked.TargetNamespaces = append(locked.TargetNamespaces, "elsewhere-*")
	m = startOwnManager(t, g, manager, func(r *TinkerbellReconciler) { r.Policy = locked })
	t.Cleanup(func() { m.stop(g) })
	expectRecovered(g, tb, values.Facts{})
}
