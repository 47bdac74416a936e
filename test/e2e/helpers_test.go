//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/test/e2e/localenv"
)

const (
	// budget bounds the whole run: past it the environments are stopped and the run fails, before go test's own
	// -timeout would kill the binary without cleanup.
	budget = 12 * time.Minute
	// stepTimeout bounds each wait for the cluster to reach a state.
	stepTimeout = 2 * time.Minute
	poll        = 200 * time.Millisecond
)

var (
	repoRoot = func() string {
		_, file, _, _ := runtime.Caller(0)
		return filepath.Join(filepath.Dir(file), "..", "..")
	}()
	kubetinkBin string
	// tinkerbellImages maps the Tinkerbell images with a real binary ($TINKERBELL_BINARIES) to it.
	tinkerbellImages map[string]string

	envsMu sync.Mutex
	envs   []*localenv.Env
)

// TestMain builds kubetink once (unless make passes it in $KUBETINK) and stops every environment on SIGINT or
// SIGTERM, or when the budget is spent, so no process outlives the run.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	for _, v := range []string{"KUBEBUILDER_ASSETS", "CLUSTER_DIR", "FLUX_DIR"} {
		if os.Getenv(v) == "" {
			fmt.Fprintf(os.Stderr, "%s is not set: run the e2e tests with \"make test-e2e\", which builds the control plane, kube-controller-manager, kube-scheduler and the Flux controllers once\n", v)
			return 1
		}
	}
	var err error
	if tinkerbellImages, err = localenv.TinkerbellImages(os.Getenv("TINKERBELL_BINARIES")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	kubetinkBin = os.Getenv("KUBETINK")
	if kubetinkBin == "" {
		dir, err := os.MkdirTemp("", "kubetink-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if kubetinkBin, err = localenv.BuildKubetink(context.Background(), repoRoot, dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sig:
			fmt.Fprintf(os.Stderr, "e2e: %s: stopping the environments\n", s)
		case <-time.After(budget):
			fmt.Fprintf(os.Stderr, "e2e: the run took longer than %s: stopping the environments\n", budget)
		}
		stopAll()
		os.Exit(1)
	}()
	defer stopAll()
	return m.Run()
}

func stopAll() {
	envsMu.Lock()
	defer envsMu.Unlock()
	for _, e := range envs {
		e.Stop()
	}
	envs = nil
}

// startEnv starts a local stack with the test charts for the test and stops it when the test ends, printing the
// ends of the logs when the test failed.
func startEnv(t *testing.T) *localenv.Env {
	t.Helper()
	return startEnvWith(t, nil)
}

// startEnvWith is startEnv with options changed by configure (nil: none).
func startEnvWith(t *testing.T, configure func(*localenv.Options)) *localenv.Env {
	t.Helper()
	opts := localenv.Options{
		WorkDir:         workDir(t),
		ControlPlaneDir: os.Getenv("KUBEBUILDER_ASSETS"),
		ClusterDir:      os.Getenv("CLUSTER_DIR"),
		Images:          tinkerbellImages,
		FluxDir:         os.Getenv("FLUX_DIR"),
		Kubetink:        kubetinkBin,
		RepoRoot:        repoRoot,
		// The real upstream charts: from this workspace's copies, or pulled from ghcr.io elsewhere.
		Charts:    localenv.E2ECharts,
		ChartsDir: localenv.SharedChartsDir,
		Logf:      func(format string, args ...any) { t.Logf(format, args...) },
	}
	if configure != nil {
		configure(&opts)
	}
	env, err := localenv.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("failed to start the local stack: %v", err)
	}
	return stopAtCleanup(t, env)
}

// stopAtCleanup stops env when the test ends (or when TestMain does, on an interrupt), printing the end of its
// logs if the test failed.
func stopAtCleanup(t *testing.T, env *localenv.Env) *localenv.Env {
	t.Helper()
	envsMu.Lock()
	envs = append(envs, env)
	envsMu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range env.LogNames() {
				t.Logf("--- last lines of %s.log:\n%s", name, env.LogTail(name, 40))
			}
			t.Logf("logs: %s", env.LogDir)
		}
		env.Stop()
	})
	return env
}

// workDir returns an empty directory for the test's logs and state: $E2E_WORK_DIR/<test name> (kept after the
// run) when set, else a temporary directory.
func workDir(t *testing.T) string {
	t.Helper()
	work := os.Getenv("E2E_WORK_DIR")
	if work == "" {
		return t.TempDir()
	}
	work = filepath.Join(work, t.Name())
	if err := os.RemoveAll(work); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return work
}

// kubectl runs kubectl against env and fails the test on error.
func kubectl(t *testing.T, env *localenv.Env, args ...string) string {
	t.Helper()
	out, err := localenv.Kubectl(context.Background(), env.Kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// show logs the output of kubectl get for the objects of the GitOps loop.
func show(t *testing.T, env *localenv.Env) {
	t.Helper()
	t.Logf("$ kubectl get tinkerbells,kustomizations,helmreleases -A\n%s",
		kubectl(t, env, "get", "tinkerbells,kustomizations,helmreleases", "-A"))
}

// eventually waits for check to pass, logs how long it took, and fails the test with check's last failure
// otherwise.
func eventually(t *testing.T, what string, check func(g Gomega)) {
	t.Helper()
	start := time.Now()
	NewWithT(t).Eventually(check).WithTimeout(stepTimeout).WithPolling(poll).Should(Succeed(), what)
	t.Logf("%s (%s)", what, time.Since(start).Round(100*time.Millisecond))
}

// readyCondition returns the Ready condition if it is current for the object's generation.
func readyCondition(g Gomega, obj client.Object, conds []metav1.Condition) *metav1.Condition {
	c := apimeta.FindStatusCondition(conds, meta.ReadyCondition)
	g.Expect(c).NotTo(BeNil(), "%T %s has no Ready condition", obj, obj.GetName())
	g.Expect(c.ObservedGeneration).To(Equal(obj.GetGeneration()), "%T %s: Ready is not current: %s", obj, obj.GetName(), c.Message)
	return c
}

// expectReady asserts that the object (a Flux object or a Tinkerbell) is Ready for its current generation.
func expectReady(g Gomega, env *localenv.Env, obj client.Object, conds func() []metav1.Condition) {
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	c := readyCondition(g, obj, conds())
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%T %s: %s: %s", obj, obj.GetName(), c.Reason, c.Message)
}

// tinkerbellYAML is the Tinkerbell object committed to Git: the released version, Kubetink's defaults, and the
// chart and CRDs read from the local registry and mirror instead of ghcr.io and GitHub.
func tinkerbellYAML(t *testing.T, env *localenv.Env, crdMirror *localenv.Repo, version string) []byte {
	t.Helper()
	g := NewWithT(t)
	tb := &kubetinkv1alpha1.Tinkerbell{
		TypeMeta:   metav1.TypeMeta{APIVersion: kubetinkv1alpha1.GroupVersion.String(), Kind: kubetinkv1alpha1.TinkerbellKind},
		ObjectMeta: metav1.ObjectMeta{Name: "tinkerbell", Namespace: localenv.FluxNamespace},
		Spec: kubetinkv1alpha1.TinkerbellSpec{
			Version:             version,
			PublicIP:            publicIP,
			ArtifactsFileServer: "http://192.168.2.112:7173",
			Chart:               &kubetinkv1alpha1.ChartSource{URL: env.ChartURLs["tinkerbell"], Insecure: true},
			CRDs:                &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: crdMirror.URL}},
		},
	}
	out, err := yaml.Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the empty status and creationTimestamp a typed object marshals.
	u := map[string]any{}
	g.Expect(yaml.Unmarshal(out, &u)).To(Succeed())
	delete(u, "status")
	delete(u["metadata"].(map[string]any), "creationTimestamp")
	out, err = yaml.Marshal(u)
	g.Expect(err).NotTo(HaveOccurred())
	return out
}

// containerEnv returns the environment of the named container of a Deployment.
func containerEnv(d *appsv1.Deployment, container string) map[string]string {
	out := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == container {
			for _, e := range c.Env {
				out[e.Name] = e.Value
			}
		}
	}
	return out
}

// tinkerbellImage returns the image of the unified chart's tinkerbell container.
func tinkerbellImage(d *appsv1.Deployment) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "tinkerbell" {
			return c.Image
		}
	}
	return ""
}

// object returns a Tinkerbell (tinkerbell.org) object for the API version and kind, or nil when it is absent.
func object(g Gomega, env *localenv.Env, gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, u)
	if client.IgnoreNotFound(err) != nil {
		g.Expect(err).NotTo(HaveOccurred())
	}
	if err != nil {
		return nil
	}
	return u
}

// setWorkflowStatus writes a Workflow's status through the status subresource, as tink-controller does.
func setWorkflowStatus(t *testing.T, env *localenv.Env, name string, status map[string]any) {
	t.Helper()
	wf := object(NewWithT(t), env, workflowGVK, "tinkerbell", name)
	if wf == nil {
		t.Fatalf("Workflow %s not found", name)
	}
	wf.Object["status"] = status
	if err := env.Client.Status().Update(context.Background(), wf); err != nil {
		t.Fatalf("failed to write the status of Workflow %s: %v", name, err)
	}
}

// applyObjects creates the objects of a multi-document YAML file through the API, then writes the status of those
// that carry one through the status subresource (as their controllers would).
func applyObjects(t *testing.T, env *localenv.Env, file string) {
	t.Helper()
	g := NewWithT(t)
	data, err := os.ReadFile(file)
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		u := &unstructured.Unstructured{}
		g.Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
		if len(u.Object) == 0 {
			continue
		}
		status, hasStatus := u.Object["status"]
		delete(u.Object, "status")
		g.Expect(env.Client.Create(ctx, u)).To(Succeed(), "create %s %s", u.GetKind(), u.GetName())
		if hasStatus {
			u.Object["status"] = status
			g.Expect(env.Client.Status().Update(ctx, u)).To(Succeed(), "status of %s %s", u.GetKind(), u.GetName())
		}
	}
}
