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

// Package migrationscale measures "kubetink migrate" on a fleet: the real kubetink binary, run as its own
// process the way the migration Job runs it, migrates thousands of Hardware, Templates, Workflows and bmc Jobs
// through a v0.21.0 → v0.25.0 upgrade against a real kube-apiserver and etcd with Tinkerbell's upstream CRDs
// (the from-release's before the pre-upgrade phase, the to-release's before the post-upgrade phase), and then
// restores them from the backups. Every object must come back as it was.
//
// "make bench-migrate" runs BenchmarkMigrate: MIGRATE_OBJECTS objects (default 10000), MIGRATE_RUNS times (default
// 3) on a fresh control plane each, printing FIGURE lines (objects, wall seconds, peak RSS of the migrate process,
// its CPU seconds, the apiserver requests it made, the machine's load and the CPU others used meanwhile) per step
// and run, and the best and the median over the runs. MIGRATE_KUBETINK measures a kubetink binary built elsewhere
// (another revision), MIGRATE_ARGS adds flags to every kubetink migrate, MIGRATE_PROFILE_DIR writes a CPU profile of
// the apiserver during each step (its first 15 seconds). TestMigrate runs the same with a few hundred objects in
// "make test".
package migrationscale

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/testutil"
)

var (
	configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	crds       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	// kinds are the kinds of the fleet, in the order they are created.
	kinds = []migration.Target{migration.Templates, migration.Hardware, migration.Workflows, migration.BMCJobs}
	// oldPorts matches a URL on Tinkerbell's address on a port that v0.23.0 retired (Smee 7171, Tootles 7172).
	oldPorts = regexp.MustCompile(`https?://(` + regexp.QuoteMeta(publicIP) + `|` + regexp.QuoteMeta(tinkHostName) + `):(7171|7172)\b`)
)

func BenchmarkMigrate(b *testing.B) {
	ctrl.SetLogger(logr.Discard()) // envtest logs through controller-runtime
	bins := buildBinaries(b)
	objects, runs := envInt(b, "MIGRATE_OBJECTS", 10000), envInt(b, "MIGRATE_RUNS", 3)
	for range b.N {
		var all []result
		for run := 1; run <= runs; run++ {
			all = append(all, runFleet(b, bins, objects, run))
		}
		summarize(b, all)
	}
}

// TestMigrate runs the harness on a small fleet, so that make test keeps it working, and checks what the
// benchmark only reports: the backups are packed, many objects to a ConfigMap.
func TestMigrate(t *testing.T) {
	ctrl.SetLogger(logr.Discard())
	r := runFleet(t, buildBinaries(t), 400, 1)
	if r.backups == 0 || r.backups > r.changed/10 {
		t.Errorf("%d objects changed were backed up into %d ConfigMaps; want them packed, at least 10 to a ConfigMap", r.changed, r.backups)
	}
}

func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// binaries are the programs a run starts.
type binaries struct {
	// kubetink is the binary measured.
	kubetink string
	// maxrss runs it and reports its peak RSS (see test/migrationscale/maxrss).
	maxrss string
}

// buildBinaries builds kubetink from this tree (or takes $MIGRATE_KUBETINK) and the maxrss helper.
func buildBinaries(tb testing.TB) binaries {
	tb.Helper()
	dir := tb.TempDir()
	build := func(pkg, out string) string {
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
		cmd.Dir = testutil.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
		return out
	}
	bins := binaries{kubetink: os.Getenv("MIGRATE_KUBETINK"), maxrss: build("./test/migrationscale/maxrss", filepath.Join(dir, "maxrss"))}
	if bins.kubetink == "" {
		bins.kubetink = build("./cmd/kubetink", filepath.Join(dir, "kubetink"))
	}
	return bins
}

// step is what one run of "kubetink migrate" cost.
type step struct {
	name    string
	seconds float64
	// rssKiB is the peak resident set of the migrate process (rusage ru_maxrss, like VmHWM).
	rssKiB int64
	// cpu is the migrate process's user and system time.
	cpu float64
	// requests are the requests the apiserver served meanwhile, by verb and resource.
	requests series
	// plane is the CPU time of the apiserver and etcd meanwhile.
	plane float64
	// others is the CPU time used meanwhile by everything on the machine but this harness, the migrate
	// process, the apiserver and etcd: other engineers' work, which distorts the figures.
	others float64
	load   string
	output string
}

// result is one run: the migration (pre and post) and the restore.
type result struct {
	objects, changed, restored, backups int
	backupBytes                         int64
	pre, post, restore                  step
}

func runFleet(tb testing.TB, bins binaries, objects, run int) result {
	tb.Helper()
	ctx := context.Background()
	env, err := testutil.Start(testutil.Options{TinkerbellCRDs: fromCRDs})
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0 // the harness's own client: no client-side limit
	dyn := dynamic.NewForConfigOrDie(cfg)
	for _, ns := range append([]string{backupNamespace}, objectNamespaces...) {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			tb.Fatal(err)
		}
	}
	f := newFleet(tb, objects)
	start := time.Now()
	original := f.create(ctx, tb, dyn)
	tb.Logf("run %d: created %d objects in %.1fs", run, len(original), time.Since(start).Seconds())
	r := result{objects: len(original)}

	common := []string{"--from=" + fromVersion, "--to=" + toVersion, "--public-ip=" + publicIP,
		"--tinkerbell-host=" + tinkHostName, "--backup-namespace=" + backupNamespace}
	// MIGRATE_ARGS adds flags to try, e.g. "--concurrent=16".
	common = append(common, strings.Fields(os.Getenv("MIGRATE_ARGS"))...)
	r.pre = measure(tb, env, bins, "migrate-pre", append(common, "--phase=pre"))
	upgradeCRDs(ctx, tb, dyn, toCRDs)
	r.post = measure(tb, env, bins, "migrate-post", append(common, "--phase=post"))

	// Every Template and Hardware is on the new ports; the other kinds are reported.
	current := fingerprints(ctx, tb, dyn)
	left := map[string]int{}
	for k, fp := range current {
		if fp.oldPorts {
			left[strings.SplitN(k, " ", 2)[0]]++
		}
		if fp.sum != original[k].sum {
			r.changed++
		}
	}
	if left["Template"]+left["Hardware"] > 0 {
		tb.Fatalf("Templates and Hardware still on Tinkerbell's old ports after the migration: %v\n%s", left, r.post.output)
	}
	if r.changed < f.changedByPorts() {
		tb.Fatalf("%d objects changed, want at least %d (every Template and Hardware)\n%s", r.changed, f.changedByPorts(), r.post.output)
	}
	tb.Logf("run %d: %d objects changed; still on the old ports (not rewritten by this revision): %v", run, r.changed, left)
	r.backups, r.backupBytes = countBackups(ctx, tb, dyn)

	// Alter some migrated objects by hand: the restore puts the backed-up state back over them too.
	altered := alterSome(ctx, tb, dyn)
	r.restore = measure(tb, env, bins, "restore", append(common, "--phase=all", "--restore=all"))
	r.restored = countRestored(tb, r.restore.output)
	after := fingerprints(ctx, tb, dyn)
	var differ []string
	for k, fp := range original {
		if after[k].sum != fp.sum {
			differ = append(differ, k)
		}
	}
	if len(differ) > 0 || len(after) != len(original) {
		sort.Strings(differ)
		tb.Fatalf("after the restore %d of %d objects differ from the originals (%d altered by hand before it), e.g. %v; %d objects now\n%s",
			len(differ), len(original), altered, differ[:min(len(differ), 5)], len(after), r.restore.output)
	}
	if n, _ := countBackups(ctx, tb, dyn); n != 0 {
		tb.Errorf("%d backup ConfigMaps left after a complete restore", n)
	}
	report(tb, run, r)
	return r
}

// create creates the fleet with its statuses and returns the fingerprint of every object.
func (f *fleet) create(ctx context.Context, tb testing.TB, dyn dynamic.Interface) map[string]fingerprint {
	tb.Helper()
	type item struct {
		obj    *unstructured.Unstructured
		status map[string]any
	}
	items := make(chan item)
	var (
		mu    sync.Mutex
		out   = map[string]fingerprint{}
		first error
		wg    sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for it := range items {
				rc := dyn.Resource(targetOf(it.obj).GVR()).Namespace(it.obj.GetNamespace())
				got, err := rc.Create(ctx, it.obj, metav1.CreateOptions{})
				if err == nil && it.status != nil {
					got.Object["status"] = it.status
					got, err = rc.UpdateStatus(ctx, got, metav1.UpdateOptions{})
				}
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("create %s %s/%s: %w", it.obj.GetKind(), it.obj.GetNamespace(), it.obj.GetName(), err)
				}
				if err == nil {
					out[objectKey(got)] = fingerprintOf(got)
				}
				mu.Unlock()
			}
		})
	}
	for i := range f.templates {
		items <- item{obj: f.template(i)}
	}
	for i := range f.machines {
		items <- item{obj: f.hardware(i)}
		wf, status := f.workflow(i)
		items <- item{obj: wf, status: status}
		job, status := f.bmcJob(i)
		items <- item{obj: job, status: status}
	}
	close(items)
	wg.Wait()
	if first != nil {
		tb.Fatal(first)
	}
	return out
}

func targetOf(obj *unstructured.Unstructured) migration.Target {
	for _, t := range kinds {
		if t.Kind == obj.GetKind() && t.APIVersion() == obj.GetAPIVersion() {
			return t
		}
	}
	panic("not a fleet kind: " + obj.GetKind())
}

func objectKey(obj *unstructured.Unstructured) string {
	return obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
}

// fingerprint identifies what a user sees of an object: everything but the fields the apiserver manages.
type fingerprint struct {
	sum [32]byte
	// oldPorts: a URL on Tinkerbell's address still names a port that v0.23.0 retired.
	oldPorts bool
}

func fingerprintOf(obj *unstructured.Unstructured) fingerprint {
	c := obj.DeepCopy()
	for _, f := range []string{"resourceVersion", "generation", "managedFields"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	data, err := json.Marshal(c.Object)
	if err != nil {
		panic(err)
	}
	spec, _ := json.Marshal(c.Object["spec"])
	return fingerprint{sum: sha256.Sum256(data), oldPorts: oldPorts.Match(spec)}
}

// fingerprints lists the fleet page by page.
func fingerprints(ctx context.Context, tb testing.TB, dyn dynamic.Interface) map[string]fingerprint {
	tb.Helper()
	out := map[string]fingerprint{}
	for _, t := range kinds {
		opts := metav1.ListOptions{Limit: 1000}
		for {
			l, err := dyn.Resource(t.GVR()).List(ctx, opts)
			if err != nil {
				tb.Fatal(err)
			}
			for i := range l.Items {
				out[objectKey(&l.Items[i])] = fingerprintOf(&l.Items[i])
			}
			if opts.Continue = l.GetContinue(); opts.Continue == "" {
				break
			}
		}
	}
	return out
}

// alterSome changes the spec of every 50th Hardware after the migration, as a user (or a controller) might
// before deciding to restore, and returns how many it changed.
func alterSome(ctx context.Context, tb testing.TB, dyn dynamic.Interface) int {
	tb.Helper()
	rc := dyn.Resource(migration.Hardware.GVR())
	l, err := rc.List(ctx, metav1.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for i := 0; i < len(l.Items); i += 50 {
		obj := &l.Items[i]
		if err := unstructured.SetNestedField(obj.Object, "#cloud-config\n# altered by hand\n", "spec", "userData"); err != nil {
			tb.Fatal(err)
		}
		if _, err := rc.Namespace(obj.GetNamespace()).Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
			tb.Fatal(err)
		}
		n++
	}
	return n
}

// countBackups returns the number of backup ConfigMaps (labelled kubetink.io/migration) and their size.
func countBackups(ctx context.Context, tb testing.TB, dyn dynamic.Interface) (int, int64) {
	tb.Helper()
	l, err := dyn.Resource(configMaps).Namespace(backupNamespace).List(ctx, metav1.ListOptions{LabelSelector: "kubetink.io/migration"})
	if err != nil {
		tb.Fatal(err)
	}
	var size int64
	for i := range l.Items {
		data, _ := json.Marshal(l.Items[i].Object)
		size += int64(len(data))
	}
	return len(l.Items), size
}

// countRestored adds up the "restored N" of the restore's summary lines.
func countRestored(tb testing.TB, output string) int {
	tb.Helper()
	n := 0
	for _, m := range regexp.MustCompile(`(?m)^\S+: backups \d+, restored (\d+),`).FindAllStringSubmatch(output, -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// upgradeCRDs replaces the installed CRDs with upstream's of release and waits until the apiserver serves the
// new Hardware schema (a dry run keeps a field only the new one declares).
func upgradeCRDs(ctx context.Context, tb testing.TB, dyn dynamic.Interface, release string) {
	tb.Helper()
	rc := dyn.Resource(crds)
	for _, file := range crdFiles(tb, release) {
		for _, crd := range testutil.ReadObjects(tb, file) {
			cur, err := rc.Get(ctx, crd.GetName(), metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				_, err = rc.Create(ctx, crd, metav1.CreateOptions{})
			case err == nil:
				crd.SetResourceVersion(cur.GetResourceVersion())
				_, err = rc.Update(ctx, crd, metav1.UpdateOptions{})
			}
			if err != nil {
				tb.Fatalf("CRD %s of %s: %v", crd.GetName(), release, err)
			}
		}
	}
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": migration.Hardware.APIVersion(), "kind": migration.Hardware.Kind,
		"metadata": map[string]any{"name": "schema-probe", "namespace": objectNamespaces[0]},
		"spec": map[string]any{"interfaces": []any{map[string]any{"netboot": map[string]any{
			"osie": map[string]any{"kernelParams": []any{"probe"}}}}}},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := dyn.Resource(migration.Hardware.GVR()).Namespace(objectNamespaces[0]).Create(ctx, probe,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			tb.Fatal(err)
		}
		ifaces, _, _ := unstructured.NestedSlice(got.Object, "spec", "interfaces")
		if _, kept, _ := unstructured.NestedStringSlice(ifaces[0].(map[string]any), "netboot", "osie", "kernelParams"); kept {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the apiserver still serves the old Hardware schema 30s after the %s CRDs were applied", release)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// measure runs "kubetink migrate <args>" as the Job does (a kubeconfig from the environment, as in-cluster
// config would be) and returns what it cost.
func measure(tb testing.TB, env *testutil.Environment, bins binaries, name string, args []string) step {
	tb.Helper()
	usage := filepath.Join(tb.TempDir(), "rusage")
	cmd := exec.Command(bins.maxrss, append([]string{bins.kubetink, "migrate"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "MAXRSS_OUT="+usage)
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	s := step{name: name, load: loadAvg()}
	before := apiserverRequests(tb, env.Config)
	busyBefore, planeBefore, harnessBefore := machineBusy(), controlPlaneCPU(), selfCPU()
	start := time.Now()
	if dir := os.Getenv("MIGRATE_PROFILE_DIR"); dir != "" {
		done := profileAPIServer(tb, env.Config, filepath.Join(dir, name+"-kube-apiserver.pprof"))
		defer func() { <-done }()
	}
	err := cmd.Run()
	s.seconds = time.Since(start).Seconds()
	s.output = out.String()
	if err != nil {
		tb.Fatalf("kubetink %s: %v\n%s", strings.Join(cmd.Args[2:], " "), err, s.output)
	}
	data, err := os.ReadFile(usage)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := fmt.Sscan(string(data), &s.rssKiB, &s.cpu); err != nil {
		tb.Fatalf("rusage %q: %v", data, err)
	}
	s.plane = controlPlaneCPU() - planeBefore
	s.others = max(0, machineBusy()-busyBefore-s.cpu-s.plane-(selfCPU()-harnessBefore))
	s.requests = apiserverRequests(tb, env.Config).sub(before)
	return s
}

func (s step) figure(run, objects int, extra string) string {
	return fmt.Sprintf("FIGURE run=%d step=%s objects=%d seconds=%.1f peak-rss-MiB=%.1f cpu-seconds=%.1f requests=%.0f%s apiserver-etcd-cpu-seconds=%.1f load1=%s others-cpu-seconds=%.1f",
		run, s.name, objects, s.seconds, float64(s.rssKiB)/1024, s.cpu, s.requests.total(), extra, s.plane, s.load, s.others)
}

func report(tb testing.TB, run int, r result) {
	tb.Helper()
	migrate := step{name: "migrate", seconds: r.pre.seconds + r.post.seconds, rssKiB: max(r.pre.rssKiB, r.post.rssKiB),
		cpu: r.pre.cpu + r.post.cpu, requests: r.pre.requests.add(r.post.requests), load: r.pre.load,
		plane: r.pre.plane + r.post.plane, others: r.pre.others + r.post.others}
	lines := []string{
		r.pre.figure(run, r.objects, ""),
		r.post.figure(run, r.objects, ""),
		migrate.figure(run, r.objects, fmt.Sprintf(" changed=%d backup-configmaps=%d backup-MiB=%.1f", r.changed, r.backups, float64(r.backupBytes)/(1<<20))),
		r.restore.figure(run, r.objects, fmt.Sprintf(" restored=%d", r.restored)),
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	tb.Logf("run %d: migrate-post requests by verb and resource: %s", run, r.post.requests.top())
	tb.Logf("run %d: restore requests by verb and resource: %s", run, r.restore.requests.top())
	tb.Logf("run %d: migrate-post output:\n%s", run, r.post.output)
	tb.Logf("run %d: restore output:\n%s", run, r.restore.output)
}

// summarize prints the best and the median of the runs' wall seconds and peak RSS, for the migration (pre and
// post together) and the restore.
func summarize(tb testing.TB, all []result) {
	tb.Helper()
	pick := func(f func(result) float64) (best, median float64) {
		v := make([]float64, 0, len(all))
		for _, r := range all {
			v = append(v, f(r))
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[0], v[len(v)/2]
		}
		return v[0], (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	for _, s := range []struct {
		name     string
		seconds  func(result) float64
		rss      func(result) float64
		requests func(result) float64
	}{
		{"migrate", func(r result) float64 { return r.pre.seconds + r.post.seconds },
			func(r result) float64 { return float64(max(r.pre.rssKiB, r.post.rssKiB)) / 1024 },
			func(r result) float64 { return r.pre.requests.total() + r.post.requests.total() }},
		{"restore", func(r result) float64 { return r.restore.seconds },
			func(r result) float64 { return float64(r.restore.rssKiB) / 1024 },
			func(r result) float64 { return r.restore.requests.total() }},
	} {
		bs, ms := pick(s.seconds)
		br, mr := pick(s.rss)
		_, mq := pick(s.requests)
		fmt.Printf("FIGURE summary step=%s objects=%d runs=%d best-seconds=%.1f median-seconds=%.1f best-peak-rss-MiB=%.1f median-peak-rss-MiB=%.1f median-requests=%.0f\n",
			s.name, all[0].objects, len(all), bs, ms, br, mr, mq)
		if b, ok := tb.(*testing.B); ok {
			b.ReportMetric(ms, s.name+"-s")
			b.ReportMetric(mr, s.name+"-peak-rss-MiB")
		}
	}
}

// series are request counts by "verb resource".
type series map[string]float64

func (s series) total() float64 {
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t
}

func (s series) sub(before series) series {
	out := series{}
	for k, v := range s {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (s series) add(o series) series {
	out := series{}
	for k, v := range s {
		out[k] += v
	}
	for k, v := range o {
		out[k] += v
	}
	return out
}

// top lists the counts of at least 1% of the total, largest first.
func (s series) top() string {
	keys := make([]string, 0, len(s))
	for k, v := range s {
		if v >= 0.01*s.total() {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return s[keys[i]] > s[keys[j]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.0f", k, s[k]))
	}
	return strings.Join(parts, " ")
}

// apiserverRequests reads apiserver_request_total by verb and resource (and subresource).
func apiserverRequests(tb testing.TB, cfg *rest.Config) series {
	tb.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	out := series{}
	const name = "apiserver_request_total{"
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		end := strings.LastIndex(line, "}")
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for pair := range strings.SplitSeq(line[len(name):end], ",") {
			if k, val, ok := strings.Cut(pair, "="); ok {
				labels[k] = strings.Trim(val, `"`)
			}
		}
		key := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		out[key] += v
	}
	return out
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

// machineBusy is the CPU time the whole machine spent outside idle and iowait, in seconds.
func machineBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0]) // cpu user nice system idle iowait irq softirq steal
	busy := 0.0
	for i, v := range f[1:] {
		if n, err := strconv.ParseFloat(v, 64); err == nil && i != 3 && i != 4 && i < 8 {
			busy += n / 100
		}
	}
	return busy
}

// controlPlaneCPU is the CPU time of the kube-apiserver and etcd this process started.
func controlPlaneCPU() float64 {
	total := 0.0
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
		open, closing := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if open < 0 || closing < 0 {
			continue
		}
		comm := string(data[open+1 : closing])
		f := strings.Fields(string(data[closing+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid != os.Getpid() || (comm != "kube-apiserver" && comm != "etcd") {
			continue
		}
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		total += (utime + stime) / 100
	}
	return total
}

func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// profileAPIServer writes a 15-second CPU profile of the apiserver, from now, into path; the channel closes once
// it is written.
func profileAPIServer(tb testing.TB, cfg *rest.Config, path string) <-chan struct{} {
	tb.Helper()
	done := make(chan struct{})
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		defer close(done)
		resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/debug/pprof/profile?seconds=15")
		if err != nil {
			tb.Logf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(path), 0o750)
		}
		if err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
		if err != nil {
			tb.Logf("profile: %v", err)
		}
	}()
	return done
}
