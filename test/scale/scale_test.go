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

// Package scale measures the operator at scale: many Tinkerbell objects (sites) against a real kube-apiserver,
// with the real kubetink binary running as its own process. Run with "make bench" (-benchtime=1x).
package scale

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	ctrl "sigs.k8s.io/controller-runtime"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/testutil"
)

// fluxKinds are the kinds Kubetink generates, by kind; the stand-in for Flux marks them ready.
var fluxKinds = map[string]schema.GroupVersionResource{
	"OCIRepository": {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "ocirepositories"},
	"GitRepository": {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"},
	"Kustomization": {Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"},
	"HelmRelease":   {Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"},
}

func BenchmarkScale(b *testing.B) {
	ctrl.SetLogger(logr.Discard()) // envtest logs through controller-runtime; the operator's own log is its process's
	bin := buildKubetink(b)
	for _, sites := range []int{50, 100, 200} {
		b.Run(fmt.Sprintf("sites=%d", sites), func(b *testing.B) {
			for range b.N {
				runScale(b, bin, sites)
			}
		})
	}
}

func buildKubetink(b *testing.B) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), "kubetink")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/kubetink")
	cmd.Dir = testutil.RepoRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, msg)
	}
	return out
}

func runScale(b *testing.B, bin string, sites int) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := testutil.Start(testutil.Options{FluxCRDs: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	go playFlux(ctx, b, dyn)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sites"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}

	metricsAddr := testutil.FreeAddr(b)
	op := exec.CommandContext(ctx, bin, "manager", "--kubeconfig", env.Kubeconfig, "--metrics-addr", metricsAddr,
		"--health-addr", testutil.FreeAddr(b), "--log-level", "error")
	op.Stdout, op.Stderr = io.Discard, os.Stderr
	if err := op.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = op.Process.Signal(os.Interrupt); _ = op.Wait() }()

	b.ResetTimer()
	start := time.Now()
	for i := range sites {
		tb := &kubetinkv1alpha1.Tinkerbell{
			ObjectMeta: metav1.ObjectMeta{Namespace: "sites", Name: fmt.Sprintf("site-%03d", i)},
			Spec: kubetinkv1alpha1.TinkerbellSpec{
				Version: "v0.25.0", TargetNamespace: fmt.Sprintf("tinkerbell-%03d", i),
				PublicIP:            kubetinkv1alpha1.IPv4Address(fmt.Sprintf("10.10.%d.%d", i/250, i%250+1)),
				ArtifactsFileServer: "http://10.20.0.1:7173",
				TrustedProxies:      []kubetinkv1alpha1.CIDR{"10.244.0.0/16"},
			},
		}
		if err := env.Client.Create(ctx, tb); err != nil {
			b.Fatal(err)
		}
	}
	for {
		list := &kubetinkv1alpha1.TinkerbellList{}
		if err := env.Client.List(ctx, list); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if conditions.IsReady(&list.Items[i]) && list.Items[i].Status.ObservedGeneration == list.Items[i].Generation {
				ready++
			}
		}
		if ready == sites {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d sites ready after 5 minutes", ready, sites)
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)

	requests := scrapeRequests(b, metricsAddr)
	b.ReportMetric(elapsed.Seconds(), "s-to-ready")
	b.ReportMetric(float64(requests)/float64(sites), "api-requests/site")
	b.ReportMetric(float64(peakRSS(b, op.Process.Pid))/1024, "peak-rss-MiB")
}

// playFlux stands in for the Flux controllers: it marks every generated object Ready for its current generation
// with the revisions they record (testutil.SetFluxRevisions). Like kustomize- and helm-controller, it reconciles
// a Kustomization or HelmRelease only once its source has an artifact, and again when that artifact appears.
func playFlux(ctx context.Context, b *testing.B, dyn dynamic.Interface) {
	b.Helper()
	events := make(chan *unstructured.Unstructured)
	for _, gvr := range fluxKinds {
		w, err := dyn.Resource(gvr).Namespace(metav1.NamespaceAll).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() == nil {
				b.Error(err)
			}
			return
		}
		defer w.Stop()
		go func() {
			for ev := range w.ResultChan() {
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
					select {
					case events <- u:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	getSource := func(kind, namespace, name string) (*unstructured.Unstructured, error) {
		u, err := dyn.Resource(fluxKinds[kind]).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return u, err
	}
	// waiting holds the objects whose source had no artifact yet, by the source's namespace/name.
	waiting := map[string][]*unstructured.Unstructured{}
	var reconcile func(u *unstructured.Unstructured)
	reconcile = func(u *unstructured.Unstructured) {
		gen := u.GetGeneration()
		changed := false
		if obs, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); obs != gen {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{
				"type": meta.ReadyCondition, "status": "True", "reason": meta.SucceededReason, "message": "ok",
				"observedGeneration": gen, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}}, "status", "conditions")
			_ = unstructured.SetNestedField(u.Object, gen, "status", "observedGeneration")
			changed = true
		}
		moved, err := testutil.SetFluxRevisions(u, getSource)
		if errors.Is(err, testutil.ErrNoArtifact) {
			ref := "sourceRef"
			if u.GetKind() == "HelmRelease" {
				ref = "chartRef"
			}
			name, _, _ := unstructured.NestedString(u.Object, "spec", ref, "name")
			key := u.GetNamespace() + "/" + name
			waiting[key] = append(waiting[key], u)
			return
		}
		if err != nil || (!changed && !moved) {
			return
		}
		if _, err := dyn.Resource(fluxKinds[u.GetKind()]).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
			return // a newer version follows as its own event
		}
		key := u.GetNamespace() + "/" + u.GetName()
		dependents := waiting[key]
		delete(waiting, key)
		for _, d := range dependents {
			if fresh, err := dyn.Resource(fluxKinds[d.GetKind()]).Namespace(d.GetNamespace()).Get(ctx, d.GetName(), metav1.GetOptions{}); err == nil {
				reconcile(fresh)
			}
		}
	}
	for {
		select {
		case u := <-events:
			reconcile(u)
		case <-ctx.Done():
			return
		}
	}
}

// scrapeRequests sums client-go's rest_client_requests_total from the operator's metrics endpoint: every request
// the operator sent to the apiserver, reads and writes, since it started.
func scrapeRequests(b *testing.B, addr string) int {
	b.Helper()
	resp, err := http.Get("http://" + addr + "/metrics") //nolint:gosec // loopback
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "rest_client_requests_total{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			total += v
		}
	}
	return int(total)
}

// peakRSS reads the peak resident set size (VmHWM, KiB) of a process.
func peakRSS(b *testing.B, pid int) int {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb
		}
	}
	return 0
}
