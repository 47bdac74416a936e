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
//
// Knobs for investigating (all off by default): SCALE_MANAGER_ARGS adds manager flags, SCALE_KUBETINK runs a
// kubetink binary built elsewhere, SCALE_FLUX_DELAY slows the Flux stand-in down, SCALE_PROFILE_DIR writes CPU
// profiles of the manager and the apiserver.
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// buildKubetink builds the binary of this tree, or returns $SCALE_KUBETINK, a kubetink binary built elsewhere (to
// measure another revision with this harness).
func buildKubetink(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("SCALE_KUBETINK"); bin != "" {
		return bin
	}
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
	flux := newFluxStandIn(b, dynamic.NewForConfigOrDie(env.Config))
	if err := flux.start(ctx); err != nil {
		b.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sites"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}

	metricsAddr, pprofAddr := testutil.FreeAddr(b), testutil.FreeAddr(b)
	args := []string{"manager", "--kubeconfig", env.Kubeconfig, "--metrics-addr", metricsAddr,
		"--health-addr", testutil.FreeAddr(b), "--log-level", "error"}
	profileDir := os.Getenv("SCALE_PROFILE_DIR")
	if profileDir != "" {
		args = append(args, "--pprof-addr", pprofAddr)
	}
	// SCALE_MANAGER_ARGS adds flags to try, e.g. "--concurrent=8 --kube-api-qps=100".
	op := exec.CommandContext(ctx, bin, append(args, strings.Fields(os.Getenv("SCALE_MANAGER_ARGS"))...)...)
	op.Stdout, op.Stderr = io.Discard, os.Stderr
	if err := op.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = op.Process.Signal(os.Interrupt); _ = op.Wait() }()

	ready, err := watchReady(ctx, env.Config, env.Client.Scheme())
	if err != nil {
		b.Fatal(err)
	}
	apiText := apiserverMetrics(b, env.Config)
	apiBefore := scrape(b, apiText, "apiserver_request_total", "verb", "resource", "subresource")
	apiTimeBefore := scrape(b, apiText, "apiserver_request_duration_seconds_sum", "verb", "resource", "subresource")
	etcdBefore := scrape(b, apiText, "etcd_request_duration_seconds_sum", "operation", "type")
	etcdCountBefore := scrape(b, apiText, "etcd_request_duration_seconds_count", "operation", "type")
	cpuBefore := cpuTimes(op.Process.Pid)

	b.ResetTimer()
	start := time.Now()
	if profileDir != "" {
		go profile(ctx, b, env.Config, "http://"+pprofAddr, filepath.Join(profileDir, fmt.Sprintf("sites-%d", sites)))
	}
	// A few creators at once, like a GitOps tool applying a directory of sites: one at a time, the creations
	// would queue behind the operator's requests and measure the harness rather than the operator.
	var (
		creators  sync.WaitGroup
		createErr error
		once      sync.Once
	)
	next := make(chan int)
	for range siteCreators {
		creators.Go(func() {
			for i := range next {
				if err := env.Client.Create(ctx, site(i)); err != nil {
					once.Do(func() { createErr = err })
				}
			}
		})
	}
	for i := range sites {
		next <- i
	}
	close(next)
	creators.Wait()
	if createErr != nil {
		b.Fatal(createErr)
	}
	created := time.Since(start)
	var half time.Duration
	deadline := time.After(5 * time.Minute)
	for n := 0; n < sites; {
		select {
		case n = <-ready:
			if half == 0 && n >= sites/2 {
				half = time.Since(start)
			}
		case <-deadline:
			b.Fatalf("only %d of %d sites ready after 5 minutes; the others' Ready reasons: %s", n, sites, notReadyReasons(ctx, b, env))
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()

	cpuAfter := cpuTimes(op.Process.Pid)
	opMetrics := scrapeURL(b, "http://"+metricsAddr+"/metrics")
	requests := scrape(b, opMetrics, "rest_client_requests_total", "method")
	passes := scrape(b, opMetrics, "controller_runtime_reconcile_total", "controller", "result")
	apiText = apiserverMetrics(b, env.Config)
	apiAfter := scrape(b, apiText, "apiserver_request_total", "verb", "resource", "subresource")
	apiTime := scrape(b, apiText, "apiserver_request_duration_seconds_sum", "verb", "resource", "subresource")
	etcdTime := scrape(b, apiText, "etcd_request_duration_seconds_sum", "operation", "type")
	etcdCount := scrape(b, apiText, "etcd_request_duration_seconds_count", "operation", "type")
	b.ReportMetric(elapsed.Seconds(), "s-to-ready")
	b.ReportMetric(requests.total()/float64(sites), "api-requests/site")
	b.ReportMetric(float64(peakRSS(b, op.Process.Pid))/1024, "peak-rss-MiB")
	b.ReportMetric(passes.total()/float64(sites), "passes/site")

	b.Logf("%d sites: created in %.1fs, half ready at %.1fs, all at %.1fs", sites, created.Seconds(), half.Seconds(), elapsed.Seconds())
	b.Logf("operator requests/site by method: %s; waited %.1f s in all for the client-side rate limits", requests.perSite(sites, nil),
		scrape(b, opMetrics, "rest_client_rate_limiter_duration_seconds_sum").total())
	b.Logf("operator passes/site by result: %s; mean pass %.0f ms after %.0f ms in the queue", passes.perSite(sites, nil),
		1000*scrape(b, opMetrics, "controller_runtime_reconcile_time_seconds_sum").total()/passes.total(),
		1000*scrape(b, opMetrics, "workqueue_queue_duration_seconds_sum").total()/scrape(b, opMetrics, "workqueue_queue_duration_seconds_count").total())
	b.Logf("apiserver requests/site by verb, resource (operator and the Flux stand-in): %s", apiAfter.perSite(sites, apiBefore))
	b.Logf("apiserver mean latency (ms) by verb, resource: %s", apiTime.mean(apiAfter, apiTimeBefore, apiBefore, sites))
	b.Logf("etcd requests/site by operation, type: %s; mean latency (ms): %s", etcdCount.perSite(sites, etcdCountBefore),
		etcdTime.mean(etcdCount, etcdBefore, etcdCountBefore, sites))
	b.Logf("CPU seconds: %s", cpuAfter.sub(cpuBefore))
}

// notReadyReasons counts the Ready reasons of the Tinkerbells that are not Ready, for a harness that gives up.
func notReadyReasons(ctx context.Context, b *testing.B, env *testutil.Environment) string {
	b.Helper()
	list := &kubetinkv1alpha1.TinkerbellList{}
	if err := env.Client.List(ctx, list); err != nil {
		return err.Error()
	}
	count := map[string]int{}
	example := map[string]string{}
	for i := range list.Items {
		c := apimeta.FindStatusCondition(list.Items[i].Status.Conditions, meta.ReadyCondition)
		switch {
		case c == nil:
			count["none"]++
		case c.Status != metav1.ConditionTrue:
			count[c.Reason]++
			example[c.Reason] = list.Items[i].Name + ": " + c.Message
		}
	}
	return fmt.Sprintf("%v, for example %v", count, example)
}

// siteCreators is how many sites the harness creates at the same time.
const siteCreators = 8

// site returns the i-th Tinkerbell, each with its own target namespace (the only one it serves: the sites of
// one cluster) and public IP. The first is the primary: it alone applies the CRDs.
func site(i int) *kubetinkv1alpha1.Tinkerbell {
	return &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sites", Name: fmt.Sprintf("site-%03d", i)},
		Spec: kubetinkv1alpha1.TinkerbellSpec{
			Version: "v0.25.0", TargetNamespace: fmt.Sprintf("tinkerbell-%03d", i), Scope: kubetinkv1alpha1.ScopeNamespace,
			PublicIP:            kubetinkv1alpha1.IPv4Address(fmt.Sprintf("10.10.%d.%d", i/250, i%250+1)),
			ArtifactsFileServer: "http://10.20.0.1:7173",
			TrustedProxies:      []kubetinkv1alpha1.CIDR{"10.244.0.0/16"},
		},
	}
}

// fluxKey names one Flux object.
type fluxKey struct{ kind, namespace, name string }

// fluxStandIn stands in for the Flux controllers: it marks every generated object Ready for its current generation
// with the revisions they record (testutil.SetFluxRevisions). Like kustomize- and helm-controller, it reconciles
// a Kustomization or HelmRelease only once its source has an artifact, and again when that artifact appears.
// Like them it works from watches (an informer-like store of the latest objects, no GET per object) with a few
// workers on a queue that handles each object by one worker at a time, so it keeps up with the operator.
//
// It answers as soon as it can unless given a delay (SCALE_FLUX_DELAY, e.g. 2s): then an object is marked only once
// its current generation is that old, as a fetch or an install takes time. Answering at once hides what the
// operator does in the meantime (the passes its own writes start).
type fluxStandIn struct {
	dyn   dynamic.Interface
	queue workqueue.TypedDelayingInterface[fluxKey]
	delay time.Duration

	mu sync.Mutex
	// objects are the latest versions seen, from the watches or from this stand-in's writes.
	objects map[fluxKey]*unstructured.Unstructured
	// waiting holds the objects whose source had no artifact yet, by source.
	waiting map[fluxKey][]fluxKey
	// since is when each object's current generation was first seen.
	since map[fluxKey]time.Time
}

func newFluxStandIn(b *testing.B, dyn dynamic.Interface) *fluxStandIn {
	b.Helper()
	var delay time.Duration
	if env := os.Getenv("SCALE_FLUX_DELAY"); env != "" {
		var err error
		if delay, err = time.ParseDuration(env); err != nil {
			b.Fatalf("SCALE_FLUX_DELAY: %v", err)
		}
	}
	return &fluxStandIn{dyn: dyn, queue: workqueue.NewTypedDelayingQueue[fluxKey](), delay: delay,
		objects: map[fluxKey]*unstructured.Unstructured{}, waiting: map[fluxKey][]fluxKey{}, since: map[fluxKey]time.Time{}}
}

// fluxWorkers is how many objects the stand-in reconciles at the same time (each Flux controller runs 4).
const fluxWorkers = 8

// start watches the Flux kinds and runs the workers until ctx ends.
func (f *fluxStandIn) start(ctx context.Context) error {
	for kind, gvr := range fluxKinds {
		w, err := f.dyn.Resource(gvr).Namespace(metav1.NamespaceAll).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
					f.observe(kind, u)
				}
			}
		}()
	}
	go func() { <-ctx.Done(); f.queue.ShutDown() }()
	for range fluxWorkers {
		go func() {
			for {
				key, shutdown := f.queue.Get()
				if shutdown {
					return
				}
				f.reconcile(ctx, key)
				f.queue.Done(key)
			}
		}()
	}
	return nil
}

// observe stores u unless a newer version is stored already, and queues it and the objects waiting for it.
func (f *fluxStandIn) observe(kind string, u *unstructured.Unstructured) {
	key := fluxKey{kind, u.GetNamespace(), u.GetName()}
	f.mu.Lock()
	if old, ok := f.objects[key]; !ok || resourceVersion(u) > resourceVersion(old) {
		if !ok || old.GetGeneration() != u.GetGeneration() {
			f.since[key] = time.Now()
		}
		f.objects[key] = u
	}
	dependents := f.waiting[key]
	delete(f.waiting, key)
	f.mu.Unlock()
	f.queue.Add(key)
	for _, d := range dependents {
		f.queue.Add(d)
	}
}

func resourceVersion(u *unstructured.Unstructured) uint64 {
	v, _ := strconv.ParseUint(u.GetResourceVersion(), 10, 64)
	return v
}

// reconcile marks one object Ready for its generation, with its revisions, as the Flux controllers do.
func (f *fluxStandIn) reconcile(ctx context.Context, key fluxKey) {
	f.mu.Lock()
	stored, ok := f.objects[key]
	if !ok {
		f.mu.Unlock()
		return
	}
	u := stored.DeepCopy()
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
	// The sources are read from the store under the same lock that registers a waiting object, so an artifact
	// written meanwhile either is seen here or finds this object waiting.
	moved, err := testutil.SetFluxRevisions(u, func(kind, namespace, name string) (*unstructured.Unstructured, error) {
		return f.objects[fluxKey{kind, namespace, name}], nil
	})
	if errors.Is(err, testutil.ErrNoArtifact) {
		source := fluxKey{kind: "GitRepository", namespace: key.namespace}
		source.name, _, _ = unstructured.NestedString(u.Object, "spec", "sourceRef", "name")
		if key.kind == "HelmRelease" {
			source.kind, _, _ = unstructured.NestedString(u.Object, "spec", "chartRef", "kind")
			source.name, _, _ = unstructured.NestedString(u.Object, "spec", "chartRef", "name")
		}
		f.waiting[source] = append(f.waiting[source], key)
	}
	wait := f.delay - time.Since(f.since[key])
	f.mu.Unlock()
	if err != nil || (!changed && !moved) {
		return
	}
	if wait > 0 {
		f.queue.AddAfter(key, wait)
		return
	}
	written, err := f.dyn.Resource(fluxKinds[key.kind]).Namespace(key.namespace).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return // a newer version follows as its own event
	}
	f.mu.Lock()
	if resourceVersion(written) > resourceVersion(f.objects[key]) {
		f.objects[key] = written
	}
	dependents := f.waiting[key]
	delete(f.waiting, key)
	f.mu.Unlock()
	for _, d := range dependents {
		f.queue.Add(d)
	}
}

// watchReady watches the Tinkerbells and sends the number that are Ready for their generation on every change.
func watchReady(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) (<-chan int, error) {
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	w, err := c.Watch(ctx, &kubetinkv1alpha1.TinkerbellList{})
	if err != nil {
		return nil, err
	}
	out := make(chan int, 1)
	go func() {
		defer w.Stop()
		ready := map[string]bool{}
		for ev := range w.ResultChan() {
			tb, ok := ev.Object.(*kubetinkv1alpha1.Tinkerbell)
			if !ok {
				continue
			}
			was := ready[tb.Name]
			ready[tb.Name] = ev.Type != watch.Deleted && conditions.IsReady(tb) && tb.Status.ObservedGeneration == tb.Generation
			if was == ready[tb.Name] {
				continue
			}
			n := 0
			for _, r := range ready {
				if r {
					n++
				}
			}
			select { // only the latest count matters
			case <-out:
			default:
			}
			out <- n
		}
	}()
	return out, nil
}

// profile writes CPU profiles of the operator and the apiserver, 20 seconds each taken at the same time from 2
// seconds in, into dir (kubetink.pprof, kube-apiserver.pprof): SCALE_PROFILE_DIR turns it on.
func profile(ctx context.Context, b *testing.B, cfg *rest.Config, operator, dir string) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		b.Error(err)
		return
	}
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return
	}
	apiserver, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Error(err)
		return
	}
	var wg sync.WaitGroup
	for name, get := range map[string]func() (*http.Response, error){
		"kubetink": func() (*http.Response, error) { return http.Get(operator + "/debug/pprof/profile?seconds=20") },
		"kube-apiserver": func() (*http.Response, error) {
			return apiserver.Get(strings.TrimSuffix(cfg.Host, "/") + "/debug/pprof/profile?seconds=20")
		},
	} {
		wg.Go(func() {
			resp, err := get()
			if err != nil {
				b.Logf("profile %s: %v", name, err)
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, name+".pprof"), data, 0o600)
			}
			if err != nil {
				b.Logf("profile %s: %v", name, err)
			}
		})
	}
	wg.Wait()
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

// mean lists the mean of the series (sums of seconds) per count, in milliseconds, for the keys counted at least
// 0.05 times per site, largest total first.
func (s series) mean(count, before, countBefore series, sites int) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		if count[k]-countBefore[k] >= 0.05*float64(sites) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return s[keys[i]]-before[keys[i]] > s[keys[j]]-before[keys[j]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.1f", k, 1000*(s[k]-before[k])/(count[k]-countBefore[k])))
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
	// The whole machine's busy time, to see how much went to processes outside this run.
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0]) // cpu user nice system idle iowait irq softirq steal
		for i, v := range f[1:] {
			if n, err := strconv.ParseFloat(v, 64); err == nil && i != 3 && i != 4 && i < 8 {
				out["machine"] += n / 100
			}
		}
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

// sub lists the CPU seconds used since before by process, and by everything else on the machine ("other": a busy
// neighbour makes the figures of a run unreliable).
func (c cpu) sub(before cpu) string {
	keys := make([]string, 0, len(c))
	other := c["machine"] - before["machine"]
	for k := range c {
		if k != "machine" {
			keys = append(keys, k)
			other -= c[k] - before[k]
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.1f", k, c[k]-before[k]))
	}
	return strings.Join(append(parts, fmt.Sprintf("other=%.1f", max(other, 0))), " ")
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
