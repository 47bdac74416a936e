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
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

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
