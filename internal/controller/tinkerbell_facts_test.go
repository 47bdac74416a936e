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

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

func createNode(t *testing.T, g *WithT, name string, cidrs ...string) {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDRs: cidrs}}
	if len(cidrs) > 0 {
		node.Spec.PodCIDR = cidrs[0]
	}
	g.Expect(k8sClient.Create(context.Background(), node)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), node) })
}

// helmValues returns the values of the generated HelmRelease.
func helmValues(g Gomega, tb *kubetinkv1alpha1.Tinkerbell) map[string]any {
	hr := live(g, byKind(expectedObjects(g, tb, values.Facts{}), "HelmRelease"))
	g.Expect(hr).NotTo(BeNil())
	v, _, _ := unstructured.NestedMap(hr.Object, "spec", "values")
	return v
}

func TestTinkerbellReconciler_TrustedProxiesFollowNodes(t *testing.T) {
	g := NewWithT(t)
	createNode(t, g, "node-a", "10.244.1.0/24")
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.TrustedProxies = nil })
	create(t, g, tb)
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.TrustedProxies).To(ContainElement("10.244.1.0/24"))
	}, timeout, interval).Should(Succeed())
	res := expectedObjects(g, getTinkerbell(g, tb), values.Facts{NodePodCIDRs: getTinkerbell(g, tb).Status.TrustedProxies})
	driveToReady(t, g, tb, res)
	g.Expect(helmValues(g, tb)["trustedProxies"]).To(ContainElement("10.244.1.0/24"))

	// A new node's pod CIDR reaches the HelmRelease without touching the Tinkerbell.
	createNode(t, g, "node-b", "10.244.2.0/24")
	g.Eventually(func(g Gomega) {
		g.Expect(helmValues(g, tb)["trustedProxies"]).To(ContainElements("10.244.1.0/24", "10.244.2.0/24"))
		g.Expect(getTinkerbell(g, tb).Status.TrustedProxies).To(ContainElements("10.244.1.0/24", "10.244.2.0/24"))
	}, timeout, interval).Should(Succeed())
}

func TestTinkerbellReconciler_PublicIPFromService(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.PublicIP = ""
		tb.Spec.PublicIPFrom = &kubetinkv1alpha1.ServiceReference{Name: "tinkerbell-vip"}
	})
	create(t, g, tb)
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.ReadyCondition)).To(And(HaveField("Reason", kubetinkv1alpha1.PublicIPUnavailableReason),
			HaveField("Message", ContainSubstring("Service "+ns+"/tinkerbell-vip not found"))))
	}, timeout, interval).Should(Succeed())

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-vip"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}},
	}
	g.Expect(k8sClient.Create(context.Background(), svc)).To(Succeed())
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.168.2.50"}}
	g.Expect(k8sClient.Status().Update(context.Background(), svc)).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.PublicIP).To(Equal("192.168.2.50"))
	}, timeout, interval).Should(Succeed())
	res := expectedObjects(g, tb, values.Facts{LoadBalancerIP: "192.168.2.50"})
	driveToReady(t, g, tb, res)
	g.Expect(helmValues(g, tb)["publicIP"]).To(Equal("192.168.2.50"))
}

func TestTinkerbellReconciler_TargetNamespaceConflict(t *testing.T) {
	g := NewWithT(t)
	nsA, nsB := newNamespace(t), newNamespace(t)
	shared := func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.TargetNamespace = nsA + "-shared" }
	first := newTinkerbell(nsA, "first", shared)
	create(t, g, first)
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, first).Status.Inventory).NotTo(BeNil())
	}, timeout, interval).Should(Succeed())

	second := newTinkerbell(nsB, "second", shared)
	create(t, g, second)
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, second)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Reason", kubetinkv1alpha1.NamespaceConflictReason),
			HaveField("Message", ContainSubstring("already used by Tinkerbell "+nsA+"/first"))))
	}, timeout, interval).Should(Succeed())
	g.Expect(getTinkerbell(g, second).Status.Inventory).To(BeNil(), "the refused Tinkerbell applies nothing")

	// Once the first is gone, the second installs.
	g.Expect(k8sClient.Delete(context.Background(), getTinkerbell(g, first))).To(Succeed())
	driveToReady(t, g, second, expectedObjects(g, second, values.Facts{}))
}

// Two sites of one cluster: each installs its own release, and the CRDs are applied once, by the site with the
// newest release; when it goes, the other takes them over. Deleting one leaves the other's objects alone.
func TestTinkerbellReconciler_TwoSitesDoNotInterfere(t *testing.T) {
	g := NewWithT(t)
	nsA, nsB := newNamespace(t), newNamespace(t)
	a := newTinkerbell(nsA, "site", atVersion("v0.24.0"))
	b := newTinkerbell(nsB, "site", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.PublicIP = "192.168.3.10" })
	create(t, g, a)
	resA := expectedObjects(g, a, values.Facts{})
	driveToReady(t, g, a, resA)
	crdSourceA := byKind(resA, sourcev1.GitRepositoryKind)
	g.Expect(crdSourceA).NotTo(BeNil())

	// b is newer: it applies the CRDs from now on, and a stops.
	create(t, g, b)
	resB := expectedObjects(g, b, values.Facts{})
	driveToCurrent(g, b, resB)
	g.Eventually(func(g Gomega) {
		g.Expect(live(g, crdSourceA)).To(BeNil(), "the older site still applies CRDs")
		g.Expect(getTinkerbell(g, a).Status.PrimarySite).To(Equal(nsB + "/site"))
	}, timeout, interval).Should(Succeed())
	for _, u := range byComponent(resA, render.ComponentChart, render.ComponentRelease) {
		g.Expect(live(g, u)).NotTo(BeNil())
	}
	// a's release changes too: as another site's, its RBAC is namespaced and it runs neither controller.
	driveToCurrent(g, a, expectedObjects(g, a, values.Facts{PrimarySite: nsB + "/site"}))
	g.Expect(helmValues(g, a)["rbac"]).To(HaveKeyWithValue("type", "Role"))
	g.Expect(getTinkerbell(g, b).Status.PrimarySite).To(BeEmpty())
	g.Expect(helmValues(g, a)["publicIP"]).To(Equal("192.168.2.10"))
	g.Expect(helmValues(g, b)["publicIP"]).To(Equal("192.168.3.10"))

	// Deleting b leaves a's objects alone, and a applies the CRDs again.
	g.Expect(k8sClient.Delete(context.Background(), getTinkerbell(g, b))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(live(g, byKind(resB, "HelmRelease"))).To(BeNil()) }, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, a).Status.PrimarySite).To(BeEmpty())
		g.Expect(live(g, crdSourceA)).NotTo(BeNil(), "the remaining site does not take the CRDs over")
	}, timeout, interval).Should(Succeed())
	driveToCurrent(g, a, resA)
}

// driveToCurrent plays Flux for sites whose objects change after they exist (a site taking the CRDs over or
// giving them up changes its release's values): each object is marked ready only once it carries the rendered
// spec, the CRDs' first, and the Tinkerbell must become Ready.
func driveToCurrent(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, res *render.Result) {
	for _, u := range append(byComponent(res, render.ComponentCRDs), byComponent(res, render.ComponentChart, render.ComponentRelease)...) {
		markReadyOnceCurrent(g, u)
	}
	waitReady(g, tb)
}

// A site that would serve every namespace beside another site is refused, naming the other, until it serves only
// its own; a site that would share another's public IP likewise.
func TestTinkerbellReconciler_OverlappingSitesAreRefused(t *testing.T) {
	g := NewWithT(t)
	nsA, nsB := newNamespace(t), newNamespace(t)
	a := newTinkerbell(nsA, "site")
	create(t, g, a)
	driveToReady(t, g, a, expectedObjects(g, a, values.Facts{PrimarySite: ""}))

	everywhere := newTinkerbell(nsB, "site", atVersion("v0.24.0"), func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Scope = "" // the unified chart's default: every namespace
		tb.Spec.PublicIP = "192.168.4.10"
	})
	create(t, g, everywhere)
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, everywhere)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Reason", kubetinkv1alpha1.SiteConflictReason),
			HaveField("Message", And(ContainSubstring("would serve every namespace"), ContainSubstring(nsA+"/site")))))
	}, timeout, interval).Should(Succeed())
	g.Expect(getTinkerbell(g, everywhere).Status.Inventory).To(BeNil(), "the refused Tinkerbell applies nothing")

	// Same public IP as a: still refused, for that.
	editTinkerbell(g, everywhere, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Scope = kubetinkv1alpha1.ScopeNamespace
		tb.Spec.PublicIP = a.Spec.PublicIP
	})
	g.Eventually(func(g Gomega) {
		g.Expect(conditionOf(getTinkerbell(g, everywhere), meta.StalledCondition)).To(HaveField("Message", ContainSubstring("spec.publicIP 192.168.2.10")))
	}, timeout, interval).Should(Succeed())

	// Its own address: it installs, with a (the newer release) as the primary.
	fixed := editTinkerbell(g, everywhere, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.PublicIP = "192.168.4.10" })
	driveToCurrent(g, fixed, expectedObjects(g, fixed, values.Facts{PrimarySite: nsA + "/site"}))
	waitReady(g, a)
}

// The sites are read from the informer's store, without a copy per Tinkerbell per pass: what clusterSites returns
// is the cache's own object.
func TestClusterSitesReadsTheInformerStore(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	create(t, g, newTinkerbell(ns, "site"))
	read := func(g Gomega) *kubetinkv1alpha1.Tinkerbell {
		all, err := testReconciler.clusterSites(context.Background())
		g.Expect(err).NotTo(HaveOccurred())
		for _, o := range all {
			if o.Namespace == ns {
				return o
			}
		}
		return nil
	}
	// Two reads between two updates of the Tinkerbell give the cache's one object; copies never would.
	g.Eventually(func(g Gomega) {
		first := read(g)
		g.Expect(first).NotTo(BeNil())
		g.Expect(read(g)).To(BeIdenticalTo(first), "two reads gave two copies: the store is not read directly")
	}, timeout, interval).Should(Succeed())
}
