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
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/test/upstreamcrds"
)

const (
	testPublicIP    = "192.168.2.111"
	backupNamespace = "kubetink-backups"
)

// cluster is a real kube-apiserver with the CRDs of one Tinkerbell release.
type cluster struct {
	env *testutil.Environment
	dyn dynamic.Interface
}

// eksaBaseboardManagementCRD is the pre-release Rufio BaseboardManagement CRD, written for these tests (see
// ../testdata/README.md).
var eksaBaseboardManagementCRD = filepath.Join("..", "testdata", "crds", "eksa-baseboardmanagement")

// startCluster starts a control plane with upstream's CRDs of the Tinkerbell release and the CRDs in extra.
func startCluster(t *testing.T, release string, extra ...string) *cluster {
	t.Helper()
	env, err := testutil.Start(testutil.Options{TinkerbellCRDs: release, CRDDirs: extra})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c := &cluster{env: env, dyn: dynamic.NewForConfigOrDie(env.Config)}
	for _, ns := range []string{"tink", "tinkerbell", backupNamespace} {
		if err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// upstreamCRD returns the path of upstream's CRD file name of release (test/upstreamcrds).
func upstreamCRD(t *testing.T, release, name string) string {
	t.Helper()
	p, err := upstreamcrds.Find(testutil.RepoRoot(), release, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readDocs(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	return testutil.ReadObjects(t, path)
}

func targetFor(t *testing.T, kind string) migration.Target {
	t.Helper()
	for _, tg := range migration.Targets() {
		if tg.Kind == kind {
			return tg
		}
	}
	t.Fatalf("no target for %s", kind)
	return migration.Target{}
}

// apply creates the objects of testdata/objects/<file>.yaml and then writes their status through the status
// subresource, as the controllers of that release would have.
func (c *cluster) apply(t *testing.T, file string) {
	t.Helper()
	ctx := context.Background()
	for _, obj := range readDocs(t, filepath.Join("..", "testdata", "objects", file+".yaml")) {
		rc := c.dyn.Resource(targetFor(t, obj.GetKind()).GVR()).Namespace(obj.GetNamespace())
		status, hasStatus := obj.Object["status"]
		created, err := rc.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		if hasStatus {
			created.Object["status"] = status
			if _, err := rc.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("status of %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	}
}

// upgradeCRDs replaces the installed CRDs with upstream's of the release, as Kubetink does when it takes the CRDs
// over. CRDs of the old release that the new one lacks stay installed.
func (c *cluster) upgradeCRDs(t *testing.T, release string) {
	t.Helper()
	ctx := context.Background()
	files, err := upstreamcrds.Files(testutil.RepoRoot(), release)
	if err != nil {
		t.Fatal(err)
	}
	rc := c.dyn.Resource(crdGVR)
	for _, f := range upstreamcrds.Paths(files) {
		for _, crd := range readDocs(t, f) {
			cur, err := rc.Get(ctx, crd.GetName(), metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				_, err = rc.Create(ctx, crd, metav1.CreateOptions{})
			case err == nil:
				crd.SetResourceVersion(cur.GetResourceVersion())
				_, err = rc.Update(ctx, crd, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Fatalf("CRD %s: %v", crd.GetName(), err)
			}
		}
	}
}

func (c *cluster) get(t *testing.T, tg migration.Target, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := c.dyn.Resource(tg.GVR()).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", tg.Kind, ns, name, err)
	}
	return obj
}

// waitUntil polls cond until it is true; the apiserver serves a changed CRD schema a moment after the update.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	NewWithT(t).Eventually(cond).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(BeTrue())
}

// snapshot returns the resourceVersion of every Tinkerbell object and every backup ConfigMap: equal snapshots
// mean nothing was written.
func (c *cluster) snapshot(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	targets := append(migration.Targets(), migration.Target{Version: "v1", Resource: "configmaps", Kind: "ConfigMap"})
	for _, tg := range targets {
		l, err := c.dyn.Resource(tg.GVR()).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			out[tg.Kind+" "+key(&o)] = o.GetResourceVersion()
		}
	}
	return out
}

// migrate runs the migrations of from → to in the given phases and fails the test on error.
func (c *cluster) migrate(t *testing.T, opts Options) map[string]Result {
	t.Helper()
	res, err := c.tryMigrate(opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (c *cluster) tryMigrate(opts Options) (map[string]Result, error) {
	if opts.BackupNamespace == "" {
		opts.BackupNamespace = backupNamespace
	}
	r, err := New(c.dyn, opts)
	if err != nil {
		return nil, err
	}
	results, err := r.Run(context.Background(), nil)
	out := map[string]Result{}
	for _, res := range results {
		out[res.Migration] = res
	}
	return out, err
}

func (c *cluster) restore(t *testing.T, names ...string) map[string]RestoreResult {
	t.Helper()
	results, err := Restore(context.Background(), c.dyn, RestoreOptions{Migrations: names, BackupNamespace: backupNamespace})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]RestoreResult{}
	for _, r := range results {
		out[r.Migration] = r
	}
	return out
}

// counts returns scanned, changed, skipped.
func counts(r Result) [3]int {
	return [3]int{r.Scanned, r.Changed, r.Skipped}
}

// expectNoChanges asserts that every migration of a run changed nothing.
func expectNoChanges(g Gomega, results map[string]Result) {
	for name, r := range results {
		g.Expect(r.Changed).To(BeZero(), "%s changed %v", name, r.Objects)
	}
}

// userView is what a restore must bring back: everything but the fields the apiserver manages.
func userView(obj *unstructured.Unstructured) map[string]any {
	c := obj.DeepCopy()
	for _, f := range []string{"resourceVersion", "generation", "managedFields"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c.Object
}

func nestedString(obj *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(obj.Object, fields...)
	return s
}
