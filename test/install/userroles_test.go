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
	"testing"
	"time"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// aggregateUserRoles fills the built-in view, edit and admin ClusterRoles from the ClusterRoles their
// aggregationRule selects, as kube-controller-manager's clusterrole-aggregation controller does (none runs beside
// this test's apiserver). The selectors are the apiserver's own, so a role that lacks the right label is left out
// here as it would be in a cluster.
func aggregateUserRoles(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	for _, name := range []string{"view", "edit", "admin"} {
		role := &rbacv1.ClusterRole{}
		g.Expect(k8sClient.Get(t.Context(), client.ObjectKey{Name: name}, role)).To(Succeed())
		g.Expect(role.AggregationRule).NotTo(BeNil(), "the built-in %s role aggregates", name)
		var rules []rbacv1.PolicyRule
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			selector, err := metav1.LabelSelectorAsSelector(&sel)
			g.Expect(err).NotTo(HaveOccurred())
			list := &rbacv1.ClusterRoleList{}
			g.Expect(k8sClient.List(t.Context(), list, client.MatchingLabelsSelector{Selector: selector})).To(Succeed())
			for _, r := range list.Items {
				if r.Name != name {
					rules = append(rules, r.Rules...)
				}
			}
		}
		role.Rules = rules
		g.Expect(k8sClient.Update(t.Context(), role)).To(Succeed())
	}
}

// A user bound to the built-in edit (or admin) role in a namespace may create and change Tinkerbells there and
// nowhere else, one bound to view may only read them, and none may write their status: kubetink-view and
// kubetink-edit aggregate into those roles.
func TestRBAC_UserRoles(t *testing.T) {
	installed(t)
	g := NewWithT(t)
	aggregateUserRoles(t)
	team, other := restrictedNamespace(t), restrictedNamespace(t)
	for user, role := range map[string]string{"alice": "edit", "bob": "view", "carol": "admin"} {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		}
		g.Expect(k8sClient.Create(t.Context(), rb)).To(Succeed())
	}
	tinkerbells := func(verb, namespace string) access {
		return access{verb: verb, group: "kubetink.io", resource: "tinkerbells", namespace: namespace, name: "tinkerbell"}
	}
	status := func(verb, namespace string) access {
		a := tinkerbells(verb, namespace)
		a.subresource = "status"
		return a
	}
	groups := []string{"system:authenticated"}
	// The apiserver's RBAC authorizer learns of new roles and bindings from its informer, a moment later.
	for _, user := range []string{"alice", "bob", "carol"} {
		g.Eventually(func() bool { return allowed(t, user, groups, tinkerbells("get", team)) }).WithTimeout(10*time.Second).
			WithPolling(50*time.Millisecond).Should(BeTrue(), "%s's binding never took effect", user)
	}

	writes := []string{"create", "update", "patch", "delete"}
	reads := []string{"get", "list", "watch"}
	editMay := make([]access, 0, len(reads)+len(writes)+1)
	editMayNot := make([]access, 0, len(reads)+len(writes)+4)
	viewMay := make([]access, 0, len(reads)+1)
	viewMayNot := make([]access, 0, len(reads)+2*len(writes)+3)
	for _, v := range append(reads, writes...) {
		editMay = append(editMay, tinkerbells(v, team))
		editMayNot = append(editMayNot, tinkerbells(v, other))
		viewMayNot = append(viewMayNot, tinkerbells(v, other))
	}
	for _, v := range reads {
		viewMay = append(viewMay, tinkerbells(v, team))
	}
	for _, v := range writes {
		viewMayNot = append(viewMayNot, tinkerbells(v, team))
	}
	editMay = append(editMay, status("get", team))
	viewMay = append(viewMay, status("get", team))
	for _, v := range []string{"update", "patch"} {
		editMayNot = append(editMayNot, status(v, team))
		viewMayNot = append(viewMayNot, status(v, team))
	}
	editMayNot = append(editMayNot, tinkerbells("list", ""), access{verb: "update", group: "kubetink.io", resource: "tinkerbells", subresource: "finalizers", namespace: team, name: "tinkerbell"})
	viewMayNot = append(viewMayNot, tinkerbells("list", ""))

	expectAccess(t, "alice", groups, editMay, editMayNot)
	expectAccess(t, "carol", groups, editMay, editMayNot)
	expectAccess(t, "bob", groups, viewMay, viewMayNot)

	// And for real: alice creates one in her team's namespace, not in another.
	alice := impersonatingClient(t, "alice", groups...)
	tb := &kubetinkv1alpha1.Tinkerbell{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "tinkerbell"},
		Spec: kubetinkv1alpha1.TinkerbellSpec{Version: "v0.25.0", PublicIP: "192.168.2.10", ArtifactsFileServer: "http://192.168.2.11:7173"}}
	g.Expect(alice.Create(t.Context(), tb.DeepCopy(), client.DryRunAll)).To(Succeed())
	tb.Namespace = other
	g.Expect(alice.Create(t.Context(), tb, client.DryRunAll)).To(MatchError(ContainSubstring("forbidden")))
}
