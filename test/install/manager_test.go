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

package install

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/internal/values"
)

// managerArgs are the Deployment's arguments with the listen addresses moved to free loopback ports. Leader
// election is left out: outside a pod, controller-runtime cannot tell the namespace of its Lease (its RBAC is
// checked in TestRBAC_Manager).
func managerArgs(t *testing.T, kubeconfig, metricsAddr, healthAddr string) []string {
	t.Helper()
	c := managerContainer(t, deployment(t, defaultObjects(t)))
	var args []string
	for _, a := range c.Args {
		switch {
		case a == "--enable-leader-election":
		case strings.HasPrefix(a, "--metrics-addr="):
			args = append(args, "--metrics-addr="+metricsAddr)
		case strings.HasPrefix(a, "--health-addr="):
			args = append(args, "--health-addr="+healthAddr)
		default:
			args = append(args, a)
		}
	}
	return append(args, "--kubeconfig="+kubeconfig, "--requeue-dependency=1s")
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url) //nolint:gosec // loopback test endpoint
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// sample finds one series in Prometheus text format: the value of name{labels...}; ok is false when absent.
func sample(body, name string, labels map[string]string) (value float64, ok bool) {
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		series := line[:i]
		match := true
		for k, v := range labels {
			if !strings.Contains(series, fmt.Sprintf("%s=%q", k, v)) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		f, err := strconv.ParseFloat(line[i+1:], 64)
		return f, err == nil
	}
	return 0, false
}

// markReady marks a generated object Ready for its current generation, as its Flux controller would; it leaves
// an object that is so already, or absent, alone.
func markReady(g Gomega, u *unstructured.Unstructured) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	err := k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(u), live)
	if apierrors.IsNotFound(err) {
		return
	}
	g.Expect(err).NotTo(HaveOccurred())
	gen := live.GetGeneration()
	changed := false
	if observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration"); observed != gen {
		cond := map[string]any{"type": meta.ReadyCondition, "status": "True", "reason": meta.SucceededReason, "message": "ok",
			"observedGeneration": gen, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
		g.Expect(unstructured.SetNestedSlice(live.Object, []any{cond}, "status", "conditions")).To(Succeed())
		g.Expect(unstructured.SetNestedField(live.Object, gen, "status", "observedGeneration")).To(Succeed())
		changed = true
	}
	// The revisions Flux records (a Kustomization applies its source's new artifact even when its own spec is
	// unchanged); a Kustomization or HelmRelease whose source has no artifact yet waits for the next round.
	moved, err := testutil.SetFluxRevisions(live, testutil.SourcesFrom(ctxBackground, k8sClient))
	if errors.Is(err, testutil.ErrNoArtifact) {
		return
	}
	g.Expect(err).NotTo(HaveOccurred())
	if changed || moved {
		g.Expect(client.IgnoreNotFound(k8sClient.Status().Update(ctxBackground, live))).To(Succeed())
	}
}

// finishJob writes a Job's terminal status the way the Job controller does (none runs here).
func finishJob(g Gomega, job *batchv1.Job, succeeded bool) {
	now := metav1.Now()
	job.Status.StartTime = &now
	if succeeded {
		job.Status.CompletionTime, job.Status.Succeeded = &now, 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}
	}
	g.Expect(k8sClient.Status().Update(ctxBackground, job)).To(Succeed())
}

// migrationJob returns the running migration Job of a phase, waiting until the manager created one.
func migrationJob(g *WithT, namespace string, phase migration.Phase, notUID string) *batchv1.Job {
	var job *batchv1.Job
	g.Eventually(func(g Gomega) {
		list := &batchv1.JobList{}
		g.Expect(k8sClient.List(ctxBackground, list, client.InNamespace(namespace),
			client.MatchingLabels{migration.PhaseLabel: phase.Flag()})).To(Succeed())
		job = nil
		for i := range list.Items {
			if string(list.Items[i].UID) != notUID && list.Items[i].DeletionTimestamp.IsZero() {
				job = &list.Items[i]
			}
		}
		g.Expect(job).NotTo(BeNil(), "no %s-upgrade Job yet", phase.Flag())
	}).Should(Succeed())
	return job
}

func condition(tb *kubetinkv1alpha1.Tinkerbell, t string) *metav1.Condition {
	for i := range tb.Status.Conditions {
		if tb.Status.Conditions[i].Type == t {
			return &tb.Status.Conditions[i]
		}
	}
	return nil
}

// The binary built as the Dockerfile builds it, run with the Deployment's arguments as the manager's
// ServiceAccount (so config/rbac and config/policy decide what it may do), installs a Tinkerbell, upgrades it
// through a failed and a retried migration Job, deletes it, and serves controller-runtime's and Kubetink's
// metrics all along.
func TestManager_RunsAsItsServiceAccountAndServesMetrics(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns := restrictedNamespace(t)

	m := startManager(t)
	scrape := func() string {
		_, body, err := httpGet("http://" + m.metricsAddr + "/metrics")
		g.Expect(err).NotTo(HaveOccurred())
		return body
	}
	migrationRuns := func(phase, result string) float64 {
		v, ok := sample(scrape(), "kubetink_migration_runs_total", map[string]string{"phase": phase, "result": result})
		g.Expect(ok).To(BeTrue(), "kubetink_migration_runs_total{phase=%q,result=%q} is served from the start", phase, result)
		return v
	}
	g.Expect(migrationRuns("pre", "failed")).To(BeZero())

	// Install v0.19.0 and play Flux until it is Ready.
	tb := &kubetinkv1alpha1.Tinkerbell{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell"},
		Spec: kubetinkv1alpha1.TinkerbellSpec{Version: "v0.19.0", PublicIP: "192.168.2.10",
			ArtifactsFileServer: "http://192.168.2.11:7173", TrustedProxies: []kubetinkv1alpha1.CIDR{"10.244.0.0/16"}},
	}
	g.Expect(k8sClient.Create(ctxBackground, tb)).To(Succeed())
	waitFor := func(desc string, version string, check func(g Gomega, got *kubetinkv1alpha1.Tinkerbell)) {
		t.Helper()
		at := tb.DeepCopy()
		at.Spec.Version = version
		res, err := render.Render(at, values.Facts{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Eventually(func(g Gomega) {
			for _, u := range res.Objects {
				markReady(g, u)
			}
			got := &kubetinkv1alpha1.Tinkerbell{}
			g.Expect(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(tb), got)).To(Succeed())
			check(g, got)
		}).Should(Succeed(), desc)
	}
	isReady := func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(condition(got, meta.ReadyCondition)).To(HaveField("Status", metav1.ConditionTrue))
	}
	waitFor("v0.19.0 becomes Ready", "v0.19.0", isReady)

	body := scrape()
	res, err := render.Render(tb, values.Facts{})
	g.Expect(err).NotTo(HaveOccurred())
	for _, u := range res.Objects {
		v, ok := sample(body, "kubetink_component_ready", map[string]string{"namespace": ns, "name": "tinkerbell", "kind": u.GetKind(), "component": u.GetName()})
		g.Expect(ok).To(BeTrue(), "kubetink_component_ready for %s %s", u.GetKind(), u.GetName())
		g.Expect(v).To(Equal(1.0))
	}
	for _, step := range []string{"check_site", "check_version", "gather_facts", "render", "begin_upgrade", "apply", "prune", "check_readiness", "complete_upgrade"} {
		v, ok := sample(body, "kubetink_reconcile_step_duration_seconds_count", map[string]string{"step": step})
		g.Expect(ok).To(BeTrue(), "step %s is timed", step)
		g.Expect(v).To(BeNumerically(">", 0))
	}
	for _, series := range []string{"controller_runtime_reconcile_total", "controller_runtime_reconcile_time_seconds_count", "workqueue_depth"} {
		_, ok := sample(body, series, map[string]string{"controller": "tinkerbell"})
		g.Expect(ok).To(BeTrue(), "controller-runtime's %s for the tinkerbell controller", series)
	}
	_, ok := sample(body, "rest_client_requests_total", nil)
	g.Expect(ok).To(BeTrue(), "client-go's metrics")

	// Upgrade to v0.25.0: the manager creates the pre-upgrade Job (and its ServiceAccount and binding) itself.
	g.Expect(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(tb), tb)).To(Succeed())
	tb.Spec.Version = "v0.25.0"
	g.Expect(k8sClient.Update(ctxBackground, tb)).To(Succeed())
	// It suspends the installed release first and starts the Job once helm-controller has seen that (markReady
	// records the suspended generation as observed, as helm-controller does).
	waitFor("the installed release is suspended, then the pre-upgrade Job starts", "v0.19.0", func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		g.Expect(got.Status.Upgrade.Phase).To(Equal(kubetinkv1alpha1.UpgradePreMigrate))
	})
	pre := migrationJob(g, ns, migration.PreUpgrade, "")
	g.Expect(pre.Spec.Template.Spec.ServiceAccountName).To(Equal("kubetink-migration"))
	g.Expect(k8sClient.Get(ctxBackground, client.ObjectKey{Namespace: ns, Name: "kubetink-migration"}, &corev1.ServiceAccount{})).To(Succeed())

	// It fails: counted once, however often the manager looks at it again.
	finishJob(g, pre, false)
	waitFor("the Tinkerbell stalls on the failed Job", "v0.19.0", func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		g.Expect(condition(got, kubetinkv1alpha1.MigratedCondition)).To(HaveField("Reason", kubetinkv1alpha1.MigrationFailedReason))
		g.Expect(condition(got, meta.StalledCondition)).To(HaveField("Status", metav1.ConditionTrue))
	})
	g.Eventually(func() float64 { return migrationRuns("pre", "failed") }).Should(Equal(1.0))
	reconciles := func() float64 {
		v, _ := sample(scrape(), "controller_runtime_reconcile_total", map[string]string{"controller": "tinkerbell", "result": "error"})
		return v
	}
	before := reconciles()
	for i := range 3 { // each change to an owned Job brings the manager back to the failed Job
		g.Expect(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(pre), pre)).To(Succeed())
		pre.Annotations["test/poke"] = strconv.Itoa(i)
		g.Expect(k8sClient.Update(ctxBackground, pre)).To(Succeed())
		g.Eventually(reconciles).Should(BeNumerically(">", before))
		before = reconciles()
	}
	g.Expect(migrationRuns("pre", "failed")).To(Equal(1.0))

	// Retry: a reconcile request makes the manager delete the failed Job and run a new one.
	g.Expect(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(tb), tb)).To(Succeed())
	tb.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "retry-1"}
	g.Expect(k8sClient.Update(ctxBackground, tb)).To(Succeed())
	retried := migrationJob(g, ns, migration.PreUpgrade, string(pre.UID))
	finishJob(g, retried, true)
	waitFor("the post-upgrade Job starts", "v0.25.0", func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		g.Expect(condition(got, kubetinkv1alpha1.MigratedCondition).Message).To(ContainSubstring("post-upgrade"))
	})
	finishJob(g, migrationJob(g, ns, migration.PostUpgrade, ""), true)
	waitFor("v0.25.0 becomes Ready", "v0.25.0", func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		isReady(g, got)
		g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	})
	g.Expect(migrationRuns("pre", "succeeded")).To(Equal(1.0))
	g.Expect(migrationRuns("post", "succeeded")).To(Equal(1.0))
	g.Expect(migrationRuns("pre", "failed")).To(Equal(1.0))
	g.Expect(migrationRuns("post", "failed")).To(BeZero())

	// Deleting the Tinkerbell removes its generated objects and its series.
	g.Expect(k8sClient.Delete(ctxBackground, tb)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(tb), &kubetinkv1alpha1.Tinkerbell{}))
	}).Should(BeTrue(), "the manager finalizes the Tinkerbell with its own permissions")
	g.Expect(scrape()).NotTo(ContainSubstring(fmt.Sprintf(`namespace=%q`, ns)))

	g.Expect(m.log.String()).NotTo(ContainSubstring("forbidden"), "the manager was never refused anything")
	g.Expect(m.stop()).To(Succeed())
}

// runningManager is the manager binary running as its ServiceAccount, with the Deployment's arguments.
type runningManager struct {
	cmd                     *exec.Cmd
	log                     *testutil.SyncBuffer
	metricsAddr, healthAddr string
}

// startManager starts the binary built as the Dockerfile builds it with the Deployment's arguments and extra
// ones, as the manager's ServiceAccount (so config/rbac and config/policy decide what it may do), and waits until
// its caches have synced. It is stopped at cleanup, and its log printed when the test failed.
func startManager(t *testing.T, extraArgs ...string) *runningManager {
	t.Helper()
	m := &runningManager{log: &testutil.SyncBuffer{}, metricsAddr: testutil.FreeAddr(t), healthAddr: testutil.FreeAddr(t)}
	kubeconfig := impersonatingKubeconfig(t, managerUser, serviceAccountGroups(systemNamespace)...)
	m.cmd = exec.Command(binary(t), append(managerArgs(t, kubeconfig, m.metricsAddr, m.healthAddr), extraArgs...)...)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if m.cmd.ProcessState == nil {
			_ = m.cmd.Process.Kill()
			_ = m.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", m.log)
		}
	})
	NewWithT(t).Eventually(func() (int, error) {
		code, _, err := httpGet("http://" + m.healthAddr + "/readyz")
		return code, err
	}).Should(Equal(http.StatusOK), "the caches sync with the manager's own permissions")
	return m
}

// stop ends the manager as Kubernetes does, with SIGTERM, and returns how it exited.
func (m *runningManager) stop() error {
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return m.cmd.Wait()
}
