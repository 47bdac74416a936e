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

package values

import (
	"fmt"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/catalog"
)

// The cluster-scoped objects the charts create under fixed names, by default: the binary's ClusterRoles and
// bindings (<rbac.name>-role, -binding, -secrets; rbac.name is also the prefix of its ServiceAccount), kube-vip's ClusterRole and
// ClusterRoleBinding and the HookOS file server's local PersistentVolume and StorageClass. The defaults are the
// same in every catalog release (values.yaml of tinkerbell v0.19.0 to v0.25.0: rbac.name, optional.kubevip.roleName,
// .roleBindingName, optional.hookos.persistence.localPersistentVolume.name, .storageClassName; stack 0.6.2:
// stack.kubevip.*, stack.hook.persistence.localPersistentVolume.*).
const (
	tinkerbellRBACName     = "tinkerbell"
	kubeVipRoleName        = "kube-vip-role"
	kubeVipRoleBindingName = "kube-vip-rolebinding"
	hookOSVolumeName       = "hook-artifacts"
	hookOSStorageClassName = "local-storage"
)

// siteName is the name of a cluster-scoped object of the site in namespace ns: the chart's default name followed
// by the namespace, which no other Tinkerbell of the cluster installs into.
func siteName(base, ns string) string {
	return base + "-" + ns
}

// unifiedSite keeps a stack with spec.scope Namespace to its target namespace on the unified chart, as far as the
// binary allows (every release from v0.19.0 to v0.25.0 has these keys, and the same limits):
//   - deployment.envs.globals.backendKubeNamespace: Smee, Tootles and the Tink server see only the Hardware,
//     Workflows and Templates there (TINKERBELL_BACKEND_KUBE_NAMESPACE);
//   - the Tink controller and Rufio take no namespace (cmd/tinkerbell/cmd.go builds their configs without one),
//     so they watch every namespace. They run only in the cluster's primary site (primary; sites.Primary), with a
//     ClusterRole named after its namespace (rbac.name), and are turned off in the other sites, whose RBAC is then
//     namespaced (rbac.type Role: the chart's Role, RoleBinding and, from v0.23.0, secrets Role are created in
//     the target namespace; templates/role*.yaml). Two sites' controllers would otherwise both run every Workflow;
//   - the leader-election namespaces of Rufio and the Tink controller: the target namespace, where the chart's
//     leader-election Role is. Unset, the binary uses "default" whenever it does not find in-cluster
//     configuration (cmd/tinkerbell/defaults.go leaderElectionNamespace), which that Role does not cover;
//   - kube-vip's ClusterRole and binding and the HookOS volume and StorageClass named after the namespace.
//
// A stack serving every namespace keeps the chart's defaults: it is the only one in its cluster.
func unifiedSite(t *tree, rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell, primary bool) {
	if obj.ServesAllNamespaces() {
		return
	}
	ns := obj.GetTargetNamespace()
	t.set(globals+"backendKubeNamespace", ns)
	if primary {
		t.set("rbac.name", siteName(tinkerbellRBACName, ns))
	} else {
		t.set("rbac.type", "Role")
	}
	for _, s := range components {
		if !s.isController() {
			continue
		}
		if !primary {
			t.set(globals+s.enable, false)
		}
		t.set(envs+s.env+".leaderElectionNamespace", ns)
	}
	siteObjectNames(t, obj, "optional.kubevip", "optional.hookos.persistence", !rel.FixedHookOSClaim())
}

// stackSite names the cluster-scoped objects of the legacy stack chart after the target namespace. The stack
// chart always serves only its target namespace (stack 0.6.2: global.rbac.type Role makes Smee and the Tink
// server and controller watch the release namespace; Hegel and Rufio always do), so every legacy stack is a
// namespaced site.
func stackSite(t *tree, rel catalog.Release, obj *kubetinkv1alpha1.Tinkerbell) error {
	if obj.Spec.Scope == kubetinkv1alpha1.ScopeCluster {
		return fmt.Errorf("spec.scope Cluster is not supported by the legacy stack chart %s: its Hegel and Rufio serve only the target namespace; use scope Namespace", rel.Version)
	}
	// The volume keeps its name (catalog.Release.FixedHookOSClaim); two such sites are refused (package sites).
	siteObjectNames(t, obj, "stack.kubevip", "stack.hook.persistence", !rel.FixedHookOSClaim())
	return nil
}

// siteObjectNames names kube-vip's ClusterRole and binding (under kubeVip) and the HookOS local volume (when
// volume) and its StorageClass (under persistence) after the target namespace, for the add-ons that are on. A
// StorageClass named in spec.addons.hookOS.persistence.localPersistentVolume.storageClassName is kept: the user
// chose it.
func siteObjectNames(t *tree, obj *kubetinkv1alpha1.Tinkerbell, kubeVip, persistence string, volume bool) {
	ns := obj.GetTargetNamespace()
	a := obj.Spec.Addons
	if a.KubeVipEnabled() {
		t.set(kubeVip+".roleName", siteName(kubeVipRoleName, ns))
		t.set(kubeVip+".roleBindingName", siteName(kubeVipRoleBindingName, ns))
	}
	if !a.HookOSEnabled() {
		return
	}
	if a.HookOSExistingClaim() != "" {
		return // the chart creates no volume
	}
	var p *kubetinkv1alpha1.HookOSPersistence
	if h := hookOSSpec(a); h != nil {
		p = h.Persistence
	}
	if volume {
		t.set(persistence+".localPersistentVolume.name", siteName(hookOSVolumeName, ns))
	}
	if p == nil || p.LocalPersistentVolume == nil || p.LocalPersistentVolume.StorageClassName == "" {
		t.set(persistence+".localPersistentVolume.storageClassName", siteName(hookOSStorageClassName, ns))
	}
}
