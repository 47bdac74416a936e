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

package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// ownManager runs a manager of its own for Tinkerbells labelled with ownManagerLabel=name; stop it to simulate the
// operator going away at any moment. configure sets the reconciler's options, as the manager's flags do.
type ownManager struct {
	cancel context.CancelFunc
	done   chan error
}

func startOwnManager(t testing.TB, g *WithT, name string, configure ...func(*TinkerbellReconciler)) *ownManager {
	t.Helper()
	mgr, err := ctrl.NewManager(testEnv.Config, ctrl.Options{
		Scheme:  k8sClient.Scheme(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&kubetinkv1alpha1.Tinkerbell{}: {Label: labels.NewSelector().Add(ownManagerRequirement(selection.Equals, name))},
		}},
	})
	g.Expect(err).NotTo(HaveOccurred())
	r := &TinkerbellReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ControllerName: "kubetink",
		DependencyRequeueInterval: time.Second, MigrationImage: "ghcr.io/kubetink/kubetink:test",
	}
	for _, c := range configure {
		c(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.Expect(r.SetupWithManager(ctx, mgr, TinkerbellReconcilerOptions{MaxConcurrentReconciles: 2, SkipNameValidation: true})).To(Succeed())
	m := &ownManager{cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	return m
}

func (m *ownManager) stop(g *WithT) {
	m.cancel()
	g.Expect(<-m.done).To(Succeed())
}

// userObjects returns the Tinkerbell objects of a namespace (Hardware, Templates, Workflows), as stored.
func userObjects(g Gomega, ns string) map[string]any {
	out := map[string]any{}
	for _, kind := range []string{"Hardware", "Template", "Workflow"} {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("tinkerbell.org/v1alpha1")
		list.SetKind(kind + "List")
		g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
		for _, u := range list.Items {
			out[kind+"/"+u.GetName()] = map[string]any{"spec": u.Object["spec"], "status": u.Object["status"]}
		}
	}
	return out
}

func createUserObjects(g *WithT, ns string) {
	for i, kind := range []string{"Hardware", "Template", "Workflow"} {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "tinkerbell.org/v1alpha1", "kind": kind}}
		u.SetNamespace(ns)
		u.SetName("node-1")
		switch i {
		case 0:
			data, err := os.ReadFile(filepath.Join("testdata", "hardware.yaml"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(yaml.Unmarshal(data, &u.Object)).To(Succeed())
			u.SetNamespace(ns)
			u.SetName("node-1")
		case 1:
			u.Object["spec"] = map[string]any{"data": "version: \"0.1\"\nname: ubuntu\nglobal_timeout: 1800\ntasks: []\n"}
		case 2:
			u.Object["spec"] = map[string]any{"templateRef": "node-1", "hardwareRef": "node-1"}
		}
		g.Expect(k8sClient.Create(context.Background(), u)).To(Succeed())
	}
}

// The operator may die at any step of an upgrade: each new manager picks up from the cluster state alone and the
// upgrade still ends migrated, with every user object still there, unchanged by the operator itself.
func TestTinkerbellReconciler_UpgradeSurvivesRestartsAtEveryStep(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"), func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Labels = map[string]string{ownManagerLabel: "restart"}
	})
	create(t, g, tb)
	mgr := startOwnManager(t, g, "restart")
	defer func() { mgr.stop(g) }()
	restart := func(step string) {
		t.Logf("restarting the manager after: %s", step)
		mgr.stop(g)
		mgr = startOwnManager(t, g, "restart")
	}

	oldRes := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, oldRes)
	createUserObjects(g, ns)
	before := userObjects(g, ns)
	g.Expect(before).To(HaveLen(3))
	restart("install")

	editTinkerbell(g, tb, atVersion("v0.25.0"))
	g.Eventually(func(g Gomega) {
		g.Expect(hrSuspended(g, oldRes)).To(BeTrue())
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradeSuspend))
	}, timeout, interval).Should(Succeed())
	g.Expect(getJob(g, ns, jobName(tb, "v0.25.0", migration.PreUpgrade))).To(BeNil(), "the Job waits until helm-controller saw the suspension")
	restart("installed release suspended")
	pre := waitPreJob(g, tb, "v0.19.0", "v0.25.0")
	restart("pre-upgrade Job created")
	g.Consistently(func(g Gomega) { g.Expect(getJob(g, ns, pre.Name).UID).To(Equal(pre.UID)) }, 500*time.Millisecond, interval).Should(Succeed())
	g.Expect(hrSuspended(g, oldRes)).To(BeTrue())

	finishJob(g, pre, true)
	restart("pre-upgrade Job succeeded")
	newRes := expectedObjects(g, atVersionCopy(tb, "v0.25.0"), values.Facts{})
	for _, u := range append(byComponent(newRes, render.ComponentCRDs), byComponent(newRes, render.ComponentChart, render.ComponentRelease)...) {
		if u.GetKind() == "HelmRelease" {
			restart("new sources and CRDs ready")
		}
		markReadyOnceCurrent(g, u)
	}
	post := waitJob(g, ns, jobName(tb, "v0.25.0", migration.PostUpgrade))
	restart("post-upgrade Job created")
	finishJob(g, post, true)
	restart("post-upgrade Job succeeded")

	got := waitReady(g, tb)
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	g.Expect(conditionOf(got, kubetinkv1alpha1.MigratedCondition)).To(HaveField("Reason", kubetinkv1alpha1.MigrationSucceededReason))
	steps, _ := migration.Plan("v0.19.0", "v0.25.0")
	g.Expect(got.Status.Migrations).To(HaveLen(len(steps)), "each step is recorded once, whatever the restarts")
	// The Jobs ran exactly once each: the same objects we finished.
	g.Expect(getJob(g, ns, pre.Name).UID).To(Equal(pre.UID))
	g.Expect(getJob(g, ns, post.Name).UID).To(Equal(post.UID))
	g.Expect(userObjects(g, ns)).To(Equal(before), "user objects: same count, same content")
}

// The legacy stack chart is replaced by the unified chart: its release is uninstalled (the HelmRelease deleted),
// the new one installed, the CRDs kept, and CRDs no release uses any more reported.
func TestTinkerbellReconciler_LegacyStackIsReinstalled(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join("testdata", "obsolete", "bmc.tinkerbell.org_baseboardmanagements.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(data, crd)).To(Succeed())
	g.Expect(client.IgnoreAlreadyExists(k8sClient.Create(context.Background(), crd))).To(Succeed())

	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("0.6.2"))
	create(t, g, tb)
	legacy := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, legacy)
	legacyHR := byKind(legacy, "HelmRelease")
	g.Expect(legacyHR.GetName()).To(Equal("site-stack"))
	hw := createHardware(t, g, ns)

	editTinkerbell(g, tb, atVersion("v0.19.0"))
	pre := waitPreJob(g, tb, "0.6.2", "v0.19.0")
	g.Expect(hrSuspended(g, legacy)).To(BeTrue(), "the legacy release is suspended while the pre-upgrade migrations run")
	finishJob(g, pre, true)

	// The legacy HelmRelease goes (helm-controller would uninstall the release), then the new one comes.
	g.Eventually(func(g Gomega) { g.Expect(live(g, legacyHR)).To(BeNil()) }, timeout, interval).Should(Succeed())
	got := finishUpgrade(t, g, tb, "0.6.2", "v0.19.0")
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.19.0"))
	post := getJob(g, ns, jobName(tb, "v0.19.0", migration.PostUpgrade))
	g.Expect(post.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--artifacts-file-server=http://192.168.2.11:7173"),
		"the legacy stack's Hook URLs move to spec.artifactsFileServer")
	g.Expect(got.Status.ObsoleteCRDs).To(ContainElement("baseboardmanagements.bmc.tinkerbell.org"))
	current := map[string]bool{}
	for _, u := range expectedObjects(g, got, values.Facts{}).Objects {
		current[u.GetKind()+"/"+u.GetName()] = true
	}
	for _, u := range legacy.Objects {
		if !current[u.GetKind()+"/"+u.GetName()] {
			g.Expect(live(g, u)).To(BeNil(), "legacy %s %s was not pruned", u.GetKind(), u.GetName())
		}
	}
	crdsPresent(g)
	g.Expect(live(g, hw)).NotTo(BeNil())
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Name: crd.Name}, &apiextensionsv1.CustomResourceDefinition{})).To(Succeed(),
		"an obsolete CRD is reported, never deleted")
	g.Expect(conditionOf(got, meta.ReadyCondition).Message).To(ContainSubstring("v0.19.0"))
}
