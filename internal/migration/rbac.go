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
	rbacv1 "k8s.io/api/rbac/v1"
)

// RBACRules returns exactly what "kubetink migrate" needs, for a ClusterRole bound to the migration Job's
// ServiceAccount (the Tinkerbell objects live in any namespace):
//
//   - get, list and update on the Tinkerbell kinds it rewrites, and update on workflows/status, the only status
//     it writes;
//   - list on the kinds it only reads (BaseboardManagements, and WorkflowData to count obsolete objects), and on
//     CAPT's TinkerbellMachines and TinkerbellClusters and Cluster API Clusters, which the preflight of the
//     legacy stack reinstall reads (CAPTBlockers);
//   - create on bmc Machines (BaseboardManagement → Machine; an existing Machine is never overwritten);
//   - create and get on ConfigMaps, for the backups (these two may instead go into a Role in the backup
//     namespace);
//   - get on CustomResourceDefinitions, to check that the installed CRD declares the fields a PostUpgrade step
//     writes and to report obsolete CRDs.
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
		{
			APIGroups: []string{"apiextensions.k8s.io"},
			Resources: []string{"customresourcedefinitions"},
			Verbs:     []string{"get"},
		},
	}
}
