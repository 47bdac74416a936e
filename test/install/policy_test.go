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

package install

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/policy"
)

// config/policy's kubetink-tinkerbell-policy refuses, with the manager's own message, each Tinkerbell field
// that breaks the lists of the kubetink-policy ConfigMap; without the ConfigMap it allows everything, and an
// update that leaves the fields as they were is allowed even when they break the policy.
func TestPolicy_TinkerbellAdmission(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns := restrictedNamespace(t)
	settings := policy.Settings{
		ChartURLPrefixes:  []string{"oci://registry.example.com/charts", "oci://mirror.example.com:5000"},
		CRDSourcePrefixes: []string{"https://git.example.com/mirrors/"},
		TargetNamespaces:  []string{"tinkerbell-*", "lab"},
		Scopes:            []kubetinkv1alpha1.Scope{kubetinkv1alpha1.ScopeNamespace},
		ArgoCDNamespace:   "gitops",
		ArgoCDProjects:    []string{"tinkerbell", "lab"},
	}
	// Allowed by settings; each case breaks one rule.
	tinkerbell := func(name string, mutate ...func(*kubetinkv1alpha1.TinkerbellSpec)) *kubetinkv1alpha1.Tinkerbell {
		tb := &kubetinkv1alpha1.Tinkerbell{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: kubetinkv1alpha1.TinkerbellSpec{
				Version: "v0.25.0", TargetNamespace: "tinkerbell-a", Scope: kubetinkv1alpha1.ScopeNamespace,
				ArtifactsFileServer: "http://192.168.2.11:7173",
				Chart:               &kubetinkv1alpha1.ChartSource{URL: "oci://registry.example.com/charts/tinkerbell"},
				CRDs:                &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "https://git.example.com/mirrors/tinkerbell.git"}},
			},
		}
		for _, m := range mutate {
			m(&tb.Spec)
		}
		return tb
	}
	onArgoCD := func(namespace, project string) func(*kubetinkv1alpha1.TinkerbellSpec) {
		return func(s *kubetinkv1alpha1.TinkerbellSpec) {
			s.Engine = kubetinkv1alpha1.EngineArgoCD
			s.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: namespace, Project: project}
		}
	}
	chartURL := func(u string) func(*kubetinkv1alpha1.TinkerbellSpec) {
		return func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Chart.URL = u }
	}
	crdURL := func(u string) func(*kubetinkv1alpha1.TinkerbellSpec) {
		return func(s *kubetinkv1alpha1.TinkerbellSpec) { s.CRDs.Source.URL = u }
	}
	refused := []*kubetinkv1alpha1.Tinkerbell{
		tinkerbell("lookalike-host", chartURL("oci://registry.example.com.evil.io/charts/tinkerbell")),
		tinkerbell("lookalike-path", chartURL("oci://registry.example.com/charts-evil/tinkerbell")),
		tinkerbell("dot-segments", chartURL("oci://registry.example.com/charts/../evil/tinkerbell")),
		tinkerbell("other-port", chartURL("oci://mirror.example.com:5001/tinkerbell")),
		tinkerbell("crd-source", crdURL("https://github.com/tinkerbell/tinkerbell")),
		tinkerbell("crd-lookalike", crdURL("https://git.example.com/mirrors-evil/tinkerbell.git")),
		tinkerbell("target-namespace", func(s *kubetinkv1alpha1.TinkerbellSpec) { s.TargetNamespace = "tinkerbell" }),
		tinkerbell("scope", func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Scope = kubetinkv1alpha1.ScopeCluster }),
		tinkerbell("default-scope", func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Scope = "" }),
		tinkerbell("argocd-namespace", onArgoCD("argocd", "tinkerbell")),
		tinkerbell("argocd-project", onArgoCD("", "default")),
	}
	allowed := []*kubetinkv1alpha1.Tinkerbell{
		tinkerbell("allowed"),
		tinkerbell("allowed-case", chartURL("oci://REGISTRY.example.com/charts/tinkerbell"),
			func(s *kubetinkv1alpha1.TinkerbellSpec) { s.TargetNamespace = "lab" }),
		tinkerbell("allowed-port", chartURL("oci://mirror.example.com:5000/tinkerbell")),
		tinkerbell("allowed-argocd", onArgoCD("gitops", "lab")),
		tinkerbell("allowed-argocd-default", onArgoCD("", "tinkerbell")),
	}
	// Unset fields are the manager's to check: their defaults (the release's chart URL) are not in the object.
	defaults := tinkerbell("defaults", func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Chart, s.CRDs = nil, nil })

	// With the ConfigMap as the install ships it, empty, everything is allowed. One Tinkerbell breaking every rule is
	// stored for later.
	everything := tinkerbell("everything", chartURL("oci://evil.io/x"), crdURL("https://evil.io/x"), onArgoCD("argocd", "default"),
		func(s *kubetinkv1alpha1.TinkerbellSpec) { s.TargetNamespace, s.Scope = "elsewhere", "" })
	g.Expect(k8sClient.Create(t.Context(), everything)).To(Succeed())
	for _, tb := range refused {
		g.Expect(k8sClient.Create(t.Context(), tb.DeepCopy(), client.DryRunAll)).To(Succeed(), tb.Name)
	}

	// The ConfigMap holds the lists under the flags' names, with the spacing a person may type.
	cm := setPolicy(t, map[string]string{
		policy.KeyChartURLPrefixes:  strings.Join(settings.ChartURLPrefixes, ", "),
		policy.KeyCRDSourcePrefixes: strings.Join(settings.CRDSourcePrefixes, ","),
		policy.KeyTargetNamespaces:  " " + strings.Join(settings.TargetNamespaces, " , ") + " ,",
		policy.KeyScopes:            scopes(settings.Scopes),
		policy.KeyArgoCDNamespace:   settings.ArgoCDNamespace,
		policy.KeyArgoCDProjects:    strings.Join(settings.ArgoCDProjects, ","),
	})

	for _, tb := range refused {
		v := settings.Check(tb)
		g.Expect(v).NotTo(BeNil(), "%s breaks the policy", tb.Name)
		// The policy sees a new ConfigMap a moment after it is created.
		g.Eventually(func() error {
			return k8sClient.Create(t.Context(), tb.DeepCopy(), client.DryRunAll)
		}, timeout, interval).Should(MatchError(ContainSubstring(v.Message)), tb.Name)
	}
	for _, tb := range allowed {
		g.Expect(settings.Check(tb)).To(BeNil(), "%s is allowed by the manager", tb.Name)
		g.Expect(k8sClient.Create(t.Context(), tb.DeepCopy(), client.DryRunAll)).To(Succeed(), tb.Name)
	}
	g.Expect(settings.Check(defaults)).To(HaveField("Reason", kubetinkv1alpha1.ChartURLNotAllowedReason))
	g.Expect(k8sClient.Create(t.Context(), defaults, client.DryRunAll)).To(Succeed())

	// An update that leaves the checked fields alone passes (a finalizer, a label); one that sets a field is checked.
	stored := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(k8sClient.Get(t.Context(), client.ObjectKeyFromObject(everything), stored)).To(Succeed())
	stored.Labels = map[string]string{"team": "a"}
	stored.Finalizers = []string{kubetinkv1alpha1.Finalizer}
	g.Expect(k8sClient.Update(t.Context(), stored)).To(Succeed())
	stored.Spec.Chart.URL = "oci://evil.io/y"
	g.Expect(k8sClient.Update(t.Context(), stored, client.DryRunAll)).To(MatchError(ContainSubstring(`spec.chart.url "oci://evil.io/y" is not allowed`)))
	stored.Spec.Chart.URL = "oci://registry.example.com/charts/tinkerbell"
	g.Expect(k8sClient.Update(t.Context(), stored, client.DryRunAll)).To(Succeed(),
		"the fields that break the policy did not change: the manager, not admission, refuses them")
	stored.Spec.ArgoCD.Project = "other"
	g.Expect(k8sClient.Update(t.Context(), stored, client.DryRunAll)).To(MatchError(ContainSubstring(`spec.argoCD.project "other" is not allowed`)))
	stored.Spec.ArgoCD.Project = "default"
	stored.Spec.Chart.URL = "oci://evil.io/x"
	stored.Finalizers = nil
	g.Expect(k8sClient.Update(t.Context(), stored)).To(Succeed(), "removing the finalizer is never refused")

	// Without the ConfigMap again, everything is allowed.
	g.Expect(k8sClient.Delete(t.Context(), cm)).To(Succeed())
	g.Eventually(func() error {
		return k8sClient.Create(t.Context(), refused[0].DeepCopy(), client.DryRunAll)
	}, timeout, interval).Should(Succeed())
	for _, tb := range refused {
		g.Expect(k8sClient.Create(t.Context(), tb.DeepCopy(), client.DryRunAll)).To(Succeed(), tb.Name)
	}
}

// setPolicy writes the kubetink-policy ConfigMap's data, as a cluster admin patches the one the install ships,
// and restores what the install ships at cleanup. The returned ConfigMap is the one written.
func setPolicy(t *testing.T, data map[string]string) *corev1.ConfigMap {
	t.Helper()
	g := NewWithT(t)
	key := client.ObjectKey{Namespace: systemNamespace, Name: "kubetink-policy"}
	shipped := find(defaultObjects(t), "ConfigMap", key.Name)
	g.Expect(shipped).NotTo(BeNil(), "config/default ships the ConfigMap kubetink-policy")
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(t.Context(), key, cm)).To(Succeed())
	cm.Data = data
	g.Expect(k8sClient.Update(t.Context(), cm)).To(Succeed())
	shippedData, _, err := unstructured.NestedStringMap(shipped.Object, "data")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		restored := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
			Labels: shipped.GetLabels()}, Data: shippedData}
		_ = k8sClient.Delete(ctxBackground, restored)
		_ = k8sClient.Create(ctxBackground, restored)
	})
	return cm
}
