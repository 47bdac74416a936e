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

package policy

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

func TestUnder(t *testing.T) {
	const charts = "oci://registry.example.com/charts"
	for _, tc := range []struct {
		url, prefix string
		want        bool
	}{
		{"oci://registry.example.com/charts", charts, true},
		{"oci://registry.example.com/charts/tinkerbell", charts, true},
		{"oci://registry.example.com/charts/tinkerbell", charts + "/", true},
		{"oci://REGISTRY.example.com/charts/tinkerbell", charts, true},
		{"oci://registry.example.com/charts/tinkerbell", "OCI://registry.example.com/charts", true},
		{"oci://registry.example.com/anything", "oci://registry.example.com", true},
		{"oci://registry.example.com/anything", "oci://registry.example.com/", true},
		{"ssh://git@git.example.com/mirrors/tinkerbell.git", "ssh://git.example.com/mirrors", true},
		// Lookalikes: another host, a longer path segment, another scheme, another port.
		{"oci://registry.example.com.evil.io/charts/tinkerbell", charts, false},
		{"oci://registry.example.comevil.io/charts", charts, false},
		{"oci://evil.io/registry.example.com/charts", charts, false},
		{"oci://registry.example.com@evil.io/charts/tinkerbell", charts, false},
		{"oci://registry.example.com:5000/charts/tinkerbell", charts, false},
		{"oci://registry.example.com/charts-evil/tinkerbell", charts, false},
		{"oci://registry.example.com/chartsevil", charts, false},
		{"oci://registry.example.com/Charts/tinkerbell", charts, false},
		{"https://registry.example.com/charts/tinkerbell", charts, false},
		{"oci://registry.example.com", charts, false},
		// Spellings that could reach another path: they match nothing.
		{"oci://registry.example.com/charts/../evil/tinkerbell", charts, false},
		{"oci://registry.example.com/charts/./tinkerbell", charts, false},
		{"oci://registry.example.com/charts//tinkerbell", charts, false},
		{"oci://registry.example.com/charts%2F..%2Fevil", charts, false},
		{"oci://registry.example.com/charts/tinkerbell?x=1", charts, false},
		{"oci://registry.example.com/charts/tinkerbell#x", charts, false},
		{`oci://registry.example.com\@evil.io/charts`, charts, false},
		{"registry.example.com/charts/tinkerbell", charts, false},
		{"", charts, false},
		// A malformed prefix allows nothing.
		{"oci://registry.example.com/charts", "registry.example.com/charts", false},
		{"oci://registry.example.com/charts", "", false},
	} {
		if got := Under(tc.url, tc.prefix); got != tc.want {
			t.Errorf("Under(%q, %q) = %v, want %v", tc.url, tc.prefix, got, tc.want)
		}
	}
}

func TestMatchNamespace(t *testing.T) {
	for _, tc := range []struct {
		pattern, ns string
		want        bool
	}{
		{"tinkerbell", "tinkerbell", true},
		{"tinkerbell", "tinkerbell-a", false},
		{"tinkerbell-*", "tinkerbell-a", true},
		{"tinkerbell-*", "tinkerbell-site-2", true},
		{"tinkerbell-*", "tinkerbell", false},
		{"tinkerbell-*", "a-tinkerbell-b", false},
		{"*", "anything", true},
	} {
		if got := MatchNamespace(tc.pattern, tc.ns); got != tc.want {
			t.Errorf("MatchNamespace(%q, %q) = %v, want %v", tc.pattern, tc.ns, got, tc.want)
		}
	}
}

// tinkerbell returns a Flux Tinkerbell at v0.25.0 in namespace tinkerbell-a, changed by mutate.
func tinkerbell(mutate func(*kubetinkv1alpha1.TinkerbellSpec)) *kubetinkv1alpha1.Tinkerbell {
	obj := &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "tb"},
		Spec:       kubetinkv1alpha1.TinkerbellSpec{Version: "v0.25.0", TargetNamespace: "tinkerbell-a"},
	}
	if mutate != nil {
		mutate(&obj.Spec)
	}
	return obj
}

func TestCheck(t *testing.T) {
	locked := Settings{
		ChartURLPrefixes:  []string{"oci://registry.example.com/charts"},
		CRDSourcePrefixes: []string{"https://git.example.com/mirrors"},
		TargetNamespaces:  []string{"tinkerbell-*", "lab"},
		ArgoCDNamespace:   "argocd-apps",
		ArgoCDProjects:    []string{"tinkerbell"},
	}
	mirrored := func(s *kubetinkv1alpha1.TinkerbellSpec) {
		s.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://registry.example.com/charts/tinkerbell"}
		s.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "https://git.example.com/mirrors/tinkerbell.git"}}
	}
	argo := func(ns, project string) func(*kubetinkv1alpha1.TinkerbellSpec) {
		return func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.Engine = kubetinkv1alpha1.EngineArgoCD
			s.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: ns, Project: project}
		}
	}
	for _, tc := range []struct {
		name     string
		settings Settings
		obj      *kubetinkv1alpha1.Tinkerbell
		reason   string // "" for no violation
		message  string // a part of the message
	}{
		{name: "no settings allow everything", obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			s.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://anywhere.example/x"}
			s.Engine = kubetinkv1alpha1.EngineArgoCD
			s.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: "anything", Project: "any"}
		})},
		{name: "kube- target namespace is refused without settings", obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			s.TargetNamespace = "kube-system"
		}), reason: kubetinkv1alpha1.TargetNamespaceNotAllowedReason, message: `spec.targetNamespace "kube-system" is not allowed: the kube- namespaces belong to the cluster`},
		{name: "kube- target namespace is refused even when a pattern matches it", settings: Settings{TargetNamespaces: []string{"*"}},
			obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) { s.TargetNamespace = "kube-public" }), reason: kubetinkv1alpha1.TargetNamespaceNotAllowedReason},
		{name: "kube- Argo CD namespace is refused without settings", obj: tinkerbell(argo("kube-system", "")),
			reason: kubetinkv1alpha1.ArgoCDNamespaceNotAllowedReason, message: "the kube- namespaces belong to the cluster"},
		{name: "allowed Flux spec", settings: locked, obj: tinkerbell(mirrored)},
		{name: "allowed Argo CD spec", settings: locked, obj: tinkerbell(argo("argocd-apps", "tinkerbell"))},
		{name: "Argo CD spec without a namespace takes the pinned one", settings: locked, obj: tinkerbell(argo("", "tinkerbell"))},
		{name: "target namespace outside the patterns", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.TargetNamespace = "tinkerbell"
		}), reason: kubetinkv1alpha1.TargetNamespaceNotAllowedReason,
			message: `spec.targetNamespace "tinkerbell" is not allowed by the cluster admin's allowed-target-namespaces: use one matching tinkerbell-*, lab`},
		{name: "the default target namespace is checked", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.TargetNamespace = ""
		}), reason: kubetinkv1alpha1.TargetNamespaceNotAllowedReason, message: `spec.targetNamespace "tinkerbell"`},
		{name: "a scope the admin allows", settings: Settings{Scopes: []kubetinkv1alpha1.Scope{kubetinkv1alpha1.ScopeNamespace}},
			obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Scope = kubetinkv1alpha1.ScopeNamespace })},
		{name: "a scope the admin does not allow", settings: Settings{Scopes: []kubetinkv1alpha1.Scope{kubetinkv1alpha1.ScopeNamespace}},
			obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Scope = kubetinkv1alpha1.ScopeCluster }), reason: kubetinkv1alpha1.ScopeNotAllowedReason,
			message: `spec.scope "Cluster" is not allowed by the cluster admin's allowed-scopes: set spec.scope to Namespace`},
		{name: "the unified chart's default scope is checked", settings: Settings{Scopes: []kubetinkv1alpha1.Scope{kubetinkv1alpha1.ScopeNamespace}},
			obj: tinkerbell(nil), reason: kubetinkv1alpha1.ScopeNotAllowedReason,
			message: `the chart's default scope, "Cluster", is not allowed by the cluster admin's allowed-scopes: set spec.scope to Namespace`},
		{name: "the legacy chart's default scope is Namespace", settings: Settings{Scopes: []kubetinkv1alpha1.Scope{kubetinkv1alpha1.ScopeNamespace}},
			obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Version = "0.6.2" })},
		{name: "chart URL on a lookalike host", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.Chart.URL = "oci://registry.example.com.evil.io/charts/tinkerbell"
		}), reason: kubetinkv1alpha1.ChartURLNotAllowedReason,
			message: `spec.chart.url "oci://registry.example.com.evil.io/charts/tinkerbell" is not allowed by the cluster admin's allowed-chart-url-prefixes: use one under oci://registry.example.com/charts`},
		{name: "chart URL on a lookalike path", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.Chart.URL = "oci://registry.example.com/charts-evil/tinkerbell"
		}), reason: kubetinkv1alpha1.ChartURLNotAllowedReason},
		{name: "the default chart URL is checked", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.Chart = nil
		}), reason: kubetinkv1alpha1.ChartURLNotAllowedReason,
			message: `the chart URL of v0.25.0, "` + catalog.UnifiedChartURL + `", is not allowed by the cluster admin's allowed-chart-url-prefixes: set spec.chart.url to one under oci://registry.example.com/charts`},
		{name: "the legacy chart's default URL is checked", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.Version = "0.6.2"
			s.Chart = nil
		}), reason: kubetinkv1alpha1.ChartURLNotAllowedReason, message: catalog.StackChartURL},
		{name: "an unknown version has no default to check", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			s.Version = "v9.9.9"
		})},
		{name: "CRD source on a lookalike host", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.CRDs.Source.URL = "https://git.example.com.evil.io/mirrors/tinkerbell.git"
		}), reason: kubetinkv1alpha1.CRDSourceNotAllowedReason,
			message: `spec.crds.source.url "https://git.example.com.evil.io/mirrors/tinkerbell.git" is not allowed by the cluster admin's allowed-crd-source-prefixes: use one under https://git.example.com/mirrors`},
		{name: "the default CRD source is checked", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.CRDs = nil
		}), reason: kubetinkv1alpha1.CRDSourceNotAllowedReason,
			message: `the CRD source of v0.25.0, "` + catalog.TinkerbellRepoURL + `", is not allowed by the cluster admin's allowed-crd-source-prefixes: set spec.crds.source.url to one under https://git.example.com/mirrors`},
		{name: "the default CRD source is not used when the CRDs are not managed", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: new(false)}
		})},
		{name: "an explicit CRD source is checked when the CRDs are not managed", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.CRDs.Managed = new(false)
			s.CRDs.Source.URL = "https://github.com/evil/tinkerbell"
		}), reason: kubetinkv1alpha1.CRDSourceNotAllowedReason},
		{name: "Argo CD namespace other than the pinned one", settings: locked, obj: tinkerbell(argo("argocd", "tinkerbell")),
			reason:  kubetinkv1alpha1.ArgoCDNamespaceNotAllowedReason,
			message: `spec.argoCD.namespace "argocd" is not allowed by the cluster admin's argocd-namespace: remove it, or set it to argocd-apps`},
		{name: "an explicit Argo CD namespace is checked on a Flux Tinkerbell", settings: locked, obj: tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) {
			mirrored(s)
			s.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: "argocd"}
		}), reason: kubetinkv1alpha1.ArgoCDNamespaceNotAllowedReason},
		{name: "Argo CD project not allowed", settings: locked, obj: tinkerbell(argo("", "default")),
			reason:  kubetinkv1alpha1.ArgoCDProjectNotAllowedReason,
			message: `spec.argoCD.project "default" is not allowed by the cluster admin's argocd-allowed-projects: use one of tinkerbell`},
		{name: "the default Argo CD project is checked", settings: locked, obj: tinkerbell(argo("", "")),
			reason:  kubetinkv1alpha1.ArgoCDProjectNotAllowedReason,
			message: `the default Argo CD project "default" is not allowed by the cluster admin's argocd-allowed-projects: set spec.argoCD.project to one of tinkerbell`},
		{name: "the default Argo CD project is not used by Flux", settings: locked, obj: tinkerbell(mirrored)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.settings.Check(tc.obj)
			switch {
			case tc.reason == "" && v != nil:
				t.Fatalf("Check() = %s: %s, want no violation", v.Reason, v.Message)
			case tc.reason == "":
				return
			case v == nil:
				t.Fatalf("Check() = nil, want %s", tc.reason)
			case v.Reason != tc.reason:
				t.Fatalf("Check() = %s: %s, want %s", v.Reason, v.Message, tc.reason)
			case !strings.Contains(v.Message, tc.message):
				t.Fatalf("Check() message %q, want it to contain %q", v.Message, tc.message)
			}
		})
	}
}

func TestArgoCDNamespaceFor(t *testing.T) {
	unset := tinkerbell(nil)
	set := tinkerbell(func(s *kubetinkv1alpha1.TinkerbellSpec) { s.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: "gitops"} })
	for _, tc := range []struct {
		settings Settings
		obj      *kubetinkv1alpha1.Tinkerbell
		want     string
	}{
		{Settings{}, unset, kubetinkv1alpha1.DefaultArgoCDNamespace},
		{Settings{}, set, "gitops"},
		{Settings{ArgoCDNamespace: "argocd-apps"}, unset, "argocd-apps"},
		{Settings{ArgoCDNamespace: "gitops"}, set, "gitops"},
	} {
		if got := tc.settings.ArgoCDNamespaceFor(tc.obj); got != tc.want {
			t.Errorf("%+v.ArgoCDNamespaceFor(%+v) = %q, want %q", tc.settings, tc.obj.Spec.ArgoCD, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Settings{
		ChartURLPrefixes:  []string{"oci://registry.example.com/charts", "oci://registry.example.com:5000"},
		CRDSourcePrefixes: []string{"https://git.example.com/mirrors/", "ssh://git@git.example.com/mirrors"},
		TargetNamespaces:  []string{"tinkerbell", "tinkerbell-*", "*"},
		ArgoCDNamespace:   "argocd",
		ArgoCDProjects:    []string{"default", "tinkerbell"},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	for _, tc := range []struct {
		settings Settings
		want     string
	}{
		{Settings{ChartURLPrefixes: []string{"registry.example.com/charts"}}, "allowed-chart-url-prefixes"},
		{Settings{ChartURLPrefixes: []string{"oci://registry.example.com/charts/../x"}}, "allowed-chart-url-prefixes"},
		{Settings{CRDSourcePrefixes: []string{"https://git.example.com/x?y"}}, "allowed-crd-source-prefixes"},
		{Settings{TargetNamespaces: []string{"tinkerbell-*-a"}}, "allowed-target-namespaces"},
		{Settings{TargetNamespaces: []string{"*-a"}}, "allowed-target-namespaces"},
		{Settings{Scopes: []kubetinkv1alpha1.Scope{"cluster"}}, "allowed-scopes"},
		{Settings{TargetNamespaces: []string{"Tinkerbell"}}, "allowed-target-namespaces"},
		{Settings{ArgoCDNamespace: "argocd-*"}, "argocd-namespace"},
		{Settings{ArgoCDProjects: []string{"Default"}}, "argocd-allowed-projects"},
	} {
		err := tc.settings.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
			t.Errorf("%+v.Validate() = %v, want an error about %s", tc.settings, err, tc.want)
		}
	}
}
