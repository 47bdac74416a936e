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

package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/testutil"
)

// validSpec is the smallest spec the API accepts for the unified chart.
func validSpec() map[string]any { return testutil.ValidTinkerbellSpec() }

func newTinkerbell(ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(kubetinkv1alpha1.GroupVersion.String())
	u.SetKind(kubetinkv1alpha1.TinkerbellKind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func createNamespace(t *testing.T, g *WithT) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "api-"}}
	g.Expect(testEnv.Client.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = testEnv.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// set returns a mutation of a spec (testutil.Set).
func set(path string, value any) func(map[string]any) { return testutil.Set(path, value) }

func TestTinkerbell_CELValidation(t *testing.T) {
	tests := testutil.InvalidTinkerbells()
	g := NewWithT(t)
	ns := createNamespace(t, g)
	for i, tt := range tests {
		t.Run(tt.Case, func(t *testing.T) {
			g := NewWithT(t)
			spec := validSpec()
			for _, m := range tt.Mutate {
				m(spec)
			}
			name := tt.Name
			if name == "" {
				name = fmt.Sprintf("invalid-%d", i)
			}
			obj := newTinkerbell(ns, name, spec)
			err := testEnv.Client.Create(context.Background(), obj)
			g.Expect(err).To(HaveOccurred(), "the apiserver accepted an invalid object")
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tt.WantMsg))
		})
	}
	g.Expect(len(tests)).To(BeNumerically(">=", 25))
}

// TestTinkerbell_NameLength: the name goes into generated names and label values (63 characters at most), so a
// longer one is refused at admission rather than failing later.
func TestTinkerbell_NameLength(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	err := testEnv.Client.Create(context.Background(), newTinkerbell(ns, strings.Repeat("t", 64), validSpec()))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	g.Expect(err.Error()).To(ContainSubstring("metadata.name may be at most 63 characters"))
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, strings.Repeat("t", 63), validSpec()))).To(Succeed())
}

func TestTinkerbell_Defaults(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	spec := validSpec()
	set("components.smee.dhcp.mode", "proxy")(spec)
	set("addons.kubeVip.lbClassOnly", true)(spec)
	set("crds.source.url", "https://git.example.com/tinkerbell.git")(spec)
	u := newTinkerbell(ns, "defaults", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())

	got := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), got)).To(Succeed())
	g.Expect(got.Spec.TargetNamespace).To(Equal("tinkerbell"))
	g.Expect(got.Status.ObservedGeneration).To(Equal(int64(-1)), "kstatus must see a new object as in progress")
	g.Expect(got.Spec.Engine).To(Equal(kubetinkv1alpha1.EngineFlux))
	g.Expect(got.Spec.DeletionPolicy).To(Equal(kubetinkv1alpha1.DeletionPolicyDelete))
	g.Expect(got.Spec.Components.Smee.Enabled).To(HaveValue(BeTrue()))
	g.Expect(got.Spec.Components.Smee.DHCP.Enabled).To(HaveValue(BeTrue()))
	g.Expect(got.Spec.Addons.KubeVip.Enabled).To(HaveValue(BeTrue()))
	g.Expect(got.Spec.CRDs.Managed).To(HaveValue(BeTrue()))
	// Accessors agree with the server's defaults for fields that have none in the schema.
	g.Expect(got.GetInterval()).To(Equal(kubetinkv1alpha1.DefaultInterval))
	g.Expect(got.Spec.Components.GetTootles().IsEnabled()).To(BeTrue())
	g.Expect(got.CRDsManaged()).To(BeTrue())
	g.Expect(got.IsLegacyStack()).To(BeFalse())
}

func TestTinkerbell_ArgoCD(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)

	// What Argo CD cannot do is refused only under ArgoCD: the same spec is fine with Flux.
	spec := validSpec()
	set("valuesFrom", []any{map[string]any{"kind": "Secret", "name": "values"}})(spec)
	set("chart.secretRef.name", "registry")(spec)
	set("registry.imagePullSecrets", []any{map[string]any{"name": "pull"}})(spec)
	u := newTinkerbell(ns, "flux", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())

	// Switching that object to Argo CD is refused, naming the field to remove.
	set("engine", "ArgoCD")(u.Object["spec"].(map[string]any))
	err := testEnv.Client.Update(context.Background(), u)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.valuesFrom is not supported with spec.engine ArgoCD"))
	g.Expect(err.Error()).To(ContainSubstring("spec.chart.secretRef and spec.chart.insecure are not supported"))
	g.Expect(err.Error()).To(ContainSubstring("spec.registry.imagePullSecrets is not supported"))

	// A spec Argo CD can install is accepted, and the accessors fill in the defaults.
	spec = validSpec()
	set("engine", "ArgoCD")(spec)
	set("chart.url", "oci://registry.example.com/charts/tinkerbell")(spec)
	set("crds.source.url", "https://git.example.com/tinkerbell.git")(spec)
	set("argoCD.project", "platform")(spec)
	u = newTinkerbell(ns, "argo", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())
	got := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), got)).To(Succeed())
	g.Expect(got.GetEngine()).To(Equal(kubetinkv1alpha1.EngineArgoCD))
	g.Expect(got.GetArgoCDNamespace()).To(Equal(kubetinkv1alpha1.DefaultArgoCDNamespace))
	g.Expect(got.GetArgoCDProject()).To(Equal("platform"))

	// The legacy stack chart with managed CRDs is fine under Argo CD.
	spec = map[string]any{"version": "0.6.2", "publicIP": "192.168.2.10", "engine": "ArgoCD", "argoCD": map[string]any{"namespace": "gitops"}}
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, "legacy-argo", spec))).To(Succeed())
}

func TestTinkerbell_Immutability(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	spec := validSpec()
	set("targetNamespace", "provisioning")(spec)
	u := newTinkerbell(ns, "immutable", spec)
	g.Expect(testEnv.Client.Create(context.Background(), u)).To(Succeed())

	set("targetNamespace", "elsewhere")(u.Object["spec"].(map[string]any))
	err := testEnv.Client.Update(context.Background(), u)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.targetNamespace is immutable"))

	// Removing the field re-applies the default, which is a change as well.
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), u)).To(Succeed())
	set("targetNamespace", nil)(u.Object["spec"].(map[string]any))
	err = testEnv.Client.Update(context.Background(), u)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.targetNamespace is immutable"))

	// Other fields stay editable.
	g.Expect(testEnv.Client.Get(context.Background(), client.ObjectKeyFromObject(u), u)).To(Succeed())
	set("version", "v0.24.0")(u.Object["spec"].(map[string]any))
	g.Expect(testEnv.Client.Update(context.Background(), u)).To(Succeed())
}

func TestTinkerbell_LegacyStackNeedsNoArtifactsServer(t *testing.T) {
	g := NewWithT(t)
	ns := createNamespace(t, g)
	spec := map[string]any{"version": "0.6.2", "publicIP": "192.168.2.10"}
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, "legacy", spec))).To(Succeed())
	spec = map[string]any{"version": "v0.25.0", "publicIP": "192.168.2.10", "addons": map[string]any{"hookOS": map[string]any{"enabled": false}}}
	g.Expect(testEnv.Client.Create(context.Background(), newTinkerbell(ns, "no-hook", spec))).To(Succeed())
}
