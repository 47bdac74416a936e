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
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubetink/kubetink/internal/migration"
)

// access is one question to the apiserver's authorizer: may the subject <verb> <resource> (in namespace, named)?
type access struct {
	verb, group, resource, subresource, namespace, name string
}

func (a access) String() string {
	r := a.resource
	if a.group != "" {
		r += "." + a.group
	}
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	s := a.verb + " " + r
	if a.name != "" {
		s += " " + a.name
	}
	if a.namespace != "" {
		s += " in " + a.namespace
	}
	return s
}

// allowed asks the apiserver, with a SubjectAccessReview, whether user (with groups) may do a.
func allowed(t *testing.T, user string, groups []string, a access) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource,
			Subresource: a.subresource, Namespace: a.namespace, Name: a.name},
	}}
	if err := k8sClient.Create(t.Context(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

func expectAccess(t *testing.T, user string, groups []string, may, mayNot []access) {
	t.Helper()
	g := NewWithT(t)
	for _, a := range may {
		g.Expect(allowed(t, user, groups, a)).To(BeTrue(), "%s may %s", user, a)
	}
	for _, a := range mayNot {
		g.Expect(allowed(t, user, groups, a)).To(BeFalse(), "%s may not %s", user, a)
	}
}

// The apiserver authorizes with RBAC; installed, config/default lets the manager do its work and nothing else.
func TestRBAC_Manager(t *testing.T) {
	installed(t)
	const site = "flux-system" // any namespace holding a Tinkerbell
	groups := serviceAccountGroups(systemNamespace)
	expectAccess(t, managerUser, groups, []access{
		{verb: "watch", group: "kubetink.io", resource: "tinkerbells"},
		{verb: "get", group: "kubetink.io", resource: "tinkerbells", namespace: site, name: "tinkerbell"},
		{verb: "patch", group: "kubetink.io", resource: "tinkerbells", namespace: site},
		{verb: "patch", group: "kubetink.io", resource: "tinkerbells", subresource: "status", namespace: site},
		{verb: "update", group: "kubetink.io", resource: "tinkerbells", subresource: "finalizers", namespace: site},
		{verb: "create", group: "helm.toolkit.fluxcd.io", resource: "helmreleases", namespace: site},
		{verb: "patch", group: "helm.toolkit.fluxcd.io", resource: "helmreleases", namespace: site},
		{verb: "delete", group: "helm.toolkit.fluxcd.io", resource: "helmreleases", namespace: site},
		{verb: "watch", group: "helm.toolkit.fluxcd.io", resource: "helmreleases"},
		{verb: "patch", group: "kustomize.toolkit.fluxcd.io", resource: "kustomizations", namespace: site},
		{verb: "patch", group: "source.toolkit.fluxcd.io", resource: "ocirepositories", namespace: site},
		{verb: "patch", group: "source.toolkit.fluxcd.io", resource: "gitrepositories", namespace: site},
		{verb: "list", resource: "nodes"},
		{verb: "watch", resource: "nodes"},
		{verb: "get", resource: "services", namespace: "metallb-system", name: "tinkerbell-lb"},
		{verb: "create", group: "events.k8s.io", resource: "events", namespace: site},
		{verb: "create", group: "batch", resource: "jobs", namespace: site},
		{verb: "delete", group: "batch", resource: "jobs", namespace: site},
		{verb: "watch", group: "batch", resource: "jobs"},
		{verb: "create", resource: "serviceaccounts", namespace: site},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
		{verb: "delete", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", name: "kubetink-migration:flux-system:tinkerbell"},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: site},
		{verb: "delete", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: site, name: "kubetink-migration:flux-system:tinkerbell"},
		{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "kubetink-migration"},
		{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "kubetink-migration-crds"},
		{verb: "list", group: "tinkerbell.org", resource: "workflows"},
		{verb: "watch", group: "tinkerbell.org", resource: "workflows"},
		{verb: "list", group: "bmc.tinkerbell.org", resource: "jobs"},
		{verb: "watch", group: "bmc.tinkerbell.org", resource: "jobs"},
		{verb: "list", group: "infrastructure.cluster.x-k8s.io", resource: "tinkerbellmachines"},
		{verb: "list", group: "infrastructure.cluster.x-k8s.io", resource: "tinkerbellclusters"},
		{verb: "list", group: "cluster.x-k8s.io", resource: "clusters"},
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: migration.BaseboardManagements.CRDName()},
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: migration.WorkflowData.CRDName()},
		// Leader election, in its own namespace only.
		{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: systemNamespace, name: "kubetink-leader-election"},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: systemNamespace},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: systemNamespace, name: "kubetink-leader-election"},
		{verb: "create", resource: "events", namespace: systemNamespace},
	}, []access{
		// Secrets are none of its business: not the chart's registry credentials, not its own namespace's.
		{verb: "get", resource: "secrets", namespace: site, name: "registry-credentials"},
		{verb: "list", resource: "secrets", namespace: site},
		{verb: "list", resource: "secrets"},
		{verb: "watch", resource: "secrets", namespace: systemNamespace},
		// It never deletes or changes CRDs, and reads only the two it reports.
		{verb: "delete", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "hardware.tinkerbell.org"},
		{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "tinkerbells.kubetink.io"},
		{verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "hardware.tinkerbell.org"},
		{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
		// Users' Tinkerbell objects are the migration Jobs' to touch, not the manager's.
		{verb: "delete", group: "tinkerbell.org", resource: "hardware", namespace: site},
		{verb: "update", group: "tinkerbell.org", resource: "hardware", namespace: site},
		{verb: "get", group: "tinkerbell.org", resource: "hardware", namespace: site},
		{verb: "update", group: "tinkerbell.org", resource: "workflows", namespace: site},
		{verb: "delete", group: "bmc.tinkerbell.org", resource: "machines", namespace: site},
		// Cluster API objects are only read for the legacy upgrade's preflight, never changed or watched.
		{verb: "patch", group: "cluster.x-k8s.io", resource: "clusters", namespace: site},
		{verb: "watch", group: "infrastructure.cluster.x-k8s.io", resource: "tinkerbellmachines"},
		// No workloads besides the migration Jobs.
		{verb: "update", group: "apps", resource: "deployments", namespace: site},
		{verb: "patch", group: "apps", resource: "deployments", namespace: systemNamespace, name: "kubetink-manager"},
		{verb: "create", resource: "pods", namespace: site},
		{verb: "create", resource: "pods", subresource: "exec", namespace: site},
		{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: site, name: "kubetink-migration"},
		{verb: "update", group: "batch", resource: "jobs", namespace: site},
		// No way to more privileges.
		{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "cluster-admin"},
		{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "kubetink-manager"},
		{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "kubetink-migration"},
		{verb: "update", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "kubetink-migration"},
		{verb: "bind", group: "rbac.authorization.k8s.io", resource: "roles", namespace: site, name: "kubetink-migration"},
		{verb: "get", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: site},
		{verb: "impersonate", resource: "users", name: "admin"},
		{verb: "impersonate", resource: "serviceaccounts", namespace: site, name: "kubetink-migration"},
		// Only the writes it makes, as patches.
		{verb: "update", group: "kubetink.io", resource: "tinkerbells", namespace: site},
		{verb: "create", group: "kubetink.io", resource: "tinkerbells", namespace: site},
		{verb: "delete", group: "kubetink.io", resource: "tinkerbells", namespace: site},
		{verb: "update", group: "helm.toolkit.fluxcd.io", resource: "helmreleases", namespace: site},
		{verb: "create", group: "source.toolkit.fluxcd.io", resource: "helmrepositories", namespace: site},
		{verb: "create", resource: "configmaps", namespace: site},
		{verb: "patch", resource: "nodes", name: "node-1"},
		{verb: "update", resource: "services", subresource: "status", namespace: site, name: "tinkerbell"},
		// Leader election leases elsewhere.
		{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system", name: "kube-controller-manager"},
		{verb: "delete", group: "coordination.k8s.io", resource: "leases", namespace: systemNamespace, name: "kubetink-leader-election"},
	})
}

// The migration Jobs' ServiceAccount may do what "kubetink migrate" does once the manager bound it for a Job, and
// nothing before that. A site of scope Namespace gets RoleBindings: it may act in the namespace it serves and
// write backups in its own, nowhere else; a site of scope Cluster gets a ClusterRoleBinding.
func TestRBAC_MigrationServiceAccount(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns, served := restrictedNamespace(t), restrictedNamespace(t)
	user := fmt.Sprintf("system:serviceaccount:%s:kubetink-migration", ns)
	groups := serviceAccountGroups(ns)
	updateHardware := access{verb: "update", group: "tinkerbell.org", resource: "hardware", namespace: served, name: "worker-1"}
	g.Expect(allowed(t, user, groups, updateHardware)).To(BeFalse(), "unbound, it may do nothing")

	// Bind it as the manager does for a Job of a site of scope Namespace.
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "kubetink-migration"}}
	name := "kubetink-migration:" + ns + ":tinkerbell"
	bindings := make([]client.Object, 0, 3)
	bindings = append(bindings, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kubetink-migration-crds:" + ns + ":tinkerbell"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubetink-migration-crds"},
		Subjects:   subjects,
	})
	for _, n := range []string{ns, served} {
		bindings = append(bindings, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubetink-migration"},
			Subjects:   subjects,
		})
	}
	for _, b := range bindings {
		g.Expect(k8sClient.Create(t.Context(), b)).To(Succeed())
		t.Cleanup(func() { _ = k8sClient.Delete(ctxBackground, b) })
	}
	getCRD := access{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "workflows.tinkerbell.org"}
	// The apiserver's RBAC authorizer learns of a new binding from its informer, a moment after the create.
	g.Eventually(func() bool { return allowed(t, user, groups, updateHardware) && allowed(t, user, groups, getCRD) }).
		WithTimeout(10*time.Second).WithPolling(50*time.Millisecond).Should(BeTrue(), "the bindings never took effect")

	expectAccess(t, user, groups, []access{
		updateHardware,
		getCRD,
		{verb: "list", group: "tinkerbell.org", resource: "hardware", namespace: served},
		{verb: "get", group: "tinkerbell.org", resource: "templates", namespace: served, name: "ubuntu"},
		{verb: "update", group: "tinkerbell.org", resource: "templates", namespace: served, name: "ubuntu"},
		{verb: "update", group: "tinkerbell.org", resource: "workflows", namespace: served, name: "wf"},
		{verb: "update", group: "tinkerbell.org", resource: "workflows", subresource: "status", namespace: served, name: "wf"},
		{verb: "list", group: "tinkerbell.org", resource: "workflowdata", namespace: served},
		{verb: "update", group: "bmc.tinkerbell.org", resource: "jobs", namespace: served, name: "power-on"},
		{verb: "create", group: "bmc.tinkerbell.org", resource: "machines", namespace: served},
		{verb: "list", group: "bmc.tinkerbell.org", resource: "baseboardmanagements", namespace: served},
		{verb: "list", group: "infrastructure.cluster.x-k8s.io", resource: "tinkerbellmachines", namespace: served},
		{verb: "list", group: "infrastructure.cluster.x-k8s.io", resource: "tinkerbellclusters", namespace: served},
		{verb: "list", group: "cluster.x-k8s.io", resource: "clusters", namespace: served},
		{verb: "create", resource: "configmaps", namespace: ns},
		{verb: "get", resource: "configmaps", namespace: ns, name: "backup"},
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "workflowdata.tinkerbell.org"},
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "baseboardmanagements.bmc.tinkerbell.org"},
	}, []access{
		// Another site's objects, and the whole cluster's, are out of its reach.
		{verb: "update", group: "tinkerbell.org", resource: "hardware", namespace: "machines", name: "worker-1"},
		{verb: "list", group: "tinkerbell.org", resource: "hardware", namespace: "machines"},
		{verb: "list", group: "tinkerbell.org", resource: "hardware"},
		{verb: "list", group: "tinkerbell.org", resource: "workflows"},
		{verb: "list", group: "infrastructure.cluster.x-k8s.io", resource: "tinkerbellmachines"},
		{verb: "create", resource: "configmaps", namespace: "machines"},
		// Only the CRDs it reads, and only read.
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "hardware.tinkerbell.org"},
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "tinkerbells.kubetink.io"},
		{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
		{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "workflows.tinkerbell.org"},
		// It deletes nothing.
		{verb: "delete", group: "tinkerbell.org", resource: "hardware", namespace: served, name: "worker-1"},
		{verb: "delete", group: "tinkerbell.org", resource: "workflows", namespace: served, name: "wf"},
		{verb: "delete", group: "tinkerbell.org", resource: "templates", namespace: served, name: "ubuntu"},
		{verb: "delete", group: "bmc.tinkerbell.org", resource: "machines", namespace: served, name: "bmc-1"},
		{verb: "delete", resource: "configmaps", namespace: ns, name: "backup"},
		{verb: "deletecollection", group: "tinkerbell.org", resource: "hardware", namespace: served},
		// It reads no Secrets (BMC credentials live there).
		{verb: "get", resource: "secrets", namespace: served, name: "bmc-credentials"},
		{verb: "list", resource: "secrets", namespace: served},
		{verb: "list", resource: "secrets"},
		// Only the writes the migrations make.
		{verb: "patch", group: "tinkerbell.org", resource: "hardware", namespace: served, name: "worker-1"},
		{verb: "update", group: "tinkerbell.org", resource: "hardware", subresource: "status", namespace: served, name: "worker-1"},
		{verb: "update", resource: "configmaps", namespace: ns, name: "backup"},
		{verb: "update", group: "bmc.tinkerbell.org", resource: "machines", namespace: served, name: "bmc-1"},
		{verb: "update", group: "kubetink.io", resource: "tinkerbells", namespace: ns, name: "tinkerbell"},
		{verb: "create", group: "batch", resource: "jobs", namespace: ns},
		{verb: "create", resource: "pods", namespace: ns},
		{verb: "patch", group: "helm.toolkit.fluxcd.io", resource: "helmreleases", namespace: ns},
	})

	// A site of scope Cluster migrates every namespace: the manager binds kubetink-migration cluster-wide.
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubetink-migration"},
		Subjects:   subjects,
	}
	g.Expect(k8sClient.Create(t.Context(), crb)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(ctxBackground, crb) })
	listAll := access{verb: "list", group: "tinkerbell.org", resource: "hardware"}
	g.Eventually(func() bool { return allowed(t, user, groups, listAll) }).WithTimeout(10*time.Second).
		WithPolling(50*time.Millisecond).Should(BeTrue(), "the binding never took effect")
	expectAccess(t, user, groups, []access{
		{verb: "update", group: "tinkerbell.org", resource: "hardware", namespace: "machines", name: "worker-1"},
		{verb: "list", group: "infrastructure.cluster.x-k8s.io", resource: "tinkerbellmachines"},
	}, []access{
		{verb: "delete", group: "tinkerbell.org", resource: "hardware", namespace: "machines", name: "worker-1"},
		{verb: "get", resource: "secrets", namespace: "machines", name: "bmc-credentials"},
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "hardware.tinkerbell.org"},
	})
}

// No rule anywhere grants a wildcard group, resource or verb.
func TestRBAC_NoWildcards(t *testing.T) {
	g := NewWithT(t)
	for _, u := range defaultObjects(t) {
		if u.GetKind() != "ClusterRole" && u.GetKind() != "Role" {
			continue
		}
		rules := unstructuredRules(u.Object)
		g.Expect(rules).NotTo(BeEmpty(), "%s %s", u.GetKind(), u.GetName())
		for _, r := range rules {
			for _, field := range []string{"apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"} {
				values, _ := r[field].([]any)
				for _, v := range values {
					g.Expect(v).NotTo(ContainSubstring("*"), "%s %s: %s %v", u.GetKind(), u.GetName(), field, values)
				}
			}
		}
	}
}

// unstructuredRules returns the rules of a Role or ClusterRole.
func unstructuredRules(obj map[string]any) []map[string]any {
	list, _ := obj["rules"].([]any)
	var out []map[string]any
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Every +kubebuilder:rbac marker (the source of role.yaml) carries its reason: a run of markers is preceded by a
// comment line saying why.
func TestRBAC_EveryMarkerHasAReason(t *testing.T) {
	g := NewWithT(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "internal", "controller", "*.go"))
	g.Expect(err).NotTo(HaveOccurred())
	markers := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(string(data), "\n")
		for i, line := range lines {
			if !strings.HasPrefix(line, "// +kubebuilder:rbac:") {
				continue
			}
			markers++
			j := i - 1
			for j >= 0 && strings.HasPrefix(lines[j], "// +kubebuilder:rbac:") {
				j--
			}
			reason := ""
			if j >= 0 {
				reason = strings.TrimSpace(strings.TrimPrefix(lines[j], "//"))
			}
			g.Expect(strings.HasPrefix(lines[max(j, 0)], "//") && reason != "").To(BeTrue(),
				"%s:%d: the marker %q has no reason comment above it", filepath.Base(f), i+1, line)
		}
	}
	g.Expect(markers).To(BeNumerically(">", 10))
}

// The admission guardrails close what RBAC cannot: the manager may create and delete only the migration Jobs,
// ServiceAccount and bindings, whatever namespace it works in.
func TestRBAC_ManagerGuardrails(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	ns := restrictedNamespace(t)
	manager := impersonatingClient(t, managerUser, serviceAccountGroups(systemNamespace)...)
	dryRun := []client.CreateOption{client.DryRunAll}

	job := func(sa string, mutate ...func(*corev1.PodSpec)) *batchv1.Job {
		j := migration.NewJob(migration.JobOptions{Name: "tinkerbell-migrate-v0-25-0-pre", Namespace: ns,
			Image: "ghcr.io/kubetink/kubetink:v0.0.0", ServiceAccountName: sa, From: "v0.19.0", To: "v0.25.0", Phase: migration.PreUpgrade})
		for _, m := range mutate {
			m(&j.Spec.Template.Spec)
		}
		return j
	}
	binding := func(name, role, sa string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa}},
		}
	}
	roleBinding := func(name, kind, role, sa string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa}},
		}
	}

	// The policy is loaded asynchronously after it is created.
	g.Eventually(func() error {
		return manager.Create(t.Context(), job("default"), dryRun...)
	}).Should(MatchError(ContainSubstring("may only create Jobs that run as the kubetink-migration ServiceAccount")))

	g.Expect(manager.Create(t.Context(), job("kubetink-migration"), dryRun...)).To(Succeed())
	g.Expect(manager.Create(t.Context(), job("kubetink-migration", func(p *corev1.PodSpec) {
		p.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	}), dryRun...)).To(MatchError(ContainSubstring("hostPath")))
	g.Expect(manager.Create(t.Context(), job("kubetink-migration", func(p *corev1.PodSpec) { p.HostPID = true }), dryRun...)).
		To(MatchError(ContainSubstring("host namespaces")))
	g.Expect(k8sClient.Create(t.Context(), job("default"), dryRun...)).To(Succeed(), "the policy binds the manager only")

	g.Expect(manager.Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kubetink-migration"}}, dryRun...)).To(Succeed())
	g.Expect(manager.Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"}}, dryRun...)).
		To(MatchError(ContainSubstring("may only create the kubetink-migration ServiceAccount")))

	g.Expect(manager.Create(t.Context(), binding("kubetink-migration:"+ns+":tinkerbell", "kubetink-migration", "kubetink-migration"), dryRun...)).To(Succeed())
	g.Expect(manager.Create(t.Context(), binding("kubetink-migration:"+ns+":tinkerbell", "kubetink-migration", "deployer"), dryRun...)).
		To(MatchError(ContainSubstring("may only create or delete the kubetink-migration")))
	g.Expect(manager.Create(t.Context(), binding("innocent", "kubetink-migration", "kubetink-migration"), dryRun...)).
		To(MatchError(ContainSubstring("may only create or delete the kubetink-migration")))
	g.Expect(manager.Create(t.Context(), binding("kubetink-migration:"+ns+":tinkerbell", "cluster-admin", "kubetink-migration"), dryRun...)).
		To(MatchError(ContainSubstring("forbidden")), "RBAC refuses binding a role the manager may not bind")
	g.Expect(manager.Create(t.Context(), binding("kubetink-migration-crds:"+ns+":tinkerbell", "kubetink-migration-crds", "kubetink-migration"), dryRun...)).To(Succeed())
	g.Expect(manager.Create(t.Context(), binding("kubetink-migration-crds:"+ns+":tinkerbell", "kubetink-migration", "kubetink-migration"), dryRun...)).
		To(MatchError(ContainSubstring("may only create or delete the kubetink-migration")), "a name that does not match its role")
	g.Expect(manager.Create(t.Context(), binding("kubetink-migration:"+ns+":tinkerbell", "kubetink-migration-crds", "kubetink-migration"), dryRun...)).
		To(MatchError(ContainSubstring("may only create or delete the kubetink-migration")), "a name that does not match its role")

	// RoleBindings: the same rules, in any namespace.
	g.Expect(manager.Create(t.Context(), roleBinding("kubetink-migration:"+ns+":tinkerbell", "ClusterRole", "kubetink-migration", "kubetink-migration"), dryRun...)).To(Succeed())
	g.Expect(manager.Create(t.Context(), roleBinding("kubetink-migration:"+ns+":tinkerbell", "ClusterRole", "kubetink-migration", "deployer"), dryRun...)).
		To(MatchError(ContainSubstring("RoleBindings of the kubetink-migration ClusterRole")))
	g.Expect(manager.Create(t.Context(), roleBinding("innocent", "ClusterRole", "kubetink-migration", "kubetink-migration"), dryRun...)).
		To(MatchError(ContainSubstring("RoleBindings of the kubetink-migration ClusterRole")))
	g.Expect(manager.Create(t.Context(), roleBinding("kubetink-migration:"+ns+":tinkerbell", "ClusterRole", "kubetink-migration-crds", "kubetink-migration"), dryRun...)).
		To(MatchError(ContainSubstring("RoleBindings of the kubetink-migration ClusterRole")))
	g.Expect(manager.Create(t.Context(), roleBinding("kubetink-migration:"+ns+":tinkerbell", "Role", "kubetink-migration", "kubetink-migration"), dryRun...)).
		To(HaveOccurred(), "a Role of the namespace, whatever its rules")
	g.Expect(manager.Create(t.Context(), roleBinding("kubetink-migration:"+ns+":tinkerbell", "ClusterRole", "admin", "kubetink-migration"), dryRun...)).
		To(HaveOccurred(), "RBAC and the policy refuse binding another role")
	others := roleBinding("someone-elses", "ClusterRole", "view", "deployer")
	g.Expect(k8sClient.Create(t.Context(), others)).To(Succeed())
	g.Expect(manager.Delete(t.Context(), others, client.DryRunAll)).
		To(MatchError(ContainSubstring("RoleBindings of the kubetink-migration ClusterRole")))

	// Deletes: only its own bindings and Jobs.
	g.Expect(manager.Delete(t.Context(), &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "kubetink-manager"}}, client.DryRunAll)).
		To(MatchError(ContainSubstring("may only create or delete the kubetink-migration")))
	other := job("kubetink-migration")
	// Not ours: without labels (the apiserver copies a Job's pod template labels when it has none).
	other.Name, other.Labels, other.Spec.Template.Labels = "someone-elses", nil, nil
	g.Expect(k8sClient.Create(t.Context(), other)).To(Succeed())
	g.Expect(manager.Delete(t.Context(), other, client.DryRunAll)).To(MatchError(ContainSubstring("may only delete the migration Jobs it created")))
	own := job("kubetink-migration")
	g.Expect(k8sClient.Create(t.Context(), own)).To(Succeed())
	g.Expect(manager.Delete(t.Context(), own, client.DryRunAll)).To(Succeed())
}
