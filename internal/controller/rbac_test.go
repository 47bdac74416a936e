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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/testutil"
)

// The ClusterRoles shipped for migration Jobs grant exactly what "kubetink migrate" needs.
func TestMigrationClusterRoleMatchesTheCode(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "rbac", "migration_role.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	docs := strings.Split(string(data), "\n---\n")
	g.Expect(docs).To(HaveLen(2))
	roles := map[string][]rbacv1.PolicyRule{}
	for _, doc := range docs {
		role := &rbacv1.ClusterRole{}
		g.Expect(yaml.Unmarshal([]byte(doc), role)).To(Succeed())
		roles[role.Name] = role.Rules
	}
	g.Expect(roles).To(Equal(map[string][]rbacv1.PolicyRule{
		migrationClusterRole:     migration.RBACRules(),
		migrationCRDsClusterRole: migration.CRDRBACRules(),
	}))
}

// The manager's generated role (kubebuilder markers on the reconciler) lets it list and watch exactly the kinds
// that block an upgrade, and get exactly the obsolete CRDs, as internal/migration lists them.
func TestManagerRoleMatchesMigrationKinds(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "rbac", "role.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	g.Expect(yaml.Unmarshal(data, role)).To(Succeed())

	grants := func(group, resource string, verbs ...string) bool {
		return slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return len(r.ResourceNames) == 0 && slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) &&
				!slices.ContainsFunc(verbs, func(v string) bool { return !slices.Contains(r.Verbs, v) })
		})
	}
	for _, b := range migration.BlockerTargets() {
		g.Expect(grants(b.Group, b.Resource, "list", "watch")).To(BeTrue(), "list and watch %s", b.GVR())
	}

	var crdNames []string
	for _, r := range role.Rules {
		if slices.Contains(r.APIGroups, apiextensionsv1.GroupName) && slices.Contains(r.Resources, "customresourcedefinitions") {
			g.Expect(r.Verbs).To(Equal([]string{"get"}), "CRDs are only read, by name")
			crdNames = append(crdNames, r.ResourceNames...)
		}
	}
	obsolete := migration.ObsoleteTargets()
	want := make([]string, 0, len(obsolete))
	for _, o := range obsolete {
		want = append(want, o.CRDName())
	}
	g.Expect(crdNames).To(ConsistOf(want), "the manager reads the obsolete CRDs and no other")
}
