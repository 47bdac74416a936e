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

	rbacv1 "k8s.io/api/rbac/v1"
)

// RBACRules returns what "kubetink migrate" needs in the namespaces it migrates and in the backup namespace, all
// of it on namespaced kinds: the rules of a ClusterRole that the manager binds to the migration Job's
// ServiceAccount with a RoleBinding in each of those namespaces, or with a ClusterRoleBinding when the Job
// migrates every namespace. The one cluster-scoped read is in CRDRBACRules.
//
//   - get, list and update on the Tinkerbell kinds it rewrites, and update on workflows/status, the only status
//     it writes;
//   - list on the kinds it only reads (BaseboardManagements, and WorkflowData to count obsolete objects), and on
//     CAPT's TinkerbellMachines and TinkerbellClusters and Cluster API Clusters, which the preflight of the
//     legacy stack reinstall reads (CAPTBlockers);
//   - create on bmc Machines (BaseboardManagement → Machine; an existing Machine is never overwritten);
//   - create and get on ConfigMaps, for the backups.
//
// Restoring from backups ("kubetink migrate --restore") is an administrator's action and needs more (update on
// every status, delete on the Machines it created); the Job never restores.
func RBACRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{
			APIGroups: []string{Workflows.Group},
			Resources: []string{Workflows.Resource, Templates.Resource, Hardware.Resource},
			Verbs:     []string{"get", "list", "update"},
		},
		{
			APIGroups: []string{Workflows.Group},
			Resources: []string{Workflows.Resource + "/status"},
			Verbs:     []string{"update"},
		},
		{
			APIGroups: []string{WorkflowData.Group},
			Resources: []string{WorkflowData.Resource},
			Verbs:     []string{"list"},
		},
		{
			APIGroups: []string{BMCJobs.Group},
			Resources: []string{BMCJobs.Resource, BMCTasks.Resource},
			Verbs:     []string{"get", "list", "update"},
		},
		{
			APIGroups: []string{BMCMachines.Group},
			Resources: []string{BMCMachines.Resource},
			Verbs:     []string{"create"},
		},
		{
			APIGroups: []string{BaseboardManagements.Group},
			Resources: []string{BaseboardManagements.Resource},
			Verbs:     []string{"list"},
		},
		{
			APIGroups: []string{TinkerbellMachines.Group},
			Resources: []string{TinkerbellMachines.Resource, TinkerbellClusters.Resource},
			Verbs:     []string{"list"},
		},
		{
			APIGroups: []string{CAPIClusters.Group},
			Resources: []string{CAPIClusters.Resource},
			Verbs:     []string{"list"},
		},
		{
			APIGroups: []string{""},
			Resources: []string{"configmaps"},
			Verbs:     []string{"get", "create"},
		},
	}
}

// CRDRBACRules returns the one cluster-scoped read of "kubetink migrate", for a ClusterRole of its own, always
// bound with a ClusterRoleBinding: get on the CustomResourceDefinitions it reads, by name (CRDNames). A RoleBinding
// cannot grant it, since CRDs are cluster-scoped. Discovery, which tells the runner whether a kind is served,
// needs no RBAC.
func CRDRBACRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{
		APIGroups:     []string{"apiextensions.k8s.io"},
		Resources:     []string{"customresourcedefinitions"},
		Verbs:         []string{"get"},
		ResourceNames: CRDNames(),
	}}
}

// CRDNames returns, sorted, the CRDs "kubetink migrate" reads: those of the kinds a rewrite needs declared fields
// of (RequiredFields, checked before the rewrite writes) and those of obsolete kinds (reported while installed).
func CRDNames() []string {
	var names []string
	for _, m := range All() {
		for _, rw := range m.Rewrites {
			if len(rw.RequiredFields) > 0 {
				names = append(names, rw.Target.CRDName())
			}
		}
	}
	for _, t := range ObsoleteTargets() {
		names = append(names, t.CRDName())
	}
	slices.Sort(names)
	return slices.Compact(names)
}
