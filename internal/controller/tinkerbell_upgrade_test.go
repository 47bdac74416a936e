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
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

func atVersion(v string) func(*kubetinkv1alpha1.Tinkerbell) {
	return func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Version = v }
}

func getJob(g Gomega, ns, name string) *batchv1.Job {
	job := &batchv1.Job{}
	err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, job)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return job
}

func waitJob(g *WithT, ns, name string) *batchv1.Job {
	var job *batchv1.Job
	g.Eventually(func(g Gomega) {
		job = getJob(g, ns, name)
		g.Expect(job).NotTo(BeNil(), "Job %s not created", name)
	}, timeout, interval).Should(Succeed())
	return job
}

// finishJob writes a Job's terminal status the way the Job controller does (no kube-controller-manager runs here).
func finishJob(g Gomega, job *batchv1.Job, succeeded bool) {
	now := metav1.Now()
	job = getJob(g, job.Namespace, job.Name)
	job.Status.StartTime = &now
	if succeeded {
		job.Status.CompletionTime = &now
		job.Status.Succeeded = 1
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
	g.Expect(k8sClient.Status().Update(context.Background(), job)).To(Succeed())
}

func ociTag(g Gomega, res *render.Result) string {
	oci := live(g, byKind(res, "OCIRepository"))
	g.Expect(oci).NotTo(BeNil())
	tag, _, _ := unstructured.NestedString(oci.Object, "spec", "ref", "tag")
	return tag
}

func hrSuspended(g Gomega, res *render.Result) bool {
	hr := live(g, byKind(res, "HelmRelease"))
	g.Expect(hr).NotTo(BeNil())
	suspended, _, _ := unstructured.NestedBool(hr.Object, "spec", "suspend")
	return suspended
}

func waitReason(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, condType, reason, msg string) {
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, condType)).To(And(HaveField("Reason", reason), HaveField("Message", ContainSubstring(msg))))
	}, timeout, interval).Should(Succeed())
}

// observeSuspension plays helm-controller finding the installed version's HelmRelease suspended: a reconciliation
// of a suspended HelmRelease only records status.observedGeneration (helm-controller v1.6.4,
// HelmReleaseReconciler.Reconcile returns early), which tells Kubetink that none from before the suspension
// still runs.
func observeSuspension(g Gomega, tb *kubetinkv1alpha1.Tinkerbell, from string) {
	hr := byKind(expectedObjects(g, atVersionCopy(tb, from), values.Facts{}), "HelmRelease")
	g.Eventually(func(g Gomega) {
		obj := live(g, hr)
		g.Expect(obj).NotTo(BeNil())
		suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend")
		g.Expect(suspended).To(BeTrue(), "HelmRelease %s is not suspended yet", hr.GetName())
		g.Expect(unstructured.SetNestedField(obj.Object, obj.GetGeneration(), "status", "observedGeneration")).To(Succeed())
		g.Expect(k8sClient.Status().Update(context.Background(), obj)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

// waitPreJob plays helm-controller through the Suspend phase and returns the pre-upgrade Job.
func waitPreJob(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, from, to string) *batchv1.Job {
	observeSuspension(g, tb, from)
	return waitJob(g, tb.Namespace, jobName(tb, to, migration.PreUpgrade))
}

// upgradeThroughJobs plays Flux and the Job controller through an upgrade: the pre-upgrade Job, the new version's
// objects, the post-upgrade Job; it returns the Tinkerbell once Ready.
func upgradeThroughJobs(t testing.TB, g *WithT, tb *kubetinkv1alpha1.Tinkerbell, from, to string) *kubetinkv1alpha1.Tinkerbell {
	t.Helper()
	if mustPlan(g, from, to).Has(migration.PreUpgrade) {
		finishJob(g, waitPreJob(g, tb, from, to), true)
	}
	return finishUpgrade(t, g, tb, from, to)
}

// finishUpgrade plays Flux and the Job controller from the moment the pre-upgrade migrations are done.
func finishUpgrade(t testing.TB, g *WithT, tb *kubetinkv1alpha1.Tinkerbell, from, to string) *kubetinkv1alpha1.Tinkerbell {
	t.Helper()
	// In the order Kubetink applies them: the CRDs' objects, then the chart's source and release.
	res := expectedObjects(g, atVersionCopy(tb, to), values.Facts{})
	for _, u := range append(byComponent(res, render.ComponentCRDs), byComponent(res, render.ComponentChart, render.ComponentRelease)...) {
		markReadyOnceCurrent(g, u)
	}
	if mustPlan(g, from, to).Has(migration.PostUpgrade) {
		finishJob(g, waitJob(g, tb.Namespace, jobName(tb, to, migration.PostUpgrade)), true)
	}
	return waitReady(g, tb)
}

func atVersionCopy(tb *kubetinkv1alpha1.Tinkerbell, v string) *kubetinkv1alpha1.Tinkerbell {
	c := tb.DeepCopy()
	c.Spec.Version = v
	return c
}

// markReadyOnceCurrent waits until a generated object carries the rendered spec, then marks it ready.
func markReadyOnceCurrent(g *WithT, u *unstructured.Unstructured) {
	g.Eventually(func(g Gomega) {
		obj := live(g, u)
		g.Expect(obj).NotTo(BeNil())
		want, _, _ := unstructured.NestedFieldCopy(u.Object, "spec")
		got, _, _ := unstructured.NestedFieldCopy(obj.Object, "spec")
		g.Expect(isSubset(normalize(want), normalize(got))).To(BeTrue(), "%s %s does not carry the new version yet", u.GetKind(), u.GetName())
	}, timeout, interval).Should(Succeed())
	markReady(g, u)
}

func TestTinkerbellReconciler_UpgradeRunsMigrationJobs(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	create(t, g, tb)
	oldRes := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, oldRes)

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Version = "v0.25.0"
		tb.Spec.Upgrade = &kubetinkv1alpha1.UpgradePolicy{HostNames: []string{"tink.example.com"}}
	})
	// The installed release is suspended first, and the Job waits until helm-controller has seen that: for longer
	// than the requeue interval (2 s here), so a periodic pass does not start it either.
	g.Eventually(func(g Gomega) { g.Expect(hrSuspended(g, oldRes)).To(BeTrue()) }, timeout, interval).Should(Succeed())
	waitReason(g, tb, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationInProgressReason, "to finish its running sync or reconciliation")
	g.Consistently(func(g Gomega) {
		g.Expect(getJob(g, ns, jobName(tb, "v0.25.0", migration.PreUpgrade))).To(BeNil())
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(And(HaveField("Phase", kubetinkv1alpha1.UpgradeSuspend),
			HaveField("FromVersion", "v0.19.0"), HaveField("ToVersion", "v0.25.0")))
	}, 3*time.Second, interval).Should(Succeed())
	pre := waitPreJob(g, tb, "v0.19.0", "v0.25.0")
	g.Expect(pre.Spec.Template.Spec.Containers[0].Args).To(ContainElements("migrate", "--from=v0.19.0", "--to=v0.25.0", "--phase=pre",
		"--tinkerbell-host=tink.example.com"))
	g.Expect(pre.Spec.Template.Spec.Containers[0].Args).NotTo(ContainElement(HavePrefix("--artifacts-file-server")),
		"only leaving the legacy stack moves URLs to the artifacts file server")
	// The pass that created the Job records the phase when it ends, a moment later.
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradePreMigrate))
	}, timeout, interval).Should(Succeed())
	g.Expect(pre.Spec.Template.Spec.ServiceAccountName).To(Equal("kubetink-migration"))
	g.Expect(pre.OwnerReferences).To(ConsistOf(HaveField("Name", "site")))
	// While it runs, the installed release is suspended and nothing of the new version is applied.
	g.Expect(hrSuspended(g, oldRes)).To(BeTrue())
	g.Expect(ociTag(g, oldRes)).To(Equal("v0.19.0"))
	waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.MigrationInProgressReason, pre.Name)
	waitReason(g, tb, kubetinkv1alpha1.MigratedCondition, kubetinkv1alpha1.MigrationInProgressReason, "template-rendering-capture")
	g.Expect(migrationBindingsOf(g, tb)).To(ConsistOf("ClusterRoleBinding kubetink-migration-crds:"+ns+":site", "RoleBinding "+ns+"/kubetink-migration:"+ns+":site"),
		"the site's namespace (its target namespace does not exist here) and the CRDs it reads")
	g.Expect(getTinkerbell(g, tb).Status.LastAppliedVersion).To(Equal("v0.19.0"))

	got := upgradeThroughJobs(t, g, tb, "v0.19.0", "v0.25.0")
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	g.Expect(got.Status.Upgrade).To(BeZero(), "a completed upgrade is cleared")
	g.Expect(hrSuspended(g, oldRes)).To(BeFalse(), "the new version resumes the release")
	g.Expect(conditionOf(got, kubetinkv1alpha1.MigratedCondition)).To(And(HaveField("Status", metav1.ConditionTrue),
		HaveField("Reason", kubetinkv1alpha1.MigrationSucceededReason)))
	steps, _ := migration.Plan("v0.19.0", "v0.25.0")
	g.Expect(got.Status.Migrations).To(HaveLen(len(steps)))
	g.Expect(got.Status.Migrations).To(HaveEach(And(HaveField("FromVersion", "v0.19.0"), HaveField("ToVersion", "v0.25.0"))))
	g.Expect(migrationBindingsOf(g, tb)).To(BeEmpty(), "the migration bindings only exist while a Job runs")
}

// servingItsNamespace makes a site serve the Tinkerbell's own namespace, which exists in envtest (no
// helm-controller creates target namespaces here), so a test can put the site's Workflows there.
func servingItsNamespace(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.TargetNamespace = tb.Namespace }

// runningWorkflow creates a Workflow in namespace with status.state RUNNING.
func runningWorkflow(g *WithT, namespace string) *unstructured.Unstructured {
	wf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "tinkerbell.org/v1alpha1", "kind": "Workflow",
		"metadata": map[string]any{"namespace": namespace, "name": "provision-node-7"},
		"spec":     map[string]any{"templateRef": "ubuntu", "hardwareRef": "node-7"},
	}}
	g.Expect(k8sClient.Create(context.Background(), wf)).To(Succeed())
	g.Expect(unstructured.SetNestedField(wf.Object, "RUNNING", "status", "state")).To(Succeed())
	g.Expect(k8sClient.Status().Update(context.Background(), wf)).To(Succeed())
	return wf
}

// A running Workflow of the namespace the site serves blocks its upgrade; one of another site's namespace does
// not, and the migration Jobs are limited to the site's namespace.
func TestTinkerbellReconciler_UpgradePreflightBlocks(t *testing.T) {
	g := NewWithT(t)
	ns, elsewhere := newNamespace(t), newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.22.1"), servingItsNamespace)
	create(t, g, tb)
	driveToReady(t, g, tb, expectedObjects(g, tb, values.Facts{}))

	wf := runningWorkflow(g, ns)
	runningWorkflow(g, elsewhere)

	editTinkerbell(g, tb, atVersion("v0.25.0"))
	waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.UpgradeBlockedReason, "Workflow "+ns+"/provision-node-7: state is RUNNING")
	g.Expect(conditionOf(getTinkerbell(g, tb), meta.ReadyCondition).Message).NotTo(ContainSubstring(elsewhere),
		"a Workflow of a namespace the site does not serve blocks its upgrade")
	g.Consistently(func(g Gomega) {
		g.Expect(getJob(g, ns, "site-migrate-v0-25-0-post")).To(BeNil())
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradePreflight))
	}, time.Second, interval).Should(Succeed())

	// The Workflow finishes: the upgrade goes ahead on the next look.
	g.Expect(k8sClient.Get(context.Background(), key(wf), wf)).To(Succeed())
	g.Expect(unstructured.SetNestedField(wf.Object, "SUCCESS", "status", "state")).To(Succeed())
	g.Expect(k8sClient.Status().Update(context.Background(), wf)).To(Succeed())
	got := upgradeThroughJobs(t, g, tb, "v0.22.1", "v0.25.0")
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
	post := getJob(g, ns, jobName(tb, "v0.25.0", migration.PostUpgrade)) // the port moves of v0.23.0
	g.Expect(post).NotTo(BeNil())
	g.Expect(post.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--namespace="+ns), "the migration is not limited to the site's namespace")
}

func TestTinkerbellReconciler_FailedMigrationStallsAndRetries(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	create(t, g, tb)
	oldRes := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, oldRes)

	editTinkerbell(g, tb, atVersion("v0.25.0"))
	pre := waitPreJob(g, tb, "v0.19.0", "v0.25.0")
	finishJob(g, pre, false)
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", kubetinkv1alpha1.MigrationFailedReason),
			HaveField("Message", And(ContainSubstring("BackoffLimitExceeded"), ContainSubstring("v0.19.0 keeps running")))))
	}, timeout, interval).Should(Succeed())
	// The old version keeps running, suspended, and nothing of the new one was applied.
	g.Consistently(func(g Gomega) {
		g.Expect(ociTag(g, oldRes)).To(Equal("v0.19.0"))
		g.Expect(getJob(g, ns, pre.Name).UID).To(Equal(pre.UID), "a failed Job is not retried on its own")
	}, time.Second, interval).Should(Succeed())
	// kubectl describe shows the failure once, as a Warning, however many passes found it.
	g.Eventually(func(g Gomega) {
		events := &eventsv1.EventList{}
		g.Expect(k8sClient.List(context.Background(), events, client.InNamespace(ns))).To(Succeed())
		var failed []eventsv1.Event
		for _, ev := range events.Items {
			if ev.Regarding.Name == tb.Name && ev.Reason == kubetinkv1alpha1.MigrationFailedReason {
				failed = append(failed, ev)
			}
		}
		g.Expect(failed).To(HaveLen(1))
		g.Expect(failed[0].Type).To(Equal(corev1.EventTypeWarning))
		g.Expect(failed[0].Note).To(ContainSubstring("migration Job " + pre.Name + " failed"))
		g.Expect(failed[0].Series).To(BeNil(), "recorded once, not repeated")
	}, timeout, interval).Should(Succeed())

	// A reconcile request retries: the failed Job is replaced.
	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "retry-migration"}
	})
	g.Eventually(func(g Gomega) {
		job := getJob(g, ns, pre.Name)
		g.Expect(job).NotTo(BeNil())
		g.Expect(job.UID).NotTo(Equal(pre.UID))
	}, timeout, interval).Should(Succeed())
	got := upgradeThroughJobs(t, g, tb, "v0.19.0", "v0.25.0")
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.25.0"))
}

// Going back to the installed version while the upgrade only waited (Preflight) cancels it: nothing changed yet.
// Going to another newer version starts the upgrade over for that one.
func TestTinkerbellReconciler_UpgradeCancelledOrSupersededBeforeItChangesAnything(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.22.1"), servingItsNamespace)
	create(t, g, tb)
	res := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, res)
	wf := runningWorkflow(g, ns)

	editTinkerbell(g, tb, atVersion("v0.24.0"))
	waitReason(g, tb, meta.ReadyCondition, kubetinkv1alpha1.UpgradeBlockedReason, "provision-node-7")
	g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(And(HaveField("Phase", kubetinkv1alpha1.UpgradePreflight), HaveField("ToVersion", "v0.24.0")))

	editTinkerbell(g, tb, atVersion("v0.25.0"))
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(And(HaveField("Phase", kubetinkv1alpha1.UpgradePreflight), HaveField("ToVersion", "v0.25.0")))
	}, timeout, interval).Should(Succeed())

	editTinkerbell(g, tb, atVersion("v0.22.1"))
	got := waitReady(g, tb)
	g.Expect(got.Status.Upgrade).To(BeZero(), "the upgrade is cancelled")
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.22.1"))
	g.Expect(conditionOf(got, kubetinkv1alpha1.MigratedCondition)).To(HaveField("Status", metav1.ConditionStatus("Absent")), "no upgrade, no Migrated condition")
	g.Expect(ociTag(g, res)).To(Equal("v0.22.1"))
	g.Expect(k8sClient.Delete(context.Background(), wf)).To(Succeed())
}

// Going back to the installed version once the pre-upgrade Job may have rewritten objects is refused, until the
// user allows the downgrade (or moves forward again).
func TestTinkerbellReconciler_RevertAfterMigrationIsRefused(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	create(t, g, tb)
	oldRes := expectedObjects(g, tb, values.Facts{})
	driveToReady(t, g, tb, oldRes)

	editTinkerbell(g, tb, atVersion("v0.25.0"))
	finishJob(g, waitPreJob(g, tb, "v0.19.0", "v0.25.0"), true)
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradeInstall))
	}, timeout, interval).Should(Succeed())

	editTinkerbell(g, tb, atVersion("v0.19.0"))
	g.Eventually(func(g Gomega) {
		got := getTinkerbell(g, tb)
		g.Expect(conditionOf(got, meta.StalledCondition)).To(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", kubetinkv1alpha1.UpgradeRefusedReason), HaveField("Message", ContainSubstring("phase Install"))))
		g.Expect(got.Status.Upgrade).To(HaveField("ToVersion", "v0.25.0"), "the upgrade stays recorded")
	}, timeout, interval).Should(Succeed())

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Upgrade = &kubetinkv1alpha1.UpgradePolicy{AllowDowngrade: true}
	})
	for _, u := range append(byComponent(oldRes, render.ComponentCRDs), byComponent(oldRes, render.ComponentChart, render.ComponentRelease)...) {
		markReadyOnceCurrent(g, u)
	}
	got := waitReady(g, tb)
	g.Expect(got.Status.Upgrade).To(BeZero())
	g.Expect(got.Status.LastAppliedVersion).To(Equal("v0.19.0"))
	g.Expect(ociTag(g, oldRes)).To(Equal("v0.19.0"))
	g.Expect(hrSuspended(g, oldRes)).To(BeFalse(), "the installed release is resumed")
	g.Expect(migrationBindingsOf(g, tb)).To(BeEmpty(), "a cancelled upgrade leaves no binding")
}
