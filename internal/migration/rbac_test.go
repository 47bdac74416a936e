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

package migration

import (
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
)

// allows reports whether rules grant verb on group/resource.
func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

func TestRBACRules(t *testing.T) {
	g := NewWithT(t)
	rules := RBACRules()
	for _, r := range rules {
		g.Expect(r.APIGroups).NotTo(ContainElement("*"))
		g.Expect(r.Resources).NotTo(ContainElement("*"))
		g.Expect(r.Verbs).NotTo(ContainElement("*"))
		g.Expect(r.Verbs).NotTo(ContainElement("delete"), "the migration never deletes")
	}
	// Everything each registered migration does.
	for _, m := range All() {
		for _, rw := range m.Rewrites {
			for _, verb := range []string{"get", "list", "update"} {
				g.Expect(allows(rules, rw.Target.Group, rw.Target.Resource, verb)).To(BeTrue(), "%s: %s %s", m.Name, verb, rw.Target.Resource)
			}
			if len(rw.RequiredFields) > 0 {
				g.Expect(CRDNames()).To(ContainElement(rw.Target.CRDName()), "%s reads the CRD of %s", m.Name, rw.Target.Resource)
			}
		}
		if m.Create != nil {
			g.Expect(allows(rules, m.Create.Source.Group, m.Create.Source.Resource, "list")).To(BeTrue())
			g.Expect(allows(rules, m.Create.Result.Group, m.Create.Result.Resource, "create")).To(BeTrue())
		}
		for _, o := range m.Obsolete {
			g.Expect(allows(rules, o.Group, o.Resource, "list")).To(BeTrue())
			g.Expect(CRDNames()).To(ContainElement(o.CRDName()), "%s reports the CRD of %s", m.Name, o.Resource)
		}
	}
	g.Expect(allows(rules, "tinkerbell.org", "workflows/status", "update")).To(BeTrue())
	g.Expect(allows(rules, "bmc.tinkerbell.org", "jobs", "list")).To(BeTrue(), "preflight lists bmc Jobs")
	for _, tg := range CAPTTargets() {
		g.Expect(allows(rules, tg.Group, tg.Resource, "list")).To(BeTrue(), "preflight lists %s", tg.Resource)
	}
	g.Expect(allows(rules, "", "configmaps", "create")).To(BeTrue())
	g.Expect(allows(rules, "", "configmaps", "get")).To(BeTrue())
	g.Expect(allows(rules, "apiextensions.k8s.io", "customresourcedefinitions", "get")).To(BeFalse(),
		"a RoleBinding cannot grant a cluster-scoped read: it belongs in CRDRBACRules")
}

func TestCRDRBACRules(t *testing.T) {
	g := NewWithT(t)
	rules := CRDRBACRules()
	g.Expect(rules).To(HaveLen(1))
	g.Expect(rules[0].Verbs).To(Equal([]string{"get"}))
	g.Expect(rules[0].ResourceNames).NotTo(BeEmpty(), "only the CRDs it reads, by name")
	g.Expect(rules[0].ResourceNames).To(ContainElements(Workflows.CRDName(), WorkflowData.CRDName(), BaseboardManagements.CRDName()))
}
