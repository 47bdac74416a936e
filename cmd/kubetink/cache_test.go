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

package main

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/controller"
	"github.com/kubetink/kubetink/internal/scheme"
	"github.com/kubetink/kubetink/internal/testutil"
)

// TestCacheOptions_OnlyKubetinksObjects builds the manager's cache against a real apiserver holding objects of
// every kind Kubetink generates, some of them someone else's: the cache holds Kubetink's only.
func TestCacheOptions_OnlyKubetinksObjects(t *testing.T) {
	g := NewWithT(t)
	env, err := testutil.Start(testutil.Options{FluxCRDs: true, ArgoCDCRDs: true})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cache-"}}
	g.Expect(env.Client.Create(ctx, ns)).To(Succeed())

	// One object of each kind with Kubetink's label and one without, in the shape the apiserver accepts.
	objects := map[string]map[string]any{
		"Job": {"template": map[string]any{"spec": map[string]any{"restartPolicy": "Never",
			"containers": []any{map[string]any{"name": "c", "image": "busybox"}}}}},
		"HelmRelease":   {"chartRef": map[string]any{"kind": "OCIRepository", "name": "chart"}, "interval": "10m"},
		"Kustomization": {"sourceRef": map[string]any{"kind": "GitRepository", "name": "crds"}, "interval": "10m", "prune": false},
		"OCIRepository": {"url": "oci://ghcr.io/tinkerbell/charts/tinkerbell", "interval": "10m"},
		"GitRepository": {"url": "https://github.com/tinkerbell/tinkerbell", "interval": "10m"},
		"Application": {"project": "default", "destination": map[string]any{"server": "https://kubernetes.default.svc"},
			"source": map[string]any{"repoURL": "https://example.com", "path": "."}},
	}
	s := scheme.New()
	httpClient, err := rest.HTTPClientFor(env.Config)
	g.Expect(err).NotTo(HaveOccurred())
	mapper, err := apiutil.NewDynamicRESTMapper(env.Config, httpClient)
	g.Expect(err).NotTo(HaveOccurred())
	opts := cacheOptions(nil, servedBy(s, mapper))
	g.Expect(opts.ByObject).To(HaveLen(len(controller.OwnedKinds())+1), "every owned kind is served here, plus Nodes")
	opts.Scheme = s
	kinds := controller.OwnedKinds()
	g.Expect(kinds).To(HaveLen(len(objects)), "a test object for every kind Kubetink owns")
	for _, kind := range kinds {
		gvk, err := apiutil.GVKForObject(kind, opts.Scheme)
		g.Expect(err).NotTo(HaveOccurred())
		for name, labels := range map[string]map[string]string{
			"kubetinks": {kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy},
			"others":    {kubetinkv1alpha1.LabelManagedBy: "someone-else"},
		} {
			u := &unstructured.Unstructured{Object: map[string]any{"spec": objects[gvk.Kind]}}
			u.SetGroupVersionKind(gvk)
			u.SetNamespace(ns.Name)
			u.SetName(name)
			u.SetLabels(labels)
			g.Expect(env.Client.Create(ctx, u)).To(Succeed(), "create %s %s", gvk.Kind, name)
		}
	}

	c, err := cache.New(env.Config, opts)
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = c.Start(ctx) }()
	for _, kind := range kinds {
		// A list of the kind as the manager reads it: typed for the scheme's kinds, unstructured for Applications.
		gvk, err := apiutil.GVKForObject(kind, opts.Scheme)
		g.Expect(err).NotTo(HaveOccurred())
		var list client.ObjectList = &unstructured.UnstructuredList{}
		if typed, err := opts.Scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List")); err == nil {
			list = typed.(client.ObjectList)
		}
		list.GetObjectKind().SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		g.Eventually(func(g Gomega) {
			g.Expect(c.List(ctx, list, client.InNamespace(ns.Name))).To(Succeed())
			g.Expect(names(g, list)).To(ConsistOf("kubetinks"), "cached %s", gvk.Kind)
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	}
	// The apiserver holds both objects of every kind: the selection is the cache's.
	jobs := &batchv1.JobList{}
	g.Expect(env.Client.List(ctx, jobs, client.InNamespace(ns.Name))).To(Succeed())
	g.Expect(names(g, jobs)).To(ConsistOf("kubetinks", "others"))
}

// names returns the names of a list's items.
func names(g Gomega, list client.ObjectList) []string {
	var out []string
	g.Expect(apimeta.EachListItem(list, func(o runtime.Object) error {
		out = append(out, o.(client.Object).GetName())
		return nil
	})).To(Succeed())
	return out
}
