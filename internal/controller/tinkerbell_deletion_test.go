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
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// createHardware creates an upstream-shaped Hardware object, a user's object Kubetink must never delete.
func createHardware(t *testing.T, g *WithT, ns string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hardware.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	hw := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal(data, &hw.Object)).To(Succeed())
	hw.SetNamespace(ns)
	g.Expect(k8sClient.Create(context.Background(), hw)).To(Succeed())
	return hw
}

func crdsPresent(g Gomega) {
	for _, name := range []string{"hardware.tinkerbell.org", "workflows.tinkerbell.org", "templates.tinkerbell.org", "machines.bmc.tinkerbell.org"} {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, crd)).To(Succeed(), name)
		g.Expect(crd.DeletionTimestamp.IsZero()).To(BeTrue(), name)
	}
}

func TestTinkerbellReconciler_DeletionPolicyDelete(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site")
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, res)
	hw := createHardware(t, g, ns)

	g.Expect(k8sClient.Delete(context.Background(), getTinkerbell(g, tb))).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, u := range res.Objects {
			g.Expect(live(g, u)).To(BeNil(), "%s %s still exists", u.GetKind(), u.GetName())
		}
		got := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(k8sClient.Get(context.Background(), key(tb), got)).NotTo(Succeed())
	}, timeout, interval).Should(Succeed())
	crdsPresent(g)
	g.Expect(live(g, hw)).NotTo(BeNil(), "the Hardware object must survive")
}

func TestTinkerbellReconciler_DeletionPolicyOrphan(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.DeletionPolicy = kubetinkv1alpha1.DeletionPolicyOrphan
	})
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, res)
	hw := createHardware(t, g, ns)

	g.Expect(k8sClient.Delete(context.Background(), getTinkerbell(g, tb))).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(k8sClient.Get(context.Background(), key(tb), got)).NotTo(Succeed())
	}, timeout, interval).Should(Succeed())
	// Everything keeps running, released from the deleted owner.
	for _, u := range res.Objects {
		obj := live(g, u)
		g.Expect(obj).NotTo(BeNil(), "%s %s was deleted", u.GetKind(), u.GetName())
		g.Expect(obj.GetOwnerReferences()).To(BeEmpty())
		g.Expect(obj.GetDeletionTimestamp()).To(BeNil())
	}
	crdsPresent(g)
	g.Expect(live(g, hw)).NotTo(BeNil())
}

func TestTinkerbellReconciler_PrunesWhatIsNoLongerRendered(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site")
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, res)
	crdObjects := byComponent(res, render.ComponentCRDs)
	g.Expect(crdObjects).NotTo(BeEmpty())

	// Hand the CRDs back to the chart: the CRD GitRepository and Kustomization go, the CRDs stay.
	got := editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: new(false)}
	})
	g.Eventually(func(g Gomega) {
		for _, u := range crdObjects {
			g.Expect(live(g, u)).To(BeNil(), "%s %s was not pruned", u.GetKind(), u.GetName())
		}
	}, timeout, interval).Should(Succeed())
	crdsPresent(g)

	after := expectedObjects(g, got, values.Facts{})
	markReady(g, byKind(after, "HelmRelease")) // the values changed (the chart manages CRDs again): a new generation
	got = waitReady(g, tb)
	g.Expect(got.Status.Inventory.Entries).To(HaveLen(len(after.Objects)))
	g.Expect(len(after.Objects)).To(BeNumerically("<", len(res.Objects)))
}
