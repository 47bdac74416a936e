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
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubetink/kubetink/internal/policy"
)

// repoURL is where this repository is published (the module path).
const repoURL = "https://github.com/kubetink/kubetink"

func readExample(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "install", path))
	if err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, string(data))
}

func str(u *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(u.Object, fields...)
	return s
}

// The Flux example installs config/default of this repository at one release, image included, and the Flux API
// (the real CRDs of the pinned Flux controllers) accepts it.
func TestExamples_Flux(t *testing.T) {
	g := NewWithT(t)
	objs := readExample(t, "flux/kubetink.yaml")
	repo, ks := find(objs, "GitRepository", "kubetink"), find(objs, "Kustomization", "kubetink")
	g.Expect(repo).NotTo(BeNil())
	g.Expect(ks).NotTo(BeNil())

	g.Expect(str(repo, "spec", "url")).To(Equal(repoURL))
	tag := str(repo, "spec", "ref", "tag")
	g.Expect(tag).To(MatchRegexp(`^v\d+\.\d+\.\d+$`), "a pinned release")
	g.Expect(str(repo, "spec", "ignore")).To(ContainSubstring("!/config/"), "the fetched files include config/")
	g.Expect(str(ks, "spec", "sourceRef", "name")).To(Equal("kubetink"))
	g.Expect(str(ks, "spec", "path")).To(Equal("./config/default"))
	g.Expect(filepath.Join(repoRoot, "config", "default", "kustomization.yaml")).To(BeAnExistingFile())
	prune, _, _ := unstructured.NestedBool(ks.Object, "spec", "prune")
	g.Expect(prune).To(BeTrue(), "pruning is safe: the CRD and namespace opt out of it")
	images, _, _ := unstructured.NestedSlice(ks.Object, "spec", "images")
	g.Expect(images).To(ConsistOf(And(HaveKeyWithValue("name", "ghcr.io/kubetink/kubetink"), HaveKeyWithValue("newTag", tag))),
		"the image is the release the manifests come from")

	expectAccepted(t, "flux-system", objs)
}

// The Argo CD example installs config/default of this repository at one release, image included, and the Argo CD
// API (upstream's Application CRD) accepts it.
func TestExamples_ArgoCD(t *testing.T) {
	g := NewWithT(t)
	objs := readExample(t, "argocd/kubetink.yaml")
	g.Expect(objs).To(HaveLen(1))
	app := objs[0]
	g.Expect(app.GetAPIVersion()).To(Equal("argoproj.io/v1alpha1"))
	g.Expect(app.GetKind()).To(Equal("Application"))
	g.Expect(str(app, "spec", "source", "repoURL")).To(Equal(repoURL))
	g.Expect(str(app, "spec", "source", "path")).To(Equal("config/default"))
	rev := str(app, "spec", "source", "targetRevision")
	g.Expect(rev).To(MatchRegexp(`^v\d+\.\d+\.\d+$`), "a pinned release")
	images, _, _ := unstructured.NestedStringSlice(app.Object, "spec", "source", "kustomize", "images")
	g.Expect(images).To(ConsistOf("ghcr.io/kubetink/kubetink:" + rev))
	g.Expect(str(app, "spec", "destination", "namespace")).To(Equal(systemNamespace))
	opts, _, _ := unstructured.NestedStringSlice(app.Object, "spec", "syncPolicy", "syncOptions")
	g.Expect(opts).To(ContainElement("ServerSideApply=true"))
	g.Expect(strings.Join(opts, ",")).NotTo(ContainSubstring("CreateNamespace"), "config/default brings its namespace")
	expectAccepted(t, app.GetNamespace(), objs)
}

// expectAccepted creates namespace if it is missing and expects the apiserver to accept every object of an example
// on a dry-run create (the Flux and Argo CD CRDs are installed).
func expectAccepted(t *testing.T, namespace string, objs []*unstructured.Unstructured) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := k8sClient.Create(ctxBackground, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	g := NewWithT(t)
	for _, u := range objs {
		g.Expect(k8sClient.Create(ctxBackground, u.DeepCopy(), client.DryRunAll)).To(Succeed(), "%s %s", u.GetKind(), u.GetName())
	}
}

// The Flux lockdown example installs the same release as the Flux example, as kustomize-controller's own account
// (the lockdown would otherwise impersonate a tenant's in flux-system), with a patch of the manager's arguments
// that the Flux API accepts. test/e2e (TestFluxLockdown) runs its flags and its tenant.yaml.
func TestExamples_FluxLockdown(t *testing.T) {
	g := NewWithT(t)
	objs := readExample(t, "flux-lockdown/kubetink.yaml")
	plain := readExample(t, "flux/kubetink.yaml")
	repo, ks := find(objs, "GitRepository", "kubetink"), find(objs, "Kustomization", "kubetink")
	g.Expect(repo).NotTo(BeNil())
	g.Expect(ks).NotTo(BeNil())
	g.Expect(repo.Object["spec"]).To(Equal(find(plain, "GitRepository", "kubetink").Object["spec"]), "the same source as examples/install/flux")
	g.Expect(str(ks, "spec", "serviceAccountName")).To(Equal("kustomize-controller"))
	g.Expect(str(ks, "spec", "path")).To(Equal("./config/default"))

	// Built as kustomize-controller builds it, config/default with the example's patches runs the manager with the
	// default account and an admin policy, and the ConfigMap admission reads holds the same policy.
	built := buildWithPatches(t, ks)
	args := managerContainer(t, deployment(t, built)).Args
	g.Expect(args).To(ContainElement("--default-service-account=flux-tenant"))
	fromFlags := policyFromFlags(t, args)
	g.Expect(fromFlags.ChartURLPrefixes).NotTo(BeEmpty(), "the lockdown pins the chart source")
	g.Expect(fromFlags.CRDSourcePrefixes).NotTo(BeEmpty(), "the lockdown pins the CRD source")
	g.Expect(fromFlags.TargetNamespaces).NotTo(BeEmpty(), "the lockdown limits the target namespaces")
	cm := find(built, "ConfigMap", "kubetink-policy")
	g.Expect(cm).NotTo(BeNil())
	data, _, err := unstructured.NestedStringMap(cm.Object, "data")
	g.Expect(err).NotTo(HaveOccurred())
	want := map[string]string{}
	for k, v := range policyData(fromFlags) {
		if v != "" {
			want[k] = v
		}
	}
	g.Expect(data).To(Equal(want), "the manager's flags and the admission ConfigMap say the same")
	expectAccepted(t, "flux-system", objs)
}

// buildWithPatches builds config/default with the patches of a Flux Kustomization, as kustomize-controller does
// (a kustomization.yaml over the path, with the Kustomization's patches).
func buildWithPatches(t *testing.T, ks *unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	patches, _, err := unstructured.NestedSlice(ks.Object, "spec", "patches")
	if err != nil {
		t.Fatal(err)
	}
	// kustomize takes a relative path to a base only.
	dir := t.TempDir()
	base, err := filepath.Rel(dir, filepath.Join(repoRoot, "config", "default"))
	if err != nil {
		t.Fatal(err)
	}
	kustomization := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
		"resources": []any{base}, "patches": patches,
	}
	data, err := yaml.Marshal(kustomization)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := kubectl("kustomize", "--load-restrictor=LoadRestrictionsNone", dir)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, out)
}

// policyFromFlags reads the admin policy from a manager's arguments, as the manager parses them.
func policyFromFlags(t *testing.T, args []string) policy.Settings {
	t.Helper()
	var s policy.Settings
	fs := pflag.NewFlagSet("manager", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	s.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return s
}
