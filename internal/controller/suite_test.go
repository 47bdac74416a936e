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
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/testutil"
)

var (
	testEnv *testutil.Environment
	// k8sClient reads and writes the apiserver directly, as a user or Flux would.
	k8sClient client.Client
	// watchClient watches objects for the benchmarks.
	watchClient client.WithWatch
	// mgrClient is the manager's cache-backed client, with the field indexes the reconciler uses.
	mgrClient client.Client
	// writes counts the write requests the running reconciler sends.
	writes = &atomic.Int64{}
	// testReconciler is the reconciler the running manager uses.
	testReconciler *TinkerbellReconciler
)

const (
	timeout  = 20 * time.Second
	interval = 50 * time.Millisecond
	// tinkerbellCRDs is the Tinkerbell release whose upstream CRDs the control plane serves (test/upstreamcrds).
	tinkerbellCRDs = "v0.25.0"
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	var err error
	testEnv, err = testutil.Start(testutil.Options{FluxCRDs: true, TinkerbellCRDs: tinkerbellCRDs, ArgoCDCRDs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = testEnv.Stop() }()
	k8sClient = testEnv.Client
	if watchClient, err = client.NewWithWatch(testEnv.Config, client.Options{Scheme: k8sClient.Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	mgr, err := ctrl.NewManager(testEnv.Config, ctrl.Options{
		Scheme:  k8sClient.Scheme(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Tinkerbells labelled for a test's own manager (see the restart test) are not this manager's. Jobs are
		// cached as cmd/kubetink caches them: only those labelled as Kubetink's.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&kubetinkv1alpha1.Tinkerbell{}: {Label: labels.NewSelector().Add(ownManagerRequirement(selection.DoesNotExist))},
			&batchv1.Job{}:                 {Label: labels.SelectorFromSet(labels.Set{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy})},
		}},
		NewClient: func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.New(cfg, opts)
			return &countingClient{Client: c, writes: writes}, err
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testReconciler = &TinkerbellReconciler{
		Client:                    mgr.GetClient(),
		APIReader:                 mgr.GetAPIReader(),
		EventRecorder:             mgr.GetEventRecorder("kubetink"),
		ControllerName:            "kubetink",
		DependencyRequeueInterval: 2 * time.Second,
		MigrationImage:            "ghcr.io/kubetink/kubetink:test",
	}
	if err := testReconciler.SetupWithManager(ctx, mgr, TinkerbellReconcilerOptions{MaxConcurrentReconciles: 4}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgrClient = mgr.GetClient()
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		fmt.Fprintln(os.Stderr, "cache did not sync")
		return 1
	}
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

func zapLevel() zapcore.Level {
	if os.Getenv("KUBETINK_TEST_DEBUG") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel + 1 // quiet: terminal errors are expected outcomes in several tests
}

// countingClient counts every request that writes to the apiserver.
type countingClient struct {
	client.Client
	writes *atomic.Int64
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.writes.Add(1)
	return c.Client.Create(ctx, obj, opts...)
}

func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.writes.Add(1)
	return c.Client.Update(ctx, obj, opts...)
}

func (c *countingClient) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
	c.writes.Add(1)
	return c.Client.Patch(ctx, obj, p, opts...)
}

func (c *countingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	c.writes.Add(1)
	return c.Client.Apply(ctx, obj, opts...)
}

func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.writes.Add(1)
	return c.Client.Delete(ctx, obj, opts...)
}

func (c *countingClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	c.writes.Add(1)
	return c.Client.DeleteAllOf(ctx, obj, opts...)
}

func (c *countingClient) Status() client.SubResourceWriter {
	return &countingStatusWriter{SubResourceWriter: c.Client.Status(), writes: c.writes}
}

type countingStatusWriter struct {
	client.SubResourceWriter
	writes *atomic.Int64
}

func (w *countingStatusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	w.writes.Add(1)
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

func (w *countingStatusWriter) Patch(ctx context.Context, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	w.writes.Add(1)
	return w.SubResourceWriter.Patch(ctx, obj, p, opts...)
}

func (w *countingStatusWriter) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	w.writes.Add(1)
	return w.SubResourceWriter.Apply(ctx, obj, opts...)
}

// ownManagerLabel marks Tinkerbells reconciled by a test's own manager instead of the suite's.
const ownManagerLabel = "kubetink.io/test-manager"

func ownManagerRequirement(op selection.Operator, values ...string) labels.Requirement {
	req, err := labels.NewRequirement(ownManagerLabel, op, values)
	if err != nil {
		panic(err)
	}
	return *req
}
