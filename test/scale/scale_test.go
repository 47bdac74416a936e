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
// with the real kubetink binary running as its own process. Run with "make bench" (-benchtime=1x); SCALE_SITES
// chooses the sizes (see siteCounts). Besides the reported figures, each size logs the requests by verb and
// resource that reached the apiserver, the reconciliations by result and the CPU seconds of each process.
package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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
	"k8s.io/client-go/rest"
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
	for _, sites := range siteCounts(b) {
		b.Run(fmt.Sprintf("sites=%d", sites), func(b *testing.B) {
			for range b.N {
				runScale(b, bin, sites)
			}
		})
	}
}

// siteCounts returns the sizes to measure: $SCALE_SITES, comma-separated, or 50 and 200 so that make bench stays
// quick. SCALE_SITES=50,200,1000 adds the thousand-site run, which takes a few minutes more.
func siteCounts(b *testing.B) []int {
	b.Helper()
	env := os.Getenv("SCALE_SITES")
	if env == "" {
		return []int{50, 200}
	}
	var out []int
	for f := range strings.SplitSeq(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("SCALE_SITES=%q: want positive numbers separated by commas", env)
		}
		out = append(out, n)
	}
	return out
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

	apiBefore := scrape(b, apiserverMetrics(b, env.Config), "apiserver_request_total", "verb", "resource", "subresource")
	cpuBefore := cpuTimes(op.Process.Pid)

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
	created := time.Since(start)
	var half time.Duration
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
		if half == 0 && ready >= sites/2 {
			half = time.Since(start)
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
	b.StopTimer()

	cpuAfter := cpuTimes(op.Process.Pid)
	opMetrics := scrapeURL(b, "http://"+metricsAddr+"/metrics")
	requests := scrape(b, opMetrics, "rest_client_requests_total", "method")
	passes := scrape(b, opMetrics, "controller_runtime_reconcile_total", "controller", "result")
	apiAfter := scrape(b, apiserverMetrics(b, env.Config), "apiserver_request_total", "verb", "resource", "subresource")
	b.ReportMetric(elapsed.Seconds(), "s-to-ready")
	b.ReportMetric(requests.total()/float64(sites), "api-requests/site")
	b.ReportMetric(float64(peakRSS(b, op.Process.Pid))/1024, "peak-rss-MiB")
	b.ReportMetric(passes.total()/float64(sites), "passes/site")

	b.Logf("%d sites: created in %.1fs, half ready at %.1fs, all at %.1fs", sites, created.Seconds(), half.Seconds(), elapsed.Seconds())
	b.Logf("operator requests/site by method: %s", requests.perSite(sites, nil))
	b.Logf("operator passes/site by result: %s", passes.perSite(sites, nil))
	b.Logf("apiserver requests/site by verb, resource (operator and the Flux stand-in): %s", apiAfter.perSite(sites, apiBefore))
	b.Logf("CPU seconds: %s", cpuAfter.sub(cpuBefore))
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

// series are the values of one metric summed by some of its labels.
type series map[string]float64

func (s series) total() float64 {
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t
}

// perSite lists the series, less before, per site, largest first.
func (s series) perSite(sites int, before series) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		if s[k]-before[k] >= 0.05*float64(sites) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return s[keys[i]]-before[keys[i]] > s[keys[j]]-before[keys[j]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.1f", k, (s[k]-before[k])/float64(sites)))
	}
	return strings.Join(parts, " ")
}

func scrapeURL(b *testing.B, url string) string {
	b.Helper()
	resp, err := http.Get(url) //nolint:gosec // loopback
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// apiserverMetrics returns the apiserver's metrics, read as its administrator.
func apiserverMetrics(b *testing.B, cfg *rest.Config) string {
	b.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// scrape sums a counter from the Prometheus text format by the values of some of its labels. The operator's
// rest_client_requests_total counts every request it sent to the apiserver, reads and writes, since it started.
func scrape(b *testing.B, text, name string, labels ...string) series {
	b.Helper()
	out := series{}
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		end := strings.LastIndex(line, "}")
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		set := map[string]string{}
		for pair := range strings.SplitSeq(line[len(name)+1:end], ",") {
			if k, val, ok := strings.Cut(pair, "="); ok {
				set[k] = strings.Trim(val, `"`)
			}
		}
		var key []string
		for _, l := range labels {
			if set[l] != "" {
				key = append(key, set[l])
			}
		}
		out[strings.Join(key, "/")] += v
	}
	return out
}

// cpu are CPU seconds by process.
type cpu map[string]float64

// cpuTimes reads the CPU time of the operator, of the apiserver and etcd (children of this process) and of this
// process (the harness and the Flux stand-in).
func cpuTimes(operator int) cpu {
	out := cpu{"kubetink": procCPU(operator)}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		comm := string(data[strings.IndexByte(string(data), '(')+1 : strings.LastIndexByte(string(data), ')')])
		f := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
		if ppid, _ := strconv.Atoi(f[1]); ppid == os.Getpid() && (comm == "kube-apiserver" || comm == "etcd") {
			out[comm] = procCPU(pid)
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		out["harness"] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return out
}

// procCPU is a process's user and system time in seconds (clock ticks of 1/100 s).
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

func (c cpu) sub(before cpu) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.1f", k, c[k]-before[k]))
	}
	return strings.Join(parts, " ")
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
