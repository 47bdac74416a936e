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

// Package e2e proves Kubetink's GitOps loop end to end, as a black box: the real kube-apiserver, etcd and Flux
// controllers, the kubetink binary as a process, and only Git commits, kubectl and the API to drive and observe
// it. See localenv for the stack.
package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/test/e2e/localenv"
)

const (
	publicIP = "192.168.2.111"
	// ns is where Flux syncs the Tinkerbell and Kubetink puts the objects it generates.
	ns = localenv.FluxNamespace
	// target is the Tinkerbell's target namespace (the default).
	target = "tinkerbell"
)

var (
	hardwareGVK = schema.GroupVersionKind{Group: "tinkerbell.org", Version: "v1alpha1", Kind: "Hardware"}
	templateGVK = schema.GroupVersionKind{Group: "tinkerbell.org", Version: "v1alpha1", Kind: "Template"}
	workflowGVK = schema.GroupVersionKind{Group: "tinkerbell.org", Version: "v1alpha1", Kind: "Workflow"}
)

// gitops is the state shared by the scenarios: one local stack, one fleet repository synced by Flux.
type gitops struct {
	env       *localenv.Env
	fleet     *localenv.Repo
	crdMirror *localenv.Repo
	synced    bool
}

// TestTinkerbellGitOps runs the scenarios of the GitOps loop in order on one local stack; each starts from the
// state the previous one left.
func TestTinkerbellGitOps(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	env := startEnv(t)
	s := &gitops{env: env}
	mirrors, err := env.CreateCRDMirrors(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	s.crdMirror = mirrors[localenv.TinkerbellMirror]
	s.fleet, err = env.NewRepo("fleet")
	g.Expect(err).NotTo(HaveOccurred())
	// Two Nodes, each served by the local kubelet stand-in.
	g.Expect(env.CreateNode(context.Background(), "node-a", "10.244.0.0/24")).To(Succeed())
	g.Expect(env.CreateNode(context.Background(), "node-b", "10.244.1.0/24")).To(Succeed())

	for _, sc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"1_install_from_Git", s.install},
		{"2_upgrade_through_migration_Jobs", s.upgrade},
		{"3_remove_from_Git", s.remove},
		{"4_bad_spec_then_fix", s.badSpecThenFix},
	} {
		if !t.Run(sc.name, sc.run) {
			t.FailNow() // the next scenario starts from this one's end state
		}
	}
}

// commit writes files (nil removes one) to the fleet repository, commits, pushes and asks Flux to fetch at once
// (as "flux reconcile source git fleet" or a webhook Receiver would). It returns the time of the push.
func (s *gitops) commit(t *testing.T, message string, files map[string][]byte) time.Time {
	t.Helper()
	g := NewWithT(t)
	for path, data := range files {
		if data == nil {
			g.Expect(s.fleet.Remove(path)).To(Succeed())
			continue
		}
		g.Expect(s.fleet.WriteFile(path, data)).To(Succeed())
	}
	sha, err := s.fleet.Commit(message)
	g.Expect(err).NotTo(HaveOccurred())
	pushed := time.Now()
	t.Logf("git commit %.7s %q pushed to %s", sha, message, s.fleet.URL)
	if s.synced {
		g.Expect(s.env.RequestReconcile(context.Background(), "gitrepository", ns, "fleet")).To(Succeed())
	}
	return pushed
}

// kustomization is the clusters/e2e/kustomization.yaml listing resources.
func kustomization(resources ...string) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:")
	if len(resources) == 0 {
		b.WriteString(" []")
	}
	b.WriteString("\n")
	for _, r := range resources {
		b.WriteString("  - " + r + "\n")
	}
	return []byte(b.String())
}

func (s *gitops) tinkerbell(g Gomega) *kubetinkv1alpha1.Tinkerbell {
	tb := &kubetinkv1alpha1.Tinkerbell{}
	g.Expect(s.env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "tinkerbell"}, tb)).To(Succeed())
	return tb
}

func (s *gitops) expectTinkerbellReady(g Gomega, version string) *kubetinkv1alpha1.Tinkerbell {
	tb := s.tinkerbell(g)
	c := readyCondition(g, tb, tb.Status.Conditions)
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "Tinkerbell: %s: %s", c.Reason, c.Message)
	g.Expect(tb.Status.LastAppliedVersion).To(Equal(version))
	return tb
}

func (s *gitops) deployment(g Gomega) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(s.env.Client.Get(context.Background(), client.ObjectKey{Namespace: target, Name: "tinkerbell"}, d)).To(Succeed())
	return d
}

// install: the Tinkerbell comes from Git, Kubetink generates the Flux objects, Flux installs the CRDs and the
// chart, and the values Kubetink generated (the public IP, the trusted proxies from the Nodes) reach the workload.
func (s *gitops) install(t *testing.T) { //nolint:thelper // a scenario run by t.Run, not a helper
	g := NewWithT(t)
	ctx := context.Background()
	pushed := s.commit(t, "Install Tinkerbell v0.19.0", map[string][]byte{
		"clusters/e2e/kustomization.yaml": kustomization("tinkerbell.yaml"),
		"clusters/e2e/tinkerbell.yaml":    tinkerbellYAML(t, s.env, s.crdMirror, "v0.19.0"),
	})
	// The sync objects, as "flux bootstrap" creates them; the Kustomization waits for the Tinkerbell's health.
	g.Expect(s.env.CreateSync(ctx, localenv.SyncOptions{
		Name: "fleet", Repo: s.fleet, Path: "./clusters/e2e", Interval: time.Minute, Wait: true, Timeout: 2 * time.Minute,
		HealthChecks: []kustomize.CustomHealthCheck{localenv.TinkerbellHealthCheck},
	})).To(Succeed())
	s.synced = true

	eventually(t, "Flux applied the Tinkerbell from Git", func(g Gomega) { s.tinkerbell(g) })
	eventually(t, "OCIRepository tinkerbell-chart is Ready (chart pulled from the local registry)", func(g Gomega) {
		o := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-chart"}}
		expectReady(g, s.env, o, func() []metav1.Condition { return o.Status.Conditions })
		g.Expect(o.Spec.Reference.Tag).To(Equal("v0.19.0"))
	})
	eventually(t, "GitRepository and Kustomization tinkerbell-crds are Ready (CRDs applied from the mirror)", func(g Gomega) {
		r := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-crds"}}
		expectReady(g, s.env, r, func() []metav1.Condition { return r.Status.Conditions })
		k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-crds"}}
		expectReady(g, s.env, k, func() []metav1.Condition { return k.Status.Conditions })
	})
	eventually(t, "HelmRelease tinkerbell is Ready (helm-controller installed the chart)", func(g Gomega) {
		hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell"}}
		expectReady(g, s.env, hr, func() []metav1.Condition { return hr.Status.Conditions })
		g.Expect(hr.Status.History).NotTo(BeEmpty())
		g.Expect(hr.Status.History.Latest().ChartVersion).To(HavePrefix("0.19.0+"), "the digest-qualified chart version")
	})
	eventually(t, "Tinkerbell is Ready", func(g Gomega) { s.expectTinkerbellReady(g, "v0.19.0") })
	t.Logf("FIGURE commit -> Tinkerbell Ready (install v0.19.0): %s", time.Since(pushed).Round(100*time.Millisecond))
	eventually(t, "the fleet Kustomization is Ready (its health check sees the Tinkerbell Ready)", func(g Gomega) {
		k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fleet"}}
		expectReady(g, s.env, k, func() []metav1.Condition { return k.Status.Conditions })
	})
	show(t, s.env)

	// The values reached the workload.
	d := s.deployment(g)
	env := containerEnv(d, "tinkerbell")
	g.Expect(env).To(HaveKeyWithValue("TINKERBELL_PUBLIC_IPV4", publicIP))
	g.Expect(strings.Split(env["TINKERBELL_TRUSTED_PROXIES"], ",")).To(ConsistOf("10.244.0.0/24", "10.244.1.0/24"))
	g.Expect(env).To(HaveKeyWithValue("TINKERBELL_IPXE_HTTP_SCRIPT_OSIE_URL", "http://192.168.2.112:7173"))
	g.Expect(env).To(HaveKeyWithValue("TINKERBELL_ENABLE_CRD_MIGRATIONS", "false"), "Kubetink manages the CRDs")
	g.Expect(tinkerbellImage(d)).To(Equal("ghcr.io/tinkerbell/tinkerbell:v0.19.0"))
	t.Logf("Deployment %s/tinkerbell: image %s, TINKERBELL_PUBLIC_IPV4=%s TINKERBELL_TRUSTED_PROXIES=%s",
		target, tinkerbellImage(d), env["TINKERBELL_PUBLIC_IPV4"], env["TINKERBELL_TRUSTED_PROXIES"])
	for _, crd := range []string{"hardware.tinkerbell.org", "templates.tinkerbell.org", "workflows.tinkerbell.org", "machines.bmc.tinkerbell.org"} {
		c := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(s.env.Client.Get(ctx, client.ObjectKey{Name: crd}, c)).To(Succeed())
		g.Expect(c.Labels).To(HaveKeyWithValue("kustomize.toolkit.fluxcd.io/name", "tinkerbell-crds"))
	}

	// The trusted proxies follow the Nodes: a third Node reaches the workload through a Helm upgrade.
	g.Expect(s.env.CreateNode(ctx, "node-c", "10.244.2.0/24")).To(Succeed())
	eventually(t, "a new Node's pod CIDR reached the workload", func(g Gomega) {
		env := containerEnv(s.deployment(g), "tinkerbell")
		g.Expect(strings.Split(env["TINKERBELL_TRUSTED_PROXIES"], ",")).To(ConsistOf("10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"))
		s.expectTinkerbellReady(g, "v0.19.0")
	})
}

// upgrade: a commit bumps the version; the preflight holds the upgrade while a Workflow runs, then the
// pre-upgrade Job, the new release and the post-upgrade Job run, and the upstream-shaped objects are migrated.
func (s *gitops) upgrade(t *testing.T) { //nolint:thelper // a scenario run by t.Run, not a helper
	g := NewWithT(t)
	ctx := context.Background()
	kubectl(t, s.env, "apply", "--server-side", "-f", filepath.Join(repoRoot, "test", "e2e", "testdata", "objects", "v0.19.0.yaml"))
	setWorkflowStatus(t, s.env, "wf-done", workflowStatus("SUCCESS"))
	setWorkflowStatus(t, s.env, "wf-running", workflowStatus("RUNNING"))
	t.Logf("$ kubectl get hardware,templates,workflows -n %s\n%s", target, kubectl(t, s.env, "get", "hardware,templates,workflows", "-n", target))

	pushed := s.commit(t, "Upgrade Tinkerbell to v0.25.0", map[string][]byte{
		"clusters/e2e/tinkerbell.yaml": tinkerbellYAML(t, s.env, s.crdMirror, "v0.25.0"),
	})
	eventually(t, "the preflight holds the upgrade while Workflow wf-running runs", func(g Gomega) {
		tb := s.tinkerbell(g)
		g.Expect(tb.Spec.Version).To(Equal("v0.25.0"))
		c := apimeta.FindStatusCondition(tb.Status.Conditions, kubetinkv1alpha1.MigratedCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(kubetinkv1alpha1.UpgradeBlockedReason))
		g.Expect(c.Message).To(ContainSubstring("Workflow tinkerbell/wf-running"))
	})
	t.Logf("Migrated: %s", apimeta.FindStatusCondition(s.tinkerbell(g).Status.Conditions, kubetinkv1alpha1.MigratedCondition).Message)
	show(t, s.env)
	g.Expect(tinkerbellImage(s.deployment(g))).To(HaveSuffix(":v0.19.0"), "v0.19.0 keeps running while the upgrade waits")
	jobs := &batchv1.JobList{}
	g.Expect(s.env.Client.List(ctx, jobs, client.InNamespace(ns))).To(Succeed())
	g.Expect(jobs.Items).To(BeEmpty(), "no migration runs while the upgrade waits")

	// The machine finishes its Workflow.
	setWorkflowStatus(t, s.env, "wf-running", workflowStatus("SUCCESS"))
	unblocked := time.Now()
	eventually(t, "the pre-upgrade migration Job ran and completed", func(g Gomega) {
		g.Expect(jobComplete(g, s.env, "tinkerbell-migrate-v0-25-0-pre")).To(BeTrue())
	})
	eventually(t, "helm-controller upgraded the release to v0.25.0", func(g Gomega) {
		hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell"}}
		expectReady(g, s.env, hr, func() []metav1.Condition { return hr.Status.Conditions })
		g.Expect(hr.Status.History.Latest().ChartVersion).To(HavePrefix("0.25.0+"))
		g.Expect(tinkerbellImage(s.deployment(g))).To(Equal("ghcr.io/tinkerbell/tinkerbell:v0.25.0"))
	})
	eventually(t, "the post-upgrade migration Job ran and completed", func(g Gomega) {
		g.Expect(jobComplete(g, s.env, "tinkerbell-migrate-v0-25-0-post")).To(BeTrue())
	})
	var tb *kubetinkv1alpha1.Tinkerbell
	eventually(t, "Tinkerbell is Ready at v0.25.0 and Migrated", func(g Gomega) {
		tb = s.expectTinkerbellReady(g, "v0.25.0")
		c := apimeta.FindStatusCondition(tb.Status.Conditions, kubetinkv1alpha1.MigratedCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
	})
	t.Logf("FIGURE Workflow finished -> Tinkerbell Ready (upgrade v0.19.0 -> v0.25.0 with 2 migration Jobs): %s; commit -> Ready including the wait for the Workflow: %s",
		time.Since(unblocked).Round(100*time.Millisecond), time.Since(pushed).Round(100*time.Millisecond))
	t.Logf("Migrated: %s", apimeta.FindStatusCondition(tb.Status.Conditions, kubetinkv1alpha1.MigratedCondition).Message)
	show(t, s.env)
	t.Logf("$ kubectl get jobs,pods -n %s\n%s", ns, kubectl(t, s.env, "get", "jobs,pods", "-n", ns))
	// The Jobs ran as Pods (kube-controller-manager's Job controller, the kubelet stand-in running kubetink
	// migrate as the migration ServiceAccount), and the real v0.25.0 binary now serves.
	for _, job := range []string{"tinkerbell-migrate-v0-25-0-pre", "tinkerbell-migrate-v0-25-0-post"} {
		pods := &corev1.PodList{}
		g.Expect(s.env.Client.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: job})).To(Succeed())
		g.Expect(pods.Items).To(ContainElement(HaveField("Status.Phase", corev1.PodSucceeded)), "a Pod of Job %s succeeded", job)
	}
	runningTinkerbellPod(g, s.env, target, "v0.25.0")
	migrations := make([]string, 0, len(tb.Status.Migrations))
	for _, m := range tb.Status.Migrations {
		migrations = append(migrations, m.Name)
	}
	g.Expect(migrations).To(ConsistOf("template-rendering-capture", "template-rendering-convert", "tinkerbell-ipxe-paths-v0.22.0", "tinkerbell-ports-v0.23.0"))

	// The objects as v0.25.0 reads them.
	wf := object(g, s.env, workflowGVK, target, "wf-done")
	g.Expect(wf).NotTo(BeNil())
	rendering, _, _ := unstructured.NestedString(wf.Object, "status", "templateRendering")
	g.Expect(rendering).To(Equal("successful"))
	_, found, _ := unstructured.NestedString(wf.Object, "status", "templateRending")
	g.Expect(found).To(BeFalse(), "the v0.25.0 Workflow CRD has no templateRending")
	tpl := object(g, s.env, templateGVK, target, "ubuntu")
	data, _, _ := unstructured.NestedString(tpl.Object, "spec", "data")
	g.Expect(data).To(ContainSubstring("http://192.168.2.111:7080/2009-04-04/meta-data/instance-id"), "Tootles moved to 7080")
	g.Expect(data).To(ContainSubstring("http://192.168.2.111:7173/jammy"), "the artifacts port does not move")
	g.Expect(data).To(ContainSubstring("http://10.1.1.1:7171/x"), "other hosts are left alone")
	hw := object(g, s.env, hardwareGVK, target, "machine1")
	userData, _, _ := unstructured.NestedString(hw.Object, "spec", "userData")
	g.Expect(userData).To(ContainSubstring(`"http://192.168.2.111:7080", "http://10.1.1.1:7172"`))
	t.Logf("after the upgrade: Workflow wf-done status.templateRendering=%q; Template and Hardware URLs on %s moved to :7080",
		"successful", publicIP)
	backups := &corev1.ConfigMapList{}
	g.Expect(s.env.Client.List(ctx, backups, client.InNamespace(ns), client.HasLabels{"kubetink.io/migration"})).To(Succeed())
	g.Expect(backups.Items).NotTo(BeEmpty(), "every changed object is backed up")

	// The CRDs moved from crd/bases to crd/bases/v1alpha1 with the tag: the Kustomization changed its path only
	// once the GitRepository had fetched v0.25.0, so kustomize-controller never failed to find it.
	events := &corev1.EventList{}
	g.Expect(s.env.Client.List(ctx, events, client.InNamespace(ns))).To(Succeed())
	for _, ev := range events.Items {
		last := ev.CreationTimestamp.Time
		for _, at := range []time.Time{ev.LastTimestamp.Time, ev.EventTime.Time} {
			if at.After(last) {
				last = at
			}
		}
		if ev.InvolvedObject.Kind == kustomizev1.KustomizationKind && strings.HasPrefix(ev.InvolvedObject.Name, "tinkerbell-crds") &&
			ev.Type == corev1.EventTypeWarning && !last.Before(pushed.Truncate(time.Second)) {
			t.Errorf("Kustomization %s failed during the upgrade: %s: %s", ev.InvolvedObject.Name, ev.Reason, ev.Message)
		}
	}
}

// remove: a commit removes the Tinkerbell; the Kustomization prunes it, Kubetink deletes what it generated and
// helm-controller uninstalls the release; the CRDs and the user's objects stay.
func (s *gitops) remove(t *testing.T) { //nolint:thelper // a scenario run by t.Run, not a helper
	g := NewWithT(t)
	ctx := context.Background()
	pushed := s.commit(t, "Remove Tinkerbell", map[string][]byte{
		"clusters/e2e/kustomization.yaml": kustomization(),
		"clusters/e2e/tinkerbell.yaml":    nil,
	})
	eventually(t, "the Kustomization pruned the Tinkerbell and Kubetink finished its cleanup", func(g Gomega) {
		err := s.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tinkerbell"}, &kubetinkv1alpha1.Tinkerbell{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Tinkerbell still there: %v", err)
	})
	eventually(t, "the generated objects are gone and the release is uninstalled", func(g Gomega) {
		for _, obj := range []client.Object{
			&helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell"}},
			&sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-chart"}},
			&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-crds"}},
			&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-crds"}},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: target, Name: "tinkerbell"}},
		} {
			err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s still there", obj, obj.GetName())
		}
		releases := &corev1.SecretList{}
		g.Expect(s.env.Client.List(ctx, releases, client.InNamespace(target), client.MatchingLabels{"owner": "helm"})).To(Succeed())
		g.Expect(releases.Items).To(BeEmpty(), "Helm release records left")
	})
	eventually(t, "the Tinkerbell process stopped with its Pod", func(g Gomega) {
		g.Expect(s.env.Processes()).NotTo(ContainElement(HavePrefix(target+"/")), "a process of namespace %s still runs", target)
	})
	t.Logf("FIGURE commit -> release uninstalled: %s", time.Since(pushed).Round(100*time.Millisecond))
	show(t, s.env)
	for _, crd := range []string{"hardware.tinkerbell.org", "templates.tinkerbell.org", "workflows.tinkerbell.org", "machines.bmc.tinkerbell.org"} {
		g.Expect(s.env.Client.Get(ctx, client.ObjectKey{Name: crd}, &apiextensionsv1.CustomResourceDefinition{})).To(Succeed(), "CRD %s is kept", crd)
	}
	g.Expect(object(g, s.env, hardwareGVK, target, "machine1")).NotTo(BeNil(), "Hardware is kept")
	g.Expect(object(g, s.env, templateGVK, target, "ubuntu")).NotTo(BeNil(), "Template is kept")
	g.Expect(object(g, s.env, workflowGVK, target, "wf-done")).NotTo(BeNil(), "Workflow is kept")
	t.Logf("$ kubectl get crd -l kustomize.toolkit.fluxcd.io/name=tinkerbell-crds\n%s",
		kubectl(t, s.env, "get", "crd", "-l", "kustomize.toolkit.fluxcd.io/name=tinkerbell-crds"))
	t.Logf("$ kubectl get hardware,templates,workflows -n %s\n%s", target, kubectl(t, s.env, "get", "hardware,templates,workflows", "-n", target))
}

// badSpecThenFix: a Tinkerbell with a version Kubetink does not know is committed; it is Stalled with a message
// a user can act on, nothing is generated, and the fixing commit recovers.
func (s *gitops) badSpecThenFix(t *testing.T) { //nolint:thelper // a scenario run by t.Run, not a helper
	g := NewWithT(t)
	ctx := context.Background()
	s.commit(t, "Install Tinkerbell v0.26.0", map[string][]byte{
		"clusters/e2e/kustomization.yaml": kustomization("tinkerbell.yaml"),
		"clusters/e2e/tinkerbell.yaml":    tinkerbellYAML(t, s.env, s.crdMirror, "v0.26.0"),
	})
	var stalledMsg string
	eventually(t, "the Tinkerbell is Stalled with a readable message", func(g Gomega) {
		tb := s.tinkerbell(g)
		g.Expect(tb.Spec.Version).To(Equal("v0.26.0"))
		c := apimeta.FindStatusCondition(tb.Status.Conditions, meta.StalledCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.ObservedGeneration).To(Equal(tb.Generation))
		g.Expect(c.Reason).To(Equal(kubetinkv1alpha1.UnsupportedVersionReason))
		g.Expect(c.Message).To(ContainSubstring("v0.26.0"))
		ready := readyCondition(g, tb, tb.Status.Conditions)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		stalledMsg = c.Message
	})
	t.Logf("Stalled: %s", stalledMsg)
	eventually(t, "the fleet Kustomization reports the Tinkerbell's failure", func(g Gomega) {
		k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fleet"}}
		g.Expect(s.env.Client.Get(ctx, client.ObjectKeyFromObject(k), k)).To(Succeed())
		c := readyCondition(g, k, k.Status.Conditions)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	})
	show(t, s.env)
	err := s.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tinkerbell"}, &helmv2.HelmRelease{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "nothing is generated for a version Kubetink does not know")

	pushed := s.commit(t, "Fix the Tinkerbell version: v0.25.0", map[string][]byte{
		"clusters/e2e/tinkerbell.yaml": tinkerbellYAML(t, s.env, s.crdMirror, "v0.25.0"),
	})
	eventually(t, "the fixed Tinkerbell is Ready", func(g Gomega) {
		tb := s.expectTinkerbellReady(g, "v0.25.0")
		g.Expect(apimeta.IsStatusConditionTrue(tb.Status.Conditions, meta.StalledCondition)).To(BeFalse())
		g.Expect(tinkerbellImage(s.deployment(g))).To(Equal("ghcr.io/tinkerbell/tinkerbell:v0.25.0"))
	})
	t.Logf("FIGURE commit -> Tinkerbell Ready (fix, install v0.25.0): %s", time.Since(pushed).Round(100*time.Millisecond))
	eventually(t, "the real v0.25.0 binary runs again", func(g Gomega) { runningTinkerbellPod(g, s.env, target, "v0.25.0") })
	eventually(t, "the fleet Kustomization is Ready again", func(g Gomega) {
		k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fleet"}}
		expectReady(g, s.env, k, func() []metav1.Condition { return k.Status.Conditions })
	})
	show(t, s.env)
}

// workflowStatus is a v0.19.0 Workflow status in the given state, as tink-controller writes it.
func workflowStatus(state string) map[string]any {
	return map[string]any{
		"state":           state,
		"agentID":         "08:00:27:9e:f5:3a",
		"templateRending": "successful",
		"globalTimeout":   int64(1800),
		"tasks": []any{map[string]any{
			"id": "01JQ8V8N2K3J6W2Y7Z4X5C6B7A", "name": "os installation", "agentID": "08:00:27:9e:f5:3a",
			"actions": []any{map[string]any{
				"id": "01JQ8V8N2K3J6W2Y7Z4X5C6B7B", "name": "stream ubuntu image",
				"image": "quay.io/tinkerbell/actions/image2disk:latest", "timeout": int64(600), "state": state,
			}},
		}},
	}
}

// jobComplete reports whether the migration Job finished; a failed Job fails the check at once.
func jobComplete(g Gomega, env *localenv.Env, name string) bool {
	job := &batchv1.Job{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, job)).To(Succeed())
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		g.Expect(c.Type).NotTo(Equal(batchv1.JobFailed), "Job %s failed: %s", name, c.Message)
		if c.Type == batchv1.JobComplete {
			return true
		}
	}
	return false
}
