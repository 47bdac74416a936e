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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/policy"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// attack is one way a tenant's Tinkerbell could reach beyond the tenant's namespace: the lockdown refuses it at
// admission when the cluster admin's ConfigMap kubetink-policy is installed, and in the manager otherwise.
type attack struct {
	name   string
	spec   func(s *kubetinkv1alpha1.TinkerbellSpec)
	reason string // the Stalled reason the manager gives; "" when only admission can see it
	refuse string // what admission and "kubetink render" answer
}

// TestLockdown_AttackTable plays a tenant who may only create Tinkerbells in its own namespace (the built-in edit
// role, which kubetink-edit aggregates into) against the real apiserver with config/default installed (its
// admission policies) and the real manager running as its ServiceAccount with the cluster admin's policy flags.
// Each attack the lockdown issue lists is tried: refused at admission with the policy's message, refused by the
// manager with a Stalled reason naming the rule when admission cannot see it (the ConfigMap absent, a default
// the object does not write down), and refused by "kubetink render" with the same flags, so a pull-request check
// agrees with the cluster. Meanwhile the tenant's honest Tinkerbell installs, impersonating the account the admin
// gave it.
func TestLockdown_AttackTable(t *testing.T) {
	installed(t)
	aggregateUserRoles(t)
	g := NewWithT(t)
	team, other := restrictedNamespace(t), restrictedNamespace(t)
	g.Expect(k8sClient.Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "tenant"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "tenant"}},
	})).To(Succeed())
	tenant := impersonatingClient(t, "tenant", "system:authenticated")
	g.Eventually(func() error {
		return tenant.List(t.Context(), &kubetinkv1alpha1.TinkerbellList{}, client.InNamespace(team))
	}).Should(Succeed(), "the tenant's binding takes effect")

	settings := policy.Settings{
		ChartURLPrefixes:  []string{"oci://ghcr.io/tinkerbell/charts"},
		CRDSourcePrefixes: []string{"https://github.com/tinkerbell/tinkerbell"},
		TargetNamespaces:  []string{team},
		Scopes:            []kubetinkv1alpha1.Scope{kubetinkv1alpha1.ScopeNamespace},
		ArgoCDNamespace:   "argocd",
		ArgoCDProjects:    []string{"tinkerbell"},
	}
	flags := policyFlags(settings)
	m := startManager(t, append(flags, "--default-service-account=tinkerbell-deployer")...)
	// The apiserver is shared by the package's tests: the team's sites go before the manager stops, so that no
	// later test meets them (one site serving every namespace is refused beside them).
	t.Cleanup(func() {
		g := NewWithT(t)
		g.Expect(k8sClient.DeleteAllOf(ctxBackground, &kubetinkv1alpha1.Tinkerbell{}, client.InNamespace(team))).To(Succeed())
		g.Eventually(func(g Gomega) {
			list := &kubetinkv1alpha1.TinkerbellList{}
			g.Expect(k8sClient.List(ctxBackground, list, client.InNamespace(team))).To(Succeed())
			g.Expect(list.Items).To(BeEmpty())
		}).Should(Succeed(), "the manager finalizes the team's Tinkerbells")
	})

	honest := func(name string) *kubetinkv1alpha1.Tinkerbell {
		return &kubetinkv1alpha1.Tinkerbell{
			ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: name},
			Spec: kubetinkv1alpha1.TinkerbellSpec{Version: "v0.25.0", TargetNamespace: team, Scope: kubetinkv1alpha1.ScopeNamespace,
				PublicIP: "192.168.2.10", ArtifactsFileServer: "http://192.168.2.11:7173",
				TrustedProxies: []kubetinkv1alpha1.CIDR{"10.244.0.0/16"}},
		}
	}
	attacks := []attack{
		{name: "a chart from any registry", reason: kubetinkv1alpha1.ChartURLNotAllowedReason, refuse: "spec.chart.url",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) {
				s.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://evil.example.com/charts/tinkerbell"}
			}},
		{name: "a chart from a host that only looks allowed", reason: kubetinkv1alpha1.ChartURLNotAllowedReason, refuse: "spec.chart.url",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) {
				s.Chart = &kubetinkv1alpha1.ChartSource{URL: "oci://ghcr.io.evil.example.com/tinkerbell/charts/tinkerbell"}
			}},
		{name: "CRDs from any Git path", reason: kubetinkv1alpha1.CRDSourceNotAllowedReason, refuse: "spec.crds.source.url",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) {
				s.CRDs = &kubetinkv1alpha1.CRDsSpec{Source: &kubetinkv1alpha1.CRDSource{URL: "https://github.com/tinkerbell/tinkerbell-evil"}}
			}},
		{name: "another team's namespace", reason: kubetinkv1alpha1.TargetNamespaceNotAllowedReason, refuse: "spec.targetNamespace",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) { s.TargetNamespace = other }},
		{name: "a stack that serves every namespace", reason: kubetinkv1alpha1.ScopeNotAllowedReason, refuse: "allowed-scopes",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) { s.Scope = kubetinkv1alpha1.ScopeCluster }},
		{name: "a system namespace", refuse: "spec.targetNamespace may not be a kube- system namespace",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) { s.TargetNamespace = "kube-system" }},
		{name: "an Argo CD namespace of its choosing", reason: kubetinkv1alpha1.ArgoCDNamespaceNotAllowedReason, refuse: "spec.argoCD.namespace",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) {
				s.Engine, s.ArgoCD = kubetinkv1alpha1.EngineArgoCD, &kubetinkv1alpha1.ArgoCDSpec{Namespace: team, Project: "tinkerbell"}
			}},
		{name: "an Argo CD project that sidesteps the admin's", reason: kubetinkv1alpha1.ArgoCDProjectNotAllowedReason, refuse: "spec.argoCD.project",
			spec: func(s *kubetinkv1alpha1.TinkerbellSpec) {
				s.Engine, s.ArgoCD = kubetinkv1alpha1.EngineArgoCD, &kubetinkv1alpha1.ArgoCDSpec{Project: "default"}
			}},
	}

	// With the admin's ConfigMap, admission refuses each attack, and so does "kubetink render" with the flags.
	cm := setPolicy(t, policyData(settings))
	for i, a := range attacks {
		tb := honest(attackName(i))
		a.spec(&tb.Spec)
		g.Eventually(func() error { return tenant.Create(t.Context(), tb.DeepCopy()) }).
			Should(MatchError(ContainSubstring(a.refuse)), "admission refuses %s", a.name)
		out, err := renderWith(t, tb, flags...)
		g.Expect(err).To(HaveOccurred(), "kubetink render refuses %s", a.name)
		g.Expect(out).To(ContainSubstring(a.refuse), "kubetink render refuses %s", a.name)
	}
	long := honest(strings.Repeat("t", 64))
	g.Expect(tenant.Create(t.Context(), long)).To(MatchError(ContainSubstring("metadata.name may be at most 63 characters")))

	// Without it (or for objects older than it), the manager refuses them: Stalled with the rule's reason, and
	// nothing generated.
	g.Expect(k8sClient.Delete(t.Context(), cm)).To(Succeed())
	probe := honest("probe")
	attacks[0].spec(&probe.Spec)
	g.Eventually(func() error { return tenant.Create(t.Context(), probe, client.DryRunAll) }).Should(Succeed(),
		"admission lets the attacks through once the ConfigMap is gone")
	stored := map[*kubetinkv1alpha1.Tinkerbell]attack{}
	var victim *kubetinkv1alpha1.Tinkerbell
	for i, a := range attacks {
		if a.reason == "" {
			continue
		}
		tb := honest(attackName(i))
		a.spec(&tb.Spec)
		g.Eventually(func() error { return tenant.Create(t.Context(), tb) }).Should(Succeed(), a.name)
		stored[tb], victim = a, tb
	}
	for tb, a := range stored {
		expectStalled(t, tb, a.reason, "")
		got := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(k8sClient.Get(t.Context(), client.ObjectKeyFromObject(tb), got)).To(Succeed())
		g.Expect(got.Status.Inventory).To(BeNil(), "nothing is generated when the manager refuses %s", a.name)
	}
	// The tenant cannot write a status (an inventory naming another team's objects would make the manager prune
	// them).
	g.Expect(tenant.Get(t.Context(), client.ObjectKeyFromObject(victim), victim)).To(Succeed())
	victim.Status.Inventory = &kubetinkv1alpha1.ResourceInventory{}
	g.Expect(tenant.Status().Update(t.Context(), victim)).To(MatchError(ContainSubstring("forbidden")))

	// The tenant gives up on them: one site per target namespace, so they would hold the honest site back.
	for tb := range stored {
		g.Expect(tenant.Delete(t.Context(), tb)).To(Succeed())
	}
	for tb := range stored {
		g.Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(t.Context(), client.ObjectKeyFromObject(tb), tb))
		}).Should(BeTrue(), "the manager lets a refused Tinkerbell go")
	}

	// A Tinkerbell named after an object that is not Kubetink's: the manager never applies over it.
	squatted := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "squat-chart"},
		Spec: sourcev1.OCIRepositorySpec{URL: "oci://registry.example.com/other/chart", Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(k8sClient.Create(t.Context(), squatted)).To(Succeed())
	squat := honest("squat")
	g.Expect(tenant.Create(t.Context(), squat)).To(Succeed())
	expectStalled(t, squat, kubetinkv1alpha1.OwnershipConflictReason, "OCIRepository "+team+"/squat-chart already exists")
	live := &sourcev1.OCIRepository{}
	g.Expect(k8sClient.Get(t.Context(), client.ObjectKeyFromObject(squatted), live)).To(Succeed())
	g.Expect(live.ResourceVersion).To(Equal(squatted.ResourceVersion), "the other object is left untouched")
	g.Expect(tenant.Delete(t.Context(), squat)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(t.Context(), client.ObjectKeyFromObject(squat), squat))
	}).Should(BeTrue(), "the manager lets the refused Tinkerbell go")
	g.Expect(k8sClient.Get(t.Context(), client.ObjectKeyFromObject(squatted), live)).To(Succeed())
	g.Expect(live.ResourceVersion).To(Equal(squatted.ResourceVersion), "deleting the Tinkerbell leaves the other object alone")

	// The honest Tinkerbell installs: its HelmRelease and Kustomizations impersonate the account the admin gave
	// the tenant's namespace.
	tb := honest("honest")
	tb.Spec.Version = "v0.19.0"
	g.Expect(tenant.Create(t.Context(), tb)).To(Succeed())
	waitFor(t, tb, "v0.19.0", "the honest Tinkerbell becomes Ready", func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
	})
	res, err := render.Render(tb, values.Facts{})
	g.Expect(err).NotTo(HaveOccurred())
	for _, u := range res.Objects {
		if u.GetKind() != "HelmRelease" && u.GetKind() != "Kustomization" {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		g.Expect(k8sClient.Get(t.Context(), client.ObjectKeyFromObject(u), live)).To(Succeed())
		sa, _, _ := unstructured.NestedString(live.Object, "spec", "serviceAccountName")
		g.Expect(sa).To(Equal("tinkerbell-deployer"), "%s %s impersonates the default account", u.GetKind(), u.GetName())
	}

	// A Job the tenant creates under the name of the next migration Job is not trusted, and the migration
	// account is not bound meanwhile.
	jobName := tb.Name + "-migrate-v0-25-0-pre"
	foreign := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: jobName}, Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "fake", Image: "busybox"}}}}}}
	g.Expect(tenant.Create(t.Context(), foreign)).To(Succeed())
	finishJob(g, foreign, true)
	g.Expect(tenant.Get(t.Context(), client.ObjectKeyFromObject(tb), tb)).To(Succeed())
	tb.Spec.Version = "v0.25.0"
	g.Expect(tenant.Update(t.Context(), tb)).To(Succeed())
	waitFor(t, tb, "v0.19.0", "the foreign Job is not trusted", func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		stalled := apimeta.FindStatusCondition(got.Status.Conditions, meta.StalledCondition)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(kubetinkv1alpha1.MigrationJobForeignReason))
	})
	g.Expect(migrationBindings(g, tb)).To(BeEmpty(), "no migration binding while no Job of Kubetink's runs")

	// Once it is gone, the manager's own Job migrates only the tenant's namespace, bound there by a RoleBinding;
	// when it fails, the binding goes.
	g.Expect(tenant.Delete(t.Context(), foreign, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
	g.Expect(tenant.Get(t.Context(), client.ObjectKeyFromObject(tb), tb)).To(Succeed())
	tb.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "after-foreign-job"}
	g.Expect(tenant.Update(t.Context(), tb)).To(Succeed())
	own := migrationJob(g, team, migration.PreUpgrade, string(foreign.UID))
	g.Expect(own.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--namespace="+team), "the Job migrates the site's namespace only")
	g.Expect(migrationBindings(g, tb)).To(ConsistOf(
		"RoleBinding/"+team+"/kubetink-migration:"+team+":honest",
		"ClusterRoleBinding/kubetink-migration-crds:"+team+":honest"), "namespaced RBAC for a namespaced site")
	finishJob(g, own, false)
	waitFor(t, tb, "v0.19.0", "the failed Job stalls the upgrade", func(g Gomega, got *kubetinkv1alpha1.Tinkerbell) {
		g.Expect(apimeta.FindStatusCondition(got.Status.Conditions, kubetinkv1alpha1.MigratedCondition)).To(
			HaveField("Reason", kubetinkv1alpha1.MigrationFailedReason))
	})
	g.Eventually(func(g Gomega) { g.Expect(migrationBindings(g, tb)).To(BeEmpty()) }).Should(Succeed(),
		"the migration account is unbound once its Job failed")
	g.Expect(m.log.String()).NotTo(ContainSubstring("forbidden"), "the manager was never refused anything")
}

// attackName names the Tinkerbell of the i-th attack.
func attackName(i int) string {
	return fmt.Sprintf("attack-%d", i)
}

// policyFlags are the manager's (and "kubetink render"'s) flags for settings.
func policyFlags(s policy.Settings) []string {
	var flags []string
	for key, v := range policyData(s) {
		if v != "" {
			flags = append(flags, "--"+key+"="+v)
		}
	}
	return flags
}

// policyData is the kubetink-policy ConfigMap's data for settings: the flags' names and values.
func policyData(s policy.Settings) map[string]string {
	return map[string]string{
		policy.KeyChartURLPrefixes:  strings.Join(s.ChartURLPrefixes, ","),
		policy.KeyCRDSourcePrefixes: strings.Join(s.CRDSourcePrefixes, ","),
		policy.KeyTargetNamespaces:  strings.Join(s.TargetNamespaces, ","),
		policy.KeyScopes:            scopes(s.Scopes),
		policy.KeyArgoCDNamespace:   s.ArgoCDNamespace,
		policy.KeyArgoCDProjects:    strings.Join(s.ArgoCDProjects, ","),
	}
}

// renderWith runs "kubetink render" on one Tinkerbell with extra flags, as a pull-request check would.
func renderWith(t *testing.T, tb *kubetinkv1alpha1.Tinkerbell, flags ...string) (string, error) {
	t.Helper()
	obj := tb.DeepCopy()
	obj.APIVersion, obj.Kind = kubetinkv1alpha1.GroupVersion.String(), kubetinkv1alpha1.TinkerbellKind
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tinkerbell.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), append([]string{"render", "-f", file}, flags...)...).CombinedOutput()
	return string(out), err
}

// waitFor plays Flux for the objects of tb at version (they become Ready, as their controllers would make them)
// until check passes on the Tinkerbell.
func waitFor(t *testing.T, tb *kubetinkv1alpha1.Tinkerbell, version, desc string, check func(g Gomega, got *kubetinkv1alpha1.Tinkerbell)) {
	t.Helper()
	at := tb.DeepCopy()
	at.Spec.Version = version
	res, err := render.Render(at, values.Facts{})
	if err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func(g Gomega) {
		for _, u := range res.Objects {
			markReady(g, u)
		}
		got := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(tb), got)).To(Succeed())
		check(g, got)
	}).Should(Succeed(), desc)
}

// expectStalled waits until the Tinkerbell is Stalled with reason and a message containing message, with nothing
// generated for it.
func expectStalled(t *testing.T, tb *kubetinkv1alpha1.Tinkerbell, reason, message string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := &kubetinkv1alpha1.Tinkerbell{}
		g.Expect(k8sClient.Get(ctxBackground, client.ObjectKeyFromObject(tb), got)).To(Succeed())
		stalled := apimeta.FindStatusCondition(got.Status.Conditions, meta.StalledCondition)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason + ": " + stalled.Message).To(And(HavePrefix(reason+": "), ContainSubstring(message)))
	}).Should(Succeed(), "%s/%s is Stalled with %s", tb.Namespace, tb.Name, reason)
}

// migrationBindings lists the bindings of the migration account for tb that exist, as Kind/[namespace/]name.
func migrationBindings(g Gomega, tb *kubetinkv1alpha1.Tinkerbell) []string {
	suffix := ":" + tb.Namespace + ":" + tb.Name
	var out []string
	crbs := &rbacv1.ClusterRoleBindingList{}
	g.Expect(k8sClient.List(ctxBackground, crbs)).To(Succeed())
	for _, b := range crbs.Items {
		if strings.HasPrefix(b.Name, "kubetink-migration") && strings.HasSuffix(b.Name, suffix) {
			out = append(out, "ClusterRoleBinding/"+b.Name)
		}
	}
	rbs := &rbacv1.RoleBindingList{}
	g.Expect(k8sClient.List(ctxBackground, rbs)).To(Succeed())
	for _, b := range rbs.Items {
		if strings.HasPrefix(b.Name, "kubetink-migration") && strings.HasSuffix(b.Name, suffix) {
			out = append(out, "RoleBinding/"+b.Namespace+"/"+b.Name)
		}
	}
	return out
}

// scopes is a list of scopes as the flag and the ConfigMap write it.
func scopes(list []kubetinkv1alpha1.Scope) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = string(s)
	}
	return strings.Join(out, ",")
}
