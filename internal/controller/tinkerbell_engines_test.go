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
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/internal/values"
	"github.com/kubetink/kubetink/test/upstreamcrds"
)

// engineEnv is a control plane of its own with only some engines' CRDs, and a manager running against it.
// Its dependency requeue is an hour: whatever happens within a test comes from a watch.
type engineEnv struct {
	env *testutil.Environment
	c   client.Client
}

func startEngineEnv(t *testing.T, g *WithT, opts testutil.Options) *engineEnv {
	t.Helper()
	return startEngineEnvWith(t, g, opts, cache.Options{})
}

// startEngineEnvWith is startEngineEnv with the manager's cache set up as given.
func startEngineEnvWith(t *testing.T, g *WithT, opts testutil.Options, cacheOpts cache.Options) *engineEnv {
	t.Helper()
	env, err := testutil.Start(opts)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Client.Scheme(), Metrics: metricsserver.Options{BindAddress: "0"}, Cache: cacheOpts})
	g.Expect(err).NotTo(HaveOccurred())
	r := &TinkerbellReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ControllerName: "kubetink",
		DependencyRequeueInterval: time.Hour, MigrationImage: "ghcr.io/kubetink/kubetink:test",
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.Expect(r.SetupWithManager(ctx, mgr, TinkerbellReconcilerOptions{MaxConcurrentReconciles: 2, SkipNameValidation: true})).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		g.Expect(<-done).To(Succeed(), "the manager stopped with an error")
	})
	g.Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue(), "the manager's caches did not sync")
	return &engineEnv{env: env, c: env.Client}
}

func (e *engineEnv) namespace(g *WithT) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tb-"}}
	g.Expect(e.c.Create(context.Background(), ns)).To(Succeed())
	return ns.Name
}

func (e *engineEnv) waitReason(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, condType, reason, msg string) {
	g.Eventually(func(g Gomega) {
		got := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(e.c.Get(context.Background(), key(tb), got)).To(Succeed())
		c := conditionOf(got, condType)
		g.Expect(c).To(And(HaveField("Reason", reason), HaveField("Message", ContainSubstring(msg))), "%s: %+v", condType, c)
	}, timeout, interval).Should(Succeed())
}

// installArgoCDCRD installs the Application CRD into a running control plane and waits until it is served.
func (e *engineEnv) installArgoCDCRD(g *WithT) {
	path, err := upstreamcrds.ArgoCDApplication(testutil.RepoRoot())
	g.Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(data, crd)).To(Succeed())
	g.Expect(e.c.Create(context.Background(), crd)).To(Succeed())
	g.Eventually(func(g Gomega) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(applicationGVK.GroupVersion().WithKind("ApplicationList"))
		g.Expect(e.c.List(context.Background(), list)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

// driveArgoToReady plays Argo CD in the environment; only the watch on Applications brings the reconciler back.
// A Tinkerbell beside another site renders what its status says: the primary's site applies the CRDs.
func (e *engineEnv) driveArgoToReady(g *WithT, tb *kubetinkv1alpha1.Tinkerbell) {
	got := &kubetinkv1alpha1.Tinkerbell{}
	g.Eventually(func(g Gomega) {
		g.Expect(e.c.Get(context.Background(), key(tb), got)).To(Succeed())
		g.Expect(got.Status.Inventory).NotTo(BeNil(), "nothing applied yet")
	}, timeout, interval).Should(Succeed())
	res := expectedObjects(g, tb, values.Facts{PrimarySite: got.Status.PrimarySite})
	for _, u := range res.Objects {
		markAppHealthyWith(e.c, g, u)
	}
	e.waitReason(g, tb, meta.ReadyCondition, meta.ReconciliationSucceededReason, "is ready")
}

// A cluster with Flux only: the manager starts and installs with Flux; an ArgoCD Tinkerbell waits for Argo CD,
// and once its Application CRD is installed, the Applications are created and watched without a restart.
func TestTinkerbellReconciler_FluxOnlyCluster(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := startEngineEnv(t, g, testutil.Options{FluxCRDs: true, TinkerbellCRDs: tinkerbellCRDs})

	ns := e.namespace(g)
	flux := newTinkerbell(ns, "flux", withPublicIP("192.168.3.10"))
	g.Expect(e.c.Create(context.Background(), flux)).To(Succeed())
	hr := byKind(expectedObjects(g, flux, values.Facts{}), "HelmRelease")
	g.Eventually(func(g Gomega) {
		g.Expect(liveWith(e.c, g, byKind(expectedObjects(g, flux, values.Facts{}), "Kustomization"))).NotTo(BeNil())
	}, timeout, interval).Should(Succeed())
	g.Expect(liveWith(e.c, g, hr)).To(BeNil(), "the HelmRelease waits for the CRDs")

	argoNS := e.namespace(g)
	argo := newTinkerbell(ns, "argo", onArgoCD(argoNS), withPublicIP("192.168.4.10"))
	g.Expect(e.c.Create(context.Background(), argo)).To(Succeed())
	e.waitReason(g, argo, meta.ReadyCondition, kubetinkv1alpha1.EngineNotInstalledReason, "Argo CD is not installed")

	e.installArgoCDCRD(g)
	// A spec change brings the waiting Tinkerbell back (its requeue is an hour away).
	g.Expect(e.c.Get(context.Background(), key(argo), argo)).To(Succeed())
	argo.Spec.Interval = &metav1.Duration{Duration: 5 * time.Minute}
	g.Expect(e.c.Update(context.Background(), argo)).To(Succeed())
	e.driveArgoToReady(g, argo)
}

// A cluster with Argo CD only: the manager starts without the Flux CRDs and installs with Argo CD; a Flux
// Tinkerbell says what is missing.
func TestTinkerbellReconciler_ArgoCDOnlyCluster(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := startEngineEnv(t, g, testutil.Options{TinkerbellCRDs: tinkerbellCRDs, ArgoCDCRDs: true})

	ns, argoNS := e.namespace(g), e.namespace(g)
	argo := newTinkerbell(ns, "argo", onArgoCD(argoNS))
	g.Expect(e.c.Create(context.Background(), argo)).To(Succeed())
	e.driveArgoToReady(g, argo)
	got := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(e.c.Get(context.Background(), key(argo), got)).To(Succeed())
	g.Expect(got.Status.Components).To(HaveEach(HaveField("Kind", render.ApplicationKind)))

	flux := newTinkerbell(ns, "flux", withPublicIP("192.168.3.10"))
	g.Expect(e.c.Create(context.Background(), flux)).To(Succeed())
	// The second site takes the CRDs from the first, so the first kind it misses is the chart's source.
	e.waitReason(g, flux, meta.ReadyCondition, kubetinkv1alpha1.EngineNotInstalledReason, "does not serve OCIRepository.source.toolkit.fluxcd.io")
}

// An upgrade blocked by a running Workflow goes ahead as soon as the Workflow finishes: the requeue is an hour
// away, so only the watch Kubetink starts on Workflows while an upgrade waits brings it back.
func TestTinkerbellReconciler_BlockedUpgradeGoesAheadWhenTheWorkflowFinishes(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := startEngineEnv(t, g, testutil.Options{TinkerbellCRDs: tinkerbellCRDs, ArgoCDCRDs: true})
	ns, argoNS := e.namespace(g), e.namespace(g)
	tb := newTinkerbell(ns, "site", onArgoCD(argoNS), atVersion("v0.24.0"), servingItsNamespace)
	g.Expect(e.c.Create(context.Background(), tb)).To(Succeed())
	e.driveArgoToReady(g, tb)

	wf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "tinkerbell.org/v1alpha1", "kind": "Workflow",
		"metadata": map[string]any{"namespace": ns, "name": "provision-node-7"},
		"spec":     map[string]any{"templateRef": "ubuntu", "hardwareRef": "node-7"},
	}}
	g.Expect(e.c.Create(context.Background(), wf)).To(Succeed())
	g.Expect(unstructured.SetNestedField(wf.Object, "RUNNING", "status", "state")).To(Succeed())
	g.Expect(e.c.Status().Update(context.Background(), wf)).To(Succeed())
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.c.Get(context.Background(), key(tb), tb); err != nil {
			return err
		}
		tb.Spec.Version = "v0.25.0"
		return e.c.Update(context.Background(), tb)
	})).To(Succeed())
	e.waitReason(g, tb, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.UpgradeBlockedReason, "Workflow "+ns+"/provision-node-7")

	// The Workflow finishes; nothing else changes.
	g.Expect(unstructured.SetNestedField(wf.Object, "SUCCESS", "status", "state")).To(Succeed())
	g.Expect(e.c.Status().Update(context.Background(), wf)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(e.c.Get(context.Background(), key(tb), got)).To(Succeed())
		g.Expect(got.Status.Upgrade).NotTo(HaveField("Phase", kubetinkv1alpha1.UpgradePreflight), "the preflight passed")
		g.Expect(conditionOf(got, kubetinkv1alpha1.MigratedCondition)).NotTo(HaveField("Reason", kubetinkv1alpha1.UpgradeBlockedReason))
	}, timeout, interval).Should(Succeed())
}
