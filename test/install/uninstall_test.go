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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// keepLabel marks what uninstalling Kubetink keeps (the README's Uninstall section uses it as a selector).
const keepLabel = "kubetink.io/uninstall"

// What Kubetink's own uninstall keeps: the CRD (and so every Tinkerbell and the stacks they run) and the namespace.
// Flux and Argo CD are told the same with annotations; kubectl with the README's selector.
func TestUninstall_KeepsTheCRDTheNamespaceAndTheTinkerbells(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	objs := defaultObjects(t)
	var kept []string
	for _, u := range objs {
		if u.GetLabels()[keepLabel] == "keep" {
			kept = append(kept, u.GetKind())
			g.Expect(u.GetAnnotations()).To(And(
				HaveKeyWithValue("kustomize.toolkit.fluxcd.io/prune", "disabled"),
				HaveKeyWithValue("argocd.argoproj.io/sync-options", "Prune=false,Delete=false")), "%s %s", u.GetKind(), u.GetName())
		}
	}
	g.Expect(kept).To(ConsistOf("CustomResourceDefinition", "Namespace"))

	tb := &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: "survivor"},
		Spec:       kubetinkv1alpha1.TinkerbellSpec{Version: "v0.25.0", PublicIP: "192.168.2.10", ArtifactsFileServer: "http://192.168.2.11:7173"},
	}
	g.Expect(k8sClient.Create(ctxBackground, tb)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(ctxBackground, tb) })

	// The README's uninstall command, then the install again for the tests that follow.
	out, err := kubectl("delete", "-k", "config/default", "-l", keepLabel+"!=keep", "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		if _, err := kubectl("apply", "--server-side", "-k", "config/default"); err != nil {
			t.Error(err)
		}
	})
	g.Expect(strings.Split(strings.TrimSpace(out), "\n")).To(HaveLen(len(objs) - len(kept)))

	for _, u := range objs {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		err := k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(u), live)
		if u.GetLabels()[keepLabel] == "keep" {
			g.Expect(err).NotTo(HaveOccurred(), "%s %s is kept", u.GetKind(), u.GetName())
			g.Expect(live.GetDeletionTimestamp()).To(BeNil())
			continue
		}
		if err == nil && live.GetDeletionTimestamp() == nil {
			t.Errorf("%s %s was not deleted", u.GetKind(), u.GetName())
		} else if err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	}
	g.Expect(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(tb), &kubetinkv1alpha1.Tinkerbell{})).To(Succeed(), "Tinkerbells stay")
	g.Expect(k8sClient.Get(ctxBackground, client.ObjectKey{Name: systemNamespace}, &corev1.Namespace{})).To(Succeed())
}
