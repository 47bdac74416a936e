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
	"slices"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/values"
)

// migrationBindingsOf lists the migration bindings of tb that exist, as "<kind> [<namespace>/]<name>": every
// name deleteMigrationBindings knows of.
func migrationBindingsOf(g Gomega, tb *kubetinkv1alpha1.Tinkerbell) []string {
	name := "kubetink-migration:" + tb.Namespace + ":" + tb.Name
	var out []string
	for _, b := range []client.Object{
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "kubetink-migration-crds:" + tb.Namespace + ":" + tb.Name}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tb.Namespace, Name: name}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tb.Spec.TargetNamespace, Name: name}},
	} {
		err := k8sClient.Get(context.Background(), key(b), b)
		if apierrors.IsNotFound(err) {
			continue
		}
		g.Expect(err).NotTo(HaveOccurred())
		if ref := bindingRef(b); !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	return out
}

// withTargetNamespace gives the site a target namespace that exists, as it does once the stack is installed
// (no helm-controller creates it here).
func withTargetNamespace(t *testing.T) func(*kubetinkv1alpha1.Tinkerbell) {
	t.Helper()
	target := newNamespace(t)
	return func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.TargetNamespace = target }
}

// upgradingWithJob brings a site to v0.19.0 and starts its upgrade to v0.25.0 up to the running pre-upgrade Job.
func upgradingWithJob(t *testing.T, g *WithT, tb *kubetinkv1alpha1.Tinkerbell) *batchv1.Job {
	t.Helper()
	create(t, g, tb)
	driveToReady(t, g, tb, expectedObjects(g, tb, values.Facts{}))
	editTinkerbell(g, tb, atVersion("v0.25.0"))
	return waitPreJob(g, tb, "v0.19.0", "v0.25.0")
}

func expectNoMigrationBindings(g *WithT, tb *kubetinkv1alpha1.Tinkerbell, why string) {
	g.Eventually(func(g Gomega) { g.Expect(migrationBindingsOf(g, tb)).To(BeEmpty(), why) }, timeout, interval).Should(Succeed())
}

// A site of scope Namespace gets RoleBindings in the namespace it serves and in its own (the backups), and a
// ClusterRoleBinding only for reading CRDs; they exist while a Job runs, not between the Jobs.
func TestTinkerbellReconciler_MigrationBindingsOfANamespacedSite(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"), withTargetNamespace(t))
	pre := upgradingWithJob(t, g, tb)
	target := tb.Spec.TargetNamespace
	name := "kubetink-migration:" + ns + ":site"

	g.Expect(migrationBindingsOf(g, tb)).To(ConsistOf(
		"ClusterRoleBinding kubetink-migration-crds:"+ns+":site",
		"RoleBinding "+ns+"/"+name,
		"RoleBinding "+target+"/"+name,
	), "no ClusterRoleBinding of kubetink-migration for a site of one namespace")
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "kubetink-migration"}
	for _, n := range []string{ns, target} {
		rb := &rbacv1.RoleBinding{}
		g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: n, Name: name}, rb)).To(Succeed())
		g.Expect(rb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubetink-migration"}))
		g.Expect(rb.Subjects).To(ConsistOf(subject))
	}
	crb := &rbacv1.ClusterRoleBinding{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Name: "kubetink-migration-crds:" + ns + ":site"}, crb)).To(Succeed())
	g.Expect(crb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubetink-migration-crds"}))
	g.Expect(crb.Subjects).To(ConsistOf(subject))
	g.Expect(pre.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--namespace=" + target))

	// Between the Jobs (Install), no binding.
	finishJob(g, pre, true)
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradeInstall))
	}, timeout, interval).Should(Succeed())
	expectNoMigrationBindings(g, tb, "the pre-upgrade Job finished")

	finishUpgrade(t, g, tb, "v0.19.0", "v0.25.0")
	g.Expect(migrationBindingsOf(g, tb)).To(BeEmpty(), "the upgrade completed")
}

// A site of scope Cluster migrates every namespace: kubetink-migration is bound cluster-wide.
func TestTinkerbellReconciler_MigrationBindingsOfAClusterSite(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"), func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Scope = kubetinkv1alpha1.ScopeCluster
	})
	pre := upgradingWithJob(t, g, tb)
	g.Expect(migrationBindingsOf(g, tb)).To(ConsistOf(
		"ClusterRoleBinding kubetink-migration:"+ns+":site",
		"ClusterRoleBinding kubetink-migration-crds:"+ns+":site",
	))
	g.Expect(pre.Spec.Template.Spec.Containers[0].Args).NotTo(ContainElement(HavePrefix("--namespace")))
	finishJob(g, pre, true)
	expectNoMigrationBindings(g, tb, "the pre-upgrade Job finished")
}

// A failed Job loses its bindings; retrying it creates them again.
func TestTinkerbellReconciler_MigrationBindingsGoWhenTheJobFails(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	pre := upgradingWithJob(t, g, tb)
	g.Expect(migrationBindingsOf(g, tb)).NotTo(BeEmpty())

	finishJob(g, pre, false)
	waitReason(g, tb, meta.StalledCondition, kubetinkv1alpha1.MigrationFailedReason, pre.Name)
	expectNoMigrationBindings(g, tb, "the Job failed")

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "retry-migration"}
	})
	g.Eventually(func(g Gomega) {
		job := getJob(g, ns, pre.Name)
		g.Expect(job).NotTo(BeNil())
		g.Expect(job.UID).NotTo(Equal(pre.UID))
		g.Expect(migrationBindingsOf(g, tb)).NotTo(BeEmpty(), "the retried Job runs with its bindings")
	}, timeout, interval).Should(Succeed())
}

// Going back to the installed version while a Job runs (allowed by spec.upgrade.allowDowngrade) cancels the
// upgrade and removes the bindings.
func TestTinkerbellReconciler_MigrationBindingsGoWhenTheUpgradeIsCancelled(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	upgradingWithJob(t, g, tb)
	g.Expect(migrationBindingsOf(g, tb)).NotTo(BeEmpty())

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Spec.Version = "v0.19.0"
		tb.Spec.Upgrade = &kubetinkv1alpha1.UpgradePolicy{AllowDowngrade: true}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(getTinkerbell(g, tb).Status.Upgrade).To(BeZero(), "the upgrade is cancelled")
	}, timeout, interval).Should(Succeed())
	expectNoMigrationBindings(g, tb, "the upgrade was cancelled")
}

// Suspending a Tinkerbell stops every change but one: its running Job loses its bindings. The Job stays.
func TestTinkerbellReconciler_MigrationBindingsGoWhileSuspended(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	pre := upgradingWithJob(t, g, tb)
	g.Expect(migrationBindingsOf(g, tb)).NotTo(BeEmpty())

	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) { tb.Spec.Suspend = true })
	expectNoMigrationBindings(g, tb, "the Tinkerbell is suspended")
	g.Consistently(func(g Gomega) {
		g.Expect(getJob(g, ns, pre.Name)).To(HaveField("UID", pre.UID), "suspending leaves the Job alone")
		g.Expect(migrationBindingsOf(g, tb)).To(BeEmpty())
	}, time.Second, interval).Should(Succeed())
}

// Deleting the Tinkerbell while a Job runs removes the bindings with it.
func TestTinkerbellReconciler_MigrationBindingsGoWithTheTinkerbell(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	upgradingWithJob(t, g, tb)
	g.Expect(migrationBindingsOf(g, tb)).NotTo(BeEmpty())

	g.Expect(k8sClient.Delete(context.Background(), getTinkerbell(g, tb))).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := k8sClient.Get(context.Background(), key(tb), &kubetinkv1alpha1.Tinkerbell{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Tinkerbell is not finalized")
	}, timeout, interval).Should(Succeed())
	g.Expect(migrationBindingsOf(g, tb)).To(BeEmpty())
}

// A Job with the migration Job's name that Kubetink did not create for this Tinkerbell is not trusted: the
// Tinkerbell stalls with MigrationJobForeign, the Job is left alone, and no binding is created for it. Labelled
// like Kubetink's, the Job is in the manager's cache; unlabelled, it is found when the name is taken.
func TestTinkerbellReconciler_ForeignMigrationJobIsNotTrusted(t *testing.T) {
	for name, labelled := range map[string]bool{"labelled": true, "unlabelled": false} {
		t.Run(name, func(t *testing.T) { testForeignMigrationJob(t, labelled) })
	}
}

func testForeignMigrationJob(t *testing.T, labelled bool) {
	t.Helper()
	g := NewWithT(t)
	ns := newNamespace(t)
	tb := newTinkerbell(ns, "site", atVersion("v0.19.0"))
	create(t, g, tb)
	driveToReady(t, g, tb, expectedObjects(g, tb, values.Facts{}))

	// Someone allowed to create Jobs here creates one first and makes it succeed.
	name := jobName(tb, "v0.25.0", migration.PreUpgrade)
	foreign := migration.NewJob(migration.JobOptions{Name: name, Namespace: ns, Image: "busybox", ServiceAccountName: "kubetink-migration",
		From: "v0.19.0", To: "v0.25.0", Phase: migration.PreUpgrade})
	if !labelled {
		// The apiserver copies a Job's pod template labels when it has none.
		foreign.Labels, foreign.Spec.Template.Labels = nil, nil
	}
	g.Expect(k8sClient.Create(context.Background(), foreign)).To(Succeed())
	t.Cleanup(func() {
		_ = k8sClient.Delete(context.Background(), foreign, client.PropagationPolicy(metav1.DeletePropagationBackground))
	})
	finishJob(g, foreign, true)

	editTinkerbell(g, tb, atVersion("v0.25.0"))
	observeSuspension(g, tb, "v0.19.0")
	waitReason(g, tb, meta.StalledCondition, kubetinkv1alpha1.MigrationJobForeignReason, "Job "+ns+"/"+name)
	got := getTinkerbell(g, tb)
	g.Expect(conditionOf(got, kubetinkv1alpha1.MigratedCondition)).To(HaveField("Reason", kubetinkv1alpha1.MigrationJobForeignReason))
	g.Expect(got.Status.Upgrade).To(HaveField("Phase", kubetinkv1alpha1.UpgradePreMigrate), "its success does not count")
	g.Consistently(func(g Gomega) {
		job := getJob(g, ns, name)
		g.Expect(job).NotTo(BeNil(), "the foreign Job is never deleted")
		g.Expect(job.UID).To(Equal(foreign.UID))
		g.Expect(migrationBindingsOf(g, tb)).To(BeEmpty())
		g.Expect(getTinkerbell(g, tb).Status.LastAppliedVersion).To(Equal("v0.19.0"))
	}, time.Second, interval).Should(Succeed())

	// Once it is gone, a reconcile request runs Kubetink's own Job.
	g.Expect(k8sClient.Delete(context.Background(), foreign, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(getJob(g, ns, name)).To(BeNil()) }, timeout, interval).Should(Succeed())
	editTinkerbell(g, tb, func(tb *kubetinkv1alpha1.Tinkerbell) {
		tb.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "foreign-job-removed"}
	})
	g.Eventually(func(g Gomega) {
		job := getJob(g, ns, name)
		g.Expect(job).NotTo(BeNil())
		g.Expect(metav1.GetControllerOf(job)).To(HaveField("UID", got.UID))
		g.Expect(migrationBindingsOf(g, tb)).NotTo(BeEmpty())
	}, timeout, interval).Should(Succeed())
}
