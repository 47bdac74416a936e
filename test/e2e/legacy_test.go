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
	"path/filepath"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/test/e2e/localenv"
)

// TestLegacyStackUpgrade adopts the legacy stack chart 0.6.2 from Git and upgrades it to v0.25.0 with one commit:
// the pre-upgrade Job saves what the new CRDs would prune, the stack release is uninstalled and the unified chart
// installed, and the post-upgrade Job rewrites the upstream-shaped Workflows, Templates and Hardware.
func TestLegacyStackUpgrade(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	env := startEnv(t)
	mirrors, err := env.CreateCRDMirrors(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	fleet, err := env.NewRepo("fleet")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.CreateNode(ctx, "node-a", "10.244.0.0/24")).To(Succeed())

	// The legacy chart and its CRDs come from their own upstream repositories (tinkerbell/charts).
	legacy := legacyTinkerbellYAML(t, "0.6.2", env.ChartURLs["stack"], mirrors[localenv.ChartsMirror].URL)
	g.Expect(fleet.WriteFile("clusters/e2e/tinkerbell.yaml", legacy)).To(Succeed())
	pushed := time.Now()
	commit, err := fleet.Commit("Adopt the Tinkerbell stack 0.6.2")
	g.Expect(err).NotTo(HaveOccurred())
	// Plain "wait: true", as "flux bootstrap" users write it: no health check of Kubetink's own (the GitOps
	// scenarios use one); kstatus alone must see the Tinkerbell in progress until it is Ready.
	g.Expect(env.CreateSync(ctx, localenv.SyncOptions{
		Name: "fleet", Repo: fleet, Path: "./clusters/e2e", Interval: time.Minute, Wait: true, Timeout: 2 * time.Minute,
	})).To(Succeed())

	tinkerbell := func(g Gomega) *kubetinkv1alpha1.Tinkerbell {
		tb := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tinkerbell"}, tb)).To(Succeed())
		return tb
	}
	ready := func(g Gomega, version string) *kubetinkv1alpha1.Tinkerbell {
		tb := tinkerbell(g)
		c := readyCondition(g, tb, tb.Status.Conditions)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "Tinkerbell: %s: %s", c.Reason, c.Message)
		g.Expect(tb.Status.LastAppliedVersion).To(Equal(version))
		return tb
	}
	deployment := func(g Gomega, name string) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: target, Name: name}, d)).To(Succeed())
		return d
	}

	eventually(t, "the legacy stack is Ready (HelmRelease tinkerbell-stack, CRD Kustomizations tinkerbell-crds-tink and -rufio)", func(g Gomega) {
		hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tinkerbell-stack"}}
		expectReady(g, env, hr, func() []metav1.Condition { return hr.Status.Conditions })
		g.Expect(hr.Spec.ReleaseName).To(Equal("stack"))
		for _, name := range []string{"tinkerbell-crds-tink", "tinkerbell-crds-rufio"} {
			k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
			expectReady(g, env, k, func() []metav1.Condition { return k.Status.Conditions })
		}
		ready(g, "0.6.2")
	})
	t.Logf("FIGURE commit -> Tinkerbell Ready (adopt stack 0.6.2): %s", time.Since(pushed).Round(100*time.Millisecond))
	fleetWaitedForTinkerbell(t, env, commit)
	show(t, env)
	smee := deployment(g, "smee")
	// The stack chart 0.6.2 (charts/smee/templates/deployment.yaml) configures Smee by SMEE_* variables only;
	// its publicIP becomes the Tink server and iPXE script hosts.
	g.Expect(containerEnv(smee, "smee")).To(HaveKeyWithValue("SMEE_TRUSTED_PROXIES", "10.244.0.0/24"))
	g.Expect(containerEnv(smee, "smee")).To(HaveKeyWithValue("SMEE_TINK_SERVER", publicIP+":42113"))
	g.Expect(containerEnv(smee, "smee")).To(HaveKeyWithValue("SMEE_DHCP_HTTP_IPXE_SCRIPT_HOST", publicIP))
	g.Expect(containerEnv(deployment(g, "hegel"), "hegel")).To(HaveKeyWithValue("HEGEL_TRUSTED_PROXIES", "10.244.0.0/24"))

	// The user's objects, as tink v0.12 wrote them.
	kubectl(t, env, "create", "namespace", "tink")
	applyObjects(t, env, filepath.Join(repoRoot, "test", "e2e", "testdata", "objects", "stack-0.6.2.yaml"))

	// One commit: the new version, the unified chart and its CRD repository.
	upgraded := legacyTinkerbellYAML(t, "v0.25.0", env.ChartURLs["tinkerbell"], mirrors[localenv.TinkerbellMirror].URL)
	g.Expect(fleet.WriteFile("clusters/e2e/tinkerbell.yaml", upgraded)).To(Succeed())
	commit, err = fleet.Commit("Upgrade Tinkerbell from the stack 0.6.2 to v0.25.0")
	g.Expect(err).NotTo(HaveOccurred())
	pushed = time.Now()
	g.Expect(env.RequestReconcile(ctx, "gitrepository", ns, "fleet")).To(Succeed())

	eventually(t, "the pre-upgrade Job ran and the legacy release was uninstalled", func(g Gomega) {
		g.Expect(jobComplete(g, env, "tinkerbell-migrate-v0-25-0-pre")).To(BeTrue())
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tinkerbell-stack"}, &helmv2.HelmRelease{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "HelmRelease tinkerbell-stack still there")
		err = env.Client.Get(ctx, client.ObjectKey{Namespace: target, Name: "smee"}, &appsv1.Deployment{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the stack's smee Deployment still there")
	})
	var tb *kubetinkv1alpha1.Tinkerbell
	eventually(t, "the unified chart v0.25.0 is installed, the post-upgrade Job ran, Tinkerbell Ready and Migrated", func(g Gomega) {
		g.Expect(tinkerbellImage(deployment(g, "tinkerbell"))).To(Equal("ghcr.io/tinkerbell/tinkerbell:v0.25.0"))
		g.Expect(jobComplete(g, env, "tinkerbell-migrate-v0-25-0-post")).To(BeTrue())
		tb = ready(g, "v0.25.0")
		g.Expect(apimeta.IsStatusConditionTrue(tb.Status.Conditions, kubetinkv1alpha1.MigratedCondition)).To(BeTrue())
	})
	t.Logf("FIGURE commit -> Tinkerbell Ready (stack 0.6.2 -> v0.25.0: pre Job, reinstall, post Job): %s", time.Since(pushed).Round(100*time.Millisecond))
	fleetWaitedForTinkerbell(t, env, commit)
	t.Logf("Migrated: %s", apimeta.FindStatusCondition(tb.Status.Conditions, kubetinkv1alpha1.MigratedCondition).Message)
	show(t, env)
	t.Logf("$ kubectl get jobs -n %s\n%s", ns, kubectl(t, env, "get", "jobs", "-n", ns))
	env2 := containerEnv(deployment(g, "tinkerbell"), "tinkerbell")
	g.Expect(env2).To(HaveKeyWithValue("TINKERBELL_TRUSTED_PROXIES", "10.244.0.0/24"))
	g.Expect(env2).To(HaveKeyWithValue("TINKERBELL_PUBLIC_IPV4", publicIP))
	for _, name := range []string{"tinkerbell-crds-tink", "tinkerbell-crds-rufio"} {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &kustomizev1.Kustomization{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the legacy CRD Kustomization %s is pruned", name)
	}

	// The objects as v0.25.0 reads them.
	wf := object(g, env, workflowGVK, "tink", "wf-success")
	state, _, _ := unstructured.NestedString(wf.Object, "status", "state")
	g.Expect(state).To(Equal("SUCCESS"))
	tasks, _, _ := unstructured.NestedSlice(wf.Object, "status", "tasks")
	g.Expect(tasks).To(HaveLen(1))
	g.Expect(tasks[0]).To(HaveKeyWithValue("agentID", "08:00:27:9e:f5:3a"))
	rendering, _, _ := unstructured.NestedString(wf.Object, "status", "templateRendering")
	g.Expect(rendering).To(Equal("successful"))
	tpl := object(g, env, templateGVK, "tink", "ubuntu")
	data, _, _ := unstructured.NestedString(tpl.Object, "spec", "data")
	g.Expect(data).To(ContainSubstring("http://192.168.2.112:7173/jammy"),
		"Hook artifacts moved from the stack's nginx (public IP, 8080) to spec.artifactsFileServer, another host")
	g.Expect(data).To(ContainSubstring("http://192.168.2.111:7080/2009-04-04"), "metadata moved from Hegel's 50061 to 7080")
	hw := object(g, env, hardwareGVK, "tink", "machine1")
	userData, _, _ := unstructured.NestedString(hw.Object, "spec", "userData")
	g.Expect(userData).To(ContainSubstring(`"http://192.168.2.111:7080"`))
	g.Expect(userData).To(ContainSubstring("ghcr.io/tinkerbell/tink-agent:v0.25.0"))
	g.Expect(userData).To(ContainSubstring("http://mirror.example.com:8080/bootstrap.sh"), "other hosts are left alone")
	t.Logf("after the upgrade: Workflow wf-success state %s, tasks[0].agentID %v; Template and Hardware on %s moved to :7080/:7173, tink-worker -> tink-agent",
		state, tasks[0].(map[string]any)["agentID"], publicIP)
	names := make([]string, 0, len(tb.Status.Migrations))
	for _, m := range tb.Status.Migrations {
		names = append(names, m.Name)
	}
	t.Logf("migrations recorded: %s", strings.Join(names, ", "))
	g.Expect(names).To(ContainElements("stack-reinstall", "workflow-status-capture", "workflow-status-convert", "hook-artifacts-file-server", "tink-agent-image"))
	backups := &corev1.ConfigMapList{}
	g.Expect(env.Client.List(ctx, backups, client.InNamespace(ns), client.HasLabels{"kubetink.io/migration"})).To(Succeed())
	g.Expect(backups.Items).NotTo(BeEmpty())
}

// legacyTinkerbellYAML is a Tinkerbell with trusted proxies derived from the Nodes and the chart and CRD sources
// given.
func legacyTinkerbellYAML(t *testing.T, version, chartURL, crdURL string) []byte {
	t.Helper()
	g := NewWithT(t)
	out, err := yaml.Marshal(map[string]any{
		"apiVersion": kubetinkv1alpha1.GroupVersion.String(),
		"kind":       kubetinkv1alpha1.TinkerbellKind,
		"metadata":   map[string]any{"name": "tinkerbell", "namespace": ns},
		"spec": map[string]any{
			"version":             version,
			"publicIP":            publicIP,
			"artifactsFileServer": "http://192.168.2.112:7173",
			"chart":               map[string]any{"url": chartURL, "insecure": true},
			"crds":                map[string]any{"source": map[string]any{"url": crdURL}},
		},
	})
	g.Expect(err).NotTo(HaveOccurred())
	return out
}

// fleetWaitedForTinkerbell checks what "wait: true" promises a user: the fleet Kustomization turns Ready for
// the commit only once the Tinkerbell it applied is Ready, never before (its Ready condition changed no earlier
// than the Tinkerbell's).
func fleetWaitedForTinkerbell(t *testing.T, env *localenv.Env, commit string) {
	t.Helper()
	eventually(t, "the fleet Kustomization is Ready for the commit, after the Tinkerbell", func(g Gomega) {
		k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fleet"}}
		expectReady(g, env, k, func() []metav1.Condition { return k.Status.Conditions })
		g.Expect(k.Status.LastAppliedRevision).To(HaveSuffix(commit))
		tb := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "tinkerbell"}, tb)).To(Succeed())
		tbReady := apimeta.FindStatusCondition(tb.Status.Conditions, meta.ReadyCondition)
		g.Expect(tbReady).NotTo(BeNil())
		g.Expect(tbReady.Status).To(Equal(metav1.ConditionTrue))
		fleetReady := apimeta.FindStatusCondition(k.Status.Conditions, meta.ReadyCondition)
		g.Expect(fleetReady.LastTransitionTime.Time).NotTo(BeTemporally("<", tbReady.LastTransitionTime.Time),
			"the fleet Kustomization was Ready before the Tinkerbell: %s", fleetReady.Message)
	})
}
