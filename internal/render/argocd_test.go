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

package render

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/values"
)

func newArgoObj(version string) *kubetinkv1alpha1.Tinkerbell {
	obj := newObj(version)
	obj.Spec.Engine = kubetinkv1alpha1.EngineArgoCD
	return obj
}

func TestRenderApplications(t *testing.T) {
	tests := []struct {
		version string
		managed bool
		want    []string
	}{
		{"v0.25.0", true, []string{"Application/ops-tb-5ba1b852-crds", "Application/ops-tb-5ba1b852"}},
		{"v0.25.0", false, []string{"Application/ops-tb-5ba1b852"}},
		{"0.6.2", true, []string{"Application/ops-tb-5ba1b852-crds-tink", "Application/ops-tb-5ba1b852-crds-rufio", "Application/ops-tb-5ba1b852-stack"}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			obj := newArgoObj(tt.version)
			obj.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: &tt.managed}
			res := mustRender(t, obj)
			if got := kinds(res.Objects); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("objects = %v, want %v", got, tt.want)
			}
			for _, u := range res.Objects {
				if u.GetAPIVersion() != ArgoCDAPIVersion || u.GetNamespace() != kubetinkv1alpha1.DefaultArgoCDNamespace {
					t.Errorf("%s: apiVersion/namespace = %s/%s", u.GetName(), u.GetAPIVersion(), u.GetNamespace())
				}
				l := u.GetLabels()
				if l[LabelName] != "tb" || l[LabelNamespace] != "ops" || l[kubetinkv1alpha1.LabelManagedBy] != kubetinkv1alpha1.ManagedBy {
					t.Errorf("%s labels = %v", u.GetName(), l)
				}
				if got := field(t, u, "spec", "project"); got != kubetinkv1alpha1.DefaultArgoCDProject {
					t.Errorf("%s project = %v", u.GetName(), got)
				}
				if got := field(t, u, "spec", "destination", "server"); got != InClusterServer {
					t.Errorf("%s destination.server = %v", u.GetName(), got)
				}
				if _, ok := u.Object["status"]; ok {
					t.Errorf("%s has a status", u.GetName())
				}
				_ = u.DeepCopy()
			}

			chart := res.Objects[len(res.Objects)-1]
			if chart.GetLabels()[LabelComponent] != ComponentRelease {
				t.Errorf("chart Application component = %q", chart.GetLabels()[LabelComponent])
			}
			legacy := strings.HasPrefix(tt.version, "0.")
			wantRelease := map[bool]string{true: "stack", false: "tinkerbell"}[legacy]
			wantURL := map[bool]string{true: "oci://ghcr.io/tinkerbell/charts/stack", false: "oci://ghcr.io/tinkerbell/charts/tinkerbell"}[legacy]
			for path, want := range map[string]any{
				"spec.source.repoURL":                wantURL,
				"spec.source.targetRevision":         tt.version,
				"spec.source.path":                   ".",
				"spec.source.helm.releaseName":       wantRelease,
				"spec.source.helm.skipCrds":          true,
				"spec.destination.namespace":         "tinkerbell",
				"spec.syncPolicy.automated.prune":    true,
				"spec.syncPolicy.automated.selfHeal": true,
				"spec.syncPolicy.retry.limit":        int64(3),
			} {
				if got := field(t, chart, strings.Split(path, ".")...); got != want {
					t.Errorf("chart Application %s = %#v, want %#v", path, got, want)
				}
			}
			if got := field(t, chart, "spec", "syncPolicy", "syncOptions"); !reflect.DeepEqual(got, []any{"CreateNamespace=true", "ServerSideApply=true"}) {
				t.Errorf("chart Application syncOptions = %v", got)
			}
			if got := chart.GetFinalizers(); !reflect.DeepEqual(got, []string{ArgoCDResourcesFinalizer}) {
				t.Errorf("chart Application finalizers = %v, want the resources finalizer (deleting it uninstalls)", got)
			}
			if got := chart.GetAnnotations()[ArgoCDSyncWaveAnnotation]; got != "0" {
				t.Errorf("chart Application sync wave = %q, want 0", got)
			}

			for _, crds := range res.Objects[:len(res.Objects)-1] {
				if crds.GetLabels()[LabelComponent] != ComponentCRDs {
					t.Errorf("%s component = %q", crds.GetName(), crds.GetLabels()[LabelComponent])
				}
				// CRDs are never deleted: no cascading finalizer, no pruning.
				if len(crds.GetFinalizers()) != 0 {
					t.Errorf("%s finalizers = %v, want none", crds.GetName(), crds.GetFinalizers())
				}
				if got := field(t, crds, "spec", "syncPolicy", "automated", "prune"); got != false {
					t.Errorf("%s automated.prune = %v, want false", crds.GetName(), got)
				}
				if got := crds.GetAnnotations()[ArgoCDSyncWaveAnnotation]; got != "-1" {
					t.Errorf("%s sync wave = %q, want -1 (before the chart)", crds.GetName(), got)
				}
				if got := field(t, crds, "spec", "syncPolicy", "syncOptions"); !reflect.DeepEqual(got, []any{"ServerSideApply=true"}) {
					t.Errorf("%s syncOptions = %v", crds.GetName(), got)
				}
				if got := field(t, crds, "spec", "source", "directory", "recurse"); got != true {
					t.Errorf("%s directory.recurse = %v", crds.GetName(), got)
				}
				if _, found, _ := unstructured.NestedString(crds.Object, "spec", "destination", "namespace"); found {
					t.Errorf("%s has a destination namespace; CRDs are cluster-scoped", crds.GetName())
				}
			}
		})
	}
}

// Both engines install the same release with the same values: switching engines finds the same objects.
func TestRenderApplicationsMatchHelmRelease(t *testing.T) {
	for _, version := range []string{"v0.25.0", "0.6.2"} {
		flux := mustRender(t, newObj(version))
		argo := mustRender(t, newArgoObj(version))
		hr, app := flux.Objects[len(flux.Objects)-1], argo.Objects[len(argo.Objects)-1]
		if !reflect.DeepEqual(field(t, hr, "spec", "values"), field(t, app, "spec", "source", "helm", "valuesObject")) {
			t.Errorf("%s: the Application's values differ from the HelmRelease's", version)
		}
		if flux.ValuesDigest != argo.ValuesDigest {
			t.Errorf("%s: values digests differ", version)
		}
		if field(t, hr, "spec", "releaseName") != field(t, app, "spec", "source", "helm", "releaseName") {
			t.Errorf("%s: release names differ", version)
		}
		if field(t, hr, "spec", "targetNamespace") != field(t, app, "spec", "destination", "namespace") {
			t.Errorf("%s: target namespaces differ", version)
		}
		if field(t, flux.Objects[0], "spec", "url") != field(t, app, "spec", "source", "repoURL") ||
			field(t, flux.Objects[0], "spec", "ref", "tag") != field(t, app, "spec", "source", "targetRevision") {
			t.Errorf("%s: chart sources differ", version)
		}
	}
}

func TestRenderApplicationOverrides(t *testing.T) {
	obj := newArgoObj("v0.25.0")
	obj.Spec.TargetNamespace = "tink"
	obj.Spec.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: "gitops", Project: "platform"}
	obj.Spec.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://mirror.local/charts/tinkerbell"}
	obj.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "ssh://git.local/tinkerbell.git", Tag: "v0.25.0-patched", Path: "./crds/all/"}}
	obj.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"deployment":{"envs":{"smee":{"dhcpMode":"auto-proxy"}}}}`)}
	res := mustRender(t, obj)
	if got := kinds(res.Objects); !reflect.DeepEqual(got, []string{"Application/ops-tb-5ba1b852-crds", "Application/ops-tb-5ba1b852"}) {
		t.Fatalf("objects = %v", got)
	}
	crds, chart := res.Objects[0], res.Objects[1]
	for _, c := range []struct {
		u    *unstructured.Unstructured
		path string
		want any
	}{
		{crds, "metadata.namespace", "gitops"},
		{crds, "spec.project", "platform"},
		{crds, "spec.source.repoURL", "ssh://git.local/tinkerbell.git"},
		{crds, "spec.source.targetRevision", "v0.25.0-patched"},
		{crds, "spec.source.path", "crds/all"},
		{chart, "metadata.namespace", "gitops"},
		{chart, "spec.project", "platform"},
		{chart, "spec.source.repoURL", "oci://mirror.local/charts/tinkerbell"},
		{chart, "spec.destination.namespace", "tink"},
		{chart, "spec.source.helm.valuesObject.deployment.envs.smee.dhcpMode", "auto-proxy"},
	} {
		if got := field(t, c.u, strings.Split(c.path, ".")...); got != c.want {
			t.Errorf("%s %s = %v, want %v", c.u.GetName(), c.path, got, c.want)
		}
	}
}

// What Argo CD cannot do is refused with the message the API's CEL rules give.
func TestRenderApplicationsRefuse(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*kubetinkv1alpha1.Tinkerbell)
		want   error
	}{
		{"valuesFrom", func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.ValuesFrom = []kubetinkv1alpha1.ValuesReference{{Kind: "Secret", Name: "v"}}
		}, errArgoCDValuesFrom},
		{"chart secretRef", func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Chart = &kubetinkv1alpha1.ChartSource{SecretRef: &meta.LocalObjectReference{Name: "s"}}
		}, errArgoCDChartAccess},
		{"chart insecure", func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Chart = &kubetinkv1alpha1.ChartSource{Insecure: true}
		}, errArgoCDChartAccess},
		{"crds secretRef", func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "https://x", SecretRef: &meta.LocalObjectReference{Name: "g"}}}
		}, errArgoCDCRDsAccess},
		{"imagePullSecrets", func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Registry = &kubetinkv1alpha1.RegistrySpec{ImagePullSecrets: []meta.LocalObjectReference{{Name: "p"}}}
		}, errArgoCDPullSecrets},
		{"legacy unmanaged CRDs", func(o *kubetinkv1alpha1.Tinkerbell) {
			o.Spec.Version = "0.6.2"
			o.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: new(false)}
		}, errArgoCDLegacyCRDs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := newArgoObj("v0.25.0")
			tt.mutate(obj)
			if _, err := Render(obj, goldenFacts); !errors.Is(err, tt.want) {
				t.Fatalf("Render error = %v, want %v", err, tt.want)
			}
			// Flux does all of it.
			obj.Spec.Engine = kubetinkv1alpha1.EngineFlux
			mustRender(t, obj)
		})
	}
}

// Applications of Tinkerbells with long names in long namespaces get short, distinct, valid names.
func TestRenderApplicationLongNames(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range []string{strings.Repeat("a", 63), strings.Repeat("a", 62) + "b"} {
		obj := newArgoObj("0.6.2")
		obj.Name = name
		obj.Namespace = strings.Repeat("n", 63)
		for _, u := range mustRender(t, obj).Objects {
			if errs := validation.IsDNS1123Label(u.GetName()); len(errs) > 0 {
				t.Errorf("%s: %v", u.GetName(), errs)
			}
			if seen[u.GetName()] {
				t.Errorf("name %s is used twice", u.GetName())
			}
			seen[u.GetName()] = true
		}
	}
}

// TestRenderApplicationsPinnedNamespace: the namespace the cluster admin pinned (values.Facts.ArgoCDNamespace)
// holds every Application, whether spec.argoCD.namespace is unset or names it too.
func TestRenderApplicationsPinnedNamespace(t *testing.T) {
	for _, specNS := range []string{"", "gitops"} {
		obj := newArgoObj("v0.25.0")
		if specNS != "" {
			obj.Spec.ArgoCD = &kubetinkv1alpha1.ArgoCDSpec{Namespace: specNS}
		}
		res, err := Render(obj, values.Facts{ArgoCDNamespace: "gitops"})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.Objects {
			if u.GetNamespace() != "gitops" {
				t.Errorf("spec.argoCD.namespace %q: %s is in namespace %q, want gitops", specNS, u.GetName(), u.GetNamespace())
			}
		}
	}
}

// The Applications of every Tinkerbell share one namespace: Tinkerbells a-b/c and a/b-c, whose namespace and
// name joined by a hyphen read the same, still get Applications of their own.
func TestRenderApplicationNamesAcrossNamespaces(t *testing.T) {
	seen := map[string]string{}
	for _, nn := range [][2]string{{"a-b", "c"}, {"a", "b-c"}, {"a-b-c", "x"}, {"a-b", "c-x"}} {
		for _, version := range []string{"v0.25.0", "0.6.2"} {
			obj := newArgoObj(version)
			obj.Namespace, obj.Name = nn[0], nn[1]
			for _, u := range mustRender(t, obj).Objects {
				owner := nn[0] + "/" + nn[1]
				if other, ok := seen[u.GetName()]; ok && other != owner {
					t.Errorf("Application %s is rendered for both %s and %s", u.GetName(), other, owner)
				}
				seen[u.GetName()] = owner
			}
		}
	}
}

// FormerApplicationNames maps every Application Render produces to the name earlier Kubetink versions gave it.
func TestFormerApplicationNames(t *testing.T) {
	for _, version := range []string{"v0.25.0", "0.6.2"} {
		obj := newArgoObj(version)
		res := mustRender(t, obj)
		former := FormerApplicationNames(obj, res.Release)
		got := make([]string, 0, len(res.Objects))
		for _, u := range res.Objects {
			f, ok := former[u.GetName()]
			if !ok {
				t.Fatalf("%s: no former name for %s", version, u.GetName())
			}
			got = append(got, f)
		}
		want := map[string][]string{
			"v0.25.0": {"ops-tb-crds", "ops-tb"},
			"0.6.2":   {"ops-tb-crds-tink", "ops-tb-crds-rufio", "ops-tb-stack"},
		}[version]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: former names = %v, want %v", version, got, want)
		}
	}
}
