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

package inventory

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

func obj(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func TestInventory(t *testing.T) {
	g := NewWithT(t)
	hr := obj("helm.toolkit.fluxcd.io/v2", "HelmRelease", "sites", "tb")
	oci := obj("source.toolkit.fluxcd.io/v1", "OCIRepository", "sites", "tb-chart")
	ks := obj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "sites", "tb-crds")

	old := New(hr, oci, ks)
	g.Expect(old.Entries).To(Equal([]kubetinkv1alpha1.ResourceRef{
		{ID: "sites_tb-chart_source.toolkit.fluxcd.io_OCIRepository", Version: "v1"},
		{ID: "sites_tb-crds_kustomize.toolkit.fluxcd.io_Kustomization", Version: "v1"},
		{ID: "sites_tb_helm.toolkit.fluxcd.io_HelmRelease", Version: "v2"},
	}))

	current := New(hr, oci)
	stale := Diff(old, current)
	g.Expect(stale).To(HaveLen(1))
	back, err := Object(stale[0])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(back.GroupVersionKind()).To(Equal(ks.GroupVersionKind()))
	g.Expect(back.GetNamespace() + "/" + back.GetName()).To(Equal("sites/tb-crds"))

	Add(current, Ref(ks))
	Add(current, Ref(ks))
	g.Expect(current.Entries).To(Equal(old.Entries))
	g.Expect(Diff(nil, current)).To(BeEmpty())
	g.Expect(Contains(nil, "x")).To(BeFalse())

	_, err = Object(kubetinkv1alpha1.ResourceRef{ID: "broken", Version: "v1"})
	g.Expect(err).To(MatchError(ContainSubstring("invalid inventory id")))
}
