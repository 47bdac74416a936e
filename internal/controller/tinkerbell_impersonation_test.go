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
	"maps"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/policy"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// impersonated returns the objects of a rendered set that the Flux controllers run as a ServiceAccount: the
// HelmRelease and the CRD Kustomizations.
func impersonated(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if k := u.GetKind(); k == "HelmRelease" || k == "Kustomization" {
			out = append(out, u)
		}
	}
	return out
}

// byKinds returns the rendered objects of a kind.
func byKinds(res *render.Result, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range res.Objects {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// expectServiceAccount waits until every object of objs carries spec.serviceAccountName want ("": none) and
// returns their UIDs.
func expectServiceAccount(g *WithT, objs []*unstructured.Unstructured, want string) map[string]types.UID {
	uids := map[string]types.UID{}
	for _, u := range objs {
		g.Eventually(func(g Gomega) {
			obj := live(g, u)
			g.Expect(obj).NotTo(BeNil())
			got, _, _ := unstructured.NestedString(obj.Object, "spec", "serviceAccountName")
			g.Expect(got).To(Equal(want), "%s %s", u.GetKind(), u.GetName())
			uids[u.GetKind()+"/"+u.GetName()] = obj.GetUID()
		}, timeout, interval).Should(Succeed())
	}
	return uids
}

// TestTinkerbellReconciler_ServiceAccountChangesInPlace: spec.serviceAccountName reaches the HelmRelease and the
// CRD Kustomization, and changing or removing it on a running stack updates those objects in place (same UIDs:
// helm-controller upgrades the release instead of installing it again) and the Tinkerbell becomes Ready again.
func TestTinkerbellReconciler_ServiceAccountChangesInPlace(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "tb", func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.ServiceAccountName = "flux-a" })
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, res)
	g.Expect(impersonated(res.Objects)).To(HaveLen(2), "a CRD Kustomization and a HelmRelease")
	installed := expectServiceAccount(g, impersonated(res.Objects), "flux-a")
	hr := live(g, byKind(res, "HelmRelease"))
	createNS, _, _ := unstructured.NestedBool(hr.Object, "spec", "install", "createNamespace")
	g.Expect(createNS).To(BeFalse(), "an impersonated account creates no namespace: the admin's RoleBinding lives there")

	for _, sa := range []string{"flux-b", ""} {
		tb = editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.ServiceAccountName = sa })
		res = expectedObjects(g, tb, values.Facts{})
		// The CRDs first: the HelmRelease changes only once the CRD Kustomization is ready for its new generation.
		uids := expectServiceAccount(g, byKinds(res, "Kustomization"), sa)
		markReady(g, byKind(res, "Kustomization"))
		maps.Copy(uids, expectServiceAccount(g, byKinds(res, "HelmRelease"), sa))
		g.Expect(uids).To(Equal(installed), "service account %q: objects replaced", sa)
		driveToReady(t, g, tb, res)
	}
}

// TestTinkerbellReconciler_DefaultServiceAccount: the manager's --default-service-account applies to a Tinkerbell
// that names no account, both where the reconciler renders (the render step, and the installed release it
// suspends during an upgrade); spec.serviceAccountName wins over it, and the Tinkerbell is left as it was. It runs
// the steps on a reconciler of its own: a manager of its own would share the apiserver with the suite's, whose
// watches on the generated objects would reconcile the same Tinkerbell without the default.
func TestTinkerbellReconciler_DefaultServiceAccount(t *testing.T) {
	g := NewWithT(t)
	r := &TinkerbellReconciler{Policy: policy.Settings{DefaultServiceAccount: "flux-default"}}
	for name, c := range map[string]struct{ spec, want string }{
		"default": {"", "flux-default"},
		"named":   {"flux-own", "flux-own"},
	} {
		tb := newTinkerbell("ns", name, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.ServiceAccountName = c.spec })
		tb.Status.LastAppliedVersion = "v0.24.0"
		s := &scope{obj: tb, upgrade: &upgrade{from: "v0.24.0", to: "v0.25.0"}}
		g.Expect(r.render(context.Background(), s)).To(Succeed())
		rendered := impersonated(s.result.Objects)
		g.Expect(rendered).To(HaveLen(2), "a CRD Kustomization and a HelmRelease")
		_, installed, err := r.installedChartInstallers(s)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(installed).To(HaveLen(1))
		for _, u := range append(rendered, installed...) {
			got, _, _ := unstructured.NestedString(u.Object, "spec", "serviceAccountName")
			g.Expect(got).To(Equal(c.want), "%s: %s %s", name, u.GetKind(), u.GetName())
		}
		g.Expect(tb.Spec.ServiceAccountName).To(Equal(c.spec), "%s: the default is not written to the Tinkerbell", name)
	}
}
