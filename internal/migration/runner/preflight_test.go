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

package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubetink/kubetink/internal/migration"
)

// TestPreflight_CAPTPausedForLegacyReinstall: the PreUpgrade phase of the stack 0.6.2 reinstall waits until
// CAPT's objects are paused (upstream's ORIGINAL_HELM_CHART_UPGRADE.md at v0.19.2), as the reconciler does.
func TestPreflight_CAPTPausedForLegacyReinstall(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "0.6.2")
	c.installCAPT(t)
	opts := Options{From: "0.6.2", To: "v0.19.0", PublicIP: testPublicIP, Phases: pre, DryRun: true}

	t.Run("blocked while CAPT objects are not paused", func(t *testing.T) {
		g := NewWithT(t)
		before := c.snapshot(t)
		_, err := c.tryMigrate(opts)
		g.Expect(err).To(MatchError(And(
			ContainSubstring("the upgrade from 0.6.2 to v0.19.0 must wait until these are finished or paused"),
			ContainSubstring("TinkerbellMachine capi/prod-control-plane-x7k2p: CAPT must not reconcile it"),
			ContainSubstring("TinkerbellMachine capi/dev-worker-a-5tlxc:"),
			ContainSubstring("TinkerbellMachine capi-b/staging-worker-b-k2d9s:"),
			ContainSubstring("TinkerbellMachine capi/prod-worker-a-pending:"),
			ContainSubstring("TinkerbellCluster capi/prod:"),
		)))
		g.Expect(err.Error()).NotTo(ContainSubstring("staging-worker-a"), "its Cluster is paused")
		g.Expect(c.snapshot(t)).To(Equal(before))
	})

	t.Run("only the namespaces it migrates", func(t *testing.T) {
		g := NewWithT(t)
		o := opts
		o.Namespaces = []string{"tink", "capi-b"}
		_, err := c.tryMigrate(o)
		g.Expect(err).To(MatchError(ContainSubstring("TinkerbellMachine capi-b/staging-worker-b-k2d9s:")))
		g.Expect(err.Error()).NotTo(ContainSubstring("capi/"), "an object of a namespace it does not migrate blocks it")
		o.Namespaces = []string{"tink"}
		_, err = c.tryMigrate(o)
		g.Expect(err).NotTo(HaveOccurred(), "CAPT objects of other namespaces block it")
	})

	t.Run("runs once they are paused", func(t *testing.T) {
		g := NewWithT(t)
		ctx := context.Background()
		_, err := c.dyn.Resource(migration.CAPIClusters.GVR()).Namespace("capi").Patch(ctx, "prod", types.MergePatchType,
			[]byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		paused := []byte(`{"metadata":{"annotations":{"cluster.x-k8s.io/paused":"true"}}}`)
		for ns, name := range map[string]string{"capi": "dev-worker-a-5tlxc", "capi-b": "staging-worker-b-k2d9s"} {
			_, err := c.dyn.Resource(migration.TinkerbellMachines.GVR()).Namespace(ns).Patch(ctx, name, types.MergePatchType, paused, metav1.PatchOptions{})
			g.Expect(err).NotTo(HaveOccurred())
		}
		_, err = c.tryMigrate(opts)
		g.Expect(err).To(MatchError(ContainSubstring("TinkerbellMachine capi/prod-worker-a-pending:")), "no Cluster pauses it")
		g.Expect(err.Error()).NotTo(ContainSubstring("prod-control-plane"))

		_, err = c.dyn.Resource(migration.TinkerbellMachines.GVR()).Namespace("capi").Patch(ctx, "prod-worker-a-pending", types.MergePatchType, paused, metav1.PatchOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = c.tryMigrate(opts)
		g.Expect(err).NotTo(HaveOccurred())
	})

	t.Run("--skip-preflight", func(t *testing.T) {
		g := NewWithT(t)
		_, err := c.dyn.Resource(migration.CAPIClusters.GVR()).Namespace("capi").Patch(context.Background(), "prod", types.MergePatchType,
			[]byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = c.tryMigrate(opts)
		g.Expect(err).To(HaveOccurred())
		o := opts
		o.SkipPreflight = true
		_, err = c.tryMigrate(o)
		g.Expect(err).NotTo(HaveOccurred())
	})
}

// installCAPT installs CRDs for CAPT's kinds and Cluster API's Cluster and creates the objects of
// testdata/objects/capt-v0.6.5.yaml. This workspace keeps no copy of CAPT's or Cluster API's CRDs, and the
// preflight only lists these kinds, so CRDs with their names and served version and no schema (unknown fields
// preserved) stand in for them.
func (c *cluster) installCAPT(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, tg := range migration.CAPTTargets() {
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": tg.CRDName()},
			"spec": map[string]any{
				"group": tg.Group, "scope": "Namespaced",
				"names": map[string]any{"plural": tg.Resource, "singular": strings.ToLower(tg.Kind), "kind": tg.Kind, "listKind": tg.Kind + "List"},
				"versions": []any{map[string]any{"name": tg.Version, "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
			},
		}}
		if _, err := c.dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, func() bool {
			_, err := c.dyn.Resource(tg.GVR()).List(ctx, metav1.ListOptions{})
			return err == nil
		})
	}
	for _, ns := range []string{"capi", "capi-b"} {
		if err := c.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	targets := map[string]migration.Target{}
	for _, tg := range migration.CAPTTargets() {
		targets[tg.Kind] = tg
	}
	for _, obj := range readDocs(t, filepath.Join("..", "testdata", "objects", "capt-v0.6.5.yaml")) {
		if _, err := c.dyn.Resource(targets[obj.GetKind()].GVR()).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}
