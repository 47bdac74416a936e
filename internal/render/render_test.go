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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

func newObj(version string) *kubetinkv1alpha1.Tinkerbell {
	return &kubetinkv1alpha1.Tinkerbell{
		TypeMeta:   metav1.TypeMeta{APIVersion: kubetinkv1alpha1.GroupVersion.String(), Kind: kubetinkv1alpha1.TinkerbellKind},
		ObjectMeta: metav1.ObjectMeta{Name: "tb", Namespace: "ops"},
		Spec: kubetinkv1alpha1.TinkerbellSpec{
			Version:             version,
			PublicIP:            "192.168.2.111",
			ArtifactsFileServer: "http://192.168.2.112:7173",
		},
	}
}

func mustRender(t *testing.T, obj *kubetinkv1alpha1.Tinkerbell) *Result {
	t.Helper()
	res, err := Render(obj, goldenFacts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return res
}

// kinds lists kind/name of each object, in order.
func kinds(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, u := range objs {
		out = append(out, u.GetKind()+"/"+u.GetName())
	}
	return out
}

func field(t *testing.T, u *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, found, err := unstructured.NestedFieldNoCopy(u.Object, path...)
	if err != nil || !found {
		t.Fatalf("%s %s: %s not found (%v)", u.GetKind(), u.GetName(), strings.Join(path, "."), err)
	}
	return v
}

func TestRenderObjects(t *testing.T) {
	tests := []struct {
		version string
		managed bool
		want    []string
	}{
		{"v0.25.0", true, []string{"OCIRepository/tb-chart", "GitRepository/tb-crds", "Kustomization/tb-crds", "HelmRelease/tb"}},
		{"v0.25.0", false, []string{"OCIRepository/tb-chart", "HelmRelease/tb"}},
		{"0.6.2", true, []string{"OCIRepository/tb-stack-chart", "GitRepository/tb-crds", "Kustomization/tb-crds-tink", "Kustomization/tb-crds-rufio", "HelmRelease/tb-stack"}},
		{"0.6.2", false, []string{"OCIRepository/tb-stack-chart", "HelmRelease/tb-stack"}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			obj := newObj(tt.version)
			obj.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Managed: &tt.managed}
			res := mustRender(t, obj)
			if got := kinds(res.Objects); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("objects = %v, want %v", got, tt.want)
			}
			hr := res.Objects[len(res.Objects)-1]
			legacy := strings.HasPrefix(tt.version, "0.")
			wantInstallCRDs := "Skip"
			if legacy && !tt.managed {
				wantInstallCRDs = "Create"
			}
			if got := field(t, hr, "spec", "install", "crds"); got != wantInstallCRDs {
				t.Errorf("install.crds = %v, want %s", got, wantInstallCRDs)
			}
			if got := field(t, hr, "spec", "upgrade", "crds"); got != "Skip" {
				t.Errorf("upgrade.crds = %v, want Skip", got)
			}
			if !legacy {
				if got := field(t, hr, "spec", "values", "deployment", "envs", "globals", "enableCRDMigrations"); got != !tt.managed {
					t.Errorf("enableCRDMigrations = %v, want %v", got, !tt.managed)
				}
			}
			wantRelease := map[bool]string{true: "stack", false: "tinkerbell"}[legacy]
			if got := field(t, hr, "spec", "releaseName"); got != wantRelease {
				t.Errorf("releaseName = %v, want %s", got, wantRelease)
			}
			for _, u := range res.Objects {
				if u.GetNamespace() != "ops" {
					t.Errorf("%s is in namespace %q, want the Tinkerbell's", u.GetName(), u.GetNamespace())
				}
				if u.GetAPIVersion() == "" || u.GetKind() == "" {
					t.Errorf("%s has no apiVersion/kind", u.GetName())
				}
				if _, ok := u.Object["status"]; ok {
					t.Errorf("%s has a status", u.GetName())
				}
				if _, ok := u.Object["metadata"].(map[string]any)["creationTimestamp"]; ok {
					t.Errorf("%s has a creationTimestamp", u.GetName())
				}
				l := u.GetLabels()
				if l[LabelName] != "tb" || l[LabelNamespace] != "ops" || l[kubetinkv1alpha1.LabelManagedBy] != kubetinkv1alpha1.ManagedBy {
					t.Errorf("%s labels = %v", u.GetName(), l)
				}
				wantComponent := map[string]string{"OCIRepository": ComponentChart, "GitRepository": ComponentCRDs, "Kustomization": ComponentCRDs, "HelmRelease": ComponentRelease}[u.GetKind()]
				if l[LabelComponent] != wantComponent {
					t.Errorf("%s component = %q, want %q", u.GetName(), l[LabelComponent], wantComponent)
				}
				// The objects must survive the deep copies the controller makes.
				_ = u.DeepCopy()
			}
		})
	}
}

func TestRenderCRDKustomizations(t *testing.T) {
	res := mustRender(t, newObj("v0.23.0"))
	k := res.Objects[2]
	if got := field(t, k, "spec", "prune"); got != false {
		t.Errorf("prune = %v, want false", got)
	}
	if got := field(t, k, "spec", "deletionPolicy"); got != "Orphan" {
		t.Errorf("deletionPolicy = %v, want Orphan", got)
	}
	if got := field(t, k, "spec", "wait"); got != true {
		t.Errorf("wait = %v, want true", got)
	}
	if got := field(t, k, "spec", "path"); got != "./crd/bases" {
		t.Errorf("path = %v, want ./crd/bases up to v0.23", got)
	}
	if got := field(t, k, "spec", "sourceRef", "name"); got != "tb-crds" {
		t.Errorf("sourceRef.name = %v", got)
	}
	git := res.Objects[1]
	if got := field(t, git, "spec", "ref", "tag"); got != "v0.23.0" {
		t.Errorf("git tag = %v", got)
	}
	if got := field(t, mustRender(t, newObj("v0.24.0")).Objects[2], "spec", "path"); got != "./crd/bases/v1alpha1" {
		t.Errorf("path = %v, want ./crd/bases/v1alpha1 from v0.24", got)
	}
}

func TestRenderSourceOverrides(t *testing.T) {
	obj := newObj("0.6.2")
	obj.Spec.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://mirror.local/charts/stack", Insecure: true, SecretRef: &meta.LocalObjectReference{Name: "oci-creds"}}
	obj.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{
		URL: "ssh://git.local/charts.git", Tag: "v0.6.2-patched", Path: "./crds/all/", SecretRef: &meta.LocalObjectReference{Name: "git-creds"},
	}}
	res := mustRender(t, obj)
	if got := kinds(res.Objects); !reflect.DeepEqual(got, []string{"OCIRepository/tb-stack-chart", "GitRepository/tb-crds", "Kustomization/tb-crds", "HelmRelease/tb-stack"}) {
		t.Fatalf("a path override must give one Kustomization: %v", got)
	}
	oci, git, k := res.Objects[0], res.Objects[1], res.Objects[2]
	for _, c := range []struct {
		u    *unstructured.Unstructured
		path []string
		want any
	}{
		{oci, []string{"spec", "url"}, "oci://mirror.local/charts/stack"},
		{oci, []string{"spec", "insecure"}, true},
		{oci, []string{"spec", "secretRef", "name"}, "oci-creds"},
		{oci, []string{"spec", "ref", "tag"}, "0.6.2"},
		{oci, []string{"spec", "layerSelector", "mediaType"}, HelmChartMediaType},
		{oci, []string{"spec", "layerSelector", "operation"}, "copy"},
		{git, []string{"spec", "url"}, "ssh://git.local/charts.git"},
		{git, []string{"spec", "ref", "tag"}, "v0.6.2-patched"},
		{git, []string{"spec", "secretRef", "name"}, "git-creds"},
		{git, []string{"spec", "ignore"}, "# Kubetink: keep only the CRD manifests.\n/*\n!/crds/\n/crds/*\n!/crds/all/\n"},
		{k, []string{"spec", "path"}, "./crds/all"},
	} {
		if got := field(t, c.u, c.path...); got != c.want {
			t.Errorf("%s %s = %v, want %v", c.u.GetKind(), strings.Join(c.path, "."), got, c.want)
		}
	}
}

func TestRenderHelmRelease(t *testing.T) {
	obj := newObj("v0.25.0")
	obj.Spec.TargetNamespace = "tink"
	obj.Spec.ValuesFrom = []kubetinkv1alpha1.ValuesReference{
		{Kind: "Secret", Name: "b", TargetPath: "deployment.envs.smee.isoUpstreamURL"},
		{Kind: "ConfigMap", Name: "a", ValuesKey: "extra.yaml", Optional: true},
	}
	obj.Spec.Registry = &kubetinkv1alpha1.RegistrySpec{ImagePullSecrets: []meta.LocalObjectReference{{Name: "pull-1"}, {Name: "pull-2"}}}
	obj.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"deployment":{"envs":{"smee":{"dhcpMode":"auto-proxy"}}}}`)}
	res := mustRender(t, obj)
	hr := res.Objects[len(res.Objects)-1]

	want := map[string]any{
		"spec.chartRef.kind":                            "OCIRepository",
		"spec.chartRef.name":                            "tb-chart",
		"spec.targetNamespace":                          "tink",
		"spec.storageNamespace":                         "tink",
		"spec.install.createNamespace":                  true,
		"spec.install.remediation.retries":              int64(3),
		"spec.upgrade.remediation.retries":              int64(3),
		"spec.upgrade.remediation.remediateLastFailure": true,
		"spec.driftDetection.mode":                      "enabled",
		"spec.interval":                                 "10m0s",
		"spec.values.deployment.envs.smee.dhcpMode":     "auto-proxy",
	}
	for path, w := range want {
		if got := field(t, hr, strings.Split(path, ".")...); got != w {
			t.Errorf("%s = %#v, want %#v", path, got, w)
		}
	}
	vf := field(t, hr, "spec", "valuesFrom")
	wantVF := []any{
		map[string]any{"kind": "Secret", "name": "b", "targetPath": "deployment.envs.smee.isoUpstreamURL"},
		map[string]any{"kind": "ConfigMap", "name": "a", "valuesKey": "extra.yaml", "optional": true},
	}
	if !reflect.DeepEqual(vf, wantVF) {
		t.Errorf("valuesFrom = %#v, want %#v", vf, wantVF)
	}
	patches := field(t, hr, "spec", "postRenderers").([]any)[0].(map[string]any)["kustomize"].(map[string]any)["patches"].([]any)
	if len(patches) != 2 {
		t.Fatalf("want a patch for Deployments and one for DaemonSets, got %v", patches)
	}
	for i, kind := range []string{"Deployment", "DaemonSet"} {
		p := patches[i].(map[string]any)
		if p["target"].(map[string]any)["kind"] != kind {
			t.Errorf("patch %d targets %v, want %s", i, p["target"], kind)
		}
		var ops []map[string]any
		if err := json.Unmarshal([]byte(p["patch"].(string)), &ops); err != nil {
			t.Fatal(err)
		}
		if ops[0]["path"] != "/spec/template/spec/imagePullSecrets" || !reflect.DeepEqual(ops[0]["value"], []any{map[string]any{"name": "pull-1"}, map[string]any{"name": "pull-2"}}) {
			t.Errorf("patch %d = %v", i, ops)
		}
	}

	// The digest is that of the canonical JSON of the values on the HelmRelease.
	canonical, _ := json.Marshal(field(t, hr, "spec", "values"))
	sum := sha256.Sum256(canonical)
	if res.ValuesDigest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("ValuesDigest = %s does not match the values", res.ValuesDigest)
	}
	if res.PublicIP != "192.168.2.111" || !reflect.DeepEqual(res.TrustedProxies, []string{"10.244.0.0/24", "10.244.1.0/24"}) {
		t.Errorf("PublicIP/TrustedProxies = %q/%v", res.PublicIP, res.TrustedProxies)
	}
	if res.Release.Version != "v0.25.0" {
		t.Errorf("Release = %v", res.Release.Version)
	}

	// Another values change changes the digest.
	obj.Spec.Values = nil
	if other := mustRender(t, obj); other.ValuesDigest == res.ValuesDigest {
		t.Error("ValuesDigest did not change with the values")
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*kubetinkv1alpha1.Tinkerbell)
		wantErr string
	}{
		{"no name", func(o *kubetinkv1alpha1.Tinkerbell) { o.Name = "" }, "metadata.name is required"},
		{"long name", func(o *kubetinkv1alpha1.Tinkerbell) { o.Name = strings.Repeat("a", 64) }, "metadata.name"},
		{"no namespace", func(o *kubetinkv1alpha1.Tinkerbell) { o.Namespace = "" }, "metadata.namespace is required"},
		{"unknown engine", func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.Engine = "Helm" }, `spec.engine: "Helm" is not supported`},
		{"bad values", func(o *kubetinkv1alpha1.Tinkerbell) { o.Spec.ArtifactsFileServer = "" }, "spec.artifactsFileServer is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := newObj("v0.25.0")
			tt.mutate(obj)
			if _, err := Render(obj, goldenFacts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := Render(nil, goldenFacts); err == nil {
		t.Error("Render(nil) did not fail")
	}
}

func TestRenderUnsupportedVersion(t *testing.T) {
	_, err := Render(newObj("v0.18.0"), goldenFacts)
	if _, ok := errors.AsType[*catalog.UnsupportedVersionError](err); !ok {
		t.Fatalf("error = %v, want a *catalog.UnsupportedVersionError", err)
	}
	if !strings.Contains(err.Error(), "spec.version") || !strings.Contains(err.Error(), "v0.25.0") {
		t.Errorf("message %q should name spec.version and list the supported versions", err)
	}
}

func TestRenderLongNames(t *testing.T) {
	names := map[string]string{}
	for _, name := range []string{strings.Repeat("a", 63), strings.Repeat("a", 62) + "b", strings.Repeat("a.b-", 15) + "abc"} {
		for _, version := range []string{"v0.25.0", "0.6.2"} {
			obj := newObj(version)
			obj.Name = name
			res := mustRender(t, obj)
			again := mustRender(t, obj)
			for i, u := range res.Objects {
				n := u.GetName()
				if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 || len(n) > 63 {
					t.Errorf("name %q: %v (length %d)", n, errs, len(n))
				}
				if again.Objects[i].GetName() != n {
					t.Errorf("name %q is not deterministic", n)
				}
				key := u.GetKind() + "/" + n
				if prev, ok := names[key]; ok && prev != name {
					t.Errorf("%s generated for both %s and %s", key, prev, name)
				}
				names[key] = name
			}
		}
	}
}

func TestIgnoreAllBut(t *testing.T) {
	tests := []struct {
		dirs []string
		want string
	}{
		{[]string{"crd/bases"}, "/*\n!/crd/\n/crd/*\n!/crd/bases/\n"},
		{[]string{"a/x/crds", "a/y/crds"}, "/*\n!/a/\n/a/*\n!/a/x/\n!/a/y/\n/a/x/*\n!/a/x/crds/\n/a/y/*\n!/a/y/crds/\n"},
		{[]string{"crds"}, "/*\n!/crds/\n"},
		{[]string{""}, ""},
	}
	for _, tt := range tests {
		got := strings.TrimPrefix(ignoreAllBut(tt.dirs), "# Kubetink: keep only the CRD manifests.\n")
		if got != tt.want {
			t.Errorf("ignoreAllBut(%v) =\n%s\nwant\n%s", tt.dirs, got, tt.want)
		}
	}
}

func TestToYAML(t *testing.T) {
	res := mustRender(t, newObj("0.6.2"))
	out, err := ToYAML(res.Objects)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(out), "---\n")[1:]
	if len(docs) != len(res.Objects) {
		t.Fatalf("%d documents for %d objects", len(docs), len(res.Objects))
	}
	for i, doc := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(kinds([]*unstructured.Unstructured{u}), kinds(res.Objects[i:i+1])) {
			t.Errorf("document %d is %s, want %s", i, u.GetName(), res.Objects[i].GetName())
		}
		if !strings.HasPrefix(doc, "apiVersion: ") {
			t.Errorf("document %d does not start with apiVersion (keys unsorted?)", i)
		}
	}
	if _, err := ToYAML([]*unstructured.Unstructured{nil}); err == nil {
		t.Error("ToYAML accepted a nil object")
	}
}

func TestDecode(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "..", "examples", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if obj, err := Decode(good); err != nil || obj.Spec.Version != "v0.25.0" {
		t.Fatalf("Decode(minimal) = %v, %v", obj, err)
	}
	tests := []struct {
		name, doc, wantErr string
	}{
		{"empty", "# nothing\n", "no Tinkerbell object"},
		{"two documents", string(good) + "\n---\n" + string(good), "found 2 YAML documents"},
		{"unknown field", strings.Replace(string(good), "publicIP:", "publicIp:", 1), `unknown field "spec.publicIp"`},
		{"wrong kind", strings.Replace(string(good), "kind: Tinkerbell", "kind: Stack", 1), "apiVersion/kind"},
		{"not YAML", "spec: [", "invalid Tinkerbell object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode([]byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzRender renders arbitrary documents: no panic, and the same input gives the same output.
func FuzzRender(f *testing.F) {
	for _, name := range []string{"minimal.yaml", "legacy-stack-0.6.2.yaml", "ha-placement.yaml", "proxy-dhcp.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Decode(data)
		if err != nil {
			return
		}
		a, errA := Render(obj, goldenFacts)
		b, errB := Render(obj, goldenFacts)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("errors differ: %v / %v", errA, errB)
		}
		if errA != nil {
			return
		}
		ya, err := ToYAML(a.Objects)
		if err != nil {
			t.Fatal(err)
		}
		yb, _ := ToYAML(b.Objects)
		if string(ya) != string(yb) || a.ValuesDigest != b.ValuesDigest {
			t.Fatal("two renders differ")
		}
	})
}

// FuzzValuesDigest checks that the digest's encoder writes exactly what encoding/json writes.
func FuzzValuesDigest(f *testing.F) {
	f.Add(`{"a":"<b>&\u2028\u2029\t\n\u0001","b":[1,2.5,-3e40,true,null,{"c":"\u00e9"}],"":{}}`)
	f.Add("{\"k\":\"\xff\xfe invalid\"}")
	f.Fuzz(func(t *testing.T, doc string) {
		var v any
		if err := utiljson.Unmarshal([]byte(doc), &v); err != nil {
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		want, err := json.Marshal(m)
		if err != nil {
			return
		}
		got, err := appendCanonical(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("canonical JSON differs from encoding/json:\n%s\n%s", got, want)
		}
	})
}

// TestConvertMatchesReflection checks the hand-written conversion against apimachinery's reflective converter for
// every object of every example and of variants that set the remaining fields.
func TestConvertMatchesReflection(t *testing.T) {
	files := exampleFiles(t)
	objs := make([]*kubetinkv1alpha1.Tinkerbell, 0, len(files)+1)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all, err := DecodeAll(data)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, all...)
	}
	overrides := newObj("0.6.2")
	overrides.Spec.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://m/c", Insecure: true, SecretRef: &meta.LocalObjectReference{Name: "s"}}
	overrides.Spec.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "https://g/r", Tag: "t", Path: "p", SecretRef: &meta.LocalObjectReference{Name: "g"}}}
	overrides.Spec.ValuesFrom = []kubetinkv1alpha1.ValuesReference{{Kind: "ConfigMap", Name: "v", ValuesKey: "k", TargetPath: "a.b", Optional: true}}
	overrides.Spec.Registry = &kubetinkv1alpha1.RegistrySpec{ImagePullSecrets: []meta.LocalObjectReference{{Name: "p"}}}
	objs = append(objs, overrides)

	for _, obj := range objs {
		rel, err := catalog.Lookup(obj.Spec.Version)
		if err != nil {
			t.Fatal(err)
		}
		b := &builder{obj: obj, rel: rel}
		ks := b.kustomizations()
		typed := make([]runtime.Object, 0, 3+len(ks))
		typed = append(typed, b.ociRepository(), b.gitRepository(), b.helmRelease())
		for _, k := range ks {
			typed = append(typed, k)
		}
		for _, o := range typed {
			got, err := convert(o)
			if err != nil {
				t.Fatal(err)
			}
			want, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
			if err != nil {
				t.Fatal(err)
			}
			delete(want, "status")
			delete(want["metadata"].(map[string]any), "creationTimestamp")
			if !reflect.DeepEqual(got.Object, want) {
				gy, _ := yaml.Marshal(got.Object)
				wy, _ := yaml.Marshal(want)
				t.Errorf("%s %T: conversion differs from the reflective one (-reflective +conversion):\n%s", obj.Name, o, cmp.Diff(string(wy), string(gy)))
			}
		}
	}
	if _, err := convert(&kubetinkv1alpha1.Tinkerbell{}); err == nil {
		t.Error("convert accepted a type it does not know")
	}
}
